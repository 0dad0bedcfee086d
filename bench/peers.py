"""The models timed against each other, built with random weights at one configuration.

Sori's Tacotron 1, Coqui TTS's Tacotron 1 (same sizes: r = 2, CBHG encoder and post-net, 256-unit
GRUs, location-sensitive attention with softmax) and torchaudio's Tacotron 2 (its default sizes).
Each is given `n_tokens` input symbols and decodes exactly `n_frames` frames: stop tokens are
disabled, so every model does the same amount of work on every run. Nothing is downloaded.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torchaudio.functional as AF

from tts.audio import AudioConfig, griffin_lim
from tts.model import Tacotron, TacotronConfig
from tts.model.layers import lengths_to_mask
from tts.threads import inference_threads

N_SYMBOLS = 80
"""Vocabulary size given to every model (about the size of Sori's Korean symbol table)."""


@dataclass(frozen=True)
class Workload:
    """What every peer is asked to do."""

    n_tokens: int = 60
    """Input symbols."""
    n_frames: int = 200
    """Mel frames decoded (stop disabled)."""
    griffin_lim_iters: int = 60
    """Griffin-Lim iterations for the waveform."""
    audio: AudioConfig = AudioConfig()
    """STFT sizes shared by every Griffin-Lim call."""

    @property
    def audio_seconds(self) -> float:
        """Length of the speech the frames stand for."""
        return self.n_frames * self.audio.hop_length / self.audio.sample_rate


@dataclass(frozen=True)
class Peer:
    """One model under test, as three closures over fixed inputs."""

    name: str
    decoder_steps: int
    """Decoder steps per run (frames / r)."""
    decode: Callable[[], object]
    """The autoregressive decoder alone, on precomputed encoder outputs."""
    synthesize: Callable[[], torch.Tensor]
    """Symbol ids -> spectrogram [1, n_freq, n_frames] (encoder, decoder, post-net)."""
    vocode: Callable[[torch.Tensor], torch.Tensor]
    """Spectrogram -> waveform with Griffin-Lim."""


def _tokens(workload: Workload, n_symbols: int = N_SYMBOLS) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randint(1, n_symbols, (1, workload.n_tokens), generator=generator)


def torchaudio_griffin_lim(magnitude: torch.Tensor, workload: Workload) -> torch.Tensor:
    """torchaudio's Griffin-Lim as a peer would call it. magnitude [1, n_freq, T] -> wave [1, samples]."""
    audio = workload.audio
    window = torch.hann_window(audio.win_length)
    return AF.griffinlim(
        magnitude, window=window, n_fft=audio.n_fft, hop_length=audio.hop_length,
        win_length=audio.win_length, power=1.0, n_iter=workload.griffin_lim_iters,
        momentum=0.99, length=None, rand_init=False,
    )


def _normalized_to_magnitude(spectrogram: torch.Tensor) -> torch.Tensor:
    """A peer's normalised dB spectrogram -> linear magnitude (the cheap step before Griffin-Lim)."""
    return torch.pow(10.0, (spectrogram.clamp(0.0, 1.0) * 100.0 - 80.0) / 20.0)


def sori_peer(workload: Workload) -> Peer:
    """Sori's Tacotron 1 at its default configuration with r = 2."""
    torch.manual_seed(0)
    config = TacotronConfig(n_symbols=N_SYMBOLS, reduction_factor=2)
    model = Tacotron(config).eval()
    ids = _tokens(workload)
    lengths = torch.tensor([workload.n_tokens])
    steps = workload.n_frames // config.reduction_factor
    seeds = torch.zeros(1, dtype=torch.long)
    with torch.inference_mode():
        memory = model.encoder(ids, lengths)
    mask = lengths_to_mask(lengths)
    audio = AudioConfig(griffin_lim_iters=workload.griffin_lim_iters)

    @torch.inference_mode()
    def decode() -> object:
        with inference_threads(1, torch.device("cpu")):  # as `Tacotron.infer` runs it
            output, decoded, _ = model.decoder.infer(memory, mask, torch.tensor([steps]), seeds, 2.0)
        assert output.mel.size(1) == workload.n_frames and int(decoded[0]) == steps
        return output

    def synthesize() -> torch.Tensor:
        output = model.infer(ids, lengths, max_steps=steps, seeds=seeds, stop_threshold=2.0)
        assert output.linear.size(1) == workload.n_frames
        return output.linear.transpose(1, 2)

    def vocode(linear: torch.Tensor) -> torch.Tensor:
        return griffin_lim(linear, [linear.size(2)], audio)[0]

    return Peer("Sori Tacotron 1", steps, decode, synthesize, vocode)


def coqui_peer(workload: Workload) -> Peer:
    """Coqui TTS's Tacotron 1 (TTS.tts.models.tacotron) with a Tacotron config at Sori's sizes."""
    from TTS.tts.configs.tacotron_config import TacotronConfig as CoquiConfig
    from TTS.tts.models.tacotron import Tacotron as CoquiTacotron

    torch.manual_seed(0)
    steps = workload.n_frames // 2
    config = CoquiConfig(
        num_chars=N_SYMBOLS, r=2, out_channels=workload.audio.n_freq, attention_norm="softmax",
        location_attn=True, prenet_dropout_at_inference=True, max_decoder_steps=steps - 1,
    )
    config.audio.num_mels = workload.audio.n_mels
    model = CoquiTacotron(config).eval()
    with torch.no_grad():
        model.decoder.stopnet.linear.bias.fill_(-1e4)  # never stop: a fixed number of steps
    # Coqui sizes the embedding from its own default tokenizer, whatever num_chars says.
    ids = _tokens(workload, min(N_SYMBOLS, model.embedding.num_embeddings))
    with torch.inference_mode():
        memory = model.encoder(model.embedding(ids))

    @torch.inference_mode()
    def decode() -> object:
        mel, _, _ = model.decoder.inference(memory)
        assert mel.size(2) == workload.n_frames, "Coqui's attention stopped the decoder early"
        return mel

    @torch.inference_mode()
    def synthesize() -> torch.Tensor:
        linear = model.inference(ids)["model_outputs"]  # [1, T_frames, n_freq]
        assert linear.size(1) == workload.n_frames, "Coqui's attention stopped the decoder early"
        return linear.transpose(1, 2)

    @torch.inference_mode()
    def vocode(linear: torch.Tensor) -> torch.Tensor:
        return torchaudio_griffin_lim(_normalized_to_magnitude(linear), workload)

    return Peer("Coqui Tacotron 1", steps, decode, synthesize, vocode)


def torchaudio_peer(workload: Workload) -> Peer:
    """torchaudio's Tacotron 2 (torchaudio.models.Tacotron2, default sizes, r = 1)."""
    from torchaudio.models import Tacotron2

    torch.manual_seed(0)
    model = Tacotron2(
        n_symbol=N_SYMBOLS, n_mels=workload.audio.n_mels, decoder_max_step=workload.n_frames,
        gate_threshold=1.1, decoder_early_stopping=False,
    ).eval()
    ids = _tokens(workload)
    lengths = torch.tensor([workload.n_tokens])
    with torch.inference_mode():
        memory = model.encoder(model.embedding(ids).transpose(1, 2), lengths)
    # Tacotron 2 predicts mel only: a pseudo-inverse of the mel filters gives Griffin-Lim its input.
    filters = AF.melscale_fbanks(
        workload.audio.n_freq, 0.0, workload.audio.sample_rate / 2, workload.audio.n_mels,
        workload.audio.sample_rate,
    )  # [n_freq, n_mels]
    inverse = torch.linalg.pinv(filters)  # [n_mels, n_freq]

    @torch.inference_mode()
    def decode() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mel, _, _, _ = model.decoder.infer(memory, lengths)
        assert mel.size(2) == workload.n_frames
        return mel

    @torch.inference_mode()
    def synthesize() -> torch.Tensor:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mel, _, _ = model.infer(ids, lengths)  # [1, n_mels, T_frames]
        assert mel.size(2) == workload.n_frames
        return mel

    @torch.inference_mode()
    def vocode(mel: torch.Tensor) -> torch.Tensor:
        linear = torch.matmul(mel.transpose(1, 2), inverse).transpose(1, 2).clamp(min=0.0)
        return torchaudio_griffin_lim(linear + 1e-3, workload)

    return Peer("torchaudio Tacotron 2", workload.n_frames, decode, synthesize, vocode)
