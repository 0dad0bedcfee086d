"""Tacotron 1 for any vocabulary: configuration, network, loss.

`tts.model.config` needs no torch (a slim install reads a voice's config through it); the network
and loss modules are imported on first use (PEP 562).
"""

import importlib
from typing import TYPE_CHECKING, Any

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

_MODULE_OF = {
    "DecoderState": "tts.model.decoder",
    "LossConfig": "tts.model.loss",
    "LossTerms": "tts.model.loss",
    "TacotronLoss": "tts.model.loss",
    "InferenceOutput": "tts.model.tacotron",
    "Tacotron": "tts.model.tacotron",
    "TacotronOutput": "tts.model.tacotron",
}
"""The public names that need torch, with their modules."""


def __getattr__(name: str) -> Any:
    """A public name whose module needs torch, imported on its first use."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, including those not imported yet."""
    return sorted({*globals(), *__all__})
