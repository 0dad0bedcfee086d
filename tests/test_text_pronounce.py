"""g2pk pronunciation: the sound changes a listener hears, computed offline from built-in data."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tts.text.cmudict_data import CORPUS_ZIP, ensure_nltk_cmudict, nltk_lines
from tts.text.pronounce import pronounce
from tts.text.symbols import text_to_symbols


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 연음: a coda moves onto a following vowel-initial syllable.
        ("음악이", "으마기"),
        ("한국어", "한구거"),
        ("앉아", "안자"),
        ("부엌에", "부어케"),
        # 경음화: tensification after obstruent codas and in Sino-Korean ㄹ + ㄷ, ㅅ, ㅈ.
        ("학교", "학꾜"),
        ("먹고", "먹꼬"),
        ("없어요", "업써요"),
        ("발전", "발쩐"),
        ("할 수 있다", "할 쑤 읻따"),
        # 비음화: obstruents before nasals become nasals; ㄹ after nasals becomes ㄴ.
        ("국물", "궁물"),
        ("합니다", "함니다"),
        ("밥물", "밤물"),
        ("심리", "심니"),
        ("독립", "동닙"),
        # 유음화, 격음화, 구개음화.
        ("신라", "실라"),
        ("좋다", "조타"),
        ("입학", "이팍"),
        ("같이", "가치"),
        ("해돋이", "해도지"),
    ],
)
def test_g2pk_sound_changes(text: str, expected: str) -> None:
    assert pronounce(text) == expected


def test_spaces_and_prosody_punctuation_survive() -> None:
    assert pronounce("음악이 좋아요. 국물은, 정말?  네!") == "으마기 조아요. 궁무른, 정말?  네!"
    assert pronounce("") == ""
    assert pronounce("그래…") == "그래…"


def test_only_hangul_reaches_g2pk() -> None:
    # g2pk would read digits, % and English its own way; the frontend's readout owns those.
    assert pronounce("GPU는 3개 50% 6·25") == "GPU는 3개 50% 6·25"
    assert pronounce("학교a에") == "학꾜a에"


def test_pronounced_hangul_always_maps_to_symbols() -> None:
    text = "젊은이들이 읽고 싶은 책을 밟고, 닭을 삶았다! ㅋㅋ"
    symbols, unknown = text_to_symbols(pronounce(text))
    assert unknown == [] and symbols


def test_nltk_lines_use_nltk_format() -> None:
    source = "hello HH AH0 L OW1\nhello(2) HH EH0 L OW1\naalen AE1 L AH0 N # place, german\n"
    assert nltk_lines(source) == [
        "hello 1 HH AH0 L OW1",
        "hello 2 HH EH0 L OW1",
        "aalen 1 AE1 L AH0 N",
    ]


def test_corpus_is_built_once_and_rebuilt_when_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SORI_DATA_DIR", str(tmp_path))
    root = ensure_nltk_cmudict()
    corpus = root / CORPUS_ZIP
    assert root == tmp_path / "nltk_data"
    with zipfile.ZipFile(corpus) as archive:
        lines = archive.read("cmudict/cmudict").decode().splitlines()
    assert "hello 1 HH AH0 L OW1" in lines and len(lines) > 100_000
    built = corpus.stat().st_mtime_ns
    assert ensure_nltk_cmudict() == root
    assert corpus.stat().st_mtime_ns == built
    corpus.write_bytes(b"not a zip")
    ensure_nltk_cmudict()
    assert zipfile.is_zipfile(corpus)
    assert [p.name for p in corpus.parent.iterdir()] == ["cmudict.zip"]


_NO_NETWORK = """
import socket

def _refuse(*args, **kwargs):
    raise OSError("network access attempted")

class _RefusingSocket(socket.socket):
    def __init__(self, *args, **kwargs):
        _refuse()

socket.socket = _RefusingSocket
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


def test_pronounce_never_touches_the_network_even_on_a_fresh_data_dir(tmp_path: Path) -> None:
    script = _NO_NETWORK + textwrap.dedent(
        """
        import nltk
        from tts.text.pronounce import pronounce
        nltk.download = _refuse
        print(pronounce("국물이 맛있습니다"))
        """
    )
    env = {**os.environ, "SORI_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "궁무리 마싣씀니다"
    assert (tmp_path / "nltk_data" / CORPUS_ZIP).is_file()


def test_pronounce_is_safe_to_call_from_many_threads() -> None:
    texts = ["음악이 좋아요", "국물이 뜨겁다", "학교에 갑니다", "같이 먹고 싶다"] * 8
    expected = [pronounce(text) for text in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(pronounce, texts)) == expected
