"""The web page in a real browser: Playwright drives Debian's chromium against uvicorn on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from server import create_app
from tests.server_support import make_settings, uvicorn_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
TIMEOUT_MS = 90_000

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
def browser(page_url: str) -> Iterator[object]:
    """A headless chromium from the Debian package (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_speak_plays_audio_and_shows_the_alignment(browser, page_url: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(page_url)
    page.fill("#text", "안녕하세요. 반갑습니다.")
    page.click("#speak")
    page.wait_for_function(
        "() => { const a = document.getElementById('audio');"
        " return a.readyState >= 1 && a.duration > 0; }",
        timeout=TIMEOUT_MS,
    )
    page.wait_for_function(
        "() => { const i = document.getElementById('alignment');"
        " return i.complete && i.naturalWidth > 0; }",
        timeout=TIMEOUT_MS,
    )
    assert page.is_hidden("#error")
    assert "초" in page.inner_text("#audio-info")
    page.close()


def test_ask_shows_intent_and_reply(browser, page_url: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(page_url)
    page.fill("#text", "지금 몇 시야?")
    page.click("#ask")
    page.wait_for_selector("#answer:not([hidden])", timeout=TIMEOUT_MS)
    assert page.inner_text("#intent") == "HassGetCurrentTime"
    assert page.inner_text("#reply").startswith("지금은")
    page.wait_for_function("() => document.getElementById('audio').duration > 0", timeout=TIMEOUT_MS)
    page.close()


def test_errors_show_the_servers_detail(browser, page_url: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(page_url)
    page.fill("#text", "😀")
    page.click("#speak")
    page.wait_for_selector("#error:not([hidden])", timeout=TIMEOUT_MS)
    message = page.inner_text("#error")
    assert "말할 수 있는 내용이 없" in message and "😀" in message
    page.close()
