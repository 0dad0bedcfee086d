"""A real, throwaway PostgreSQL for the tests: Debian's `postgresql` package, a cluster made by
initdb in a temporary directory owned by an unprivileged user (`postgres` when the tests run as
root, else the user running them), listening on 127.0.0.1 only on a free port, removed afterwards.

Without the package the tests that need it skip, naming why; with CI=true or
SORI_REQUIRE_POSTGRES=1 in the environment (`.ci/run` sets the latter) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import pytest

from tests.server_support import free_port

SUPERUSER = "sori"
"""The cluster's superuser, trusted from 127.0.0.1 without a password."""


def postgres_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl, if any."""
    candidates = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")
                  if (path.parent / "pg_ctl").exists()]
    candidates.sort(key=lambda bin_dir: int(bin_dir.parent.name) if bin_dir.parent.name.isdigit() else 0)
    return candidates[-1] if candidates else None


def postgres_required() -> bool:
    """Whether a missing PostgreSQL fails the tests instead of skipping them."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("SORI_REQUIRE_POSTGRES") == "1"


def missing(reason: str) -> None:
    """Skip the calling test for `reason`, or fail it where PostgreSQL is required."""
    message = f"PostgreSQL tests need Debian's postgresql package: {reason}"
    if postgres_required():
        pytest.fail(message + " (required here: CI=true or SORI_REQUIRE_POSTGRES=1)")
    pytest.skip(message)


def _owner_command(command: list[str]) -> list[str]:
    """`command` as run by the cluster's owner: the postgres user when we are root (PostgreSQL
    refuses to run as root), else ourselves."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass
class PostgresCluster:
    """One running throwaway cluster; `url(database)` to reach it, `stop`/`start` to fault it."""

    bin_dir: Path
    root: Path
    port: int = field(default_factory=free_port)
    _databases: count[int] = field(default_factory=lambda: count(1))

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.root / "data"

    @classmethod
    def create(cls, bin_dir: Path) -> PostgresCluster:
        """initdb a new cluster in a fresh temporary directory and start it."""
        root = Path(tempfile.mkdtemp(prefix="sori-postgres-"))
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        cluster = cls(bin_dir, root)
        try:
            cluster._run(["initdb", "-D", str(cluster.data_dir), "-U", SUPERUSER, "--auth=trust",
                          "-E", "UTF8", "--locale=C", "--no-sync"])
            for attempt in range(3):  # the free port may be taken by someone else meanwhile
                try:
                    cluster.start()
                    break
                except RuntimeError:
                    if attempt == 2:
                        raise
                    cluster.port = free_port()
        except BaseException:
            cluster.remove()
            raise
        return cluster

    def _run(self, command: list[str]) -> None:
        """Run one of the cluster's programs as its owner; fails the test with its output."""
        program = [str(self.bin_dir / command[0]), *command[1:]]
        result = subprocess.run(_owner_command(program), capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}{tail}")

    def start(self) -> None:
        """Start the server on 127.0.0.1:port (sockets in its own directory) and wait until it
        accepts connections."""
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root} "
                   "-c fsync=off -c max_connections=200")
        self._run(["pg_ctl", "-D", str(self.data_dir), "-l", str(self.root / "server.log"),
                   "-o", options, "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` disconnects clients cleanly, `immediate` is a crash."""
        self._run(["pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop"])

    def running(self) -> bool:
        """Whether the server is up."""
        program = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"]
        return subprocess.run(_owner_command(program), capture_output=True, timeout=60).returncode == 0

    def url(self, database: str = "postgres") -> str:
        """The URL of `database` on this cluster."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database; its URL."""
        import psycopg

        name = f"test_{next(self._databases)}_{time.monotonic_ns()}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        """Stop the server if it runs and delete the cluster's directory."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def create_cluster() -> PostgresCluster:
    """A new running cluster, or skip/fail (see `missing`) when the package is absent."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        missing("no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)")
    assert bin_dir is not None
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing("running as root and runuser is missing")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("the psycopg package is not installed")
    return PostgresCluster.create(bin_dir)
