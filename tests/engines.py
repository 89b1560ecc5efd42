"""Run one target's query over Sigma-named events, with the engine that stands for that SIEM.

KQL: Microsoft's Kusto.Language must report no diagnostics, then duckdb-kql executes the query.
EQL: Elastic's eql parses and executes it. SPL, AQL, Sumo Logic, YARA-L and LogScale: the executable
models in tests/models/ (LogScale must also parse with logscale-tools).

Events are translated into the target's schema by the target's own field mapping (tests/native.py),
plus the fields its event selector tests. Each event gets its own timestamp inside the look-back
window (event i is i+1 seconds old), so rows that come back projected can be traced to their event.

Named lists (`{list: NAME, values: [...]}` in siemc.yml) reach each engine as the SIEM's own list
object, created as the README's "How to create each list object" says (`list_objects`): a Sentinel
watchlist (duckdb-kql reads `_GetWatchlist("NAME")` as a table of its SearchKey column), a Splunk
lookup definition, a QRadar reference set, a Sumo Logic lookup table, a Google SecOps reference list,
a LogScale lookup file. EQL has none: its query holds the entries.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from siemc.backends import get_target
from sigma.types import (
    Placeholder,
    SigmaCasedString,
    SigmaFieldReference,
    SigmaRegularExpression,
)

from siemc.compile.fields import FILE_NAME_FIELDS
from siemc.compile.placeholders import CIDR_SUFFIX
from siemc.compile.rule import Detection
from siemc.compile.target import Source
from siemc.verify.evaluate import Evaluator
from tests.models.common import ModelSyntaxError, Row
from tests.native import native_event, nest

NOW = dt.datetime(2026, 11, 29, 12, 0, 0, tzinfo=dt.UTC)
FILE_NAME_TO_PATH = {name: path for path, name in FILE_NAME_FIELDS.items()}


class EngineRejected(AssertionError):
    """The target's checker or model rejects the query text itself."""


class EngineUnavailable(RuntimeError):
    """The engine for a target cannot run on this machine (a missing optional tool)."""


def event_time(index: int) -> dt.datetime:
    return NOW - dt.timedelta(seconds=index + 1)


def native_events(
    target_name: str, source: Source, events: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The events in the target's schema, with a distinct timestamp each. An event gets the selector's
    fields it lacks; a value it carries itself (a real record's EventID, say) is kept, so a rule
    that tests that field sees the event's own value."""
    rows = []
    for index, event in enumerate(events):
        row = {**source.selector_fields, **native_event(dict(event), source, target_name)}
        row[source.time_field] = event_time(index)
        rows.append(row)
    return rows


def _rows_by_time(rows: list[dict[str, Any]], time_field: str, count: int) -> list[Row]:
    index_of = {event_time(i).replace(tzinfo=None): i for i in range(count)}
    result = []
    for row in rows:
        stamp = row.get(time_field)
        if isinstance(stamp, dt.datetime):
            stamp = stamp.replace(tzinfo=None)
        if stamp not in index_of:
            raise AssertionError(f"a result row cannot be traced to an event: {row}")
        result.append(Row(index_of[stamp], row))
    return result


# -- named lists -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListUse:
    """A named list a rule tests, with its entries and how the rule tests it."""

    name: str  # the SIEM list's name
    entries: tuple[str, ...]
    cased: bool = False  # a case-sensitive string test (the `cased` modifier)
    regex: bool = False
    cidr: bool = False


def list_uses(detection: Detection) -> dict[str, ListUse]:
    """The named lists the detection and its derived columns test, by placeholder name."""
    lists = detection.site.named_lists()
    rules = [detection.sigma]
    rules += [
        detection.condition_rule(case.when) for column in detection.extension.derive for case in column.cases
    ]
    uses: dict[str, ListUse] = {}
    for rule in rules:
        pending: list[Any] = list(rule.detection.detections.values())
        while pending:
            item = pending.pop()
            if hasattr(item, "detection_items"):
                pending.extend(item.detection_items)
                continue
            for value in item.value:
                parts = (
                    value.regexp.s if isinstance(value, SigmaRegularExpression) else getattr(value, "s", ())
                )
                for part in parts:
                    if not isinstance(part, Placeholder):
                        continue
                    base = part.name.removesuffix(CIDR_SUFFIX)
                    if base not in lists:
                        continue
                    named = lists[base]
                    use = uses.get(base, ListUse(named.name, named.values or ()))
                    uses[base] = ListUse(
                        use.name,
                        use.entries,
                        use.cased or isinstance(value, SigmaCasedString),
                        use.regex or isinstance(value, SigmaRegularExpression),
                        use.cidr or part.name.endswith(CIDR_SUFFIX),
                    )
    return uses


def list_objects(target_name: str, detection: Detection) -> dict[str, Any]:
    """The SIEM list objects of the detection's named lists, as the README tells to create them."""
    uses = list_uses(detection).values()
    if target_name == "kql":
        # A watchlist whose SearchKey column holds the entries.
        return {use.name: use.entries for use in uses}
    if target_name == "spl":
        from tests.models.spl import Lookup

        # A lookup definition over a CSV with the column `value`: case_sensitive_match = false,
        # and match_type = CIDR(value) for a list of networks.
        return {
            use.name: Lookup(
                tuple({"value": entry} for entry in use.entries),
                case_sensitive_match=False,
                match_type={"value": "CIDR"} if use.cidr else {},
            )
            for use in uses
        }
    if target_name == "aql":
        from tests.models.aql import ReferenceSet

        # An Alphanumeric (Ignore Case) reference set; Alphanumeric for case-sensitive tests.
        return {use.name: ReferenceSet("ALN" if use.cased else "ALNIC", use.entries) for use in uses}
    if target_name == "sumo":
        folder = detection.site.list_folders.get("sumo", "")
        return {f"{folder}/{use.name}": [{"value": entry} for entry in use.entries] for use in uses}
    if target_name == "yaral":
        from tests.models.yaral import ReferenceList

        return {
            use.name: ReferenceList(
                "REGEX" if use.regex else "CIDR" if use.cidr else "STRING",
                "\n".join(_reference_list_line(entry, use.regex) for entry in use.entries),
            )
            for use in uses
        }
    if target_name == "logscale":
        files = {}
        for use in uses:
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(["value"])
            writer.writerows([entry] for entry in use.entries)
            name = use.name if use.name.endswith((".csv", ".json")) else use.name + ".csv"
            files[name] = text.getvalue()
        return files
    return {}


def _reference_list_line(entry: str, regex: bool) -> str:
    """One entry as a line of a Google SecOps reference list ("Reference Lists"): a STRING line
    escapes `\\` and `/` (so no `//` starts a comment), a REGEX line its unescaped `/`."""
    if regex:
        return re.sub(r"(?<!\\)/", r"\/", entry)
    return entry.replace("\\", "\\\\").replace("/", "\\/")


_WATCHLIST = re.compile(r'_GetWatchlist\(("(?:[^"\\]|\\.)*")\)')


def _watchlists_as_tables(query: str, watchlists: Mapping[str, Sequence[str]]) -> str:
    """duckdb-kql has no Sentinel functions: `_GetWatchlist("NAME")` becomes the watchlist's rows as a
    datatable of its SearchKey column (the test harness only; Kusto.Language checked the real text)."""
    from siemc.backends.kql import kql_string

    def table(match: re.Match[str]) -> str:
        name = json.loads(match.group(1))
        if name not in watchlists:
            raise EngineRejected(f"no watchlist {name!r}")
        rows = ", ".join(kql_string(entry) for entry in watchlists[name])
        return f"datatable(SearchKey:string) [{rows}]"

    return _WATCHLIST.sub(table, query)


# The Event table's parse stage (backends/mappings/kql.yml): the event data XML as a bag, EventFields.
_EVENT_XML_STAGE = re.compile(
    r"\n\| extend EventDataItems = parse_xml\(EventData\)[^\n]*\n\| mv-apply Item = [^\n]* on \(summarize "
    r"EventFields = [^\n]*"
)
_EVENT_FIELDS = "EventFields"


def _event_xml(fields: Mapping[str, Any]) -> str:
    """The Event table's EventData text for an event's data, as the Azure Monitor Agent writes it."""
    from xml.sax.saxutils import escape, quoteattr

    items = "".join(f"<Data Name={quoteattr(str(k))}>{escape(str(v))}</Data>" for k, v in fields.items())
    namespace = "http://schemas.microsoft.com/win/2004/08/events/event"
    return f'<DataItem type="System.XmlData"><EventData xmlns="{namespace}">{items}</EventData></DataItem>'


def _run_kql(query: str, source: Source, rows: list[dict[str, Any]], lists: Mapping[str, Any]) -> list[Row]:
    from tests.checkers import kusto

    try:
        language = kusto.kusto_language()
    except kusto.KustoLanguageUnavailable as error:
        raise EngineUnavailable(str(error)) from error
    diagnostics = language.diagnostics(query)
    if diagnostics:
        raise EngineRejected("Kusto.Language: " + "; ".join(str(d) for d in diagnostics))
    table = re.match(r"\w+", source.selector)
    assert table is not None, source.selector
    columns = kusto.table_columns(table.group(0))
    extra: dict[str, dict[str, str]] = {}
    if _EVENT_XML_STAGE.search(query):
        # duckdb-kql has neither parse_xml nor mv-apply: the query runs from that stage on, over rows
        # holding both the XML text (EventData, what keywords search) and the bag the stage makes of it
        # (Kusto.Language checked the whole text above).
        query = _EVENT_XML_STAGE.sub("", query)
        extra = {table.group(0): {_EVENT_FIELDS: "dynamic"}}
        columns = {**columns, **extra[table.group(0)]}
    naive = [_kusto_row(row, columns) for row in rows]
    if extra:
        for row in naive:
            row["EventData"] = _event_xml(row.get(_EVENT_FIELDS, {}))
    from duckdb_kql.errors import KqlUnsupportedError

    try:
        result = kusto.run_kql(
            _watchlists_as_tables(query, lists),
            {table.group(0): naive},
            now=NOW.replace(tzinfo=None),
            extra_columns=extra,
        )
    except KqlUnsupportedError as error:  # e.g. ipv4_is_in_range: Kusto.Language checked the text above
        raise EngineUnavailable(f"duckdb-kql cannot execute it: {error}") from error
    return _rows_by_time(result, source.time_field, len(rows))


def _kusto_row(row: Mapping[str, Any], columns: Mapping[str, str]) -> dict[str, Any]:
    """A row for a Kusto table: naive UTC times, `EventData.X` keys nested in their dynamic column,
    and each value typed as its column (`_kusto_value`)."""
    result: dict[str, Any] = {}
    for key, value in row.items():
        value = value.replace(tzinfo=None) if isinstance(value, dt.datetime) else value
        head, _, rest = key.partition(".")
        if rest and columns.get(head) == "dynamic":
            result.setdefault(head, {})[rest] = value
        else:
            result[key] = _kusto_value(value, columns.get(key))
    return result


def _kusto_value(value: Any, kql_type: str | None) -> Any:
    """An event value as ingestion stores it in a typed column: event data is text, so a typed
    table's integer column holds the number the text spells (null when it spells none: Kusto's
    toint), and a string column holds a number's text."""
    if kql_type in ("int", "long") and isinstance(value, str):
        text = value.strip()
        return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else None
    if kql_type == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _run_eql(query: str, source: Source, rows: list[dict[str, Any]], lists: Mapping[str, Any]) -> list[Row]:
    from tests.checkers import eql_engine

    error = eql_engine.eql_syntax_error(query)
    if error:
        raise EngineRejected("eql: " + error)
    documents = [nest({k: _ecs_value(k, v) for k, v in r.items()}) for r in rows]
    # Elasticsearch's case rules, `?` wildcard and Lucene regexes (the bare library differs there).
    return [Row(index) for index in eql_engine.run_eql(query, documents, es_semantics=True)]


def _ecs_value(field: str, value: Any) -> Any:
    """A value as Elasticsearch holds it: ISO times; numbers in keyword fields (event.code and the
    winlog event data, such as winlog.event_id) indexed as their text."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and (field == "event.code" or field.startswith("winlog."))
    ):
        return str(value)
    return value


# The keyword each model's run() takes its list objects by.
_MODEL_LISTS = {
    "spl": "lookups",
    "aql": "reference_sets",
    "sumo": "lookup_tables",
    "yaral": "reference_lists",
    "logscale": "files",
}
Engine = Callable[[str, Source, list[dict[str, Any]], Mapping[str, Any]], list[Row]]


def _run_model(name: str) -> Engine:
    def run(query: str, source: Source, rows: list[dict[str, Any]], lists: Mapping[str, Any]) -> list[Row]:
        from importlib import import_module

        model = import_module(f"tests.models.{name}")
        if name == "logscale":
            from tests.checkers.logscale import logscale_syntax_errors

            errors = logscale_syntax_errors(query)
            if errors:
                raise EngineRejected("logscale-tools: " + "; ".join(errors))
        try:
            result: list[Row] = model.run(query, rows, NOW, **{_MODEL_LISTS[name]: lists})
        except ModelSyntaxError as error:
            raise EngineRejected(f"{name} model: {error}") from error
        return result

    return run


ENGINES: dict[str, Engine] = {
    "kql": _run_kql,
    "eql": _run_eql,
    **{name: _run_model(name) for name in ("spl", "aql", "sumo", "yaral", "logscale")},
}
# Languages whose output computes the derived columns (EQL lists them as a triage comment only).
COMPUTES_DERIVED = frozenset({"kql", "spl", "aql", "sumo", "yaral", "logscale"})
# Data models where a string is never null: an absent value reads as "" (Kusto columns, UDM fields).
# The reference sees events as such a SIEM stores them, with `null` meaning empty.
EMPTY_IS_NULL = frozenset({"kql", "yaral"})


def rule_fields(detection: Detection) -> set[str]:
    """The Sigma fields the detection and its derived columns test."""
    rules = [detection.sigma]
    rules += [
        detection.condition_rule(case.when) for column in detection.extension.derive for case in column.cases
    ]
    fields: set[str] = set()
    for rule in rules:
        pending: list[Any] = list(rule.detection.detections.values())
        while pending:
            item = pending.pop()
            if hasattr(item, "detection_items"):
                pending.extend(item.detection_items)
            elif item.field:
                fields.add(item.field)
                # A field reference reads a second field.
                fields.update(v.field for v in item.value if isinstance(v, SigmaFieldReference))
    return fields


def reference(
    target_name: str, detection: Detection, events: Sequence[Mapping[str, Any]]
) -> list[tuple[bool, dict[str, Any]]]:
    """What the rule means for each event, as the target's data model holds the event."""
    view: list[Mapping[str, Any]] = list(events)
    empty_is_null = target_name in EMPTY_IS_NULL
    if empty_is_null:
        # File-name fields stay derived from their path fields, which get the "" instead.
        fields = {FILE_NAME_TO_PATH.get(name, name) for name in rule_fields(detection)}
        view = [{name: "" for name in fields} | dict(event) for event in events]
    evaluator = Evaluator.for_detection(
        detection, detection.site.evaluation_values(), empty_is_null=empty_is_null
    )
    return [(evaluator.matches(event), evaluator.derived(event)) for event in view]


def run_target(
    target_name: str, detection: Detection, query: str, events: Sequence[Mapping[str, Any]]
) -> list[Row]:
    """The rows the target's engine returns for `query` over the Sigma-named `events`, stored as the
    source the query selects holds them (the data model's check may pass over a candidate whose
    mapping names every field, so the source is the rendered one, not the first that maps them)."""
    source = get_target(target_name, detection.site).select(detection)[0]
    lists = list_objects(target_name, detection)
    return ENGINES[target_name](query, source, native_events(target_name, source, events), lists)


def reference_hits(target_name: str, detection: Detection, events: Sequence[Mapping[str, Any]]) -> list[int]:
    """The indices of the events the rule matches, by the reference evaluation."""
    return [index for index, (hit, _) in enumerate(reference(target_name, detection, events)) if hit]


def agreeing_hits(
    target_name: str, detection: Detection, query: str, events: Sequence[Mapping[str, Any]]
) -> list[int]:
    """The indices of the events the reference matches, once the target's engine has returned the same
    rows for `query` over them (stored as the data model says the vendor stores them)."""
    expected = reference_hits(target_name, detection, events)
    assert [row.index for row in run_target(target_name, detection, query, events)] == expected
    return expected


def derived_value(target_name: str, value: Any) -> str | bool | None:
    """A derived column's value as the reference states it (flags come back as text in most SIEMs)."""
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    if isinstance(value, bool | str) or value is None:
        return value
    raise AssertionError(f"{target_name}: unexpected derived value {value!r}")
