"""Where siemc's data lives, found through the installed package, never through the source tree.

In the repository the target modules and mapping files sit in `backends/` and the Jinja templates in
`templates/`, both at the top level; the package installs them as `siemc.backends` and
`siemc.templates` (pyproject.toml maps the folders). Asking the import system where those packages
are gives the right folder in a wheel install, an editable install and a source checkout alike.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path


@cache
def package_folder(name: str) -> Path:
    """The folder of an installed (sub)package of siemc, a regular or a data-only one."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"siemc is installed without its {name} package")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def code_folder() -> Path:
    return package_folder("siemc")


def backends_folder() -> Path:
    return package_folder("siemc.backends")


def templates_folder() -> Path:
    return package_folder("siemc.templates")


def mappings_folder() -> Path:
    return backends_folder() / "mappings"


def scaffold_folder() -> Path:
    """The files `siemc init` writes (siemc/scaffold/)."""
    return package_folder("siemc.scaffold")


def examples_folder() -> Path:
    """The example rules `siemc init` writes: the repository's `detections/`, which a wheel installs
    as siemc/scaffold/detections/ (pyproject.toml). An editable install maps that data-only package to
    the source tree without making it importable, so a checkout reads `detections/` itself."""
    installed = scaffold_folder() / "detections"
    if installed.is_dir():
        return installed
    project = project_file()
    if project is not None and (project.parent / "detections").is_dir():
        return project.parent / "detections"
    raise RuntimeError("siemc is installed without its example rules (siemc/scaffold/detections)")


def project_file() -> Path | None:
    """pyproject.toml of a source checkout (editable install), None in an installed wheel."""
    candidate = code_folder().parent / "pyproject.toml"
    return candidate if candidate.is_file() and (code_folder().parent / "backends").is_dir() else None
