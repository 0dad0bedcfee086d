"""Data preparation: a KSS-layout corpus -> validated, trimmed, cached features and a fixed split.

Every transcript row is checked (text through Sori's own frontend, audio read, mixed to mono,
resampled, trimmed, measured); a row that fails is skipped with its reason, never a crash. Each
row's outcome is written atomically under the features directory with a fingerprint of its inputs,
so a rerun reuses finished rows and an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import soundfile
import torch

from tts.audio import AudioConfig, AudioError, SpectrogramExtractor, load_audio, trim_silence
from tts.text import FrontendError, TextConfig, default_symbol_table, normalize_text, text_to_ids
from tts.training.config import PrepareConfig
from tts.training.features import (
    SETTINGS_FILE,
    UTTERANCE_DIR,
    FeaturesError,
    FeatureSettings,
    UtteranceFeatures,
    UtteranceRecord,
    features_path,
    read_record,
    read_settings,
    write_features,
    write_record,
    write_settings,
)
from tts.training.kss import TranscriptRow, read_transcript
from tts.training.preparation_report import build_report, write_report, write_split

logger = logging.getLogger(__name__)


class PrepareError(ValueError):
    """Preparation cannot start: no corpus, or the output holds features made another way."""


class SkipReason(StrEnum):
    """Why a transcript row did not become training features."""

    MALFORMED_LINE = "malformed_line"
    DUPLICATE_ID = "duplicate_id"
    MISSING_WAV = "missing_wav"
    EMPTY_WAV = "empty_wav"
    UNREADABLE_WAV = "unreadable_wav"
    SILENT_WAV = "silent_wav"
    EMPTY_TEXT = "empty_text"
    UNSPEAKABLE_TEXT = "unspeakable_text"
    DROPPED_CHARACTERS = "dropped_characters"
    TEXT_TOO_LONG = "text_too_long"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    FAILED = "failed"


@dataclass(frozen=True)
class RowTask:
    """One row to prepare in a worker process."""

    row: TranscriptRow
    wav: Path
    fingerprint: str
    out: Path
    settings_json: str
    """FeatureSettings as JSON: plain text crosses process boundaries (symbol tables do not pickle)."""


def fingerprint(row: TranscriptRow, wav: Path) -> str:
    """Hash of what a row's features depend on: its texts and its WAV's size and mtime."""
    try:
        stat = wav.stat()
        file_state: list[Any] = [stat.st_size, stat.st_mtime_ns]
    except OSError:
        file_state = [None, None]
    key = json.dumps([row.audio, row.original, row.expanded, *file_state], ensure_ascii=False)
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


@cache
def _settings(settings_json: str) -> FeatureSettings:
    """Settings rebuilt once per process from their JSON."""
    return FeatureSettings.from_dict(json.loads(settings_json))


@cache
def _extractor(config: AudioConfig) -> SpectrogramExtractor:
    """One spectrogram extractor per process and audio config (its filterbank is reused)."""
    return SpectrogramExtractor(config)


def _reading(text: str) -> str | None:
    """Our normalised reading of a text, or None when it cannot be read."""
    try:
        return normalize_text(text)[0]
    except FrontendError:
        return None


def prepare_row(task: RowTask) -> UtteranceRecord:
    """Validate one row and write its features; any failure becomes a skip record, never an error."""
    try:
        record = _prepare_row(task)
    except Exception as error:  # one bad clip must not end a 12-hour corpus
        logger.warning("row %d (%s) failed: %r", task.row.line, task.row.audio, error)
        record = _skip(task, SkipReason.FAILED, f"{type(error).__name__}: {error}")
    write_record(task.out, record)
    return record


def _skip(task: RowTask, reason: SkipReason, detail: str, **values: Any) -> UtteranceRecord:
    row = task.row
    return UtteranceRecord(row.utterance_id, row.line, row.audio, task.fingerprint,
                           reason=reason.value, detail=detail, **values)


def _prepare_row(task: RowTask) -> UtteranceRecord:
    row, settings = task.row, _settings(task.settings_json)
    config, audio = settings.prepare, settings.audio
    agreement: dict[str, Any] = {}
    if row.original and row.expanded:
        ours, theirs = _reading(row.original), _reading(row.expanded)
        if ours is not None and theirs is not None:
            agreement = {"agrees_with_expanded": ours == theirs,
                         "original_reading": ours, "expanded_reading": theirs}
    if not task.wav.is_file():
        return _skip(task, SkipReason.MISSING_WAV, f"no file at {task.wav}", **agreement)
    if task.wav.stat().st_size == 0:
        return _skip(task, SkipReason.EMPTY_WAV, "the file is empty (0 bytes)", **agreement)
    try:
        info = soundfile.info(str(task.wav))
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        return _skip(task, SkipReason.UNREADABLE_WAV, str(error), **agreement)
    if info.frames == 0:
        return _skip(task, SkipReason.EMPTY_WAV, "the file holds no samples", **agreement)
    source = {"source_rate": int(info.samplerate), "source_channels": int(info.channels),
              "source_seconds": float(info.frames) / info.samplerate, **agreement}

    text = row.original if config.text_column == "original" else row.expanded
    if not text.strip():
        return _skip(task, SkipReason.EMPTY_TEXT, f"the {config.text_column} column is empty", **source)
    try:
        frontend = text_to_ids(text, settings.text, settings.symbols)
    except FrontendError as error:
        return _skip(task, SkipReason.UNSPEAKABLE_TEXT, str(error), text=text, **source)
    spoken = {"text": text, "normalized": frontend.normalized, "n_symbols": len(frontend.ids), **source}
    if frontend.dropped and not config.allow_dropped:
        dropped = " ".join(repr(char) for char in frontend.dropped)
        return _skip(task, SkipReason.DROPPED_CHARACTERS, f"the frontend dropped {dropped}", **spoken)
    if len(frontend.ids) > config.max_symbols:
        return _skip(task, SkipReason.TEXT_TOO_LONG,
                     f"{len(frontend.ids)} symbols > max_symbols {config.max_symbols}", **spoken)

    try:
        wave = load_audio(task.wav, audio.sample_rate)  # [T] mono at the config's rate
    except AudioError as error:
        return _skip(task, SkipReason.UNREADABLE_WAV, str(error), **spoken)
    wave = trim_silence(wave, audio)
    seconds = wave.numel() / audio.sample_rate
    if wave.numel() <= audio.n_fft // 2:
        return _skip(task, SkipReason.SILENT_WAV, "nothing above the trimming threshold", **spoken)
    if seconds < config.min_seconds:
        return _skip(task, SkipReason.TOO_SHORT,
                     f"{seconds:.2f} s < min_seconds {config.min_seconds}", seconds=seconds, **spoken)
    if seconds > config.max_seconds:
        return _skip(task, SkipReason.TOO_LONG,
                     f"{seconds:.2f} s > max_seconds {config.max_seconds}", seconds=seconds, **spoken)
    with torch.inference_mode():
        mel, linear = _extractor(audio)(wave)  # [n_mels, T_frames], [n_freq, T_frames]
    write_features(task.out, row.utterance_id, UtteranceFeatures(
        mel.T.numpy(), linear.T.numpy(), torch.tensor(frontend.ids).numpy()
    ))
    return UtteranceRecord(row.utterance_id, row.line, row.audio, task.fingerprint,
                           n_frames=int(mel.shape[1]), seconds=seconds, **spoken)


def _init_worker() -> None:
    """Worker processes each use one thread: the parallelism is across clips."""
    torch.set_num_threads(1)


def _run_tasks(tasks: Sequence[RowTask], jobs: int, progress: bool) -> Iterator[UtteranceRecord]:
    """Prepare rows in `jobs` worker processes (in this process when jobs is 1), with a progress bar."""
    from tqdm import tqdm

    bar = tqdm(total=len(tasks), unit="clip", desc="prepare", disable=not progress or not tasks)
    try:
        if jobs <= 1 or len(tasks) <= 1:
            for task in tasks:
                yield prepare_row(task)
                bar.update()
            return
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        chunk = max(1, min(16, len(tasks) // (jobs * 8)))
        with context.Pool(jobs, initializer=_init_worker) as pool:
            for record in pool.imap_unordered(prepare_row, tasks, chunksize=chunk):
                yield record
                bar.update()
    finally:
        bar.close()


def _settings_for(out: Path, settings: FeatureSettings) -> None:
    """Write the settings into a new features directory; refuse one made with other settings."""
    if (out / SETTINGS_FILE).is_file():
        try:
            existing = read_settings(out)
        except FeaturesError as error:
            raise PrepareError(f"{out} holds features that cannot be checked: {error}") from error
        differences = settings.differences(existing)
        if differences:
            raise PrepareError(
                f"{out} holds features prepared with other settings, and features of different "
                f"settings must not be mixed; choose a new --out or delete it. Differences "
                f"(now != then): " + "; ".join(differences)
            )
        return
    write_settings(out, settings)


def prepare_corpus(
    corpus: Path,
    out: Path,
    config: PrepareConfig | None = None,
    audio: AudioConfig | None = None,
    text: TextConfig | None = None,
    jobs: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    """Prepare every row of `corpus` into `out`; returns the report also written to prepare_report.json."""
    started = time.perf_counter()
    corpus, out = Path(corpus), Path(out)
    settings = FeatureSettings(config or PrepareConfig(), audio or AudioConfig(),
                               text or TextConfig(), default_symbol_table())
    if not corpus.is_dir():
        raise PrepareError(f"corpus root not found: {corpus}")
    try:
        transcript = read_transcript(corpus)
    except ValueError as error:
        raise PrepareError(str(error)) from error
    out.mkdir(parents=True, exist_ok=True)
    _settings_for(out, settings)
    utterances = out / UTTERANCE_DIR
    utterances.mkdir(exist_ok=True)
    for stale in utterances.glob(".*.tmp"):  # left by a killed run; the rename never happened
        stale.unlink(missing_ok=True)

    duplicates: list[dict[str, Any]] = []
    unique: dict[str, TranscriptRow] = {}
    for row in transcript.rows:
        if row.utterance_id in unique:
            first = unique[row.utterance_id]
            duplicates.append({"line": row.line, "id": row.utterance_id, "audio": row.audio,
                               "reason": SkipReason.DUPLICATE_ID.value,
                               "detail": f"id already used by line {first.line} ({first.audio})"})
        else:
            unique[row.utterance_id] = row
    records: dict[str, UtteranceRecord] = {}
    tasks: list[RowTask] = []
    settings_json = json.dumps(settings.to_dict(), ensure_ascii=False, sort_keys=True)
    for row in unique.values():
        wav = corpus / row.audio
        task = RowTask(row, wav, fingerprint(row, wav), out, settings_json)
        cached = read_record(out, row.utterance_id)
        if (cached is not None and cached.fingerprint == task.fingerprint
                and (not cached.prepared or features_path(out, row.utterance_id).is_file())):
            records[row.utterance_id] = cached
        else:
            tasks.append(task)
    logger.info("%d rows: %d already prepared, %d to do with %d job(s)",
                len(unique), len(records), len(tasks), jobs)
    for record in _run_tasks(tasks, jobs, progress):
        records[record.id] = record

    ordered = [records[row_id] for row_id in unique]
    splits = write_split(out, ordered, settings.prepare)
    report = build_report(
        corpus=corpus, settings=settings, records=ordered, malformed=transcript.malformed,
        duplicates=duplicates, splits=splits, processed=len(tasks), reused=len(records) - len(tasks),
        elapsed=time.perf_counter() - started,
    )
    write_report(out, report)
    return report


def default_jobs() -> int:
    """Worker processes by default: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
