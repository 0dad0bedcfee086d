"""Sori's text-to-speech package: Korean frontend, Tacotron 1, Griffin-Lim, voices and plots.

The public API for other packages (assistant, server, CLI) is what `__all__` lists here.
"""

from tts.alignment import AttentionHealth, attention_health
from tts.synthesizer import (
    SentenceSynthesis,
    SynthesisOptions,
    SynthesisResult,
    Synthesizer,
    resolve_device,
)
from tts.text import FrontendError, FrontendResult, TextConfig, text_to_ids
from tts.voice import VoiceConfig, VoiceError, load_voice, read_voice_config, save_voice
from tts.voices import DEFAULT_VOICE_NAME, bundled_voices_dir, default_voice_dir, find_voices

__all__ = [
    "DEFAULT_VOICE_NAME",
    "AttentionHealth",
    "FrontendError",
    "FrontendResult",
    "SentenceSynthesis",
    "SynthesisOptions",
    "SynthesisResult",
    "Synthesizer",
    "TextConfig",
    "VoiceConfig",
    "VoiceError",
    "attention_health",
    "bundled_voices_dir",
    "default_voice_dir",
    "find_voices",
    "load_voice",
    "read_voice_config",
    "resolve_device",
    "save_voice",
    "text_to_ids",
]
