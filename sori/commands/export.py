"""`sori export RUN_DIR --out voices/NAME [--fp16] [--checkpoint best|last|PATH]`: a run -> a voice."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sori.commands import checks


def register(subparsers: Any) -> None:
    """Add the `export` subcommand."""
    parser = subparsers.add_parser(
        "export", help="turn a training run into a voice directory",
        description="Write a checkpoint of RUN_DIR as a voice directory (config.json + "
                    "model.safetensors) for sori speak, sori serve and Synthesizer.",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the --run-dir of sori train")
    parser.add_argument("--out", type=Path, required=True, help="voice directory to write (e.g. voices/my-voice)")
    parser.add_argument("--checkpoint", default="best",
                        help="'best' (lowest validation loss; default), 'last', or a checkpoint directory")
    parser.add_argument("--name", default=None, help="voice name (default: the --out directory's name)")
    parser.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    parser.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE",
                        help="extra metadata for config.json (e.g. --meta licence=CC-BY-NC-SA-4.0)")
    parser.add_argument("--vocoder", type=Path, default=None, metavar="VOCODER_RUN",
                        help="bundle this sori train-vocoder run's checkpoint as the voice's neural vocoder")
    parser.add_argument("--vocoder-checkpoint", default="best",
                        help="which checkpoint of --vocoder: 'best' (default), 'last', or a directory")
    parser.set_defaults(func=run)

    vocoder = subparsers.add_parser(
        "export-vocoder", help="add a trained neural vocoder to an existing voice directory",
        description="Write a checkpoint of a sori train-vocoder run into VOICE (vocoder.safetensors "
                    "and config.json's vocoder section), replacing any vocoder it had.",
    )
    vocoder.add_argument("vocoder_run", type=Path, metavar="VOCODER_RUN", help="the --out of sori train-vocoder")
    vocoder.add_argument("--voice", type=Path, required=True, help="voice directory to add the vocoder to")
    vocoder.add_argument("--checkpoint", default="best", help="'best' (default), 'last', or a checkpoint directory")
    vocoder.add_argument("--fp16", action="store_true", help="store weights as float16")
    vocoder.set_defaults(func=run_vocoder)


def run(args: argparse.Namespace) -> int:
    """Export; exit 2 naming the problem when the run or checkpoint is unusable."""
    from tts.training.checkpoint import CheckpointError
    from tts.training.export import export_voice
    from tts.voice_format import VoiceError

    checks.output_dir(args.out, "--out")
    extra = {}
    for item in args.meta:
        key, separator, value = item.partition("=")
        if not separator or not key:
            print(f"sori export: --meta {item!r} must look like KEY=VALUE", file=sys.stderr)
            return 2
        extra[key] = value
    try:
        voice = export_voice(args.run_dir, args.out, checkpoint=args.checkpoint, name=args.name,
                             fp16=args.fp16, extra_metadata=extra, vocoder_run=args.vocoder,
                             vocoder_checkpoint=args.vocoder_checkpoint)
    except (CheckpointError, VoiceError, ValueError) as error:
        print(f"sori export: {error}", file=sys.stderr)
        return 2
    metadata = json.loads((voice / "config.json").read_text(encoding="utf-8"))["metadata"]
    print(f"wrote voice {voice} from {metadata['checkpoint']} (step {metadata['training_steps']}); "
          f"try: sori speak \"안녕하세요\" -o hello.wav --voice {voice}")
    return 0


def run_vocoder(args: argparse.Namespace) -> int:
    """Add the vocoder; exit 2 naming the problem when the run, checkpoint or voice is unusable."""
    from tts.training.checkpoint import CheckpointError
    from tts.training.export import add_vocoder
    from tts.voice_format import VoiceError

    try:
        voice = add_vocoder(args.voice, args.vocoder_run, checkpoint=args.checkpoint, fp16=args.fp16)
    except (CheckpointError, VoiceError, ValueError) as error:
        print(f"sori export-vocoder: {error}", file=sys.stderr)
        return 2
    print(f"added the vocoder of {args.vocoder_run} to {voice}; try: sori vocode IN.wav -o out.wav --voice {voice}")
    return 0
