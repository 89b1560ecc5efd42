"""SPL for Splunk over Sysmon process events.

The search filter comes from the official pySigma Splunk backend: `field=value` in the search command
is case-insensitive, `*` is its only wildcard, `"..."` strings escape `"` and `\\`, and lists are
`field IN (...)`. Derived columns are `eval` expressions, a different grammar: there `==` is
case-sensitive (so siemc compares `lower(field)`), `like()` takes SQL patterns without an escape
(values holding `%` or `_` use `match()`), `match()` is an unanchored PCRE, `in()` tests a list, and
AND binds tighter than OR. A detection the search command cannot say exactly (Sigma's `?`, a literal
`*`, a regex under OR/NOT, case-sensitive values, ORed field references) is one `| where` eval
expression instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, cast

from sigma.backends.splunk.splunk import SplunkBackend
from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionNOT, ConditionOR
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaDetection, SigmaRule
from sigma.types import (
    SigmaCasedString,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

from siemc.compile.backend import (
    DOUBLE_QUOTED,
    BoundedChains,
    NamedListTests,
    SiemcBackend,
    end_of_value_anchors,
)
from siemc.compile.correlation import timespan_text
from siemc.compile.correlation_target import CorrelationView
from siemc.compile.placeholders import NamedListValue
from siemc.compile.target import Source, Target, UnmappedField
from siemc.diagnostics import Unsupported

_NUMBER_LIKE = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


class SplEvalBackend(SiemcBackend):
    """Conditions in `eval`/`where` syntax, for derived columns."""

    name = "siemc SPL eval"
    # "..." strings take backslash escapes; '...' are field names.
    string_literals = re.compile(DOUBLE_QUOTED.pattern + r"|'[^']*'")
    or_token = "OR"
    and_token = "AND"
    not_token = "NOT"
    eq_token = "=="

    # SR "eval": a field name with characters other than letters, digits and `_` is single-quoted
    # (unquoted, `userIdentity.arn` would be the concatenation of two fields).
    field_quote = "'"
    field_quote_pattern = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
    field_quote_pattern_negation = True

    str_quote = '"'
    escape_char = "\\"
    wildcard_multi = "%"
    wildcard_single = "_"
    add_escaped = "\\"
    # like() has no documented escape: values holding % _ or \ are matched with match() instead.
    unescapable_pattern_chars = "%_\\"
    pattern_list_as_regex = True

    case_fold_expression = "lower({field})"
    case_sensitive_match_expression = "{field}=={value}"
    pattern_match_expression = "like({field}, {value})"

    re_expression = "match({field}, {regex})"
    re_escape_char = "\\"
    re_escape: ClassVar[list[str]] = ['"']
    re_flag_prefix = True
    cidr_expression = 'cidrmatch("{value}", {field})'
    # Sigma's fieldref compares the two values without case, as every string test does.
    field_equals_field_expression = "lower({field1})==lower({field2})"
    compare_op_expression = "{field}{operator}{value}"
    field_null_expression = "isnull({field})"
    field_exists_expression = "isnotnull({field})"
    field_not_exists_expression = "isnull({field})"

    field_in_list_expression = "{op}({field}, {list})"
    or_in_operator = "in"
    cased_in_operator = "in"
    number_in_operator = "in"
    list_separator = ", "

    end_of_value_anchor = "\\z"  # PCRE's `$` also matches before a final line break

    # Named lists are Splunk lookups: the `lookup` command matches an event field against a column of
    # the lookup and adds its OUTPUT field to the events it matches (SR "lookup"); how it matches is
    # the lookup definition's (transforms.conf; Knowledge Manager Manual, "Add field matching rules
    # to your lookup configuration"): `case_sensitive_match = false` for Sigma's case-insensitive
    # test, `match_type = CIDR(value)` for networks. The stage runs before the `where` that tests
    # the output field. A definition sets one case rule and one match type for all its uses, and a
    # WILDCARD match type reads patterns from the file, not plain values: those kinds have none.
    named_list_reasons: ClassVar[Mapping[str, str]] = {
        **{
            key: "a Splunk lookup's WILDCARD match type reads patterns written in the lookup file, "
            f"not plain values: no lookup tests its entries by {what}"
            for kind, what in (("contains", "substring"), ("startswith", "prefix"), ("endswith", "suffix"))
            for key in (kind, kind + "_cased")
        },
        "exact_cased": "a Splunk lookup definition matches every use with one case rule "
        "(case_sensitive_match), and siemc's lookups are case-insensitive, as Sigma's tests are",
        "regex": "a Splunk lookup has no regular-expression match type",
        "regex_cased": "a Splunk lookup has no regular-expression match type",
    }

    def convert_named_list(
        self, cond: ConditionFieldEqualsValueExpression, value: NamedListValue, state: ConversionState
    ) -> Any:
        if value.key not in ("exact", "cidr"):
            raise self.named_list_unsupported(value)
        field = cond.field
        if not _LOOKUP_FIELD.fullmatch(field):  # a search-language string: `\\` and `\"` escaped
            field = '"' + field.replace("\\", "\\\\").replace('"', '\\"') + '"'
        stage = f"lookup {value.id} {LOOKUP_COLUMN} AS {field} OUTPUT {LOOKUP_COLUMN} AS "
        processing_state = cast(dict[str, Any], state.processing_state)
        lookups: dict[str, str] = processing_state.setdefault(_LOOKUPS, {})
        flag = lookups.setdefault(stage, f"siemc_list{len(lookups) + 1}")
        return f"isnotnull({flag})"

    def finalize_query_default(self, rule: Any, query: Any, index: int, state: ConversionState) -> Any:
        lookups: dict[str, str] = state.processing_state.get(_LOOKUPS, {})
        if not lookups:
            return query
        # The lookup stages, then the condition as a `where` stage (see Spl.expression).
        return "\n| ".join([*(stage + flag for stage, flag in lookups.items()), f"where {query}"])

    def convert_value_re(self, r, state):  # type: ignore[no-untyped-def]
        return '"' + str(super().convert_value_re(r, state)) + '"'

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        # One literal for `==` and like(): only `\` and `"` are escaped. A literal % or _ is never
        # written with a backslash (`"\_"` is two characters to `==`); like() never sees one, as such
        # values are matched with match() (unescapable_pattern_chars).
        text = "".join(
            "%"
            if part is SpecialChars.WILDCARD_MULTI
            else "_"
            if part is SpecialChars.WILDCARD_SINGLE
            else str(part).replace("\\", "\\\\").replace('"', '\\"')
            for part in s.s
        )
        return '"' + text + '"'

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        # in() on the bare field compares a number-like value as a number, as `==` does (below).
        if any(
            isinstance(arg.value, SigmaCasedString) and _NUMBER_LIKE.fullmatch(str(arg.value))
            for arg in self.field_args(cond)
        ):
            return False
        return super().decide_convert_condition_as_in_expression(cond, state)

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        # eval reads a number-like field as a number, and `==` then compares it with the string
        # literal as a number would print ("00" is 0): such values are matched as text by regex.
        value = cond.value
        if (
            isinstance(value, SigmaString)
            and not value.contains_special()
            and _NUMBER_LIKE.fullmatch(str(value))
        ):
            exact = end_of_value_anchors(SigmaRegularExpression("^" + re.escape(str(value)) + "$"))
            return self._as_regex(cond, exact, state)
        return super().convert_condition_field_eq_val_str_case_sensitive(cond, state)


# The column of a siemc lookup: one value per row (README, "How to create each list object").
LOOKUP_COLUMN = "value"
_LOOKUPS = "spl_lookups"  # conversion state: lookup stage -> the output field it sets
# An event field the lookup command takes unquoted; others go in double quotes.
_LOOKUP_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


# A `*` escaped by a backslash: the search command has no escape for it (`\*` is `\` then a wildcard).
_ESCAPED_STAR = re.compile(r"(?<!\\)(?:\\\\)*\\\*")


def _eval_only(rule: SigmaRule) -> bool:
    """True when a value holds Sigma's `?` (the search command knows only `*`, the official backend
    writes `?` as `*`; eval's like() has `_`) or is a field reference (the official backend compares
    the two fields with case)."""
    pending: list[Any] = list(rule.detection.detections.values())
    while pending:
        item = pending.pop()
        if isinstance(item, SigmaDetection):
            pending.extend(item.detection_items)
            continue
        values = list(item.value)
        while values:
            value = values.pop()
            if isinstance(value, SigmaExpansion):
                values.extend(value.values)
            elif isinstance(value, SigmaFieldReference) or (
                isinstance(value, SigmaString) and SpecialChars.WILDCARD_SINGLE in value.s
            ):
                return True
    return False


def _regex_negated(rule: SigmaRule) -> bool:
    """True when a regex test sits under a NOT: the official backend writes every regex as a positive
    `regex` stage after the search (`not (sel_re and x)` became `NOT x | regex ...`)."""

    def walk(node: Any, negated: bool) -> bool:
        if isinstance(node, ConditionFieldEqualsValueExpression):
            return negated and isinstance(node.value, SigmaRegularExpression)
        negated = negated or isinstance(node, ConditionNOT)
        return any(walk(arg, negated) for arg in getattr(node, "args", ()))

    return any(walk(condition.parsed, False) for condition in rule.detection.parsed_condition)


def _search_cannot_say(text: str, rule: SigmaRule) -> bool:
    """True when the official backend's search form is not exact: a literal `*`, or a regex under
    OR/NOT, which it writes as `rex`/`eval`/`search` stages that regroup the condition, or as a
    `regex` stage outside its NOT."""
    search, *stages = text.split("\n| ")
    return (
        bool(_ESCAPED_STAR.search(search))
        or any(not stage.startswith("regex ") for stage in stages)
        or bool(stages and _regex_negated(rule))
    )


class SplSearchBackend(NamedListTests, BoundedChains, SplunkBackend):
    """The official search-command backend, with a value's expansions (windash, base64offset)
    bracketed: unbracketed, `NOT a OR b` negates the first variant only."""

    def convert_condition_field_eq_expansion(self, cond: Any, state: ConversionState) -> Any:
        result = super().convert_condition_field_eq_expansion(cond, state)
        return self.group_expression.format(expr=result) if isinstance(result, str) else result


# Correlation rules: `bin _time` + `stats ... BY`, one stats function per type. dc() is Splunk's exact
# distinct count (estdc the estimate); sum() and avg() skip values that are no numbers.
SPL_CORRELATION_AGGREGATES: Mapping[str, str] = {
    "event_count": "count",
    "value_count": "dc(siemc_value)",
    "temporal": "dc(siemc_rule)",
    "value_sum": "sum(siemc_value)",
    "value_avg": "avg(siemc_value)",
}


# The median and the nearest-rank percentile as 1-based ranks among a group's siemc_n values in a bin:
# the mean of the values at ranks floor((n - 1) / 2) + 1 and floor(n / 2) + 1, the value at
# ceil(p * n / 100) (as floor((p * n + 99) / 100): whole numbers, exact in floats).
SPL_RANKS: Mapping[str, tuple[str, ...]] = {
    "value_median": ("floor((siemc_n-1)/2)+1", "floor(siemc_n/2)+1"),
    "value_percentile": ("floor(({p}*siemc_n+99)/100)",),
}


class Spl(Target):
    name = "spl"
    siem = "Splunk (SPL)"
    file_extension = "spl"
    backend_class = SplSearchBackend
    condition_backend_class = SplEvalBackend
    flags_as_text = True  # eval fields are strings or numbers
    native_keywords = True  # a bare term in the search command matches anywhere in the raw event
    # The median and percentiles are not median()/perc()/exactperc(): perc() is an estimate over many
    # distinct values, exactperc() follows a percentile method the deployment's limits.conf chooses,
    # median() is not documented to take the mean of the two middle values; list() + mvsort() would
    # stop at list()'s 100 values and sort numbers as text. The query counts each value per group and
    # bin, sorts them, and reads the ranks each holds off a running count (SPL_RANKS): accum's over
    # all rows less the group's start (streamstats without a window stops at limits.conf's
    # max_stream_window, 10,000 by default).
    correlation_unsupported_types: ClassVar[Mapping[str, str]] = {}

    def correlation_context(self, view: CorrelationView) -> dict[str, Any]:
        kind = view.correlation.kind.name.lower()
        percentile = view.correlation.condition.percentile or 50
        return {
            "ranks": [rank.format(p=percentile) for rank in SPL_RANKS.get(kind, ())],
            # Two rules in order within a bin: the first rule's earliest hit before the second's latest.
            # Other counts: a chain of steps, each rule's earliest hit after the step before (eventstats
            # per group and bin; the earliest is the one to beat).
            "chain": kind == "temporal_ordered" and len(view.bases) != 2,
            "aggregate": SPL_CORRELATION_AGGREGATES.get(kind, ""),
            "span": timespan_text(view.timespan_seconds),
            "strings": {base.reference: self.string_literal(base.reference) for base in view.bases},
        }

    def expression(self, rule: SigmaRule, source: Source, condition: bool = False) -> str:
        try:
            text = super().expression(rule, source, condition)
        except UnmappedField:
            raise
        except Unsupported:
            if condition:
                raise
            # What the official backend refuses (case-sensitive values, field references combined
            # with OR, named lists) eval can say: `==`, match(), `a==b` and lookups.
            return self._where(rule, source)
        if condition:
            if text.startswith("lookup "):
                raise Unsupported(
                    "a named list in a derived column: a Splunk lookup is a command of its own, "
                    "not an eval expression"
                )
            return text
        if not (_search_cannot_say(text, rule) or _eval_only(rule)):
            return text
        # The whole detection as one `| where` eval expression, which says both exactly.
        return self._where(rule, source)

    def _where(self, rule: SigmaRule, source: Source) -> str:
        """The detection as a `where` stage, after the lookup stages of its named lists."""
        text = super().expression(rule, source, condition=True)
        return "\n| " + text if text.startswith("lookup ") else "\n| where " + text

    def split_pipes(self, expression: str) -> tuple[str, list[str]]:
        # The official backend defers `|re` to trailing `| regex ...` stages after the search.
        search, *stages = expression.split("\n| ")
        return search, stages
