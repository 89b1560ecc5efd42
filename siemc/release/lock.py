"""The version lock: each rule's version and the hash of its generated outputs, committed with the rules.

    {"format": "siemc-lock 1",
     "rules": {"t1219_remote_access_tools.yml": {"version": 2, "outputs": {"kql": "<sha256/128>", ...}}}}

Rules are keyed by their path relative to the lock's folder. A rule whose outputs differ from the
lock's without a version bump cannot be published (`siemc bundle` refuses it); `siemc lock --bump`
raises the version of every changed rule (a new rule starts at 1, a removed one leaves the lock) and
`siemc lock --check` is what CI runs. The file is written with sorted keys, so it diffs cleanly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from siemc.compile.build import CONVERTED, BuildResult, write_atomic
from siemc.diagnostics import SiemcError

LOCK_NAME = "version.lock.json"
LOCK_FORMAT = "siemc-lock 1"


@dataclass(frozen=True)
class LockedRule:
    version: int
    outputs: Mapping[str, str]  # target -> digest of the query text


@dataclass(frozen=True)
class LockChanges:
    changed: tuple[str, ...] = ()  # outputs differ from the lock's (with the targets that differ)
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    details: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # rule -> targets changed

    @property
    def clean(self) -> bool:
        return not (self.changed or self.added or self.removed)

    def lines(self) -> list[str]:
        """One line per rule: what the lock says of it."""
        return (
            [f"changed without a version bump: {r} ({', '.join(self.details[r])})" for r in self.changed]
            + [f"not in the lock (new rule): {r}" for r in self.added]
            + [f"in the lock but gone: {r}" for r in self.removed]
        )


def default_lock_path(paths: list[Path]) -> Path:
    """`version.lock.json` in the first rules folder (or beside the first rule file)."""
    first = paths[0] if paths else Path("detections")
    return (first if first.is_dir() else first.parent) / LOCK_NAME


def load_lock(path: Path) -> dict[str, LockedRule]:
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SiemcError(f"cannot read the version lock: {error}") from None
    if not isinstance(document, dict) or document.get("format") != LOCK_FORMAT:
        raise SiemcError(f"not a version lock of format {LOCK_FORMAT!r}", 1)
    rules = document.get("rules")
    if not isinstance(rules, dict):
        raise SiemcError("the version lock has no `rules` mapping", 1)
    locked: dict[str, LockedRule] = {}
    for name, entry in rules.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("version"), int)
            or not isinstance(entry.get("outputs"), dict)
        ):
            raise SiemcError(f"rule {name!r}: expected {{version: N, outputs: {{target: hash}}}}")
        locked[name] = LockedRule(entry["version"], dict(entry["outputs"]))
    return locked


def current_outputs(result: BuildResult, lock_path: Path) -> dict[str, dict[str, str]]:
    """Per rule (path relative to the lock's folder) and target, the digest of the query built."""
    base = lock_path.parent.resolve()
    current: dict[str, dict[str, str]] = {}
    for outcome in result.outcomes:
        name = _relative(outcome.rule, base)
        current.setdefault(name, {})
        if outcome.status == CONVERTED:
            current[name][outcome.target] = outcome.digest.hex()
    return current


def _relative(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path.resolve(), base)).as_posix()


def compare(lock: Mapping[str, LockedRule], current: Mapping[str, Mapping[str, str]]) -> LockChanges:
    """What differs between the lock and the outputs just built, rule by rule, in name order."""
    changed: list[str] = []
    details: dict[str, tuple[str, ...]] = {}
    for name in sorted(set(lock) & set(current)):
        before, now = lock[name].outputs, current[name]
        targets = tuple(sorted(t for t in set(before) | set(now) if before.get(t) != now.get(t)))
        if targets:
            changed.append(name)
            details[name] = targets
    return LockChanges(
        tuple(changed),
        tuple(sorted(set(current) - set(lock))),
        tuple(sorted(set(lock) - set(current))),
        details,
    )


def bumped(lock: Mapping[str, LockedRule], current: Mapping[str, Mapping[str, str]]) -> dict[str, LockedRule]:
    """The lock after `--bump`: changed rules one version up, new rules at 1, removed rules gone."""
    changes = compare(lock, current)
    result: dict[str, LockedRule] = {}
    for name, outputs in current.items():
        if name in changes.changed:
            result[name] = LockedRule(lock[name].version + 1, dict(outputs))
        elif name in lock:
            result[name] = lock[name]
        else:
            result[name] = LockedRule(1, dict(outputs))
    return result


def write_lock(path: Path, lock: Mapping[str, LockedRule]) -> None:
    document = {
        "format": LOCK_FORMAT,
        "rules": {
            name: {"version": entry.version, "outputs": dict(sorted(entry.outputs.items()))}
            for name, entry in sorted(lock.items())
        },
    }
    write_atomic(path, json.dumps(document, indent=1, sort_keys=True) + "\n")
