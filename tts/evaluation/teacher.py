"""The teacher a demo voice is measured against: espeak-ng's Korean voice speaking the same
normalised Hangul the voice was given (as the bootstrap corpus did).
"""

from __future__ import annotations

import torch

from tts.espeak import EspeakError
from tts.espeak import espeak_wave as _espeak_wave

TIMEOUT_SECONDS = 60.0


class EvaluationError(RuntimeError):
    """The evaluation cannot run (no teacher, unreadable sentences file, ...)."""


def espeak_wave(text: str, sample_rate: int) -> torch.Tensor:
    """espeak-ng -v ko speaking `text` (already normalised Hangul). -> [T] float32 at sample_rate."""
    try:
        return _espeak_wave(text, sample_rate, timeout_s=TIMEOUT_SECONDS)
    except EspeakError as error:
        raise EvaluationError(f"the teacher audio cannot be rendered: {error}") from error
