"""`serve`: load the voice and the assistant, then answer Wyoming clients until stopped."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlparse

from wyoming.server import AsyncServer

from server.assistant_service import open_assistant, weather_provider
from server.backend import SpeechBackend
from server.settings import Settings
from server.voice_registry import VoiceRegistry
from server.wyoming.handler import SoriEventHandler, WyomingService
from server.wyoming.info import build_info
from server.wyoming.speech import WyomingSpeech
from tts import SynthesisOptions

logger = logging.getLogger(__name__)

WARMUP_TEXT = "안녕하세요."
"""Spoken once at start-up (when settings.warmup), so the first client does not wait for it."""
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
ANY_HOSTS = frozenset({"", "0.0.0.0", "::"})


@dataclass(frozen=True)
class WyomingConfig:
    """Options of `sori wyoming` beyond the shared server settings."""

    uri: str = "tcp://127.0.0.1:10200"
    """Where to listen: tcp://HOST:PORT or unix://PATH."""
    zeroconf_name: str | None = None
    """Announce the service under this name over mDNS (needs the zeroconf package); None: don't."""
    samples_per_chunk: int = 1024
    """Samples per audio-chunk event (see WyomingService)."""
    max_text_chars: int = 4096
    """Longest text of one synthesize event."""

    def __post_init__(self) -> None:
        AsyncServer.from_uri(self.uri)  # raises ValueError naming what is wrong with the URI
        if urlparse(self.uri).scheme == "stdio":
            # Over stdio the wyoming package never tells a handler that the input ended, so the
            # answers still being spoken would be cut off: only sockets are served.
            raise ValueError("stdio:// is not supported: use tcp://HOST:PORT or unix://PATH")
        if self.zeroconf_name is not None and urlparse(self.uri).scheme != "tcp":
            raise ValueError("zeroconf announces a TCP service: use --uri tcp://HOST:PORT")
        if self.samples_per_chunk < 1 or self.max_text_chars < 1:
            raise ValueError("samples_per_chunk and max_text_chars must be positive")


async def serve(
    settings: Settings, config: WyomingConfig, registry: VoiceRegistry, backend: SpeechBackend | None = None
) -> None:
    """Serve until cancelled (SIGTERM or Ctrl+C in `sori wyoming`); raises VoiceUnavailableError if
    the default voice cannot be loaded and OSError if the address cannot be bound. With a
    `backend` (a Ray model deployment) this process reads the texts and the backend decodes them."""
    loop = asyncio.get_running_loop()
    default = await loop.run_in_executor(None, registry.load, registry.default_name)
    options = SynthesisOptions(griffin_lim_iters=settings.griffin_lim_iters)
    if settings.warmup and backend is None:
        await loop.run_in_executor(None, default.synthesizer.synthesize, WARMUP_TEXT, options)
    assistant = await loop.run_in_executor(None, open_assistant, settings, weather_provider(settings))
    executor = ThreadPoolExecutor(
        settings.worker_threads(on_cpu=default.synthesizer.device.type == "cpu"),
        thread_name_prefix="sori-wyoming",
    )
    try:
        info = build_info(await loop.run_in_executor(None, registry.describe))
        service = WyomingService(
            info=info.event(), assistant=assistant,
            speech=WyomingSpeech(registry, executor, options, backend, settings.request_timeout_s),
            samples_per_chunk=config.samples_per_chunk, max_text_chars=config.max_text_chars,
            max_utterance_chars=settings.max_text_chars_assistant,
        )
        server = AsyncServer.from_uri(config.uri)
        # Kept until the server stops: the announcement lives as long as this object.
        announcement = await announce(config.uri, config.zeroconf_name) if config.zeroconf_name else None
        logger.info("serving voice %s (%d voice(s) in all) and the assistant on %s",
                    registry.default_name, len(info.tts[0].voices), config.uri)
        await server.run(partial(SoriEventHandler, service))
        del announcement
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        await loop.run_in_executor(None, assistant.close)


async def announce(uri: str, name: str) -> object:
    """Announce the TCP service over zeroconf (mDNS) so Home Assistant discovers it."""
    from wyoming.zeroconf import HomeAssistantZeroconf  # needs the optional zeroconf package

    address = urlparse(uri)
    host = address.hostname or ""
    if host in LOOPBACK_HOSTS:
        logger.warning("announcing %s, which only this machine can reach; listen on a LAN address "
                       "or 0.0.0.0 for Home Assistant elsewhere", host)
    assert address.port is not None  # WyomingConfig checked the URI
    zeroconf = HomeAssistantZeroconf(port=address.port, name=name, host=None if host in ANY_HOSTS else host)
    await zeroconf.register_server()
    logger.info("announced as %s on %s:%d over zeroconf", name, zeroconf.host, address.port)
    return zeroconf
