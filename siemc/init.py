"""`siemc init`: start a rules repository a team can commit as it is.

It writes a commented `siemc.yml` (every key, each commented out, so the queries are siemc's
defaults), the example rules with their tests and version lock under `detections/`, an example
filter and the files the commented examples name, a `.gitignore` for the build output, the bundles
and the cache, and the GitHub Actions workflows (pull request: validate, lock check, build, test;
tag: release bundle). The files come from the package: siemc/scaffold/ and the example rules,
which are siemc's own `detections/`.

Existing files are never overwritten unless `force` is given: every file that would be is named.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from siemc import __version__
from siemc.config import CONFIG_NAME
from siemc.release.lock import LOCK_NAME
from siemc.resources import examples_folder, scaffold_folder

# Where each scaffold file goes in the new repository; folders are copied with their files.
_LAYOUT: tuple[tuple[str, str], ...] = (
    ("siemc.yml", "siemc.yml"),
    ("gitignore", ".gitignore"),  # a dotfile would not ship as package data under its own name
    ("filters", "filters"),
    ("lists", "lists"),
    ("pipelines", "pipelines"),
    ("workflows", ".github/workflows"),
)
_RULE_SUFFIXES = (".yml", ".yaml")
# The workflows install the siemc that wrote them.
_VERSION_SLOT = "@SIEMC_VERSION@"
# siemc.yml takes the example rules' placeholders (detections/siemc.yml, the T1219 pack's lists),
# with their files' paths from the new repository's root: the lists stay defined in one place.
_PACK_SLOT = "@T1219_PACK_PLACEHOLDERS@"
_PACK_LISTS = "catalog/lists"


class InitError(Exception):
    """The repository cannot be written as asked (exit 2): the message says why."""


@dataclass(frozen=True)
class ScaffoldFile:
    path: PurePosixPath  # relative to the new repository
    content: bytes


def _files_under(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith("."):
            yield path


def scaffold_files() -> list[ScaffoldFile]:
    """Every file `siemc init` writes, in the order it writes them."""
    scaffold = scaffold_folder()
    files: list[ScaffoldFile] = []
    for source_name, destination in _LAYOUT:
        source = scaffold / source_name
        if not source.exists():
            raise RuntimeError(f"siemc is installed without its scaffold file(s) {source}")
        if source.is_file():
            content = source.read_bytes()
            if source_name == CONFIG_NAME:
                content = content.replace(_PACK_SLOT.encode(), _pack_placeholders().encode())
            files.append(ScaffoldFile(PurePosixPath(destination), content))
            continue
        for path in _files_under(source):
            content = path.read_bytes()
            if source_name == "workflows":
                content = content.replace(_VERSION_SLOT.encode(), __version__.encode())
            relative = PurePosixPath(path.relative_to(source).as_posix())
            files.append(ScaffoldFile(PurePosixPath(destination) / relative, content))
    examples = examples_folder()
    for path in _files_under(examples):
        relative_path = path.relative_to(examples).as_posix()
        is_rule = path.suffix in _RULE_SUFFIXES and path.name != CONFIG_NAME
        if (
            is_rule
            or path.name == LOCK_NAME
            or (relative_path.startswith(_PACK_LISTS) and path.suffix == ".tsv")
        ):
            relative = PurePosixPath(path.relative_to(examples).as_posix())
            files.append(ScaffoldFile(PurePosixPath("detections") / relative, path.read_bytes()))
    return files


def _pack_placeholders() -> str:
    """The placeholder entries of the example rules' siemc.yml, indented as written, with each list
    file's path made relative to the new repository's root (detections/...)."""
    text = (examples_folder() / CONFIG_NAME).read_text(encoding="utf-8")
    lines = text.split("\n")
    start = lines.index("placeholders:") + 1
    entries = [line for line in lines[start:] if line.startswith("  ")]
    return "\n".join(line.replace("file: catalog/", "file: detections/catalog/") for line in entries)


def _blocked(root: Path, relative: PurePosixPath) -> str | None:
    """Why a file cannot be written there even with --force: a folder in its place or its path."""
    path = root / relative
    if path.is_dir():
        return f"{path} is a folder"
    for parent in list(relative.parents)[:-1]:
        if (root / parent).exists() and not (root / parent).is_dir():
            return f"{root / parent} is a file, not a folder"
    return None


def init_repository(root: Path, force: bool = False) -> list[Path]:
    """Write the scaffold into `root` (created if missing); the paths written, in order.

    InitError when `root` is a file, when a file to write exists and `force` is not given (the
    message names each one), or when a folder or file stands where the scaffold needs the other.
    """
    if root.exists() and not root.is_dir():
        raise InitError(f"{root} is a file, not a folder")
    files = scaffold_files()
    blocked = [reason for f in files if (reason := _blocked(root, f.path)) is not None]
    if blocked:
        raise InitError("cannot write the repository: " + "; ".join(dict.fromkeys(blocked)))
    existing = [root / f.path for f in files if (root / f.path).exists()]
    if existing and not force:
        names = "\n".join(f"  {path}" for path in existing)
        raise InitError(
            f"{len(existing)} file(s) exist and would be overwritten (--force overwrites them):\n{names}"
        )
    written: list[Path] = []
    for scaffold_file in files:
        path = root / scaffold_file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(scaffold_file.content)
        written.append(path)
    return written
