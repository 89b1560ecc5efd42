"""The Windows file log-source categories beyond file_event: file_change (Sysmon event 2) and the
Kernel-File ETW categories file_access and file_rename, which no event-log channel carries and each
target maps to its own EDR events or leaves unmapped.

The rules are the golden unit cases tests/golden/rules/file_*.yml; their `siemc.tests` run on the
reference evaluator and on every target's engine (Kusto.Language + duckdb-kql, eql, the models)."""

from __future__ import annotations

from pathlib import Path

import pytest
from siemc.backends import TARGET_NAMES, get_target
from sigma.rule import SigmaLogSource

from siemc.compile.build import compile_detection
from siemc.compile.logsources import record_filter
from siemc.compile.rule import Detection, load_rule
from siemc.config import DEFAULT, SiteConfig
from siemc.diagnostics import Unsupported
from siemc.verify.ruletest import AGREES, UNSUPPORTED, load_target_engines, run_rule_tests
from tests.conftest import EVERY_SOURCE_SITE, REPO
from tests.engines import rule_fields

RULES = REPO / "tests" / "golden" / "rules"
SYSMON_2 = {
    "kql": 'Event\n| where EventLog == "Microsoft-Windows-Sysmon/Operational" and EventID == 2',
    "spl": 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=2',
    "eql": 'any where host.os.type == "windows" and winlog.channel == "Microsoft-Windows-Sysmon/Operational" '
    'and event.code == "2"',
    "aql": "devicetype = 12 AND UTF8(payload) IMATCHES "
    "'(?s).*\\tAgentLogFile=Microsoft-Windows-Sysmon/Operational\\t.*' AND \"Event ID\" = 2",
    "sumo": '_index=sec_record_endpoint metadata_vendor="Microsoft" metadata_product="Windows" '
    'metadata_deviceEventId="Microsoft-Windows-Sysmon/Operational-2"',
    "yaral": '$e.metadata.log_type = "WINDOWS_SYSMON" and $e.metadata.product_event_type = "2"',
    "logscale": '#windows.Channel="Microsoft-Windows-Sysmon/Operational" #windows.EventID="2"',
}

# A category a target selects whose golden rule reads a field the target's data model lacks: the reason.
# IBM names no QRadar property for Sysmon 2's creation times.
MODEL_LACKS = {("file_change", "aql"): "Windows has no field CreationUtcTime"}
# Targets whose source for a category has no vendor data model: unsupported by default, the query
# below where the site vouches for the source (targets.<target>.unmodelled).
UNMODELLED = {
    ("file_access", "spl"): "eventtype windows_file_access",
    ("file_rename", "spl"): "eventtype windows_file_rename",
    ("file_access", "yaral"): "FILE_OPEN",
    ("file_change", "yaral"): "WINDOWS_SYSMON file_change",
    ("file_rename", "yaral"): "FILE_MOVE",
}

# category -> target -> (selector text in the output, {Sigma field: native field}); a target absent
# from a category's table does not map it (or its data model lacks a field: MODEL_LACKS).
EXPECTED: dict[str, dict[str, tuple[str, dict[str, str]]]] = {
    "file_change": {
        "kql": (
            SYSMON_2["kql"],
            {"TargetFilename": "EventFields.TargetFilename", "Image": "EventFields.Image"},
        ),
        "spl": (SYSMON_2["spl"], {"PreviousCreationUtcTime": "PreviousCreationUtcTime"}),
        "eql": (
            SYSMON_2["eql"],
            {"CreationUtcTime": "winlog.event_data.CreationUtcTime", "TargetFilename": "file.path"},
        ),
        "sumo": (SYSMON_2["sumo"], {"TargetFilename": "file_path"}),
        "yaral": (SYSMON_2["yaral"], {"TargetFilename": "target.file.full_path"}),
        "logscale": (SYSMON_2["logscale"], {"TargetFilename": "windows.EventData.TargetFilename"}),
    },
    "file_rename": {
        "kql": (
            'DeviceFileEvents\n| where ActionType == "FileRenamed"',
            {
                "TargetFilename": "FolderPath",
                "SourceFilename": "PreviousFolderPath",
                "Image": "InitiatingProcessFolderPath",
            },
        ),
        "spl": ('eventtype="windows_file_rename"', {"SourceFilename": "SourceFilename"}),
        "eql": (
            'file where event.action == "rename" and host.os.type == "windows"',
            {
                "TargetFilename": "file.path",
                "SourceFilename": "file.Ext.original.path",
                "Image": "process.executable",
            },
        ),
        "yaral": (
            '$e.metadata.event_type = "FILE_MOVE"',
            {
                "TargetFilename": "target.file.full_path",
                "SourceFilename": "src.file.full_path",
                "Image": "principal.process.file.full_path",
            },
        ),
    },
    "file_access": {
        "spl": ('eventtype="windows_file_access"', {"FileName": "FileName"}),
        "eql": (
            'file where event.action == "open" and host.os.type == "windows"',
            {"FileName": "file.path", "Image": "process.executable", "CommandLine": "process.command_line"},
        ),
        "yaral": (
            '($e.metadata.event_type = "FILE_OPEN" or $e.metadata.event_type = "FILE_READ")',
            {
                "FileName": "target.file.full_path",
                "Image": "principal.process.file.full_path",
                "ParentImage": "principal.process.parent_process.file.full_path",
            },
        ),
    },
}


def _golden(category: str, site: SiteConfig = DEFAULT) -> Detection:
    return load_rule(RULES / f"{category}.yml", site)


@pytest.mark.parametrize("target_name", TARGET_NAMES)
@pytest.mark.parametrize("category", sorted(EXPECTED))
def test_each_target_selects_the_category_s_events(category: str, target_name: str) -> None:
    detection = _golden(category)
    target = get_target(target_name)
    if (category, target_name) in UNMODELLED:
        with pytest.raises(Unsupported, match=f"no data model of {UNMODELLED[category, target_name]}"):
            compile_detection(detection, target_name)
        detection = _golden(category, EVERY_SOURCE_SITE)
        target = get_target(target_name, EVERY_SOURCE_SITE)
    if (category, target_name) in MODEL_LACKS:
        with pytest.raises(Unsupported, match=MODEL_LACKS[category, target_name]):
            compile_detection(detection, target_name)
        return
    if target_name not in EXPECTED[category]:
        unmapped = f"log source category={category} product=windows is not mapped"
        with pytest.raises(Unsupported, match=unmapped):
            compile_detection(detection, target_name)
        return
    selector, fields = EXPECTED[category][target_name]
    query = compile_detection(detection, target_name)
    assert selector in query
    source = target.source_for(detection.sigma)
    assert {name: source.native_field(name) for name in fields} == fields
    for name in rule_fields(detection) & set(fields):
        assert fields[name] in query, name


@pytest.mark.parametrize("category", sorted(EXPECTED))
def test_the_rule_tests_agree_on_every_target_that_maps_the_category(category: str) -> None:
    engines = load_target_engines()
    assert engines is not None
    detection = _golden(category, EVERY_SOURCE_SITE)
    assert len(detection.extension.tests) >= 4
    outcomes = run_rule_tests(detection, TARGET_NAMES, engines, compile_detection)
    for outcome in outcomes:
        assert outcome.reference_error is None, (outcome.test.name, outcome.reference_error)
        for target_name, (verdict, detail) in outcome.targets.items():
            expected = AGREES if target_name in EXPECTED[category] else UNSUPPORTED
            assert verdict == expected, (outcome.test.name, target_name, verdict, detail)


def _access_rule(tmp_path: Path, selection: str, site: SiteConfig = DEFAULT) -> Detection:
    path = tmp_path / "access.yml"
    path.write_text(
        "title: t\nlogsource: {category: file_access, product: windows}\n"
        f"detection:\n  sel: {selection}\n  condition: sel\n"
    )
    return load_rule(path, site)


def test_elastic_falls_back_to_the_log_source_dataset_for_fields_defend_lacks(tmp_path: Path) -> None:
    """Defend's file events carry no parent path: such a rule is unsupported by default, and keeps the
    catch-all's dataset form where the site collects that dataset."""
    selection = "{FileName|endswith: '\\\\Login Data', ParentImage: Idle}"
    with pytest.raises(Unsupported, match=r"no column in file open; windows\.file_access holds the rule"):
        compile_detection(_access_rule(tmp_path, selection), "eql")
    detection = _access_rule(tmp_path, selection, EVERY_SOURCE_SITE)
    query = compile_detection(detection, "eql")
    assert 'any where event.dataset == "windows.file_access"' in query
    assert "FileName" in query and "ParentImage" in query
    # UDM keeps the parent's path; Defender has no file-read events at all.
    assert "principal.process.parent_process.file.full_path" in compile_detection(detection, "yaral")


def test_a_rename_has_no_command_line_in_elastic_defend(tmp_path: Path) -> None:
    path = tmp_path / "rename.yml"
    path.write_text(
        "title: t\nlogsource: {category: file_rename, product: windows}\n"
        "detection:\n  sel: {TargetFilename|endswith: '.dll', CommandLine|contains: ren}\n  condition: sel\n"
    )
    with pytest.raises(Unsupported, match="'CommandLine' has no column in file rename"):
        compile_detection(load_rule(path), "eql")
    query = compile_detection(load_rule(path, EVERY_SOURCE_SITE), "eql")
    assert 'event.dataset == "windows.file_rename"' in query


def test_record_filters_follow_the_taxonomy() -> None:
    change = record_filter(SigmaLogSource(category="file_change", product="windows"))
    assert change is not None
    sysmon = "Microsoft-Windows-Sysmon/Operational"
    assert change({"Channel": sysmon, "EventID": 2}) and not change({"Channel": sysmon, "EventID": 11})
    detected = record_filter(SigmaLogSource(category="file_delete_detected", product="windows"))
    assert detected is not None and detected({"Channel": sysmon, "EventID": 26})
    assert not detected({"Channel": sysmon, "EventID": 23})
    # Kernel-File ETW categories have no event-log records to filter.
    for category in ("file_access", "file_rename"):
        assert record_filter(SigmaLogSource(category=category, product="windows")) is None
