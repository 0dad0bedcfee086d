"""`sori wyoming` against the `wyoming` package's own client: describe, synthesize (one-shot and
streamed), the assistant's transcripts, bad input and clients that hang up."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import torch
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.server import AsyncTcpServer
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeVoice,
)

from assistant import FALLBACK_REPLY, Assistant, AssistantReply
from server.voice_registry import VoiceRegistry
from server.wyoming import SoriEventHandler, WyomingService, WyomingSpeech, build_info
from sori.cli import main
from tests.server_support import free_port
from tests.vocoder_factory import add_test_vocoder
from tests.wyoming_support import (
    client,
    describe,
    exchange,
    is_type,
    read_until,
    samples,
    sori_wyoming,
)
from tts import FrontendResult, SentenceSynthesis, SynthesisOptions, Synthesizer, encode_audio
from tts.text.sentences import split_sentences

TWO_SENTENCES = "안녕하세요. 오늘 날씨가 좋네요."
STREAMED = ["첫 문장", "입니다. 두", "번째 문장은 조금 ", "더 길어요! 마지막", "이에요"]
SAMPLES_PER_CHUNK = 1024


@pytest.fixture
def anyio_backend() -> str:
    """The in-process server runs on asyncio, as `sori wyoming` does."""
    return "asyncio"


@pytest.fixture(scope="module")
def served(test_voice_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """One `sori wyoming` with the test voice for the module: (port, log path)."""
    data_dir = tmp_path_factory.mktemp("wyoming-data")
    log = data_dir / "sori-wyoming.log"
    with sori_wyoming(test_voice_dir, data_dir, log) as (_, port):
        yield port, log


def audio_blocks(events: list[Event]) -> list[list[Event]]:
    """The events split into audio-start ... audio-stop blocks (checks that they nest properly)."""
    blocks: list[list[Event]] = []
    current: list[Event] | None = None
    for event in events:
        if AudioStart.is_type(event.type):
            assert current is None, "audio-start inside an audio block"
            current = [event]
        elif AudioStop.is_type(event.type):
            assert current is not None, "audio-stop without audio-start"
            blocks.append([*current, event])
            current = None
        elif AudioChunk.is_type(event.type):
            assert current is not None, "audio-chunk outside audio-start ... audio-stop"
            current.append(event)
    assert current is None, "an audio block was not stopped"
    return blocks


def test_describe_lists_the_korean_voices_and_the_assistant(served, test_voice_dir: Path) -> None:
    port, _ = served
    info = asyncio.run(describe(port))
    (tts,) = info.tts
    assert tts.name == "sori" and tts.installed and tts.supports_synthesize_streaming
    assert tts.version == metadata.version("sori") and tts.attribution.name == "Sori"
    names = [voice.name for voice in tts.voices]
    assert names[0] == test_voice_dir.name  # the default voice first
    assert "ko-espeak-demo" in names  # the bundled voice, as `sori serve` offers it
    assert all(voice.languages == ["ko"] and voice.installed for voice in tts.voices)
    assert tts.voices[0].description == "random weights, for tests only"
    (handle,) = info.handle
    assert handle.installed and handle.version == tts.version
    assert [model.languages for model in handle.models] == [["ko"]]
    assert not info.asr and not info.wake


def test_synthesize_streams_the_whole_text_as_16_bit_pcm(served, base_synthesizer: Synthesizer) -> None:
    port, _ = served
    events = asyncio.run(exchange(port, [Synthesize(text=TWO_SENTENCES).event()], is_type("audio-stop", "error")))
    (block,) = audio_blocks(events)
    start = AudioStart.from_event(block[0])
    assert (start.rate, start.width, start.channels) == (base_synthesizer.sample_rate, 2, 1)
    chunks = [AudioChunk.from_event(event) for event in block[1:-1]]
    assert len(chunks) > 1 and all(0 < chunk.samples <= SAMPLES_PER_CHUNK for chunk in chunks)
    assert all(chunk.rate == start.rate for chunk in chunks)
    # Both sentences and the pause between them, sample for sample as long as one synthesis.
    assert samples(events) == base_synthesizer.synthesize(TWO_SENTENCES).waveform.size


def test_synthesize_by_voice_name_and_by_language(served) -> None:
    port, _ = served
    for voice in (SynthesizeVoice(name="ko-espeak-demo"), SynthesizeVoice(language="ko_KR")):
        request = Synthesize(text="네.", voice=voice).event()
        events = asyncio.run(exchange(port, [request], is_type("audio-stop", "error")))
        assert events[0].type == "audio-start", events[-1].data
        assert samples(events) > 0


def test_streamed_text_is_spoken_sentence_by_sentence(served, base_synthesizer: Synthesizer) -> None:
    port, _ = served
    whole = "".join(STREAMED)

    async def converse() -> tuple[list[Event], list[Event]]:
        async with client(port) as connection:
            await connection.write_event(SynthesizeStart().event())
            await connection.write_event(SynthesizeChunk(text=STREAMED[0]).event())
            await connection.write_event(SynthesizeChunk(text=STREAMED[1]).event())
            # The first sentence is complete: its audio comes before any more text is sent.
            first = await read_until(connection, is_type("audio-stop"))
            for piece in STREAMED[2:]:
                await connection.write_event(SynthesizeChunk(text=piece).event())
            # Home Assistant also sends the whole text, for servers that cannot stream: ignored.
            await connection.write_event(Synthesize(text=whole).event())
            await connection.write_event(SynthesizeStop().event())
            rest = await read_until(connection, is_type("synthesize-stopped", "error"))
            return first, rest

    first, rest = asyncio.run(converse())
    events = first + rest
    assert SynthesizeStopped.is_type(events[-1].type)
    assert not any(Error.is_type(event.type) for event in events)
    blocks = audio_blocks(events)
    assert len(blocks) == len(split_sentences(whole)) == 3
    # Each sentence after the first starts with the pause, so the stream is the one-shot audio.
    assert samples(events) == base_synthesizer.synthesize(whole).waveform.size


def test_transcripts_are_answered_by_the_assistant(served) -> None:
    port, _ = served
    events = asyncio.run(exchange(port, [Transcript(text="지금 몇 시야?").event()], is_type("handled", "not-handled")))
    handled = Handled.from_event(events[-1])
    assert Handled.is_type(events[-1].type) and handled.text and "시" in handled.text
    events = asyncio.run(exchange(port, [Transcript(text="바나나 우주선 코끼리").event()],
                                  is_type("handled", "not-handled")))
    assert NotHandled.is_type(events[-1].type)
    assert NotHandled.from_event(events[-1]).text == FALLBACK_REPLY


def test_bad_transcripts_are_not_handled_with_the_reason(served) -> None:
    port, _ = served
    for text in ("", "가" * 501):
        events = asyncio.run(exchange(port, [Transcript(text=text).event()], is_type("handled", "not-handled")))
        assert NotHandled.is_type(events[-1].type) and NotHandled.from_event(events[-1]).text


@pytest.mark.parametrize(
    ("request_event", "code"),
    [
        (Synthesize(text="   "), "empty-text"),
        (Synthesize(text="😀🎉"), "unspeakable-text"),
        (Synthesize(text="안녕", voice=SynthesizeVoice(name="no-such-voice")), "unknown-voice"),
        (Synthesize(text="안녕", voice=SynthesizeVoice(language="en")), "unsupported-language"),
        (Synthesize(text="가" * 4097), "text-too-long"),
        (Event(type="synthesize", data={"voice": {"name": "ko-espeak-demo"}}), "bad-event"),
    ],
)
def test_bad_synthesize_gets_an_error_and_the_server_goes_on(served, request_event, code: str) -> None:
    port, _ = served

    async def refused() -> tuple[Error, Event | None]:
        event = request_event if isinstance(request_event, Event) else request_event.event()
        async with client(port) as connection:
            await connection.write_event(event)
            answer = await read_until(connection, lambda _: True)
            # The error ends the request, and Home Assistant waits for audio-stop or the end of
            # the connection: so the connection ends.
            return Error.from_event(answer[0]), await connection.read_event()

    error, after = asyncio.run(refused())
    assert error.code == code and error.text
    assert after is None
    assert asyncio.run(describe(port)).tts  # the server still answers


def test_a_bad_stream_gets_an_error_and_still_its_stopped(served) -> None:
    port, _ = served
    requests = [SynthesizeStart(voice=SynthesizeVoice(name="no-such-voice")).event(),
                SynthesizeChunk(text="안녕하세요. 반가워요").event(), SynthesizeStop().event(), Describe().event()]
    events = asyncio.run(exchange(port, requests, is_type("info")))
    assert [event.type for event in events] == ["error", "synthesize-stopped", "info"]
    assert Error.from_event(events[0]).code == "unknown-voice"

    requests = [SynthesizeStart().event(), SynthesizeChunk(text="😀. 🎉").event(), SynthesizeStop().event()]
    events = asyncio.run(exchange(port, requests, is_type("synthesize-stopped")))
    assert [event.type for event in events] == ["error", "synthesize-stopped"]
    assert Error.from_event(events[0]).code == "unspeakable-text"

    async def chunk_without_start() -> tuple[Event | None, Event | None]:
        async with client(port) as connection:
            await connection.write_event(SynthesizeChunk(text="안녕").event())
            return await connection.read_event(), await connection.read_event()

    error, after = asyncio.run(chunk_without_start())
    assert error is not None and Error.from_event(error).code == "no-stream"
    assert after is None  # outside a stream an error ends the connection


def test_a_client_hanging_up_mid_stream_stops_its_synthesis(served) -> None:
    port, log = served
    sentences = [f"{number}번째 문장이에요." for number in range(1, 81)]

    async def hang_up() -> None:
        async with client(port) as connection:
            await connection.write_event(Synthesize(text=" ".join(sentences)).event())
            await read_until(connection, is_type("audio-chunk"))
        # leaving the block closes the connection with 79 sentences still to come

    asyncio.run(hang_up())
    # The server is fine: the next client is served in full.
    events = asyncio.run(exchange(port, [Synthesize(text="네.").event()], is_type("audio-stop", "error")))
    assert AudioStop.is_type(events[-1].type)
    stopped = re.search(r"client hung up: stopped after (\d+) of (\d+) sentence", log.read_text())
    assert stopped is not None, log.read_text()
    assert int(stopped.group(2)) == len(sentences) and int(stopped.group(1)) < len(sentences)


def test_zeroconf_without_the_package_is_a_clear_error(monkeypatch, capsys) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "zeroconf" else real_find_spec(name, *args))
    assert main(["wyoming", "--zeroconf", "sori-test"]) == 2
    assert "--zeroconf needs the zeroconf package" in capsys.readouterr().err


@pytest.mark.parametrize("uri", ["http://127.0.0.1:10200", "tcp://127.0.0.1", "stdio://"])
def test_a_bad_uri_is_a_clear_error(capsys, uri: str) -> None:
    assert main(["wyoming", "--uri", uri]) == 2
    assert "tcp://" in capsys.readouterr().err


@asynccontextmanager
async def in_process(
    synthesizer: Synthesizer, assistant: Assistant, executor: ThreadPoolExecutor
) -> AsyncIterator[tuple[int, WyomingSpeech]]:
    """The Wyoming handler on a real TCP port in this event loop, serving one voice `synthesizer`
    on `executor`; yields (port, speech) and stops the server afterwards."""
    registry = VoiceRegistry.from_synthesizers({"in-process": synthesizer}, "in-process")
    speech = WyomingSpeech(registry, executor, SynthesisOptions())
    service = WyomingService(info=build_info(registry.describe()).event(), speech=speech, assistant=assistant)
    port = free_port()
    server = AsyncTcpServer("127.0.0.1", port)
    await server.start(lambda reader, writer: SoriEventHandler(service, reader, writer))
    try:
        yield port, speech
    finally:
        await server.stop()


class BrokenAssistant(Assistant):
    """An assistant whose skills all fail (as a bug would)."""

    def ask(self, text: str) -> AssistantReply:
        """Fail."""
        raise RuntimeError("a skill crashed")


class FailingSynthesizer(Synthesizer):
    """The test voice, but a batch of sentences fails inside the model (as a CUDA error would)."""

    def __init__(self, base: Synthesizer) -> None:
        super().__init__(base.config, base.model, base.device, base.max_batch_size)

    def _decode_batch(
        self, batch: Sequence[tuple[str, FrontendResult]], options: SynthesisOptions
    ) -> list[tuple[SentenceSynthesis, torch.Tensor]]:
        """Fail."""
        raise RuntimeError("CUDA error: device-side assert at /secret/path.cu:42")


@pytest.mark.anyio
async def test_failures_inside_are_answered_and_the_server_goes_on(
    base_synthesizer: Synthesizer, tmp_path: Path
) -> None:
    assistant = BrokenAssistant(store_path=tmp_path / "assistant.sqlite3")
    executor = ThreadPoolExecutor(2)
    try:
        async with in_process(FailingSynthesizer(base_synthesizer), assistant, executor) as (port, _):
            # Home Assistant waits for handled or not-handled: a crashed skill is not-handled.
            requests = [Transcript(text="지금 몇 시야?").event(), Describe().event()]
            events = await exchange(port, requests, is_type("info"))
            assert [event.type for event in events] == ["not-handled", "info"]
            # A model failure is an error without its details; the connection ends.
            events = await exchange(port, [Synthesize(text="안녕하세요.").event()], is_type("error"))
            error = Error.from_event(events[-1])
            assert error.code == "synthesis-failed" and "secret" not in error.text
            # Inside a stream, the error comes once and the stream still ends.
            requests = [SynthesizeStart().event(), SynthesizeChunk(text="하나. 둘. 셋").event(),
                        SynthesizeStop().event()]
            events = await exchange(port, requests, is_type("synthesize-stopped"))
            assert [event.type for event in events] == ["error", "synthesize-stopped"]
            assert (await describe(port)).tts
    finally:
        executor.shutdown(wait=False)
        assistant.close()


class GatedSynthesizer(Synthesizer):
    """The test voice, but its second batch of sentences waits until the test releases it."""

    def __init__(self, base: Synthesizer) -> None:
        super().__init__(base.config, base.model, base.device, base.max_batch_size)
        self.batches = 0
        self.second_started = threading.Event()
        self.release = threading.Event()

    def _decode_batch(
        self, batch: Sequence[tuple[str, FrontendResult]], options: SynthesisOptions
    ) -> list[tuple[SentenceSynthesis, torch.Tensor]]:
        """Count the batch; hold the second one until released."""
        self.batches += 1
        if self.batches == 2:
            self.second_started.set()
            if not self.release.wait(timeout=120):
                raise RuntimeError("the test never released the gated batch")
        return super()._decode_batch(batch, options)


@pytest.mark.anyio
async def test_hang_up_cancels_before_the_next_batch_and_the_loop_stays_free(
    base_synthesizer: Synthesizer, tmp_path: Path
) -> None:
    gated = GatedSynthesizer(base_synthesizer)
    assistant = Assistant(store_path=tmp_path / "assistant.sqlite3")
    executor = ThreadPoolExecutor(2)
    loop = asyncio.get_running_loop()
    try:
        async with in_process(gated, assistant, executor) as (port, speech):
            text = " ".join(f"{number}번째 문장이에요." for number in range(1, 9))  # batches of 1, 2, 4, 1
            connection = client(port)
            await connection.connect()
            await connection.write_event(Synthesize(text=text).event())
            await read_until(connection, is_type("audio-chunk"))  # the first sentence
            assert await loop.run_in_executor(None, gated.second_started.wait, 120)
            # While the second batch runs, another client is answered: model work is off the loop.
            info = Info.from_event((await exchange(port, [Describe().event()], is_type("info")))[-1])
            assert [voice.name for voice in info.tts[0].voices] == ["in-process"]
            await connection.disconnect()
            async with asyncio.timeout(120):  # the synthesis is cancelled with its batch still held
                while speech.active:
                    await asyncio.sleep(0.01)
            assert speech.hang_ups == 1
            gated.release.set()
            await loop.run_in_executor(None, executor.shutdown, True)  # every batch started is done
            assert gated.batches == 2  # the batch in flight finished; no later batch began
    finally:
        gated.release.set()
        executor.shutdown(wait=False)
        assistant.close()


def test_a_taken_port_is_reported_and_sigterm_stops_the_server(test_voice_dir: Path, tmp_path: Path) -> None:
    with sori_wyoming(test_voice_dir, tmp_path / "first", tmp_path / "first.log") as (process, port):
        environment = dict(os.environ, SORI_DATA_DIR=str(tmp_path / "second"), SORI_WARMUP="false")
        second = subprocess.run(
            [sys.executable, "-m", "sori", "wyoming", "--uri", f"tcp://127.0.0.1:{port}",
             "--voice", str(test_voice_dir), "--device", "cpu"],
            env=environment, capture_output=True, text=True, timeout=300,
        )
        assert second.returncode == 3, second.stderr
        assert f"cannot listen on tcp://127.0.0.1:{port}" in second.stderr
        process.terminate()
        assert process.wait(120) == 0


def test_zeroconf_announces_the_service(test_voice_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("zeroconf")  # optional: pip install 'sori[zeroconf]'
    from zeroconf.asyncio import AsyncZeroconf

    name = f"sori-test-{os.getpid()}"

    async def resolve() -> tuple[int | None, list[bytes]]:
        zeroconf = AsyncZeroconf()
        try:
            info = await zeroconf.async_get_service_info(
                "_wyoming._tcp.local.", f"{name}._wyoming._tcp.local.", timeout=30_000
            )
            return (None, []) if info is None else (info.port, info.addresses)
        finally:
            await zeroconf.async_close()

    with sori_wyoming(test_voice_dir, tmp_path, tmp_path / "log", "--zeroconf", name) as (_, port):
        assert asyncio.run(resolve()) == (port, [bytes([127, 0, 0, 1])])


def pcm(events: Sequence[Event]) -> bytes:
    """The audio-chunk events' 16-bit PCM, concatenated."""
    return b"".join(AudioChunk.from_event(event).audio or b"" for event in events if AudioChunk.is_type(event.type))


def pcm_difference(left: bytes, right: bytes) -> int:
    """Largest difference between two s16le PCM buffers of the same length, in quantisation steps."""
    a, b = (np.frombuffer(data, dtype="<i2").astype(np.int32) for data in (left, right))
    assert a.shape == b.shape, (a.shape, b.shape)
    return int(np.abs(a - b).max(initial=0))


@pytest.mark.anyio
async def test_a_speaker_picks_the_vocoder(test_voice_dir: Path, tmp_path: Path) -> None:
    voice = add_test_vocoder(Path(shutil.copytree(test_voice_dir, tmp_path / "neural")))
    synthesizer = Synthesizer.load(voice, device="cpu")
    text = "안녕하세요."
    expected = {
        name: encode_audio(synthesizer.synthesize(text, SynthesisOptions(vocoder=name)).waveform,
                           synthesizer.sample_rate, "pcm")
        for name in ("neural", "griffin-lim")
    }
    assert pcm_difference(expected["neural"], expected["griffin-lim"]) > 100
    assistant = Assistant(store_path=tmp_path / "assistant.sqlite3")
    executor = ThreadPoolExecutor(2)
    try:
        async with in_process(synthesizer, assistant, executor) as (port, _):
            (tts_voice,) = (await describe(port)).tts[0].voices
            assert [speaker.name for speaker in tts_voice.speakers or []] == ["neural", "griffin-lim"]
            for speaker, vocoder in ((None, "neural"), ("neural", "neural"), ("griffin-lim", "griffin-lim")):
                request = Synthesize(text=text, voice=SynthesizeVoice(name="in-process", speaker=speaker)).event()
                events = await exchange(port, [request], is_type("audio-stop", "error"))
                assert pcm_difference(pcm(events), expected[vocoder]) <= 2, speaker  # float rounding
                streamed = [SynthesizeStart(voice=SynthesizeVoice(name="in-process", speaker=speaker)).event(),
                            SynthesizeChunk(text=text).event(), SynthesizeStop().event()]
                events = await exchange(port, streamed, is_type("synthesize-stopped"))
                assert pcm_difference(pcm(events), expected[vocoder]) <= 2, speaker
            request = Synthesize(text=text, voice=SynthesizeVoice(name="in-process", speaker="robot")).event()
            events = await exchange(port, [request], is_type("error"))
            error = Error.from_event(events[-1])
            assert error.code == "unknown-speaker" and "neural, griffin-lim" in error.text
        async with in_process(Synthesizer.load(test_voice_dir, device="cpu"), assistant, executor) as (port, _):
            (tts_voice,) = (await describe(port)).tts[0].voices
            assert tts_voice.speakers is None  # Griffin-Lim only: nothing to choose
            request = Synthesize(text=text, voice=SynthesizeVoice(name="in-process", speaker="neural")).event()
            events = await exchange(port, [request], is_type("error"))
            assert Error.from_event(events[-1]).code == "unknown-speaker"
    finally:
        executor.shutdown(wait=False)
        assistant.close()
