"""Evaluation during training (rank 0): validation losses, attention measures, pictures and audio.

Kept cheap for CPU training: a bounded number of validation batches teacher-forced, a couple of
sentences decoded free-running with a step limit near their true length, one alignment PNG, and
Griffin-Lim audio at a few dozen iterations.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tts.alignment import attention_health, diagonal_score, focus_rate
from tts.audio import AudioConfig, griffin_lim
from tts.evaluation.similarity import spectral_dtw_l1
from tts.model import Tacotron, TacotronLoss, TacotronOutput
from tts.plot import plot_alignment
from tts.text import SymbolTable
from tts.text.symbols import spoken_length
from tts.training.data import Batch, Collate, FeatureDataset

ALIGNMENT_DIR = "alignments"


def validation_batches(dataset: FeatureDataset, batch_size: int, max_batches: int,
                       collate: Collate) -> list[Batch]:
    """The first max_batches * batch_size validation utterances, sorted by length into batches."""
    chosen = list(range(min(len(dataset), batch_size * max_batches)))
    chosen.sort(key=lambda i: -dataset.entries[i].n_frames)
    return [collate([dataset[i] for i in chosen[start : start + batch_size]])
            for start in range(0, len(chosen), batch_size)]


def _attention_means(alignments: torch.Tensor, batch: Batch, r: int) -> tuple[float, float]:
    """Mean focus rate and diagonal score over a batch's items, each cropped to its real size."""
    focus, diagonal = [], []
    steps = (batch.frame_lengths + r - 1) // r
    for row in range(alignments.size(0)):
        item = alignments[row, : int(steps[row]), : int(batch.text_lengths[row])]
        focus.append(focus_rate(item))
        diagonal.append(diagonal_score(item))
    return float(np.mean(focus)), float(np.mean(diagonal))


def _image(png: bytes) -> np.ndarray:
    """PNG bytes -> [H, W, 3] float array for TensorBoard."""
    from matplotlib import image

    return np.asarray(image.imread(io.BytesIO(png), format="png"))[..., :3]


def _mel_image(mel: np.ndarray) -> np.ndarray:
    """Mel frames [T_frames, n_mels] in [0, 1] -> [n_mels, T_frames, 3] colour image, low bands at the bottom."""
    from matplotlib import colormaps

    return colormaps["viridis"](np.clip(mel.T[::-1], 0.0, 1.0))[..., :3]


@torch.no_grad()
def evaluate(
    model: Tacotron,
    loss_fn: TacotronLoss,
    batches: Sequence[Batch],
    samples: Batch | None,
    *,
    step: int,
    guided_weight: float,
    symbols: SymbolTable,
    audio: AudioConfig,
    griffin_lim_iters: int,
    run_dir: Path,
    device: torch.device,
    writer: Any | None = None,
) -> dict[str, float]:
    """Score `batches`, decode `samples` freely, write the alignment PNG and TensorBoard entries."""
    was_training = model.training
    model.eval()
    r = model.config.reduction_factor
    metrics: dict[str, float] = {}
    try:
        totals: dict[str, float] = {}
        count = 0
        focus, diagonal = [], []
        for batch in batches:
            batch = batch.to(device)
            output = model(batch.ids, batch.text_lengths, batch.mels, batch.frame_lengths)
            terms = loss_fn(output, batch.mels, batch.linears, batch.text_lengths,
                            batch.frame_lengths, guided_weight)
            size = batch.ids.size(0)
            for name, value in terms._asdict().items():
                totals[name] = totals.get(name, 0.0) + float(value) * size
            count += size
            batch_focus, batch_diagonal = _attention_means(output.alignments.float().cpu(), batch, r)
            focus.append(batch_focus * size)
            diagonal.append(batch_diagonal * size)
        if count:
            metrics.update({f"val/{name}": value / count for name, value in totals.items()})
            metrics["val/focus_rate"] = sum(focus) / count
            metrics["val/diagonal_score"] = sum(diagonal) / count
        if samples is not None:
            samples = samples.to(device)
            teacher = model(samples.ids, samples.text_lengths, samples.mels, samples.frame_lengths)
            metrics.update(_free_running(model, samples, teacher, step=step,
                                         symbols=symbols, audio=audio, iters=griffin_lim_iters,
                                         run_dir=run_dir, writer=writer))
    finally:
        model.train(was_training)
    if writer is not None:
        for name, value in metrics.items():
            if math.isfinite(value):
                writer.add_scalar(name, value, step)
    return metrics


def _free_running(
    model: Tacotron, samples: Batch, teacher: TacotronOutput, *, step: int,
    symbols: SymbolTable, audio: AudioConfig, iters: int, run_dir: Path, writer: Any | None,
) -> dict[str, float]:
    """Decode the sample sentences without teacher forcing; plot, measure and render them.

    `free/mel_dtw` against `free/mel_dtw_teacher_forced` (the same sentences teacher-forced; both
    the per-bin L1 to the target mel along a DTW path) shows exposure bias: a decoder that copies
    its fed-back frames scores well teacher-forced and drifts into an average spectrum on its own.
    """
    r = model.config.reduction_factor
    teacher_alignment = teacher.alignments.float().cpu()
    limits = ((samples.frame_lengths.float() * 1.5) / r).ceil().long() + 10
    output = model.infer(samples.ids, samples.text_lengths, max_steps=limits)
    steps = output.step_lengths.cpu().tolist()
    stopped = (~output.hit_limit).cpu().tolist()
    free_alignment = output.alignments.float().cpu()
    true_steps = ((samples.frame_lengths + r - 1) // r).cpu().tolist()
    lengths = samples.text_lengths.cpu().tolist()
    panels, labels, titles = [], [], []
    healths, free_dtw, teacher_dtw = [], [], []
    free_mels, teacher_mels = output.mel.float().cpu().numpy(), teacher.mel.float().cpu().numpy()
    for row, utterance_id in enumerate(samples.utterance_ids):
        target = samples.mels[row, : int(samples.frame_lengths[row])].float().cpu().numpy()
        free_dtw.append(spectral_dtw_l1(free_mels[row, : max(1, int(output.frame_lengths[row]))], target))
        teacher_dtw.append(spectral_dtw_l1(teacher_mels[row, : len(target)], target))
        label = symbols.decode(samples.ids[row, : lengths[row]].cpu().tolist())
        free = free_alignment[row, : steps[row], : lengths[row]].numpy()
        healths.append(attention_health(
            free, stopped_by_token=bool(stopped[row]), spoken_length=spoken_length(label)
        ))
        panels += [teacher_alignment[row, : true_steps[row], : lengths[row]].numpy(), free]
        labels += [label, label]
        titles += [f"{utterance_id} teacher-forced, step {step}", f"{utterance_id} free-running, step {step}"]
    png = plot_alignment(panels, labels, titles, path=Path(run_dir) / ALIGNMENT_DIR / f"step_{step:08d}.png")
    metrics = {
        "free/focus_rate": float(np.mean([h.focus_rate for h in healths])),
        "free/diagonal_score": float(np.mean([h.diagonal_score for h in healths])),
        "free/end_reached": float(np.mean([h.end_reached for h in healths])),
        "free/stopped_by_token": float(np.mean([h.stopped_by_token for h in healths])),
        "free/monotonic": float(np.mean([h.monotonic for h in healths])),
        "free/mel_dtw": float(np.mean(free_dtw)),
        "free/mel_dtw_teacher_forced": float(np.mean(teacher_dtw)),
    }
    if writer is not None:
        writer.add_image("alignment", _image(png), step, dataformats="HWC")
        frames = (output.frame_lengths.clamp(min=1)).cpu()
        waves = griffin_lim(output.linear.transpose(1, 2).float(), frames,
                            replace(audio, griffin_lim_iters=iters))
        mels = output.mel.float().cpu().numpy()
        for row, utterance_id in enumerate(samples.utterance_ids):
            writer.add_audio(f"audio/{utterance_id}", waves[row].cpu().clamp(-1, 1).unsqueeze(0),
                             step, sample_rate=audio.sample_rate)
            predicted = mels[row, : int(frames[row])]
            target = samples.mels[row, : int(samples.frame_lengths[row])].float().cpu().numpy()
            writer.add_image(f"mel/{utterance_id}/predicted", _mel_image(predicted), step, dataformats="HWC")
            writer.add_image(f"mel/{utterance_id}/target", _mel_image(target), step, dataformats="HWC")
    return metrics
