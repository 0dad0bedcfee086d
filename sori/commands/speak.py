"""`sori speak TEXT -o out.wav`: synthesise Korean text with a voice, optionally plotting attention."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `speak` subcommand."""
    parser = subparsers.add_parser(
        "speak", help="turn Korean text into a WAV file",
        description="Synthesise TEXT with a Sori voice and write a 16-bit PCM WAV.",
    )
    parser.add_argument("text", metavar="TEXT", help="Korean text, any length")
    parser.add_argument("-o", "--output", type=Path, required=True, help="WAV file to write")
    parser.add_argument("--voice", type=Path, default=None, help="voice directory (default: the bundled voice)")
    parser.add_argument("--alignment", type=Path, default=None, help="also write the attention alignment PNG here")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run the model")
    parser.add_argument("--no-cuda-graphs", dest="cuda_graphs", action="store_false",
                        help="on CUDA, decode with the eager loop instead of captured CUDA graphs")
    parser.add_argument("--speed", type=float, default=1.0, help="speaking rate factor (0.25-4.0)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary (health per sentence)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Synthesise and write the files; exit 2 naming the problem on bad input or a broken voice."""
    from tts import (
        FrontendError,
        SynthesisOptions,
        Synthesizer,
        VoiceError,
        default_voice_dir,
        plot_alignment,
    )
    from tts.audio import save_wav

    try:
        options = SynthesisOptions(speed=args.speed)
        voice_dir = args.voice if args.voice is not None else default_voice_dir()
        synthesizer = Synthesizer.load(voice_dir, device=args.device, cuda_graphs=args.cuda_graphs)
        started = time.perf_counter()
        result = synthesizer.synthesize(args.text, options)
        elapsed = time.perf_counter() - started
    except (FrontendError, VoiceError, ValueError) as error:
        print(f"sori speak: {error}", file=sys.stderr)
        return 2
    save_wav(args.output, result.waveform, result.sample_rate)
    if args.alignment is not None:
        plot_alignment(
            result.alignments,
            [sentence.labels for sentence in result.sentences],
            [sentence.text for sentence in result.sentences],
            path=args.alignment,
        )
    summary = {
        "output": str(args.output),
        "voice": synthesizer.config.name,
        "seconds": round(result.duration_seconds, 3),
        "real_time_factor": round(elapsed / max(result.duration_seconds, 1e-9), 4),
        "attention_ok": result.health_ok,
        "dropped": list(result.dropped),
        "sentences": [{"text": s.text, **s.health.to_dict()} for s in result.sentences],
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"wrote {args.output}: {summary['seconds']} s of speech by {summary['voice']} "
              f"(real-time factor {summary['real_time_factor']})")
        if args.alignment is not None:
            print(f"wrote {args.alignment}: attention alignment")
    if not result.health_ok:
        print("sori speak: warning: attention failed for: " + " | ".join(result.failed_sentences), file=sys.stderr)
    return 0
