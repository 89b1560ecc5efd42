"""QRadar data model: fields are read under the property names IBM's DSMs and content extensions give
them (IBM/pySigma-backend-QRadar-AQL sigma/mapping/fields.py, IBM's Linux content extension), never as
a Sigma name QRadar would reject. QRadar has no data model here yet: IBM names no property holding the
Windows event-log channel, nor the Sysmon for Linux event id the Linux selectors test."""

from __future__ import annotations

from pathlib import Path

from siemc.backends import get_target

from siemc.compile.datamodel import models_folder, target_datamodel
from siemc.compile.rule import parse_rule
from tests.conftest import load_pack_rule
from tests.engines import reference, run_target


def _rule(text: str):
    head = "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n"
    return parse_rule(head + text, Path("t.yml"))


def _render(text: str) -> str:
    return get_target("aql").render(_rule(text))


def test_aql_has_no_data_model_yet() -> None:
    """Windows: siemc selects Sysmon, PowerShell and Security events by their event-log channel, and IBM
    names no property or column holding it (IBM/pySigma-backend-QRadar-AQL sigma/mapping/services.py
    selects them by devicetype 12 alone), so a model of IBM's Windows properties would leave every
    channel-selected output unsupported. Linux OS: IBM's Linux content extension documents its
    properties ("Type", "Command", "Process ID"), but none for the Sysmon for Linux event id the
    process_creation, file_event and network_connection selectors test, so a Linux OS model makes
    those outputs unsupported (the corpus share on QRadar falls from 312/315 to 296/315)."""
    assert not (models_folder() / "aql.yml").exists()
    assert target_datamodel("aql") == {}
    text = _render(
        "logsource: {category: registry_set, product: windows}\n"
        "detection:\n  sel: {TargetObject|contains: '\\\\Run\\\\'}\n  condition: sel\n"
    )
    assert "devicetype = 12" in text and '"Event ID" = 13' in text and '"Object Name"' in text


def test_process_creation_reads_ibms_windows_properties() -> None:
    """IBM's mapping: EventID -> "Event ID", CommandLine -> "Command", Image -> "Process Path",
    User -> "Username"."""
    text = _render(
        "logsource: {category: process_creation, product: windows}\n"
        "detection:\n  sel: {Image|contains: '\\\\Temp\\\\', CommandLine|contains: ' -enc ',"
        " User|contains: adm}\n"
        "  condition: sel\n"
    )
    assert 'devicetype = 12 AND "Event ID" = 1' in text
    assert '"Process Path"' in text and '"Command"' in text and '"Username"' in text
    assert '"EventID"' not in text and '"CommandLine"' not in text and '"Image"' not in text


def test_t1219_reads_ibms_process_properties() -> None:
    """IBM's mapping reads ParentImage as "Parent Process Path" and names no "Parent Process Name", so
    the pack's parent test stays on the path."""
    text = get_target("aql").render(load_pack_rule())
    assert '"Process Name"' in text and '"Parent Process Path"' in text and '"Command"' in text
    assert '"Parent Process Name"' not in text


def test_linux_audit_type_reads_the_type_property() -> None:
    """IBM's Linux content extension 1.1.2: "Type" is extracted by type=([^\\s]*), the audit record type."""
    text = _render(
        "logsource: {product: linux, service: auditd}\ndetection:\n  sel: {type: EXECVE}\n  condition: sel\n"
    )
    assert "LOGSOURCETYPENAME(devicetype) = 'Linux OS'" in text and '"Type"' in text
    assert '"type"' not in text


def test_linux_process_fields_read_the_content_extension_names() -> None:
    """IBM's Linux content extension 1.1.3 renames Process CommandLine to "Command" and Process Id to
    "Process ID"."""
    text = _render(
        "logsource: {category: process_creation, product: linux}\n"
        "detection:\n  sel: {CommandLine|contains: 'base64 -d', ProcessId: 4}\n  condition: sel\n"
    )
    assert '"Command"' in text and '"Process ID"' in text
    assert '"CommandLine"' not in text and '"ProcessId"' not in text


def test_network_and_web_fields_are_qradar_columns_and_properties() -> None:
    firewall = _render(
        "logsource: {category: firewall}\ndetection:\n  sel: {dst_ip|cidr: 10.0.0.0/8}\n  condition: sel\n"
    )
    assert "INCIDR('10.0.0.0/8', destinationip)" in firewall and '"dst_ip"' not in firewall
    proxy = _render(
        "logsource: {category: proxy}\ndetection:\n  sel: {c-uri|contains: '/evil'}\n  condition: sel\n"
    )
    assert "URL" in proxy and '"c-uri"' not in proxy


def test_a_renamed_field_agrees_with_the_reference() -> None:
    detection = _rule(
        "logsource: {category: process_creation, product: windows}\n"
        "detection:\n  sel: {CommandLine|contains: ' -enc ', ParentImage|endswith: '\\\\winword.exe'}\n"
        "  condition: sel\n"
    )
    events = [
        {"CommandLine": "powershell -enc AAA", "ParentImage": "C:\\o\\WINWORD.EXE", "Image": "C:\\p.exe"},
        {"CommandLine": "powershell -enc AAA", "ParentImage": "C:\\o\\excel.exe", "Image": "C:\\p.exe"},
        {"CommandLine": "powershell -c x", "ParentImage": "C:\\o\\WINWORD.EXE", "Image": "C:\\p.exe"},
    ]
    query = get_target("aql").render(detection)
    assert '"Parent Process Path"' in query and '"Command"' in query
    expected = [i for i, (hit, _) in enumerate(reference("aql", detection, events)) if hit]
    assert expected == [0]
    assert [row.index for row in run_target("aql", detection, query, events)] == expected
