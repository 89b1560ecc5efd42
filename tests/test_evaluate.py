"""The reference evaluator against hand-worked Sigma semantics, the event loader and `siemc eval`.

Expectations come from the Sigma specification (whole-value, case-insensitive matching; `*`/`?`
wildcards and `\\` escapes; modifiers), worked out by hand, never from the evaluator's own output.
"""

from __future__ import annotations

import base64
import json
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from sigma.rule import SigmaLogSource
from typer.testing import CliRunner

from siemc.cli import app
from siemc.compile.logsources import record_filter
from siemc.compile.rule import Detection, parse_rule
from siemc.diagnostics import SiemcError
from siemc.verify.evaluate import EvaluationError, Evaluator, evaluate, file_name
from siemc.verify.events import parse_events

Matcher = Callable[[Mapping[str, Any]], bool]


def load(detection: str, extension: str = "", category: str = "process_creation") -> Detection:
    text = (
        f"title: test\nlogsource:\n  product: windows\n  category: {category}\n"
        f"detection:\n{textwrap.indent(textwrap.dedent(detection), '  ')}"
    )
    if extension:
        text += "siemc:\n" + textwrap.indent(textwrap.dedent(extension), "  ")
    return parse_rule(text, Path("test.yml"))


def matcher(detection: str, placeholders: Mapping[str, list[str]] | None = None) -> Matcher:
    return Evaluator.for_detection(load(detection), placeholders).matches


def selection(line: str) -> Matcher:
    """A rule whose only selection is the one YAML line given (field|modifiers: value)."""
    return matcher(f"sel:\n  {line}\ncondition: sel\n")


# --- plain strings, wildcards, escapes, case ----------------------------------------------------


def test_plain_string_matches_the_whole_value_case_insensitively() -> None:
    match = selection("CommandLine: whoami")
    assert match({"CommandLine": "whoami"})
    assert match({"CommandLine": "WhoAmI"})
    assert not match({"CommandLine": "whoami /all"})
    assert not match({"CommandLine": "cmd whoami"})
    assert not match({"Other": "whoami"})
    assert not match({})


def test_wildcards_star_and_question_mark() -> None:
    star = selection("Image: 'a*c'")
    assert star({"Image": "ac"}) and star({"Image": "abc"}) and star({"Image": "A-long-C"})
    assert not star({"Image": "abcd"})
    single = selection("Image: 'a?c'")
    assert single({"Image": "abc"}) and single({"Image": "AXC"})
    assert not single({"Image": "ac"}) and not single({"Image": "abbc"})
    # A wildcard spans line breaks: command lines may hold them.
    assert selection("CommandLine: 'a*b'")({"CommandLine": "a\nb"})


def test_escaped_wildcards_are_literal() -> None:
    star = selection(r"Image: 'a\*c'")
    assert star({"Image": "a*c"})
    assert not star({"Image": "abc"})
    question = selection(r"Image: 'a\?c'")
    assert question({"Image": "a?c"}) and not question({"Image": "abc"})


def test_backslashes() -> None:
    # A backslash before an ordinary character is itself; `\\` is one backslash.
    assert selection(r"Image: 'C:\Windows\cmd.exe'")({"Image": r"c:\windows\CMD.EXE"})
    double = selection(r"Path: 'a\\b'")
    assert double({"Path": "a\\b"})
    assert not double({"Path": "a\\\\b"})
    unc = selection(r"Path: '\\\\srv\share'")
    assert unc({"Path": r"\\srv\share"})
    assert not unc({"Path": r"\srv\share"})
    # `\\*` is a backslash then a wildcard; `\*` is a literal star.
    folder = selection(r"Image: 'C:\Windows\\*'")
    assert folder({"Image": r"C:\Windows\System32\cmd.exe"})
    # Three backslashes before a star: an escaped backslash, then an escaped (literal) star.
    both = selection(r"Image: 'C:\Windows\\\*'")
    assert both({"Image": "C:\\Windows\\*"}) and not both({"Image": "C:\\Windows\\x"})
    literal = selection(r"Image: 'C:\Windows\*'")
    assert literal({"Image": "C:\\Windows*"})
    assert not literal({"Image": r"C:\Windows\System32"})


def test_cased() -> None:
    match = selection("CommandLine|cased: Foo")
    assert match({"CommandLine": "Foo"})
    assert not match({"CommandLine": "foo"}) and not match({"CommandLine": "FOO"})
    contains = selection("CommandLine|contains|cased: Bar")
    assert contains({"CommandLine": "xBarx"}) and not contains({"CommandLine": "xbarx"})


def test_contains_startswith_endswith() -> None:
    contains = selection("CommandLine|contains: ' -enc '")
    assert contains({"CommandLine": "powershell -ENC abc"})
    assert not contains({"CommandLine": "powershell -encodedcommand abc"})
    starts = selection("Image|startswith: 'C:\\Temp\\'")
    assert starts({"Image": "c:\\temp\\x.exe"}) and not starts({"Image": "D:\\C:\\Temp\\x.exe"})
    ends = selection("Image|endswith: '\\cmd.exe'")
    assert ends({"Image": "C:\\Windows\\System32\\CMD.EXE"}) and not ends({"Image": "C:\\x\\notcmd.exe"})


def test_value_list_is_or_and_all_is_and() -> None:
    any_of = selection("CommandLine|contains: [alpha, beta]")
    assert any_of({"CommandLine": "x beta"}) and not any_of({"CommandLine": "gamma"})
    all_of = selection("CommandLine|contains|all: [alpha, beta]")
    assert all_of({"CommandLine": "beta then ALPHA"})
    assert not all_of({"CommandLine": "alpha only"})


def test_long_lists_of_mixed_patterns() -> None:
    # Exact values, prefixes, suffixes, infixes and general patterns in one list are still an OR.
    match = selection("Image: ['exact.exe', 'pre*', '*suf', '*mid*', 'a*b*c', '*\\x?.exe', 'K*']")
    for value in ("EXACT.exe", "prefix", "the suf", "a mid z", "a--b--c", "C:\\x1.exe", "k"):
        assert match({"Image": value}), value
    for value in ("exact.exe2", "apre", "sufx", "ac", "C:\\x12.exe", "mi d"):
        assert not match({"Image": value}), value


def test_list_valued_field_matches_when_any_element_does() -> None:
    match = selection("Tags: admin")
    assert match({"Tags": ["user", "ADMIN"]})
    assert not match({"Tags": ["user"]})
    assert not match({"Tags": []})


def test_numbers_and_booleans() -> None:
    number = selection("EventID: 4688")
    assert number({"EventID": 4688}) and number({"EventID": "4688"})
    assert not number({"EventID": 4689}) and not number({"EventID": "4688x"})
    # A quoted number is a string and matches the number's string form.
    assert selection("EventID: '4688'")({"EventID": 4688})
    flag = selection("Enabled: true")
    assert flag({"Enabled": True}) and flag({"Enabled": "True"})
    assert not flag({"Enabled": False}) and not flag({"Enabled": "yes"})


def test_null_and_empty_string() -> None:
    null = selection("CommandLine: null")
    assert null({}) and null({"CommandLine": None})
    assert not null({"CommandLine": ""}) and not null({"CommandLine": "x"})
    empty = selection("CommandLine: ''")
    assert empty({"CommandLine": ""})
    assert not empty({}) and not empty({"CommandLine": "x"})


def test_exists() -> None:
    # Presence only, whatever the value, empty or null.
    present = selection("User|exists: true")
    assert present({"User": ""}) and present({"User": "bob"}) and present({"User": None})
    assert not present({}) and not present({"Username": "bob"})
    absent = selection("User|exists: false")
    assert absent({}) and not absent({"User": "bob"}) and not absent({"User": None})
    # A virtual file-name field exists when its path field does.
    assert selection("ImageName|exists: true")({"Image": "C:\\x.exe"})


# --- regular expressions ------------------------------------------------------------------------


def test_regex_is_searched_and_case_sensitive() -> None:
    match = selection("CommandLine|re: 'ab+c'")
    assert match({"CommandLine": "xx abbbc yy"})
    assert not match({"CommandLine": "ABC"})
    anchored = selection("CommandLine|re: '^cmd\\.exe$'")
    assert anchored({"CommandLine": "cmd.exe"}) and not anchored({"CommandLine": "xcmd.exe"})


def test_regex_flags() -> None:
    assert selection("CommandLine|re|i: 'ab+c'")({"CommandLine": "ABBC"})
    assert selection("CommandLine|re|m: '^b$'")({"CommandLine": "a\nb\nc"})
    assert not selection("CommandLine|re: '^b$'")({"CommandLine": "a\nb\nc"})
    assert selection("CommandLine|re|s: 'a.b'")({"CommandLine": "a\nb"})
    assert not selection("CommandLine|re: 'a.b'")({"CommandLine": "a\nb"})


def test_regex_keeps_its_own_escapes() -> None:
    # In a regex, `\\` is the regex escape of one backslash, and `\*` a literal star.
    path = selection(r"Image|re: '\\cmd\.exe$'")
    assert path({"Image": "C:\\Windows\\cmd.exe"}) and not path({"Image": "C:/cmd.exe"})
    star = selection(r"CommandLine|re: 'a\*b'")
    assert star({"CommandLine": "a*b"}) and not star({"CommandLine": "aab"})


# --- encodings ----------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_base64() -> None:
    # base64("abc") is "YWJj": whole value unless combined with contains.
    match = selection("CommandLine|base64: abc")
    assert match({"CommandLine": "YWJj"}) and not match({"CommandLine": "xYWJj"})
    assert selection("CommandLine|base64|contains: abc")({"CommandLine": "-e YWJj"})


@pytest.mark.parametrize("prefix", [b"", b"x", b"xy", b"xyz", b"long prefix "])
def test_base64offset_finds_the_text_at_any_byte_offset(prefix: bytes) -> None:
    match = selection("CommandLine|base64offset|contains: /bin/bash")
    assert match({"CommandLine": "echo " + b64(prefix + b"/bin/bash -i") + " | base64 -d"})
    assert not match({"CommandLine": b64(prefix + b"/bin/sh -i")})


def test_utf16_encodings() -> None:
    wide = selection("CommandLine|wide|base64offset|contains: ping")
    for prefix in ("", "a", "ab"):
        assert wide({"CommandLine": b64((prefix + "ping host").encode("utf-16le"))})
    assert not wide({"CommandLine": b64(b"ping host")})
    assert selection("Data|wide: ab")({"Data": "a\x00b\x00"})
    assert selection("Data|utf16be: ab")({"Data": "\x00a\x00b"})
    # utf16 is little-endian after a byte-order mark.
    assert selection("Data|utf16: ab")({"Data": "\ufeffa\x00b\x00"})


def test_windash() -> None:
    match = selection("CommandLine|windash|contains: ' -exec '")
    for dash in ("-", "/", "\u2013", "\u2014", "\u2015"):
        assert match({"CommandLine": f"tool {dash}exec bypass"}), dash
    assert not match({"CommandLine": "tool +exec bypass"})
    # Only a dash at the start of a word is a switch: the inner dash of `a-b` stays a dash.
    inner = selection("CommandLine|windash: 'x -a-b'")
    assert inner({"CommandLine": "x /a-b"}) and not inner({"CommandLine": "x /a/b"})


def test_windash_with_all_keeps_each_value_an_or_of_its_forms() -> None:
    match = selection("CommandLine|windash|contains|all: [' -a', ' -b']")
    assert match({"CommandLine": "t /a -b"})
    assert not match({"CommandLine": "t /a"})


# --- networks, comparisons, field references, placeholders, time --------------------------------


def test_cidr() -> None:
    v4 = selection("DestinationIp|cidr: 10.0.0.0/8")
    assert v4({"DestinationIp": "10.1.2.3"})
    assert not v4({"DestinationIp": "11.0.0.1"}) and not v4({"DestinationIp": "host"})
    v6 = selection("DestinationIp|cidr: 'fe80::/10'")
    assert v6({"DestinationIp": "fe80::1"}) and not v6({"DestinationIp": "2001:db8::1"})


def test_numeric_comparisons() -> None:
    gt, gte = selection("Count|gt: 5"), selection("Count|gte: 5")
    lt, lte = selection("Count|lt: 5"), selection("Count|lte: 5")
    assert gt({"Count": 6}) and gt({"Count": "7"}) and not gt({"Count": 5}) and not gt({"Count": "x"})
    assert gte({"Count": 5}) and not gte({"Count": 4.5})
    assert lt({"Count": 4}) and not lt({"Count": 5})
    assert lte({"Count": 5}) and lte({"Count": -1}) and not lte({"Count": 6})
    assert not gt({})


def test_field_reference() -> None:
    equal = selection("ParentImage|fieldref: Image")
    assert equal({"Image": "C:\\a.exe", "ParentImage": "c:\\A.EXE"})
    assert not equal({"Image": "C:\\a.exe", "ParentImage": "C:\\b.exe"})
    assert not equal({"ParentImage": "C:\\b.exe"})
    contains = selection("CommandLine|fieldref|contains: User")
    assert contains({"User": "bob", "CommandLine": "runas /user:BOB cmd"})
    assert not contains({"User": "alice", "CommandLine": "runas /user:bob cmd"})
    ends = selection("CommandLine|fieldref|endswith: User")
    assert ends({"User": "bob", "CommandLine": "x bob"}) and not ends({"User": "bob", "CommandLine": "bob x"})


def test_expand_with_placeholders() -> None:
    rule = "sel:\n  Image|expand: '%tools%\\evil.exe'\ncondition: sel\n"
    # Placeholder values are Sigma strings: `\\*` is a backslash then a wildcard.
    match = matcher(rule, {"tools": ["C:\\Temp", "C:\\Users\\\\*\\Downloads"]})
    assert match({"Image": "c:\\temp\\evil.exe"})
    assert match({"Image": "C:\\Users\\bob\\Downloads\\evil.exe"})
    assert not match({"Image": "C:\\Windows\\evil.exe"})
    with pytest.raises(EvaluationError, match="%tools%"):
        matcher(rule, {"other": ["x"]})
    with pytest.raises(EvaluationError, match="%tools%"):
        matcher(rule)


def test_expand_in_a_regex_inserts_regex_text() -> None:
    match = matcher("sel:\n  Image|re|expand: '^%dir%\\\\x$'\ncondition: sel\n", {"dir": ["C:\\\\T\\.mp"]})
    assert match({"Image": "C:\\T.mp\\x"}) and not match({"Image": "C:\\Tamp\\x"})


def test_neq_negates_the_item() -> None:
    match = selection("Status|neq: ok")
    assert match({"Status": "failed"}) and match({})
    assert not match({"Status": "OK"})


def test_timestamp_parts() -> None:
    hour = selection("UtcTime|hour: 14")
    assert hour({"UtcTime": "2025-10-24 14:05:00.123"})
    assert hour({"UtcTime": "2026-03-20T14:31:26.751156500Z"})
    assert not hour({"UtcTime": "2025-10-24 15:05:00"}) and not hour({"UtcTime": "soon"})
    assert selection("UtcTime|month: 10")({"UtcTime": "2025-10-24T01:00:00Z"})
    assert selection("UtcTime|year: 2025")({"UtcTime": "2025-10-24T01:00:00Z"})
    assert selection("UtcTime|day: 24")({"UtcTime": "2025-10-24T01:00:00Z"})
    assert selection("UtcTime|minute: 7")({"UtcTime": "2025-10-24T01:07:00Z"})
    # 2025-10-24 is a Friday of ISO week 43.
    assert selection("UtcTime|week: 43")({"UtcTime": "2025-10-24T01:00:00Z"})


# --- keywords and the condition grammar -----------------------------------------------------------


def test_keywords_match_anywhere_in_any_value() -> None:
    match = matcher("keywords:\n  - mimikatz\n  - 'sekurlsa::*'\ncondition: keywords\n")
    assert match({"CommandLine": "run Mimikatz.exe now"})
    assert match({"Nested": {"deep": ["x", "privilege::debug SEKURLSA::logonpasswords"]}})
    assert not match({"CommandLine": "mimi katz"})
    assert not match({})
    assert matcher("keywords: [4688]\ncondition: keywords\n")({"Message": "event 4688 seen"})
    both = matcher("keywords:\n  '|all': [OabVirtualDirectory, ' -ExternalUrl ']\ncondition: keywords\n")
    assert both({"Payload": "Set-OabVirtualDirectory -ExternalUrl http://x"})
    assert both({"A": "oabvirtualdirectory", "B": "x -externalurl y"})
    assert not both({"Payload": "Set-OabVirtualDirectory -InternalUrl http://x"})


def test_selection_items_are_and_and_list_of_maps_is_or() -> None:
    rule = """
    sel:
      - Image|endswith: '\\a.exe'
        CommandLine|contains: one
      - Image|endswith: '\\b.exe'
    condition: sel
    """
    match = matcher(textwrap.dedent(rule))
    assert match({"Image": "C:\\a.exe", "CommandLine": "x one"})
    assert not match({"Image": "C:\\a.exe", "CommandLine": "two"})
    assert match({"Image": "C:\\b.exe"})


CONDITION_RULE = """
sel_a:
  A: 1
sel_b:
  B: 1
other:
  C: 1
condition: {condition}
"""


@pytest.mark.parametrize(
    ("condition", "true_for", "false_for"),
    [
        ("1 of sel_*", [{"A": 1}, {"B": 1}], [{"C": 1}, {}]),
        ("all of sel_*", [{"A": 1, "B": 1}], [{"A": 1}, {"A": 1, "C": 1}]),
        ("all of them", [{"A": 1, "B": 1, "C": 1}], [{"A": 1, "B": 1}]),
        ("1 of them", [{"C": 1}], [{}]),
        ("any of sel_*", [{"B": 1}], [{"C": 1}]),
        ("not sel_a", [{}, {"B": 1}], [{"A": 1}]),
        # `and` binds tighter than `or`, `not` tighter than both.
        ("sel_a or sel_b and other", [{"A": 1}, {"B": 1, "C": 1}], [{"B": 1}]),
        ("(sel_a or sel_b) and other", [{"B": 1, "C": 1}], [{"A": 1}, {"B": 1}]),
        ("not sel_a and sel_b", [{"B": 1}], [{"A": 1, "B": 1}]),
        ("not (sel_a and sel_b)", [{"A": 1}, {}], [{"A": 1, "B": 1}]),
        ("sel_a and not 1 of sel_b*", [{"A": 1}], [{"A": 1, "B": 1}]),
        ("1 of sel_* and not other", [{"A": 1}], [{"A": 1, "C": 1}]),
    ],
)
def test_condition_grammar(
    condition: str, true_for: list[dict[str, int]], false_for: list[dict[str, int]]
) -> None:
    match = matcher(CONDITION_RULE.format(condition=condition))
    for event in true_for:
        assert match(event), (condition, event)
    for event in false_for:
        assert not match(event), (condition, event)


def test_not_over_a_missing_field_is_true() -> None:
    match = matcher(
        "sel:\n  Image|endswith: '\\x.exe'\nfilter:\n  User: admin\ncondition: sel and not filter\n"
    )
    assert match({"Image": "C:\\x.exe"})
    assert not match({"Image": "C:\\x.exe", "User": "ADMIN"})


def test_a_list_of_conditions_is_an_or() -> None:
    match = matcher("a:\n  A: 1\nb:\n  B: 1\ncondition:\n  - a\n  - b\n")
    assert match({"A": 1}) and match({"B": 1}) and not match({})


# --- virtual fields and derived columns -------------------------------------------------------


def test_file_name() -> None:
    assert file_name("C:\\Windows\\cmd.exe") == "cmd.exe"
    assert file_name("/usr/bin/tmate") == "tmate"
    assert file_name("C:\\mixed/sep\\x.exe") == "x.exe"
    assert file_name("bare.exe") == "bare.exe"


def test_image_name_fields_are_derived_from_paths() -> None:
    match = selection("ImageName: anydesk.exe")
    assert match({"Image": "C:\\Tools\\AnyDesk.exe"})
    assert match({"Image": "/opt/anydesk.exe"})
    assert not match({"Image": "C:\\anydesk.exe\\other.exe"})
    # A source that carries the file-name column itself is used as is.
    assert match({"ImageName": "anydesk.exe", "Image": "C:\\x\\other.exe"})
    parent = selection("ParentImageName|startswith: explorer")
    assert parent({"ParentImage": "C:\\Windows\\Explorer.EXE"}) and not parent({"Image": "explorer.exe"})


DERIVE = """
columns: [ImageName, Category, IsService]
derive:
  Category:
    cases:
      - when: {ImageName|contains: vnc}
        then: VNC
      - when: {ImageName|contains: [teamviewer, anydesk]}
        then: Commercial
      - when: {ImageName|contains: viewer}
        then: Viewer
    else: Other
  IsService:
    when: {ParentImageName: [services.exe, svchost.exe]}
"""


def test_derived_columns_first_case_wins_else_default_and_flags() -> None:
    detection = load("sel:\n  Image|endswith: '.exe'\ncondition: sel\n", DERIVE)
    evaluator = Evaluator.for_detection(detection)
    derived = evaluator.derived
    service = "C:\\Windows\\System32\\services.exe"
    # `tightvncviewer` contains both vnc and viewer: the first case that matches wins.
    assert derived({"Image": "C:\\tightvncviewer.exe", "ParentImage": service}) == {
        "Category": "VNC",
        "IsService": True,
    }
    assert derived({"Image": "C:\\TeamViewer.exe"}) == {"Category": "Commercial", "IsService": False}
    assert derived({"Image": "C:\\imageviewer.exe"})["Category"] == "Viewer"
    assert derived({"Image": "C:\\notepad.exe", "ParentImage": "C:\\explorer.exe"}) == {
        "Category": "Other",
        "IsService": False,
    }
    events = [{"Image": "C:\\a.txt"}, {"Image": "C:\\anydesk.exe"}]
    [match] = evaluate(detection, events)
    assert match.index == 1 and match.fields == {"Category": "Commercial", "IsService": False}


def test_t1219_rule(t1219: Detection) -> None:
    evaluator = Evaluator.for_detection(t1219)
    event = {"Image": "C:\\Program Files\\AnyDesk\\AnyDesk.exe", "ParentImage": "C:\\Windows\\explorer.exe"}
    assert evaluator.matches(event)
    assert evaluator.derived(event)["RATCategory"] == "Commercial RMM"
    assert not evaluator.matches({"Image": "C:\\Windows\\notepad.exe"})


# --- event files and log sources -------------------------------------------------------------


def record(
    event_id: int, channel: str, data: dict[str, Any], provider: str = "Microsoft-Windows-Sysmon"
) -> str:
    return json.dumps(
        {
            "Event": {
                "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
                "System": {
                    "Provider": {"#attributes": {"Name": provider, "Guid": "{0}"}},
                    "EventID": event_id,
                    "Channel": channel,
                    "Computer": "host1",
                    "TimeCreated": {"#attributes": {"SystemTime": "2025-10-24T23:34:34.640670Z"}},
                },
                "EventData": data,
            }
        },
        indent=2,
    )


SYSMON = "Microsoft-Windows-Sysmon/Operational"


def test_event_log_records_are_flattened() -> None:
    loaded = parse_events(record(1, SYSMON, {"Image": "C:\\x.exe", "ProcessId": 42}))
    assert loaded.event_log
    [event] = loaded.events
    assert event["EventID"] == 1 and event["Channel"] == SYSMON and event["Computer"] == "host1"
    assert event["Provider_Name"] == "Microsoft-Windows-Sysmon"
    assert event["TimeCreated_SystemTime"] == "2025-10-24T23:34:34.640670Z"
    assert event["Image"] == "C:\\x.exe" and event["ProcessId"] == 42


def test_event_id_with_qualifiers_and_user_data_and_data_elements() -> None:
    text = json.dumps(
        {
            "Event": {
                "System": {
                    "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045},
                    "Channel": "System",
                },
                "UserData": {"Op": {"#attributes": {"xmlns": "x"}, "Operation": "clear"}},
            }
        }
    )
    [event] = parse_events(text).events
    assert event["EventID"] == 7045 and event["EventID_Qualifiers"] == 16384 and event["Operation"] == "clear"
    data = {"Data": [{"#attributes": {"Name": "ServiceName"}, "#text": "evil"}, "unnamed"]}
    [event] = parse_events(record(7045, "System", data)).events
    assert event["ServiceName"] == "evil" and event["Data"] == ["unnamed"]


def test_security_process_creation_records_get_the_sigma_path_names() -> None:
    data = {"NewProcessName": "C:\\x\\AnyDesk.exe", "ParentProcessName": "C:\\Windows\\explorer.exe"}
    [event] = parse_events(record(4688, "Security", data, "Microsoft-Windows-Security-Auditing")).events
    assert event["Image"] == data["NewProcessName"] and event["ParentImage"] == data["ParentProcessName"]
    [other] = parse_events(record(4689, "Security", data)).events
    assert "Image" not in other


def test_files_with_several_records_arrays_and_json_lines() -> None:
    two_records = record(1, SYSMON, {"A": 1}) + "\n" + record(11, SYSMON, {"A": 2})
    assert [e["A"] for e in parse_events(two_records).events] == [1, 2]
    array = parse_events('[{"A": 1}, {"A": 2}]')
    assert array.events == [{"A": 1}, {"A": 2}] and not array.event_log
    lines = parse_events('{"A": 1}\n\n{"A": 2}\n')
    assert lines.events == [{"A": 1}, {"A": 2}]
    assert parse_events("").events == []


def test_bad_event_files_name_the_line() -> None:
    with pytest.raises(SiemcError) as error:
        parse_events('{"A": 1}\n{"A": }\n')
    assert error.value.line == 2 and "invalid JSON" in error.value.message
    with pytest.raises(SiemcError, match="must be a JSON object"):
        parse_events('{"A": 1}\n[1]\n')


def test_log_source_filters() -> None:
    def accepts(logsource: SigmaLogSource, event: dict[str, Any]) -> bool:
        check = record_filter(logsource)
        assert check is not None
        return check(event)

    creation = SigmaLogSource(category="process_creation", product="windows")
    assert accepts(creation, {"Channel": SYSMON, "EventID": 1})
    assert accepts(creation, {"Channel": "Security", "EventID": "4688"})
    assert not accepts(creation, {"Channel": SYSMON, "EventID": 11})
    assert not accepts(creation, {"Channel": "Security", "EventID": 1})
    registry = SigmaLogSource(category="registry_event", product="windows")
    assert all(accepts(registry, {"Channel": SYSMON, "EventID": i}) for i in (12, 13, 14))
    security = SigmaLogSource(service="security", product="windows")
    assert accepts(security, {"Channel": "Security", "EventID": 4701})
    assert not accepts(security, {"Channel": "System", "EventID": 4701})
    script = SigmaLogSource(category="ps_script", product="windows")
    assert accepts(script, {"Channel": "Microsoft-Windows-PowerShell/Operational", "EventID": 4104})
    assert record_filter(SigmaLogSource(category="process_creation", product="linux")) is None
    assert record_filter(SigmaLogSource(category="no_such_category", product="windows")) is None


# --- siemc eval -------------------------------------------------------------------------------

RULE = """title: Remote tools
logsource:
  product: windows
  category: process_creation
detection:
  sel:
    Image|endswith: ['\\anydesk.exe', '\\teamviewer.exe']
  condition: sel
siemc:
  derive:
    Vendor:
      cases:
        - when: {ImageName|contains: anydesk}
          then: AnyDesk
      else: Other
    FromExplorer:
      when: {ParentImageName: explorer.exe}
"""


@pytest.fixture
def rule_file(tmp_path: Path) -> Path:
    path = tmp_path / "rule.yml"
    path.write_text(RULE, encoding="utf-8")
    return path


def run_eval(rule: Path, events: Path) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(app, ["eval", str(rule), "--events", str(events)])
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()], result.stderr


def test_eval_array(rule_file: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.json"
    events.write_text(
        json.dumps(
            [
                {"Image": "C:\\x\\TeamViewer.exe"},
                {"Image": "C:\\x\\notepad.exe"},
                {"Image": "C:\\x\\AnyDesk.exe", "ParentImage": "C:\\Windows\\explorer.exe"},
            ]
        ),
        encoding="utf-8",
    )
    code, out, _ = run_eval(rule_file, events)
    assert code == 0
    assert out == [
        {"index": 0, "fields": {"FromExplorer": False, "Vendor": "Other"}},
        {"index": 2, "fields": {"FromExplorer": True, "Vendor": "AnyDesk"}},
    ]


def test_eval_json_lines_prints_sorted_keys_one_per_line(rule_file: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"Image": "a"}\n{"Image": "C:\\\\anydesk.exe"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(rule_file), "-e", str(events)])
    assert result.exit_code == 0
    assert result.stdout == '{"index": 1, "fields": {"FromExplorer": false, "Vendor": "AnyDesk"}}\n'


def test_eval_event_log_records_apply_the_log_source(rule_file: Path, tmp_path: Path) -> None:
    events = tmp_path / "records.json"
    image = {"Image": "C:\\Tools\\anydesk.exe"}
    # The same fields in a file-creation record (Sysmon 11) are not a process creation.
    events.write_text(
        "\n".join(
            [
                record(11, SYSMON, image),
                record(1, SYSMON, image),
                record(4688, "Security", {"NewProcessName": image["Image"]}),
            ]
        ),
        encoding="utf-8",
    )
    code, out, _ = run_eval(rule_file, events)
    assert code == 0
    assert [line["index"] for line in out] == [1, 2]


def test_eval_no_match_exits_0(rule_file: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.json"
    events.write_text('[{"Image": "C:\\\\notepad.exe"}]', encoding="utf-8")
    assert run_eval(rule_file, events) == (0, [], "")


def test_eval_bad_events_file_exits_1(rule_file: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.json"
    events.write_text('{"Image": "a"}\n{"Image": \n', encoding="utf-8")
    code, out, err = run_eval(rule_file, events)
    assert (code, out) == (1, [])
    assert err.startswith(f"{events}:3: error: invalid JSON")
    assert len(err.strip().splitlines()) == 1
    code, _, err = run_eval(rule_file, tmp_path / "missing.json")
    assert code == 1 and err.startswith(f"{tmp_path / 'missing.json'}: error: cannot read events")


def test_eval_bad_rule_exits_1(tmp_path: Path) -> None:
    events = tmp_path / "events.json"
    events.write_text("[]", encoding="utf-8")
    rule = tmp_path / "bad.yml"
    rule.write_text(RULE.replace("Image|endswith", "Image|endswithh"), encoding="utf-8")
    code, _, err = run_eval(rule, events)
    assert code == 1
    assert err.startswith(f"{rule}:") and " error: " in err and "endswithh" in err
    code, _, err = run_eval(tmp_path / "nosuch.yml", events)
    assert code == 1 and "cannot read rule" in err


# --- siemc eval: the rule's log source over event-log records of every shape --------------------

FILE_RULE = """title: Remote tool writes a file
logsource: {product: windows, category: file_event}
detection:
  sel: {Image|endswith: '\\\\anydesk.exe'}
  condition: sel
"""

SECURITY_RULE = """title: Service installed
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4697, ServiceName: evil}
  condition: sel
"""


def _rule(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "other_rule.yml"
    path.write_text(text, encoding="utf-8")
    return path


def _sysmon_log(tmp_path: Path) -> Path:
    """Sysmon process creation (1) and file creation (11) of the same Image, flat as exported."""
    events = tmp_path / "sysmon.jsonl"
    image = "C:\\Tools\\AnyDesk.exe"
    rows = [
        {"Channel": SYSMON, "EventID": 1, "Image": image, "CommandLine": "anydesk.exe"},
        {"Channel": SYSMON, "EventID": 11, "Image": image, "TargetFilename": "C:\\Users\\a\\ad.trace"},
        {"Channel": "Security", "EventID": "4688", "NewProcessName": image},
    ]
    events.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    return events


def test_eval_flat_records_apply_the_log_source(rule_file: Path, tmp_path: Path) -> None:
    events = _sysmon_log(tmp_path)
    # The process rule: Sysmon 1 and Security 4688 (whose NewProcessName is Sigma's Image), not 11.
    assert [line["index"] for line in run_eval(rule_file, events)[1]] == [0, 2]
    # The file rule: only the file creation of the same Image.
    assert [line["index"] for line in run_eval(_rule(tmp_path, FILE_RULE), events)[1]] == [1]


def test_eval_service_rule_reads_only_its_channel(tmp_path: Path) -> None:
    events = tmp_path / "mixed.json"
    data = {"ServiceName": "evil", "ServiceFileName": "C:\\evil.exe"}
    events.write_text(
        "\n".join(
            [
                record(4697, "Security", data, "Microsoft-Windows-Security-Auditing"),
                record(4697, "System", data, "Service Control Manager"),
                json.dumps({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 4697, **data}),
                json.dumps({"Channel": "Security", "EventID": 4697, **data}),
                json.dumps({"EventID": 4697, **data}),  # no channel: a plain event, evaluated as is
            ]
        ),
        encoding="utf-8",
    )
    code, out, _ = run_eval(_rule(tmp_path, SECURITY_RULE), events)
    assert code == 0 and [line["index"] for line in out] == [0, 3, 4]


def test_eval_plain_events_are_unaffected_by_the_log_source(rule_file: Path, tmp_path: Path) -> None:
    events = tmp_path / "plain.json"
    events.write_text(
        json.dumps([{"Image": "C:\\x\\AnyDesk.exe"}, {"Image": "C:\\x\\a.exe"}]), encoding="utf-8"
    )
    assert [line["index"] for line in run_eval(rule_file, events)[1]] == [0]
    assert [line["index"] for line in run_eval(_rule(tmp_path, FILE_RULE), events)[1]] == [0]


SYSMON_XML = """<?xml version="1.0" encoding="utf-8"?>
<Events>
<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>
<Provider Name="Microsoft-Windows-Sysmon" Guid="{{5770385f-c22a-43e0-bf4c-06f5698ffbd9}}"/>
<EventID>{event_id}</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel>
<Computer>host1</Computer><Security UserID="S-1-5-18"/></System>
<EventData><Data Name="Image">C:\\Tools\\AnyDesk.exe</Data>{extra}</EventData></Event>
</Events>
"""


def test_event_log_xml_is_read_as_its_json_rendering() -> None:
    one_data = SYSMON_XML.format(event_id=11, extra="")
    [event] = parse_events(one_data).events
    assert event["Image"] == "C:\\Tools\\AnyDesk.exe" and event["EventID"] == "11"
    assert event["Channel"] == SYSMON and event["Provider_Name"] == "Microsoft-Windows-Sysmon"
    assert event["Security_UserID"] == "S-1-5-18" and event["Computer"] == "host1"
    two = SYSMON_XML.format(event_id=1, extra='<Data Name="CommandLine">anydesk.exe</Data><Data Name="X"/>')
    [event] = parse_events(two).events
    assert event["CommandLine"] == "anydesk.exe" and event["X"] is None
    with pytest.raises(SiemcError, match="invalid event-log XML") as error:
        parse_events("<Event>\n<System>\n</Event>")
    assert error.value.line == 3


def test_eval_sysmon_xml_export_applies_the_log_source(rule_file: Path, tmp_path: Path) -> None:
    events = tmp_path / "sysmon.xml"
    # wevtutil's export: <Event> elements one after the other, no enclosing element.
    records = [
        SYSMON_XML.format(event_id=i, extra="").split("<Events>")[1].split("</Events>")[0] for i in (11, 1)
    ]
    events.write_text("".join(records), encoding="utf-8")
    assert [line["index"] for line in run_eval(rule_file, events)[1]] == [1]
    assert [line["index"] for line in run_eval(_rule(tmp_path, FILE_RULE), events)[1]] == [0]


def test_eval_winlogbeat_records_apply_the_log_source(rule_file: Path, tmp_path: Path) -> None:
    events = tmp_path / "winlogbeat.ndjson"
    image = "C:\\Tools\\AnyDesk.exe"

    def beat(event_id: str, data: dict[str, Any]) -> str:
        winlog = {"channel": SYSMON, "event_id": event_id, "computer_name": "host1", "event_data": data}
        return json.dumps({"@timestamp": "2025-10-24T23:34:34Z", "host": {"name": "host1"}, "winlog": winlog})

    events.write_text(
        "\n".join([beat("11", {"Image": image, "TargetFilename": "C:\\x"}), beat("1", {"Image": image})]),
        encoding="utf-8",
    )
    [created, started] = parse_events(events.read_text(encoding="utf-8")).events
    assert started == {"Image": image, "Channel": SYSMON, "EventID": "1", "Computer": "host1"}
    assert created["TargetFilename"] == "C:\\x"
    assert [line["index"] for line in run_eval(rule_file, events)[1]] == [1]
    assert [line["index"] for line in run_eval(_rule(tmp_path, FILE_RULE), events)[1]] == [0]


def test_eval_and_the_targets_share_one_channel_table() -> None:
    # Services named by pySigma's channel table or siemc's additions filter records in eval exactly as
    # every target's Windows event-log source selects them.
    from siemc.compile.logsources import service_channels

    dns = SigmaLogSource(product="windows", service="dns-client")
    check = record_filter(dns)
    assert check is not None
    assert check({"Channel": "Microsoft-Windows-DNS Client Events/Operational", "EventID": 3008})
    assert not check({"Channel": SYSMON, "EventID": 22})
    iis = record_filter(SigmaLogSource(product="windows", service="iis-configuration"))
    assert iis is not None and iis({"Channel": "Microsoft-IIS-Configuration/Operational", "EventID": 29})
    from siemc.backends import get_target

    query = get_target("spl").render(
        parse_rule(
            "title: t\nlogsource: {product: windows, service: dns-client}\n"
            "detection:\n  sel: {QueryName: evil.com}\n  condition: sel\n",
            Path("t.yml"),
        )
    )
    assert service_channels()["dns-client"][0] in query
