"""MITRE ATT&CK Enterprise tactics and techniques, for the artifacts that carry an ATT&CK mapping.

`attack.json` beside this module holds every Enterprise tactic (id, name, shortname) and technique
(id, name, tactics, status), generated from MITRE's STIX data by tests/artifacts/attack_table.py;
the tests check it against the data package it was made from. A rule names ATT&CK in Sigma tags
(https://github.com/SigmaHQ/sigma-specification, "Tags"): `attack.t1219` a technique,
`attack.t1059.001` a sub-technique, `attack.command-and-control` a tactic by its ATT&CK shortname
(older rules write `attack.command_and_control`), `attack.g0016`/`attack.s0002` a group or software.

Artifacts carry only current ATT&CK objects: a tag naming no technique, or a revoked or deprecated
one, is left out of every artifact and reported by siemc.release.checks (`path:line: warning: ...`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, TypeVar

TECHNIQUE_TAG = re.compile(r"t\d{4}(?:\.\d{3})?")
# Groups, software, campaigns, mitigations, data sources: ATT&CK objects the artifacts do not map.
OTHER_OBJECT_TAG = re.compile(r"(?:g|s|c|m|ds)\d{4}")
_T = TypeVar("_T")


@dataclass(frozen=True)
class Tactic:
    id: str  # TA0011
    name: str  # Command and Control
    shortname: str  # command-and-control

    @property
    def reference(self) -> str:
        # The form Elastic's prebuilt rules use (elastic/detection-rules, [rule.threat.tactic]).
        return f"https://attack.mitre.org/tactics/{self.id}/"

    @property
    def sentinel_name(self) -> str:
        """Microsoft's spelling (AttackTactic in the SecurityInsights REST API, Azure-Sentinel's
        .script/tests/detectionTemplateSchemaValidation/Models/AttackTactic.cs): the ATT&CK name in
        CamelCase, `Command and Control` -> `CommandAndControl`."""
        return "".join(word[:1].upper() + word[1:] for word in self.name.split())


@dataclass(frozen=True)
class Technique:
    id: str  # T1219 or T1059.001
    name: str  # a sub-technique's own name (PowerShell), as ATT&CK has it
    tactics: tuple[str, ...]  # tactic shortnames
    status: str  # current, revoked or deprecated

    @property
    def parent(self) -> str:
        return self.id.split(".")[0]

    @property
    def is_subtechnique(self) -> bool:
        return "." in self.id

    @property
    def reference(self) -> str:
        # https://attack.mitre.org/techniques/T1059/001/ for a sub-technique (detection-rules' form).
        return f"https://attack.mitre.org/techniques/{self.id.replace('.', '/')}/"


@dataclass(frozen=True)
class AttackTable:
    version: str
    tactics: tuple[Tactic, ...]  # in the Enterprise matrix's order
    techniques: Mapping[str, Technique]

    def tactic(self, name: str) -> Tactic | None:
        """The tactic a Sigma tag names: its shortname, hyphens or underscores (`command_and_control`)."""
        wanted = name.strip().lower().replace("_", "-").replace(" ", "-")
        return next((t for t in self.tactics if t.shortname == wanted), None)

    def technique(self, technique_id: str) -> Technique | None:
        return self.techniques.get(technique_id.strip().upper())


@cache
def table() -> AttackTable:
    data: dict[str, Any] = json.loads(
        resources.files(__package__ or "siemc.backends.artifacts").joinpath("attack.json").read_text("utf-8")
    )
    tactics = tuple(Tactic(t["id"], t["name"], t["shortname"]) for t in data["tactics"])
    techniques = {
        key: Technique(key, value["name"], tuple(value["tactics"]), value["status"])
        for key, value in data["techniques"].items()
    }
    return AttackTable(str(data["attack_version"]), tactics, techniques)


def tag_problem(tag: str) -> str | None:
    """What is wrong with one `attack.*` Sigma tag, or None (also for tags of other namespaces)."""
    namespace, _, name = tag.strip().partition(".")
    if namespace.lower() != "attack" or not name:
        return None
    attack = table()
    name = name.lower()
    if TECHNIQUE_TAG.fullmatch(name):
        technique = attack.technique(name)
        if technique is None:
            return f"tag {tag!r} names no MITRE ATT&CK technique (Enterprise ATT&CK v{attack.version})"
        if technique.status != "current":
            return (
                f"tag {tag!r} names {technique.id} ({technique.name}), {technique.status} in "
                f"Enterprise ATT&CK v{attack.version}"
            )
        return None
    if OTHER_OBJECT_TAG.fullmatch(name):
        return None
    if attack.tactic(name) is None:
        return f"tag {tag!r} names no MITRE ATT&CK tactic (Enterprise ATT&CK v{attack.version})"
    return None


@dataclass(frozen=True)
class RuleAttack:
    """A rule's ATT&CK mapping as artifacts carry it: current tactics and techniques only, and every
    technique under at least one of the tactics (a technique none of whose ATT&CK tactics the rule
    names brings its own: Sentinel refuses a technique without a matching tactic,
    Azure-Sentinel NoTechniquesWithoutMatchingTactics.cs, and Elastic files techniques under a tactic)."""

    tactics: tuple[Tactic, ...]
    techniques: tuple[Technique, ...]

    def techniques_of(self, tactic: Tactic) -> tuple[Technique, ...]:
        return tuple(t for t in self.techniques if tactic.shortname in t.tactics)


def rule_attack(meta: Mapping[str, Any]) -> RuleAttack:
    """The mapping of a rule's metadata (Detection.metadata(): `tactics`, `techniques`)."""
    attack = table()
    tactics = _unique(attack.tactic(str(name)) for name in meta.get("tactics") or ())
    techniques = _unique(attack.technique(str(tid)) for tid in meta.get("techniques") or ())
    techniques = [t for t in techniques if t.status == "current"]
    named = {t.shortname for t in tactics}
    for technique in techniques:
        if not named & set(technique.tactics):
            tactics += [t for t in attack.tactics if t.shortname in technique.tactics and t not in tactics]
            named |= set(technique.tactics)
    return RuleAttack(tuple(tactics), tuple(techniques))


def _unique(items: Iterable[_T | None]) -> list[_T]:
    seen: list[_T] = []
    for item in items:
        if item is not None and item not in seen:
            seen.append(item)
    return seen
