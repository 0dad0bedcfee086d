"""The neural vocoder's hyperparameters: one frozen dataclass, saved in a voice's `vocoder` section.

The signal fields (rate, FFT, hop, window, mel bands) repeat the voice's `AudioConfig` on purpose:
a vocoder file must say what it was trained for, and a voice checks that the two agree, since one
input mel frame becomes exactly one hop of output samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from tts.audio import AudioConfig
from tts.config_io import (
    ConfigError,
    JsonConfig,
    config_from_dict,
    config_to_dict,
    unversioned,
    versioned,
)


@dataclass(frozen=True)
class VocoderConfig(JsonConfig):
    """A Vocos-style generator: ConvNeXt blocks at frame rate, then an inverse-STFT head."""

    sample_rate: int = 22050
    """Hz of the output wave; must equal the voice's audio sample rate."""
    n_mels: int = 80
    """Mel bands of the voice (the input channels when `spectrogram` is "mel"; the mel loss's bands)."""
    spectrogram: str = "mel"
    """What the vocoder is fed, both normalised to [0, 1]: "mel" (n_mels channels, what Tacotron's
    decoder predicts) or "linear" (n_fft // 2 + 1 channels, what its post-net predicts)."""
    n_fft: int = 1024
    """FFT size of the inverse STFT the head feeds."""
    hop_length: int = 256
    """Output samples per input frame; must equal the voice's hop so frames line up."""
    win_length: int = 1024
    """Hann window of the inverse STFT (centred in n_fft when shorter)."""
    dim: int = 256
    """Channels of the ConvNeXt blocks."""
    intermediate_dim: int = 768
    """Hidden width of each block's pointwise feed-forward layer."""
    n_blocks: int = 8
    """ConvNeXt blocks."""
    kernel_size: int = 7
    """Frames seen by each depthwise convolution (odd, so it is centred)."""
    max_log_magnitude: float = 4.605
    """Log-magnitudes the head predicts are clipped here (ln 100) so exp() never overflows."""

    def __post_init__(self) -> None:
        problems = [f"{name} must be a positive integer, got {getattr(self, name)!r}"
                    for name in ("sample_rate", "n_mels", "n_fft", "hop_length", "win_length", "dim",
                                 "intermediate_dim", "n_blocks", "kernel_size")
                    if not isinstance(getattr(self, name), int) or getattr(self, name) <= 0]
        if problems:
            raise ConfigError("invalid VocoderConfig: " + "; ".join(problems))
        if self.spectrogram not in SPECTROGRAMS:
            problems.append(f"spectrogram must be one of {', '.join(SPECTROGRAMS)}, got {self.spectrogram!r}")
        if self.kernel_size % 2 == 0:
            problems.append(f"kernel_size must be odd, got {self.kernel_size}")
        if self.win_length > self.n_fft:
            problems.append(f"win_length ({self.win_length}) exceeds n_fft ({self.n_fft})")
        if self.hop_length > self.win_length:
            problems.append(f"hop_length ({self.hop_length}) exceeds win_length ({self.win_length})")
        if problems:
            raise ConfigError("invalid VocoderConfig: " + "; ".join(problems))

    @property
    def n_freq(self) -> int:
        """Frequency bins the head predicts (one-sided spectrum)."""
        return self.n_fft // 2 + 1

    def input_of(self, mel: Frames, linear: Frames) -> Frames:
        """Of a frame-aligned (mel, linear) pair, the one this vocoder is fed."""
        return vocoder_input(self.spectrogram, mel, linear)

    @property
    def n_input(self) -> int:
        """Input channels per frame: n_mels for the mel, n_freq for the linear spectrogram."""
        return self.n_mels if self.spectrogram == "mel" else self.n_freq

    @classmethod
    def for_audio(
        cls, audio: AudioConfig, dim: int = 256, intermediate_dim: int = 768, n_blocks: int = 8,
        kernel_size: int = 7, spectrogram: str = "mel",
    ) -> VocoderConfig:
        """A vocoder for a voice's audio settings, with the given sizes and input."""
        return cls(sample_rate=audio.sample_rate, n_mels=audio.n_mels, spectrogram=spectrogram,
                   n_fft=audio.n_fft, hop_length=audio.hop_length, win_length=audio.win_length, dim=dim,
                   intermediate_dim=intermediate_dim, n_blocks=n_blocks, kernel_size=kernel_size)

    def mismatches(self, audio: AudioConfig) -> list[str]:
        """'field: vocoder != audio' for every signal setting that differs from `audio`."""
        pairs = {"sample_rate": audio.sample_rate, "n_mels": audio.n_mels, "hop_length": audio.hop_length}
        if self.spectrogram == "linear":  # its input bins are the voice's linear spectrogram's
            pairs["n_fft"] = audio.n_fft
        return [f"{name}: {getattr(self, name)} != {value}" for name, value in pairs.items()
                if getattr(self, name) != value]


SPECTROGRAMS = ("mel", "linear")
"""What a vocoder may be fed."""

Frames = TypeVar("Frames")


def vocoder_input(spectrogram: str, mel: Frames, linear: Frames) -> Frames:
    """Of a frame-aligned (mel, linear) pair, the one a vocoder fed `spectrogram` takes."""
    return mel if spectrogram == "mel" else linear

MEL_FIELDS = ("sample_rate", "n_fft", "hop_length", "win_length", "n_mels", "fmin", "fmax", "preemphasis",
              "ref_level_db", "min_level_db")
"""The AudioConfig fields a normalised mel depends on: a vocoder fits any voice that shares them
(Griffin-Lim's and trimming's settings do not matter to it)."""


def mel_settings(audio: AudioConfig) -> dict[str, Any]:
    """`audio`'s MEL_FIELDS as a dict (equal dicts: the same mels)."""
    return {name: getattr(audio, name) for name in MEL_FIELDS}


VOCODER_FORMAT_VERSION = 1
"""Version of a voice's `vocoder` section and of `vocoder.safetensors` (both say it)."""


@dataclass(frozen=True)
class VocoderSection:
    """The `vocoder` section of a voice's config.json: the generator's config and its provenance."""

    config: VocoderConfig
    metadata: dict[str, Any] = field(default_factory=dict)
    """Provenance: training features, steps, time, hardware, whether fine-tuned on Tacotron's mels."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, format version first."""
        return versioned(VOCODER_FORMAT_VERSION, config_to_dict(self))

    @classmethod
    def from_dict(cls, data: Any) -> VocoderSection:
        """Validate and rebuild; ConfigError naming the version or field that is wrong."""
        return config_from_dict(cls, unversioned(data, VOCODER_FORMAT_VERSION, "the vocoder section"))
