"""The SPL model: examples from the Splunk documentation, rejections, and siemc's SPL output."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.models import spl
from tests.models.common import ModelSyntaxError
from tests.models.siemc_cases import assert_t1219_finds_exactly_the_tools, output_files, output_id, query_text

REPO = Path(__file__).resolve().parents[2]
SIGMAHQ = REPO.parent / "shared" / "sigmahq" / "rules"
NOW = dt.datetime(2026, 11, 29, 12, 0, 0, tzinfo=dt.UTC)


def hits(query: str, events: Sequence[Mapping[str, Any]]) -> list[int]:
    """Indexes of the events a query returns, in input order."""
    return sorted(row.index for row in spl.run(query, events, NOW))


# ------------------------------------------------------------------------------------------------
# (a) Documentation examples, worked by hand


def test_search_or_binds_tighter_than_and() -> None:
    # SM "Boolean expressions with logical operators": the search command evaluates parentheses,
    # NOT, OR, then AND, so `A=1 B=2 OR C=3` is `A=1 AND (B=2 OR C=3)`.
    events: list[Mapping[str, Any]] = [
        {"A": "1", "B": "2"},
        {"A": "1", "C": "3"},
        {"A": "0", "C": "3"},
        {"C": "3"},
    ]
    assert hits("A=1 B=2 OR C=3", events) == [0, 1]
    assert hits("A=1 AND B=2 OR C=3", events) == [0, 1]
    assert hits("(A=1 B=2) OR C=3", events) == [0, 1, 2, 3]
    # eval/where: AND before OR, so the same text means `(A=1 AND B=2) OR C=3` there.
    assert hits('A=* OR C=* | where A="1" AND B="2" OR C="3"', events) == [0, 1, 2, 3]


def test_not_applies_to_the_next_term_only() -> None:
    # SM "Boolean expressions": "The NOT operator only applies to the term immediately following".
    events: list[Mapping[str, Any]] = [{"A": "1"}, {"A": "1", "B": "2"}, {"A": "2"}, {"B": "2"}]
    assert hits("NOT A=1 OR B=2", events) == [1, 2, 3]  # (NOT A=1) OR B=2
    assert hits("NOT (A=1 OR B=2)", events) == [2]
    assert hits("NOT NOT A=1", events) == [0, 1]
    # SM example `error NOT (403 OR 404)`, over _raw.
    raw: list[Mapping[str, Any]] = [{"_raw": "error 403"}, {"_raw": "error 500"}, {"_raw": "ok 500"}]
    assert hits("error NOT (403 OR 404)", raw) == [1]


def test_not_differs_from_not_equal() -> None:
    # SR "search", Using the NOT or != comparisons: `NOT f=x` also returns events without f.
    events: list[Mapping[str, Any]] = [{"host": "localhost"}, {"host": "web01"}, {"other": "1"}]
    assert hits("NOT host=localhost", events) == [1, 2]
    assert hits("host!=localhost", events) == [1]


def test_search_values_ignore_case_field_names_do_not() -> None:
    # SM "Use CASE() and TERM()": "By default, searches are case-insensitive"; field names are
    # case-sensitive.
    events: list[Mapping[str, Any]] = [{"host": "WebServer01"}, {"HOST": "webserver01"}]
    assert hits("host=webserver01", events) == [0]
    assert hits('host="WEBSERVER01"', events) == [0]
    assert hits("HOST=WEBSERVER01", events) == [1]


def test_eval_equality_is_case_sensitive() -> None:
    events: list[Mapping[str, Any]] = [{"host": "WebServer"}, {"host": "webserver"}]
    assert hits('host=* | where host=="webserver"', events) == [1]
    rows = spl.run('host=* | eval h=if(lower(host)=="webserver", "yes", "no")', events, NOW)
    assert [r.fields["h"] for r in rows] == ["yes", "yes"]


def test_wildcards() -> None:
    # SM "Wildcards": `"my*"` matches myhost1 and myhost.ny.mydomain.com.
    events: list[Mapping[str, Any]] = [
        {"host": "myhost1"},
        {"host": "myhost.ny.mydomain.com"},
        {"host": "yourhost"},
        {"host": "MYHOST"},
    ]
    assert hits('host="my*"', events) == [0, 1, 3]
    assert hits("host=*host*", events) == [0, 1, 2, 3]
    assert hits("host=my*.com", events) == [1]
    assert hits("host=*", [*events, {"other": "x"}]) == [0, 1, 2, 3]


def test_in_operator() -> None:
    # SR "search" / the IN operator: `error_code IN (400, 402, 404, 406)`, wildcards allowed.
    events: list[Mapping[str, Any]] = [{"error_code": c} for c in ("400", "401", 404, "500")]
    assert hits("error_code IN (400, 402, 404, 406)", events) == [0, 2]
    assert hits("error_code IN (40*)", events) == [0, 1, 2]
    assert hits("error_code IN(4*, 5*)", events) == [0, 1, 2, 3]
    assert hits('action IN ("AddToCart", purchase)', [{"action": "addtocart"}, {"action": "view"}]) == [0]


def test_a_cidr_value_matches_the_addresses_of_its_network() -> None:
    # SR "search": `clientip="192.0.2.0/24"` (CIDR notation) matches every address of the subnet;
    # a value that is not an address does not match, and `!=` keeps the field's presence rule.
    events: list[Mapping[str, Any]] = [
        {"ip": "192.0.2.17"},
        {"ip": "192.0.3.1"},
        {"ip": "not an address"},
        {"other": "192.0.2.1"},
    ]
    assert hits('ip="192.0.2.0/24"', events) == [0]
    assert hits("ip!=192.0.2.0/24", events) == [1, 2]
    assert hits('ip IN ("10.0.0.0/8", "192.0.2.0/24")', events) == [0]


def test_comparisons_on_numbers() -> None:
    # SM "Predicate expressions": `count > 15`; numbers compare as numbers.
    events: list[Mapping[str, Any]] = [{"count": "9"}, {"count": 15}, {"count": "100"}]
    assert hits("count>15", events) == [2]
    assert hits("count >= 15", events) == [1, 2]
    assert hits("count<=9", events) == [0]
    assert hits("EventCode=1", [{"EventCode": 1}, {"EventCode": "1"}, {"EventCode": 10}]) == [0, 1]


def test_quoted_string_escapes() -> None:
    # SM "Backslashes" / "search primer" File paths: D:\\Digital\\RTFM is the path D:\Digital\RTFM.
    events: list[Mapping[str, Any]] = [
        {"path": "D:\\Digital\\RTFM"},
        {"msg": 'say "hi"'},
    ]
    assert hits('path="D:\\\\Digital\\\\RTFM"', events) == [0]
    assert hits("path=D:\\\\Digital\\\\RTFM", events) == [0]
    assert hits('msg="say \\"hi\\""', events) == [1]


def test_backslash_does_not_escape_the_asterisk() -> None:
    # SM "Backslashes": "The backslash symbol can't be used to escape the asterisk in search strings".
    # The model keeps the backslash literal and `*` a wildcard.
    events: list[Mapping[str, Any]] = [{"c": "a*b"}, {"c": "a\\xyzb"}, {"c": "a\\*b"}]
    assert hits('c="a\\*b"', events) == [1, 2]


def test_keywords_match_raw() -> None:
    # SM "search primer", Keywords and phrases: terms and quoted phrases are searched in _raw.
    events: list[Mapping[str, Any]] = [
        {"_raw": "web server error 500"},
        {"_raw": "error on web"},
        {"_raw": "web-error"},
        {"status": "error", "host": "web01"},  # no _raw: the field values, joined
    ]
    assert hits("web error", events) == [0, 1, 2, 3]
    assert hits('"web error"', events) == []
    assert hits('"server error"', events) == [0]
    assert hits("ERROR web0*", events) == [3]


def test_comments_are_spaces() -> None:
    # SM "Add comments to searches": ```...``` is replaced by a space.
    events: list[Mapping[str, Any]] = [{"a": "1", "b": "2"}, {"a": "1"}]
    assert hits("```pick | the a's```a=1```and```b=2", events) == [0]
    assert hits('a=1 ```"unbalanced | ( quote```', events) == [0, 1]


def test_regex_command_unanchored() -> None:
    # SR "regex": "An unanchored regular expression", PCRE, quotation marks required; `!=` keeps
    # non-matching results. Example from the page: a 10.x.x.x address in _raw.
    query = '* | regex _raw="(?<!\\d)10\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}(?!\\d)"'
    events: list[Mapping[str, Any]] = [
        {"_raw": "src=10.1.2.3 ok"},
        {"_raw": "src=110.1.2.3"},
        {"_raw": "src=192.168.0.1"},
    ]
    assert hits(query, events) == [0]
    cmd: list[Mapping[str, Any]] = [{"c": "Invoke-Expression /c x"}, {"c": "invoke-x /c"}, {"c": "other"}]
    assert hits('c=* | regex c="Invoke-[a-z]+"', cmd) == []  # case-sensitive: [a-z] lacks "E"
    assert hits('c=* | regex c="(?i)invoke-[a-z]+ /c"', cmd) == [0, 1]
    assert hits('c=* | regex c!="(?i)invoke"', cmd) == [2]
    assert hits('c=* | regex c="/c"', cmd) == [0, 1]


def test_regex_backslashes_pass_two_layers() -> None:
    # SM "SPL and regular expressions": the search string layer takes one backslash of a pair,
    # then the regex takes the next; `"\\\\"` in the query is one literal backslash.
    events: list[Mapping[str, Any]] = [{"p": "C:\\temp"}, {"p": "C:/temp"}, {"p": "C:\x09emp"}]
    assert hits('p=* | regex p="C:\\\\\\\\temp"', events) == [0]
    assert hits('p=* | regex p="C:\\\\temp"', events) == [2]  # the regex \t: a tab
    assert hits('p=* | where match(p, "^C:\\\\\\\\")', events) == [0]


def test_eval_functions() -> None:
    # SR "Comparison and Conditional functions": case() returns the value of the first true
    # condition (true() as the default), if(), match() unanchored, like() with % and _.
    events: list[Mapping[str, Any]] = [{"status": "200"}, {"status": "404"}, {"status": "503"}, {"x": "1"}]
    query = (
        'status=* | eval description=case(status == 200, "OK", status ==404, "Not found", '
        'status == 500, "Internal Server Error")'
    )
    assert [r.fields.get("description") for r in spl.run(query, events, NOW)] == ["OK", "Not found", None]
    query = '* | eval s=case(match(status, "^2"), "ok", true(), "other")'
    assert [r.fields["s"] for r in spl.run(query, events, NOW)] == ["ok", "other", "other", "other"]
    names: list[Mapping[str, Any]] = [{"n": "TeamViewer.exe"}, {"n": "teamviewer_x.exe"}, {"n": "tv"}]
    assert hits('n=* | where match(n, "team")', names) == [1]
    assert hits('n=* | where match(n, "(?i)team")', names) == [0, 1]
    assert hits('n=* | where like(n, "team%")', names) == [1]
    assert hits('n=* | where like(lower(n), "team______.exe")', names) == [0]
    assert hits('n=* | where n LIKE "t_"', names) == [2]
    assert hits('n=* | where in(n, "tv", "x")', names) == [2]
    assert hits("* | where isnull(status)", events) == [3]
    assert hits('* | where isnotnull(status) AND NOT status="200"', events) == [1, 2]


def test_rex_extracts_named_groups() -> None:
    # SR "rex": named groups become fields; no match leaves the field null.
    events: list[Mapping[str, Any]] = [{"c": "curl -c jar"}, {"c": "curl --cookie"}]
    query = 'c=* | rex field=c "(?<m>\\\\s-c\\\\s)" | eval f=if(isnotnull(m), "true", "false")'
    assert [r.fields["f"] for r in spl.run(query, events, NOW)] == ["true", "false"]


def test_table_and_sort() -> None:
    # SR "table": the listed fields, in order. SR "sort": `sort 0` returns every result, `-` is
    # descending, missing values last; the default count is 10000.
    events: list[Mapping[str, Any]] = [
        {"_time": NOW - dt.timedelta(hours=3), "a": "x", "n": "2"},
        {"_time": NOW - dt.timedelta(hours=1), "a": "y", "n": "10"},
        {"_time": NOW - dt.timedelta(hours=2), "b": "z"},
    ]
    rows = spl.run("* | table a _time n | sort 0 -_time", events, NOW)
    assert [r.index for r in rows] == [1, 2, 0]
    assert list(rows[0].fields) == ["a", "_time", "n"]
    assert rows[1].fields == {"a": None, "_time": events[2]["_time"], "n": None}
    assert [r.index for r in spl.run("* | sort n", events, NOW)] == [0, 1, 2]  # numeric; missing last
    assert [r.index for r in spl.run("* | sort - n", events, NOW)] == [1, 0, 2]
    assert [r.index for r in spl.run("* | sort 1 a", events, NOW)] == [0]
    assert [r.index for r in spl.run("* | sort a desc", events, NOW)] == [1, 0, 2]
    assert list(spl.run("* | fields a", events, NOW)[0].fields) == ["_time", "a"]
    assert "a" not in spl.run("* | fields - a", events, NOW)[0].fields


def test_time_modifiers() -> None:
    # SM "Specify time modifiers in your search": earliest=-24h latest=now, relative to the search
    # time; `@d` snaps to the start of the day.
    events: list[Mapping[str, Any]] = [
        {"_time": NOW - dt.timedelta(hours=1)},
        {"_time": NOW - dt.timedelta(hours=25)},
        {"_time": NOW + dt.timedelta(hours=1)},
        {"x": "no time"},
    ]
    assert hits("earliest=-24h latest=now", events) == [0]
    assert hits("earliest=-1d@d", events) == [0, 1, 2]
    assert hits("earliest=@d latest=now", events) == [0]
    assert hits("latest=-2h", events) == [1]


def test_pcre_translation() -> None:
    assert spl.pcre_to_python("(?<name>a)") == "(?P<name>a)"
    assert spl.pcre_to_python("a\\z") == "a\\Z"
    assert spl.pcre_to_python("\\Qa.b\\E+") == "a\\.b+"
    assert spl.pcre_to_python("[[:digit:]x]") == "[0-9x]"
    assert spl.pcre_to_python("a(?i)b|c") == "a(?i:b)|(?i:c)"
    # PCRE scopes a mid-pattern flag to the rest of its group, alternatives included.
    events: list[Mapping[str, Any]] = [{"v": "aB"}, {"v": "AB"}, {"v": "C"}]
    assert hits('v=* | regex v="^(?:a(?i)b|c)$"', events) == [0, 2]
    assert hits('v=* | regex v="^a++B$"', events) == [0]


def test_output_is_newest_first_without_sort() -> None:
    events: list[Mapping[str, Any]] = [
        {"_time": NOW - dt.timedelta(minutes=m), "i": str(m)} for m in (5, 1, 3)
    ]
    assert [r.index for r in spl.run("i=*", events, NOW)] == [1, 2, 0]


# ------------------------------------------------------------------------------------------------
# (b) What SPL rejects

REJECTED = [
    ("", "empty search"),
    ('a="unbalanced', "unbalanced quote"),
    ('a="trailing backslash\\"', "a trailing backslash escapes the closing quote"),
    ("(a=1 OR b=2", "unbalanced parenthesis"),
    ("a=1)", "unbalanced parenthesis"),
    ("a=1 | stats count", "command outside the subset"),
    ("a=1 | frobnicate", "unknown command"),
    ("a=1 | searchx b=1", "unknown command"),
    ("a=1 |", "empty command"),
    ("a IN x, y", "IN without parentheses"),
    ("a IN ()", "empty IN list"),
    ("OR a=1", "OR without a left operand"),
    ("a=1 | search OR b=2", "OR without a left operand"),
    ("a=1 OR", "OR without a right operand"),
    ("a=1 NOT", "NOT without an operand"),
    ("a=", "comparison without a value"),
    ("a=1 | regex b=abc", "regex without quotes"),
    ('a=1 | regex NOT b="x"', "NOT in regex"),
    ('a=1 | regex b="("', "bad regex"),
    ('a=1 | regex b="a{2,1}"', "bad regex"),
    ('a=1 | regex b="(?R)"', "PCRE recursion"),
    ('a=1 | regex b="\\\\p{L}"', "Unicode property"),
    ('a=1 | rex field=b "(x)"', "rex without a named group"),
    ('a=1 | eval x=(b=="c")', "Boolean assigned to a field"),
    ('a=1 | eval x=if("c", 1, 2)', "if() needs a Boolean condition"),
    ('a=1 | eval x=case(b=="c")', "case() pairs"),
    ("a=1 | eval x=nosuchfunction(b)", "unknown function"),
    ('a=1 | where match(b, "[")', "bad regex in match()"),
    ("a=1 | where lower(b)", "where needs a Boolean"),
    ("a=1 ```unterminated", "unterminated comment"),
    ("a=1 `macro`", "macros are outside the subset"),
    ("earliest=yesterday", "bad time modifier"),
    ("earliest>-1h", "time modifiers take ="),
    ("a=1 | sort", "sort without a field"),
    ("a=1 | table", "table without fields"),
    ("a=1 | eval", "eval without an assignment"),
]


@pytest.mark.parametrize(("query", "why"), REJECTED, ids=[why for _, why in REJECTED])
def test_rejects(query: str, why: str) -> None:
    with pytest.raises(ModelSyntaxError):
        spl.parse(query)


# ------------------------------------------------------------------------------------------------
# (c) Every SPL file siemc has written parses


@pytest.mark.parametrize("path", output_files("spl"), ids=output_id)
def test_output_parses(path: Path) -> None:
    assert spl.parse(query_text(path)).commands


def test_golden_escaping_values() -> None:
    text = (REPO / "tests" / "golden" / "spl" / "escaping.spl").read_text(encoding="utf-8")
    events: list[Mapping[str, Any]] = [
        {"CommandLine": 'x SAY "hi" it\'s y'},
        {"Image": "c:\\windows\\system32\\CMD.exe"},
        {"Image": "C:\\Windows\\System32\\cmd.exe.bak"},
    ]
    selector = {"source": "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational", "EventCode": 1}
    assert hits(text, [{**selector, **e} for e in events]) == [0, 1]


def test_golden_escaping_literal_asterisk() -> None:
    # tests/golden/rules/escaping.yml: `CommandLine|contains: 'a\*b'` means the text `a*b`; the search
    # command cannot escape `*` (SM 'Backslashes'), so siemc writes that rule as an eval `| where`.
    text = (REPO / "tests" / "golden" / "spl" / "escaping.spl").read_text(encoding="utf-8")
    selector = {"source": "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational", "EventCode": 1}
    assert hits(
        text, [{**selector, "CommandLine": "run a*b now"}, {**selector, "CommandLine": "run aXb"}]
    ) == [0]


# ------------------------------------------------------------------------------------------------
# (d) The T1219 output over the specified cases


def test_t1219_returns_exactly_the_tools() -> None:
    selector = {"source": "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational", "EventCode": 1}

    def in_scope(native: dict[str, Any], time: dt.datetime) -> dict[str, Any]:
        return native | selector | {"_time": time - dt.timedelta(minutes=1)}

    assert_t1219_finds_exactly_the_tools(
        spl,
        "spl",
        NOW,
        in_scope=in_scope,
        out_of_scope=[
            {"_time": NOW - dt.timedelta(hours=25)},
            {"EventCode": 3},
            {"sourcetype": "WinEventLog:Security", "_time": NOW},
        ],
        columns=[
            "_time",
            "Computer",
            "User",
            "Image",
            "CommandLine",
            "ParentImage",
            "ParentCommandLine",
            "RATTool",
            "RATCategory",
            "IsService",
            "IsUserLaunched",
        ],
        image=("Image", "Image"),
        time_column="_time",
    )


# ------------------------------------------------------------------------------------------------
# (e) A fixed sample of the SigmaHQ corpus, compiled by siemc, parses

# Rules whose SPL was once invalid, always in the sample. When an OR group mixes a `|re` item with
# plain ones, the official Splunk backend defers the regex to `| rex ... | eval <f>Condition=...`
# stages, keeps one OR operand in the first search and starts the final stage with `| search OR ...`:
# a syntax error, and the OR'ed operand left in the first search became ANDed with the rest. siemc
# now writes such rules as one eval `| where` expression.
FORMERLY_INVALID = {
    "proc_creation_win_csc_susp_parent",
    "proc_creation_win_curl_cookie_hijacking",
    "proc_creation_win_curl_custom_user_agent",
    "proc_creation_win_curl_insecure_connection",
    "proc_creation_win_curl_upload_file_sharing_websites",
    "proc_creation_win_hktl_wsass",
    "proc_creation_win_susp_lnk_exec_hidden_cmd",
    "proc_creation_win_wget_download_direct_ip",
    "proc_creation_win_wget_download_susp_file_sharing_domains",
    "proc_creation_win_wget_download_susp_locations",
}
SAMPLE_SIZE = 300


@pytest.mark.skipif(not SIGMAHQ.is_dir(), reason="no SigmaHQ corpus checked out")
def test_sigmahq_sample_parses() -> None:
    from sigma.exceptions import SigmaError

    from siemc.compile.build import compile_detection
    from siemc.compile.rule import load_rule
    from siemc.diagnostics import SiemcError

    # Windows process creation: every k-th file by path, plus the rules that once gave invalid SPL.
    paths = sorted((SIGMAHQ / "windows" / "process_creation").glob("*.yml"))
    step = max(1, len(paths) // SAMPLE_SIZE)
    sample = sorted({*paths[::step][:SAMPLE_SIZE], *(p for p in paths if p.stem in FORMERLY_INVALID)})
    compiled, invalid = 0, {}
    for path in sample:
        try:
            text = compile_detection(load_rule(path), "spl")
        except (SiemcError, SigmaError):
            continue
        compiled += 1
        try:
            spl.parse(text)
        except ModelSyntaxError as error:
            invalid[path.stem] = str(error).splitlines()[0]
    assert compiled > SAMPLE_SIZE // 2
    assert invalid == {}


# ------------------------------------------------------------------------------------------------
# (f) siemc bugs the property tests found, kept as regression cases

PROCESS = "title: t\nlogsource: {category: process_creation, product: windows}\ndetection:\n"
SYSMON: dict[str, Any] = {"source": "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational", "EventCode": 1}


def compiled(rule: str) -> str:
    from siemc.compile.build import compile_detection
    from siemc.compile.rule import parse_rule

    return compile_detection(parse_rule(rule, Path("regression.yml")), "spl")


def test_single_character_wildcard_is_one_character() -> None:
    # The search command has only `*`: the official backend wrote Sigma's `?` as `*` (`User="*"`).
    text = compiled(PROCESS + "  sel: {User: 'a?', Image: ['00*', '?']}\n  condition: sel\n")
    rows: list[Mapping[str, Any]] = [
        SYSMON | {"User": u, "Image": i} for u, i in (("ab", "x"), ("abc", "x"), ("ab", "xy"), ("AB", "00z"))
    ]
    assert hits(text, rows) == [0, 3]


def test_eval_literals_do_not_escape_like_wildcards() -> None:
    # `Image|cased: _` was written `Image=="\_"`, two characters to `==`.
    text = compiled(
        PROCESS
        + "  sel: {EventCode: 1}\n  condition: sel\nsiemc:\n  derive:\n    Flag: {when: {Image|cased: _}}\n"
    )
    assert [row.fields["Flag"] for row in spl.run(text, [SYSMON | {"Image": "_"}], NOW)] == ["true"]


def test_wildcard_regex_ends_at_the_end_of_the_value() -> None:
    # PCRE's `$` also matches before a final line break; `a?` does not match "ab\n".
    text = compiled(PROCESS + "  sel: {User: 'a?'}\n  condition: sel\n")
    assert hits(text, [SYSMON | {"User": "ab"}, SYSMON | {"User": "ab\n"}]) == [0]


def test_regex_inside_a_negated_group_stays_negated() -> None:
    # `not (Image|re and Image: null)` holds for every event; the official backend wrote it
    # `NOT (NOT Image=*) | regex Image="0"`, the regex outside the NOT.
    text = compiled(PROCESS + "  sel: {Image|re: '0', Image: null}\n  condition: not sel\n")
    assert hits(text, [SYSMON | {"Image": "0"}, SYSMON | {"Image": "x"}, SYSMON]) == [0, 1, 2]


def test_eval_quotes_dotted_field_names() -> None:
    # SR "eval": unquoted, `userIdentity.arn` is the concatenation of the fields userIdentity and arn.
    text = compiled(
        "title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n"
        "  sel: {userIdentity.arn|re: 'role/x'}\n  filter: {eventName: a}\n  condition: sel or filter\n"
    )
    assert "match('userIdentity.arn'," in text
    trail = {"sourcetype": "aws:cloudtrail"}
    rows: list[Mapping[str, Any]] = [
        trail | {"userIdentity.arn": "arn:role/x", "eventName": "b"},
        trail | {"userIdentity.arn": "arn:role/y"},
        trail | {"userIdentity.arn": "arn:role/y", "eventName": "A"},
    ]
    assert hits(text, rows) == [0, 2]


def test_field_references_compare_without_case() -> None:
    # Sigma's fieldref is a string test, without case; the official backend wrote `| where a==b`.
    text = compiled(PROCESS + "  sel: {User|fieldref: ParentUser}\n  condition: sel\n")
    rows: list[Mapping[str, Any]] = [
        SYSMON | {"User": "Bob", "ParentUser": "bob"},
        SYSMON | {"User": "bob", "ParentUser": "alice"},
        SYSMON | {"User": "bob"},
    ]
    assert hits(text, rows) == [0]


def test_negated_windash_value_negates_every_variant() -> None:
    # `not s` on a windash value: the official backend wrote `NOT a OR b ...`, negating `-a` only.
    text = compiled(
        PROCESS + "  t: {User: x}\n  s: {CommandLine|windash|contains: '-a'}\n  condition: t and not s\n"
    )
    rows = [SYSMON | {"User": "x", "CommandLine": c} for c in ("run -a", "run /a", "run -b")]
    assert hits(text, rows) == [2]


# ---------------------------------------------------------------- lookups (named lists)
# SR "lookup" and the Knowledge Manager Manual, "Add field matching rules to your lookup
# configuration" (case_sensitive_match, match_type, max_matches); expectations worked out by hand.

USERS = spl.Lookup(({"user": "amrit", "group": "admins"}, {"user": "maria", "group": "users"}))


def _lookup_events() -> list[dict[str, Any]]:
    return [
        {"source": "auth", "local_user": "amrit", "_time": NOW - dt.timedelta(seconds=1)},
        {"source": "auth", "local_user": "AMRIT", "_time": NOW - dt.timedelta(seconds=2)},
        {"source": "auth", "local_user": "nobody", "_time": NOW - dt.timedelta(seconds=3)},
        {"source": "auth", "_time": NOW - dt.timedelta(seconds=4)},
    ]


def test_lookup_outputs_the_matching_rows_fields() -> None:
    # SR "lookup" example: `lookup usertogroup user as local_user OUTPUT group as user_group`.
    query = "source=auth | lookup usertogroup user as local_user OUTPUT group as user_group"
    rows = spl.run(query, _lookup_events(), NOW, lookups={"usertogroup": USERS})
    assert [row.fields.get("user_group") for row in rows] == ["admins", None, None, None]


def test_lookup_matches_with_case_unless_the_definition_says_otherwise() -> None:
    query = (
        "source=auth | lookup usertogroup user AS local_user OUTPUT group AS user_group"
        " | where isnotnull(user_group)"
    )
    assert [r.index for r in spl.run(query, _lookup_events(), NOW, lookups={"usertogroup": USERS})] == [0]
    insensitive = spl.Lookup(USERS.rows, case_sensitive_match=False)
    assert [r.index for r in spl.run(query, _lookup_events(), NOW, lookups={"usertogroup": insensitive})] == [
        0,
        1,
    ]


def test_lookup_without_output_adds_every_other_field_and_outputnew_keeps_existing_ones() -> None:
    rows = spl.run(
        "source=auth | lookup usertogroup user AS local_user",
        _lookup_events(),
        NOW,
        lookups={"usertogroup": USERS},
    )
    assert rows[0].fields["group"] == "admins" and "user" not in rows[0].fields
    events = _lookup_events()
    events[0]["group"] = "kept"
    query = "source=auth | lookup usertogroup user AS local_user OUTPUTNEW group"
    assert spl.run(query, events, NOW, lookups={"usertogroup": USERS})[0].fields["group"] == "kept"


def test_lookup_cidr_match_type_and_several_matches() -> None:
    networks = spl.Lookup(
        ({"net": "10.0.0.0/8", "zone": "lan"}, {"net": "10.1.0.0/16", "zone": "lab"}),
        match_type={"net": "CIDR"},
    )
    events = [
        {"source": "fw", "ip": "10.1.2.3", "_time": NOW - dt.timedelta(seconds=1)},
        {"source": "fw", "ip": "11.0.0.1", "_time": NOW - dt.timedelta(seconds=2)},
    ]
    rows = spl.run("source=fw | lookup nets net AS ip OUTPUT zone", events, NOW, lookups={"nets": networks})
    assert rows[0].fields["zone"] == ["lan", "lab"]  # two rows match: a multivalue field
    assert "zone" not in rows[1].fields


def test_lookup_rejects_a_missing_table_and_a_malformed_command() -> None:
    with pytest.raises(ModelSyntaxError, match="does not exist"):
        spl.run("source=auth | lookup nosuch user AS local_user", _lookup_events(), NOW, lookups={})
    for query in ("source=auth | lookup usertogroup", "source=auth | lookup usertogroup user AS"):
        with pytest.raises(ModelSyntaxError):
            spl.run(query, _lookup_events(), NOW, lookups={"usertogroup": USERS})


# ------------------------------------------------------------------------------------------------
# Aggregation: multisearch, bin, stats (correlation queries)


def test_multisearch_bin_and_stats() -> None:
    # SR "multisearch": each subsearch reads all events; SR "bin": `_time` to the start of its span;
    # SR "stats": one row per BY combination, an event without a BY field left out; dc() distinct.
    start = dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.UTC)
    events = [
        {"_time": start + dt.timedelta(minutes=m), "kind": kind, "host": host, "user": user}
        for m, kind, host, user in [
            (1, "a", "h1", "u1"),
            (2, "b", "h1", "u2"),
            (9, "a", "h1", "u1"),
            (11, "a", "h1", "u3"),
            (3, "a", None, "u1"),
        ]
    ]
    query = (
        '| multisearch [search kind="a" | eval tag="A"] [search kind="b" | eval tag="B"]'
        " | bin _time span=10m | stats dc(user) AS users BY host _time | where users>=2"
    )
    rows = spl.run(query, events, NOW)
    assert [(row.fields["host"], row.fields["_time"], row.fields["users"]) for row in rows] == [
        ("h1", start, 2)
    ]
    count = spl.run('kind="a" | stats count AS n BY host', events, NOW)
    assert [(row.fields["host"], row.fields["n"]) for row in count] == [("h1", 3)]
    # min() and max() of _time (epoch seconds in Splunk), several functions in one stats.
    span = spl.run("* | eval t=_time | stats min(t) AS first max(t) AS last count AS n BY host", events, NOW)
    assert [(r.fields["first"], r.fields["last"], r.fields["n"]) for r in span] == [
        ((start + dt.timedelta(minutes=1)).timestamp(), (start + dt.timedelta(minutes=11)).timestamp(), 4)
    ]


def test_multisearch_takes_streaming_commands_only() -> None:
    # (A subsearch here ends in a command: the model's search terms run to white space, `]` included.)
    with pytest.raises(ModelSyntaxError, match="streaming"):
        spl.parse("| multisearch [search a=1 | stats count AS n BY b | eval t=1] [search a=2 | eval t=1]")
    with pytest.raises(ModelSyntaxError):
        spl.parse("| multisearch [search a=1 | eval t=1]")  # at least two subsearches
    with pytest.raises(ModelSyntaxError, match="span"):
        spl.parse("a=1 | bin _time bins=10")


def test_eventstats_and_arithmetic() -> None:
    # SR "eventstats": every event gets its group's aggregates; an event without a BY field gets none.
    # SR "eval": + - * / on numbers (multiplication and division first), floor(), tonumber() null for
    # a value that is no number.
    events = [
        {"_time": NOW, "host": host, "n": n}
        for host, n in [("h1", "3"), ("h2", "10"), ("h1", "4"), ("h1", "x"), (None, "5")]
    ]
    query = (
        "* | eval v=tonumber(n) | eventstats sum(v) AS total count AS seen BY host"
        " | eval half=floor(total/2), mix=1+total*2-seen/2"
    )
    rows = spl.run(query, events, NOW)
    got = [
        tuple(row.fields.get(name) for name in ("host", "v", "seen", "total", "half", "mix")) for row in rows
    ]
    assert got == [
        ("h1", 3.0, 3, 7.0, 3, 13.5),
        ("h2", 10.0, 1, 10.0, 5, 20.5),
        ("h1", 4.0, 3, 7.0, 3, 13.5),
        ("h1", None, 3, 7.0, 3, 13.5),
        (None, 5.0, None, None, None, None),
    ]
    with pytest.raises(ModelSyntaxError):
        spl.parse("* | eval a=(1>2)+1")  # a Boolean is no operand


def test_accum_is_a_running_total_over_every_result() -> None:
    # SR "accum": for each event where the field is a number, the running total of its numbers so far.
    events = [{"_time": NOW, "n": n} for n in ["2", "x", "3", "5"]]
    rows = spl.run("* | accum n AS total", events, NOW)
    assert [row.fields.get("total") for row in rows] == [2.0, None, 5.0, 10.0]
