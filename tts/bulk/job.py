"""A bulk synthesis job: a sentences file -> one WAV per line, a KSS-layout transcript, a journal
of each line's duration and attention health, and a report; resumable after a kill.

    OUT/
      wavs/000042.wav        line 42, 16-bit PCM mono at the voice's rate
      synthesis.jsonl        one record per line (tts.bulk.records): the source of truth
      transcript.v.1.4.txt   the spoken lines in KSS's six columns (what `sori prepare` reads)
      bulk_report.json       counts, skipped lines with reasons, speed
      bulk_settings.json     voice and vocoder: a rerun with others is refused, not mixed in

The transcript and report are rebuilt from the journal at the end of every run, so they never
hold half a line, and a rerun speaks only what is not finished.
"""

from __future__ import annotations

import json
import logging
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tts.atomic import write_bytes_atomic
from tts.bulk.lines import LinesError, SentenceFile, SentenceLine, plan_batches, read_sentences
from tts.bulk.records import Journal, LineRecord, read_journal, write_journal
from tts.bulk.speak import WAV_DIR, LineTask, SpokenLine
from tts.synthesizer import SynthesisOptions, VoiceSource
from tts.training.kss import TRANSCRIPT_FILE
from tts.voice_format import VoiceConfig

logger = logging.getLogger(__name__)

JOURNAL_FILE = "synthesis.jsonl"
REPORT_FILE = "bulk_report.json"
SETTINGS_FILE = "bulk_settings.json"

BATCH_SIZE = {"cpu": 16, "cuda": 64}
"""Lines per planned batch by device kind (a CPU batch runs on one thread; a GPU wants many)."""

SKIP_TOO_LONG = "too_long"
SKIP_SEPARATOR = "column_separator"
SKIP_UNSPEAKABLE = "unspeakable"


Runner = Callable[[Sequence[Sequence[LineTask]], SynthesisOptions], Iterator[list[SpokenLine]]]
"""Speaks planned batches and yields each batch's lines as it finishes (tts.bulk.local, ray_data)."""


class BulkError(ValueError):
    """The job cannot start as asked (bad paths, settings, an output made with another voice)."""


@dataclass(frozen=True)
class BulkOptions:
    """How a bulk job runs, apart from its input and output."""

    voice_dir: Path
    vocoder: Literal["auto", "griffin-lim", "neural"] = "auto"
    device: str = "auto"
    """'auto', 'cpu' or 'cuda' (on Ray: what the actors use; 'auto' is a GPU each when the cluster has them)."""
    max_chars: int = 300
    """Lines longer than this are skipped (listed in the report)."""
    keep_failed: bool = False
    """Also list lines whose attention failed in the transcript (their WAVs are written either way)."""
    workers: int = 1
    """Threads in process, or Ray actors with `ray`."""
    ray: bool = False
    ray_address: str | None = None
    """None: start a local cluster on 127.0.0.1 for the job."""
    progress: bool = False
    """Draw a progress bar on stderr."""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise BulkError(f"--workers must be at least 1, got {self.workers}")
        if self.max_chars < 1:
            raise BulkError(f"--max-chars must be at least 1, got {self.max_chars}")
        if self.ray_address is not None and not self.ray:
            raise BulkError("--ray-address needs --ray")


@dataclass(frozen=True)
class Plan:
    """What a run will do: the lines to skip and the batches to speak."""

    skipped: tuple[dict[str, Any], ...]
    batches: tuple[tuple[LineTask, ...], ...]
    pending: int
    """Lines not yet finished."""


def check_output(out: Path) -> None:
    """BulkError unless `out` is a directory or can become one."""
    if out.exists() and not out.is_dir():
        raise BulkError(f"--out must be a directory, and {out} is a file")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise BulkError(f"--out {out}: {parent} is not a directory")
            break


def _settings(config: VoiceConfig, vocoder: str) -> dict[str, Any]:
    """What must stay the same across the runs that fill one output directory."""
    return {"voice": config.name, "vocoder": vocoder, "sample_rate": config.audio.sample_rate}


def _check_settings(out: Path, settings: dict[str, Any]) -> None:
    """Write the settings into a new output; refuse one filled with another voice or vocoder."""
    path = out / SETTINGS_FILE
    if path.is_file():
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise BulkError(f"{path} cannot be read ({error}); choose a new --out") from error
        if existing != settings:
            raise BulkError(f"{out} holds speech made with {existing}, not {settings}; "
                            "choose a new --out or delete it")
        return
    write_bytes_atomic(path, (json.dumps(settings, ensure_ascii=False, sort_keys=True) + "\n").encode())


def finished(record: LineRecord | None, line: SentenceLine, out: Path) -> bool:
    """Whether a line needs no more work: its record is for this text and, when spoken, its WAV
    is there at the size the record gives."""
    if record is None or record.text != line.text:
        return False
    if record.status != "spoken":
        return True
    try:
        return record.audio is not None and (out / record.audio).stat().st_size == record.audio_bytes
    except OSError:
        return False


def plan(sentences: SentenceFile, records: dict[int, LineRecord], out: Path, options: BulkOptions,
         batch_size: int) -> Plan:
    """Skip what cannot be a transcript row; plan batches over every other line (finished or not,
    so a line's batch never depends on what an earlier run finished) and keep those with work."""
    skipped, eligible = [], []
    for line in sentences.lines:
        if len(line.text) > options.max_chars:
            skipped.append({"line": line.number, "id": sentences.line_id(line.number), "reason": SKIP_TOO_LONG,
                            "detail": f"{len(line.text)} characters > --max-chars {options.max_chars}"})
        elif "|" in line.text:
            skipped.append({"line": line.number, "id": sentences.line_id(line.number), "reason": SKIP_SEPARATOR,
                            "detail": "'|' separates the transcript's columns"})
        else:
            eligible.append(line)
    todo = {line.number for line in eligible if not finished(records.get(line.number), line, out)}
    batches = tuple(
        tuple(LineTask(line.number, sentences.line_id(line.number), line.text) for line in batch)
        for batch in plan_batches(eligible, batch_size) if any(line.number in todo for line in batch)
    )
    return Plan(tuple(skipped), batches, len(todo))


def transcript_row(record: LineRecord) -> str:
    """A KSS transcript line: audio|original|expanded|decomposed (NFD)|seconds|English ('-': none)."""
    expanded = record.expanded or record.text
    decomposed = unicodedata.normalize("NFD", expanded)
    return f"{record.audio}|{record.text}|{expanded}|{decomposed}|{record.seconds:.1f}|-"


def run_bulk(sentences_path: Path, out: Path, options: BulkOptions) -> dict[str, Any]:
    """Run (or resume) a job; returns the report, also written to OUT/bulk_report.json."""
    started = time.perf_counter()
    check_output(out)
    try:
        sentences = read_sentences(sentences_path)
    except LinesError as error:
        raise BulkError(str(error)) from error
    if options.ray:
        from tts.bulk.ray_data import ray_cluster, run_on_ray

        with ray_cluster(options.ray_address) as cluster:
            device = _ray_device(options.device, cluster.gpus)
            source, config = _voice_source(options, device)
            runner = "ray"
            report = _run(sentences, sentences_path, out, options, config, device, runner, started,
                          lambda batches, synthesis_options: run_on_ray(
                              batches, source, synthesis_options, options.workers, cluster))
        return report
    from tts.synthesizer import Synthesizer, resolve_device

    try:
        device = resolve_device(options.device).type
    except ValueError as error:
        raise BulkError(str(error)) from error
    synthesizer = Synthesizer.load(options.voice_dir, device=device, max_batch_size=BATCH_SIZE[device],
                                   vocoder=options.vocoder)
    from tts.bulk.local import run_local

    return _run(sentences, sentences_path, out, options, synthesizer.config, device, "local", started,
                lambda batches, synthesis_options: run_local(
                    synthesizer, batches, synthesis_options, options.workers))


def _ray_device(device: str, gpus: int) -> str:
    """The actors' device kind: what was asked, 'auto' meaning a GPU each when the cluster has them."""
    if device == "cuda" and gpus == 0:
        raise BulkError("--device cuda was asked for, and the Ray cluster has no GPU")
    if device == "auto":
        return "cuda" if gpus > 0 else "cpu"
    return device


def _voice_source(options: BulkOptions, device: str) -> tuple[VoiceSource, VoiceConfig]:
    """How each actor loads the voice, checked here first (its config) so a bad voice fails fast."""
    from tts.voice_format import read_voice_config

    voice_dir = Path(options.voice_dir).resolve()
    config = read_voice_config(voice_dir)
    if options.vocoder == "neural" and config.vocoder is None:
        from tts.voice_format import VoiceError

        raise VoiceError(f"voice {config.name} has no neural vocoder; use --vocoder griffin-lim")
    return VoiceSource(str(voice_dir), device, BATCH_SIZE[device], True, options.vocoder), config


def _vocoder_name(config: VoiceConfig, vocoder: str) -> str:
    """The vocoder a run really uses ('auto' resolved)."""
    if vocoder == "auto":
        return "neural" if config.vocoder is not None else "griffin-lim"
    return vocoder


def _run(
    sentences: SentenceFile, sentences_path: Path, out: Path, options: BulkOptions, config: VoiceConfig,
    device: str, runner: str, started: float, execute: Runner,
) -> dict[str, Any]:
    """Plan, speak what is pending through `execute(batches, options)`, write, then finalize."""
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    vocoder = _vocoder_name(config, options.vocoder)
    _check_settings(out, _settings(config, vocoder))
    wavs = out / WAV_DIR
    wavs.mkdir(exist_ok=True)
    for stale in wavs.glob(".*.tmp"):  # left by a killed atomic write; the rename never happened
        stale.unlink(missing_ok=True)
    journal_path = out / JOURNAL_FILE
    records = read_journal(journal_path)
    write_journal(journal_path, records.values())  # drops a torn last line before appending
    batch_size = BATCH_SIZE[device]
    job = plan(sentences, records, out, options, batch_size)
    current = {line.number: line for line in sentences.lines}
    logger.info("%d lines: %d to speak in %d batches of up to %d on %s (%s, %d worker(s))",
                len(sentences.lines), job.pending, len(job.batches), batch_size, device, runner,
                options.workers)
    synthesis_options = SynthesisOptions(vocoder=None if options.vocoder == "auto" else options.vocoder)
    written = 0
    synthesis_started = time.perf_counter()
    bar = tqdm(total=job.pending, unit="line", desc="synthesize", disable=not options.progress or not job.pending)
    try:
        with Journal(journal_path) as journal:
            for spoken in execute(job.batches, synthesis_options):
                for item in spoken:
                    record = item.record
                    line = current[record.line]
                    if finished(records.get(record.line), line, out):
                        continue  # decoded again only because its batch had unfinished lines
                    if item.wav:
                        write_bytes_atomic(out / str(record.audio), item.wav)
                    journal.append(record)
                    records[record.line] = record
                    written += 1
                    bar.update()
    finally:
        bar.close()
    synthesis_seconds = time.perf_counter() - synthesis_started
    return finalize(sentences, sentences_path, out, records, job, options, {
        "voice": config.name, "vocoder": vocoder, "device": device, "runner": runner,
        "workers": options.workers, "batch_size": batch_size,
        "this_run": {"lines_done": written, "reused": len(sentences.lines) - len(job.skipped) - job.pending,
                     "synthesis_seconds": round(synthesis_seconds, 3),
                     "sentences_per_second": round(written / synthesis_seconds, 3) if written else None,
                     "seconds": round(time.perf_counter() - started, 3)},
    })


def finalize(
    sentences: SentenceFile, sentences_path: Path, out: Path, records: dict[int, LineRecord], job: Plan,
    options: BulkOptions, run: dict[str, Any],
) -> dict[str, Any]:
    """Rewrite the journal (current lines only, in order), the transcript and the report."""
    current = [records[line.number] for line in sentences.lines
               if line.number in records and records[line.number].text == line.text]
    write_journal(out / JOURNAL_FILE, current)
    spoken = [record for record in current if record.status == "spoken"]
    failed = [record.line for record in spoken if not record.attention_ok]
    listed = [record for record in spoken if record.attention_ok or options.keep_failed]
    write_bytes_atomic(out / TRANSCRIPT_FILE, "".join(transcript_row(r) + "\n" for r in listed).encode("utf-8"))
    skipped = sorted([*job.skipped, *({"line": r.line, "id": r.id, "reason": SKIP_UNSPEAKABLE, "detail": r.detail}
                                      for r in current if r.status == "unspeakable")],
                     key=lambda item: item["line"])
    done = {record.line for record in current} | {item["line"] for item in job.skipped}
    report = {
        "sentences": str(sentences_path), "out": str(out), **run,
        "lines": len(sentences.lines),
        "spoken": len(spoken),
        "in_transcript": len(listed),
        "attention_failed": failed,
        "attention_failed_in_transcript": options.keep_failed,
        "skipped": skipped,
        "skips_by_reason": dict(sorted(Counter(item["reason"] for item in skipped).items())),
        "unfinished": len(sentences.lines) - len(done),
        "audio_hours": round(sum(record.seconds for record in spoken) / 3600, 4),
    }
    write_bytes_atomic(out / REPORT_FILE, (json.dumps(report, ensure_ascii=False, indent=1) + "\n").encode())
    return report

