"""Benchmark 5: training throughput (steps/s and frames/s) of one optimisation step.

One step is what tts.training.loop does per batch, without data loading: teacher-forced forward,
TacotronLoss, backward, gradient clipping, AdamW. fp32 on the CPU for the tiny and the default
model; on CUDA the default model at batch 32 and 64 x 400 frames in fp32, TF32, bf16 autocast and
TF32 with the decoder loop replayed as CUDA graphs (without a GPU those rows say so).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from bench.report import Table
from bench.timing import interleave
from tts.model import LossConfig, Tacotron, TacotronConfig, TacotronLoss

NO_GPU = "not measured: no GPU"

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


GPU_VARIANTS = ("fp32", "tf32", "bf16", "tf32 + graphs")
"""Training set-ups compared on a GPU: products in fp32, TF32 or bf16 autocast; the decoder loop
eager or replayed as CUDA graphs (`tts.training.graphs`)."""

GPU_SHAPES = ((32, 100, 400), (64, 100, 400))
"""(batch, symbols per item, frames per item) of the GPU rows."""


def _step(
    config: TacotronConfig, batch: int, n_text: int, n_frames: int, device: torch.device, variant: str = "fp32"
) -> Callable[[], None]:
    """A closure running one training step (forward, loss, backward, clip, AdamW) of this shape."""
    from tts.training.graphs import GraphedSteps

    torch.manual_seed(0)
    model = Tacotron(config).to(device).train()
    loss_fn = TacotronLoss(LossConfig(), 22050, config.n_freq, config.reduction_factor)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    ids = torch.randint(1, 80, (batch, n_text), device=device)
    text_lengths = torch.full((batch,), n_text, device=device)
    mels = torch.rand(batch, n_frames, config.n_mels, device=device)
    linears = torch.rand(batch, n_frames, config.n_freq, device=device)
    frame_lengths = torch.full((batch,), n_frames, device=device)
    bf16 = variant == "bf16"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    run_steps = GraphedSteps(model.decoder, batch) if variant.endswith("graphs") else None

    def step() -> None:
        if device.type == "cuda":  # process-wide switch: set it for each variant's own step
            torch.backends.cuda.matmul.allow_tf32 = variant.startswith("tf32")
            torch.backends.cudnn.allow_tf32 = variant.startswith("tf32")
        with autocast():
            output = model(ids, text_lengths, mels, frame_lengths, run_steps=run_steps)
        terms = loss_fn(output, mels, linears, text_lengths, frame_lengths)
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return step


def run(rounds: int = 3, threads: tuple[int, ...] = (2,)) -> list[Table]:
    """CPU fp32 rows for each shape at each thread count, and the GPU rows (or 'not measured')."""
    table = Table("Training throughput (one optimisation step, no data loading)",
                  ["device", "threads", "model", "precision", "batch x frames", "steps/s", "frames/s"])
    cpu = torch.device("cpu")
    for count in threads:
        torch.set_num_threads(count)
        for name, (config, batch, n_text, n_frames) in SHAPES.items():
            seconds = interleave({name: _step(config, batch, n_text, n_frames, cpu)}, rounds).median(name)
            table.add("CPU", count, name, "fp32", f"{batch} x {n_frames}", f"{1 / seconds:.2f}",
                      f"{batch * n_frames / seconds:.0f}")
    gpu_rows(table, rounds)
    table.notes.append("frames/s counts mel frames of the batch (teacher-forced) per second of training. "
                       "On a busy 2-core machine the many small kernels of a tiny model lose more to "
                       "waking a second thread than they gain from it.")
    return [table]


def gpu_rows(table: Table, rounds: int) -> None:
    """The default model at batch 32 and 64 x 400 frames in each GPU variant (or 'not measured')."""
    for batch, n_text, n_frames in GPU_SHAPES:
        if not torch.cuda.is_available():
            for variant in GPU_VARIANTS:
                table.add("GPU", "-", "default", variant, f"{batch} x {n_frames}", NO_GPU, NO_GPU)
            continue
        gpu = torch.device("cuda")
        config = TacotronConfig(n_symbols=80)
        steps = {variant: _step(config, batch, n_text, n_frames, gpu, variant) for variant in GPU_VARIANTS}
        samples = interleave(steps, rounds)
        for variant in GPU_VARIANTS:
            seconds = samples.median(variant)
            table.add("GPU", "-", "default", variant, f"{batch} x {n_frames}", f"{1 / seconds:.2f}",
                      f"{batch * n_frames / seconds:.0f}")
