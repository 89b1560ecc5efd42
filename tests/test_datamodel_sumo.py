"""Sumo Logic Cloud SIEM data model: Windows records as Cloud SIEM's own log mappings write them."""

from __future__ import annotations

from pathlib import Path

from siemc.backends import get_target

from siemc.compile.datamodel import load_datamodel, models_folder
from siemc.compile.rule import parse_rule
from tests.conftest import load_pack_rule
from tests.engines import ENGINES, native_events, reference, run_target

SYSMON_1 = 'metadata_deviceEventId="Microsoft-Windows-Sysmon/Operational-1"'


def _rule(text: str) -> str:
    return "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n" + text


def _render(text: str) -> str:
    return get_target("sumo").render(parse_rule(_rule(text), Path("t.yml")))


def test_the_model_loads_with_provenance_on_every_source() -> None:
    models = load_datamodel(models_folder() / "sumo.yml")
    assert {"sec_record_endpoint_process", "sec_record_network_connection", "sec_record_windows"} <= set(
        models
    )
    for model in models.values():
        assert model.provenance and all(p.strip() for p in model.provenance)
        assert model.has("fields.EventData.AnyName")


def test_t1219_selects_process_records_not_file_creates_of_the_same_record_type() -> None:
    text = get_target("sumo").render(load_pack_rule())
    scope = text.splitlines()[3]
    assert scope.startswith("_index=sec_record_endpoint ")
    assert SYSMON_1 in scope and 'metadata_deviceEventId="Security-4688"' in scope


def test_a_field_outside_the_schema_stays_on_the_process_record() -> None:
    text = _render(
        "logsource: {category: process_creation, product: windows}\n"
        "detection:\n  sel: {Image|endswith: '\\\\a.exe', IntegrityLevel: High}\n  condition: sel\n"
    )
    assert SYSMON_1 in text
    assert '%"fields.EventData.IntegrityLevel" = "High"' in text or "fields.EventData.IntegrityLevel" in text
    assert "fields.Channel" not in text


def test_image_load_reads_the_schema_fields_sysmon_7_is_mapped_to() -> None:
    text = _render(
        "logsource: {category: image_load, product: windows}\n"
        "detection:\n  sel: {ImageLoaded|endswith: '\\\\x.dll', Image|endswith: '\\\\a.exe'}\n"
        "  condition: sel\n"
    )
    assert "Operational-7" in text
    assert "toLowerCase(baseImage) matches" in text and "toLowerCase(parentBaseImage) matches" in text


def test_a_renamed_field_agrees_with_the_reference_on_model_built_events() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {category: registry_set, product: windows}\n"
            "detection:\n  sel: {TargetObject|contains: '\\\\Run\\\\', Details|contains: 'evil'}\n"
            "  condition: sel\n"
        ),
        Path("t.yml"),
    )
    events = [
        {"TargetObject": "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\x", "Details": "evil.exe"},
        {"TargetObject": "HKLM\\Software\\Other\\x", "Details": "evil.exe"},
        {"TargetObject": "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\x", "Details": "good.exe"},
    ]
    query = get_target("sumo").render(detection)
    assert "changeTarget" in query and "resource" in query
    expected = [i for i, (hit, _) in enumerate(reference("sumo", detection, events)) if hit]
    assert expected == [0]
    assert [row.index for row in run_target("sumo", detection, query, events)] == expected


def test_t1219_does_not_match_a_file_the_remote_access_tool_writes() -> None:
    # Sysmon 11 (file create) is an EndpointProcess record in sec_record_endpoint too, with the
    # writing process in baseImage: the event id of the mapping must keep it out.
    detection = load_pack_rule()
    target = get_target("sumo")
    query = target.render(detection)
    source = target.source_for(detection.sigma)
    rows = native_events("sumo", source, [{"Image": "C:\\Tools\\AnyDesk.exe"}] * 2)
    rows[1] |= {
        "metadata_deviceEventId": "Microsoft-Windows-Sysmon/Operational-11",
        "file_path": "C:\\Users\\a\\AppData\\Roaming\\AnyDesk\\ad.trace",
    }
    assert [row.index for row in ENGINES["sumo"](query, source, rows, {})] == [0]
