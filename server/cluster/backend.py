"""The Ray backend: the ingress's speech from the model deployment's handle (server.backend's seam).

Serve decides admission: each model replica takes `max_ongoing_requests`, the ingress's handle
queues `max_queued_requests` more, and beyond that Serve raises BackPressureError, answered 503
with Retry-After as a full queue is in process. A model replica that dies (its requests fail with
an actor error) is answered 503 too; Serve starts a new one, and the ingress carries on.

A stream is one streaming call of the model deployment's generator (`RayGroups`): every group of
it on the same replica, each arriving as soon as it is decoded; closing the stream cancels the call.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any

from ray import exceptions as ray_exceptions
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError

from server.backend import Spoken, chain, mark_retrieved
from server.cluster.model import ModelReply, ModelRequest, StreamRequest
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
        self._streams: set[RayGroups] = set()
        """Streams started and not yet closed."""
        self._stopped = threading.Event()

    @property
    def alive(self) -> bool:
        """Not stopped."""
        return not self._stopped.is_set()

    @property
    def depth(self) -> int:
        """Requests and streams this ingress replica is waiting on."""
        return len(self._pending) + len(self._streams)

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
        # A plain future around the call's task: `abandon` can fail it (a task cannot be given an
        # exception), and cancelling it cancels the call.
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
        except Exception as error:
            raise service_error(error) from None
        return Spoken(reply.result, reply.replica)

    def stream(
        self, voice: Voice, sentences: Analyzed, groups: Sequence[range], options: SynthesisOptions,
        deadline: float,
    ) -> RayGroups:
        """A stream as one generator call of a model replica (server.backend's seam); the deadline is
        kept by the stream's own waits."""
        request = StreamRequest(voice.name, tuple(sentences), options,
                                tuple((group.start, group.stop) for group in groups))
        return RayGroups(self, request)

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
        for stream in list(self._streams):
            stream.loop.call_soon_threadsafe(stream.fail, ShuttingDownError(RETRY_AFTER_S, ABANDONED_DETAIL))


class RayGroups:
    """A stream's groups from one streaming call of the model deployment (server.backend.GroupSource)."""

    def __init__(self, backend: RayBackend, request: StreamRequest) -> None:
        self.backend = backend
        self.request = request
        self.loop = asyncio.get_running_loop()
        self._results: list[asyncio.Future[Spoken]] = [self.loop.create_future() for _ in request.groups]
        self._reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Make the call; its groups arrive in `result`s as they are decoded."""
        if not self.backend.alive:
            raise ShuttingDownError(RETRY_AFTER_S)
        self.backend._streams.add(self)
        self._reader = asyncio.ensure_future(self._read())

    async def result(self, group: int) -> Spoken:
        """Group `group`'s synthesis once it has arrived."""
        return await asyncio.shield(self._results[group])

    async def _read(self) -> None:
        """Take the replies in order; an error fails the group it was due for."""
        generator: Any = None
        index = 0
        try:
            generator = self.backend.handle.options(stream=True).stream.remote(self.request)
            async for reply in generator:
                settle(self._results[index], Spoken(reply.result, reply.replica))
                index += 1
            if index < len(self._results):
                raise RuntimeError(f"the model replica ended a stream after {index} of {len(self._results)} groups")
        except asyncio.CancelledError:
            if generator is not None:
                generator.cancel()
            raise
        except Exception as error:
            self.fail(service_error(error))
        finally:
            self.backend._streams.discard(self)

    def fail(self, error: BaseException) -> None:
        """Fail the next group due with `error` and drop the rest."""
        pending = [future for future in self._results if not future.done()]
        if pending:
            pending[0].set_exception(error)
            pending[0].add_done_callback(mark_retrieved)  # raised to the reader, if one is still reading
        for future in pending[1:]:
            future.cancel()

    def close(self) -> None:
        """Cancel the call (the replica drops the group waiting for its batch) and every group."""
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
        self.backend._streams.discard(self)
        for future in self._results:
            future.cancel()


def service_error(error: Exception) -> Exception:
    """A handle call's error as the service's: 503 when refused or its replica died."""
    if isinstance(error, BackPressureError):
        return QueueFullError(RETRY_AFTER_S)
    if isinstance(error, REPLICA_GONE):
        logger.error("a model replica failed a request: %s", type(error).__name__)
        return ProcessRestartingError(RETRY_AFTER_S)
    return error


def settle(future: asyncio.Future[Spoken], spoken: Spoken) -> None:
    """Resolve a group unless the stream was closed meanwhile."""
    if not future.done():
        future.set_result(spoken)


async def _resolve(response: Any) -> Any:
    """Await a DeploymentResponse as a coroutine (so it can be wrapped in a task)."""
    return await response


def _fail(future: asyncio.Future[Spoken]) -> None:
    """Fail a pending request as a cut-off drain does in process."""
    if not future.done():
        future.set_exception(ShuttingDownError(RETRY_AFTER_S, ABANDONED_DETAIL))
