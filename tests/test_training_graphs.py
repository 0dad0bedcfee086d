"""The CUDA-graphed training loop (tts.training.graphs) gives the loss what the eager loop gives.

On a CPU the padded loop runs eagerly: padding into a bucket and slicing back must leave outputs
and gradients unchanged. On CUDA the captured graphs are compared with the eager loop.
"""

from __future__ import annotations

import pytest
import torch

from tests.conftest import tiny_tacotron_config
from tts.cuda_graph import round_up
from tts.model import LossConfig, Tacotron, TacotronLoss
from tts.training.graphs import STEP_BUCKET, TEXT_BUCKET, GraphedSteps

CUDA = torch.cuda.is_available()


def _loss_and_grads(model: Tacotron, batch: dict[str, torch.Tensor], run_steps: object = None):
    """One teacher-forced loss and every parameter's gradient (no dropout, so runs compare)."""
    model.zero_grad(set_to_none=True)
    output = model(batch["ids"], batch["text_lengths"], batch["mels"], batch["frame_lengths"],
                   run_steps=run_steps)
    loss_fn = TacotronLoss(LossConfig(), 22050, model.config.n_freq, model.config.reduction_factor)
    terms = loss_fn(output, batch["mels"], batch["linears"], batch["text_lengths"], batch["frame_lengths"])
    terms.total.backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
    # Detached: a live autograd graph would break the next CUDA graph capture (see the loop).
    return type(output)(*(t.detach() for t in output)), terms.total.detach(), grads


def _batch(config, lengths: list[int], frames: list[int], device: str = "cpu") -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    r = config.reduction_factor
    total = round_up(max(frames), r)
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.randint(1, config.n_symbols, (length,))
    batch = {
        "ids": ids, "text_lengths": torch.tensor(lengths), "frame_lengths": torch.tensor(frames),
        "mels": torch.rand(len(lengths), total, config.n_mels),
        "linears": torch.rand(len(lengths), total, config.n_freq),
    }
    return {key: value.to(device) for key, value in batch.items()}


def test_round_up() -> None:
    assert [round_up(n, 32) for n in (1, 32, 33, 64)] == [32, 32, 64, 64]


def test_padded_loop_gives_the_eager_loss_and_gradients() -> None:
    """Rows, steps and symbols padded into a bucket: the same outputs, loss and gradients."""
    config = tiny_tacotron_config(prenet_dropout=0.0)
    torch.manual_seed(0)
    model = Tacotron(config).train()
    batch = _batch(config, [9, 5, 7], [30, 18, 26])
    padded = GraphedSteps(model.decoder, batch_size=4, capture=False)
    eager_out, eager_loss, eager_grads = _loss_and_grads(model, batch)
    padded_out, padded_loss, padded_grads = _loss_and_grads(model, batch, padded)
    assert padded_out.alignments.shape == eager_out.alignments.shape
    assert padded_out.mel.shape == eager_out.mel.shape
    torch.testing.assert_close(padded_out.mel, eager_out.mel, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(padded_loss, eager_loss, atol=1e-5, rtol=1e-5)
    assert padded_grads.keys() == eager_grads.keys()
    assert len(padded_grads) == len(list(model.parameters()))  # every parameter gets a gradient
    for name, grad in eager_grads.items():
        torch.testing.assert_close(padded_grads[name], grad, atol=1e-5, rtol=1e-4, msg=name)


def test_a_batch_larger_than_the_bucket_runs_eagerly() -> None:
    config = tiny_tacotron_config()
    model = Tacotron(config)
    steps = GraphedSteps(model.decoder, batch_size=2, capture=False)
    batch = _batch(config, [4, 4, 4], [10, 10, 10])
    model(batch["ids"], batch["text_lengths"], batch["mels"], batch["frame_lengths"], run_steps=steps)
    assert len(steps.cache) == 0
    fits = _batch(config, [4, 4], [10, 10])
    model(fits["ids"], fits["text_lengths"], fits["mels"], fits["frame_lengths"], run_steps=steps)
    assert len(steps.cache) == 1  # the same bucketing, taken by a batch that fits


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_cuda_graphed_loop_gives_the_eager_loss_and_gradients() -> None:
    config = tiny_tacotron_config(prenet_dropout=0.0)
    torch.manual_seed(0)
    model = Tacotron(config).cuda().train()
    graphed = GraphedSteps(model.decoder, batch_size=4)
    for lengths, frames in (([9, 5, 7], [30, 18, 26]), ([12, 3, 8, 10], [80, 8, 30, 36]), ([9, 5, 7], [30, 18, 26])):
        batch = _batch(config, lengths, frames, "cuda")
        eager_out, eager_loss, eager_grads = _loss_and_grads(model, batch)
        graph_out, graph_loss, graph_grads = _loss_and_grads(model, batch, graphed)
        torch.testing.assert_close(graph_out.mel, eager_out.mel, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(graph_loss, eager_loss, atol=1e-4, rtol=1e-4)
        for name, grad in eager_grads.items():
            torch.testing.assert_close(graph_grads[name], grad, atol=1e-4, rtol=1e-3, msg=name)
    assert graphed.captures == 2  # the third batch replays the first one's bucket
    assert STEP_BUCKET > 1 and TEXT_BUCKET > 1
