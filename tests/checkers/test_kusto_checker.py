"""The KQL checkers check something real.

Kusto.Language must reject what Kusto rejects (syntax, unknown columns, type
errors) and accept a representative generated query; duckdb-kql must give
KQL's answers for the operators the compiler emits.
"""

from __future__ import annotations

import datetime as dt
import importlib.util

import pytest

from tests.checkers.kusto import (
    KustoDiagnostic,
    KustoLanguage,
    KustoLanguageUnavailable,
    defender_xdr_schema,
    kusto_language,
    run_kql,
)

needs_duckdb_kql = pytest.mark.skipif(
    importlib.util.find_spec("duckdb_kql") is None, reason="duckdb-kql is not installed"
)

VALID_QUERY = (
    "DeviceProcessEvents"
    " | where Timestamp > ago(24h)"
    ' | where FileName in~ ("a.exe")'
    ' | extend C = case(FileName contains "x", "X", "Other"),'
    ' F = InitiatingProcessFileName in~ ("services.exe")'
    " | project Timestamp, FileName, C, F"
    " | sort by Timestamp desc"
)


@pytest.fixture(scope="module")
def kl() -> KustoLanguage:
    try:
        return kusto_language()
    except KustoLanguageUnavailable as exc:
        pytest.skip(str(exc))


# --------------------------------------------------------------------------
# Kusto.Language
# --------------------------------------------------------------------------


def test_valid_query_has_no_diagnostics(kl: KustoLanguage) -> None:
    assert kl.diagnostics(VALID_QUERY) == []


def test_unterminated_string_is_a_syntax_error(kl: KustoLanguage) -> None:
    query = 'DeviceProcessEvents | where FileName == "a.exe'
    errors = kl.errors(query)
    assert errors, "an unterminated string literal must be reported"
    assert all(isinstance(d, KustoDiagnostic) for d in errors)
    assert errors[0].code == "KS001"
    assert errors[0].start >= query.index('"')


def test_unknown_column_is_ks142(kl: KustoLanguage) -> None:
    query = 'DeviceProcessEvents | where Image endswith "\\\\cmd.exe"'
    errors = kl.errors(query)
    assert [d.code for d in errors] == ["KS142"]
    assert errors[0].excerpt(query) == "Image"
    assert "Image" in errors[0].message


def test_unknown_table_is_reported(kl: KustoLanguage) -> None:
    # KS204 where a table is required (before a pipe), KS142 for a bare name.
    assert [d.code for d in kl.errors("SysmonEvents | take 1")] == ["KS204"]
    assert [d.code for d in kl.errors("SysmonEvents")] == ["KS142"]


def test_column_of_another_table_is_unknown(kl: KustoLanguage) -> None:
    # RegistryKey is a DeviceRegistryEvents column, not a DeviceProcessEvents one.
    assert kl.errors('DeviceRegistryEvents | where RegistryKey has "Run"') == []
    assert [d.code for d in kl.errors('DeviceProcessEvents | where RegistryKey has "Run"')] == ["KS142"]


def test_type_error_is_reported(kl: KustoLanguage) -> None:
    query = 'DeviceProcessEvents | where FileSize + "kb" > 1'
    errors = kl.errors(query)
    assert [d.code for d in errors] == ["KS106"]
    assert "long" in errors[0].message and "string" in errors[0].message


def test_schema_types_reach_the_analyzer(kl: KustoLanguage) -> None:
    # strlen() wants a string: a long column is an error, a string column is not.
    assert kl.errors("DeviceProcessEvents | extend n = strlen(ProcessCommandLine)") == []
    assert kl.errors("DeviceProcessEvents | extend n = strlen(ProcessId)") != []
    # Timestamp is a datetime, so ago() compares; a string column does not.
    assert kl.errors("DeviceProcessEvents | where FileName > ago(1h)") != []
    # A bool column is usable as a predicate as-is.
    assert kl.errors("DeviceLogonEvents | where IsLocalAdmin") == []


def test_unknown_function_is_reported(kl: KustoLanguage) -> None:
    assert kl.errors('DeviceProcessEvents | where lowercase(FileName) == "a"') != []


def test_every_schema_column_is_known(kl: KustoLanguage) -> None:
    schema = defender_xdr_schema()
    assert {
        "DeviceProcessEvents",
        "DeviceNetworkEvents",
        "DeviceFileEvents",
        "DeviceRegistryEvents",
        "DeviceImageLoadEvents",
        "DeviceEvents",
        "DeviceLogonEvents",
    } <= set(schema)
    for table, columns in schema.items():
        query = f"{table} | project " + ", ".join(columns)
        assert kl.diagnostics(query) == [], table


def test_sentinel_watchlist_function_is_declared(kl: KustoLanguage) -> None:
    # _GetWatchlist('alias') gives the watchlist's rows with a SearchKey column (Microsoft Sentinel,
    # "Build queries or detection rules with watchlists"); `in~` takes a tabular expression.
    assert (
        kl.diagnostics(
            'DeviceProcessEvents | where AccountName in~ (_GetWatchlist("vip") | project SearchKey)'
        )
        == []
    )
    ranges = 'toscalar(_GetWatchlist("nets") | summarize make_list(SearchKey))'
    assert (
        kl.diagnostics(f"DeviceNetworkEvents | where ipv4_is_in_any_range(RemoteIP, {ranges}) == true") == []
    )
    assert [
        d.code
        for d in kl.errors('DeviceProcessEvents | where AccountName in (_GetWatchlist("vip") | project Nope)')
    ] == ["KS142"]
    assert kl.errors("DeviceProcessEvents | where AccountName in (_GetWatchlist() | project SearchKey)")


def test_process_is_shared(kl: KustoLanguage) -> None:
    assert kusto_language() is kl
    for i in range(50):
        assert kl.diagnostics(f'DeviceProcessEvents | where FileName =~ "f{i}.exe"') == []


def test_unicode_and_escapes_round_trip(kl: KustoLanguage) -> None:
    query = (
        'DeviceProcessEvents | where FolderPath startswith @"C:\\Users\\Zoë\\" | where FileName == "a\\"b"'
    )
    assert kl.diagnostics(query) == []


# --------------------------------------------------------------------------
# duckdb-kql
# --------------------------------------------------------------------------

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)


def _files(query: str, *file_names: str) -> list[object]:
    rows = [{"FileName": name, "Timestamp": NOW} for name in file_names]
    return [row["FileName"] for row in run_kql(query, {"DeviceProcessEvents": rows}, now=NOW)]


@needs_duckdb_kql
class TestDuckdbKql:
    def test_in_tilde_is_case_insensitive_and_in_is_not(self) -> None:
        assert _files('DeviceProcessEvents | where FileName in~ ("a.exe")', "A.EXE", "b.exe") == ["A.EXE"]
        assert _files('DeviceProcessEvents | where FileName in ("a.exe")', "A.EXE", "a.exe") == ["a.exe"]

    def test_contains_is_case_insensitive_substring(self) -> None:
        assert _files('DeviceProcessEvents | where FileName contains "MEIN"', "logmein.exe", "other.exe") == [
            "logmein.exe"
        ]

    def test_has_is_whole_term(self) -> None:
        query = 'DeviceProcessEvents | where FileName has "logmein"'
        assert _files(query, "logmeinrescue.exe", "LogMeIn.exe", "x logmein y") == [
            "LogMeIn.exe",
            "x logmein y",
        ]

    def test_case_first_match_wins(self) -> None:
        rows = run_kql(
            "DeviceProcessEvents"
            ' | extend C = case(FileName contains "a", "A", FileName contains "b", "B", "Other")'
            " | project FileName, C",
            {"DeviceProcessEvents": [{"FileName": "ab"}, {"FileName": "b"}, {"FileName": "z"}]},
        )
        assert rows == [
            {"FileName": "ab", "C": "A"},
            {"FileName": "b", "C": "B"},
            {"FileName": "z", "C": "Other"},
        ]

    def test_ago_excludes_old_rows(self) -> None:
        rows: list[dict[str, object]] = [
            {"FileName": "new.exe", "Timestamp": NOW - dt.timedelta(hours=1)},
            {"FileName": "old.exe", "Timestamp": (NOW - dt.timedelta(days=2)).isoformat()},
        ]
        query = "DeviceProcessEvents | where Timestamp > ago(24h) | project FileName"
        assert run_kql(query, {"DeviceProcessEvents": rows}, now=NOW) == [{"FileName": "new.exe"}]
        # Against the wall clock too, with rows placed relative to it.
        wall = dt.datetime.now(dt.UTC)
        rows = [
            {"FileName": "new.exe", "Timestamp": wall - dt.timedelta(hours=1)},
            {"FileName": "old.exe", "Timestamp": wall - dt.timedelta(days=2)},
        ]
        assert run_kql(query, {"DeviceProcessEvents": rows}) == [{"FileName": "new.exe"}]

    def test_sort_desc_orders(self) -> None:
        rows = [{"FileName": f"{i}.exe", "Timestamp": NOW - dt.timedelta(minutes=i)} for i in (3, 1, 2)]
        result = run_kql(
            "DeviceProcessEvents | sort by Timestamp desc | project FileName, Timestamp",
            {"DeviceProcessEvents": rows},
        )
        assert [r["FileName"] for r in result] == ["1.exe", "2.exe", "3.exe"]
        # datetimes come back as naive UTC
        assert result[0]["Timestamp"] == (NOW - dt.timedelta(minutes=1)).replace(tzinfo=None)

    def test_verbatim_string(self) -> None:
        rows = [{"FolderPath": "C:\\x"}, {"FolderPath": "C:\\\\x"}, {"FolderPath": "C:x"}]
        result = run_kql(
            'DeviceProcessEvents | where FolderPath == @"C:\\x" | project FolderPath',
            {"DeviceProcessEvents": rows},
        )
        assert result == [{"FolderPath": "C:\\x"}]

    def test_matches_regex_is_unanchored(self) -> None:
        assert _files(
            'DeviceProcessEvents | where FileName matches regex "mein"', "logmein.exe", "x.exe"
        ) == ["logmein.exe"]
        assert _files('DeviceProcessEvents | where FileName matches regex "^mein"', "logmein.exe") == []

    def test_missing_values_follow_kusto(self) -> None:
        [row] = run_kql(
            "DeviceProcessEvents"
            " | project AccountName, ProcessId, ProcessCreationTime, IsProcessRemoteSession,"
            " E = isempty(AccountName), N = isnull(ProcessId)",
            {"DeviceProcessEvents": [{}]},
        )
        assert row == {
            "AccountName": "",
            "ProcessId": None,
            "ProcessCreationTime": None,
            "IsProcessRemoteSession": None,
            "E": True,
            "N": True,
        }

    def test_bools_and_dynamic_come_back_as_python_values(self) -> None:
        [row] = run_kql(
            'DeviceEvents | extend K = tostring(AdditionalFields.k), R = FileName has_any ("a")'
            " | project IsProcessRemoteSession, AdditionalFields, K, R",
            {
                "DeviceEvents": [
                    {"FileName": "a b", "IsProcessRemoteSession": True, "AdditionalFields": {"k": "v"}}
                ]
            },
        )
        assert row == {"IsProcessRemoteSession": True, "AdditionalFields": {"k": "v"}, "K": "v", "R": True}
        assert row["R"] is True

    def test_valid_query_runs_end_to_end(self) -> None:
        rows = [
            {
                "FileName": "A.exe",
                "InitiatingProcessFileName": "SERVICES.EXE",
                "Timestamp": NOW - dt.timedelta(hours=2),
            },
            {
                "FileName": "a.exe",
                "InitiatingProcessFileName": "explorer.exe",
                "Timestamp": NOW - dt.timedelta(hours=1),
            },
            {"FileName": "ax.exe", "Timestamp": NOW - dt.timedelta(hours=1)},
            {"FileName": "a.exe", "Timestamp": NOW - dt.timedelta(days=3)},
        ]
        result = run_kql(VALID_QUERY, {"DeviceProcessEvents": rows}, now=NOW)
        assert [(r["FileName"], r["C"], r["F"]) for r in result] == [
            ("a.exe", "X", False),  # ".exe" contains "x"
            ("A.exe", "X", True),
        ]

    def test_deep_or_chain_runs(self) -> None:
        query = "DeviceProcessEvents | where " + " or ".join(f'FileName =~ "f{i}.exe"' for i in range(1500))
        assert _files(query, "F1499.EXE", "g.exe") == ["F1499.EXE"]

    def test_unsupported_kql_propagates(self) -> None:
        from duckdb_kql import KqlUnsupportedError

        with pytest.raises(KqlUnsupportedError):
            run_kql('DeviceNetworkEvents | where ipv4_is_in_range(RemoteIP, "10.0.0.0/8")', {})

    def test_schema_mistakes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="Image"):
            run_kql("DeviceProcessEvents", {"DeviceProcessEvents": [{"Image": "x"}]})
        with pytest.raises(ValueError, match="SysmonEvents"):
            run_kql("DeviceProcessEvents", {"SysmonEvents": []})
        with pytest.raises(TypeError, match="IsProcessRemoteSession"):
            run_kql("DeviceProcessEvents", {"DeviceProcessEvents": [{"IsProcessRemoteSession": "true"}]})
