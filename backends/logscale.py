"""CrowdStrike Falcon LogScale (CQL) over Falcon `ProcessRollup2` events.

`field="value"` is exact and case-sensitive; a regex literal `field=/re/flags` is unanchored (siemc
anchors it) with flags `i` (ignore case), `m` and `d` (dot matches newline; LogScale has no `s`),
and a `/` inside must be escaped. Case-insensitive lists are `in(field="f", values=[...],
ignoreCase=true)`. Filters written side by side are ANDed; AND/OR groups are always parenthesised,
since LogScale documents unusual precedence between them. The time range is a search setting.

Sigma regexes are Python's; they are rewritten where LogScale's syntax reads them differently
(`regex_literal`). Known gaps: `\\d`, `\\w`, `\\s` and `\\b` are ASCII in LogScale (Unicode in Python),
and ignoring case folds one character at a time, where Sigma lower-cases the whole value (`İ`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, cast

from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionNOT, ConditionOR
from sigma.conversion.state import ConversionState
from sigma.types import (
    SigmaCIDRExpression,
    SigmaExpansion,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
)

from siemc.compile.backend import (
    DOUBLE_QUOTED_AND_REGEX,
    SiemcBackend,
    WholeValueRegex,
    backslash_string,
    end_of_value_anchors,
    plain_text,
)
from siemc.compile.correlation import Correlation
from siemc.compile.correlation_target import CorrelationView
from siemc.compile.placeholders import NamedListValue
from siemc.compile.target import Target
from siemc.diagnostics import Unsupported

logscale_string = backslash_string
# A value LogScale's `=` reads as a number (syntax-operators.html lists `statuscode = 400` with the
# numeric comparisons), white space around it included.
_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")
_FILTER_FLAGS = "logscale_filter_flags"  # conversion state: cidr()/match() test -> the flag it sets
# A decimal number as a whole value: an optional sign, digits with an optional decimal point, an
# optional exponent (`^` and `\z` are the ends of the value: "Regular Expression Syntax").
LOGSCALE_DECIMAL_REGEX = r"/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\z/"
# The column of a siemc lookup file: one value per row (README, "How to create each list object").
LOOKUP_COLUMN = "value"

# Line breaks cannot stand raw in a `/.../` literal (it ends at the line): they are written as the
# regex escapes `\n`/`\r` (tabs `\t`, for legibility), the same character escaped or not.
_LINE_BREAKS = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Python's `\Z` is the very end of the value, LogScale's `\z` (its `\Z` may allow a final line break);
# Python's `\v` is the vertical tab, a class in Java-style syntax that LogScale does not support.
_ESCAPES = {**_LINE_BREAKS, "Z": "\\z", "v": "\\x0b"}
# Python's `$`: the end of the value or before a final newline (with `m`: before any newline). The
# documentation only says "the end of the entire string", so the meaning is spelled out.
_END = {False: "(?=\\n?\\z)", True: "(?=\\n|\\z)"}


# Python repetition `{m}`, `{m,}`, `{,n}`, `{m,n}`; any other `{` is a literal one in Python.
_REPEAT = re.compile(r"\{(\d*)(,?)(\d*)\}")
# Python group forms without a LogScale equivalent (its regex page lists \k<name> as unsupported).
_NO_EQUIVALENT = {"(?P=": "named backreferences", "(?#": "comments", "(?(": "conditional groups"}


def regex_literal(regexp: str, multiline: bool) -> str:
    """A Python regex as the body of a LogScale `/.../` literal: `/` and line breaks escaped, `$`
    and `\\Z` with Python's meaning, and what Python reads as literal where Java-style syntax would
    not (`{`, and `[`, `&&` or a leading `]` in a class) escaped."""
    for opener, what in _NO_EQUIVALENT.items():
        if opener in regexp:
            raise Unsupported(f"LogScale regexes have no {what} ({opener}...)")
    out, index, class_start = [], 0, -1
    while index < len(regexp):
        char = regexp[index]
        if char == "\\" and index + 1 < len(regexp):
            escaped = regexp[index + 1]
            out.append(_ESCAPES.get(escaped, char + escaped))
            index += 2
            continue
        if class_start >= 0:
            if (char == "]" and index == class_start) or char in "[&":
                char = "\\" + char
            elif char == "]":
                class_start = -1
        elif char == "[":
            class_start = index + (2 if regexp[index + 1 : index + 2] == "^" else 1)
        elif char == "$":
            char = _END[multiline]
        elif char == "{":
            repeat = _REPEAT.match(regexp, index)
            if repeat and (repeat[1] or repeat[2]):
                char = "{" + (repeat[1] or "0") + repeat[2] + repeat[3] + "}"
                index = repeat.end() - 1
            else:
                char = "\\{"
        elif regexp.startswith("(?P<", index):
            char = "(?<"
            index += 3
        out.append("\\/" if char == "/" else _LINE_BREAKS.get(char, char))
        index += 1
    return "".join(out)


class LogScaleBackend(SiemcBackend):
    name = "siemc LogScale"
    # Upper case: the forms every LogScale parser reads as operators, never as free-text terms.
    or_token = "OR"
    and_token = "AND"
    not_token = "NOT"
    eq_token = "="
    string_literals = DOUBLE_QUOTED_AND_REGEX

    pattern_list_as_regex = True
    case_sensitive_match_expression = "{field}={value}"
    re_expression = "{field}={regex}"
    compare_op_expression = "test({field} {operator} {value})"
    field_null_expression = "{field}!=*"  # `!=` holds on a missing field; `*` matches any value
    # `*` is a glob even inside quotes and in() values. Tab and carriage return: the string page
    # documents `\t` only by example and the community parser rejects both escapes, while the regex
    # page lists `\t` and `\r`, so values holding them are matched with a regex too.
    literal_wildcard_chars = "*\t\r"
    field_exists_expression = "{field}=*"
    field_not_exists_expression = "{field}!=*"

    field_in_list_expression = "in(field={field}, values=[{list}]{op})"
    or_in_operator = ", ignoreCase=true"
    cased_in_operator = ""
    list_separator = ", "

    def escape_and_quote_field(self, field_name: str) -> str:
        return (
            field_name
            if re.fullmatch(r"[#@]?[A-Za-z_][A-Za-z0-9_.]*", field_name)
            else logscale_string(field_name)
        )

    def convert_condition_field_compare_op_val(self, cond: Any, state: ConversionState) -> Any:
        field = self.escape_and_quote_field(cond.field)
        if field.startswith('"'):
            # Inside test() a quoted name is a string, not a field; the filter form takes one
            # (crowdstrike-query-language/syntax-datatypes-detail-fieldname.html: "response-time" <= 200).
            return f"{field} {self.compare_operators[cond.value.op]} {cond.value.number}"
        return super().convert_condition_field_compare_op_val(cond, state)

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        return logscale_string(plain_text(s))

    def convert_value_re(self, r: SigmaRegularExpression, state: ConversionState) -> Any:
        if isinstance(r, WholeValueRegex):
            r = end_of_value_anchors(r)  # siemc's own: its `$` is the end of the value
        flags = {
            SigmaRegularExpressionFlag.IGNORECASE: "i",
            SigmaRegularExpressionFlag.MULTILINE: "m",
            SigmaRegularExpressionFlag.DOTALL: "d",
        }
        regexp = str(r.regexp)
        multiline = SigmaRegularExpressionFlag.MULTILINE in r.flags or bool(
            re.match(r"\(\?[a-zA-Z]*m[a-zA-Z]*\)", regexp)
        )
        body = regex_literal(regexp, multiline)
        return f"/{body}/" + "".join(c for flag, c in flags.items() if flag in r.flags)

    def convert_condition_field_eq_val_str(self, cond: Any, state: ConversionState) -> Any:
        # Without case, a plain value is the anchored regex /^value$/i.
        value = cond.value
        if not value.contains_special():
            return self._as_regex(cond, self._wildcard_regex(value, cased=False), state)
        return super().convert_condition_field_eq_val_str(cond, state)

    def convert_condition_field_eq_val_str_case_sensitive(self, cond: Any, state: ConversionState) -> Any:
        value = cond.value
        if not value.contains_special() and _NUMBER.fullmatch(plain_text(value)):
            # `f="0"` compares numbers when both sides are numbers ("00" = "0"): text is a regex.
            return self._as_regex(cond, self._wildcard_regex(value, cased=True), state)
        return super().convert_condition_field_eq_val_str_case_sensitive(cond, state)

    @staticmethod
    def _whole_condition(cond: Any) -> bool:
        parent = cond.parent
        while parent is not None:
            if isinstance(parent, (ConditionOR, ConditionAND, ConditionNOT)):
                return False
            parent = getattr(parent, "parent", None)
        return True

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        arg = cond.args[0]
        if isinstance(arg, ConditionFieldEqualsValueExpression) and isinstance(arg.value, SigmaExpansion):
            # pySigma brackets a negated AND/OR, not the OR of an expansion's variants (windash,
            # base64offset): `NOT a OR b` negated `a` alone.
            return f"{self.not_token} {self.convert_condition_group(arg, state)}"
        return super().convert_condition_not(cond, state)

    def convert_condition_field_eq_val_cidr(self, cond: Any, state: ConversionState) -> Any:
        return self._cidr(cond, cond.field, [cond.value], state)

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        args = self.field_args(cond)
        if (
            isinstance(cond, ConditionOR)
            and len(args) == len(cond.args) > 1
            and len({arg.field for arg in args}) == 1
            and all(isinstance(arg.value, SigmaCIDRExpression) for arg in args)
        ):
            return True  # a list of networks: one cidr() with several subnets
        return super().decide_convert_condition_as_in_expression(cond, state)

    def _cidr(self, cond: Any, field: str, networks: list[Any], state: ConversionState) -> str:
        subnets = ", ".join(logscale_string(str(network.network)) for network in networks)
        test = f"cidr({self.escape_and_quote_field(field)}, subnet=[{subnets}])"
        return self._filter_function(cond, test, "cidr", state)

    def _filter_function(self, cond: Any, test: str, name: str, state: ConversionState) -> str:
        """A filter function (cidr(), match()) as the condition's test.

        Inside a larger condition a filter function is rejected by the community parser; the cidr()
        page's own example, `case { cidr(...) | ip := address; * }`, sets a field on the events in
        the subnets: an earlier step sets a flag and the condition tests it (exact, where address
        prefixes would not be: `fe8::1` is not in fe80::/10).
        """
        if self._whole_condition(cond):
            return test
        processing_state = cast(dict[str, Any], state.processing_state)  # a dict per conversion
        flags: dict[str, str] = processing_state.setdefault(_FILTER_FLAGS, {})
        flag = flags.setdefault(
            test, f"_siemc_{name}{sum(f.startswith(f'_siemc_{name}') for f in flags.values()) + 1}"
        )
        return f'{flag}="true"'

    def finalize_query_default(self, rule: Any, query: Any, index: int, state: ConversionState) -> Any:
        flags: dict[str, str] = state.processing_state.get(_FILTER_FLAGS, {})
        steps = [
            f'case {{ {test} | {flag} := "true"; * | {flag} := "false" }}' for test, flag in flags.items()
        ]
        return " | ".join([*steps, str(query)])

    # Named lists are lookup files, read with match(): `field` the event field, `column` the file's
    # column, `ignoreCase`, and `mode` string (exact) or cidr (an address in a subnet of the file);
    # it keeps only the events that match (`strict`, default true) and adds the matched row's other
    # columns to them (query function "match()"). Its glob mode reads patterns written in the file,
    # not plain values, and it has no regex mode.
    named_list_reasons: ClassVar[Mapping[str, str]] = {
        **{
            key: "match()'s glob mode reads patterns written in the lookup file, not plain values: no "
            f"mode tests its entries by {what}"
            for kind, what in (("contains", "substring"), ("startswith", "prefix"), ("endswith", "suffix"))
            for key in (kind, kind + "_cased")
        },
        "regex": "match() has no regular-expression mode",
        "regex_cased": "match() has no regular-expression mode",
    }
    _MATCH_OPTIONS: ClassVar[Mapping[str, str]] = {
        "exact": "ignoreCase=true",
        "exact_cased": "ignoreCase=false",
        "cidr": "mode=cidr",
    }

    def named_list_literal(self, value: NamedListValue) -> str:
        name = value.id if value.id.endswith((".csv", ".json")) else value.id + ".csv"
        return logscale_string(name)

    def convert_named_list(
        self, cond: ConditionFieldEqualsValueExpression, value: NamedListValue, state: ConversionState
    ) -> Any:
        options = self._MATCH_OPTIONS.get(value.key)
        if options is None:
            raise self.named_list_unsupported(value)
        test = (
            f"match(file={self.named_list_literal(value)}, field={logscale_string(cond.field)}, "
            f"column={logscale_string(LOOKUP_COLUMN)}, {options})"
        )
        return self._filter_function(cond, test, "list", state)

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> Any:
        args = self.field_args(cond)
        if isinstance(args[0].value, SigmaCIDRExpression):
            return self._cidr(cond, args[0].field, [arg.value for arg in args], state)
        if self._is_pattern_list(args):
            return super().convert_condition_as_in_expression(cond, state)
        if not self._whole_condition(cond):
            # in() is a filter function: the parsers accept it only as a pipeline step of its own,
            # so inside a larger condition the list is one anchored regex alternation instead.
            return self.exact_list_as_regex(cond, state)
        ignore_case = ", ignoreCase=true" if self._value_kind(args[0].value) == "string" else ""
        values = ", ".join(
            self.convert_value_str(arg.value, state) if isinstance(arg.value, SigmaString) else str(arg.value)
            for arg in args
        )
        return f"in(field={logscale_string(args[0].field)}, values=[{values}]{ignore_case})"


class LogScale(Target):
    name = "logscale"
    siem = "CrowdStrike Falcon LogScale (CQL)"
    file_extension = "logscale"
    backend_class = LogScaleBackend
    flags_as_text = True  # eval/case() columns hold strings
    # Correlation rules: windows computed from @timestamp (milliseconds) as whole multiples of the
    # span (`@timestamp / span` then math:floor), groupBy() over the group fields and the window. A
    # base rule's hits are a flag per event (`case`) summed per group, so an event matching two base
    # rules counts for both; distinct values are two groupBy() steps.
    # value_sum / value_avg: the hits whose value is a decimal number (a regex filter) are summed or
    # averaged; the reference skips the others too. "avg() Function Operation": a value that "isn't a
    # number" is "not counted towards the average"; the sum() page says nothing of such values, and
    # neither says what a group without a number gets, so none reaches them.
    correlation_unsupported_types: ClassVar[Mapping[str, str]] = {
        "value_percentile": "percentile() is an estimate",
        "value_median": "percentile(x, 50) is an estimate",
    }

    def correlation_refuses(self, correlation: Correlation) -> str | None:
        if correlation.kind.name == "TEMPORAL_ORDERED" and len(correlation.bases) != 2:
            # Two rules in order within a window: the first rule's earliest hit before the second's
            # latest. More rules need each step's earliest hit after the step before, per group and
            # window, kept beside the hits: accumulate() does it over ordered rows, but "must be used
            # after an aggregator function (for example, head(), sort() ...) to ensure event
            # ordering" ("accumulate()"); head() and sort() keep a limited number of rows (sort(): at
            # most 20,000, "sort()", limit: StateRowLimit; "Function Limits"), so the hits past the
            # limit would be dropped. correlate() with sequence=true finds ordered events, but "If the
            # candidate set still does not fit into memory after that point [its iteration limit], a
            # partial result will be reported" (DEFAULT_GRAPHQUERY_ITERATION_LIMIT).
            return (
                "an ordered match of more than two rules needs a running step per hit (accumulate()),"
                " which runs only on rows an aggregator ordered (head(), sort()), and those keep a"
                " limited number of rows (sort(): at most 20,000); correlate() reports a partial result"
                " when its candidate events do not fit in memory"
            )
        if correlation.kind.name in ("VALUE_SUM", "VALUE_AVG") and len(correlation.bases) > 1:
            selectors = [self.select(base.detection)[0].selector for base in correlation.bases]
            if len(set(selectors)) != len(selectors):
                # One event matching two base rules of one source is one event here, where the
                # reference adds its value once per rule.
                return (
                    "a sum or mean over several base rules of one source: an event matching two of"
                    " them would count once, not once per rule"
                )
        return None

    def correlation_context(self, view: CorrelationView) -> dict[str, Any]:
        if len(view.bases) > 1 and any(base.derived for base in view.bases):
            raise Unsupported("a derived column of one of several base rules: it would be computed for all")
        for base in view.bases:
            if "|" in base.source.selector:
                raise Unsupported(f"the source of rule '{base.reference}' is no single filter expression")
        value_fields = {base.value_field for base in view.bases}
        if len({base.group_fields for base in view.bases}) == 1 and len(value_fields) == 1:
            # Every base rule reads the same fields: group by them as they are.
            renames: list[list[tuple[str, str]]] = [[] for _ in view.bases]
            columns, value = view.bases[0].group_fields, view.bases[0].value_field
        else:
            # Fields named differently (aliases, or sources that name a field differently): each base
            # rule's hits copy theirs into one column. Sources with different selectors hold
            # different events, so no event is copied twice.
            if len({base.source.selector for base in view.bases}) != len(view.bases):
                raise Unsupported("base rules on one source name the correlation's fields differently")
            columns, value = view.group_names, "siemc_value" if view.correlation.value_field else None
            renames = [
                [*zip(view.group_names, base.group_fields, strict=True)]
                + ([("siemc_value", base.value_field)] if base.value_field else [])
                for base in view.bases
            ]
        if view.correlation.kind.name == "TEMPORAL_ORDERED":
            # Each rule's hits keep their time: the first rule's earliest, the second's latest.
            renames = [
                [*moves, (f"siemc_time{i}", base.source.time_field)]
                for i, (moves, base) in enumerate(zip(renames, view.bases, strict=True))
            ]
        return {
            "group_fields": columns,
            "value_column": value,
            "renames": renames,
            "span_ms": view.timespan_seconds * 1000,
            "numeric_regex": LOGSCALE_DECIMAL_REGEX,
        }

    def string_literal(self, text: str) -> str:
        return logscale_string(text)
