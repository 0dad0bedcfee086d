"""Bulk synthesis: a file of sentences -> a KSS-layout corpus of WAVs, resumable, in process or on
a Ray cluster (`sori synthesize-batch`).

`tts.bulk.job` runs a job; `lines` reads and plans, `speak` speaks one batch, `records` keeps the
journal, `local` and `ray_data` are the two runners. Ray is imported only by `ray_data`.
"""

from tts.bulk.job import BATCH_SIZE, BulkError, BulkOptions, run_bulk
from tts.bulk.lines import LinesError, SentenceFile, SentenceLine, plan_batches, read_sentences
from tts.bulk.records import LineRecord, read_journal

__all__ = [
    "BATCH_SIZE",
    "BulkError",
    "BulkOptions",
    "LineRecord",
    "LinesError",
    "SentenceFile",
    "SentenceLine",
    "plan_batches",
    "read_journal",
    "read_sentences",
    "run_bulk",
]
