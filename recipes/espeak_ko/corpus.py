"""Write a KSS-layout corpus: WAVs under 1/ 2/ 3/ 4/, `transcript.v.1.4.txt`, a coverage report.

Transcript lines have KSS's six `|`-separated columns: relative WAV path, original script (the raw
sentence), expanded script (the frontend's reading), the expanded script decomposed into jamo,
duration in seconds with one decimal, and the English translation, which this corpus does not have
(ENGLISH_PLACEHOLDER stands in). Utterances are rendered by espeak-ng in parallel worker processes;
`.plan.json` records which text each WAV holds, so a rerun skips every WAV already written for the
same text and re-renders any whose text changed. The transcript and reports are written last,
atomically, so a corpus directory with a transcript is always complete.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import random
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import soundfile

from recipes.espeak_ko.coverage import DEFAULT_MIN_COUNT, Coverage, CoverageReport
from recipes.espeak_ko.errors import CorpusError
from recipes.espeak_ko.sentences import Sentence
from tts.atomic import write_bytes_atomic
from tts.audio import save_wav
from tts.espeak import EspeakError, check_korean_voice, espeak_wave, find_espeak

LOGGER = logging.getLogger(__name__)

TRANSCRIPT = "transcript.v.1.4.txt"
PLAN = ".plan.json"
COVERAGE_JSON = "coverage_report.json"
COVERAGE_MD = "coverage_report.md"
FOLDERS = 4
"""KSS splits its clips over four numbered folders; so does this corpus."""
CORPUS_SAMPLE_RATE = 44_100
"""KSS's sample rate; the corpus matches it so one prepare step reads both."""
ENGLISH_PLACEHOLDER = "-"
"""The sixth column: KSS has an English translation, this corpus has none."""

Progress = Callable[[Iterable[str | None], int], Iterable[str | None]]
"""Wraps the stream of per-clip results (given its length), e.g. in a progress bar."""


@dataclass(frozen=True)
class Utterance:
    """One clip of the corpus: where its WAV lives and what it says."""

    wav: str
    """Path relative to the corpus root, KSS style: 1/1_0000.wav."""
    sentence: Sentence


@dataclass(frozen=True)
class CorpusSummary:
    """What a run wrote: counts, total audio, and the coverage report."""

    utterances: int
    synthesized: int
    """WAVs rendered by this run; the rest were already there for the same text."""
    seconds: float
    coverage: CoverageReport

    @property
    def hours(self) -> float:
        """Total audio duration in hours."""
        return self.seconds / 3600


@dataclass(frozen=True)
class _Job:
    """Work for one worker: render the WAV (unless already there) and/or pronounce the text."""

    binary: str
    text: str
    expanded: str
    wav_path: Path
    render: bool
    pronounce: bool


def plan_corpus(
    sentences: Sequence[Sentence], seed: int, limit: int | None = None
) -> list[Utterance]:
    """Shuffle sentences with seed (sources mixed across folders), keep `limit`, assign paths.

    The i-th of n utterances goes to folder 1 + 4i // n, numbered within its folder from 0.
    """
    if limit is not None and limit < 1:
        raise CorpusError(f"--limit must be at least 1, got {limit}")
    order = list(sentences)
    random.Random(f"{seed}:order").shuffle(order)
    order = order[:limit] if limit is not None else order
    utterances: list[Utterance] = []
    counts = [0] * FOLDERS
    for i, sentence in enumerate(order):
        folder = i * FOLDERS // len(order)
        utterances.append(
            Utterance(f"{folder + 1}/{folder + 1}_{counts[folder]:04d}.wav", sentence)
        )
        counts[folder] += 1
    return utterances


def decompose(text: str) -> str:
    """Hangul syllables as conjoining jamo (KSS's fourth column); other characters unchanged."""
    return unicodedata.normalize("NFD", text)


def transcript_line(utterance: Utterance, seconds: float) -> str:
    """One KSS line: path|original|expanded|decomposed|duration|english."""
    sentence = utterance.sentence
    columns = (
        utterance.wav,
        sentence.text,
        sentence.expanded,
        decompose(sentence.expanded),
        f"{seconds:.1f}",
        ENGLISH_PLACEHOLDER,
    )
    return "|".join(columns)


def _wav_seconds(path: Path) -> float | None:
    """Duration of a corpus-ready WAV (44.1 kHz mono 16-bit), or None when it is not one."""
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, OSError):
        return None
    if info.samplerate != CORPUS_SAMPLE_RATE or info.channels != 1 or info.subtype != "PCM_16":
        return None
    return info.frames / info.samplerate if info.frames else None


def _korean_espeak() -> str:
    """The espeak-ng executable, checked to speak Korean; CorpusError saying what is wrong."""
    try:
        binary = find_espeak()
        check_korean_voice(binary)
    except EspeakError as error:
        raise CorpusError(str(error)) from error
    return binary


def _init_worker() -> None:
    """Each worker is one process on one core: keep torch from spawning threads of its own."""
    import torch

    torch.set_num_threads(1)


def _work(job: _Job) -> str | None:
    """Render one WAV if asked; return g2pk's pronunciation when asked, else None."""
    if job.render:
        try:
            wave = espeak_wave(job.expanded, CORPUS_SAMPLE_RATE, binary=job.binary)  # [T]
        except EspeakError as error:
            raise CorpusError(str(error)) from error
        job.wav_path.parent.mkdir(parents=True, exist_ok=True)
        save_wav(job.wav_path, wave, CORPUS_SAMPLE_RATE)
    if not job.pronounce:
        return None
    from tts.text import text_to_ids

    return text_to_ids(job.text).pronounced


def _run(
    jobs: list[_Job],
    workers: int,
    progress: Progress,
) -> Iterator[str | None]:
    """Results of jobs in order, computed by `workers` processes (in this one when workers is 1)."""
    if workers == 1:
        yield from progress(map(_work, jobs), len(jobs))
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker) as pool:
        yield from progress(pool.map(_work, jobs, chunksize=4), len(jobs))


def _reuse_plan(out_dir: Path, utterances: Sequence[Utterance]) -> set[str]:
    """WAVs that already hold their utterance's text; stale ones are removed, the new plan saved."""
    plan_path = out_dir / PLAN
    old: dict[str, str] = {}
    if plan_path.exists():
        try:
            old = json.loads(plan_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            LOGGER.warning("%s is unreadable; every WAV will be rendered again", plan_path)
    new = {utterance.wav: utterance.sentence.expanded for utterance in utterances}
    for wav, text in old.items():
        if new.get(wav) != text:
            (out_dir / wav).unlink(missing_ok=True)
    write_bytes_atomic(plan_path, (json.dumps(new, ensure_ascii=False, indent=0) + "\n").encode())
    return {
        wav for wav, text in new.items() if old.get(wav) == text and _wav_seconds(out_dir / wav)
    }


def _no_progress(results: Iterable[str | None], total: int) -> Iterable[str | None]:
    return results


def write_corpus(
    out_dir: Path,
    utterances: Sequence[Utterance],
    *,
    workers: int = 1,
    enforce_coverage: bool = True,
    min_count: int = DEFAULT_MIN_COUNT,
    pronounced_coverage: bool = True,
    progress: Progress = _no_progress,
) -> CorpusSummary:
    """Render utterances into a KSS-layout corpus at out_dir and return what was written.

    Coverage is checked before anything is written: with `enforce_coverage`, a jamo occurring fewer
    than min_count times in the expanded scripts raises CorpusError naming it. With
    `pronounced_coverage` the workers also run g2pk so the report counts pronounced jamo too.
    """
    if not utterances:
        raise CorpusError("no utterances to write")
    if workers < 1:
        raise CorpusError(f"--jobs must be at least 1, got {workers}")
    spelling = Coverage.of(utterance.sentence.expanded for utterance in utterances)
    if enforce_coverage and spelling.under(min_count):
        raise CorpusError(
            f"refusing to write a corpus where some jamo occur fewer than {min_count} times: "
            f"{spelling.describe_under(min_count)}; add sentences containing them"
        )
    binary = _korean_espeak()
    out_dir.mkdir(parents=True, exist_ok=True)
    # The transcript is the mark of a finished corpus: gone while WAVs may change, rewritten last.
    (out_dir / TRANSCRIPT).unlink(missing_ok=True)
    done = _reuse_plan(out_dir, utterances)
    jobs = [
        _Job(
            binary,
            u.sentence.text,
            u.sentence.expanded,
            out_dir / u.wav,
            u.wav not in done,
            pronounced_coverage,
        )
        for u in utterances
    ]
    LOGGER.info(
        "%d utterances: %d to render, %d already written",
        len(jobs),
        len(jobs) - len(done),
        len(done),
    )
    todo = [job for job in jobs if job.render or job.pronounce]
    pronounced = list(_run(todo, workers, progress)) if todo else []
    lines, total = [], 0.0
    for utterance in utterances:
        seconds = _wav_seconds(out_dir / utterance.wav)
        if seconds is None:
            raise CorpusError(
                f"{out_dir / utterance.wav} is missing or not a 44.1 kHz mono 16-bit WAV"
            )
        total += seconds
        lines.append(transcript_line(utterance, seconds))
    report = CoverageReport(
        spelling=spelling,
        pronounced=Coverage.of(text for text in pronounced if text)
        if pronounced_coverage
        else None,
        min_count=min_count,
        enforced=enforce_coverage,
        utterances=len(utterances),
    )
    write_bytes_atomic(out_dir / COVERAGE_JSON, report.to_json().encode())
    write_bytes_atomic(out_dir / COVERAGE_MD, report.to_markdown().encode())
    write_bytes_atomic(out_dir / TRANSCRIPT, ("\n".join(lines) + "\n").encode())
    return CorpusSummary(len(utterances), len(jobs) - len(done), total, report)
