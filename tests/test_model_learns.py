"""The model learns: a tiny Tacotron overfits a handful of short utterances on the CPU.

The utterances are audio this test makes: each symbol is a tone of its own pitch held for a
symbol-specific duration, so there is exactly one right alignment and it is monotonic.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch

from tests.conftest import tiny_tacotron_config
from tts.alignment import attention_health
from tts.audio import AudioConfig, SpectrogramExtractor
from tts.model import InferenceOutput, LossConfig, Tacotron, TacotronLoss
from tts.plot import plot_alignment

AUDIO = AudioConfig(
    sample_rate=8000, n_fft=64, hop_length=32, win_length=64, n_mels=16, fmin=0.0, fmax=4000.0
)
N_SYMBOLS = 12
STEPS = 400


def _utterance(symbols: list[int]) -> torch.Tensor:
    """A wave with one steady tone per symbol (pitch and length depend on the symbol)."""
    pieces = []
    for symbol in symbols:
        frames = 3 + symbol % 3
        t = torch.arange(frames * AUDIO.hop_length) / AUDIO.sample_rate
        pieces.append(0.5 * torch.sin(2 * math.pi * (250.0 + 300.0 * (symbol - 2)) * t))
    return torch.cat(pieces)


def _dataset() -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    texts = [
        torch.randint(2, N_SYMBOLS, (int(torch.randint(5, 9, (1,), generator=generator)),), generator=generator)
        for _ in range(6)
    ]
    extractor = SpectrogramExtractor(AUDIO)
    features = [extractor(_utterance(text.tolist())) for text in texts]  # (mel, linear) [C, T]
    r = 2
    frame_lengths = torch.tensor([mel.size(1) for mel, _ in features])
    total_frames = -(-int(frame_lengths.max()) // r) * r
    mels = torch.zeros(len(texts), total_frames, AUDIO.n_mels)
    linears = torch.zeros(len(texts), total_frames, AUDIO.n_freq)
    ids = torch.zeros(len(texts), max(len(text) for text in texts) + 1, dtype=torch.long)
    for row, (text, (mel, linear)) in enumerate(zip(texts, features, strict=True)):
        ids[row, : len(text)] = text
        ids[row, len(text)] = 1  # EOS
        mels[row, : mel.size(1)] = mel.T
        linears[row, : linear.size(1)] = linear.T
    text_lengths = torch.tensor([len(text) + 1 for text in texts])
    return ids, text_lengths, mels, linears, frame_lengths


def _train() -> tuple[Tacotron, dict[str, float], dict[str, float]]:
    """Overfit the tiny model; returns it with the first and last loss terms."""
    torch.manual_seed(0)
    ids, text_lengths, mels, linears, frame_lengths = _dataset()
    config = tiny_tacotron_config(
        n_symbols=N_SYMBOLS, n_mels=AUDIO.n_mels, n_freq=AUDIO.n_freq, prenet_dropout=0.1
    )
    model = Tacotron(config)
    loss_fn = TacotronLoss(LossConfig(), AUDIO.sample_rate, AUDIO.n_freq, config.reduction_factor)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(STEPS):
        optimizer.zero_grad()
        output = model(ids, text_lengths, mels, frame_lengths)
        terms = loss_fn(output, mels, linears, text_lengths, frame_lengths)
        terms.total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        first = first or {name: float(value.detach()) for name, value in terms._asdict().items()}
    last = {name: float(value.detach()) for name, value in terms._asdict().items()}
    assert first is not None
    return model, first, last


def test_tiny_tacotron_overfits_and_aligns_diagonally(tmp_path: Path) -> None:
    model, first, last = _train()
    ids, text_lengths, mels, linears, frame_lengths = _dataset()
    config = model.config

    # The post-net's linear output learns fastest; the decoder's mel output follows it.
    assert last["mel"] < first["mel"] / 1.8, (first, last)
    assert last["linear"] < first["linear"] / 5, (first, last)
    assert last["total"] < first["total"] / 5, (first, last)

    model.eval()
    inferred = model.infer(ids, text_lengths, max_steps=60)
    for row in range(ids.size(0)):
        steps = int(inferred.step_lengths[row])
        alignment = inferred.alignments[row, :steps, : int(text_lengths[row])]
        health = attention_health(alignment, stopped_by_token=not bool(inferred.hit_limit[row]))
        assert health.ok, (row, health)
        assert health.focus_rate > 0.6, (row, health)
        assert health.diagonal_score > 0.7, (row, health)
        expected = int(frame_lengths[row])
        assert abs(int(inferred.frame_lengths[row]) - expected) <= 2 * config.reduction_factor
    png = _plot(inferred, ids, text_lengths, tmp_path / "alignment.png")
    assert png.startswith(b"\x89PNG")


def _plot(inferred: InferenceOutput, ids: torch.Tensor, text_lengths: torch.Tensor, path: Path) -> bytes:
    """Alignment PNG of the first two utterances, symbols labelled by id."""
    alignments, labels, titles = [], [], []
    for row in range(2):
        steps, length = int(inferred.step_lengths[row]), int(text_lengths[row])
        alignments.append(inferred.alignments[row, :steps, :length])
        labels.append([f"s{i}" for i in ids[row, :length].tolist()])
        titles.append(f"overfit test, utterance {row} (tones per symbol; not speech)")
    return plot_alignment(alignments, labels, titles, path=path)


if __name__ == "__main__":
    # Regenerates the README's example image: python -m tests.test_model_learns docs/x.png
    trained, _, _ = _train()
    trained.eval()
    data = _dataset()
    _plot(trained.infer(data[0], data[1], max_steps=60), data[0], data[1], Path(sys.argv[1]))
