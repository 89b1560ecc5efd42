"""The AQL model (tests/models/aql.py) against IBM's documented examples, its rejections, and siemc's
real AQL output: the build, the golden files and the T1219 cases (the SigmaHQ corpus sample is in
tests/test_corpus.py).

Documentation pages are named as in aql.py: [like] LIKE clause, [ops] logical and comparison
operators, [quotes] quotation marks, [cond] conditional logic, [time] time criteria, [funcs] data
calculation and formatting functions, [(?i)] IBM Support 7160974, [5min] default search window.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.models import aql
from tests.models.common import ModelSyntaxError
from tests.models.siemc_cases import assert_t1219_finds_exactly_the_tools, output_files, output_id, query_text

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def ago(**delta: float) -> dt.datetime:
    return NOW - dt.timedelta(**delta)


def events(*rows: dict[str, Any]) -> list[dict[str, Any]]:
    """Events one second apart, newest first, all inside the default five-minute window."""
    return [{"starttime": ago(seconds=i)} | row for i, row in enumerate(rows)]


def hits(query: str, rows: list[dict[str, Any]]) -> list[int]:
    return [row.index for row in aql.run(query, rows, NOW)]


def where(condition: str, rows: list[dict[str, Any]]) -> list[int]:
    return hits(f"SELECT * FROM events WHERE {condition}", rows)


NAMES = events(
    {"username": "Joe"},
    {"username": "Joanne"},
    {"username": "Joseph"},
    {"username": "Jon"},
    {"username": "joe"},
    {"username": "Jo"},
    {},
)


# (a) Examples from the documentation, worked by hand ---------------------------------------------


def test_like_percent_and_underscore_from_the_like_clause_page() -> None:
    # [like] 'Jo%' matches Joe, Joanne, Joseph; 'Jo_' only three-letter names; both case-sensitive.
    assert where("userName LIKE 'Jo%'", NAMES) == [0, 1, 2, 3, 5]
    assert where("userName LIKE 'Jo_'", NAMES) == [0, 3]
    # The wildcard can stand anywhere; the pattern covers the whole value.
    assert where("username LIKE '%e'", NAMES) == [0, 1, 4]
    assert where("username LIKE 'o'", NAMES) == []


def test_ilike_is_like_without_case() -> None:
    # [like] `test LIKE 'Information%'` vs `test ILIKE 'inForMatiOn%'`.
    rows = events({"username": "Information event"}, {"username": "information"}, {"username": "Info"})
    assert where("username LIKE 'Information%'", rows) == [0]
    assert where("username ILIKE 'inForMatiOn%'", rows) == [0, 1]
    assert where("username ILIKE 'JOE'", NAMES) == [0, 4]


def test_matches_and_imatches_take_the_whole_value() -> None:
    # [like] `MATCHES '.*Information.*'` / `IMATCHES '.*Information.*'`; [(?i)] a matches filter is
    # case-sensitive unless the pattern starts with (?i), and matches text that corresponds exactly.
    rows = events({"username": "An Information event"}, {"username": "an information event"})
    assert where("username MATCHES '.*Information.*'", rows) == [0]
    assert where("username IMATCHES '.*Information.*'", rows) == [0, 1]
    assert where("username MATCHES '(?i).*Information.*'", rows) == [0, 1]
    # Without the surrounding .* a regex that only occurs inside the value does not match it.
    assert where("username MATCHES 'Information'", rows) == []
    assert where("username MATCHES 'Jo.*'", NAMES) == [0, 1, 2, 3, 5]


def test_equality_is_case_sensitive_and_lower_folds() -> None:
    # [quotes] `userName = 'james'`; IBM Support 7160974: AQL is case sensitive. [funcs] LOWER.
    assert where("username = 'joe'", NAMES) == [4]
    assert where("username = 'Joe'", NAMES) == [0]
    assert where("LOWER(username) = 'joe'", NAMES) == [0, 4]
    assert where("UPPER(username) = 'JOE'", NAMES) == [0, 4]
    assert where("username != 'Joe'", NAMES) == [1, 2, 3, 4, 5]
    assert where("username <> 'Joe'", NAMES) == [1, 2, 3, 4, 5]


def test_in_is_a_list_of_equalities() -> None:
    # [ops] IN: several values for one column, a shorthand for OR of `=`.
    assert where("username IN ('Joe', 'Jon')", NAMES) == [0, 3]
    assert where("LOWER(username) IN ('joe', 'jo')", NAMES) == [0, 4, 5]
    rows = events({"sourceport": 22}, {"sourceport": 80}, {"sourceport": "443"}, {"sourceport": 8080})
    assert where("sourceport IN (22, 443)", rows) == [0, 2]


def test_numbers_compare_as_numbers() -> None:
    # [ops] `sourceBytes < 64 AND destinationBytes <= 64`, `magnitude BETWEEN 1 AND 5`.
    rows = events(
        {"sourceBytes": 10, "destinationBytes": 64, "magnitude": 1},
        {"sourceBytes": 64, "destinationBytes": 10, "magnitude": 5},
        {"sourceBytes": "9", "destinationBytes": "100", "magnitude": 6},
    )
    assert where("sourceBytes < 64 AND destinationBytes <= 64", rows) == [0]
    assert where("sourceBytes > 9 AND destinationBytes >= 10", rows) == [0, 1]
    assert where("magnitude BETWEEN 1 AND 5", rows) == [0, 1]


def test_not_binds_tighter_than_and_and_and_tighter_than_or() -> None:
    rows = events(
        {"a": 1, "b": 0, "c": 0},
        {"a": 0, "b": 1, "c": 1},
        {"a": 0, "b": 1, "c": 0},
        {"a": 0, "b": 0, "c": 1},
    )
    # a OR (b AND c), not (a OR b) AND c.
    assert where("a = 1 OR b = 1 AND c = 1", rows) == [0, 1]
    assert where("(a = 1 OR b = 1) AND c = 1", rows) == [1]
    # (NOT a) AND b, not NOT (a AND b).
    assert where("NOT a = 1 AND b = 1", rows) == [1, 2]
    assert where("NOT (a = 0 AND b = 1)", rows) == [0, 3]
    assert where("NOT NOT a = 1", rows) == [0]


def test_the_quotation_marks_page_example() -> None:
    # [quotes] (trimmed of its unmodelled QIDNAME/UTF8 columns): NOT, nested parentheses, INCIDR,
    # a single-quoted alias used double-quoted in ORDER BY, and LAST 60 MINUTES.
    query = """SELECT sourceIP, destinationIP, sourcePort, EventCount AS 'Event Count', hasidentity, qid
FROM events
WHERE (NOT (sourcePort <= 3003 OR hasidentity = 'True'))
AND (qid = 5000023 OR qid = 5000193)
AND (INCIDR('192.0.2.0/4', sourceIP) OR NOT INCIDR('192.0.2.0/4', sourceIP)) ORDER BY "Event Count"
DESC LAST 60 MINUTES"""
    base = {"destinationIP": "10.0.0.1", "hasidentity": "False", "qid": 5000023}
    rows = [
        base | {"sourceIP": "192.0.2.7", "sourcePort": 4000, "EventCount": 3, "starttime": ago(minutes=1)},
        base | {"sourceIP": "10.1.1.1", "sourcePort": 5000, "EventCount": 9, "starttime": ago(minutes=2)},
        base | {"sourceIP": "10.1.1.2", "sourcePort": 80, "EventCount": 5, "starttime": ago(minutes=3)},
        base | {"sourceIP": "10.1.1.3", "sourcePort": 4000, "hasidentity": "True", "EventCount": 7},
        base | {"sourceIP": "10.1.1.4", "sourcePort": 4000, "qid": 1, "EventCount": 8},
        base | {"sourceIP": "10.1.1.5", "sourcePort": 4000, "EventCount": 1, "starttime": ago(minutes=61)},
    ]
    for row in rows:
        row.setdefault("starttime", ago(minutes=4))
    result = aql.run(query, rows, NOW)
    assert [r.index for r in result] == [1, 0]
    assert result[0].fields == {
        "sourceIP": "10.1.1.1",
        "destinationIP": "10.0.0.1",
        "sourcePort": 5000,
        "Event Count": 9,
        "hasidentity": "False",
        "qid": 5000023,
    }


def test_simple_case_and_if_from_the_conditional_logic_page() -> None:
    # [cond] the documented texts parse as written.
    aql.parse(
        "SELECT CASE username WHEN 'root' THEN 'Admin root' WHEN 'admin' THEN 'Admin user' "
        "ELSE 'other' END FROM events"
    )
    aql.parse("SELECT sourceip, IF username = 'root' THEN 'ADMIN' ELSE username AS user FROM events")
    rows = events({"username": "root"}, {"username": "admin"}, {"username": "Root"}, {})
    result = aql.run(
        "SELECT CASE username WHEN 'root' THEN 'Admin root' WHEN 'admin' THEN 'Admin user' "
        "ELSE 'other' END AS 'role', IF username = 'root' THEN 'ADMIN' ELSE username AS user FROM events",
        rows,
        NOW,
    )
    assert [r.fields for r in result] == [
        {"role": "Admin root", "user": "ADMIN"},
        {"role": "Admin user", "user": "admin"},
        {"role": "other", "user": "Root"},
        {"role": "other", "user": None},
    ]


def test_searched_case_takes_the_first_true_when() -> None:
    rows = events({"username": "teamviewer"}, {"username": "tightvnc"}, {"username": "x"})
    query = (
        "SELECT username, CASE WHEN username ILIKE '%viewer%' OR username ILIKE '%vnc%' THEN 'A' "
        "WHEN username ILIKE '%vnc%' THEN 'B' ELSE 'C' END AS 'Kind' FROM events"
    )
    assert [r.fields["Kind"] for r in aql.run(query, rows, NOW)] == ["A", "A", "C"]


def test_last_n_hours_minutes_days_relative_to_now() -> None:
    # [time] LAST 1 HOURS / LAST 60 MINUTES / LAST 2 DAYS; epoch milliseconds are times too.
    rows: list[dict[str, Any]] = [
        {"starttime": ago(minutes=59)},
        {"starttime": ago(minutes=61)},
        {"starttime": ago(hours=47)},
        {"starttime": int(ago(hours=49).timestamp() * 1000)},
        {"starttime": int(ago(minutes=1).timestamp() * 1000)},
        {},
    ]
    assert hits("SELECT * FROM events LAST 1 HOURS", rows) == [0, 4]
    assert hits("SELECT * FROM events LAST 60 MINUTES", rows) == [0, 4]
    assert hits("SELECT * FROM events LAST 2 DAYS", rows) == [0, 1, 2, 4]
    # [5min] no time clause: the last five minutes.
    assert hits("SELECT * FROM events", rows) == [4]


def test_start_stop_whole_minutes_as_in_the_guide() -> None:
    # [time] START '2014-04-25 15:51' STOP '2014-04-25 17:00' returns 15:51:00 to 16:59:59;
    # START '...15:51:20' STOP '...17:00:20' returns 15:51:00 to 17:00:59.
    at = [
        dt.datetime(2014, 4, 25, h, m, s, tzinfo=dt.UTC)
        for h, m, s in ((15, 51, 0), (16, 59, 59), (17, 0, 30))
    ]
    rows = [{"starttime": t} for t in at]
    assert hits("SELECT * FROM events START '2014-04-25 15:51' STOP '2014-04-25 17:00'", rows) == [0, 1]
    assert hits("SELECT * FROM events START '2014-04-25 15:51:20' STOP '2014-04-25 17:00:20'", rows) == [
        0,
        1,
        2,
    ]


def test_order_by_and_limit() -> None:
    rows = events({"n": 2}, {"n": 10}, {"n": 1}, {})
    assert hits("SELECT * FROM events ORDER BY n DESC", rows) == [1, 0, 2, 3]
    assert hits("SELECT * FROM events ORDER BY n ASC LIMIT 2", rows) == [2, 0]
    assert hits("SELECT * FROM events ORDER BY starttime DESC", rows) == [0, 1, 2, 3]


def test_null_fields_make_comparisons_unknown() -> None:
    rows = events({"username": "root"}, {"username": "bob"}, {})
    assert where("username != 'root'", rows) == [1]
    assert where("NOT username = 'root'", rows) == [1]
    assert where("username IS NULL", rows) == [2]
    assert where("username IS NOT NULL", rows) == [0, 1]
    assert where("username IS NULL OR username = ''", rows) == [2]
    assert where("NOT username ILIKE '%o%' OR username IS NULL", rows) == [2]


def test_quoted_custom_properties_and_keyword_case() -> None:
    # [quotes] custom property names with spaces are double-quoted; keywords in any case.
    rows = events({"Process Name": "AnyDesk.exe"}, {"Process Name": "notepad.exe"})
    assert hits("select * from events where \"Process Name\" ilike '%desk%' last 1 hours", rows) == [0]
    result = aql.run("SELECT \"Process Name\" AS 'Image' FROM events", rows, NOW)
    assert [r.fields for r in result] == [{"Image": "AnyDesk.exe"}, {"Image": "notepad.exe"}]


def test_string_literal_quote_and_backslash() -> None:
    # A doubled quote is one quote; a backslash is an ordinary character in a string and in LIKE.
    rows = events({"Command": "say it's"}, {"Command": "C:\\Users\\bob"}, {"Command": "C:\\Users\\"})
    assert where("\"Command\" = 'say it''s'", rows) == [0]
    assert where("\"Command\" LIKE 'C:\\Users\\%'", rows) == [1, 2]
    assert where("\"Command\" = 'C:\\Users\\bob'", rows) == [1]


def test_lookup_functions_and_payload() -> None:
    # [data] LOGSOURCETYPENAME(devicetype) / CATEGORYNAME(category) name what QRadar looks up by id;
    # an event gives that name under the call's text. UTF8(payload) decodes the payload bytes.
    rows = events(
        {"devicetype": 11, "LOGSOURCETYPENAME(devicetype)": "Linux OS", "payload": b"sudo su -"},
        {"devicetype": 12, "LOGSOURCETYPENAME(devicetype)": "Microsoft Windows Security Event Log"},
        {"devicetype": 99, "CATEGORYNAME(category)": "Web Service", "payload": "GET /x"},
    )
    assert where("LOGSOURCETYPENAME(devicetype) = 'Linux OS'", rows) == [0]
    assert where("logsourcetypename(devicetype) ILIKE '%windows%'", rows) == [1]
    assert where("CATEGORYNAME(category) ILIKE '%web%'", rows) == [2]
    assert where("UTF8(payload) ILIKE '%SUDO%'", rows) == [0]
    assert where("UTF8(payload) ILIKE '%get%'", rows) == [2]


def test_java_regex_translation() -> None:
    rows = events({"c": "Run -U: x"}, {"c": "run -u: x"}, {"c": "a\tb"}, {"c": "a.b"}, {"c": "x{1}"})
    # An inline flag in a group applies to the rest of that group only (Java), here (?i) inside (?:...).
    assert where("c MATCHES '(?s).*(?:(?i)\\s(-u|--user)\\s*:).*'", rows) == [0, 1]
    assert where("c MATCHES '(?s)R(?i)UN.*'", rows) == [0]
    # ... and across the later alternatives of that group.
    assert where("c MATCHES 'x(?i)Y|RUN.*'", rows) == [0, 1]
    assert where("c MATCHES 'a\\hb'", rows) == [2]
    assert where("c MATCHES '\\Qa.b\\E'", rows) == [3]
    assert where("c MATCHES 'x\\{1\\}'", rows) == [4]
    # Octal escapes are \0n, \0nn and \0mnn with m <= 3: `\0411` is `!` then `1`.
    assert where("c MATCHES '\\0101\\0411'", events({"c": "A!1"}, {"c": "A\t"})) == [0]
    assert where("c MATCHES '(?<first>[a-z])\\.\\k<first>'", rows) == []
    assert where("c MATCHES '(?<first>[a-z])\\W\\k<first>'", events({"c": "a.a"})) == [0]
    # Java's CASE_INSENSITIVE folds ASCII only.
    assert where("c IMATCHES 'É'", events({"c": "é"})) == []


# (b) Rejections -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        # unbalanced quotes and parentheses
        "SELECT * FROM events WHERE username = 'root",
        "SELECT * FROM events WHERE \"Process Name = 'x'",
        "SELECT * FROM events WHERE (username = 'root'",
        "SELECT * FROM events WHERE username = 'root')",
        "SELECT * FROM events WHERE username IN ('a', 'b'",
        # unknown functions, wrong arity, a value function used as a condition
        "SELECT * FROM events WHERE TOLOWER(username) = 'root'",
        "SELECT * FROM events WHERE LOWER(username, 1) = 'root'",
        "SELECT * FROM events WHERE LOWER(username)",
        "SELECT * FROM events WHERE INCIDR('10.0.0.0/8', sourceip) = 'x'",
        "SELECT * FROM events WHERE LOGSOURCETYPENAME('Linux OS') = 'x'",
        # double-quoted strings where a string value is required
        'SELECT * FROM events WHERE username LIKE "root%"',
        'SELECT * FROM events WHERE username MATCHES "r.*"',
        "SELECT * FROM events WHERE username IN (\"root\", 'admin')",
        "SELECT * FROM events WHERE username IN ('admin', \"root\")",
        'SELECT * FROM events WHERE "Process Name" = "cmd.exe"',
        "SELECT * FROM events WHERE username LIKE 5",
        # malformed CASE / IF
        "SELECT CASE WHEN username = 'a' THEN 'x' ELSE 'y' AS 'k' FROM events",
        "SELECT CASE WHEN username = 'a' 'x' ELSE 'y' END AS 'k' FROM events",
        "SELECT CASE ELSE 'y' END AS 'k' FROM events",
        # no ELSE: every documented CASE and IF has one; the model requires it
        "SELECT CASE WHEN username = 'a' THEN 'x' END AS 'k' FROM events",
        "SELECT CASE username WHEN 'a' THEN 'x' WHEN END AS 'k' FROM events",
        "SELECT IF username = 'a' THEN 'x' AS 'k' FROM events",
        # structure
        "SELECT * WHERE username = 'a'",
        "SELECT * FROM events WHERE",
        "SELECT * FROM events WHERE username = 'a' AND",
        "SELECT * FROM events WHERE username = = 'a'",
        "SELECT * FROM events LAST 2 WEEKS",
        "SELECT * FROM events LAST 24 HOURS WHERE username = 'a'",
        "SELECT * FROM events WHERE username == 'a'",
        "SELECT * FROM events ORDER BY starttime DOWN",
        # Java regex errors and constructs the model does not translate
        "SELECT * FROM events WHERE c MATCHES 'a{'",
        "SELECT * FROM events WHERE c MATCHES 'a{,2}'",
        "SELECT * FROM events WHERE c MATCHES '*a'",
        "SELECT * FROM events WHERE c MATCHES '(a'",
        "SELECT * FROM events WHERE c MATCHES 'a)'",
        "SELECT * FROM events WHERE c MATCHES '[a-'",
        "SELECT * FROM events WHERE c MATCHES '[[a]b]'",
        "SELECT * FROM events WHERE c MATCHES '[a-z&&[^b]]'",
        "SELECT * FROM events WHERE c MATCHES '\\p{Alpha}'",
        "SELECT * FROM events WHERE c MATCHES '\\y'",
        "SELECT * FROM events WHERE c MATCHES 'a\\'",
        "SELECT * FROM events WHERE c MATCHES '(?x)a b'",
        "SELECT * FROM events WHERE c MATCHES '(?<=a+)b'",
        "SELECT * FROM events WHERE c IMATCHES '(?P<n>a)'",
    ],
)
def test_rejects(query: str) -> None:
    with pytest.raises(ModelSyntaxError):
        aql.parse(query)


# (c) Every AQL file siemc has produced parses ------------------------------------------------------


@pytest.mark.parametrize("path", output_files("aql"), ids=output_id)
def test_siemc_output_parses(path: Path) -> None:
    aql.parse(query_text(path))


# (d) The T1219 output over the hand-specified cases -------------------------------------------------


def test_t1219_returns_exactly_the_tools_with_category_and_flags() -> None:
    def in_scope(native: dict[str, Any], time: dt.datetime) -> dict[str, Any]:
        # Native names are written as they appear in AQL ("Process Name"); the event holds the bare name.
        event = {name.strip('"'): value for name, value in native.items()}
        return event | SYSMON | {"starttime": time}

    assert_t1219_finds_exactly_the_tools(
        aql,
        "aql",
        NOW,
        in_scope=in_scope,
        out_of_scope=[
            {"starttime": NOW - dt.timedelta(hours=25)},  # outside LAST 24 HOURS
            {"devicetype": 13},  # not the Windows DSM
            {"Event ID": 5},  # not Sysmon process creation
            {"payload": "AgentDevice=WindowsLog\tAgentLogFile=Security\tSource="},  # another channel
        ],
        # No IBM property holds the computer's name: the rule's Computer column is left out.
        columns=[
            "starttime",
            "Username",
            "Process Name",
            "Command",
            "Parent Process Path",
            "Parent Command",
            "RATTool",
            "RATCategory",
            "IsService",
            "IsUserLaunched",
        ],
        image=("Process Name", "Process Name"),
        time_column="starttime",
    )


# (e) The SigmaHQ corpus sample: tests/test_corpus.py parses every target's output with its model.


# (f) siemc bugs the property tests found, kept as regression cases --------------------------------

PROCESS = "title: t\nlogsource: {category: process_creation, product: windows}\ndetection:\n"
# A Sysmon process start as WinCollect sends it: the channel is the payload's AgentLogFile pair (IBM's
# sample WinCollect events), the event id a property.
SYSMON: dict[str, Any] = {
    "devicetype": 12,
    "Event ID": 1,
    "payload": "AgentDevice=WindowsLog\tAgentLogFile=Microsoft-Windows-Sysmon/Operational\tSource=",
}


def compiled(rule: str) -> str:
    from siemc.compile.build import compile_detection
    from siemc.compile.rule import parse_rule

    return compile_detection(parse_rule(rule, Path("regression.yml")), "aql")


def test_derived_columns_follow_select_star() -> None:
    # Without siemc.columns the output was `SELECT *` alone: the derived columns were never computed.
    text = compiled(
        PROCESS + "  sel: {Image: x}\n  condition: sel\nsiemc:\n  derive:\n    Flag: {when: {User: a}}\n"
    )
    assert text.startswith("SELECT *,")
    (row,) = aql.run(text, events(SYSMON | {"Process Path": "x", "username": "A"}), NOW)
    assert row.fields["Flag"] == "true" and row.fields["Process Path"] == "x"


def test_a_selection_used_in_and_out_of_not_is_guarded_under_not() -> None:
    # `not sel or sel` holds for every event. pySigma shares one condition object between both uses,
    # so a NOT found through `parent` was missed and a missing field stayed unknown under NOT.
    text = compiled(PROCESS + "  sel: {CommandLine|contains|all: [a, b]}\n  condition: not sel or sel\n")
    rows = events(SYSMON, SYSMON | {"Command": "ab"}, SYSMON | {"Command": "c"})
    assert hits(text, rows) == [0, 1, 2]


def test_or_expanded_values_are_grouped_inside_the_null_guard() -> None:
    # base64offset is an OR of three variants; the guard once read `x IS NOT NULL AND v1 OR v2 OR v3`.
    text = compiled(PROCESS + "  sel: {CommandLine|base64offset|contains: abc}\n  condition: not sel\n")
    assert hits(text, events(SYSMON | {"Command": "zzz"}, SYSMON | {"Command": "YWJj"}, SYSMON)) == [0, 2]


def test_a_rule_regex_keeps_python_line_semantics() -> None:
    # The (?s) siemc puts around a regex made the rule's own `.` match a line break.
    text = compiled(PROCESS + "  sel: {CommandLine|re: 'a.b$'}\n  condition: sel\n")
    rows = events(*(SYSMON | {"Command": c} for c in ("a\nb", "axb\n", "axb\r", "axb", "axbc")))
    assert hits(text, rows) == [1, 3]


def test_case_insensitive_regex_folds_non_ascii_letters() -> None:
    # IMATCHES folds ASCII only (Java CASE_INSENSITIVE); Sigma's `re|i` folds é and É.
    text = compiled(PROCESS + "  sel: {CommandLine|re|i: 'xé'}\n  condition: sel\n")
    assert hits(text, events(SYSMON | {"Command": "XÉ"}, SYSMON | {"Command": "xe"})) == [0]


def test_wildcard_regex_ends_at_the_end_of_the_value() -> None:
    # `a?%` (a literal % takes the regex form): Java's `$` also matched before a final line break.
    text = compiled(PROCESS + "  sel: {CommandLine: 'a?%'}\n  condition: sel\n")
    assert hits(text, events(SYSMON | {"Command": "ab%"}, SYSMON | {"Command": "ab%\n"})) == [0]


def test_java_line_terminators() -> None:
    # java.util.regex.Pattern, "Line terminators": \n, \r\n, \r, U+0085, U+2028, U+2029 stop `.` and
    # anchor `$` (before the final one; in MULTILINE mode before each, and `^` after each).
    rows = events({"c": "a\rb"}, {"c": "a\u2028"}, {"c": "a\r\n"}, {"c": "a\n\n"}, {"c": "q\rx\r\nz"})
    assert where("c MATCHES 'a.b'", rows) == []
    assert where("c MATCHES '(?s)a.b'", rows) == [0]
    assert where("c MATCHES '(?s:.*)(?:a$)(?s:.*)'", rows) == [1, 2]
    assert where("c MATCHES '(?s:.*)(?:(?m)^x$)(?s:.*)'", rows) == [4]


# ---------------------------------------------------------------- reference sets (named lists)
# [data] REFERENCESETCONTAINS('set name', value); [refset] an Alphanumeric (Ignore Case) set stores its
# values in lower case. Expectations worked out by hand.


def _sets_hits(condition: str, sets: dict[str, aql.ReferenceSet], rows: list[dict[str, Any]]) -> list[int]:
    return [
        r.index for r in aql.run(f"SELECT * FROM events WHERE {condition}", rows, NOW, reference_sets=sets)
    ]


USERS = events({"username": "Admin"}, {"username": "admin"}, {"username": "ADMIN"}, {"username": "bob"}, {})


def test_referencesetcontains_tests_the_value_as_given() -> None:
    alphanumeric = {"admins": aql.ReferenceSet("ALN", ("Admin",))}
    assert _sets_hits("REFERENCESETCONTAINS('admins', username)", alphanumeric, USERS) == [0]


def test_an_ignore_case_set_holds_lower_case_values() -> None:
    ignore_case = {"admins": aql.ReferenceSet("ALNIC", ("Admin",))}
    # The stored value is "admin": the value as given matches only in lower case...
    assert _sets_hits("REFERENCESETCONTAINS('admins', username)", ignore_case, USERS) == [1]
    # ...and LOWER() of the value matches every case (what siemc writes).
    assert _sets_hits("REFERENCESETCONTAINS('admins', LOWER(username))", ignore_case, USERS) == [0, 1, 2]


def test_referencesetcontains_of_null_is_unknown_and_a_missing_set_is_an_error() -> None:
    sets = {"admins": aql.ReferenceSet("ALNIC", ("admin",))}
    # NOT unknown is unknown: the event without a username is not returned.
    assert _sets_hits("NOT REFERENCESETCONTAINS('admins', LOWER(username))", sets, USERS) == [3]
    with pytest.raises(ModelSyntaxError, match="no reference set"):
        _sets_hits("REFERENCESETCONTAINS('others', username)", sets, USERS)


# ---------------------------------------------------------------------------------------------
# Aggregation (correlation queries): GROUP BY, HAVING, COUNT(*)


def test_group_by_having_count() -> None:
    # [agg] "SELECT sourceip, COUNT(*) FROM events GROUP BY sourceip"; "HAVING MAG > 5" filters the
    # grouped rows by an alias; another column gives the group's first value; LAST bounds the events.
    now = dt.datetime(2026, 1, 1, 10, 10, tzinfo=dt.UTC)
    events = [
        {"starttime": now - dt.timedelta(minutes=m), "username": user, "sourceip": ip}
        for m, user, ip in [(1, "a", "10.0.0.1"), (2, "a", "10.0.0.2"), (3, "b", "10.0.0.3"), (20, "a", "x")]
    ]
    query = (
        "SELECT username AS 'user', sourceip, COUNT(*) AS 'n' FROM events GROUP BY username"
        " HAVING n >= 2 LAST 10 MINUTES"
    )
    assert [row.fields for row in aql.run(query, events, now)] == [
        {"user": "a", "sourceip": "10.0.0.1", "n": 2}
    ]


def test_count_all_needs_group_by() -> None:
    with pytest.raises(ModelSyntaxError, match="GROUP BY"):
        aql.run("SELECT COUNT(*) AS 'n' FROM events LAST 10 MINUTES", [{"starttime": NOW}], NOW)
