"""`sori wyoming --ray`: Wyoming answered with speech from a Ray Serve model deployment.

With `--ray-address` the model deployment of the Sori application that `sori serve --ray` deployed
on that cluster speaks (so Home Assistant and HTTP clients share its replicas); without one, a
local cluster is started on 127.0.0.1 and the model deployment alone is deployed there (no HTTP
proxy), then removed with the cluster when the command stops. The Wyoming server, the frontend and
the assistant run in this process, on its CPU.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sori.commands import serve_ray
from sori.commands.wyoming import EXIT_BAD_OPTIONS, EXIT_NOT_STARTED, serve_wyoming


def run(args: argparse.Namespace, settings: Any, config: Any) -> int:
    """Find (or deploy) the model deployment, then serve Wyoming until SIGTERM or Ctrl+C."""
    from tts.bulk.ray_data import RayUnavailable, ray_cluster, require_ray

    try:
        require_ray()
        replicas, autoscale = serve_ray.scaling(args)
        if args.ray_address is not None and (args.replicas is not None or args.autoscale is not None):
            raise ValueError("--replicas and --autoscale size a model deployment that sori wyoming starts; "
                             "with --ray-address the deployed application keeps its own")
    except (RayUnavailable, ValueError) as error:
        print(f"sori wyoming: {error}", file=sys.stderr)
        return EXIT_BAD_OPTIONS
    settings = serve_ray.absolute_paths(settings)
    try:
        with ray_cluster(args.ray_address) as cluster:
            from ray import serve

            from server.cluster.app import (
                APP_NAME,
                MODEL_DEPLOYMENT,
                ClusterPlan,
                ingress_settings,
                model_application,
            )
            from server.cluster.backend import RayBackend
            from server.voice_registry import VoiceRegistry

            local = ingress_settings(settings)
            registry = VoiceRegistry.from_settings(local)
            try:
                if cluster.started_here:
                    most = autoscale[1] if autoscale is not None else replicas
                    gpus = serve_ray.replica_gpus(cluster, settings, most, "sori wyoming")
                    serve.start(proxy_location="Disabled")
                    plan = ClusterPlan(replicas=replicas, autoscale=autoscale, gpus=gpus)
                    try:
                        serve.run(model_application(settings, plan), name=APP_NAME, route_prefix=None)
                    except Exception as error:  # a replica that failed to start: Serve's error says why
                        print(f"sori wyoming: the model deployment did not start: {error}", file=sys.stderr)
                        return EXIT_NOT_STARTED
                    scale = f"{autoscale[0]}-{autoscale[1]}" if autoscale is not None else str(replicas)
                    where = f"{scale} model replica(s) on {'GPUs' if gpus else 'CPUs'} of a local Ray cluster"
                else:
                    require_model_deployment(args.ray_address)
                    where = f"the model deployment of the {APP_NAME!r} application at {args.ray_address}"
                handle = serve.get_deployment_handle(MODEL_DEPLOYMENT, app_name=APP_NAME)
                require_same_voices(registry.fingerprints(), handle.voices.remote().result(timeout_s=120))
                print(f"sori wyoming: voice {registry.default_name} on {config.uri}, spoken by {where}", flush=True)
                return serve_wyoming(local, config, registry, RayBackend(handle))
            finally:
                if cluster.started_here:
                    serve.shutdown()
    except (RayUnavailable, ConnectionError, ValueError) as error:
        print(f"sori wyoming: {error}", file=sys.stderr)
        return EXIT_BAD_OPTIONS


def require_model_deployment(address: str) -> None:
    """ValueError naming the fix when the cluster has no Sori model deployment."""
    from ray import serve

    from server.cluster.app import APP_NAME, MODEL_DEPLOYMENT

    try:
        applications = serve.status().applications
    except Exception as error:  # no Serve instance on the cluster, or it cannot be reached
        raise ValueError(f"Ray Serve is not running on the cluster at {address} ({type(error).__name__}); "
                         f"deploy Sori there first: sori serve --ray --ray-address {address}") from None
    application = applications.get(APP_NAME)
    if application is None or MODEL_DEPLOYMENT not in application.deployments:
        raise ValueError(f"the cluster at {address} has no Sori application ({APP_NAME!r}); "
                         f"deploy it first: sori serve --ray --ray-address {address}")


def require_same_voices(here: dict[str, str], there: dict[str, str]) -> None:
    """ValueError naming each voice this process reads texts for that the model replicas lack, or
    hold in another version (their config.json differs): its speech would fail or be wrong."""
    missing = sorted(name for name in here if name not in there)
    different = sorted(name for name in here if name in there and there[name] != here[name])
    problems = []
    if missing:
        problems.append(f"not on the model replicas: {', '.join(missing)}")
    if different:
        problems.append(f"another version on the model replicas (config.json differs): {', '.join(different)}")
    if problems:
        raise ValueError("the voices here and on the cluster differ; " + "; ".join(problems)
                         + " (give both the same --voice and --voices-dir, or SORI_VOICES_DIR)")
