"""Tacotron 1 for any vocabulary: configuration, network, loss.

`tts.model.config` needs no torch (a slim install reads a voice's config through it); the network
and loss modules are imported on first use (PEP 562).
"""

from typing import TYPE_CHECKING

from tts.lazy import LazyNames
from tts.model.config import TacotronConfig, TacotronHyperparameters

if TYPE_CHECKING:
    from tts.model.decoder import DecoderState
    from tts.model.loss import LossConfig, LossTerms, TacotronLoss
    from tts.model.tacotron import InferenceOutput, Tacotron, TacotronOutput

__all__ = [
    "DecoderState",
    "InferenceOutput",
    "LossConfig",
    "LossTerms",
    "Tacotron",
    "TacotronConfig",
    "TacotronHyperparameters",
    "TacotronLoss",
    "TacotronOutput",
]

_LAZY = LazyNames(__name__, globals(), {
    "tts.model.decoder": ("DecoderState",),
    "tts.model.loss": ("LossConfig", "LossTerms", "TacotronLoss"),
    "tts.model.tacotron": ("InferenceOutput", "Tacotron", "TacotronOutput"),
}, __all__)
"""The public names that need torch, by module."""
__getattr__ = _LAZY.getattr
__dir__ = _LAZY.dir
