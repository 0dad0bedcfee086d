"""`sori train-vocoder --features DIR --out RUN [--resume] [--steps N] [--set KEY=VALUE ...]`.

Trains the neural vocoder on `sori prepare` features and the recordings of the corpus they were
prepared from; with `--acoustic-voice DIR`, on that voice's teacher-forced mels, usually with
`--init-from` a run trained on the recordings' own mels (fine-tuning).
Every VocoderTrainConfig field (tts/training/vocoder/config.py) can be set with --set.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `train-vocoder` subcommand."""
    parser = subparsers.add_parser(
        "train-vocoder", help="train the neural vocoder on prepared features",
        description="Train the Vocos-style vocoder on features written by `sori prepare` and the "
                    "corpus recordings they came from. Interrupt with Ctrl-C (or SIGTERM) to stop "
                    "with a checkpoint; --resume continues exactly.",
        epilog="Settings are documented in tts/training/vocoder/config.py (VocoderTrainConfig). "
               "Bundle the result into a voice with: sori export TACOTRON_RUN --out VOICE --vocoder RUN",
    )
    parser.add_argument("--features", type=Path, required=True, help="features directory from sori prepare")
    parser.add_argument("--out", type=Path, required=True, help="the run directory (checkpoints, logs)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out exactly")
    parser.add_argument("--steps", type=int, default=None, help="train until this step (max_steps)")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="corpus directory with the recordings (default: the one the prepare report names)")
    parser.add_argument("--acoustic-voice", type=Path, default=None,
                        help="fine-tune on this voice's teacher-forced mels instead of the recordings' own")
    parser.add_argument("--init-from", type=Path, default=None,
                        help="start a new run from this vocoder run's best checkpoint (or a checkpoint directory)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                        help="any VocoderTrainConfig field, e.g. --set batch_size=64 --set device=cuda")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train; exit 2 naming the problem when the run cannot start, 3 when it diverged."""
    from dataclasses import fields
    from typing import get_type_hints

    from tts.config_io import ConfigError
    from tts.training.checkpoint import CheckpointError
    from tts.training.features import FeaturesError
    from tts.training.overrides import parse_value
    from tts.training.runtime import TrainError
    from tts.training.vocoder.config import VocoderTrainConfig
    from tts.training.vocoder.loop import VocoderTrainingDiverged, train_vocoder
    from tts.voice_format import VoiceError

    try:
        hints = get_type_hints(VocoderTrainConfig)
        known = {field.name for field in fields(VocoderTrainConfig)}
        overrides: dict[str, Any] = {}
        for item in args.settings:
            key, separator, value = item.partition("=")
            if not separator or key not in known:
                raise ConfigError(f"--set {item!r}: expected KEY=VALUE with KEY one of {', '.join(sorted(known))}")
            overrides[key] = parse_value(value, hints[key], key)
        if args.steps is not None:
            overrides["max_steps"] = args.steps
        args.out.mkdir(parents=True, exist_ok=True)
        log_file = logging.FileHandler(args.out / "train.log", encoding="utf-8")
        log_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root_logger = logging.getLogger()
        root_logger.addHandler(log_file)
        try:
            result = train_vocoder(args.features, args.out, resume=args.resume, overrides=overrides,
                                   corpus=args.corpus, acoustic_voice=args.acoustic_voice,
                                   init_from=args.init_from)
        finally:
            root_logger.removeHandler(log_file)
            log_file.close()
    except (ConfigError, TrainError, FeaturesError, CheckpointError, VoiceError) as error:
        print(f"sori train-vocoder: {error}", file=sys.stderr)
        return 2
    except VocoderTrainingDiverged as error:
        print(f"sori train-vocoder: {error}", file=sys.stderr)
        return 3
    state = "stopped early" if result.interrupted else "finished"
    print(f"{state} at step {result.step} ({result.skipped_steps} skipped, {result.seconds_per_step:.3f} s/step); "
          f"last checkpoint: {result.last_checkpoint}; last evaluation: {result.last_eval}")
    return 0
