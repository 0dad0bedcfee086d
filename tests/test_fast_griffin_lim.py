"""Sori's Griffin-Lim iteration equals torchaudio's fast Griffin-Lim (zero-phase start)."""

from __future__ import annotations

import pytest
import torch
import torchaudio.functional as AF

from tts.audio import AudioError
from tts.audio.griffin_lim import fast_griffin_lim


@pytest.mark.parametrize(("n_fft", "hop", "win"), [(1024, 256, 1024), (256, 64, 200), (240, 100, 240)])
@pytest.mark.parametrize("momentum", [0.0, 0.99])
def test_equals_torchaudio_in_float64(n_fft: int, hop: int, win: int, momentum: float) -> None:
    # In float64 rounding cannot steer the iterations apart, so the results must agree closely.
    generator = torch.Generator().manual_seed(0)
    magnitude = torch.rand(2, n_fft // 2 + 1, 23, generator=generator, dtype=torch.float64) ** 3
    ours = fast_griffin_lim(magnitude, n_fft, hop, win, 12, momentum)
    window = torch.hann_window(win, dtype=torch.float64)
    theirs = AF.griffinlim(magnitude, window, n_fft, hop, win, 1.0, 12, momentum, None, False)
    assert ours.shape == theirs.shape == (2, hop * 22)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-9 * float(theirs.abs().max()))


def test_zero_iterations_is_the_zero_phase_inverse() -> None:
    magnitude = torch.rand(1, 129, 10, dtype=torch.float64)
    ours = fast_griffin_lim(magnitude, 256, 64, 256, 0, 0.99)
    window = torch.hann_window(256, dtype=torch.float64)
    theirs = torch.istft(magnitude.to(torch.complex128), 256, 64, 256, window)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)


def test_rejects_bad_momentum_and_gapped_windows() -> None:
    magnitude = torch.rand(1, 129, 10)
    with pytest.raises(AudioError, match="momentum"):
        fast_griffin_lim(magnitude, 256, 64, 256, 2, 1.0)
    with pytest.raises(AudioError, match="envelope"):
        fast_griffin_lim(magnitude, 256, 128, 64, 2, 0.5)
