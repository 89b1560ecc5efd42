"""Sumo Logic log search over Cloud SIEM normalised records (`_index=sec_record_*`).

The scope before the first pipe selects the record partition; conditions go in `| where`, where
string tests are case-sensitive: `=`, `in (...)` and `matches "a*b"` (wildcard `*`, which cannot be
escaped). Case-insensitive tests compare `toLowerCase(field)` with a lower-cased value; values
holding a literal `*` use a regex. `matches /re/` is RE2 (a `/` in it is escaped); whether it must
match the whole value is not documented, so regexes are written to match anywhere either way.
Strings are double-quoted with backslash escapes and cannot hold a line break (a value with one is a
regex, `\n`). Unmapped fields are nested record fields, `%"fields.<name>"`. The time range is a
search setting, not query text. Case folding of non-ASCII letters by `toLowerCase` is not documented;
siemc assumes the Unicode case mapping Sigma's (Python's) `lower()` uses, and RE2's `(?i)` folds
Unicode letters too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.conversion.base import Backend
from sigma.conversion.state import ConversionState
from sigma.types import (
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
)

from siemc.compile.backend import (
    DOUBLE_QUOTED_AND_REGEX,
    SiemcBackend,
    WholeValueRegex,
    final_line_break_anchors,
    found_anywhere,
    line_breaks_escaped,
    regex_tokens,
    slash_delimited,
    whole_value_reasons,
)
from siemc.compile.correlation import Correlation, timespan_text
from siemc.compile.correlation_target import CorrelationView
from siemc.compile.placeholders import NamedListValue
from siemc.compile.target import Target
from siemc.diagnostics import Unsupported

# The field of a siemc lookup table: one value per row (README, "How to create each list object").
LOOKUP_FIELD = "value"


def sumo_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SumoBackend(SiemcBackend):
    name = "siemc Sumo Logic"
    or_token = "or"
    and_token = "and"
    not_token = "!"
    not_expression = "!({expr})"  # the documented form; `! a = b` is rejected
    token_separator = " "
    eq_token = " = "

    unescapable_pattern_chars = "*"
    # A string literal cannot hold a line break (no `\n` escape is documented, and a raw one ends
    # the query line): values holding one are matched with a regex, where RE2 spells it `\n`.
    literal_wildcard_chars = "\n\r"
    pattern_list_as_regex = True
    case_fold_expression = "toLowerCase({field})"
    case_sensitive_match_expression = "{field} = {value}"
    pattern_match_expression = "{field} matches {value}"

    re_expression = "{field} matches {regex}"
    compare_op_expression = "{field} {operator} {value}"
    # fieldref: Sigma compares the two values without case; a null side makes it false, as here.
    field_equals_field_expression = "toLowerCase({field1}) = toLowerCase({field2})"
    field_null_expression = "isNull({field})"  # isBlank would also take "" and blanks
    field_exists_expression = "!isNull({field})"
    field_not_exists_expression = "isNull({field})"

    field_in_list_expression = "{field} {op} ({list})"
    or_in_operator = "in"
    cased_in_operator = "in"
    # "in": to match integers "cast x to a number first"; record fields (%"fields.EventID") hold
    # text, so number lists are `=` tests, which compare numerically.
    number_in_operator = None
    list_separator = ", "

    string_literals = DOUBLE_QUOTED_AND_REGEX

    # Named lists are lookup tables: `lookupContains(path://"<table>", <event field>=<lookup field>)`
    # is true when the table holds the event's value (search operator "lookupContains", its form
    # "within a where expression"), matched without case as the lookup operator matches ("lookup
    # Search Operator", Rules and limitations). The table's path is its Library folder, set in
    # siemc.yml (targets.sumo.list_folder), and its name.
    named_list_reasons: ClassVar[Mapping[str, str]] = {
        **whole_value_reasons("lookupContains", "a lookup table"),
        "exact_cased": "Sumo Logic matches lookup table values without case",
        "cidr": "lookupContains tests whole values: a lookup table has no network match",
    }
    # The Library folder of the site's lookup tables (Sumo.configure_backend).
    list_folder: str | None = None

    def convert_named_list(
        self, cond: ConditionFieldEqualsValueExpression, value: NamedListValue, state: ConversionState
    ) -> Any:
        if value.key != "exact":
            raise self.named_list_unsupported(value)
        if self.list_folder is None:
            raise self.named_list_unsupported(
                value,
                "a Sumo Logic lookup table is read by its Library path: set targets.sumo.list_folder "
                "in siemc.yml",
            )
        table = sumo_string(f"{self.list_folder}/{value.id}")
        return f"lookupContains(path://{table}, {self.escape_and_quote_field(cond.field)}={LOOKUP_FIELD})"

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        return sumo_string(
            s.convert(escape_char=None, wildcard_multi="*", wildcard_single=None, add_escaped="")
        )

    def convert_value_re(self, r: SigmaRegularExpression, state: ConversionState) -> Any:
        # `matches /re/` must match the whole value: the Sigma regex (a search) is wrapped in
        # `.*` runs that also cross newlines, whatever the rule's own flags say of its `.`.
        flags = "".join(c for flag, c in r.sigma_to_re_flag.items() if flag in r.flags)
        regexp = str(r.regexp)
        if not isinstance(r, WholeValueRegex) and SigmaRegularExpressionFlag.MULTILINE not in r.flags:
            regexp = final_line_break_anchors(regexp)  # a Sigma `$` allows a final line break
        if not any(token == "." and not inside for _, token, inside in regex_tokens(regexp)):
            flags += "s"  # no `.` of the rule's own for the flag to change: the runs read `.*`
        any_run = ".*" if "s" in flags else "(?s:.*)"
        body = found_anywhere(slash_delimited(line_breaks_escaped(regexp)), any_run, "m" not in flags)
        return "/" + (f"(?{''.join(sorted(flags))})" if flags else "") + body + "/"


_SUMO_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A decimal number as a whole value ("Field Expressions", Numeric Literals: digits, an optional decimal
# point, an optional exponent; here with an optional sign). RE2 `^`/`$` are the ends of the text.
SUMO_DECIMAL_REGEX = r"/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/"


class Sumo(Target):
    name = "sumo"
    siem = "Sumo Logic Cloud SIEM"
    file_extension = "sumo"
    backend_class = SumoBackend
    # Correlation rules: `timeslice` + aggregation by the group fields. Each base rule's hits are
    # counted by a flag (`if(<condition>, 1, 0)`) summed per slice, so an event matching two base rules
    # counts for both; a distinct count is two counts (`count by ..., field | count by ...`).
    # value_sum / value_avg: "Casting Data to a Number or String" says sum and avg cast text to numbers
    # implicitly and not what they make of text that is no number, so only values that are decimal
    # numbers (`matches` an RE2 regex, the form of "Field Expressions", Numeric Literals) reach them;
    # the reference skips the others as well.
    # temporal_ordered of more (or fewer) than two rules: a chain of steps over one row per time
    # ("accum": a running sum per group of rows, after "sort" orders the aggregated rows by time).
    correlation_unsupported_types: ClassVar[Mapping[str, str]] = {
        # Sumo Logic documents pct() as exact under 1,000 values and a t-digest estimate above, and not
        # which exact percentile it is (nearest rank or interpolated).
        "value_percentile": "pct() is an estimate (t-digest) over 1,000 values, and which exact percentile"
        " it computes below that (nearest rank or interpolated) is not documented",
        "value_median": "pct(x, 50) is an estimate (t-digest) over 1,000 values, and whether it takes the"
        " mean of the two middle values below that is not documented",
    }

    def correlation_refuses(self, correlation: Correlation) -> str | None:
        if correlation.kind.name in ("VALUE_SUM", "VALUE_AVG") and len(correlation.bases) > 1:
            # The base rules read one scope: a message matching two of them is one row, where the
            # reference adds its value once per rule.
            return (
                "a sum or mean over several base rules of one search scope: a message matching two of"
                " them would count once, not once per rule"
            )
        if len(correlation.bases) > 1:
            sources = {self.select(base.detection)[0].selector for base in correlation.bases}
            if len(sources) > 1:
                return (
                    "the base rules read different sources: one search scope cannot tell which rule a"
                    " message comes from"
                )
        return None

    def correlation_context(self, view: CorrelationView) -> dict[str, Any]:
        if len(view.bases) > 1 and any(base.derived for base in view.bases):
            raise Unsupported("a derived column of one of several base rules: it would be computed for all")
        fields = {base.group_fields for base in view.bases}
        values = {base.value_field for base in view.bases}
        if len(fields) > 1 or len(values) > 1:
            raise Unsupported("the base rules name the correlation's fields differently (aliases)")
        (group_fields,) = fields
        for name in [value for value in values if value]:
            if not _SUMO_FIELD.fullmatch(name):
                raise Unsupported(f"field {name} cannot be grouped by in this form")
        # A nested record field (%"fields.EventData.X") is grouped by under a plain name of its own
        # (`| %"fields.X" as siemc_group0`, a field name as an expression).
        aliases = [
            (name, f"siemc_group{index}")
            for index, name in enumerate(group_fields)
            if not _SUMO_FIELD.fullmatch(name)
        ]
        renamed = dict(aliases)
        return {
            "group_fields": tuple(renamed.get(name, name) for name in group_fields),
            "group_aliases": aliases,
            "span": timespan_text(view.timespan_seconds),
            # Two rules in order within a slice: the first rule's earliest message before the second's
            # latest. Other counts: the chain of steps.
            "chain": view.correlation.kind.name == "TEMPORAL_ORDERED" and len(view.bases) != 2,
            "numeric_regex": SUMO_DECIMAL_REGEX,
        }

    def configure_backend(self, backend: Backend) -> None:
        if isinstance(backend, SumoBackend):
            backend.list_folder = self.site.list_folders.get(self.name)

    native_field_name = re.compile(r'[A-Za-z_][\w]*|%"[^"\n]+"')
    native_field_hint = 'a schema field (baseImage) or a nested record field as %"fields.Name"'
    flags_as_text = True  # computed fields are strings

    def string_literal(self, text: str) -> str:
        if "\n" in text or "\r" in text:
            raise Unsupported("a Sumo Logic string literal cannot hold a line break")
        return sumo_string(text)
