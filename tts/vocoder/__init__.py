"""Sori's neural vocoder: a Vocos-style generator from Tacotron's normalised mel to a wave.

Knows nothing of Korean or of Tacotron; `tts.voice_format` stores it next to a voice's acoustic model.
"""

from tts.vocoder.config import VOCODER_FORMAT_VERSION, VocoderConfig, VocoderSection
from tts.vocoder.model import Vocoder

__all__ = ["VOCODER_FORMAT_VERSION", "Vocoder", "VocoderConfig", "VocoderSection"]
