"""`Decoder.infer`, regrouped (tts.model.fast_decode) or graph-replayed (tts.model.graph_decode),
computes what `Decoder.reference_infer`, the plain loop over `Decoder.step`, specifies."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import tiny_encoded_batch, tiny_tacotron_config
from tts.model.fast_decode import GRUWeights, gru_update
from tts.model.graph_decode import GraphDecoder


@pytest.mark.parametrize("r", [1, 2, 3])
@pytest.mark.parametrize("dropout_at_inference", [True, False])
def test_fast_decode_equals_reference_steps(r: int, dropout_at_inference: bool) -> None:
    config = tiny_tacotron_config(reduction_factor=r, prenet_dropout_at_inference=dropout_at_inference)
    model, memory, mask = tiny_encoded_batch(config, [9, 4, 7])
    max_steps = torch.tensor([13, 21, 6])
    seeds = torch.tensor([1, 2, 3])
    with torch.inference_mode():
        fast, fast_steps, fast_limit = model.decoder.infer(memory, mask, max_steps, seeds, 1.1, check_every=8)
        slow, slow_steps, slow_limit = model.decoder.reference_infer(memory, mask, max_steps, seeds, 1.1)
    assert fast_steps.tolist() == slow_steps.tolist() == [13, 21, 6]
    assert fast_limit.tolist() == slow_limit.tolist()
    frames = slow.mel.size(1)
    assert fast.mel.size(1) >= frames  # the fast loop may run on to the end of its chunk
    assert torch.allclose(fast.mel[:, :frames], slow.mel, atol=1e-5)
    assert torch.allclose(fast.stop_logits[:, : slow.stop_logits.size(1)], slow.stop_logits, atol=1e-5)
    assert torch.allclose(fast.alignments[:, : slow.alignments.size(1)], slow.alignments, atol=1e-6)


@pytest.mark.parametrize("check_every", [1, 3, 8, 50])
def test_fast_decode_stops_where_the_reference_does(check_every: int) -> None:
    config = tiny_tacotron_config()
    model, memory, mask = tiny_encoded_batch(config, [9, 5, 7], seed=3)
    seeds = torch.tensor([4, 5, 6])
    max_steps = torch.tensor([40, 40, 9])
    with torch.inference_mode():
        # A threshold inside the range the random stop logits reach, so items stop at different steps.
        logits = model.decoder.reference_infer(memory, mask, max_steps, seeds, 1.1)[0].stop_logits
        threshold = float(torch.sigmoid(logits[:, :12]).median())
        fast, fast_steps, fast_limit = model.decoder.infer(
            memory, mask, max_steps, seeds, threshold, check_every=check_every
        )
        slow, slow_steps, slow_limit = model.decoder.reference_infer(memory, mask, max_steps, seeds, threshold)
    assert fast_steps.tolist() == slow_steps.tolist()
    assert fast_limit.tolist() == slow_limit.tolist()
    assert not all(fast_limit.tolist())
    assert fast.mel.size(1) >= slow.mel.size(1)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"))])
def test_graph_decoding_equals_reference_steps(device: str) -> None:
    """Graph chunks (run eagerly on a CPU, captured and replayed on CUDA): each item's steps, stop
    reason and outputs are the reference's, despite the padded batch and text buckets."""
    config = tiny_tacotron_config(reduction_factor=2)
    lengths = [9, 4, 7]
    model, memory, mask = tiny_encoded_batch(config, lengths, device=device)
    max_steps = torch.tensor([13, 21, 6], device=device)
    seeds = torch.tensor([1, 2, 3], device=device)
    graphs = GraphDecoder(capture=device == "cuda")
    with torch.inference_mode():
        outputs, alignments, steps, hit_limit = graphs.decode(model.decoder, memory, mask, max_steps, seeds, 1.1)
        slow, slow_steps, slow_limit = model.decoder.reference_infer(memory, mask, max_steps, seeds, 1.1)
    assert steps.tolist() == slow_steps.tolist() == [13, 21, 6]
    assert hit_limit.tolist() == slow_limit.tolist()
    r, n_mels = config.reduction_factor, config.n_mels
    for row, length in enumerate(lengths):
        n = int(slow_steps[row])
        mel = outputs[row, :n, :-1].reshape(n * r, n_mels)
        torch.testing.assert_close(mel, slow.mel[row, : n * r], atol=1e-4, rtol=1e-3)
        torch.testing.assert_close(outputs[row, :n, -1], slow.stop_logits[row, :n], atol=1e-4, rtol=1e-3)
        torch.testing.assert_close(alignments[row, :n, :length], slow.alignments[row, :n, :length],
                                   atol=1e-5, rtol=1e-3)


def test_teacher_forcing_the_inferred_frames_reproduces_them() -> None:
    """forward fed with what infer produced must retrace infer (same decoder, no dropout)."""
    config = tiny_tacotron_config(prenet_dropout_at_inference=False)
    model, memory, mask = tiny_encoded_batch(config, [8, 5])
    with torch.inference_mode():
        inferred, _, _ = model.decoder.infer(memory, mask, torch.tensor([16, 16]), torch.tensor([0, 0]), 1.1)
        forced = model.decoder(memory, mask, inferred.mel)
    assert torch.allclose(forced.mel, inferred.mel, atol=1e-5)
    assert torch.allclose(forced.alignments, inferred.alignments, atol=1e-6)


def test_gru_update_matches_torch_gru_cell() -> None:
    torch.manual_seed(0)
    cell = torch.nn.GRUCell(6, 5)
    x, h = torch.randn(3, 6), torch.randn(3, 5)
    with torch.no_grad():
        gates = torch.addmm(cell.bias_ih, x, cell.weight_ih.t())
        ours = gru_update(gates, h, GRUWeights(cell.weight_hh.t(), cell.bias_hh))
        assert torch.allclose(ours, cell(x, h), atol=1e-6)


def test_small_cpu_batches_run_on_one_thread_and_restore_the_setting() -> None:
    from tts.threads import SINGLE_THREAD_MAX_BATCH, inference_threads

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with inference_threads(1, torch.device("cpu")):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with inference_threads(SINGLE_THREAD_MAX_BATCH + 1, torch.device("cpu")):
            assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), inference_threads(1, torch.device("cpu")):
            raise RuntimeError("restored even on errors")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("dropout_at_inference", [True, False])
def test_teacher_forcing_with_synthesis_masks_reproduces_free_running(dropout_at_inference: bool) -> None:
    """Fed its own free-running frames and the masks synthesis drew, the teacher-forced pass
    predicts those same frames (what vocoder fine-tuning with teacher_dropout relies on)."""
    config = tiny_tacotron_config(reduction_factor=2, prenet_dropout_at_inference=dropout_at_inference)
    model, memory, mask = tiny_encoded_batch(config, [9, 6], seed=5)
    seeds = torch.tensor([11, 12])
    with torch.inference_mode():
        free, _, _ = model.decoder.reference_infer(memory, mask, torch.tensor([10, 10]), seeds, 1.1)
        masks = model.decoder.synthesis_prenet_masks(seeds, 10, free.mel.dtype)
        forced = model.decoder(memory, mask, free.mel, prenet_masks=masks)
        unmasked = model.decoder(memory, mask, free.mel)
    assert all((m is None) != dropout_at_inference for m in masks)
    assert torch.allclose(forced.mel, free.mel, atol=1e-5)
    assert torch.allclose(forced.alignments, free.alignments, atol=1e-6)
    assert torch.allclose(unmasked.mel, free.mel, atol=1e-5) != dropout_at_inference
