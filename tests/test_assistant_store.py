"""Timers and the shopping list persist across restarts and under concurrent use, on both engines:
the tests taking `store_url` run on SQLite and on a real PostgreSQL (tests/postgres_support.py);
those about SQLite's own locking and files run on SQLite only."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant import Assistant, AssistantError, StoreUnavailableError
from assistant.particles import with_particle
from assistant.store import LATEST_VERSION, SqliteStore, Store, open_store
from server import create_app
from tests.server_support import free_port, live_client, make_settings

START = datetime(2026, 11, 21, 15, 5, tzinfo=ZoneInfo("Asia/Seoul"))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty store's URL on each engine (PostgreSQL: a database of its own)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'assistant.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def opened(url: str) -> Store:
    """Another connection to the store at `url` (as another process or server would open it)."""
    return open_store(url, Path("/nonexistent/unused.sqlite3"))


@pytest.fixture
def anyio_backend() -> str:
    """The HTTP test runs on asyncio, the loop uvicorn uses."""
    return "asyncio"


def test_timers_and_shopping_list_survive_a_restart(store_url: str) -> None:
    first = Assistant(store=opened(store_url), clock=lambda: START)
    assert first.ask("10분 타이머 맞춰줘").reply == "10분 타이머를 시작했어요."
    assert first.ask("우유를 장보기 목록에 추가해줘").reply == "우유를 장보기 목록에 추가했어요."
    first.close()

    later = START + timedelta(minutes=4)
    second = Assistant(store=opened(store_url), clock=lambda: later)
    assert second.ask("타이머 얼마나 남았어").reply == "10분 타이머가 6분 남았어요."
    assert second.ask("장보기 목록 읽어줘").reply == "장보기 목록에 우유가 있어요."
    assert second.ask("타이머 취소").reply == "10분 타이머를 취소했어요."

    second.close()
    third = Assistant(store=opened(store_url), clock=lambda: later)
    assert third.ask("타이머 얼마나 남았어").reply == "실행 중인 타이머가 없어요."
    assert third.store.shopping_items() == ["우유"]
    third.close()


def test_concurrent_requests_from_threads(store_url: str) -> None:
    assistant = Assistant(store=opened(store_url), clock=lambda: START)
    items = ["우유", "사과", "배", "빵", "귤", "감자", "양파", "두부",
             "라면", "김치", "쌀", "버터", "치즈", "주스", "커피", "설탕"]
    errors: list[BaseException] = []

    def add(item: str) -> None:
        try:
            assistant.ask(f"{item} 사야 해")
            assistant.ask("1분 타이머 맞춰줘")
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)

    threads = [threading.Thread(target=add, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(assistant.store.shopping_items()) == sorted(items)
    assert len(assistant.store.timers()) == len(items)
    assistant.close()


def test_store_rejects_bad_values(store_url: str) -> None:
    store = opened(store_url)
    with pytest.raises(AssistantError):
        store.add_timer(0, started_at=0.0)
    with pytest.raises(AssistantError):
        store.add_shopping_item("  ", added_at=0.0)
    for bad in ("계란\ud800", "계\x00란"):  # a lone surrogate, a NUL: the same error on both engines
        with pytest.raises(AssistantError, match="not valid text"):
            store.add_shopping_items(["빵", bad], added_at=0.0)
    assert store.add_shopping_item("우유", added_at=0.0)
    assert not store.add_shopping_item("우유", added_at=1.0)
    assert store.shopping_items() == ["우유"]
    store.close()


def test_store_rejects_bad_paths(tmp_path: Path) -> None:
    directory = tmp_path / "a_directory"
    directory.mkdir()
    with pytest.raises(AssistantError, match="cannot open"):
        SqliteStore(directory)


def test_default_store_lives_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORI_DATA_DIR", str(tmp_path / "data"))
    assistant = Assistant(clock=lambda: START)
    assert assistant.store.description == str(tmp_path / "data" / "assistant.sqlite3")
    assistant.ask("빵 사야 해")
    assert (tmp_path / "data" / "assistant.sqlite3").is_file()


def test_a_multi_item_add_is_one_transaction(store_url: str) -> None:
    store = opened(store_url)
    assert store.add_shopping_items(["우유", " 빵 ", "우유"], added_at=0.0) == ["우유", "빵"]
    assert store.add_shopping_items(["빵", "계란"], added_at=1.0) == ["계란"]
    with pytest.raises(AssistantError):
        store.add_shopping_items(["사과", " "], added_at=2.0)
    assert store.shopping_items() == ["우유", "빵", "계란"]
    store.close()


def test_due_timers_are_claimed_once_and_then_neither_listed_nor_cancellable(store_url: str) -> None:
    store, other = opened(store_url), opened(store_url)
    assert store.next_due_at() is None and store.claim_due_timers(now=1e9) == []
    short, long = store.add_timer(60, started_at=0.0), other.add_timer(600, started_at=0.0)
    assert (store.next_due_at(), other.next_due_at()) == (60.0, 60.0)
    assert store.claim_due_timers(now=59.0) == []
    claimed = other.claim_due_timers(now=61.5)
    assert claimed == [dataclasses.replace(short, announced_at=61.5)]
    assert store.claim_due_timers(now=61.5) == [] and other.claim_due_timers(now=62.0) == []
    assert store.timers() == other.timers() == [long] and store.next_due_at() == 600.0
    assert store.remove_timers([short.id]) == 0  # already rung: nothing to cancel
    assert other.remove_timers([long.id, long.id + 100]) == 1
    assert store.timers() == [] and store.next_due_at() is None
    store.close()
    other.close()


def test_concurrent_claims_give_each_timer_to_exactly_one_caller(store_url: str) -> None:
    """8 stores (as 8 servers) claim while 200 timers fall due: each is claimed exactly once."""
    seeding = opened(store_url)
    ids = [seeding.add_timer(1, started_at=float(i)).id for i in range(200)]
    stores = [opened(store_url) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    claimed: list[list[int]] = [[] for _ in stores]

    def claim(index: int) -> None:
        barrier.wait()
        for now in range(1, 202):
            claimed[index] += [timer.id for timer in stores[index].claim_due_timers(now=float(now))]

    threads = [threading.Thread(target=claim, args=(index,)) for index in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(timer_id for ids_ in claimed for timer_id in ids_) == ids
    for store in (seeding, *stores):
        store.close()


def test_concurrent_opens_migrate_once(store_url: str) -> None:
    """Servers starting together on a new database: every one opens it, each migration runs once."""
    barrier = threading.Barrier(6)
    stores: list[Store] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait()
            stores.append(opened(store_url))
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert applied_versions(store_url) == list(range(1, LATEST_VERSION + 1))
    assert stores[0].add_shopping_item("우유", added_at=0.0) and stores[-1].shopping_items() == ["우유"]
    for store in stores:
        store.close()


def applied_versions(url: str) -> list[int]:
    """The version of every row in the store's schema_migrations table, in order."""
    query = "SELECT version FROM schema_migrations ORDER BY version"
    if url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
            return [row[0] for row in connection.execute(query)]
    import psycopg

    with psycopg.connect(url) as connection:
        return [row[0] for row in connection.execute(query)]


def test_a_file_from_before_migrations_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    """A store written by the first release (schema version 1, no schema_migrations table)."""
    path = tmp_path / "old.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as old:
        old.executescript(
            "CREATE TABLE timers (id INTEGER PRIMARY KEY AUTOINCREMENT, duration_seconds INTEGER NOT NULL"
            " CHECK (duration_seconds > 0), started_at REAL NOT NULL, ends_at REAL NOT NULL);"
            "CREATE TABLE shopping_items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
            " added_at REAL NOT NULL);"
            "INSERT INTO timers (duration_seconds, started_at, ends_at) VALUES (60, 0, 60);"
            "INSERT INTO shopping_items (name, added_at) VALUES ('우유', 0);"
            "PRAGMA user_version = 1;"
        )
    store = SqliteStore(path)
    assert store.shopping_items() == ["우유"]
    assert [(t.duration_seconds, t.announced_at) for t in store.timers()] == [(60, None)]
    assert [t.id for t in store.claim_due_timers(now=60.0)] == [1]
    store.close()
    assert applied_versions(f"sqlite:///{path}") == list(range(1, LATEST_VERSION + 1))


def test_a_store_newer_than_this_code_is_refused(store_url: str) -> None:
    opened(store_url).close()
    statement = "INSERT INTO schema_migrations (version, description, applied_at) VALUES (99, 'future', 0)"
    if store_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(store_url.removeprefix("sqlite:///"))) as lite, lite:
            lite.execute(statement)
    else:
        import psycopg

        with psycopg.connect(store_url) as connection:
            connection.execute(statement)
    with pytest.raises(AssistantError, match="schema version 99, newer than this Sori"):
        opened(store_url)


@pytest.mark.parametrize(
    ("url", "shown", "hidden"),
    [("mysql://sori:hunter2@db/sori", "mysql://sori:***@db/sori", "hunter2"),
     ("postgresql://sori:hunter2@127.0.0.1:notaport/sori", "postgresql://sori:***@127.0.0.1:notaport/sori", "hunter2"),
     ("sqlite://", "sqlite://", "")],
)
def test_a_malformed_url_is_one_clear_error_without_the_password(url: str, shown: str, hidden: str) -> None:
    with pytest.raises(AssistantError) as raised:
        opened(url)
    assert shown in str(raised.value)
    assert not hidden or hidden not in str(raised.value)


def test_an_unreachable_database_is_one_clear_error(tmp_path: Path) -> None:
    closed_port = free_port()
    with pytest.raises(AssistantError, match=f"cannot open the assistant store postgresql://sori:\\*\\*\\*@127.0.0.1:{closed_port}/sori: .*refused") as raised:
        opened(f"postgresql://sori:hunter2@127.0.0.1:{closed_port}/sori")
    assert "hunter2" not in str(raised.value)


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another connection holding the file's write lock (as a busy process would) until it commits."""
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    blocker.execute("INSERT INTO shopping_items (name, added_at) VALUES ('사과', 0)")
    return blocker


def test_a_store_locked_past_its_timeout_is_unavailable_then_recovers(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path, timeout_seconds=0.25)
    store.add_shopping_item("우유", added_at=0.0)
    blocker = hold_write_lock(path)
    for write in (lambda: store.add_shopping_item("빵", added_at=1.0),
                  lambda: store.add_timer(60, started_at=0.0),
                  lambda: store.claim_due_timers(now=1e9)):
        began = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="unavailable: database is locked"):
            write()
        assert 0.2 <= time.monotonic() - began < 5.0  # waited its timeout, not 30 s nor forever
    assert store.shopping_items() == ["우유"]  # reads go on under the lock (WAL)
    blocker.execute("COMMIT")
    blocker.close()
    assert store.add_shopping_item("빵", added_at=2.0)
    assert store.shopping_items() == ["우유", "사과", "빵"]


def test_a_write_waiting_for_the_lock_delays_no_read(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path, timeout_seconds=20.0)
    blocker = hold_write_lock(path)
    waiting = threading.Thread(target=store.add_shopping_item, args=("빵", 1.0))
    waiting.start()
    while not store._write_lock.locked():  # the writer is inside SQLite's busy wait
        time.sleep(0.001)
    began = time.monotonic()
    assert store.shopping_items() == [] and store.timers() == []
    read_s = time.monotonic() - began
    blocker.execute("COMMIT")
    blocker.close()
    waiting.join(timeout=20.0)
    assert not waiting.is_alive()
    assert read_s < 2.0  # a read behind the writer would wait until the COMMIT above
    assert store.shopping_items() == ["사과", "빵"]


def test_a_closed_store_is_unavailable_and_closing_twice_is_harmless(store_url: str) -> None:
    store = opened(store_url)
    store.add_shopping_item("우유", added_at=0.0)
    store.close()
    store.close()
    for operation in (store.shopping_items, store.timers, store.next_due_at,
                      lambda: store.add_shopping_item("빵", added_at=1.0),
                      lambda: store.claim_due_timers(now=0.0)):
        with pytest.raises(StoreUnavailableError, match="closed"):
            operation()
    with contextlib.closing(opened(store_url)) as reopened:
        assert reopened.shopping_items() == ["우유"]


def test_a_busy_store_reaches_the_assistants_caller_as_unavailable(tmp_path: Path) -> None:
    """Skills let the error through, so the server can answer 503 (not 422, not 500)."""
    path = tmp_path / "s.sqlite3"
    assistant = Assistant(store_path=path, clock=lambda: START)
    assistant.store = SqliteStore(path, timeout_seconds=0.1)
    blocker = hold_write_lock(path)
    for utterance in ("빵 사야 해", "10분 타이머 맞춰줘"):
        with pytest.raises(StoreUnavailableError):
            assistant.ask(utterance)
    assert assistant.ask("장보기 목록 읽어줘").reply == "장보기 목록이 비어 있어요."  # reads go on
    assert assistant.ask("타이머 얼마나 남았어").reply == "실행 중인 타이머가 없어요."
    blocker.execute("ROLLBACK")
    blocker.close()
    assert assistant.ask("빵 사야 해").reply == "빵을 장보기 목록에 추가했어요."


WRITER = """
import sys, time
from pathlib import Path
from assistant.store import SqliteStore

path, writer, count, go = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.002)
store = SqliteStore(path)  # every process opens the file at once: WAL switch races too
taken = []
for i in range(count):
    store.add_shopping_item(f"p{writer}-{i}", added_at=float(i))
    store.add_timer(writer * 1000 + i + 1, started_at=1e6)
    taken += [timer.id for timer in store.claim_due_timers(now=float(i * 8 + writer + 1))]
print(*taken, flush=True)
"""


def finish(child: subprocess.Popen[str]) -> tuple[str, str]:
    """The child's stdout and stderr once it exits (read through the file objects, not
    communicate(): an earlier readline() may have buffered part of stdout)."""
    assert child.stdout is not None and child.stderr is not None
    with child.stdout, child.stderr:
        out, err = child.stdout.read(), child.stderr.read()
    child.wait(timeout=120)
    return out, err


def test_concurrent_writers_from_processes_and_threads_lose_nothing(tmp_path: Path) -> None:
    """8 processes x 50 and 16 threads x 25 items and timers, all writing at once; the processes
    also take 400 finished timers between them, each exactly once (a read-modify-write)."""
    path, go = tmp_path / "shared.sqlite3", tmp_path / "go"
    n_processes, per_process, n_threads, per_thread = 8, 50, 16, 25
    seeded = SqliteStore(path)
    finished = [seeded.add_timer(1, started_at=float(end - 1)).id for end in range(1, 401)]
    seeded.close()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(writer), str(per_process), str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for writer in range(n_processes)
    ]
    errors: list[BaseException] = []
    started = threading.Barrier(n_threads + 1)

    def write(writer: int) -> None:
        try:
            started.wait()
            while not go.exists():
                time.sleep(0.002)
            store = SqliteStore(path)
            for i in range(per_thread):
                store.add_shopping_item(f"t{writer}-{i}", added_at=float(i))
                store.add_timer(writer * 1000 + i + 1, started_at=2e6)
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(n_threads)]
    for thread in threads:
        thread.start()
    started.wait()
    for child in children:  # every child has imported the store: the writes will overlap
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
    go.touch()
    for thread in threads:
        thread.join()
    outputs = [finish(child) for child in children]
    assert errors == []
    assert [child.returncode for child in children] == [0] * n_processes, outputs
    assert all(stderr == "" for _, stderr in outputs), outputs
    taken = [int(timer_id) for stdout, _ in outputs for timer_id in stdout.split()]
    assert sorted(taken) == finished  # every finished timer taken, none by two processes

    store = SqliteStore(path)
    expected_items = [f"p{w}-{i}" for w in range(n_processes) for i in range(per_process)]
    expected_items += [f"t{w}-{i}" for w in range(n_threads) for i in range(per_thread)]
    assert sorted(store.shopping_items()) == sorted(expected_items)  # each exactly once
    expected_timers = [(1e6, w * 1000 + i + 1) for w in range(n_processes) for i in range(per_process)]
    expected_timers += [(2e6, w * 1000 + i + 1) for w in range(n_threads) for i in range(per_thread)]
    timers = store.timers()
    assert sorted((t.started_at, t.duration_seconds) for t in timers) == sorted(expected_timers)
    assert len({t.id for t in timers}) == len(timers) == 800


ITEMS_32 = ["우유", "사과", "배", "빵", "귤", "감자", "양파", "두부", "라면", "김치", "쌀", "버터",
            "치즈", "주스", "커피", "설탕", "소금", "계란", "당근", "오이", "호박", "마늘", "생강",
            "고추", "간장", "된장", "식초", "참기름", "국수", "만두", "떡", "김"]


@pytest.mark.anyio
async def test_concurrent_http_requests_all_land(test_voice_dir: Path, tmp_path: Path, store_url: str) -> None:
    """32 /assistant requests adding one item each, all in flight together, through the real app."""
    settings = make_settings(test_voice_dir, tmp_path, database_url=store_url)
    async with live_client(create_app(settings)) as http:
        responses = await asyncio.gather(*(
            http.post("/assistant", json={"text": f"{with_particle(item, '을/를')} 장보기 목록에 추가해줘"})
            for item in ITEMS_32
        ))
        # A lone surrogate (valid JSON, not valid Unicode) is a clear 422 that adds nothing.
        surrogate = json.dumps({"text": "사탕, \ud800빵 사야 해"}).encode()
        refused = await http.post("/assistant", content=surrogate, headers={"content-type": "application/json"})
        assert refused.status_code == 422 and "not valid text" in refused.json()["detail"]
    for item, response in zip(ITEMS_32, responses, strict=True):
        assert response.status_code == 200, response.text
        assert response.json()["reply"] == f"{with_particle(item, '을/를')} 장보기 목록에 추가했어요."
    with contextlib.closing(opened(store_url)) as store:
        assert sorted(store.shopping_items()) == sorted(ITEMS_32)


@pytest.mark.anyio
async def test_a_locked_store_is_a_503_with_retry_after_and_nothing_half_done(
    test_voice_dir: Path, tmp_path: Path
) -> None:
    """A store locked past its timeout answers 503 (retry is safe), and the next request succeeds."""
    settings = make_settings(test_voice_dir, tmp_path)
    app = create_app(settings)
    async with live_client(app) as http:
        app.state.assistant.store.close()
        app.state.assistant.store = SqliteStore(settings.assistant_store_path, timeout_seconds=0.25)
        blocker = hold_write_lock(settings.assistant_store_path)
        busy = await http.post("/assistant", json={"text": "우유를 장보기 목록에 추가해줘"})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
        assert busy.json() == {"detail": "the assistant's store is busy; try again shortly"}
        blocker.execute("COMMIT")
        blocker.close()
        retried = await http.post("/assistant", json={"text": "우유를 장보기 목록에 추가해줘"})
        assert retried.status_code == 200, retried.text
    # The blocker's own item and one 우유: the refused attempt left nothing behind.
    assert sorted(SqliteStore(settings.assistant_store_path).shopping_items()) == ["사과", "우유"]


@pytest.mark.parametrize(
    "command",
    [["ask", "안녕"], ["serve", "--port", "0"], ["wyoming", "--uri", "tcp://127.0.0.1:0"]],
    ids=["ask", "serve", "wyoming"],
)
def test_the_commands_refuse_an_unreachable_database_in_one_line(
    command: list[str], test_voice_dir: Path, tmp_path: Path
) -> None:
    url = f"postgresql://sori:hunter2@127.0.0.1:{free_port()}/sori"
    voice = [] if command[0] == "ask" else ["--voice", str(test_voice_dir), "--device", "cpu"]
    result = subprocess.run(
        [sys.executable, "-m", "sori", *command, *voice, "--database-url", url],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "SORI_DATA_DIR": str(tmp_path), "SORI_WARMUP": "false"},
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"sori {command[0]}: cannot open the assistant store postgresql://sori:***@")
    assert "hunter2" not in result.stderr + result.stdout


def test_a_postgresql_url_without_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """psycopg is the postgres extra: without it a PostgreSQL URL is one clear error, password hidden."""
    monkeypatch.setitem(sys.modules, "assistant.store.postgres", None)  # importing it now fails
    with pytest.raises(AssistantError, match=r"sori\[postgres\]") as error:
        open_store("postgresql://sori:secret@127.0.0.1:1/sori", tmp_path / "unused.sqlite3")
    assert "secret" not in str(error.value)
