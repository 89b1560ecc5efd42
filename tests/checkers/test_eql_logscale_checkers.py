"""The EQL and LogScale checkers check something real.

Elastic's ``eql`` library must reject EQL that Elasticsearch rejects and accept a representative generated
query; its Python engine must match events the way Elasticsearch does, except for the gaps measured (and
pinned) below.  The tree-sitter LogScale grammar must reject broken text and accept a representative
generated query; the constructs it accepts, rejects or misparses are pinned so a grammar upgrade shows up.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.checkers import logscale as logscale_module
from tests.checkers.eql_engine import eql_operators, eql_syntax_error, run_eql
from tests.checkers.logscale import logscale_sexp, logscale_syntax_errors

# ------------------------------------------------------------------------------------------------ EQL

RAT_QUERY = 'process where event.type == "start" and process.name : ("teamviewer.exe", "anydesk.exe")'


def proc(name: object, *, category: object = "process", event_type: object = ("start",)) -> dict[str, object]:
    event_type = list(event_type) if isinstance(event_type, tuple) else event_type
    return {"event": {"category": category, "type": event_type}, "process": {"name": name}}


RAT_EVENTS = [
    proc("TeamViewer.exe"),  # 0: case differs
    proc("anydesk.exe"),  # 1
    proc("myteamviewer.exe"),  # 2: look-alike
    proc("teamviewer.exe", event_type=("end",)),  # 3: wrong event.type
    proc("teamviewer.exe", category="network"),  # 4: wrong category
    proc("notepad.exe"),  # 5
]


class TestEqlSyntax:
    def test_accepts_generated_query(self) -> None:
        assert eql_syntax_error(RAT_QUERY) is None

    @pytest.mark.parametrize(
        "query",
        [
            f"// Remote access tools\n// author: siemc\n{RAT_QUERY}",
            f"/* Remote access tools\n   multi-line */\n{RAT_QUERY}",
            f"{RAT_QUERY} // trailing comment",
            'process where process.name : "*teamviewer*" and process.command_line like~ "*--id *"',
            'process where process.name in~ ("a.exe", "b.exe") and not process.name regex~ ".*x.*"',
            'process where startsWith~(process.name, "team") and ?process.pe.original_file_name == null',
            'process where process.executable : "C:\\\\Windows\\\\*"',
            'process where process.name == """C:\\Windows\\raw"""',
            "sequence by host.id with maxspan=1m [process where true] [network where true]",
            "process where true | head 10 | tail 2",
        ],
    )
    def test_accepts_valid_elasticsearch_eql(self, query: str) -> None:
        assert eql_syntax_error(query) is None

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ("process where process.name == 'x.exe'", 'Invalid string literal. Use " or """ based strings.'),
            ('process where process.name == "x.exe', "Invalid syntax"),
            ('process where process.name : ("a.exe", "b.exe"', "Invalid syntax"),
            ('process where process.name = "x.exe"', "Compare with == instead of ="),
            ("process where process.name == process.parent.name", "Comparisons against fields"),
            ('process where process.name ~ "x"', "Invalid syntax"),
            ('process process.name == "x"', "Invalid syntax"),
            ('process where arrayContains(process.args, "x")', "Unknown function arrayContains"),
            ('process where wildcard(process.name, "x*")', "Unknown function wildcard"),
            ("process where true | unique process.name", "only the head and tail pipes"),
            ("process where descendant of [process where true]", "'descendant of'"),
            ("join [process where true] [network where true]", "join"),
            ('process where process.name regex "a("', "invalid regular expression"),
        ],
    )
    def test_rejects_invalid_eql(self, query: str, message: str) -> None:
        error = eql_syntax_error(query)
        assert error is not None
        assert message in error

    def test_error_names_line_and_column(self) -> None:
        error = eql_syntax_error("// header\nprocess where process.name == 'x'")
        assert error is not None
        assert "line:2,column:31" in error


class TestRunEql:
    def test_generated_query_matches_case_insensitively_and_not_look_alikes(self) -> None:
        assert run_eql(RAT_QUERY, RAT_EVENTS) == [0, 1]

    def test_colon_matches_wildcards_case_insensitively(self) -> None:
        events = [proc("TeamViewer_Service.exe"), proc("teamviewer.exe"), proc("myteamviewer.exe")]
        assert run_eql('process where process.name : "teamviewer*"', events) == [0, 1]
        assert run_eql('process where process.name : "*VIEWER*"', events) == [0, 1, 2]

    def test_comments_do_not_change_matching(self) -> None:
        assert run_eql(f"// header\n/* block */\n{RAT_QUERY} // tail", RAT_EVENTS) == [0, 1]

    def test_any_where_and_head(self) -> None:
        assert run_eql("any where true", RAT_EVENTS) == [0, 1, 2, 3, 4, 5]
        assert run_eql("network where true", RAT_EVENTS) == [4]
        assert run_eql("process where true | head 2", RAT_EVENTS) == [0, 1]

    def test_sequence_uses_timestamp_for_maxspan(self) -> None:
        def ev(ts: str, name: str, host: str = "h1") -> dict[str, object]:
            return {
                "@timestamp": ts,
                "event": {"category": "process"},
                "host": {"id": host},
                "process": {"name": name},
            }

        events = [
            ev("2024-01-01T00:00:00Z", "a"),
            ev("2024-01-01T00:00:30Z", "b", "h2"),
            ev("2024-01-01T00:00:40Z", "b"),
            ev("2024-01-01T00:05:00Z", "a"),
            ev("2024-01-01T00:07:00Z", "b"),
        ]
        query = (
            'sequence by host.id with maxspan=1m [process where process.name == "a"] '
            '[process where process.name == "b"]'
        )
        assert run_eql(query, events) == [0, 2]

    def test_flat_dotted_keys_are_nested(self) -> None:
        events = [{"event.category": "process", "process.name": "anydesk.exe"}]
        assert run_eql('process where process.name : "anydesk.exe"', events) == [0]

    def test_invalid_query_raises(self) -> None:
        with pytest.raises(Exception, match="Invalid string literal"):
            run_eql("process where process.name == 'x'", RAT_EVENTS)


class TestEqlEngineGaps:
    """What eql.PythonEngine 1.0.1 really does where it differs from Elasticsearch (see eql_engine.py)."""

    @pytest.mark.parametrize(
        "query",
        [
            'process where process.name == "TEAMVIEWER.EXE"',
            'process where process.name in ("TEAMVIEWER.EXE", "x")',
            'process where process.name like "TEAM*"',
            'process where process.name regex "TEAM.*"',
            'process where startsWith(process.name, "TEAM")',
            'process where process.name : "TEAMVIEWER.EXE"',
            'process where process.name in~ ("TEAMVIEWER.EXE", "x")',
            'process where process.name like~ "TEAM*"',
            'process where process.name regex~ "TEAM.*"',
        ],
    )
    def test_gap_every_string_comparison_is_case_insensitive(self, query: str) -> None:
        # Elasticsearch: ==, in, like, regex and startsWith are case-sensitive and would not match.
        assert run_eql(query, [proc("teamviewer.exe")]) == [0]

    def test_gap_case_sensitivity_is_only_visible_statically(self) -> None:
        assert eql_operators('process where process.name == "a" and process.title in ("b")') == {"==", "in"}
        assert eql_operators('process where process.name : "a" and process.title in~ ("b")') == {":", "in~"}

    def test_gap_bare_engine_never_matches_list_valued_fields(self) -> None:
        events = [proc("teamviewer.exe")]  # event.type is ["start"], as in ECS
        for query in (
            'process where event.type == "start"',
            'process where event.type : "start"',
            'process where event.type like "st*"',
            'process where event.type regex "st.*"',
            'process where event.type != "end"',
            'process where event.type in ("start")',  # a one-value set is optimised into ==
        ):
            assert run_eql(query, events, es_arrays=False) == [], query
        with pytest.raises(TypeError, match="unhashable type: 'list'"):
            run_eql('process where event.type in ("start", "end")', events, es_arrays=False)

    def test_list_valued_fields_match_any_element_by_default(self) -> None:
        events = [
            proc(["x.exe", "TeamViewer.exe"]),  # 0
            proc(["x.exe"]),  # 1
            proc([]),  # 2: empty list is missing
            proc("teamviewer.exe", category=["network", "process"]),  # 3
        ]
        assert run_eql('process where process.name : "teamviewer.exe"', events) == [0, 3]
        assert run_eql('process where process.name in ("teamviewer.exe", "y")', events) == [0, 3]
        assert run_eql('process where process.name == "x.exe"', events) == [0, 1]
        # != is not (==): a list holding the value does not match.
        assert run_eql('process where process.name != "x.exe"', events) == [3]
        assert run_eql('process where not process.name == "x.exe"', events) == [3]
        assert run_eql("process where process.name == null", events) == [2]
        assert run_eql("network where true", events) == [3]
        assert run_eql(RAT_QUERY, RAT_EVENTS, es_arrays=False) == []

    def test_gap_question_mark_is_not_a_wildcard(self) -> None:
        events = [proc("teamviewer.exe"), proc("teamviewe?.exe")]
        # Elasticsearch would match both: ? is any single character there.
        assert run_eql('process where process.name : "teamviewe?.exe"', events) == [1]
        assert run_eql('process where process.name like "teamviewe?.exe"', events) == [1]

    def test_star_is_literal_for_double_equals(self) -> None:
        events = [proc("teamviewer.exe"), proc("*viewer*")]
        assert run_eql('process where process.name == "*viewer*"', events) == [1]

    def test_gap_regex_is_anchored_at_the_start_only(self) -> None:
        events = [proc("teamviewer.exe")]
        # Elasticsearch anchors both ends: only the last query would match there.
        assert run_eql('process where process.name regex "team"', events) == [0]
        assert run_eql('process where process.name regex "viewer"', events) == []
        assert run_eql('process where process.name regex "team.*exe"', events) == [0]

    def test_gap_regex_uses_python_syntax(self) -> None:
        # \\d is a Python class; Lucene has no \\d.
        assert run_eql('process where process.name regex "app\\\\d+\\\\.exe"', [proc("app12.exe")]) == [0]


class TestEqlOperators:
    def test_generated_query(self) -> None:
        assert eql_operators(RAT_QUERY) == {"==", ":"}

    def test_lists_forms_as_written(self) -> None:
        query = (
            "// header\n"
            'process where process.name like~ "a*" and process.name like "b*" and process.name regex "c"'
            ' and process.name regex~ "d" and process.name not in ("e") and not process.name in~ ("f")'
            ' and process.name != "g" and startsWith~(process.name, "h") and endsWith(process.name, "i")'
            " and process.name:length() > 2"
        )
        assert eql_operators(query) == {
            "like~",
            "like",
            "regex",
            "regex~",
            "not in",
            "in~",
            "!=",
            "startsWith~",
            "endsWith",
            "length",
        }

    def test_numeric_comparisons_are_left_out(self) -> None:
        assert eql_operators("process where process.pid == 4 and process.pid in (1, 2)") == set()

    def test_invalid_query_raises(self) -> None:
        with pytest.raises(ValueError, match="Invalid string literal"):
            eql_operators("process where process.name == 'x'")


# ------------------------------------------------------------------------------------------- LogScale

LOGSCALE_RAT_QUERY = (
    "#event_simpleName=ProcessRollup2 event_platform=Win"
    ' | in(field="FileName", values=["teamviewer.exe", "anydesk.exe"], ignoreCase=true)'
    ' | case { FileName=/teamviewer|anydesk/i | RATCategory := "Commercial RMM";'
    ' * | RATCategory := "Unknown" }'
    " | table([@timestamp, ComputerName, FileName, RATCategory])"
    " | sort(@timestamp, order=desc)"
)


class TestLogScaleSyntax:
    def test_accepts_generated_query(self) -> None:
        assert logscale_syntax_errors(LOGSCALE_RAT_QUERY) == []
        sexp = logscale_sexp(LOGSCALE_RAT_QUERY)
        assert "(case_expression" in sexp
        assert sexp.count("(eval_shorthand") == 2
        assert sexp.count("(function_call") == 3  # in, table, sort

    def test_accepts_multi_line_query_with_comments(self) -> None:
        query = "// Remote access tools\n// author: siemc\n" + LOGSCALE_RAT_QUERY.replace(" | ", "\n| ")
        assert logscale_syntax_errors(query) == []
        assert logscale_sexp(query).count("(comment)") == 2

    @pytest.mark.parametrize(
        "query",
        [
            'a="x" | b=(c',  # unbalanced parenthesis
            "a=1 | (b=2",
            "a=1)",
            'in(field="a", values=["x"]',
            "table([a, b)",
            'case { a=1 | b := "x"; *',
            'test(a == "x"',
        ],
    )
    def test_rejects_unbalanced_brackets(self, query: str) -> None:
        assert logscale_syntax_errors(query) != []

    @pytest.mark.parametrize("query", ['a="unterminated', 'a="x" | b="y', 'in(field="a, values=["x"])'])
    def test_rejects_unterminated_string(self, query: str) -> None:
        assert logscale_syntax_errors(query) != []

    @pytest.mark.parametrize("query", ["CommandLine=/a/b/", "CommandLine=/a", "/unterminated"])
    def test_rejects_broken_regex(self, query: str) -> None:
        assert logscale_syntax_errors(query) != []

    def test_escaped_slash_in_regex_is_accepted(self) -> None:
        assert logscale_syntax_errors("CommandLine=/a\\/b/") == []

    def test_error_description_has_line_column_and_snippet(self) -> None:
        assert logscale_syntax_errors("a=1\n| CommandLine=/a/b/") == ["2:19: ERROR near '/'"]
        assert logscale_syntax_errors("table([a, b)") == ["1:12: MISSING ']' before ')'"]
        assert logscale_syntax_errors("a=(b") == ["1:3: ERROR near '('"]

    @pytest.mark.parametrize(
        "query",
        [
            # filters
            "a=1 b=2",
            "a=1 AND b=2",
            "a=1 OR b=2",
            "NOT a=1",
            "(a=1 OR b=2) AND NOT c=3",
            "a != 1",
            "a=*",
            "a!=*",
            "a=*x*",
            'a="*x y*"',
            'a="x\\"y"',
            'a="C:\\\\Windows\\\\*"',
            "a=C:\\Windows\\*",
            'a=""',
            '"field with space"=1',
            "a[0]=1",
            "process.name=x",
            "#repo=base_sensor",
            "@rawstring=/x/",
            "a<5",
            "a>=5.5",
            'a like "x"',
            "a=/^x$/",
            "a=/\\.exe$/i",
            "a=/(?i)x/",
            "a=/[a-z]{2,3}\\d+/",
            '"free text"',
            "a=?param",
            # functions and assignments
            'in(field="a", values=["x", "y"], ignoreCase=true)',
            "in(a, values=[x, y])",
            "in(field=a, values=[])",
            'test(a == "x")',
            "test(length(a) > 3)",
            "test(!(a == b))",
            "a=1 | test(a == b) | test(c == d)",
            'regex("x", field=a, flags="i")',
            'wildcard(field=a, pattern="*x*", ignoreCase=true)',
            'a =~ wildcard("*x*", ignoreCase=true)',
            'x := "a"',
            "x := lower(y)",
            "x := a + 1",
            'x := if(a == 1, then="y", else="z")',
            "b:=1",
            "eval(x = a + 1)",
            'case { a=1 | b := "x"; * | b := "y" }',
            'case { a=1 | b := "x"; * }',
            "case { a=1 AND b=2 | c := 1; a=1 OR b=2 | c := 2; NOT a=1 | c := 3 }",
            "case { a=1 | case { b=1 | c := 1; * }; * }",
            'case { in(field=a, values=["x"]) | b := "x"; test(a == "y") | b := "y"; * }',
            "case { a=1 }",
            "a match { x => y := 1; * => y := 2 }",
            "table([a, b], limit=100)",
            "select([a, b])",
            "groupBy([a], function=[count(), max(b)])",
            "sort(@timestamp, order=desc)",
            "sort(field=@timestamp, order=desc, limit=10)",
            "head(10)",
            "join({a=1}, field=x)",
            "defineTable(query={a=1}, name=t, include=[x])",
            "$savedQuery()",
            # layout
            "a=1|b=2",
            "a=1\n| b=2",
            "a=1 // trailing comment",
            'a=1 // comment with "quote, /* and (',
            "",
        ],
    )
    def test_grammar_accepts(self, query: str) -> None:
        assert logscale_syntax_errors(query) == []

    @pytest.mark.parametrize(
        "query",
        [
            # Grammar limits on text that real LogScale accepts (as far as its documentation says).
            "!in(field=a, values=[1])",  # negated filter function
            "NOT in(field=a, values=[1])",
            "not test(a == b)",
            "a=1 OR in(field=b, values=[1])",  # filter functions cannot be in AND/OR/NOT
            "a=1 AND in(field=b, values=[1])",
            "a=1 OR test(a == b)",
            "test(a == 1 OR b == 2)",  # no boolean operators inside expressions
            "!a=1",
            'a="C:\\Windows"',  # only \" \\ \/ \n escapes in quoted strings
            'a="x\\ty"',
            "a > -1",  # negative number in a comparison
            "a=192.168.0.0/16",  # unquoted pattern with /
            'case { a=1 | b := "x"; * | b := "y"; }',  # trailing ; in case
            'in(field=a, values=["x",])',  # trailing comma in an array
            "/* block\n comment */ a=1",  # block comments are not comments
            "/* see http://x */ a=1",
            # Text that LogScale rejects too.
            "a==1",
            "a=1 |",
            "| a=1",
            "a=1 || b=2",
            'a=1 | b := "x" ; c := 1',
        ],
    )
    def test_grammar_rejects(self, query: str) -> None:
        assert logscale_syntax_errors(query) != []

    @pytest.mark.parametrize(
        ("query", "misparse"),
        [
            # Lower-case and/or/not are valid LogScale but the grammar reads them as free-text terms.
            ("not a=1", "(free_text_pattern (identifier)) (field_comparison"),
            ("a=1 and b=2", "(free_text_pattern (identifier))"),
            ("a=1 or b=2", "(free_text_pattern (identifier))"),
            # Regex flags are never regex_flags: the flag letters become a free-text term (so /x/q passes).
            ("a=/x/i", "(regex (regex_body)))) (free_text_pattern (identifier))"),
            ("a=/x/q", "(regex (regex_body)))) (free_text_pattern (identifier))"),
            # A one-line /* */ comment without '/' inside is read as a free-text regex.
            ("/* block */ a=1", "(free_text_pattern (regex (regex_body)))"),
            # No boolean operators in expressions: this test() becomes free text 'test' AND a filter.
            ("test(a > 1 AND b < 2)", "(free_text_pattern (identifier)) (parenthesized_filter"),
        ],
    )
    def test_grammar_misparses_without_error(self, query: str, misparse: str) -> None:
        assert logscale_syntax_errors(query) == []
        assert misparse in logscale_sexp(query)
        assert "regex_flags" not in logscale_sexp(query)

    def test_upper_case_not_is_a_not_filter(self) -> None:
        assert "(not_filter" in logscale_sexp("NOT a=1")


class TestLogScaleGrammarBuild:
    def test_builds_into_a_fresh_cache_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("SIEMC_CACHE_DIR", str(tmp_path))
        library = logscale_module._library_path()
        assert library.is_file()
        assert library.is_relative_to(tmp_path)
        assert re.fullmatch(r"[0-9a-f]{16}", library.parent.name)
        assert [p.name for p in library.parent.iterdir()] == [library.name]  # no temporary left over

    def test_falls_back_when_a_cache_root_is_not_writable(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("")
        fallback = tmp_path / "fallback"
        monkeypatch.setattr(logscale_module, "_cache_roots", lambda: [blocker, fallback])
        library = logscale_module._library_path()
        assert library.is_relative_to(fallback)
