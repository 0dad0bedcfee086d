"""The server's own errors: each carries its HTTP status and a message safe to show a client."""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be served; `detail` goes to the client as `{"detail": ...}`."""

    status_code = 500
    default_detail = "the request could not be served"

    def __init__(
        self,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.headers = dict(headers or {})
        if retry_after_s is not None:  # a transient refusal: tell the client when to come back
            self.headers["Retry-After"] = str(max(1, int(retry_after_s)))
        super().__init__(self.detail)


class InvalidInputError(ServiceError):
    """Input the request schema accepts but the service cannot use (422)."""

    status_code = 422
    default_detail = "invalid input"


class UnspeakableTextError(InvalidInputError):
    """Empty, whitespace-only or otherwise unspeakable text (422)."""

    default_detail = "there is nothing speakable in the text"


class TextTooLongError(ServiceError):
    """Text over the endpoint's character limit (413)."""

    status_code = 413
    default_detail = "the text is too long"


class UnknownVoiceError(InvalidInputError):
    """A voice name that is not in the registry (422)."""

    default_detail = "unknown voice"


class QueueFullError(ServiceError):
    """The inference queue is full (503 with Retry-After)."""

    status_code = 503
    default_detail = "the server is busy: the synthesis queue is full, try again shortly"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(retry_after_s=retry_after_s)


class NotReadyError(ServiceError):
    """The service is starting up or shutting down (503)."""

    status_code = 503
    default_detail = "the speech service is not ready"


class VoiceUnavailableError(NotReadyError):
    """A voice that exists but could not be loaded (503, without Retry-After: it stays broken until
    the server restarts); the detail names files relative to the voices' folder."""

    default_detail = "the voice could not be loaded"


class ShuttingDownError(NotReadyError):
    """The server is draining before it exits: new work is refused (503 with Retry-After)."""

    default_detail = "the server is shutting down; try again shortly"

    def __init__(self, retry_after_s: int, detail: str | None = None) -> None:
        super().__init__(detail, retry_after_s=retry_after_s)


class RequestTimeoutError(ServiceError):
    """The request did not finish within the per-request timeout (504)."""

    status_code = 504
    default_detail = "synthesis did not finish in time"


class SynthesisFailedError(ServiceError):
    """The batch holding this request failed inside the model (500, details only in the log)."""

    status_code = 500
    default_detail = "synthesis failed; the error has been logged"


class OutOfMemoryError(ServiceError):
    """The batch holding this request ran out of device memory; transient (503 with Retry-After)."""

    status_code = 503
    default_detail = "the model ran out of memory on this batch; try again shortly"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(retry_after_s=retry_after_s)


class ProcessRestartingError(ServiceError):
    """The inference process holding this request's batch stopped; it is being started again
    (503 with Retry-After)."""

    status_code = 503
    default_detail = "the synthesis process stopped and is being restarted; try again shortly"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(retry_after_s=retry_after_s)


class PlotProcessStoppedError(ServiceError):
    """The process drawing alignment plots stopped during this request's plot; the next plot starts
    a new one (503 with Retry-After)."""

    status_code = 503
    default_detail = "the plotting process stopped; try again shortly"

    def __init__(self) -> None:
        super().__init__(retry_after_s=1)


class StoreBusyError(ServiceError):
    """The assistant's store is locked past its timeout, full or failing; retrying is safe because a
    failed write leaves nothing behind (503 with Retry-After; SQLite's message only in the log)."""

    status_code = 503
    default_detail = "the assistant's store is busy; try again shortly"
    retry_after_s = 5

    def __init__(self) -> None:
        super().__init__(retry_after_s=self.retry_after_s)


class ClientDisconnectedError(ServiceError):
    """The client closed the connection before its audio was ready; its work was dropped unless
    another request shares it.

    Nobody reads the answer; 499 (nginx's "client closed request") keeps it apart in the metrics.
    """

    status_code = 499
    default_detail = "the client closed the connection"
