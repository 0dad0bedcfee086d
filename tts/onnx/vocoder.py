"""The voice's neural vocoder on ONNX Runtime: the exported network gives each frame's magnitude and
phase, and the inverse STFT runs here in numpy, each item over its own frames (as
`tts.vocoder.model.inverse_stft` normalises each item by its own window envelope). Torch-free."""

from __future__ import annotations

from typing import Any

import numpy as np

from tts.onnx.griffin_lim import hann_window
from tts.vocoder.config import VocoderConfig

ENVELOPE_FLOOR = 1e-8
"""Samples whose window envelope is below this are silent (as in tts.vocoder.model.inverse_stft)."""


def inverse_stft(magnitude: np.ndarray, phase: np.ndarray, window: np.ndarray, hop_length: int) -> np.ndarray:
    """One item's centred inverse STFT, normalised by its window envelope.

    magnitude, phase [T_frames, n_freq] -> wave [T_frames * hop_length] float32.
    """
    n_fft = window.size
    frames = magnitude.shape[0]
    pieces = np.fft.irfft(magnitude * np.exp(1j * phase), n=n_fft, axis=1) * window  # [T_frames, n_fft]
    total = (frames - 1) * hop_length + n_fft
    wave = np.zeros(total, np.float64)
    envelope = np.zeros(total, np.float64)
    squared = window.astype(np.float64) ** 2
    for index in range(frames):
        wave[index * hop_length : index * hop_length + n_fft] += pieces[index]
        envelope[index * hop_length : index * hop_length + n_fft] += squared
    start = n_fft // 2
    wave, envelope = wave[start : start + frames * hop_length], envelope[start : start + frames * hop_length]
    return np.where(envelope > ENVELOPE_FLOOR, wave / np.maximum(envelope, ENVELOPE_FLOOR), 0.0).astype(np.float32)


class OnnxVocoder:
    """The exported vocoder network and the numpy inverse STFT after it."""

    def __init__(self, config: VocoderConfig, session: Any) -> None:
        self.config = config
        self.session = session
        self.window = hann_window(config.n_fft, config.win_length)

    def infer(self, spectrogram: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
        """Padded spectrograms [B, T_frames, n_input] (clipped to [0, 1] in the graph), lengths [B]
        -> per item a float32 wave [lengths[i] * hop_length], what that item gives alone."""
        if spectrogram.shape[0] == 0:
            return []
        lengths = np.asarray(lengths, dtype=np.int64)
        magnitude, phase = self.session.run(None, {"spectrogram": np.ascontiguousarray(spectrogram, np.float32),
                                                   "lengths": lengths})
        return [inverse_stft(magnitude[row, :count], phase[row, :count], self.window, self.config.hop_length)
                for row, count in enumerate(lengths.tolist())]
