"""What a long `/speak/alignment` request does to the server, on 127.0.0.1 only.

`python -m bench.alignment_load [--sentences 200] [--probes 20] [--set KEY=VALUE ...]` starts
`sori serve` (cache off, otherwise default settings unless --set changes them: SORI_KEY=VALUE),
measures the latency of short `POST /speak` requests from one
client while the server is idle, then sends one `POST /speak/alignment` of `"가. " * sentences`
and keeps measuring short `/speak` requests one after another until it is answered. Prints the
alignment request's status, time and size, the short requests' p50/p95 idle and during it, and
`sori_request_timeouts_total` after it; writes nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import percentile
from bench.served import Served, served
from bench.voice import bench_voice, sentence

LONG_TIMEOUT_S = 600.0


@dataclass
class Answer:
    """How the long alignment request ended."""

    status: int = 0
    seconds: float = 0.0
    body_bytes: int = 0
    detail: str = ""
    done: threading.Event = field(default_factory=threading.Event)


def _short(client: object, index: int) -> float:
    """One short /speak from one client; its latency (raises on a non-200)."""
    import httpx

    assert isinstance(client, httpx.Client)
    start = time.perf_counter()
    response = client.post("/speak", json={"text": sentence(index)})
    response.raise_for_status()
    return time.perf_counter() - start


def _long(base_url: str, text: str, answer: Answer) -> None:
    """Send the alignment request and record how it ended."""
    import httpx

    start = time.perf_counter()
    try:
        response = httpx.post(f"{base_url}/speak/alignment", json={"text": text}, timeout=LONG_TIMEOUT_S)
        answer.status = response.status_code
        answer.body_bytes = len(response.content)
        if response.headers.get("content-type", "").startswith("application/json"):
            answer.detail = str(response.json().get("detail", ""))[:200]
    except httpx.HTTPError as error:
        answer.detail = f"{type(error).__name__}: {error}"
    answer.seconds = time.perf_counter() - start
    answer.done.set()


def _timeouts(server: Served) -> str:
    """sori_request_timeouts_total as /metrics reports it."""
    import httpx

    for line in httpx.get(f"{server.base_url}/metrics", timeout=10.0).text.splitlines():
        if line.startswith("sori_request_timeouts_total"):
            return line.split()[-1]
    return "absent"


def measure(sentences: int, probes: int, settings: dict[str, str]) -> None:
    """Idle short-request latency, then the same during one long alignment request; printed."""
    import httpx

    with tempfile.TemporaryDirectory(prefix="sori-alignment-load-") as tmp:
        voice_dir, described = bench_voice(Path(tmp))
        with served(voice_dir, Path(tmp), {"cache_size": "0", **settings}) as server, \
                httpx.Client(base_url=server.base_url, timeout=LONG_TIMEOUT_S) as client:
            _short(client, 10_000)  # one warm request, not counted
            idle = [_short(client, index) for index in range(probes)]
            answer = Answer()
            thread = threading.Thread(target=_long, args=(server.base_url, "가. " * sentences, answer))
            thread.start()
            during: list[float] = []
            index = probes
            while not answer.done.is_set():
                during.append(_short(client, index))
                index += 1
            thread.join()
            timeouts = _timeouts(server)
    print(f"voice: {described}; settings: {settings or 'defaults'}")
    print(f"alignment of {sentences} sentences: {answer.status} after {answer.seconds:.1f} s, "
          f"{answer.body_bytes} bytes {answer.detail!r}")
    print(f"sori_request_timeouts_total after it: {timeouts}")
    for name, values in (("idle", idle), ("during", during)):
        if values:
            print(f"short /speak {name}: n={len(values)} p50={statistics.median(values) * 1000:.0f} ms "
                  f"p95={percentile(values, 0.95) * 1000:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    """Parse the options and measure."""
    parser = argparse.ArgumentParser(prog="python -m bench.alignment_load", description=__doc__)
    parser.add_argument("--sentences", type=int, default=200, help="sentences in the long text (default 200)")
    parser.add_argument("--probes", type=int, default=20, help="idle short requests (default 20)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a server setting, e.g. max_alignment_sentences=1000 (SORI_ prefix implied)")
    args = parser.parse_args(argv)
    settings = dict(item.split("=", 1) for item in args.set)
    measure(args.sentences, args.probes, settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
