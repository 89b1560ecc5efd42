"""QRadar: Windows and web fields are read under the property names IBM's DSMs and content give them
(IBM/pySigma-backend-QRadar-AQL sigma/mapping/fields.py), never as a Sigma name QRadar would reject."""

from __future__ import annotations

from pathlib import Path

from siemc.backends import get_target

from siemc.compile.rule import parse_rule
from tests.conftest import load_pack_rule
from tests.engines import reference, run_target


def _rule(text: str):
    head = "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n"
    return parse_rule(head + text, Path("t.yml"))


def test_registry_rules_read_the_object_name_property() -> None:
    text = get_target("aql").render(
        _rule(
            "logsource: {category: registry_set, product: windows}\n"
            "detection:\n  sel: {TargetObject|contains: '\\\\Run\\\\', Image|endswith: '\\\\a.exe'}\n"
            "  condition: sel\n"
        )
    )
    assert '"Object Name"' in text and '"Process Name"' in text
    assert '"TargetObject"' not in text and '"Image"' not in text


def test_network_and_web_fields_are_qradar_columns_and_properties() -> None:
    network = get_target("aql").render(
        _rule(
            "logsource: {category: network_connection, product: windows}\n"
            "detection:\n  sel: {DestinationIp|cidr: 10.0.0.0/8, Image|endswith: '\\\\a.exe'}\n"
            "  condition: sel\n"
        )
    )
    assert "INCIDR('10.0.0.0/8', destinationip)" in network and '"DestinationIp"' not in network
    proxy = get_target("aql").render(
        _rule(
            "logsource: {category: proxy}\ndetection:\n  sel: {cs-uri|contains: '/evil'}\n  condition: sel\n"
        )
    )
    assert "URL" in proxy and '"cs-uri"' not in proxy


def test_t1219_reads_the_dsm_process_properties() -> None:
    text = get_target("aql").render(load_pack_rule())
    assert '"Process Name"' in text and '"Parent Process Name"' in text and '"Command"' in text


def test_a_renamed_field_agrees_with_the_reference() -> None:
    detection = _rule(
        "logsource: {category: file_event, product: windows}\n"
        "detection:\n  sel: {TargetFilename|endswith: '.ps1', Image|endswith: '\\\\winword.exe'}\n"
        "  condition: sel\n"
    )
    events = [
        {"TargetFilename": "C:\\x\\a.ps1", "Image": "C:\\o\\WINWORD.EXE"},
        {"TargetFilename": "C:\\x\\a.txt", "Image": "C:\\o\\WINWORD.EXE"},
    ]
    query = get_target("aql").render(detection)
    assert '"Filename"' in query
    expected = [i for i, (hit, _) in enumerate(reference("aql", detection, events)) if hit]
    assert expected == [0]
    assert [row.index for row in run_target("aql", detection, query, events)] == expected
