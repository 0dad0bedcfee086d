"""What `describe` answers: Sori's voices as a Korean TTS program and its assistant as a handler."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

from wyoming.info import (
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
    TtsVoiceSpeaker,
)

LANGUAGES = ["ko"]
"""Every voice speaks Korean and the assistant understands only Korean."""
TTS_PROGRAM = "sori"
HANDLE_PROGRAM = "sori-assistant"


def sori_version() -> str | None:
    """The installed package's version (None when run from a tree that was never installed)."""
    try:
        return metadata.version("sori")
    except metadata.PackageNotFoundError:
        return None


def sori_attribution() -> Attribution:
    """Sori, with the project URL from the package metadata where it declares one."""
    try:
        fields = metadata.metadata("sori")
    except metadata.PackageNotFoundError:
        return Attribution(name="Sori", url="")
    urls = [fields["Home-page"] or ""] if "Home-page" in fields else []
    urls += [entry.split(",", 1)[-1].strip() for entry in fields.get_all("Project-URL") or []]
    return Attribution(name="Sori", url=next((url for url in urls if url), ""))


def build_info(voices: Sequence[Mapping[str, Any]]) -> Info:
    """The `info` event's content for voices as `VoiceRegistry.describe` lists them.

    The default voice comes first (clients take the first voice when they name none); a voice
    whose config cannot be read is left out, since a request for it could only fail. A voice with
    a neural vocoder lists its vocoders as speakers, its default first: a request's `speaker`
    ("griffin-lim") picks one.
    """
    attribution, version = sori_attribution(), sori_version()
    usable = [voice for voice in voices if "error" not in voice]
    usable.sort(key=lambda voice: not voice["default"])
    tts_voices = [
        TtsVoice(
            name=str(voice["name"]),
            attribution=attribution,
            installed=True,
            description=str(voice.get("description") or f"Korean Tacotron voice {voice['name']}"),
            version=version,
            languages=list(LANGUAGES),
            speakers=[TtsVoiceSpeaker(name=name) for name in voice["vocoders"]]
            if len(voice.get("vocoders") or []) > 1 else None,
        )
        for voice in usable
    ]
    tts = TtsProgram(
        name=TTS_PROGRAM,
        attribution=attribution,
        installed=True,
        description="Sori (소리): Korean Tacotron text-to-speech, streamed sentence by sentence",
        version=version,
        voices=tts_voices,
        supports_synthesize_streaming=True,
    )
    description = "Sori's Korean voice assistant: time, date, timers, weather, shopping list, arithmetic"
    handle = HandleProgram(
        name=HANDLE_PROGRAM,
        attribution=attribution,
        installed=True,
        description=description,
        version=version,
        models=[
            HandleModel(
                name=HANDLE_PROGRAM, attribution=attribution, installed=True,
                description=description, version=version, languages=list(LANGUAGES),
            )
        ],
    )
    return Info(tts=[tts], handle=[handle])
