"""`python -m bench.store_replicas`: two `sori serve` on one throwaway PostgreSQL, the issue's bars.

1. writes: 64 concurrent adds to the shopping list, split between the two servers; then each
   server reads the list back (`장보기 목록 읽어줘`) and must list all 64, each once.
2. timers: 10 timers of 2-4 s started alternately through the two servers, both servers' event
   streams read; counts the `timer-finished` events over both (must be exactly 10, each id once)
   and each one's lateness (its arrival at the client minus its due time).
3. faults: 4 clients add items through both servers while PostgreSQL is stopped (`pg_ctl stop -m
   immediate`, a crash) for 5 s and started again; counts the answers by status, the time from the
   restart to each server's first 200, and the acknowledged items missing from the database.

The cluster comes from tests/postgres_support.py (Debian's postgresql package; a temporary
directory owned by `postgres`, 127.0.0.1 only, removed afterwards). Results go to
bench/STORE_RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from assistant.particles import with_particle
from bench.report import Table, machine_summary, write_results
from bench.served import Served, served
from bench.voice import bench_voice
from tests.postgres_support import PostgresCluster, postgres_bin_dir

RESULTS = Path(__file__).resolve().parent / "STORE_RESULTS.md"
ITEMS = [first + second for first in "가나다라마바사아자차카타파하" for second in "미리수노루토"][:64]
TIMER_SECONDS = [2, 3, 4, 2, 3, 4, 2, 3, 4, 3]
DOWN_SECONDS = 5.0
LOAD_CLIENTS = 4
TIMEOUT = httpx.Timeout(120.0)


def add_text(item: str) -> str:
    """The utterance that adds `item` to the shopping list."""
    return f"{with_particle(item, '을/를')} 장보기 목록에 추가해줘"


def listed_items(reply: str) -> list[str]:
    """The items of a `장보기 목록에 A, B와 C가 있어요.` reply, in order."""
    match = re.fullmatch(r"장보기 목록에 (.+)[이가] 있어요\.", reply)
    if match is None:
        raise ValueError(f"not a shopping-list reply: {reply!r}")
    *most, last_two = match.group(1).split(", ")
    return [*most, *re.split(r"(?<=[가-힣])(?:와|과) ", last_two, maxsplit=1)]


def measure_writes(servers: list[Served]) -> Table:
    """64 concurrent adds split between the servers, then read back through each."""
    table = Table("64 concurrent adds through two servers, read back through each",
                  ["server", "adds answered 200", "items read back", "each once", "all 64 present"])
    statuses: list[tuple[int, int]] = []

    def add(index: int, item: str) -> None:
        response = httpx.post(f"{servers[index % 2].base_url}/assistant", json={"text": add_text(item)},
                              timeout=TIMEOUT)
        statuses.append((index % 2, response.status_code))

    threads = [threading.Thread(target=add, args=(index, item)) for index, item in enumerate(ITEMS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    for index, server in enumerate(servers):
        reply = httpx.post(f"{server.base_url}/assistant", json={"text": "장보기 목록 읽어줘"},
                           timeout=TIMEOUT).json()["reply"]
        items = listed_items(reply)
        ok = sum(1 for who, status in statuses if who == index and status == 200)
        table.add(f"server {index + 1}", ok, len(items), len(items) == len(set(items)),
                  sorted(items) == sorted(ITEMS))
    table.notes.append(f"64 adds in flight together (threads), all answered in {seconds:.1f} s.")
    return table


@dataclass
class EventLog:
    """timer-finished events read from one server's stream, with their arrival times."""

    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    connected: threading.Event = field(default_factory=threading.Event)


def read_events(base_url: str, log: EventLog, stop: threading.Event) -> None:
    """Record the stream's timer-finished events until `stop` is set (checked at each line)."""
    with httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as client, \
            client.stream("GET", f"{base_url}/assistant/events") as response:
        name, data = "", ""
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line.startswith(":"):
                log.connected.set()
            elif line.startswith("event:"):
                name = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                data += line.partition(":")[2].strip()
            elif not line and data:
                if name == "timer-finished":
                    log.events.append((time.time(), json.loads(data)))
                name, data = "", ""


def measure_timers(servers: list[Served]) -> Table:
    """10 timers of 2-4 s through both servers; the events over both streams and their lateness."""
    table = Table("10 timers of 2-4 s started across two servers",
                  ["timer", "started through", "duration s", "announced by", "late s"])
    logs = [EventLog(), EventLog()]
    stop = threading.Event()
    readers = [threading.Thread(target=read_events, args=(server.base_url, log, stop), daemon=True)
               for server, log in zip(servers, logs, strict=True)]
    for reader in readers:
        reader.start()
    for log in logs:
        log.connected.wait(60)
    started_through: dict[int, int] = {}
    for index, seconds in enumerate(TIMER_SECONDS):
        reply = httpx.post(f"{servers[index % 2].base_url}/assistant", json={"text": f"{seconds}초 타이머 맞춰줘"},
                           timeout=TIMEOUT).json()["reply"]
        assert reply == f"{seconds}초 타이머를 시작했어요.", reply
        started_through[index] = index % 2 + 1
    deadline = time.monotonic() + 30.0  # every timer is due within ~5 s of the last start
    while time.monotonic() < deadline and sum(len(log.events) for log in logs) < len(TIMER_SECONDS):
        time.sleep(0.1)
    time.sleep(3.0)  # let any duplicate arrive before counting
    stop.set()
    heard = sorted(((arrived, data, server + 1) for server, log in enumerate(logs) for arrived, data in log.events),
                   key=lambda entry: entry[1]["id"])
    late = []
    for arrived, data, server in heard:
        lateness = arrived - datetime.fromisoformat(data["due_at"]).timestamp()
        late.append(lateness)
        # The database is new: the timers got ids 1, 2, … in the order they were started.
        table.add(data["id"], f"server {started_through.get(data['id'] - 1, '?')}", data["duration_seconds"],
                  f"server {server}", f"{lateness:.2f}")
    ids = [data["id"] for _, data, _ in heard]
    table.notes.append(f"timer-finished events over both streams: {len(heard)} (expected {len(TIMER_SECONDS)}); "
                       f"distinct ids: {len(set(ids))}; announced by server 1: "
                       f"{sum(1 for *_, s in heard if s == 1)}, by server 2: {sum(1 for *_, s in heard if s == 2)}.")
    if late:
        table.notes.append(f"lateness (arrival at the client minus due time): max {max(late):.2f} s, "
                           f"mean {sum(late) / len(late):.2f} s; bar: each within 1.5 s.")
    table.notes.append("Each announcement is synthesised (base64 WAV in the event) before it is sent, "
                       "so the lateness includes one synthesis.")
    return table


def measure_faults(servers: list[Served], cluster: PostgresCluster, url: str) -> Table:
    """Adds from 4 clients while PostgreSQL is down for 5 s; statuses, recovery, lost items."""
    import psycopg

    table = Table(f"PostgreSQL stopped for {DOWN_SECONDS:g} s under load (pg_ctl stop -m immediate)",
                  ["phase", "requests", "200", "503 with Retry-After", "other"])
    stop = threading.Event()
    lock = threading.Lock()
    phase = {"name": "before"}
    counts: dict[str, Counter[str]] = {name: Counter() for name in ("before", "down", "after")}
    acknowledged: list[str] = []
    first_ok_after: dict[int, float] = {}
    restarted_at = {"t": 0.0}

    def load(client_index: int) -> None:
        server_index = client_index % 2
        with httpx.Client(base_url=servers[server_index].base_url, timeout=TIMEOUT) as client:
            count = 0
            while not stop.is_set():
                item = f"{'가나다라'[client_index]}상품{count}"
                count += 1
                current = phase["name"]
                response = client.post("/assistant", json={"text": add_text(item)})
                kind = ("200" if response.status_code == 200 else
                        "503" if response.status_code == 503 and "retry-after" in response.headers else
                        str(response.status_code))
                with lock:
                    counts[current][kind] += 1
                    if kind == "200":
                        acknowledged.append(item)
                        if current == "after" and server_index not in first_ok_after:
                            first_ok_after[server_index] = time.monotonic() - restarted_at["t"]

    threads = [threading.Thread(target=load, args=(index,), daemon=True) for index in range(LOAD_CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(5.0)
    cluster.stop("immediate")
    phase["name"] = "down"
    time.sleep(DOWN_SECONDS)
    cluster.start()
    restarted_at["t"] = time.monotonic()
    phase["name"] = "after"
    deadline = time.monotonic() + 120.0
    while len(first_ok_after) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(3.0)
    stop.set()
    for thread in threads:
        thread.join(180)
    with psycopg.connect(url) as connection:
        stored = {row[0] for row in connection.execute("SELECT name FROM shopping_items")}
    for name in ("before", "down", "after"):
        other = sum(value for key, value in counts[name].items() if key not in ("200", "503"))
        table.add(name, sum(counts[name].values()), counts[name]["200"], counts[name]["503"], other)
    lost = [item for item in acknowledged if item not in stored]
    recovery = ", ".join(f"server {index + 1}: {seconds:.2f} s" for index, seconds in sorted(first_ok_after.items()))
    table.notes.append(f"first 200 after the restart (time from pg_ctl start returning): {recovery or 'never'}.")
    table.notes.append(f"acknowledged (200) adds: {len(acknowledged)}; missing from the database: {len(lost)}.")
    table.notes.append("Requests are counted by the phase in which they were sent ('down': while the "
                       "database was stopped): one sent just before the stop can be answered 503 after it.")
    return table


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements and write bench/STORE_RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file (Markdown)")
    args = parser.parse_args(argv)
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        print("bench.store_replicas: needs Debian's postgresql package (apt-get install postgresql)",
              file=sys.stderr)
        return 2
    cluster = PostgresCluster.create(bin_dir)
    try:
        url = cluster.new_database()
        with tempfile.TemporaryDirectory(prefix="sori-store-bench-") as scratch:
            workdir = Path(scratch)
            voice, voice_note = bench_voice(workdir)
            for name in ("a", "b"):
                (workdir / name).mkdir()
            settings = {"database_url": url, "store_timeout_s": "2"}
            with served(voice, workdir / "a", settings) as first, served(voice, workdir / "b", settings) as second:
                servers = [first, second]
                tables = [measure_writes(servers), measure_timers(servers), measure_faults(servers, cluster, url)]
            for table in tables:
                table.notes.append(f"Voice: {voice_note}; two `sori serve` processes on one CPU machine; "
                                   "PostgreSQL: a throwaway cluster on 127.0.0.1 (fsync off).")
    finally:
        cluster.remove()
    for table in tables:
        print(table.text())
    write_results(args.out, "`python -m bench.store_replicas`", machine_summary(), tables,
                  heading="# Sori: two servers on one PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
