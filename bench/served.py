"""`sori serve` as a child process on a free loopback port, for the serving benchmarks.

`served(...)` starts it with the given SORI_* settings, waits until /readyz answers 200, yields
a handle (base URL, pid, resident memory, queue depth), and on exit sends SIGTERM and records
how the server ended (its exit code and how long the drain took).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
READY_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 60.0


class ServeError(RuntimeError):
    """`sori serve` could not be started or did not become ready; the message ends with its log."""


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def resident_bytes(pid: int) -> int:
    """The process's resident set size (VmRSS), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ServeError(f"no VmRSS for process {pid}")


@dataclass
class Served:
    """A running `sori serve`: where it listens and how it ended once stopped."""

    base_url: str
    process: subprocess.Popen[bytes]
    log: Path
    exit_code: int | None = None
    stop_seconds: float | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    def rss_bytes(self) -> int:
        """The server's resident memory now."""
        return resident_bytes(self.pid)

    def readiness(self) -> dict[str, object]:
        """The /readyz body (queue_depth among it); raises ServeError when not ready."""
        import httpx

        response = httpx.get(f"{self.base_url}/readyz", timeout=10.0)
        if response.status_code != 200:
            raise ServeError(f"/readyz answered {response.status_code}: {response.text[:200]}")
        body: dict[str, object] = response.json()
        return body

    def queue_depth(self) -> int:
        """Requests waiting in the inference queue, as /readyz reports it."""
        return int(str(self.readiness()["queue_depth"]))

    def log_tail(self, chars: int = 600) -> str:
        """The end of the server's log."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def _wait_ready(served: Served) -> None:
    import httpx

    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise ServeError(f"sori serve exited with code {served.process.returncode}: "
                             f"{served.log_tail()!r}")
        try:
            if httpx.get(f"{served.base_url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ServeError(f"sori serve was not ready after {READY_TIMEOUT_S:.0f} s: {served.log_tail()!r}")


def _stop(served: Served) -> None:
    """SIGTERM, then wait for the drain; kill only if it overruns."""
    process = served.process
    if process.poll() is not None:
        served.exit_code = process.returncode
        return
    started = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    try:
        served.exit_code = process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        served.exit_code = process.wait(timeout=10)
    served.stop_seconds = time.perf_counter() - started


@contextmanager
def served(
    voice_dir: Path, workdir: Path, settings: Mapping[str, str] | None = None, options: Sequence[str] = (),
) -> Iterator[Served]:
    """Run `sori serve --voice voice_dir [options]` with SORI_* settings (names without the prefix),
    in a session of its own (a signal for this process group does not reach it or its children)."""
    script = Path(sys.executable).with_name("sori")
    # Without the console script (Sori on PYTHONPATH only), the same CLI as a module.
    sori = [str(script)] if script.exists() else [sys.executable, "-m", "sori"]
    port = free_port()
    env = dict(os.environ, SORI_LOG_LEVEL="warning", SORI_DEVICE="cpu", SORI_DATA_DIR=str(workdir / "data"))
    env.update({f"SORI_{key.upper()}": value for key, value in (settings or {}).items()})
    log = workdir / f"serve-{port}.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [*sori, "serve", "--host", HOST, "--port", str(port), "--voice", str(voice_dir), *options],
            stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
        handle = Served(f"http://{HOST}:{port}", process, log)
        try:
            _wait_ready(handle)
            yield handle
        finally:
            _stop(handle)
