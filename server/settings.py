"""Server settings from `SORI_*` environment variables (pydantic-settings), read when constructed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from assistant.open_meteo import OpenMeteoConfig


def _default_data_dir() -> Path:
    """Sori's data directory (`tts.data_dir`), imported when first needed, not with the settings."""
    from tts import data_dir

    return data_dir()


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class Settings(BaseSettings):
    """Everything `create_app` needs; each field is also the env var `SORI_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="SORI_", frozen=True, extra="ignore")

    voice: str | None = None
    """Default voice: a registry name or a voice directory; None means the bundled default voice."""
    voices_dir: Path | None = None
    """An extra directory searched for voices (each subdirectory with a config.json is one)."""
    device: str = "auto"
    """Where the model runs: auto (CUDA when available), cpu, cuda or cuda:N."""
    cuda_graphs: bool = True
    """On CUDA, decode by replaying captured CUDA graphs (off: the eager fast loop); never on a CPU."""
    runtime: Literal["auto", "torch", "onnx"] = "auto"
    """What runs the voices: torch, ONNX Runtime (the voice's `sori export-onnx` files, on the CPU),
    or auto: torch when it is installed, else ONNX Runtime (a slim install)."""
    switch_interval_ms: float | None = Field(None, gt=0.0, le=100.0)
    """`sori serve` sets Python's thread switch interval (sys.setswitchinterval) to this; None keeps
    Python's 5 ms. Shorter lets the inference worker take the GIL back sooner after each wait."""
    host: str = "127.0.0.1"
    """Interface `sori serve` binds to."""
    port: int = Field(8000, ge=0, le=65535)
    """TCP port `sori serve` listens on."""

    max_text_chars_speak: int = Field(1000, ge=1)
    """Longest text accepted by /speak and /speak/alignment (longer: 413)."""
    max_alignment_sentences: int = Field(16, ge=1, le=1000)
    """Most sentences /speak/alignment draws in one image (more: 413 naming the limit). Each panel
    costs about 0.1-0.3 s of one core to draw (in the plotting process), so this bounds a plot to
    a few seconds and its PNG to a few hundred kB."""
    max_text_chars_openai: int = Field(4096, ge=1)
    """Longest `input` accepted by /v1/audio/speech (longer: 413)."""
    max_text_chars_assistant: int = Field(500, ge=1)
    """Longest utterance accepted by /assistant (longer: 413)."""
    max_body_bytes: int = Field(65536, ge=256)
    """Largest request body in bytes, by Content-Length and by what actually arrives (larger: 413)."""

    queue_size: int = Field(256, ge=1)
    """Requests waiting for the inference worker; when full, new ones get 503 with Retry-After."""
    max_batch_size: int = Field(64, ge=1)
    """Most requests (and sentences) decoded together in one batch."""
    cpu_max_batch_size: int = Field(8, ge=1)
    """On the CPU, most requests in one batch (the lower of this and max_batch_size): past about
    8 a CPU decodes each request hardly faster while every request in the batch waits longer."""
    cpu_workers: int | None = Field(None, ge=1, le=256)
    """On the CPU, batches served at once, each by its own thread on one core; None: one per core
    this process may use. On a GPU one thread feeds the device."""
    inference_processes: bool = False
    """Run each worker thread's batches in its own child process (server/inference_process.py), so
    the model's Python work does not compete with request handling for the interpreter lock.
    Costs a copy of each voice per child and a few seconds at start-up."""
    batch_wait_ms: float = Field(5.0, ge=0.0, le=1000.0)
    """How long a worker waits after the first request for more to join its batch."""
    request_timeout_s: float = Field(60.0, gt=0.0)
    """Per-request limit from arrival to finished audio (exceeded: 504)."""
    cache_size: int = Field(256, ge=0)
    """Finished syntheses kept in the in-memory LRU cache (0 disables it; in-flight sharing stays)."""
    cache_max_mb: float = Field(256.0, ge=0.0)
    """Memory bound of the cache, in MiB of audio and alignments."""
    griffin_lim_iters: int | None = Field(None, ge=1, le=500)
    """Override of the voice's Griffin-Lim iterations (fewer: faster, rougher)."""
    warmup: bool = True
    """Run the frontend and one synthesis at start-up so the first request is not slow."""
    drain_timeout_s: float = Field(30.0, ge=0.0, le=3600.0)
    """On SIGTERM, how long `sori serve` lets admitted requests finish before it exits anyway."""

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Origins allowed by CORS (comma-separated in the env var); empty turns CORS off."""
    api_key: SecretStr | None = None
    """When set, every endpoint but /healthz, /readyz and the page (/, /static) needs `Bearer <key>`."""

    data_dir: Path = Field(default_factory=_default_data_dir)
    """Where the assistant keeps its SQLite store (timers, shopping list) unless database_url is set."""
    database_url: SecretStr | None = None
    """The assistant's store: unset for the SQLite file under data_dir, `sqlite:///PATH`, or
    `postgresql://USER:PASSWORD@HOST:PORT/DB`, shared by every server (replica) that names it."""
    store_timeout_s: float | None = Field(None, gt=0.0, le=300.0)
    """How long a store operation waits for a lock (SQLite) or a connection (PostgreSQL) before
    the request answers 503; None: the engine's default (SQLite 30 s, PostgreSQL 5 s)."""
    timer_poll_s: float = Field(0.25, ge=0.05, le=5.0)
    """Longest wait between looks at the store for due timers (so timers started through other
    servers ring on time too)."""
    events_keepalive_s: float = Field(15.0, gt=0.0, le=300.0)
    """Idle time after which /assistant/events sends a keep-alive comment."""
    webhook_url: str | None = None
    """When set, each announcement (timer-finished) is also POSTed there as JSON."""
    webhook_timeout_s: float = Field(5.0, gt=0.0, le=60.0)
    """How long one webhook POST may take."""
    webhook_retries: int = Field(3, ge=0, le=10)
    """Retries of a failed webhook POST (with doubling backoff from 0.5 s) before it is given up."""
    timezone: str = "Asia/Seoul"
    """The assistant's timezone for times, dates and timers."""
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    """Log level for `sori serve` (uvicorn and Sori's loggers)."""

    weather_latitude: float | None = Field(None, ge=-90.0, le=90.0)
    """Latitude of the place the assistant's weather is for (Open-Meteo); with weather_longitude.
    Both unset: no weather provider, and weather questions are answered "not configured"."""
    weather_longitude: float | None = Field(None, ge=-180.0, le=180.0)
    """Longitude of the weather's place; set together with weather_latitude."""
    weather_place: str | None = None
    """The place's name as said in replies and recognised in questions, e.g. 서울; unset: unnamed."""
    weather_api_url: str | None = None
    """Open-Meteo's forecast endpoint, or a mirror's; unset: https://api.open-meteo.com/v1/forecast."""

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        """Accept a comma-separated string or a JSON list (env var) as well as a list."""
        if isinstance(value, str) and value.strip().startswith("["):
            return json.loads(value)
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("api_key", "database_url", "webhook_url", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: Any) -> Any:
        """An empty SORI_API_KEY (database URL, webhook URL) means none, not the empty string."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("weather_place", "weather_api_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """An empty SORI_WEATHER_PLACE or SORI_WEATHER_API_URL means unset."""
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_weather(self) -> Settings:
        """Latitude and longitude come together, and the weather settings make a valid config."""
        if (self.weather_latitude is None) != (self.weather_longitude is None):
            raise ValueError("set both SORI_WEATHER_LATITUDE and SORI_WEATHER_LONGITUDE, or neither")
        if self.weather_latitude is None and (self.weather_place or self.weather_api_url):
            raise ValueError("SORI_WEATHER_PLACE and SORI_WEATHER_API_URL need "
                             "SORI_WEATHER_LATITUDE and SORI_WEATHER_LONGITUDE")
        self.weather_config()  # raises ValueError for a URL that is not http(s)
        return self

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        """auto, cpu, cuda or cuda:N."""
        index = value.removeprefix("cuda:")
        if value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and index.isdigit()):
            return value
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {value!r}")

    @property
    def batch_wait_s(self) -> float:
        """batch_wait_ms in seconds."""
        return self.batch_wait_ms / 1000.0

    def worker_threads(self, on_cpu: bool) -> int:
        """Inference worker threads: cpu_workers (default: the usable cores) on a CPU, else one."""
        if not on_cpu:
            return 1
        return self.cpu_workers or usable_cores()

    def batch_limit(self, on_cpu: bool) -> int:
        """Most requests in one batch on this kind of device."""
        return min(self.max_batch_size, self.cpu_max_batch_size) if on_cpu else self.max_batch_size

    @property
    def cache_max_bytes(self) -> int:
        """cache_max_mb in bytes."""
        return int(self.cache_max_mb * 1024 * 1024)

    @property
    def assistant_store_path(self) -> Path:
        """The assistant's SQLite file under data_dir (used when database_url is unset)."""
        return self.data_dir / "assistant.sqlite3"

    def weather_config(self) -> OpenMeteoConfig | None:
        """The Open-Meteo provider's config for these settings, or None when no place is set."""
        if self.weather_latitude is None or self.weather_longitude is None:
            return None
        from assistant.open_meteo import DEFAULT_API_URL, OpenMeteoConfig

        return OpenMeteoConfig(
            latitude=self.weather_latitude,
            longitude=self.weather_longitude,
            place=self.weather_place,
            api_url=self.weather_api_url or DEFAULT_API_URL,
        )

    @property
    def store_url(self) -> str | None:
        """database_url in clear (for opening the store only; never log it)."""
        return self.database_url.get_secret_value() if self.database_url is not None else None

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook(cls, value: str | None) -> str | None:
        """An http(s) URL with a host."""
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("webhook_url must be an http:// or https:// URL with a host")
        return value
