"""Sigma correlation rules: loading, reference resolution and their unit-test format.

A correlation rule (`correlation:` with `type`, `rules`, `group-by`, `timespan`, `condition`, field
`aliases`) is parsed by pySigma's `SigmaCorrelationRule`. The rules it names are found, by `name` or
`id`, first among the other documents of its own file, then among the other rule files of the build
(`RuleLibrary`). The base rules of its own file are part of the correlation and have no output of
their own; a base rule in a file of its own stays a rule of the build with its own output. So Sigma's
`generate: true` (the base rules' queries are output too) holds for rules in files of their own, and
is an error for a correlation whose own file holds a rule it names.

A correlation rule's `siemc:` block takes `targets`, `metadata` and `tests`. A test is a sequence of
timestamped events and the groups the rule must report:

    tests:
      - name: three categories within the hour
        events:
          - {time: 2026-01-01T10:00:00Z, rule: rat_process, Computer: h1, Image: 'C:\\a\\AnyDesk.exe'}
          - {time: 2026-01-01T10:20:00Z, Computer: h1, Image: ...}   # tested against every base rule
        expect: {groups: [{Computer: h1}]}                          # [] : the rule reports nothing

`time` is an ISO 8601 time (UTC when no offset is given); `rule` (optional) names the base rule whose
log source the event comes from: it is then tested against that rule only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)
from sigma.exceptions import SigmaError

from siemc.backends import TARGET_NAMES
from siemc.compile.extension import EXTENSION_KEY, Extension, ExtensionError, parse_extension
from siemc.compile.rule import Detection, load_rule_document, parse_rule, yaml_line
from siemc.config import DEFAULT, SiteConfig
from siemc.diagnostics import SiemcError, line_of, locate_message

# A condition's operator, as a test of an aggregate against its bound.
_HOLDS: Mapping[SigmaCorrelationConditionOperator, Callable[[float, float], bool]] = {
    SigmaCorrelationConditionOperator.LT: lambda a, b: a < b,
    SigmaCorrelationConditionOperator.LTE: lambda a, b: a <= b,
    SigmaCorrelationConditionOperator.GT: lambda a, b: a > b,
    SigmaCorrelationConditionOperator.GTE: lambda a, b: a >= b,
    SigmaCorrelationConditionOperator.EQ: lambda a, b: a == b,
    SigmaCorrelationConditionOperator.NEQ: lambda a, b: a != b,
}

# A reference (a rule's `name` or `id`) -> the file that defines it and its text; None: no such rule.
RuleLibrary = Callable[[str], tuple[Path, str] | None]

COUNTING_TYPES = frozenset(
    {
        SigmaCorrelationType.EVENT_COUNT,
        SigmaCorrelationType.VALUE_COUNT,
        SigmaCorrelationType.VALUE_SUM,
        SigmaCorrelationType.VALUE_AVG,
        SigmaCorrelationType.VALUE_PERCENTILE,
        SigmaCorrelationType.VALUE_MEDIAN,
    }
)
TEMPORAL_TYPES = frozenset({SigmaCorrelationType.TEMPORAL, SigmaCorrelationType.TEMPORAL_ORDERED})
# Keys of the `siemc:` block a correlation rule takes (the others shape one event query's output).
_CORRELATION_EXTENSION_KEYS = ("metadata", "targets", "tests")
_DOCUMENT_START = re.compile(r"^---[ \t]*(#.*)?$", re.MULTILINE)
_TOP_LEVEL_NAME = re.compile(rb"^(name|id):[ \t]*['\"]?([^'\"\s#]+)", re.MULTILINE)


@dataclass(frozen=True)
class BaseRule:
    """A rule a correlation names: the reference as written, and the rule loaded as a Detection."""

    reference: str
    detection: Detection


@dataclass(frozen=True)
class CorrelationTest:
    """One unit test: timestamped events (each maybe tagged with a base rule) and the expected groups."""

    name: str
    events: tuple[Mapping[str, Any], ...]
    times: tuple[datetime, ...]
    rules: tuple[str | None, ...]  # the base rule each event is tagged with, by reference
    groups: tuple[Mapping[str, str], ...]
    index: int = 0


@dataclass(frozen=True)
class Correlation:
    """A correlation rule with the base rules it references, resolved."""

    path: Path
    text: str
    sigma: SigmaCorrelationRule
    extension: Extension
    bases: tuple[BaseRule, ...]
    tests: tuple[CorrelationTest, ...] = ()
    site: SiteConfig = DEFAULT
    related: tuple[Path, ...] = ()  # other files whose rules it references (the build cache keys on them)
    filters: tuple[Any, ...] = field(default=())
    # A range's further bounds (`{gt: 100, lte: 200}`): pySigma 1.5 keeps one operator in `condition`.
    bounds: tuple[tuple[SigmaCorrelationConditionOperator, int], ...] = ()

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def kind(self) -> SigmaCorrelationType:
        return self.sigma.type

    @property
    def group_by(self) -> tuple[str, ...]:
        return tuple(self.sigma.group_by or ())

    @property
    def timespan_seconds(self) -> int:
        return int(self.sigma.timespan.seconds)

    @property
    def condition(self) -> SigmaCorrelationCondition:
        """The count condition (for temporal types: how many of the rules must match)."""
        condition = self.sigma.condition
        assert isinstance(condition, SigmaCorrelationCondition)  # extended conditions are refused at load
        return condition

    @property
    def comparisons(self) -> tuple[tuple[SigmaCorrelationConditionOperator, int], ...]:
        """Every bound of the condition, all of which must hold (one, or two for a range)."""
        return ((self.condition.op, self.condition.count), *self.bounds)

    def holds(self, value: float) -> bool:
        """Whether an aggregate of `value` meets every bound of the condition."""
        return all(_HOLDS[op](value, float(count)) for op, count in self.comparisons)

    @property
    def value_field(self) -> str | None:
        """The field a value_* type aggregates."""
        fieldref = self.condition.fieldref
        return fieldref if isinstance(fieldref, str) else None

    def field_for(self, base: BaseRule, name: str) -> str:
        """The field of `base`'s events that holds the correlation field `name` (field aliases)."""
        for alias in self.sigma.aliases:
            if alias.alias == name:
                for reference, native in alias.mapping.items():
                    if reference.reference == base.reference:
                        return native
        return name

    @cached_property
    def attack_ids(self) -> tuple[str, ...]:
        return tuple(
            tag.name.upper()
            for tag in self.sigma.tags
            if tag.namespace == "attack" and re.fullmatch(r"t\d{4}(\.\d{3})?", tag.name)
        )

    def metadata(self) -> dict[str, Any]:
        """The descriptive fields as plain JSON values, in the form `Detection.metadata()` gives them."""
        rule, ext = self.sigma, self.extension
        level = rule.level.name.lower() if rule.level else None
        return {
            "id": str(rule.id) if rule.id else None,
            "name": rule.name,
            "title": rule.title,
            "description": rule.description or "",
            "status": rule.status.name.lower() if rule.status else None,
            "level": level,
            "severity": ext.metadata.severity or level,
            "author": rule.author,
            "date": rule.date.isoformat() if rule.date else None,
            "modified": rule.modified.isoformat() if rule.modified else None,
            "tags": [f"{tag.namespace}.{tag.name}" for tag in rule.tags],
            "techniques": list(self.attack_ids),
            "tactics": [
                t.name
                for t in rule.tags
                if t.namespace == "attack" and not re.fullmatch(r"[tgscm]\d{4}(\.\d{3})?", t.name)
            ],
            "references": list(rule.references),
            "falsepositives": list(rule.falsepositives),
            "logsource": {},
            # A scheduled run reads at least one window of the correlation.
            "lookback": timespan_text(self.timespan_seconds),
            "correlation": {
                "type": self.kind.name.lower(),
                "rules": [base.reference for base in self.bases],
                "group_by": list(self.group_by),
                "timespan": self.sigma.timespan.spec,
            },
        }


def timespan_text(seconds: int) -> str:
    """A duration in the largest whole unit of s, m, h, d (`10m`, `2h`, `7d`, `90s`)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def is_correlation_text(text: str) -> bool:
    """Whether a rule file holds a correlation rule or several documents (so needs `parse_rule_file`)."""
    return "correlation:" in text or _DOCUMENT_START.search(text) is not None


def defined_names(data: bytes) -> set[str]:
    """The top-level `name` and `id` values a rule file defines, read without parsing YAML (the build
    indexes every file by them only when a correlation rule is among its rules)."""
    return {match.group(2).decode("utf-8", errors="replace") for match in _TOP_LEVEL_NAME.finditer(data)}


def referenced_names(text: str) -> tuple[str, ...]:
    """The references of a file's correlation rules (its `correlation.rules`), without resolving them."""
    names: list[str] = []
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return ()
    for document in documents:
        if isinstance(document, dict) and isinstance(document.get("correlation"), dict):
            rules = document["correlation"].get("rules")
            rules = [rules] if isinstance(rules, str) else rules
            if isinstance(rules, list):
                names.extend(str(rule) for rule in rules)
    return tuple(names)


def _documents(text: str) -> list[tuple[int, str]]:
    """The documents of a multi-document YAML text: (0-based first line, text padded with blank lines
    so that line numbers stay those of the file)."""
    starts = [0] + [text.count("\n", 0, m.start()) for m in _DOCUMENT_START.finditer(text)]
    lines = text.split("\n")
    documents = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(lines)
        body_start = start + 1 if index > 0 else start
        body = "\n".join(lines[body_start:end])
        if body.strip() and not all(
            not line.strip() or line.lstrip().startswith("#") for line in lines[body_start:end]
        ):
            documents.append((body_start, "\n" * body_start + body))
    return documents


def parse_rule_file(
    text: str, path: Path, site: SiteConfig = DEFAULT, library: RuleLibrary | None = None
) -> Detection | Correlation:
    """A rule file: a plain rule (one document) or a correlation rule with the base rules of its file."""
    if not is_correlation_text(text):
        return parse_rule(text, path, site)
    documents = _documents(text)
    if len(documents) == 1 and "correlation:" not in text:
        return parse_rule(text, path, site)
    correlations: list[tuple[int, str, dict[str, Any]]] = []
    plain: list[tuple[int, str]] = []
    for start, document in documents:
        data = load_rule_document(document, start + 1)
        if "correlation" in data:
            correlations.append((start, document, data))
        else:
            plain.append((start, document))
    if not correlations:
        if len(plain) == 1:  # one rule that merely mentions `correlation:` (in its description, say)
            return parse_rule(text, path, site)
        raise SiemcError("a file of several rules needs one correlation rule to join them", 1)
    if len(correlations) > 1:
        raise SiemcError("a file holds one correlation rule", correlations[1][0] + 1)
    start, document, data = correlations[0]
    local = [parse_rule(body, path, site) for _, body in plain]
    return _parse_correlation(text, path, data, local, site, library)


def _parse_correlation(
    text: str,
    path: Path,
    data: dict[str, Any],
    local: list[Detection],
    site: SiteConfig,
    library: RuleLibrary | None,
) -> Correlation:
    data = dict(data)
    block = data.pop(EXTENSION_KEY, None) or {}
    if not isinstance(block, dict):
        raise SiemcError(f"{EXTENSION_KEY}: expected a mapping", yaml_line_in(text, (EXTENSION_KEY,)))
    for key in block:
        if key not in _CORRELATION_EXTENSION_KEYS:
            raise SiemcError(
                f"{EXTENSION_KEY}.{key}: a correlation rule takes only "
                + ", ".join(_CORRELATION_EXTENSION_KEYS),
                line_of(text, f"{key}:"),
            )
    try:
        extension = parse_extension({k: v for k, v in block.items() if k != "tests"}, TARGET_NAMES)
    except ExtensionError as error:
        raise SiemcError(error.message, yaml_line_in(text, (EXTENSION_KEY, *error.key_path))) from None
    data, bounds = _split_range(data, text)
    try:
        sigma = SigmaCorrelationRule.from_dict(data)
    except SigmaError as error:
        message = str(error).split(" in /")[0]
        raise SiemcError(message, locate_message(text, message) or line_of(text, "correlation:")) from None
    if not isinstance(sigma.condition, SigmaCorrelationCondition) or sigma.rules is None:
        raise SiemcError(
            "extended correlation conditions (rule expressions) are not supported",
            line_of(text, "condition:"),
        )
    _check_condition(sigma, bounds, text)
    bases, related = _resolve(sigma, text, path, local, site, library)
    own = [base.reference for base in bases if any(base.detection is rule for rule in local)]
    if sigma.generate and own:
        # A rule file has one output per target: the rules of the correlation's own file have none of
        # their own, so `generate: true` (their queries too) cannot be honoured for them.
        raise SiemcError(
            f"generate: true asks for the query of rule '{own[0]}' too, but the rules of a correlation's"
            " own file have no output of their own: move them to files of their own (which keep theirs)",
            line_of(text, "generate:") or line_of(text, "correlation:"),
        )
    correlation = Correlation(path, text, sigma, extension, bases, (), site, related, bounds=bounds)
    _check_fields(correlation, text)
    tests = _parse_tests(block.get("tests", []), correlation, text)
    return Correlation(path, text, sigma, extension, bases, tests, site, related, bounds=bounds)


def _split_range(
    data: dict[str, Any], text: str
) -> tuple[dict[str, Any], tuple[tuple[SigmaCorrelationConditionOperator, int], ...]]:
    """A range condition (`{gt: 100, lte: 200}`, the specification's conjunction of bounds) as the
    one-operator condition pySigma 1.5 parses and the further bounds."""
    block = data.get("correlation")
    if not isinstance(block, dict) or not isinstance(block.get("condition"), dict):
        return data, ()
    condition = block["condition"]
    names = SigmaCorrelationConditionOperator.operators()
    operators = [key for key in condition if key in names]
    if len(operators) < 2:
        return data, ()
    where = line_of(text, "condition:") or line_of(text, "correlation:")
    bounds: list[tuple[SigmaCorrelationConditionOperator, int]] = []
    for name in operators[1:]:
        value = condition[name]
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise SiemcError(f"condition: '{value}' is no number for {name}", where)
        try:
            bounds.append((SigmaCorrelationConditionOperator[name.upper()], int(value)))
        except ValueError:
            raise SiemcError(f"condition: '{value}' is no number for {name}", where) from None
    first = {key: value for key, value in condition.items() if key not in operators[1:]}
    return {**data, "correlation": {**block, "condition": first}}, tuple(bounds)


def yaml_line_in(text: str, key_path: tuple[str | int, ...]) -> int | None:
    """`yaml_line` over the correlation document of a multi-document file."""
    for start, document in _documents(text):
        if "correlation:" in document:
            return yaml_line(document, key_path) or start + 1
    return yaml_line(text, key_path)


def _check_condition(
    sigma: SigmaCorrelationRule,
    bounds: tuple[tuple[SigmaCorrelationConditionOperator, int], ...],
    text: str,
) -> None:
    condition = sigma.condition
    assert isinstance(condition, SigmaCorrelationCondition)
    rules = len(sigma.rules or ())
    where = line_of(text, "condition:") or line_of(text, "correlation:")
    if sigma.type == SigmaCorrelationType.TEMPORAL_ORDERED and not (
        condition.op == SigmaCorrelationConditionOperator.GTE and condition.count == rules and not bounds
    ):
        raise SiemcError(
            f"temporal_ordered: the condition can only be that all {rules} rules match in order"
            f" (gte: {rules})",
            where,
        )
    if sigma.type == SigmaCorrelationType.VALUE_PERCENTILE:
        percentile = condition.percentile
        if percentile is None or not 0 < percentile <= 100:
            raise SiemcError("value_percentile: the condition needs `percentile` between 1 and 100", where)
    if sigma.type in COUNTING_TYPES - {SigmaCorrelationType.EVENT_COUNT} and not isinstance(
        condition.fieldref, str
    ):
        raise SiemcError(f"{sigma.type.name.lower()}: the condition's `field` must be one field name", where)
    if sigma.type == SigmaCorrelationType.EVENT_COUNT and condition.fieldref:
        raise SiemcError("event_count: the condition takes no `field`", where)


def _resolve(
    sigma: SigmaCorrelationRule,
    text: str,
    path: Path,
    local: list[Detection],
    site: SiteConfig,
    library: RuleLibrary | None,
) -> tuple[tuple[BaseRule, ...], tuple[Path, ...]]:
    """Each referenced rule: from this file's other documents, else from the build's rule files."""
    bases: list[BaseRule] = []
    related: list[Path] = []
    for reference in sigma.rules or ():
        name = reference.reference
        where = line_of(text, f"- {name}") or line_of(text, name)
        found = next((d for d in local if name in (d.sigma.name, str(d.sigma.id))), None)
        if found is None and library is not None:
            located = library(name)
            if located is not None and located[0] != path:
                other_path, other_text = located
                if "correlation:" in other_text:
                    raise SiemcError(
                        f"rule '{name}' is a correlation rule: correlations of correlations are not"
                        " supported",
                        where,
                    )
                try:
                    found = parse_rule(other_text, other_path, site)
                except SiemcError as error:
                    at = f"{other_path}:{error.line}" if error.line else str(other_path)
                    raise SiemcError(f"rule '{name}' ({at}) does not load: {error.message}", where) from None
                related.append(other_path)
        if found is None:
            raise SiemcError(
                f"unknown rule '{name}': no rule in this file or among the build's rule files has"
                " this name or id",
                where,
            )
        if any(base.reference == name for base in bases):
            raise SiemcError(f"rule '{name}' is listed twice", where)
        bases.append(BaseRule(name, found))
    for alias in sigma.aliases:
        for reference in alias.mapping:
            if all(reference.reference != base.reference for base in bases):
                raise SiemcError(
                    f"alias '{alias.alias}' names rule '{reference.reference}', which is not in `rules`",
                    line_of(text, f"{reference.reference}:"),
                )
        missing = [b.reference for b in bases if all(r.reference != b.reference for r in alias.mapping)]
        if missing:
            raise SiemcError(
                f"alias '{alias.alias}' gives no field for rule '{missing[0]}'",
                line_of(text, f"{alias.alias}:"),
            )
    return tuple(bases), tuple(related)


def _check_fields(correlation: Correlation, text: str) -> None:
    """A group-by field must be a plain field name on every base rule (nothing to compare otherwise)."""
    wanted = [*correlation.group_by]
    if correlation.value_field:
        wanted.append(correlation.value_field)
    for name in wanted:
        for base in correlation.bases:
            native = correlation.field_for(base, name)
            if not re.fullmatch(r"[A-Za-z_][\w.\-]*", native):
                raise SiemcError(
                    f"field '{native}' of rule '{base.reference}' is no field name", line_of(text, name)
                )


def event_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _parse_tests(specs: Any, correlation: Correlation, text: str) -> tuple[CorrelationTest, ...]:
    def fail(message: str, *key_path: str | int) -> SiemcError:
        where = ".".join(map(str, ("tests", *key_path)))
        return SiemcError(
            f"{EXTENSION_KEY}.{where}: {message}", yaml_line_in(text, (EXTENSION_KEY, "tests", *key_path))
        )

    if not isinstance(specs, list):
        raise fail("expected a list of tests")
    references = {base.reference for base in correlation.bases}
    tests = []
    for index, spec in enumerate(specs):
        if not isinstance(spec, dict) or set(spec) - {"name", "events", "expect"}:
            raise fail("a correlation test is a mapping with `name`, `events` and `expect`", index)
        for key in ("name", "events", "expect"):
            if key not in spec:
                raise fail(f"a test needs `{key}`", index)
        if not isinstance(spec["events"], list) or not spec["events"]:
            raise fail("expected a list of events", index, "events")
        events, times, rules = [], [], []
        for number, event in enumerate(spec["events"]):
            if not isinstance(event, dict):
                raise fail("an event is a mapping of Sigma field to value", index, "events", number)
            event = dict(event)
            stamp = event_time(event.pop("time", None))
            if stamp is None:
                raise fail("an event needs `time`, an ISO 8601 time", index, "events", number)
            rule = event.pop("rule", None)
            if rule is not None and rule not in references:
                raise fail(
                    f"unknown rule {rule!r} (the rules: {', '.join(sorted(references))})",
                    index,
                    "events",
                    number,
                )
            events.append(event)
            times.append(stamp)
            rules.append(rule)
        expect = spec["expect"]
        if (
            not isinstance(expect, dict)
            or set(expect) != {"groups"}
            or not isinstance(expect["groups"], list)
        ):
            raise fail(
                "`expect` is `{groups: [...]}`: the group-by values of each group reported", index, "expect"
            )
        groups = []
        for number, group in enumerate(expect["groups"]):
            if not isinstance(group, dict) or set(group) != set(correlation.group_by):
                raise fail(
                    "a group gives the value of each group-by field"
                    f" ({', '.join(correlation.group_by) or 'none'})",
                    index,
                    "expect",
                    "groups",
                    number,
                )
            groups.append({str(k): str(v) for k, v in group.items()})
        tests.append(
            CorrelationTest(
                str(spec["name"]), tuple(events), tuple(times), tuple(rules), tuple(groups), index
            )
        )
    return tuple(tests)


def load_rule_file(
    path: Path, site: SiteConfig = DEFAULT, library: RuleLibrary | None = None
) -> Detection | Correlation:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SiemcError(f"cannot read rule: {error}") from None
    return parse_rule_file(text, path, site, library)


def folder_library(paths: Sequence[Path]) -> RuleLibrary:
    """A library over rule files (and folders): a reference resolves to the file defining that name or id."""
    from siemc.compile.build import find_rule_files

    index: dict[str, Path] | None = None

    def lookup(name: str) -> tuple[Path, str] | None:
        nonlocal index
        if index is None:
            index = {}
            for file in find_rule_files(paths):
                try:
                    data = file.read_bytes()
                except OSError:
                    continue
                for defined in defined_names(data):
                    index.setdefault(defined, file)
        found = index.get(name)
        if found is None:
            return None
        return found, found.read_text(encoding="utf-8")

    return lookup
