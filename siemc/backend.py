"""The shared tree walker under siemc's own backends.

A target's backend is a subclass holding tables (tokens, quoting, operator templates), exactly as
pySigma's `TextQueryBackend` intends. This base adds what several languages need and pySigma leaves
to each backend:

- every AND/OR group is parenthesised (`parenthesize`), whatever the language's precedence;
- a value with a wildcard in the middle, or a `?`, becomes an anchored regular expression with the
  right case flag, for languages without a wildcard operator (pySigma would emit it unanchored);
- languages without case-insensitive operators compare `lower(field)` with a lower-cased value
  (`case_fold_expression`);
- value lists become one list expression only when every value takes the same operator
  (case-insensitive strings, case-sensitive strings or numbers), never a mixed list.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.state import ConversionState
from sigma.types import (
    SigmaCasedString,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)


def wildcard_regex(value: SigmaString, cased: bool) -> SigmaRegularExpression:
    """Sigma's whole-value wildcard match as an anchored regex: `*` any run, `?` one character."""
    pieces = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            pieces.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            pieces.append(".")
        else:
            pieces.append("".join("\\" + c if c in ".*+?^$[](){}|\\/" else c for c in str(part)))
    regex = SigmaRegularExpression("^" + "".join(pieces) + "$")
    # `*` spans line breaks in Sigma, so the regex needs DOTALL as well.
    regex.flags = {SigmaRegularExpressionFlag.DOTALL} | (
        set() if cased else {SigmaRegularExpressionFlag.IGNORECASE}
    )
    return regex


class SiemcBackend(TextQueryBackend):
    parenthesize = True
    convert_or_as_in = True
    in_expressions_allow_wildcards = False

    # Languages whose string comparisons are all case-sensitive set this to e.g. "lower({field})";
    # case-insensitive tests then compare it with the lower-cased value.
    case_fold_expression: ClassVar[str | None] = None
    # List operators per value kind; None disables the list form for that kind.
    cased_in_operator: ClassVar[str | None] = None
    number_in_operator: ClassVar[str | None] = None

    # -- strings -----------------------------------------------------------------------------------
    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        assert isinstance(value, SigmaString)
        if self._needs_regex(value, cased=False):
            return self._as_regex(cond, wildcard_regex(value, cased=False), state)
        if self.case_fold_expression:
            return self._folded(cond, lambda c: super(SiemcBackend, self).convert_condition_field_eq_val_str_case_sensitive(c, state))
        return super().convert_condition_field_eq_val_str(cond, state)

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        assert isinstance(value, SigmaString)
        if self._needs_regex(value, cased=True):
            return self._as_regex(cond, wildcard_regex(value, cased=True), state)
        return super().convert_condition_field_eq_val_str_case_sensitive(cond, state)

    def _needs_regex(self, value: SigmaString, cased: bool) -> bool:
        """True when no plain/startswith/endswith/contains template can say the value exactly."""
        if not value.contains_special() or self.wildcard_match_expression is not None:
            return False
        inner = value
        if inner.startswith(SpecialChars.WILDCARD_MULTI):
            inner = inner[1:]
        if inner.endswith(SpecialChars.WILDCARD_MULTI):
            inner = inner[:-1]
        return inner.contains_special()

    def _as_regex(
        self, cond: ConditionFieldEqualsValueExpression, regex: SigmaRegularExpression, state: ConversionState
    ) -> Any:
        return self.convert_condition_field_eq_val_re(
            ConditionFieldEqualsValueExpression(cond.field, regex).postprocess(None, cond.parent), state
        )

    def _folded(self, cond: ConditionFieldEqualsValueExpression, convert: Any) -> Any:
        """Case-insensitive test as a case-sensitive one on the lower-cased field and value."""
        assert isinstance(cond.value, SigmaString) and self.case_fold_expression
        original = self.escape_and_quote_field
        folded_field = self.case_fold_expression.format(field=original(cond.field))
        self.escape_and_quote_field = lambda field: folded_field  # type: ignore[method-assign]
        try:
            return convert(ConditionFieldEqualsValueExpression(cond.field, cond.value.lower()).postprocess(None, cond.parent))
        finally:
            del self.escape_and_quote_field

    # -- lists -------------------------------------------------------------------------------------
    @staticmethod
    def _value_kind(value: object) -> str | None:
        if isinstance(value, SigmaCasedString):
            return "cased"
        if isinstance(value, SigmaString):
            return "string"
        if isinstance(value, SigmaNumber):
            return "number"
        return None

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        if not super().decide_convert_condition_as_in_expression(cond, state):
            return False
        kinds = {self._value_kind(arg.value) for arg in cond.args if isinstance(arg, ConditionFieldEqualsValueExpression)}
        if len(kinds) != 1 or len(cond.args) < 2:
            return False
        operator = {"string": self.or_in_operator, "cased": self.cased_in_operator, "number": self.number_in_operator}
        return operator.get(kinds.pop() or "") is not None

    def convert_condition_as_in_expression(self, cond: ConditionOR | ConditionAND, state: ConversionState) -> Any:
        args = [arg for arg in cond.args if isinstance(arg, ConditionFieldEqualsValueExpression)]
        kind = self._value_kind(args[0].value)
        operator = {"string": self.or_in_operator, "cased": self.cased_in_operator, "number": self.number_in_operator}[kind or ""]
        field = self.escape_and_quote_field(args[0].field)
        values = [arg.value for arg in args]
        if kind == "string" and self.case_fold_expression:
            field = self.case_fold_expression.format(field=field)
            values = [v.lower() for v in values]  # type: ignore[union-attr]
        rendered = (self.list_separator or ", ").join(
            self.convert_value_str(v, state) if isinstance(v, SigmaString) else str(v) for v in values
        )
        assert self.field_in_list_expression is not None
        return self.field_in_list_expression.format(field=field, op=operator, list=rendered)
