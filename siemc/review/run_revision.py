"""Run the siemc of a source tree (a revision extracted from git): `python run_revision.py TREE ARGS...`.

Run as a script, never imported by siemc: the process must import the tree's `siemc`, not the
installed one. The tree's folder goes first on the module path (an older layout imports the top-level
`backends` from there), and an import hook put before every other one maps `siemc` to the tree's
`siemc/`, and `siemc.backends` and `siemc.templates` to its `backends/` and `templates/`, as the
package-dir mapping of pyproject.toml does when siemc is installed. An installed siemc's own import
hook (an editable install) never answers for these names. The command is the tree's `siemc` script
entry point (pyproject.toml), else `siemc.cli:app`.
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

MAPPED = ("backends", "templates")  # siemc.<name> -> <tree>/<name>, when siemc/ has no such folder


class TreeFinder(importlib.abc.MetaPathFinder):
    """Finds `siemc` and its submodules in one source tree, and only there."""

    def __init__(self, tree: Path) -> None:
        self.tree = tree

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        parts = fullname.split(".")
        if parts[0] != "siemc":
            return None
        if len(parts) > 1 and parts[1] in MAPPED and not (self.tree / "siemc" / parts[1]).exists():
            location = self.tree.joinpath(*parts[1:])
        else:
            location = self.tree.joinpath(*parts)
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


def entry_point(tree: Path) -> tuple[str, str]:
    """The module and attribute of the tree's `siemc` command."""
    project = tree / "pyproject.toml"
    if project.is_file():
        import tomllib

        try:
            scripts = tomllib.loads(project.read_text(encoding="utf-8")).get("project", {}).get("scripts", {})
        except (OSError, ValueError):
            scripts = {}
        target = scripts.get("siemc")
        if isinstance(target, str) and ":" in target:
            module, _, attribute = target.partition(":")
            return module.strip(), attribute.strip()
    return "siemc.cli", "app"


def main(argv: Sequence[str]) -> None:
    tree = Path(argv[0]).resolve()
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [str(tree)] + [p for p in sys.path if p not in ("", here)]
    sys.meta_path.insert(0, TreeFinder(tree))
    module, attribute = entry_point(tree)
    command = getattr(importlib.import_module(module), attribute)
    sys.argv = ["siemc", *argv[1:]]
    command()


if __name__ == "__main__":
    main(sys.argv[1:])
