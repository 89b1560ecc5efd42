"""Load stage: a rule file becomes a `Detection` (pySigma rule + typed extension) or a SiemcError."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from sigma.exceptions import SigmaError
from sigma.rule import SigmaDetection, SigmaDetections, SigmaRule
from sigma.rule.base import SigmaYAMLLoader

from siemc.backends import TARGET_NAMES
from siemc.compile.extension import EXTENSION_KEY, Extension, ExtensionError, parse_extension
from siemc.diagnostics import SiemcError, line_of

RULE_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True)
class Detection:
    """One canonical rule: the Sigma part as pySigma parsed it and the siemc extension."""

    path: Path
    text: str
    sigma: SigmaRule
    extension: Extension

    @property
    def stem(self) -> str:
        return self.path.stem

    @cached_property
    def attack_ids(self) -> tuple[str, ...]:
        """ATT&CK technique ids from the tags (attack.t1219 -> T1219), in tag order."""
        return tuple(
            tag.name.upper()
            for tag in self.sigma.tags
            if tag.namespace == "attack" and re.fullmatch(r"t\d{4}(\.\d{3})?", tag.name)
        )

    def condition_rule(self, when: Mapping[str, Any]) -> SigmaRule:
        """A Sigma rule that matches exactly `when`, on this rule's log source (for derived columns)."""
        return condition_rule(self.sigma, when)


def condition_rule(base: SigmaRule, when: Mapping[str, Any]) -> SigmaRule:
    detections = SigmaDetections({"when": SigmaDetection.from_definition(dict(when))}, ["when"])
    return SigmaRule(title=base.title, logsource=base.logsource, detection=detections)


def yaml_line(text: str, key_path: tuple[str | int, ...]) -> int | None:
    """Line (1-based) of the node at `key_path` in the YAML text, or of its deepest existing parent."""
    try:
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for key in key_path:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == key), None)
            entry = next((k for k, v in node.value if k.value == key), None)
            if found is None or entry is None:
                break
            line, node = entry.start_mark.line + 1, found
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def locate_message(text: str, message: str) -> int | None:
    """pySigma errors carry no line: place them at the first quoted name they mention."""
    for quoted in re.findall(r"'([^'\n]+)'", message):
        line = line_of(text, quoted)
        if line is not None:
            return line
    return None


def parse_rule(text: str, path: Path) -> Detection:
    """Parse rule text; every problem becomes a SiemcError with the line where it is known."""
    try:
        data = yaml.load(text, Loader=SigmaYAMLLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise SiemcError(
            f"malformed YAML: {error.problem or error.context}", mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as error:
        raise SiemcError(f"malformed YAML: {error}") from None
    if not isinstance(data, dict):
        raise SiemcError("a rule must be a YAML mapping", 1)
    if "correlation" in data:
        raise SiemcError("correlation rules are not supported yet", line_of(text, "correlation:"))

    data = dict(data)
    try:
        extension = parse_extension(data.pop(EXTENSION_KEY, None), TARGET_NAMES)
    except ExtensionError as error:
        raise SiemcError(error.message, yaml_line(text, error.key_path)) from None

    try:
        sigma = SigmaRule.from_dict(data)
        if not sigma.detection.condition:
            raise SiemcError("the detection has no condition", line_of(text, "detection:"))
        for condition in sigma.detection.parsed_condition:
            condition.parse()
    except SigmaError as error:
        message = str(error).split(" in /")[0] if error.source else str(error)
        raise SiemcError(message, locate_message(text, message)) from None

    for column in extension.derive:
        for index, case in enumerate(column.cases):
            try:
                condition_rule(sigma, case.when)
            except SigmaError as error:
                key_path: tuple[str | int, ...] = (EXTENSION_KEY, "derive", column.name)
                if not column.is_flag:
                    key_path = (*key_path, "cases", index)
                raise SiemcError(
                    f"{EXTENSION_KEY}.derive.{column.name}: {error}", yaml_line(text, (*key_path, "when"))
                ) from None
    return Detection(path, text, sigma, extension)


def load_rule(path: Path) -> Detection:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SiemcError(f"cannot read rule: {error}") from None
    return parse_rule(text, path)


def rule_files(paths: list[Path]) -> list[Path]:
    """Rule files named or found under folders, sorted so that builds are deterministic."""
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())
        else:
            found.add(path)
    return sorted(found)
