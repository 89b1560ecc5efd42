"""One module per target platform; `TARGETS` is the registry the CLI and the build use."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from siemc.compile.target import Target

# name -> module that defines it; modules load on first use so that one target costs one import.
_MODULES = {
    "kql": ("siemc.backends.kql", "Kql"),
    "spl": ("siemc.backends.spl", "Spl"),
    "eql": ("siemc.backends.eql", "Eql"),
    "aql": ("siemc.backends.aql", "Aql"),
    "sumo": ("siemc.backends.sumo", "Sumo"),
    "yaral": ("siemc.backends.yaral", "YaraL"),
    "logscale": ("siemc.backends.logscale", "LogScale"),
}
TARGET_NAMES: tuple[str, ...] = tuple(_MODULES)
_instances: dict[str, Target] = {}


def get_target(name: str) -> Target:
    """The target called `name`; KeyError for an unknown one."""
    if name not in _instances:
        module_name, class_name = _MODULES[name]
        _instances[name] = getattr(import_module(module_name), class_name)()
    return _instances[name]
