"""The LogScale (CQL) model against the LogScale documentation's own examples, its rejections, siemc's
LogScale output (build/, golden files) and the T1219 cases; the SigmaHQ corpus sample is in
tests/test_corpus.py.

Expectations in the documentation tests are worked out by hand from the documentation text cited
next to each one, never by running siemc.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.models import logscale
from tests.models.logscale import ModelSyntaxError, parse, run, translate_regex
from tests.models.siemc_cases import assert_t1219_finds_exactly_the_tools, output_files, output_id, query_text

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def hits(query: str, events: Sequence[Mapping[str, Any]]) -> list[int]:
    return [row.index for row in run(query, events, NOW)]


# ---------------------------------------------------------------- (a) documentation examples
# Free text over @rawstring: event i holds foo if i & 4, bar if i & 2, baz if i & 1.
WORDS = [
    {"@rawstring": " ".join(w for bit, w in ((4, "foo"), (2, "bar"), (1, "baz")) if i & bit) or "-"}
    for i in range(8)
]


class TestPrecedence:
    """Operators page, "Logical Operators" examples: not > or > and (implicit and included)."""

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            # "foo and not bar or baz" is "foo and ((not bar) or baz)"; with the usual precedence it
            # would be (foo and not bar) or baz = [1, 3, 4, 5, 7].
            ("foo and not bar or baz", [4, 5, 7]),
            ("foo AND NOT bar OR baz", [4, 5, 7]),
            ("foo and ((not bar) or baz)", [4, 5, 7]),
            # "foo or not bar and baz" is "(foo or (not bar)) and baz"; usual precedence: [1, 4, 5, 6, 7].
            ("foo or not bar and baz", [1, 5, 7]),
            ("(foo or (not bar)) and baz", [1, 5, 7]),
            # "not foo bar" is "(not foo) and bar"; "foo not bar" is "foo and (not bar)".
            ("not foo bar", [2, 3]),
            ("foo not bar", [4, 5]),
            # "foo bar": "the and operator is implicit".
            ("foo bar", [6, 7]),
            ("foo and bar", [6, 7]),
            # "! can also be used as an alternative to unary not".
            ("!bar", [0, 1, 4, 5]),
            # Juxtaposition is the same loose `and`: foo (bar or baz).
            ("foo bar or baz", [5, 6, 7]),
            # Pipes are sequential filters.
            ("foo | bar or baz", [5, 6, 7]),
        ],
    )
    def test_documented_equivalences(self, query: str, expected: list[int]) -> None:
        assert hits(query, WORDS) == expected

    def test_implicit_and_binds_looser_than_or_on_fields(self) -> None:
        events = [{"a": "1", "b": "0", "c": "3"}, {"a": "0", "b": "0", "c": "3"}, {"a": "1", "b": "2"}]
        # a=1 AND (b=2 OR c=3): event 1 would match under the usual (a=1 AND b=2) OR c=3.
        assert hits("a=1 b=2 OR c=3", events) == [0, 2]
        assert hits("a=1 AND b=2 OR c=3", events) == [0, 2]
        assert hits("(a=1 AND b=2) OR c=3", events) == [0, 1, 2]


class TestFieldFilters:
    """Filters/operators pages: globs are whole-value and case-sensitive, regexes are finds."""

    URLS: ClassVar[list[dict[str, Any]]] = [
        {"url": "/login"},
        {"url": "/api/login/x"},
        {"url": "/LOGIN"},
        {"url": "/home"},
        {"url": "login"},
    ]
    USERS: ClassVar[list[dict[str, Any]]] = [
        {"user": "Alan Turing"},
        {"user": "alan turing"},
        {"user": "Turing Alan"},
        {"name": "x"},
    ]

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("url = *login*", [0, 1, 4]),  # "The url field contains login"
            ("url = login", [4]),  # whole value, no wildcard
            ('url = "*login*"', [0, 1, 4]),  # quoting does not turn the wildcard off
            (r'url = "*\*login*"', []),  # \* is a literal asterisk
            ("url = /login/", [0, 1, 4]),  # regex: "The url field contains login"
            ("url = /login/i", [0, 1, 2, 4]),
            ("url = /^login$/", [4]),
            ("url != *login*", [2, 3]),
        ],
    )
    def test_glob_versus_regex(self, query: str, expected: list[int]) -> None:
        assert hits(query, self.URLS) == expected

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("user = *Turing", [0]),  # "The user field ends with Turing"
            ('user = "Alan Turing"', [0]),
            ('user="alan turing"', [1]),  # "The value must match exactly, including the case"
            ("user = /Turing$/", [0]),
            # != is the only comparison true on a missing field ("unless it is !=").
            ('user != "Alan Turing"', [1, 2, 3]),
            ("user = *", [0, 1, 2]),  # "Find all events that have the field user"
            ("user != *", [3]),
            ("not (user = *)", [3]),
        ],
    )
    def test_exact_case_and_missing_fields(self, query: str, expected: list[int]) -> None:
        assert hits(query, self.USERS) == expected

    def test_regex_flag_i_for_loglevel(self) -> None:
        events = [{"loglevel": v} for v in ("Error", "ERROR", "error", "warn")]
        assert hits("loglevel = /error/i", events) == [0, 1, 2]
        assert hits("loglevel = /error/", events) == [2]

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("statuscode < 400", [0]),
            ("statuscode <= 404", [0, 1]),
            ("statuscode > 400", [1]),
            ("statuscode >= 404", [1]),
            ("statuscode = 404", [1]),
            ("statuscode != 404", [0, 2, 3]),
        ],
    )
    def test_numeric_comparisons(self, query: str, expected: list[int]) -> None:
        events: list[dict[str, Any]] = [{"statuscode": 200}, {"statuscode": "404"}, {"statuscode": "abc"}, {}]
        assert hits(query, events) == expected

    def test_tag_fields_behave_like_fields(self) -> None:
        events = [{"#type": "accesslog", "url": "/a"}, {"#type": "syslog", "url": "/a"}]
        assert hits('#type=accesslog | url="/a"', events) == [0]


class TestRegexFlags:
    """Regular Expression Flags page: d, i, m; without m, ^ and $ are the whole value."""

    EVENTS: ClassVar[list[dict[str, Any]]] = [{"msg": "line1\nline2"}, {"path": "a/b"}]

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("msg=/^line2/", []),
            ("msg=/^line2/m", [0]),
            ("msg=/line1.line2/", []),
            ("msg=/line1.line2/d", [0]),
            ("msg=/LINE2/i", [0]),
            ("msg=/^line1\\n(?i)LINE2$/", [0]),  # inline flag from that point on
            ("msg=/(?i)NOPE|LINE1/", [0]),  # engine v2: the inline flag covers both alternatives
            ("msg=/line2/gF", [0]),
            ("path=/a\\/b/", [1]),  # "/" escaped inside the literal
        ],
    )
    def test_flags(self, query: str, expected: list[int]) -> None:
        assert hits(query, self.EVENTS) == expected

    @pytest.mark.parametrize(
        ("body", "python"),
        [
            ("(?<name>x)", "(?P<name>x)"),
            ("a(?i)b|c", "a(?i:b)|(?i:c)"),
            ("(a(?i)b)c", "(a(?i:b))c"),
            ("x\\z", "x\\Z"),
            ("\\/", "/"),
        ],
    )
    def test_translation_to_python(self, body: str, python: str) -> None:
        assert translate_regex(body) == python


class TestFreeText:
    """Filters page and Appendix A (quirks): free text is a substring search of the raw event."""

    def test_url_is_searched_with_implicit_wildcards(self) -> None:
        events = [{"@rawstring": "GET https://www.example.com/index 200"}, {"@rawstring": "http://x"}]
        # "https://www.example.com/ is ... equivalent to searching for "*https://www.example.com/*""
        assert hits("https://www.example.com/", events) == [0]
        assert hits('"*https://www.example.com/*"', events) == [0]

    def test_a_spaced_double_slash_starts_a_comment(self) -> None:
        # "https: //www.example.com/ ... contains a comment. It is equivalent to searching for "*https:*""
        events = [{"@rawstring": "https: elsewhere"}, {"@rawstring": "http: x"}]
        assert hits("https: //www.example.com/", events) == [0]

    def test_escaped_quotes_in_a_quoted_search(self) -> None:
        events = [{"@rawstring": 'user said msg: "welcome" now'}, {"@rawstring": "msg: welcome"}]
        assert hits(r'"msg: \"welcome\""', events) == [0]

    def test_regex_free_text_and_case(self) -> None:
        events = [{"@rawstring": "Foo"}, {"@rawstring": "foo"}]
        assert hits("/foo/", events) == [1]
        assert hits("/foo/i", events) == [0, 1]
        assert hits("foo", events) == [1]  # free text is case-sensitive

    def test_without_rawstring_field_values_except_tags_are_searched(self) -> None:
        events = [{"#repo": "foo", "x": "bar"}, {"x": "foobar"}]
        assert hits("foo", events) == [1]
        assert hits("bar", events) == [0, 1]

    def test_comments(self) -> None:
        events = [{"a": "1", "b": "2"}, {"a": "1", "b": "3"}]
        assert hits("a=1 // the first\n/* multi\n line */ b=2", events) == [0]


class TestInFunction:
    """in() page and the example "Perform Case-Insensitive Match on Field"."""

    EVENTS: ClassVar[list[dict[str, Any]]] = [
        {"loglevel": v} for v in ("ERROR", "INFO", "WARN", "ERROR", "DEBUG")
    ] + [{"other": "x"}]

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ('in(loglevel, ignoreCase=true, values=["error", "warn"])', [0, 2, 3]),
            ('in(loglevel, values=["error", "warn"])', []),  # ignoreCase defaults to false
            ('in(field="loglevel", values=["ERROR"])', [0, 3]),
            ("in(loglevel, values=[ERR*, WARN])", [0, 2, 3]),  # "Values can contain wildcards"
            ('in(loglevel, values=["ERR"])', []),  # whole values
            ('!in(loglevel, values=["ERROR"])', [1, 2, 4, 5]),
            ('loglevel=INFO OR in(loglevel, values=["DEBUG"])', [1, 4]),
        ],
    )
    def test_in(self, query: str, expected: list[int]) -> None:
        assert hits(query, self.EVENTS) == expected


def test_wildcard_function_is_anchored() -> None:
    # Example "Search Fields Through a Given Pattern - Example 2": equivalent to animal=/\Ahorse\z/i.
    animals = ["horse", "Horse", "duck", "HORSES", "crazy hOrSe", "hooorse", "dancing with horses"]
    events = [{"animal": a} for a in animals]
    assert hits("wildcard(field=animal, pattern=horse, ignoreCase=true)", events) == [0, 1]
    assert hits(r"animal=/\Ahorse\z/i", events) == [0, 1]
    assert hits('wildcard(field=animal, pattern="*horse*", ignoreCase=true)', events) == [0, 1, 3, 4, 6]
    assert hits("wildcard(field=animal, pattern=horse)", events) == [0]


class TestCase:
    """Conditional Evaluation page: clauses in order, first match wins, no match drops the event."""

    EVENTS: ClassVar[list[dict[str, Any]]] = [
        {"src": "client-side", "ip": "10.0.0.2"},
        {"src": "frontend-server", "ip": "10.0.0.1"},
        {"src": "frontend-server", "ip": "127.0.0.1"},
        {"src": "db"},
    ]

    def test_clauses_and_default(self) -> None:
        query = (
            'case { src="client-side" | type := "client"; '
            'src="frontend-server" | ip != "127.0.0.1" | type := "frontend"; '
            '* | type := "other" }'
        )
        rows = run(query, self.EVENTS, NOW)
        assert [(r.index, r.fields["type"]) for r in rows] == [
            (0, "client"),
            (1, "frontend"),
            (2, "other"),
            (3, "other"),
        ]

    def test_no_matching_clause_drops_the_event(self) -> None:
        query = 'case { src="client-side" | type := "client"; src="frontend-server" | type := "fe" }'
        assert hits(query, self.EVENTS) == [0, 1, 2]

    def test_first_matching_clause_wins(self) -> None:
        rows = run('case { src=* | t := "first"; src="db" | t := "second" }', self.EVENTS, NOW)
        assert {r.fields["t"] for r in rows} == {"first"}

    def test_knowledge_base_non_destructive_case_with_trailing_semicolon(self) -> None:
        # "Best Practice: Using case statements": `* ;` keeps the events no clause matched.
        query = (
            'case { UserIsAdmin=1 | UserIsAdmin_Readable := "True" ; '
            'UserIsAdmin=0 | UserIsAdmin_Readable := "False" ; * ; }'
        )
        events = [{"UserIsAdmin": "1"}, {"UserIsAdmin": "0"}, {"UserIsAdmin": "2"}]
        rows = run(query, events, NOW)
        assert [r.fields.get("UserIsAdmin_Readable") for r in rows] == ["True", "False", None]


class TestTableSortSelect:
    EVENTS: ClassVar[list[dict[str, Any]]] = [
        {"@timestamp": NOW - dt.timedelta(minutes=3 - i), "a": str(i), "n": n}
        for i, n in enumerate(["10", "9", "100"])
    ]

    def test_table_keeps_the_newest_rows_by_default(self) -> None:
        # table(): sortby=@timestamp, order=desc by default; limit keeps that many rows.
        rows = run("table([a, b], limit=2)", self.EVENTS, NOW)
        assert [(r.index, r.fields) for r in rows] == [(2, {"a": "2", "b": None}), (1, {"a": "1", "b": None})]

    def test_table_default_limit_is_200(self) -> None:
        events = [{"@timestamp": NOW - dt.timedelta(seconds=i)} for i in range(250)]
        assert len(run("table([@timestamp])", events, NOW)) == 200

    def test_sort_is_numeric_by_default(self) -> None:
        assert [r.fields["n"] for r in run("sort(n, order=asc)", self.EVENTS, NOW)] == ["9", "10", "100"]
        assert [r.fields["n"] for r in run("sort(n, type=string, order=asc)", self.EVENTS, NOW)] == [
            "10",
            "100",
            "9",
        ]
        assert [r.fields["n"] for r in run("sort(n, limit=1)", self.EVENTS, NOW)] == ["100"]

    def test_select_projects_without_sorting(self) -> None:
        rows = run("select([n])", self.EVENTS, NOW)
        assert [(r.index, r.fields) for r in rows] == [(0, {"n": "10"}), (1, {"n": "9"}), (2, {"n": "100"})]


def test_cidr_examples() -> None:
    # cidr() page: "Check if Field Contains Valid IP Address" and the negation example.
    events = [{"address": "10.1.2.3"}, {"address": "2001:db8::1"}, {"address": "nope"}, {}]
    rows = run('case{cidr("address",subnet=["0.0.0.0/0", "::/0"]) | ip := address;\n*\n}', events, NOW)
    assert [r.fields.get("ip") for r in rows] == ["10.1.2.3", "2001:db8::1", None, None]
    assert hits('cidr("address", subnet="0.0.0.0/0")', events) == [0]
    # `!cidr(...)` also lets events without the field through; deprecated negate=true does not.
    assert hits('!cidr(address, subnet="10.0.0.0/8")', events) == [1, 2, 3]
    assert hits('cidr(address, subnet="10.0.0.0/8", negate=true)', events) == [1]


def test_cidr_and_test_functions() -> None:
    events: list[dict[str, Any]] = [
        {"ip": "10.1.2.3", "a": 5, "b": 3},
        {"ip": "192.168.0.9", "a": 1, "b": 3},
        {"ip": "x"},
    ]
    assert hits('cidr(ip, subnet="10.0.0.0/8")', events) == [0]
    assert hits('cidr(ip, subnet=["10.0.0.0/8", "192.168.0.0/16"])', events) == [0, 1]
    assert hits("test(a > b)", events) == [0]
    assert hits("test(a >= 4)", events) == [0]
    assert hits('test(ip == "x")', events) == [2]
    assert hits("test(!(a > b))", events) == [1]


# ---------------------------------------------------------------- (b) rejections
@pytest.mark.parametrize(
    "query",
    [
        'a="x',  # unbalanced quote
        "(a=1",  # unbalanced parenthesis
        "a=1)",
        'in(a, values=["x")',  # unbalanced bracket
        'in(a, values=["x"]',
        'case { a=1 | x := "y"',  # unbalanced brace
        "a=/x/y/",  # an unescaped / ends the regex literal
        "a=//i",  # Appendix A: `//` starts a comment (`https://` is a syntax error), so `a=` has no value
        "a=/x(/",  # invalid regex
        "a=/x/s",  # s is not a LogScale flag (dot-all is d)
        r"a=/\p{L}/",  # outside the modelled regex subset
        "a=/(?P<n>x)/",  # Python's named group, not LogScale's (?<n>...)
        "a=/[a[b]]/",  # Java nested class
        "frobnicate(a)",  # unknown function
        'in(a, value=["x"])',  # unknown named argument
        "in(a)",  # missing required argument
        'in(a, values=["x"], field=b)',  # argument given twice
        'in(a, values=["x"], ignoreCase=maybe)',
        'in(values=["x"], a)',  # only the first argument may omit its name
        "table([a], limit=20001)",  # above StateRowLimit
        "sort(a, order=up)",
        "a < b",  # comparisons need numbers
        "a=and",  # reserved word used as a value
        "or",
        "a=1 OR table([a])",  # table() is not a filter
        "case { a=1 | table([a]) }",
        r'a="C:\Windows"',  # unknown escape
        "",
        "| a=1",
        "a=1 |",
        "a==1",
    ],
)
def test_rejects(query: str) -> None:
    with pytest.raises(ModelSyntaxError):
        parse(query)


# ---------------------------------------------------------------- (c) siemc's LogScale files
@pytest.mark.parametrize("path", output_files("logscale"), ids=output_id)
def test_output_file_parses_with_model_and_logscale_tools(path: Path) -> None:
    text = query_text(path)
    parse(text)
    checker = pytest.importorskip("tests.checkers.logscale")
    assert checker.logscale_syntax_errors(text) == []


# ---------------------------------------------------------------- (d) T1219 over the cases
def test_t1219_returns_exactly_the_tools_newest_first() -> None:
    def in_scope(native: dict[str, Any], time: dt.datetime) -> dict[str, Any]:
        return native | {"#event_simpleName": "ProcessRollup2", "event_platform": "Win", "@timestamp": time}

    assert_t1219_finds_exactly_the_tools(
        logscale,
        "logscale",
        NOW,
        in_scope=in_scope,
        # A tool in another event type or on another platform is not a process start on Windows.
        out_of_scope=[
            {"#event_simpleName": "SyntheticProcessRollup2", "@timestamp": NOW - dt.timedelta(minutes=500)},
            {"event_platform": "Mac", "@timestamp": NOW - dt.timedelta(minutes=501)},
        ],
        columns=[
            "@timestamp",
            "ComputerName",
            "UserName",
            "FileName",
            "CommandLine",
            "ParentBaseFileName",
            "RATTool",
            "RATCategory",
            "IsService",
            "IsUserLaunched",
        ],
        image=("FileName", "FileName"),
        time_column="@timestamp",
    )


# ---------------------------------------------------------------- (e) the SigmaHQ corpus sample
# tests/test_corpus.py parses every target's output with its model.


# ---------------------------------------------------------------- (f) siemc bugs, kept as regressions
# Each Sigma detection (its selections ORed unless it names a condition) once compiled to LogScale
# text that the parsers rejected or that matched other events than the reference evaluator; the
# events are the ones that told them apart.
PROCESS = {"category": "process_creation", "product": "windows"}
NETWORK = {"category": "network_connection", "product": "windows"}
# A third-party source without a data model (its fields are any `Vendor.<name>`)
GITHUB = {"product": "github", "service": "audit"}
REGRESSIONS: list[tuple[str, dict[str, Any], dict[str, Any], list[dict[str, Any]]]] = [
    # a newline in a regex literal ended it
    (
        "newline-in-regex",
        PROCESS,
        {"s": {"CommandLine|endswith|cased": " 0:\n\\"}},
        [{"CommandLine": "a 0:\n\\"}, {"CommandLine": "a 0:\\"}],
    ),
    # `$` also matches before a final newline: whole values end with \z
    (
        "exact-before-newline",
        PROCESS,
        {"s": {"CommandLine": ["abc", "x*"]}, "t": {"User": "u"}},
        [{"CommandLine": "abc"}, {"CommandLine": "abc\n"}, {"CommandLine": "xy\n", "User": "u"}],
    ),
    (
        "list-anchor-inside",
        PROCESS,
        {"s": {"CommandLine": ["/etc/a", "/etc/b*"]}},
        [{"CommandLine": "/etc/a"}, {"CommandLine": "/etc/a\n"}, {"CommandLine": "/etc/bc"}],
    ),
    # a rule regex's `$` and `\Z` keep Python's meaning
    (
        "regex-dollar",
        PROCESS,
        {"s": {"CommandLine|re": "c$"}, "t": {"User|re": "c\\Z"}},
        [{"CommandLine": "abc\n"}, {"CommandLine": "c\n\n"}, {"User": "c\n"}, {"User": "c"}],
    ),
    # an empty value matched every value
    ("empty-value", PROCESS, {"s": {"CommandLine": ""}}, [{"CommandLine": ""}, {"CommandLine": "a"}]),
    # `f="0"` compares numbers
    (
        "number-like-text",
        PROCESS,
        {"s": {"CommandLine|cased": "0"}},
        [{"CommandLine": "0"}, {"CommandLine": "00"}],
    ),
    # tab and carriage return: regex escapes, not string escapes
    (
        "tab",
        PROCESS,
        {"s": {"CommandLine|cased": "a\tb"}, "t": {"User|cased": ["c\rd", "e"]}},
        [{"CommandLine": "a\tb"}, {"User": "c\rd"}, {"CommandLine": "ab"}],
    ),
    # Python literals that are syntax in LogScale regexes
    (
        "regex-literals",
        PROCESS,
        {"s": {"CommandLine|re": "[[&]x{,2}{a}"}},
        [{"CommandLine": "&xx{a}"}, {"CommandLine": "[{a}"}, {"CommandLine": "xx{a}"}],
    ),
    # `NOT a OR b`: the variants of a negated windash value were not bracketed
    (
        "negated-expansion",
        PROCESS,
        {"s": {"User": "x"}, "w": {"CommandLine|windash|contains": "-a"}, "condition": "s and not w"},
        [
            {"CommandLine": "/a", "User": "x"},
            {"CommandLine": "b", "User": "x"},
            {"CommandLine": "b", "User": "y"},
        ],
    ),
    # inside test() a quoted name is a string
    ("quoted-field-compare", GITHUB, {"s": {"a-b|gt": 6}}, [{"a-b": 5}, {"a-b": 10}]),
    # prefixes misread IPv6 text: a CIDR inside a condition runs cidr() in a case step
    (
        "cidr-in-condition",
        NETWORK,
        {"s": {"DestinationIp|cidr": ["fe80::/10", "::1/128"]}, "t": {"Initiated": "x"}},
        [
            {"DestinationIp": "fe80::1"},
            {"DestinationIp": "fe8::1"},
            {"DestinationIp": "0:0:0:0:0:0:0:1"},
            {"Initiated": "x"},
            {},
        ],
    ),
]


@pytest.mark.parametrize(
    ("name", "logsource", "selections", "events"), REGRESSIONS, ids=[r[0] for r in REGRESSIONS]
)
def test_fixed_siemc_bug(
    name: str, logsource: dict[str, Any], selections: dict[str, Any], events: list[dict[str, Any]]
) -> None:
    import yaml

    from siemc.compile.build import compile_detection
    from siemc.compile.rule import parse_rule
    from tests.checkers.logscale import logscale_syntax_errors
    from tests.conftest import EVERY_SOURCE_SITE
    from tests.engines import reference, run_target

    selections = dict(selections)
    condition = selections.pop("condition", None) or " or ".join(selections)
    rule = {"title": name, "logsource": logsource, "detection": {**selections, "condition": condition}}
    # The fixed bugs were in outputs over the Windows event log (a site that collects it).
    detection = parse_rule(yaml.safe_dump(rule, allow_unicode=True), Path(f"{name}.yml"), EVERY_SOURCE_SITE)
    text = compile_detection(detection, "logscale")
    assert logscale_syntax_errors(text) == []
    expected = [i for i, (matched, _) in enumerate(reference("logscale", detection, events)) if matched]
    assert sorted(row.index for row in run_target("logscale", detection, text, events)) == expected


# ---------------------------------------------------------------- (d) match() and lookup files
# functions-match.html examples, worked by hand from its text.


def match_hits(query: str, events: Sequence[Mapping[str, Any]], files: Mapping[str, str]) -> list[Any]:
    return run(query, events, NOW, files=files)


def test_match_several_fields_against_several_columns() -> None:
    # "Match Multiple Pairs of Event Fields Against Multiple Columns": test.csv rows (a, b, d) and
    # (C, e, f); the event field1=C, field2=e matches the second row and gets column3=f.
    files = {"test.csv": "column1,column2,column3\na,b,d\nC,e,f\n"}
    events = [{"field1": "C", "field2": "e"}, {"field1": "a", "field2": "e"}]
    rows = match_hits("match(test.csv, field=[field1, field2], column=[column1, column2])", events, files)
    assert [(r.index, r.fields.get("column3")) for r in rows] == [(0, "f")]


def test_negated_match_keeps_what_the_file_lacks() -> None:
    # "Filter For Items Not Part of Data Set": `src_ip=* | !match("known_ips.csv", field=src_ip)`.
    files = {"known_ips.csv": "src_ip\n192.168.1.150\n10.0.0.75\n"}
    events = [{"src_ip": ip} for ip in ("192.168.1.101", "192.168.1.150", "10.0.0.75", "172.16.0.24")]
    rows = match_hits('src_ip=* | !match("known_ips.csv", field=src_ip)', events, files)
    assert [r.index for r in rows] == [0, 3]


def test_match_cidr_mode_includes_the_chosen_columns() -> None:
    # "Match Event Fields Against Lookup Table Values Adding Specific Columns" (mode=cidr, include).
    files = {
        "cidr-file.csv": "cidr-block,info,type,location\n10.0.1.0/24,Internal Network,corporate,HQ\n"
        "172.16.0.0/16,Production Network,critical,DC\n"
    }
    events = [{"ip": "10.0.1.25"}, {"ip": "172.16.5.12"}, {"ip": "8.8.8.8"}]
    query = 'match(file="cidr-file.csv", column="cidr-block", field=ip, mode=cidr, include=["info", "type"])'
    rows = match_hits(query, events, files)
    assert [(r.index, r.fields.get("info"), r.fields.get("location")) for r in rows] == [
        (0, "Internal Network", None),
        (1, "Production Network", None),
    ]


def test_match_not_strict_lets_every_event_through_and_glob_mode_ignores_case() -> None:
    # "... Allowing All Events to Pass" (strict=false) and "... Against Patterns" (mode=glob).
    files = {"users.csv": "userid,department\nADMIN-*,IT\ndev-user-*,Engineering\n"}
    events = [{"id": "admin-123"}, {"id": "unknown-user"}, {"id": "dev-user-456"}]
    loose = match_hits('match(file="users.csv", field=id, column=userid, strict=false)', events, files)
    assert [(r.index, r.fields.get("department")) for r in loose] == [(0, None), (1, None), (2, None)]
    glob = match_hits(
        'match(file="users.csv", field=id, column=userid, mode=glob, ignoreCase=true)', events, files
    )
    assert [(r.index, r.fields.get("department")) for r in glob] == [(0, "IT"), (2, "Engineering")]


def test_match_string_mode_is_exact_and_takes_case_into_account_by_default() -> None:
    files = {"names.csv": "value\nAnyDesk.exe\n"}
    events = [{"FileName": "AnyDesk.exe"}, {"FileName": "anydesk.exe"}, {"FileName": "AnyDesk.exe.bak"}, {}]
    cased = match_hits('match(file="names.csv", field="FileName", column="value")', events, files)
    assert [r.index for r in cased] == [0]
    folded = match_hits(
        'match(file="names.csv", field="FileName", column="value", ignoreCase=true)', events, files
    )
    assert [r.index for r in folded] == [0, 1]
    # Inside case: the clause keeps the events that match (the flag form siemc writes).
    query = (
        'case { match(file="names.csv", field="FileName", column="value", ignoreCase=true) | f := "true"; '
        '* | f := "false" } | f="false"'
    )
    assert [r.index for r in match_hits(query, events, files)] == [2, 3]
    with pytest.raises(ModelSyntaxError, match="no lookup file"):
        match_hits('match(file="other.csv", field="FileName")', events, files)


# ---------------------------------------------------------------- aggregation (correlation queries)


def test_math_floor_of_an_expression_and_group_by() -> None:
    # [math:floor] `x := 3.7 | math:floor(x, as=floor_result)` gives 3; [expressions] `:=` takes
    # arithmetic; [groupBy] one row per combination of the fields, count() into `as`, sum() of a field.
    assert run("x := 3.7 | math:floor(x, as=floor_result)", [{}], NOW)[0].fields["floor_result"] == "3"
    events = [
        {"host": "a", "n": "2", "@timestamp": NOW},
        {"host": "a", "n": "3", "@timestamp": NOW},
        {"host": "b", "@timestamp": NOW},
        {"n": "1", "@timestamp": NOW},
    ]
    rows = run("groupBy([host], function=[count(as=c), sum(n, as=s)])", events, NOW)
    assert sorted((r.fields["host"], r.fields["c"], r.fields.get("s")) for r in rows) == [
        ("a", "2", "5"),
        ("b", "1", None),
    ]
    rows = run("half := n / 2 | groupBy([half], function=[])", events[:2], NOW)
    assert sorted(r.fields["half"] for r in rows) == ["1", "1.5"]


def test_avg_leaves_out_what_is_no_number_and_sum_refuses_it() -> None:
    # [avg] "When a field doesn't exist on an event, or if the field on an event isn't a number, or
    # when it is NaN the value will not be counted towards the average"; what a group with no number
    # gets is not documented (the model: no value). [sum] says nothing of text: the model refuses it.
    events = [
        {"host": "a", "n": "2", "@timestamp": NOW},
        {"host": "a", "n": "x", "@timestamp": NOW},
        {"host": "a", "n": "NaN", "@timestamp": NOW},
        {"host": "a", "@timestamp": NOW},
        {"host": "a", "n": "-3.5", "@timestamp": NOW},
        {"host": "b", "n": "none", "@timestamp": NOW},
    ]
    rows = run("groupBy([host], function=[avg(n, as=m), count(as=c)])", events, NOW)
    assert sorted((r.fields["host"], r.fields.get("m"), r.fields["c"]) for r in rows) == [
        ("a", "-0.75", "5"),
        ("b", None, "1"),
    ]
    [row] = run("groupBy([host], function=avg(n))", events[:1], NOW)
    assert row.fields["_avg"] == "2"
    with pytest.raises(ModelSyntaxError, match="not documented"):
        run("groupBy([host], function=sum(n))", events, NOW)


def test_a_decimal_number_filter_keeps_numbers_only() -> None:
    # siemc's filter before sum()/avg(): [regex-flags] `^` and `\z` are the ends of the value.
    events: list[dict[str, Any]] = [
        {"n": v}
        for v in ("443", "-7", "+1.5", ".5", "5.", "1e3", "2E-2", "x", "1 2", " 1", "1\n", "", "0x10")
    ]
    query = r"n=/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\z/"
    assert [r.index for r in run(query, events, NOW)] == [0, 1, 2, 3, 4, 5, 6]


def test_aggregation_rejections() -> None:
    with pytest.raises(ModelSyntaxError, match="unmodelled aggregate"):
        parse("groupBy([host], function=[percentile(n)])")
    with pytest.raises(ModelSyntaxError, match="missing argument"):
        parse("math:floor(as=x)")
