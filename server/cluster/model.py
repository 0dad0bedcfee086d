"""The model deployment: one voice registry per replica, requests gathered with `@serve.batch`.

Each replica loads the voices as `sori serve` does (the default one at start) and synthesises the
batches Serve gathers (at most the server's batch limit, waiting at most its batch wait), one
batch at a time in its own thread so the replica's event loop keeps gathering the next. A batch
mixes voices and options only in what it receives: each kind is synthesised in its own call, its
requests in order of length as the in-process worker orders them. A request cancelled before its
batch starts (its client left) is never synthesised.

A stream is one generator call (`stream`): its groups go through the same batching one after
another, each yielded as soon as it is decoded, so the next is decoding while the ingress sends
the one before; the ingress cancelling the call (its client left) drops the group waiting for its
batch and ends the generator.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ray import serve

from server.app import WARMUP_TEXT
from server.inference_process import Analyzed
from server.settings import Settings
from server.voice_registry import VoiceRegistry
from tts import SynthesisOptions, SynthesisResult

logger = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 64
"""`@serve.batch`'s limit until the replica sets the server's own (Settings.batch_limit)."""


@dataclass(frozen=True)
class ModelRequest:
    """One request (or one group of a stream) as the ingress sends it to a model replica."""

    voice: str
    """The voice's registry name."""
    sentences: Analyzed
    options: SynthesisOptions

    @property
    def length(self) -> int:
        """Symbols of the longest sentence: what decoding its batch lasts for."""
        return max(len(frontend.ids) for _, frontend in self.sentences)


@dataclass(frozen=True)
class StreamRequest:
    """A stream as the ingress sends it: the text's sentences and the groups to decode them in."""

    voice: str
    sentences: Analyzed
    options: SynthesisOptions
    groups: tuple[tuple[int, int], ...]
    """(start, stop) of each group, in order (`tts.stream_groups`, as the ingress cut them)."""

    def group(self, index: int) -> ModelRequest:
        """Group `index` as a request of its own."""
        start, stop = self.groups[index]
        return ModelRequest(self.voice, self.sentences[start:stop], self.options)


@dataclass(frozen=True)
class ModelReply:
    """A model replica's answer: the synthesis and the replica's id (X-Sori-Replica)."""

    replica: str
    result: SynthesisResult


@dataclass(frozen=True)
class ReplicaStats:
    """What one model replica has done since it started (for operators and tests)."""

    replica: str
    sentences: int
    """Sentences synthesised."""
    batches: int
    """Batched synthesis calls made."""
    streams: int
    """Streams being sent now (started, neither finished nor cancelled)."""


class SpeechModel:
    """A Ray Serve model replica (wrapped by `serve.deployment` in server.cluster.app)."""

    def __init__(self, settings: Settings, intra_op_threads: int | None = None) -> None:
        self.registry = VoiceRegistry.from_settings(settings)
        synthesizer = self.registry.load(self.registry.default_name).synthesizer
        on_cpu = synthesizer.device.type == "cpu"
        batching: Any = self.synthesize  # Serve's batch wrapper, typed as the plain method
        batching.set_max_batch_size(settings.batch_limit(on_cpu))
        batching.set_batch_wait_timeout_s(settings.batch_wait_s)
        self.replica = serve.get_replica_context().replica_id.unique_id
        self._executor = ThreadPoolExecutor(
            1, thread_name_prefix="sori-model", initializer=_set_threads, initargs=(intra_op_threads,))
        """Synthesises one batch at a time, off the replica's event loop."""
        self._sentences = 0
        self._batches = 0
        self._streams = 0
        if settings.warmup:
            self._executor.submit(synthesizer.synthesize, WARMUP_TEXT).result()
        logger.info("model replica %s: voice %s on %s", self.replica, self.registry.default_name,
                    synthesizer.device)

    async def speak(self, request: ModelRequest) -> ModelReply:
        """Synthesise one request, batched with whatever else arrives meanwhile."""
        return ModelReply(self.replica, await self.synthesize(request))

    async def stream(self, request: StreamRequest) -> AsyncIterator[ModelReply]:
        """A stream's groups in order, each batched with whatever else arrives meanwhile."""
        self._streams += 1
        try:
            for index in range(len(request.groups)):
                yield ModelReply(self.replica, await self.synthesize(request.group(index)))
        finally:
            self._streams -= 1

    def ping(self) -> str:
        """This replica's id: it is up and has loaded its default voice (for /readyz)."""
        return self.replica

    def voices(self) -> dict[str, str]:
        """This replica's voices and their fingerprints (VoiceRegistry.fingerprints)."""
        return self.registry.fingerprints()

    def stats(self) -> ReplicaStats:
        """What this replica has done so far."""
        return ReplicaStats(self.replica, self._sentences, self._batches, self._streams)

    @serve.batch(max_batch_size=DEFAULT_MAX_BATCH, batch_wait_timeout_s=0.005)
    async def synthesize(self, requests: list[ModelRequest]) -> list[SynthesisResult]:
        """A batch Serve gathered -> one result per request, in order."""
        results: dict[int, SynthesisResult] = {}
        kinds: dict[tuple[str, SynthesisOptions], list[int]] = {}
        for index, request in enumerate(requests):
            kinds.setdefault((request.voice, request.options), []).append(index)
        loop = asyncio.get_running_loop()
        for (voice, options), indices in kinds.items():
            indices.sort(key=lambda index: requests[index].length)
            batch = [requests[index].sentences for index in indices]
            synthesized = await loop.run_in_executor(self._executor, self._synthesize, voice, batch, options)
            results.update(zip(indices, synthesized, strict=True))
        return [results[index] for index in range(len(requests))]

    def _synthesize(self, voice: str, batch: list[Analyzed], options: SynthesisOptions) -> list[SynthesisResult]:
        """One call of the voice's batched synthesis (in the replica's synthesis thread)."""
        results = self.registry.load(voice).synthesizer.synthesize_analyzed(batch, options)
        self._sentences += sum(len(sentences) for sentences in batch)
        self._batches += 1
        return results


def _set_threads(intra_op_threads: int | None) -> None:
    """The synthesis thread's torch intra-op threads (OpenMP's setting is per thread)."""
    torch = sys.modules.get("torch")
    if intra_op_threads is not None and torch is not None:
        torch.set_num_threads(intra_op_threads)
