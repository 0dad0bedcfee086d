"""Sori's text-to-speech package: Korean frontend, Tacotron 1, Griffin-Lim, voices and plots.

The public API for other packages (assistant, server, CLI) is what `__all__` lists here. Only the
text frontend and `data_dir` are imported with the package; the parts that need torch (or
matplotlib) are imported on first use (PEP 562), so `import tts.text` stays cheap for the
assistant, which asks the frontend how words are read.
"""

from typing import TYPE_CHECKING

from tts.lazy import LazyNames
from tts.paths import data_dir
from tts.text import FrontendError, FrontendResult, TextConfig, text_to_ids

if TYPE_CHECKING:
    from tts.alignment import AttentionHealth, attention_health
    from tts.audio import AUDIO_FORMATS, AudioFormat, encode_audio
    from tts.plot import plot_alignment
    from tts.synthesis import (
        SentenceSynthesis,
        SpeechChunk,
        SpeechSynthesizer,
        SynthesisOptions,
        SynthesisResult,
        VocoderName,
        VoiceSource,
        join_chunks,
        load_synthesizer,
        resolve_runtime,
        stream_groups,
    )
    from tts.synthesizer import Synthesizer, resolve_device
    from tts.voice_config import VoiceConfig, VoiceError, read_voice_config
    from tts.voice_discovery import (
        DEFAULT_VOICE_NAME,
        bundled_voices_dir,
        default_voice_dir,
        find_voices,
    )
    from tts.voice_format import load_voice, save_voice

__all__ = [
    "AUDIO_FORMATS",
    "DEFAULT_VOICE_NAME",
    "AttentionHealth",
    "AudioFormat",
    "FrontendError",
    "FrontendResult",
    "SentenceSynthesis",
    "SpeechChunk",
    "SpeechSynthesizer",
    "SynthesisOptions",
    "SynthesisResult",
    "Synthesizer",
    "TextConfig",
    "VoiceConfig",
    "VocoderName",
    "VoiceError",
    "VoiceSource",
    "attention_health",
    "bundled_voices_dir",
    "data_dir",
    "default_voice_dir",
    "encode_audio",
    "find_voices",
    "join_chunks",
    "load_synthesizer",
    "load_voice",
    "plot_alignment",
    "read_voice_config",
    "resolve_device",
    "resolve_runtime",
    "save_voice",
    "stream_groups",
    "text_to_ids",
]

_LAZY_MODULES = {
    "tts.alignment": ("AttentionHealth", "attention_health"),
    "tts.audio": ("AUDIO_FORMATS", "AudioFormat", "encode_audio"),
    "tts.synthesis": ("SentenceSynthesis", "SpeechChunk", "SpeechSynthesizer", "SynthesisOptions", "SynthesisResult",
                      "VocoderName", "VoiceSource", "join_chunks", "load_synthesizer", "resolve_runtime",
                      "stream_groups"),
    "tts.synthesizer": ("Synthesizer", "resolve_device"),
    "tts.voice_config": ("VoiceConfig", "VoiceError", "read_voice_config"),
    "tts.voice_format": ("load_voice", "save_voice"),
    "tts.voice_discovery": ("DEFAULT_VOICE_NAME", "bundled_voices_dir", "default_voice_dir", "find_voices"),
    "tts.plot": ("plot_alignment",),
}
"""The submodules imported on first use, with the public names each defines; only
`tts.synthesizer`, `tts.voice_format` (torch) and `tts.plot` (matplotlib) need more than numpy."""

_LAZY = LazyNames(__name__, globals(), _LAZY_MODULES, __all__)
__getattr__ = _LAZY.getattr
__dir__ = _LAZY.dir
