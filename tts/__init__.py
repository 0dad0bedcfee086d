"""Sori's text-to-speech package: Korean frontend, Tacotron 1, Griffin-Lim, voices and plots.

The public API for other packages (assistant, server, CLI) is what `__all__` lists here.
"""

from typing import TYPE_CHECKING, Any

from tts.alignment import AttentionHealth, attention_health
from tts.audio import AUDIO_FORMATS, AudioFormat, encode_audio
from tts.paths import data_dir
from tts.synthesizer import (
    SentenceSynthesis,
    SpeechChunk,
    SynthesisOptions,
    SynthesisResult,
    Synthesizer,
    join_chunks,
    resolve_device,
)
from tts.text import FrontendError, FrontendResult, TextConfig, text_to_ids
from tts.voice import VoiceConfig, VoiceError, load_voice, read_voice_config, save_voice
from tts.voices import DEFAULT_VOICE_NAME, bundled_voices_dir, default_voice_dir, find_voices

if TYPE_CHECKING:
    from tts.plot import plot_alignment

__all__ = [
    "AUDIO_FORMATS",
    "DEFAULT_VOICE_NAME",
    "AttentionHealth",
    "AudioFormat",
    "FrontendError",
    "FrontendResult",
    "SentenceSynthesis",
    "SpeechChunk",
    "SynthesisOptions",
    "SynthesisResult",
    "Synthesizer",
    "TextConfig",
    "VoiceConfig",
    "VoiceError",
    "attention_health",
    "bundled_voices_dir",
    "data_dir",
    "default_voice_dir",
    "encode_audio",
    "find_voices",
    "join_chunks",
    "load_voice",
    "plot_alignment",
    "read_voice_config",
    "resolve_device",
    "save_voice",
    "text_to_ids",
]


def __getattr__(name: str) -> Any:
    """`plot_alignment` on first use: it pulls in matplotlib, which synthesis alone never needs."""
    if name == "plot_alignment":
        from tts.plot import plot_alignment

        return plot_alignment
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
