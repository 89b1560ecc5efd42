"""The YARA-L 2.0 model: Google's documented examples, rejections, and siemc's real outputs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.models import yaral
from tests.models.common import ModelSyntaxError, Row
from tests.models.siemc_cases import assert_t1219_finds_exactly_the_tools, output_files, output_id, query_text
from tests.models.yaral import parse, run

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def rule(events: str, outcome: str = "", condition: str = "$e", meta: str = 'author = "t"') -> str:
    """A single-event rule around the given events (and outcome) lines."""
    body = f"rule t {{\n  meta:\n    {meta}\n  events:\n    {events}\n"
    if outcome:
        body += f"  outcome:\n    {outcome}\n"
    return body + f"  condition:\n    {condition}\n}}\n"


def hits(events: str, *docs: dict[str, Any]) -> list[int]:
    return [r.index for r in run(rule(events), list(docs), NOW)]


# ---------------------------------------------------------------------------------------------
# (a) Documentation examples, worked by hand


def test_predicates_on_separate_lines_are_anded() -> None:
    # Syntax page, events section: predicates without an explicit operator are joined with `and`.
    events = '$e.metadata.event_type = "USER_LOGIN"\n    $e.principal.hostname = "host1234"'
    login = {"metadata.event_type": "USER_LOGIN", "principal.hostname": "host1234"}
    other_host = {"metadata.event_type": "USER_LOGIN", "principal.hostname": "x"}
    other_type = {"metadata.event_type": "NETWORK_DNS", "principal.hostname": "host1234"}
    assert hits(events, login, other_host, other_type) == [0]


def test_explicit_or_binds_tighter_than_the_implicit_and_of_lines() -> None:
    # Expressions page: `a` / `or b` / `c` on three lines means `(a or b) and c`.
    events = (
        '$e.principal.hostname = "bat"\n    or $e.principal.hostname = "baz"\n    $e.target.hostname = "bar"'
    )
    bat_bar = {"principal.hostname": "bat", "target.hostname": "bar"}
    bat_only = {"principal.hostname": "bat", "target.hostname": "nope"}  # `a or (b and c)` would match
    baz_bar = {"principal.hostname": "baz", "target.hostname": "bar"}
    assert hits(events, bat_bar, bat_only, baz_bar) == [0, 2]


def test_not_and_or_precedence() -> None:
    # Expressions page: precedence not > and > or, "a or b and c" is "a or (b and c)".
    a_only = {"principal.hostname": "a"}
    assert hits('$e.principal.hostname = "a" or $e.target.hostname = "b" and $e.target.port = 1', a_only) == [
        0
    ]
    assert (
        hits('($e.principal.hostname = "a" or $e.target.hostname = "b") and $e.target.port = 1', a_only) == []
    )
    # `not` applies to the next predicate only.
    events = 'not $e.principal.hostname = "a" and $e.target.hostname = "b"'
    assert hits(events, {"principal.hostname": "x", "target.hostname": "b"}, a_only) == [0]


def test_documented_logical_examples() -> None:
    # Expressions page, "Logical expressions".
    dns = {"metadata.event_type": "NETWORK_DNS", "principal.ip": "192.0.2.12"}
    dhcp = {"metadata.event_type": "NETWORK_DHCP", "principal.mac": "AB:CD:01:10:EF:22"}
    http = {"metadata.event_type": "NETWORK_HTTP"}
    either = '$e.metadata.event_type = "NETWORK_DNS" or $e.metadata.event_type = "NETWORK_DHCP"'
    assert hits(either, dns, dhcp, http) == [0, 1]
    grouped = (
        '($e.metadata.event_type = "NETWORK_DNS" and $e.principal.ip = "192.0.2.12") or '
        '($e.metadata.event_type = "NETWORK_DHCP" and $e.principal.mac = "AB:CD:01:10:EF:22")'
    )
    assert hits(grouped, dns, dhcp, http, {"metadata.event_type": "NETWORK_DNS"}) == [0, 1]
    assert hits('not $e.metadata.event_type = "NETWORK_DNS"', dns, dhcp, http) == [1, 2]


def test_comparisons_with_numbers_on_either_side() -> None:
    # Expressions page, "Comparison expressions": `$e.source.port < 1024`, `1024 < $e.source.port`.
    low, high = {"source.port": 80}, {"source.port": 8080}
    assert hits("$e.source.port < 1024", low, high) == [0]
    assert hits("1024 < $e.source.port", low, high) == [1]
    assert hits("$e.source.port >= 80 and $e.source.port <= 80", low, high) == [0]


def test_regex_is_a_substring_match_unless_anchored() -> None:
    # re.regex page: /^full$/ matches "full" exactly; /full/ matches "fullest", "lawfull", "joyfully".
    docs = [{"principal.hostname": h} for h in ("full", "fullest", "lawfull", "joyfully", "ful")]
    assert hits("$e.principal.hostname = /full/", *docs) == [0, 1, 2, 3]
    assert hits("$e.principal.hostname = /^full$/", *docs) == [0]
    # The function form is equivalent (re.regex page, example 1).
    assert hits('re.regex($e.principal.hostname, "full")', *docs) == [0, 1, 2, 3]
    assert hits("re.regex($e.principal.hostname, `^full$`)", *docs) == [0]
    assert hits("$e.principal.hostname != /full/", *docs) == [4]


def test_regex_sees_the_first_line_unless_dotall() -> None:
    # re.regex page: on a value with newlines the regex matches the first line only; (?s) lifts it.
    doc = {"target.process.command_line": "first line\nsecond allUDM line"}
    assert hits("$e.target.process.command_line = /.*allUDM.*/", doc) == []
    assert hits("$e.target.process.command_line = /(?s).*allUDM.*/", doc) == [0]
    assert hits("$e.target.process.command_line = /first/", doc) == [0]


def test_nocase_on_strings_and_regexes() -> None:
    # re.regex page and syntax page: `nocase` after a string or regex comparison ignores case.
    docs = [{"principal.hostname": h} for h in ("DNS-Server-7", "dns-server-7", "web")]
    assert hits('$e.principal.hostname = "dns-server-7"', *docs) == [1]
    assert hits('$e.principal.hostname = "dns-server-7" nocase', *docs) == [0, 1]
    assert hits('$e.principal.hostname != "dns-server-7" nocase', *docs) == [2]
    assert hits("$e.principal.hostname = /dns-server-[0-9]+/", *docs) == [1]
    assert hits("$e.principal.hostname = /dns-server-[0-9]+/ nocase", *docs) == [0, 1]
    assert hits("re.regex($e.principal.hostname, `^DNS`) nocase", *docs) == [0, 1]


def test_string_escapes_and_regex_slash() -> None:
    # Double-quoted strings take backslash escapes; `\/` in a regex literal is a slash.
    doc = {"target.process.command_line": 'say "hi" C:\\Windows\\x a/b'}
    assert hits('$e.target.process.command_line = "say \\"hi\\" C:\\\\Windows\\\\x a/b"', doc) == [0]
    assert hits("$e.target.process.command_line = /C:\\\\Windows\\\\x a\\/b$/", doc) == [0]
    assert hits('$e.target.process.command_line = /^say "hi"/', doc) == [0]


def test_unset_fields_read_as_zero_values() -> None:
    # Best practices, "Filter zero values": an omitted field defaults to its zero value ("" / 0).
    unset: dict[str, Any] = {}
    empty, value = {"principal.hostname": ""}, {"principal.hostname": "h"}
    assert hits('$e.principal.hostname = ""', unset, empty, value) == [0, 1]
    assert hits('$e.principal.hostname != ""', unset, empty, value) == [2]
    assert hits("$e.target.port = 0", {}, {"target.port": 1}) == [0]


def test_repeated_fields_any_all_and_unnesting() -> None:
    # Repeated fields page: event_original with principal.ip = three addresses.
    event = {"principal.ip": ["192.0.2.1", "192.0.2.2", "192.0.2.3"], "principal.hostname": "host"}
    assert hits('any $e.principal.ip = "192.0.2.1"', event) == [0]
    assert hits('all $e.principal.ip = "192.0.2.2"', event) == []
    assert hits('net.ip_in_range_cidr(all $e.principal.ip, "192.0.2.0/8")', event) == [0]
    assert hits('not all $e.principal.ip = "192.0.2.1"', event) == [0]
    assert hits('all $e.principal.ip != "192.0.2.1"', event) == []
    # Unmodified: each element is a copy of the event; one matching copy makes one detection.
    assert hits('$e.principal.ip = "192.0.2.2"', event) == [0]
    assert hits('$e.principal.ip != "192.0.2.2"', event) == [0]
    # Both predicates hold on the same copy, i.e. the same element.
    assert hits('$e.principal.ip = "192.0.2.1" and $e.principal.ip = "192.0.2.2"', event) == []


def test_outcome_if_nested_and_row_fields() -> None:
    # Outcome section: `$var = if(BOOL, THEN, ELSE)`, nestable; the row is the outcome variables.
    query = rule(
        '$e.metadata.event_type = "PROCESS_LAUNCH"',
        "$path = $e.target.process.file.full_path\n"
        '    $kind = if($e.target.process.file.full_path = /cmd\\.exe$/ nocase, "shell", '
        'if($e.target.process.file.full_path = /\\\\powershell/ nocase, "ps", "other"))\n'
        '    $flag = if($e.principal.hostname = "", "no host", "host")',
    )
    docs = [
        {"metadata.event_type": "PROCESS_LAUNCH", "target.process.file.full_path": "C:\\CMD.EXE"},
        {"metadata.event_type": "PROCESS_LAUNCH", "target.process.file.full_path": "C:\\PowerShell.exe"},
        {"metadata.event_type": "PROCESS_LAUNCH", "principal.hostname": "h"},
        {"metadata.event_type": "NETWORK_DNS"},
    ]
    assert run(query, docs, NOW) == [
        Row(0, {"path": "C:\\CMD.EXE", "kind": "shell", "flag": "no host"}),
        Row(1, {"path": "C:\\PowerShell.exe", "kind": "ps", "flag": "no host"}),
        Row(2, {"path": "", "kind": "other", "flag": "host"}),
    ]


def test_without_outcome_the_row_is_the_event_and_now_is_unused() -> None:
    doc = {"metadata.event_type": "PROCESS_LAUNCH", "metadata.event_timestamp.seconds": NOW}
    query = rule('$e.metadata.event_type = "PROCESS_LAUNCH"')
    later = NOW + dt.timedelta(days=400)
    assert run(query, [doc], NOW) == run(query, [doc], later) == [Row(0, doc)]


def test_comments_and_meta_values() -> None:
    query = (
        "// leading comment\nrule c_1 { /* block\n comment */\n  meta:\n"
        '    author = "a // not a comment"\n    version = 2\n    enabled = true\n'
        '  events:\n    $e.principal.hostname = "h" // trailing\n  condition:\n    $e\n}\n'
    )
    parsed = parse(query)
    assert parsed.name == "c_1"
    assert parsed.meta == {"author": "a // not a comment", "version": 2, "enabled": True}
    assert [r.index for r in run(query, [{"principal.hostname": "h"}, {}], NOW)] == [0]


def test_re2_translation_keeps_re2_meaning() -> None:
    # RE2: `$` is the end of the text, `\d` is ASCII, a mid-pattern (?i) scopes the rest, and a
    # `{` that starts no repeat is literal.
    line = {"f": "abc\n"}
    assert hits("$e.f = /(?s)abc$/", line) == []
    assert hits("$e.f = /^\\d$/", {"f": "٣"}, {"f": "3"}) == [1]
    assert hits("$e.f = /a(?i)bc/", {"f": "aBC"}, {"f": "ABC"}) == [0]
    assert hits("$e.f = /a{,2}/", {"f": "a{,2}"}, {"f": "aa"}) == [0]
    assert hits("$e.f = /[[:digit:]]x/", {"f": "7x"}) == [0]


def test_map_entries() -> None:
    # Syntax page, "Maps": a Struct or label map is read with a string key.
    doc = {'additional.fields["Channel"]': "Security", "metadata.product_event_type": "4624"}
    events = (
        '$e.additional.fields["Channel"] = "security" nocase\n    $e.metadata.product_event_type = "4624"'
    )
    assert hits(events, doc, {"metadata.product_event_type": "4624"}) == [0]
    assert hits('$e.additional.fields["Missing"] = ""', doc) == [0]


def test_value_functions_and_string_patterns() -> None:
    docs = [{"principal.hostname": h} for h in ("Web.Google.com", "mail")]
    assert hits('strings.to_lower($e.principal.hostname) = "web.google.com"', *docs) == [0]
    # A double-quoted pattern is unescaped as a string first: "\\." is the regex `\.`.
    assert hits('re.regex($e.principal.hostname, ".*\\\\.google\\\\.com") nocase', *docs) == [0]
    assert hits(
        'net.ip_in_range_cidr($e.principal.ip, "192.0.2.0/24")', {"principal.ip": "192.0.2.9"}, {}
    ) == [0]


# ---------------------------------------------------------------------------------------------
# (b) What YARA-L rejects in this subset

GOOD = rule('$e.metadata.event_type = "PROCESS_LAUNCH"\n    $e.principal.hostname = "h"')

REJECTED = {
    "unbalanced quote": rule('$e.principal.hostname = "h'),
    "unbalanced brace": GOOD.rstrip().rstrip("}"),
    "extra brace": GOOD + "}",
    "unbalanced paren": rule('($e.principal.hostname = "h" or $e.target.hostname = "x"'),
    "unescaped slash in regex": rule("$e.target.process.file.full_path = /a/b/"),
    "lookahead": rule("$e.principal.hostname = /a(?=b)/"),
    "lookbehind": rule("$e.principal.hostname = /(?<!a)b/"),
    "backreference": rule("$e.principal.hostname = /(a)\\1/"),
    "possessive quantifier": rule("$e.principal.hostname = /a++/"),
    "unbalanced regex group": rule("$e.principal.hostname = /(ab/"),
    "missing events": 'rule t {\n  meta:\n    a = "b"\n  condition:\n    $e\n}',
    "missing condition": 'rule t {\n  meta:\n    a = "b"\n  events:\n    $e.principal.hostname = "h"\n}',
    "missing meta": 'rule t {\n  events:\n    $e.principal.hostname = "h"\n  condition:\n    $e\n}',
    "sections out of order": (
        'rule t {\n  meta:\n    a = "b"\n  outcome:\n    $x = $e.principal.hostname\n'
        '  events:\n    $e.principal.hostname = "h"\n  condition:\n    $e\n}'
    ),
    "undefined variable in condition": rule('$e.principal.hostname = "h"', condition="$x"),
    "undefined variable in outcome": rule('$e.principal.hostname = "h"', "$x = $y"),
    "undefined event variable in outcome": rule('$e.principal.hostname = "h"', "$x = $f.principal.hostname"),
    "nocase on an enumerated field": rule('$e.metadata.event_type = "PROCESS_LAUNCH" nocase'),
    "nocase on a number comparison": rule("$e.target.port = 80 nocase"),
    "nocase on an ordering": rule('$e.principal.hostname > "a" nocase'),
    "nocase after a boolean": rule('($e.principal.hostname = "h" or $e.target.hostname = "x") nocase'),
    "unquoted enum value": rule("$e.metadata.event_type = PROCESS_LAUNCH"),
    "invalid enum value": rule('$e.metadata.event_type = "LOGIN"'),
    "both sides literals": rule('"a" = "a"'),
    "regex ordering": rule("$e.principal.hostname < /a/"),
    "match section": (
        'rule t {\n  meta:\n    a = "b"\n  events:\n    $e.principal.hostname = $h\n'
        "  match:\n    $h over 5m\n  condition:\n    $e\n}"
    ),
    "two event variables": rule('$e.principal.hostname = "a"\n    $f.principal.hostname = "b"'),
    "unknown string escape": rule('$e.principal.hostname = "C:\\Windows"'),
    "empty events": 'rule t {\n  meta:\n    a = "b"\n  events:\n  condition:\n    $e\n}',
    "no rule name": GOOD.replace("rule t {", "rule {"),
    "python-only escape": rule("$e.principal.hostname = /a\\u0041/"),
    "python-only anchor": rule("$e.principal.hostname = /a\\Z/"),
    "named backreference": rule("$e.principal.hostname = /(?P<n>a)(?P=n)/"),
    "verbose flag": rule("$e.principal.hostname = /(?x) a/"),
    "unclosed class": rule("$e.principal.hostname = /[ab/"),
    "repeat above 1000": rule("$e.principal.hostname = /a{1001}/"),
    "uppercase operator": rule('$e.principal.hostname = "a" OR $e.principal.hostname = "b"'),
    "double equals": rule('$e.principal.hostname == "a"'),
    "outcome named like the event": rule('$e.principal.hostname = "h"', "$e = $e.principal.hostname"),
    "boolean function misused": rule("strings.to_lower($e.principal.hostname)"),
    "unmodelled function": rule('"x" = strings.concat($e.principal.hostname, "-test")'),
    "two rules": GOOD + GOOD.replace("rule t", "rule u"),
    "field without event variable": rule('net.ip_in_range_cidr(target.ip, "10.0.0.0/8")'),
    "empty regex is a comment": rule("$e.target.process.command_line = // nocase"),
    "invalid platform": rule('$e.principal.platform = "windows"'),
    "integer field against a string": rule('$e.target.port = "80"'),
    "string field against an integer": rule("$e.metadata.product_event_type = 4625"),
    # Repeated fields page, Limitations: any/all only on repeated fields; DNS types are uint32.
    "any on a scalar field": rule('any $e.principal.hostname = "h"'),
    "DNS question type against a string": rule('any $e.network.dns.questions.type = "TXT"'),
}


def test_the_good_rule_parses() -> None:
    parse(GOOD)


@pytest.mark.parametrize("query", REJECTED.values(), ids=REJECTED.keys())
def test_rejects(query: str) -> None:
    with pytest.raises(ModelSyntaxError):
        parse(query)


# ---------------------------------------------------------------------------------------------
# (c) siemc's committed outputs


@pytest.mark.parametrize("path", output_files("yaral"), ids=output_id)
def test_committed_output_parses(path: Path) -> None:
    parse(query_text(path))


# ---------------------------------------------------------------------------------------------
# (d) T1219 over the hand-specified cases


def test_t1219_returns_exactly_the_tools_with_category_and_flags() -> None:
    def in_scope(native: dict[str, Any], time: dt.datetime) -> dict[str, Any]:
        return native | {"metadata.event_type": "PROCESS_LAUNCH", "metadata.event_timestamp.seconds": time}

    assert_t1219_finds_exactly_the_tools(
        yaral,
        "yaral",
        NOW,
        in_scope=in_scope,
        # Another event type with a tool's path is not a process launch.
        out_of_scope=[{"metadata.event_type": "FILE_CREATION"}],
        columns=[
            "metadata_event_timestamp_seconds",
            "principal_hostname",
            "principal_user_userid",
            "target_process_file_full_path",
            "target_process_command_line",
            "principal_process_file_full_path",
            "principal_process_command_line",
            "RATTool",
            "RATCategory",
            "IsService",
            "IsUserLaunched",
        ],
        image=("target_process_file_full_path", "target.process.file.full_path"),
        time_column=None,  # a YARA-L rule's detections have no order
    )


# ---------------------------------------------------------------------------------------------
# (e) The SigmaHQ corpus sample: tests/test_corpus.py parses every target's output with its model.


# ---------------------------------------------------------------------------------------------
# (c') What the golden outputs mean, worked by hand from their Sigma rules


def golden(name: str) -> str:
    return (REPO / "tests" / "golden" / "yaral" / f"{name}.yaral").read_text()


def launch(**fields: Any) -> dict[str, Any]:
    return {"metadata.event_type": "PROCESS_LAUNCH"} | {k.replace("__", "."): v for k, v in fields.items()}


def golden_hits(name: str, *docs: dict[str, Any]) -> list[int]:
    return [r.index for r in run(golden(name), list(docs), NOW)]


def test_golden_escaping_means_its_rule() -> None:
    docs = [
        launch(**{"target.process.command_line": 'x SAY "hi" IT\'s y'}),
        launch(**{"target.process.file.full_path": "c:\\windows\\system32\\CMD.EXE"}),
        launch(**{"target.process.command_line": "1 A*B 2"}),
        launch(**{"target.process.command_line": "aXb"}),
        launch(**{"target.process.file.full_path": "C:\\Windows\\System32\\cmd.exe.bak"}),
        {"metadata.event_type": "FILE_CREATION", "target.process.command_line": "a*b"},
    ]
    assert golden_hits("escaping", *docs) == [0, 1, 2]


def test_golden_wildcards_means_its_rule() -> None:
    docs = [
        launch(**{"target.process.command_line": "PowerShell.exe -Enc ABC"}),
        launch(**{"target.process.command_line": "powershell -enc"}),  # `?` needs one character
        launch(**{"target.process.file.full_path": "c:\\users\\bob\\x.exe"}),
        launch(
            **{"target.process.file.full_path": "C:\\Users\\x.exe", "target.process.command_line": "MiMi"}
        ),
        launch(
            **{"target.process.file.full_path": "C:\\Users\\x.exe", "target.process.command_line": "mimi"}
        ),
        launch(**{"target.process.file.names": ["PSEXEC64.EXE"], "target.process.command_line": "MiMi"}),
        launch(**{"target.process.file.names": ["psexec.com"]}),
    ]
    assert golden_hits("wildcards", *docs) == [0, 2, 4, 5]


def test_golden_modifiers_is_unsupported_for_a_string_pid() -> None:
    # UDM's pid is a string: `ProcessId|gte: 4` has no YARA-L form, and siemc says so.
    text = (REPO / "tests" / "golden" / "yaral" / "modifiers.yaral").read_text()
    assert text.startswith("unsupported:") and "target.process.pid is a string" in text


def test_golden_contains_matches_after_a_newline() -> None:
    doc = launch(**{"target.process.command_line": 'first line\nthen say "hi" it\'s'})
    assert golden_hits("escaping", doc) == [0]


# ---------------------------------------------------------------------------------------------
# siemc output the model once rejected, reduced to one Sigma rule each (fixed; kept as regressions)


def compile_sigma(tmp_path: Path, logsource: str, detection: str) -> str:
    from siemc.compile.build import compile_detection
    from siemc.compile.rule import load_rule

    path = tmp_path / "probe.yml"
    path.write_text(
        "title: Probe\nid: 11111111-0000-4000-8000-0000000000aa\nstatus: test\n"
        f"logsource: {logsource}\ndetection:\n{detection}\nlevel: low\n"
    )
    return compile_detection(load_rule(path), "yaral")


def test_cidr_output_reads_the_event_field(tmp_path: Path) -> None:
    text = compile_sigma(
        tmp_path,
        "{category: network_connection, product: windows}",
        "  sel:\n    DestinationIp|cidr: 10.0.0.0/8\n  condition: sel",
    )
    assert [r.index for r in run(text, [launch_net("10.1.2.3"), launch_net("192.0.2.1")], NOW)] == [0]


def test_negated_repeated_field_means_no_element(tmp_path: Path) -> None:
    # Sigma: a field holding a list matches when any element does, so `not` means none does; an
    # unmodified YARA-L test would run per element (Repeated fields page) and match [b, a].
    text = compile_sigma(
        tmp_path,
        "{category: process_creation, product: windows}",
        "  sel:\n    Image|endswith: '\\x.exe'\n  filter:\n    OriginalFileName: a.exe\n"
        "  condition: sel and not filter",
    )
    launch: dict[str, Any] = {
        "metadata.event_type": "PROCESS_LAUNCH",
        "target.process.file.full_path": "C:\\x.exe",
    }
    events = [
        launch | {"target.process.file.names": ["b.exe", "a.exe"]},
        launch | {"target.process.file.names": ["b.exe"]},
        launch | {"target.process.file.names": []},
    ]
    assert [r.index for r in run(text, events, NOW)] == [1, 2]


def test_two_tests_on_a_repeated_field_may_hold_on_two_elements(tmp_path: Path) -> None:
    text = compile_sigma(
        tmp_path,
        "{category: network_connection, product: windows}",
        "  a:\n    DestinationIp: 10.0.0.1\n  b:\n    DestinationIp: 10.0.0.2\n  condition: a and b",
    )
    event: dict[str, Any] = {
        "metadata.event_type": "NETWORK_CONNECTION",
        "target.ip": ["10.0.0.1", "10.0.0.2"],
    }
    assert [r.index for r in run(text, [event], NOW)] == [0]


def test_a_quantified_predicate_line_follows_another() -> None:
    # Repeated fields page: `any $e.principal.ip = "..."` is a predicate of its own.
    events = '$e.metadata.event_type = "NETWORK_CONNECTION"\n    any $e.principal.ip = "192.0.2.1"'
    event: dict[str, Any] = {
        "metadata.event_type": "NETWORK_CONNECTION",
        "principal.ip": ["192.0.2.9", "192.0.2.1"],
    }
    assert hits(events, event) == [0]


def test_fieldref_compares_two_fields_without_case(tmp_path: Path) -> None:
    text = compile_sigma(
        tmp_path,
        "{category: process_creation, product: windows}",
        "  sel:\n    Image|endswith: x.exe\n  same:\n    ParentImage|fieldref: Image\n"
        "  condition: sel and not same",
    )
    base = {"metadata.event_type": "PROCESS_LAUNCH"}
    child, parent = "target.process.file.full_path", "principal.process.file.full_path"
    events = [
        base | {child: "C:\\a\\x.exe", parent: "c:\\A\\X.EXE"},
        base | {child: "C:\\a\\x.exe", parent: "C:\\b\\y.exe"},
    ]
    assert [r.index for r in run(text, events, NOW)] == [1]


def test_not_takes_the_whole_expansion_of_one_value(tmp_path: Path) -> None:
    # base64offset expands one value into an OR of variants: `not` binds tightest in YARA-L, so
    # the OR must be grouped under it (it once negated the first variant only).
    text = compile_sigma(
        tmp_path,
        "{category: process_creation, product: windows}",
        "  sel:\n    Image|base64offset|contains: '0'\n  condition: sel and not sel",
    )
    doc = {"metadata.event_type": "PROCESS_LAUNCH", "target.process.file.full_path": "0"}
    assert [r.index for r in run(text, [doc], NOW)] == []


def launch_net(ip: str) -> dict[str, Any]:
    return {"metadata.event_type": "NETWORK_CONNECTION", "target.ip": ip}


def test_contains_anything_output_parses(tmp_path: Path) -> None:
    text = compile_sigma(
        tmp_path,
        "{category: process_creation, product: windows}",
        "  sel:\n    Image|endswith: '\\x.exe'\n  filter:\n    CommandLine|contains: '*'\n"
        "  condition: sel and not filter",
    )
    parse(text)


def test_event_id_output_compares_strings(tmp_path: Path) -> None:
    text = compile_sigma(
        tmp_path,
        "{product: windows, service: security}",
        "  sel:\n    EventID: 4625\n  condition: sel",
    )
    # The WINEVTLOG parser's Security events: the provider in metadata.product_name (Google's rules).
    event = {
        "metadata.log_type": "WINEVTLOG",
        "metadata.product_name": "Microsoft-Windows-Security-Auditing",
        "metadata.product_event_type": "4625",
    }
    assert [r.index for r in run(text, [event], NOW)] == [0]


# ---------------------------------------------------------------------------------------------
# Reference lists ("Reference list syntax", "Reference Lists"), worked by hand


def list_hits(events: str, lists: dict[str, yaral.ReferenceList], *docs: dict[str, Any]) -> list[int]:
    return [r.index for r in run(rule(events), list(docs), NOW, reference_lists=lists)]


HOSTS = {
    "my_string_list": yaral.ReferenceList(
        "STRING", "// This is a new line comment.\nhostname-1\nHostname-2 // inline\n"
    )
}


def test_a_string_list_matches_whole_values_with_case_and_nocase_folds() -> None:
    docs = [{"principal.hostname": h} for h in ("hostname-1", "HOSTNAME-1", "hostname-2", "hostname-10")]
    # Case-sensitive: only the line as written (`Hostname-2` is not `hostname-2`).
    assert list_hits("$e.principal.hostname in %my_string_list", HOSTS, *docs) == [0]
    assert list_hits("$e.principal.hostname in %my_string_list nocase", HOSTS, *docs) == [0, 1, 2]
    # "not" before the test (the page's own regex example negates `in regex`).
    assert list_hits("not $e.principal.hostname in %my_string_list nocase", HOSTS, *docs) == [3]
    docs = [{"principal.hostname": "hostname-1"}, {"principal.hostname": "Hostname-2"}]
    assert list_hits("$e.principal.hostname in %my_string_list", HOSTS, *docs) == [0, 1]


def test_list_lines_take_comments_and_escapes_as_documented() -> None:
    # Reference Lists, string example: `double forward \/\/ slash and back slash \\` evaluates to
    # "double forward // slash and back slash \"; the URL example escapes `//`.
    text = (
        "double forward \\/\\/ slash and back slash \\\\\n"
        "https:\\/\\/www.googleapis.com/compute/v1/projects/abcd"
    )
    assert yaral.ReferenceList("STRING", text).lines() == [
        "double forward // slash and back slash \\",
        "https://www.googleapis.com/compute/v1/projects/abcd",
    ]
    # Regex example: the list parses into `.*chronicle.*`, `http://google\.com`, `^[0-9].*\.gov$`, `http:`.
    regexes = ".*chronicle.*\nhttp:\\/\\/google\\.com // inline\n^[0-9].*\\.gov$\nhttp://website.com"
    assert yaral.ReferenceList("REGEX", regexes).lines() == [
        ".*chronicle.*",
        "http://google\\.com",
        "^[0-9].*\\.gov$",
        "http:",
    ]


def test_regex_and_cidr_lists() -> None:
    lists = {
        "my_regex_list": yaral.ReferenceList("REGEX", "^srv-[0-9]+$\nlab"),
        "cidr_list": yaral.ReferenceList("CIDR", "// comment\n205.148.5.0/24 // inline\n2001:db8::/32"),
    }
    docs = [{"principal.hostname": h} for h in ("srv-12", "SRV-12", "mylabhost", "web")]
    # "match substrings": `lab` is found inside the value.
    assert list_hits("$e.principal.hostname in regex %my_regex_list", lists, *docs) == [0, 2]
    assert list_hits("$e.principal.hostname in regex %my_regex_list nocase", lists, *docs) == [0, 1, 2]
    assert list_hits("not $e.principal.hostname in regex %my_regex_list", lists, *docs) == [1, 3]
    ips = [
        {"principal.ip": ["10.0.0.1", "205.148.5.7"]},
        {"principal.ip": "2001:db8::1"},
        {"principal.ip": "1.1.1.1"},
    ]
    # principal.ip is repeated: unmodified, the event matches when an element does.
    assert list_hits("$e.principal.ip in cidr %cidr_list", lists, *ips) == [0, 1]


def test_reference_list_rejections() -> None:
    lists = {
        "strings": yaral.ReferenceList("STRING", "a"),
        "nets": yaral.ReferenceList("CIDR", "10.0.0.0/8"),
    }
    doc = {"principal.hostname": "a", "principal.ip": "10.0.0.1"}
    # "The nocase operator is compatible with STRING lists and REGEX lists."
    with pytest.raises(ModelSyntaxError, match="nocase"):
        list_hits("$e.principal.ip in cidr %nets nocase", lists, doc)
    with pytest.raises(ModelSyntaxError, match="not REGEX"):
        list_hits("$e.principal.hostname in regex %strings", lists, doc)
    with pytest.raises(ModelSyntaxError, match="no reference list"):
        list_hits("$e.principal.hostname in %missing", lists, doc)
    # "Maximum in statements with the cidr operator: 2".
    three = "\n    ".join(["$e.principal.ip in cidr %nets"] * 3)
    with pytest.raises(ModelSyntaxError, match="at most 2"):
        list_hits(three, lists, doc)


# ---------------------------------------------------------------------------------------------
# Multi-event rules: a sliding window anchored on a pivot event


MULTI = """rule t {
  meta:
    author = "t"
  events:
    $login.metadata.event_type = "USER_LOGIN"
    $login.principal.hostname = $host
    $proc.metadata.event_type = "PROCESS_LAUNCH"
    $proc.principal.hostname = $host
    $login.metadata.event_timestamp.seconds < $proc.metadata.event_timestamp.seconds
  match:
    $host over 5m after $login
  condition:
    $login and $proc
}
"""


def _event(kind: str, host: str, minute: float) -> dict[str, Any]:
    return {
        "metadata.event_type": kind,
        "principal.hostname": host,
        "metadata.event_timestamp.seconds": NOW + dt.timedelta(minutes=minute),
    }


def test_multi_event_rule_groups_by_placeholder_within_the_window_after_the_pivot() -> None:
    # "Apply YARA-L 2.0 windowing logic": a sliding window `over <duration> after $pivot` starts at
    # the pivot event; the join `$login... < $proc...` orders the two events.
    events = [
        _event("USER_LOGIN", "a", 0),
        _event("PROCESS_LAUNCH", "a", 4),  # inside the window after the login
        _event("USER_LOGIN", "b", 0),
        _event("PROCESS_LAUNCH", "b", 6),  # after the window
        _event("PROCESS_LAUNCH", "c", 0),
        _event("USER_LOGIN", "c", 1),  # the process came first
        _event("USER_LOGIN", "", 0),
        _event("PROCESS_LAUNCH", "", 1),  # a zero placeholder value is filtered out
    ]
    assert [row.fields for row in run(MULTI, events, NOW)] == [{"host": "a"}]


def test_multi_event_rule_rejections() -> None:
    with pytest.raises(ModelSyntaxError, match="hop windows"):
        run(MULTI.replace(" after $login", ""), [], NOW)
    with pytest.raises(ModelSyntaxError, match="unbound placeholder"):
        run(MULTI.replace("$host over", "$user over"), [], NOW)
    with pytest.raises(ModelSyntaxError, match=r"outside 1m\.\.48h"):
        run(MULTI.replace("5m", "49h"), [], NOW)
    with pytest.raises(ModelSyntaxError, match="condition"):
        run(MULTI.replace("$login and $proc", "$login"), [], NOW)


def test_a_sliding_window_holds_events_less_than_its_duration_after_the_pivot() -> None:
    # The Overview of YARA-L 2.0 (DifferentCityLogin): with a 5-minute window "only events less than
    # 5 minutes apart are correlated", so an event exactly 5 minutes after the pivot is outside.
    events = [
        _event("USER_LOGIN", "a", 0),
        _event("PROCESS_LAUNCH", "a", 5),
        _event("USER_LOGIN", "b", 0),
        _event("PROCESS_LAUNCH", "b", 5 - 1 / 60),
    ]
    assert [row.fields for row in run(MULTI, events, NOW)] == [{"host": "b"}]


# Counting in a sliding window: the event variable is its own pivot, as in Google's failed-logins
# example ("Match section syntax": `$user over 10m`, `#e >= 5`) with the window after each event.
COUNTING = """rule failed_logins {
  meta:
    author = "t"
  events:
    $e.metadata.event_type = "USER_LOGIN"
    $e.principal.hostname = $host
  match:
    $host over 10m after $e
  condition:
    CONDITION
}
"""


def _logins(host: str, *minutes: float) -> list[dict[str, Any]]:
    return [_event("USER_LOGIN", host, minute) for minute in minutes]


def test_a_count_of_events_reads_the_window_after_each_event() -> None:
    # Condition section syntax: `#e` is "the number of distinct events" satisfying the events section;
    # the pivot event is in its own window, the events before it are not.
    events = [
        *_logins("three", 0, 4, 9),  # the window after the first holds all three
        *_logins("spread", 0, 6, 12),  # no window of 10 minutes holds three
        *_logins("edge", 0, 5, 10),  # the third is 10 minutes after the first: outside its window
        *_logins("", 0, 1, 2),  # a zero match placeholder value is filtered out
        _event("PROCESS_LAUNCH", "other", 0),
        *_logins("other", 1, 2),
    ]
    rule_text = COUNTING.replace("CONDITION", "#e >= 3")
    assert [row.fields for row in run(rule_text, events, NOW)] == [{"host": "three"}]
    assert {row.fields["host"] for row in run(COUNTING.replace("CONDITION", "#e > 1"), events, NOW)} == {
        "three",
        "spread",
        "edge",
        "other",
    }


def test_an_upper_bound_on_a_count_goes_with_the_event_variable() -> None:
    # Condition section syntax, "Bounded and unbounded conditions": `$e` bounds the variable
    # (`#e > 0`); `#e <= 2` alone would let it be absent, which the model does not run.
    events = [*_logins("three", 0, 4, 9), *_logins("later", 0, 4, 9, 30)]
    assert {
        row.fields["host"] for row in run(COUNTING.replace("CONDITION", "$e and #e <= 2"), events, NOW)
    } == {
        "three",  # the window after the second event holds two
        "later",
    }
    assert run(COUNTING.replace("CONDITION", "$e and #e = 4"), events, NOW) == []
    with pytest.raises(ModelSyntaxError, match="unbounded"):
        run(COUNTING.replace("CONDITION", "#e <= 2"), events, NOW)
    with pytest.raises(ModelSyntaxError, match="unbounded"):
        run(COUNTING.replace("CONDITION", "#e >= 0"), events, NOW)


def test_a_count_of_a_placeholder_is_its_distinct_values() -> None:
    # The Overview of YARA-L 2.0 (DifferentCityLogin): `$udm and #city > 1`, the number of distinct
    # cities. A placeholder outside the match section keeps its zero value ("Match section syntax"),
    # so an event without a city counts "" as one, unless the events section leaves it out.
    text = COUNTING.replace("CONDITION", "$e and #city > 1").replace(
        "    $e.principal.hostname = $host\n",
        "    $e.principal.hostname = $host\n    $city = $e.principal.location.city\n",
    )

    def login(host: str, minute: float, city: str | None) -> dict[str, Any]:
        event = _event("USER_LOGIN", host, minute)
        return {**event, "principal.location.city": city} if city is not None else event

    events = [
        login("two", 0, "Paris"),
        login("two", 3, "Oslo"),
        login("same", 0, "Paris"),
        login("same", 3, "Paris"),
        login("unset", 0, "Paris"),
        login("unset", 3, None),
        login("apart", 0, "Paris"),
        login("apart", 10, "Oslo"),
    ]
    assert {row.fields["host"] for row in run(text, events, NOW)} == {"two", "unset"}
    filtered = text.replace("    $city =", '    $e.principal.location.city != ""\n    $city =')
    assert {row.fields["host"] for row in run(filtered, events, NOW)} == {"two"}


def test_counting_rejections() -> None:
    with pytest.raises(ModelSyntaxError, match="undefined"):
        run(COUNTING.replace("CONDITION", "$e and #city > 1"), [], NOW)
    with pytest.raises(ModelSyntaxError, match="integer"):
        run(COUNTING.replace("CONDITION", "#e > 1.5"), [], NOW)
    with pytest.raises(ModelSyntaxError, match="hop windows"):
        run(COUNTING.replace("CONDITION", "#e > 1").replace(" after $e", ""), [], NOW)


SUMMING = """rule sent_bytes {
  meta:
    author = "t"
  events:
    $e.metadata.event_type = "NETWORK_CONNECTION"
    $e.principal.hostname = $host
  match:
    $host over 10m after $e
  outcome:
    $sent = sum($e.network.sent_bytes)
  condition:
    $e and $sent >= 1000
}
"""


def _sent(host: str, minute: float, sent: Any = None) -> dict[str, Any]:
    event = _event("NETWORK_CONNECTION", host, minute)
    return {**event, "network.sent_bytes": sent} if sent is not None else event


def test_an_outcome_sum_over_the_window_is_compared_in_the_condition() -> None:
    # "sum" page: the sum of a numeric column's values; Outcome section syntax: outcome values are
    # aggregated per detection; Condition section syntax: `$sent` is the outcome's value. An unset
    # integer is 0 ("Filter zero values"), so it adds nothing.
    events = [
        _sent("inside", 0, 600),
        _sent("inside", 9, 400),
        _sent("inside", 5),  # no value
        _sent("apart", 0, 600),
        _sent("apart", 10, 400),  # 10 minutes after: in no window with the first
        _sent("low", 0, 999),
    ]
    assert [row.fields for row in run(SUMMING, events, NOW)] == [{"host": "inside"}]
    maximum = SUMMING.replace("sum(", "max(").replace(">= 1000", ">= 600")
    assert {row.fields["host"] for row in run(maximum, events, NOW)} == {"inside", "apart", "low"}


def test_outcome_rejections_in_multi_event_rules() -> None:
    with pytest.raises(ModelSyntaxError, match="no outcome variable"):
        run(SUMMING.replace("$e and $sent", "$e and $other"), [], NOW)
    with pytest.raises(ModelSyntaxError, match="aggregation of one field"):
        run(SUMMING.replace("sum($e.network.sent_bytes)", "$e.network.sent_bytes"), [], NOW)
