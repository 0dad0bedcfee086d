"""Voice directories: round trip, and each loading error names what is wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.voice_factory import make_test_voice
from tts import VoiceError, load_voice, read_voice_config
from tts.voice_format import CONFIG_FILE, WEIGHTS_FILE


@pytest.fixture
def voice(tmp_path: Path, test_voice_dir: Path) -> Path:
    """A private copy of the test voice that a test may break."""
    return Path(shutil.copytree(test_voice_dir, tmp_path / "voice"))


def _edit_config(voice: Path, edit) -> None:
    data = json.loads((voice / CONFIG_FILE).read_text(encoding="utf-8"))
    edit(data)
    (voice / CONFIG_FILE).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_round_trip_keeps_config_and_weights(tmp_path: Path) -> None:
    voice = make_test_voice(tmp_path / "v", seed=3)
    config, model = load_voice(voice)
    again = make_test_voice(tmp_path / "w", seed=3)
    config_again, model_again = load_voice(again)
    assert config == config_again
    for (name, a), (_, b) in zip(model.state_dict().items(), model_again.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert not model.training


def test_fp16_export_loads_as_float32(tmp_path: Path) -> None:
    voice = make_test_voice(tmp_path / "half", fp16=True)
    stored = load_file(str(voice / WEIGHTS_FILE))
    assert stored["decoder.mel_projection.weight"].dtype == torch.float16
    _, model = load_voice(voice)
    assert model.decoder.mel_projection.weight.dtype == torch.float32


def test_missing_directory_and_files(tmp_path: Path, voice: Path) -> None:
    with pytest.raises(VoiceError, match="not found"):
        load_voice(tmp_path / "nowhere")
    (voice / WEIGHTS_FILE).unlink()
    with pytest.raises(VoiceError, match="no model.safetensors"):
        load_voice(voice)
    (voice / CONFIG_FILE).unlink()
    with pytest.raises(VoiceError, match="no config.json"):
        load_voice(voice)


def test_wrong_format_version(voice: Path) -> None:
    _edit_config(voice, lambda d: d.update(format_version=99))
    with pytest.raises(VoiceError, match="format_version 99"):
        read_voice_config(voice)


def test_corrupt_config_json(voice: Path) -> None:
    (voice / CONFIG_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(VoiceError, match="not readable JSON"):
        read_voice_config(voice)


def test_shape_mismatch_is_named(voice: Path) -> None:
    state = load_file(str(voice / WEIGHTS_FILE))
    state["decoder.mel_projection.weight"] = torch.zeros(3, 3)
    save_file(state, str(voice / WEIGHTS_FILE))
    with pytest.raises(VoiceError, match=r"shape mismatch: decoder\.mel_projection\.weight"):
        load_voice(voice)


def test_missing_tensor_is_named(voice: Path) -> None:
    state = load_file(str(voice / WEIGHTS_FILE))
    del state["postnet.gru.weight_ih_l0"]
    save_file(state, str(voice / WEIGHTS_FILE))
    with pytest.raises(VoiceError, match=r"missing tensors: postnet\.gru\.weight_ih_l0"):
        load_voice(voice)


def test_corrupt_weights(voice: Path) -> None:
    (voice / WEIGHTS_FILE).write_bytes(b"garbage")
    with pytest.raises(VoiceError, match="not a readable safetensors"):
        load_voice(voice)


def test_symbol_table_mismatch(voice: Path) -> None:
    _edit_config(voice, lambda d: d["model"].update(n_symbols=d["model"]["n_symbols"] + 1))
    with pytest.raises(VoiceError, match="symbol table mismatch"):
        read_voice_config(voice)


def test_tampered_symbol_table(voice: Path) -> None:
    def swap(d: dict) -> None:
        symbols = d["symbols"]["symbols"]
        symbols[10], symbols[11] = symbols[11], symbols[10]

    _edit_config(voice, swap)
    with pytest.raises(VoiceError, match="section 'symbols'"):
        read_voice_config(voice)


def test_unknown_model_key(voice: Path) -> None:
    _edit_config(voice, lambda d: d["model"].update(mystery=1))
    with pytest.raises(VoiceError, match="section 'model'.*mystery"):
        read_voice_config(voice)
