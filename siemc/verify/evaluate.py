"""Reference evaluator: Sigma semantics applied to events in Python, independent of every backend.

A rule is compiled once into closures over pySigma's condition tree; an event is a mapping of Sigma
field names to values. The backends' output is checked against what this module says a rule means:

- A string value matches the whole field value, case-insensitively unless `cased`; `*` and `?` are
  wildcards (pySigma has already turned escaped `\\*`, `\\?`, `\\\\` into plain text).
- A regular expression is searched (unanchored) and is case-sensitive unless it has the `i` flag.
- A number matches the same number or its decimal string form; gt/gte/lt/lte compare numerically.
- A field holding a list matches when any element does; a missing field matches nothing but `null`
  and `exists: false`, so `not` over a missing field is true.
- Keywords (values without a field) match as a substring of any value of the event.
- `ImageName` / `ParentImageName` are derived from `Image` / `ParentImage` when absent.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
    TimestampPart,
)

from siemc.compile.extension import DerivedColumn
from siemc.compile.fields import FILE_NAME_FIELDS
from siemc.compile.placeholders import CIDR_SUFFIX, literal_sigma_text
from siemc.compile.rule import Detection
from siemc.config import ListEntries
from siemc.diagnostics import SiemcError

Event = Mapping[str, Any]
Predicate = Callable[[Event], bool]
ValueTest = Callable[[Any], bool]  # tests one scalar field value
TextTest = Callable[[str], bool]
Placeholders = Mapping[str, str | Sequence[str]]
Condition = ConditionItem | ConditionFieldEqualsValueExpression | ConditionValueExpression

_MISSING: Any = object()
_PATH_FIELDS = {name: path for path, name in FILE_NAME_FIELDS.items()}
_REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}
_COMPARE: Mapping[CompareOperators, Callable[[float, float], bool]] = {
    CompareOperators.LT: lambda a, b: a < b,
    CompareOperators.LTE: lambda a, b: a <= b,
    CompareOperators.GT: lambda a, b: a > b,
    CompareOperators.GTE: lambda a, b: a >= b,
    CompareOperators.NEQ: lambda a, b: a != b,
}
_FRACTION_DIGITS = re.compile(r"(\.\d{6})\d+")


class EvaluationError(SiemcError):
    """A rule the evaluator cannot run (unknown placeholder, a value type with no event meaning)."""


@dataclass(frozen=True)
class Match:
    """A matching event: its position in the input (0-based) and the derived column values."""

    index: int
    fields: dict[str, str | bool] = field(default_factory=dict)


# --- event access -------------------------------------------------------------------------------


def file_name(path: str) -> str:
    """The file-name part of a Windows or POSIX path: the text after the last `\\` or `/`."""
    return path[max(path.rfind("\\"), path.rfind("/")) + 1 :]


def _getter(name: str) -> Callable[[Event], Any]:
    """Field lookup: the key itself, else a virtual file-name field, else a dotted path into nested maps."""
    path_field = _PATH_FIELDS.get(name)
    dotted = name.split(".") if "." in name else None

    def get(event: Event) -> Any:
        value = event.get(name, _MISSING)
        if value is not _MISSING:
            return value
        if path_field is not None:
            path = event.get(path_field)
            return file_name(path) if isinstance(path, str) else _MISSING
        if dotted is not None:
            node: Any = event
            for key in dotted:
                if not isinstance(node, Mapping) or key not in node:
                    return _MISSING
                node = node[key]
            return node
        return _MISSING

    return get


def _text(value: Any) -> str | None:
    """The string form a string pattern is tested against; None for values that have none."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return str(value)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 16) if text[:2].lower() == "0x" else float(text)
        except ValueError:
            return None
    return None


def _scalars(value: Any) -> Iterator[Any]:
    """Every scalar inside a value (keywords search all of them)."""
    if isinstance(value, Mapping):
        for inner in value.values():
            yield from _scalars(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _scalars(inner)
    elif value is not None:
        yield value


def _is_null(value: Any) -> bool:
    return value is _MISSING or value is None or (isinstance(value, list) and not value)


def _on_field(name: str, test: ValueTest) -> Predicate:
    """A value test applied to a field: false when absent, any element of a list."""
    if name in _PATH_FIELDS or "." in name:
        get = _getter(name)

        def derived_field(event: Event) -> bool:
            return _test_value(get(event), test)

        return derived_field

    def plain_field(event: Event) -> bool:  # the common case: one dict lookup, no fallbacks
        value = event.get(name)
        if value is None:
            return False
        if type(value) is str:
            return test(value)
        return _test_value(value, test)

    return plain_field


def _test_value(value: Any, test: ValueTest) -> bool:
    if value is _MISSING or value is None:
        return False
    if isinstance(value, list | tuple):
        return any(test(item) for item in value)
    return test(value)


# --- string patterns ----------------------------------------------------------------------------

Parts = list[str | SpecialChars]


def _pattern_regex(parts: Parts) -> str:
    return "".join(
        ".*"
        if part is SpecialChars.WILDCARD_MULTI
        else "."
        if part is SpecialChars.WILDCARD_SINGLE
        else re.escape(str(part))
        for part in parts
    )


def _literal_set_test(patterns: list[Parts]) -> TextTest:
    """One test for an OR of wildcard patterns over texts already case-normalised like the patterns.

    Long value lists are common in Sigma (tool names, paths), so the patterns are sorted into exact
    values (a set), prefixes and suffixes (str.startswith/endswith with a tuple), infixes (one regex
    alternation searched once) and the rest (one anchored alternation).
    """
    exact: set[str] = set()
    prefixes: list[str] = []
    suffixes: list[str] = []
    infixes: list[str] = []
    general: list[str] = []
    multi = SpecialChars.WILDCARD_MULTI
    for parts in patterns:
        literal = [p for p in parts if isinstance(p, str)]
        specials = [p for p in parts if not isinstance(p, str)]
        if not specials:
            exact.add("".join(literal))
        elif parts == [multi]:
            return lambda text: True
        elif len(parts) == 2 and parts[1] is multi and isinstance(parts[0], str):
            prefixes.append(parts[0])
        elif len(parts) == 2 and parts[0] is multi and isinstance(parts[1], str):
            suffixes.append(parts[1])
        elif len(parts) == 3 and parts[0] is multi and parts[2] is multi and isinstance(parts[1], str):
            infixes.append(parts[1])
        else:
            general.append(_pattern_regex(parts))
    prefix_tuple, suffix_tuple = tuple(prefixes), tuple(suffixes)
    infix_regex = re.compile("|".join(map(re.escape, infixes)), re.DOTALL) if infixes else None
    general_regex = re.compile("(?:" + ")|(?:".join(general) + ")", re.DOTALL) if general else None

    # One closure per kind that is present: most value lists hold a single kind.
    tests: list[TextTest] = []
    if exact:
        tests.append(exact.__contains__)
    if prefix_tuple:
        tests.append(lambda text: text.startswith(prefix_tuple))
    if suffix_tuple:
        tests.append(lambda text: text.endswith(suffix_tuple))
    if infix_regex is not None:
        search = infix_regex.search
        tests.append(lambda text: search(text) is not None)
    if general_regex is not None:
        fullmatch = general_regex.fullmatch
        tests.append(lambda text: fullmatch(text) is not None)
    return _any_of(tests)


def _strings_test(strings: Sequence[tuple[Parts, bool]]) -> ValueTest:
    """OR of string patterns, each (parts, cased): case-insensitive ones compare lower-cased text."""
    folded = [
        [p.lower() if isinstance(p, str) else p for p in parts] for parts, cased in strings if not cased
    ]
    cased_patterns = [parts for parts, cased in strings if cased]
    folded_test = _literal_set_test(folded) if folded else None
    cased_test = _literal_set_test(cased_patterns) if cased_patterns else None

    if cased_test is None and folded_test is not None:
        only_folded = folded_test

        def folded_only(value: Any) -> bool:
            text = value if type(value) is str else _text(value)
            return text is not None and only_folded(text.lower())

        return folded_only

    def test(value: Any) -> bool:
        text = _text(value)
        if text is None:
            return False
        return (folded_test is not None and folded_test(text.lower())) or (
            cased_test is not None and cased_test(text)
        )

    return test


def _any_of(tests: Sequence[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    return _first_decides(tests, True)


def _all_of(tests: Sequence[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    return _first_decides(tests, False)


def _first_decides(tests: Sequence[Callable[[Any], bool]], decisive: bool) -> Callable[[Any], bool]:
    """OR (`decisive` True) or AND (False) of tests: the first test to return `decisive` decides."""
    if len(tests) == 1:
        return tests[0]
    chain = tuple(tests)

    def combined(item: Any) -> bool:
        for test in chain:  # a plain loop: any()/all() would build a generator per call
            if bool(test(item)) is decisive:
                return decisive
        return not decisive

    return combined


def _cidr_test(network: Any) -> ValueTest:
    def cidr_test(v: Any) -> bool:
        try:
            return ipaddress.ip_address(str(v).strip()) in network
        except ValueError:
            return False

    return cidr_test


# --- the compiler -------------------------------------------------------------------------------


class _Compiler:
    """Turns one pySigma condition tree into a predicate over events."""

    def __init__(self, placeholders: Placeholders | None, empty_is_null: bool = False) -> None:
        self.placeholders = placeholders
        self.empty_is_null = empty_is_null

    # Values ------------------------------------------------------------------------------------

    def _expand(self, value: SigmaString) -> list[SigmaString]:
        """Resolve `expand` placeholders (%name%) into one string per configured value."""
        if not value.contains_placeholder():
            return [value]

        def replacements(placeholder: Placeholder) -> Iterator[SigmaString]:
            # Placeholder values are Sigma strings: they may hold wildcards, as in pySigma pipelines.
            # A named list's entries are the SIEM list's plain values: matched as literal text.
            literal = isinstance(self._raw_values(placeholder), ListEntries)
            for text in self._placeholder_values(placeholder):
                yield SigmaString(literal_sigma_text(text) if literal else text)

        return value.replace_placeholders(replacements)

    def _string_patterns(self, value: SigmaType, keyword: bool) -> list[tuple[Parts, bool]] | None:
        """The wildcard patterns of a string value (expansions flattened); None for other types."""
        if isinstance(value, SigmaExpansion):
            patterns: list[tuple[Parts, bool]] = []
            for inner in value.values:
                inner_patterns = self._string_patterns(inner, keyword)
                if inner_patterns is None:
                    return None
                patterns.extend(inner_patterns)
            return patterns
        if not isinstance(value, SigmaString):
            return None
        cased = isinstance(value, SigmaCasedString)
        patterns = []
        for expanded in self._expand(value):
            parts: Parts = [p for p in expanded.s if not isinstance(p, Placeholder)]
            if keyword:  # keywords are full-text terms: they match anywhere in a value
                if not parts or parts[0] is not SpecialChars.WILDCARD_MULTI:
                    parts.insert(0, SpecialChars.WILDCARD_MULTI)
                if parts[-1] is not SpecialChars.WILDCARD_MULTI:
                    parts.append(SpecialChars.WILDCARD_MULTI)
            patterns.append((parts, cased))
        return patterns

    def _regex(self, value: SigmaRegularExpression) -> re.Pattern[str]:
        flags = 0
        for flag in value.flags:
            flags |= _REGEX_FLAGS[flag]
        texts = self._regex_texts(value.regexp)
        pattern = "|".join(f"(?:{text})" for text in texts) if len(texts) > 1 else texts[0]
        return re.compile(pattern, flags)

    def _regex_texts(self, regexp: SigmaString) -> list[str]:
        """Regex source, one per combination of placeholder values (inserted as regex text, as pySigma
        does). pySigma keeps a regex's `*` and `?` as special parts: they are written back as is."""
        texts = [""]
        for part in regexp.s:
            if isinstance(part, Placeholder):
                values = self._placeholder_values(part)
                texts = [text + value for text in texts for value in values]
            else:
                piece = (
                    "*"
                    if part is SpecialChars.WILDCARD_MULTI
                    else "?"
                    if part is SpecialChars.WILDCARD_SINGLE
                    else part
                )
                texts = [text + str(piece) for text in texts]
        return texts

    def _raw_values(self, placeholder: Placeholder) -> str | Sequence[str] | None:
        return (self.placeholders or {}).get(placeholder.name.removesuffix(CIDR_SUFFIX))

    def _placeholder_values(self, placeholder: Placeholder) -> list[str]:
        values = self._raw_values(placeholder)
        if values is None:
            known = ", ".join(sorted(self.placeholders or {})) or "none configured"
            name = placeholder.name.removesuffix(CIDR_SUFFIX)
            raise EvaluationError(f"no value for placeholder %{name}% (known: {known})")
        return [values] if isinstance(values, str) else list(values)

    def _named_networks(self, value: SigmaType) -> list[Any] | None:
        """The networks of a named list tested with `cidr` (`Field|expand|cidr: '%name%'`, which the
        loader keeps as the placeholder `name|cidr`), None for any other value."""
        parts = getattr(value, "s", None) if isinstance(value, SigmaString) else None
        if not parts or len(parts) != 1 or not isinstance(parts[0], Placeholder):
            return None
        if not parts[0].name.endswith(CIDR_SUFFIX):
            return None
        try:
            return [ipaddress.ip_network(v, strict=False) for v in self._placeholder_values(parts[0])]
        except ValueError as error:
            raise EvaluationError(f"placeholder %{parts[0].name}%: {error}") from None

    def value_test(self, value: SigmaType, keyword: bool = False) -> ValueTest:
        """A test of one scalar event value against one Sigma value (not null/exists/fieldref)."""
        networks = self._named_networks(value)
        if networks is not None:
            return _any_of([_cidr_test(network) for network in networks])
        strings = self._string_patterns(value, keyword)
        if strings is not None:
            return _strings_test(strings)
        if isinstance(value, SigmaExpansion):
            return _any_of([self.value_test(inner, keyword) for inner in value.values])
        if isinstance(value, SigmaRegularExpression):
            regex = self._regex(value)

            def regex_test(v: Any) -> bool:
                text = _text(v)
                return text is not None and regex.search(text) is not None

            return regex_test
        if isinstance(value, SigmaTimestampPart):
            return _timestamp_part_test(value.timestamp_part, value.number)
        if isinstance(value, SigmaNumber):
            if keyword:
                return _strings_test(
                    [([SpecialChars.WILDCARD_MULTI, str(value.number), SpecialChars.WILDCARD_MULTI], False)]
                )
            return _number_test(value.number)
        if isinstance(value, SigmaBool):
            return _bool_test(value.boolean)
        if isinstance(value, SigmaCompareExpression):
            compare, bound = _COMPARE[value.op], value.number.number

            def compare_test(v: Any) -> bool:
                number = _number(v)
                return number is not None and compare(number, bound)

            return compare_test
        if isinstance(value, SigmaCIDRExpression):
            return _cidr_test(value.network)
        raise EvaluationError(f"values of type {type(value).__name__} cannot be evaluated on events")

    # Conditions --------------------------------------------------------------------------------

    def field_predicate(self, name: str, value: SigmaType) -> Predicate:
        get = _getter(name)
        if self.empty_is_null:
            # Data models without null strings (Kusto, UDM): an empty value is the absent value.
            get = _empty_as_missing(get)
            if isinstance(value, (SigmaNull, SigmaExists)):
                absent = isinstance(value, SigmaNull) or not value.exists
                return lambda event: _is_null(get(event)) is absent
        if isinstance(value, SigmaNull):
            return lambda event: _is_null(get(event))
        if isinstance(value, SigmaExists):
            # The specification's `exists` tests presence only: a field holding null exists.
            expected = value.exists
            return lambda event: (get(event) is not _MISSING) is expected
        if isinstance(value, SigmaFieldReference):
            get_other = _getter(value.field)
            if self.empty_is_null:
                get_other = _empty_as_missing(get_other)
            return _field_reference(get, get_other, value.starts_with, value.ends_with)
        return _on_field(name, self.value_test(value))

    def keyword_predicate(self, test: ValueTest) -> Predicate:
        return lambda event: any(test(value) for value in _scalars(event))

    def compile(self, node: Condition | None) -> Predicate:
        if node is None:
            raise EvaluationError("the condition selects no detection")
        if isinstance(node, ConditionFieldEqualsValueExpression):
            return self.field_predicate(node.field, node.value)
        if isinstance(node, ConditionValueExpression):
            return self.keyword_predicate(self.value_test(node.value, keyword=True))
        if isinstance(node, ConditionNOT):
            inner = self.compile(node.args[0])
            return lambda event: not inner(event)
        if isinstance(node, ConditionAND):
            return _all_of([self.compile(arg) for arg in node.args])
        if isinstance(node, ConditionOR):
            return _any_of(list(self._or_operands(node.args)))
        raise EvaluationError(f"unexpected condition element {type(node).__name__}")

    def _or_operands(self, args: Iterable[Condition | None]) -> Iterator[Predicate]:
        """OR operands, with the string values of one field (or of keywords) merged into one test."""
        by_field: dict[str | None, list[tuple[Parts, bool]]] = {}
        for arg in args:
            if isinstance(arg, ConditionFieldEqualsValueExpression | ConditionValueExpression):
                keyword = isinstance(arg, ConditionValueExpression)
                patterns = self._string_patterns(arg.value, keyword)
                if patterns is not None:
                    key = None if keyword else arg.field  # type: ignore[union-attr]
                    by_field.setdefault(key, []).extend(patterns)
                    continue
            yield self.compile(arg)
        for name, patterns in by_field.items():
            test = _strings_test(patterns)
            yield self.keyword_predicate(test) if name is None else _on_field(name, test)


def _number_test(number: float) -> ValueTest:
    text = str(number)

    def test(v: Any) -> bool:
        if isinstance(v, bool):
            return False
        if isinstance(v, int | float):
            return v == number
        return isinstance(v, str) and v.strip() == text

    return test


def _bool_test(expected: bool) -> ValueTest:
    text = "true" if expected else "false"

    def test(v: Any) -> bool:
        if isinstance(v, bool):
            return v is expected
        return isinstance(v, str) and v.strip().lower() == text

    return test


def _empty_as_missing(get: Callable[[Event], Any]) -> Callable[[Event], Any]:
    return lambda event: _MISSING if (value := get(event)) == "" else value


def _field_reference(
    get: Callable[[Event], Any], get_other: Callable[[Event], Any], starts: bool, ends: bool
) -> Predicate:
    """`fieldref`: the field equals (or starts/ends with, or contains) another field's value."""

    def predicate(event: Event) -> bool:
        value, other = _text(get(event)), _text(get_other(event))
        if value is None or other is None:
            return False
        value, other = value.lower(), other.lower()
        if starts and ends:
            return other in value
        if starts:
            return value.startswith(other)
        if ends:
            return value.endswith(other)
        return value == other

    return predicate


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value  # epoch milliseconds are common
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(_FRACTION_DIGITS.sub(r"\1", value.strip()))
        except ValueError:
            return None
    return None


def _timestamp_part_test(part: TimestampPart, expected: float) -> ValueTest:
    extract: Callable[[datetime], int] = {
        TimestampPart.MINUTE: lambda t: t.minute,
        TimestampPart.HOUR: lambda t: t.hour,
        TimestampPart.DAY: lambda t: t.day,
        TimestampPart.WEEK: lambda t: t.isocalendar().week,
        TimestampPart.MONTH: lambda t: t.month,
        TimestampPart.YEAR: lambda t: t.year,
    }[part]

    def test(v: Any) -> bool:
        stamp = _timestamp(v)
        return stamp is not None and extract(stamp) == expected

    return test


def compile_rule(
    rule: SigmaRule, placeholders: Placeholders | None = None, empty_is_null: bool = False
) -> Predicate:
    """The rule as one predicate: true when any of its conditions holds for the event.

    `empty_is_null` reads `null` and `exists` for data models where a string is never null and an
    absent value is the empty string (Kusto columns, UDM fields): there "" is null.
    """
    compiler = _Compiler(placeholders, empty_is_null)
    try:
        conditions = [compiler.compile(condition.parse()) for condition in rule.detection.parsed_condition]
    except SigmaError as error:
        raise EvaluationError(str(error).split(" in /")[0]) from None
    return _any_of(conditions)


# --- public API ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CompiledColumn:
    name: str
    cases: tuple[tuple[Predicate, str], ...]
    default: str | bool


class Evaluator:
    """A rule compiled once: `matches(event)` and the derived columns of an event."""

    def __init__(self, predicate: Predicate, columns: Sequence[_CompiledColumn] = ()) -> None:
        self._predicate = predicate
        self._columns = tuple(columns)

    @classmethod
    def for_rule(
        cls, rule: SigmaRule, placeholders: Placeholders | None = None, empty_is_null: bool = False
    ) -> Evaluator:
        """A plain Sigma rule (no derived columns)."""
        return cls(compile_rule(rule, placeholders, empty_is_null))

    @classmethod
    def for_detection(
        cls, detection: Detection, placeholders: Placeholders | None = None, empty_is_null: bool = False
    ) -> Evaluator:
        """A siemc rule: the detection and each derived column of its extension."""
        columns = [
            _compile_column(detection, column, placeholders, empty_is_null)
            for column in detection.extension.derive
        ]
        return cls(compile_rule(detection.sigma, placeholders, empty_is_null), columns)

    def matches(self, event: Event) -> bool:
        return self._predicate(event)

    def evaluate(self, events: Iterable[Event], accept: Predicate | None = None) -> list[Match]:
        """Matching events in input order with their derived columns; `accept` pre-filters events
        (e.g. by log source) without shifting the indexes."""
        return [
            Match(index, self.derived(event))
            for index, event in enumerate(events)
            if (accept is None or accept(event)) and self.matches(event)
        ]

    def derived(self, event: Event) -> dict[str, str | bool]:
        """Derived columns: a category is the first case whose `when` matches, a flag whether it does."""
        values: dict[str, str | bool] = {}
        for column in self._columns:
            if isinstance(column.default, bool):
                values[column.name] = column.cases[0][0](event)
                continue
            values[column.name] = next((then for when, then in column.cases if when(event)), column.default)
        return values


def _compile_column(
    detection: Detection, column: DerivedColumn, placeholders: Placeholders | None, empty_is_null: bool
) -> _CompiledColumn:
    cases = []
    for case in column.cases:
        try:
            rule = detection.condition_rule(case.when)
        except SigmaError as error:
            raise EvaluationError(f"derived column {column.name}: {error}") from None
        cases.append((compile_rule(rule, placeholders, empty_is_null), case.then))
    return _CompiledColumn(column.name, tuple(cases), column.default)


def evaluate(
    detection: Detection,
    events: Iterable[Event],
    placeholders: Placeholders | None = None,
    accept: Predicate | None = None,
) -> list[Match]:
    """Compile the detection and return the events it matches (see Evaluator.evaluate)."""
    return Evaluator.for_detection(detection, placeholders).evaluate(events, accept)
