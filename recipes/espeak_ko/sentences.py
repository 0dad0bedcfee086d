"""The corpus sentences: every source gathered, cleaned, checked by the frontend, eval set removed.

Sources, in this order (a duplicate keeps its first source): everyday sentences we wrote
(`everyday_ko.txt`), the constitution shipped with konlpy, intent templates, the assistant's own
replies, and generated number sentences. A sentence is kept when it is 5–120 characters, has no
`|` (the transcript's separator), goes through the frontend with nothing dropped, reads differently
from every sentence kept before it, and is not an evaluation sentence, compared both as written and
as the frontend reads it.
"""

from __future__ import annotations

import importlib.resources
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from recipes.espeak_ko.errors import SentenceSourceError
from recipes.espeak_ko.source_intents import intent_sentences
from recipes.espeak_ko.source_law import law_sentences
from recipes.espeak_ko.source_numbers import number_sentences
from recipes.espeak_ko.source_replies import reply_sentences
from tts.text import FrontendError, TextConfig, text_to_ids
from tts.text.symbols import PUNCTUATION

LOGGER = logging.getLogger(__name__)

MIN_CHARS = 5
MAX_CHARS = 120
EVERYDAY_FILE = "everyday_ko.txt"
SPELLING = TextConfig(use_g2p=False)
"""The frontend without g2pk: what espeak-ng is given is the read-out spelling."""


@dataclass(frozen=True)
class SentenceConfig:
    """How many sentences each generated source contributes."""

    seed: int = 0
    """Seeds every random choice; the same seed always gives the same sentences."""
    per_intent: int = 45
    """At most this many template expansions per intent (so no intent dominates)."""
    reply_rounds: int = 140
    """Rounds of sample questions put to the assistant (about six replies each)."""
    per_template: int = 28
    """Fillings of each number-sentence template."""


@dataclass(frozen=True)
class Sentence:
    """One corpus sentence: as written, as the frontend reads it, and where it came from."""

    text: str
    """The raw sentence (KSS's "original script")."""
    expanded: str
    """`normalize_text(text)`: Hangul, numbers/units/English read out (KSS's "expanded script")."""
    source: str
    """everyday, law, intents, replies or numbers."""


def default_eval_path() -> Path:
    """The evaluation sentences beside the repository: ../shared/eval/sentences_ko.txt."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "eval" / "sentences_ko.txt"


def reading_key(expanded: str) -> str:
    """What sentences that sound the same share: the reading without spaces or punctuation."""
    return "".join(char for char in expanded if not char.isspace() and char not in PUNCTUATION)


def expand(text: str) -> str | None:
    """The frontend's reading of text, or None when the frontend drops or rejects anything."""
    try:
        result = text_to_ids(text, SPELLING)
    except FrontendError:
        return None
    return None if result.dropped else result.normalized


@dataclass(frozen=True)
class Exclusions:
    """Sentences that must never be in the corpus, as written and as read."""

    texts: frozenset[str]
    readings: frozenset[str]

    @classmethod
    def from_file(cls, path: Path) -> Exclusions:
        """Read one sentence per line (blank lines ignored); SentenceSourceError when unreadable."""
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise SentenceSourceError(
                f"cannot read the evaluation sentences to exclude at {path}: {error}; "
                "pass another file with --exclude"
            ) from error
        texts = [line.strip() for line in lines if line.strip()]
        readings = [reading_key(expanded) for expanded in map(expand, texts) if expanded]
        return cls(frozenset(texts), frozenset(readings))

    def excludes(self, text: str, expanded: str) -> bool:
        """Whether a sentence is an excluded one, as written or as the frontend reads it."""
        return text in self.texts or reading_key(expanded) in self.readings


def everyday_sentences() -> list[str]:
    """Our own everyday sentences, one per line of everyday_ko.txt (# starts a comment line)."""
    text = importlib.resources.files(__package__).joinpath(EVERYDAY_FILE).read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _raw_sources(config: SentenceConfig) -> Iterable[tuple[str, list[str]]]:
    yield "everyday", everyday_sentences()
    yield "law", law_sentences(MAX_CHARS)
    yield "intents", intent_sentences(config.seed, config.per_intent)
    yield "replies", reply_sentences(config.seed, config.reply_rounds)
    yield "numbers", number_sentences(config.seed, config.per_template)


def collect_sentences(config: SentenceConfig, exclude: Path | None = None) -> list[Sentence]:
    """Every usable sentence of every source, deduplicated, in source order.

    `exclude` defaults to `default_eval_path()`; its sentences never appear, however written.
    """
    exclusions = Exclusions.from_file(exclude or default_eval_path())
    kept: list[Sentence] = []
    seen_texts: set[str] = set()
    seen_readings: set[str] = set()
    skipped: Counter[str] = Counter()
    for source, texts in _raw_sources(config):
        for raw in texts:
            text = " ".join(raw.split())
            expanded = expand(text)
            if not MIN_CHARS <= len(text) <= MAX_CHARS or "|" in text:
                skipped["length or separator"] += 1
            elif expanded is None:
                skipped["frontend dropped or rejected"] += 1
            elif exclusions.excludes(text, expanded):
                skipped["evaluation sentence"] += 1
            elif text in seen_texts or reading_key(expanded) in seen_readings:
                skipped["duplicate"] += 1
            else:
                seen_texts.add(text)
                seen_readings.add(reading_key(expanded))
                kept.append(Sentence(text, expanded, source))
    LOGGER.info(
        "collected %d sentences %s; skipped %s",
        len(kept),
        dict(Counter(sentence.source for sentence in kept)),
        dict(skipped),
    )
    return kept
