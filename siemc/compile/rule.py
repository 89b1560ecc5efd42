"""Load stage: a rule file becomes a `Detection` (pySigma rule + typed extension) or a SiemcError."""

from __future__ import annotations

import copy
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
from siemc.compile.placeholders import LabelError, expand_placeholders, resolve_label_columns
from siemc.config import DEFAULT, LoadedFilter, SiteConfig
from siemc.diagnostics import SiemcError, line_of, locate_message, node_line

RULE_SUFFIXES = (".yml", ".yaml")


# ATT&CK tags that name an object (technique, group, software, campaign, mitigation), not a tactic.
_ATTACK_ID = re.compile(r"[tgscm]\d{4}(\.\d{3})?")


@dataclass(frozen=True)
class Detection:
    """One canonical rule: the Sigma part as pySigma parsed it and the siemc extension."""

    path: Path
    text: str
    sigma: SigmaRule
    extension: Extension
    site: SiteConfig = DEFAULT  # the configuration it was loaded with (placeholders, filters)
    filters: tuple[LoadedFilter, ...] = ()  # the site's filters ANDed into its condition

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

    def filter_with_field(self, field: str) -> str | None:
        """`path:line` of an applied filter that tests `field`, when the rule's own detection does not."""
        if field in _own_fields(self.sigma):
            return None
        for loaded in self.filters:
            names = {item.field for item in _items(loaded.sigma.filter.detections.values())}
            if field in names:
                return f"{loaded.path}:{line_of(loaded.text, field) or loaded.line}"
        return None

    def metadata(self) -> dict[str, Any]:
        """The rule's descriptive fields as plain JSON values (release artifacts, reports, the cache)."""
        rule, ext = self.sigma, self.extension
        tags = [f"{tag.namespace}.{tag.name}" for tag in rule.tags]
        return {
            "id": str(rule.id) if rule.id else None,
            "name": rule.name,
            "title": rule.title,
            "description": rule.description or "",
            "status": rule.status.name.lower() if rule.status else None,
            "level": rule.level.name.lower() if rule.level else None,
            "severity": ext.metadata.severity or (rule.level.name.lower() if rule.level else None),
            "author": rule.author,
            "date": rule.date.isoformat() if rule.date else None,
            "modified": rule.modified.isoformat() if rule.modified else None,
            "tags": tags,
            "techniques": list(self.attack_ids),
            "tactics": [
                t.name for t in rule.tags if t.namespace == "attack" and not _ATTACK_ID.fullmatch(t.name)
            ],
            "references": list(rule.references),
            "falsepositives": list(rule.falsepositives),
            "logsource": {
                key: value
                for key in ("category", "product", "service")
                if (value := getattr(rule.logsource, key))
            },
            "lookback": str(ext.lookback) if ext.lookback else None,
        }

    def condition_rule(self, when: Mapping[str, Any]) -> SigmaRule:
        """A Sigma rule that matches exactly `when`, on this rule's log source (for derived columns)."""
        return condition_rule(self.sigma, when)


# Set on a rule that still holds placeholders after the site's values were written out (named
# lists, or none given): only such rules go through the placeholder pipeline step.
HAS_PLACEHOLDERS = "siemc_placeholders"


def condition_rule(base: SigmaRule, when: Mapping[str, Any]) -> SigmaRule:
    detections = SigmaDetections({"when": SigmaDetection.from_definition(dict(when))}, ["when"])
    rule = SigmaRule(title=base.title, logsource=base.logsource, detection=detections)
    if base.custom_attributes.get(HAS_PLACEHOLDERS):
        rule.custom_attributes[HAS_PLACEHOLDERS] = True
    return rule


def yaml_line(text: str, key_path: tuple[str | int, ...]) -> int | None:
    """Line (1-based) of the node at `key_path` in the YAML text, or of its deepest existing parent."""
    try:
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    return node_line(node, key_path)


def load_rule_document(text: str, first_line: int = 1) -> dict[str, Any]:
    """One YAML document of a rule file, read as pySigma reads it; malformed YAML or a document that is
    no mapping is a SiemcError with its line (`first_line`: where the document starts in its file)."""
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
        raise SiemcError("a rule must be a YAML mapping", first_line)
    return data


def parse_rule(text: str, path: Path, site: SiteConfig = DEFAULT) -> Detection:
    """Parse rule text with a site's placeholders and filters; every problem becomes a SiemcError with
    the line where it is known."""
    data = load_rule_document(text)
    if "correlation" in data:
        # A correlation is read with the rules it names: parse_rule_file (siemc.compile.correlation).
        raise SiemcError(
            "a correlation rule, not an event rule: read it with the rules it names",
            line_of(text, "correlation:"),
        )

    data = dict(data)
    if "label" in text:
        try:
            data = resolve_label_columns(data, site)
        except LabelError as error:
            raise SiemcError(error.message, yaml_line(text, error.key_path)) from None
    if "expand" in text:
        try:
            data = expand_placeholders(data, site.inline_values())
        except SiemcError as error:
            raise SiemcError(error.message, locate_message(text, error.message)) from None
    # Read before the extension leaves `data`: its derived columns may hold placeholders too.
    holds_placeholders = "expand" in text and _has_placeholders(data)
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

    filters = _apply_filters(sigma, site)
    if holds_placeholders:
        sigma.custom_attributes[HAS_PLACEHOLDERS] = True
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
    return Detection(path, text, sigma, extension, site, filters)


def _items(detections: Any) -> list[Any]:
    """Every detection item under pySigma detections (nested selections included)."""
    found: list[Any] = []
    for detection in detections:
        for item in detection.detection_items:
            found.extend(_items([item]) if hasattr(item, "detection_items") else [item])
    return found


def _own_fields(sigma: SigmaRule) -> set[str | None]:
    """Fields the rule's own selections test (pySigma names a filter's selections `_filt_...`)."""
    return {
        item.field
        for name, detection in sigma.detection.detections.items()
        if not name.startswith("_filt_")
        for item in _items([detection])
    }


def _has_placeholders(data: Mapping[str, Any]) -> bool:
    """Whether any `expand` modifier is left in the detection or the derived columns."""
    return "|expand" in repr(data.get("detection")) or "|expand" in repr(data.get(EXTENSION_KEY))


def _apply_filters(sigma: SigmaRule, site: SiteConfig) -> tuple[LoadedFilter, ...]:
    """AND each of the site's filters that names this rule (and matches its log source) into it."""
    applied = []
    for loaded in site.filters:
        # pySigma's filter moves its own detection objects into the rule: each rule gets a copy.
        sigma_filter = copy.deepcopy(loaded.sigma)
        if sigma_filter._should_apply_on_rule(sigma):
            sigma_filter.apply_on_rule(sigma)
            applied.append(loaded)
    if applied:
        for condition in sigma.detection.parsed_condition:
            condition.parse()
    return tuple(applied)


def load_rule(path: Path, site: SiteConfig = DEFAULT) -> Detection:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SiemcError(f"cannot read rule: {error}") from None
    return parse_rule(text, path, site)
