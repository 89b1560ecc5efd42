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
from typing import Any

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


class YaraL(Target):
    name = "yaral"
    siem = "Google SecOps / Chronicle (YARA-L 2.0)"
    file_extension = "yaral"
    backend_class = YaraLBackend
    flags_as_text = True  # outcome variables hold strings and numbers, not booleans

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
