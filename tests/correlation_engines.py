"""Run a target's correlation query over timestamped, Sigma-named events, and say which groups it reports.

Each event goes to the log source of the base rule it is tagged with, or to the source of every base
rule when it is not tagged (as the SIEM would hold it in each table it reads), translated into the
target's schema by the target's own field mapping (tests/native.py), with its own timestamp.

KQL: Kusto.Language must report no diagnostics, then duckdb-kql runs the query. duckdb-kql has no
count_distinct()/count_distinctif(): they run as dcount()/dcountif(), which duckdb-kql computes exactly
(Kusto's own dcount is an estimate, which is why the query does not use it).
EQL: the eql engine runs the sequence over the events in time order.

The groups a target reports are compared with the reference (siemc/verify/correlate.py) under the
target's own window semantics (`TARGET_WINDOWS`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from siemc.backends import get_target

from siemc.compile.correlation import Correlation
from siemc.compile.target import Source
from siemc.verify.correlate import (
    KUSTO_ORIGIN,
    Group,
    Last,
    Sliding,
    SlidingOpenEnd,
    Tumbling,
    Window,
    correlate,
    group_key,
    hits,
)
from tests.engines import (
    _EVENT_FIELDS,
    _EVENT_XML_STAGE,
    EngineRejected,
    _ecs_value,
    _event_xml,
    _kusto_row,
)
from tests.native import native_event, nest

# How each target cuts time; a target missing here has no engine for correlation queries yet.
TARGET_WINDOWS: Mapping[str, Window] = {
    "kql": Tumbling(KUSTO_ORIGIN),
    "spl": Tumbling(),  # bin _time: spans from the epoch (the model's time zone is UTC)
    "eql": Sliding(),
    # `over <span> after $pivot`: from each pivot event's time, holding events less than the span after
    # it (the Overview of YARA-L 2.0: "only events less than 5 minutes apart are correlated").
    "yaral": SlidingOpenEnd(),
    "sumo": Tumbling(),  # timeslice: slices from the epoch (the model's time zone is UTC)
    "logscale": Tumbling(),  # whole multiples of the span in @timestamp milliseconds
    "aql": Last(dt.datetime.min.replace(tzinfo=dt.UTC)),  # LAST n MINUTES: see target_window()
}


def target_window(target_name: str, times: Sequence[dt.datetime]) -> Window:
    """The target's window over these events: a search over the last N minutes runs at the last event."""
    window = TARGET_WINDOWS[target_name]
    return Last(max(times)) if isinstance(window, Last) else window


# Data models where a string is never null (Kusto columns): the reference reads a missing one as "".
_EMPTY_IS_NULL = frozenset({"kql"})
# Targets that order hits by their times only (two hits of the same time are in no order), and those
# whose events carry whole seconds (UDM's metadata.event_timestamp.seconds).
_TIMES_ONLY = frozenset({"kql", "spl", "yaral", "logscale", "sumo"})
_WHOLE_SECONDS = frozenset({"yaral"})

ReportedGroup = tuple[tuple[str, ...], dt.datetime | None]


def _placements(
    target_name: str, correlation: Correlation, tags: Sequence[str | None]
) -> tuple[list[Source], list[list[int]]]:
    """The distinct sources of the base rules, and for each event the sources it is stored in."""
    target = get_target(target_name, correlation.site)
    sources: list[Source] = []
    of_base: list[int] = []
    for base in correlation.bases:
        source = target.select(base.detection)[0]
        if source not in sources:
            sources.append(source)
        of_base.append(sources.index(source))
    references = [base.reference for base in correlation.bases]
    placed = [[of_base[references.index(tag)]] if tag is not None else sorted(set(of_base)) for tag in tags]
    return sources, placed


def expected_groups(
    target_name: str,
    correlation: Correlation,
    events: Sequence[Mapping[str, Any]],
    times: Sequence[dt.datetime],
    tags: Sequence[str | None],
) -> set[ReportedGroup]:
    """The reference's groups under the target's window (bins keep their start, sliding windows none)."""
    window = target_window(target_name, times)
    if target_name in _WHOLE_SECONDS:
        times = [time.replace(microsecond=0) for time in times]
    groups = correlate(
        correlation,
        events,
        times,
        tags,
        window,
        empty_is_null=target_name in _EMPTY_IS_NULL,
        ties_in_order=target_name not in _TIMES_ONLY,
    )
    return {_reported(correlation, group) for group in groups}


def _reported(correlation: Correlation, group: Group) -> ReportedGroup:
    start = group.start.astimezone(dt.UTC).replace(tzinfo=None) if group.start else None
    return tuple(group.key[name] for name in correlation.group_by), start


def run_correlation(
    target_name: str,
    correlation: Correlation,
    query: str,
    events: Sequence[Mapping[str, Any]],
    times: Sequence[dt.datetime],
    tags: Sequence[str | None],
) -> set[ReportedGroup]:
    """The groups the target's engine reports for the correlation query."""
    if target_name == "kql":
        return _run_kql(correlation, query, events, times, tags)
    if target_name == "eql":
        return _run_eql(correlation, query, events, times, tags)
    if target_name == "spl":
        return _run_spl(correlation, query, events, times, tags)
    if target_name == "yaral":
        return _run_yaral(correlation, query, events, times, tags)
    if target_name == "sumo":
        return _run_sumo(correlation, query, events, times, tags)
    if target_name == "logscale":
        return _run_logscale(correlation, query, events, times, tags)
    if target_name == "aql":
        return _run_aql(correlation, query, events, times, tags)
    raise KeyError(f"no correlation engine for {target_name}")


def _run_kql(
    correlation: Correlation,
    query: str,
    events: Sequence[Mapping[str, Any]],
    times: Sequence[dt.datetime],
    tags: Sequence[str | None],
) -> set[ReportedGroup]:
    from duckdb_kql.errors import KqlUnsupportedError

    from tests.checkers import kusto
    from tests.engines import EngineUnavailable

    try:
        language = kusto.kusto_language()
    except kusto.KustoLanguageUnavailable as error:
        raise EngineUnavailable(str(error)) from error
    diagnostics = language.diagnostics(query)
    if diagnostics:
        raise EngineRejected("Kusto.Language: " + "; ".join(str(d) for d in diagnostics))
    sources, placed = _placements("kql", correlation, tags)
    tables: dict[str, list[dict[str, Any]]] = {}
    extra: dict[str, dict[str, str]] = {}
    if _EVENT_XML_STAGE.search(query):
        # As tests/engines.py does: duckdb-kql has neither parse_xml nor mv-apply, so the query runs
        # from that stage on, over rows holding both the XML text and the bag the stage makes of it.
        query = _EVENT_XML_STAGE.sub("", query)
        extra = {"Event": {_EVENT_FIELDS: "dynamic"}}
    for event, time, where in zip(events, times, placed, strict=True):
        for index in where:
            source = sources[index]
            table = re.match(r"\w+", source.selector)
            assert table is not None
            columns = {**kusto.table_columns(table.group(0)), **extra.get(table.group(0), {})}
            row = {**source.selector_fields, **native_event(dict(event), source, "kql")}
            row[source.time_field] = time.astimezone(dt.UTC).replace(tzinfo=None)
            kusto_row = _kusto_row(row, columns)
            if table.group(0) in extra:
                kusto_row["EventData"] = _event_xml(kusto_row.get(_EVENT_FIELDS, {}))
            tables.setdefault(table.group(0), []).append(kusto_row)
    runnable = query.replace("count_distinctif(", "dcountif(").replace("count_distinct(", "dcount(")
    try:
        rows = kusto.run_kql(runnable, tables, extra_columns=extra)
    except KqlUnsupportedError as error:
        raise EngineUnavailable(f"duckdb-kql cannot execute it: {error}") from error
    names = _group_columns(correlation)
    return {(tuple(str(row[name]) for name in names), _naive(row["siemc_window"])) for row in rows}


def _group_columns(correlation: Correlation) -> tuple[str, ...]:
    from siemc.compile.correlation_target import column_names

    return column_names(correlation)


def _naive(value: Any) -> dt.datetime:
    assert isinstance(value, dt.datetime), value
    return (
        value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)
    )


def _run_eql(
    correlation: Correlation,
    query: str,
    events: Sequence[Mapping[str, Any]],
    times: Sequence[dt.datetime],
    tags: Sequence[str | None],
) -> set[ReportedGroup]:
    from tests.checkers import eql_engine

    error = eql_engine.eql_syntax_error(query)
    if error:
        raise EngineRejected("eql: " + error)
    sources, placed = _placements("eql", correlation, tags)
    documents: list[tuple[dt.datetime, int, dict[str, Any]]] = []
    for order, (event, time, where) in enumerate(zip(events, times, placed, strict=True)):
        for index in where:
            source = sources[index]
            row = {**source.selector_fields, **native_event(dict(event), source, "eql")}
            row[source.time_field] = time.astimezone(dt.UTC).isoformat()
            documents.append((time, order, nest({k: _ecs_value(k, v) for k, v in row.items()})))
    documents.sort(key=lambda item: (item[0], item[1]))
    matched = eql_engine.run_eql(query, [doc for _, _, doc in documents], es_semantics=True)
    # A sequence's events all carry its join values: each matched event names its group.
    orders = {documents[index][1] for index in matched}
    keys: set[ReportedGroup] = set()
    for hit in hits(correlation, events, times, tags):
        key = group_key(correlation, hit)
        if hit.order in orders and key is not None:
            keys.add((key, None))
    return keys


def _run_spl(
    correlation: Correlation,
    query: str,
    events: Sequence[Mapping[str, Any]],
    times: Sequence[dt.datetime],
    tags: Sequence[str | None],
) -> set[ReportedGroup]:
    """The SPL model (tests/models/spl.py) over every event of every base rule's source."""
    from tests.models import spl
    from tests.models.common import ModelSyntaxError

    sources, placed = _placements("spl", correlation, tags)
    rows: list[dict[str, Any]] = []
    for event, time, where in zip(events, times, placed, strict=True):
        for index in where:
            source = sources[index]
            row = {**source.selector_fields, **native_event(dict(event), source, "spl")}
            row[source.time_field] = time.astimezone(dt.UTC)
            rows.append(row)
    try:
        result = spl.run(query, rows, max(times))
    except ModelSyntaxError as error:
        raise EngineRejected(f"spl model: {error}") from error
    names = _group_columns(correlation)
    return {(tuple(str(row.fields[name]) for name in names), _naive(row.fields["_time"])) for row in result}


def _run_yaral(
    correlation: Correlation,
    query: str,
    events: Sequence[Mapping[str, Any]],
    times: Sequence[dt.datetime],
    tags: Sequence[str | None],
) -> set[ReportedGroup]:
    """The YARA-L model's multi-event rules (tests/models/yaral.py) over the events as UDM records."""
    from tests.models import yaral
    from tests.models.common import ModelSyntaxError

    sources, placed = _placements("yaral", correlation, tags)
    rows: list[dict[str, Any]] = []
    for event, time, where in zip(events, times, placed, strict=True):
        for index in where:
            source = sources[index]
            row = {**source.selector_fields, **native_event(dict(event), source, "yaral")}
            row[source.time_field] = time.astimezone(dt.UTC)
            rows.append(row)
    try:
        result = yaral.run(query, rows, max(times))
    except ModelSyntaxError as error:
        raise EngineRejected(f"yaral model: {error}") from error
    names = _group_columns(correlation)
    return {(tuple(str(row.fields[name]) for name in names), None) for row in result}


def _run_sumo(
    correlation: Correlation,
    query: str,
    events: Sequence[Mapping[str, Any]],
    times: Sequence[dt.datetime],
    tags: Sequence[str | None],
) -> set[ReportedGroup]:
    """The Sumo Logic model (tests/models/sumo.py) over the events as Cloud SIEM records; the groups
    come back under their native field names and `_timeslice` in milliseconds."""
    from tests.models import sumo
    from tests.models.common import ModelSyntaxError

    sources, placed = _placements("sumo", correlation, tags)
    rows: list[dict[str, Any]] = []
    for event, time, where in zip(events, times, placed, strict=True):
        for index in where:
            source = sources[index]
            row = {**source.selector_fields, **native_event(dict(event), source, "sumo")}
            row[source.time_field] = time.astimezone(dt.UTC)
            rows.append(row)
    try:
        result = sumo.run(query, rows, max(times))
    except ModelSyntaxError as error:
        raise EngineRejected(f"sumo model: {error}") from error
    names = _output_columns("sumo", correlation)
    return {
        (
            tuple(str(row.fields[name]) for name in names),
            dt.datetime.fromtimestamp(row.fields["_timeslice"] / 1000, dt.UTC).replace(tzinfo=None),
        )
        for row in result
    }


def _run_logscale(
    correlation: Correlation,
    query: str,
    events: Sequence[Mapping[str, Any]],
    times: Sequence[dt.datetime],
    tags: Sequence[str | None],
) -> set[ReportedGroup]:
    """logscale-tools must parse the query; then the LogScale model (tests/models/logscale.py) runs it.
    The groups come back under their native field names, the window as its number of spans."""
    from tests.checkers.logscale import logscale_syntax_errors
    from tests.models import logscale
    from tests.models.common import ModelSyntaxError

    errors = logscale_syntax_errors(query)
    if errors:
        raise EngineRejected("logscale-tools: " + "; ".join(errors))
    sources, placed = _placements("logscale", correlation, tags)
    rows: list[dict[str, Any]] = []
    for event, time, where in zip(events, times, placed, strict=True):
        for index in where:
            source = sources[index]
            row = {**source.selector_fields, **native_event(dict(event), source, "logscale")}
            row[source.time_field] = time.astimezone(dt.UTC)
            rows.append(row)
    try:
        result = logscale.run(query, rows, max(times))
    except ModelSyntaxError as error:
        raise EngineRejected(f"logscale model: {error}") from error
    names = _output_columns("logscale", correlation)
    span = dt.timedelta(seconds=correlation.timespan_seconds)
    epoch = dt.datetime(1970, 1, 1)
    return {
        (tuple(str(row.fields[name]) for name in names), epoch + int(row.fields["siemc_window"]) * span)
        for row in result
    }


def _output_columns(target_name: str, correlation: Correlation) -> tuple[str, ...]:
    """The columns a target's correlation query reports the group-by values in (its template's)."""
    from siemc.compile.correlation_target import correlation_view

    target = get_target(target_name, correlation.site)
    columns: tuple[str, ...] = tuple(
        target.correlation_context(correlation_view(target, correlation))["group_fields"]
    )
    return columns


def _run_aql(
    correlation: Correlation,
    query: str,
    events: Sequence[Mapping[str, Any]],
    times: Sequence[dt.datetime],
    tags: Sequence[str | None],
) -> set[ReportedGroup]:
    """The AQL model (tests/models/aql.py), the search run at the last event's time; the groups come
    back under the correlation's group-by names (the query's aliases)."""
    from siemc.compile.correlation_target import column_names
    from tests.models import aql
    from tests.models.common import ModelSyntaxError

    sources, placed = _placements("aql", correlation, tags)
    rows: list[dict[str, Any]] = []
    for event, time, where in zip(events, times, placed, strict=True):
        for index in where:
            source = sources[index]
            row = {**source.selector_fields, **native_event(dict(event), source, "aql")}
            row[source.time_field] = time.astimezone(dt.UTC)
            rows.append(row)
    now = max(times)
    try:
        result = aql.run(query, rows, now)
    except ModelSyntaxError as error:
        raise EngineRejected(f"aql model: {error}") from error
    start = (now - dt.timedelta(seconds=correlation.timespan_seconds)).astimezone(dt.UTC).replace(tzinfo=None)
    names = column_names(correlation)
    return {(tuple(str(row.fields[name]) for name in names), start) for row in result}
