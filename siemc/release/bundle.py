"""`siemc bundle`: every converted rule's query and the artifacts its SIEM imports, a manifest,
SHA256SUMS, and byte-identical archives.

    <out>/siemc-<V>/
      manifest.json            bundle and siemc versions, toolchain, per rule its metadata and files
      SHA256SUMS               `sha256sum -c` checks every file
      queries/<target>/<stem>.<ext>
      <siem>/...               the artifacts of backends/artifacts/<target>.py (sentinel/, splunk/, ...)
    <out>/siemc-<V>.tar.gz, <out>/siemc-<V>.zip

The queries come from a build (its cache serves unchanged rules); release reads the build's results
and never converts a rule itself. The version lock must hold every rule's outputs: a rule changed
without a version bump, added or removed refuses the whole bundle. Everything is written into a
temporary folder first and moved into place, so a failed bundle leaves nothing half-written, and a
bundle whose inputs are those of the bundle already in place is left as it is.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from siemc import __version__
from siemc.backends import TARGET_NAMES, get_target
from siemc.compile.build import CONVERTED, BuildResult, ProgressCallback, build
from siemc.compile.cache import toolchain_fingerprints
from siemc.config import DEFAULT, SiteConfig
from siemc.diagnostics import Diagnostic, SiemcError
from siemc.release.artifacts import Artifact, BundleInfo, QueryOutput, ReleaseRule, writer_for
from siemc.release.checks import ReleaseWarning, check_rules
from siemc.release.lock import LockChanges, LockedRule, compare, current_outputs, load_lock
from siemc.release.serialize import json_bytes

MANIFEST_FORMAT = "siemc-bundle 1"
STATE_NAME = ".siemc-bundle-inputs"  # inside the bundle folder: the digest of what made it


class BundleRefused(SiemcError):
    """The version lock does not hold the outputs being published."""

    def __init__(self, changes: LockChanges, lock_path: Path) -> None:
        super().__init__(f"{lock_path}: the version lock does not match the outputs; run `siemc lock --bump`")
        self.changes = changes


@dataclass
class BundleResult:
    folder: Path
    archives: tuple[Path, ...]
    files: int
    rules: int
    diagnostics: list[Diagnostic] = field(default_factory=list)
    reused: bool = False  # the bundle in place already had these inputs
    warnings: list[ReleaseWarning] = field(default_factory=list)  # siemc.release.checks, never refusing


def _safe_version(version: str) -> str:
    if (
        not version
        or any(c in version for c in "/\\\0")
        or version in (".", "..")
        or version.strip() != version
    ):
        raise SiemcError(f"not a bundle version: {version!r} (no slashes or spaces)")
    return version


def bundle(
    paths: Sequence[Path],
    version: str,
    out: Path,
    *,
    lock_path: Path,
    site: SiteConfig = DEFAULT,
    targets: Sequence[str] = TARGET_NAMES,
    jobs: int = 1,
    cache_dir: Path | None = None,
    epoch: int = 0,
    progress: ProgressCallback | None = None,
) -> BundleResult:
    name = f"siemc-{_safe_version(version)}"
    with contextlib.ExitStack() as stack:
        if cache_dir is not None:
            build_dir = cache_dir / "bundle-build"
        else:
            build_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="siemc-bundle-build-")))
        result = build(
            list(paths), targets, build_dir, jobs=jobs, cache_dir=cache_dir, progress=progress, site=site
        )
        lock = load_lock(lock_path)
        changes = compare(lock, current_outputs(result, lock_path))
        if not changes.clean:
            raise BundleRefused(changes, lock_path)
        folder = out / name
        published = {o.rule for o in result.outcomes if o.status == CONVERTED}
        warnings = check_rules(p for p in result.metadata if p in published)
        inputs = _inputs_digest(result, lock, name, epoch, targets, site)
        archives = (out / f"{name}.tar.gz", out / f"{name}.zip")
        state = _state(folder)
        if state is not None and state[0] == inputs and all(a.is_file() for a in archives):
            return BundleResult(folder, archives, state[1], state[2], result.diagnostics, True, warnings)
        artifacts = _artifacts(result, lock, lock_path, BundleInfo(version, __version__), targets)
        manifest = _manifest(result, artifacts, lock, lock_path, version, targets, site)
        rules = len({a.rule for a in artifacts if a.rule is not None})
        _write_bundle(out, name, artifacts, manifest, f"{inputs} {len(artifacts) + 2} {rules}", epoch)
        return BundleResult(folder, archives, len(artifacts) + 2, rules, result.diagnostics, False, warnings)
    raise AssertionError("unreachable")  # pragma: no cover


def _inputs_digest(
    result: BuildResult,
    lock: Mapping[str, LockedRule],
    name: str,
    epoch: int,
    targets: Sequence[str],
    site: SiteConfig,
) -> str:
    """Everything a bundle's bytes depend on, hashed: outputs, metadata, lock, versions, time."""
    digest = hashlib.sha256()
    parts = [MANIFEST_FORMAT, __version__, name, str(epoch), site.key if not site.is_default else ""]
    parts += [f"{t}={fp}" for t, fp in sorted(toolchain_fingerprints(list(targets)).items())]
    digest.update("\0".join(parts).encode())
    for outcome in result.outcomes:
        digest.update(
            f"{outcome.rule.as_posix()}\0{outcome.target}\0{outcome.status}\0".encode() + outcome.digest
        )
    digest.update(json.dumps({str(k): v for k, v in result.metadata.items()}, sort_keys=True).encode())
    digest.update(repr(sorted((k, v.version, sorted(v.outputs.items())) for k, v in lock.items())).encode())
    return digest.hexdigest()


def _state(folder: Path) -> tuple[str, int, int] | None:
    """(inputs digest, files, rules) of the bundle in place, as its state file records them."""
    try:
        inputs, files, rules = (folder / STATE_NAME).read_text(encoding="utf-8").split()
        return inputs, int(files), int(rules)
    except (OSError, ValueError):
        return None


def _artifacts(
    result: BuildResult,
    lock: Mapping[str, LockedRule],
    lock_path: Path,
    info: BundleInfo,
    targets: Sequence[str],
) -> list[Artifact]:
    base = lock_path.parent.resolve()
    by_target: dict[str, list[tuple[ReleaseRule, QueryOutput]]] = {t: [] for t in targets}
    artifacts: list[Artifact] = []
    for outcome in result.outcomes:
        if outcome.status != CONVERTED or outcome.output is None:
            continue
        rule_name = Path(os.path.relpath(outcome.rule.resolve(), base)).as_posix()
        rule = ReleaseRule(
            rule_name, outcome.rule.stem, result.metadata[outcome.rule], lock[rule_name].version
        )
        data = Path(outcome.output).read_bytes()
        file_name = os.path.basename(outcome.output)
        query = QueryOutput(outcome.target, file_name, data.decode("utf-8"), outcome.source)
        artifacts.append(
            Artifact(f"queries/{outcome.target}/{file_name}", "query", data, outcome.target, rule_name)
        )
        by_target[outcome.target].append((rule, query))
    for target, items in by_target.items():
        writer = writer_for(target)
        for rule, query in items:
            artifacts.extend(writer.rule_artifacts(rule, query, info))
        artifacts.extend(writer.bundle_artifacts(items, info))
    paths = [a.path for a in artifacts]
    if len(set(paths)) != len(paths):
        duplicate = next(p for p in paths if paths.count(p) > 1)
        raise SiemcError(f"two artifacts would be written to {duplicate}")
    return sorted(artifacts, key=lambda a: a.path)


def _manifest(
    result: BuildResult,
    artifacts: list[Artifact],
    lock: Mapping[str, LockedRule],
    lock_path: Path,
    version: str,
    targets: Sequence[str],
    site: SiteConfig,
) -> dict[str, object]:
    files_by_rule: dict[str, list[dict[str, str]]] = {}
    files = []
    for artifact in artifacts:
        entry = {
            "path": artifact.path,
            "target": artifact.target,
            "kind": artifact.kind,
            "sha256": hashlib.sha256(artifact.data).hexdigest(),
        }
        files.append({**entry, "rule": artifact.rule})
        if artifact.rule is not None:
            files_by_rule.setdefault(artifact.rule, []).append(entry)
    base = lock_path.parent.resolve()
    rules = []
    for path, meta in sorted(result.metadata.items(), key=lambda item: item[0].as_posix()):
        name = Path(os.path.relpath(path.resolve(), base)).as_posix()
        if name not in files_by_rule:
            continue
        rules.append(
            {
                "rule": name,
                "id": meta.get("id"),
                "title": meta.get("title"),
                "attack": meta.get("techniques", []),
                "level": meta.get("level"),
                "version": lock[name].version,
                "files": files_by_rule[name],
            }
        )
    return {
        "format": MANIFEST_FORMAT,
        "bundle_version": version,
        "siemc_version": __version__,
        "toolchain": dict(sorted(toolchain_fingerprints(list(targets)).items())),
        "site_config": None if site.is_default else site.key,
        "targets": {t: get_target(t).siem for t in targets},
        "rules": rules,
        "files": files,
    }


# -- writing ---------------------------------------------------------------------------------------------


def _write_bundle(
    out: Path, name: str, artifacts: list[Artifact], manifest: dict[str, object], inputs: str, epoch: int
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    manifest_data = json_bytes(manifest)
    entries = [(a.path, a.data) for a in artifacts] + [("manifest.json", manifest_data)]
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {path}\n" for path, data in sorted(entries))
    entries.append(("SHA256SUMS", sums.encode()))
    entries.sort()
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out))
    try:
        folder = staging / name
        for path, data in entries:
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (folder / STATE_NAME).write_text(inputs + "\n", encoding="utf-8")
        (staging / f"{name}.tar.gz").write_bytes(tar_gz(name, entries, epoch))
        (staging / f"{name}.zip").write_bytes(zip_bytes(name, entries, epoch))
        # Into place: the archives, then the folder (the old one moved aside first, then removed).
        for archive in (f"{name}.tar.gz", f"{name}.zip"):
            os.replace(staging / archive, out / archive)
        old = out / name
        if old.exists():
            trash = staging / "previous"
            os.replace(old, trash)
        os.replace(folder, old)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _members(name: str, entries: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes | None]]:
    """Every folder (None) and file of the archive under `name/`, in name order."""
    members: dict[str, bytes | None] = {name: None}
    for path, data in entries:
        parts = path.split("/")
        for index in range(1, len(parts)):
            members.setdefault(f"{name}/" + "/".join(parts[:index]), None)
        members[f"{name}/{path}"] = data
    return sorted(members.items())


def tar_gz(name: str, entries: Sequence[tuple[str, bytes]], epoch: int) -> bytes:
    """A gzip'd tar of the entries under `name/`: sorted, root-owned, fixed modes and times, no gzip
    file name or time, so the same entries give the same bytes on any machine."""
    raw = io.BytesIO()
    # PAX: names longer than ustar's 100 characters get an extended header (deterministic: no times).
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, data in _members(name, entries):
            info = tarfile.TarInfo(path)
            info.mtime, info.uid, info.gid, info.uname, info.gname = epoch, 0, 0, "", ""
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                archive.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=6) as stream:
        stream.write(raw.getvalue())
    return packed.getvalue()


def zip_bytes(name: str, entries: Sequence[tuple[str, bytes]], epoch: int) -> bytes:
    """A zip of the entries under `name/`, sorted, with fixed times, modes and system."""
    stamp = time.gmtime(max(epoch, 315532800))[:6]  # a zip time cannot be before 1980
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for path, data in _members(name, entries):
            if data is None:
                info = zipfile.ZipInfo(path + "/", date_time=stamp)
                info.create_system, info.external_attr = 3, (0o40755 << 16) | 0x10
                archive.writestr(info, b"")
            else:
                info = zipfile.ZipInfo(path, date_time=stamp)
                info.create_system, info.external_attr = 3, 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data, compresslevel=6)
    return packed.getvalue()
