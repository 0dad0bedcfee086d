"""`sori vocode IN.wav -o OUT.wav [--voice DIR] [--vocoder griffin-lim|neural]`: copy synthesis.

The recording is analysed with the voice's audio settings and its own spectrogram vocoded, so a
user hears the vocoder's ceiling on their own data (no acoustic model involved).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from sori.commands import checks


def register(subparsers: Any) -> None:
    """Add the `vocode` subcommand."""
    parser = subparsers.add_parser(
        "vocode", help="copy synthesis: re-synthesise a recording through a voice's vocoder",
        description="Analyse IN (WAV/FLAC) with the voice's audio settings and turn its own "
                    "spectrogram back into a wave: the vocoder's best case, without Tacotron.",
    )
    parser.add_argument("input", type=Path, metavar="IN", help="recording to re-synthesise")
    parser.add_argument("-o", "--output", type=Path, required=True, help="WAV file to write")
    parser.add_argument("--voice", type=Path, default=None, help="voice directory (default: the bundled voice)")
    parser.add_argument("--vocoder", default="auto", choices=["auto", "griffin-lim", "neural"],
                        help="auto: the voice's neural vocoder when it has one, else Griffin-Lim")
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"], help="where to run the vocoder")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Re-synthesise and write; exit 2 naming the problem on unreadable audio or a broken voice."""
    from tts import VoiceError, default_voice_dir, read_voice_config, resolve_device
    from tts.audio import AudioError, load_audio, save_wav
    from tts.copy_synthesis import copy_synthesis
    from tts.vocoder.losses import spectral_distance
    from tts.voice_format import load_vocoder

    checks.output_file(args.output, "-o")
    checks.device(args.device)
    try:
        voice_dir = args.voice if args.voice is not None else default_voice_dir()
        config = read_voice_config(voice_dir)
        neural = args.vocoder == "neural" or (args.vocoder == "auto" and config.vocoder is not None)
        vocoder = load_vocoder(voice_dir, config, resolve_device(args.device)) if neural else None
        wave = load_audio(args.input, config.audio.sample_rate)
        started = time.perf_counter()
        rebuilt = copy_synthesis(wave, config.audio, vocoder)
        elapsed = time.perf_counter() - started
    except (AudioError, VoiceError, ValueError) as error:
        print(f"sori vocode: {error}", file=sys.stderr)
        return 2
    save_wav(args.output, rebuilt, config.audio.sample_rate)
    seconds = wave.numel() / config.audio.sample_rate
    summary = {
        "output": str(args.output), "voice": config.name, "vocoder": "neural" if neural else "griffin-lim",
        "seconds": round(seconds, 3), "real_time_factor": round(elapsed / max(seconds, 1e-9), 4),
        "spectral_distance": round(spectral_distance(rebuilt, wave), 4),
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"wrote {args.output}: {summary['seconds']} s re-synthesised by {summary['vocoder']} "
              f"({config.name}); spectral distance to the recording {summary['spectral_distance']}")
    return 0
