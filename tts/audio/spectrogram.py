"""Normalised mel and linear spectrograms (torchaudio), and the exact inverse of the normalisation.

Shapes: a wave is [..., T] (any leading batch dimensions); a linear spectrogram is
[..., n_freq, T_frames] and a mel spectrogram [..., n_mels, T_frames], with
T_frames = T // hop_length + 1 because the STFT is centred (center=True, reflect padding): frame i
is centred on sample i * hop_length. Both spectrograms live in [0, 1] (see `AudioConfig`).
"""

from __future__ import annotations

import torch
import torchaudio.functional as AF

from tts.audio.config import AudioConfig
from tts.audio.errors import AudioError


def normalize(magnitude: torch.Tensor, config: AudioConfig) -> torch.Tensor:
    """Raw STFT (or mel) magnitude -> [0, 1]: clip((20*log10(m) - ref - min) / -min, 0, 1)."""
    level_db = 20.0 * torch.log10(torch.clamp(magnitude, min=config.min_amplitude))
    scaled = (level_db - config.ref_level_db - config.min_level_db) / -config.min_level_db
    return torch.clamp(scaled, 0.0, 1.0)


def denormalize(spectrogram: torch.Tensor, config: AudioConfig) -> torch.Tensor:
    """[0, 1] spectrogram -> raw magnitude; the exact inverse of `normalize` inside its range.

    Values outside [0, 1] (a model may overshoot) are clipped first, so the result always lies
    between `config.silence_amplitude` and `config.max_amplitude`.
    """
    scaled = torch.clamp(spectrogram, 0.0, 1.0)
    level_db = scaled * -config.min_level_db + config.min_level_db + config.ref_level_db
    return torch.pow(10.0, level_db / 20.0)


class SpectrogramExtractor(torch.nn.Module):
    """Computes normalised mel and linear spectrograms of pre-emphasised waves with one STFT.

    The Hann window and Slaney mel filterbank are non-persistent buffers: move the module with
    `.to(device)` to run on that device; it accepts any batch shape [..., T].
    """

    window: torch.Tensor
    mel_basis: torch.Tensor

    def __init__(self, config: AudioConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)
        mel_basis = AF.melscale_fbanks(
            n_freqs=config.n_freq,
            f_min=config.fmin,
            f_max=config.fmax,
            n_mels=config.n_mels,
            sample_rate=config.sample_rate,
            norm="slaney",
            mel_scale="slaney",
        )  # [n_freq, n_mels]
        self.register_buffer("mel_basis", mel_basis, persistent=False)

    def magnitude(self, wave: torch.Tensor) -> torch.Tensor:
        """Raw STFT magnitude of the pre-emphasised wave: [..., T] -> [..., n_freq, T_frames]."""
        self._check(wave)
        config = self.config
        batch_shape = wave.shape[:-1]
        flat = wave.reshape(-1, wave.shape[-1])  # [N, T]
        if config.preemphasis > 0:
            flat = AF.preemphasis(flat, config.preemphasis)
        stft = torch.stft(
            flat,
            n_fft=config.n_fft,
            hop_length=config.hop_length,
            win_length=config.win_length,
            window=self.window.to(wave.dtype),
            center=True,
            pad_mode="reflect",
            normalized=False,
            onesided=True,
            return_complex=True,
        )  # [N, n_freq, T_frames]
        return stft.abs().reshape(*batch_shape, config.n_freq, stft.shape[-1])

    def mel_from_magnitude(self, magnitude: torch.Tensor) -> torch.Tensor:
        """Raw magnitude [..., n_freq, T_frames] -> normalised mel [..., n_mels, T_frames]."""
        mel = torch.matmul(magnitude.transpose(-1, -2), self.mel_basis.to(magnitude.dtype))
        return normalize(mel.transpose(-1, -2), self.config)

    def linear_spectrogram(self, wave: torch.Tensor) -> torch.Tensor:
        """Normalised linear spectrogram: [..., T] -> [..., n_freq, T_frames] in [0, 1]."""
        return normalize(self.magnitude(wave), self.config)

    def mel_spectrogram(self, wave: torch.Tensor) -> torch.Tensor:
        """Normalised Slaney mel spectrogram: [..., T] -> [..., n_mels, T_frames] in [0, 1]."""
        return self.mel_from_magnitude(self.magnitude(wave))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both spectrograms from one STFT: [..., T] -> (mel [..., n_mels, T_frames],
        linear [..., n_freq, T_frames])."""
        magnitude = self.magnitude(wave)
        return self.mel_from_magnitude(magnitude), normalize(magnitude, self.config)

    def _check(self, wave: torch.Tensor) -> None:
        """Name the problem with an input wave before torch.stft fails obscurely."""
        if not isinstance(wave, torch.Tensor):
            raise AudioError(f"expected a wave tensor [..., T], got {type(wave).__name__}")
        if wave.dim() == 0:
            raise AudioError("expected a wave tensor [..., T], got a scalar")
        if not wave.is_floating_point():
            raise AudioError(f"expected a floating-point wave, got dtype {wave.dtype}")
        minimum = self.config.n_fft // 2 + 1
        if wave.shape[-1] < minimum:
            raise AudioError(
                f"wave of {wave.shape[-1]} samples is too short for a spectrogram; "
                f"need at least {minimum} (n_fft // 2 + 1)"
            )
        if wave.device != self.window.device:
            raise AudioError(
                f"wave is on {wave.device} but the extractor is on {self.window.device}; "
                "move the extractor with .to(device)"
            )
