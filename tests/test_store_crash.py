"""A process killed with SIGKILL in the middle of a store operation leaves a consistent SQLite file.

A child process loops over two multi-statement operations, each big enough to take milliseconds:
adding a group of shopping items in one call, and claiming (select + update) a group of due
timers. It logs "start k" / "done k" around operation k; the test kills it at a random moment.
Afterwards the file must pass `PRAGMA integrity_check`, every group must be wholly present or
wholly absent (no half-applied operation), operations logged done must be there, and the store
must keep working.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import AssistantError, StoreUnavailableError
from assistant.store import SqliteStore

TRIALS = 8
GROUP_SIZE = 500
TIMER_GROUPS = 60

CHILD = """
import sys
from pathlib import Path
from assistant import AssistantError
from assistant.store import SqliteStore

store, size = SqliteStore(Path(sys.argv[1])), int(sys.argv[2])
print("ready", flush=True)
op = 0
while True:
    group = op // 2 + 1
    print(f"start {op}", flush=True)
    if op % 2 == 0:
        store.add_shopping_items([f"g{group}-{i}" for i in range(size)], added_at=float(group))
    else:
        store.claim_due_timers(now=float(group))
    print(f"done {op}", flush=True)
    op += 1
"""


def seed_finished_timers(path: Path) -> None:
    """TIMER_GROUPS groups of GROUP_SIZE timers, group g ending at POSIX time g.

    Written with one SQL statement rather than 30,000 add_timer calls (one transaction each)."""
    SqliteStore(path).close()  # creates the schema
    rows = [(1, group - 1.0, float(group)) for group in range(1, TIMER_GROUPS + 1) for _ in range(GROUP_SIZE)]
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO timers (duration_seconds, started_at, ends_at) VALUES (?, ?, ?)", rows
        )
    connection.close()


def kill_mid_operation(path: Path, target_op: int, delay_s: float) -> tuple[int, set[int]]:
    """Run the child until it logs the start of operation `target_op`, wait delay_s, SIGKILL it
    -> (ops started, ops logged done).

    The kill is placed by operation, not by time since start: on a fast machine a timed kill
    could come after the child had taken every seeded timer, on a slow one before it did much."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(GROUP_SIZE)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    first = [child.stdout.readline(), child.stdout.readline()]
    assert first == ["ready\n", "start 0\n"], child.stderr.read()
    while first[-1] != f"start {target_op}\n":
        line = child.stdout.readline()
        assert line, child.stderr.read()
        first.append(line)
    time.sleep(delay_s)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    lines = first + child.stdout.read().splitlines()  # not communicate(): readline() buffers
    child.stdout.close()
    assert child.stderr.read() == ""
    child.stderr.close()
    started = sum(line.startswith("start ") for line in lines)
    done = {int(line.split()[1]) for line in lines if line.startswith("done ")}
    return started, done


def group_counts(connection: sqlite3.Connection) -> tuple[dict[int, int], dict[int, int]]:
    """Per group: how many of its shopping items and how many of its unclaimed timers are in the file."""
    items: dict[int, int] = {}
    for (name,) in connection.execute("SELECT name FROM shopping_items"):
        group = int(name[1:].split("-")[0])
        items[group] = items.get(group, 0) + 1
    timers = dict(connection.execute(
        "SELECT CAST(ends_at AS INTEGER), COUNT(*) FROM timers WHERE announced_at IS NULL GROUP BY 1"
    ))
    return items, timers


def test_sigkill_mid_operation_leaves_every_operation_all_or_nothing(tmp_path: Path) -> None:
    schedule = random.Random(8)
    interrupted = 0
    for trial in range(TRIALS):
        path = tmp_path / f"trial{trial}.sqlite3"
        seed_finished_timers(path)
        # Operations 0..99 of the 2 * TIMER_GROUPS that have timers to take, killed within ~1 ms
        # of the chosen one's start: usually inside it (each takes milliseconds).
        started, done = kill_mid_operation(path, schedule.randrange(100), schedule.uniform(0.0, 0.001))
        assert started >= 1
        interrupted += started - len(done)

        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            items, timers = group_counts(connection)
        connection.close()
        added_groups = sorted(items)
        taken_groups = [g for g in range(1, TIMER_GROUPS + 1) if g not in timers]
        # All or nothing: each group whole or absent, applied in order, with nothing else touched.
        assert set(items.values()) <= {GROUP_SIZE}
        assert added_groups == list(range(1, len(added_groups) + 1))
        assert set(timers.values()) == {GROUP_SIZE}
        assert taken_groups == list(range(1, len(taken_groups) + 1))
        # Exactly the operations logged done, plus possibly the one in flight, took effect.
        applied = 2 * len(added_groups) - 1 if len(added_groups) > len(taken_groups) else 2 * len(taken_groups)
        assert set(range(applied)) >= done
        assert applied - len(done) in (0, 1) and applied <= started

        store = SqliteStore(path)
        assert store.add_shopping_item("우유", added_at=0.0)
        timer = store.add_timer(60, started_at=-1000.0)  # finished before any seeded timer
        assert [t.id for t in store.claim_due_timers(now=0.0)] == [timer.id]
        assert len(store.timers()) == sum(timers.values())
        assert store.shopping_items()[-1] == "우유"
        store.close()
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        connection.close()
    assert interrupted >= TRIALS // 2, "the kills should mostly land inside an operation"


def test_an_error_inside_an_operation_rolls_it_back(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    store.add_shopping_items(["우유"], added_at=0.0)
    # "빵" is inserted first; the lone surrogate then fails to encode inside the same transaction.
    with pytest.raises(AssistantError, match="not valid text"):
        store.add_shopping_items(["빵", "계란\ud800"], added_at=1.0)
    assert store.shopping_items() == ["우유"]
    assert store.add_shopping_items(["빵"], added_at=2.0) == ["빵"]


def test_a_full_disk_mid_operation_is_unavailable_rolls_back_and_recovers(tmp_path: Path) -> None:
    """SQLITE_FULL half-way through a multi-item add (the file may not grow, as on a full disk):
    a typed error, nothing of the operation written, and the store works once there is room."""
    store = SqliteStore(tmp_path / "s.sqlite3")
    store.add_shopping_items(["우유"], added_at=0.0)
    writer = store._writer  # the limit is per connection: set on the one that writes
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    writer.execute(f"PRAGMA max_page_count = {pages + 2}")
    many = [f"{i:04d}-" + "빵" * 100 for i in range(200)]
    with pytest.raises(StoreUnavailableError, match="unavailable: database or disk is full"):
        store.add_shopping_items(many, added_at=1.0)
    assert store.shopping_items() == ["우유"]
    assert store.add_shopping_item("계란", added_at=2.0)  # a small write still fits
    writer.execute(f"PRAGMA max_page_count = {2**30}")
    assert store.add_shopping_items(many, added_at=3.0) == many
    assert store.shopping_items() == ["우유", "계란", *many]
    store.close()
