"""`sori serve --ray`: the same service deployed on a Ray cluster with Ray Serve.

Without `--ray-address` a local cluster is started on 127.0.0.1 (no dashboard, Ray's token
authentication on, as `sori synthesize-batch --ray` starts one) and the command serves in the
foreground until SIGTERM or Ctrl+C, then removes the application and stops the cluster. With an
address the application is deployed there and the command returns: the cluster serves it until
`serve shutdown` (or `serve delete sori`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2


def add_arguments(parser: Any, ingress: bool = True) -> None:
    """The `--ray` options of `sori serve` (and, without the ingress's, of `sori wyoming`)."""
    group = parser.add_argument_group("Ray Serve (the sori[ray] extra)")
    if ingress:
        group.add_argument("--ray", action="store_true", help="serve on a Ray cluster with Ray Serve")
        group.add_argument("--ray-address", default=None, metavar="auto|ray://HOST:PORT",
                           help="the cluster to deploy to (default: start a local one on 127.0.0.1)")
    else:
        group.add_argument("--ray", action="store_true",
                           help="speak with the model deployment of a Ray cluster (Ray Serve)")
        group.add_argument("--ray-address", default=None, metavar="auto|ray://HOST:PORT",
                           help="a cluster where `sori serve --ray` deployed Sori (default: start a "
                           "local one on 127.0.0.1 with the model deployment alone)")
    scaling = group.add_mutually_exclusive_group()
    scaling.add_argument("--replicas", type=int, default=None, metavar="N",
                         help="model replicas (default 1; one GPU each on a cluster with GPUs)")
    scaling.add_argument("--autoscale", default=None, metavar="MIN:MAX",
                         help="let Serve scale the model replicas between MIN and MAX")
    if ingress:
        group.add_argument("--ingress-replicas", type=int, default=None, metavar="N",
                           help="HTTP ingress replicas (default 1; more need SORI_DATABASE_URL=postgresql://...)")


def ray_options_without_ray(args: argparse.Namespace) -> str | None:
    """The first Ray option given without --ray, if any."""
    given = {"--ray-address": args.ray_address, "--replicas": args.replicas, "--autoscale": args.autoscale,
             "--ingress-replicas": getattr(args, "ingress_replicas", None)}
    return next((option for option, value in given.items() if value is not None), None)


def parse_autoscale(value: str) -> tuple[int, int]:
    """'MIN:MAX' -> (MIN, MAX); ValueError with the expected form otherwise."""
    low, sep, high = value.partition(":")
    if not sep or not low.strip().isdigit() or not high.strip().isdigit():
        raise ValueError(f"--autoscale takes MIN:MAX (two whole numbers), got {value!r}")
    return int(low), int(high)


def run(args: argparse.Namespace, settings: Any) -> int:
    """Deploy on the cluster; serve in the foreground when the cluster was started here."""
    from tts.bulk.ray_data import RayUnavailable, require_ray

    try:
        require_ray()
        replicas, autoscale = scaling(args)
        ingress_replicas = args.ingress_replicas if args.ingress_replicas is not None else 1
        if ingress_replicas < 1:
            raise ValueError("--ingress-replicas must be at least 1")
        if ingress_replicas > 1 and settings.store_url is None:
            raise ValueError("--ingress-replicas above 1 needs a shared store: "
                             "--database-url postgresql://... (SORI_DATABASE_URL)")
    except (RayUnavailable, ValueError) as error:
        print(f"sori serve: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return _deploy(args, absolute_paths(settings), replicas, autoscale, ingress_replicas)


def scaling(args: argparse.Namespace) -> tuple[int, tuple[int, int] | None]:
    """(--replicas, --autoscale's (MIN, MAX) or None), checked; ValueError naming the problem."""
    autoscale = parse_autoscale(args.autoscale) if args.autoscale is not None else None
    replicas = args.replicas if args.replicas is not None else 1
    if replicas < 1:
        raise ValueError("--replicas must be at least 1")
    if autoscale is not None and not 1 <= autoscale[0] <= autoscale[1]:
        raise ValueError(f"--autoscale needs 1 <= MIN <= MAX, got {args.autoscale}")
    return replicas, autoscale


def replica_gpus(cluster: Any, settings: Any, most: int, command: str) -> bool:
    """Whether each model replica takes a GPU (the cluster has some and the settings allow it);
    RayUnavailable when a cluster started here cannot hold `most` replicas, a note when another
    cluster has fewer now (it may add nodes)."""
    from tts.bulk.ray_data import RayUnavailable

    gpus = bool(cluster.gpus > 0 and settings.device != "cpu")
    available = cluster.gpus if gpus else cluster.cpus
    kind = "GPU" if gpus else "CPU"
    if most > available and cluster.started_here:
        raise RayUnavailable(f"{most} model replica(s) need {most} {kind}(s), this machine's cluster has {available}")
    if most > available:
        print(f"{command}: note: {most} model replica(s) asked, the cluster has {available} {kind}(s) now; "
              "Serve waits for more nodes", file=sys.stderr)
    return gpus


def absolute_paths(settings: Any) -> Any:
    """The settings with the voice, voices and data directories absolute: the replicas run in
    other working directories."""
    update: dict[str, Any] = {"data_dir": settings.data_dir.resolve()}
    if settings.voices_dir is not None:
        update["voices_dir"] = settings.voices_dir.resolve()
    if settings.voice is not None and Path(settings.voice).exists():
        update["voice"] = str(Path(settings.voice).resolve())
    return settings.model_copy(update=update)


def _deploy(args: argparse.Namespace, settings: Any, replicas: int, autoscale: tuple[int, int] | None,
            ingress_replicas: int) -> int:
    """Connect (or start a local cluster), deploy, and serve or return."""
    from tts.bulk.ray_data import RayUnavailable, ray_cluster

    try:
        with ray_cluster(args.ray_address) as cluster:
            from ray import serve

            from server.cluster.app import APP_NAME, ClusterPlan, application

            most = autoscale[1] if autoscale is not None else replicas
            gpus = replica_gpus(cluster, settings, most, "sori serve")
            plan = ClusterPlan(replicas=replicas, autoscale=autoscale, ingress_replicas=ingress_replicas,
                               gpus=gpus)
            serve.start(http_options={"host": settings.host, "port": settings.port})
            serve.run(application(settings, plan), name=APP_NAME, route_prefix="/")
            scale = f"{autoscale[0]}-{autoscale[1]}" if autoscale is not None else str(replicas)
            print(f"sori serve: on Ray Serve at http://{settings.host}:{settings.port}/ with {scale} model "
                  f"replica(s) on {'GPUs' if gpus else 'CPUs'} and {ingress_replicas} ingress replica(s)",
                  flush=True)
            if not cluster.started_here:
                print(f"sori serve: deployed; the cluster serves it until `serve delete {APP_NAME}`", flush=True)
                return 0
            try:
                _wait_for_signal()
            finally:
                serve.shutdown()
    except (RayUnavailable, ConnectionError, ValueError) as error:
        print(f"sori serve: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _wait_for_signal() -> None:
    """Block until SIGTERM or SIGINT."""
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
