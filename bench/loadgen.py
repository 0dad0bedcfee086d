"""A bounded async load generator for `sori serve`: closed-loop clients that ramp up, mix routes, stop.

Client k (of `clients`) starts at k * ramp_s / clients and then sends one request after another
until the run's time is up or the shared request budget is spent, so at most `clients` requests
are ever in flight and the run ends by itself. A 503 with Retry-After whose detail says the queue
is full is the server's designed refusal: the client counts it and waits that long (capped) before
its next request. Every other answer that is not 2xx is an error, and so is an /assistant 200
whose reply could not be spoken (X-Sori-Audio-Status other than ok or none): its synthesis failed.
Only loopback addresses are accepted.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from bench.voice import sentence

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_RETRY_WAIT_S = 2.0
"""Longest a client honours Retry-After, so a run still ends near its deadline."""
QUEUE_FULL_MARK = "queue is full"
"""In the detail of the server's designed 503 (server.errors.QueueFullError), and in no other."""
SPOKEN_STATUSES = frozenset({"ok", "none"})
"""X-Sori-Audio-Status values of an /assistant answer whose reply was spoken or had nothing to say."""
UNSPOKEN = -2
"""Status recorded for an /assistant 200 whose reply could not be spoken."""

ASSISTANT_UTTERANCES = (
    "지금 몇 시야?",
    "오늘 며칠이야?",
    "오늘 무슨 요일이야?",
    "지금 시간 알려줘",
)
"""Requests the assistant answers with speech and without changing its store."""


@dataclass(frozen=True)
class Call:
    """One HTTP request the generator sends: route label, path and JSON body."""

    route: str
    path: str
    body: dict[str, object]


def mixed_call(index: int) -> Call:
    """The index-th request of the standard mix: /speak, /assistant and the OpenAI route in turn."""
    kind = index % 3
    if kind == 0:
        return Call("/speak", "/speak", {"text": sentence(index)})
    if kind == 1:
        return Call("/assistant", "/assistant", {"text": ASSISTANT_UTTERANCES[index // 3 % 4]})
    return Call("/v1/audio/speech", "/v1/audio/speech",
                {"model": "sori", "input": sentence(index), "voice": "alloy", "response_format": "wav"})


@dataclass(frozen=True)
class LoadPlan:
    """How hard and how long to push: clients reached after ramp_s, the whole run's length."""

    clients: int = 64
    ramp_s: float = 20.0
    duration_s: float = 60.0
    max_requests: int | None = None
    """Stop after this many requests in all (None: only the duration bounds the run)."""
    request_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if self.clients < 1 or self.ramp_s < 0 or self.duration_s <= 0 or self.request_timeout_s <= 0:
            raise ValueError("clients >= 1, ramp_s >= 0, duration_s > 0 and request_timeout_s > 0")
        if self.max_requests is not None and self.max_requests < 1:
            raise ValueError("max_requests must be >= 1 when given")


@dataclass(frozen=True)
class Outcome:
    """What one request got: its status (0: no HTTP answer), latency and whether the 503 was designed."""

    route: str
    status: int
    """The HTTP status; 0 when no HTTP answer came, UNSPOKEN for an /assistant reply left silent."""
    latency_s: float
    finished_at: float
    """Seconds since the run started."""
    designed: bool = False
    """A 503 with Retry-After saying the queue was full: refused as designed."""


@dataclass
class LoadReport:
    """Every outcome of a run, with the wall time it took."""

    outcomes: list[Outcome] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def statuses(self) -> Counter[int]:
        """Count of each status (0: no HTTP answer; UNSPOKEN: an /assistant reply left silent)."""
        return Counter(outcome.status for outcome in self.outcomes)

    @property
    def served(self) -> int:
        """Requests answered 2xx."""
        return sum(1 for outcome in self.outcomes if 200 <= outcome.status < 300)

    @property
    def designed_rejections(self) -> int:
        """503s with Retry-After: the queue was full."""
        return sum(1 for outcome in self.outcomes if outcome.designed)

    @property
    def errors(self) -> Counter[int]:
        """Everything neither 2xx nor a designed 503, by status."""
        return Counter(o.status for o in self.outcomes if not (200 <= o.status < 300 or o.designed))

    def latencies(self, route: str | None = None) -> list[float]:
        """Latencies of 2xx answers, of one route or all."""
        return [o.latency_s for o in self.outcomes
                if 200 <= o.status < 300 and (route is None or o.route == route)]

    def routes(self) -> list[str]:
        """Routes that were called, in first-seen order."""
        return list(dict.fromkeys(outcome.route for outcome in self.outcomes))


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty sequence."""
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


def check_loopback(base_url: str) -> None:
    """Refuse anything but a loopback address: this tool must never load someone else's server."""
    host = urlsplit(base_url).hostname or ""
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"the load generator only targets loopback addresses, not {host!r}")


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds, when present and a number."""
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def classify(response: httpx.Response) -> tuple[int, bool, float]:
    """(status to record, whether it is a designed refusal, seconds to wait before the next call)."""
    status = response.status_code
    retry = _retry_after(response)
    if status == 503 and retry is not None:
        try:
            detail = str(response.json().get("detail", ""))
        except ValueError:
            detail = ""
        if QUEUE_FULL_MARK in detail:
            return status, True, min(retry, MAX_RETRY_WAIT_S)
    audio_status = response.headers.get("x-sori-audio-status")
    if status == 200 and audio_status is not None and audio_status not in SPOKEN_STATUSES:
        return UNSPOKEN, False, 0.0
    return status, False, 0.0


async def run_load(
    base_url: str,
    plan: LoadPlan,
    call_for: Callable[[int], Call] = mixed_call,
    report: LoadReport | None = None,
) -> LoadReport:
    """Drive the server at base_url with plan's clients; returns every outcome (appended to
    `report` as they come when one is given, so a monitor can watch the run)."""
    check_loopback(base_url)
    report = report if report is not None else LoadReport()
    counter = itertools.count()
    started = time.perf_counter()
    deadline = started + plan.duration_s
    limits = httpx.Limits(max_connections=plan.clients, max_keepalive_connections=plan.clients)

    def next_index() -> int | None:
        index = next(counter)
        if plan.max_requests is not None and index >= plan.max_requests:
            return None
        return index

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=plan.request_timeout_s) as client:

        async def one_client(k: int) -> None:
            await asyncio.sleep(k * plan.ramp_s / plan.clients)
            while time.perf_counter() < deadline:
                index = next_index()
                if index is None:
                    return
                call = call_for(index)
                sent = time.perf_counter()
                try:
                    status, designed, wait_s = classify(await client.post(call.path, json=call.body))
                except httpx.HTTPError:
                    status, designed, wait_s = 0, False, 0.0
                now = time.perf_counter()
                report.outcomes.append(Outcome(call.route, status, now - sent, now - started, designed))
                if wait_s:
                    await asyncio.sleep(min(wait_s, max(0.0, deadline - now)))

        await asyncio.gather(*(one_client(k) for k in range(plan.clients)))
    report.wall_s = time.perf_counter() - started
    return report
