"""The processes of a local Ray cluster, read from /proc: what it runs and where it listens."""

from __future__ import annotations

import os
from pathlib import Path

from bench.processes import descendants

RAY_ENV = ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_USAGE_STATS_ENABLED",
           "RAY_SERVE_USE_GRPC_BY_DEFAULT")


def listening_addresses(pids: set[int]) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp* writes them) where these processes listen."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                addresses.add(fields[1].split(":")[0])
    return addresses


def is_loopback(hex_address: str) -> bool:
    """127.0.0.0/8, ::1 or ::ffff:127.x in /proc/net's little-endian hex."""
    if len(hex_address) == 8:
        return hex_address.endswith("7F")
    return hex_address in ("00000000000000000000000001000000",) or (
        hex_address.startswith("0000000000000000FFFF0000") and hex_address.endswith("7F"))


def command_line(pid: int) -> str:
    """A process's command line (Ray workers show their actor there), '' once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def is_running(pid: int) -> bool:
    """Whether `pid` is alive and not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


RAY_MARKERS = ("ray::", "/ray/", "raylet", "gcs_server")
"""Words that appear in the command line of every process a Ray cluster starts."""


def ray_descendants(pid: int) -> set[int]:
    """The processes below `pid` that belong to a Ray cluster (not, say, the multiprocessing
    resource tracker or a plotting process that other tests in the session started)."""
    return {child for child in descendants(pid) if any(m in command_line(child) for m in RAY_MARKERS)}
