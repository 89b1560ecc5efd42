"""Checks of the rules a bundle publishes that warn and never refuse: `path:line: warning: message`.

A check is a function of one rule file's path and text; `siemc bundle` runs every check of
`RULE_CHECKS` on every rule it publishes, prints the warnings and writes the bundle all the same
(siemc.release.bundle). The one check so far: ATT&CK tags that name no current tactic or technique
(a typo, a revoked technique), which the artifact writers leave out of every ATT&CK mapping.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReleaseWarning:
    path: Path
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: warning: {self.message}"


RuleCheck = Callable[[Path, str], list[ReleaseWarning]]


# A `tags:` list item naming an ATT&CK tag: `  - attack.t1219` (quoted or not).
_ATTACK_TAG_ITEM = re.compile(r"""^\s*-\s*['"]?(attack\.[^\s'"#]+)""", re.MULTILINE)


def attack_tags(path: Path, text: str) -> list[ReleaseWarning]:
    """One warning per `attack.*` tag naming no current ATT&CK object, at the tag's line.

    The tag items are found by a line scan (a rule is published by the thousand; a YAML parse each
    would cost more than the rest of a bundle's checks)."""
    from siemc.backends.artifacts.attack import tag_problem

    warnings = []
    for match in _ATTACK_TAG_ITEM.finditer(text):
        problem = tag_problem(match.group(1))
        if problem:
            warnings.append(ReleaseWarning(path, problem, text.count("\n", 0, match.start()) + 1))
    return warnings


RULE_CHECKS: tuple[RuleCheck, ...] = (attack_tags,)


def check_rules(paths: Iterable[Path], checks: Iterable[RuleCheck] = RULE_CHECKS) -> list[ReleaseWarning]:
    """Every check on every rule file, in path order; a file that cannot be read is skipped."""
    checks = tuple(checks)
    warnings: list[ReleaseWarning] = []
    for path in sorted(set(paths), key=lambda p: p.as_posix()):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for check in checks:
            warnings.extend(check(path, text))
    return warnings
