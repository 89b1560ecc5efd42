"""QRadar data model: fields are read under the property names IBM's DSMs and content extensions give
them (IBM/pySigma-backend-QRadar-AQL sigma/mapping/fields.py, IBM's Linux content extension), never as
a Sigma name QRadar would reject; a field IBM names no property for is unsupported on a modelled source
(Linux OS). Windows is not modelled: IBM names no property holding the event-log channel."""

from __future__ import annotations

from pathlib import Path

import pytest
from siemc.backends import get_target

from siemc.compile.datamodel import load_datamodel, models_folder
from siemc.compile.rule import parse_rule
from siemc.diagnostics import Unsupported
from tests.engines import reference, run_target


def _rule(text: str):
    head = "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n"
    return parse_rule(head + text, Path("t.yml"))


def _render(text: str) -> str:
    return get_target("aql").render(_rule(text))


def test_the_model_loads_with_provenance_on_every_source() -> None:
    models = load_datamodel(models_folder() / "aql.yml")
    assert "Linux OS" in models
    for model in models.values():
        assert model.provenance and all(p.strip() for p in model.provenance)
        assert model.has("starttime") and model.has("UTF8(payload)")
    linux = models["Linux OS"]
    assert linux.has("Type") and linux.has("Command") and linux.has("Process ID")
    # Renamed by the Linux content extension 1.1.3: the old names are not properties any more.
    assert not linux.has("Process CommandLine") and not linux.has("EventID")


def test_windows_has_no_model_because_ibm_names_no_channel_property() -> None:
    """siemc selects Sysmon, PowerShell and Security events by their event-log channel. IBM's Sigma
    mapping for QRadar (IBM/pySigma-backend-QRadar-AQL sigma/mapping/services.py) selects them by
    devicetype 12 alone and IBM names no channel property or column, so a Windows model of IBM's
    properties only would leave every channel-selected output unsupported: Windows stays unmodelled."""
    assert "Windows" not in load_datamodel(models_folder() / "aql.yml")
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


def test_linux_audit_type_reads_the_type_property() -> None:
    """IBM's Linux content extension 1.1.2: "Type" is extracted by type=([^\\s]*), the audit record type."""
    text = _render(
        "logsource: {product: linux, service: auditd}\ndetection:\n  sel: {type: EXECVE}\n  condition: sel\n"
    )
    assert "LOGSOURCETYPENAME(devicetype) = 'Linux OS'" in text and '"Type"' in text
    assert '"type"' not in text


def test_linux_sysmon_selectors_are_unsupported() -> None:
    """The Linux OS DSM and IBM's Linux content have no EventID property for Sysmon for Linux."""
    with pytest.raises(Unsupported, match="Linux OS has no field EventID"):
        _render(
            "logsource: {category: process_creation, product: linux}\n"
            "detection:\n  sel: {Image|endswith: '/curl'}\n  condition: sel\n"
        )


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
