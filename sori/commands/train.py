"""`sori train --features DIR --run-dir DIR [--resume] [--key=value ...]`: train a Tacotron voice.

Runs alone or under torchrun (`torchrun --nproc_per_node=N -m sori train ...`). Any TrainConfig
field can be set as `--field=value`, nested ones as `--model.field=value` or `--loss.field=value`;
values are type-checked against the dataclasses.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sori.commands import checks


class _OverrideParser(argparse.ArgumentParser):
    """Keeps unknown `--key=value` arguments as config overrides instead of rejecting them.

    The dispatcher builds subparsers with the default class, and argparse offers no hook for
    free-form options, so the train subparser switches to this class after creation.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        overrides = [item for item in extras if item.startswith("--") and "=" in item]
        parsed.overrides = [*getattr(parsed, "overrides", []), *overrides]
        return parsed, [item for item in extras if item not in overrides]


def register(subparsers: Any) -> None:
    """Add the `train` subcommand."""
    parser = subparsers.add_parser(
        "train", help="train a voice on prepared features",
        description="Train Tacotron on features written by `sori prepare`. Settings: any TrainConfig "
                    "field as --field=value (e.g. --batch_size=16 --max_steps=50000), model fields as "
                    "--model.field=value (e.g. --model.reduction_factor=3), loss weights as "
                    "--loss.field=value. Under torchrun every process runs this command.",
        epilog="Every setting is documented where it is declared: TrainConfig in "
               "tts/training/config.py, TacotronConfig in tts/model/config.py, LossConfig in "
               "tts/model/loss.py. Interrupt with Ctrl-C (or SIGTERM) to stop with a checkpoint; "
               "--resume continues.",
    )
    parser.__class__ = _OverrideParser
    parser.add_argument("--features", type=Path, required=True, help="features directory from sori prepare")
    parser.add_argument("--run-dir", type=Path, required=True, help="where checkpoints, logs and plots go")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir exactly")
    parser.set_defaults(func=run, overrides=[])


def run(args: argparse.Namespace) -> int:
    """Train; exit 2 naming the problem when the run cannot start, 3 when it diverged."""
    from tts.training.checkpoint import CheckpointError
    from tts.training.config import ConfigError
    from tts.training.distributed import DistributedError
    from tts.training.features import FeaturesError
    from tts.training.loop import TrainError, TrainingDiverged, train
    from tts.training.overrides import parse_overrides

    root_logger = logging.getLogger()
    main_process = os.environ.get("RANK", "0") == "0"  # torchrun: only rank 0 logs to the run dir
    if not main_process:
        root_logger.setLevel(logging.WARNING)
    try:
        overrides = parse_overrides(args.overrides)
        checks.device(str(overrides.get("device", "auto")))  # before the run directory is made
        log_file: logging.Handler = logging.NullHandler()
        if main_process:
            args.run_dir.mkdir(parents=True, exist_ok=True)
            log_file = logging.FileHandler(args.run_dir / "train.log", encoding="utf-8")
            log_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root_logger.addHandler(log_file)
        try:
            result = train(args.features, args.run_dir, resume=args.resume, overrides=overrides)
        finally:
            root_logger.removeHandler(log_file)
            log_file.close()
    except (ConfigError, TrainError, FeaturesError, CheckpointError, DistributedError) as error:
        print(f"sori train: {error}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"sori train: {error}", file=sys.stderr)
        return 3
    if math.isnan(result.seconds_per_step):  # no step was trained: the run had reached max_steps
        print(f"already finished at step {result.step}: nothing to train (raise --max_steps to go on); "
              f"last checkpoint: {result.last_checkpoint}")
        return 0
    state = "stopped early" if result.interrupted else "finished"
    print(f"{state} at step {result.step} ({result.skipped_steps} skipped, "
          f"{result.seconds_per_step:.3f} s/step); last checkpoint: {result.last_checkpoint}")
    return 0
