"""Griffin-Lim in numpy: `tts.audio.griffin_lim` (fast Griffin-Lim from zero phase, its momentum,
iterations, sharpening and de-emphasis) without torch, for the ONNX runtime. Each item runs alone,
cut to its own length, as the torch path does on a CPU; the two agree within float rounding
(tests/test_onnx.py).
"""

from __future__ import annotations

import math

import numpy as np

from tts.audio.config import AudioConfig
from tts.audio.errors import AudioError

PHASE_FLOOR = np.float32(1e-20)
"""Floor of the magnitude a phase is divided by: a zero bin keeps phase 0, as torch.sgn gives it,
and target / floor stays finite (magnitudes stay far below 1e18)."""
DEEMPHASIS_BLOCK = 256
"""Samples per block of the vectorised de-emphasis filter (a^-256 stays far from overflow)."""


def griffin_lim(linear: np.ndarray, config: AudioConfig, n_iter: int | None = None) -> np.ndarray:
    """One normalised linear spectrogram [n_freq, T_frames] in [0, 1] -> its wave [T_frames * hop]."""
    if linear.ndim != 2 or linear.shape[0] != config.n_freq or linear.shape[1] == 0:
        raise AudioError(f"griffin_lim expects linear [{config.n_freq}, T_frames], got {linear.shape}")
    if not np.isfinite(linear).all():
        raise AudioError("griffin_lim got NaN or infinite values")
    frames = linear.shape[1]
    margin = math.ceil(config.n_fft / config.hop_length)  # as tts.audio.griffin_lim.silence_margin_frames
    padded = np.pad(linear.astype(np.float32), ((0, 0), (0, margin)))
    magnitude = sharpen(denormalize(padded, config), config)
    wave = fast_griffin_lim(magnitude, config.n_fft, config.hop_length, config.win_length,
                            config.griffin_lim_iters if n_iter is None else n_iter, config.griffin_lim_momentum)
    return deemphasize(wave, config.preemphasis)[: frames * config.hop_length].astype(np.float32)


def denormalize(spectrogram: np.ndarray, config: AudioConfig) -> np.ndarray:
    """[0, 1] -> raw magnitude, as tts.audio.spectrogram.denormalize (values clipped first)."""
    level_db = np.clip(spectrogram, 0.0, 1.0) * -config.min_level_db + config.min_level_db + config.ref_level_db
    return np.power(np.float32(10.0), (level_db / 20.0).astype(np.float32))


def sharpen(magnitude: np.ndarray, config: AudioConfig) -> np.ndarray:
    """Magnitudes to griffin_lim_power relative to max_amplitude, as tts.audio.griffin_lim.sharpen."""
    top = np.float32(config.max_amplitude)
    return (top * np.power(magnitude / top, np.float32(config.griffin_lim_power))).astype(np.float32)


def deemphasize(wave: np.ndarray, coefficient: float) -> np.ndarray:
    """Undo pre-emphasis, y[n] = x[n] + a * y[n-1], vectorised by blocks (float64 inside)."""
    if coefficient == 0 or wave.size == 0:
        return wave
    size = wave.size
    blocks = -(-size // DEEMPHASIS_BLOCK)
    flat = np.zeros(blocks * DEEMPHASIS_BLOCK, np.float64)
    flat[:size] = wave
    x = flat.reshape(blocks, DEEMPHASIS_BLOCK)
    powers = coefficient ** np.arange(DEEMPHASIS_BLOCK, dtype=np.float64)  # a^k
    # Within a block from a zero start: y[k] = sum_{j<=k} a^(k-j) x[j] = a^k * cumsum(x[j] / a^j).
    local = np.cumsum(x / powers, axis=1) * powers
    carry_gain = coefficient * powers  # a^(k+1): what the previous block's last output adds at k
    out = np.empty_like(local)
    previous = 0.0
    for block in range(blocks):
        out[block] = local[block] + previous * carry_gain
        previous = out[block, -1]
    return out.reshape(-1)[:size]


def fast_griffin_lim(magnitude: np.ndarray, n_fft: int, hop_length: int, win_length: int,
                     n_iter: int, momentum: float) -> np.ndarray:
    """tts.audio.griffin_lim.fast_griffin_lim for one item: magnitude [n_freq, T_frames] (linear)
    -> wave [(T_frames - 1) * hop_length], Hann window, centred frames, zero initial phase."""
    if not 0 <= momentum < 1:
        raise AudioError(f"griffin_lim_momentum must be in [0, 1), got {momentum}")
    frames = Frames(magnitude.shape[1], n_fft, hop_length, win_length)
    target = np.ascontiguousarray(magnitude.T, dtype=np.float32)  # [T_frames, n_freq]
    spectrum = target.astype(np.complex64)  # zero phase
    carry = np.float32(momentum / (1 + momentum))
    angles = np.empty_like(spectrum)
    scale = np.empty_like(target)
    previous: np.ndarray | None = None
    for _ in range(n_iter):
        rebuilt = frames.stft(frames.istft(spectrum)).astype(np.complex64)
        # Momentum extrapolates away from the previous estimate; keep only the phase of the result
        # (0 where it is 0, as torch.sgn), times the target magnitude. In place and in complex64:
        # numpy's temporaries would cost more than the FFTs.
        if previous is None:
            np.copyto(angles, rebuilt)
        else:
            np.multiply(previous, carry, out=angles)
            np.subtract(rebuilt, angles, out=angles)
        np.abs(angles, out=scale)
        np.maximum(scale, PHASE_FLOOR, out=scale)
        np.divide(target, scale, out=scale)
        angles *= scale
        spectrum, angles = angles, spectrum  # spectrum is read (by istft) before it is written again
        previous = rebuilt
    return frames.istft(spectrum)


def hann_window(n_fft: int, win_length: int) -> np.ndarray:
    """torch.hann_window(win_length) (periodic), centred in n_fft as torch.stft pads it. [n_fft] float32."""
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win_length) / win_length)).astype(np.float32)
    left = (n_fft - win_length) // 2
    return np.pad(window, (left, n_fft - win_length - left))


class Frames:
    """Centred STFT and inverse STFT of one item of T_frames frames (spectra [T_frames, n_freq])."""

    def __init__(self, n_frames: int, n_fft: int, hop_length: int, win_length: int) -> None:
        self.n_frames, self.n_fft, self.hop = n_frames, n_fft, hop_length
        self.window = hann_window(n_fft, win_length)
        self.window64 = self.window.astype(np.float64)
        self.length = hop_length * (n_frames - 1)
        squared = np.broadcast_to(self.window * self.window, (n_frames, n_fft))
        envelope = self._overlap_add(squared)[n_fft // 2 : n_fft // 2 + self.length]
        if (np.abs(envelope) < 1e-11).any():
            raise AudioError("the window envelope has zeros: hop_length is too large for win_length")
        self.inverse_envelope = (1.0 / envelope).astype(np.float32)

    def istft(self, spectrum: np.ndarray) -> np.ndarray:
        """[T_frames, n_freq] complex -> [length] real (torch.istft, center=True)."""
        frames = np.fft.irfft(spectrum, n=self.n_fft, axis=1).astype(np.float32) * self.window
        half = self.n_fft // 2
        return self._overlap_add(frames)[half : half + self.length] * self.inverse_envelope

    def stft(self, wave: np.ndarray) -> np.ndarray:
        """[length] real -> [T_frames, n_freq] complex (torch.stft, center, reflect padding)."""
        half = self.n_fft // 2
        padded = np.pad(wave, (half, half), mode="reflect")
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.n_fft)[:: self.hop]
        # In float64: numpy's (2.x) real forward FFT is several times slower in float32.
        return np.fft.rfft(windows * self.window64, axis=1)

    def _overlap_add(self, frames: np.ndarray) -> np.ndarray:
        """Sum frames [T_frames, n_fft] at hop spacing -> [n_fft + (T_frames - 1) * hop]."""
        n_frames, n_fft = frames.shape
        out = np.zeros(n_fft + (n_frames - 1) * self.hop, np.float32)
        if n_fft % self.hop == 0:
            blocks_per_frame = n_fft // self.hop
            blocks = frames.reshape(n_frames, blocks_per_frame, self.hop)
            view = out.reshape(-1, self.hop)
            for block in range(blocks_per_frame):
                view[block : block + n_frames] += blocks[:, block]
            return out
        for index in range(n_frames):
            out[index * self.hop : index * self.hop + n_fft] += frames[index]
        return out
