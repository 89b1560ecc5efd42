"""Content-hash build cache: a rebuild skips every rule whose inputs are unchanged.

The key of a rule on a target is the hash of the rule's path and bytes and of that target's
toolchain: siemc's version, the installed distributions and `pyproject.toml`, the shared code in
`siemc/`, the target's module and mapping files in `backends/` (plus the shared files there) and its
templates. Per rule and target the cache keeps the key, the status and message, and the hash and
(size, mtime) of the output file: a hit whose output is still in place costs one `stat`, no parse,
no conversion and no write. Outputs are not stored in the cache: a hit whose file went missing or
changed is compiled again.

One manifest per output folder lives in the cache folder (`.siemc-cache/` by default). A
manifest that cannot be read is treated as empty, so the cache can always be deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from siemc import __version__
from siemc.backends import TARGET_NAMES
from siemc.resources import backends_folder, code_folder, project_file, templates_folder

if TYPE_CHECKING:
    from siemc.compile.build import TargetReport

# marshal loads fastest (a no-op build reads some 20,000 entries); its format is Python's own, so
# the interpreter version is part of the format tag and any other manifest counts as empty.
MANIFEST_FORMAT = f"siemc-build-cache 4; python {sys.version_info[0]}.{sys.version_info[1]}"
# Distributions whose behaviour shapes the output; pyproject.toml (hashed too) pins them.
TOOLCHAIN_DISTRIBUTIONS = (
    "pysigma",
    "pysigma-backend-splunk",
    "pysigma-backend-elasticsearch",
    "jinja2",
    "pyyaml",
)


@dataclass(frozen=True)
class CacheEntry:
    key: bytes
    status: str
    output: str | None  # the file name; its folder is <out>/<target>
    message: str
    line: int | None
    digest: bytes
    stat: tuple[int, int] | None
    source: str = ""


def _files(folder: Path, pattern: str) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts)


@dataclass(frozen=True)
class Toolchain:
    """The folders whose files shape the output: siemc's code, the target modules and mapping files,
    the templates, and pyproject.toml in a source checkout (None in an installed wheel)."""

    code: Path
    backends: Path
    templates: Path
    project_file: Path | None

    @classmethod
    def installed(cls) -> Toolchain:
        return cls(code_folder(), backends_folder(), templates_folder(), project_file())

    @classmethod
    def source_tree(cls, root: Path) -> Toolchain:
        project = root / "pyproject.toml"
        return cls(
            root / "siemc", root / "backends", root / "templates", project if project.is_file() else None
        )


def _hash_tree(digest: Any, label: str, folder: Path, files: Iterable[Path]) -> None:
    """Hash files under a label, so the same tree gives the same hash in any layout or location."""
    for path in files:
        digest.update(f"{label}/{path.relative_to(folder).as_posix()}".encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def toolchain_fingerprints(
    targets: Sequence[str],
    root: Path | None = None,
    known_targets: Sequence[str] = TARGET_NAMES,
    toolchain: Toolchain | None = None,
) -> dict[str, str]:
    """Per target, a hash of everything besides the rule that can change its output.

    `root` is a source tree, `toolchain` any layout, to fingerprint instead of the installed siemc
    (tests use them).
    """
    if toolchain is None:
        toolchain = Toolchain.source_tree(root) if root is not None else Toolchain.installed()
    shared = hashlib.sha256()
    shared.update(f"siemc {__version__}; python {sys.version_info[:2]}".encode())
    # Every installed distribution and its version, as the names of the dist-info folders: one
    # listing per site folder (importlib.metadata would cost more than the rest of a no-op build).
    for folder in sorted({entry for entry in sys.path if entry.endswith("site-packages")}):
        with contextlib.suppress(OSError):
            shared.update(
                ";".join(sorted(n for n in os.listdir(folder) if n.endswith(".dist-info"))).encode()
            )
    if toolchain.project_file is not None:
        _hash_tree(shared, "project", toolchain.project_file.parent, [toolchain.project_file])
    # Installed, the target modules and templates sit inside the code folder: hashed once, below.
    # siemc/scaffold/ holds what `siemc init` writes (installed, the example rules too): no output
    # depends on it, so editing it rebuilds nothing.
    data_folders = (toolchain.backends, toolchain.templates, toolchain.code / "scaffold")
    code = [p for p in _files(toolchain.code, "*") if not any(p.is_relative_to(d) for d in data_folders)]
    _hash_tree(shared, "siemc", toolchain.code, code)
    # A file of backends/ or templates/ named after a target, or inside a folder named after one,
    # belongs to that target (backends/kql.py, templates/kql/query.j2, a mapping file kql.yml);
    # every other file there is shared by all targets.
    owned: dict[str, list[tuple[str, Path, Path]]] = {name: [] for name in known_targets}
    for label, data_folder in (("backends", toolchain.backends), ("templates", toolchain.templates)):
        for path in _files(data_folder, "*"):
            relative = path.relative_to(data_folder)
            owner = next((part for part in relative.parts[:-1] if part in owned), None)
            owner = owner or (path.stem if path.stem in owned else None)
            if owner is None:
                _hash_tree(shared, label, data_folder, [path])
            else:
                owned[owner].append((label, data_folder, path))
    base = shared.hexdigest()
    fingerprints: dict[str, str] = {}
    for name in targets:
        own = hashlib.sha256(f"{base}:{name}".encode())
        for label, owned_folder, path in owned.get(name, []):
            _hash_tree(own, label, owned_folder, [path])
        fingerprints[name] = own.hexdigest()
    return fingerprints


class BuildCache:
    """The manifest of one output folder: rule path -> load error and per-target entries."""

    def __init__(self, manifest: Path, rules: dict[str, Any]) -> None:
        self.manifest = manifest
        self.rules = rules
        self.dirty = False

    @classmethod
    def open(cls, cache_dir: Path, out: Path) -> BuildCache:
        name = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
        manifest = cache_dir / f"build-{name}.marshal"
        rules: dict[str, Any] = {}
        try:
            data = marshal.loads(manifest.read_bytes())
            if isinstance(data, dict) and data.get("format") == MANIFEST_FORMAT:
                rules = data["rules"]
        except (OSError, ValueError, EOFError, TypeError, KeyError):
            pass
        return cls(manifest, rules)

    def entries_for(self, path: Path) -> dict[str, CacheEntry]:
        record = self.rules.get(path.as_posix())
        if not isinstance(record, dict):
            return {}
        entries: dict[str, CacheEntry] = {}
        for target, row in record.get("targets", {}).items():
            try:
                key, status, output, message, line, digest, stat, source = row
                entries[target] = CacheEntry(
                    key, status, output, message, line, digest, tuple(stat) if stat else None, source
                )
            except (TypeError, ValueError):
                continue
        return entries

    def metadata(self, path: Path) -> dict[str, Any] | None:
        record = self.rules.get(path.as_posix(), {})
        meta = record.get("meta") if isinstance(record, dict) else None
        return meta if isinstance(meta, dict) else None

    def load_error(self, path: Path) -> tuple[str, int | None] | None:
        record = self.rules.get(path.as_posix(), {})
        error = record.get("load_error") if isinstance(record, dict) else None
        return (error[0], error[1]) if error else None

    def record(
        self,
        path: Path,
        keys: dict[str, bytes],
        load_error: tuple[str, int | None] | None,
        reports: Iterable[TargetReport],
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Remember the reports of one rule; what must be computed again next time is left out."""
        targets: dict[str, Any] = {}
        for report in reports:
            if not report.cacheable or (report.status == "converted" and report.stat is None):
                continue
            if report.state == "changed":  # --check: the file on disk is not this output
                continue
            targets[report.target] = [
                keys[report.target],
                report.status,
                os.path.basename(report.output) if report.output is not None else None,
                report.message,
                report.line,
                report.digest,
                list(report.stat) if report.stat else None,
                report.source,
            ]
        previous = self.rules.get(path.as_posix(), {})
        kept = previous.get("targets", {}) if isinstance(previous, dict) else {}
        # Entries of targets not built in this run stay for the next run that builds them.
        merged = {**{t: row for t, row in kept.items() if t not in keys}, **targets}
        if meta is None and isinstance(previous, dict):
            meta = previous.get("meta")  # a rule answered by the cache keeps what was recorded
        record = {"load_error": list(load_error) if load_error else None, "targets": merged, "meta": meta}
        if previous != record:
            self.rules[path.as_posix()] = record
            self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        data = marshal.dumps({"format": MANIFEST_FORMAT, "rules": self.rules})
        handle, temporary = tempfile.mkstemp(dir=self.manifest.parent, prefix=".manifest.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, self.manifest)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.dirty = False
