"""Run the siemc of a source tree (a revision extracted from git): `python run_revision.py TREE ARGS...`.

Run as a script, never imported by siemc: the process must import the tree's `siemc`, not the
installed one. The tree's folder goes first on the module path (an older layout imports the top-level
`backends` from there), and an import hook put before every other one finds `siemc` and its
subpackages in the tree only, where the tree's pyproject.toml puts them: its
`[tool.setuptools.package-dir]` maps `siemc.backends` and `siemc.templates` to the top-level
`backends/` and `templates/` (without that table, those two mappings are assumed when the folders
sit at the top level). An installed siemc's own import hook (an editable install) never answers for
these names. The command is the tree's `siemc` script entry point (pyproject.toml), else
`siemc.cli:app`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

# Mapped to top-level folders when the tree's pyproject.toml has no package-dir table.
DEFAULT_MAPPED = ("backends", "templates")


def project(tree: Path) -> dict[str, Any]:
    """The tree's pyproject.toml, or {}."""
    import tomllib

    try:
        data = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def package_folders(tree: Path, data: dict[str, Any]) -> dict[str, Path]:
    """Package name -> folder, as setuptools installs the tree ("" is the folder of top-level names)."""
    table = data.get("tool", {}).get("setuptools", {}).get("package-dir", {})
    folders = {str(name): tree / folder for name, folder in table.items() if isinstance(folder, str)}
    if not table:
        for name in DEFAULT_MAPPED:
            if (tree / name).is_dir() and not (tree / "siemc" / name).exists():
                folders[f"siemc.{name}"] = tree / name
    return folders


class TreeFinder(importlib.abc.MetaPathFinder):
    """Finds `siemc` and its submodules in one source tree, and only there."""

    def __init__(self, tree: Path, folders: dict[str, Path]) -> None:
        self.tree = tree
        self.folders = folders

    def location(self, fullname: str) -> Path:
        parts = fullname.split(".")
        for end in range(len(parts), 0, -1):  # the longest mapped package holding the module
            mapped = self.folders.get(".".join(parts[:end]))
            if mapped is not None:
                return mapped.joinpath(*parts[end:])
        return self.folders.get("", self.tree).joinpath(*parts)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] != "siemc":
            return None
        location = self.location(fullname)
        if location.is_dir():
            init = location / "__init__.py"
            if init.is_file():
                return importlib.util.spec_from_file_location(
                    fullname, init, submodule_search_locations=[str(location)]
                )
            spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
            spec.submodule_search_locations = [str(location)]  # a data-only package, like templates/
            return spec
        module = location.with_name(location.name + ".py")
        if module.is_file():
            return importlib.util.spec_from_file_location(fullname, module)
        raise ModuleNotFoundError(f"No module named {fullname!r} in {self.tree}", name=fullname)


def entry_point(data: dict[str, Any]) -> tuple[str, str]:
    """The module and attribute of the tree's `siemc` command."""
    target = data.get("project", {}).get("scripts", {}).get("siemc")
    if isinstance(target, str) and ":" in target:
        module, _, attribute = target.partition(":")
        return module.strip(), attribute.strip()
    return "siemc.cli", "app"


def main(argv: Sequence[str]) -> None:
    tree = Path(argv[0]).resolve()
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [str(tree)] + [p for p in sys.path if p not in ("", here)]
    data = project(tree)
    sys.meta_path.insert(0, TreeFinder(tree, package_folders(tree, data)))
    module, attribute = entry_point(data)
    command = getattr(importlib.import_module(module), attribute)
    sys.argv = ["siemc", *argv[1:]]
    command()


if __name__ == "__main__":
    main(sys.argv[1:])
