"""Sori on Ray Serve, on the session's real local Ray cluster (tests/conftest.py `ray_address`):
every route through the ingress with two model replicas that both answer, a stream equal to the
in-process one up to rounding, 503 with Retry-After when every replica is full, and a model
replica killed under load: every request ends 200 or 503 in time, and service goes on."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import os
import signal
import time
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from server.settings import Settings
from tests.ray_cluster import (
    command_line,
    descendants,
    is_loopback,
    listening_addresses,
    ray_descendants,
)
from tests.server_support import free_port, make_settings
from tests.signal_support import demo_stream_samples, snr_db
from tts import SynthesisOptions, default_voice_dir, load_synthesizer

TEXT = "안녕하세요. 오늘 날씨가 좋네요. 네. 우산을 챙기세요."
REQUEST_TIMEOUT_S = 30.0
CLIENT_TIMEOUT_S = REQUEST_TIMEOUT_S + 30.0
"""A request not answered by then hangs (the service answers by its request timeout)."""


def deploy(settings: Settings, name: str, prefix: str, **plan: Any) -> str:
    """Run the Sori application on the cluster's Serve; its URL."""
    from ray import serve

    from server.cluster.app import ClusterPlan, application

    serve.run(application(settings, ClusterPlan(**plan)), name=name, route_prefix=prefix)
    return prefix.rstrip("/")


@pytest.fixture(scope="module")
def serve_url(ray_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve on the cluster (HTTP on 127.0.0.1), the demo voice with two model replicas of half a
    CPU each; Serve is shut down after the module (the cluster's CPUs go back to the others)."""
    from ray import serve

    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        settings = make_settings(default_voice_dir(), tmp_path_factory.mktemp("serve"),
                                 request_timeout_s=REQUEST_TIMEOUT_S)
        prefix = deploy(settings, "sori", "/", replicas=2, cpus_per_replica=0.5)
        yield f"http://127.0.0.1:{port}{prefix}"
    finally:
        serve.shutdown()


def wav_samples(data: bytes) -> np.ndarray:
    """A 16-bit mono WAV's samples."""
    with wave.open(io.BytesIO(data)) as reader:
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").astype(np.float64)


def post(url: str, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    """One POST with the hang limit."""
    return httpx.post(url + path, json=body, headers=headers, timeout=CLIENT_TIMEOUT_S)


def test_every_route_through_serve_and_both_replicas_answer(serve_url: str) -> None:
    assert httpx.get(serve_url + "/readyz", timeout=30).json()["device"] == "ray"
    assert httpx.get(serve_url + "/healthz").status_code == 200
    assert httpx.get(serve_url + "/voices").json()["default"]
    assert httpx.get(serve_url + "/").status_code == 200
    speak = post(serve_url, "/speak", {"text": "안녕하세요."})
    assert speak.status_code == 200 and speak.headers["content-type"] == "audio/wav"
    assert speak.headers["x-sori-replica"] not in ("", "local")
    png = post(serve_url, "/speak/alignment", {"text": "안녕하세요."})
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG") and "x-sori-replica" in png.headers
    openai = post(serve_url, "/v1/audio/speech", {"model": "tts-1", "input": "네.", "voice": "alloy",
                                                  "response_format": "flac"})
    assert openai.status_code == 200 and openai.content.startswith(b"fLaC") and "x-sori-replica" in openai.headers
    reply = post(serve_url, "/assistant", {"text": "안녕"})
    assert reply.status_code == 200 and reply.json()["intent"] == "SoriGreeting"
    assert base64.b64decode(reply.json()["audio"])[:4] == b"RIFF" and "x-sori-replica" in reply.headers
    stream = post(serve_url, "/speak", {"text": TEXT, "stream": True})
    assert stream.status_code == 200 and stream.headers["x-sori-stream"] == "true"
    assert "x-sori-replica" in stream.headers
    assert post(serve_url, "/speak", {"text": "😀"}).status_code == 422  # validated at the ingress
    assert post(serve_url, "/speak", {"text": "가" * 5000}).status_code in (413, 422)
    assert "sori_http_requests_total" in httpx.get(serve_url + "/metrics").text
    # 16 distinct texts at once (none cached): both model replicas synthesise some.
    texts = [f"{number}번 손님, 안녕하세요." for number in range(1, 17)]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda text: post(serve_url, "/speak", {"text": text}), texts))
    assert [answer.status_code for answer in answers] == [200] * 16
    assert len({answer.headers["x-sori-replica"] for answer in answers}) == 2
    # Both deployments' replicas run with Serve's on-loop settings (server.cluster.app.REPLICA_ENV).
    from server.cluster.app import REPLICA_ENV

    cluster = ray_descendants(os.getpid())
    sori = {pid for pid in cluster if "SpeechModel" in command_line(pid) or "SoriIngress" in command_line(pid)}
    assert len(sori) >= 3, [command_line(pid) for pid in cluster]  # two model replicas and the ingress
    for pid in sori:
        environment = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
        assert all(f"{key}={value}" in environment for key, value in REPLICA_ENV.items()), command_line(pid)
    # Serve's HTTP proxy and controller, and the cluster, listen on the loopback address only. Ray
    # Serve 2.60's replicas also open an inter-deployment gRPC port on every interface ([::]:0, in
    # Ray's code), guarded by Ray's token authentication: docs/deploy.md says to firewall it.
    replicas = {pid for pid in cluster if "ServeReplica" in command_line(pid)}
    listening = listening_addresses(cluster - replicas)
    assert listening and all(is_loopback(address) for address in listening), listening
    beyond = {address for address in listening_addresses(replicas) if not is_loopback(address)}
    assert beyond <= {"00000000000000000000000000000000"}, beyond  # [::], the gRPC port above


def test_a_stream_through_serve_equals_the_in_process_stream(serve_url: str) -> None:
    streamed = post(serve_url, "/speak", {"text": TEXT, "stream": True, "response_format": "pcm"})
    assert streamed.status_code == 200
    audio = np.frombuffer(streamed.content, dtype="<i2").astype(np.float64)
    in_process = demo_stream_samples(TEXT)
    # The same groups decode on both sides; the kernels' threads differ, so samples agree up to rounding.
    assert in_process.shape == audio.shape
    assert snr_db(in_process, audio) > 40


def test_a_client_that_leaves_a_stream_stops_it_on_its_model_replica(
    ray_address: str, serve_url: str, tmp_path: Path
) -> None:
    """A stream is one generator call on one replica: a 40-sentence stream read to its first audio
    and dropped ends there, its later groups never decoded."""
    from ray import serve

    settings = make_settings(default_voice_dir(), tmp_path, request_timeout_s=REQUEST_TIMEOUT_S)
    base = serve_url.rstrip("/") + deploy(settings, "sori-one", "/one", replicas=1, cpus_per_replica=0.5)
    model = serve.get_deployment_handle("SpeechModel", app_name="sori-one")
    text = " ".join(f"{number}번 문장입니다." for number in range(1, 41))
    try:
        body = {"text": text, "stream": True, "response_format": "pcm"}
        with httpx.stream("POST", base + "/speak", json=body, timeout=CLIENT_TIMEOUT_S) as response:
            assert response.status_code == 200
            assert next(response.iter_raw())
        deadline = time.monotonic() + 60
        while (stats := model.stats.remote().result()).streams and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stats.streams == 0, "the stream was still running on the replica 60 s after its client left"
        assert 1 <= stats.sentences < 40, stats
    finally:
        serve.delete("sori-one")


def test_readyz_is_503_until_a_model_replica_is_up(ray_address: str, serve_url: str, tmp_path: Path) -> None:
    """An app whose model replica cannot be placed (it asks for more CPUs than the cluster has):
    the ingress serves, /readyz says no model replica is ready and speech is refused in time;
    once the replica fits, /readyz turns 200."""
    from ray import serve

    from server.cluster.app import ClusterPlan, application

    settings = make_settings(default_voice_dir(), tmp_path, request_timeout_s=3.0)
    base = serve_url.rstrip("/") + "/pending"
    serve._run(application(settings, ClusterPlan(cpus_per_replica=64)), _blocking=False, name="sori-pending",
               route_prefix="/pending")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=10).status_code == 200:
                    break
            time.sleep(0.5)
        else:
            pytest.fail("the ingress did not come up within 120 s")
        ready = httpx.get(base + "/readyz", timeout=30)
        assert ready.status_code == 503 and "no model replica is ready" in ready.json()["detail"], ready.text
        assert post(base, "/speak", {"text": "안녕하세요."}).status_code in (503, 504)
        serve.run(application(settings, ClusterPlan(cpus_per_replica=0.5)), name="sori-pending",
                  route_prefix="/pending")
        while time.monotonic() < deadline + 60:
            if httpx.get(base + "/readyz", timeout=30).status_code == 200:
                break
            time.sleep(0.5)
        else:
            pytest.fail("/readyz did not turn 200 once the model replica fit")
        assert post(base, "/speak", {"text": "안녕하세요."}).status_code == 200
    finally:
        serve.delete("sori-pending")


def test_every_replica_full_is_503_with_retry_after(
    ray_address: str, serve_url: str, tmp_path: Path
) -> None:
    """A second app with one model replica holding one request and a queue of one: of 12 at once
    at least one is refused 503 + Retry-After, the others are served, none is a 500 or hangs."""
    from ray import serve

    settings = make_settings(default_voice_dir(), tmp_path, request_timeout_s=REQUEST_TIMEOUT_S, queue_size=1,
                             cpu_max_batch_size=1)
    prefix = deploy(settings, "sori-small", "/small", replicas=1, cpus_per_replica=0.5, max_ongoing_requests=1)
    base = serve_url.rstrip("/") + prefix
    try:
        texts = [f"{number}번 손님, 오늘 날씨가 좋네요. 우산을 챙기세요." for number in range(1, 13)]
        bodies = [{"text": text, "stream": number % 3 == 0} for number, text in enumerate(texts)]  # streams too
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda body: post(base, "/speak", body), bodies))
        codes = [answer.status_code for answer in answers]
        assert set(codes) <= {200, 503} and 503 in codes and 200 in codes, codes
        for answer in answers:
            if answer.status_code == 503:
                assert int(answer.headers["retry-after"]) >= 1 and answer.json()["detail"]
    finally:
        serve.delete("sori-small")


def test_a_killed_model_replica_fails_its_requests_503_and_service_goes_on(serve_url: str) -> None:
    replicas = [pid for pid in descendants(os.getpid()) if "SpeechModel" in command_line(pid)]
    assert len(replicas) == 2, [command_line(pid) for pid in replicas]
    texts = [f"{number}번 손님, 오늘 날씨가 좋네요. 우산을 챙기세요." for number in range(101, 117)]

    def timed(text: str) -> tuple[int, float]:
        started = time.monotonic()
        try:
            code = post(serve_url, "/speak", {"text": text}).status_code
        except httpx.TimeoutException:
            code = 0  # hung
        return code, time.monotonic() - started

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(timed, text) for text in texts]
        time.sleep(0.5)  # the requests are in the replicas
        os.kill(replicas[0], signal.SIGKILL)
        answers = [future.result() for future in futures]
    assert all(code in (200, 503) for code, _ in answers), answers
    assert all(seconds <= REQUEST_TIMEOUT_S + 5 for _, seconds in answers), answers
    killed = time.monotonic()
    deadline = killed + 120
    while time.monotonic() < deadline:
        if post(serve_url, "/speak", {"text": f"{int(time.monotonic() * 1000)}번, 다시 안녕하세요."}).status_code == 200:
            break
        time.sleep(0.5)
    else:
        pytest.fail("not served again within 120 s of the kill")
    # Serve replaces the killed replica: two model replicas again, the ingress never restarted.
    while time.monotonic() < deadline:
        alive = [pid for pid in descendants(os.getpid()) if "SpeechModel" in command_line(pid)]
        if len(alive) == 2 and replicas[0] not in alive:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the killed model replica was not replaced within 120 s")
    assert httpx.get(serve_url + "/readyz", timeout=30).status_code == 200


# --- `sori serve --ray` input checks (no cluster) --------------------------------------------------


def serve_command(voice: Path, *extra: str) -> int:
    """`sori serve` in this process."""
    from sori.cli import main

    return main(["serve", "--voice", str(voice), "--device", "cpu", *extra])


def test_serve_ray_bad_options_are_one_line_and_exit_2(
    test_voice_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SORI_DATA_DIR", str(tmp_path))
    cases = [
        (("--replicas", "2"), "sori serve: --replicas is for a Ray cluster; add --ray"),
        (("--ray", "--autoscale", "2"), "sori serve: --autoscale takes MIN:MAX (two whole numbers), got '2'"),
        (("--ray", "--autoscale", "3:1"), "sori serve: --autoscale needs 1 <= MIN <= MAX, got 3:1"),
        (("--ray", "--replicas", "0"), "sori serve: --replicas must be at least 1"),
        (("--ray", "--ingress-replicas", "0"), "sori serve: --ingress-replicas must be at least 1"),
        (("--ray", "--ingress-replicas", "2"), "sori serve: --ingress-replicas above 1 needs a shared store: "
                                               "--database-url postgresql://... (SORI_DATABASE_URL)"),
    ]
    for extra, message in cases:
        assert serve_command(test_voice_dir, *extra) == 2
        assert capsys.readouterr().err.strip() == message


def test_serve_ray_without_ray_says_how_to_install(
    test_voice_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    monkeypatch.setenv("SORI_DATA_DIR", str(tmp_path))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    assert serve_command(test_voice_dir, "--ray") == 2
    assert capsys.readouterr().err.strip() == (
        'sori serve: Ray is not installed; install the extra with: pip install "sori[ray]"')


def test_the_serve_config_is_valid_and_builds_the_application(ray_address: str) -> None:
    import yaml
    from ray.serve import Application
    from ray.serve.schema import ServeDeploySchema

    from server.cluster.app import build

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "deploy/ray/serve.yaml").read_text())
    schema = ServeDeploySchema.model_validate(config)
    (app,) = schema.applications
    assert app.import_path == "server.cluster.app:build"
    assert isinstance(build(app.args), Application)


# --- The Ray backend's answers, with a stand-in handle (no model deployment behind it) -------------


class StandInHandle:
    """Plays a DeploymentHandle whose calls fail with `error`, or never answer when it is None."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error
        self.speak = self.ping = self
        self.cancelled = 0

    def remote(self, *args: object) -> StandInHandle:
        return self

    def cancel(self) -> None:
        self.cancelled += 1

    def __await__(self) -> Iterator[None]:
        if self.error is not None:
            raise self.error
        while True:
            yield None  # never resolves: a deployment without a ready replica


def test_the_ray_backend_maps_serve_errors_and_readiness(ray_address: str, test_voice_dir: Path) -> None:
    """Serve's refusal is a full queue (503 + Retry-After), a dead replica is 503, and /readyz's
    check says why when no model replica answers."""
    from ray.exceptions import ActorDiedError
    from ray.serve.exceptions import BackPressureError

    from server.cluster import backend as ray_backend
    from server.errors import ProcessRestartingError, QueueFullError
    from server.voice_registry import Voice

    voice = Voice("test", load_synthesizer(test_voice_dir, device="cpu"))
    sentences = voice.synthesizer.analyze("안녕하세요.")

    async def outcome(error: BaseException | None) -> BaseException | str | None:
        backend = ray_backend.RayBackend(StandInHandle(error))
        if error is None:
            return await backend.ready()
        try:
            await backend.speak(voice, sentences, SynthesisOptions(), 10.0)
        except Exception as raised:
            return raised
        return None

    full = asyncio.run(outcome(BackPressureError(num_queued_requests=3, max_queued_requests=3)))
    assert isinstance(full, QueueFullError) and full.status_code == 503 and full.headers["Retry-After"] == "1"
    dead = asyncio.run(outcome(ActorDiedError()))
    assert isinstance(dead, ProcessRestartingError) and dead.status_code == 503
    assert asyncio.run(outcome(None)) == "no model replica is ready"


class StandInStream:
    """Plays a streaming DeploymentHandle call: `replies` group replies, then `error` (if any)."""

    def __init__(self, replies: list[Any], error: BaseException | None) -> None:
        self.replies = replies
        self.error = error
        self.cancelled = False

    def __aiter__(self) -> StandInStream:
        return self

    async def __anext__(self) -> Any:
        if self.replies:
            return self.replies.pop(0)
        if self.error is not None:
            raise self.error
        await asyncio.sleep(3600)  # a replica still decoding
        raise StopAsyncIteration

    def cancel(self) -> None:
        self.cancelled = True


class StandInStreamHandle:
    """Plays `handle.options(stream=True).stream.remote(request)`, answering with `call`."""

    def __init__(self, call: StandInStream) -> None:
        self.call = call
        self.stream = self

    def options(self, **options: object) -> StandInStreamHandle:
        assert options == {"stream": True}
        return self

    def remote(self, request: object) -> StandInStream:
        return self.call


def test_a_ray_stream_maps_serve_errors_per_group_and_is_abandoned_503(ray_address: str, test_voice_dir: Path) -> None:
    """Refused before the first group: 503 from the first; a replica that dies after one group:
    that group is delivered, the next fails 503; closing cancels the call; a cut-off drain answers
    a waiting stream 503 at once."""
    import time as clock

    from ray.exceptions import ActorDiedError
    from ray.serve.exceptions import BackPressureError

    from server.cluster import backend as ray_backend
    from server.cluster.model import ModelReply
    from server.errors import ProcessRestartingError, QueueFullError, ShuttingDownError
    from server.voice_registry import Voice
    from tts import stream_groups

    voice = Voice("test", load_synthesizer(test_voice_dir, device="cpu"))
    sentences = voice.synthesizer.analyze("안녕하세요. 네. 좋아요.")
    groups = stream_groups(len(sentences), 8)
    first = ModelReply("r1", voice.synthesizer.synthesize_analyzed([sentences[:1]])[0])

    async def run(call: StandInStream, abandon: bool = False) -> list[object]:
        backend = ray_backend.RayBackend(StandInStreamHandle(call))
        source = backend.stream(voice, sentences, groups, SynthesisOptions(), clock.monotonic() + 10)
        source.start()
        outcomes: list[object] = []
        for index in range(len(groups)):
            if abandon and index == 1:
                backend.abandon()
            try:
                outcomes.append((await asyncio.wait_for(source.result(index), 10)).replica)
            except Exception as error:
                outcomes.append(error)
                break
        source.close()
        await asyncio.sleep(0)
        assert backend.depth == 0
        return outcomes

    refused = StandInStream([], BackPressureError(num_queued_requests=1, max_queued_requests=1))
    (full,) = asyncio.run(run(refused))
    assert isinstance(full, QueueFullError) and full.headers["Retry-After"] == "1"
    dying = StandInStream([first], ActorDiedError())
    delivered, dead = asyncio.run(run(dying))
    assert delivered == "r1" and isinstance(dead, ProcessRestartingError)
    waiting = StandInStream([first], None)
    delivered, abandoned = asyncio.run(run(waiting, abandon=True))
    assert delivered == "r1" and isinstance(abandoned, ShuttingDownError) and abandoned.status_code == 503
    assert waiting.cancelled  # closing the stream cancelled the call still running
