"""One module per target platform; `TARGETS` is the registry the CLI and the build use."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from siemc.compile.target import Target
    from siemc.config import SiteConfig

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
_instances: dict[tuple[str, str], Target] = {}


def get_target(name: str, site: SiteConfig | None = None) -> Target:
    """The target called `name`, set up for a site configuration (None: the defaults); KeyError for an
    unknown name. Targets keep caches (log sources, backends): one instance per name and site."""
    key = (name, site.key if site is not None else "")
    if key not in _instances:
        module_name, class_name = _MODULES[name]
        target_class = getattr(import_module(module_name), class_name)
        _instances[key] = target_class(site) if site is not None else target_class()
    return _instances[key]
