"""EQL for Elastic Security over ECS process events.

The filter comes from the official pySigma Elasticsearch EQL backend: `:` is case-insensitive
equality with `*`/`?` wildcards and lists (`field : ("a", "b")`), `like~` the same for patterns,
`==` is case-sensitive, strings are double-quoted with backslash escapes. EQL cannot compute columns,
so derived columns are written into the header as the rule's categorisation guide.
"""

from __future__ import annotations

import re
from re import Pattern
from typing import Any, ClassVar

from sigma.backends.elasticsearch.elasticsearch_eql import EqlBackend as ElasticEqlBackend
from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaRule
from sigma.types import SigmaNumber, SigmaRegularExpressionFlag, SigmaString

from siemc.backend import wildcard_regex
from siemc.target import Target

NUMERIC_SUFFIXES = (".pid", ".port", ".status_code", ".bytes", ".packets")


def _holds_literal_wildcard(value: SigmaString) -> bool:
    return any(c in part for part in value.s if isinstance(part, str) for c in "*?")


class EqlBackend(ElasticEqlBackend):
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
        return bool(super().decide_convert_condition_as_in_expression(cond, state))

    def convert_condition_as_in_expression(self, cond: Any, state: ConversionState) -> Any:
        values = [arg.value for arg in cond.args]
        if not any(isinstance(value, SigmaNumber) for value in values):
            return super().convert_condition_as_in_expression(cond, state)
        field = self.escape_and_quote_field(cond.args[0].field)
        if cond.args[0].field.endswith(NUMERIC_SUFFIXES) and all(isinstance(v, SigmaNumber) for v in values):
            return f"{field} in ({', '.join(str(v) for v in values)})"
        # `:` takes strings only; numbers in a keyword field are their text.
        texts = [f'"{v}"' if isinstance(v, SigmaNumber) else self.convert_value_str(v, state) for v in values]
        return f"{field} : ({', '.join(texts)})"

    def convert_condition_field_eq_val_str_case_sensitive(self, cond: Any, state: ConversionState) -> Any:
        # `==` takes `*` literally; a case-sensitive pattern is `like` (the official backend uses `==`).
        if cond.value.contains_special():
            return (
                f"{self.escape_and_quote_field(cond.field)} like {self.convert_value_str(cond.value, state)}"
            )
        return super().convert_condition_field_eq_val_str_case_sensitive(cond, state)

    def convert_condition_field_eq_val_str(self, cond: Any, state: ConversionState) -> Any:
        # EQL patterns cannot escape `*` or `?`: a value holding one literally is matched by regex.
        if _holds_literal_wildcard(cond.value):
            return self.convert_condition_field_eq_val_re(
                ConditionFieldEqualsValueExpression(cond.field, wildcard_regex(cond.value, cased=False)),
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

    def convert_condition_field_eq_val_bool(self, cond: Any, state: ConversionState) -> Any:
        field = self.escape_and_quote_field(cond.field)
        if cond.field.startswith("winlog.event_data."):  # event data holds text
            return f'{field} : "{str(cond.value.boolean).lower()}"'
        return f"{field} == {str(cond.value.boolean).lower()}"

    def convert_condition_field_eq_val_re(self, cond: Any, state: ConversionState) -> Any:
        """Lucene regex is anchored and has no inline flags: anchor explicitly, `regex~` for no case."""
        pattern = str(cond.value.regexp)
        insensitive = SigmaRegularExpressionFlag.IGNORECASE in cond.value.flags
        if pattern.startswith("(?i)"):
            pattern, insensitive = pattern[4:], True
        pattern = pattern[1:] if pattern.startswith("^") else ".*" + pattern
        pattern = pattern[:-1] if pattern.endswith("$") and not pattern.endswith("\\$") else pattern + ".*"
        quoted = '"' + pattern.replace("\\", "\\\\").replace('"', '\\"') + '"'
        operator = "regex~" if insensitive else "regex"
        return f"{self.escape_and_quote_field(cond.field)} {operator} {quoted}"

    def finalize_query_default(self, rule: SigmaRule, query: Any, index: int, state: ConversionState) -> Any:
        return query


class Eql(Target):
    name = "eql"
    siem = "Elastic Security (EQL)"
    file_extension = "eql"
    backend_class = EqlBackend
