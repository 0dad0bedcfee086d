"""`sori export-onnx VOICE_DIR [-o DIR]`: a voice's networks as ONNX graphs for the torch-free runtime."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `export-onnx` subcommand."""
    parser = subparsers.add_parser(
        "export-onnx", help="export a voice to ONNX for the torch-free runtime (--runtime onnx)",
        description="Write the voice's encoder, decoder step and post-net as ONNX graphs, check them "
                    "against torch on a set of sentences (stop steps, attention peaks, mel difference), "
                    "and record them in the voice's config.json (onnx section: opset, files, SHA-256). "
                    "Needs torch and onnx; nothing changes when the check fails.",
    )
    parser.add_argument("voice_dir", type=Path, metavar="VOICE_DIR", help="the voice directory to export")
    parser.add_argument("-o", "--out", type=Path, default=None, metavar="DIR",
                        help="folder for the .onnx files (default: VOICE_DIR/onnx)")
    parser.add_argument("--json", action="store_true", help="print the section and the check as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export and print the check; exit 2 naming the problem (no torch, a broken voice, a failed check)."""
    try:
        from tts.onnx.export import MEL_TOLERANCE, OnnxExportError, export_onnx
    except ImportError as error:
        print(f"sori export-onnx: needs torch and onnx ({error.name} is missing): pip install 'sori[torch]'",
              file=sys.stderr)
        return 2
    from tts.voice_config import VoiceError

    try:
        section, check = export_onnx(args.voice_dir, args.out)
    except (VoiceError, OnnxExportError, OSError) as error:
        print(f"sori export-onnx: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"onnx": section.to_dict(), "check": check.to_dict()}, ensure_ascii=False))
        return 0
    folder = (args.voice_dir / section.directory)
    for role, entry in section.files.items():
        size = (folder / entry.file).stat().st_size
        print(f"wrote {folder / entry.file} ({role}, {size / 1e6:.1f} MB, sha256 {entry.sha256[:12]}…)")
    vocoder = ("" if check.max_wave_difference is None
               else f", vocoder wave difference {check.max_wave_difference:.1e}")
    print(f"checked against torch on {check.sentences} sentences: largest mel difference "
          f"{check.max_mel_difference:.1e} (tolerance {MEL_TOLERANCE:.0e}){vocoder}, stop steps equal, "
          f"attention peaks equal; config.json's onnx section updated (opset {section.opset})")
    return 0
