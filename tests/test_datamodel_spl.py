"""Splunk data model: Entra ID logs as the Microsoft Cloud Services add-on indexes the exported JSON."""

from __future__ import annotations

from pathlib import Path

from siemc.backends import get_target

from siemc.compile.datamodel import load_datamodel, models_folder
from siemc.compile.rule import parse_rule
from tests.conftest import load_pack_rule
from tests.engines import agreeing_hits


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
    assert agreeing_hits("spl", detection, query, events) == [0]


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


def _render(text: str) -> str:
    return get_target("spl").render(parse_rule(_rule(text), Path("t.yml")))


def _unsupported(text: str) -> str:
    from siemc.diagnostics import Unsupported

    try:
        _render(text)
    except Unsupported as error:
        return str(error)
    raise AssertionError("expected the rule to be unsupported")


def _semantic(text: str, events: list[dict[str, object]]) -> list[int]:
    """The rows the rendered query returns over events stored as the data model says, checked
    against Sigma's own evaluation of the rule."""
    detection = parse_rule(_rule(text), Path("t.yml"))
    return agreeing_hits("spl", detection, get_target("spl").render(detection), events)


def test_every_source_the_corpus_mostly_selects_has_a_model() -> None:
    models = load_datamodel(models_folder() / "spl.yml")
    assert {
        "XmlWinEventLog",
        'sourcetype="sysmon:linux"',
        'sourcetype="aws:cloudtrail"',
        'sourcetype="linux:audit"',
        "tag=web",
        'sourcetype="azure:monitor:activity"',
        'sourcetype="OktaIM2:log"',
        "azure:monitor:aad UserRiskEvents",
        'sourcetype="o365:management:activity"',
        'sourcetype="kube:apiserver-audit"',
        'sourcetype="google:gcp:pubsub:audit:admin_activity"',
        'sourcetype="github:cloud:audit"',
        'sourcetype="cisco:ios"',
        "osquery:results es_process_events",
        "osquery:results file_events",
        'sourcetype="bro:dns:json"',
        'sourcetype="bro:smb_files:json"',
        'sourcetype="google:gsuite:pubsub:audit:auth"',
    } <= set(models)


def test_windows_event_data_names_are_the_providers_own_and_case_sensitive() -> None:
    """The Windows add-on extracts every <Data Name='X'> item as field X, in the provider's spelling
    (Sysmon's schema: CommandLine, ParentImage; Security 4688: NewProcessName); Splunk field names
    are case-sensitive, so `commandline` is no field of the source."""
    model = load_datamodel(models_folder() / "spl.yml")["XmlWinEventLog"]
    for name in (
        "Image",
        "CommandLine",
        "ParentImage",
        "TargetObject",
        "QueryName",
        "ScriptBlockText",
        "NewProcessName",
        "ServiceFileName",
        "ImagePath",
        "EventCode",
        "Channel",
        "Computer",
    ):
        assert model.has(name), name
    assert not model.has("commandline")
    assert model.origins["EventCode"] == "EventID"
    message = _unsupported(
        "logsource: {category: process_creation, product: windows}\n"
        "detection:\n  sel: {commandline|contains: whoami}\n  condition: sel\n"
    )
    assert "XmlWinEventLog has no field commandline" in message


def test_sysmon_process_creation_matches_events_stored_as_the_add_on_extracts_them() -> None:
    hits = _semantic(
        "logsource: {category: process_creation, product: windows}\n"
        "detection:\n  sel: {Image|endswith: '\\\\whoami.exe', CommandLine|contains: '/all'}\n"
        "  condition: sel\n",
        [
            {"Image": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami /all"},
            {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c whoami /all"},
        ],
    )
    assert hits == [0]


def test_provider_name_is_read_with_the_quotes_the_add_on_keeps() -> None:
    """The add-on extracts the System element's attributes (Provider Name, Guid, Execution ProcessID,
    Security UserID) with the quotes of the XML text ("Name": "'Microsoft-Windows-Sysmon'",
    "UserID": "'S-1-5-18'" in the Splunk CIM sample of Google SecOps' "Collect Splunk CIM logs"
    page): Provider_Name is tested on Name as `'X'`, and a wildcard at an end takes the quote in."""
    head = "logsource: {product: windows, service: system}\ndetection:\n"
    text = head + "  sel: {Provider_Name: %s, EventID: 7045}\n  condition: sel\n"
    exact = get_target("spl").render(parse_rule(_rule(text % "Service Control Manager"), Path("t.yml")))
    assert "Name=\"'Service Control Manager'\"" in exact
    starts = get_target("spl").render(parse_rule(_rule(text % "'Service*'"), Path("t.yml")))
    assert 'Name="\'Service*"' in starts
    events = [
        {"Provider_Name": "Service Control Manager", "EventID": 7045},
        {"Provider_Name": "Service Control Manager Extra", "EventID": 7045},
        {"Provider_Name": "Other", "EventID": 7045},
    ]
    assert _semantic(text % "Service Control Manager", events) == [0]
    assert _semantic(text % "'Service*'", events) == [0, 1]
    assert _semantic(text % "'*Manager'", events) == [0]
    regex = head + "  sel: {Provider_Name|re: '^Service'}\n  condition: sel\n"
    assert "a regex on it is not rewritten" in _unsupported(regex)


def test_cloudtrail_arrays_are_read_under_splunks_array_names() -> None:
    """Splunk's JSON extraction names an array with `{}` (the AWS add-on's fields include
    resources{}.ARN); UpdateFunctionConfiguration's Layers is an array of strings, so Sigma's
    requestParameters.layers is Splunk's requestParameters.layers{}."""
    text = (
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection:\n  sel: {eventSource: lambda.amazonaws.com, requestParameters.layers|contains: evil}\n"
        "  condition: sel\n"
    )
    assert "requestParameters.layers{}=" in _render(text)
    hits = _semantic(
        text,
        [
            {"eventSource": "lambda.amazonaws.com", "requestParameters.layers": "arn:aws:lambda:layer:evil"},
            {"eventSource": "lambda.amazonaws.com", "requestParameters.layers": "arn:aws:lambda:layer:good"},
        ],
    )
    assert hits == [0]


def test_okta_targets_are_an_array() -> None:
    """Okta's LogEvent `target` is an array of objects (System Log API), which the Okta add-on's
    events carry as target{}.displayName."""
    text = (
        "logsource: {product: okta, service: okta}\n"
        "detection:\n  sel: {eventType: policy.evaluate_sign_on, target.displayName: Okta Admin Console}\n"
        "  condition: sel\n"
    )
    assert 'target{}.displayName="Okta Admin Console"' in _render(text)
    hits = _semantic(
        text,
        [
            {"eventType": "policy.evaluate_sign_on", "target.displayName": "Okta Admin Console"},
            {"eventType": "policy.evaluate_sign_on", "target.displayName": "Other App"},
        ],
    )
    assert hits == [0]


def test_activity_log_categories_are_the_event_hub_exports() -> None:
    """The Activity log streamed to an event hub keeps the event category (Administrative) in
    properties.eventCategory; its top-level `category` is the operation kind (Microsoft Learn, Azure
    Activity Log event schema, schema from storage account and event hubs)."""
    text = (
        "logsource: {product: azure, service: activitylogs}\n"
        "detection:\n  sel:\n    CategoryValue: Administrative\n"
        "    OperationNameValue: MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE\n"
        "  condition: sel\n"
    )
    query = _render(text)
    assert 'properties.eventCategory="Administrative"' in query and "operationName=" in query
    assert "CategoryValue" not in query
    assert "has no field ResourceProviderValue" in _unsupported(
        "logsource: {product: azure, service: activitylogs}\n"
        "detection:\n  sel: {ResourceProviderValue: Microsoft.Compute}\n  condition: sel\n"
    )


def test_audit_records_keep_auditds_names() -> None:
    """The Unix and Linux add-on extracts auditd's key=value pairs under auditd's names (type, a0,
    the enriched SYSCALL); `unit` is not among the fields it extracts from a SERVICE_STOP record."""
    hits = _semantic(
        "logsource: {product: linux, service: auditd}\n"
        "detection:\n  sel: {type: EXECVE, a0: chmod, a1: '777'}\n  condition: sel\n",
        [{"type": "EXECVE", "a0": "chmod", "a1": "777"}, {"type": "EXECVE", "a0": "chmod", "a1": "644"}],
    )
    assert hits == [0]
    assert "has no field unit" in _unsupported(
        "logsource: {product: linux, service: auditd}\n"
        "detection:\n  sel: {type: SERVICE_STOP, unit: auditd}\n  condition: sel\n"
    )


def test_web_fields_outside_the_cim_web_model_are_unsupported() -> None:
    """tag=web events carry the CIM Web data model's fields (url, http_user_agent, ...); a field one
    product's add-on may extract besides (c_uri_extension) is no field of the source."""
    assert "url=" in _render(
        "logsource: {category: proxy}\ndetection:\n  sel: {c-uri|contains: /evil}\n  condition: sel\n"
    )
    assert "tag=web has no field c_uri_extension" in _unsupported(
        "logsource: {category: proxy}\ndetection:\n  sel: {c-uri-extension: exe}\n  condition: sel\n"
    )


def test_risk_detections_are_the_user_risk_events_the_event_hub_export_carries() -> None:
    """No add-on writes ms:aad:riskdetection: Entra ID Protection's detections reach Splunk as the
    UserRiskEvents category of Entra ID's diagnostic settings (azure:monitor:aad), with the
    riskDetection record under `properties.`."""
    text = (
        "logsource: {product: azure, service: riskdetection}\n"
        "detection:\n  sel: {riskEventType: anomalousToken}\n  condition: sel\n"
    )
    query = _render(text)
    assert 'sourcetype="azure:monitor:aad" category=UserRiskEvents' in query
    assert 'properties.riskEventType="anomalousToken"' in query and "ms:aad" not in query
    assert _semantic(
        text, [{"riskEventType": "anomalousToken"}, {"riskEventType": "unfamiliarFeatures"}]
    ) == [0]
    assert "has no field riskScore" in _unsupported(
        "logsource: {product: azure, service: riskdetection}\n"
        "detection:\n  sel: {riskScore: 90}\n  condition: sel\n"
    )


def test_office_365_alerts_are_read_from_the_management_activity_record() -> None:
    """A Security and Compliance alert record carries the alert's Name and the Workload
    SecurityComplianceCenter (Management Activity API schema); an Exchange cmdlet is the Operation.
    The alert record has no Payload."""
    text = (
        "logsource: {product: m365, service: threat_management}\n"
        "detection:\n  sel:\n    eventSource: SecurityComplianceCenter\n"
        "    eventName: Suspicious inbox forwarding\n    status: success\n  condition: sel\n"
    )
    query = _render(text)
    assert 'Workload="SecurityComplianceCenter"' in query and 'Name="Suspicious inbox forwarding"' in query
    assert "eventSource" not in query and "eventName" not in query
    events = [
        {
            "eventSource": "SecurityComplianceCenter",
            "eventName": "Suspicious inbox forwarding",
            "status": "success",
        },
        {
            "eventSource": "SecurityComplianceCenter",
            "eventName": "Impossible travel activity",
            "status": "success",
        },
    ]
    assert _semantic(text, events) == [0]
    exchange = _render(
        "logsource: {product: m365, service: exchange}\n"
        "detection:\n  sel: {eventSource: Exchange, eventName: Add-FederatedDomain}\n  condition: sel\n"
    )
    assert 'Operation="Add-FederatedDomain"' in exchange and 'Workload="Exchange"' in exchange
    assert 'o365:management:activity" has no field Payload' in _unsupported(
        "logsource: {product: m365, service: threat_management}\n"
        "detection:\n  sel: {Payload|contains: New-ComplianceSearchAction}\n  condition: sel\n"
    )


def test_kubernetes_audit_events_are_the_collectors_source_type_and_the_events_keys() -> None:
    """Splunk OpenTelemetry Collector for Kubernetes types the API server's audit log
    kube:apiserver-audit; the API group of a request is objectRef.apiGroup (audit.k8s.io Event)."""
    text = (
        "logsource: {product: kubernetes, service: audit}\n"
        "detection:\n  sel: {verb: patch, apiGroup: apps, objectRef.resource: deployments}\n"
        "  condition: sel\n"
    )
    query = _render(text)
    assert 'sourcetype="kube:apiserver-audit"' in query and 'objectRef.apiGroup="apps"' in query
    assert "kube:apiserver:audit" not in query
    events = [
        {"verb": "patch", "apiGroup": "apps", "objectRef.resource": "deployments"},
        {"verb": "patch", "apiGroup": "batch", "objectRef.resource": "deployments"},
    ]
    assert _semantic(text, events) == [0]
    assert "has no field spec.hostNetwork" in _unsupported(
        "logsource: {product: kubernetes, service: audit}\n"
        "detection:\n  sel: {spec.hostNetwork: 'true'}\n  condition: sel\n"
    )


def test_gcp_admin_activity_is_read_under_the_pubsub_messages_data() -> None:
    """The GCP add-on's Pub/Sub input keeps the LogEntry under `data.`; authorizationInfo is an array
    (data.protoPayload.authorizationInfo{}.permission) and the monitored resource is the entry's own
    (data.resource.type), not the protoPayload's."""
    text = (
        "logsource: {product: gcp, service: gcp.audit}\n"
        "detection:\n  sel:\n    gcp.audit.method_name: v1.compute.instances.insert\n"
        "    data.protoPayload.authorizationInfo.granted: 'true'\n  condition: sel\n"
    )
    query = _render(text)
    assert 'sourcetype="google:gcp:pubsub:audit:admin_activity"' in query
    assert 'data.protoPayload.methodName="v1.compute.instances.insert"' in query
    assert "data.protoPayload.authorizationInfo{}.granted=" in query and "gcp.audit" not in query
    events = [
        {
            "gcp.audit.method_name": "v1.compute.instances.insert",
            "data.protoPayload.authorizationInfo.granted": "true",
        },
        {
            "gcp.audit.method_name": "v1.compute.instances.delete",
            "data.protoPayload.authorizationInfo.granted": "true",
        },
    ]
    assert _semantic(text, events) == [0]
    resource = _render(
        "logsource: {product: gcp, service: gcp.audit}\n"
        "detection:\n  sel: {data.protoPayload.resource.type: k8s_cluster}\n  condition: sel\n"
    )
    assert 'data.resource.type="k8s_cluster"' in resource


def test_github_actions_are_read_from_the_add_ons_vendor_action() -> None:
    """The Splunk Add-on for GitHub maps github:cloud:audit to the CIM by vendor_action (GitHub's
    org.update_member); `action` is the CIM field, so Sigma's action is read from vendor_action."""
    text = (
        "logsource: {product: github, service: audit}\n"
        "detection:\n  sel: {action: repo.destroy}\n  condition: sel\n"
    )
    query = _render(text)
    assert 'vendor_action="repo.destroy"' in query and " action=" not in query
    assert _semantic(text, [{"action": "repo.destroy"}, {"action": "repo.create"}]) == [0]


def test_cisco_ios_keywords_are_searched_in_the_raw_message_and_duo_has_no_field_there() -> None:
    text = (
        "logsource: {product: cisco, service: aaa}\n"
        "detection:\n  keywords: ['write erase']\n  condition: keywords\n"
    )
    assert 'sourcetype="cisco:ios"' in _render(text)
    assert 'cisco:ios" has no field event_type' in _unsupported(
        "logsource: {product: cisco, service: duo}\n"
        "detection:\n  sel: {event_type: authentication}\n  condition: sel\n"
    )


def test_macos_processes_are_the_osquery_add_ons_endpoint_security_rows() -> None:
    """No add-on writes macos:es:exec; Splunk's osquery add-on logs EndpointSecurity process events
    (es_process_events) as osquery:results, the row under `columns.` (path, cmdline). An exec row
    carries the parent's pid only, so a rule on ParentImage is unsupported."""
    text = (
        "logsource: {category: process_creation, product: macos}\n"
        "detection:\n  sel: {Image|endswith: /osascript, CommandLine|contains: ' -e '}\n  condition: sel\n"
    )
    query = _render(text)
    assert 'sourcetype="osquery:results" columns.event_type=exec' in query
    assert "columns.path=" in query and "columns.cmdline=" in query and "macos:es" not in query
    events = [
        {"Image": "/usr/bin/osascript", "CommandLine": "osascript -e 'display dialog'"},
        {"Image": "/usr/bin/osascript", "CommandLine": "osascript script.scpt"},
        {"Image": "/bin/bash", "CommandLine": "bash -e x"},
    ]
    assert _semantic(text, events) == [0]
    assert "ParentImage" in _unsupported(
        "logsource: {category: process_creation, product: macos}\n"
        "detection:\n  sel: {ParentImage|endswith: /osascript}\n  condition: sel\n"
    )
    created = _render(
        "logsource: {category: file_event, product: macos}\n"
        "detection:\n  sel: {TargetFilename|startswith: /etc/emond.d/rules/}\n  condition: sel\n"
    )
    assert (
        'sourcetype="osquery:results" columns.action=CREATED' in created and "columns.target_path=" in created
    )


def test_zeek_logs_are_the_add_ons_per_log_source_types() -> None:
    """The Zeek add-on types each JSON log by its file name (bro:dns:json, bro:http:json) and keeps
    Zeek's names; it aliases the answers{} array to answers. No add-on writes a source type zeek."""
    text = (
        "logsource: {product: zeek, service: dns}\n"
        "detection:\n  sel: {query|endswith: .onion, answers|contains: '10.'}\n  condition: sel\n"
    )
    query = _render(text)
    assert 'sourcetype="bro:dns:json"' in query and 'sourcetype="zeek"' not in query
    events = [
        {"query": "abc.onion", "answers": "10.0.0.1"},
        {"query": "abc.onion", "answers": "192.168.0.1"},
        {"query": "abc.com", "answers": "10.0.0.1"},
    ]
    assert _semantic(text, events) == [0]
    http = (
        "logsource: {product: zeek, service: http}\n"
        "detection:\n  sel: {c-uri|endswith: .hta, id.resp_h: 10.0.0.5}\n  condition: sel\n"
    )
    rendered = _render(http)
    assert (
        'sourcetype="bro:http:json"' in rendered and "uri=" in rendered and 'id.resp_h="10.0.0.5"' in rendered
    )
    assert _semantic(
        http, [{"c-uri": "/a.hta", "id.resp_h": "10.0.0.5"}, {"c-uri": "/a.html", "id.resp_h": "10.0.0.5"}]
    ) == [0]
    assert 'bro:smb_files:json" has no field share_type' in _unsupported(
        "logsource: {product: zeek, service: smb_files}\n"
        "detection:\n  sel: {share_type: PIPE}\n  condition: sel\n"
    )


def test_workspace_audit_events_are_read_from_the_cloud_audit_entry() -> None:
    """Workspace admin and login events shared with Google Cloud reach the GCP add-on as Cloud Audit
    Logs entries: the service name is data.protoPayload.serviceName and the event name is in the
    metadata.event{} array; a parameter such as NEW_VALUE is a name/value pair with no field."""
    text = (
        "logsource: {product: gcp, service: google_workspace.admin}\n"
        "detection:\n  sel: {eventService: admin.googleapis.com, eventName: REMOVE_PRIVILEGE}\n"
        "  condition: sel\n"
    )
    query = _render(text)
    assert 'sourcetype="google:gcp:pubsub:audit:admin_activity"' in query
    assert 'data.protoPayload.serviceName="admin.googleapis.com"' in query
    assert 'data.protoPayload.metadata.event{}.eventName="REMOVE_PRIVILEGE"' in query
    events = [
        {"eventService": "admin.googleapis.com", "eventName": "REMOVE_PRIVILEGE"},
        {"eventService": "admin.googleapis.com", "eventName": "GRANT_ADMIN_PRIVILEGE"},
    ]
    assert _semantic(text, events) == [0]
    assert "new_value" in _unsupported(
        "logsource: {product: gcp, service: google_workspace.admin}\n"
        "detection:\n  sel: {eventName: ENFORCE_STRONG_AUTHENTICATION, new_value: 'false'}\n"
        "  condition: sel\n"
    )
    login = _render(
        "logsource: {product: gcp, service: google_workspace.login}\n"
        "detection:\n  sel: {protoPayload.serviceName: login.googleapis.com,"
        " protoPayload.metadata.event.eventName: gov_attack_warning}\n  condition: sel\n"
    )
    assert 'sourcetype="google:gsuite:pubsub:audit:auth"' in login
    assert 'data.protoPayload.metadata.event{}.eventName="gov_attack_warning"' in login


def test_fortigate_configuration_changes_read_fortios_action_from_vendor_action() -> None:
    """The Fortinet FortiGate add-on keeps FortiOS's action (Add, Edit) in vendor_action, and its
    `action` holds the CIM value; cfgpath keeps FortiOS's name."""
    text = (
        "logsource: {product: fortigate, service: event}\n"
        "detection:\n  sel: {action: Add, cfgpath: firewall.policy}\n  condition: sel\n"
    )
    query = _render(text)
    assert 'vendor_action="Add"' in query and 'cfgpath="firewall.policy"' in query
    events = [
        {"action": "Add", "cfgpath": "firewall.policy"},
        {"action": "Delete", "cfgpath": "firewall.policy"},
    ]
    assert _semantic(text, events) == [0]
