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

from backends import TARGET_NAMES
from siemc import __version__

if TYPE_CHECKING:
    from siemc.build import TargetReport

# marshal loads fastest (a no-op build reads some 20,000 entries); its format is Python's own, so
# the interpreter version is part of the format tag and any other manifest counts as empty.
MANIFEST_FORMAT = f"siemc-build-cache 3; python {sys.version_info[0]}.{sys.version_info[1]}"
REPOSITORY = Path(__file__).resolve().parent.parent
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


def _files(folder: Path, pattern: str) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts)


def _hash_files(digest: Any, root: Path, files: Iterable[Path]) -> None:
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def toolchain_fingerprints(
    targets: Sequence[str], root: Path = REPOSITORY, known_targets: Sequence[str] = TARGET_NAMES
) -> dict[str, str]:
    """Per target, a hash of everything besides the rule that can change its output."""
    shared = hashlib.sha256()
    shared.update(f"siemc {__version__}; python {sys.version_info[:2]}".encode())
    # Every installed distribution and its version, as the names of the dist-info folders: one
    # listing per site folder (importlib.metadata would cost more than the rest of a no-op build).
    for folder in sorted({entry for entry in sys.path if entry.endswith("site-packages")}):
        with contextlib.suppress(OSError):
            shared.update(
                ";".join(sorted(n for n in os.listdir(folder) if n.endswith(".dist-info"))).encode()
            )
    if (root / "pyproject.toml").is_file():
        _hash_files(shared, root, [root / "pyproject.toml"])
    _hash_files(shared, root, _files(root / "siemc", "*"))
    # A file of backends/ or templates/ named after a target, or inside a folder named after one,
    # belongs to that target (backends/kql.py, templates/kql/query.j2, a mapping file kql.yml);
    # every other file there is shared by all targets.
    owned: dict[str, list[Path]] = {name: [] for name in known_targets}
    for path in _files(root / "backends", "*") + _files(root / "templates", "*"):
        relative = path.relative_to(root)
        owner = next((part for part in relative.parts[1:-1] if part in owned), None)
        owner = owner or (path.stem if path.stem in owned else None)
        if owner is None:
            _hash_files(shared, root, [path])
        else:
            owned[owner].append(path)
    base = shared.hexdigest()
    fingerprints: dict[str, str] = {}
    for name in targets:
        own = hashlib.sha256(f"{base}:{name}".encode())
        _hash_files(own, root, owned.get(name, []))
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
                key, status, output, message, line, digest, stat = row
                entries[target] = CacheEntry(
                    key, status, output, message, line, digest, tuple(stat) if stat else None
                )
            except (TypeError, ValueError):
                continue
        return entries

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
            ]
        previous = self.rules.get(path.as_posix(), {})
        kept = previous.get("targets", {}) if isinstance(previous, dict) else {}
        # Entries of targets not built in this run stay for the next run that builds them.
        merged = {**{t: row for t, row in kept.items() if t not in keys}, **targets}
        record = {"load_error": list(load_error) if load_error else None, "targets": merged}
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
