"""Every config dataclass is read and written by one set of rules (tts.config_io)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tts.audio import AudioConfig
from tts.config_io import ConfigError, unversioned, versioned
from tts.model import LossConfig, TacotronConfig
from tts.model.config import TacotronHyperparameters
from tts.text import TextConfig
from tts.training.config import PrepareConfig, TrainConfig
from tts.voice_format import VoiceConfig

REPO = Path(__file__).resolve().parents[1]
CONFIGS = [AudioConfig(), TextConfig(), TacotronConfig(n_symbols=10), TacotronHyperparameters(),
           LossConfig(), PrepareConfig(), TrainConfig(model=TacotronHyperparameters(reduction_factor=3))]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda config: type(config).__name__)
def test_every_config_round_trips_through_json_and_follows_one_rule(config: object) -> None:
    cls = type(config)
    data = config.to_dict()  # type: ignore[attr-defined]
    assert cls.from_dict(json.loads(json.dumps(data))) == config  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=f"unknown {cls.__name__} keys: zz_unknown"):
        cls.from_dict({**data, "zz_unknown": 1})  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=f"{cls.__name__} must be a JSON object, got list"):
        cls.from_dict([data])  # type: ignore[attr-defined]
    name, value = next(iter(data.items()))
    with pytest.raises(ConfigError, match=name):
        cls.from_dict({**data, name: {"not": "this"}})  # type: ignore[attr-defined]


def test_values_of_the_wrong_type_are_named_never_coerced() -> None:
    with pytest.raises(ConfigError, match=r"TacotronConfig\.reduction_factor must be int, got '3'"):
        TacotronConfig.from_dict({"n_symbols": 10, "reduction_factor": "3"})
    with pytest.raises(ConfigError, match=r"TacotronConfig\.reduction_factor must be int, got True"):
        TacotronConfig.from_dict({"n_symbols": 10, "reduction_factor": True})
    with pytest.raises(ConfigError, match=r"encoder_prenet_dims must be a list of int"):
        TacotronConfig.from_dict({"n_symbols": 10, "encoder_prenet_dims": [1.5, 2]})
    with pytest.raises(ConfigError, match="lacks the required keys: n_symbols"):
        TacotronConfig.from_dict({})
    assert LossConfig.from_dict({"stop_weight": 2}).stop_weight == 2  # an int where a float is declared


def test_nested_configs_name_their_section() -> None:
    with pytest.raises(ConfigError, match=r"section 'model' of TrainConfig: reduction_factor must be >= 1"):
        TrainConfig.from_dict({"model": {"reduction_factor": 0}})
    with pytest.raises(ConfigError, match=r"section 'loss' of TrainConfig: unknown LossConfig keys: colour"):
        TrainConfig.from_dict({"loss": {"colour": 1}})


def test_train_configs_saved_with_partial_model_overrides_still_load() -> None:
    """Before TrainConfig.model was typed it held only the overridden fields: the rest default."""
    saved = {**TrainConfig().to_dict(), "model": {"reduction_factor": 3, "decoder_prenet_dims": [64, 32]}}
    config = TrainConfig.from_dict(saved)
    assert config.model == TacotronHyperparameters(reduction_factor=3, decoder_prenet_dims=(64, 32))
    network = config.model_config(n_symbols=70, pad_id=0, n_mels=80, n_freq=513)
    assert network.reduction_factor == 3 and network.embedding_dim == TacotronHyperparameters().embedding_dim


def test_versioned_documents_are_read_by_exactly_their_version() -> None:
    assert unversioned(versioned(1, {"a": 2}), 1, "the thing") == {"a": 2}
    with pytest.raises(ConfigError, match="the thing has format_version 2; this Sori reads version 1"):
        unversioned({"format_version": 2}, 1, "the thing")
    with pytest.raises(ConfigError, match="the thing has format_version None"):
        unversioned({}, 1, "the thing")


def test_the_bundled_voice_config_reads_and_writes_unchanged() -> None:
    data = json.loads((REPO / "voices" / "ko-espeak-demo" / "config.json").read_text(encoding="utf-8"))
    assert VoiceConfig.from_dict(data).to_dict() == data
