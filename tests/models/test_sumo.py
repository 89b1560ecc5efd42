"""The Sumo Logic log search model (tests/models/sumo.py) against the documented examples, its
rejections, and siemc's real Sumo output: the build, the golden files and the T1219 cases (the SigmaHQ
corpus sample is in tests/test_corpus.py).

Pages (help.sumologic.com/docs/...) are named as in sumo.py: [KSE] keyword search expressions,
[FE] field expressions, [meta] built-in metadata, [cse] searching Cloud SIEM records, [rules] Cloud
SIEM rules syntax, and the operator pages by name ([where], [matches], [in], [if], [fields], [sort],
[isNull], [contains], [toLowerCase], [comments]).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.models import sumo
from tests.models.common import ModelSyntaxError
from tests.models.siemc_cases import assert_t1219_finds_exactly_the_tools, output_files, output_id, query_text

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def hits(query: str, rows: list[dict[str, Any]]) -> list[int]:
    return [row.index for row in sumo.run(query, rows, NOW)]


def where(condition: str, rows: list[dict[str, Any]]) -> list[int]:
    return hits(f"* | where {condition}", rows)


def column(query: str, rows: list[dict[str, Any]], name: str) -> list[Any]:
    return [row.fields.get(name) for row in sumo.run(query, rows, NOW)]


# (a) Examples from the documentation, worked by hand ---------------------------------------------


def test_where_and_binds_tighter_than_or_and_not_tightest() -> None:
    # [where] keyword expressions (OR, AND) can be used; [KSE] precedence NOT, AND, OR.
    rows = [{"a": "1", "b": "0", "c": "0"}, {"a": "0", "b": "1", "c": "1"}, {"a": "0", "b": "1", "c": "0"}]
    assert where('a = "1" or b = "1" and c = "1"', rows) == [0, 1]
    assert where('(a = "1" or b = "1") and c = "0"', rows) == [0, 2]
    assert where('!(a = "1") and c = "0"', rows) == [2]
    assert where('not (a = "1") or c = "1"', rows) == [1, 2]
    # [FE] `!false` is true; `!(2 == field)` is true when field is not 2.
    assert where("!false", rows) == [0, 1, 2]
    assert where("!(1 == a)", rows) == [1, 2]
    # Operators in any case.
    assert where('A = "1" OR b = "1" AND c = "1"', rows) == [0, 1]


def test_scope_keywords_implicit_and_precedence_and_metadata() -> None:
    # [KSE] "AND is implicit", precedence NOT > AND > OR; `(error OR fail) NOT debug`.
    rows = [
        {"_raw": "error in module"},
        {"_raw": "fail debug"},
        {"_raw": "FAIL"},
        {"_raw": "debug error"},
    ]
    assert hits("(error OR fail) NOT debug", rows) == [0, 2]
    assert hits("error OR fail debug", rows) == [0, 1, 3]
    assert hits("error fail", rows) == []
    # [meta] metadata values are case-insensitive, `*` a wildcard, quotes make it literal.
    meta = [{"_sourceCategory": "Labs/Apache/Access"}, {"_sourceCategory": "Security Logs"}, {}]
    assert hits("_sourceCategory=*apache*", meta) == [0]
    assert hits('_sourceCategory="security logs"', meta) == [1]
    assert hits('_sourceCategory="Security*"', meta) == []
    # [cse] `_index=sec_record_*` searches every record partition.
    records = [{"_index": "sec_record_endpoint"}, {"_index": "sec_record_network"}, {"_index": "other"}]
    assert hits("_index=sec_record_*", records) == [0, 1]
    assert hits("_index=SEC_RECORD_ENDPOINT", records) == [0]
    assert hits("_index=sec_record_audit OR _index=sec_record_network", records) == [1]
    # [cse] `_index=sec_record_network objectType=NetworkHTTP`: record fields in the scope, ANDed.
    typed = [{"_index": "sec_record_network", "objectType": "NetworkHTTP"}, {"_index": "sec_record_network"}]
    assert hits("_index=sec_record_network objectType=NetworkHTTP", typed) == [0]
    assert hits('_index=sec_record_* objectType="networkhttp"', typed) == [0]


def test_scope_keywords_match_whole_terms() -> None:
    # [KSE] Phrases: for the sample message, `TEST*` finds "test", "TESTClientImpl", "TEST",
    # "TEST1234567"; `test` finds "test" and "TEST"; `*456*` finds "1234567" and "TEST1234567".
    rows = [
        {"_raw": "[com.test.services]"},
        {"_raw": "TESTClientImpl"},
        {"_raw": "Request:id=1234567"},
        {"_raw": "TEST1234567"},
        {"_raw": "456"},
    ]
    assert hits("TEST*", rows) == [0, 1, 3]
    assert hits("test", rows) == [0]
    assert hits("*456*", rows) == [2, 3, 4]
    assert hits("456", rows) == [4]
    # [cse] security indexes are searched across all fields; quoted phrases span white space runs.
    assert hits('"failed  login"', [{"a": "x"}, {"msg": "Failed\tlogin for bob"}]) == [1]


def test_matches_wildcard_covers_the_whole_value_case_sensitively() -> None:
    # [if] `status_code matches "5*"`; [matches] `agent matches "*Windows NT*"` (case-sensitive).
    codes = [{"status_code": s} for s in ("503", "200", "15", "5")]
    assert where('status_code matches "5*"', codes) == [0, 3]
    agents = [{"agent": "Mozilla/5.0 (Windows NT 10.0)"}, {"agent": "windows nt"}, {}]
    assert where('agent matches "*Windows NT*"', agents) == [0]
    # [where] `!(status matches "200")`: exact value, nulls never match so `!` keeps them.
    assert where('!(status_code matches "200")', codes) == [0, 2, 3]
    assert where('!(agent matches "*Windows NT*")', agents) == [1, 2]
    # Only `*` is a wildcard; [if]'s nested example `message matches "*/schedule?*"` needs a `?`.
    urls = [{"message": "GET /api/schedule?id=1"}, {"message": "GET /api/schedule"}]
    assert where('message matches "*/schedule?*"', urls) == [0]


def test_matches_regex_is_re2_over_the_whole_value() -> None:
    # [matches] `ip matches /12\.1[34][1-5]\.12\.12[3-7]/`.
    ips = [{"ip": v} for v in ("12.131.12.123", "12.145.12.127", "12.136.12.123", "x12.131.12.123")]
    assert where(r"ip matches /12\.1[34][1-5]\.12\.12[3-7]/", ips) == [0, 1]
    # [rules] `foo matches "*bar*"` and `foo matches /.*bar.*/` are the same test, so a regex, like a
    # wildcard, must cover the whole value.
    values = [{"foo": v} for v in ("bar", "a bar b", "BAR", "ba r", "")]
    assert where("foo matches /.*bar.*/", values) == where('foo matches "*bar*"', values) == [0, 1]
    assert where("foo matches /bar/", values) == [0]
    # Case-sensitive unless the regex says (?i).
    assert where("foo matches /(?i).*bar.*/", values) == [0, 1, 2]


def test_equality_is_case_sensitive_and_tolowercase_folds() -> None:
    # [FE] "String comparisons are case sensitive"; [toLowerCase] use it with = and != for that
    # reason; `toLowerCase(username) ... matches "*joe smith*"`.
    users = [{"username": "Joe Smith"}, {"username": "joe smith"}, {"username": "JOE SMITHERS"}, {}]
    assert where('username = "joe smith"', users) == [1]
    assert where('username != "joe smith"', users) == [0, 2]
    assert where('username <> "joe smith"', users) == [0, 2]
    assert where('toLowerCase(username) = "joe smith"', users) == [0, 1]
    assert where('toLowerCase(username) matches "*joe smith*"', users) == [0, 1, 2]
    assert where('toUpperCase(username) matches "NITE*"', users) == []


def test_in_and_not_in() -> None:
    # [in] `status_code in ("500", ..., "404")` inside if(), "error" else "OK message".
    rows = [{"status_code": c} for c in ("500", "404", "200")] + [{}]
    query = (
        '* | if (status_code in ("500", "501", "502", "503", "504", "505", "506", "401", "402", "403", '
        '"404"), "error", "OK message") as reason'
    )
    assert column(query, rows, "reason") == ["error", "error", "OK message", "OK message"]
    # [where] `x in ("error", "fail")`, `x not in ("error", "fail")`.
    words = [{"x": "error"}, {"x": "Fail"}, {"x": "ok"}]
    assert where('x in ("error", "fail")', words) == [0]
    assert where('x not in ("error", "fail")', words) == [1, 2]
    # [where] "If you're using in or not in to match integers, cast "x" to a number first".
    numbers: list[dict[str, Any]] = [{"x": 4}, {"x": "4"}, {"x": 6}]
    assert where("x in (4, 3, 5)", numbers) == [0]


def test_numeric_comparisons() -> None:
    # [where] `x<10`, `(x >=10 and x <=20)`, `a<b`; parsed fields are text, compared as numbers.
    rows: list[dict[str, Any]] = [{"x": v} for v in (5, "15", 20.0, "25", "abc")]
    rows.append({})
    assert where("x<10", rows) == [0]
    assert where("(x >=10 and x <=20)", rows) == [1, 2]
    assert where("x > 5", rows) == [1, 2, 3]
    assert where("x = 15", rows) == [1]
    assert where("a<b", [{"a": 1, "b": 2}, {"a": 3, "b": 2}]) == [0]


def test_null_empty_blank_as_tabulated() -> None:
    # [isNull] isNull(null) true, isNull("") false, ...; isEmpty true for null and ""; isBlank also
    # true for white space only.
    rows = [{}, {"s": ""}, {"s": " "}, {"s": "bob"}, {"s": " bob "}]
    assert where("isNull(s)", rows) == [0]
    assert where("isEmpty(s)", rows) == [0, 1]
    assert where("isBlank(s)", rows) == [0, 1, 2]
    assert where("!isNull(s)", rows) == [1, 2, 3, 4]
    # [isNull] `if (isNull(country_code), "unknown", country_code) as country_code`.
    codes = [{"country_code": "US"}, {}]
    query = '* | if (isNull(country_code), "unknown", country_code) as country_code'
    assert column(query, codes, "country_code") == ["US", "unknown"]


def test_contains() -> None:
    # [contains] the whole of field2 within field1, case-sensitive; both empty is true, one empty
    # is false; `where contains(address, city)` and the infix form.
    rows = [
        {"address": "123 Main Street, San Francisco, California", "city": "San Francisco"},
        {"address": "123 Main Street, San Francisco, California", "city": "san francisco"},
        {"address": "", "city": ""},
        {"address": "x", "city": ""},
    ]
    assert where("contains(address, city)", rows) == [0, 2]
    assert where("address contains city", rows) == [0, 2]


def test_if_nested_and_as() -> None:
    # [if] `if(status_code matches "5*", 1, 0) as serverError`; the nested form picks the first true.
    rows = [{"status_code": "503"}, {"status_code": "200"}]
    assert column('* | if(status_code matches "5*", 1, 0) as serverError', rows, "serverError") == [1, 0]
    urls = [{"message": m} for m in ("/schedule?x", "/update?y", "/cancel?z", "/other")]
    nested = (
        '* | if(message matches "*/schedule?*","Alert Scheduled",\n'
        'if(message matches "*/update?*","Alert Updated",\n'
        'if(message matches "*/cancel?*","Alert Canceled","N/A"))) as problem'
    )
    assert column(nested, urls, "problem") == ["Alert Scheduled", "Alert Updated", "Alert Canceled", "N/A"]
    # [if] `if(alpha > 1 and beta > 5, "true", "false") as conditionState`; a later stage sees it.
    ab = [{"alpha": 2, "beta": 6}, {"alpha": 2, "beta": 5}]
    query = '* | if(alpha > 1 and beta > 5, "true", "false") as conditionState'
    assert hits(query + ' | where conditionState = "true"', ab) == [0]


def test_fields_allowlist_order_underscore_fields_and_denylist() -> None:
    # [fields] allowlist keeps the listed fields in the given order and lets `_` fields pass;
    # denylist removes the listed ones.
    rows = [{"method": "GET", "status_code": "200", "size": "5", "_raw": "r", "_messageTime": 1}]
    [kept] = sumo.run("* | fields status_code, method", rows, NOW)
    assert list(kept.fields) == ["status_code", "method", "_raw", "_messageTime"]
    [dropped] = sumo.run("* | fields - size, _raw", rows, NOW)
    assert list(dropped.fields) == ["method", "status_code", "_messageTime"]
    # Field names are case-insensitive ([formatDate] writes `_messageTime` and `_messagetime`).
    [lower] = sumo.run("* | fields STATUS_code, _messagetime", rows, NOW)
    assert lower.fields == {"STATUS_code": "200", "_messagetime": 1, "_raw": "r"}


def test_sort_descending_by_default() -> None:
    # [sort] "Default sort order is descending"; `+field` or `asc` ascending; text sorts with
    # lower-case before upper-case.
    rows: list[dict[str, Any]] = [{"n": 2, "s": "b"}, {"n": 10, "s": "B"}, {"n": 1, "s": "a"}, {"s": "A"}]
    assert hits("* | sort by n", rows) == [1, 0, 2, 3]
    assert hits("* | sort by n desc", rows) == [1, 0, 2, 3]
    assert hits("* | sort by n asc", rows) == [2, 0, 1, 3]
    assert hits("* | sort by +n", rows) == [2, 0, 1, 3]
    assert hits("* | order by s asc", rows) == [2, 3, 0, 1]
    # Two keys; and `sort _timeslice asc` without `by` ([matches] example).
    pairs: list[dict[str, Any]] = [{"a": "x", "t": 2}, {"a": "y", "t": 1}, {"a": "x", "t": 3}]
    assert hits("* | sort by a, t", pairs) == [1, 2, 0]
    assert hits("* | sort t asc", pairs) == [1, 0, 2]
    times: list[dict[str, Any]] = [{"_messagetime": NOW - dt.timedelta(minutes=m)} for m in (5, 1, 9)]
    assert hits("* | sort by _messagetime desc", times) == [1, 0, 2]


def test_strings_quotes_and_backslashes() -> None:
    # [FE] "Use a backslash to escape double quotes in the string"; a doubled backslash is one.
    rows = [{"r": 'They said, "No later than 10"'}, {"p": "C:\\Windows\\cmd.exe"}]
    assert where('r = "They said, \\"No later than 10\\""', rows) == [0]
    assert where('p = "C:\\\\Windows\\\\cmd.exe"', rows) == [1]
    assert where('p matches "*\\\\cmd.exe"', rows) == [1]
    # [cse] nested record fields: `where %"fields.application"="test_app"`, `fields %fields.reason`.
    nested = [{"fields.application": "test_app", "fields.reason": "no mapper"}, {"fields.application": "x"}]
    assert where('%"fields.application"="test_app"', nested) == [0]
    assert column("* | fields %fields.reason", nested, "fields.reason") == ["no mapper", None]


def test_comments_and_layout() -> None:
    # [comments] `//` comments out (part of) a line, `/* */` several lines; layout is free.
    query = '// header | not an operator\n_index=sec_record_endpoint /* scope */\n| where a = "1" // tail\n'
    assert hits(query, [{"_index": "sec_record_endpoint", "a": "1"}, {"_index": "x", "a": "1"}]) == [0]
    assert hits('* /* a\n| where a = "2"\n*/ | where a = "1"', [{"a": "1"}]) == [0]


def test_accum_is_a_running_sum_per_group_in_row_order() -> None:
    # [accum] `accum <field> [as <field>] [by <field1>, ...]`: "the cumulative sum of a field", "a
    # running total for each user's requests" with `by`, `_accum` without an alias; "If a row contains
    # non-numeric values, that row will be skipped".
    rows: list[dict[str, Any]] = [
        {"u": "a", "n": 1},
        {"u": "b", "n": 5},
        {"u": "a", "n": 2},
        {"u": "a", "n": "x"},
        {"u": "b", "n": 1},
        {"u": "a", "n": 4},
    ]
    assert column("* | accum n as total by u", rows, "total") == [1, 5, 3, None, 6, 7]
    assert column("* | accum n", rows, "_accum") == [1, 6, 8, None, 9, 13]
    # The order is the rows' order: after `sort by` it is the sorted one.
    assert column("* | sort by n asc | accum n as total by u", rows[:3], "total") == [1, 3, 5]
    with pytest.raises(ModelSyntaxError):
        sumo.parse("* | accum by u")


def test_tolong_casts_text_and_times_to_numbers() -> None:
    # Casting page: `toLong()` casts text to a number (sort orders text as text otherwise); the
    # message time is in milliseconds ([meta]).
    rows: list[dict[str, Any]] = [{"t": "10"}, {"t": "9"}, {"t": "x"}, {"_messagetime": NOW}]
    assert column("* | toLong(t) as n", rows, "n") == [10, 9, None, None]
    assert column("* | toLong(_messagetime) as n", rows[3:], "n") == [int(NOW.timestamp() * 1000)]
    assert hits("* | toLong(t) as n | sort by n asc", rows[:2]) == [1, 0]


def test_sum_and_avg_of_numbers_and_of_text() -> None:
    # [sum], [avg]: of a "numerical field"; the casting page: text is cast to numbers implicitly for
    # sum and avg, and nothing is said of text that is no number: the model refuses it.
    rows: list[dict[str, Any]] = [
        {"h": "a", "n": "443"},
        {"h": "a", "n": 600},
        {"h": "a"},
        {"h": "b", "n": "-0.5"},
    ]
    query = "* | sum(n) as s, avg(n) as m by h | sort by h asc"
    assert [(r.fields["s"], r.fields["m"]) for r in sumo.run(query, rows, NOW)] == [
        (1043, 521.5),
        (-0.5, -0.5),
    ]
    with pytest.raises(ModelSyntaxError, match="not documented"):
        sumo.run("* | sum(n) as s by h", [*rows, {"h": "a", "n": "none"}], NOW)
    # siemc's filter first keeps the decimal numbers only (RE2: `^`/`$` are the ends of the text).
    decimal = r"n matches /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/"
    values = ("443", "-7", "+1.5", ".5", "5.", "1e3", "x", "1 2", " 1", "1\n", "", "0x10")
    assert where(decimal, [{"n": v} for v in values]) == [0, 1, 2, 3, 4, 5]


def test_time_range_is_not_query_text() -> None:
    # [cse] the time range is a setting of the search: `now` changes nothing.
    rows = [{"_messagetime": NOW - dt.timedelta(days=400), "a": "1"}]
    query = '* | where a = "1"'
    assert sumo.run(query, rows, NOW) == sumo.run(query, rows, NOW.replace(year=1990))


def test_siemc_idioms_evaluate_as_intended() -> None:
    # The shapes siemc writes: case-folded wildcard, `.*(?:...)$.*` regexes with (?is), isBlank.
    rows = [
        {"baseImage": "C:\\Windows\\System32\\CMD.EXE", "parentCommandLine": "x"},
        {"baseImage": "C:\\tools\\cmd.exe.bak", "parentCommandLine": " "},
        {"baseImage": "D:\\cmd.exe"},
    ]
    assert where('toLowerCase(baseImage) matches "*\\\\cmd.exe"', rows) == [0, 2]
    assert where("baseImage matches /(?is).*(?:(?:\\\\cmd\\.exe|\\\\pwsh\\.exe)$).*/", rows) == [0, 2]
    assert where("(! isBlank(parentCommandLine))", rows) == [0]
    stars = [{"baseImage": "xa*b"}, {"baseImage": "ab"}]
    assert where("baseImage matches /(?is).*(?:a\\*b).*/", stars) == [0]


# (b) What Sumo Logic rejects -------------------------------------------------------------------------


REJECTED = [
    '_index=x | where a = "b',  # unterminated string
    '_index=x | where a = "b\\"',  # the backslash escapes the closing quote
    '_index=x | where (a = "b"',  # unbalanced parentheses
    '_index=x | where a = "b")',
    '_index="x | where a = "b"',
    "_index=x | where a matches /a/b/",  # [matches] an unescaped `/` ends the regex
    "_index=x | where a matches /a\\\\/b/",  # `\\` is a backslash, so the next `/` ends it
    "_index=x | where a matches /a/i",  # no flags after the regex
    "_index=x | where a matches /a(?=b)/",  # RE2: no lookahead
    "_index=x | where a matches /(?<=a)b/",  # no lookbehind
    "_index=x | where a matches /(a)\\1/",  # no backreferences
    "_index=x | where a matches /(?P<n>a)(?P=n)/",
    "_index=x | where a matches /(?>a)/",  # no atomic groups
    "_index=x | where a matches /a*+/",  # no possessive repetition
    "_index=x | where a matches /a**/",
    "_index=x | where a matches /a\\Z/",  # RE2 has \z, not \Z
    "_index=x | where a matches /a{1001}/",  # repetition above 1000
    "_index=x | where a matches /[z-a]/",
    "_index=x | where a matches /(?x)a b/",  # RE2 flags are i, m, s, U
    "_index=x | where a matches /\\i/",  # unknown escape
    "_index=x | where a matches /(a/",
    "_index=x | where a matches /a)/",
    "_index=x | where a matches /[a/",
    "_index=x | where a matches /\\pL/",  # Unicode classes: outside the modelled subset
    "_index=x | where a ~ b",  # unknown operators
    '_index=x | where a like "b%"',
    '_index=x | where a = "1" && b = "2"',
    '_index=x | where a =~ "b"',
    '_index=x | where a matches "b" as x',
    "_index=x | where frob(a)",  # unknown function
    "_index=x | where isNull(a, b)",  # wrong arity
    "_index=x | where toLowerCase(a)",  # not a boolean
    "_index=x | where a",
    "_index=x | where",
    '_index=x | where ! a matches "b"',  # [where] negate matches as !(... matches ...)
    '_index=x | where (! toLowerCase(a) = "b")',
    '_index=x | if(a = "1", "x", 1) as y',  # [if] both values must have the same type
    "_index=x | fields a, b, a",  # [fields] no duplicate fields
    "_index=x | sort by +a desc",
    "_index=x | frobnicate a",  # unknown operator
    '_index=x | parse "a=*" as a',  # outside the modelled subset
    "_index=x /* unterminated",
    '_index=x | where a = "b" | where b = "c" where',
    "| where a = 1",  # no scope
]


@pytest.mark.parametrize("query", REJECTED)
def test_rejects(query: str) -> None:
    with pytest.raises(ModelSyntaxError):
        sumo.parse(query)


# (c) Every Sumo file siemc has produced parses -------------------------------------------------------


@pytest.mark.parametrize("path", output_files("sumo"), ids=output_id)
def test_siemc_output_parses(path: Path) -> None:
    sumo.parse(query_text(path))


# (d) The T1219 output over the hand-specified cases -------------------------------------------------


def test_t1219_returns_exactly_the_tools_with_category_and_flags() -> None:
    def in_scope(native: dict[str, Any], time: dt.datetime) -> dict[str, Any]:
        return native | {
            "_index": "sec_record_endpoint",
            "metadata_vendor": "Microsoft",
            "metadata_product": "Windows",
            "metadata_deviceEventId": "Microsoft-Windows-Sysmon/Operational-1",
            "_messagetime": time,
        }

    assert_t1219_finds_exactly_the_tools(
        sumo,
        "sumo",
        NOW,
        in_scope=in_scope,
        # A tool in another record partition is out of scope, and so is a file it writes: Sysmon 11
        # is an EndpointProcess record of the same partition with the writer in baseImage.
        out_of_scope=[
            {"_index": "sec_record_network"},
            {"metadata_deviceEventId": "Microsoft-Windows-Sysmon/Operational-11"},
        ],
        columns=[
            "_messagetime",
            "device_hostname",
            "user_username",
            "baseImage",
            "commandLine",
            "parentBaseImage",
            "parentCommandLine",
            "RATTool",
            "RATCategory",
            "IsService",
            "IsUserLaunched",
            "_index",  # [fields] underscore fields pass an allowlist
        ],
        image=("baseImage", "baseImage"),
        time_column="_messagetime",
        oldest_first=True,  # so the sort has work to do
    )


# (e) The SigmaHQ corpus sample: tests/test_corpus.py parses every target's output with its model.


# (f) siemc output for forms the property tests do not draw, against the reference evaluator -------


def _agrees(rule_text: str, events: list[dict[str, Any]], tmp_path: Path) -> list[int]:
    from siemc.compile.build import compile_detection
    from siemc.compile.rule import load_rule
    from tests.engines import reference, run_target

    path = tmp_path / "probe.yml"
    path.write_text(rule_text)
    detection = load_rule(path)
    query = compile_detection(detection, "sumo")
    sumo.parse(query)
    got = sorted(row.index for row in run_target("sumo", detection, query, events))
    expected = [i for i, (matched, _) in enumerate(reference("sumo", detection, events)) if matched]
    assert got == expected, query
    return got


def test_fieldref_compares_two_record_fields_without_case(tmp_path: Path) -> None:
    rule_text = (
        "title: Probe\nlogsource: {product: windows, service: security}\ndetection:\n"
        "  sel:\n    EventID: 4648\n  same:\n    SubjectUserName|fieldref: TargetUserName\n"
        "  condition: sel and not same\n"
    )
    events = [
        {"EventID": 4648, "SubjectUserName": "Alice", "TargetUserName": "alice"},
        {"EventID": 4648, "SubjectUserName": "Alice", "TargetUserName": "bob"},
        {"EventID": 4648, "SubjectUserName": "Alice"},
    ]
    assert _agrees(rule_text, events, tmp_path) == [1, 2]


def test_negated_group_with_a_value_ending_in_a_backslash(tmp_path: Path) -> None:
    # `"-\\"` ends at its second quote: the NOT must keep the whole AND inside `!(...)`.
    rule_text = (
        "title: Probe\nlogsource: {category: process_creation, product: windows}\ndetection:\n"
        "  sel:\n    Computer: ['-\\\\', x]\n    Image: ['Y0*', '00']\n  condition: not sel\n"
    )
    events = [{"Computer": "x", "Image": "0"}, {"Computer": "x", "Image": "Y0a"}]
    assert _agrees(rule_text, events, tmp_path) == [0]


def test_line_breaks_and_final_newline_anchor(tmp_path: Path) -> None:
    # A value with a line break is a regex (no string literal holds one); a rule regex's `$` also
    # matches before a final line break, as Python's does.
    rule_text = (
        "title: Probe\nlogsource: {category: process_creation, product: windows}\ndetection:\n"
        "  a:\n    CommandLine: \"x\\ny\"\n  b:\n    Image|re: 'z$'\n  condition: a or b\n"
    )
    events = [{"CommandLine": "X\nY"}, {"CommandLine": "x y"}, {"Image": "az\n"}, {"Image": "az\n\n"}]
    assert _agrees(rule_text, events, tmp_path) == [0, 2]


# (d) Lookup tables (named lists): the lookupContains page's examples, worked by hand ---------------

SUSPICIOUS = "/Library/Users/username@sumologic.com/suspicious-users"
TABLES = {SUSPICIOUS: [{"user": "jdoe", "sourceIP": "10.0.0.5"}, {"user": "asmith", "sourceIP": "10.0.0.9"}]}


def lookup_hits(condition: str, rows: list[dict[str, Any]]) -> list[int]:
    return [row.index for row in sumo.run(f"* | where {condition}", rows, NOW, lookup_tables=TABLES)]


def test_lookupcontains_compares_one_field_without_case() -> None:
    # lookupContains, example 1: `where lookupContains(path://"...", userID=user)`; the lookup
    # operator page: values match "in a case-insensitive manner".
    rows = [{"userID": "jdoe"}, {"userID": "JDOE"}, {"userID": "jdoe2"}, {}]
    condition = f'lookupContains(path://"{SUSPICIOUS}", userID=user)'
    assert lookup_hits(condition, rows) == [0, 1]
    assert lookup_hits(f"!({condition})", rows) == [2, 3]


def test_lookupcontains_with_several_fields_needs_one_row_matching_all() -> None:
    # lookupContains, example 2: `userID=user AND userIP=sourceIP`.
    rows = [
        {"userID": "jdoe", "userIP": "10.0.0.5"},
        {"userID": "jdoe", "userIP": "10.0.0.9"},  # each value is in the table, not in one row
    ]
    condition = f'lookupContains(path://"{SUSPICIOUS}", userID=user AND userIP=sourceIP)'
    assert lookup_hits(condition, rows) == [0]


def test_lookupcontains_rejects_a_missing_table_and_other_operators() -> None:
    with pytest.raises(ModelSyntaxError, match="no lookup table"):
        lookup_hits('lookupContains(path://"/Library/none", userID=user)', [{"userID": "x"}])
    with pytest.raises(ModelSyntaxError):
        lookup_hits(f'lookupContains(path://"{SUSPICIOUS}", userID!=user)', [{"userID": "x"}])
