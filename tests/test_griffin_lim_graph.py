"""Griffin-Lim through CUDA graphs (tts.audio.griffin_lim_graph) gives what the eager run gives.

On a CPU the padded run is eager (`capture=False`): padding a batch into its bucket with silent
frames and rows must leave every item's wave unchanged. On CUDA the captured graphs are compared.
"""

from __future__ import annotations

import pytest
import torch

from tts.audio import AudioConfig, griffin_lim
from tts.audio.griffin_lim_graph import FRAME_BUCKET, GriffinLimGraphs, batch_bucket, frame_bucket

CUDA = torch.cuda.is_available()
CONFIG = AudioConfig(griffin_lim_iters=8)


def _batch(lengths: list[int], device: str = "cpu") -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(len(lengths), CONFIG.n_freq, max(lengths), device=device) * 0.8


def test_buckets() -> None:
    assert [batch_bucket(n) for n in (1, 2, 3, 5)] == [1, 2, 4, 8]
    assert frame_bucket(1) == frame_bucket(FRAME_BUCKET) == FRAME_BUCKET
    assert frame_bucket(FRAME_BUCKET + 1) == 2 * FRAME_BUCKET


def test_padded_run_gives_each_item_its_wave() -> None:
    lengths = [40, 23, 31]
    linear = _batch(lengths)
    graphs = GriffinLimGraphs(capture=False)
    padded = griffin_lim(linear, lengths, CONFIG, graphs=graphs)
    plain = griffin_lim(linear, lengths, CONFIG)
    assert len(graphs.cache) == 1
    for ours, reference in zip(padded, plain, strict=True):
        assert ours.shape == reference.shape
        torch.testing.assert_close(ours, reference, atol=2e-4, rtol=1e-3)


def test_a_bucket_is_reused_by_other_batches_that_fit() -> None:
    graphs = GriffinLimGraphs(capture=False)
    griffin_lim(_batch([40, 23, 31]), [40, 23, 31], CONFIG, graphs=graphs)
    lengths = [20, 44, 12, 30]
    linear = _batch(lengths)
    again = griffin_lim(linear, lengths, CONFIG, graphs=graphs)
    plain = griffin_lim(linear, lengths, CONFIG)
    assert graphs.cache.builds == 1
    for ours, reference in zip(again, plain, strict=True):
        torch.testing.assert_close(ours, reference, atol=2e-4, rtol=1e-3)


def test_the_cache_is_bounded() -> None:
    graphs = GriffinLimGraphs(max_graphs=1, capture=False)
    for frames in (10, 100):
        griffin_lim(_batch([frames]), [frames], CONFIG, graphs=graphs)
    assert len(graphs.cache) == 1 and graphs.cache.builds == 2


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_cuda_graphs_give_the_eager_waves() -> None:
    lengths = [90, 33, 61]
    linear = _batch(lengths, "cuda")
    graphs = GriffinLimGraphs()
    for _ in range(2):
        graphed = griffin_lim(linear, lengths, CONFIG, graphs=graphs)
    plain = griffin_lim(linear, lengths, CONFIG)
    assert graphs.cache.builds == 1 and graphs.cache.captured == 1
    for ours, reference in zip(graphed, plain, strict=True):
        torch.testing.assert_close(ours, reference, atol=2e-4, rtol=1e-3)
