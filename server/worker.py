"""The inference worker: threads turning queued requests into batched syntheses.

Requests arrive on a bounded queue from the event loop (`server.batching`). Each worker thread
takes a batch from it: the oldest request plus those of the same voice and options nearest to it
in length that arrive within `batch_wait_s`, up to `max_batch_size`, and calls
`synthesize_analyzed` once. On a GPU one thread feeds the device; on a CPU one thread per core
each runs its own batch on its own intra-op thread, since a CPU gains more from using every core
than from ever larger batches (bench/RESULTS.md). Results go back to each request's asyncio future
through `loop.call_soon_threadsafe`, so the event loop never runs model code. A batch that raises
fails only its own requests (out of memory, on the GPU or the CPU: 503 with Retry-After; anything
else: 500); the thread carries on with the next batch. A request whose future was cancelled (its
client went away) is skipped. When a drain is cut off, `abandon` answers everything the worker
holds, queued or being synthesised in any thread, 503 at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from server.backend import LOCAL_REPLICA, QueuedGroups, Spoken, chain
from server.batching import BatchQueue
from server.errors import (
    NotReadyError,
    OutOfMemoryError,
    ProcessRestartingError,
    QueueFullError,
    RequestTimeoutError,
    ServiceError,
    ShuttingDownError,
    SynthesisFailedError,
)
from server.inference_process import Analyzed, Failure, InferenceProcess, InferenceProcessError
from server.memory import HeapTrimmer, is_out_of_memory
from server.metrics import Metrics
from server.voice_registry import Voice
from tts import SpeechSynthesizer as Synthesizer
from tts import SynthesisOptions, SynthesisResult

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.1
"""How often an idle worker checks whether it should stop."""

ABANDONED_DETAIL = "the server stopped before this request was finished; try again shortly"
"""What each request still held when a drain is cut off is told (503, Retry-After: 1)."""

@dataclass(eq=False)
class Job:
    """One request waiting for synthesis."""

    synthesizer: Synthesizer
    sentences: Analyzed
    """The request's text as `Synthesizer.analyze` split and read it (validated before queueing)."""
    options: SynthesisOptions
    future: asyncio.Future[SynthesisResult]
    loop: asyncio.AbstractEventLoop
    deadline: float
    """time.monotonic() after which nobody waits for the result any more."""
    cancelled: threading.Event = field(default_factory=threading.Event)
    """Set (on the loop) when the future is cancelled: nobody wants the result, skip the job."""

    @property
    def kind(self) -> tuple[Synthesizer, SynthesisOptions]:
        """Jobs of one kind can be synthesised in one call."""
        return self.synthesizer, self.options

    @cached_property
    def length(self) -> int:
        """Symbols of the longest sentence: what the decoding of its batch lasts for."""
        return max(len(frontend.ids) for _, frontend in self.sentences)


class InferenceWorker:
    """A bounded queue and the threads that drain it in batches."""

    def __init__(
        self,
        *,
        queue_size: int,
        max_batch_size: int,
        batch_wait_s: float,
        threads: int = 1,
        intra_op_threads: int | None = None,
        metrics: Metrics | None = None,
        name: str = "cpu",
        processes: Sequence[InferenceProcess] = (),
    ) -> None:
        if processes and len(processes) != threads:
            raise ValueError("give one inference process per worker thread, or none")
        if queue_size < 1 or max_batch_size < 1 or batch_wait_s < 0 or threads < 1:
            raise ValueError("queue_size, max_batch_size and threads must be >= 1, batch_wait_s >= 0")
        if intra_op_threads is not None and intra_op_threads < 1:
            raise ValueError("intra_op_threads must be >= 1 when given")
        self.max_batch_size = max_batch_size
        self.batch_wait_s = batch_wait_s
        self.intra_op_threads = intra_op_threads
        """torch intra-op threads each worker thread starts with (None: leave torch's setting)."""
        self.metrics = metrics
        self.name = name
        self.processes = tuple(processes)
        """Per worker thread, the child process its batches run in; empty: in this process."""
        self._queue: BatchQueue[Job] = BatchQueue(queue_size, lambda job: job.kind, lambda job: job.length)
        self._stop = threading.Event()
        self._abandoned = threading.Event()
        self._running: list[list[Job]] = [[] for _ in range(threads)]
        """Per worker thread, the batch it serves; slot i assigned (never mutated) by thread i."""
        self._threads = [
            threading.Thread(target=self._run, args=(index,), name=f"sori-worker-{name}-{index}", daemon=True)
            for index in range(threads)
        ]
        self._counts = threading.Lock()
        """Guards the counters and the batch-time estimate, which every worker thread updates."""
        self._batch_seconds = 1.0  # running estimate, for Retry-After
        self._last_batch_end = 0.0
        """time.monotonic() when a batch last ended, in any thread."""
        self._trimmed = True
        """No batch has ended since the heap was last trimmed."""
        self.batches_served = 0
        """synthesize_analyzed calls made (successful or not)."""
        self.requests_served = 0
        """Requests answered with audio."""
        self.jobs_cancelled = 0
        """Jobs skipped unsynthesised (their future was cancelled)."""
        self.heap = HeapTrimmer()
        """Hands the batches' freed memory back to the OS once every thread has been idle for a poll."""

    @property
    def threads(self) -> int:
        """Worker threads, each serving one batch at a time."""
        return len(self._threads)

    def start(self) -> None:
        """Start the inference processes (if any; waits until each has loaded its voice), then
        the worker threads. InferenceProcessError when a process cannot start."""
        try:
            for process in self.processes:
                process.launch()
            for process in self.processes:
                process.wait_ready()
        except BaseException:
            for process in self.processes:
                process.close(wait=False)
            raise
        for thread in self._threads:
            thread.start()
        logger.info("inference worker %s started: %d thread(s), %s intra-op thread(s) each",
                    self.name, self.threads, self.intra_op_threads or "torch's default")

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop after the current batches (at once if abandoned); requests still queued get 503."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            if thread.is_alive() and not self._abandoned.is_set():
                thread.join(max(0.0, deadline - time.monotonic()))
        for job in self._queue.take_all():
            self._deliver_error(job, NotReadyError("the server is shutting down"))
        for process in self.processes:
            process.close(wait=not self._abandoned.is_set())
        logger.info("inference worker %s stopped", self.name)

    def abandon(self) -> None:
        """Stop now (a cut-off drain): every queued request and those of the batches being
        synthesised get 503 with Retry-After at once. Those batches run on in their daemon threads;
        nobody waits for them, and stop() no longer does either."""
        self._abandoned.set()
        self._stop.set()
        jobs = [*(job for batch in self._running for job in batch), *self._queue.take_all()]
        for job in jobs:
            self._deliver_error(job, ShuttingDownError(1, ABANDONED_DETAIL))
        logger.warning("inference worker %s abandoned %d request(s)", self.name, len(jobs))

    @property
    def alive(self) -> bool:
        """The threads run and have not been asked to stop."""
        return all(thread.is_alive() for thread in self._threads) and not self._stop.is_set()

    @property
    def depth(self) -> int:
        """Requests waiting in the queue."""
        return self._queue.qsize()

    @property
    def full(self) -> bool:
        """No room for another request right now."""
        return self._queue.full()

    @property
    def busy_threads(self) -> int:
        """Worker threads serving a batch right now."""
        return sum(1 for batch in self._running if batch)

    def retry_after_s(self) -> int:
        """A client's sensible wait when the queue is full: about one batch's time."""
        return max(1, math.ceil(self._batch_seconds))

    def submit(
        self, synthesizer: Synthesizer, sentences: Analyzed, options: SynthesisOptions, timeout_s: float
    ) -> asyncio.Future[SynthesisResult]:
        """Queue one request (call from the event loop); QueueFullError when there is no room."""
        if not self.alive:
            raise NotReadyError("the inference worker is not running")
        loop = asyncio.get_running_loop()
        job = Job(synthesizer, sentences, options, loop.create_future(), loop, time.monotonic() + timeout_s)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            if self.metrics is not None:
                self.metrics.rejected.inc()
            raise QueueFullError(self.retry_after_s()) from None
        job.future.add_done_callback(lambda future: job.cancelled.set() if future.cancelled() else None)
        return job.future

    def speak(
        self, voice: Voice, sentences: Analyzed, options: SynthesisOptions, timeout_s: float
    ) -> asyncio.Future[Spoken]:
        """`submit` as the backend seam has it (server.backend): the result with the replica `local`."""
        return chain(self.submit(voice.synthesizer, sentences, options, timeout_s),
                     lambda result: Spoken(result, LOCAL_REPLICA))

    def stream(
        self, voice: Voice, sentences: Analyzed, groups: Sequence[range], options: SynthesisOptions,
        deadline: float,
    ) -> QueuedGroups:
        """A stream's groups, each queued here once the one before is ready (server.backend)."""
        return QueuedGroups(self, voice, sentences, groups, options, deadline)

    async def ready(self) -> str | None:
        """None while the threads run, else why speech cannot be served (for /readyz)."""
        return None if self.alive else "the inference worker is not running"

    def _run(self, index: int) -> None:
        """Body of worker thread `index`: take a batch, serve it, repeat until stopped."""
        torch = sys.modules.get("torch")  # loaded with a torch voice; ONNX voices pick threads per session
        if self.intra_op_threads is not None and torch is not None:
            torch.set_num_threads(self.intra_op_threads)  # this thread's setting (OpenMP's is per thread)
        while not self._stop.is_set():
            batch = [job for job in self._queue.take(self.max_batch_size, self.batch_wait_s, POLL_SECONDS)
                     if not self._skip_if_cancelled(job)]
            if not batch:
                self._trim_if_idle()
                continue
            self._running[index] = batch  # published before _serve checks _abandoned: no job is missed
            try:
                self._serve(batch, index)
            except Exception:  # a bug here must not kill the worker
                logger.exception("inference worker %s: unexpected error", self.name)
                for job in batch:
                    self._deliver_error(job, SynthesisFailedError())
            finally:
                self._running[index] = []
                with self._counts:
                    self._last_batch_end = time.monotonic()
                    self._trimmed = False

    def _trim_if_idle(self) -> None:
        """Trim the heap once every thread has been idle for a poll since the last batch: off the
        request path, and not between the requests of a steady client, whose next batch would
        fault the trimmed pages back in."""
        with self._counts:
            idle = time.monotonic() - self._last_batch_end >= POLL_SECONDS and not self.busy_threads
            if self._trimmed or not idle:
                return
            self._trimmed = True
        self.heap.trim()

    def _skip_if_cancelled(self, job: Job) -> bool:
        """Count and drop a job nobody waits for any more; True when it was dropped."""
        if not job.cancelled.is_set():
            return False
        with self._counts:
            self.jobs_cancelled += 1
        return True

    def _serve(self, batch: list[Job], index: int) -> None:
        """Drop cancelled and expired jobs, then synthesise the rest (one kind: one call)."""
        now = time.monotonic()
        jobs = []
        for job in batch:
            if self._skip_if_cancelled(job):
                continue
            if job.deadline <= now:
                self._deliver_error(job, RequestTimeoutError())
            else:
                jobs.append(job)
        if jobs:
            self._synthesize(jobs, index)

    def _synthesize(self, jobs: list[Job], index: int) -> None:
        """Synthesise jobs of one kind; a failure fails only these jobs (out of memory: 503, else 500)."""
        if self._abandoned.is_set():  # a cut-off drain; abandon() may not have seen these jobs
            for job in jobs:
                self._deliver_error(job, ShuttingDownError(1, ABANDONED_DETAIL))
            return
        synthesizer, options = jobs[0].kind
        started = time.perf_counter()
        try:
            analyzed = [job.sentences for job in jobs]
            if self.processes:
                timeout_s = max(job.deadline for job in jobs) - time.monotonic()
                results = self.processes[index].synthesize(synthesizer, analyzed, options, timeout_s)
            else:
                results = synthesizer.synthesize_analyzed(analyzed, options)
        except Exception as exception:
            make_error = self._batch_error(exception)
            transient = make_error is not SynthesisFailedError
            if transient:
                logger.error("batch of %d request(s) failed for now on %s: %s",
                             len(jobs), self.name, exception)
                torch = sys.modules.get("torch")
                if torch is not None and isinstance(exception, torch.OutOfMemoryError):
                    torch.cuda.empty_cache()  # give the cached blocks back before the next batch
            else:
                logger.exception("batch of %d request(s) failed", len(jobs))
            with self._counts:
                self.batches_served += 1
            if self.metrics is not None:
                self.metrics.failed_batches.inc()
            for job in jobs:
                self._deliver_error(job, make_error())
            return
        elapsed = time.perf_counter() - started
        with self._counts:
            self.batches_served += 1
            self.requests_served += len(jobs)
            self._batch_seconds = 0.8 * self._batch_seconds + 0.2 * elapsed
        if self.metrics is not None:
            self.metrics.observe_batch(len(jobs), elapsed, sum(r.duration_seconds for r in results))
        for job, result in zip(jobs, results, strict=True):
            self._deliver(job, result)

    def _batch_error(self, exception: Exception) -> Callable[[], ServiceError]:
        """What each request of a failed batch is told: 503 with Retry-After when it ran out of
        memory or its inference process stopped, 504 when that process outlived the deadline,
        else 500."""
        retry_after_s = self.retry_after_s()
        failure = exception.failure if isinstance(exception, InferenceProcessError) else None
        if failure is Failure.OUT_OF_MEMORY or (failure is None and is_out_of_memory(exception)):
            return lambda: OutOfMemoryError(retry_after_s)
        if failure is Failure.STOPPED:
            return lambda: ProcessRestartingError(retry_after_s)
        if failure is Failure.TIMED_OUT:
            return RequestTimeoutError
        return SynthesisFailedError

    @staticmethod
    def _deliver(job: Job, result: SynthesisResult) -> None:
        """Resolve the job's future on its own loop (unless it was cancelled meanwhile)."""

        def settle() -> None:
            if not job.future.done():
                job.future.set_result(result)

        InferenceWorker._call_soon(job, settle)

    @staticmethod
    def _deliver_error(job: Job, error: ServiceError) -> None:
        """Fail the job's future with a ServiceError on its own loop."""

        def settle() -> None:
            if not job.future.done():
                job.future.set_exception(error)

        InferenceWorker._call_soon(job, settle)

    @staticmethod
    def _call_soon(job: Job, callback: Callable[[], None]) -> None:
        """Schedule on the job's loop; a closed loop means nobody is waiting any more."""
        try:
            job.loop.call_soon_threadsafe(callback)
        except RuntimeError:
            logger.debug("event loop closed before a result could be delivered")
