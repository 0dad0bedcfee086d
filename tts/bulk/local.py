"""The in-process runner: planned batches spoken by one loaded voice, on one or more threads.

A `Synthesizer` keeps no state between calls, so worker threads share it; on a CPU each batch runs
on one intra-op thread (tts.bulk.speak), so N workers keep N cores busy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from tts.bulk.speak import LineTask, SpokenLine, speak_batch
from tts.synthesizer import SynthesisOptions, Synthesizer


def run_local(
    synthesizer: Synthesizer, batches: Sequence[Sequence[LineTask]], options: SynthesisOptions,
    workers: int = 1,
) -> Iterator[list[SpokenLine]]:
    """Speak each batch and yield its lines as soon as it is done (in plan order with one worker;
    with more, up to 2 x workers batches are in flight and each is yielded in submission order)."""
    if workers <= 1:
        for batch in batches:
            yield speak_batch(synthesizer, batch, options)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sori-bulk") as pool:
        pending: deque[Future[list[SpokenLine]]] = deque()
        for batch in batches:
            pending.append(pool.submit(speak_batch, synthesizer, batch, options))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
