"""Splunk data model: Entra ID logs as the Microsoft Cloud Services add-on indexes the exported JSON."""

from __future__ import annotations

from pathlib import Path

from siemc.backends import get_target

from siemc.compile.datamodel import load_datamodel, models_folder
from siemc.compile.rule import parse_rule
from tests.conftest import load_pack_rule
from tests.engines import reference, run_target


def _rule(text: str) -> str:
    return "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n" + text


def test_the_model_loads_with_provenance_on_every_source() -> None:
    models = load_datamodel(models_folder() / "spl.yml")
    assert {"azure:monitor:aad SignInLogs", "azure:monitor:aad AuditLogs"} <= set(models)
    for model in models.values():
        assert model.provenance and all(p.strip() for p in model.provenance)


def test_sign_in_results_are_read_as_the_export_spells_them() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {product: azure, service: signinlogs}\n"
            "detection:\n  sel: {ResultType: 50126, AuthenticationRequirement: singleFactorAuthentication}\n"
            "  condition: sel\n"
        ),
        Path("t.yml"),
    )
    query = get_target("spl").render(detection)
    assert "resultType=" in query and "ResultType" not in query
    assert "properties.authenticationRequirement=" in query
    events = [
        {"ResultType": "50126", "AuthenticationRequirement": "singleFactorAuthentication"},
        {"ResultType": "0", "AuthenticationRequirement": "singleFactorAuthentication"},
    ]
    expected = [i for i, (hit, _) in enumerate(reference("spl", detection, events)) if hit]
    assert expected == [0]
    assert [row.index for row in run_target("spl", detection, query, events)] == expected


def test_a_column_the_export_lacks_is_unsupported_not_silently_empty() -> None:
    from siemc.diagnostics import Unsupported

    detection = parse_rule(
        _rule(
            "logsource: {product: azure, service: signinlogs}\n"
            "detection:\n  sel: {Status: Success}\n  condition: sel\n"
        ),
        Path("t.yml"),
    )
    try:
        get_target("spl").render(detection)
    except Unsupported as error:
        assert "has no field Status" in str(error)
    else:
        raise AssertionError("Status is no field of the exported sign-in record")


def test_t1219_still_reads_the_sysmon_names_the_windows_add_on_extracts() -> None:
    text = get_target("spl").render(load_pack_rule())
    assert 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"' in text and "EventCode=1" in text
