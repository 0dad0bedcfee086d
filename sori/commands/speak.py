"""`sori speak TEXT -o out.wav`: synthesise Korean text with a voice, optionally plotting attention.

`-` as TEXT reads standard input (UTF-8); `-o -` streams the WAV to standard output sentence by
sentence, so `sori speak "…" -o - | aplay` starts speaking after the first sentence (messages go to
stderr; a player that stops early ends the command quietly). Characters that cannot be spoken are
named in a warning on stderr (and in `dropped` with --json).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sori.commands import checks
from sori.commands.options import add_runtime_argument

if TYPE_CHECKING:
    from tts import SpeechChunk, SynthesisResult


def register(subparsers: Any) -> None:
    """Add the `speak` subcommand."""
    parser = subparsers.add_parser(
        "speak", help="turn Korean text into a WAV file",
        description="Synthesise TEXT with a Sori voice and write a 16-bit PCM WAV.",
    )
    parser.add_argument("text", metavar="TEXT", help="Korean text, any length; - reads standard input")
    parser.add_argument("-o", "--output", required=True,
                        help="WAV file to write; - streams it to standard output as each sentence is ready")
    parser.add_argument("--voice", type=Path, default=None, help="voice directory (default: the bundled voice)")
    parser.add_argument("--alignment", type=Path, default=None, help="also write the attention alignment PNG here")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to run the model")
    parser.add_argument("--no-cuda-graphs", dest="cuda_graphs", action="store_false",
                        help="on CUDA, decode with the eager loop instead of captured CUDA graphs")
    parser.add_argument("--speed", type=float, default=1.0, help="speaking rate factor (0.25-4.0)")
    parser.add_argument("--vocoder", default="auto", choices=["auto", "griffin-lim", "neural"],
                        help="auto: the voice's neural vocoder when it has one, else Griffin-Lim")
    parser.add_argument("--json", action="store_true", help="print a JSON summary (health per sentence)")
    add_runtime_argument(parser)
    parser.set_defaults(func=run)


def read_text(argument: str) -> str:
    """TEXT itself, or standard input when it is `-` (UTF-8; UsageError when it is not)."""
    return checks.stdin_text() if argument == "-" else argument


def run(args: argparse.Namespace) -> int:
    """Synthesise and write the files; exit 2 naming the problem on bad input or a broken voice."""
    from tts import FrontendError, SynthesisOptions, VoiceError, default_voice_dir, load_synthesizer
    from tts.audio import save_wav

    to_stdout = args.output == "-"
    if args.alignment is not None and importlib.util.find_spec("matplotlib") is None:
        print("sori speak: --alignment needs matplotlib, which is not installed: pip install 'sori[plot]'",
              file=sys.stderr)
        return 2
    if to_stdout and sys.stdout.isatty():
        print("sori speak: -o - writes binary audio; pipe it (| aplay) or redirect it (> out.wav)", file=sys.stderr)
        return 2
    if not to_stdout:
        checks.output_file(Path(args.output), "-o")
    if args.alignment is not None:
        checks.output_file(args.alignment, "--alignment")
    checks.device(args.device)
    try:
        text = read_text(args.text)
        options = SynthesisOptions(speed=args.speed)
        voice_dir = args.voice if args.voice is not None else default_voice_dir()
        synthesizer = load_synthesizer(voice_dir, runtime=args.runtime, device=args.device,
                                       cuda_graphs=args.cuda_graphs, vocoder=args.vocoder)
        started = time.perf_counter()
        if to_stdout:
            chunks = synthesizer.stream(text, options)  # FrontendError here, before any audio
            result = stream_to(sys.stdout.buffer, chunks, synthesizer.sample_rate)
        else:
            result = synthesizer.synthesize(text, options)
        elapsed = time.perf_counter() - started
    except (FrontendError, VoiceError, ValueError) as error:
        print(f"sori speak: {error}", file=sys.stderr)
        return 2
    if not to_stdout:
        save_wav(args.output, result.waveform, result.sample_rate)
    if args.alignment is not None:
        from tts import plot_alignment

        plot_alignment(
            result.alignments,
            [sentence.labels for sentence in result.sentences],
            [sentence.text for sentence in result.sentences],
            path=args.alignment,
        )
    summary = {
        "output": "-" if to_stdout else str(args.output),
        "voice": synthesizer.config.name,
        "runtime": synthesizer.runtime,
        "vocoder": synthesizer.default_vocoder,
        "seconds": round(result.duration_seconds, 3),
        "real_time_factor": round(elapsed / max(result.duration_seconds, 1e-9), 4),
        "attention_ok": result.health_ok,
        "dropped": list(result.dropped),
        "sentences": [{"text": s.text, **s.health.to_dict()} for s in result.sentences],
    }
    messages = sys.stderr if to_stdout else sys.stdout  # standard output carries the audio
    if args.json:
        print(json.dumps(summary, ensure_ascii=False), file=messages)
    else:
        print(f"wrote {summary['output']}: {summary['seconds']} s of speech by {summary['voice']} "
              f"(real-time factor {summary['real_time_factor']})", file=messages)
        if args.alignment is not None:
            print(f"wrote {args.alignment}: attention alignment", file=messages)
    if result.dropped:
        print("sori speak: warning: could not speak, left out: " + " ".join(dict.fromkeys(result.dropped)), file=sys.stderr)
    if not result.health_ok:
        print("sori speak: warning: attention failed for: " + " | ".join(result.failed_sentences), file=sys.stderr)
    return 0


def stream_to(output: BinaryIO, chunks: Iterable[SpeechChunk], sample_rate: int) -> SynthesisResult:
    """Write a WAV of unknown length to `output`, flushing each sentence as it comes; returns the
    whole result (for the summary and the alignment plot)."""
    from tts import encode_audio, join_chunks
    from tts.audio import streaming_wav_header

    output.write(streaming_wav_header(sample_rate))
    output.flush()
    received = []
    for chunk in chunks:
        output.write(encode_audio(chunk.waveform, chunk.sample_rate, "pcm"))
        output.flush()
        received.append(chunk)
    return join_chunks(received, sample_rate)
