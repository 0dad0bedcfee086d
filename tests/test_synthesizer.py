"""Synthesizer: text in, speech and its diagnostics out, batched like one-by-one, deterministic."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tts import (
    FrontendError,
    SentenceSynthesis,
    SpeechChunk,
    SynthesisOptions,
    Synthesizer,
    attention_health,
    stream_groups,
)
from tts.text.sentences import split_sentences


@pytest.fixture(scope="module")
def synthesizer(test_voice_dir: Path) -> Synthesizer:
    return Synthesizer.load(test_voice_dir, device="cpu")


def test_result_carries_audio_alignments_and_health(synthesizer: Synthesizer) -> None:
    result = synthesizer.synthesize("안녕하세요. 지금은 3시예요!")
    assert result.sample_rate == 22050
    assert result.waveform.dtype == np.float32 and result.waveform.ndim == 1
    assert float(np.abs(result.waveform).max()) <= 1.0
    assert [s.text for s in result.sentences] == ["안녕하세요.", "지금은 3시예요!"]
    r = synthesizer.config.model.reduction_factor
    hop = synthesizer.config.audio.hop_length
    pause = round(0.25 * 22050)
    frames = sum(s.mel.shape[0] for s in result.sentences)
    assert result.waveform.size == frames * hop + pause
    for sentence in result.sentences:
        steps, symbols = sentence.alignment.shape
        assert symbols == len(sentence.frontend.ids) == len(sentence.labels)
        assert sentence.labels[-1] == "<eos>"
        assert sentence.mel.shape == (steps * r, synthesizer.config.audio.n_mels)
        assert np.allclose(sentence.alignment.sum(axis=1), 1.0, atol=1e-4)
    assert "세 시" in result.sentences[1].frontend.normalized
    # A random-weight voice cannot align: the result must say so rather than pass it off.
    assert result.health_ok is False and result.failed_sentences


def test_step_limit_scales_with_input_length(synthesizer: Synthesizer) -> None:
    short, long = synthesizer.synthesize_many(["네.", "오늘은 날씨가 정말 좋아서 산책을 가고 싶어요."])
    assert short.sentences[0].alignment.shape[0] < long.sentences[0].alignment.shape[0]
    for result in (short, long):
        sentence = result.sentences[0]
        model = synthesizer.config.model
        scaled = math.ceil((len(sentence.frontend.ids) * 12.0 + 40) / model.reduction_factor)
        limit = min(scaled, model.max_decoder_steps)
        assert sentence.alignment.shape[0] <= limit
        if not sentence.health.stopped_by_token:
            assert sentence.alignment.shape[0] == limit


def test_same_text_gives_identical_audio(synthesizer: Synthesizer) -> None:
    first = synthesizer.synthesize("반갑습니다.")
    again = synthesizer.synthesize("반갑습니다.")
    assert np.array_equal(first.waveform, again.waveform)


def test_batch_gives_each_text_what_it_gets_alone(synthesizer: Synthesizer) -> None:
    texts = ["하나 둘 셋.", "고양이가 좋아요. 강아지도요!", "네."]
    batched = synthesizer.synthesize_many(texts)
    for text, together in zip(texts, batched, strict=True):
        alone = synthesizer.synthesize(text)
        assert len(alone.sentences) == len(together.sentences)
        for a, b in zip(alone.sentences, together.sentences, strict=True):
            assert a.mel.shape == b.mel.shape
            assert np.allclose(a.mel, b.mel, atol=1e-4)
            assert np.allclose(a.alignment, b.alignment, atol=1e-4)
        assert alone.waveform.shape == together.waveform.shape


def test_speed_stretches_duration(synthesizer: Synthesizer) -> None:
    normal = synthesizer.synthesize("천천히 말해 주세요.")
    fast = synthesizer.synthesize("천천히 말해 주세요.", SynthesisOptions(speed=2.0))
    assert fast.waveform.size == pytest.approx(normal.waveform.size / 2, rel=0.05)
    with pytest.raises(ValueError, match="speed"):
        SynthesisOptions(speed=9.0)


def test_unspeakable_text_is_a_frontend_error(synthesizer: Synthesizer) -> None:
    with pytest.raises(FrontendError):
        synthesizer.synthesize("😀😀")
    with pytest.raises(FrontendError):
        synthesizer.synthesize("   ")
    result = synthesizer.synthesize("😀. 좋아요.")
    assert [s.text for s in result.sentences] == ["😀. 좋아요."]
    assert result.dropped == ("😀",)
    middle = synthesizer.synthesize("안녕하세요. 😀! 반가워요.")
    assert [s.text for s in middle.sentences] == ["안녕하세요.", "😀! 반가워요."]
    assert middle.dropped == ("😀",)
    last = synthesizer.synthesize("안녕하세요. 🙂🙂")
    assert [s.text for s in last.sentences] == ["안녕하세요. 🙂🙂"]
    assert "🙂" in last.dropped


def test_max_batch_size_chunks_give_the_same_mels(test_voice_dir: Path, synthesizer: Synthesizer) -> None:
    small = Synthesizer.load(test_voice_dir, device="cpu", max_batch_size=1)
    texts = ["사과.", "바나나 우유."]
    for a, b in zip(small.synthesize_many(texts), synthesizer.synthesize_many(texts), strict=True):
        assert np.allclose(a.mel, b.mel, atol=1e-4)


def test_sentence_splitting() -> None:
    assert split_sentences("안녕하세요. 반가워요! 뭐 해요? 좋아요…") == ["안녕하세요.", "반가워요!", "뭐 해요?", "좋아요…"]
    assert split_sentences("  ") == []
    long = "가나다 " * 50
    parts = split_sentences(long, max_chars=40)
    assert all(len(part) <= 40 for part in parts)
    assert " ".join(parts).split() == long.split()
    commas = "첫째로 이것, 둘째로 저것, 셋째로 그것까지 모두 준비해야 하는 아주 긴 문장입니다"
    assert split_sentences(commas, max_chars=30)[0].endswith(",")


def test_cli_speak_writes_wav_and_png(tmp_path: Path, test_voice_dir: Path) -> None:
    wav, png = tmp_path / "out.wav", tmp_path / "align.png"
    done = subprocess.run(
        [sys.executable, "-m", "sori", "speak", "안녕하세요. 소리입니다.", "-o", str(wav),
         "--voice", str(test_voice_dir), "--alignment", str(png), "--device", "cpu"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    data, rate = sf.read(wav)
    info = sf.info(wav)
    assert rate == 22050 and info.subtype == "PCM_16" and info.channels == 1 and len(data) > 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "attention failed" in done.stderr  # the random voice is reported, not hidden


def test_cli_speak_reports_bad_input(tmp_path: Path, test_voice_dir: Path) -> None:
    missing = subprocess.run(
        [sys.executable, "-m", "sori", "speak", "안녕", "-o", str(tmp_path / "x.wav"), "--voice", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=300,
    )
    assert missing.returncode == 2 and "voice directory not found" in missing.stderr
    empty = subprocess.run(
        [sys.executable, "-m", "sori", "speak", "🙂", "-o", str(tmp_path / "x.wav"), "--voice", str(test_voice_dir)],
        capture_output=True, text=True, timeout=300,
    )
    assert empty.returncode == 2 and "sori speak:" in empty.stderr
    assert not (tmp_path / "x.wav").exists()


def test_cli_takes_the_cuda_graphs_switch(tmp_path: Path, test_voice_dir: Path) -> None:
    """`--no-cuda-graphs` is accepted by speak (on a CPU graphs are never used anyway)."""
    wav = tmp_path / "out.wav"
    done = subprocess.run(
        [sys.executable, "-m", "sori", "speak", "안녕.", "-o", str(wav), "--voice", str(test_voice_dir),
         "--device", "cpu", "--no-cuda-graphs"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert sf.info(wav).frames > 0


def test_cli_speak_reads_stdin_and_streams_a_wav_to_stdout(tmp_path: Path, test_voice_dir: Path) -> None:
    """`sori speak - -o -`: text from standard input, a WAV of unknown length on standard output
    holding exactly the stream's samples, and the messages on standard error."""
    text = "안녕하세요. 소리입니다. 반가워요."
    done = subprocess.run(
        [sys.executable, "-m", "sori", "speak", "-", "-o", "-", "--voice", str(test_voice_dir), "--device", "cpu",
         "--json"],
        input=text.encode(), capture_output=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()
    audio = done.stdout
    assert audio[:4] == b"RIFF" and audio[4:8] == b"\xff\xff\xff\xff" and audio[40:44] == b"\xff\xff\xff\xff"
    summary = json.loads(next(line for line in done.stderr.decode().splitlines() if line.startswith("{")))
    assert summary["output"] == "-" and len(summary["sentences"]) == 3
    synthesizer = Synthesizer.load(test_voice_dir, device="cpu")
    expected = np.concatenate([c.waveform for c in synthesizer.stream(text)])
    samples = np.frombuffer(audio[44:], dtype="<i2")
    assert samples.size == expected.size
    assert summary["seconds"] == pytest.approx(samples.size / 22050, abs=1e-3)


def test_streamed_wav_flushes_each_sentence_before_the_next_is_made() -> None:
    """What `-o -` writes for a sentence is flushed before the next sentence is even asked for."""
    from sori.commands.speak import stream_to

    class Recorder(io.BytesIO):
        flushed = 0

        def flush(self) -> None:
            self.flushed = len(self.getvalue())

    output = Recorder()
    seen_before: list[int] = []
    wave = np.full(100, 0.5, np.float32)
    alignment = np.ones((1, 1))
    health = attention_health(alignment, stopped_by_token=True, spoken_length=1)
    sentence = SentenceSynthesis("가.", None, ("ᄀ",), alignment, np.zeros((2, 80)), health)  # type: ignore[arg-type]

    def chunks() -> Iterator[SpeechChunk]:
        for index in range(3):
            seen_before.append(output.flushed)
            yield SpeechChunk(index, sentence, wave, 22050, 0)

    result = stream_to(output, chunks(), 22050)
    assert seen_before == [44, 244, 444]  # the header, then each sentence's 100 samples, flushed
    assert result.waveform.size == 300 and len(result.sentences) == 3


def test_cli_speak_refuses_to_write_audio_to_a_terminal(test_voice_dir: Path) -> None:
    script = ("import sys; sys.stdout.isatty = lambda: True; from sori.cli import main; "
              f"sys.exit(main(['speak', '안녕', '-o', '-', '--voice', {str(test_voice_dir)!r}]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "pipe it" in done.stderr


def test_stream_groups_start_alone_then_double() -> None:
    assert [list(g) for g in stream_groups(7, 64)] == [[0], [1, 2], [3, 4, 5, 6]]
    assert [len(g) for g in stream_groups(20, 4)] == [1, 2, 4, 4, 4, 4, 1]
    assert stream_groups(0, 8) == []


def test_stream_yields_the_text_sentence_by_sentence(base_synthesizer: Synthesizer) -> None:
    """Chunks in order, the pause before each but the first, and together the whole text's audio
    (same frames and stops; samples up to the rounding of batches of other sizes)."""
    text = "안녕하세요. 소리입니다. 반가워요. 또 만나요. 잘 가요."
    chunks = list(base_synthesizer.stream(text))
    whole = base_synthesizer.synthesize(text)
    pause = round(SynthesisOptions().sentence_pause_seconds * base_synthesizer.sample_rate)
    assert [c.index for c in chunks] == [0, 1, 2, 3, 4]
    assert [c.pause_samples for c in chunks] == [0] + [pause] * 4
    assert all(not c.waveform[: c.pause_samples].any() for c in chunks)
    assert [c.sentence.text for c in chunks] == [s.text for s in whole.sentences]
    assert [c.sentence.mel.shape for c in chunks] == [s.mel.shape for s in whole.sentences]
    assert np.concatenate([c.waveform for c in chunks]).shape == whole.waveform.shape
    assert list(whole.chunk_starts) == np.cumsum([0] + [c.waveform.size for c in chunks[:-1]]).tolist()
    with pytest.raises(FrontendError):
        base_synthesizer.stream("🙂")  # before any chunk, at the call


def test_chunks_of_a_group_equal_the_streamed_chunks(base_synthesizer: Synthesizer) -> None:
    """A server that synthesises a stream's groups as requests of their own gets the same chunks."""
    options = SynthesisOptions()
    sentences = base_synthesizer.analyze("가나. 다라마. 바사. 아자차카.", options)
    streamed = list(base_synthesizer.stream_analyzed(sentences, options))
    rebuilt = []
    for group in stream_groups(len(sentences), base_synthesizer.max_batch_size):
        (result,) = base_synthesizer.synthesize_analyzed([sentences[group.start : group.stop]], options)
        rebuilt.extend(base_synthesizer.chunks_of(result, group.start, options))
    assert [c.index for c in rebuilt] == [c.index for c in streamed]
    assert [c.pause_samples for c in rebuilt] == [c.pause_samples for c in streamed]
    for mine, theirs in zip(rebuilt, streamed, strict=True):
        assert np.array_equal(mine.waveform, theirs.waveform)
