"""The weather from Open-Meteo: the provider against a stand-in API on 127.0.0.1, the replies for
recorded forecasts, and how they read through the frontend. Clocks are injected, so "today",
"tomorrow" and "the weekend" never depend on the date the tests run."""

from __future__ import annotations

import re
import socket
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from assistant import (
    Assistant,
    DailyForecast,
    IntentCatalog,
    OpenMeteoConfig,
    OpenMeteoProvider,
    UnknownPlaceError,
    WeatherError,
    WeatherReport,
    load_intents,
    recognize,
)
from assistant.open_meteo import DEFAULT_API_URL, FETCH_OUTCOMES, parse_forecast
from assistant.skills.weather import (
    NO_FORECAST,
    NOT_CONFIGURED,
    PAST,
    UNAVAILABLE,
    WHOLE_WEEK,
    AskedDays,
    asked_days,
    describe,
    temperature_phrase,
)
from assistant.weather_codes import WMO_SKY, sky_for_code
from tests.weather_support import Answer, ForecastServer, forecast_server, load_forecast
from tts.text import normalize_text

SEOUL = ZoneInfo("Asia/Seoul")
COLD_CLEAR_NOW = datetime(2026, 1, 12, 8, 50, tzinfo=SEOUL)  # a Monday
RAIN_NOW = datetime(2026, 7, 9, 14, 5, tzinfo=SEOUL)  # a Thursday
SNOW_NOW = datetime(2026, 12, 9, 19, 20, tzinfo=SEOUL)  # a Wednesday
LATITUDE, LONGITUDE = 37.5665, 126.978

# Open-Meteo's documented table: https://open-meteo.com/en/docs, "WMO Weather interpretation codes".
DOCUMENTED_CODES = {0, 1, 2, 3, 45, 48, 51, 53, 55, 56, 57, 61, 63, 65, 66, 67, 71, 73, 75, 77,
                    80, 81, 82, 85, 86, 95, 96, 99}


class Ticker:
    """A monotonic clock the test moves by hand (the cache's age)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def provider_for(server: ForecastServer, **overrides: Any) -> tuple[OpenMeteoProvider, list[str]]:
    """A provider for Seoul at the stand-in, and the list its fetch outcomes are appended to.

    The timeout is long (30 s) unless a test shortens it: a loaded machine must not turn the
    stand-in's answer into a timeout."""
    outcomes: list[str] = []
    values: dict[str, Any] = dict(
        latitude=LATITUDE, longitude=LONGITUDE, place="서울", api_url=server.url, timeout_s=30.0,
    )
    monotonic = overrides.pop("monotonic", None)
    values.update(overrides)
    provider = OpenMeteoProvider(
        OpenMeteoConfig(**values), on_fetch=outcomes.append,
        **({"monotonic": monotonic} if monotonic is not None else {}),
    )
    return provider, outcomes


def ask(provider: OpenMeteoProvider, tmp_path: Path, now: datetime, text: str) -> str:
    """The assistant's reply to `text` at `now`, weather from `provider`."""
    assistant = Assistant(tmp_path / "assistant.sqlite3", clock=lambda: now, weather=provider)
    try:
        reply = assistant.ask(text).reply
    finally:
        assistant.close()
    assert reply is not None
    return reply


def reading(reply: str) -> str:
    """What the voice says for `reply` (`sori g2p`'s `normalized`), checked to drop nothing and to
    leave no digits, Latin letters or symbols for the voice to stumble on."""
    normalized, dropped = normalize_text(reply)
    assert dropped == ()
    assert not re.search(r"[0-9A-Za-z%°]", normalized), normalized
    return normalized


@pytest.fixture(autouse=True)
def _no_proxy_for_the_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests to the stand-in on 127.0.0.1 go straight to it, whatever proxy the machine has."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def catalog() -> IntentCatalog:
    """The compiled templates, once for the module."""
    return load_intents()


# ----- the bar: recorded forecasts, replies right and read right ----------------------------------

def test_a_cold_clear_day(tmp_path: Path) -> None:
    with forecast_server(Answer.json(load_forecast("cold_clear_day"))) as server:
        provider, outcomes = provider_for(server)
        reply = ask(provider, tmp_path, COLD_CLEAR_NOW, "오늘 날씨 어때?")
    assert reply == ("지금 서울 날씨는 맑음이에요. 기온은 영하 7.3도예요. "
                     "오늘 최저 기온은 영하 11도, 최고 기온은 영하 2도예요. 강수 확률은 0퍼센트예요.")
    assert reading(reply) == ("지금 서울 날씨는 맑음이에요. 기온은 영하 칠 점 삼 도예요. "
                              "오늘 최저 기온은 영하 십일 도, 최고 기온은 영하 이 도예요. 강수 확률은 영 퍼센트예요.")
    assert outcomes == ["ok"]


def test_rain_tomorrow(tmp_path: Path) -> None:
    with forecast_server(Answer.json(load_forecast("rain_tomorrow"))) as server:
        provider, _ = provider_for(server)
        reply = ask(provider, tmp_path, RAIN_NOW, "내일 비 와?")
        umbrella = ask(provider, tmp_path, RAIN_NOW, "내일 우산 필요해?")
        after = ask(provider, tmp_path, RAIN_NOW, "모레 서울 날씨는?")
    assert reply == umbrella == ("내일 서울 날씨는 비예요. "
                                 "최저 기온은 22도, 최고 기온은 26도예요. 강수 확률은 90퍼센트예요.")
    assert reading(reply) == ("내일 서울 날씨는 비예요. "
                              "최저 기온은 이십이 도, 최고 기온은 이십육 도예요. 강수 확률은 구십 퍼센트예요.")
    assert after == "모레 서울 날씨는 소나기예요. 최저 기온은 22도, 최고 기온은 27도예요. 강수 확률은 70퍼센트예요."
    reading(after)


def test_snow_at_the_weekend(tmp_path: Path) -> None:
    with forecast_server(Answer.json(load_forecast("snow_weekend"))) as server:
        provider, _ = provider_for(server)
        reply = ask(provider, tmp_path, SNOW_NOW, "주말에 눈 와?")
        same = ask(provider, tmp_path, SNOW_NOW, "이번 주말 날씨 어때")
        saturday = ask(provider, tmp_path, SNOW_NOW, "토요일 날씨 어때")
    assert reply == same == (
        "이번 주말 서울 날씨를 알려 드릴게요. "
        "토요일은 눈이에요. 최저 기온은 영하 4도, 최고 기온은 0도예요. 강수 확률은 80퍼센트예요. "
        "일요일은 약한 소낙눈이에요. 최저 기온은 영하 6도, 최고 기온은 영하 2도예요. 강수 확률은 65퍼센트예요.")
    assert reading(reply) == (
        "이번 주말 서울 날씨를 알려 드릴게요. "
        "토요일은 눈이에요. 최저 기온은 영하 사 도, 최고 기온은 영 도예요. 강수 확률은 팔십 퍼센트예요. "
        "일요일은 약한 소낙눈이에요. 최저 기온은 영하 육 도, 최고 기온은 영하 이 도예요. 강수 확률은 육십오 퍼센트예요.")
    assert saturday == "토요일 서울 날씨는 눈이에요. 최저 기온은 영하 4도, 최고 기온은 0도예요. 강수 확률은 80퍼센트예요."


def test_the_request_carries_the_place_and_the_documented_parameters(tmp_path: Path) -> None:
    with forecast_server(Answer.json(load_forecast("cold_clear_day"))) as server:
        provider, _ = provider_for(server)
        ask(provider, tmp_path, COLD_CLEAR_NOW, "날씨 알려줘")
    [(path, query)] = server.requests
    assert path == "/v1/forecast"
    assert query == {
        "latitude": ["37.5665"],
        "longitude": ["126.978"],
        "current": ["temperature_2m,weather_code"],
        "daily": ["weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max"],
        "timezone": ["auto"],
        "forecast_days": ["7"],
    }
    assert OpenMeteoConfig(LATITUDE, LONGITUDE).api_url == DEFAULT_API_URL == "https://api.open-meteo.com/v1/forecast"
    with_query = OpenMeteoConfig(-33.9, 18.4, api_url="http://mirror.test/v1/forecast?apikey=x")
    assert with_query.request_url().startswith("http://mirror.test/v1/forecast?apikey=x&latitude=-33.9&")


# ----- failures: the honest reply, counted, never an exception -----------------------------------

@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (Answer.json({"error": True, "reason": "Latitude must be in range of -90 to 90°."}, status=400),
         "http_error"),
        (Answer(b"upstream broke", status=502, content_type="text/plain"), "http_error"),
        (Answer(b'{"current": {"temperature_2m": -3.1, "weather_code": 0}, "daily": {"time": ['),
         "malformed"),
        (Answer("날씨".encode("euc-kr")), "malformed"),
        (Answer(b"<html>maintenance</html>", content_type="text/html"), "malformed"),
    ],
    ids=["http-400-with-reason", "http-502", "truncated-json", "not-utf8", "html"],
)
def test_errors_get_the_honest_reply(tmp_path: Path, answer: Answer, outcome: str) -> None:
    with forecast_server(answer) as server:
        provider, outcomes = provider_for(server)
        assert ask(provider, tmp_path, COLD_CLEAR_NOW, "오늘 날씨 어때?") == UNAVAILABLE
    assert outcomes == [outcome]


def test_a_slow_provider_gets_the_honest_reply(tmp_path: Path) -> None:
    # The stand-in holds its answer for a minute (released when the test ends); the provider's
    # timeout is half a second, so whatever the machine's speed, the answer comes too late.
    slow = Answer.json(load_forecast("cold_clear_day"), delay_s=60.0)
    with forecast_server(slow) as server:
        provider, outcomes = provider_for(server, timeout_s=0.5)
        assert ask(provider, tmp_path, COLD_CLEAR_NOW, "오늘 날씨 어때?") == UNAVAILABLE
    assert outcomes == ["timeout"]


def test_an_unreachable_provider_gets_the_honest_reply(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcomes: list[str] = []
    provider = OpenMeteoProvider(
        OpenMeteoConfig(LATITUDE, LONGITUDE, "서울", f"http://127.0.0.1:{port}/v1/forecast"),
        on_fetch=outcomes.append,
    )
    assert ask(provider, tmp_path, COLD_CLEAR_NOW, "날씨 알려줘") == UNAVAILABLE
    assert outcomes == ["unreachable"]


def _broken(change: Any) -> dict[str, Any]:
    payload = load_forecast("cold_clear_day")
    change(payload)
    return payload


@pytest.mark.parametrize(
    "payload",
    [
        _broken(lambda p: p.pop("daily")),
        _broken(lambda p: p.pop("current")),
        _broken(lambda p: p["current"].pop("weather_code")),
        _broken(lambda p: p["current"].update(weather_code=None)),
        _broken(lambda p: p["current"].update(temperature_2m="cold")),
        _broken(lambda p: p["daily"].pop("precipitation_probability_max")),
        _broken(lambda p: p["daily"]["temperature_2m_min"].pop()),
        _broken(lambda p: p["daily"]["time"].__setitem__(1, "tomorrow")),
        _broken(lambda p: p["daily"]["time"].reverse()),
        _broken(lambda p: p["daily"]["weather_code"].__setitem__(0, 42)),
        _broken(lambda p: p["daily"]["weather_code"].__setitem__(0, 1.5)),
        _broken(lambda p: p["daily"]["precipitation_probability_max"].__setitem__(0, 140)),
        _broken(lambda p: p["daily_units"].update(temperature_2m_max="°F")),
        [1, 2, 3],
    ],
    ids=["no-daily", "no-current", "no-current-code", "null-current-code", "text-temperature",
         "no-probability", "short-column", "bad-date", "dates-backwards", "undocumented-code",
         "fractional-code", "probability-over-100", "fahrenheit", "not-an-object"],
)
def test_missing_or_wrong_fields_get_the_honest_reply(tmp_path: Path, payload: Any) -> None:
    with pytest.raises(ValueError):
        parse_forecast(payload)
    with forecast_server(Answer.json(payload)) as server:
        provider, outcomes = provider_for(server)
        assert ask(provider, tmp_path, COLD_CLEAR_NOW, "오늘 날씨 어때?") == UNAVAILABLE
    assert outcomes == ["malformed"]


def test_null_values_leave_out_only_what_is_unknown(tmp_path: Path) -> None:
    payload = load_forecast("cold_clear_day")
    payload["current"]["temperature_2m"] = None
    payload["daily"]["temperature_2m_min"][0] = None
    payload["daily"]["precipitation_probability_max"][0] = None
    payload["daily"]["weather_code"][1] = None
    for column in ("temperature_2m_min", "temperature_2m_max", "precipitation_probability_max"):
        payload["daily"][column][2] = None
    with forecast_server(Answer.json(payload)) as server:
        provider, _ = provider_for(server)
        today = ask(provider, tmp_path, COLD_CLEAR_NOW, "오늘 날씨 어때?")
        tomorrow = ask(provider, tmp_path, COLD_CLEAR_NOW, "내일 날씨 어때?")
        after = ask(provider, tmp_path, COLD_CLEAR_NOW, "모레 날씨 어때?")
    assert today == "지금 서울 날씨는 맑음이에요. 오늘 최고 기온은 영하 2도예요."
    assert tomorrow == "내일 서울 최저 기온은 영하 10도, 최고 기온은 영하 1도예요. 강수 확률은 3퍼센트예요."
    assert after == "모레 서울 날씨는 구름 많음이에요."
    for reply in (today, tomorrow, after):
        reading(reply)


# ----- the cache and the pause after a failure ---------------------------------------------------

def test_reports_are_cached_for_a_few_minutes(tmp_path: Path) -> None:
    ticker = Ticker()
    with forecast_server(Answer.json(load_forecast("rain_tomorrow"))) as server:
        provider, outcomes = provider_for(server, cache_s=300.0, monotonic=ticker)
        first = ask(provider, tmp_path, RAIN_NOW, "내일 비 와?")
        ticker.now += 299.0
        assert ask(provider, tmp_path, RAIN_NOW, "내일 비 와?") == first
        assert len(server.requests) == 1
        ticker.now += 2.0
        assert ask(provider, tmp_path, RAIN_NOW, "내일 비 와?") == first
        assert len(server.requests) == 2
    assert outcomes == ["ok", "ok"]


def test_after_a_failure_the_provider_pauses_then_recovers(tmp_path: Path) -> None:
    ticker = Ticker()
    with forecast_server(Answer(b"down", status=503)) as server:
        provider, outcomes = provider_for(server, retry_after_failure_s=30.0, monotonic=ticker)
        assert ask(provider, tmp_path, RAIN_NOW, "날씨 알려줘") == UNAVAILABLE
        server.answer = Answer.json(load_forecast("rain_tomorrow"))
        ticker.now += 29.0
        assert ask(provider, tmp_path, RAIN_NOW, "날씨 알려줘") == UNAVAILABLE  # not asked again yet
        assert len(server.requests) == 1
        ticker.now += 2.0
        assert ask(provider, tmp_path, RAIN_NOW, "날씨 알려줘").startswith("지금 서울 날씨는 흐림이에요.")
    assert outcomes == ["http_error", "ok"]


# ----- places, days and honest answers that need no request --------------------------------------

def test_another_place_is_answered_honestly_without_a_request(tmp_path: Path) -> None:
    with forecast_server(Answer.json(load_forecast("cold_clear_day"))) as server:
        seoul, _ = provider_for(server)
        assert ask(seoul, tmp_path, COLD_CLEAR_NOW, "부산 날씨 어때") == (
            "저는 서울 날씨만 알 수 있어서 부산 날씨는 알려 드릴 수 없어요.")
        unnamed, _ = provider_for(server, place=None)
        assert ask(unnamed, tmp_path, COLD_CLEAR_NOW, "내일 서울 날씨 알려줘") == (
            "저는 설정된 곳의 날씨만 알 수 있어서 서울 날씨는 알려 드릴 수 없어요.")
        assert server.requests == []
        assert ask(unnamed, tmp_path, COLD_CLEAR_NOW, "날씨 알려줘").startswith("지금 날씨는 맑음이에요.")
        assert ask(seoul, tmp_path, COLD_CLEAR_NOW, "서울 내일 날씨 어때").startswith("내일 서울 날씨는 대체로 맑음이에요.")
    with pytest.raises(UnknownPlaceError):
        seoul.forecast("부산")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("어제 날씨 어땠어", PAST), ("이번 주 날씨 어때", WHOLE_WEEK),
     ("다음 주말 날씨 어때", NO_FORECAST.format(when="다음 주말"))],
)
def test_days_a_forecast_cannot_answer(tmp_path: Path, text: str, expected: str) -> None:
    with forecast_server(Answer.json(load_forecast("cold_clear_day"))) as server:
        provider, _ = provider_for(server)
        assert ask(provider, tmp_path, COLD_CLEAR_NOW, text) == expected
    reading(expected)


def test_not_configured_is_said_plainly(tmp_path: Path) -> None:
    assistant = Assistant(tmp_path / "a.sqlite3", clock=lambda: COLD_CLEAR_NOW)
    assert assistant.ask("내일 날씨 어때?").reply == NOT_CONFIGURED
    assistant.close()


MONDAY, WEDNESDAY, SATURDAY, SUNDAY = date(2026, 12, 7), date(2026, 12, 9), date(2026, 12, 12), date(2026, 12, 13)


@pytest.mark.parametrize(
    ("slots", "today", "expected"),
    [
        ({}, WEDNESDAY, AskedDays("오늘", (WEDNESDAY,), now=True)),
        ({"day": "오늘 밤"}, WEDNESDAY, AskedDays("오늘", (WEDNESDAY,))),
        ({"day": "내일 아침"}, WEDNESDAY, AskedDays("내일", (date(2026, 12, 10),))),
        ({"day": "내일모레"}, WEDNESDAY, AskedDays("모레", (date(2026, 12, 11),))),
        ({"day": "주말"}, WEDNESDAY, AskedDays("이번 주말", (SATURDAY, SUNDAY))),
        ({"day": "주말"}, SATURDAY, AskedDays("이번 주말", (SATURDAY, SUNDAY))),
        ({"day": "주말"}, SUNDAY, AskedDays("이번 주말", (SUNDAY,))),
        ({"day": "다음 주말"}, MONDAY, AskedDays("다음 주말", (date(2026, 12, 19), date(2026, 12, 20)))),
        ({"week": "다음 주", "day": "주말"}, SUNDAY, AskedDays("다음 주말", (date(2026, 12, 19), date(2026, 12, 20)))),
        ({"day": "수요일"}, WEDNESDAY, AskedDays("수요일", (WEDNESDAY,))),
        ({"day": "월요일"}, WEDNESDAY, AskedDays("월요일", (date(2026, 12, 14),))),
        ({"week": "이번 주", "day": "금요일"}, WEDNESDAY, AskedDays("이번 주 금요일", (date(2026, 12, 11),))),
        ({"week": "다음 주", "day": "월요일"}, SUNDAY, AskedDays("다음 주 월요일", (date(2026, 12, 14),))),
        ({"week": "이번 주", "day": "월요일"}, WEDNESDAY, PAST),
        ({"day": "그저께"}, WEDNESDAY, PAST),
        ({"day": "다음 주"}, WEDNESDAY, WHOLE_WEEK),
    ],
)
def test_asked_days_from_the_slots(slots: dict[str, str], today: date, expected: AskedDays | str) -> None:
    assert asked_days(slots, today) == expected


def test_every_day_the_templates_capture_is_understood() -> None:
    own = yaml.safe_load(resources.files("assistant").joinpath("intents_ko.yaml").read_text("utf-8"))
    values = own["lists"]["sori_weather_day"]["values"]
    days = {value["out"] if isinstance(value, dict) else value for value in values}
    weeks = {value["out"] if isinstance(value, dict) else value for value in own["lists"]["sori_weather_week"]["values"]}
    for today in (MONDAY, WEDNESDAY, SATURDAY, SUNDAY):
        for day in days:
            for week in (None, *weeks):
                slots = {"day": day} if week is None else {"day": day, "week": week}
                assert isinstance(asked_days(slots, today), AskedDays | str), (day, week)


def test_the_last_weekend_day_is_answered_as_one_day(tmp_path: Path) -> None:
    sunday = datetime(2026, 12, 13, 9, 0, tzinfo=SEOUL)
    payload = load_forecast("snow_weekend")  # starts on Wednesday 9 December
    with forecast_server(Answer.json(payload)) as server:
        provider, _ = provider_for(server)
        assert ask(provider, tmp_path, sunday, "주말 날씨 어때") == (
            "이번 주말 서울 날씨는 약한 소낙눈이에요. 최저 기온은 영하 6도, 최고 기온은 영하 2도예요. "
            "강수 확률은 65퍼센트예요.")


@pytest.mark.parametrize(
    ("text", "slots"),
    [
        ("오늘 날씨 어때?", {}), ("비 올 확률 알려줘", {}), ("지금 기온 몇 도야", {}), ("눈 와?", {}),
        ("내일 비 와?", {"day": "내일"}), ("내일 추워?", {"day": "내일"}), ("내일 눈 올까?", {"day": "내일"}),
        ("내일 최저 기온 알려줘", {"day": "내일"}), ("내일 최고 기온은 몇 도야", {"day": "내일"}),
        ("내일 비 올 확률은?", {"day": "내일"}), ("내일은 날씨가 어때?", {"day": "내일"}),
        ("모레 날씨는?", {"day": "모레"}), ("주말에 눈 와?", {"day": "주말"}), ("주말에 날씨 어때", {"day": "주말"}),
        ("이번주말 날씨 어때요?", {"day": "이번 주말"}), ("어제 날씨 어땠어", {"day": "어제"}),
        ("서울 내일 날씨 어때", {"location": "서울", "day": "내일"}),
        ("내일 김해 비 와?", {"day": "내일", "location": "김해"}),
        ("다음 주 토요일 날씨 어때", {"week": "다음 주", "day": "토요일"}),
    ],
)
def test_weather_questions_are_recognised_with_their_day(
    catalog: IntentCatalog, text: str, slots: dict[str, str]
) -> None:
    recognition = recognize(text, catalog)
    assert recognition is not None
    assert (recognition.intent, dict(recognition.slots)) == ("HassGetWeather", slots)


# ----- words and readings ------------------------------------------------------------------------

def test_every_documented_wmo_code_has_korean_words_that_read_right() -> None:
    assert set(WMO_SKY) == DOCUMENTED_CODES
    assert (sky_for_code(0), sky_for_code(61), sky_for_code(73), sky_for_code(95)) == ("맑음", "약한 비", "눈", "뇌우")
    for code, words in WMO_SKY.items():
        assert reading(describe(WeatherReport(condition=words))) == describe(WeatherReport(condition=words)), code
    with pytest.raises(ValueError, match="42"):
        sky_for_code(42)


@pytest.mark.parametrize(
    ("code", "said"),
    [(0, "맑음이에요"), (2, "구름 많음이에요"), (45, "안개예요"), (53, "이슬비예요"), (63, "비예요"),
     (73, "눈이에요"), (77, "싸락눈이에요"), (82, "강한 소나기예요"), (86, "강한 소낙눈이에요"),
     (95, "뇌우예요"), (99, "강한 우박을 동반한 뇌우예요")],
)
def test_the_sky_takes_the_right_copula(code: int, said: str) -> None:
    assert describe(WeatherReport(condition=sky_for_code(code))) == f"지금 날씨는 {said}."


@pytest.mark.parametrize(
    ("celsius", "spoken", "heard"),
    [(-7.3, "영하 7.3도", "영하 칠 점 삼 도"), (-0.04, "0도", "영 도"), (0.0, "0도", "영 도"),
     (31.0, "31도", "삼십일 도"), (-12.0, "영하 12도", "영하 십이 도")],
)
def test_temperatures_read_right(celsius: float, spoken: str, heard: str) -> None:
    assert temperature_phrase(celsius) == spoken
    assert reading(f"기온은 {spoken}예요.") == f"기온은 {heard}예요."


def test_today_names_a_change_of_sky_later_in_the_day() -> None:
    today = date(2026, 7, 9)
    report = WeatherReport("흐림", 27.4, "서울", (DailyForecast(today, "소나기", 22.6, 29.8, 60),))
    reply = describe(report, today)
    assert reply == ("지금 서울 날씨는 흐림이에요. 기온은 27.4도예요. 오늘 예보는 소나기예요. "
                     "오늘 최저 기온은 23도, 최고 기온은 30도예요. 강수 확률은 60퍼센트예요.")
    assert reading(reply).startswith("지금 서울 날씨는 흐림이에요. 기온은 이십칠 점 사 도예요.")


# ----- configuration -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "values",
    [dict(latitude=91.0, longitude=0.0), dict(latitude=0.0, longitude=-181.0),
     dict(latitude=0.0, longitude=0.0, api_url="ftp://example.test/forecast"),
     dict(latitude=0.0, longitude=0.0, place=" "), dict(latitude=0.0, longitude=0.0, timeout_s=0.0),
     dict(latitude=0.0, longitude=0.0, forecast_days=17)],
)
def test_bad_configs_are_refused(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        OpenMeteoConfig(**values)


def test_fetch_outcomes_are_the_documented_metric_labels() -> None:
    assert FETCH_OUTCOMES == ("ok", "timeout", "unreachable", "http_error", "malformed")


def test_provider_errors_are_weather_errors(tmp_path: Path) -> None:
    with forecast_server(Answer(b"nope", status=500)) as server:
        provider, _ = provider_for(server)
        with pytest.raises(WeatherError, match="HTTP 500"):
            provider.forecast(None)
