"""Timers that ring: each due timer announced exactly once across the servers sharing a store, over
GET /assistant/events (server-sent events) and the webhook, overdue ones at the next start.

The servers are real uvicorn servers on 127.0.0.1 (server-sent events need a real stream). The
tests assert what is announced and how often, never how late: that is measured by
bench/timers_postgres.py.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx
import pytest

from assistant.store import open_store
from server import create_app
from tests.events_support import KEEPALIVE_S, WebhookReceiver, reading_events, wait_until
from tests.server_support import free_port, make_settings, metric, read_wav, uvicorn_server

TIMER_KEYS = {"id", "duration_seconds", "due_at", "reply", "audio"}


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new store's URL on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def ask(url: str, text: str, headers: dict[str, str] | None = None) -> dict[str, object]:
    """POST /assistant and return its JSON (asserting 200)."""
    response = httpx.post(f"{url}/assistant", json={"text": text}, headers=headers, timeout=120)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_timer_rings_once_with_spoken_audio_and_late_clients_get_only_new_ones(
    test_voice_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings(test_voice_dir, tmp_path, events_keepalive_s=KEEPALIVE_S)
    with uvicorn_server(create_app(settings)) as url, reading_events(url) as early:
        assert ask(url, "1초 타이머 맞춰줘")["reply"] == "1초 타이머를 시작했어요."
        name, data = early.next()
        assert name == "timer-finished" and set(data) == TIMER_KEYS
        assert (data["duration_seconds"], data["reply"]) == (1, "1초 타이머가 끝났어요.")
        assert str(data["due_at"]).endswith("+00:00")
        channels, width, _, frames = read_wav(base64.b64decode(str(data["audio"])))
        assert (channels, width) == (1, 2) and frames > 0
        # Rung: no longer running, nothing to cancel, and a client connecting now gets only new ones.
        assert ask(url, "타이머 얼마나 남았어")["reply"] == "실행 중인 타이머가 없어요."
        with reading_events(url) as late:
            ask(url, "2초 타이머 맞춰줘")
            for reader in (late, early):
                name, second = reader.next()
                assert second["reply"] == "2초 타이머가 끝났어요." and second["id"] != data["id"]
        metrics = httpx.get(f"{url}/metrics").text
    assert metric(metrics, "sori_timer_announcements_total", when="on_time") == 2


def test_the_events_stream_sends_keep_alives_and_needs_the_api_key(test_voice_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(test_voice_dir, tmp_path, api_key="s3cret", events_keepalive_s=KEEPALIVE_S)
    with uvicorn_server(create_app(settings)) as url:
        refused = httpx.get(f"{url}/assistant/events", timeout=30)
        assert refused.status_code == 401 and refused.json()["detail"]
        with reading_events(url, {"Authorization": "Bearer s3cret"}) as reader:
            wait_until(lambda: ": keep-alive" in reader.comments, "a keep-alive comment")
            assert reader.comments[0] == ": connected"


def test_timers_started_through_two_servers_each_ring_exactly_once(
    test_voice_dir: Path, tmp_path: Path, store_url: str
) -> None:
    """Two servers on one store: 6 timers started through both, each announced by one of them."""
    apps = [create_app(make_settings(test_voice_dir, tmp_path / name, database_url=store_url,
                                     events_keepalive_s=KEEPALIVE_S))
            for name in ("a", "b")]
    with uvicorn_server(apps[0]) as first, uvicorn_server(apps[1]) as second, \
            reading_events(first) as on_first, reading_events(second) as on_second:
        for index in range(6):
            ask((first, second)[index % 2], f"{1 + index % 2}초 타이머 맞춰줘")
        heard: list[dict[str, object]] = []

        def all_heard() -> bool:
            for reader in (on_first, on_second):
                while not reader.events.empty():
                    heard.append(reader.events.get()[1])
            return len(heard) >= 6

        wait_until(all_heard, "6 announcements")
        # A last timer on each, announced after the six: any duplicate would have been claimed by now.
        ask(first, "1초 타이머 맞춰줘")
        ask(second, "1초 타이머 맞춰줘")
        wait_until(lambda: all_heard() and len(heard) >= 8, "the last two announcements")
        counts = [metric(httpx.get(f"{url}/metrics").text, "sori_timer_announcements_total")
                  for url in (first, second)]
    ids = [event["id"] for event in heard]
    assert len(ids) == len(set(ids)) == 8
    assert sum(counts) == 8


def test_a_timer_due_while_no_server_ran_is_announced_once_as_overdue_and_posted_to_the_webhook(
    test_voice_dir: Path, tmp_path: Path
) -> None:
    store_path = tmp_path / "assistant.sqlite3"
    store = open_store(None, store_path)
    timer = store.add_timer(300, started_at=time.time() - 300 - 150)  # ended two and a half minutes ago
    store.close()
    webhook = WebhookReceiver(fail_first=2)
    try:
        settings = make_settings(test_voice_dir, tmp_path, webhook_url=webhook.url)
        with uvicorn_server(create_app(settings)) as url:
            posted = webhook.next()
            assert set(posted) == TIMER_KEYS and posted["id"] == timer.id
            assert posted["reply"] == "5분 타이머가 2분 전에 끝났어요."
            assert read_wav(base64.b64decode(posted["audio"]))[3] > 0
            metrics = httpx.get(f"{url}/metrics").text
            assert metric(metrics, "sori_webhook_retries_total") == 2
            assert metric(metrics, "sori_webhook_deliveries_total") == 1
            assert metric(metrics, "sori_timer_announcements_total", when="overdue") == 1
        with uvicorn_server(create_app(settings)) as url:  # the next start: only a new timer rings
            assert ask(url, "타이머 얼마나 남았어")["reply"] == "실행 중인 타이머가 없어요."
            ask(url, "1초 타이머 맞춰줘")
            assert webhook.next()["reply"] == "1초 타이머가 끝났어요."
            assert metric(httpx.get(f"{url}/metrics").text, "sori_timer_announcements_total") == 1
        assert webhook.received.empty() and webhook.attempts == 4
    finally:
        webhook.close()


def test_a_dead_webhook_is_counted_and_delays_no_event(test_voice_dir: Path, tmp_path: Path) -> None:
    """The webhook refuses every connection: the event stream still gets each announcement, and each
    one is counted as a webhook failure once its retries are spent."""
    dead = f"http://127.0.0.1:{free_port()}/hook"
    settings = make_settings(test_voice_dir, tmp_path, webhook_url=dead, webhook_retries=1,
                             webhook_timeout_s=0.5, events_keepalive_s=KEEPALIVE_S)
    with uvicorn_server(create_app(settings)) as url, reading_events(url) as reader:
        for seconds in (1, 2):
            ask(url, f"{seconds}초 타이머 맞춰줘")
        assert [reader.next()[1]["duration_seconds"] for _ in range(2)] == [1, 2]
        wait_until(lambda: metric(httpx.get(f"{url}/metrics").text, "sori_webhook_failures_total") == 2,
                   "both webhook deliveries to be given up")
        metrics = httpx.get(f"{url}/metrics").text
        assert metric(metrics, "sori_webhook_retries_total") == 2
        assert metric(metrics, "sori_webhook_deliveries_total") == 0


def test_an_invalid_webhook_url_is_an_invalid_setting(test_voice_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="webhook_url must be an http"):
        make_settings(test_voice_dir, tmp_path, webhook_url="ftp://example.org/hook")
