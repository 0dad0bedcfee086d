"""Prometheus metrics of one app, in its own registry so several apps can live in one process."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from assistant.open_meteo import FETCH_OUTCOMES

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
RTF_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The counters, gauges and histograms the server updates, and their text exposition."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "sori_http_requests", "HTTP requests by route, method and status code.",
            ["route", "method", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "sori_http_request_duration_seconds", "Time from request to the last response byte.",
            ["route"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.queue_depth = Gauge(
            "sori_queue_depth", "Requests waiting for the inference worker.", registry=self.registry
        )
        self.batch_size = Histogram(
            "sori_batch_size", "Requests per synthesize_many call.",
            buckets=BATCH_BUCKETS, registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "sori_batch_duration_seconds", "Wall time of one synthesize_many call.",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.real_time_factor = Histogram(
            "sori_synthesis_real_time_factor", "Batch synthesis time over the audio it produced.",
            buckets=RTF_BUCKETS, registry=self.registry,
        )
        self.audio_seconds = Counter(
            "sori_audio_seconds", "Seconds of audio synthesised.", registry=self.registry
        )
        self.failed_batches = Counter(
            "sori_failed_batches", "synthesize_many calls that raised.", registry=self.registry
        )
        self.attention_failures = Counter(
            "sori_attention_failures", "Syntheses with at least one failed sentence alignment.",
            registry=self.registry,
        )
        self.rejected = Counter(
            "sori_queue_rejections", "Requests refused because the queue was full.",
            registry=self.registry,
        )
        self.timeouts = Counter(
            "sori_request_timeouts", "Requests that exceeded the per-request timeout.",
            registry=self.registry,
        )
        self.cancelled = Counter(
            "sori_cancelled_requests", "Requests whose client disconnected before the audio was ready.",
            registry=self.registry,
        )
        self.stream_sentences_cancelled = Counter(
            "sori_stream_sentences_cancelled",
            "Sentences of streams whose client left before they were sent (dropped unsynthesised "
            "unless a worker had started on them).", registry=self.registry,
        )
        self.stream_errors = Counter(
            "sori_stream_errors", "Streams ended by an error after their first byte (logged).",
            registry=self.registry,
        )
        self.cache = Counter(
            "sori_cache_lookups", "Synthesis cache lookups: hit, shared (joined in-flight) or miss.",
            ["result"], registry=self.registry,
        )
        self.weather_fetches = Counter(
            "sori_weather_fetches", "Requests to the weather API by how they ended: ok, timeout, "
            "unreachable, http_error or malformed (questions answered from the cache make none).",
            ["result"], registry=self.registry,
        )
        for outcome in FETCH_OUTCOMES:  # every result shows from the start, at 0
            self.weather_fetches.labels(result=outcome)

        self.store_errors = Counter(
            "sori_store_errors", "Assistant store operations that failed because the store was "
            "unavailable (locked, down, unreachable): from requests or the timer announcer.",
            ["source"], registry=self.registry,
        )
        self.announcements = Counter(
            "sori_timer_announcements", "Timers this server announced (claimed once across all "
            "servers sharing the store): on time, or overdue (came due while no server ran).",
            ["when"], registry=self.registry,
        )
        self.event_clients = Gauge(
            "sori_event_clients", "Clients connected to /assistant/events.", registry=self.registry
        )
        self.webhook_deliveries = Counter(
            "sori_webhook_deliveries", "Events POSTed to the webhook successfully.", registry=self.registry
        )
        self.webhook_retries = Counter(
            "sori_webhook_retries", "Webhook POSTs that failed and were tried again.", registry=self.registry
        )
        self.webhook_failures = Counter(
            "sori_webhook_failures", "Events never delivered to the webhook (failed after every "
            "retry, or dropped because its queue was full).", registry=self.registry,
        )

        for source in ("assistant", "announcer"):
            self.store_errors.labels(source=source)
        for when in ("on_time", "overdue"):
            self.announcements.labels(when=when)

    def track_queue(self, depth: Callable[[], float]) -> None:
        """Report the queue depth from `depth()` at every scrape."""
        self.queue_depth.set_function(depth)

    def observe_batch(self, size: int, seconds: float, audio_seconds: float) -> None:
        """Record one successful synthesize_many call."""
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)
        self.audio_seconds.inc(audio_seconds)
        if audio_seconds > 0:
            self.real_time_factor.observe(seconds / audio_seconds)

    def count_weather_fetch(self, outcome: str) -> None:
        """Record one request to the weather API and how it ended (a FetchOutcome)."""
        self.weather_fetches.labels(result=outcome).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)
