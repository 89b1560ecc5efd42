"""The T1219 output of each target with a real parser or engine, run over the specified cases."""

from __future__ import annotations

import datetime as dt

import pytest
from siemc.backends import get_target

from siemc.compile.build import compile_detection
from siemc.compile.rule import Detection
from tests.native import native_event, nest
from tests.t1219_cases import TOOLS, cases

NOW = dt.datetime(2026, 11, 29, 12, 0, 0)
KQL_COLUMNS = [
    "Timestamp",
    "DeviceId",
    "ReportId",
    "DeviceName",
    "AccountName",
    "FileName",
    "ProcessCommandLine",
    "InitiatingProcessFileName",
    "InitiatingProcessCommandLine",
    "RATTool",
    "RATCategory",
    "IsService",
    "IsUserLaunched",
]


@pytest.fixture(scope="module")
def kql_text(t1219: Detection) -> str:
    return compile_detection(t1219, "kql")


def test_kql_passes_kusto_language_with_the_defender_schema(kql_text: str) -> None:
    kusto = pytest.importorskip("tests.checkers.kusto")
    try:
        language = kusto.kusto_language()
    except kusto.KustoLanguageUnavailable as error:
        pytest.skip(str(error))
    assert language.diagnostics(kql_text) == []


def test_kql_returns_exactly_the_tools_with_category_and_flags(t1219: Detection, kql_text: str) -> None:
    kusto = pytest.importorskip("tests.checkers.kusto")
    source = get_target("kql").source_for(t1219.sigma)
    rows, expected = [], {}
    for minutes, case in enumerate(cases()):
        row = native_event(case.event, source)
        row["Timestamp"] = NOW - dt.timedelta(minutes=minutes)
        rows.append(row)
        if case.matches:
            expected[row["DeviceName"]] = (
                row["FileName"],
                case.category,
                case.is_service,
                case.is_user_launched,
            )
    # The same tool seen 25 hours ago is outside the window.
    stale = native_event(cases()[0].event, source) | {
        "Timestamp": NOW - dt.timedelta(hours=25),
        "DeviceName": "old",
    }
    rows.append(stale)

    result = kusto.run_kql(kql_text, {"DeviceProcessEvents": rows}, now=NOW)

    assert result and list(result[0]) == KQL_COLUMNS
    got = {
        r["DeviceName"]: (r["FileName"], r["RATCategory"], r["IsService"], r["IsUserLaunched"])
        for r in result
    }
    assert got == expected
    assert len(got) == len(TOOLS) == 33
    times = [r["Timestamp"] for r in result]
    assert times == sorted(times, reverse=True)


def test_eql_parses_and_matches_exactly_the_tools(t1219: Detection) -> None:
    eql_engine = pytest.importorskip("tests.checkers.eql_engine")
    text = compile_detection(t1219, "eql")
    assert eql_engine.eql_syntax_error(text) is None
    source = get_target("eql").source_for(t1219.sigma)
    events = [
        nest({**native_event(case.event, source), "host.os.type": "windows"})
        | {"event": {"category": ["process"], "type": ["start"]}}
        for case in cases()
    ]
    expected = [index for index, case in enumerate(cases()) if case.matches]
    assert eql_engine.run_eql(text, events) == expected
    # The engine compares case-insensitively everywhere, so prove the operator choice statically:
    # file names use `:` (case-insensitive in Elasticsearch), never the case-sensitive `==`/`in`.
    operators = eql_engine.eql_operators(text)
    assert ":" in operators
    assert "in" not in operators and "like" not in operators


def test_eql_does_not_match_other_event_types(t1219: Detection) -> None:
    eql_engine = pytest.importorskip("tests.checkers.eql_engine")
    text = compile_detection(t1219, "eql")
    event = nest({"process.name": "anydesk.exe"}) | {"event": {"category": ["process"], "type": ["end"]}}
    assert eql_engine.run_eql(text, [event]) == []


def test_eql_reads_windows_hosts_only(t1219: Detection) -> None:
    """The rule's log source is Windows: `tmate`, a Linux terminal-sharing binary, started on a Linux
    host is no hit, as Elastic's own Windows rules test host.os.type (elastic/detection-rules)."""
    eql_engine = pytest.importorskip("tests.checkers.eql_engine")
    text = compile_detection(t1219, "eql")
    start = {"event": {"category": ["process"], "type": ["start"]}}
    on = [nest({"process.name": "tmate", "host.os.type": os}) | start for os in ("linux", "windows")]
    assert eql_engine.run_eql(text, on) == [1]


def test_logscale_parses_with_logscale_tools(t1219: Detection) -> None:
    logscale = pytest.importorskip("tests.checkers.logscale")
    text = compile_detection(t1219, "logscale")
    assert logscale.logscale_syntax_errors(text) == []
    # The file-name list and the installer patterns are one case-insensitive regex over the file name.
    detection_line = text.splitlines()[4]
    assert detection_line.startswith("| FileName=/^(?:aa_v3\\.exe|")
