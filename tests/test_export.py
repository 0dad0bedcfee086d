"""Export: a training run becomes a voice that Synthesizer loads and speaks, reading text exactly
as the prepared features did."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from sori.cli import main
from tts import Synthesizer, read_voice_config, text_to_ids
from tts.text.sentences import split_sentences
from tts.training import checkpoint as ckpt
from tts.training.export import export_voice
from tts.training.features import SPLITS, read_features, read_manifest, read_settings


@pytest.fixture(scope="module")
def voice(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run's last checkpoint exported as an fp16 voice."""
    return export_voice(tiny_run, tmp_path_factory.mktemp("voices") / "ko-tiny", checkpoint="last",
                        fp16=True, extra_metadata={"licence": "test"})


def test_the_exported_voice_loads_and_speaks(voice: Path) -> None:
    synthesizer = Synthesizer.load(voice, device="cpu")
    result = synthesizer.synthesize("안녕하세요. 반갑습니다.")
    assert result.sample_rate == 22050 and len(result.sentences) == 2
    assert result.waveform.size > 0 and np.isfinite(result.waveform).all()
    assert result.sentences[0].alignment.shape[1] == len(result.sentences[0].frontend.ids)


def test_the_voice_records_its_provenance(voice: Path, tiny_run: Path, prepared_features: Path) -> None:
    config = read_voice_config(voice)
    metadata = config.metadata
    assert config.name == "ko-tiny" and metadata["licence"] == "test"
    assert metadata["training_steps"] == 4 and metadata["checkpoint"] == "step_00000004"
    assert metadata["training_seconds"] > 0 and metadata["hardware"]["processes"] == 1
    assert metadata["hardware"]["device"].startswith("cpu") and metadata["precision"] == "fp32"
    assert "git_commit" in metadata and "val/total" in metadata["evaluation"]
    assert metadata["corpus"] and metadata["train_config"]["batch_size"] == 4
    settings = read_settings(prepared_features)
    assert (config.text, config.audio, config.symbols) == (settings.text, settings.audio, settings.symbols)
    with safe_open(str(voice / "model.safetensors"), framework="pt") as weights:
        assert weights.get_tensor("linear_projection.weight").dtype == torch.float16
    saved = ckpt.load_checkpoint(tiny_run / "checkpoints" / "step_00000004").model_state
    with safe_open(str(voice / "model.safetensors"), framework="pt") as weights:
        torch.testing.assert_close(weights.get_tensor("linear_projection.weight").float(),
                                   saved["linear_projection.weight"], atol=1e-3, rtol=1e-3)


def test_prepared_ids_equal_synthesis_time_ids(voice: Path, prepared_features: Path) -> None:
    """Train/runtime parity: what the model was trained on is what the voice reads at synthesis."""
    synthesizer = Synthesizer.load(voice, device="cpu")
    config = synthesizer.config
    checked = 0
    for split in SPLITS:
        for entry in read_manifest(prepared_features, split):
            trained = tuple(read_features(prepared_features, entry.id).ids.tolist())
            assert text_to_ids(entry.text, config.text, config.symbols).ids == trained, entry.text
            if len(split_sentences(entry.text)) == 1:
                [(_, frontend)] = synthesizer.analyze(entry.text)
                assert frontend.ids == trained, entry.text
                checked += 1
    assert checked >= 20


def test_best_is_the_lowest_validation_loss(tiny_run: Path, tmp_path: Path) -> None:
    best = ckpt.read_best(tiny_run)
    losses = {json.loads(line)["step"]: json.loads(line)["val/total"]
              for line in (tiny_run / "metrics.jsonl").read_text().splitlines()}
    assert best["val_loss"] == min(losses.values()) and losses[best["step"]] == best["val_loss"]
    exported = export_voice(tiny_run, tmp_path / "best")
    assert read_voice_config(exported).metadata["training_steps"] == best["step"]


def test_cli_export_and_speak(tiny_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "voices" / "mine"
    assert main(["export", str(tiny_run), "--out", str(out), "--checkpoint", "last", "--name", "나의 목소리",
                 "--meta", "licence=CC-BY-NC-SA-4.0"]) == 0
    assert "sori speak" in capsys.readouterr().out
    assert read_voice_config(out).name == "나의 목소리"
    wav = tmp_path / "hello.wav"
    assert main(["speak", "안녕하세요", "-o", str(wav), "--voice", str(out), "--device", "cpu"]) == 0
    assert wav.read_bytes()[:4] == b"RIFF"
    assert main(["export", str(tiny_run), "--out", str(out), "--checkpoint", str(tmp_path)]) == 2
    assert "not a checkpoint" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert main(["export", str(tiny_run), "--out", str(out), "--meta", "novalue"]) == 2
