"""The load generator of `make soak`, run briefly against a real `sori serve` with a tight queue:
it mixes the three speaking routes, tells designed 503s from errors, and stays on loopback."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bench.loadgen import (
    MAX_RETRY_WAIT_S,
    QUEUE_FULL_MARK,
    UNSPOKEN,
    LoadPlan,
    LoadReport,
    Outcome,
    check_loopback,
    classify,
    mixed_call,
    percentile,
    run_load,
)
from bench.served import served
from server.errors import NotReadyError, QueueFullError, ShuttingDownError

pytestmark = pytest.mark.slow


def test_a_short_overload_is_served_or_refused_by_design_and_the_queue_drains(
    test_voice_dir: Path, tmp_path: Path
) -> None:
    settings = {"queue_size": "1", "max_batch_size": "2", "batch_wait_ms": "200", "cache_size": "0",
                "warmup": "false"}
    plan = LoadPlan(clients=8, ramp_s=0.5, duration_s=4.0, request_timeout_s=60.0)
    with served(test_voice_dir, tmp_path, settings) as server:
        report = asyncio.run(run_load(server.base_url, plan))
        deadline = time.monotonic() + 30
        while server.queue_depth() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.queue_depth() == 0
    assert set(report.routes()) == {"/speak", "/assistant", "/v1/audio/speech"}
    assert report.served > 0
    assert report.designed_rejections > 0, "8 clients on a 1-request queue must be refused sometimes"
    assert report.errors == Counter()
    assert all(o.finished_at <= plan.duration_s + plan.request_timeout_s for o in report.outcomes)
    assert server.exit_code == 0


def test_only_loopback_addresses_are_loaded() -> None:
    check_loopback("http://127.0.0.1:8000")
    check_loopback("http://localhost:8000")
    for url in ("http://10.0.0.5:8000", "https://example.com", "http://0.0.0.0:8000"):
        with pytest.raises(ValueError, match="loopback"):
            check_loopback(url)
    with pytest.raises(ValueError, match="loopback"):
        asyncio.run(run_load("http://192.168.1.2:8000", LoadPlan(clients=1, duration_s=1.0)))


def test_report_separates_designed_refusals_from_errors() -> None:
    report = LoadReport([
        Outcome("/speak", 200, 0.5, 1.0),
        Outcome("/speak", 503, 0.01, 1.1, designed=True),
        Outcome("/assistant", 503, 0.02, 1.2),
        Outcome("/assistant", 500, 0.2, 1.3),
        Outcome("/speak", 0, 60.0, 61.0),
    ], wall_s=61.0)
    assert report.served == 1 and report.designed_rejections == 1
    assert report.errors == Counter({503: 1, 500: 1, 0: 1})
    assert report.latencies("/speak") == [0.5] and report.latencies("/assistant") == []


def test_mix_cycles_the_three_routes_with_distinct_texts() -> None:
    calls = [mixed_call(index) for index in range(6)]
    assert [call.route for call in calls] == ["/speak", "/assistant", "/v1/audio/speech"] * 2
    assert calls[0].body["text"] != calls[3].body["text"]
    assert calls[2].body["input"] != calls[5].body["input"]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0 and percentile(values, 0.99) == 99.0
    assert percentile([3.0], 0.95) == 3.0


def test_only_a_queue_full_503_counts_as_designed() -> None:
    busy = {"detail": QueueFullError(1).detail}
    assert QUEUE_FULL_MARK in busy["detail"]
    assert QUEUE_FULL_MARK not in NotReadyError().detail
    assert QUEUE_FULL_MARK not in ShuttingDownError(1).detail
    assert classify(httpx.Response(503, json=busy, headers={"Retry-After": "1"})) == (503, True, 1.0)
    assert classify(httpx.Response(503, json=busy, headers={"Retry-After": "30"}))[2] == MAX_RETRY_WAIT_S
    draining = {"detail": "the server is shutting down"}
    out_of_memory = {"detail": "out of memory on the device; try again shortly"}
    for body in (draining, out_of_memory):
        assert classify(httpx.Response(503, json=body, headers={"Retry-After": "1"})) == (503, False, 0.0)
    assert classify(httpx.Response(503, json=busy)) == (503, False, 0.0), "no Retry-After: not designed"
    assert classify(httpx.Response(503, text="busy", headers={"Retry-After": "1"}))[1] is False


def test_an_assistant_reply_left_silent_is_an_error() -> None:
    silent = httpx.Response(200, json={"audio": None}, headers={"X-Sori-Audio-Status": "failed (503)"})
    assert classify(silent) == (UNSPOKEN, False, 0.0)
    for spoken in ("ok", "none"):
        answer = httpx.Response(200, json={}, headers={"X-Sori-Audio-Status": spoken})
        assert classify(answer) == (200, False, 0.0)
    assert LoadReport([Outcome("/assistant", UNSPOKEN, 1.0, 1.0)]).errors == Counter({UNSPOKEN: 1})
