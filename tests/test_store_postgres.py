"""Servers sharing one real PostgreSQL: concurrent writes through two apps, and the database going
away under load (503 with Retry-After for the assistant, speech unaffected, recovery without a
restart, no acknowledged write lost)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.particles import with_particle
from assistant.store import open_store
from server import create_app
from tests.postgres_support import PostgresCluster, create_cluster
from tests.server_support import live_client, make_settings, metric, uvicorn_server

ITEMS_64 = [first + second for first in "가나다라마바사아자차카타파하" for second in "미리수노루토"][:64]
"""64 made-up item names the assistant recognises as they are."""


def add_request(item: str) -> dict[str, str]:
    """The /assistant body that adds `item` to the shopping list."""
    return {"text": f"{with_particle(item, '을/를')} 장보기 목록에 추가해줘"}


@pytest.fixture
def anyio_backend() -> str:
    """The in-process tests run on asyncio, the loop uvicorn uses."""
    return "asyncio"


@pytest.mark.anyio
async def test_two_servers_on_one_database_see_every_write_exactly_once(
    test_voice_dir: Path, tmp_path: Path, postgres_url: str
) -> None:
    """32 concurrent adds through each of two apps: each app reads back all 64, each once; timers
    started and cancelled through either are the same for both."""
    apps = [create_app(make_settings(test_voice_dir, tmp_path / name, database_url=postgres_url))
            for name in ("a", "b")]
    async with live_client(apps[0]) as first, live_client(apps[1]) as second:
        clients = (first, second)
        responses = await asyncio.gather(*(
            clients[index % 2].post("/assistant", json=add_request(item)) for index, item in enumerate(ITEMS_64)
        ))
        assert [response.status_code for response in responses] == [200] * 64
        for app in apps:
            assert sorted(app.state.assistant.store.shopping_items()) == sorted(ITEMS_64)

        started = await asyncio.gather(*(
            clients[index % 2].post("/assistant", json={"text": f"{10 * (1 + index % 2)}분 타이머 맞춰줘"})
            for index in range(16)
        ))
        assert {response.json()["reply"] for response in started} == {"10분 타이머를 시작했어요.",
                                                                        "20분 타이머를 시작했어요."}
        views = [app.state.assistant.store.timers() for app in apps]
        assert views[0] == views[1] and sorted(t.duration_seconds for t in views[0]) == [600] * 8 + [1200] * 8
        cancelled = await second.post("/assistant", json={"text": "10분 타이머 취소해줘"})
        assert cancelled.json()["reply"] == "10분 타이머를 취소했어요."
        status = await first.post("/assistant", json={"text": "타이머 얼마나 남았어"})
        assert status.json()["reply"].startswith("타이머가 8개 있어요. 20분 타이머는")
        for app in apps:
            assert [t.duration_seconds for t in app.state.assistant.store.timers()] == [1200] * 8


@pytest.fixture
def private_cluster() -> Iterator[PostgresCluster]:
    """A cluster of this test's own, so stopping it disturbs no other test."""
    cluster = create_cluster()
    try:
        yield cluster
    finally:
        cluster.remove()


def test_postgres_stopped_under_load_is_a_503_then_recovers_losing_no_acknowledged_write(
    test_voice_dir: Path, tmp_path: Path, private_cluster: PostgresCluster
) -> None:
    url = private_cluster.new_database()
    settings = make_settings(test_voice_dir, tmp_path, database_url=url, store_timeout_s=1.0)
    acknowledged: list[str] = []
    refused: list[httpx.Response] = []
    stop = threading.Event()
    phase = {"name": "up"}
    seen: dict[str, set[int]] = {"up": set(), "down": set(), "back": set()}

    def load(base_url: str, worker: int) -> None:
        """Add items one after another, recording which got a 200 and what else came back."""
        with httpx.Client(base_url=base_url, timeout=120) as client:
            count = 0
            while not stop.is_set():
                item = f"{'가나다라'[worker]}물건{count}"
                count += 1
                current = phase["name"]
                response = client.post("/assistant", json=add_request(item))
                seen[current].add(response.status_code)
                if response.status_code == 200:
                    acknowledged.append(item)
                else:
                    refused.append(response)

    with uvicorn_server(create_app(settings)) as base_url:
        workers = [threading.Thread(target=load, args=(base_url, worker), daemon=True) for worker in range(4)]
        for worker in workers:
            worker.start()
        try:
            wait(lambda: 200 in seen["up"], "writes to succeed")
            private_cluster.stop("immediate")  # a crash: connections cut, nothing flushed politely
            phase["name"] = "down"
            wait(lambda: 503 in seen["down"], "a 503 while the database is down")
            speak = httpx.post(f"{base_url}/speak", json={"text": "데이터베이스가 없어도 말해요."}, timeout=120)
            assert speak.status_code == 200 and speak.content[:4] == b"RIFF"
            private_cluster.start()
            phase["name"] = "back"
            wait(lambda: 200 in seen["back"], "writes to succeed again, without a restart")
        finally:
            stop.set()
            for worker in workers:
                worker.join(120)
        metrics = httpx.get(f"{base_url}/metrics").text
    assert refused, "the database went away under load: some requests must have been refused"
    for response in refused:
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert response.json() == {"detail": "the assistant's store is busy; try again shortly"}
    assert metric(metrics, "sori_store_errors_total", source="assistant") == len(refused)
    with contextlib.closing(open_store(url, Path("/unused"))) as store:
        stored = store.shopping_items()
    assert set(acknowledged) <= set(stored), "a write acknowledged with 200 was lost"
    assert len(stored) == len(set(stored))


def wait(condition: object, what: str, timeout_s: float = 120.0) -> None:
    """Poll `condition()` every 20 ms until true (fails naming `what` after timeout_s)."""
    from tests.events_support import wait_until

    wait_until(condition, what, timeout_s)


@pytest.mark.parametrize(("environment", "outcome"), [
    ({}, pytest.skip.Exception),
    ({"CI": "true"}, pytest.fail.Exception),
    ({"SORI_REQUIRE_POSTGRES": "1"}, pytest.fail.Exception),
])
def test_without_postgresql_the_tests_skip_naming_why_or_fail_where_it_is_required(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], outcome: type[BaseException]
) -> None:
    from tests import postgres_support

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("SORI_REQUIRE_POSTGRES", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(postgres_support, "postgres_bin_dir", lambda: None)
    with pytest.raises(outcome, match="apt-get install postgresql"):
        create_cluster()
