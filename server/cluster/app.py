"""The Ray Serve application: the model deployment behind the same FastAPI app as ingress.

`application(settings, plan)` binds it for `serve.run` (what `sori serve --ray` does);
`build(args)` is the application builder that a Serve config names (deploy/ray/serve.yaml:
`import_path: server.cluster.app:build`), with the settings from the SORI_* environment.

The ingress is `create_app` unchanged (every route, the API key, the body limits, the cache and
the metrics at the ingress) with its speech from `RayBackend`; it loads the voices on its CPU only
to read texts (the frontend) and cut streams into sentences. The model replicas synthesise: one
GPU each when the cluster has GPUs and the settings allow them, else one CPU each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from server.app import create_app
from server.cluster.backend import RayBackend
from server.cluster.model import SpeechModel
from server.metrics import Metrics
from server.settings import Settings
from tts import SpeechSynthesizer as Synthesizer

APP_NAME = "sori"
MODEL_DEPLOYMENT = "SpeechModel"
INGRESS_DEPLOYMENT = "SoriIngress"

REPLICA_ENV = {"RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0", "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "0",
               "RAY_SERVE_USE_GRPC_BY_DEFAULT": "1"}
"""Ray Serve's settings for replicas whose code never blocks their event loop, as Sori's do (the
model, the frontend, encoding and the store run in threads): the code and the handle's router on
the replica's own loop, without a hop between threads on each call, and the ingress's calls to
the model replicas over Serve's gRPC transport. Three of Ray's own "throughput optimized"
settings; merged into any runtime_env the Serve config gives (Serve combines env_vars). Measured
in bench/CLUSTER_RESULTS.md."""


@dataclass(frozen=True)
class ClusterPlan:
    """How many replicas of what, as `sori serve --ray` or the Serve config asks."""

    replicas: int = 1
    """Model replicas (ignored with `autoscale`)."""
    autoscale: tuple[int, int] | None = None
    """(min, max) model replicas, scaled by Serve on requests in flight; None: fixed `replicas`."""
    ingress_replicas: int = 1
    """Ingress replicas; more than one needs a shared store (SORI_DATABASE_URL=postgresql://...)."""
    gpus: bool = False
    """One GPU per model replica (else one CPU)."""
    max_ongoing_requests: int | None = None
    """Requests one model replica holds at once (None: two batches' worth)."""
    ingress_max_ongoing_requests: int = 1024
    """Requests one ingress replica holds at once: it must take more than the model replicas can
    queue, so that a full model deployment is answered 503 + Retry-After by Sori (its handle's
    BackPressureError) rather than held at Serve's proxy."""
    cpus_per_replica: float = 1.0
    """CPUs Ray reserves per CPU model replica (its synthesis runs on one intra-op thread)."""

    def __post_init__(self) -> None:
        if self.replicas < 1 or self.ingress_replicas < 1:
            raise ValueError("replicas and ingress replicas must be >= 1")
        if self.autoscale is not None and not 1 <= self.autoscale[0] <= self.autoscale[1]:
            raise ValueError("autoscale needs 1 <= MIN <= MAX")
        if self.cpus_per_replica <= 0:
            raise ValueError("cpus_per_replica must be > 0")
        if self.max_ongoing_requests is not None and self.max_ongoing_requests < 1:
            raise ValueError("max_ongoing_requests must be >= 1")


def ingress_settings(settings: Settings) -> Settings:
    """The ingress's settings: voices on the CPU, read but never decoded there (no warm-up)."""
    return settings.model_copy(update={"device": "cpu", "warmup": False, "inference_processes": False,
                                       "cuda_graphs": False})


class SoriIngress:
    """The ingress replica: Sori's FastAPI app, built in the replica (`__serve_build_asgi_app__`)."""

    def __init__(self, settings: Settings, model: Any) -> None:
        self.settings = settings
        self.model = model
        """The model deployment's DeploymentHandle."""

    def __serve_build_asgi_app__(self) -> FastAPI:
        """Called by Serve in the replica after __init__."""

        def backend(settings: Settings, synthesizer: Synthesizer, metrics: Metrics) -> RayBackend:
            return RayBackend(self.model)

        return create_app(ingress_settings(self.settings), backend=backend)


def model_application(settings: Settings, plan: ClusterPlan) -> Application:
    """The model deployment alone, bound (what `sori wyoming --ray` deploys on a cluster it starts,
    and what the ingress binds to)."""
    on_gpu = plan.gpus and settings.device != "cpu"
    batch = settings.batch_limit(on_cpu=not on_gpu)
    scaling: dict[str, Any] = (
        {"autoscaling_config": {"min_replicas": plan.autoscale[0], "max_replicas": plan.autoscale[1],
                                "target_ongoing_requests": batch}}
        if plan.autoscale is not None else {"num_replicas": plan.replicas})
    model = serve.deployment(name=MODEL_DEPLOYMENT)(SpeechModel).options(
        ray_actor_options={**({"num_gpus": 1} if on_gpu else {"num_cpus": plan.cpus_per_replica}),
                           "runtime_env": {"env_vars": REPLICA_ENV}},
        max_ongoing_requests=plan.max_ongoing_requests or 2 * batch,
        max_queued_requests=settings.queue_size,
        health_check_period_s=2,
        **scaling,
    )
    model_settings = settings.model_copy(update={"device": "cuda" if on_gpu else "cpu"})
    return model.bind(model_settings, None if on_gpu else 1)


def application(settings: Settings, plan: ClusterPlan) -> Application:
    """The two deployments bound for `serve.run`."""
    ingress = serve.deployment(name=INGRESS_DEPLOYMENT)(serve.ingress()(SoriIngress)).options(
        num_replicas=plan.ingress_replicas,
        # It reads texts and moves bytes; the CPUs go to the model.
        ray_actor_options={"num_cpus": 0, "runtime_env": {"env_vars": REPLICA_ENV}},
        max_ongoing_requests=plan.ingress_max_ongoing_requests,
    )
    return ingress.bind(settings, model_application(settings, plan))


def build(args: dict[str, Any]) -> Application:
    """The application builder a Serve config names; `args`: replicas, autoscale_min/max,
    ingress_replicas, gpus (settings come from the SORI_* environment of the replicas)."""
    autoscale = None
    if "autoscale_min" in args or "autoscale_max" in args:
        autoscale = (int(args.get("autoscale_min", 1)), int(args.get("autoscale_max", 1)))
    plan = ClusterPlan(
        replicas=int(args.get("replicas", 1)), autoscale=autoscale,
        ingress_replicas=int(args.get("ingress_replicas", 1)), gpus=bool(args.get("gpus", False)),
    )
    return application(Settings.model_validate({}), plan)
