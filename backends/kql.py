"""KQL for Microsoft Defender XDR advanced hunting (and Sentinel, which reads the same tables).

Strings: `"..."` with backslash escapes, or verbatim `@"..."` (backslash literal, `""` for a quote),
which is what KQL authors use for Windows paths. `==` is case-sensitive, `=~`, `startswith`,
`endswith`, `contains` and `in~` are case-insensitive; `_cs` forms are case-sensitive. `has` is a
whole-term match and is never used for Sigma's substring semantics. `matches regex` is RE2 and
unanchored: Sigma's Python regexes are rewritten to mean the same there (siemc/compile/regex.py); lookaround,
backreferences and Unicode `\\b` have no RE2 form and are unsupported. Strings are never null in
Kusto, so null tests are `isempty()`; numbers can be, and a comparison with null is null, so numeric
comparisons test `isnotnull()` first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from sigma.conversion.state import ConversionState
from sigma.types import SigmaString

from siemc.compile.backend import SiemcBackend, plain_text
from siemc.compile.correlation import timespan_text
from siemc.compile.correlation_target import CorrelationView
from siemc.compile.placeholders import NamedListValue
from siemc.compile.regex import re2_regex
from siemc.compile.rule import Detection
from siemc.compile.target import Source, Target


def kql_string(text: str) -> str:
    """Verbatim `@"..."` for text with backslashes (paths, regexes), plain `"..."` otherwise."""
    if "\\" in text and not any(c in text for c in "\n\r\t"):
        return '@"' + text.replace('"', '""') + '"'
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return '"' + escaped.replace("\t", "\\t") + '"'


class KqlBackend(SiemcBackend):
    name = "siemc KQL"
    or_token = "or"
    and_token = "and"
    not_token = "not"
    not_expression = "not({expr})"  # a function in KQL: `not x` is a syntax error
    # Verbatim `@"..."` (a quote doubled, no escapes) and `"..."` with backslash escapes.
    string_literals = re.compile(r'@"(?:[^"]|"")*"|"(?:\\.|[^"\\])*"')
    eq_token = " =~ "
    num_eq_token = " == "

    str_quote = '"'
    escape_char = None
    wildcard_multi = "*"
    wildcard_single = "?"

    startswith_expression = "{field} startswith {value}"
    endswith_expression = "{field} endswith {value}"
    contains_expression = "{field} contains {value}"
    case_sensitive_match_expression = "{field} == {value}"
    case_sensitive_startswith_expression = "{field} startswith_cs {value}"
    case_sensitive_endswith_expression = "{field} endswith_cs {value}"
    case_sensitive_contains_expression = "{field} contains_cs {value}"
    re_expression = "{field} matches regex {regex}"
    # The range functions are null for a value that is no address of their family (an IPv6 address
    # for ipv4_is_in_range): `== true` keeps the test two-valued under not().
    cidr_expression = '{function}({field}, "{value}") == true'
    compare_op_expression = "{field} {operator} {value}"
    # fieldref: string operators take a column on the right as well (case-insensitive like Sigma's).
    # An empty column is an absent value, which equals and holds nothing (`"" =~ ""` is true).
    field_equals_field_expression = "(isnotempty({field1}) and {field1} =~ {field2})"
    field_equals_field_startswith_expression = "(isnotempty({field2}) and {field1} startswith {field2})"
    field_equals_field_endswith_expression = "(isnotempty({field2}) and {field1} endswith {field2})"
    field_equals_field_contains_expression = "(isnotempty({field2}) and {field1} contains {field2})"
    field_null_expression = "isempty({field})"
    field_exists_expression = "isnotempty({field})"
    field_not_exists_expression = "isempty({field})"

    # Named lists are Sentinel watchlists, read with `_GetWatchlist('alias')`, whose `SearchKey`
    # column holds the column chosen as the search key when the watchlist was created (Microsoft
    # Sentinel, "Build queries or detection rules with watchlists"). `in~`/`in` take a tabular
    # expression and test its first column, case-insensitively or not (KQL "in~ operator", "in
    # operator": expression "scalar or tabular"). ipv4_is_in_any_range takes a dynamic array of
    # ranges ("ipv4_is_in_any_range()": Ipv4Ranges, IP-prefix notation); it is null for an address
    # or range that is no IPv4 one, hence `== true` and a watchlist of IPv4 ranges.
    named_list_tests: ClassVar[Mapping[str, str]] = {
        "exact": "{field} in~ (_GetWatchlist({list}) | project SearchKey)",
        "exact_cased": "{field} in (_GetWatchlist({list}) | project SearchKey)",
        "cidr": (
            "ipv4_is_in_any_range({field}, toscalar(_GetWatchlist({list}) | summarize make_list(SearchKey)))"
            " == true"
        ),
    }
    named_list_reasons: ClassVar[Mapping[str, str]] = {
        **{
            key: f"KQL has no operator testing a value against a watchlist's entries by {what} "
            "(has_any matches whole terms, not substrings)"
            for kind, what in (("contains", "substring"), ("startswith", "prefix"), ("endswith", "suffix"))
            for key in (kind, kind + "_cased")
        },
        "regex": "KQL has no operator matching a value against a watchlist of regexes",
        "regex_cased": "KQL has no operator matching a value against a watchlist of regexes",
    }

    def named_list_literal(self, value: NamedListValue) -> str:
        return kql_string(value.id)

    field_in_list_expression = "{field} {op} ({list})"
    # `in~`/`in` consider up to 1,000,000 distinct values (Kusto's in~ operator reference): far more
    # than any rule lists, so exact-value lists stay one list however long.
    or_in_operator = "in~"
    cased_in_operator = "in"
    number_in_operator = "in"
    list_separator = ", "

    def convert_condition_field_eq_val_num(self, cond: Any, state: ConversionState) -> Any:
        # A path into a dynamic column (EventData.LogonType) holds the event's text: compare text.
        if "." in cond.field:
            return f'{self.escape_and_quote_field(cond.field)} == "{cond.value}"'
        return super().convert_condition_field_eq_val_num(cond, state)

    # siemc's regexes are Python's until re2_regex rewrites them: Python's end of the text is `\Z`.
    end_of_value_anchor = "\\Z"

    def convert_condition_field_eq_val_cidr(self, cond: Any, state: ConversionState) -> Any:
        network = str(cond.value.network)
        function = "ipv6_is_in_range" if ":" in network else "ipv4_is_in_range"
        field = self.escape_and_quote_field(cond.field)
        return self.cidr_expression.format(function=function, field=field, value=network)

    def convert_condition_field_compare_op_val(self, cond: Any, state: ConversionState) -> Any:
        # Numbers can be null, and `null < 15` is null, not false (Kusto's null-values page), which
        # `not()` keeps null and a flag column shows as empty: the test is guarded to be two-valued.
        # Event data in a dynamic column is text there: compared as the number it spells.
        field = str(self.escape_and_quote_field(cond.field))
        if "." in cond.field:
            field = f"tolong({field})"
        operator = self.compare_operators[cond.value.op]
        return f"(isnotnull({field}) and {field} {operator} {cond.value.number})"

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        return kql_string(plain_text(s))

    def convert_value_re(self, r, state):  # type: ignore[no-untyped-def]
        # `matches regex` is RE2: the Sigma (Python) regex is rewritten to mean the same there.
        flags = {c for flag, c in r.sigma_to_re_flag.items() if flag in r.flags}
        return kql_string(re2_regex(str(r.regexp), flags))


# Sentinel's scheduled analytics rules take a query of 1 to 10,000 characters ("Rule query" in
# https://learn.microsoft.com/azure/sentinel/scheduled-rules-overview); hunting and log queries have no
# such limit. No form of a rule listing a thousand values fits in it, so a longer query says so in its
# header rather than being cut or refused.
SENTINEL_RULE_QUERY_LIMIT = 10_000
SENTINEL_RULE_QUERY_NOTE = (
    "// Over 10,000 characters, the most a Sentinel scheduled analytics rule takes: run it as a hunting"
    " query, or keep the long value lists in a function or watchlist."
)


# Correlation rules: `summarize` per group and `bin()` window, one aggregate per type. count_distinct is
# Kusto's exact distinct count (dcount is an estimate); the value of a value_* type is read as text for
# counting and as a real for arithmetic (todouble: null where no number, which the aggregates skip).
KQL_CORRELATION_AGGREGATES: Mapping[str, tuple[str, str]] = {
    # type: (aggregate, the value column's expression)
    "event_count": ("count()", ""),
    "value_count": ("count_distinctif(siemc_value, isnotempty(siemc_value))", "tostring({field})"),
    "temporal": ("count_distinct(siemc_rule)", ""),
    "value_sum": ("sumif(siemc_value, isnotnull(siemc_value))", "todouble({field})"),
    "value_avg": ("avgif(siemc_value, isnotnull(siemc_value))", "todouble({field})"),
}
# The median and the nearest-rank percentile as 1-based ranks among a window's siemc_n sorted values
# (long arithmetic: integer division truncates): the median is the mean of the values at ranks
# (n - 1) / 2 + 1 and n / 2 + 1 (one rank for an odd n), the percentile the value at ceil(p * n / 100).
KQL_CORRELATION_RANKS: Mapping[str, tuple[str, ...]] = {
    "value_median": ("(siemc_n - 1) / 2 + 1", "siemc_n / 2 + 1"),
    "value_percentile": ("({p} * siemc_n + 99) / 100",),
}


# A native field reference of the mapping file is a column, a dotted path into a dynamic column
# (`ObjectRef.resource`) or an expression over them (`tostring(parse_json(RequestParameters).x)`,
# `extract(@'...', 1, SyslogMessage)`): string literals are skipped, and a name followed by `(` is a
# function; an index (`AuthorizationInfo[0]`) or a key after `)` belongs to the value before it.
# `column_ifexists("eventType_s", "")` reads the column its first argument names (a custom table's
# column exists once a record carrying it was ingested; the query stays valid before).
_KQL_STRING = re.compile(r"@'[^']*'" r'|@"[^"]*"' r"|'(?:[^'\\]|\\.)*'" r'|"(?:[^"\\]|\\.)*"')
_KQL_NAME = re.compile(r"(?<![\w.\])\]])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_KQL_COLUMN_IFEXISTS = re.compile(r"""\bcolumn_ifexists\s*\(\s*(?:"([^"\\]+)"|'([^'\\]+)')""")


def kql_expression_columns(native: str) -> set[str]:
    """The columns (with their dotted keys) a KQL field reference reads."""
    named = {a or b for a, b in _KQL_COLUMN_IFEXISTS.findall(native)}
    text = _KQL_STRING.sub(" ", native)
    return named | {
        match.group()
        for match in _KQL_NAME.finditer(text)
        if not text[match.end() :].lstrip().startswith("(")
    }


class Kql(Target):
    name = "kql"
    siem = "Microsoft Sentinel / Defender XDR (KQL)"
    file_extension = "kql"
    backend_class = KqlBackend
    column_as_text = "tostring({column})"
    correlation_unsupported_types: ClassVar[Mapping[str, str]] = {}

    def site_table(self, source: Source) -> str | None:
        """The custom table a source reads under siemc's own name for it (no Microsoft connector
        writes it, so the site names its own), unless the site has given the selector itself."""
        table = source.extra.get("site_table")
        return table if isinstance(table, str) and source.selector.startswith(table) else None

    def correlation_context(self, view: CorrelationView) -> dict[str, Any]:
        kind = view.correlation.kind.name.lower()
        tables = (self.site_table(base.source) for base in view.bases)
        common = {
            "span": timespan_text(view.timespan_seconds),
            "strings": {base.reference: kql_string(base.reference) for base in view.bases},
            "site_tables": list(dict.fromkeys(table for table in tables if table)),
        }
        if kind == "temporal_ordered":
            # Two rules in order within a bin: the first rule's earliest hit before the second's latest.
            # More rules (or one): a chain of steps, each the earliest hit of its rule after the step
            # before (scan would say it too, but its sequences are not run by the harness's engine).
            chain = len(view.bases) != 2
            return {**common, "aggregate": "", "value_expression": "", "ranks": [], "chain": chain}
        if kind in KQL_CORRELATION_RANKS:
            # Kusto's percentile() is an estimate (T-Digest): the exact value is read off the ranks
            # each distinct value holds in its window (a join of the window's values with themselves).
            percentile = view.correlation.condition.percentile or 50
            ranks = [rank.format(p=percentile) for rank in KQL_CORRELATION_RANKS[kind]]
            return {
                **common,
                "aggregate": "",
                "value_expression": "todouble({field})",
                "ranks": ranks,
                "chain": False,
            }
        aggregate, value = KQL_CORRELATION_AGGREGATES[kind]
        return {**common, "aggregate": aggregate, "value_expression": value, "ranks": [], "chain": False}

    def string_literal(self, text: str) -> str:
        return kql_string(text)

    def model_fields(self, native: str) -> set[str]:
        return kql_expression_columns(native)

    def _context(self, detection: Detection, source: Source) -> dict[str, Any]:
        # A source's key columns (a Defender XDR table's DeviceId and ReportId, which a custom
        # detection must return: backends/mappings/kql.yml) follow the time column in a projection.
        context = super()._context(detection, source)
        keys = source.extra.get("key_columns", "").split()
        self.check_data_model(source, set(keys))
        columns: list[str] = context["columns"]
        if keys and columns:
            rest = [c for c in columns if c not in keys]
            at = rest.index(source.time_field) + 1 if source.time_field in rest else 0
            context["columns"] = [*rest[:at], *keys, *rest[at:]]
        return context

    def finish(self, text: str) -> str:
        if len(text) <= SENTINEL_RULE_QUERY_LIMIT:
            return text
        lines = text.split("\n")
        header = next(i for i, line in enumerate(lines) if not line.startswith("//"))
        return "\n".join([*lines[:header], SENTINEL_RULE_QUERY_NOTE, *lines[header:]])
