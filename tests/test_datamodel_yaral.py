"""Google SecOps (YARA-L): the data model of the UDM events Google's parsers write, and the mapping
read through it. Sysmon's Image, TargetObject and channel are UDM fields after the WINDOWS_SYSMON
parser, so no output reads them from additional.fields, and no log source falls back to the raw
Windows event."""

from __future__ import annotations

from pathlib import Path

import pytest
from siemc.backends import get_target

from siemc.compile.datamodel import target_datamodel
from siemc.compile.rule import parse_rule
from siemc.diagnostics import Unsupported
from tests.conftest import load_pack_rule
from tests.engines import agreeing_hits

ENDPOINT = ("PROCESS_LAUNCH", "NETWORK_CONNECTION", "NETWORK_DNS", "FILE_CREATION", "FILE_DELETION")


def _rule(tmp_path: Path, logsource: str, detection: str) -> str:
    head = "title: t\nid: 0b7a6a3e-5f1c-4c7e-9a55-000000000001\n"
    text = f"{head}logsource: {{{logsource}}}\ndetection:\n{detection}"
    path = tmp_path / "rule.yml"
    path.write_text(text, encoding="utf-8")
    return get_target("yaral").render(parse_rule(text, path))


def test_the_model_loads_with_provenance_on_every_source() -> None:
    models = target_datamodel("yaral")
    for name in (*ENDPOINT, "PROCESS_MODULE_LOAD", "REGISTRY_MODIFICATION", "PROCESS_INJECTION"):
        assert models[name].provenance
        assert models[name].origins
    assert models["PROCESS_LAUNCH"].origins["target.process.file.full_path"] == "Image"
    assert models["REGISTRY_MODIFICATION"].origins["target.registry.registry_key"] == "TargetObject"


def test_sysmon_fields_are_read_from_udm_never_from_additional_fields(tmp_path: Path) -> None:
    registry = _rule(
        tmp_path,
        "category: registry_set, product: windows",
        "  sel: {TargetObject|contains: '\\Run\\', Image|endswith: '\\reg.exe'}\n  condition: sel\n",
    )
    assert '$e.metadata.event_type = "REGISTRY_MODIFICATION"' in registry
    assert "$e.target.registry.registry_key" in registry
    assert "$e.principal.process.file.full_path" in registry
    assert "additional.fields" not in registry
    pipe = _rule(
        tmp_path,
        "category: pipe_created, product: windows",
        "  sel: {Image|endswith: '\\x.exe'}\n  condition: sel\n",
    )
    assert '$e.metadata.log_type = "WINDOWS_SYSMON"' in pipe
    assert 'additional.fields["Channel"]' not in pipe
    assert 'additional.fields["Image"]' not in pipe


def test_a_field_udm_lacks_stays_on_process_launch(tmp_path: Path) -> None:
    # One field without a UDM field of its own does not move the rule onto raw Windows events.
    text = _rule(
        tmp_path,
        "category: process_creation, product: windows",
        "  sel: {Image|endswith: '\\cmd.exe', IntegrityLevel: High}\n  condition: sel\n",
    )
    assert '$e.metadata.event_type = "PROCESS_LAUNCH"' in text
    assert '$e.additional.fields["IntegrityLevel"]' in text
    assert 'additional.fields["Channel"]' not in text


def test_t1219_reads_process_launch_udm_fields() -> None:
    text = get_target("yaral").render(load_pack_rule())
    assert '$e.metadata.event_type = "PROCESS_LAUNCH"' in text
    assert "$e.target.process.file.full_path = /" in text
    assert "$e.principal.process.file.full_path" in text
    assert "additional.fields" not in text


def test_a_renamed_field_agrees_with_the_reference_through_model_built_events(tmp_path: Path) -> None:
    # TargetObject is target.registry.registry_key once the parser has run: the events the engine
    # sees are stored so, not through siemc's mapping.
    text = (
        "title: t\nid: 0b7a6a3e-5f1c-4c7e-9a55-000000000002\n"
        "logsource: {category: registry_set, product: windows}\n"
        "detection:\n  sel: {TargetObject|contains: '\\CurrentVersion\\Run\\'}\n  condition: sel\n"
    )
    path = tmp_path / "rule.yml"
    path.write_text(text, encoding="utf-8")
    detection = parse_rule(text, path)
    events = [
        {"TargetObject": "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\x", "Image": "C:\\a.exe"},
        {"TargetObject": "HKLM\\Software\\Classes\\x", "Image": "C:\\a.exe"},
    ]
    model = target_datamodel("yaral")["REGISTRY_MODIFICATION"]
    assert "target.registry.registry_key" in model.event(events[0])
    assert 'additional.fields["TargetObject"]' not in model.event(events[0])
    query = get_target("yaral").render(detection)
    assert agreeing_hits("yaral", detection, query, events) == [0]


def test_cloudtrail_fields_are_where_the_aws_cloudtrail_parser_puts_them() -> None:
    """Google's own CloudTrail rules (chronicle/detection-rules, rules/community/aws/cloudtrail) read
    eventName as metadata.product_event_type (= "ConsoleLogin"), eventSource as target.application
    (= "iam.amazonaws.com"), userAgent as network.http.user_agent and sourceIPAddress as principal.ip."""
    model = target_datamodel("yaral")["AWS_CLOUDTRAIL"]
    assert model.provenance
    assert model.origins["metadata.product_event_type"] == "eventName"
    assert model.origins["target.application"] == "eventSource"
    assert model.origins["network.http.user_agent"] == "userAgent"
    assert model.origins["principal.ip"] == "sourceIPAddress"
    assert not model.open and model.raw is None


def test_a_cloudtrail_key_the_parser_does_not_place_is_unsupported(tmp_path: Path) -> None:
    """The AWS_CLOUDTRAIL parser maps CloudTrail keys to UDM one by one (its change log); no published
    artifact puts errorCode in additional.fields, so a rule testing it is unsupported instead of a
    query on a key that is never written."""
    with pytest.raises(Unsupported, match=r'AWS_CLOUDTRAIL has no field additional\.fields\["errorCode"\]'):
        _rule(
            tmp_path,
            "product: aws, service: cloudtrail",
            "  sel: {eventName: ConsoleLogin, errorCode: Failure}\n  condition: sel\n",
        )


def test_a_cloudtrail_rule_agrees_with_the_reference_through_model_built_events(tmp_path: Path) -> None:
    """eventSource is stored as target.application by the parser: the engine's events are built from
    the model, and the query finds exactly the event the rule means."""
    text = (
        "title: t\nid: 0b7a6a3e-5f1c-4c7e-9a55-000000000003\n"
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection:\n  sel: {eventSource: iam.amazonaws.com, eventName: CreateAccessKey}\n  condition: sel\n"
    )
    path = tmp_path / "rule.yml"
    path.write_text(text, encoding="utf-8")
    detection = parse_rule(text, path)
    events = [
        {
            "eventSource": "iam.amazonaws.com",
            "eventName": "CreateAccessKey",
            "sourceIPAddress": "198.51.100.7",
        },
        {
            "eventSource": "s3.amazonaws.com",
            "eventName": "CreateAccessKey",
            "sourceIPAddress": "198.51.100.7",
        },
    ]
    stored = target_datamodel("yaral")["AWS_CLOUDTRAIL"].event(events[0])
    assert stored["target.application"] == "iam.amazonaws.com"
    assert not any(key.startswith("additional.fields") for key in stored)
    query = get_target("yaral").render(detection)
    assert '$e.metadata.log_type = "AWS_CLOUDTRAIL"' in query
    assert agreeing_hits("yaral", detection, query, events) == [0]


def test_cloudtrail_identity_type_is_principal_resource_type(tmp_path: Path) -> None:
    """Google's CloudTrail rules test userIdentity.type values as principal.resource.type (= "Root",
    = "AssumedRole"), not as an additional.fields key."""
    text = _rule(
        tmp_path,
        "product: aws, service: cloudtrail",
        "  sel: {eventName: ListBuckets, userIdentity.type: Root}\n  condition: sel\n",
    )
    assert '$e.principal.resource.type = "Root"' in text
    assert "additional.fields" not in text


def test_okta_display_message_and_gcp_service_name_are_udm_fields(tmp_path: Path) -> None:
    """Google's Okta rules compare Okta display messages with security_result.summary; its Cloud audit
    rules compare protoPayload.serviceName values with target.application; its GitHub rules read the
    audit action as metadata.product_event_type."""
    okta = _rule(
        tmp_path,
        "product: okta, service: okta",
        "  sel: {displayMessage: Create API token}\n  condition: sel\n",
    )
    assert '$e.security_result.summary = "Create API token"' in okta
    gcp = _rule(
        tmp_path,
        "product: gcp, service: gcp.audit",
        "  sel: {data.protoPayload.serviceName: storage.googleapis.com}\n  condition: sel\n",
    )
    assert '$e.target.application = "storage.googleapis.com"' in gcp
    models = target_datamodel("yaral")
    assert models["OKTA"].origins["security_result.summary"] == "displayMessage"
    assert models["GCP_CLOUDAUDIT"].origins["target.application"] == "data.protoPayload.serviceName"
    assert models["GITHUB"].origins["metadata.product_event_type"] == "action"
    with pytest.raises(Unsupported, match=r'OKTA has no field additional\.fields\["outcome\.reason"\]'):
        _rule(
            tmp_path,
            "product: okta, service: okta",
            "  sel: {outcome.reason: VERIFICATION_ERROR}\n  condition: sel\n",
        )


def _agrees(tmp_path: Path, logsource: str, detection: str, events: list[dict[str, object]]) -> list[int]:
    """The rows the query finds over events stored as the model says, checked against the reference."""
    head = "title: t\nid: 0b7a6a3e-5f1c-4c7e-9a55-000000000004\n"
    text = f"{head}logsource: {{{logsource}}}\ndetection:\n{detection}"
    path = tmp_path / "rule.yml"
    path.write_text(text, encoding="utf-8")
    parsed = parse_rule(text, path)
    return agreeing_hits("yaral", parsed, get_target("yaral").render(parsed), events)


def test_windows_event_ids_and_providers_are_the_udm_fields_googles_rules_read() -> None:
    """Google's own Windows rules (chronicle/detection-rules, rules/community/microsoft) read the event
    id as metadata.product_event_type (= "4624", = "7045") and the provider as metadata.product_name
    (= "Microsoft-Windows-Security-Auditing", = "Service Control Manager", = "PowerShell"). No Google
    artifact names a UDM field for the channel, so no WINEVTLOG source has one."""
    models = target_datamodel("yaral")
    names = ("WINEVTLOG", "WINEVTLOG Security", "WINEVTLOG System", "WINEVTLOG PowerShell")
    for name in (*names, "WINEVTLOG Windows PowerShell"):
        model = models[name]
        assert model.provenance
        assert model.origins["metadata.product_event_type"] == "EventID"
        assert model.origins["metadata.product_name"] == "Provider_Name"
        assert not model.has('additional.fields["Channel"]')
        assert not model.open and model.raw is None
    assert models["WINEVTLOG System"].origins["target.application"] == "ServiceName"
    assert models["WINEVTLOG Security"].origins["target.user.userid"] == "TargetUserName"


def test_a_channel_selected_only_by_its_name_is_unsupported(tmp_path: Path) -> None:
    """The WINEVTLOG parser's channel has no documented UDM field: a test of
    additional.fields["Channel"] would never fire, so a channel that no provider selects exactly is
    unsupported instead."""
    with pytest.raises(Unsupported, match=r'WINEVTLOG has no field additional\.fields\["Channel"\]'):
        _rule(
            tmp_path, "product: windows, service: application", "  sel: {EventID: 1000}\n  condition: sel\n"
        )
    with pytest.raises(Unsupported, match=r'WINEVTLOG has no field additional\.fields\["Channel"\]'):
        _rule(
            tmp_path,
            "category: application, product: rpc_firewall",
            "  sel: {EventLog: RPCFW, EventID: 3}\n  condition: sel\n",
        )


def test_security_events_select_the_auditing_provider_and_the_account_is_target_user(tmp_path: Path) -> None:
    """A Security rule selects the channel's providers (Google's rules: metadata.product_name
    "Microsoft-Windows-Security-Auditing") and reads the account an account event names
    (TargetUserName) as target.user.userid, as Google's logon and account-creation rules join on it."""
    text = _rule(
        tmp_path,
        "product: windows, service: security",
        "  sel: {EventID: 4720, TargetUserName|endswith: '$'}\n  condition: sel\n",
    )
    assert '$e.metadata.log_type = "WINEVTLOG"' in text
    assert '$e.metadata.product_name = "Microsoft-Windows-Security-Auditing"' in text
    assert '$e.metadata.product_event_type = "4720"' in text
    assert "$e.target.user.userid" in text
    assert "additional.fields" not in text
    rows = _agrees(
        tmp_path,
        "product: windows, service: security",
        "  sel: {EventID: 4720, TargetUserName|endswith: '$'}\n  condition: sel\n",
        [
            {
                "Channel": "Security",
                "EventID": 4720,
                "Provider_Name": "Microsoft-Windows-Security-Auditing",
                "TargetUserName": "evil$",
            },
            {
                "Channel": "Security",
                "EventID": 4720,
                "Provider_Name": "Microsoft-Windows-Security-Auditing",
                "TargetUserName": "alice",
            },
            {
                "Channel": "Security",
                "EventID": 4726,
                "Provider_Name": "Microsoft-Windows-Security-Auditing",
                "TargetUserName": "evil$",
            },
        ],
    )
    assert rows == [0]


def test_the_audit_log_cleared_event_of_the_eventlog_provider_is_a_security_event(tmp_path: Path) -> None:
    """1102 ("The audit log was cleared") is written to the Security channel by the
    Microsoft-Windows-Eventlog provider, not by Security-Auditing: the Security selector admits it."""
    rows = _agrees(
        tmp_path,
        "product: windows, service: security",
        "  sel: {EventID: 1102, Provider_Name: Microsoft-Windows-Eventlog}\n  condition: sel\n",
        [
            {"Channel": "Security", "EventID": 1102, "Provider_Name": "Microsoft-Windows-Eventlog"},
            {"Channel": "Security", "EventID": 4624, "Provider_Name": "Microsoft-Windows-Security-Auditing"},
        ],
    )
    assert rows == [0]


def test_a_security_field_google_places_nowhere_has_no_column(tmp_path: Path) -> None:
    """No Google artifact says where the WINEVTLOG parser puts ObjectName or LogonType: a rule testing
    them is unsupported rather than a test of an additional.fields key."""
    with pytest.raises(Unsupported, match="field 'LogonType' has no column in WINEVTLOG Security"):
        _rule(
            tmp_path,
            "product: windows, service: security",
            "  sel: {EventID: 4624, LogonType: 10}\n  condition: sel\n",
        )


def test_a_service_install_reads_the_service_name_from_target_application(tmp_path: Path) -> None:
    """Google's service-creation rule selects 7045 by metadata.product_name "Service Control Manager"
    and metadata.product_event_type "7045" and reads the service name as target.application."""
    detection = (
        "  sel: {Provider_Name: Service Control Manager, EventID: 7045, ServiceName: KrbSCM}\n"
        "  condition: sel\n"
    )
    text = _rule(tmp_path, "product: windows, service: system", detection)
    assert '$e.metadata.product_name = "Service Control Manager"' in text
    assert '$e.target.application = "KrbSCM"' in text
    assert "additional.fields" not in text
    event = {
        "Channel": "System",
        "EventID": 7045,
        "Provider_Name": "Service Control Manager",
        "ServiceName": "KrbSCM",
    }
    other = {**event, "ServiceName": "Spooler"}
    assert _agrees(tmp_path, "product: windows, service: system", detection, [event, other]) == [0]
    with pytest.raises(Unsupported, match="field 'ImagePath' has no column in WINEVTLOG System"):
        _rule(
            tmp_path,
            "product: windows, service: system",
            "  sel: {EventID: 7045, ImagePath|contains: x}\n  condition: sel\n",
        )


def test_powershell_script_blocks_have_no_documented_udm_field(tmp_path: Path) -> None:
    """The WINEVTLOG change log says ScriptBlockText (4104) and the 4103 payload are parsed, not where
    they go: a script-block rule is unsupported; the event is selected by its provider and id."""
    with pytest.raises(Unsupported, match="field 'ScriptBlockText' has no column in WINEVTLOG PowerShell"):
        _rule(
            tmp_path,
            "category: ps_script, product: windows",
            "  sel: {ScriptBlockText|contains: x}\n  condition: sel\n",
        )
    text = _rule(
        tmp_path, "category: ps_script, product: windows", "  sel: {Computer: host1}\n  condition: sel\n"
    )
    assert '$e.metadata.product_name = "Microsoft-Windows-PowerShell"' in text
    assert '$e.metadata.product_event_type = "4104"' in text
    classic = _rule(
        tmp_path,
        "category: ps_classic_start, product: windows",
        "  sel: {Computer: host1}\n  condition: sel\n",
    )
    assert '$e.metadata.product_name = "PowerShell"' in classic
    assert '$e.metadata.product_event_type = "400"' in classic


def test_entra_id_audits_select_the_directory_audit_product_and_read_the_activity(tmp_path: Path) -> None:
    """Google's Entra ID rules select directory audits by metadata.product_name "Azure AD Directory
    Audit" and compare the activity ("Add member to role") with metadata.product_event_type; the
    events the engine sees are stored so, and the query finds exactly the one the rule means."""
    detection = "  sel: {OperationName: Add member to role}\n  condition: sel\n"
    text = _rule(tmp_path, "product: azure, service: auditlogs", detection)
    assert '$e.metadata.product_name = "Azure AD Directory Audit"' in text
    assert '$e.metadata.product_event_type = "Add member to role"' in text
    assert "additional.fields" not in text
    events = [{"OperationName": "Add member to role"}, {"OperationName": "Update user"}]
    assert _agrees(tmp_path, "product: azure, service: auditlogs", detection, events) == [0]


def test_entra_id_keys_google_places_nowhere_are_unsupported(tmp_path: Path) -> None:
    """No Google artifact names the UDM field of a sign-in's resultType, an audit's properties.message
    or a risk detection's riskEventType: such rules are unsupported, not additional.fields tests."""
    cases = {
        "product: azure, service: signinlogs": (
            "ResultType: 50126",
            "ResultType' has no column in AZURE_AD sign-in",
        ),
        "product: azure, service: auditlogs": (
            "properties.message: x",
            "has no column in AZURE_AD Directory Audit",
        ),
        "product: azure, service: riskdetection": (
            "riskEventType: x",
            "riskEventType' has no column in AZURE_AD",
        ),
    }
    for logsource, (selection, reason) in cases.items():
        with pytest.raises(Unsupported, match=reason):
            _rule(tmp_path, logsource, f"  sel: {{{selection}}}\n  condition: sel\n")
    models = target_datamodel("yaral")
    assert models["AZURE_AD sign-in"].origins["target.user.userid"] == "UserPrincipalName"
    assert models["AZURE_AD sign-in"].origins["network.http.user_agent"] == "userAgent"


def test_auditd_record_types_and_arguments_have_no_documented_udm_field(tmp_path: Path) -> None:
    """The AUDITD parser's change log maps fields per record type (ADD_USER, USER_AUTH) but names no
    UDM field for the record type or the EXECVE arguments: an auditd rule is unsupported instead of a
    test of a field Google does not document."""
    with pytest.raises(Unsupported, match="field 'type' has no column in AUDITD"):
        _rule(
            tmp_path, "product: linux, service: auditd", "  sel: {type: EXECVE, a0: wget}\n  condition: sel\n"
        )
    assert target_datamodel("yaral")["AUDITD"].provenance


def test_the_eventlog_providers_system_events_are_not_security_events(tmp_path: Path) -> None:
    """Microsoft-Windows-Eventlog writes its log-service events to Security (1100-1108, 1102 "log
    cleared") and others to System (104 "log cleared", 6005-6013): with no channel in UDM, the
    Security selector takes that provider's Security ids only."""
    from tests.models.test_yaral import NOW
    from tests.models.yaral import run

    text = _rule(
        tmp_path,
        "product: windows, service: security",
        "  sel:\n    Provider_Name|contains: Eventlog\n  condition: sel\n",
    )
    udm = {"metadata.log_type": "WINEVTLOG", "metadata.product_name": "Microsoft-Windows-Eventlog"}
    events = [udm | {"metadata.product_event_type": "1102"}, udm | {"metadata.product_event_type": "104"}]
    assert [row.index for row in run(text, events, NOW)] == [0]


def test_a_pipe_event_reads_the_pipe_and_the_process_where_googles_pipe_rule_does(tmp_path: Path) -> None:
    """Google's named-pipe rule (chronicle/detection-rules, adfs_db_suspicious_named_pipe_connection)
    reads a Sysmon pipe event's process image as target.process.file.full_path and the pipe name as
    target.resource.name: a pipe rule reads them there, never principal.process or additional.fields."""
    detection = (
        "  sel: {PipeName|startswith: '\\MSSE-', Image|endswith: '\\rundll32.exe'}\n  condition: sel\n"
    )
    text = _rule(tmp_path, "category: pipe_created, product: windows", detection)
    assert '$e.metadata.product_event_type = "17" or $e.metadata.product_event_type = "18"' in text
    assert "$e.target.resource.name = /" in text
    assert "$e.target.process.file.full_path = /" in text
    assert "principal.process" not in text and "additional.fields" not in text
    model = target_datamodel("yaral")["WINDOWS_SYSMON pipe"]
    assert model.origins["target.resource.name"] == "PipeName"
    assert model.origins["target.process.file.full_path"] == "Image"
    assert not model.open and model.raw is None
    events = [
        {"EventID": 17, "PipeName": "\\MSSE-1234-server", "Image": "C:\\Windows\\System32\\rundll32.exe"},
        {"EventID": 17, "PipeName": "\\MSSE-1234-server", "Image": "C:\\Program Files\\a.exe"},
        {"EventID": 17, "PipeName": "\\lsass", "Image": "C:\\Windows\\System32\\rundll32.exe"},
    ]
    assert _agrees(tmp_path, "category: pipe_created, product: windows", detection, events) == [0]


def test_a_sysmon_field_google_places_nowhere_is_unsupported(tmp_path: Path) -> None:
    """No Google artifact names the UDM field of a driver load's ImageLoaded or a stream hash's
    Contents: such rules are unsupported instead of reading additional.fields keys the WINDOWS_SYSMON
    parser never writes (the issue's defect), and the event id still selects the event."""
    for logsource, selection, field in (
        ("category: driver_load, product: windows", "ImageLoaded|endswith: '\\x.sys'", "ImageLoaded"),
        ("category: create_stream_hash, product: windows", "Contents|contains: 'http'", "Contents"),
        ("category: wmi_event, product: windows", "Destination|contains: 'powershell'", "Destination"),
    ):
        with pytest.raises(Unsupported, match=f"field '{field}' has no column in WINDOWS_SYSMON"):
            _rule(tmp_path, logsource, f"  sel: {{{selection}}}\n  condition: sel\n")
    text = _rule(tmp_path, "product: windows, service: sysmon", "  sel: {EventID: 16}\n  condition: sel\n")
    assert '$e.metadata.product_event_type = "16"' in text
    assert "additional.fields" not in text


def test_web_requests_read_the_udm_http_fields_googles_web_rules_read(tmp_path: Path) -> None:
    """Google's web rules read NETWORK_HTTP events' URL as target.url, the method, status and user
    agent as network.http fields (response_code an integer): a proxy rule reads them there, and the
    query string, cookie or a keyword, which have no UDM field, make it unsupported."""
    detection = "  sel: {cs-method: POST, c-useragent|contains: 'curl', sc-status: 200}\n  condition: sel\n"
    text = _rule(tmp_path, "category: proxy", detection)
    assert '$e.metadata.event_type = "NETWORK_HTTP"' in text
    assert '$e.network.http.method = "POST"' in text
    assert "$e.network.http.user_agent = /" in text
    assert "$e.network.http.response_code = 200" in text
    assert "additional.fields" not in text
    model = target_datamodel("yaral")["NETWORK_HTTP"]
    assert model.fields["network.http.response_code"] == "int"
    assert not model.open and model.raw is None
    events = [
        {"cs-method": "POST", "c-useragent": "curl/8.1", "sc-status": 200, "c-uri": "http://a.example/x"},
        {"cs-method": "GET", "c-useragent": "curl/8.1", "sc-status": 200, "c-uri": "http://a.example/x"},
        {"cs-method": "POST", "c-useragent": "Mozilla/5.0", "sc-status": 200, "c-uri": "http://a.example/x"},
    ]
    assert _agrees(tmp_path, "category: proxy", detection, events) == [0]
    with pytest.raises(Unsupported, match="field 'cs-uri-query' has no column in NETWORK_HTTP"):
        _rule(tmp_path, "category: webserver", "  sel: {cs-uri-query|contains: 'union'}\n  condition: sel\n")
    with pytest.raises(Unsupported, match="NETWORK_HTTP has no raw event text field"):
        _rule(tmp_path, "category: webserver", "  k:\n    - '/etc/passwd'\n  condition: k\n")


def test_office_365_operation_and_workload_are_where_googles_rules_read_them(tmp_path: Path) -> None:
    """Google's Office 365 rules read the audit Operation as metadata.product_event_type (=
    "FileDownloaded") and the workload as target.application (= "OneDrive"); Sigma's
    threat_management keys (eventSource, eventName, status) are placed nowhere, so unsupported."""
    detection = "  sel: {Operation: FileDownloaded, Workload: OneDrive}\n  condition: sel\n"
    text = _rule(tmp_path, "product: m365, service: audit", detection)
    assert '$e.metadata.log_type = "OFFICE_365"' in text
    assert '$e.metadata.product_event_type = "FileDownloaded"' in text
    assert '$e.target.application = "OneDrive"' in text
    assert "additional.fields" not in text
    events = [
        {"Operation": "FileDownloaded", "Workload": "OneDrive"},
        {"Operation": "FileDownloaded", "Workload": "SharePoint"},
        {"Operation": "FileUploaded", "Workload": "OneDrive"},
    ]
    assert _agrees(tmp_path, "product: m365, service: audit", detection, events) == [0]
    with pytest.raises(Unsupported, match="field 'eventSource' has no column in OFFICE_365"):
        _rule(
            tmp_path,
            "product: m365, service: threat_management",
            "  sel: {eventSource: SecurityComplianceCenter, status: success}\n  condition: sel\n",
        )


def test_workspace_rules_select_the_application_by_the_name_googles_rules_use(tmp_path: Path) -> None:
    """Google's Workspace rules select admin events by metadata.product_name "admin" and read the
    event name as metadata.product_event_type (= "ASSIGN_ROLE"): a Sigma admin rule's service
    admin.googleapis.com reads as "admin", another value is unsupported, and a setting name, placed
    nowhere, has no column."""
    text = _rule(
        tmp_path,
        "product: gcp, service: google_workspace.admin",
        "  sel: {eventService: admin.googleapis.com, eventName: ASSIGN_ROLE}\n  condition: sel\n",
    )
    assert '$e.metadata.product_name = "admin"' in text
    assert "admin.googleapis.com" not in text
    assert '$e.metadata.product_event_type = "ASSIGN_ROLE"' in text
    assert "additional.fields" not in text
    login = _rule(
        tmp_path,
        "product: gcp, service: google_workspace.login",
        "  sel:\n    protoPayload.serviceName: login.googleapis.com\n"
        "    protoPayload.metadata.event.eventName: gov_attack_warning\n  condition: sel\n",
    )
    assert '$e.metadata.product_name = "login"' in login
    assert '$e.metadata.product_event_type = "gov_attack_warning"' in login
    with pytest.raises(Unsupported, match="setting_name' has no column in WORKSPACE_ACTIVITY"):
        _rule(
            tmp_path,
            "product: gcp, service: google_workspace.admin",
            "  sel: {eventName: CHANGE_APPLICATION_SETTING, setting_name|startswith: Context}\n"
            "  condition: sel\n",
        )
    assert target_datamodel("yaral")["WORKSPACE_ACTIVITY"].provenance


def test_onelogin_event_type_ids_are_the_product_event_type(tmp_path: Path) -> None:
    """Google's OneLogin rules compare OneLogin event type ids with metadata.product_event_type
    (= "6", = "3"): the id is read there as the string the parser writes."""
    detection = "  sel: {event_type_id: 3}\n  condition: sel\n"
    text = _rule(tmp_path, "product: onelogin, service: onelogin.events", detection)
    assert '$e.metadata.product_event_type = "3"' in text
    assert "additional.fields" not in text
    events = [{"event_type_id": 3}, {"event_type_id": 5}]
    assert _agrees(tmp_path, "product: onelogin, service: onelogin.events", detection, events) == [0]


def test_kubernetes_audit_keys_are_the_udm_fields_the_parsers_change_log_names(tmp_path: Path) -> None:
    """The KUBERNETES_AUDIT change log maps verb to network.http.method, objectRef.resource to
    target.resource.resource_subtype and responseStatus.code to network.http.response_code: a
    Kubernetes rule reads them there, and the object's namespace, which it places nowhere, has no
    column."""
    detection = "  sel: {verb: delete, objectRef.resource: events}\n  condition: sel\n"
    text = _rule(tmp_path, "product: kubernetes, service: audit", detection)
    assert '$e.metadata.log_type = "KUBERNETES_AUDIT"' in text
    assert "$e.network.http.method = " in text
    assert "$e.target.resource.resource_subtype = " in text
    assert "additional.fields" not in text
    events = [
        {"verb": "delete", "objectRef.resource": "events"},
        {"verb": "create", "objectRef.resource": "events"},
        {"verb": "delete", "objectRef.resource": "pods"},
    ]
    assert _agrees(tmp_path, "product: kubernetes, service: audit", detection, events) == [0]
    status = _rule(
        tmp_path,
        "category: application, product: kubernetes, service: audit",
        "  sel:\n    responseStatus.code: [401, 403]\n  condition: sel\n",
    )
    assert "$e.network.http.response_code = 401" in status
    with pytest.raises(Unsupported, match=r"objectRef\.namespace' has no column in KUBERNETES_AUDIT"):
        _rule(
            tmp_path,
            "product: kubernetes, service: audit",
            "  sel: {verb: create, objectRef.namespace: kube-system}\n  condition: sel\n",
        )


def test_sysmon_initiated_is_not_a_field_the_sysmon_parser_writes(tmp_path: Path) -> None:
    """Google's own remote PowerShell rule (potential_remote_powershell_session_initiated) says the
    WINDOWS_SYSMON parser does not map Sysmon 3's Initiated: a network rule testing it is unsupported
    instead of reading additional.fields["Initiated"], which only a parser extension writes."""
    with pytest.raises(Unsupported, match="field 'Initiated' has no column in NETWORK_CONNECTION"):
        _rule(
            tmp_path,
            "category: network_connection, product: windows",
            "  sel: {Initiated: 'true', DestinationPort: 5985}\n  condition: sel\n",
        )
    text = _rule(
        tmp_path,
        "category: network_connection, product: windows",
        "  sel: {DestinationPort: 5985, Image|endswith: '\\powershell.exe'}\n  condition: sel\n",
    )
    assert "$e.target.port = 5985" in text
    assert "$e.principal.process.file.full_path = /" in text
    assert "additional.fields" not in text
