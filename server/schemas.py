"""Request and response bodies with their limits (wrong types and out-of-range values: 422).

Text length limits are per endpoint and configurable, so routes check them (413), not the schemas.
Numbers are strict: "1.0", true, NaN and Infinity are not a speed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tts import AUDIO_FORMATS

MIN_SPEED = 0.25
MAX_SPEED = 4.0
MAX_NAME_CHARS = 200


class SpeakRequest(BaseModel):
    """Body of POST /speak and POST /speak/alignment."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="Korean text to speak (any number of sentences).")
    voice: str | None = Field(None, max_length=MAX_NAME_CHARS, description="Registry voice name.")
    speed: float = Field(
        1.0, ge=MIN_SPEED, le=MAX_SPEED, strict=True, allow_inf_nan=False,
        description="Speaking-rate factor: a JSON number (not a string or a boolean).",
    )
    stream: bool = Field(
        False, strict=True,
        description="Send each sentence as soon as it is ready instead of the whole text at once.",
    )
    stream_format: Literal["audio", "sse"] = Field(
        "audio",
        description="With stream: 'audio' is a chunked body in response_format. 'sse' (which streams "
        "with or without stream) is server-sent events, one `sentence` event per sentence (base64 "
        "pcm, text, symbols, alignment, attention health), then `done` (or `error`).",
    )
    response_format: Literal["wav", "pcm"] = Field(
        "wav", description="wav (a streamed wav has an unknown-length header) or pcm (s16le mono)."
    )
    vocoder: Literal["griffin-lim", "neural"] | None = Field(
        None, description="Absent: the voice's neural vocoder when it has one, else Griffin-Lim.",
    )


class AssistantRequest(BaseModel):
    """Body of POST /assistant."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The utterance, e.g. '지금 몇 시야?'.")
    vocoder: Literal["griffin-lim", "neural"] | None = Field(
        None, description="For the spoken reply. Absent: the voice's neural vocoder when it has one.",
    )


class AssistantResponse(BaseModel):
    """Reply of POST /assistant; audio is a base64 WAV, null when there is nothing to say."""

    intent: str | None
    slots: dict[str, Any]
    reply: str | None
    audio: str | None


class OpenAISpeechRequest(BaseModel):
    """Body of POST /v1/audio/speech, as OpenAI defines it; unknown extra fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field("sori", max_length=MAX_NAME_CHARS, description="Accepted and ignored.")
    input: str = Field(description="Text to speak.")
    voice: str | None = Field(
        None, max_length=MAX_NAME_CHARS,
        description="A registry voice name; OpenAI names such as 'alloy' mean the default voice.",
    )
    response_format: str = Field("wav", description="wav, pcm (s16le mono) or flac.")
    speed: float = Field(1.0, ge=MIN_SPEED, le=MAX_SPEED, strict=True, allow_inf_nan=False)
    vocoder: Literal["griffin-lim", "neural"] | None = Field(
        None, description="Sori's own: absent means the voice's neural vocoder when it has one.",
    )
    stream_format: Literal["audio", "sse"] | None = Field(
        None,
        description="Absent: the whole file at once. 'audio': a chunked body, sentence by sentence "
        "(wav or pcm; flac is not streamed). 'sse': `speech.audio.delta` events with base64 pcm, "
        "then `speech.audio.done`.",
    )

    @field_validator("response_format")
    @classmethod
    def _supported_format(cls, value: str) -> str:
        """Only the formats Sori encodes; a clear message for mp3, opus, aac."""
        if value not in AUDIO_FORMATS:
            shown = value if len(value) <= 20 else value[:20] + "…"
            raise ValueError(
                f"response_format {shown!r} is not supported; use one of {', '.join(AUDIO_FORMATS)}"
            )
        return value


class ValidationProblem(BaseModel):
    """One way a request broke its schema: where, what kind, and a readable message."""

    type: str = Field(description="Pydantic's error type, e.g. 'missing' or 'json_invalid'.")
    loc: list[str] = Field(description="Where: 'body' and the field path.")
    msg: str


class ErrorResponse(BaseModel):
    """Every error body: a message, or for a request that breaks its schema, the problems (422)."""

    detail: str | list[ValidationProblem]


class ReadyResponse(BaseModel):
    """Body of GET /readyz when the server is ready."""

    status: str
    voice: str
    device: str
    queue_depth: int


class VoiceInfo(BaseModel):
    """One entry of GET /voices."""

    name: str
    default: bool
    loaded: bool
    sample_rate: int | None = None
    description: str | None = None
    vocoders: list[str] | None = Field(
        None, description="What the request field `vocoder` may name for this voice, its default first."
    )
    error: str | None = None


class VoicesResponse(BaseModel):
    """Body of GET /voices."""

    default: str
    voices: list[VoiceInfo]
