"""The bundled demo voice speaks through its own neural vocoder by default, with Griffin-Lim a
request away, through everything that speaks: the CLI (`sori speak - -o -`), /speak whole and
streamed, batching, the cache, /v1/audio/speech, /assistant and Wyoming."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

from assistant import Assistant
from server import create_app
from tests.server_support import live_client, make_settings, metric
from tests.test_wyoming import in_process, pcm
from tests.wyoming_support import describe, exchange, is_type
from tts import DEFAULT_VOICE_NAME, SynthesisOptions, Synthesizer, default_voice_dir, encode_audio

HELLO = "안녕하세요."
SENTENCES = ("반가워요.", "오늘은 날씨가 맑아요.", "타이머를 맞췄습니다.", "내일 다시 만나요.")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def demo() -> Synthesizer:
    """The bundled voice as every command loads it (vocoder 'auto')."""
    return Synthesizer.load(default_voice_dir(), device="cpu")


def int16(data: bytes) -> np.ndarray:
    """Raw s16le PCM as integers (widened, so differences do not wrap)."""
    return np.frombuffer(data, dtype="<i2").astype(np.int32)


def snr_db(reference: bytes, other: bytes) -> float:
    """Signal-to-noise ratio of `other` against `reference` (s16le PCM of the same length), in dB."""
    a, b = int16(reference).astype(np.float64), int16(other).astype(np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(10 * np.log10(np.sum(a**2) / max(np.sum((a - b) ** 2), 1e-12)))


def close_pcm(left: bytes, right: bytes) -> bool:
    """The same audio up to float rounding: the same length and above 30 dB SNR (threads and
    batches may round differently, and Griffin-Lim's iterations carry that on)."""
    return snr_db(left, right) > 30


def other_pcm(left: bytes, right: bytes) -> bool:
    """Audio of the same length from another vocoder: its phase differs, so the SNR is near zero."""
    return snr_db(left, right) < 10


def test_the_demo_voice_has_a_vocoder_and_uses_it_by_default(demo: Synthesizer) -> None:
    section = demo.config.vocoder
    assert section is not None and demo.vocoder is not None and demo.default_vocoder == "neural"
    for key in ("training_steps", "acoustic_voice", "initialised_from"):
        assert key in section.metadata, f"the vocoder section's metadata lacks {key!r}"
    neural = demo.synthesize(HELLO)
    griffin = demo.synthesize(HELLO, SynthesisOptions(vocoder="griffin-lim"))
    assert neural.health_ok and griffin.health_ok
    assert neural.waveform.shape == griffin.waveform.shape  # one hop of samples per frame either way
    rate = demo.sample_rate
    assert other_pcm(encode_audio(neural.waveform, rate, "pcm"), encode_audio(griffin.waveform, rate, "pcm"))
    assert 0.05 < float(np.abs(neural.waveform).max()) <= 1.0


def test_a_batch_through_the_vocoder_equals_each_sentence_alone(demo: Synthesizer) -> None:
    for vocoder in ("neural", "griffin-lim"):
        options = SynthesisOptions(vocoder=vocoder)
        analyzed = [demo.analyze(text, options) for text in SENTENCES]
        batch = demo.synthesize_analyzed(analyzed, options)
        for text, result in zip(SENTENCES, batch, strict=True):
            alone = demo.synthesize(text, options).waveform
            assert close_pcm(encode_audio(result.waveform, demo.sample_rate, "pcm"),
                             encode_audio(alone, demo.sample_rate, "pcm")), (vocoder, text)


@pytest.mark.parametrize("vocoder", [None, "griffin-lim"])
def test_sori_speak_from_stdin_to_stdout(demo: Synthesizer, vocoder: str | None) -> None:
    chosen = [] if vocoder is None else ["--vocoder", vocoder]
    done = subprocess.run([sys.executable, "-m", "sori", "speak", "-", "-o", "-", "--device", "cpu", *chosen],
                          input=HELLO.encode(), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout[:4] == b"RIFF" and done.stdout[8:12] == b"WAVE"
    audio = done.stdout[done.stdout.index(b"data") + 8 :]  # a streamed WAV: header, then PCM
    expected = demo.synthesize(HELLO, SynthesisOptions(vocoder=vocoder or "neural")).waveform
    assert close_pcm(audio, encode_audio(expected, demo.sample_rate, "pcm"))


@pytest.mark.anyio
async def test_http_routes_stream_batch_and_cache_with_the_vocoder(demo: Synthesizer, tmp_path: Path) -> None:
    expected = {name: encode_audio(demo.synthesize(HELLO, SynthesisOptions(vocoder=name)).waveform,
                                   demo.sample_rate, "pcm") for name in ("neural", "griffin-lim")}
    alone = {text: encode_audio(demo.synthesize(text).waveform, demo.sample_rate, "pcm") for text in SENTENCES}
    app = create_app(make_settings(default_voice_dir(), tmp_path / "data", cpu_workers=1, batch_wait_ms=200.0))
    async with live_client(app) as http:
        async def speak(body: dict[str, object], route: str = "/speak") -> bytes:
            response = await http.post(route, json={"response_format": "pcm", **body})
            assert response.status_code == 200, response.text
            return response.content

        default = await speak({"text": HELLO})
        again = await speak({"text": HELLO})
        griffin = await speak({"text": HELLO, "vocoder": "griffin-lim"})
        streamed = await speak({"text": HELLO, "stream": True})
        streamed_griffin = await speak({"text": HELLO, "stream": True, "vocoder": "griffin-lim"})
        openai = await speak({"input": HELLO, "voice": DEFAULT_VOICE_NAME}, "/v1/audio/speech")
        openai_griffin = await speak({"input": HELLO, "vocoder": "griffin-lim"}, "/v1/audio/speech")
        batched = await asyncio.gather(*(speak({"text": text}) for text in SENTENCES))
        exposition = (await http.get("/metrics")).text
        assistant = {vocoder: await http.post("/assistant", json={"text": "3 더하기 4는?", "vocoder": vocoder})
                     for vocoder in ("neural", "griffin-lim")}
        listed = {v["name"]: v for v in (await http.get("/voices")).json()["voices"]}
        plots = [await http.post("/speak/alignment", json={"text": HELLO, "vocoder": vocoder})
                 for vocoder in ("neural", "griffin-lim")]
    assert close_pcm(default, expected["neural"]) and close_pcm(griffin, expected["griffin-lim"])
    assert again == default  # the cache gave back the same audio
    assert metric(exposition, "sori_cache_lookups_total", result="hit") >= 1
    assert other_pcm(default, griffin)  # the cache keeps the vocoders apart
    assert close_pcm(streamed, default) and close_pcm(streamed_griffin, griffin)
    assert close_pcm(openai, default) and close_pcm(openai_griffin, griffin)
    for text, audio in zip(SENTENCES, batched, strict=True):
        assert close_pcm(audio, alone[text]), text
    replies = {vocoder: response.json()["audio"] for vocoder, response in assistant.items()}
    assert all(response.status_code == 200 for response in assistant.values())
    assert replies["neural"] and replies["griffin-lim"] and replies["neural"] != replies["griffin-lim"]
    assert listed[DEFAULT_VOICE_NAME]["vocoders"] == ["neural", "griffin-lim"]
    assert all(plot.status_code == 200 and plot.content[:4] == b"\x89PNG" for plot in plots)


@pytest.mark.anyio
async def test_wyoming_speaks_with_the_vocoder_and_griffin_lim_as_a_speaker(demo: Synthesizer,
                                                                            tmp_path: Path) -> None:
    expected = {name: encode_audio(demo.synthesize(HELLO, SynthesisOptions(vocoder=name)).waveform,
                                   demo.sample_rate, "pcm") for name in ("neural", "griffin-lim")}
    assistant = Assistant(store_path=tmp_path / "assistant.sqlite3")
    executor = ThreadPoolExecutor(1)
    try:
        async with in_process(demo, assistant, executor) as (port, _):
            (voice,) = (await describe(port)).tts[0].voices
            assert [speaker.name for speaker in voice.speakers or []] == ["neural", "griffin-lim"]
            for speaker, vocoder in ((None, "neural"), ("griffin-lim", "griffin-lim")):
                chosen = SynthesizeVoice(name="in-process", speaker=speaker)
                events = await exchange(port, [Synthesize(text=HELLO, voice=chosen).event()],
                                        is_type("audio-stop", "error"))
                assert close_pcm(pcm(events), expected[vocoder]), speaker
                streamed = [SynthesizeStart(voice=chosen).event(), SynthesizeChunk(text=HELLO).event(),
                            SynthesizeStop().event()]
                events = await exchange(port, streamed, is_type("synthesize-stopped"))
                assert close_pcm(pcm(events), expected[vocoder]), speaker
            assert other_pcm(expected["neural"], expected["griffin-lim"])
    finally:
        executor.shutdown(wait=False)
        assistant.close()
