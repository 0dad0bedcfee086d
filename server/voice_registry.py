"""The voices a server offers: names from the registry (never client paths), loaded on first use.

The default voice is loaded at start-up; others load the first time a request names them. All
load onto the settings' device and share its inference worker. A voice that fails to load is
remembered as failed, with a reason fit for clients, and is not tried again until a restart.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.errors import UnknownVoiceError, VoiceUnavailableError
from server.settings import Settings
from tts import (
    DEFAULT_VOICE_NAME,
    VocoderName,
    VoiceConfig,
    VoiceError,
    default_voice_dir,
    find_voices,
    load_synthesizer,
    read_voice_config,
)
from tts import SpeechSynthesizer as Synthesizer

logger = logging.getLogger(__name__)

OPENAI_VOICE_NAMES = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer",
     "verse", "marin", "cedar"}
)
"""OpenAI's voice names: accepted by /v1/audio/speech and served by the default voice, so OpenAI
clients work unchanged (unless a registry voice has that very name, which then wins)."""


@dataclass(frozen=True)
class Voice:
    """A loaded voice and the registry name requests use for it."""

    name: str
    synthesizer: Synthesizer


def offered_vocoders(has_neural: bool) -> list[VocoderName]:
    """The vocoders a voice offers, its default first: the neural one when it has one, then Griffin-Lim."""
    return ["neural", "griffin-lim"] if has_neural else ["griffin-lim"]


def resolve_default_voice(settings: Settings, voices: Mapping[str, Path]) -> tuple[str, Path]:
    """The default voice's name and directory; VoiceError naming the problem if there is none."""
    if settings.voice is None:
        path = default_voice_dir()
        return DEFAULT_VOICE_NAME, path
    if settings.voice in voices:
        return settings.voice, voices[settings.voice]
    path = Path(settings.voice).expanduser()
    if path.is_dir():
        if find_voices([path]).get(path.name) != path:
            raise VoiceError(f"{path} is not a voice directory: it has no config.json")
        return path.name, path  # a broken config or weights is reported when the voice loads
    known = ", ".join(sorted(voices)) or "none"
    raise VoiceError(
        f"voice {settings.voice!r} is neither a voice directory nor a known voice name "
        f"(known voices: {known})"
    )


class VoiceRegistry:
    """Name -> voice directory, with lazily loaded synthesizers; safe to share between threads."""

    def __init__(
        self,
        paths: Mapping[str, Path],
        default_name: str,
        *,
        device: str = "auto",
        max_batch_size: int = 64,
        cuda_graphs: bool = True,
        runtime: str = "auto",
        loaded: Mapping[str, Synthesizer] | None = None,
    ) -> None:
        names = set(paths) | set(loaded or {})
        if default_name not in names:
            raise VoiceError(f"default voice {default_name!r} is not among the voices")
        self._paths = dict(paths)
        self.default_name = default_name
        self._device = device
        self._max_batch_size = max_batch_size
        self._cuda_graphs = cuda_graphs
        self._runtime = runtime
        self._loaded: dict[str, Synthesizer] = dict(loaded or {})
        self._configs: dict[str, VoiceConfig] = {n: s.config for n, s in self._loaded.items()}
        self._failures: dict[str, str] = {}
        """Voice name -> why it could not be loaded (for clients); written under _load_lock."""
        self._lock = threading.Lock()  # guards _configs
        self._load_lock = threading.Lock()  # one voice loads at a time; _loaded is read lock-free

    @classmethod
    def from_settings(cls, settings: Settings) -> VoiceRegistry:
        """Search the bundled voices and settings.voices_dir; the default voice must exist."""
        paths = find_voices([settings.voices_dir] if settings.voices_dir is not None else [])
        default_name, default_path = resolve_default_voice(settings, paths)
        paths[default_name] = default_path
        return cls(paths, default_name, device=settings.device, max_batch_size=settings.max_batch_size,
                   cuda_graphs=settings.cuda_graphs, runtime=settings.runtime)

    @classmethod
    def from_synthesizers(cls, synthesizers: Mapping[str, Synthesizer], default_name: str) -> VoiceRegistry:
        """A registry of voices already loaded (for embedding and tests)."""
        return cls({}, default_name, loaded=synthesizers)

    @property
    def names(self) -> list[str]:
        """Every voice name, sorted."""
        return sorted(set(self._paths) | set(self._loaded))

    def directory(self, name: str) -> Path | None:
        """The voice's directory (None for a voice handed in already loaded); for logs, not clients."""
        return self._paths.get(name)

    def fingerprints(self) -> dict[str, str]:
        """Each voice with a directory: the SHA-256 of its config.json (which names its weights'
        hashes), so two processes can tell whether they hold the same voices (blocking: reads files)."""
        found = {}
        for name, directory in self._paths.items():
            try:
                found[name] = hashlib.sha256((directory / "config.json").read_bytes()).hexdigest()
            except OSError:
                continue
        return found

    def is_loaded(self, name: str) -> bool:
        """Whether the voice's model is in memory (never blocks: safe on the event loop)."""
        return name in self._loaded

    def loaded(self, name: str) -> Voice | None:
        """The voice if it is already in memory, else None (never blocks: safe on the event loop)."""
        synthesizer = self._loaded.get(name)
        return None if synthesizer is None else Voice(name, synthesizer)

    def resolve(self, requested: str | None, *, openai_names: bool = False) -> str:
        """A registry name for a requested voice: None is the default; unknown is UnknownVoiceError."""
        if requested is None or requested in self._paths or requested in self._loaded:
            return requested or self.default_name
        if openai_names and requested.lower() in OPENAI_VOICE_NAMES:
            return self.default_name
        shown = requested if len(requested) <= 64 else requested[:64] + "…"
        raise UnknownVoiceError(f"unknown voice {shown!r}; available: {', '.join(self.names)}")

    def failure(self, name: str) -> str | None:
        """Why the voice could not be loaded, or None if it has not failed (never blocks)."""
        return self._failures.get(name)

    def load(self, name: str) -> Voice:
        """The voice by registry name, loading it if needed (blocking: call off the event loop).

        VoiceUnavailableError (503) when it cannot be loaded, now or at an earlier attempt.
        """
        self._raise_if_failed(name)  # before the lock: another voice may be loading
        with self._load_lock:
            self._raise_if_failed(name)
            synthesizer = self._loaded.get(name)
            if synthesizer is None:
                synthesizer = self._load(name)
                with self._lock:
                    self._configs[name] = synthesizer.config
                # Published last, in one assignment, so lock-free readers see a complete voice.
                self._loaded[name] = synthesizer
            return Voice(name, synthesizer)

    def _raise_if_failed(self, name: str) -> None:
        """VoiceUnavailableError with the remembered reason if the voice failed to load before."""
        reason = self._failures.get(name)
        if reason is not None:
            raise VoiceUnavailableError(reason)

    def _load(self, name: str) -> Synthesizer:
        """Load the voice from its directory; on failure remember why and raise VoiceUnavailableError.

        The log gets the full error; the reason kept for clients names files relative to the
        voices' folder, not the server's paths, and hides the text of unexpected exceptions.
        """
        if name not in self._paths:
            raise UnknownVoiceError(f"unknown voice {name!r}")
        directory = self._paths[name]
        label = f"the default voice {name}" if name == self.default_name else f"voice {name}"
        logger.info("loading voice %s from %s", name, directory)
        try:
            return load_synthesizer(directory, runtime=self._runtime, device=self._device,
                                    max_batch_size=self._max_batch_size, cuda_graphs=self._cuda_graphs)
        except VoiceError as error:
            logger.error("%s could not be loaded: %s", label, error)
            message = str(error).replace(f"{directory.parent}{os.sep}", "")
            reason = f"{label} could not be loaded: {message}"
        except Exception as error:  # a failure to load is kept, never retried per request
            logger.exception("%s failed to load", label)
            reason = f"{label} failed to load ({type(error).__name__}; see the server log)"
        self._failures[name] = reason
        raise VoiceUnavailableError(reason)

    def describe(self) -> list[dict[str, Any]]:
        """Name, default flag, loaded flag and facts from each voice's config (blocking: reads files);
        `error` says why a voice cannot be used (its load failed, or its config is unreadable)."""
        described = []
        for name in self.names:
            entry: dict[str, Any] = {
                "name": name, "default": name == self.default_name, "loaded": self.is_loaded(name)
            }
            config = self._config(name)
            if config is None:
                entry["error"] = "the voice's config.json could not be read"
            else:
                entry["sample_rate"] = config.audio.sample_rate
                entry["description"] = str(config.metadata.get("description", ""))
                entry["vocoders"] = offered_vocoders(config.vocoder is not None)
            failure = self.failure(name)
            if failure is not None:
                entry["error"] = failure
            described.append(entry)
        return described

    def _config(self, name: str) -> VoiceConfig | None:
        """The voice's config, read once; None (logged) when it is broken."""
        with self._lock:
            config = self._configs.get(name)
        if config is not None:
            return config
        try:
            config = read_voice_config(self._paths[name])
        except VoiceError as error:
            logger.warning("voice %s: %s", name, error)
            return None
        with self._lock:
            self._configs[name] = config
        return config
