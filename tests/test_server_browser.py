"""The web page in a real browser: Playwright drives Debian's chromium against uvicorn on 127.0.0.1.

The page's read-only hooks (`window.soriPlayback`, data-sentence / data-unit on #sentences) are
documented at the top of server/static/app.js.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from server import Settings, create_app
from server.deps import get_voices
from server.voice_registry import VoiceRegistry
from tests.server_support import ScriptedSynthesizer, make_settings, uvicorn_server
from tts import Synthesizer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
TIMEOUT_MS = 90_000
THREE_SENTENCES = "안녕하세요. 오늘 날씨가 좋네요. 내일 만나요."

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page_url(test_voice_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a real uvicorn; skipped (or, under CI, failed) without Debian's chromium."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (scripts/install_system.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    app = create_app(make_settings(test_voice_dir, tmp_path_factory.mktemp("data")))
    with uvicorn_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser(page_url: str) -> Iterator[Any]:
    """A headless chromium from the Debian package (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def after_first(base: Synthesizer, fail: bool = False) -> ScriptedSynthesizer:
    """The test voice, but every call after the first waits until `release` is set, then
    synthesises (or, with `fail`, raises as a CUDA error would)."""
    later = lambda call, texts: call > 1  # noqa: E731
    return ScriptedSynthesizer(base, hold=later, fail=later if fail else None)


@contextmanager
def serving(settings: Settings, synthesizer: Synthesizer) -> Iterator[str]:
    """An app whose requests use `synthesizer`, on a real uvicorn; yields its URL."""
    app = create_app(settings)
    registry = VoiceRegistry.from_synthesizers({"special": synthesizer}, "special")
    app.dependency_overrides[get_voices] = lambda: registry
    with uvicorn_server(app) as url:
        yield url


def playback(page: Any) -> dict[str, Any]:
    """window.soriPlayback as a plain dict."""
    return dict(page.evaluate("() => JSON.parse(JSON.stringify(window.soriPlayback))"))


def page_units(labels: list[str]) -> int:
    """How many units the page shows for a sentence's labels: syllables, spaces and punctuation."""
    return sum(1 for label in labels if not label.startswith("<") and not "\u1161" <= label <= "\u11c2")


def test_speak_streams_and_draws_one_alignment_per_sentence(browser: Any, page_url: str) -> None:
    page = browser.new_page()
    page.goto(page_url)
    page.fill("#text", THREE_SENTENCES)
    page.click("#speak")
    page.wait_for_function("() => window.soriPlayback.state === 'ended'", timeout=TIMEOUT_MS)
    state = playback(page)
    assert [s["index"] for s in state["sentences"]] == [0, 1, 2]
    assert state["requestSentAt"] < state["firstSoundAt"]
    assert page.locator("#sentences canvas.alignment").count() == 3
    for index, sentence in enumerate(state["sentences"]):
        view = f"#sentences .sentence[data-index='{index}']"
        width, height = page.locator(f"{view} canvas.alignment").evaluate("c => [c.width, c.height]")
        assert width > len(sentence["alignment"]) and height >= len(sentence["labels"])
        assert page.inner_text(f"{view} .original") == sentence["text"]
        assert page.locator(f"{view} .spoken .unit").count() == page_units(sentence["labels"])
    # The whole reply is then on the <audio> element, for replay and download.
    page.wait_for_function(
        "() => { const a = document.getElementById('audio'); return a.readyState >= 1 && a.duration > 0; }",
        timeout=TIMEOUT_MS,
    )
    href = page.get_attribute("#download", "href")
    assert href is not None and href.startswith("blob:")
    assert page.is_hidden("#error")
    assert "초" in page.inner_text("#audio-info")
    # Moving through the recording moves the cursor too: a moment into the second sentence's speech.
    first, second = state["sentences"][:2]
    seconds = (first["samples"] + second["pause_samples"]) / first["sample_rate"] + 0.2
    page.evaluate("(t) => { document.getElementById('audio').currentTime = t; }", seconds)
    page.wait_for_function("() => window.soriPlayback.current?.sentence === 1", timeout=TIMEOUT_MS)
    highlighted = playback(page)["current"]["unit"] >= 0  # -1: the step attends to the end symbol
    assert page.locator("#sentences .sentence[data-index='1'] .unit.current").count() == highlighted
    assert page.is_visible("#sentences .sentence[data-index='1'] .cursor")
    page.close()


def test_first_sound_starts_while_the_stream_is_still_open(
    browser: Any, test_voice_dir: Path, tmp_path: Path, base_synthesizer: Synthesizer
) -> None:
    """The server holds every sentence after the first until the page has started playing: a page
    that waited for the whole reply would never start, whatever the machine's speed."""
    held = after_first(base_synthesizer)
    with serving(make_settings(test_voice_dir, tmp_path), held) as url:
        page = browser.new_page()
        page.goto(url)
        page.fill("#text", THREE_SENTENCES)
        try:
            page.click("#speak")
            page.wait_for_function("() => window.soriPlayback.firstSoundAt !== null", timeout=TIMEOUT_MS)
            started = playback(page)
            assert started["state"] == "streaming" and started["doneAt"] is None
            assert len(started["sentences"]) == 1
        finally:
            held.release.set()
        page.wait_for_function("() => window.soriPlayback.state === 'ended'", timeout=TIMEOUT_MS)
        state = playback(page)
        page.close()
    assert state["requestSentAt"] < state["firstSoundAt"] < state["doneAt"]
    assert [s["index"] for s in state["sentences"]] == [0, 1, 2]
    assert all(s["receivedAt"] > state["firstSoundAt"] for s in state["sentences"][1:])


RECORD_HIGHLIGHTS = """() => {
  window.highlights = [];
  const list = document.getElementById('sentences');
  new MutationObserver(() => {
    const current = window.soriPlayback.current;
    if (list.dataset.unit !== undefined && current) {
      window.highlights.push({sentence: Number(list.dataset.sentence), unit: Number(list.dataset.unit),
                              step: current.step, symbol: current.symbol,
                              text: list.querySelector('.unit.current').textContent});
    }
  }).observe(list, {attributes: true, attributeFilter: ['data-sentence', 'data-unit']});
}"""


def test_the_highlight_follows_the_attention_while_audio_plays(browser: Any, page_url: str) -> None:
    page = browser.new_page()
    page.goto(page_url)
    page.evaluate(RECORD_HIGHLIGHTS)
    page.fill("#text", THREE_SENTENCES)
    page.click("#speak")
    page.wait_for_function("() => window.soriPlayback.state === 'ended'", timeout=TIMEOUT_MS)
    highlights = page.evaluate("() => window.highlights")
    sentences = playback(page)["sentences"]
    assert page.locator("#sentences .unit.current").count() == 0  # cleared at the end
    page.close()

    units_before = [0]
    for sentence in sentences[:-1]:
        units_before.append(units_before[-1] + page_units(sentence["labels"]))
    overall = [units_before[h["sentence"]] + h["unit"] for h in highlights]
    assert len(set(overall)) >= 3, highlights
    assert overall[0] < overall[-1]
    assert [h["sentence"] for h in highlights] == sorted(h["sentence"] for h in highlights)
    for h in highlights:  # each highlight is the syllable of the symbol its decoder step attends to most
        row = sentences[h["sentence"]]["alignment"][h["step"]]
        assert h["symbol"] == row.index(max(row))
        assert sentences[h["sentence"]]["labels"][h["symbol"]] in unicodedata.normalize("NFD", h["text"])


GROUPING = [
    # labels → units shown, and the unit of each label (-1: none)
    (["ᄇ", "ᅡ", "ᆫ", "ᄀ", "ᅡ", "ᆸ", "ᄊ", "ᅳ", "ᆷ", "ᄂ", "ᅵ", "ᄃ", "ᅡ", ".", "<eos>"],
     ["반", "갑", "씀", "니", "다", "."], [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, -1]),
    (["ᄂ", "ᅢ", "ᄋ", "ᅵ", "ᆯ", " ", "ᄆ", "ᅡ", "ᆫ", "ᄂ", "ᅡ", "ᄋ", "ᅭ", "!", "<eos>"],
     ["내", "일", " ", "만", "나", "요", "!"], [0, 0, 1, 1, 1, 2, 3, 3, 3, 4, 4, 5, 5, 6, -1]),
    ([",", " ", "ᄋ", "ᅡ", "<eos>"], [",", " ", "아"], [0, 1, 2, 2, -1]),
]


@pytest.mark.parametrize(("labels", "units", "unit_of"), GROUPING)
def test_symbols_group_into_the_syllables_shown(
    browser: Any, page_url: str, labels: list[str], units: list[str], unit_of: list[int]
) -> None:
    page = browser.new_page()
    page.goto(page_url)
    grouped = page.evaluate("async (labels) => (await import('/static/alignment.js')).syllables(labels)", labels)
    page.close()
    assert [unit["text"] for unit in grouped["units"]] == units
    assert grouped["unitOf"] == unit_of
    assert page_units(labels) == len(units)


def test_the_microphone_is_off_until_the_user_agrees(browser: Any, page_url: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(page_url)
    assert page.is_visible("#mic-consent") and not page.is_checked("#mic-consent")
    assert "외부 서버로 전송" in page.inner_text("label[for='mic-consent']")
    assert page.is_hidden("#mic")
    assert page.evaluate("() => localStorage.getItem('sori.micConsent')") is None

    page.check("#mic-consent")
    assert page.is_visible("#mic")
    page.reload()
    assert page.is_checked("#mic-consent") and page.is_visible("#mic")  # remembered once agreed

    page.uncheck("#mic-consent")
    assert page.is_hidden("#mic")
    assert page.evaluate("() => localStorage.getItem('sori.micConsent')") is None
    context.close()


def test_ask_shows_intent_and_reply(browser: Any, page_url: str) -> None:
    page = browser.new_page()
    page.goto(page_url)
    page.fill("#text", "지금 몇 시야?")
    page.click("#ask")
    page.wait_for_selector("#answer:not([hidden])", timeout=TIMEOUT_MS)
    assert page.inner_text("#intent") == "HassGetCurrentTime"
    assert page.inner_text("#reply").startswith("지금은")
    page.wait_for_function("() => document.getElementById('audio').duration > 0", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => { const i = document.getElementById('alignment'); return i.complete && i.naturalWidth > 0; }",
        timeout=TIMEOUT_MS,
    )
    page.close()


def test_a_finished_timer_is_announced_on_the_page_and_played(browser: Any, page_url: str) -> None:
    page = browser.new_page()
    page.goto(page_url)
    page.wait_for_function("() => window.soriAnnouncements && window.soriAnnouncements.connected",
                           timeout=TIMEOUT_MS)
    page.click("#text")  # a user gesture, so the page may play audio by itself
    page.fill("#text", "1초 타이머 맞춰줘")
    page.click("#ask")
    page.wait_for_function("() => window.soriAnnouncements.received.length > 0", timeout=TIMEOUT_MS)
    page.wait_for_selector("#announcements:not([hidden])", timeout=TIMEOUT_MS)
    assert page.inner_text("#announcement-list li").endswith("1초 타이머가 끝났어요.")
    page.wait_for_function("() => window.soriAnnouncements.received[0].played", timeout=TIMEOUT_MS)
    assert page.evaluate("() => document.getElementById('announcement-audio').duration") > 0
    page.close()


def test_errors_show_the_servers_detail(browser: Any, page_url: str) -> None:
    page = browser.new_page()
    page.goto(page_url)
    page.fill("#text", "😀")
    page.click("#speak")
    page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
    message = page.inner_text("#error")
    assert "말할 수 있는 내용이 없" in message and "😀" in message
    page.close()


def test_an_error_after_the_first_sentence_keeps_what_arrived(
    browser: Any, test_voice_dir: Path, tmp_path: Path, base_synthesizer: Synthesizer
) -> None:
    failing = after_first(base_synthesizer, fail=True)
    failing.release.set()
    with serving(make_settings(test_voice_dir, tmp_path), failing) as url:
        page = browser.new_page()
        page.goto(url)
        page.fill("#text", THREE_SENTENCES)
        page.click("#speak")
        page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
        assert "서버에서 합성에 실패했습니다" in page.inner_text("#error")
        assert playback(page)["state"] == "failed"
        assert page.locator("#sentences canvas.alignment").count() == 1
        page.wait_for_function("() => document.getElementById('audio').duration > 0", timeout=TIMEOUT_MS)
        assert "도중에 끊긴" in page.inner_text("#audio-info")
        page.close()
