"""CUDA-graph decoding (tts.model.graph_decode) computes what `fast_decode` does, per item.

On a CPU the chunk body runs eagerly with the same static buffers, bucket padding and chunking a
graph would replay; on CUDA the captured graphs are checked against the eager path too.
"""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from tests.conftest import tiny_encoded_batch, tiny_tacotron_config
from tts.model import Tacotron
from tts.model.fast_decode import fast_decode
from tts.model.graph_decode import TEXT_BUCKET, GraphDecoder, batch_bucket, text_bucket
from tts.model.layers import lengths_to_mask

CUDA = torch.cuda.is_available()


def _assert_same_per_item(graphed, fast, lengths: list[int]) -> None:
    """Equal steps and stop reasons, and equal outputs over each item's own steps and symbols."""
    g_out, g_align, g_steps, g_limit = graphed
    f_out, f_align, f_steps, f_limit = fast
    assert g_steps.tolist() == f_steps.tolist()
    assert g_limit.tolist() == f_limit.tolist()
    assert g_out.shape == f_out.shape and g_align.shape == f_align.shape
    for row, length in enumerate(lengths):
        steps = int(f_steps[row])
        torch.testing.assert_close(g_out[row, :steps], f_out[row, :steps], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(g_align[row, :steps, :length], f_align[row, :steps, :length],
                                   atol=1e-6, rtol=1e-5)


def test_buckets() -> None:
    assert [batch_bucket(n) for n in (1, 2, 3, 4, 5, 8, 9, 64, 65)] == [1, 2, 4, 4, 8, 8, 16, 64, 128]
    assert text_bucket(1) == text_bucket(TEXT_BUCKET) == TEXT_BUCKET
    assert text_bucket(TEXT_BUCKET + 1) == 2 * TEXT_BUCKET


@pytest.mark.parametrize("r", [1, 2])
@pytest.mark.parametrize("dropout_at_inference", [True, False])
@pytest.mark.parametrize("chunk_steps", [1, 3, 8])
def test_eager_chunks_equal_fast_decode(r: int, dropout_at_inference: bool, chunk_steps: int) -> None:
    """Padding rows (3 -> 4), padded symbols (9 -> 32), step limits that end mid-chunk."""
    config = tiny_tacotron_config(reduction_factor=r, prenet_dropout_at_inference=dropout_at_inference)
    lengths = [9, 4, 7]
    model, memory, mask = tiny_encoded_batch(config, lengths)
    max_steps, seeds = torch.tensor([13, 21, 6]), torch.tensor([1, 2, 3])
    graphs = GraphDecoder(capture=False)
    with torch.inference_mode():
        graphed = graphs.decode(model.decoder, memory, mask, max_steps, seeds, 1.1, chunk_steps)
        fast = fast_decode(model.decoder, memory, mask, max_steps, seeds, 1.1, chunk_steps)
    _assert_same_per_item(graphed, fast, lengths)
    assert graphed[2].tolist() == [13, 21, 6]


def test_stop_token_ends_items_where_fast_decode_does() -> None:
    config = tiny_tacotron_config()
    lengths = [9, 5, 7]
    model, memory, mask = tiny_encoded_batch(config, lengths, seed=3)
    seeds, max_steps = torch.tensor([4, 5, 6]), torch.tensor([40, 40, 9])
    with torch.inference_mode():
        logits = fast_decode(model.decoder, memory, mask, max_steps, seeds, 1.1, 8)[0][:, :12, -1]
        threshold = float(torch.sigmoid(logits).median())
        graphed = GraphDecoder(capture=False).decode(model.decoder, memory, mask, max_steps, seeds, threshold)
        fast = fast_decode(model.decoder, memory, mask, max_steps, seeds, threshold, 8)
    _assert_same_per_item(graphed, fast, lengths)
    assert not all(graphed[3].tolist())  # some items stopped by the token


def test_buffers_are_reused_across_calls_and_batches_in_a_bucket() -> None:
    """A second batch in the same bucket (other sizes, other texts) reuses the graph and its
    buffers, and still gets its own results: nothing leaks from the previous call."""
    config = tiny_tacotron_config()
    graphs = GraphDecoder(capture=False)
    model, memory, mask = tiny_encoded_batch(config, [9, 4, 7])
    torch.manual_seed(5)
    other_ids = torch.randint(1, config.n_symbols, (4, 12))
    other_lengths = torch.tensor([12, 3, 8, 10])
    with torch.inference_mode():
        graphs.decode(model.decoder, memory, mask, torch.tensor([10, 10, 10]), torch.tensor([1, 2, 3]), 1.1)
        other_memory = model.encoder(other_ids, other_lengths)
        other_mask = lengths_to_mask(other_lengths, 12)
        args = (other_memory, other_mask, torch.tensor([7, 15, 9, 4]), torch.tensor([8, 9, 10, 11]), 1.1)
        graphed = graphs.decode(model.decoder, *args)
        fast = fast_decode(model.decoder, *args, 8)
    assert graphs.cache.builds == 1 and len(graphs.cache) == 1
    _assert_same_per_item(graphed, fast, other_lengths.tolist())


def test_weights_are_refreshed_when_parameters_change() -> None:
    config = tiny_tacotron_config()
    model, memory, mask = tiny_encoded_batch(config, [6])
    graphs = GraphDecoder(capture=False)
    args = (memory, mask, torch.tensor([10]), torch.tensor([0]), 1.1)
    with torch.inference_mode():
        graphs.decode(model.decoder, *args)
        with torch.no_grad():
            for parameter in model.decoder.parameters():
                parameter.mul_(1.5)
        graphed = graphs.decode(model.decoder, *args)
        fast = fast_decode(model.decoder, *args, 8)
    _assert_same_per_item(graphed, fast, [6])


def test_weights_are_refreshed_after_a_fused_optimiser_step() -> None:
    """A fused Adam step changes parameters without bumping their version counters: the next
    decode must still see the new weights (as training evaluations do)."""
    config = tiny_tacotron_config()
    model, memory, mask = tiny_encoded_batch(config, [6])
    graphs = GraphDecoder(capture=False)
    args = (memory, mask, torch.tensor([10]), torch.tensor([0]), 1.1)
    graphs.decode(model.decoder, *args)
    optimizer = torch.optim.Adam(model.decoder.parameters(), lr=0.5, fused=True)
    model.decoder.zero_grad()
    for parameter in model.decoder.parameters():
        parameter.grad = torch.ones_like(parameter)
    optimizer.step()
    graphed = graphs.decode(model.decoder, *args)
    with torch.inference_mode():
        fast = fast_decode(model.decoder, *args, 8)
    _assert_same_per_item(graphed, fast, [6])


def test_decoding_works_in_any_grad_mode() -> None:
    """The graphs' buffers are made in inference mode; a later call under no_grad (or with grad
    enabled) must still work."""
    config = tiny_tacotron_config()
    model, memory, mask = tiny_encoded_batch(config, [6, 3])
    graphs = GraphDecoder(capture=False)
    args = (memory, mask, torch.tensor([10, 10]), torch.tensor([0, 1]), 1.1)
    with torch.inference_mode():
        first = graphs.decode(model.decoder, *args)
    with torch.no_grad():
        second = graphs.decode(model.decoder, *args)
    third = graphs.decode(model.decoder, *args)
    for other in (second, third):
        assert torch.equal(first[0], other[0]) and torch.equal(first[2], other[2])


def test_the_cache_is_bounded() -> None:
    config = tiny_tacotron_config()
    graphs = GraphDecoder(max_graphs=2, capture=False)
    with torch.inference_mode():
        for batch in (1, 2, 4):
            model, memory, mask = tiny_encoded_batch(config, [5] * batch)
            graphs.decode(model.decoder, memory, mask, torch.tensor([3] * batch),
                          torch.zeros(batch, dtype=torch.long), 1.1)
    assert len(graphs.cache) == 2 and graphs.cache.builds == 3


def test_a_copied_or_pickled_model_starts_without_graphs() -> None:
    config = tiny_tacotron_config()
    model, memory, mask = tiny_encoded_batch(config, [6])
    model.decoder.graphs = GraphDecoder(capture=False)
    model.decoder.graphs.decode(model.decoder, memory, mask, torch.tensor([4]), torch.tensor([0]), 1.1)
    assert len(model.decoder.graphs.cache) == 1
    copied = copy.deepcopy(model)
    assert copied.decoder.graphs is not model.decoder.graphs and len(copied.decoder.graphs.cache) == 0
    assert copied.encoder_graphs is not model.encoder_graphs
    restored = pickle.loads(pickle.dumps(model.decoder.graphs))
    assert restored.max_graphs == model.decoder.graphs.max_graphs


def test_the_cpu_never_uses_graphs() -> None:
    """On a CPU Tacotron.infer takes fast_decode whatever the switch says."""
    config = tiny_tacotron_config()
    model = Tacotron(config).eval()
    ids = torch.randint(1, config.n_symbols, (2, 6))
    lengths = torch.tensor([6, 4])
    on = model.infer(ids, lengths, max_steps=12)
    off = model.infer(ids, lengths, max_steps=12, cuda_graphs=False)
    assert len(model.decoder.graphs.cache) == 0
    assert torch.equal(on.mel, off.mel)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("lengths", [[9], [9, 4, 7], [30, 33, 12, 5, 40]])
def test_cuda_graphs_equal_eager_decoding(lengths: list[int]) -> None:
    config = tiny_tacotron_config()
    model, memory, mask = tiny_encoded_batch(config, lengths, device="cuda")
    batch = len(lengths)
    max_steps = torch.arange(20, 20 + 7 * batch, 7, device="cuda")[:batch]
    seeds = torch.arange(batch, device="cuda") + 11
    graphs = GraphDecoder()
    with torch.inference_mode():
        for _ in range(2):  # the second call replays the graph captured by the first
            graphed = graphs.decode(model.decoder, memory, mask, max_steps, seeds, 1.1)
        fast = fast_decode(model.decoder, memory, mask, max_steps, seeds, 1.1, 8)
    assert graphs.cache.builds == 1 and graphs.cache.captured == 1
    _assert_same_per_item(graphed, fast, lengths)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_cuda_tacotron_infer_with_and_without_graphs() -> None:
    config = tiny_tacotron_config()
    torch.manual_seed(0)
    model = Tacotron(config).eval().cuda()
    ids = torch.randint(1, config.n_symbols, (3, 11), device="cuda")
    lengths = torch.tensor([11, 7, 9], device="cuda")
    seeds = torch.tensor([1, 2, 3], device="cuda")
    on = model.infer(ids, lengths, max_steps=40, seeds=seeds)
    off = model.infer(ids, lengths, max_steps=40, seeds=seeds, cuda_graphs=False)
    assert len(model.decoder.graphs.cache) == 1 and model.decoder.graphs.cache.captured == 1
    assert model.encoder_graphs.cache.captured == 1 and model.postnet_graphs.cache.captured == 1
    assert on.step_lengths.tolist() == off.step_lengths.tolist()
    for row in range(3):
        frames = int(on.frame_lengths[row])
        # cuDNN convolutions may use TF32 (torch's default), and padded shapes pick other kernels.
        torch.testing.assert_close(on.mel[row, :frames], off.mel[row, :frames], atol=1e-4, rtol=1e-3)
        torch.testing.assert_close(on.linear[row, :frames], off.linear[row, :frames], atol=1e-4, rtol=1e-3)


def test_capturable_cbhg_equals_the_packed_one() -> None:
    """Without host lengths (masking and per-item reversal instead of packing): the same outputs."""
    from tts.model.layers import CBHG

    torch.manual_seed(0)
    cbhg = CBHG(16, 4, 8, (16, 16), 2, 12).eval()
    x, lengths = torch.randn(3, 11, 16), torch.tensor([11, 5, 8])
    with torch.inference_mode():
        torch.testing.assert_close(cbhg(x, lengths, capturable=True), cbhg(x, lengths), atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(cbhg(x[1:2, :5], lengths[1:2], capturable=True),
                                   cbhg(x[1:2, :5], lengths[1:2]), atol=1e-6, rtol=1e-5)


def test_padded_encoder_and_postnet_give_each_item_its_result() -> None:
    """The encoder and post-net as graphed on CUDA (padded into buckets, capturable CBHG), run
    eagerly on the CPU: each item's real part equals the plain pass."""
    from tts.cuda_graph import ShapeGraphs

    config = tiny_tacotron_config()
    torch.manual_seed(0)
    model = Tacotron(config).eval()
    model.encoder_graphs = ShapeGraphs(capture=False)
    model.postnet_graphs = ShapeGraphs(capture=False)
    ids = torch.randint(1, config.n_symbols, (3, 9))
    lengths = torch.tensor([9, 4, 7])
    mel = torch.rand(3, 30, config.n_mels)
    frames = torch.tensor([30, 12, 22])
    with torch.inference_mode():
        torch.testing.assert_close(model._encode_graphed(ids, lengths), model.encoder(ids, lengths),
                                   atol=1e-6, rtol=1e-5)
        plain = model.linear_projection(model.postnet(mel, frames))
        padded = model._postnet_graphed(mel, frames)
    for row, count in enumerate(frames.tolist()):
        torch.testing.assert_close(padded[row, :count], plain[row, :count], atol=1e-5, rtol=1e-5)
    assert len(model.encoder_graphs.cache) == 1 and len(model.postnet_graphs.cache) == 1


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_cuda_graphs_stop_where_fast_decode_does() -> None:
    """Items stopped by the token at different steps, so the one-chunk look-ahead is exercised."""
    config = tiny_tacotron_config()
    lengths = [9, 5, 7]
    model, memory, mask = tiny_encoded_batch(config, lengths, seed=3, device="cuda")
    seeds = torch.tensor([4, 5, 6], device="cuda")
    max_steps = torch.tensor([40, 40, 9], device="cuda")
    with torch.inference_mode():
        logits = fast_decode(model.decoder, memory, mask, max_steps, seeds, 1.1, 8)[0][:, :12, -1]
        threshold = float(torch.sigmoid(logits).median())
        graphed = GraphDecoder().decode(model.decoder, memory, mask, max_steps, seeds, threshold)
        fast = fast_decode(model.decoder, memory, mask, max_steps, seeds, threshold, 8)
    _assert_same_per_item(graphed, fast, lengths)
    assert not all(graphed[3].tolist())
