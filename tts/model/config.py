"""Hyperparameters of the Tacotron 1 network (Wang et al. 2017): frozen dataclasses.

The model never reads Korean: it is given a vocabulary size (`n_symbols`) and the spectrogram sizes.
`TacotronHyperparameters` are the choices one makes (layer sizes, r, dropout); `TacotronConfig`
adds the sizes the data decides (vocabulary, padding id, mel channels, linear bins).
"""

from __future__ import annotations

from dataclasses import dataclass

from tts.config_io import ConfigError, JsonConfig


@dataclass(frozen=True, kw_only=True)
class TacotronHyperparameters(JsonConfig):
    """Every size and switch of the network that does not come from the data (what training sets)."""

    reduction_factor: int = 2
    """r: mel frames emitted per decoder step."""
    embedding_dim: int = 256
    """Character embedding size."""
    encoder_prenet_dims: tuple[int, ...] = (256, 128)
    """Fully connected sizes of the encoder pre-net."""
    decoder_prenet_dims: tuple[int, ...] = (256, 128)
    """Fully connected sizes of the decoder pre-net."""
    prenet_dropout: float = 0.5
    """Dropout of both pre-nets, in training and (deterministically) at inference."""
    prenet_dropout_at_inference: bool = True
    """Keep decoder pre-net dropout on at inference, as Tacotron does, with seeded masks."""
    encoder_bank_size: int = 16
    """K of the encoder CBHG: conv filters of width 1..K."""
    encoder_channels: int = 128
    """Channels of each conv in the encoder CBHG bank and of its projections."""
    encoder_highway_layers: int = 4
    """Highway layers in the encoder CBHG."""
    encoder_gru_dim: int = 128
    """Hidden size of each direction of the encoder's bidirectional GRU."""
    attention_rnn_dim: int = 256
    """Hidden size of the attention GRU."""
    attention_dim: int = 128
    """Size of the space in which query, memory and location features are compared."""
    location_filters: int = 32
    """Filters of the location convolution over previous and cumulative weights."""
    location_kernel_size: int = 31
    """Width of the location convolution (odd)."""
    decoder_rnn_dim: int = 256
    """Hidden size of each of the two residual decoder GRUs."""
    postnet_bank_size: int = 8
    """K of the post-net CBHG."""
    postnet_channels: int = 128
    """Channels of each conv in the post-net CBHG bank."""
    postnet_projection_dim: int = 256
    """First projection of the post-net CBHG (the second returns to n_mels)."""
    postnet_highway_layers: int = 4
    """Highway layers in the post-net CBHG."""
    postnet_gru_dim: int = 128
    """Hidden size of each direction of the post-net's bidirectional GRU."""
    stop_threshold: float = 0.5
    """Decoding of an item ends once its stop probability exceeds this."""
    max_decoder_steps: int = 1000
    """Hard ceiling on decoder steps at inference (each step is r frames)."""

    def __post_init__(self) -> None:
        if self.reduction_factor < 1:
            raise ConfigError(f"reduction_factor must be >= 1, got {self.reduction_factor}")
        if self.location_kernel_size % 2 == 0:
            raise ConfigError("location_kernel_size must be odd so the convolution keeps length")
        if not 0.0 <= self.prenet_dropout < 1.0:
            raise ConfigError(f"prenet_dropout must be in [0, 1), got {self.prenet_dropout}")

    @property
    def encoder_dim(self) -> int:
        """Size of each encoder output (both GRU directions)."""
        return 2 * self.encoder_gru_dim

    @property
    def postnet_dim(self) -> int:
        """Size of each post-net CBHG output (both GRU directions)."""
        return 2 * self.postnet_gru_dim


@dataclass(frozen=True, kw_only=True)
class TacotronConfig(TacotronHyperparameters):
    """Every size and switch of the network; saved into each voice's config.json."""

    n_symbols: int
    """Vocabulary size of the input symbol ids (ids are in [0, n_symbols))."""
    pad_id: int = 0
    """Id of the padding symbol; its embedding is fixed at zero."""
    n_mels: int = 80
    """Mel channels predicted by the decoder."""
    n_freq: int = 513
    """Linear-spectrogram bins predicted by the post-net (n_fft // 2 + 1)."""

    def __post_init__(self) -> None:
        if self.n_symbols < 2:
            raise ConfigError(f"n_symbols must be at least 2, got {self.n_symbols}")
        if not 0 <= self.pad_id < self.n_symbols:
            raise ConfigError(f"pad_id {self.pad_id} is outside [0, {self.n_symbols})")
        super().__post_init__()
