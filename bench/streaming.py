"""Benchmark: time to first audio of a four-sentence text, streamed and not, against `sori serve`.

For each round, on one `sori serve` on 127.0.0.1 (CPU, cache off), in an order that rotates between
rounds: the text's first sentence alone (POST /speak, whole), the four-sentence text whole, and the
text streamed (POST /speak with stream, pcm). Time to first audio is until the first audio byte
arrives (for a whole response, its last byte: nothing plays before then); total is until the last.
The bar: streamed time to first audio at most the first sentence alone plus 20 %.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.report import Table
from bench.served import HOST, ServeError, served
from bench.voice import bench_voice

TEXTS = (
    ("안녕하세요.", "오늘은 하늘이 맑고 바람이 선선합니다.", "오후에는 구름이 조금 끼겠습니다.",
     "좋은 하루 보내세요."),
    ("알람을 맞췄어요.", "내일 아침 일곱 시에 깨워 드릴게요.", "잊지 말고 일찍 주무세요.",
     "편안한 밤 되세요."),
    ("장보기 목록에 우유를 넣었어요.", "지금 목록에는 네 가지가 있습니다.", "빵과 달걀도 필요하신가요?",
     "말씀만 하세요."),
)
"""Four-sentence replies written for this benchmark (none from the evaluation set)."""

TIMEOUT_S = 300.0
COLUMNS = ["request", "first audio ms (median)", "total ms (median)", "first audio / first sentence alone"]


def _timed(client: object, body: dict[str, object], audio_offset: int) -> tuple[float, float]:
    """(seconds to the first audio byte, seconds to the last byte) of one POST /speak."""
    import httpx

    assert isinstance(client, httpx.Client)
    started = time.perf_counter()
    first: float | None = None
    received = 0
    with client.stream("POST", "/speak", json=body) as response:
        if response.status_code != 200:
            raise ServeError(f"/speak answered {response.status_code}: {response.read()[:200]!r}")
        for chunk in response.iter_raw():
            received += len(chunk)
            if first is None and received > audio_offset:
                first = time.perf_counter() - started
    total = time.perf_counter() - started
    return (total if first is None else first), total


def run(rounds: int = 7, device: str = "cpu") -> list[Table]:
    """Serve on `device`, time the three ways per round, report medians and the ratio the bar is about."""
    table = Table(f"Streaming: time to first audio of a four-sentence text, POST /speak on {HOST} "
                  f"({device.upper()})", COLUMNS)
    import httpx

    with tempfile.TemporaryDirectory() as workdir:
        voice_dir, description = bench_voice(Path(workdir))
        try:
            with served(voice_dir, Path(workdir), {"cache_size": "0", "device": device}) as server, httpx.Client(
                base_url=server.base_url, timeout=TIMEOUT_S
            ) as client:
                _timed(client, {"text": "준비 운동입니다."}, 44)  # warm-up: first-call costs out of the way
                times: dict[str, list[tuple[float, float]]] = {"alone": [], "whole": [], "stream": []}
                for round_index in range(rounds):
                    sentences = TEXTS[round_index % len(TEXTS)]
                    text = " ".join(sentences)
                    requests: list[tuple[str, dict[str, object], int]] = [
                        ("alone", {"text": sentences[0]}, 44),
                        ("whole", {"text": text}, 44),
                        ("stream", {"text": text, "stream": True, "response_format": "pcm"}, 0),
                    ]
                    shift = round_index % len(requests)
                    for name, body, offset in requests[shift:] + requests[:shift]:
                        times[name].append(_timed(client, body, offset))
        except ServeError as error:
            table.notes.append(f"not measured: {error}")
            return [table]
    alone = statistics.median(first for first, _ in times["alone"])
    labels = {"alone": "first sentence alone", "whole": "four sentences, whole", "stream": "four sentences, streamed"}
    for name, label in labels.items():
        first = statistics.median(value for value, _ in times[name])
        total = statistics.median(value for _, value in times[name])
        table.add(label, f"{first * 1000:.0f}", f"{total * 1000:.0f}", f"{first / alone:.2f}")
    table.notes.append(
        f"Voice: {description}. {rounds} rounds over {len(TEXTS)} texts, the three requests in a "
        "rotating order; cache off (SORI_CACHE_SIZE=0), default serving settings. A whole response "
        "plays from its last byte, so its first audio is its total. Bar: streamed first audio at "
        "most 1.20 x the first sentence alone.")
    return [table]
