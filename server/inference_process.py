"""Synthesis in a child process, one per worker thread (`SORI_INFERENCE_PROCESSES=true`).

In one process the event loop, the request threads and every worker thread share one interpreter
lock, and a decoder step is mostly Python launching kernels: under load the worker waits for the
lock between launches (on the H200, batches took 77-111 ms served against ~40 ms in process). A
child holds its own copy of each voice (loaded from the same directory with the same arguments,
`Synthesizer.source`) and runs `synthesize_analyzed` under its own lock; the worker thread only
sends the analysed text and waits on a pipe. Messages are pickled by value (protocol 5), so no
shared-memory handles outlive a request; the pipe joins the server and the child it spawned, and
nothing from a client reaches it unparsed (tests/test_safe_loading.py allows this module alone). A child that dies is started again on the next batch;
the batch it held fails with 503 and Retry-After, like an out-of-memory error.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import pickle
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from tts import FrontendResult, SynthesisOptions, SynthesisResult, Synthesizer
from tts.synthesizer import VoiceSource

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 300.0
"""How long a new child may take to import torch, load its first voice and warm it up."""
STOP_TIMEOUT_S = 10.0
"""How long a child may take to finish its batch and exit before it is terminated."""
WARMUP_TEXT = "안녕하세요."


class InferenceProcessError(RuntimeError):
    """A batch failed in (or with) the child process. `transient`: worth retrying (the child ran
    out of memory or died and is started again), so the clients get 503 with Retry-After."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class _Failure:
    """What the child sends back instead of results when a batch raises."""

    message: str
    out_of_memory: bool


@dataclass(frozen=True)
class _Ready:
    """The child's first message: it has loaded (and warmed) its first voice, or why not."""

    error: str | None


def _send(connection: Connection, value: object) -> None:
    connection.send_bytes(pickle.dumps(value, protocol=5))


def _receive(connection: Connection) -> Any:
    return pickle.loads(connection.recv_bytes())


def _child_main(connection: Connection, intra_op_threads: int | None, first: VoiceSource, warm: bool) -> None:
    """The child: load `first`, say ready, then answer (source, analysed texts, options) messages
    until None or the pipe closes."""
    import torch

    from server.worker import is_out_of_memory

    # The server drains on SIGINT/SIGTERM (a terminal's Ctrl+C reaches the whole process group):
    # the child finishes its batch and exits when the server closes the pipe, not before.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if intra_op_threads is not None:
        torch.set_num_threads(intra_op_threads)
    synthesizers: dict[VoiceSource, Synthesizer] = {}

    def synthesizer_for(source: VoiceSource) -> Synthesizer:
        if source not in synthesizers:
            synthesizers[source] = Synthesizer.load(
                source.voice_dir, device=source.device, max_batch_size=source.max_batch_size,
                cuda_graphs=source.cuda_graphs, vocoder=source.vocoder)
        return synthesizers[source]

    try:
        synthesizer = synthesizer_for(first)
        if warm:
            synthesizer.synthesize(WARMUP_TEXT)
    except Exception as error:  # reported to the parent, which logs it and fails start()
        _send(connection, _Ready(f"{type(error).__name__}: {error}"))
        return
    _send(connection, _Ready(None))
    while True:
        try:
            message = _receive(connection)
        except EOFError:  # the server went away
            return
        if message is None:
            return
        source, analyzed, options = message
        try:
            results = synthesizer_for(source).synthesize_analyzed(analyzed, options)
        except Exception as error:  # one batch's failure; the child serves on
            if isinstance(error, torch.OutOfMemoryError):
                torch.cuda.empty_cache()
            _send(connection, _Failure(f"{type(error).__name__}: {error}", is_out_of_memory(error)))
        else:
            _send(connection, results)


class InferenceProcess:
    """One child process and the pipe to it, used by one worker thread at a time."""

    def __init__(self, name: str, first: VoiceSource, intra_op_threads: int | None = None,
                 warm: bool = True) -> None:
        self.name = name
        self.first = first
        self.intra_op_threads = intra_op_threads
        self.warm = warm
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        self._launched = 0.0
        self.starts = 0
        """Children started so far (a restart after a death counts)."""

    @property
    def pid(self) -> int | None:
        """The running child's process id; None when there is none."""
        return self._process.pid if self._process is not None and self._process.is_alive() else None

    def start(self) -> None:
        """Start the child and wait until its first voice is loaded (and warmed up)."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the child without waiting for it (several children load their voices at once)."""
        context = multiprocessing.get_context("spawn")  # CUDA cannot be used in a forked child
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=_child_main, args=(child_end, self.intra_op_threads, self.first, self.warm),
            name=f"sori-inference-{self.name}", daemon=True)
        process.start()
        child_end.close()
        self._process, self._connection = process, parent_end
        self._launched = time.monotonic()
        self.starts += 1

    def wait_ready(self) -> None:
        """Wait for the launched child's first voice; InferenceProcessError (child stopped) if it fails."""
        process, connection = self._process, self._connection
        if process is None or connection is None:
            raise RuntimeError("wait_ready() before launch()")
        try:
            if not connection.poll(max(0.0, self._launched + START_TIMEOUT_S - time.monotonic())):
                raise InferenceProcessError(f"inference process {self.name} did not start within "
                                            f"{START_TIMEOUT_S:.0f} s", transient=True)
            ready = _receive(connection)
        except (EOFError, OSError) as error:
            process.join(1.0)
            self.close()
            raise InferenceProcessError(f"inference process {self.name} exited while starting "
                                        f"(exit code {process.exitcode})", transient=True) from error
        except InferenceProcessError:
            self.close()
            raise
        if ready.error is not None:
            self.close()
            raise InferenceProcessError(f"inference process {self.name} could not load its voice: {ready.error}",
                                        transient=False)
        logger.info("inference process %s (pid %s) ready in %.1f s", self.name, process.pid,
                    time.monotonic() - self._launched)

    def synthesize(
        self, synthesizer: Synthesizer, analyzed: Sequence[Sequence[tuple[str, FrontendResult]]],
        options: SynthesisOptions,
    ) -> list[SynthesisResult]:
        """What `synthesizer.synthesize_analyzed(analyzed, options)` returns, computed in the child."""
        if synthesizer.source is None:
            raise ValueError("a synthesizer built in memory cannot be loaded by an inference process")
        if self._process is None or not self._process.is_alive():
            if self._process is not None:
                logger.error("inference process %s had exited (exit code %s); starting another",
                             self.name, self._process.exitcode)
                self.close()
            self.start()
        assert self._connection is not None and self._process is not None
        try:
            _send(self._connection, (synthesizer.source, [list(sentences) for sentences in analyzed], options))
            reply = _receive(self._connection)
        except (EOFError, OSError) as error:
            self._process.join(1.0)
            code = self._process.exitcode
            self.close()
            raise InferenceProcessError(f"inference process {self.name} died during a batch (exit code "
                                        f"{code}); it is started again for the next one", transient=True) from error
        if isinstance(reply, _Failure):
            raise InferenceProcessError(reply.message, transient=reply.out_of_memory)
        return list(reply)

    def close(self, *, wait: bool = True) -> None:
        """Ask the child to exit after its batch, killing it if it does not in time; with wait=False
        (a cut-off drain, its batch abandoned) kill it at once."""
        process, connection = self._process, self._connection
        self._process, self._connection = None, None
        if process is not None and not wait:
            process.kill()  # it ignores SIGTERM (see _child_main)
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
