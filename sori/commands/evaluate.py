"""`sori eval --voice DIR --sentences FILE --out DIR`: measure a voice against its teacher."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from sori.commands import checks
from sori.commands.options import add_runtime_argument


def register(subparsers: Any) -> None:
    """Add the `eval` subcommand."""
    parser = subparsers.add_parser(
        "eval", help="measure a voice: attention health, duration and teacher match",
        description="Synthesise every line of FILE and write report.json, report.md and alignment PNGs.",
    )
    parser.add_argument("--voice", type=Path, default=None, help="voice directory (default: the bundled voice)")
    parser.add_argument("--sentences", type=Path, required=True, help="UTF-8 file, one sentence per line")
    parser.add_argument("--out", type=Path, required=True, help="directory for the report")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--no-cuda-graphs", dest="cuda_graphs", action="store_false",
                        help="on CUDA, decode with the eager loop instead of captured CUDA graphs")
    parser.add_argument("--vocoder", default="auto", choices=["auto", "griffin-lim", "neural"],
                        help="auto: the voice's neural vocoder when it has one, else Griffin-Lim; "
                             "with auto, the report sets the two side by side")
    parser.add_argument("--no-vocoder-comparison", dest="compare_vocoders", action="store_false",
                        help="skip the copy-synthesis and teacher-forced scores of each vocoder "
                             "(always skipped with --runtime onnx: they run the torch model)")
    add_runtime_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print the summary; exit 2 naming the problem on bad input."""
    from tts import FrontendError, VoiceError, default_voice_dir, load_synthesizer
    from tts.evaluation import EvaluationError, evaluate_voice

    checks.output_dir(args.out, "--out")
    checks.device(args.device)
    try:
        lines = args.sentences.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        print(f"sori eval: cannot read {args.sentences}: {error}", file=sys.stderr)
        return 2
    sentences = [line.strip() for line in lines if line.strip()]
    if not sentences:
        print(f"sori eval: {args.sentences} holds no sentences", file=sys.stderr)
        return 2
    try:
        voice_dir = args.voice if args.voice is not None else default_voice_dir()
        synthesizer = load_synthesizer(voice_dir, runtime=args.runtime, device=args.device,
                                       cuda_graphs=args.cuda_graphs, vocoder=args.vocoder)
        command = "sori eval " + " ".join(shlex.quote(a) for a in sys.argv[2:])
        report = evaluate_voice(synthesizer, sentences, args.out, command=command,
                                compare_vocoders_too=args.compare_vocoders and synthesizer.runtime == "torch")
    except (FrontendError, VoiceError, EvaluationError, ValueError) as error:
        print(f"sori eval: {error}", file=sys.stderr)
        return 2
    summary = report.summary
    print(f"{summary['sentences']} sentences; retrieval {summary['retrieval_accuracy']:.0%}; "
          f"duration in band {summary['duration_ratio_in_band']:.0%}; "
          f"end reached {summary['end_reached']}, monotonic {summary['monotonic']}, "
          f"stopped by token {summary['stopped_by_token']}")
    for bar, met in summary["bars"].items():
        print(f"  {'met    ' if met else 'NOT met'}  {bar}")
    if report.vocoders is not None:
        _print_vocoders(report.vocoders.summary())
    print(f"report: {args.out / 'report.md'}")
    return 0


def _print_vocoders(summary: dict[str, Any]) -> None:
    """One line per path and vocoder: the means of PESQ-WB, STOI and spectral distance."""
    for path in ("copy synthesis", "teacher-forced"):
        for name, measures in summary[path].items():
            cells = [f"{label} {measures[key]['mean']:.3f}" for key, label in
                     (("pesq_wb", "PESQ-WB"), ("stoi", "STOI"), ("spectral_distance", "spectral distance"))
                     if key in measures]
            print(f"{path}, {name}: " + ", ".join(cells))
    for name, run in summary["free-running"].items():
        print(f"free-running, {name}: MFCC-DTW distance to the teacher {run['mean_teacher_distance']:.1f}")
    for bar, met in summary.get("bars", {}).items():
        print(f"  {'n/a    ' if met is None else 'met    ' if met else 'NOT met'}  {bar}")
