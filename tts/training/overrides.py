"""`--key=value` overrides of a TrainConfig, type-checked against the dataclass fields.

`batch_size=32` sets a TrainConfig field, `model.reduction_factor=3` a TacotronHyperparameters field and
`loss.stop_weight=2` a LossConfig field. Values are parsed by the field's declared type (int, float,
bool, str, a Literal's choices, a tuple of ints), so `--batch_size=3.5` is an error, not a surprise.
"""

from __future__ import annotations

import difflib
import json
import math
import types
from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from tts.model.config import TacotronHyperparameters
from tts.model.loss import LossConfig
from tts.training.config import ConfigError, TrainConfig

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_value(text: str, kind: Any, name: str) -> Any:
    """Parse `text` as a value of type `kind`; ConfigError naming the field when it does not fit."""
    origin = get_origin(kind)
    if origin is Literal:
        choices = get_args(kind)
        if text not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}; got {text!r}")
        return text
    if origin in (Union, types.UnionType):
        options = [option for option in get_args(kind) if option is not type(None)]
        if text.lower() in ("none", "null") and len(options) < len(get_args(kind)):
            return None
        return parse_value(text, options[0], name)
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(f"{name} must be true or false, got {text!r}")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {text!r}") from None
    if kind is float:
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {text!r}") from None
        if not math.isfinite(value):
            raise ConfigError(f"{name} must be finite, got {text!r}")
        return value
    if kind is str:
        return text
    if origin is tuple:
        item = get_args(kind)[0]
        stripped = text.strip().strip("[]()")
        parts = [part.strip() for part in stripped.split(",") if part.strip()]
        return tuple(parse_value(part, item, f"{name}[{i}]") for i, part in enumerate(parts))
    raise ConfigError(f"{name} has type {kind!r}, which cannot be set from the command line")


def _field_types(cls: type) -> dict[str, Any]:
    """Resolved type hints of a dataclass's fields."""
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _unknown(name: str, known: Sequence[str]) -> ConfigError:
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return ConfigError(f"unknown setting {name!r}{hint}")


def split_override(item: str) -> tuple[str, str]:
    """'--key=value' or 'key=value' -> (key, value)."""
    body = item[2:] if item.startswith("--") else item
    if "=" not in body:
        raise ConfigError(f"override {item!r} must look like --key=value")
    key, value = body.split("=", 1)
    return key.strip(), value.strip()


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Parse and type-check overrides into {'batch_size': 32, 'model.reduction_factor': 3, ...}."""
    train_types = {name: kind for name, kind in _field_types(TrainConfig).items()
                   if name not in ("model", "loss")}
    model_types = _field_types(TacotronHyperparameters)
    loss_types = _field_types(LossConfig)
    parsed: dict[str, Any] = {}
    for item in items:
        key, text = split_override(item)
        section, _, name = key.rpartition(".")
        table = {"": train_types, "model": model_types, "loss": loss_types}.get(section)
        if table is None:
            raise _unknown(key, [*train_types, *(f"model.{n}" for n in model_types),
                                 *(f"loss.{n}" for n in loss_types)])
        if name not in table:
            prefix = f"{section}." if section else ""
            raise _unknown(key, [prefix + n for n in table])
        parsed[key] = parse_value(text, table[name], key)
    return parsed


def apply_overrides(config: TrainConfig, overrides: dict[str, Any]) -> TrainConfig:
    """A new TrainConfig with parsed overrides applied (validated by the dataclasses)."""
    top = {key: value for key, value in overrides.items() if "." not in key}
    model = {key[len("model."):]: value for key, value in overrides.items() if key.startswith("model.")}
    loss = {key[len("loss."):]: value for key, value in overrides.items() if key.startswith("loss.")}
    try:
        return replace(config, **top, model=replace(config.model, **model), loss=replace(config.loss, **loss))
    except (TypeError, ValueError) as error:
        raise ConfigError(str(error)) from error


def describe(overrides: dict[str, Any]) -> str:
    """Overrides as a compact JSON string for logs."""
    return json.dumps(overrides, ensure_ascii=False, default=list)
