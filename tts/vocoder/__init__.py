"""Sori's neural vocoder: a Vocos-style generator from Tacotron's normalised mel to a wave.

Knows nothing of Korean or of Tacotron; `tts.voice_format` stores it next to a voice's acoustic model.
`tts.vocoder.config` needs no torch; the network is imported on first use (PEP 562).
"""

from typing import TYPE_CHECKING, Any

from tts.vocoder.config import VOCODER_FORMAT_VERSION, VocoderConfig, VocoderSection

if TYPE_CHECKING:
    from tts.vocoder.model import Vocoder

__all__ = ["VOCODER_FORMAT_VERSION", "Vocoder", "VocoderConfig", "VocoderSection"]


def __getattr__(name: str) -> Any:
    """`Vocoder` (needs torch), imported on its first use."""
    if name != "Vocoder":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from tts.vocoder.model import Vocoder

    globals()[name] = Vocoder
    return Vocoder
