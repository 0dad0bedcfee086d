"""The espeak-ng bootstrap corpus: Korean sentences spoken by espeak-ng, written in KSS's layout.

`python -m recipes.espeak_ko OUT_DIR` collects the sentences (`collect_sentences`), orders and
places them (`plan_corpus`) and renders them (`write_corpus`), with a phonetic coverage report.
"""

from recipes.espeak_ko.corpus import (
    ENGLISH_PLACEHOLDER,
    TRANSCRIPT,
    CorpusSummary,
    Utterance,
    plan_corpus,
    write_corpus,
)
from recipes.espeak_ko.coverage import Coverage, CoverageReport
from recipes.espeak_ko.errors import CorpusError, SentenceSourceError
from recipes.espeak_ko.sentences import (
    Sentence,
    SentenceConfig,
    collect_sentences,
    default_eval_path,
)

__all__ = [
    "ENGLISH_PLACEHOLDER",
    "TRANSCRIPT",
    "CorpusError",
    "CorpusSummary",
    "Coverage",
    "CoverageReport",
    "Sentence",
    "SentenceConfig",
    "SentenceSourceError",
    "Utterance",
    "collect_sentences",
    "default_eval_path",
    "plan_corpus",
    "write_corpus",
]
