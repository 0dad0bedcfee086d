"""Speaking one planned batch of lines: the unit of work of every runner, local or on Ray.

A batch is decoded on one intra-op thread on a CPU (workers, not threads, give the parallelism),
so the samples of a line depend only on its batch, the voice and the device, never on the
process it runs in or the thread settings something else left there.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from tts.audio import encode_audio
from tts.bulk.records import LineRecord
from tts.synthesizer import SynthesisOptions, Synthesizer
from tts.text import FrontendError, FrontendResult, normalize_text
from tts.threads import inference_threads

WAV_DIR = "wavs"
"""Folder of the WAVs under the output directory."""


@dataclass(frozen=True)
class LineTask:
    """One line to speak: its number, id and text."""

    number: int
    id: str
    text: str


@dataclass(frozen=True)
class SpokenLine:
    """A line's record and its WAV bytes (empty when it was not spoken)."""

    record: LineRecord
    wav: bytes


def audio_path(line_id: str) -> str:
    """Where a line's WAV goes, relative to the output directory."""
    return f"{WAV_DIR}/{line_id}.wav"


def expanded_text(text: str) -> str:
    """The line as the frontend reads it, for the transcript's expanded column ('' if unreadable)."""
    try:
        return unicodedata.normalize("NFC", normalize_text(text)[0])
    except FrontendError:
        return ""


def speak_batch(
    synthesizer: Synthesizer, tasks: Sequence[LineTask], options: SynthesisOptions
) -> list[SpokenLine]:
    """Speak the speakable lines of a batch together; an unspeakable one gets a record saying why."""
    analyzed: list[tuple[LineTask, list[tuple[str, FrontendResult]]]] = []
    outcomes: dict[int, SpokenLine] = {}
    for task in tasks:
        try:
            analyzed.append((task, synthesizer.analyze(task.text, options)))
        except FrontendError as error:
            outcomes[task.number] = SpokenLine(
                LineRecord(task.number, task.id, task.text, "unspeakable", detail=str(error)), b"")
    if analyzed:
        with inference_threads(1, synthesizer.device):
            results = synthesizer.synthesize_analyzed([sentences for _, sentences in analyzed], options)
        for (task, _), result in zip(analyzed, results, strict=True):
            wav = encode_audio(result.waveform, result.sample_rate, "wav")
            outcomes[task.number] = SpokenLine(LineRecord(
                line=task.number, id=task.id, text=task.text, status="spoken",
                audio=audio_path(task.id), audio_bytes=len(wav),
                seconds=round(result.duration_seconds, 4), attention_ok=result.health_ok,
                expanded=expanded_text(task.text), dropped=result.dropped,
                sentences=tuple({"text": s.text, **s.health.to_dict()} for s in result.sentences),
            ), wav)
    return [outcomes[task.number] for task in tasks]
