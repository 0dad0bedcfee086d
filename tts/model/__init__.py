"""Tacotron 1 for any vocabulary: configuration, network, loss."""

from tts.model.config import TacotronConfig, TacotronHyperparameters
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
