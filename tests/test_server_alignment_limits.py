"""/speak/alignment is bounded: a sentence cap per image (413 naming it), the request deadline over
synthesis and plot together (504, counted), and plots that wait their turn hold nothing /speak needs."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Iterator
from multiprocessing.managers import SyncManager
from pathlib import Path

import pytest

from server import Settings, create_app
from tests.server_support import assert_json_error, live_client, make_settings, metric, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:Glyph .* missing from font")]

LONG_TEXT = "가. " * 200
"""600 characters, within /speak's 1,000-character limit: 200 sentences."""

SLACK_S = 30.0
"""What a bounded request may take beyond its deadline on a busy machine; an unbounded one took minutes."""


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Run the async tests on asyncio (the loop uvicorn uses)."""
    return "asyncio"


@pytest.fixture
def manager() -> Iterator[SyncManager]:
    """Events that the plotting process can wait on."""
    with multiprocessing.get_context("spawn").Manager() as running:
        yield running


async def test_production_limits_refuse_the_long_text_before_any_synthesis(
    test_voice_dir: Path, tmp_path: Path
) -> None:
    defaults = Settings()
    settings = make_settings(test_voice_dir, tmp_path)
    assert settings.max_text_chars_speak == defaults.max_text_chars_speak >= len(LONG_TEXT)
    assert settings.max_alignment_sentences == defaults.max_alignment_sentences
    assert settings.request_timeout_s == defaults.request_timeout_s
    app = create_app(settings)
    async with live_client(app) as client:
        started = time.monotonic()
        response = await client.post("/speak/alignment", json={"text": LONG_TEXT})
        elapsed = time.monotonic() - started
        detail = assert_json_error(response, 413)
        assert "200 sentences" in detail and f"at most {defaults.max_alignment_sentences}" in detail
        assert elapsed < settings.request_timeout_s
        text = (await client.get("/metrics")).text
        assert metric(text, "sori_batch_size_count") == 0  # refused before the queue


async def test_the_cap_counts_sentences_and_allows_up_to_it(test_voice_dir: Path, tmp_path: Path) -> None:
    app = create_app(make_settings(test_voice_dir, tmp_path, max_alignment_sentences=3))
    async with live_client(app) as client:
        detail = assert_json_error(await client.post("/speak/alignment", json={"text": "가. 나. 다. 라."}), 413)
        assert "4 sentences" in detail and "at most 3" in detail
        response = await client.post("/speak/alignment", json={"text": "가. 나. 다."})
        assert response.status_code == 200
        assert response.headers["x-sori-sentences"] == "3"


async def test_the_long_text_gets_a_504_at_the_deadline_and_is_counted(
    test_voice_dir: Path, tmp_path: Path
) -> None:
    # With the cap lifted, 200 sentences take longer than a one-second deadline to synthesise
    # and plot on any machine; whichever stage is running when it passes, the answer is a 504.
    settings = make_settings(test_voice_dir, tmp_path, max_alignment_sentences=1000, request_timeout_s=1.0)
    async with live_client(create_app(settings)) as client:
        started = time.monotonic()
        response = await client.post("/speak/alignment", json={"text": LONG_TEXT})
        elapsed = time.monotonic() - started
        assert_json_error(response, 504)
        assert elapsed < settings.request_timeout_s + SLACK_S
        assert metric((await client.get("/metrics")).text, "sori_request_timeouts_total") == 1


async def test_the_plot_itself_is_under_the_deadline(
    test_voice_dir: Path, tmp_path: Path, manager: SyncManager
) -> None:
    app = create_app(make_settings(test_voice_dir, tmp_path))
    async with live_client(app) as client:
        assert (await client.post("/speak", json={"text": "가나."})).status_code == 200  # now cached
        release = manager.Event()
        app.state.speech.plotter.submit(release.wait, 60)  # the plotter is busy
        app.state.speech.request_timeout_s = 0.5
        try:
            response = await client.post("/speak/alignment", json={"text": "가나."})
        finally:
            release.set()
        detail = assert_json_error(response, 504)
        assert "alignment plot" in detail
        assert metric((await client.get("/metrics")).text, "sori_request_timeouts_total") == 1


async def test_plots_waiting_their_turn_do_not_starve_speak(
    test_voice_dir: Path, tmp_path: Path, manager: SyncManager
) -> None:
    # More waiting plots than the shared thread pool has threads (40): /speak still reads its
    # text and encodes its audio there.
    app = create_app(make_settings(test_voice_dir, tmp_path))
    async with live_client(app) as client:
        assert (await client.post("/speak", json={"text": "가나."})).status_code == 200  # now cached
        release = manager.Event()
        app.state.speech.plotter.submit(release.wait, 120)
        plots = [asyncio.ensure_future(client.post("/speak/alignment", json={"text": "가나."})) for _ in range(41)]
        try:
            await asyncio.sleep(0.2)
            assert not any(plot.done() for plot in plots)
            response = await asyncio.wait_for(client.post("/speak", json={"text": "다라."}), 60)
            assert response.status_code == 200
            assert not any(plot.done() for plot in plots)
        finally:
            release.set()
        answers = await asyncio.gather(*plots)
        assert {answer.status_code for answer in answers} == {200}



async def test_a_plotting_process_that_dies_is_replaced(test_voice_dir: Path, tmp_path: Path) -> None:
    app = create_app(make_settings(test_voice_dir, tmp_path))
    async with live_client(app) as client:
        assert (await client.post("/speak/alignment", json={"text": "가나."})).status_code == 200
        death = app.state.speech.plotter.submit(os._exit, 1)  # as if the child were killed
        wait_for(death.done, "the plotting process to die", timeout_s=60)
        assert isinstance(death.exception(), Exception)
        response = await client.post("/speak/alignment", json={"text": "다라."})
        assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
