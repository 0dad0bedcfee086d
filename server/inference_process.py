"""Synthesis in a child process, one per worker thread (`SORI_INFERENCE_PROCESSES=true`).

In one process the event loop, the request threads and every worker thread share one interpreter
lock, and a decoder step is mostly Python launching kernels: under load the worker waits for the
lock between launches (on the H200, batches took 77-111 ms served against ~40 ms in process). A
child holds its own copy of each voice (loaded from the same directory with the same arguments,
`Synthesizer.source`) and runs `synthesize_analyzed` under its own lock; the worker thread only
sends the analysed text and waits on a pipe.

Messages are pickled by value (protocol 5), so no shared-memory handles outlive a request; the
pipe joins the server and the child it spawned, and nothing from a client reaches it unparsed
(tests/test_safe_loading.py allows this module alone). Only the thread holding `_io` touches the
pipe. A child that dies is started again on the next batch; one that outlives its batch's
deadline is killed and started again. Children ignore SIGINT and SIGTERM (the server drains
them) and are killed when the server exits without closing them.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import multiprocessing
import pickle
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing import util
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from tts import FrontendResult, SynthesisOptions, SynthesisResult
from tts import SpeechSynthesizer as Synthesizer
from tts.synthesis import VoiceSource

logger = logging.getLogger(__name__)

Analyzed = Sequence[tuple[str, FrontendResult]]
"""A text split into sentences and read by the frontend (what `Synthesizer.analyze` returns)."""

START_TIMEOUT_S = 300.0
"""How long a new child may take to import torch, load its first voice and warm it up."""
STOP_TIMEOUT_S = 10.0
"""How long a child may take to finish its batch and exit before it is killed."""
IDLE_TRIM_S = 0.1
"""A child idle this long after a batch hands the batch's freed heap back to the OS."""


class Failure(enum.Enum):
    """Why a batch failed in (or with) its child process."""

    FAILED = "failed"  # the synthesis raised: a bug or bad input (500)
    OUT_OF_MEMORY = "out of memory"  # transient (503 with Retry-After)
    STOPPED = "stopped"  # the child died or was killed; the next batch starts another (503)
    TIMED_OUT = "timed out"  # past the batch's deadline: the child is killed and restarted (504)


class InferenceProcessError(RuntimeError):
    """A batch failed in (or with) the child process; `failure` says how."""

    def __init__(self, message: str, failure: Failure) -> None:
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True)
class _Failed:
    """What the child sends back instead of results when a batch (or its first load) raises."""

    message: str
    out_of_memory: bool


def _send(connection: Connection, value: object) -> None:
    """Pickle by value (tensors included) and send one message."""
    connection.send_bytes(pickle.dumps(value, protocol=5))


def _receive(connection: Connection) -> Any:
    """One message sent by `_send` on the other end."""
    return pickle.loads(connection.recv_bytes())


def _child_main(connection: Connection, intra_op_threads: int | None, first: VoiceSource,
                warmup: Analyzed | None) -> None:
    """The child: load `first` (and synthesise `warmup` once), say ready (None, or a _Failed), then
    answer (source, analysed texts, options) messages until None or the pipe closes."""
    import torch

    from server.memory import HeapTrimmer, is_out_of_memory
    from tts.synthesizer import Synthesizer

    # The server drains on SIGINT/SIGTERM (a terminal's Ctrl+C reaches the whole process group):
    # the child finishes its batch and exits when the server closes the pipe, not before.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if intra_op_threads is not None:
        torch.set_num_threads(intra_op_threads)
    synthesizers: dict[VoiceSource, Synthesizer] = {}
    heap = HeapTrimmer()

    def synthesizer_for(source: VoiceSource) -> Synthesizer:
        if source not in synthesizers:
            synthesizers[source] = Synthesizer.load(
                source.voice_dir, device=source.device, max_batch_size=source.max_batch_size,
                cuda_graphs=source.cuda_graphs, vocoder=source.vocoder)
        return synthesizers[source]

    def failed(error: Exception) -> _Failed:
        if isinstance(error, torch.OutOfMemoryError):
            torch.cuda.empty_cache()
        return _Failed(f"{type(error).__name__}: {error}", is_out_of_memory(error))

    try:
        synthesizer = synthesizer_for(first)
        if warmup is not None:
            synthesizer.synthesize_analyzed([warmup], SynthesisOptions())
    except Exception as error:  # reported to the server, which fails its start with it
        _send(connection, failed(error))
        return
    _send(connection, None)
    while True:
        if not connection.poll(IDLE_TRIM_S):
            heap.trim()
        try:
            message = _receive(connection)
        except EOFError:  # the server went away
            return
        if message is None:
            return
        source, analyzed, options = message
        try:
            reply: object = synthesizer_for(source).synthesize_analyzed(analyzed, options)
        except Exception as error:  # one batch's failure; the child serves on
            reply = failed(error)
        _send(connection, reply)


class InferenceProcess:
    """One child process and the pipe to it, for one worker thread."""

    def __init__(self, name: str, first: VoiceSource, intra_op_threads: int | None = None,
                 warmup: Analyzed | None = None) -> None:
        self.name = name
        self.first = first
        """The voice every child loads before it says it is ready."""
        self.intra_op_threads = intra_op_threads
        self.warmup = list(warmup) if warmup is not None else None
        """Sentences, already analysed, each child synthesises once before it says it is ready."""
        self._io = threading.Lock()
        """Held for every use of the pipe and every start: one batch or start at a time."""
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        self._launched = 0.0
        self._finalizer: util.Finalize | None = None
        self._closed = False
        self.starts = 0
        """Children started so far (a restart after a death counts)."""

    @property
    def pid(self) -> int | None:
        """The running child's process id; None when there is none."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def start(self) -> None:
        """Start the child and wait until its first voice is loaded (and warmed up)."""
        with self._io:
            self._launch()
            self._wait_ready()

    def launch(self) -> None:
        """Start the child without waiting for it (several children load their voices at once)."""
        with self._io:
            self._launch()

    def wait_ready(self) -> None:
        """Wait for the launched child's first voice; InferenceProcessError (child stopped) if it fails."""
        with self._io:
            self._wait_ready()

    def _launch(self) -> None:
        if self._closed:
            raise InferenceProcessError(f"inference process {self.name} is closed", Failure.STOPPED)
        context = multiprocessing.get_context("spawn")  # CUDA cannot be used in a forked child
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=_child_main, args=(child_end, self.intra_op_threads, self.first, self.warmup),
            name=f"sori-inference-{self.name}", daemon=True)
        process.start()
        child_end.close()
        # At exit, multiprocessing joins daemon children after a SIGTERM they ignore: kill first.
        self._finalizer = util.Finalize(process, process.kill, exitpriority=10)
        self._process, self._connection = process, parent_end
        self._launched = time.monotonic()
        self.starts += 1

    def _wait_ready(self) -> None:
        process, connection = self._process, self._connection
        if process is None or connection is None:
            raise RuntimeError("wait_ready() before launch()")
        ready = self._reply(process, connection, self._launched + START_TIMEOUT_S - time.monotonic(),
                            "while starting", Failure.STOPPED)
        if isinstance(ready, _Failed):
            self._discard(kill=True)
            raise InferenceProcessError(
                f"inference process {self.name} could not load its voice: {ready.message}",
                Failure.OUT_OF_MEMORY if ready.out_of_memory else Failure.FAILED)
        logger.info("inference process %s (pid %s) ready in %.1f s", self.name, process.pid,
                    time.monotonic() - self._launched)

    def synthesize(
        self, synthesizer: Synthesizer, analyzed: Sequence[Analyzed], options: SynthesisOptions,
        timeout_s: float | None = None,
    ) -> list[SynthesisResult]:
        """What `synthesizer.synthesize_analyzed(analyzed, options)` returns, computed in the child
        (started first when there is none, or the last one died). After `timeout_s` the child is
        killed and the batch fails (TIMED_OUT)."""
        if synthesizer.source is None:
            raise ValueError("a synthesizer built in memory cannot be loaded by an inference process")
        with self._io:
            if self._process is None or not self._process.is_alive():
                if self._process is not None:
                    logger.error("inference process %s had exited (exit code %s); starting another",
                                 self.name, self._process.exitcode)
                    self._discard(kill=True)
                self._launch()
                self._wait_ready()
            process, connection = self._process, self._connection
            assert process is not None and connection is not None
            message = (synthesizer.source, [list(sentences) for sentences in analyzed], options)
            with contextlib.suppress(OSError):  # the child is gone: _reply sees the closed pipe
                _send(connection, message)
            reply = self._reply(process, connection, timeout_s, "during a batch", Failure.TIMED_OUT)
        if isinstance(reply, _Failed):
            raise InferenceProcessError(reply.message,
                                        Failure.OUT_OF_MEMORY if reply.out_of_memory else Failure.FAILED)
        return list(reply)

    def _reply(self, process: BaseProcess, connection: Connection, timeout_s: float | None, during: str,
               late: Failure) -> Any:
        """The child's next message (holding `_io`). When none comes within timeout_s (None: no
        limit), or the pipe closes, the child is discarded (killed) and InferenceProcessError
        raised: `late` for the timeout, STOPPED for the closed pipe."""
        try:
            if timeout_s is not None and not connection.poll(max(0.0, timeout_s)):
                self._discard(kill=True)
                raise InferenceProcessError(f"inference process {self.name} took longer than {timeout_s:.1f} s "
                                            f"{during}; it is killed and started again when needed", late)
            return _receive(connection)
        except (EOFError, OSError) as error:
            process.join(1.0)
            code = process.exitcode
            self._discard(kill=True)
            raise InferenceProcessError(f"inference process {self.name} stopped {during} (exit code {code}); "
                                        "it is started again when needed", Failure.STOPPED) from error

    def close(self, *, wait: bool = True) -> None:
        """Stop for good: no child starts again. With wait, the child finishes its batch and exits
        (killed after STOP_TIMEOUT_S); without (a cut-off drain), it is killed at once, and the
        batch waiting on it fails (STOPPED)."""
        self._closed = True
        if not (wait and self._io.acquire(timeout=STOP_TIMEOUT_S)):
            process = self._process
            if process is not None:
                process.kill()  # wakes the thread waiting on it, which then releases the pipe
            self._io.acquire()
        try:
            self._discard(kill=False)
        finally:
            self._io.release()

    def _discard(self, *, kill: bool) -> None:
        """Forget the child (holding `_io`): ask it to exit, or kill it; close the pipe; reap it."""
        process, connection, finalizer = self._process, self._connection, self._finalizer
        self._process, self._connection, self._finalizer = None, None, None
        if process is not None and kill:
            process.kill()
        if connection is not None:
            with contextlib.suppress(OSError):  # the child is already gone
                _send(connection, None)
            connection.close()
        if process is not None:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                logger.warning("inference process %s did not exit; killing it", self.name)
                process.kill()
                process.join(STOP_TIMEOUT_S)
        if finalizer is not None:
            finalizer.cancel()
