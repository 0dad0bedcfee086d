"""Server settings from `SORI_*` environment variables (pydantic-settings), read when constructed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
    """Where the assistant keeps its SQLite store (timers, shopping list)."""
    timezone: str = "Asia/Seoul"
    """The assistant's timezone for times, dates and timers."""
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    """Log level for `sori serve` (uvicorn and Sori's loggers)."""

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        """Accept a comma-separated string or a JSON list (env var) as well as a list."""
        if isinstance(value, str) and value.strip().startswith("["):
            return json.loads(value)
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: Any) -> Any:
        """An empty SORI_API_KEY means no key, not a key that is the empty string."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

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
        """The assistant's SQLite file under data_dir."""
        return self.data_dir / "assistant.sqlite3"
