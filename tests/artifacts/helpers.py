"""Shared by the artifact tests: bundles built by the CLI in a temporary folder, the schemas."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from typer.testing import CliRunner

from siemc.cli import app
from siemc.compile.build import find_rule_files
from tests.conftest import SEED_RULE, copy_pack_site

REPO = Path(__file__).resolve().parent.parent.parent
DETECTIONS = REPO / "detections"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
EPOCH = "1764460800"


@cache
def schema(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(document)
    return document


def validate(document: Any, name: str) -> None:
    """Raise jsonschema.ValidationError naming the first problem."""
    jsonschema.Draft202012Validator(schema(name)).validate(document)


@contextmanager
def inside(folder: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"SOURCE_DATE_EPOCH": EPOCH})
    return result.exit_code, result.stdout, result.stderr


@dataclass(frozen=True)
class Bundle:
    folder: Path  # dist/siemc-<V>
    stderr: str

    def read(self, path: str) -> bytes:
        return (self.folder / path).read_bytes()

    def json(self, path: str) -> Any:
        return json.loads(self.read(path))

    def manifest(self) -> dict[str, Any]:
        result: dict[str, Any] = self.json("manifest.json")
        return result

    def sha256sum_check(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sha256sum", "-c", "SHA256SUMS"], cwd=self.folder, capture_output=True, text=True
        )


def pack_rules(correlations: bool = False) -> list[Path]:
    """The rules of detections/ (its siemc.yml is the site configuration, not a rule), without the
    correlation rules unless asked."""
    return [
        path
        for path in find_rule_files([DETECTIONS])
        if correlations or "\ncorrelation:" not in path.read_text(encoding="utf-8")
    ]


def make_bundle(root: Path, rules: list[Path] | None = None, version: str = "1.0.0") -> Bundle:
    """Copy rules (default: the seed's self-contained T1219 rule), with the pack's siemc.yml and lists,
    into root/detections, `siemc lock --bump` there,
    then `siemc bundle`, from root, as CI does; the committed lock is not copied."""
    folder = root / "detections"
    copy_pack_site(folder)  # the lists the pack's rules read
    for rule in rules if rules is not None else [SEED_RULE]:
        shutil.copy(rule, folder / rule.name)
    # An absolute cache folder: the build remembers, per process, the output folders it has made, by
    # their path as given (siemc.compile.build._made_folders), so a relative one would not be made again
    # under another test's folder.
    cache = str(root.resolve() / ".cache")
    with inside(root):
        code, _, err = run("lock", "detections", "--bump", "--cache-dir", cache)
        assert code == 0, err
        code, _, err = run(
            "bundle", "--version", version, "detections", "--out", "dist", "--cache-dir", cache
        )
        assert code == 0, err
    return Bundle(root / "dist" / f"siemc-{version}", err)
