"""YARA-L 2.0 rules for Google SecOps (Chronicle) over UDM `PROCESS_LAUNCH` events.

Every field is read through the event variable (`$e.`). Comparisons are case-sensitive; `nocase`
after a string or regex comparison ignores case. There is no wildcard operator and no value list:
patterns and lists become one RE2 regex literal `/.../` (unanchored, so siemc anchors it; a `/` in
it is escaped). Strings are double-quoted with backslash escapes. Unset UDM strings equal "".
Predicates on separate lines of `events:` are ANDed; mixed groups are parenthesised. Tests on repeated
UDM fields are quantified with `any`. The outcome section always computes the derived columns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, cast

from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.conversion.state import ConversionState
from sigma.types import (
    SigmaCIDRExpression,
    SigmaFieldReference,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
)

from siemc.compile.backend import (
    DOUBLE_QUOTED_AND_REGEX,
    SiemcBackend,
    WholeValueRegex,
    backslash_string,
    dot_within_line,
    final_line_break_anchors,
    line_breaks_escaped,
    plain_text,
    slash_delimited,
)
from siemc.compile.correlation import Correlation, timespan_text
from siemc.compile.correlation_target import BaseView, CorrelationView
from siemc.compile.placeholders import NamedListValue
from siemc.compile.target import Target
from siemc.diagnostics import Unsupported

EVENT = "$e"
# The UDM fields typed as integers (ports, byte counts, response codes, timestamps); the rest are strings.
_INTEGER_FIELD = re.compile(r"(^|\.)(port|sent_bytes|received_bytes|response_code|seconds|size)$")
# Repeated UDM fields (Noun.ip, Noun.mac, File.names) and fields of repeated messages (DNS questions
# and answers, security_result). A test on such a field is written `any $e.field ...`: an unmodified
# one runs per element ("Repeated fields", unmodified expressions), so `not $e.target.ip = "x"` would
# hold for an event whose other element differs, and two tests could not be met by two elements;
# Sigma means "some element matches", and `not any` "no element matches".
_REPEATED_FIELD = re.compile(
    r"^(?:(?:principal|target|src|observer|intermediary)\.(?:ip|mac)"
    r"|(?:principal|target|src)\.(?:process\.)?file\.names"
    r"|network\.dns\.(?:questions|answers)\..+|security_result\..+)$"
)


yaral_string = backslash_string
_LIST_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_LIST_COUNTS = "yaral_list_counts"  # conversion state: reference-list tests by operator


class YaraLBackend(SiemcBackend):
    name = "siemc YARA-L"
    or_token = "or"
    and_token = "and"
    not_token = "not"
    eq_token = " = "

    pattern_list_as_regex = True
    eq_expression = "{field} = {value} nocase"
    case_sensitive_match_expression = "{field} = {value}"
    re_expression = "{field} = {regex}"
    cidr_expression = 'net.ip_in_range_cidr({field}, "{value}")'
    compare_op_expression = "{field} {operator} {value}"
    # fieldref: Sigma compares the two values without case.
    # A UDM string is never null: an empty one is the absent value, which equals nothing.
    field_equals_field_expression = '({field1} != "" and {field1} = {field2} nocase)'
    field_null_expression = '{field} = ""'
    field_exists_expression = '{field} != ""'
    field_not_exists_expression = '{field} = ""'

    # Lists of exact values are one anchored alternation too: YARA-L has no `in`.
    field_in_list_expression = "{field} = {list}"
    or_in_operator = "nocase"
    cased_in_operator = ""

    string_literals = DOUBLE_QUOTED_AND_REGEX

    # Named lists are reference lists, tested with `in` ("Reference list syntax": `$e.f in %list`
    # for a STRING list, `in regex %list` for a REGEX list, `in cidr %list` for a CIDR list; `nocase`
    # with STRING and REGEX lists, `not` before the test). A STRING list matches whole values with
    # case; a REGEX list's lines are RE2 regexes that match substrings; a CIDR list holds IPv4 and
    # IPv6 ranges ("Reference Lists"). A list ID starts with a letter and holds letters, digits and
    # `_` (referenceLists.create, referenceListId). A rule may hold at most 7 `in` tests, 4 of them
    # `in regex` and 2 `in cidr` ("Reference list syntax").
    named_list_tests: ClassVar[Mapping[str, str]] = {
        "exact": "{field} in {list} nocase",
        "exact_cased": "{field} in {list}",
        "regex": "{field} in regex {list} nocase",
        "regex_cased": "{field} in regex {list}",
        "cidr": "{field} in cidr {list}",
    }
    named_list_reasons: ClassVar[Mapping[str, str]] = {
        key: f"a YARA-L reference list matches whole values, regexes or networks: no list tests its "
        f"entries by {what}"
        for kind, what in (("contains", "substring"), ("startswith", "prefix"), ("endswith", "suffix"))
        for key in (kind, kind + "_cased")
    }

    def named_list_literal(self, value: NamedListValue) -> str:
        return "%" + value.id

    def convert_rule(self, rule: Any, output_format: str | None = None, callback: Any = None) -> Any:
        self._rule = rule  # named lists on repeated fields look at the rule's other tests
        return super().convert_rule(rule, output_format, callback)

    _rule: Any = None

    def convert_named_list(
        self, cond: ConditionFieldEqualsValueExpression, value: NamedListValue, state: ConversionState
    ) -> Any:
        template = self.named_list_tests.get(value.key)
        if template is None:
            raise self.named_list_unsupported(value)
        if not _LIST_ID.fullmatch(value.id):
            raise self.named_list_unsupported(
                value, "a reference list ID starts with a letter and holds only letters, digits and '_'"
            )
        if _REPEATED_FIELD.match(cond.field) and (self._negations or self._field_uses(cond.field) > 1):
            # An unmodified test on a repeated field holds per element ("Repeated fields"), and no
            # `any`/`all` form of `in` is documented: alone and not negated it means "some element".
            raise self.named_list_unsupported(
                value,
                f"{cond.field} is a repeated UDM field, tested per element: a list test on it must "
                "stand alone, not under not nor beside another test of the field",
            )
        processing_state = cast(dict[str, Any], state.processing_state)
        counts: dict[str, int] = processing_state.setdefault(_LIST_COUNTS, {})
        for name in ("in", f"in {value.kind}"):
            counts[name] = counts.get(name, 0) + 1
        for name, limit in (("in", 7), ("in regex", 4), ("in cidr", 2)):
            if counts.get(name, 0) > limit:
                raise self.named_list_unsupported(
                    value, f"a YARA-L rule may hold at most {limit} `{name}` reference-list tests"
                )
        return template.format(field=f"{EVENT}.{cond.field}", list=self.named_list_literal(value))

    def _field_uses(self, field: str) -> int:
        """How many tests of the rule read the field (named lists, values, field references)."""
        count = 0
        pending: list[Any] = list(self._rule.detection.detections.values()) if self._rule else []
        while pending:
            item = pending.pop()
            if hasattr(item, "detection_items"):
                pending.extend(item.detection_items)
                continue
            count += item.field == field
            count += sum(isinstance(v, SigmaFieldReference) and v.field == field for v in item.value)
        return count

    def escape_and_quote_field(self, field_name: str) -> str:
        return ("any " if _REPEATED_FIELD.match(field_name) else "") + f"{EVENT}.{field_name}"

    def convert_condition_field_eq_field(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        assert isinstance(cond.value, SigmaFieldReference)
        if _REPEATED_FIELD.match(cond.field) or _REPEATED_FIELD.match(cond.value.field):
            # "Repeated fields", limitations: any/all cannot join two fields.
            raise Unsupported(f"fieldref: {cond.field} or {cond.value.field} is a repeated UDM field")
        return super().convert_condition_field_eq_field(cond, state)

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        # pySigma would pass the bare field name to cidr_expression.
        assert isinstance(cond.value, SigmaCIDRExpression)
        field = self.escape_and_quote_field(cond.field)
        return self.cidr_expression.format(field=field, value=str(cond.value.network))

    # UDM types its fields: a number compared with a string field is a compile error, so numbers
    # are quoted there, and only integer fields take < and >.
    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        if _INTEGER_FIELD.search(cond.field):
            return super().convert_condition_field_eq_val_num(cond, state)
        return f"{self.escape_and_quote_field(cond.field)} = {yaral_string(str(cond.value))}"

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        if not _INTEGER_FIELD.search(cond.field):
            raise Unsupported(f"UDM field {cond.field} is a string: it cannot be compared with < or >")
        return super().convert_condition_field_compare_op_val(cond, state)

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        return yaral_string(plain_text(s))

    def convert_value_re(self, r: SigmaRegularExpression, state: ConversionState) -> Any:
        # A UDM regex sees only the first line of a value unless `(?s)` is set, so it always is;
        # without Sigma's `s` flag, `.` is then spelled `[^\n]` to keep it within a line.
        body = str(r.regexp)
        if SigmaRegularExpressionFlag.DOTALL not in r.flags:
            body = dot_within_line(body)
        multiline = SigmaRegularExpressionFlag.MULTILINE in r.flags
        if not multiline and not isinstance(r, WholeValueRegex):
            body = final_line_break_anchors(body)  # a Sigma `$` allows a final line break
        inline = "s" + ("m" if multiline else "")
        return f"/(?{inline}){slash_delimited(line_breaks_escaped(body))}/" + (
            " nocase" if SigmaRegularExpressionFlag.IGNORECASE in r.flags else ""
        )

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> Any:
        args = self.field_args(cond)
        if all(isinstance(arg.value, SigmaString) and not arg.value.contains_special() for arg in args):
            return self.exact_list_as_regex(cond, state)  # YARA-L has no list operator for values
        return super().convert_condition_as_in_expression(cond, state)


# The event variable as a whole token outside string, raw-string and regex literals (so a value that
# holds `$e.` is never rewritten when a multi-event rule gives each base rule its own variable).
_EVENT_TOKENS = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`]*`|/(?:[^/\\\n]|\\.)+/|(?<![\w$])\$e(?=\.)')
# Correlation rules become multi-event rules with a sliding window, `match: $group over <span> after
# $pivot` ("Apply YARA-L 2.0 windowing logic": a sliding window is anchored to each pivot event; a hop
# window's "overlap and alignment" are the system's and a tumbling window's origin is undocumented, so
# neither is the reference's). Such a window holds the events less than the span after the pivot (the
# Overview of YARA-L 2.0: with a 5-minute window "only events less than 5 minutes apart are
# correlated"): tests/correlation_engines.py checks YARA-L under that window (`SlidingOpenEnd`).
_ONE_PIVOT = (
    "a sliding window is anchored on one event variable's events, where the reference's windows start"
    " at a hit of any of the rules"
)
_ZERO_INTEGER = (
    "an unset UDM integer reads 0 (YARA-L best practices, 'Filter zero values'), as a real 0 does, so"
    " the events without a value cannot be left out"
)


def rename_event_variable(text: str, variable: str) -> str:
    """A condition of `$e` written for another event variable."""
    return _EVENT_TOKENS.sub(lambda m: variable if m.group(0) == EVENT else m.group(0), text)


class YaraL(Target):
    name = "yaral"
    siem = "Google SecOps / Chronicle (YARA-L 2.0)"
    file_extension = "yaral"
    backend_class = YaraLBackend
    flags_as_text = True  # outcome variables hold strings and numbers, not booleans
    computes_derived_columns = False  # a match placeholder is bound to a UDM field
    # Correlation rules: a multi-event rule with a sliding window. temporal_ordered: one event variable
    # per rule, the window after the first rule's event (`match: ... over <span> after $e1`).
    # event_count and value_count of one rule: its event variable `$e` is the pivot, so a window starts
    # at each of its events, and the condition counts the window's events (`#e`) or the distinct values
    # of a placeholder (`#value`): Condition section syntax, "the number of distinct events or values".
    # value_sum of one rule the same way, the outcome `sum()` compared in the condition.
    correlation_unsupported_types: ClassVar[Mapping[str, str]] = {
        "temporal": f"temporal needs windows from a hit of every rule: {_ONE_PIVOT}",
        # Whether an average, median or percentile took the zeros in or left them out, it would be wrong
        # for the events without a value or for those holding a real 0.
        "value_avg": f"value_avg: {_ZERO_INTEGER} of the average",
        "value_median": f"value_median: {_ZERO_INTEGER} of the ranks",
        "value_percentile": f"value_percentile: {_ZERO_INTEGER} of the ranks",
    }

    def correlation_refuses(self, correlation: Correlation) -> str | None:
        seconds = correlation.timespan_seconds
        if seconds % 60 or not 60 <= seconds <= 48 * 3600:
            return "a match window is whole minutes from 1m to 48h"
        if not correlation.group_by:
            return "a multi-event rule without group-by fields has no match placeholder"
        kind = correlation.kind.name.lower()
        if kind == "value_sum" and correlation.holds(0):
            return f"value_sum accepting 0: {_ZERO_INTEGER}, so a window whose events hold none sums to 0"
        if kind == "value_sum" and len(correlation.bases) > 1:
            return f"value_sum over several rules: {_ONE_PIVOT}"
        if kind in ("event_count", "value_count") and len(correlation.bases) > 1:
            # One event variable for several rules would count an event matching two of them once.
            return f"{kind} over several rules: {_ONE_PIVOT}"
        upper = [op.name.lower() for op, _ in correlation.comparisons if op.name not in ("GT", "GTE")]
        if kind == "value_count" and upper:
            # `$e.<field> != ""` leaves the events without a value out of the count (a placeholder
            # outside the match section keeps its zero value, "Match section syntax") and so out of the
            # pivots too: a window anchored on such an event holds no more values than the next one,
            # which only lower bounds can rely on.
            return (
                f"value_count with an upper bound ({', '.join(upper)}): the windows of the events without"
                " a value are left out, which only gt/gte bounds allow"
            )
        return None

    def correlation_context(self, view: CorrelationView) -> dict[str, Any]:
        if view.correlation.kind.name != "TEMPORAL_ORDERED":
            return self._counting_context(view)
        variables = [f"$e{index + 1}" for index in range(len(view.bases))]
        return {
            "variables": variables,
            "selectors": [
                rename_event_variable(b.source.selector, v)
                for b, v in zip(view.bases, variables, strict=True)
            ],
            "conditions": [
                rename_event_variable(b.condition, v) for b, v in zip(view.bases, variables, strict=True)
            ],
            "span": timespan_text(view.timespan_seconds),
            "rule_name": self.rule_name(view.correlation.sigma.title),
            "placeholders": ["$" + name for name in view.group_names],
        }

    def _counting_context(self, view: CorrelationView) -> dict[str, Any]:
        """event_count / value_count / value_sum of one rule: `$e` is both the counted and the pivot
        variable."""
        (base,) = view.bases
        placeholders = ["$" + name for name in view.group_names]
        value = ""
        if view.correlation.kind.name == "VALUE_SUM":
            return self._sum_context(view, base, placeholders)
        if base.value_field is not None:
            if _INTEGER_FIELD.search(base.value_field):
                raise Unsupported(f"value_count of the integer field {base.value_field}: {_ZERO_INTEGER}")
            if _REPEATED_FIELD.match(base.value_field):
                raise Unsupported(f"value_count of the repeated field {base.value_field}")
            value = "$value"
            while value in placeholders:
                value += "_"
        subject = f"#{value[1:]}" if value else "#e"
        test = view.test(subject, symbols={"==": "="})
        # `$e` bounds the event variable (`#e > 0`) where the count's bounds do not (Condition section
        # syntax, "Bounded and unbounded conditions": `#var > n` with n >= 0, `#var >= m` with m > 0);
        # a placeholder's count goes with `$e`, as the Overview's `$udm and #city > 1`.
        bounded = not value and any(
            (symbol == ">" and count >= 0) or (symbol == ">=" and count > 0)
            for symbol, count in view.comparisons
        )
        return {
            "outcome": "",
            "selector": base.source.selector,
            "condition": base.condition,
            "group_fields": base.group_fields,
            "value": value,
            "value_field": base.value_field,
            "span": timespan_text(view.timespan_seconds),
            "rule_name": self.rule_name(view.correlation.sigma.title),
            "placeholders": placeholders,
            "test": test if bounded else f"$e and {test}",
        }

    def _sum_context(self, view: CorrelationView, base: BaseView, placeholders: list[str]) -> dict[str, Any]:
        """value_sum of one rule whose condition rejects 0: the outcome `sum()` of an integer UDM field
        over the window's events ("sum" page), compared in the condition ("$ ... before any outcome
        variable name to represent the value of that outcome", Condition section syntax). An unset
        integer adds 0, as the reference leaves out a hit without a value."""
        field_name = base.value_field
        assert field_name is not None
        if not _INTEGER_FIELD.search(field_name):
            raise Unsupported(
                f"value_sum of {field_name}: a sum reads a numeric UDM field, and it is a string"
            )
        if _REPEATED_FIELD.match(field_name):
            raise Unsupported(f"value_sum of the repeated field {field_name}")
        outcome = "$sum"
        while outcome in placeholders:
            outcome += "_"
        return {
            "selector": base.source.selector,
            "condition": base.condition,
            "group_fields": base.group_fields,
            "value": "",
            "value_field": field_name,
            "outcome": f"{outcome} = sum($e.{field_name})",
            "span": timespan_text(view.timespan_seconds),
            "rule_name": self.rule_name(view.correlation.sigma.title),
            "placeholders": placeholders,
            "test": "$e and " + view.test(outcome, symbols={"==": "="}),
        }

    def string_literal(self, text: str) -> str:
        return yaral_string(text)

    def rule_name(self, title: str) -> str:
        """A rule identifier: lower-case words joined by underscores, never starting with a digit."""
        name = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "rule"
        return name if not name[0].isdigit() else f"rule_{name}"

    def outcome_name(self, column: str) -> str:
        return "$" + re.sub(r"[^A-Za-z0-9_]", "_", column)

    def outcome_value(self, column: str, derived: set[str]) -> str:
        return self.outcome_name(column) if column in derived else f"{EVENT}.{column}"
