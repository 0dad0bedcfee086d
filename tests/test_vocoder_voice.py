"""Voices with and without a neural vocoder: round trip, choice in Synthesizer, every load error named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.vocoder_factory import add_test_vocoder
from tts import SynthesisOptions, Synthesizer, VoiceError, load_voice, read_voice_config
from tts.copy_synthesis import copy_synthesis
from tts.voice_format import CONFIG_FILE, VOCODER_FILE, load_vocoder


@pytest.fixture(scope="module")
def vocoder_voice_dir(tmp_path_factory: pytest.TempPathFactory, test_voice_dir: Path) -> Path:
    """The test voice plus a tiny random vocoder (read-only; copy to break it)."""
    voice = Path(shutil.copytree(test_voice_dir, tmp_path_factory.mktemp("vv") / "voice"))
    return add_test_vocoder(voice)


@pytest.fixture
def voice(tmp_path: Path, vocoder_voice_dir: Path) -> Path:
    return Path(shutil.copytree(vocoder_voice_dir, tmp_path / "voice"))


def _edit_config(voice: Path, edit) -> None:
    data = json.loads((voice / CONFIG_FILE).read_text(encoding="utf-8"))
    edit(data)
    (voice / CONFIG_FILE).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_voice_without_vocoder_writes_no_section(test_voice_dir: Path) -> None:
    data = json.loads((test_voice_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    assert "vocoder" not in data and not (test_voice_dir / VOCODER_FILE).exists()
    assert read_voice_config(test_voice_dir).vocoder is None
    with pytest.raises(VoiceError, match="has no neural vocoder"):
        Synthesizer.load(test_voice_dir, device="cpu", vocoder="neural")


def test_round_trip_keeps_the_vocoder(tmp_path: Path, vocoder_voice_dir: Path) -> None:
    config, _ = load_voice(vocoder_voice_dir)
    assert config.vocoder is not None and config.vocoder.metadata["description"]
    vocoder = load_vocoder(vocoder_voice_dir, config)
    again = add_test_vocoder(Path(shutil.copytree(vocoder_voice_dir, tmp_path / "again")))
    reloaded = load_vocoder(again, read_voice_config(again))
    for (name, a), (_, b) in zip(vocoder.state_dict().items(), reloaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert not vocoder.training


def test_synthesizer_picks_the_vocoder(vocoder_voice_dir: Path, test_voice_dir: Path) -> None:
    text = "안녕하세요. 반갑습니다."
    auto = Synthesizer.load(vocoder_voice_dir, device="cpu")
    assert auto.default_vocoder == "neural"
    neural = auto.synthesize(text)
    griffin = auto.synthesize(text, SynthesisOptions(vocoder="griffin-lim"))
    plain = Synthesizer.load(test_voice_dir, device="cpu").synthesize(text)
    # The same Tacotron frames: Griffin-Lim on request is exactly the voice without a vocoder.
    assert np.array_equal(griffin.waveform, plain.waveform)
    assert neural.waveform.shape == plain.waveform.shape
    assert not np.array_equal(neural.waveform, plain.waveform)
    forced = Synthesizer.load(vocoder_voice_dir, device="cpu", vocoder="griffin-lim")
    assert forced.vocoder is None and np.array_equal(forced.synthesize(text).waveform, plain.waveform)
    with pytest.raises(VoiceError, match="no neural vocoder loaded"):
        forced.synthesize(text, SynthesisOptions(vocoder="neural"))
    with pytest.raises(VoiceError, match="no neural vocoder loaded"):
        forced.stream(text, SynthesisOptions(vocoder="neural"))
    with pytest.raises(ValueError, match="vocoder must be"):
        SynthesisOptions(vocoder="wavenet")  # type: ignore[arg-type]


def test_a_vocoder_fed_the_linear_spectrogram(tmp_path: Path, test_voice_dir: Path) -> None:
    """The synthesizer, streaming and copy synthesis feed it the post-net's / recording's linear
    spectrogram (a mel would not even fit its input layer)."""
    voice = add_test_vocoder(Path(shutil.copytree(test_voice_dir, tmp_path / "voice")), spectrogram="linear")
    synthesizer = Synthesizer.load(voice, device="cpu")
    assert synthesizer.vocoder is not None and synthesizer.vocoder.embed.in_channels == synthesizer.config.audio.n_freq
    text = "안녕하세요. 반갑습니다."
    whole = synthesizer.synthesize(text)
    plain = Synthesizer.load(test_voice_dir, device="cpu").synthesize(text)
    assert whole.waveform.shape == plain.waveform.shape and not np.array_equal(whole.waveform, plain.waveform)
    streamed = np.concatenate([chunk.waveform for chunk in synthesizer.stream(text)])
    np.testing.assert_allclose(streamed, whole.waveform, atol=1e-4, rtol=1e-3)
    wave = torch.sin(torch.arange(8000) * 0.05) * 0.5
    rebuilt = copy_synthesis(wave, synthesizer.config.audio, synthesizer.vocoder)
    assert rebuilt.shape == wave.shape and torch.isfinite(rebuilt).all()


def test_stream_with_the_neural_vocoder_joins_to_the_whole(vocoder_voice_dir: Path) -> None:
    synthesizer = Synthesizer.load(vocoder_voice_dir, device="cpu")
    text = "하나. 둘. 셋."
    chunks = list(synthesizer.stream(text))
    whole = synthesizer.synthesize(text)
    assert len(chunks) == len(whole.sentences) == 3
    joined = np.concatenate([chunk.waveform for chunk in chunks])
    np.testing.assert_allclose(joined, whole.waveform, atol=1e-4, rtol=1e-3)


def test_speed_stretches_the_neural_output(vocoder_voice_dir: Path) -> None:
    synthesizer = Synthesizer.load(vocoder_voice_dir, device="cpu")
    normal = synthesizer.synthesize("안녕하세요")
    fast = synthesizer.synthesize("안녕하세요", SynthesisOptions(speed=2.0))
    assert fast.waveform.size < 0.6 * normal.waveform.size


def test_missing_vocoder_file(voice: Path) -> None:
    (voice / VOCODER_FILE).unlink()
    with pytest.raises(VoiceError, match="vocoder section in config.json but no vocoder.safetensors"):
        Synthesizer.load(voice, device="cpu")


def test_truncated_vocoder_file(voice: Path) -> None:
    data = (voice / VOCODER_FILE).read_bytes()
    (voice / VOCODER_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(VoiceError, match="vocoder.safetensors is not a readable safetensors file"):
        Synthesizer.load(voice, device="cpu")


def test_other_section_version(voice: Path) -> None:
    _edit_config(voice, lambda d: d["vocoder"].update(format_version=2))
    with pytest.raises(VoiceError, match="vocoder section has format_version 2"):
        read_voice_config(voice)


def test_other_file_version(voice: Path) -> None:
    state = load_file(str(voice / VOCODER_FILE))
    save_file(state, str(voice / VOCODER_FILE), metadata={"format_version": "7"})
    with pytest.raises(VoiceError, match="vocoder.safetensors has format_version '7'"):
        Synthesizer.load(voice, device="cpu")


def test_wrong_tensor_shape(voice: Path) -> None:
    _edit_config(voice, lambda d: d["vocoder"]["config"].update(dim=24))
    with pytest.raises(VoiceError, match=r"does not fit config.json's vocoder section: shape mismatch: blocks\.0\.depthwise"):
        Synthesizer.load(voice, device="cpu")


def test_missing_tensor(voice: Path) -> None:
    state = load_file(str(voice / VOCODER_FILE))
    del state["head.projection.bias"]
    save_file(state, str(voice / VOCODER_FILE), metadata={"format_version": "1"})
    with pytest.raises(VoiceError, match=r"missing tensors: head\.projection\.bias"):
        Synthesizer.load(voice, device="cpu")


def test_vocoder_for_other_audio(voice: Path) -> None:
    _edit_config(voice, lambda d: d["vocoder"]["config"].update(hop_length=128))
    with pytest.raises(VoiceError, match="audio/vocoder mismatch.*hop_length: 128 != 256"):
        read_voice_config(voice)


def test_unknown_vocoder_key(voice: Path) -> None:
    _edit_config(voice, lambda d: d["vocoder"]["config"].update(layers=3))
    with pytest.raises(VoiceError, match="section 'vocoder'.*layers"):
        read_voice_config(voice)


def test_griffin_lim_mode_ignores_a_broken_vocoder(voice: Path) -> None:
    (voice / VOCODER_FILE).write_bytes(b"garbage")
    assert Synthesizer.load(voice, device="cpu", vocoder="griffin-lim").vocoder is None
