"""Benchmark 5: training throughput (steps/s and frames/s) of one optimisation step.

One step is what tts.training.loop does per batch, without data loading: teacher-forced forward,
TacotronLoss, backward, gradient clipping, AdamW. fp32 on the CPU for the tiny and the default
model; bf16 autocast on CUDA when a GPU is there (otherwise that row says so).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from bench.report import Table
from bench.timing import interleave
from tts.model import LossConfig, Tacotron, TacotronConfig, TacotronLoss

SHAPES: dict[str, tuple[TacotronConfig, int, int, int]] = {
    # name: (model, batch, symbols per item, frames per item)
    "tiny": (TacotronConfig(
        n_symbols=80, embedding_dim=32, encoder_prenet_dims=(32, 16), decoder_prenet_dims=(32, 16),
        encoder_bank_size=4, encoder_channels=16, encoder_highway_layers=2, encoder_gru_dim=16,
        attention_rnn_dim=32, attention_dim=16, location_filters=8, location_kernel_size=7,
        decoder_rnn_dim=32, postnet_bank_size=3, postnet_channels=16, postnet_projection_dim=32,
        postnet_highway_layers=1, postnet_gru_dim=16,
    ), 8, 30, 120),
    "default": (TacotronConfig(n_symbols=80), 8, 60, 200),
}


def _step(name: str, device: torch.device, bf16: bool) -> tuple[Callable[[], None], int]:
    """A closure running one training step of the named shape, and frames per step."""
    config, batch, n_text, n_frames = SHAPES[name]
    torch.manual_seed(0)
    model = Tacotron(config).to(device).train()
    loss_fn = TacotronLoss(LossConfig(), 22050, config.n_freq, config.reduction_factor)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    ids = torch.randint(1, 80, (batch, n_text), device=device)
    text_lengths = torch.full((batch,), n_text, device=device)
    mels = torch.rand(batch, n_frames, config.n_mels, device=device)
    linears = torch.rand(batch, n_frames, config.n_freq, device=device)
    frame_lengths = torch.full((batch,), n_frames, device=device)
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext

    def step() -> None:
        with autocast():
            output = model(ids, text_lengths, mels, frame_lengths)
        terms = loss_fn(output, mels, linears, text_lengths, frame_lengths)
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return step, batch * n_frames


def run(rounds: int = 3, threads: tuple[int, ...] = (2,)) -> list[Table]:
    """CPU fp32 rows for each shape at each thread count, and the GPU rows (or 'not measured')."""
    table = Table("Training throughput (one optimisation step, no data loading)",
                  ["device", "threads", "model", "precision", "batch x frames", "steps/s", "frames/s"])
    cpu = torch.device("cpu")
    for count in threads:
        torch.set_num_threads(count)
        for name in SHAPES:
            step, frames = _step(name, cpu, bf16=False)
            seconds = interleave({name: step}, rounds).median(name)
            _, batch, _, n_frames = SHAPES[name]
            table.add("CPU", count, name, "fp32", f"{batch} x {n_frames}", f"{1 / seconds:.2f}",
                      f"{frames / seconds:.0f}")
    if torch.cuda.is_available():
        gpu = torch.device("cuda")
        steps = {precision: _step("default", gpu, bf16=precision == "bf16") for precision in ("fp32", "bf16")}
        samples = interleave({key: value[0] for key, value in steps.items()}, rounds)
        for precision, (_, frames) in steps.items():
            seconds = samples.median(precision)
            table.add("GPU", "-", "default", precision, "8 x 200", f"{1 / seconds:.2f}", f"{frames / seconds:.0f}")
    else:
        for precision in ("fp32", "bf16"):
            table.add("GPU", "-", "default", precision, "8 x 200", "not measured: no GPU", "not measured: no GPU")
    table.notes.append("frames/s counts mel frames of the batch (teacher-forced) per second of training. "
                       "On a busy 2-core machine the many small kernels of a tiny model lose more to "
                       "waking a second thread than they gain from it.")
    return [table]
