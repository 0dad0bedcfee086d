"""Batched Griffin-Lim: reconstruction quality on a known signal, and batch = one-by-one (the CPU's
default path)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import pytest
import torch
import torchaudio.functional as AF

from tts.audio import AudioConfig, AudioError, SpectrogramExtractor, denormalize, griffin_lim
from tts.audio.griffin_lim import deemphasize, sharpen

CONFIG = AudioConfig()
# Spectral convergence ||S - |STFT(x_hat)| ||_F / ||S||_F that 60 iterations of zero-phase-init
# fast Griffin-Lim reach on `test_signal(0.75)` (target = the signal's own magnitude, power 1):
# measured 0.039 on CPU (one iteration: 0.42); the bound leaves room for FFT differences across
# machines and devices.
SPECTRAL_CONVERGENCE_BOUND = 0.06


def test_signal(seconds: float) -> torch.Tensor:
    """A rising chirp (200 Hz -> 3 kHz) over two steady partials, faded in and out; [T]."""
    rate = CONFIG.sample_rate
    t = torch.arange(int(seconds * rate), dtype=torch.float64) / rate
    chirp = torch.sin(2 * math.pi * (200.0 * t + (3000.0 - 200.0) / (2 * seconds) * t**2))
    partials = 0.75 * torch.sin(2 * math.pi * 440.0 * t) + 0.5 * torch.sin(2 * math.pi * 1250.0 * t)
    fade = torch.clamp(torch.minimum(t, seconds - t) / 0.05, max=1.0)
    return (0.02 * (chirp + partials) * fade).float()


test_signal.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """These small FFTs gain nothing from threads, and on a busy 2-core machine OpenMP's waiting
    between threads makes them ten times slower; restore the setting afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def extractor() -> SpectrogramExtractor:
    return SpectrogramExtractor(CONFIG)


def spectral_convergence(target: torch.Tensor, wave: torch.Tensor,
                         extractor: SpectrogramExtractor) -> float:
    """SC of the wave's (pre-emphasised) magnitude against target [n_freq, T_frames]."""
    rebuilt = extractor.magnitude(wave.float())[..., : target.shape[-1]]
    return (torch.linalg.norm(target - rebuilt) / torch.linalg.norm(target)).item()


def test_reconstructs_known_signal_magnitude(extractor: SpectrogramExtractor) -> None:
    linear = extractor.linear_spectrogram(test_signal(0.75))  # [n_freq, T_frames]
    assert linear.max() < 1.0, "the test signal must not clip at the top of the range"
    plain = dataclasses.replace(CONFIG, griffin_lim_power=1.0)
    target = denormalize(linear, plain)
    (wave,) = griffin_lim(linear[None], [linear.shape[-1]], plain)
    converged = spectral_convergence(target, wave, extractor)
    (one_step,) = griffin_lim(linear[None], [linear.shape[-1]],
                              dataclasses.replace(plain, griffin_lim_iters=1))
    assert converged < SPECTRAL_CONVERGENCE_BOUND
    assert converged < 0.5 * spectral_convergence(target, one_step, extractor)


def test_output_shapes_lengths_and_sharpening(extractor: SpectrogramExtractor) -> None:
    linear = extractor.linear_spectrogram(test_signal(0.3))
    frames = linear.shape[-1]
    batch = torch.stack([linear, linear])
    waves = griffin_lim(batch, torch.tensor([frames, frames - 10]), CONFIG)
    assert [w.shape for w in waves] == [(frames * CONFIG.hop_length,),
                                        ((frames - 10) * CONFIG.hop_length,)]
    assert all(w.dtype == torch.float32 and torch.isfinite(w).all() for w in waves)
    # With the default power the output follows the sharpened magnitude, not the plain one.
    sharpened = sharpen(denormalize(linear, CONFIG), CONFIG)
    assert spectral_convergence(sharpened, waves[0], extractor) < 0.25  # measured 0.14
    assert sharpened.max() <= CONFIG.max_amplitude


def padded_batch(items: list[torch.Tensor], dtype: torch.dtype) -> tuple[torch.Tensor, list[int]]:
    """Stack [n_freq, T_i] items into [B, n_freq, max T_i], filling the padding with noise that
    griffin_lim must ignore."""
    generator = torch.Generator().manual_seed(1)
    longest = max(item.shape[-1] for item in items)
    batch = torch.rand(len(items), CONFIG.n_freq, longest, generator=generator).to(dtype)
    for index, item in enumerate(items):
        batch[index, :, : item.shape[-1]] = item
    return batch, [item.shape[-1] for item in items]


def test_batched_equals_per_item_in_float64(extractor: SpectrogramExtractor) -> None:
    # In float64, rounding cannot steer the iterations apart, so any difference would come from
    # the padding: silence-padded items must give what they give alone, to high precision.
    # The padding's effect does not depend on the iteration count, so fewer keep the test fast.
    config = dataclasses.replace(CONFIG, griffin_lim_iters=16)
    items = [extractor.linear_spectrogram(test_signal(s)).double() for s in (0.45, 0.25, 0.35)]
    batch, lengths = padded_batch(items, torch.float64)
    batched = griffin_lim(batch, lengths, config, batched=True)
    on_cpu = griffin_lim(batch, lengths, config)  # a CPU's default: item by item
    for item, together, one_by_one in zip(items, batched, on_cpu, strict=True):
        (alone,) = griffin_lim(item[None], [item.shape[-1]], config)
        assert together.shape == alone.shape
        assert (together - alone).abs().max() <= 1e-4 * alone.abs().max()  # measured 4e-6
        assert torch.equal(one_by_one, alone)


def test_batched_equals_per_item_in_float32(extractor: SpectrogramExtractor) -> None:
    # In float32 Griffin-Lim's phases drift apart along directions of equal magnitude error (a
    # steady partial may settle on another absolute phase), so compare what Griffin-Lim
    # controls: the magnitude spectrogram of the result.
    items = [extractor.linear_spectrogram(test_signal(s)) for s in (0.45, 0.25)]
    batch, lengths = padded_batch(items, torch.float32)
    batched = griffin_lim(batch, lengths, CONFIG, batched=True)
    for item, together in zip(items, batched, strict=True):
        (alone,) = griffin_lim(item[None], [item.shape[-1]], CONFIG)
        reference = extractor.magnitude(alone)
        assert spectral_convergence(reference, together, extractor) < 2e-3  # measured 3e-5


def test_deemphasis_inverts_preemphasis() -> None:
    wave = torch.randn(3, 2000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    restored = deemphasize(AF.preemphasis(wave, CONFIG.preemphasis), CONFIG)
    torch.testing.assert_close(restored, wave, rtol=0, atol=1e-9)
    assert deemphasize(10 * wave, CONFIG).abs().max() > 1.0  # no silent clipping to [-1, 1]


def test_input_errors() -> None:
    quick = dataclasses.replace(CONFIG, griffin_lim_iters=2)
    good = torch.zeros(2, CONFIG.n_freq, 20)
    with pytest.raises(AudioError, match=r"\[B, n_freq, T_frames\]"):
        griffin_lim(torch.zeros(CONFIG.n_freq, 20), [20], CONFIG)
    with pytest.raises(AudioError, match="513 frequency bins"):
        griffin_lim(torch.zeros(2, 80, 20), [20, 20], CONFIG)
    with pytest.raises(AudioError, match="got 1 lengths for a batch of 2"):
        griffin_lim(good, [20], CONFIG)
    with pytest.raises(AudioError, match=r"lengths must lie in 1\.\.20"):
        griffin_lim(good, [21, 0], CONFIG)
    bad = good.clone()
    bad[1, 3, 5] = float("nan")
    with pytest.raises(AudioError, match="NaN"):
        griffin_lim(bad, [20, 20], CONFIG)
    assert griffin_lim(bad, [20, 4], quick)[1].shape == (4 * CONFIG.hop_length,)  # NaN in padding
    assert griffin_lim(torch.zeros(0, CONFIG.n_freq, 20), [], CONFIG) == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_like_on_cpu(extractor: SpectrogramExtractor) -> None:
    items = [extractor.linear_spectrogram(test_signal(s)) for s in (0.6, 0.35)]
    batch, lengths = padded_batch(items, torch.float32)
    on_cpu = griffin_lim(batch, lengths, CONFIG, batched=True)
    on_gpu = griffin_lim(batch.cuda(), torch.tensor(lengths, device="cuda"), CONFIG)
    for cpu_wave, gpu_wave in zip(on_cpu, on_gpu, strict=True):
        assert gpu_wave.device.type == "cuda"
        reference = extractor.magnitude(cpu_wave)
        assert spectral_convergence(reference, gpu_wave.cpu(), extractor) < 0.01
