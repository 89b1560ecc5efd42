"""Elastic Security (EQL) data model: Elastic Defend events and Windows event logs as Elastic's own
ingestion writes them (endpoint-package event documentation; the Windows and System integrations'
ingest pipelines and field definitions)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from siemc.backends import get_target

from siemc.compile.datamodel import load_datamodel, models_folder
from siemc.compile.rule import parse_rule
from siemc.diagnostics import SiemcError
from siemc.resources import backends_folder
from tests.conftest import EVERY_SOURCE_SITE
from tests.engines import agreeing_hits, run_target

SYSMON = "Microsoft-Windows-Sysmon/Operational"

# Event data the sysmon_operational pipeline renames or rewrites and removes from winlog.event_data
# (elastic/integrations, packages/windows/data_stream/sysmon_operational, its default pipeline).
SYSMON_REMOVED = (
    "Image", "SourceImage", "Destination", "CommandLine", "CurrentDirectory", "ParentImage",
    "ParentCommandLine", "ProcessId", "ParentProcessId", "SourceProcessId", "SourceThreadId", "ProcessGuid",
    "ParentProcessGuid", "SourceProcessGuid", "OriginalFileName", "TargetFilename", "ImageLoaded", "Device",
    "PipeName", "TargetObject", "QueryName", "QueryResults", "QueryStatus", "SourceIp", "SourcePort",
    "SourceHostname", "DestinationIp", "DestinationPort", "DestinationHostname", "Protocol", "RuleName",
    "User", "Hashes", "Hash", "Initiated", "SourceIsIpv6", "DestinationIsIpv6", "SourcePortName",
    "DestinationPortName", "Archived", "IsExecutable", "UtcTime",
)  # fmt: skip


def _rule(text: str) -> str:
    return "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n" + text


def _render(text: str) -> str:
    return get_target("eql").render(parse_rule(_rule(text), Path("t.yml")))


def test_the_model_loads_with_provenance_on_every_source() -> None:
    models = load_datamodel(models_folder() / "eql.yml")
    assert {"process", "file", "windows.sysmon_operational", "winlog"} <= set(models)
    for model in models.values():
        assert model.provenance and all(p.strip() for p in model.provenance)
        assert model.has("@timestamp")
    assert models["winlog"].has("winlog.event_data.AnyName")
    assert models["windows.sysmon_operational"].has("winlog.event_data.GrantedAccess")
    assert not models["process"].has("winlog.event_data.Image")


def test_sysmon_rules_never_read_event_data_the_pipeline_removes() -> None:
    """The sysmon_operational pipeline renames Image, TargetObject, DestinationIp, QueryName, ... to ECS
    (process.executable, registry.path, destination.ip, dns.question.name) and removes the originals:
    no Sysmon-channel field may be read under winlog.event_data.<removed name>."""
    mapping = yaml.safe_load((backends_folder() / "mappings" / "eql.yml").read_text(encoding="utf-8"))
    channel = mapping["windows_events"]["channels"][SYSMON]
    assert channel["fields"] == "sysmon"
    fields: dict[str, str | None] = dict(mapping["field_sets"]["sysmon"])
    for event in channel.get("events", {}).values():
        fields.update(event.get("fields", {}))
    for name in SYSMON_REMOVED:
        assert name in fields, f"{name} would be read as winlog.event_data.{name}, which the pipeline removes"
        assert fields[name] is None or not fields[name].startswith("winlog.event_data."), name


@pytest.mark.parametrize(
    ("category", "detection", "wanted"),
    [
        ("registry_set", "TargetObject|contains: '\\\\Run\\\\'", "registry.path"),
        ("network_connection", "DestinationIp: '10.1.2.3'", "destination.ip"),
        ("dns_query", "QueryName|endswith: '.onion'", "dns.question.name"),
        ("image_load", "ImageLoaded|endswith: '\\\\evil.dll'", "file.path"),
        ("process_access", "SourceImage|endswith: '\\\\evil.exe'", "process.executable"),
    ],
)
def test_sysmon_channel_rules_read_the_ecs_fields_the_pipeline_writes(
    category: str, detection: str, wanted: str
) -> None:
    """Sysmon events through the Windows integration carry the ECS field, not winlog.event_data.<Name>,
    and a Windows source is guarded by host.os.type, as Elastic's own Windows rules are."""
    text = _render(
        f"logsource: {{category: {category}, product: windows}}\n"
        f"detection:\n  sel: {{{detection}}}\n  condition: sel\n"
    )
    assert wanted in text and "winlog.event_data" not in text
    assert 'host.os.type == "windows"' in text


def test_process_creation_on_elastic_defend_has_no_pe_description() -> None:
    """Elastic Defend's Windows process events carry process.pe.original_file_name and imphash only
    (endpoint-package, windows_process_create_and_exit.md); Sysmon event 1 carries the version-info
    fields (the pipeline copies Description to process.pe.description): the rule is unsupported by
    default, and reads Sysmon where the site collects it."""
    text = _rule(
        "logsource: {category: process_creation, product: windows}\n"
        "detection:\n  sel: {Description: 'Sysinternals'}\n  condition: sel\n"
    )
    with pytest.raises(SiemcError, match=r"process has no field process\.pe\.description; windows\.sysmon"):
        get_target("eql").render(parse_rule(text, Path("t.yml")))
    rendered = get_target("eql", EVERY_SOURCE_SITE).render(parse_rule(text, Path("t.yml"), EVERY_SOURCE_SITE))
    assert "process.pe.description" in rendered and f'winlog.channel == "{SYSMON}"' in rendered


def test_linux_auditd_reads_the_integrations_field_names() -> None:
    """Elastic's Auditd Logs integration writes the record type to auditd.log.record_type and an EXECVE
    record's arguments to process.args, not auditd.message_type / auditd.data.a0."""
    text = _render(
        "logsource: {product: linux, service: auditd}\n"
        "detection:\n  sel: {type: EXECVE, a0: 'nc'}\n  condition: sel\n"
    )
    assert "auditd.log.record_type" in text and "process.args" in text
    assert "auditd.message_type" not in text and "auditd.data" not in text


def test_azure_integrations_use_snake_case_keys() -> None:
    """Elastic's Azure integrations write the logs' keys in snake case."""
    text = _render(
        "logsource: {product: azure, service: signinlogs}\n"
        "detection:\n  sel: {AuthenticationRequirement: singleFactorAuthentication}\n  condition: sel\n"
    )
    assert "azure.signinlogs.properties.authentication_requirement" in text


def test_powershell_script_blocks_are_unsupported_on_eql() -> None:
    """The powershell_operational pipeline renames ScriptBlockText to powershell.file.script_block_text,
    a `text` field (the data stream's fields.yml), and Elasticsearch's EQL cannot search text fields
    (EQL syntax reference, "Text fields are not supported"): no query that reads the removed
    winlog.event_data.ScriptBlockText or the unsearchable text field."""
    with pytest.raises(SiemcError, match="ScriptBlockText"):
        _render(
            "logsource: {category: ps_script, product: windows}\n"
            "detection:\n  sel: {ScriptBlockText|contains: 'Invoke-Mimikatz'}\n  condition: sel\n"
        )


def test_security_4688_reads_the_ecs_process_fields() -> None:
    """For 4688 the Security pipeline moves NewProcessName and ParentProcessName to process.executable and
    process.parent.executable and removes them from winlog.event_data."""
    text = _render(
        "logsource: {product: windows, service: security}\n"
        "detection:\n  sel: {EventID: 4688, NewProcessName|endswith: '\\\\cmd.exe',"
        " ParentProcessName|endswith: '\\\\w3wp.exe'}\n  condition: sel\n"
    )
    assert "process.executable" in text and "process.parent.executable" in text
    assert "NewProcessName" not in text and "ParentProcessName" not in text


def test_security_fields_moved_only_for_some_event_ids_are_unsupported() -> None:
    """IpAddress moves to source.ip for logon events unless it is "-" (kept in winlog.event_data), and
    ProcessName moves for authentication events but stays for object access: no one field holds them."""
    for field in ("IpAddress: '10.0.0.1'", "ProcessName|endswith: '\\\\lsass.exe'"):
        with pytest.raises(SiemcError):
            _render(
                "logsource: {product: windows, service: security}\n"
                f"detection:\n  sel: {{EventID: 4624, {field}}}\n  condition: sel\n"
            )


def test_unnamed_event_data_is_unsupported() -> None:
    """Winlogbeat names unnamed event data param1, param2, ... (the Windows PowerShell pipeline parses
    param2 / param3 and removes param1..3): Sigma's `Data` is no field."""
    with pytest.raises(SiemcError, match="Data"):
        _render(
            "logsource: {product: windows, category: ps_classic_start}\n"
            "detection:\n  sel: {Data|contains: 'HostApplication=powershell'}\n  condition: sel\n"
        )


def test_defend_process_events_agree_with_the_reference_on_model_built_events() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {category: process_creation, product: windows}\n"
            "detection:\n  sel: {Image|endswith: '\\\\rundll32.exe', CommandLine|contains: 'javascript:'}\n"
            "  condition: sel\n"
        ),
        Path("t.yml"),
    )
    events = [
        {"Image": "C:\\Windows\\System32\\rundll32.exe", "CommandLine": "rundll32 javascript:alert"},
        {"Image": "C:\\Windows\\System32\\rundll32.exe", "CommandLine": "rundll32 shell32.dll"},
        {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c javascript:"},
    ]
    query = get_target("eql").render(detection)
    assert agreeing_hits("eql", detection, query, events) == [0]


def test_azure_identity_protection_reads_the_integrations_group_and_snake_case() -> None:
    """The Azure integration's identity_protection data stream writes the risk detections' properties under
    azure.identityprotection.properties in snake case (fields.yml, sample_event.json)."""
    text = _render(
        "logsource: {product: azure, service: riskdetection}\n"
        "detection:\n  sel: {riskEventType: anomalousToken}\n  condition: sel\n"
    )
    assert 'azure.identityprotection.properties.risk_event_type:"anomalousToken"' in text


def test_cloudtrail_reads_the_aws_integrations_names() -> None:
    """The AWS integration's cloudtrail pipeline renames userIdentity.type, errorCode and userAgent to
    aws.cloudtrail.user_identity.type, aws.cloudtrail.error_code and user_agent.original, and keeps
    requestParameters' own keys under aws.cloudtrail.flattened.request_parameters."""
    text = _render(
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection:\n  sel: {eventName: ConsoleLogin, userIdentity.type: Root, errorCode: AccessDenied,"
        " userAgent|contains: 'aws-cli', requestParameters.attribute: launchPermission}\n  condition: sel\n"
    )
    for name in (
        "event.action",
        "aws.cloudtrail.user_identity.type",
        "aws.cloudtrail.error_code",
        "user_agent.original",
        "aws.cloudtrail.flattened.request_parameters.attribute",
    ):
        assert name in text
    assert "userIdentity" not in text and "errorCode" not in text


# Keys of an audit record the Auditd Logs pipeline renames to ECS (or rewrites) and removes from auditd.log
# (elastic/integrations, packages/auditd/data_stream/log, its default pipeline).
AUDITD_MOVED = (
    "comm", "exe", "pid", "ppid", "cwd", "uid", "gid", "auid", "agid", "euid", "egid", "suid", "sgid",
    "fsuid", "fsgid", "ouid", "ogid", "acct", "user", "terminal", "exit", "argc", "cmd", "msg", "src",
    "addr", "dst", "arch", "res", "a0", "a1", "a2", "a9",
)  # fmt: skip


def test_auditd_rules_never_read_keys_the_pipeline_moves() -> None:
    """Every key the pipeline renames to ECS or rewrites is mapped away from auditd.log.<key> (where the
    open model would accept it)."""
    mapping = yaml.safe_load((backends_folder() / "mappings" / "eql.yml").read_text(encoding="utf-8"))
    (source,) = [s for s in mapping["sources"] if s.get("name") == "auditd.log"]
    for key in AUDITD_MOVED:
        assert key in source["fields"], f"{key} would be read as auditd.log.{key}, which the pipeline removes"
        assert source["fields"][key] is None or not source["fields"][key].startswith("auditd.log."), key


def test_auditd_reads_the_ecs_fields_the_pipeline_writes() -> None:
    text = _render(
        "logsource: {product: linux, service: auditd}\n"
        "detection:\n  sel: {type: SYSCALL, euid: 0, exe|endswith: '/nc', SYSCALL: connect, key: net}\n"
        "  condition: sel\n"
    )
    for name in (
        "auditd.log.record_type",
        "user.effective.id",
        "process.executable",
        "auditd.log.SYSCALL",
        "auditd.log.key",
    ):
        assert name in text
    assert "auditd.log.euid" not in text and "auditd.log.exe" not in text


@pytest.mark.parametrize(
    ("detection", "field"),
    [
        ("keywords: ['chmod 777']", "keyword search"),  # msg is `message`, a text field EQL cannot search
        ("sel: {type: USER_CMD, cmd|contains: 'wget '}", "cmd"),  # split into process.args
        ("sel: {type: SYSCALL, arch: c000003e}", "arch"),  # host.architecture, as x86_64
    ],
)
def test_auditd_values_the_pipeline_keeps_only_rewritten_are_unsupported(detection: str, field: str) -> None:
    condition = "keywords" if detection.startswith("keywords") else "sel"
    with pytest.raises(SiemcError, match=field):
        _render(
            "logsource: {product: linux, service: auditd}\n"
            f"detection:\n  {detection}\n  condition: {condition}\n"
        )


def test_auditd_agrees_with_the_reference_on_model_built_events() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {product: linux, service: auditd}\n"
            "detection:\n  sel: {type: PATH, name|endswith: '/ld.so.preload'}\n  condition: sel\n"
        ),
        Path("t.yml"),
    )
    events = [
        {"type": "PATH", "name": "/etc/ld.so.preload", "nametype": "CREATE"},
        {"type": "PATH", "name": "/etc/passwd"},
        {"type": "SYSCALL", "exe": "/etc/ld.so.preload"},
    ]
    query = get_target("eql").render(detection)
    assert agreeing_hits("eql", detection, query, events) == [0]


def test_azure_auditlogs_reads_the_fields_the_pipeline_renames() -> None:
    """The auditlogs pipeline renames only some keys: properties.result becomes event.outcome (success or
    failure), loggedByService logged_by_service; targetResources becomes target_resources.<index>, no
    field a query can name."""
    text = _render(
        "logsource: {product: azure, service: auditlogs}\n"
        "detection:\n  sel: {properties.message: 'Add member to role', Status: Success,"
        " LoggedByService: 'Core Directory'}\n  condition: sel\n"
    )
    for name in (
        "azure.auditlogs.operation_name",
        "event.outcome",
        "azure.auditlogs.properties.logged_by_service",
    ):
        assert name in text
    with pytest.raises(SiemcError, match="target_resources"):
        _render(
            "logsource: {product: azure, service: auditlogs}\n"
            "detection:\n  sel: {TargetResources.modifiedProperties.newValue|contains: 'x'}\n"
            "  condition: sel\n"
        )


def test_azure_activitylogs_reads_event_category_and_has_no_provider_namespace() -> None:
    text = _render(
        "logsource: {product: azure, service: activitylogs}\n"
        "detection:\n  sel: {CategoryValue: Administrative, ResourceId|contains: 'AdFederationService',"
        " operationName: 'MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/DELETE'}\n  condition: sel\n"
    )
    for name in (
        "azure.activitylogs.event_category",
        "azure.resource.id",
        "azure.activitylogs.operation_name",
    ):
        assert name in text
    with pytest.raises(SiemcError, match="ResourceProviderValue"):
        _render(
            "logsource: {product: azure, service: activitylogs}\n"
            "detection:\n  sel: {ResourceProviderValue: Microsoft.ADHybridHealthService}\n  condition: sel\n"
        )
    with pytest.raises(SiemcError, match="keyword search"):
        _render(
            "logsource: {product: azure, service: activitylogs}\n"
            "detection:\n  keywords: ['Microsoft.Authorization/roleAssignments/write']\n"
            "  condition: keywords\n"
        )


def test_azure_signinlogs_network_locations_are_no_text() -> None:
    text = _render(
        "logsource: {product: azure, service: signinlogs}\n"
        "detection:\n  sel: {DeviceDetail.isCompliant: 'false',"
        " ResourceDisplayName: 'Windows Azure Active Directory'}\n"
        "  condition: sel\n"
    )
    assert "azure.signinlogs.properties.device_detail.is_compliant" in text
    assert "azure.signinlogs.properties.resource_display_name" in text
    with pytest.raises(SiemcError, match="NetworkLocationDetails"):
        _render(
            "logsource: {product: azure, service: signinlogs}\n"
            "detection:\n  sel: {NetworkLocationDetails: '[]'}\n  condition: sel\n"
        )


def test_azure_signinlogs_agree_with_the_reference_on_model_built_events() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {product: azure, service: signinlogs}\n"
            "detection:\n  sel: {ResultType: 50053, AuthenticationRequirement: singleFactorAuthentication}\n"
            "  condition: sel\n"
        ),
        Path("t.yml"),
    )
    events = [
        {"ResultType": "50053", "AuthenticationRequirement": "singleFactorAuthentication"},
        {"ResultType": "0", "AuthenticationRequirement": "singleFactorAuthentication"},
        {"ResultType": "50053", "AuthenticationRequirement": "multiFactorAuthentication"},
    ]
    query = get_target("eql").render(detection)
    assert agreeing_hits("eql", detection, query, events) == [0]


def test_okta_reads_the_integrations_snake_case_names() -> None:
    """The Okta integration renames the LogEvent's keys to okta.* in snake case (displayMessage is
    okta.display_message, actor.alternateId okta.actor.alternate_id) and drops legacyEventType."""
    text = _render(
        "logsource: {product: okta, service: okta}\n"
        "detection:\n  sel: {eventType: user.session.start, displayMessage: 'Max sign in attempts exceeded',"
        " actor.alternateId|endswith: '@example.com', outcome.result: FAILURE}\n  condition: sel\n"
    )
    for name in ("event.action", "okta.display_message", "okta.actor.alternate_id", "okta.outcome.result"):
        assert name in text
    assert "displayMessage" not in text and "alternateId" not in text
    for field in (
        "legacyEventType: 'core.user_auth.login_failed'",
        "debugContext.debugData.behaviors|contains: POSITIVE",
    ):
        with pytest.raises(SiemcError, match=field.split(":")[0].split("|")[0]):
            _render(
                "logsource: {product: okta, service: okta}\n"
                f"detection:\n  sel: {{{field}}}\n  condition: sel\n"
            )


def test_okta_agrees_with_the_reference_on_model_built_events() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {product: okta, service: okta}\n"
            "detection:\n  sel: {eventType: user.mfa.factor.deactivate, outcome.result: SUCCESS}\n"
            "  condition: sel\n"
        ),
        Path("t.yml"),
    )
    events = [
        {"eventType": "user.mfa.factor.deactivate", "outcome.result": "SUCCESS"},
        {"eventType": "user.mfa.factor.deactivate", "outcome.result": "FAILURE"},
        {"eventType": "user.session.start", "outcome.result": "SUCCESS"},
    ]
    query = get_target("eql").render(detection)
    assert agreeing_hits("eql", detection, query, events) == [0]


def test_bitbucket_is_the_atlassian_bitbucket_dataset() -> None:
    """Elastic's Atlassian Bitbucket integration writes event.dataset atlassian_bitbucket.audit and keeps
    auditType as bitbucket.audit.type (sample_event.json)."""
    text = _render(
        "logsource: {product: bitbucket, service: audit}\n"
        "detection:\n  sel: {auditType.category: 'Users and groups', auditType.action: 'User deleted'}\n"
        "  condition: sel\n"
    )
    assert 'event.dataset == "atlassian_bitbucket.audit"' in text
    assert "bitbucket.audit.type.category" in text and "bitbucket.audit.type.action" in text
    assert "auditType" not in text


def test_github_audit_keeps_only_the_keys_the_pipeline_moves() -> None:
    text = _render(
        "logsource: {product: github, service: audit}\n"
        "detection:\n  sel: {action: 'repo.destroy', actor: octocat, repo|contains: 'secret'}\n"
        "  condition: sel\n"
    )
    assert "event.action" in text and "user.name" in text and "github.repo" in text
    with pytest.raises(SiemcError, match="transport_protocol_name"):
        _render(
            "logsource: {product: github, service: audit}\n"
            "detection:\n  sel: {transport_protocol_name: http}\n  condition: sel\n"
        )


def test_kubernetes_audit_keeps_the_events_own_keys() -> None:
    """The Kubernetes integration keeps the audit Event's camelCase keys under kubernetes.audit; a pod
    spec's capabilities are in the request object."""
    text = _render(
        "logsource: {product: kubernetes, service: audit}\n"
        "detection:\n  sel: {verb: create, objectRef.resource: pods, capabilities: '*'}\n  condition: sel\n"
    )
    for name in (
        "kubernetes.audit.verb",
        "kubernetes.audit.objectRef.resource",
        "kubernetes.audit.requestObject.spec.containers.securityContext.capabilities.add",
    ):
        assert name in text
    with pytest.raises(SiemcError, match=r"kubernetes\.audit\.sourceIP"):
        _render(
            "logsource: {product: kubernetes, service: audit}\n"
            "detection:\n  sel: {sourceIP: '10.0.0.1'}\n  condition: sel\n"
        )


def test_gcp_audit_method_name_is_event_action() -> None:
    """The GCP integration writes protoPayload.methodName to event.action only: no gcp.audit.method_name
    (its pipeline and sample_event.json); authorizationInfo is a nested field EQL cannot search."""
    text = _render(
        "logsource: {product: gcp, service: gcp.audit}\n"
        "detection:\n  sel: {gcp.audit.method_name: 'v1.compute.firewalls.delete'}\n  condition: sel\n"
    )
    assert 'event.action:"v1.compute.firewalls.delete"' in text and "gcp.audit.method_name" not in text
    with pytest.raises(SiemcError, match="authorizationInfo"):
        _render(
            "logsource: {product: gcp, service: gcp.audit}\n"
            "detection:\n  sel: {data.protoPayload.authorizationInfo.granted: 'true'}\n  condition: sel\n"
        )


def test_gcp_audit_agrees_with_the_reference_on_model_built_events() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {product: gcp, service: gcp.audit}\n"
            "detection:\n  sel: {gcp.audit.method_name|endswith: '.delete'}\n  condition: sel\n"
        ),
        Path("t.yml"),
    )
    events = [
        {"gcp.audit.method_name": "v1.compute.firewalls.delete"},
        {"gcp.audit.method_name": "v1.compute.firewalls.insert"},
    ]
    query = get_target("eql").render(detection)
    assert agreeing_hits("eql", detection, query, events) == [0]


def test_o365_reads_the_keys_the_pipeline_moves_to_ecs() -> None:
    """The Office 365 integration moves Operation and Workload to event.action and event.provider (an open
    o365.audit would accept o365.audit.Operation, which no record has) and keys ExtendedProperties by
    their Name; no record has a Payload key."""
    text = _render(
        "logsource: {product: m365, service: audit}\n"
        "detection:\n  sel: {Workload: ThreatIntelligence, Operation: UserLoggedIn, ResultStatus: Success,"
        " RequestType: 'Cmsi:Cmsi'}\n  condition: sel\n"
    )
    for name in (
        "event.provider",
        "event.action",
        "o365.audit.ResultStatus",
        "o365.audit.ExtendedProperties.RequestType",
    ):
        assert name in text
    assert "o365.audit.Operation" not in text and "o365.audit.Workload" not in text
    with pytest.raises(SiemcError, match="Payload"):
        _render(
            "logsource: {product: m365, service: threat_management}\n"
            "detection:\n  sel: {Payload|contains: Export}\n  condition: sel\n"
        )


def test_o365_security_compliance_alerts_agree_with_the_reference_on_model_built_events() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {product: m365, service: threat_management}\n"
            "detection:\n  sel: {eventSource: SecurityComplianceCenter,"
            " eventName: 'Potential ransomware activity',"
            " status: success}\n  condition: sel\n"
        ),
        Path("t.yml"),
    )
    events = [
        {
            "eventSource": "SecurityComplianceCenter",
            "eventName": "Potential ransomware activity",
            "status": "success",
        },
        {
            "eventSource": "SecurityComplianceCenter",
            "eventName": "Suspicious email sending patterns",
            "status": "success",
        },
        {"eventSource": "Exchange", "eventName": "Potential ransomware activity", "status": "success"},
    ]
    query = get_target("eql").render(detection)
    assert agreeing_hits("eql", detection, query, events) == [0]


def test_google_workspace_admin_is_its_own_data_stream_with_the_reports_application_name() -> None:
    """The Google Workspace integration writes one data stream per Reports API application; its
    event.provider is the application's name (admin), where Sigma's rules name the Cloud Audit Logs
    service admin.googleapis.com (Elastic's own rules read event.provider:admin)."""
    text = _render(
        "logsource: {product: gcp, service: google_workspace.admin}\n"
        "detection:\n  sel: {eventService: admin.googleapis.com, eventName: ENFORCE_STRONG_AUTHENTICATION,"
        " new_value: 'false'}\n  condition: sel\n"
    )
    assert 'event.dataset == "google_workspace.admin"' in text
    assert 'event.provider:"admin"' in text and "admin.googleapis.com" not in text
    assert "google_workspace.admin.new_value" in text


def test_google_workspace_login_agrees_with_the_reference_on_model_built_events() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {product: gcp, service: google_workspace.login}\n"
            "detection:\n  sel: {protoPayload.serviceName: 'login.googleapis.com',"
            " protoPayload.metadata.event.eventName: suspicious_login}\n  condition: sel\n"
        ),
        Path("t.yml"),
    )
    events = [
        {"protoPayload.serviceName": "login", "protoPayload.metadata.event.eventName": "suspicious_login"},
        {"protoPayload.serviceName": "login", "protoPayload.metadata.event.eventName": "login_success"},
    ]
    query = get_target("eql").render(detection)
    assert 'event.provider:"login"' in query
    assert [row.index for row in run_target("eql", detection, query, events)] == [0]


def test_fortigate_reads_the_keys_the_pipeline_keeps_or_moves() -> None:
    """The FortiGate integration keeps cfgpath and action under fortinet.firewall and moves srcip and
    user to source.ip and source.user.name (removed from fortinet.firewall)."""
    text = _render(
        "logsource: {product: fortigate, service: event}\n"
        "detection:\n  sel: {action: Add, cfgpath: 'vpn.ssl.settings', srcip: '10.0.0.1', user: admin}\n"
        "  condition: sel\n"
    )
    for name in ("fortinet.firewall.action", "fortinet.firewall.cfgpath", "source.ip", "source.user.name"):
        assert name in text
    assert "fortinet.firewall.srcip" not in text and "fortinet.firewall.user" not in text


def test_cisco_duo_is_the_duo_integration_not_ios() -> None:
    """A Duo rule reads Elastic's Cisco Duo integration (cisco_duo.auth), not Cisco IOS logs."""
    text = _render(
        "logsource: {product: cisco, service: duo}\n"
        "detection:\n  sel: {event_type: authentication, reason: bypass_user}\n  condition: sel\n"
    )
    assert 'event.dataset == "cisco_duo.auth"' in text
    assert "cisco_duo.auth.event_type" in text and "cisco_duo.auth.reason" in text


@pytest.mark.parametrize(
    ("logsource", "source"),
    [("product: linux", "system.syslog"), ("product: cisco, service: aaa", "cisco_ios.log")],
)
def test_syslog_keyword_searches_are_unsupported(logsource: str, source: str) -> None:
    """The System integration maps syslog's `message` as `text` and Cisco IOS's is ECS match_only_text:
    Elasticsearch's EQL cannot search either, and no keyword field holds the message."""
    with pytest.raises(SiemcError, match=f"keyword search: {source}"):
        _render(
            f"logsource: {{{logsource}}}\ndetection:\n  keywords: ['clear logging']\n  condition: keywords\n"
        )


def test_cisco_ios_fields_are_the_integrations_cisco_ios_group() -> None:
    text = _render(
        "logsource: {product: cisco, service: aaa}\n"
        "detection:\n  sel: {facility: SEC_LOGIN}\n  condition: sel\n"
    )
    assert "cisco.ios.facility" in text and "cisco_ios.facility" not in text


def test_a_boolean_field_is_compared_with_a_boolean() -> None:
    """The Okta integration maps securityContext.isProxy as a boolean: Sigma's 'true' is the boolean
    there (a string comparison would not match what Elasticsearch stores), and a wildcard has no form."""
    detection = parse_rule(
        _rule(
            "logsource: {product: okta, service: okta}\n"
            "detection:\n  sel: {eventType: user.session.start, securityContext.isProxy: 'true'}\n"
            "  condition: sel\n"
        ),
        Path("t.yml"),
    )
    query = get_target("eql").render(detection)
    assert "okta.security_context.is_proxy == true" in query
    events = [
        {"eventType": "user.session.start", "securityContext.isProxy": "true"},
        {"eventType": "user.session.start", "securityContext.isProxy": "false"},
    ]
    assert agreeing_hits("eql", detection, query, events) == [0]
    as_text = query.replace("okta.security_context.is_proxy == true", 'okta.security_context.is_proxy:"true"')
    assert [row.index for row in run_target("eql", detection, as_text, events)] != [0]
    with pytest.raises(SiemcError, match=r"boolean field okta\.security_context\.is_proxy"):
        _render(
            "logsource: {product: okta, service: okta}\n"
            "detection:\n  sel: {securityContext.isProxy: 'tr*'}\n  condition: sel\n"
        )
