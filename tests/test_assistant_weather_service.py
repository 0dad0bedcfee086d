"""The weather settings as users give them (SORI_WEATHER_* in the environment), through `POST
/assistant` with its /metrics, `sori ask` and `sori wyoming`, against the stand-in Open-Meteo on 127.0.0.1.

The server and `sori ask` run on the real clock, so the forecast served here is the same every
day from yesterday to a week ahead: "내일" has the same answer whichever day the test runs on, and
even when midnight passes during it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError
from wyoming.asr import Transcript
from wyoming.handle import Handled

from assistant.skills.weather import NOT_CONFIGURED, UNAVAILABLE
from server import Settings, create_app
from tests.server_support import live_client, make_settings, metric
from tests.weather_support import Answer, ForecastServer, forecast_server
from tests.wyoming_support import exchange, is_type, sori_wyoming
from tts.text import normalize_text

WEATHER_ENV = ("SORI_WEATHER_LATITUDE", "SORI_WEATHER_LONGITUDE", "SORI_WEATHER_PLACE", "SORI_WEATHER_API_URL")
RAIN_REPLY = "내일 서울 날씨는 비예요. 최저 기온은 3도, 최고 기온은 10도예요. 강수 확률은 80퍼센트예요."
RAIN_READING = "내일 서울 날씨는 비예요. 최저 기온은 삼 도, 최고 기온은 십 도예요. 강수 확률은 팔십 퍼센트예요."


def rainy_week() -> dict[str, Any]:
    """An Open-Meteo answer with the same rainy day from yesterday (in Seoul) to a week ahead."""
    start = datetime.now(ZoneInfo("Asia/Seoul")).date() - timedelta(days=1)
    days = [(start + timedelta(days=offset)).isoformat() for offset in range(9)]
    return {
        "latitude": 37.55, "longitude": 127.0, "generationtime_ms": 0.07, "utc_offset_seconds": 32400,
        "timezone": "Asia/Seoul", "timezone_abbreviation": "GMT+9", "elevation": 38.0,
        "current_units": {"time": "iso8601", "interval": "seconds", "temperature_2m": "°C",
                          "weather_code": "wmo code"},
        "current": {"time": f"{date.fromisoformat(days[1])}T12:00", "interval": 900,
                    "temperature_2m": 5.2, "weather_code": 61},
        "daily_units": {"time": "iso8601", "weather_code": "wmo code", "temperature_2m_max": "°C",
                        "temperature_2m_min": "°C", "precipitation_probability_max": "%"},
        "daily": {"time": days, "weather_code": [63] * 9, "temperature_2m_max": [9.6] * 9,
                  "temperature_2m_min": [3.4] * 9, "precipitation_probability_max": [80] * 9},
    }


def weather_env(server: ForecastServer) -> dict[str, str]:
    """The four settings for Seoul, pointing at the stand-in."""
    return {"SORI_WEATHER_LATITUDE": "37.5665", "SORI_WEATHER_LONGITUDE": "126.978",
            "SORI_WEATHER_PLACE": "서울", "SORI_WEATHER_API_URL": server.url}


@pytest.fixture(autouse=True)
def _no_proxy_for_the_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests to the stand-in on 127.0.0.1 go straight to it, whatever proxy the machine has."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No SORI_WEATHER_* from the machine running the tests."""
    for name in WEATHER_ENV:
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


# ----- settings ----------------------------------------------------------------------------------

def test_settings_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    assert Settings().weather_config() is None
    clean_env.setenv("SORI_WEATHER_LATITUDE", "37.5665")
    clean_env.setenv("SORI_WEATHER_LONGITUDE", "126.978")
    config = Settings().weather_config()
    assert config is not None
    assert (config.latitude, config.longitude, config.place) == (37.5665, 126.978, None)
    assert config.api_url == "https://api.open-meteo.com/v1/forecast"
    clean_env.setenv("SORI_WEATHER_PLACE", "서울")
    clean_env.setenv("SORI_WEATHER_API_URL", "http://127.0.0.1:9/v1/forecast")
    config = Settings().weather_config()
    assert config is not None and (config.place, config.api_url) == ("서울", "http://127.0.0.1:9/v1/forecast")


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"SORI_WEATHER_LATITUDE": "37.5"}, "both SORI_WEATHER_LATITUDE and SORI_WEATHER_LONGITUDE"),
        ({"SORI_WEATHER_PLACE": "서울"}, "need SORI_WEATHER_LATITUDE"),
        ({"SORI_WEATHER_LATITUDE": "137", "SORI_WEATHER_LONGITUDE": "0"}, "weather_latitude"),
        ({"SORI_WEATHER_LATITUDE": "north", "SORI_WEATHER_LONGITUDE": "0"}, "weather_latitude"),
        ({"SORI_WEATHER_LATITUDE": "1", "SORI_WEATHER_LONGITUDE": "2", "SORI_WEATHER_API_URL": "api.open-meteo.com"},
         "http(s) URL"),
    ],
)
def test_invalid_weather_settings_are_named(
    clean_env: pytest.MonkeyPatch, env: dict[str, str], complaint: str
) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(ValidationError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        Settings()


# ----- POST /assistant and /metrics --------------------------------------------------------------

@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Run the async tests on asyncio (the loop uvicorn uses)."""
    return "asyncio"


async def _ask(client: httpx.AsyncClient, text: str) -> dict[str, Any]:
    response = await client.post("/assistant", json={"text": text})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.anyio
async def test_the_assistant_route_answers_from_open_meteo(
    test_voice_dir: Path, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    with forecast_server(Answer.json(rainy_week())) as server:
        for name, value in weather_env(server).items():
            clean_env.setenv(name, value)
        async with live_client(create_app(make_settings(test_voice_dir, tmp_path))) as client:
            first = await _ask(client, "내일 비 와?")
            second = await _ask(client, "내일 우산 필요해?")
            other = await _ask(client, "부산 날씨 어때")
            metrics = (await client.get("/metrics")).text
    assert (first["intent"], first["slots"], first["reply"]) == ("HassGetWeather", {"day": "내일"}, RAIN_REPLY)
    assert first["audio"] and second["reply"] == RAIN_REPLY
    assert normalize_text(RAIN_REPLY) == (RAIN_READING, ())
    assert other["reply"] == "저는 서울 날씨만 알 수 있어서 부산 날씨는 알려 드릴 수 없어요."
    assert len(server.requests) == 1  # the second question was answered from the cache
    assert server.requests[0][1]["latitude"] == ["37.5665"]
    assert metric(metrics, "sori_weather_fetches_total", result="ok") == 1
    assert metric(metrics, "sori_weather_fetches_total", result="http_error") == 0


@pytest.mark.anyio
async def test_a_failing_provider_is_a_200_with_the_honest_reply_and_counted(
    test_voice_dir: Path, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    with forecast_server(Answer(b"Internal Server Error", status=500, content_type="text/plain")) as server:
        for name, value in weather_env(server).items():
            clean_env.setenv(name, value)
        async with live_client(create_app(make_settings(test_voice_dir, tmp_path))) as client:
            body = await _ask(client, "오늘 날씨 어때?")
            metrics = (await client.get("/metrics")).text
    assert (body["intent"], body["reply"]) == ("HassGetWeather", UNAVAILABLE)
    assert body["audio"]
    assert metric(metrics, "sori_weather_fetches_total", result="http_error") == 1
    assert metric(metrics, "sori_weather_fetches_total", result="ok") == 0


@pytest.mark.anyio
async def test_without_settings_the_route_says_not_configured(
    test_voice_dir: Path, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    async with live_client(create_app(make_settings(test_voice_dir, tmp_path))) as client:
        body = await _ask(client, "내일 날씨 어때?")
    assert body["reply"] == NOT_CONFIGURED


# ----- sori ask ----------------------------------------------------------------------------------

def run_ask(text: str, env: dict[str, str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`sori ask TEXT --json` with the environment plus `env`, minus any SORI_WEATHER_* of ours."""
    base = {name: value for name, value in os.environ.items() if name not in WEATHER_ENV}
    return subprocess.run(
        [sys.executable, "-m", "sori", "ask", text, "--json"],
        capture_output=True, text=True, encoding="utf-8", timeout=120, check=False,
        env={**base, "SORI_DATA_DIR": str(data_dir), **env},
    )


def test_sori_ask_reads_the_weather_settings(tmp_path: Path) -> None:
    with forecast_server(Answer.json(rainy_week())) as server:
        result = run_ask("내일 비 와?", weather_env(server), tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"intent": "HassGetWeather", "slots": {"day": "내일"}, "reply": RAIN_REPLY}
    assert len(server.requests) == 1


def test_sori_ask_names_an_invalid_weather_setting(tmp_path: Path) -> None:
    result = run_ask("내일 비 와?", {"SORI_WEATHER_LATITUDE": "37.5665"}, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("sori ask: invalid settings: ")
    assert "SORI_WEATHER_LONGITUDE" in result.stderr


# ----- sori wyoming ------------------------------------------------------------------------------

def test_sori_wyoming_reads_the_weather_settings(
    test_voice_dir: Path, tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    with forecast_server(Answer.json(rainy_week())) as server:
        for name, value in weather_env(server).items():
            clean_env.setenv(name, value)  # `sori wyoming` inherits this process's environment
        with sori_wyoming(test_voice_dir, tmp_path, tmp_path / "wyoming.log") as (_, port):
            events = asyncio.run(exchange(port, [Transcript(text="내일 비 와?").event()],
                                          is_type("handled", "not-handled")))
    assert Handled.is_type(events[-1].type)
    assert Handled.from_event(events[-1]).text == RAIN_REPLY
