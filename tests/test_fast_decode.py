"""The regrouped inference loop (tts.model.fast_decode) computes what repeated `Decoder.step` does."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import tiny_tacotron_config
from tts.model import Tacotron, TacotronConfig
from tts.model.decoder import Decoder, DecoderOutput
from tts.model.dropout import dropout_mask
from tts.model.fast_decode import GRUWeights, gru_update
from tts.model.layers import lengths_to_mask


def _reference_infer(
    decoder: Decoder,
    memory: torch.Tensor,
    text_mask: torch.Tensor,
    max_steps: torch.Tensor,
    seeds: torch.Tensor,
    threshold: float,
) -> tuple[DecoderOutput, torch.Tensor, torch.Tensor]:
    """The plain loop: one `Decoder.step` per step, stop checked at every step."""
    batch = memory.size(0)
    processed = decoder.attention.process_memory(memory)
    state = decoder.initial_state(memory)
    frame = memory.new_zeros(batch, decoder.n_mels)
    steps = max_steps.clone()
    finished = torch.zeros(batch, dtype=torch.bool)
    by_token = torch.zeros(batch, dtype=torch.bool)
    frames, stops, weights = [], [], []
    for step in range(int(max_steps.max())):
        masks = [
            dropout_mask(seeds, step, layer, width, decoder.prenet_dropout, memory.dtype)
            if decoder.prenet_dropout_at_inference else None
            for layer, width in enumerate(decoder.prenet.widths)
        ]
        out, stop, state = decoder.step(decoder.prenet(frame, masks), state, memory, processed, text_mask)
        frames.append(out)
        stops.append(stop)
        weights.append(state.attention_weights)
        frame = out[:, -decoder.n_mels :]
        stopped = (torch.sigmoid(stop) > threshold) & ~finished
        steps = torch.where(stopped, torch.full_like(steps, step + 1), steps)
        by_token |= stopped
        finished |= stopped | (max_steps <= step + 1)
        if bool(finished.all()):
            break
    mel = torch.stack(frames, dim=1).reshape(batch, -1, decoder.n_mels)
    return DecoderOutput(mel, torch.stack(stops, dim=1), torch.stack(weights, dim=1)), steps, ~by_token


def _encoded(config: TacotronConfig, lengths: list[int], seed: int = 0):
    torch.manual_seed(seed)
    model = Tacotron(config).eval()
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.randint(1, config.n_symbols, (length,))
    text_lengths = torch.tensor(lengths)
    with torch.inference_mode():
        memory = model.encoder(ids, text_lengths)
    return model, memory, lengths_to_mask(text_lengths, ids.size(1))


@pytest.mark.parametrize("r", [1, 2, 3])
@pytest.mark.parametrize("dropout_at_inference", [True, False])
def test_fast_decode_equals_reference_steps(r: int, dropout_at_inference: bool) -> None:
    config = tiny_tacotron_config(reduction_factor=r, prenet_dropout_at_inference=dropout_at_inference)
    model, memory, mask = _encoded(config, [9, 4, 7])
    max_steps = torch.tensor([13, 21, 6])
    seeds = torch.tensor([1, 2, 3])
    with torch.inference_mode():
        fast, fast_steps, fast_limit = model.decoder.infer(memory, mask, max_steps, seeds, 1.1, check_every=8)
        slow, slow_steps, slow_limit = _reference_infer(model.decoder, memory, mask, max_steps, seeds, 1.1)
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
    model, memory, mask = _encoded(config, [9, 5, 7], seed=3)
    seeds = torch.tensor([4, 5, 6])
    max_steps = torch.tensor([40, 40, 9])
    with torch.inference_mode():
        # A threshold inside the range the random stop logits reach, so items stop at different steps.
        logits = _reference_infer(model.decoder, memory, mask, max_steps, seeds, 1.1)[0].stop_logits
        threshold = float(torch.sigmoid(logits[:, :12]).median())
        fast, fast_steps, fast_limit = model.decoder.infer(
            memory, mask, max_steps, seeds, threshold, check_every=check_every
        )
        slow, slow_steps, slow_limit = _reference_infer(model.decoder, memory, mask, max_steps, seeds, threshold)
    assert fast_steps.tolist() == slow_steps.tolist()
    assert fast_limit.tolist() == slow_limit.tolist()
    assert not all(fast_limit.tolist())
    assert fast.mel.size(1) >= slow.mel.size(1)


def test_teacher_forcing_the_inferred_frames_reproduces_them() -> None:
    """forward fed with what infer produced must retrace infer (same decoder, no dropout)."""
    config = tiny_tacotron_config(prenet_dropout_at_inference=False)
    model, memory, mask = _encoded(config, [8, 5])
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
