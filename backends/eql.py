"""EQL for Elastic Security over ECS process events.

The filter comes from the official pySigma Elasticsearch EQL backend: `:` is case-insensitive
equality with `*`/`?` wildcards and lists (`field : ("a", "b")`), `like~` the same for patterns,
`==`, `in` and `like` are case-sensitive, strings are double-quoted with backslash escapes. `regex` is
a Lucene regex matched against the whole value: Sigma's Python regexes are rewritten (siemc/compile/lucene.py;
lookaround and backreferences have no Lucene form and are unsupported). A test on a
missing field is null and stays null under `not`, so tests under a NOT are guarded by the field's
presence. EQL cannot compute columns, so derived columns are written into the header as the rule's
categorisation guide.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from re import Pattern
from typing import Any, ClassVar

from sigma.backends.elasticsearch.elasticsearch_eql import EqlBackend as ElasticEqlBackend
from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from siemc.compile.backend import (
    BoundedChains,
    NamedListTests,
    end_of_value_anchors,
    plain_text,
    wildcard_regex,
)
from siemc.compile.correlation import Correlation, timespan_text
from siemc.compile.correlation_target import CorrelationView
from siemc.compile.lucene import lucene_regex
from siemc.compile.placeholders import NamedListValue, literal_sigma_text
from siemc.compile.target import Target

NUMERIC_SUFFIXES = (".pid", ".port", ".status_code", ".bytes", ".packets")


def eql_string(text: str) -> str:
    """A double-quoted EQL string with backslash escapes."""
    return '"' + _control_escaped(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def _control_escaped(text: str) -> str:
    # A raw line break cannot be in a string; other control characters can (the eql library
    # misreads two `\u{...}` escapes in one string, so they are not used).
    return text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def _holds_literal_wildcard(value: SigmaString) -> bool:
    return any(c in part for part in value.s if isinstance(part, str) for c in "*?")


class EqlBackend(NamedListTests, BoundedChains, ElasticEqlBackend):
    """The official backend, returning the bare condition (the template writes `process where`)."""

    # `:` is `like~` (case-insensitive, wildcards), and is how Elastic's own rules write lists.
    or_in_operator: ClassVar[str] = " : "
    # Names that are not plain identifiers (`c-uri`, a leading digit, a space) go in backticks.
    field_quote_pattern: ClassVar[Pattern[str]] = re.compile(r"^\d|.*[\s-]")

    def decide_convert_condition_as_in_expression(self, cond: Any, state: ConversionState) -> bool:
        # A literal `*` or `?` cannot be said in a `:` pattern: such values are matched one by one.
        if any(
            isinstance(arg, ConditionFieldEqualsValueExpression)
            and isinstance(arg.value, SigmaString)
            and _holds_literal_wildcard(arg.value)
            for arg in cond.args
        ):
            return False
        cased = [
            isinstance(arg, ConditionFieldEqualsValueExpression) and isinstance(arg.value, SigmaCasedString)
            for arg in cond.args
        ]
        if any(cased) and not (all(cased) and not any(arg.value.contains_special() for arg in cond.args)):
            return False  # `:` folds case; a case-sensitive list is `in` of plain values only
        return bool(super().decide_convert_condition_as_in_expression(cond, state))

    def convert_condition_as_in_expression(self, cond: Any, state: ConversionState) -> Any:
        values = [arg.value for arg in cond.args]
        if all(isinstance(value, SigmaCasedString) for value in values):
            cased = ", ".join(eql_string(plain_text(value)) for value in values)
            return f"{self.escape_and_quote_field(cond.args[0].field)} in ({cased})"
        if not any(isinstance(value, SigmaNumber) for value in values):
            return super().convert_condition_as_in_expression(cond, state)
        field = self.escape_and_quote_field(cond.args[0].field)
        if cond.args[0].field.endswith(NUMERIC_SUFFIXES) and all(isinstance(v, SigmaNumber) for v in values):
            return f"{field} in ({', '.join(str(v) for v in values)})"
        # `:` takes strings only; numbers in a keyword field are their text.
        texts = [f'"{v}"' if isinstance(v, SigmaNumber) else self.convert_value_str(v, state) for v in values]
        return f"{field} : ({', '.join(texts)})"

    def convert_condition_field_eq_val_str_case_sensitive(self, cond: Any, state: ConversionState) -> Any:
        # `==` takes `*` literally; a case-sensitive pattern is `like` (the official backend uses `==`),
        # which cannot escape a literal `*` or `?`: such values are matched by regex.
        if _holds_literal_wildcard(cond.value) and cond.value.contains_special():
            regex = end_of_value_anchors(wildcard_regex(cond.value, cased=True), "\\Z")
            return self.convert_condition_field_eq_val_re(
                ConditionFieldEqualsValueExpression(cond.field, regex), state
            )
        if cond.value.contains_special():
            return (
                f"{self.escape_and_quote_field(cond.field)} like {self.convert_value_str(cond.value, state)}"
            )
        # `==` has no wildcards, so nothing in the value is escaped but quotes and backslashes.
        return f"{self.escape_and_quote_field(cond.field)} == {eql_string(plain_text(cond.value))}"

    def convert_condition_field_eq_val_str(self, cond: Any, state: ConversionState) -> Any:
        # EQL patterns cannot escape `*` or `?`: a value holding one literally is matched by regex.
        if _holds_literal_wildcard(cond.value):
            return self.convert_condition_field_eq_val_re(
                ConditionFieldEqualsValueExpression(
                    cond.field, end_of_value_anchors(wildcard_regex(cond.value, cased=False), "\\Z")
                ),
                state,
            )
        return super().convert_condition_field_eq_val_str(cond, state)

    def convert_condition_val_str(self, cond: Any, state: ConversionState) -> Any:
        # EQL has no free-text search: keywords need the source's raw-text field (siemc maps them).
        raise NotImplementedError("Keyword value expressions are not supported by EQL")

    convert_condition_val_num = convert_condition_val_str
    convert_condition_val_re = convert_condition_val_str

    def convert_condition_field_eq_field(self, cond: Any, state: ConversionState) -> Any:
        raise NotImplementedError("EQL cannot compare two fields of one event")

    def convert_condition_field_eq_val_num(self, cond: Any, state: ConversionState) -> Any:
        # `:` takes strings only. ECS numbers (pids, ports, status codes) compare with `==`; event
        # data and event ids (winlog.event_id, event.code) are keywords, so a number is their text.
        field = self.escape_and_quote_field(cond.field)
        if cond.field.endswith(NUMERIC_SUFFIXES):
            return f"{field} == {cond.value}"
        return f'{field} : "{cond.value}"'

    def convert_condition_field_compare_op_val(self, cond: Any, state: ConversionState) -> Any:
        # Event data holds text: compared as the number it spells (`number()`), ECS numbers as they are.
        result = super().convert_condition_field_compare_op_val(cond, state)
        if cond.field.endswith(NUMERIC_SUFFIXES) or not cond.field.startswith("winlog.event_data."):
            return result
        field = self.escape_and_quote_field(cond.field)
        return f"number({field}){str(result)[len(field) :]}"

    def convert_condition_field_eq_val_bool(self, cond: Any, state: ConversionState) -> Any:
        field = self.escape_and_quote_field(cond.field)
        if cond.field.startswith("winlog.event_data."):  # event data holds text
            return f'{field} : "{str(cond.value.boolean).lower()}"'
        return f"{field} == {str(cond.value.boolean).lower()}"

    def convert_condition_field_eq_val_re(self, cond: Any, state: ConversionState) -> Any:
        """A Lucene regex matches the whole value and has its own syntax: the Sigma regex is rewritten."""
        flags = {c for flag, c in cond.value.sigma_to_re_flag.items() if flag in cond.value.flags}
        pattern, insensitive = lucene_regex(str(cond.value.regexp), flags)
        operator = "regex~" if insensitive else "regex"
        return f"{self.escape_and_quote_field(cond.field)} {operator} {eql_string(pattern)}"

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> Any:
        # Wildcards as `*`/`?`, text with EQL's string escapes (the official table escapes a raw line
        # break with a backslash, which EQL rejects). Literal `*`/`?` never get here: they are regexes.
        parts = (
            "*"
            if part is SpecialChars.WILDCARD_MULTI
            else "?"
            if part is SpecialChars.WILDCARD_SINGLE
            else part
            for part in s.s
        )
        return eql_string("".join(str(part) for part in parts))

    def convert_condition_field_eq_expansion(self, cond: Any, state: ConversionState) -> Any:
        # The official method passes the field test itself to convert_condition_or when the variants
        # are no list (an AttributeError): the OR of the variants is converted, and bracketed.
        or_cond = ConditionOR(
            [ConditionFieldEqualsValueExpression(cond.field, value) for value in cond.value.values],
            cond.source,
        )
        or_cond.parent = cond.parent
        for arg in or_cond.args:
            arg.parent = or_cond  # type: ignore[union-attr]
        if self.decide_convert_condition_as_in_expression(or_cond, state):
            return self.convert_condition_as_in_expression(or_cond, state)
        return self.group_expression.format(expr=self.convert_condition_or(or_cond, state))

    def convert_condition(self, cond: Any, state: ConversionState) -> Any:
        # A test on a missing field is null in EQL's evaluation and `not` keeps it null, while Sigma's
        # `not` over it is true: under a NOT each field test is guarded by the field's presence.
        # (A selection used twice shares its condition objects, so the parent chain cannot tell
        # whether this use is under a NOT: the NOTs being converted are counted instead.)
        result = super().convert_condition(cond, state)
        if not self._negations:
            return result
        if isinstance(cond, ConditionFieldEqualsValueExpression):
            if isinstance(cond.value, (SigmaNull, SigmaExists)):
                return result
            field = self.escape_and_quote_field(cond.field)
        elif isinstance(cond, (ConditionOR, ConditionAND)) and self.decide_convert_condition_as_in_expression(
            cond, state
        ):
            field = self.escape_and_quote_field(cond.args[0].field)  # type: ignore[union-attr]
        else:
            return result
        return f"(?{field} != null and {result})"

    _negations = 0

    def convert_condition_not(self, cond: Any, state: ConversionState) -> Any:
        self._negations += 1
        try:
            return super().convert_condition_not(cond, state)
        finally:
            self._negations -= 1

    def finalize_query_default(self, rule: SigmaRule, query: Any, index: int, state: ConversionState) -> Any:
        return query

    # EQL has no list reference (Elastic's value lists serve rule exceptions, not the query): a named
    # list is written with its entries, from siemc.yml, as the equivalent OR of tests.
    def convert_named_list(
        self, cond: ConditionFieldEqualsValueExpression, value: NamedListValue, state: ConversionState
    ) -> Any:
        if value.values is None:
            raise self.named_list_unsupported(
                value,
                "EQL has no list reference: give the list's entries in siemc.yml "
                f"(placeholders.{value.placeholder}.values or .file) to write them into the query",
            )
        if not value.values:
            raise self.named_list_unsupported(value, "the list has no entries to write into the query")
        or_cond = ConditionOR(
            [ConditionFieldEqualsValueExpression(cond.field, _entry(value, entry)) for entry in value.values],
            cond.source,
        )
        or_cond.parent = cond.parent
        for arg in or_cond.args:
            arg.parent = or_cond  # type: ignore[union-attr]
        # The list test as a whole is already guarded under a NOT (convert_condition): its entries
        # are converted unguarded.
        negations, self._negations = self._negations, 0
        try:
            if len(or_cond.args) == 1:
                return self.convert_condition(or_cond.args[0], state)
            if self.decide_convert_condition_as_in_expression(or_cond, state):
                return self.convert_condition_as_in_expression(or_cond, state)
            return self.group_expression.format(expr=self.convert_condition_or(or_cond, state))
        finally:
            self._negations = negations


def _entry(value: NamedListValue, entry: str) -> Any:
    """One list entry as the Sigma value it stands for: plain text with the kind's wildcards, a
    regex, or a network."""
    if value.kind == "regex":
        regex = SigmaRegularExpression(entry)
        if not value.cased:
            regex.add_flag(SigmaRegularExpressionFlag.IGNORECASE)
        return regex
    if value.kind == "cidr":
        return SigmaCIDRExpression(entry)
    text = literal_sigma_text(entry)
    text = ("*" if value.kind in ("contains", "endswith") else "") + text
    text += "*" if value.kind in ("contains", "startswith") else ""
    return SigmaCasedString(text) if value.cased else SigmaString(text)


# Elasticsearch takes `with runs=` from 1 to 100 (the EQL syntax reference's repeated sequence steps).
EQL_MAX_RUNS = 100
_NO_AGGREGATES = "EQL has no aggregation: it matches events and sequences, it cannot {what}"


class Eql(Target):
    name = "eql"
    siem = "Elastic Security (EQL)"
    file_extension = "eql"
    backend_class = EqlBackend
    computes_derived_columns = False  # EQL lists derived columns as a triage comment only
    # Correlation rules: `sequence by ... with maxspan=`, whose window starts at the sequence's first
    # event, as the reference's; a count of one rule's events is a step repeated `with runs=`.
    correlation_unsupported_types: ClassVar[Mapping[str, str]] = {
        "value_count": _NO_AGGREGATES.format(what="count distinct values"),
        "value_sum": _NO_AGGREGATES.format(what="add values"),
        "value_avg": _NO_AGGREGATES.format(what="average values"),
        "value_percentile": _NO_AGGREGATES.format(what="compute a percentile"),
        "value_median": _NO_AGGREGATES.format(what="compute a median"),
        "temporal": "EQL sequences are ordered; an unordered match of several rules has no EQL form",
    }

    def correlation_refuses(self, correlation: Correlation) -> str | None:
        if correlation.kind.name != "EVENT_COUNT":
            return None
        condition = correlation.condition
        op = condition.op.name
        if len(correlation.bases) != 1:
            return (
                "an event count over several rules: an event matching two of them counts twice,"
                " which one sequence step cannot say"
            )
        if correlation.bounds:
            return "a sequence finds at least n events; a range of event counts has no EQL form"
        if op not in ("GT", "GTE"):
            return f"a sequence finds at least n events; an event count {op.lower()} a number has no EQL form"
        runs = condition.count + (1 if op == "GT" else 0)
        if not 1 <= runs <= EQL_MAX_RUNS:
            return (
                f"an event count of {runs} needs `with runs={runs}`; Elasticsearch takes 1 to {EQL_MAX_RUNS}"
            )
        return None

    def correlation_context(self, view: CorrelationView) -> dict[str, Any]:
        condition = view.correlation.condition
        runs = condition.count + (1 if condition.op.name == "GT" else 0)
        return {"maxspan": timespan_text(view.timespan_seconds), "runs": runs}
