"""One way to read and write every config dataclass as JSON-ready dicts.

The rules, the same for every config:
- writing: every field, tuples as lists, nested configs as dicts (a value with its own `to_dict`,
  such as the symbol table, writes itself);
- reading: a JSON object, no unknown keys, missing keys take the field's default, lists become
  tuples, nested configs are read by their own `from_dict`, and every value must have its field's
  declared type (an int is accepted where a float is declared, never a bool for a number);
- errors: `ConfigError` (a ValueError) naming the class and field; a config's own checks in
  `__post_init__` come first, since they say more than "wrong type";
- versions: a document with a `format_version` is read by exactly that version (`unversioned`).

No torch here: `tts.text` reads its config through this module and stays cheap to import.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

VERSION_KEY = "format_version"

_Config = TypeVar("_Config")


class ConfigError(ValueError):
    """A configuration is invalid or cannot be read from a dict; the message names the field."""


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a JSON-ready dict of every field (but those derived in __post_init__)."""
    return {field.name: _encode(getattr(config, field.name))
            for field in dataclasses.fields(config) if field.init}


def config_from_dict(cls: type[_Config], data: Any) -> _Config:
    """Build the config dataclass `cls` from a dict written by `config_to_dict` (rules above)."""
    name = cls.__name__
    if not isinstance(data, Mapping):
        raise ConfigError(f"{name} must be a JSON object, got {type(data).__name__}")
    fields = {field.name: field for field in dataclasses.fields(cls) if field.init}  # type: ignore[arg-type]
    unknown = sorted(str(key) for key in data if key not in fields)
    if unknown:
        raise ConfigError(f"unknown {name} keys: {', '.join(_with_guess(key, fields) for key in unknown)}")
    missing = [key for key, field in fields.items() if key not in data and _required(field)]
    if missing:
        raise ConfigError(f"{name} lacks the required keys: {', '.join(missing)}")
    hints = get_type_hints(cls)
    values = {key: _decode(hints[key], value, f"section {key!r} of {name}") for key, value in data.items()}
    problems = [f"{name}.{key} must be {_describe(hints[key])}, got {value!r}"
                for key, value in values.items() if not _has_type(value, hints[key])]
    try:
        config = cls(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigError("; ".join(problems) or f"invalid {name}: {error}") from error
    if problems:
        raise ConfigError("; ".join(problems))
    return config


def unversioned(data: Any, version: int, what: str) -> dict[str, Any]:
    """The body of a versioned document (without its version key); ConfigError unless it is a
    JSON object of exactly `version`. `what` names the document in the message."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{what} must be a JSON object, got {type(data).__name__}")
    found = data.get(VERSION_KEY)
    if found != version:
        raise ConfigError(f"{what} has {VERSION_KEY} {found!r}; this Sori reads version {version}")
    return {key: value for key, value in data.items() if key != VERSION_KEY}


def versioned(version: int, body: dict[str, Any]) -> dict[str, Any]:
    """A document with its version key first."""
    return {VERSION_KEY: version, **body}


class JsonConfig:
    """Mixin for config dataclasses: `to_dict` and `from_dict` by the rules of this module."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return config_to_dict(self)

    @classmethod
    def from_dict(cls: type[_Config], data: Any) -> _Config:
        """Rebuild from `to_dict` output; ConfigError naming what is wrong."""
        return config_from_dict(cls, data)


def _with_guess(key: str, known: Iterable[str]) -> str:
    """An unknown key, with the known one it most resembles when one is close."""
    close = difflib.get_close_matches(key, list(known), n=1)
    return f"{key} (did you mean {close[0]}?)" if close else key


def _required(field: dataclasses.Field[Any]) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _encode(value: Any) -> Any:
    """A field value as JSON-ready data."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return config_to_dict(value)
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    return value


def _decode(kind: Any, value: Any, where: str) -> Any:
    """A JSON value as the field type `kind` wants it: lists as tuples, nested configs built."""
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        options = [option for option in get_args(kind) if option is not type(None)]
        return _decode(options[0], value, where) if len(options) == 1 else value
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    if isinstance(kind, type) and hasattr(kind, "from_dict") and not isinstance(value, kind):
        try:
            return kind.from_dict(value)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{where}: {error}") from error
    return value


def _has_type(value: Any, kind: Any) -> bool:
    """Whether `value` is of the declared field type `kind`."""
    origin = get_origin(kind)
    if kind is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(_has_type(value, option) for option in get_args(kind))
    if kind is type(None):
        return value is None
    if origin is Literal:
        return value in get_args(kind)
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin is tuple:
        item = get_args(kind)[0]
        return isinstance(value, tuple) and all(_has_type(element, item) for element in value)
    if origin in (dict, Mapping):
        key_kind, value_kind = get_args(kind)
        return isinstance(value, Mapping) and all(
            _has_type(key, key_kind) and _has_type(item, value_kind) for key, item in value.items()
        )
    return isinstance(value, origin or kind)


def _describe(kind: Any) -> str:
    """A field type in words, for error messages."""
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(option) for option in get_args(kind))
    if kind is type(None):
        return "null"
    if origin is Literal:
        return "one of " + ", ".join(repr(choice) for choice in get_args(kind))
    if origin is tuple:
        return f"a list of {_describe(get_args(kind)[0])}"
    if origin in (dict, Mapping):
        return "an object"
    return getattr(kind, "__name__", str(kind))
