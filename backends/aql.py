"""AQL for IBM QRadar over Windows (Sysmon) events.

Strings are single-quoted with `''` for a quote; names with spaces are double-quoted custom
properties. `=` and `LIKE` are case-sensitive, `ILIKE` is `LIKE` without case; both use `%` and `_`,
which cannot be escaped portably, so values holding them use `IMATCHES`/`MATCHES` (Java regex) instead.
Whether MATCHES must match the whole value is not documented, so every regex is written to match
anywhere either way (`(?s).*...*`, the body's own `.` written out). Java's `.`,
`^`, `$` know more line terminators than Python's, so they are written out (`java_lines`). Equality
and lists without case compare `LOWER(field)`. Without a time clause AQL searches only the last five
minutes. Derived columns follow `SELECT *` when the rule names no columns.

Known gaps (Java vs Sigma's Python regexes): `\\d \\w \\s \\b` are ASCII in Java, Unicode in Python, and
an inline `(?i)` in a rule's regex folds ASCII only (the `i` modifier's non-ASCII letters are spelled
out with their other cases).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from sigma.conversion.state import ConversionState
from sigma.types import (
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
)

from siemc.compile.backend import SiemcBackend, found_anywhere, regex_tokens, whole_value_reasons
from siemc.compile.correlation import Correlation
from siemc.compile.correlation_target import CorrelationView
from siemc.compile.extension import Lookback
from siemc.compile.placeholders import NamedListValue
from siemc.compile.target import Target
from siemc.diagnostics import Unsupported


def aql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class AqlBackend(SiemcBackend):
    name = "siemc AQL"
    # '...' strings double their quotes (no escapes); "..." are property names.
    string_literals = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"")
    or_token = "OR"
    and_token = "AND"
    not_token = "NOT"
    eq_token = " = "

    wildcard_multi = "%"
    wildcard_single = "_"
    unescapable_pattern_chars = "%_"
    bool_values: ClassVar[dict[bool, str | None]] = {True: "'true'", False: "'false'"}

    case_fold_expression = "LOWER({field})"
    case_sensitive_match_expression = "{field} = {value}"
    pattern_match_expression = "{field} LIKE {value}"
    insensitive_pattern_match_expression = "{field} ILIKE {value}"

    re_expression = "{field} {operator} {regex}"
    cidr_expression = "INCIDR('{value}', {field})"
    compare_op_expression = "{field} {operator} {value}"
    field_null_expression = "{field} IS NULL"
    null_guard_expression = "({field} IS NOT NULL AND {expr})"
    # fieldref: Sigma compares the two values without case (startswith/endswith/contains have no
    # exact form: LIKE would read the other field's % and _ as wildcards).
    field_equals_field_expression = "LOWER({field1}) = LOWER({field2})"
    field_exists_expression = "{field} IS NOT NULL"
    field_not_exists_expression = "{field} IS NULL"

    field_in_list_expression = "{field} {op} ({list})"
    or_in_operator = "IN"
    cased_in_operator = "IN"
    number_in_operator = "IN"
    list_separator = ", "

    end_of_value_anchor = "\\z"  # Java's `$` also matches before a final line break

    # Named lists are QRadar reference sets: REFERENCESETCONTAINS('set', value) is true when the set
    # holds the value (Ariel Query Language guide, "AQL data retrieval functions"). A set of type
    # "Alphanumeric (Ignore Case)" stores every value in lower case ("Adding, editing, and deleting
    # reference sets", Type), so a case-insensitive test looks the value up in lower case; a
    # case-sensitive one needs an "Alphanumeric" set and the value as it is. QRadar documents no
    # pattern, regex or network match for REFERENCESETCONTAINS.
    named_list_tests: ClassVar[Mapping[str, str]] = {
        "exact": "REFERENCESETCONTAINS({list}, LOWER({field}))",
        "exact_cased": "REFERENCESETCONTAINS({list}, {field})",
    }
    named_list_reasons: ClassVar[Mapping[str, str]] = {
        **whole_value_reasons("REFERENCESETCONTAINS", "a reference set"),
        "cidr": "QRadar documents no network match for REFERENCESETCONTAINS (an IP reference set "
        "holds addresses)",
    }

    def named_list_literal(self, value: NamedListValue) -> str:
        return aql_string(value.id)

    def escape_and_quote_field(self, field_name: str) -> str:
        # Normalised columns (username) are bare; custom properties and functions are given as written.
        return field_name

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        return aql_string(
            s.convert(escape_char=None, wildcard_multi="%", wildcard_single="_", add_escaped="")
        )

    def convert_condition_field_eq_val_re(self, cond: Any, state: ConversionState) -> Any:
        regex: SigmaRegularExpression = cond.value
        insensitive = SigmaRegularExpressionFlag.IGNORECASE in regex.flags
        body = java_lines(
            str(regex.regexp),
            dotall=SigmaRegularExpressionFlag.DOTALL in regex.flags,
            multiline=SigmaRegularExpressionFlag.MULTILINE in regex.flags,
            fold=insensitive,
        )
        operator = "IMATCHES" if insensitive else "MATCHES"
        # java_lines wrote every `.` of the body explicitly, so `(?s)` changes only the runs around it.
        multiline = SigmaRegularExpressionFlag.MULTILINE in regex.flags
        text = "(?s)" + found_anywhere(body, ".*", anchors_are_edges=not multiline)
        return f"{self.escape_and_quote_field(cond.field)} {operator} {aql_string(text)}"


def _cases(char: str) -> str:
    """A non-ASCII letter with its other cases: Java's CASE_INSENSITIVE (IMATCHES) folds ASCII only,
    Sigma's (Python's) regex folds every letter."""
    if char.isascii():
        return char
    variants = {c for c in (char.lower(), char.upper()) if len(c) == 1} - {char}
    return char + "".join(sorted(variants))


def java_lines(regexp: str, dotall: bool, multiline: bool, fold: bool = False) -> str:
    """A Sigma (Python) regex whose `.`, `^` and `$` mean in Java what they mean in Python.

    Java's line terminators are \\n, \\r, \\r\\n, U+0085, U+2028 and U+2029 (java.util.regex.Pattern,
    "Line terminators"): its `.` stops at each, and `$` also matches before a final one. Python knows
    only \\n. So `.` is `[^\\n]` (or any character under the s flag), `$` is `(?=\\n?\\z)` (under m, before
    any \\n or at the end) and, under m, `^` is "not after a character other than \\n".
    """
    out = []
    for start, token, in_class in regex_tokens(regexp):
        if len(token) == 2 and token.startswith("\\"):
            pass  # an escape stays as written
        elif in_class:
            if fold and not token.isascii():
                if "-" in (regexp[start - 1 : start], regexp[start + 1 : start + 2]):
                    raise Unsupported("AQL: a case-insensitive regex with a non-ASCII range")
                token = _cases(token)
        elif fold and len(token) == 1 and len(_cases(token)) > 1:
            token = "[" + _cases(token) + "]"
        elif token == ".":
            token = "(?s:.)" if dotall else "[^\\n]"
        elif token == "$":
            token = "(?=\\n|\\z)" if multiline else "(?=\\n?\\z)"
        elif token == "^" and multiline:
            token = "(?<![^\\n])"
        out.append(token)
    return "".join(out)


class Aql(Target):
    name = "aql"
    siem = "IBM QRadar (AQL)"
    file_extension = "aql"
    backend_class = AqlBackend
    native_field_name = re.compile(r'[A-Za-z_][\w]*|"[^"\n]+"')
    native_field_hint = (
        'a normalised column (username) or a custom property in double quotes ("Process Name")'
    )
    flags_as_text = True  # AQL has no boolean literal for a computed column
    computes_derived_columns = False  # not in a correlation query (yet)
    # Correlation rules: `GROUP BY <group> HAVING COUNT(*)` over one window, the `LAST n MINUTES`
    # before the search runs (IBM's aggregation functions page: COUNT, GROUP BY, HAVING).
    correlation_unsupported_types: ClassVar[Mapping[str, str]] = {
        "value_count": "DISTINCTCOUNT() is an estimate (HyperLogLog+), and AQL has no subquery to count"
        " distinct values exactly",
        "temporal": "AQL documents no per-rule count inside an aggregate (CASE inside COUNT or SUM)",
        "temporal_ordered": "an aggregate keeps no order of events",
        "value_sum": "how SUM() treats a value that is no number is not established",
        "value_avg": "how AVG() treats a value that is no number is not established",
        "value_percentile": "AQL has no percentile aggregate",
        "value_median": "AQL has no median aggregate",
    }

    def correlation_refuses(self, correlation: Correlation) -> str | None:
        if len(correlation.bases) > 1:
            return (
                "an event count over several rules: an event matching two of them counts twice,"
                " which COUNT(*) cannot say"
            )
        if correlation.timespan_seconds % 60:
            return "LAST takes whole minutes"
        if not correlation.group_by:
            return "COUNT(*) needs GROUP BY here: a correlation without group-by fields is not converted"
        return None

    def correlation_context(self, view: CorrelationView) -> dict[str, Any]:
        minutes = view.timespan_seconds // 60
        return {"last": f"LAST {minutes} MINUTES"}

    def string_literal(self, text: str) -> str:
        return aql_string(text)

    def time_clause(self, lookback: Lookback) -> str:
        """`LAST n MINUTES|HOURS|DAYS` in the rule's own unit (seconds round up to minutes)."""
        if lookback.unit == "s":
            return f"LAST {-(-lookback.amount // 60)} MINUTES"
        return f"LAST {lookback.amount} {dict(m='MINUTES', h='HOURS', d='DAYS')[lookback.unit]}"
