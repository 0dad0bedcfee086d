"""`sori eval`: speak every sentence of a file, measure attention and teacher agreement, and write
`report.json`, `report.md` and one alignment PNG per sentence.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tts.atomic import write_bytes_atomic
from tts.audio import trim_silence
from tts.espeak import EspeakError, espeak_wave
from tts.evaluation.similarity import distance_matrix, mfcc_features, retrieval_hits
from tts.evaluation.vocoders import FreeRunning, VocoderComparison, compare_vocoders
from tts.plot import plot_alignment
from tts.synthesis import SpeechSynthesizer, SynthesisOptions, SynthesisResult, VocoderName
from tts.synthesizer import Synthesizer

TEACHER_TIMEOUT_SECONDS = 60.0
"""How long espeak-ng may take over one sentence of the teacher rendering."""
DURATION_BAND = (0.75, 1.33)
"""A sentence's duration ratio (voice / teacher) counts as right inside this band."""
RETRIEVAL_BAR = 0.90
DURATION_BAR = 0.90


class EvaluationError(RuntimeError):
    """The evaluation cannot run (no teacher, unreadable sentences file, ...)."""


def teacher_wave(text: str, sample_rate: int) -> torch.Tensor:
    """The teacher: espeak-ng's Korean voice speaking `text` (the normalised Hangul the voice was
    given, as the bootstrap corpus did). -> [T] float32 at sample_rate."""
    try:
        return espeak_wave(text, sample_rate, timeout_s=TEACHER_TIMEOUT_SECONDS)
    except EspeakError as error:
        raise EvaluationError(f"the teacher audio cannot be rendered: {error}") from error


@dataclass(frozen=True)
class SentenceScore:
    """Every measure for one sentence."""

    index: int
    text: str
    end_reached: bool
    monotonic: bool
    stopped_by_token: bool
    focus_rate: float
    diagonal_score: float
    seconds: float
    teacher_seconds: float
    duration_ratio: float
    teacher_distance: float
    retrieved: bool


@dataclass(frozen=True)
class EvaluationReport:
    """Per-sentence scores, overall figures and whether each bar is met."""

    voice: str
    command: str
    created: str
    sentences: tuple[SentenceScore, ...]
    vocoders: VocoderComparison | None = None
    """Griffin-Lim and the voice's neural vocoder side by side; None when not measured."""

    @property
    def summary(self) -> dict[str, Any]:
        """Overall figures and the bars of the demo-voice issue."""
        scores = self.sentences
        n = len(scores)
        in_band = sum(DURATION_BAND[0] <= s.duration_ratio <= DURATION_BAND[1] for s in scores)
        retrieval = sum(s.retrieved for s in scores) / n
        figures = {
            "sentences": n,
            "end_reached": sum(s.end_reached for s in scores),
            "monotonic": sum(s.monotonic for s in scores),
            "stopped_by_token": sum(s.stopped_by_token for s in scores),
            "mean_focus_rate": float(np.mean([s.focus_rate for s in scores])),
            "mean_diagonal_score": float(np.mean([s.diagonal_score for s in scores])),
            "retrieval_accuracy": retrieval,
            "duration_ratio_in_band": in_band / n,
            "median_duration_ratio": float(np.median([s.duration_ratio for s in scores])),
            "mean_teacher_distance": float(np.mean([s.teacher_distance for s in scores])),
        }
        bars = {
            "every sentence reaches the end": figures["end_reached"] == n,
            "every sentence is monotonic": figures["monotonic"] == n,
            "every sentence stops by token": figures["stopped_by_token"] == n,
            f"retrieval accuracy >= {RETRIEVAL_BAR:.0%}": retrieval >= RETRIEVAL_BAR,
            f"duration ratio in {DURATION_BAND} for >= {DURATION_BAR:.0%}": in_band / n >= DURATION_BAR,
        }
        return {**figures, "bars": bars, "all_bars_met": all(bars.values())}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "voice": self.voice,
            "command": self.command,
            "created": self.created,
            "summary": self.summary,
            **({"vocoders": self.vocoders.summary()} if self.vocoders is not None else {}),
            "sentences": [asdict(s) for s in self.sentences],
        }

    def to_markdown(self) -> str:
        """A human-readable table of the same report."""
        summary = self.summary
        lines = [
            f"# Evaluation of `{self.voice}`",
            "",
            f"Command: `{self.command}`  ",
            f"Created: {self.created}",
            "",
            "| bar | met |",
            "|---|---|",
            *[f"| {bar} | {'yes' if met else '**no**'} |" for bar, met in summary["bars"].items()],
            "",
            f"Retrieval accuracy {summary['retrieval_accuracy']:.0%}, duration ratio in band "
            f"{summary['duration_ratio_in_band']:.0%} (median {summary['median_duration_ratio']:.2f}), "
            f"mean focus rate {summary['mean_focus_rate']:.2f}, mean diagonal score "
            f"{summary['mean_diagonal_score']:.2f}, mean MFCC-DTW distance to the teacher "
            f"{summary['mean_teacher_distance']:.1f}.",
            "",
            "| # | text | end | mono | stop | focus | diag | s | teacher s | ratio | dist | retrieved |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for s in self.sentences:
            lines.append(
                f"| {s.index} | {s.text} | {_mark(s.end_reached)} | {_mark(s.monotonic)} | "
                f"{_mark(s.stopped_by_token)} | {s.focus_rate:.2f} | {s.diagonal_score:.2f} | "
                f"{s.seconds:.2f} | {s.teacher_seconds:.2f} | {s.duration_ratio:.2f} | "
                f"{s.teacher_distance:.1f} | {_mark(s.retrieved)} |"
            )
        if self.vocoders is not None:
            lines += ["", *self.vocoders.to_markdown()]
        return "\n".join(lines) + "\n"


def _mark(value: bool) -> str:
    return "✓" if value else "✗"


def evaluate_voice(
    synthesizer: SpeechSynthesizer, sentences: Sequence[str], out_dir: Path, command: str = "",
    compare_vocoders_too: bool = True,
) -> EvaluationReport:
    """Synthesise each sentence, compare it with the teacher, write the report files to out_dir.

    With `compare_vocoders_too`, also score Griffin-Lim and the voice's neural vocoder (when loaded)
    on the teacher's renderings: copy synthesis, teacher-forced synthesis and free-running (torch
    synthesizers only: the comparison runs the torch model teacher-forced).
    """
    if compare_vocoders_too and not isinstance(synthesizer, Synthesizer):
        raise EvaluationError(f"the vocoder comparison needs the torch runtime, not {synthesizer.runtime}; "
                              "skip it (--no-vocoder-comparison)")
    out_dir = Path(out_dir)
    (out_dir / "alignments").mkdir(parents=True, exist_ok=True)
    audio = synthesizer.config.audio
    results: list[SynthesisResult] = synthesizer.synthesize_many(list(sentences))
    voice_waves, teacher_waves = [], []
    for index, result in enumerate(results):
        plot_alignment(
            result.alignments, [s.labels for s in result.sentences], [s.text for s in result.sentences],
            path=out_dir / "alignments" / f"{index:03d}.png",
        )
        normalized = " ".join(s.frontend.normalized for s in result.sentences)
        voice_waves.append(trim_silence(torch.from_numpy(result.waveform), audio))
        teacher_waves.append(trim_silence(teacher_wave(normalized, audio.sample_rate), audio))
    rate = audio.sample_rate
    voice_features = [mfcc_features(w, rate) for w in voice_waves]
    teacher_features = [mfcc_features(w, rate) for w in teacher_waves]
    distances = distance_matrix(voice_features, teacher_features)
    hits = retrieval_hits(distances)
    vocoders = (_compare_vocoders(synthesizer, sentences, teacher_waves, teacher_features, distances, hits)
                if compare_vocoders_too and isinstance(synthesizer, Synthesizer) else None)
    scores = []
    for index, (text, result) in enumerate(zip(sentences, results, strict=True)):
        healths = [s.health for s in result.sentences]
        seconds = voice_waves[index].numel() / rate
        teacher_seconds = teacher_waves[index].numel() / rate
        scores.append(SentenceScore(
            index=index,
            text=text,
            end_reached=all(h.end_reached for h in healths),
            monotonic=all(h.monotonic for h in healths),
            stopped_by_token=all(h.stopped_by_token for h in healths),
            focus_rate=float(np.mean([h.focus_rate for h in healths])),
            diagonal_score=float(np.mean([h.diagonal_score for h in healths])),
            seconds=seconds,
            teacher_seconds=teacher_seconds,
            duration_ratio=seconds / max(teacher_seconds, 1e-6),
            teacher_distance=float(distances[index, index]),
            retrieved=hits[index],
        ))
    report = EvaluationReport(
        voice=synthesizer.config.name,
        command=command,
        created=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        sentences=tuple(scores),
        vocoders=vocoders,
    )
    write_bytes_atomic(out_dir / "report.json",
                       (json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n").encode())
    write_bytes_atomic(out_dir / "report.md", report.to_markdown().encode())
    return report


def _compare_vocoders(
    synthesizer: Synthesizer, sentences: Sequence[str], teacher_waves: Sequence[torch.Tensor],
    teacher_features: Sequence[np.ndarray], distances: np.ndarray, hits: Sequence[bool],
) -> VocoderComparison:
    """Both vocoders on the teacher's renderings, and free-running with the one not used above."""
    used = synthesizer.default_vocoder
    free_running: dict[str, FreeRunning] = {used: FreeRunning(float(np.mean(np.diag(distances))), float(np.mean(hits)))}
    if synthesizer.vocoder is not None:
        other: VocoderName = "griffin-lim" if used == "neural" else "neural"
        results = synthesizer.synthesize_many(list(sentences), SynthesisOptions(vocoder=other))
        audio = synthesizer.config.audio
        features = [mfcc_features(trim_silence(torch.from_numpy(r.waveform), audio), audio.sample_rate)
                    for r in results]
        other_distances = distance_matrix(features, list(teacher_features))
        free_running[other] = FreeRunning(float(np.mean(np.diag(other_distances))),
                                          float(np.mean(retrieval_hits(other_distances))))
    config = synthesizer.config
    return compare_vocoders(synthesizer.model, config.text, config.symbols, config.audio, synthesizer.vocoder,
                            list(zip(sentences, teacher_waves, strict=True)),
                            dict(sorted(free_running.items(), key=lambda item: item[0] != "griffin-lim")))
