"""Public names imported on first use (PEP 562), so a package's torch or matplotlib parts load only
when asked for and `import tts`, `tts.audio` and `tts.model` stay cheap on a slim install."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any


class LazyNames:
    """A package's `__getattr__` and `__dir__` for the names its submodules define."""

    def __init__(self, package: str, namespace: dict[str, Any], modules: Mapping[str, Sequence[str]],
                 public: Sequence[str]) -> None:
        self._package = package
        self._namespace = namespace
        self._module_of = {name: module for module, names in modules.items() for name in names}
        self._public = public

    def getattr(self, name: str) -> Any:
        """A public name, imported from its module on first use and kept in the package after."""
        if name not in self._module_of:
            raise AttributeError(f"module {self._package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(self._module_of[name]), name)
        self._namespace[name] = value
        return value

    def dir(self) -> list[str]:
        """The public names, including those not imported yet."""
        return sorted({*self._namespace, *self._public})
