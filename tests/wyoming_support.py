"""Helpers for the Wyoming tests: `sori wyoming` as a subprocess, and a client conversation with
the `wyoming` package's own AsyncTcpClient."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from wyoming.audio import AudioChunk
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info

from tests.server_support import free_port

READ_TIMEOUT_S = 120.0
"""Generous on purpose: a busy machine may be slow, and no test measures speed."""


def client(port: int) -> AsyncTcpClient:
    """A Wyoming client for the server on 127.0.0.1:port (each read waits READ_TIMEOUT_S at most)."""
    return AsyncTcpClient("127.0.0.1", port, connect_timeout=30, read_timeout=READ_TIMEOUT_S)


async def read_until(connection: AsyncTcpClient, last: Callable[[Event], bool]) -> list[Event]:
    """Events up to and including the first for which `last` holds; fails if the server hangs up."""
    events: list[Event] = []
    while True:
        event = await connection.read_event()
        if event is None:
            pytest.fail(f"the server closed the connection after {[e.type for e in events]}")
        events.append(event)
        if last(event):
            return events


async def exchange(port: int, requests: Sequence[Event], last: Callable[[Event], bool]) -> list[Event]:
    """Send `requests` on a new connection and read the answer up to the event `last` accepts."""
    async with client(port) as connection:
        for request in requests:
            await connection.write_event(request)
        return await read_until(connection, last)


def is_type(*types: str) -> Callable[[Event], bool]:
    """A `last` predicate: the event is one of `types`."""
    return lambda event: event.type in types


def samples(events: Sequence[Event]) -> int:
    """Total 16-bit mono samples in the audio-chunk events."""
    chunks = [AudioChunk.from_event(event) for event in events if AudioChunk.is_type(event.type)]
    return sum(chunk.samples for chunk in chunks)


async def describe(port: int) -> Info:
    """The server's `info`."""
    events = await exchange(port, [Describe().event()], is_type("info"))
    return Info.from_event(events[-1])


def wait_until_serving(process: subprocess.Popen[str], port: int, log: Path, timeout_s: float = 120.0) -> None:
    """Poll with `describe` until the server answers; fails if it exits first or never answers."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            pytest.fail(f"sori wyoming exited early with {process.returncode}:\n{log.read_text()}")
        try:
            asyncio.run(asyncio.wait_for(describe(port), timeout=10))
            return
        except (TimeoutError, OSError):
            if time.monotonic() > deadline:
                pytest.fail(f"sori wyoming did not answer describe:\n{log.read_text()}")
            time.sleep(0.2)


@contextmanager
def sori_wyoming(voice: Path, data_dir: Path, log: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`sori wyoming --voice VOICE` on a free port of 127.0.0.1; yields (process, port) once it answers."""
    port = free_port()
    environment = dict(os.environ, SORI_DATA_DIR=str(data_dir), SORI_WARMUP="false")
    command = [sys.executable, "-m", "sori", "wyoming", "--uri", f"tcp://127.0.0.1:{port}",
               "--voice", str(voice), "--device", "cpu", *args]
    with log.open("w") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_serving(process, port, log)
        yield process, port
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
