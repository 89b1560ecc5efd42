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
from siemc.compile.correlation_target import CorrelationView
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
_NOT_MULTI_EVENT = (
    "a multi-event rule with a hop window (`over` alone), whose alignment Google does not document"
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
    # Correlation rules: a multi-event rule. temporal_ordered uses the sliding window anchored on the
    # first rule's event (`match: ... over <span> after $e1`), which is the reference's window; the
    # counting types would need hop windows or `#e` counts over them.
    correlation_unsupported_types: ClassVar[Mapping[str, str]] = {
        name: f"{name} needs {_NOT_MULTI_EVENT}"
        for name in (
            "event_count",
            "value_count",
            "temporal",
            "value_sum",
            "value_avg",
            "value_percentile",
            "value_median",
        )
    }

    def correlation_refuses(self, correlation: Correlation) -> str | None:
        seconds = correlation.timespan_seconds
        if seconds % 60 or not 60 <= seconds <= 48 * 3600:
            return "a match window is whole minutes from 1m to 48h"
        if not correlation.group_by:
            return "a multi-event rule without group-by fields has no match placeholder"
        return None

    def correlation_context(self, view: CorrelationView) -> dict[str, Any]:
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
