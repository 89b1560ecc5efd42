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
from typing import Any, ClassVar

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

from siemc.compile.backend import DOUBLE_QUOTED, BoundedChains, SiemcBackend, end_of_value_anchors
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


class SplSearchBackend(BoundedChains, SplunkBackend):
    """The official search-command backend, with a value's expansions (windash, base64offset)
    bracketed: unbracketed, `NOT a OR b` negates the first variant only."""

    def convert_condition_field_eq_expansion(self, cond: Any, state: ConversionState) -> Any:
        result = super().convert_condition_field_eq_expansion(cond, state)
        return self.group_expression.format(expr=result) if isinstance(result, str) else result


class Spl(Target):
    name = "spl"
    siem = "Splunk (SPL)"
    file_extension = "spl"
    backend_class = SplSearchBackend
    condition_backend_class = SplEvalBackend
    flags_as_text = True  # eval fields are strings or numbers
    native_keywords = True  # a bare term in the search command matches anywhere in the raw event

    def expression(self, rule: SigmaRule, source: Source, condition: bool = False) -> str:
        try:
            text = super().expression(rule, source, condition)
        except UnmappedField:
            raise
        except Unsupported:
            if condition:
                raise
            # What the official backend refuses (case-sensitive values, field references combined
            # with OR) eval can say: `==`, match() and `a==b`.
            return "\n| where " + super().expression(rule, source, condition=True)
        if condition or not (_search_cannot_say(text, rule) or _eval_only(rule)):
            return text
        # The whole detection as one `| where` eval expression, which says both exactly.
        return "\n| where " + super().expression(rule, source, condition=True)

    def split_pipes(self, expression: str) -> tuple[str, list[str]]:
        # The official backend defers `|re` to trailing `| regex ...` stages after the search.
        search, *stages = expression.split("\n| ")
        return search, stages
