"""The Ray runner: planned batches spoken by a pool of actors with Ray Data, one voice per actor.

The driver plans the batches (tts.bulk.lines.plan_batches) and hands Ray Data one row per batch;
`map_batches` with `batch_size=1` gives each actor call exactly one planned batch, so every line
is decoded in the same batch as the local runner decodes it, on one intra-op thread on a CPU: the
same samples on the same kind of device. The actors return WAV bytes and records to the driver,
which alone writes the files: the output lives where the command runs, on any cluster, and one
writer keeps the journal whole. Ray restarts a killed actor and retries its batch; the driver
writes a line once, whatever arrives twice.

A local cluster (no --ray-address) is started on the loopback address only, without the
dashboard, with Ray's token authentication on, and stopped at the end.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from tts.bulk.records import LineRecord
from tts.bulk.speak import LineTask, SpokenLine, speak_batch
from tts.synthesizer import SynthesisOptions, VoiceSource

logger = logging.getLogger(__name__)

INSTALL_HINT = 'Ray is not installed; install the extra with: pip install "sori[ray]"'

LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Ray's switch for single-machine mode: "0" makes the node's address the loopback address, so
the GCS, the raylet and every worker listen on 127.0.0.1 only (read when Ray is imported)."""

USAGE_STATS_ENV = "RAY_USAGE_STATS_ENABLED"
"""Ray's usage statistics, reported to Ray's servers unless "0": off for a local cluster."""

SERVE_GRPC_ENV = "RAY_SERVE_USE_GRPC_BY_DEFAULT"
"""Ray Serve's gRPC transport between its proxy, the ingress and the model replicas, instead of
passing requests by object reference: part of Ray's own "throughput optimized" settings, and
several milliseconds less per request here (bench/CLUSTER_RESULTS.md). On for a local cluster; for
another cluster set it where `ray start` runs (the replicas get it from server.cluster.app)."""

AUTH_MODE_ENV = "RAY_AUTH_MODE"
"""Ray's token authentication ('token' or 'disabled'); Ray 2.60 turns it on for a new local
cluster when it is unset, with the token from RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token."""


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot run the job as asked."""


def require_ray() -> None:
    """RayUnavailable with the install command when Ray is not installed (without importing it:
    a local cluster needs LOOPBACK_ENV set first)."""
    if importlib.util.find_spec("ray") is None:
        raise RayUnavailable(INSTALL_HINT)


@dataclass(frozen=True)
class ClusterInfo:
    """What the job needs to know about the cluster it runs on."""

    cpus: int
    gpus: int
    started_here: bool
    """A local cluster started for this job (stopped at the end)."""


@contextmanager
def ray_cluster(address: str | None) -> Iterator[ClusterInfo]:
    """Connect to `address` ('auto', 'ray://HOST:PORT', 'HOST:PORT'), or start a local cluster on
    127.0.0.1 when it is None; disconnect (and stop the local cluster) at the end. A process
    already connected (ray.init called by the caller) is used as it is and left connected."""
    require_ray()
    if address is None:
        os.environ.setdefault(LOOPBACK_ENV, "0")
        os.environ.setdefault(USAGE_STATS_ENV, "0")
        os.environ.setdefault(SERVE_GRPC_ENV, "1")
    import ray
    from ray._private import ray_constants

    try:
        import ray.data  # noqa: F401  (the [data] part of the extra)
    except ImportError as error:
        raise RayUnavailable(f"{INSTALL_HINT} ({error})") from error

    owned = not ray.is_initialized()
    if owned:
        if address is None:
            if ray_constants.ENABLE_RAY_CLUSTER:
                raise RayUnavailable(
                    f"Ray was imported before {LOOPBACK_ENV}=0 was set, so a local cluster would "
                    "listen beyond 127.0.0.1; start one with `ray start --head` and pass --ray-address")
            if os.environ.get(AUTH_MODE_ENV, "").lower() == "disabled":
                logger.warning("%s=disabled: the local Ray cluster runs without token authentication",
                               AUTH_MODE_ENV)
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    try:
        resources = ray.cluster_resources()
        yield ClusterInfo(int(resources.get("CPU", 0)), int(resources.get("GPU", 0)),
                          owned and address is None)
    finally:
        if owned:
            ray.shutdown()


class SpeakBatches:
    """A Ray Data actor: loads the voice once, then speaks one planned batch per call."""

    def __init__(self, source: VoiceSource, options: SynthesisOptions) -> None:
        from tts.synthesizer import Synthesizer

        self.synthesizer = Synthesizer.load(
            source.voice_dir, device=source.device, max_batch_size=source.max_batch_size,
            cuda_graphs=source.cuda_graphs, vocoder=source.vocoder)
        self.options = options

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Rows of planned batches (one per call) -> one row per line: number, record, WAV."""
        spoken: list[SpokenLine] = []
        for numbers, ids, texts in zip(batch["numbers"], batch["ids"], batch["texts"], strict=True):
            tasks = [LineTask(int(n), str(i), str(t)) for n, i, t in zip(numbers, ids, texts, strict=True)]
            spoken.extend(speak_batch(self.synthesizer, tasks, self.options))
        return {
            "line": np.array([item.record.line for item in spoken], dtype=np.int64),
            "record": np.array([item.record.to_json() for item in spoken], dtype=object),
            "wav": np.array([item.wav for item in spoken], dtype=object),
        }


def run_on_ray(
    batches: Sequence[Sequence[LineTask]], source: VoiceSource, options: SynthesisOptions,
    workers: int, cluster: ClusterInfo,
) -> Iterator[list[SpokenLine]]:
    """Speak the batches on `workers` actors (a GPU each when the voice runs on CUDA, a CPU each
    otherwise); yield each line as its batch comes back to the driver."""
    import ray.data

    on_gpu = source.device.startswith("cuda")
    available = cluster.gpus if on_gpu else cluster.cpus
    if workers > available:
        raise RayUnavailable(f"--workers {workers} needs {workers} {'GPU' if on_gpu else 'CPU'}s, "
                             f"the cluster has {available}")
    if not batches:
        return
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the job draws its own
    context.print_on_execution_start = False
    rows = [{"numbers": [task.number for task in batch], "ids": [task.id for task in batch],
             "texts": [task.text for task in batch]} for batch in batches]
    resources: dict[str, Any] = {"num_gpus": 1} if on_gpu else {"num_cpus": 1}
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        SpeakBatches, batch_size=1, compute=ray.data.ActorPoolStrategy(size=min(workers, len(rows))),
        fn_constructor_kwargs={"source": source, "options": options}, **resources,
    )
    for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
        yield [SpokenLine(LineRecord.from_json(str(record)), bytes(wav))
               for record, wav in zip(batch["record"], batch["wav"], strict=True)]
