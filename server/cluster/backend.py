"""The Ray backend: the ingress's speech from the model deployment's handle (server.backend's seam).

Serve decides admission: each model replica takes `max_ongoing_requests`, the ingress's handle
queues `max_queued_requests` more, and beyond that Serve raises BackPressureError, answered 503
with Retry-After as a full queue is in process. A model replica that dies (its requests fail with
an actor error) is answered 503 too; Serve starts a new one, and the ingress carries on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from ray import exceptions as ray_exceptions
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError

from server.backend import Spoken, chain
from server.cluster.model import ModelReply, ModelRequest
from server.errors import ProcessRestartingError, QueueFullError, ShuttingDownError
from server.inference_process import Analyzed
from server.voice_registry import Voice
from server.worker import ABANDONED_DETAIL
from tts import SynthesisOptions

logger = logging.getLogger(__name__)

READY_TIMEOUT_S = 2.0
"""How long /readyz waits for a model replica to answer."""

RETRY_AFTER_S = 1
"""Retry-After when every replica is full or one has died (Serve replaces it in seconds)."""

REPLICA_GONE = (ray_exceptions.RayActorError, ray_exceptions.ActorUnavailableError, DeploymentUnavailableError)
"""What a request to a model replica that died, or is not there yet, fails with."""


class RayBackend:
    """Speech from a Ray Serve model deployment, through its handle."""

    name = "ray"

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        """A DeploymentHandle of server.cluster.model.SpeechModel."""
        self._pending: set[asyncio.Future[Spoken]] = set()
        self._stopped = threading.Event()

    @property
    def alive(self) -> bool:
        """Not stopped."""
        return not self._stopped.is_set()

    @property
    def depth(self) -> int:
        """Requests this ingress replica is waiting on."""
        return len(self._pending)

    @property
    def full(self) -> bool:
        """Never known in advance here: Serve refuses what does not fit (BackPressureError)."""
        return False

    def retry_after_s(self) -> int:
        """A client's sensible wait when every replica is full."""
        return RETRY_AFTER_S

    def speak(
        self, voice: Voice, sentences: Analyzed, options: SynthesisOptions, timeout_s: float
    ) -> asyncio.Future[Spoken]:
        """Send the request to a model replica; errors as server.errors (503 when refused or its
        replica died). Cancelling the future cancels the Serve request. `timeout_s` is kept by the
        caller's wait (the service's deadline)."""
        if not self.alive:
            raise ShuttingDownError(RETRY_AFTER_S)
        future = chain(asyncio.ensure_future(self._call(ModelRequest(voice.name, tuple(sentences), options))),
                       lambda spoken: spoken)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    async def _call(self, request: ModelRequest) -> Spoken:
        """One handle call, its errors turned into the service's."""
        response = self.handle.speak.remote(request)
        try:
            reply: ModelReply = await response
        except asyncio.CancelledError:
            response.cancel()
            raise
        except BackPressureError:
            raise QueueFullError(RETRY_AFTER_S) from None
        except REPLICA_GONE as error:
            logger.error("a model replica failed a request: %s", type(error).__name__)
            raise ProcessRestartingError(RETRY_AFTER_S) from None
        return Spoken(reply.result, reply.replica)

    async def ready(self) -> str | None:
        """None once a model replica answers, else why not."""
        if not self.alive:
            return "the server is shutting down"
        response = self.handle.ping.remote()
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.ensure_future(_resolve(response))), READY_TIMEOUT_S)
        except TimeoutError:
            response.cancel()
            return "no model replica is ready"
        except Exception as error:  # an actor error, a deployment that failed to start
            return f"no model replica is ready ({type(error).__name__})"
        return None

    def start(self) -> None:
        """Nothing to start: Serve runs the model replicas."""

    def stop(self, timeout_s: float = 30.0) -> None:
        """Refuse new requests (Serve drains the ingress replica's requests itself)."""
        self._stopped.set()

    def abandon(self) -> None:
        """Answer every request still waiting 503 at once."""
        self._stopped.set()
        for future in list(self._pending):
            future.get_loop().call_soon_threadsafe(_fail, future)


async def _resolve(response: Any) -> Any:
    """Await a DeploymentResponse as a coroutine (so it can be wrapped in a task)."""
    return await response


def _fail(future: asyncio.Future[Spoken]) -> None:
    """Fail a pending request as a cut-off drain does in process."""
    if not future.done():
        future.set_exception(ShuttingDownError(RETRY_AFTER_S, ABANDONED_DETAIL))
