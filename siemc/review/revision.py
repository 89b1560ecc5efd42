"""Compile the rules of one revision, as `siemc build` run at the revision's top folder would.

A revision's files are an extracted tree (a commit) or the working tree itself. Its rules are built
with the same relative paths at every revision (the tree's top folder is the working folder), so a
query names its rule identically on both sides and the build cache, keyed on a rule's relative path
and bytes and on the toolchain, answers for every rule a change leaves alone.

By default the current siemc compiles every revision, each with its own site configuration (the
`siemc.yml` found in that revision's tree). With `own_toolchain`, a revision holding a siemc of its
own (`siemc/` in the tree) is compiled by that siemc, in a subprocess (`run_revision.py`), unless its
toolchain is byte for byte the current one, which then compiles it in this process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from siemc.compile.build import Outcome
from siemc.config import CONFIG_NAME, DEFAULT, ConfigError, SiteConfig, resolve_config
from siemc.review.errors import ReviewError

RUNNER = Path(__file__).resolve().parent / "run_revision.py"
# Lines of a failing subprocess's stderr shown in the error.
STDERR_LINES = 12


class RevisionError(ReviewError):
    """A revision cannot be compiled (a bad configuration, its own siemc failing): exit 2."""


@dataclass(frozen=True)
class Revision:
    name: str  # the revision as given ("main", "HEAD~1"), a commit's short name, or "working tree"
    commit: str | None  # None: the working tree
    root: Path  # its files: an extracted tree, or the working tree's top folder
    description: str = ""  # how it was chosen, when not given: "merge base of HEAD and main"

    @property
    def label(self) -> str:
        if self.commit is None:
            return self.name
        return f"{self.name} ({self.description or self.commit[:12]})"

    def where(self, path: Path) -> str:
        """A file of this revision as git names it: `main:siemc.yml`, or `siemc.yml` in the working tree."""
        try:
            relative = path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)
        return relative if self.commit is None else f"{self.name}:{relative}"


# One rule on one target at one revision: the build's own record (status, message, output file and the
# digest of its text), kept as the build made it: a corpus holds some 22,000 of them per side.
Output = Outcome


def output_text(output: Output, root: Path) -> str:
    """The query of a converted output, with the revision's folder taken out of any path in it."""
    assert output.output is not None
    return relative_to_root(Path(output.output).read_bytes().decode("utf-8", errors="replace"), root)


def relative_to_root(text: str, root: Path, out: Path | None = None) -> str:
    """Paths under a revision's folder as the repository names them, and under its output folder as
    `siemc build` names outputs: siemc names a site file (a filter) or an output by its full path,
    which differs between an extracted tree and the working tree, and between the two output folders."""
    for folder in (out, root):
        prefix = f"{folder}{os.sep}"
        if folder is not None and prefix in text:
            text = text.replace(prefix, "")
    return text


@dataclass
class Compiled:
    """Every rule of a revision on every target: (rule path, target) -> Output."""

    outputs: dict[tuple[str, str], Output] = field(default_factory=dict)
    rules: set[str] = field(default_factory=set)
    root: Path = Path()  # the revision's folder
    toolchain: str = "current"  # current, or revision: the revision's own siemc
    config: str | None = None  # the site configuration used, as the revision names it


def find_config_within(root: Path, paths: Sequence[str]) -> Path | None:
    """`siemc.config.find_config` bounded by the revision's top folder: the nearest siemc.yml above the
    first rules path, itself included, but never one outside the revision (an extracted tree sits
    inside the cache, maybe inside the working tree, whose siemc.yml is not the revision's)."""
    start = (root / paths[0]) if paths else root
    folders = [start, *start.parents] if start.is_dir() else list(start.parents)
    for folder in folders:
        if not folder.is_relative_to(root):
            break
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    candidate = root / CONFIG_NAME
    return candidate if candidate.is_file() else None


def load_site(revision: Revision, paths: Sequence[str], override: SiteConfig | None) -> SiteConfig:
    """The site configuration a revision is compiled with: --config, else its own siemc.yml."""
    if override is not None:
        return override
    path = find_config_within(revision.root, paths)
    if path is None:
        return DEFAULT
    try:
        site = resolve_config(path, [revision.root / p for p in paths[:1]])
        if not site.is_default:
            from siemc.compile.site import check_site

            check_site(site)
    except ConfigError as error:
        where = revision.where(error.path) + (f":{error.line}" if error.line is not None else "")
        raise RevisionError(error.message, where) from None
    return site


def has_own_siemc(root: Path) -> bool:
    return (root / "siemc" / "__init__.py").is_file()


def is_current_toolchain(root: Path, targets: Sequence[str]) -> bool:
    """The tree's siemc, mappings, templates and pyproject.toml are those of the running siemc."""
    from siemc.compile.cache import toolchain_fingerprints

    return toolchain_fingerprints(targets, root=root) == toolchain_fingerprints(targets)


def present_paths(root: Path, paths: Sequence[str]) -> list[str]:
    return [p for p in paths if os.path.lexists(root / p)]


def rule_paths(root: Path, paths: Sequence[str], exclude: Path) -> list[str]:
    """The paths to build at a revision: as given, or, when a folder holds `exclude` (the cache, in
    the working tree), the rule files under it found as `siemc build` finds them, less `exclude`."""
    present = present_paths(root, paths)
    try:
        inside = exclude.relative_to(root)
    except ValueError:
        return present
    if not any(p == "." or inside.as_posix().startswith(p.rstrip("/") + "/") for p in present):
        return present
    from siemc.compile.build import RULE_SUFFIXES

    found: set[str] = set()
    for path in present:
        if not (root / path).is_dir():
            found.add(path)
            continue
        for folder, folders, names in os.walk(root / path):
            folders[:] = [name for name in folders if Path(folder, name) != exclude]
            relative = Path(folder).relative_to(root)
            found.update((relative / name).as_posix() for name in names if name.endswith(RULE_SUFFIXES))
    return sorted(found, key=lambda p: tuple(p.split("/")))


def compile_current(
    revision: Revision,
    paths: Sequence[str],
    targets: Sequence[str],
    site: SiteConfig,
    *,
    out: Path,
    cache_dir: Path | None,
    jobs: int,
) -> Compiled:
    """Build the revision's rules with the running siemc, from the revision's top folder."""
    from siemc.compile.build import build

    compiled = Compiled(root=revision.root)
    compiled.config = revision.where(site.path) if site.path is not None else None
    present = present_paths(revision.root, paths)
    if not present:
        return compiled
    with contextlib.chdir(revision.root):
        result = build([Path(p) for p in present], targets, out, jobs=jobs, cache_dir=cache_dir, site=site)
    outputs, rules = compiled.outputs, compiled.rules
    prefixes = (f"{revision.root}{os.sep}", f"{out}{os.sep}")
    last: Path | None = None
    rule = ""
    for outcome in result.outcomes:  # grouped by rule: one name per rule
        if outcome.rule is not last:
            last, rule = outcome.rule, outcome.rule.as_posix()
            rules.add(rule)
        if any(prefix in outcome.message for prefix in prefixes):
            outcome = replace(outcome, message=relative_to_root(outcome.message, revision.root, out))
        outputs[(rule, outcome.target)] = outcome
    return compiled


def compile_own(
    revision: Revision,
    paths: Sequence[str],
    targets: Sequence[str],
    config: Path | None,
    *,
    out: Path,
    cache_dir: Path,
    jobs: int,
) -> Compiled:
    """Build the revision's rules with the revision's own siemc, in a subprocess, and read its report."""
    compiled = Compiled(root=revision.root, toolchain="revision")
    present = present_paths(revision.root, paths)
    if config is not None:
        compiled.config = str(config)
    else:
        found = find_config_within(revision.root, paths)
        compiled.config = revision.where(found) if found is not None else None
    if not present:
        return compiled
    report = out.parent / f"{out.name}.report.json"
    report.unlink(missing_ok=True)
    command = [sys.executable, str(RUNNER), str(revision.root), "build", *present, "--out", str(out)]
    command += ["--report", str(report), "--unsupported", "ignore", "--cache-dir", str(cache_dir)]
    command += ["--jobs", str(jobs)]
    for target in targets:
        command += ["--target", target]
    if config is not None:
        command += ["--config", str(config)]
    environment = dict(os.environ)
    # Byte code goes to the cache, never into a tree (the working tree's siemc/ included).
    environment["PYTHONPYCACHEPREFIX"] = str(cache_dir / "diff" / "pycache")
    environment.pop("PYTHONPATH", None)
    done = subprocess.run(command, cwd=revision.root, capture_output=True, env=environment, check=False)
    if done.returncode not in (0, 1) or not report.is_file():
        lines = done.stderr.decode(errors="replace").strip().splitlines()[-STDERR_LINES:]
        detail = "\n".join(f"  {line}" for line in lines)
        raise RevisionError(
            f"the siemc of {revision.label} failed to build its rules (exit {done.returncode}):\n{detail}"
        )
    try:
        rows = json.loads(report.read_text(encoding="utf-8"))["rules"]
        for row in rows:
            rule = str(row["rule"])
            compiled.rules.add(rule)
            output = row.get("output")
            if output is not None:
                output = os.path.join(revision.root, output)  # relative to its working folder
            target = str(row["target"])
            message = relative_to_root(str(row.get("message") or ""), revision.root, out)
            compiled.outputs[(rule, target)] = Outcome(
                Path(rule), target, str(row["status"]), output, message
            )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RevisionError(f"cannot read the build report of {revision.label}'s siemc: {error}") from None
    return compiled


def seed(cache_dir: Path, source_out: Path, destination_out: Path) -> int:
    """Give an output folder the cached outputs of another when its own are missing or stale.

    The build cache is kept per output folder; each side of a comparison has its own. The first
    comparison, or the first after siemc changed (every record is then stale), would compile every
    rule twice: instead the second folder takes the first's records, with its query files linked
    (same bytes, same size and time). The build checks each record's key as always, so a rule whose
    bytes, toolchain or configuration differ between the two sides is compiled again; the others are
    cache hits. A marker beside the folder names the toolchain it was seeded for: until siemc
    changes, both folders keep themselves up to date and nothing is seeded (overwriting the record
    of a rule the change touches would compile it on every comparison). Returns the rules seeded.
    """
    import hashlib

    from siemc.backends import TARGET_NAMES
    from siemc.compile.build import CONVERTED
    from siemc.compile.cache import MANIFEST_FORMAT, BuildCache, toolchain_fingerprints

    fingerprints = sorted(toolchain_fingerprints(TARGET_NAMES).items())
    stamp = f"{MANIFEST_FORMAT}\n{hashlib.sha256(repr(fingerprints).encode()).hexdigest()}\n"
    marker = destination_out.parent / f"{destination_out.name}.seeded"
    with contextlib.suppress(OSError):
        if marker.read_text(encoding="utf-8") == stamp:
            return 0
    source = BuildCache.open(cache_dir, source_out)
    destination = BuildCache.open(cache_dir, destination_out)
    for rule, record in source.rules.items():
        for target, entry in source.entries_for(Path(rule)).items():
            if entry.status == CONVERTED and entry.output is not None:
                _link(source_out / target / entry.output, destination_out / target / entry.output)
        destination.rules[rule] = record
    destination.dirty = True
    destination.save()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(stamp, encoding="utf-8")
    return len(source.rules)


def _link(source: Path, destination: Path) -> None:
    """`destination` becomes the same file as `source` (a hard link, else a copy keeping its times)."""
    if not source.is_file():
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.{os.getpid()}.link")
    temporary.unlink(missing_ok=True)
    try:
        os.link(source, temporary)
    except OSError:
        shutil.copy2(source, temporary)
    os.replace(temporary, destination)
