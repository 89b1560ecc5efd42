"""Queries run over events as each vendor's standard ingestion writes them, not as siemc maps them.

The documents and rows here are written by hand from the vendor's published artifacts, each cited,
so a field siemc reads where the ingestion no longer keeps it fails here even when siemc's own
mapping and its test events agree with each other:

- Elastic's Windows integration, sysmon_operational ingest pipeline (elastic/integrations,
  packages/windows/data_stream/sysmon_operational/elasticsearch/ingest_pipeline/default.yml):
  Image -> process.executable, TargetObject -> registry.path (unchanged), QueryName ->
  dns.question.name, DestinationPort -> destination.port (a long), Initiated -> network.direction
  (egress/ingress), ImageLoaded -> file.path, OriginalFileName of event 7 -> file.pe.original_file_name;
  Details, EventType, IntegrityLevel stay in winlog.event_data; Hashes, User, QueryStatus removed.
- Elastic's Auditd Logs integration (packages/auditd/data_stream/log, its pipeline tests' expected
  documents): auditd.log.record_type, an EXECVE record's arguments in process.args.
- Elastic's Azure integration, signinlogs pipeline (packages/azure/data_stream/signinlogs): keys in
  snake case, resultType at the top (azure.signinlogs.result_type), the rest under properties.
- Microsoft Sentinel's Event table (Azure Monitor Logs table reference, Event): EventLog, EventID,
  EventData as XML, which the query parses as Microsoft's Sysmon parsers do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from siemc.compile.build import compile_detection
from siemc.compile.rule import Detection, load_rule
from siemc.config import DEFAULT, SiteConfig
from siemc.diagnostics import Unsupported
from tests.conftest import EVERY_SOURCE_SITE


def _rule(tmp_path: Path, logsource: str, detection: str, site: SiteConfig = DEFAULT) -> Detection:
    path = tmp_path / "rule.yml"
    path.write_text(
        f"title: t\nid: 9a3c1f0e-0000-4000-8000-000000000001\nlogsource: {logsource}\n"
        f"detection:\n{detection}\n  condition: selection\nlevel: low\n",
        encoding="utf-8",
    )
    return load_rule(path, site)


def _eql(query: str, documents: list[dict[str, Any]]) -> list[int]:
    eql_engine = pytest.importorskip("tests.checkers.eql_engine")
    assert eql_engine.eql_syntax_error(query) is None
    return list(eql_engine.run_eql(query, documents, es_semantics=True))


def _sysmon(event_code: str, os_type: str = "windows", **fields: Any) -> dict[str, Any]:
    """A Sysmon event as the sysmon_operational pipeline indexes it."""
    return {
        "host": {"os": {"type": os_type}},
        "event": {"code": event_code, "module": "windows", "dataset": "windows.sysmon_operational"},
        "winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": event_code},
        **fields,
    }


RUN_KEY = "HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\updater"


def test_a_sysmon_registry_rule_reads_registry_path(tmp_path: Path) -> None:
    rule = _rule(
        tmp_path,
        "{category: registry_set, product: windows}",
        "  selection:\n    TargetObject|contains: '\\CurrentVersion\\Run\\'\n"
        "    Details|contains: 'powershell'\n    Image|endswith: '\\reg.exe'",
    )
    query = compile_detection(rule, "eql")
    assert "registry.path" in query and "winlog.event_data.TargetObject" not in query
    data = {"event_data": {"Details": "powershell -w hidden", "EventType": "SetValue"}}
    hit = _sysmon(
        "13",
        registry={"path": RUN_KEY, "hive": "HKU", "value": "updater"},
        process={"executable": "C:\\Windows\\System32\\reg.exe", "name": "reg.exe"},
    )
    hit["winlog"] |= data
    linux = {**hit, "host": {"os": {"type": "linux"}}}
    assert _eql(query, [hit, linux]) == [0]


def test_a_sysmon_network_rule_reads_ecs_and_the_direction(tmp_path: Path) -> None:
    rule = _rule(
        tmp_path,
        "{category: network_connection, product: windows}",
        "  selection:\n    Initiated: 'true'\n    DestinationPort: 4444\n"
        "    Image|endswith: '\\powershell.exe'",
    )
    query = compile_detection(rule, "eql")
    assert 'network.direction:"egress"' in query.replace(" : ", ":")
    out = _sysmon(
        "3",
        network={"direction": "egress", "transport": "tcp"},
        destination={"ip": "203.0.113.9", "port": 4444},
        # The pipeline's "Adds process name information" script: the file-name part of the path.
        process={
            "executable": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "name": "powershell.exe",
        },
    )
    inbound = {**out, "network": {"direction": "ingress", "transport": "tcp"}}
    assert _eql(query, [out, inbound]) == [0]


def test_a_sysmon_dns_rule_reads_the_question_name(tmp_path: Path) -> None:
    rule = _rule(
        tmp_path,
        "{category: dns_query, product: windows}",
        "  selection:\n    QueryName|endswith: '.ngrok.io'",
    )
    query = compile_detection(rule, "eql")
    hit = _sysmon("22", dns={"question": {"name": "abc.eu.ngrok.io", "registered_domain": "ngrok.io"}})
    miss = _sysmon("22", dns={"question": {"name": "example.org"}})
    assert _eql(query, [hit, miss]) == [0]


def test_an_image_load_reads_the_loaded_files_original_name(tmp_path: Path) -> None:
    rule = _rule(
        tmp_path,
        "{category: image_load, product: windows}",
        "  selection:\n    OriginalFileName: 'dbghelp.dll'\n    ImageLoaded|endswith: '\\dbghelp.dll'",
    )
    query = compile_detection(rule, "eql")
    loaded = {"path": "C:\\Temp\\dbghelp.dll", "pe": {"original_file_name": "DBGHELP.DLL"}}
    assert _eql(query, [_sysmon("7", file=loaded)]) == [0]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("Hashes|contains", "'IMPHASH=ABC'", "field 'Hashes' has no column in windows.sysmon_operational"),
        ("User|contains", "'AUTHORI'", "field 'User' has no column in windows.sysmon_operational"),
        ("QueryStatus", "'0'", "field 'QueryStatus' has no column in windows.sysmon_operational"),
        ("Initiated|contains", "'tr'", "Initiated is kept in another form on this source"),
    ],
)
def test_sysmon_fields_the_integration_drops_are_unsupported(
    tmp_path: Path, field: str, value: str, reason: str
) -> None:
    rule = _rule(
        tmp_path, "{category: network_connection, product: windows}", f"  selection:\n    {field}: {value}"
    )
    with pytest.raises(Unsupported) as caught:
        compile_detection(rule, "eql")
    assert caught.value.message.startswith(reason)


def test_an_auditd_execve_rule_reads_the_record_type_and_the_arguments(tmp_path: Path) -> None:
    rule = _rule(
        tmp_path,
        "{product: linux, service: auditd}",
        "  selection:\n    type: EXECVE\n    a0: chmod\n    a1: '777'",
    )
    query = compile_detection(rule, "eql")
    assert "auditd.log.record_type" in query and "auditd.data" not in query
    record = {"event": {"dataset": "auditd.log"}, "auditd": {"log": {"record_type": "EXECVE"}}}
    hit = record | {"process": {"args": ["chmod", "777", "/tmp/x"], "args_count": 3}}
    miss = record | {"process": {"args": ["chmod", "644", "/tmp/x"], "args_count": 3}}
    assert _eql(query, [hit, miss]) == [0]


def test_an_entra_id_sign_in_rule_reads_snake_case_keys(tmp_path: Path) -> None:
    rule = _rule(
        tmp_path,
        "{product: azure, service: signinlogs}",
        "  selection:\n    ResultType: 0\n    AuthenticationRequirement: singleFactorAuthentication\n"
        "    DeviceDetail.isCompliant: 'false'",
    )
    query = compile_detection(rule, "eql")
    properties = {
        "authentication_requirement": "singleFactorAuthentication",
        "device_detail": {"is_compliant": False},  # the integration maps it as a boolean
    }
    hit = {
        "event": {"dataset": "azure.signinlogs"},
        "azure": {"signinlogs": {"result_type": "0", "properties": properties}},
    }
    assert _eql(query, [hit]) == [0]
    assert "azure.signinlogs.properties.authentication_requirement" in query


def test_kql_reads_sysmon_from_the_event_table(tmp_path: Path) -> None:
    """The query parses the XML the Azure Monitor Agent stores; Kusto.Language accepts it against the
    Event table's published columns, and the engine (from the parse stage on) finds the event."""
    from tests.engines import ENGINES, EngineUnavailable, native_events

    rule = _rule(
        tmp_path,
        "{category: registry_set, product: windows}",
        "  selection:\n    TargetObject|contains: '\\CurrentVersion\\Run\\'",
        EVERY_SOURCE_SITE,  # Defender's registry table has no TargetObject: a site collecting Sysmon
    )
    query = compile_detection(rule, "kql")
    assert query.splitlines()[2:4] == [
        "// Reads Event, since field 'TargetObject' has no column in DeviceRegistryEvents",
        "Event",
    ]
    from siemc.backends import get_target

    source = get_target("kql", EVERY_SOURCE_SITE).source_for(rule.sigma)
    rows = native_events(
        "kql", source, [{"TargetObject": RUN_KEY, "Image": "C:\\x.exe"}, {"TargetObject": "HKLM\\x"}]
    )
    try:
        found = ENGINES["kql"](query, source, rows, {})
    except EngineUnavailable as error:
        pytest.skip(str(error))
    assert [row.index for row in found] == [0]
