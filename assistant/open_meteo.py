"""The weather from Open-Meteo's forecast API (no API key): one fixed place, a short timeout, a cache.

One GET of `/v1/forecast` asks for the temperature and WMO weather code now and, per day, the code,
the lowest and highest temperature and the highest chance of precipitation, in the place's own
timezone (`timezone=auto`). The answer is checked field by field; anything unexpected (an HTTP
error, a timeout, a body that is not the documented JSON shape) becomes a WeatherError, never a
half-read report. Successful reports are cached for `cache_s`; after a failure the provider waits
`retry_after_failure_s` before it tries again, so a dead API costs one timeout, not one per question.

HTTP is the standard library's (urllib), so the slim install needs nothing more.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, get_args

from assistant.weather import DailyForecast, UnknownPlaceError, WeatherError, WeatherReport
from assistant.weather_codes import sky_for_code

DEFAULT_API_URL = "https://api.open-meteo.com/v1/forecast"
"""Open-Meteo's forecast endpoint."""
CURRENT_VARIABLES = ("temperature_2m", "weather_code")
DAILY_VARIABLES = (
    "weather_code", "temperature_2m_max", "temperature_2m_min", "precipitation_probability_max",
)
MAX_RESPONSE_BYTES = 1 << 20
"""A forecast of 16 days is a few KiB; anything larger than this is not one."""
CELSIUS = "°C"
READ_CHUNK_BYTES = 65536

FetchOutcome = Literal["ok", "timeout", "unreachable", "http_error", "malformed"]
"""How one request to the API ended: "ok", or why it failed."""
FETCH_OUTCOMES: tuple[FetchOutcome, ...] = get_args(FetchOutcome)


@dataclass(frozen=True)
class OpenMeteoConfig:
    """Where to ask, for which place, and how patiently."""

    latitude: float
    """WGS84 latitude of the place, -90 to 90."""
    longitude: float
    """WGS84 longitude of the place, -180 to 180."""
    place: str | None = None
    """The place's name as said in replies and recognised in questions (e.g. "서울"); None: unnamed."""
    api_url: str = DEFAULT_API_URL
    """The forecast endpoint (http or https); a mirror or a self-hosted Open-Meteo works too."""
    timeout_s: float = 3.0
    """Seconds allowed to connect and for each read; the whole answer must arrive within this too."""
    cache_s: float = 300.0
    """Seconds a successful report is reused before the API is asked again (0: never reused)."""
    retry_after_failure_s: float = 30.0
    """Seconds after a failed request during which questions are answered "unavailable" at once."""
    forecast_days: int = 7
    """Days of forecast asked for, today included (1–16): 7 reaches the coming weekend from any day."""

    def __post_init__(self) -> None:
        """Refuse coordinates, URLs and limits Open-Meteo (or common sense) would not accept."""
        if not -90.0 <= self.latitude <= 90.0:
            raise ValueError(f"weather latitude must be between -90 and 90, got {self.latitude}")
        if not -180.0 <= self.longitude <= 180.0:
            raise ValueError(f"weather longitude must be between -180 and 180, got {self.longitude}")
        parsed = urllib.parse.urlsplit(self.api_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"weather API URL must be an http(s) URL, got {self.api_url!r}")
        if self.place is not None and not self.place.strip():
            raise ValueError("weather place must not be blank (leave it unset instead)")
        if not self.timeout_s > 0 or self.cache_s < 0 or self.retry_after_failure_s < 0:
            raise ValueError("weather timeout must be positive, cache and retry times not negative")
        if not 1 <= self.forecast_days <= 16:
            raise ValueError(f"forecast days must be 1 to 16, got {self.forecast_days}")

    def request_url(self) -> str:
        """The GET URL for this place: coordinates, the variables Sori reads, Celsius, local days."""
        query = urllib.parse.urlencode({
            "latitude": f"{self.latitude:g}",
            "longitude": f"{self.longitude:g}",
            "current": ",".join(CURRENT_VARIABLES),
            "daily": ",".join(DAILY_VARIABLES),
            "timezone": "auto",
            "forecast_days": str(self.forecast_days),
        })
        separator = "&" if urllib.parse.urlsplit(self.api_url).query else "?"
        return f"{self.api_url}{separator}{query}"


class _FetchFailed(WeatherError):
    """A request that did not give a usable forecast, and how it ended."""

    def __init__(self, outcome: FetchOutcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


# ----- parsing the documented JSON shape ---------------------------------------------------------

def _field(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise ValueError(f"{where} has no {key!r}")
    return mapping[key]


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not a JSON object")
    return value


def _number(value: Any, where: str, *, optional: bool = True) -> float | None:
    """A finite JSON number, or None for JSON null when `optional`."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where} is {value!r}, not a number")
    return float(value)


def _code(value: Any, where: str, *, optional: bool = True) -> str | None:
    """The Korean sky for a WMO code given as a whole JSON number, or None for null."""
    number = _number(value, where, optional=optional)
    if number is None:
        return None
    if not number.is_integer():
        raise ValueError(f"{where} is {value!r}, not a whole WMO code")
    return sky_for_code(int(number))


def _probability(value: Any, where: str) -> int | None:
    number = _number(value, where)
    if number is None:
        return None
    if not 0.0 <= number <= 100.0:
        raise ValueError(f"{where} is {value!r}, not a percentage")
    return round(number)


def _check_units(payload: Mapping[str, Any], section: str, variables: Sequence[str]) -> None:
    """Temperatures must be in Celsius where the answer states units (it always does upstream)."""
    units = payload.get(f"{section}_units")
    if units is None:
        return
    units = _object(units, f"{section}_units")
    for variable in variables:
        unit = units.get(variable)
        if variable.startswith("temperature") and unit is not None and unit != CELSIUS:
            raise ValueError(f"{section}_units.{variable} is {unit!r}, not {CELSIUS}")


def _days(daily: Mapping[str, Any]) -> tuple[DailyForecast, ...]:
    times = _field(daily, "time", "daily")
    columns = {name: _field(daily, name, "daily") for name in DAILY_VARIABLES}
    if not isinstance(times, list) or not times:
        raise ValueError("daily.time is not a non-empty list")
    for name, column in columns.items():
        if not isinstance(column, list) or len(column) != len(times):
            raise ValueError(f"daily.{name} is not a list as long as daily.time")
    days = []
    for index, stamp in enumerate(times):
        try:
            day = date.fromisoformat(stamp) if isinstance(stamp, str) else None
        except ValueError:
            day = None
        if day is None:
            raise ValueError(f"daily.time[{index}] is {stamp!r}, not an ISO date")
        days.append(DailyForecast(
            day=day,
            condition=_code(columns["weather_code"][index], f"daily.weather_code[{index}]"),
            low_celsius=_number(columns["temperature_2m_min"][index], f"daily.temperature_2m_min[{index}]"),
            high_celsius=_number(columns["temperature_2m_max"][index], f"daily.temperature_2m_max[{index}]"),
            precipitation_probability=_probability(
                columns["precipitation_probability_max"][index],
                f"daily.precipitation_probability_max[{index}]",
            ),
        ))
    if any(later.day <= earlier.day for earlier, later in zip(days, days[1:], strict=False)):
        raise ValueError("daily.time is not in increasing date order")
    return tuple(days)


def parse_forecast(payload: Any, place: str | None = None) -> WeatherReport:
    """The report in an Open-Meteo forecast answer; ValueError naming the first field that is wrong."""
    payload = _object(payload, "the answer")
    _check_units(payload, "current", CURRENT_VARIABLES)
    _check_units(payload, "daily", DAILY_VARIABLES)
    current = _object(_field(payload, "current", "the answer"), "current")
    condition = _code(_field(current, "weather_code", "current"), "current.weather_code", optional=False)
    assert condition is not None  # not optional: a null code raised above
    temperature = _number(_field(current, "temperature_2m", "current"), "current.temperature_2m")
    days = _days(_object(_field(payload, "daily", "the answer"), "daily"))
    return WeatherReport(condition=condition, temperature_celsius=temperature, location=place, days=days)


# ----- the provider ------------------------------------------------------------------------------

def _error_reason(error: urllib.error.HTTPError) -> str:
    """Open-Meteo's own reason from an error body ({"error": true, "reason": ...}), if it gave one."""
    try:
        body = json.loads(error.read(4096).decode("utf-8"))
        reason = body.get("reason") if isinstance(body, dict) else None
    except (OSError, ValueError, http.client.HTTPException):
        reason = None
    return f": {str(reason)[:200]}" if reason else ""


def _read_within(response: http.client.HTTPResponse, deadline: float) -> bytes:
    """The whole body, failing when it outlasts `deadline` (time.monotonic) or MAX_RESPONSE_BYTES."""
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(READ_CHUNK_BYTES):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise _FetchFailed("malformed", f"the answer is larger than {MAX_RESPONSE_BYTES} bytes")
        if time.monotonic() > deadline:
            raise _FetchFailed("timeout", "the answer did not arrive within the timeout")
        chunks.append(chunk)
    return b"".join(chunks)


class OpenMeteoProvider:
    """A `WeatherProvider` for the one place in `config`; safe to share between threads.

    `on_fetch` is told how every request to the API ended (a FetchOutcome), e.g. to count them in
    metrics; `monotonic` is the clock the cache ages by (injectable for tests).
    """

    def __init__(
        self,
        config: OpenMeteoConfig,
        *,
        on_fetch: Callable[[FetchOutcome], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._on_fetch = on_fetch
        self._monotonic = monotonic
        # One lock for the cache and the request: concurrent questions share one fetch.
        self._lock = threading.Lock()
        self._report: WeatherReport | None = None
        self._fetched_at = 0.0
        self._failure: tuple[float, str] | None = None

    def forecast(self, location: str | None) -> WeatherReport:
        """The (cached) report; UnknownPlaceError for another place, WeatherError when unavailable."""
        if location is not None and location.strip() != self.config.place:
            raise UnknownPlaceError(location, self.config.place)
        with self._lock:
            now = self._monotonic()
            if self._report is not None and now - self._fetched_at < self.config.cache_s:
                return self._report
            if self._failure is not None and now - self._failure[0] < self.config.retry_after_failure_s:
                raise WeatherError(f"{self._failure[1]} (not retried for {self.config.retry_after_failure_s:g} s)")
            try:
                report = self._fetch()
            except _FetchFailed as failure:
                self._failure = (self._monotonic(), str(failure))
                self._record(failure.outcome)
                raise WeatherError(str(failure)) from failure
            self._report, self._fetched_at, self._failure = report, self._monotonic(), None
            self._record("ok")
            return report

    def _record(self, outcome: FetchOutcome) -> None:
        if self._on_fetch is not None:
            self._on_fetch(outcome)

    def _fetch(self) -> WeatherReport:
        """One GET of the forecast, read and parsed; _FetchFailed with the outcome otherwise."""
        url = self.config.request_url()
        host = urllib.parse.urlsplit(url).netloc
        request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "sori"})
        deadline = time.monotonic() + self.config.timeout_s
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_s) as response:
                body = _read_within(response, deadline)
        except urllib.error.HTTPError as error:
            with error:
                raise _FetchFailed("http_error", f"{host} answered HTTP {error.code}{_error_reason(error)}") from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise _FetchFailed("timeout", f"{host} did not answer within {self.config.timeout_s:g} s") from None
            raise _FetchFailed("unreachable", f"{host} is unreachable: {error.reason}") from None
        except TimeoutError:
            raise _FetchFailed("timeout", f"{host} did not answer within {self.config.timeout_s:g} s") from None
        except (OSError, http.client.HTTPException) as error:
            raise _FetchFailed("unreachable", f"{host} broke off the answer: {error!r}") from None
        try:
            return parse_forecast(json.loads(body.decode("utf-8")), self.config.place)
        except (UnicodeDecodeError, ValueError) as error:
            raise _FetchFailed("malformed", f"{host} sent an answer Sori cannot read: {error}") from None
