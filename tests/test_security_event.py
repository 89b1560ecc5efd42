"""The Windows Security channel on KQL: Sentinel's SecurityEvent table, its typed columns, and the
unmapped-field policy of a fixed table (a field without a column is unsupported, never searched in
WindowsEvent)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from siemc.backends import TARGET_NAMES, get_target
from sigma.rule import SigmaLogSource

from siemc.compile.build import compile_detection
from siemc.compile.mappings import SiteSources, entry_for, load_mapping
from siemc.compile.rule import Detection, load_rule
from siemc.diagnostics import Unsupported
from siemc.resources import mappings_folder
from siemc.verify.ruletest import AGREES, load_target_engines, run_rule_tests
from tests.checkers.kusto import SENTINEL_SCHEMA_PATH
from tests.conftest import REPO

RULE = REPO / "tests" / "rules" / "security_event_typed_columns.yml"
SECURITY = SigmaLogSource(product="windows", service="security")


def _rule(tmp_path: Path, detection: str) -> Detection:
    path = tmp_path / "rule.yml"
    path.write_text(f"title: t\nlogsource: {{product: windows, service: security}}\ndetection:\n{detection}")
    return load_rule(path)


def _where(tmp_path: Path, detection: str) -> str:
    return get_target("kql").render(_rule(tmp_path, detection)).splitlines()[-1]


def test_the_security_channel_is_the_security_event_table(tmp_path: Path) -> None:
    detection = _rule(
        tmp_path, "  sel: {EventID: 4624, TargetUserName: bob, Provider_Name: x}\n  condition: sel\n"
    )
    source = get_target("kql").source_for(detection.sigma)
    assert source.name == "SecurityEvent"
    assert source.selector == 'SecurityEvent\n| where Channel == "Security"'
    query = get_target("kql").render(detection)
    assert 'EventID == 4624 and TargetUserName =~ "bob" and EventSourceName =~ "x"' in query
    assert "WindowsEvent" not in query and "EventData" not in query


def test_a_field_without_a_column_is_unsupported(tmp_path: Path) -> None:
    detection = _rule(tmp_path, "  sel: {EventID: 4769, TicketEncryptionType: '0x17'}\n  condition: sel\n")
    with pytest.raises(Unsupported, match="field 'TicketEncryptionType' has no column in SecurityEvent"):
        get_target("kql").render(detection)
    # Agent-composed columns are no event-data names: a rule's `Account` is not SecurityEvent's.
    composed = _rule(tmp_path, "  sel: {Account: x}\n  condition: sel\n")
    with pytest.raises(Unsupported, match="field 'Account' has no column in SecurityEvent"):
        get_target("kql").render(composed)


@pytest.mark.parametrize(
    ("detection", "where"),
    [
        ("{LogonType: 3}", "LogonType == 3"),
        ("{LogonType: '3'}", "LogonType == 3"),  # the record's text, as the column holds it
        ("{LogonType: ['3', 10]}", "LogonType in (3, 10)"),
        ("{LogonType: '03'}", 'tostring(LogonType) =~ "03"'),  # no integer reads as 03
        ("{LogonType|startswith: '1'}", 'tostring(LogonType) startswith "1"'),
        ("{ErrorCode: ['0x5', 5]}", 'tostring(ErrorCode) in~ ("0x5", "5")'),
        ("{LogonType|re: '^1[01]$'}", 'tostring(LogonType) matches regex @"^1[01](?:\\n?\\z)"'),
        ("{KeyLength|gte: 128}", "(isnotnull(KeyLength) and KeyLength >= 128)"),
        ("{LogonType: null}", "isempty(LogonType)"),
        ("{IpPort: 0}", 'IpPort =~ "0"'),  # a string column compares a number's text
        ("{IpPort: [0, 445]}", 'IpPort in~ ("0", "445")'),
    ],
)
def test_values_are_compared_as_the_typed_column_holds_them(
    tmp_path: Path, detection: str, where: str
) -> None:
    assert _where(tmp_path, f"  sel: {detection}\n  condition: sel\n") == f"| where {where}"


def test_the_rule_tests_agree_on_every_target() -> None:
    engines = load_target_engines()
    assert engines is not None
    detection = load_rule(RULE)
    assert get_target("kql").source_for(detection.sigma).name == "SecurityEvent"
    # Elastic's Security pipeline moves IpAddress to source.ip for some event ids only, and keeps "-"
    # where it is: no one field holds it (backends/datamodels/eql.yml), so EQL says so.
    # IBM names no QRadar property for the logon's source port, and Google documents no UDM field for
    # the logon type of a WINEVTLOG Security event.
    unsupported = {
        "eql": "'IpAddress' has no column in winlog",
        "aql": "Windows has no field IpPort",
        "yaral": "'LogonType' has no column in WINEVTLOG Security",
    }
    targets = [name for name in TARGET_NAMES if name not in unsupported]
    for name, reason in unsupported.items():
        with pytest.raises(Unsupported, match=reason):
            compile_detection(detection, name)
    outcomes = run_rule_tests(detection, targets, engines, compile_detection)
    failures = [
        f"{o.test.name}: {o.reference_error} {o.targets}"
        for o in outcomes
        if o.reference_error or any(v[0] != AGREES for v in o.targets.values())
    ]
    assert failures == []
    assert len(outcomes) == len(detection.extension.tests) >= 9


def test_the_mapping_lists_security_event_columns_with_their_types() -> None:
    """Every column the mapping names is a SecurityEvent column of the same type in the schema the
    KQL checkers use (from the Azure Monitor table reference)."""
    schema = json.loads(SENTINEL_SCHEMA_PATH.read_text(encoding="utf-8"))["tables"]["SecurityEvent"]
    entry = entry_for(load_mapping(mappings_folder() / "kql.yml"), SECURITY)
    assert entry is not None
    (spec,) = entry.candidates
    assert spec.column_types and all(schema[c] == t for c, t in spec.column_types.items())
    assert {c: t for c, t in schema.items() if t == "int"}.keys() == {
        c for c, t in spec.column_types.items() if t == "int"
    }
    assert all(native in schema for native in spec.fields.values())


def test_windows_event_stays_a_site_choice(tmp_path: Path) -> None:
    """The commented example in kql.yml, in place of the SecurityEvent entry, puts Security events in
    the generated Windows event-log source: Event (a data collection rule of the site's own), or
    WindowsEvent where the site forwards its event logs (Windows Event Forwarding)."""
    text = (mappings_folder() / "kql.yml").read_text(encoding="utf-8")
    example = re.search(
        r"^ *# *(- \{logsource: product=windows service=security, candidates: .*\})$", text, re.M
    )
    assert example is not None
    document = yaml.safe_load(text)
    document["sources"] = [
        source
        for source in document["sources"]
        if source.get("logsource") != "product=windows service=security"
    ] + yaml.safe_load(example.group(1))
    path = tmp_path / "kql.yml"
    path.write_text(yaml.safe_dump(document))
    entry = entry_for(load_mapping(path), SECURITY)
    assert entry is not None
    (spec,) = entry.candidates
    assert (spec.name, spec.selector.splitlines()[:2], spec.unmapped) == (
        "Event",
        ["Event", '| where EventLog == "Security"'],
        "EventFields.{name}",
    )
    forwarded = SiteSources(tmp_path / "siemc.yml", "targets.kql", windows_events="WindowsEvent")
    entry = entry_for(load_mapping(path, forwarded), SECURITY)
    assert entry is not None
    (spec,) = entry.candidates
    assert (spec.name, spec.selector, spec.unmapped) == (
        "WindowsEvent",
        'WindowsEvent\n| where Channel == "Security"',
        "EventData.{name}",
    )
