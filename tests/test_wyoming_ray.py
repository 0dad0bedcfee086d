"""`sori wyoming --ray`: Home Assistant's protocol answered with speech from a Ray Serve model
deployment, on the session's real local Ray cluster (tests/conftest.py `ray_address`) or on a
local cluster the command starts and stops itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from wyoming.audio import AudioChunk
from wyoming.error import Error
from wyoming.tts import Synthesize

from tests.ray_cluster import is_running, ray_descendants
from tests.server_support import make_settings
from tests.signal_support import demo_stream_samples, snr_db
from tests.wyoming_support import exchange, is_type, sori_wyoming
from tts import default_voice_dir

TEXT = "안녕하세요. 오늘 날씨가 좋네요. 우산을 챙기세요."


def spoken(port: int, text: str) -> np.ndarray:
    """A one-shot synthesize over Wyoming: its 16-bit samples (fails on an `error` answer)."""
    events = asyncio.run(exchange(port, [Synthesize(text=text).event()], is_type("audio-stop", "error")))
    if Error.is_type(events[-1].type):
        pytest.fail(f"the server answered an error: {Error.from_event(events[-1])}")
    audio = b"".join(AudioChunk.from_event(event).audio for event in events if AudioChunk.is_type(event.type))
    return np.frombuffer(audio, dtype="<i2").astype(np.float64)


@pytest.fixture
def model_deployment(ray_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Sori model deployment alone ('sori' application, one replica, no HTTP proxy) on the
    session's cluster, as `sori serve --ray` leaves one; Serve is shut down after the test."""
    from ray import serve

    from server.cluster.app import APP_NAME, ClusterPlan, model_application

    serve.start(proxy_location="Disabled")
    try:
        settings = make_settings(default_voice_dir(), tmp_path_factory.mktemp("model"))
        serve.run(model_application(settings, ClusterPlan(cpus_per_replica=0.5)), name=APP_NAME, route_prefix=None)
        yield ray_address
    finally:
        serve.shutdown()


def test_wyoming_speaks_with_the_model_deployment_of_a_running_cluster(
    model_deployment: str, tmp_path: Path
) -> None:
    from ray import serve

    from server.cluster.app import APP_NAME

    with sori_wyoming(default_voice_dir(), tmp_path / "data", tmp_path / "wyoming.log",
                      "--ray", "--ray-address", model_deployment) as (process, port):
        audio = spoken(port, TEXT)
        reference = demo_stream_samples(TEXT)
        # The same groups decode on the replica; its kernels' threads differ, so up to rounding.
        assert audio.shape == reference.shape and snr_db(reference, audio) > 40
        stats = serve.get_deployment_handle("SpeechModel", app_name=APP_NAME).stats.remote().result()
        assert stats.sentences >= 3  # decoded there, not in the Wyoming process
        process.terminate()
        assert process.wait(60) == 0
    # The command leaves the cluster's application as it found it.
    assert serve.status().applications[APP_NAME].status == "RUNNING"
    assert "spoken by the model deployment" in (tmp_path / "wyoming.log").read_text()


def test_wyoming_ray_without_a_deployed_application_says_how_to_deploy(
    ray_address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sori.cli import main

    monkeypatch.setenv("SORI_DATA_DIR", str(tmp_path))
    status = main(["wyoming", "--ray", "--ray-address", ray_address, "--voice", str(default_voice_dir()),
                   "--device", "cpu"])
    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"sori wyoming: the cluster at {ray_address} has no Sori application ('sori'); "
        f"deploy it first: sori serve --ray --ray-address {ray_address}")


def test_wyoming_ray_options_are_checked_before_any_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sori.cli import main

    monkeypatch.setenv("SORI_DATA_DIR", str(tmp_path))
    voice = ["--voice", str(default_voice_dir()), "--device", "cpu"]
    cases = [
        (("--replicas", "2"), "sori wyoming: --replicas is for a Ray cluster; add --ray"),
        (("--ray", "--replicas", "0"), "sori wyoming: --replicas must be at least 1"),
        (("--ray", "--autoscale", "2:1"), "sori wyoming: --autoscale needs 1 <= MIN <= MAX, got 2:1"),
        (("--ray", "--ray-address", "auto", "--replicas", "2"),
         "sori wyoming: --replicas and --autoscale size a model deployment that sori wyoming starts; "
         "with --ray-address the deployed application keeps its own"),
    ]
    for extra, message in cases:
        assert main(["wyoming", *voice, *extra]) == 2
        assert capsys.readouterr().err.strip() == message


def test_wyoming_ray_starts_and_stops_a_local_cluster_of_its_own(
    ray_address: str, tmp_path: Path
) -> None:
    """Without --ray-address: a cluster of its own on 127.0.0.1 with the model deployment alone,
    speech from it, and after SIGTERM an exit 0 with none of that cluster's processes left."""
    with sori_wyoming(default_voice_dir(), tmp_path / "data", tmp_path / "wyoming.log", "--ray") as (process, port):
        assert "model replica(s) on CPUs of a local Ray cluster" in (tmp_path / "wyoming.log").read_text()
        own = ray_descendants(process.pid)
        assert own, "no Ray process under the command"
        audio = spoken(port, TEXT)
        assert audio.shape == demo_stream_samples(TEXT).shape
        process.terminate()
        assert process.wait(120) == 0, (tmp_path / "wyoming.log").read_text()
    deadline = time.monotonic() + 30
    while any(is_running(pid) for pid in own) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in own if is_running(pid)], "the command's Ray processes were left behind"


def test_voices_that_differ_from_the_model_replicas_are_refused_by_name() -> None:
    from sori.commands.wyoming_ray import require_same_voices

    require_same_voices({"a": "1"}, {"a": "1", "b": "2"})  # the replicas may hold more
    with pytest.raises(ValueError) as refused:
        require_same_voices({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "9"})
    assert str(refused.value) == (
        "the voices here and on the cluster differ; not on the model replicas: c; another version on "
        "the model replicas (config.json differs): b (give both the same --voice and --voices-dir, "
        "or SORI_VOICES_DIR)")
