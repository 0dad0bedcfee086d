"""Sori over the Wyoming protocol (Home Assistant): TTS with streaming, and the assistant as a
Korean conversation agent."""

from server.wyoming.handler import SoriEventHandler, WyomingService
from server.wyoming.info import build_info
from server.wyoming.service import WyomingConfig, serve
from server.wyoming.speech import SpeechRequestError, WyomingSpeech

__all__ = [
    "SoriEventHandler",
    "SpeechRequestError",
    "WyomingConfig",
    "WyomingService",
    "WyomingSpeech",
    "build_info",
    "serve",
]
