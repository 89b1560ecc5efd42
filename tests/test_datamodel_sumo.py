"""Sumo Logic Cloud SIEM data model: records as Cloud SIEM's own log mappings write them (Windows, Sysmon
for Linux, Auditd, Linux OS Syslog, Jamf, CloudTrail, Okta, OneLogin, GitHub Enterprise Audit, Google Cloud
audit, Kubernetes, Cisco IOS, Duo, FortiGate, Zeek)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from siemc.backends import get_target

from siemc.compile.datamodel import load_datamodel, models_folder
from siemc.compile.rule import Detection, parse_rule
from siemc.config import DEFAULT, SiteConfig
from siemc.diagnostics import Unsupported
from tests.conftest import EVERY_SOURCE_SITE, load_pack_rule
from tests.engines import ENGINES, agreeing_hits, native_events

SYSMON_1 = 'metadata_deviceEventId="Microsoft-Windows-Sysmon/Operational-1"'


def _rule(text: str) -> str:
    return "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n" + text


def _render(text: str, site: SiteConfig = DEFAULT) -> str:
    return get_target("sumo", site).render(parse_rule(_rule(text), Path("t.yml")))


def test_the_model_loads_with_provenance_on_every_source() -> None:
    models = load_datamodel(models_folder() / "sumo.yml")
    assert {"sec_record_endpoint_process", "sec_record_network_connection", "sec_record_windows"} <= set(
        models
    )
    for name, model in models.items():
        assert model.provenance and all(p.strip() for p in model.provenance)
        if model.raw == "fields.EventData.{name}":
            assert model.has("fields.EventData.AnyName"), name


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
    assert agreeing_hits("sumo", detection, query, events) == [0]


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


def _agrees(text: str, events: list[dict[str, Any]], expected: list[int]) -> str:
    """The query of a rule, after checking that the engine and the reference agree on `events` stored as
    the data model says the vendor's mapping stores them."""
    detection = parse_rule(_rule(text), Path("t.yml"))
    query = get_target("sumo").render(detection)
    assert agreeing_hits("sumo", detection, query, events) == expected
    return query


def test_linux_process_creation_selects_sysmon_for_linux_event_1() -> None:
    """Cloud SIEM's "Linux-Sysmon/Operational - 1" mapping writes vendor Linux, product "Sysmon for
    Linux" (no mapping writes a product "Linux"), EndpointProcess records in sec_record_endpoint that
    its event 11 (file create) also fills: the event id is part of the selector."""
    text = _render(
        "logsource: {category: process_creation, product: linux}\n"
        "detection:\n  sel: {Image|endswith: '/base64'}\n  condition: sel\n"
    )
    scope = text.splitlines()[2]
    assert 'metadata_vendor="Linux" metadata_product="Sysmon for Linux"' in scope
    assert 'metadata_deviceEventId="Linux-Sysmon/Operational-1"' in scope


def test_linux_current_directory_is_the_raw_key_not_file_path() -> None:
    """The Sysmon for Linux 1 mapping takes the event data without a prefix and maps nothing to
    file_path: CurrentDirectory stays in the record's fields map as fields.CurrentDirectory."""
    query = _agrees(
        "logsource: {category: process_creation, product: linux}\n"
        "detection:\n  sel: {Image|endswith: '/sh', CurrentDirectory: '/tmp'}\n  condition: sel\n",
        [
            {"Image": "/bin/sh", "CurrentDirectory": "/tmp"},
            {"Image": "/bin/sh", "CurrentDirectory": "/root"},
        ],
        [0],
    )
    assert '%"fields.CurrentDirectory"' in query and "file_path" not in query


def test_linux_process_rule_does_not_match_a_file_create_of_the_same_process() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {category: process_creation, product: linux}\n"
            "detection:\n  sel: {Image|endswith: '/curl'}\n  condition: sel\n"
        ),
        Path("t.yml"),
    )
    target = get_target("sumo")
    query = target.render(detection)
    source = target.source_for(detection.sigma)
    rows = native_events("sumo", source, [{"Image": "/usr/bin/curl"}] * 2)
    rows[1] |= {"metadata_deviceEventId": "Linux-Sysmon/Operational-11", "file_path": "/tmp/x"}
    assert [row.index for row in ENGINES["sumo"](query, source, rows, {})] == [0]


def test_auditd_exe_is_file_path_and_the_record_type_a_raw_key() -> None:
    """Cloud SIEM's "Auditd" mapping (vendor Linux, product Auditd) maps exe to file_path; auditd's other
    keys (type, a0, SYSCALL) stay in the record's fields map."""
    query = _agrees(
        "logsource: {product: linux, service: auditd}\n"
        "detection:\n  sel: {type: SYSCALL, exe|endswith: '/ecasound', SYSCALL: memfd_create}\n"
        "  condition: sel\n",
        [
            {"type": "SYSCALL", "exe": "/usr/bin/ecasound", "SYSCALL": "memfd_create"},
            {"type": "SYSCALL", "exe": "/usr/bin/other", "SYSCALL": "memfd_create"},
        ],
        [0],
    )
    assert 'metadata_vendor="Linux" metadata_product="Auditd"' in query
    assert "file_path" in query and '%"fields.type"' in query


def test_cloudtrail_keeps_the_event_keys_in_fields() -> None:
    """Every CloudTrail mapping writes vendor "Amazon AWS", product CloudTrail and maps sourceIPAddress
    to srcDevice_ip; the record keeps the event's keys in fields (Cloud SIEM's rule MATCH-S00099 reads
    fields['requestParameters.policyArn'], a key its mapping also maps)."""
    query = _agrees(
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection:\n  sel: {eventSource: iam.amazonaws.com, eventName: CreateUser,"
        " sourceIPAddress: 10.0.0.1}\n  condition: sel\n",
        [
            {"eventSource": "iam.amazonaws.com", "eventName": "CreateUser", "sourceIPAddress": "10.0.0.1"},
            {"eventSource": "iam.amazonaws.com", "eventName": "DeleteUser", "sourceIPAddress": "10.0.0.1"},
        ],
        [0],
    )
    assert '%"fields.eventName"' in query and "srcDevice_ip" in query


@pytest.mark.parametrize(
    ("logsource", "field"),
    [
        ("{product: aws, service: cloudtrail}", "requestParameters"),
        ("{product: aws, service: cloudtrail}", "requestParameters.layers"),
        ("{product: okta, service: okta}", "target.displayName"),
        ("{product: gcp, service: gcp.audit}", "data.protoPayload.authorizationInfo.granted"),
        ("{product: kubernetes, service: audit}", "hostPath"),
    ],
)
def test_a_whole_object_or_list_has_no_field_in_flattened_records(logsource: str, field: str) -> None:
    """Cloud SIEM keeps a JSON event's keys flattened with dots and list items numbered from 1 (the
    mappings read resources.1.ARN, target.1.alternateId, authorizationInfo.1.granted): no key holds a
    whole object or every item of a list, so such a rule is unsupported, not a query matching nothing."""
    with pytest.raises(Unsupported, match=field.replace(".", r"\.")):
        _render(f"logsource: {logsource}\ndetection:\n  sel: {{{field}|contains: x}}\n  condition: sel\n")


def test_github_audit_selects_the_vendor_as_cloud_siem_spells_it() -> None:
    """The GitHub Enterprise Audit mappings write vendor "Github", product "GitHub Enterprise Audit",
    and map the audit event's action to the schema's action."""
    query = _agrees(
        "logsource: {product: github, service: audit}\n"
        "detection:\n  sel: {action: repo.destroy}\n  condition: sel\n",
        [{"action": "repo.destroy"}, {"action": "repo.create"}],
        [0],
    )
    assert 'metadata_vendor="Github" metadata_product="GitHub Enterprise Audit"' in query


def test_gcp_method_name_is_action_and_the_log_entry_is_under_message() -> None:
    """The GCP Audit Logs mapping maps message.data.protoPayload.methodName to action and writes the
    product's only Audit records; the rest of the log entry is fields.message.data.*."""
    query = _agrees(
        "logsource: {product: gcp, service: gcp.audit}\n"
        "detection:\n  sel: {gcp.audit.method_name: storage.buckets.delete,"
        " data.protoPayload.logName: x}\n  condition: sel\n",
        [
            {"gcp.audit.method_name": "storage.buckets.delete", "data.protoPayload.logName": "x"},
            {"gcp.audit.method_name": "storage.buckets.list", "data.protoPayload.logName": "x"},
        ],
        [0],
    )
    assert query.splitlines()[2].startswith("_index=sec_record_audit ")
    assert "action" in query and '%"fields.message.data.protoPayload.logName"' in query


def test_kubernetes_verb_and_resource_are_schema_fields() -> None:
    """The Kubernetes mapping maps message.verb to action and message.objectRef.resource to resource."""
    query = _agrees(
        "logsource: {product: kubernetes, service: audit}\n"
        "detection:\n  sel: {verb: delete, objectRef.resource: secrets, objectRef.apiGroup: ''}\n"
        "  condition: sel\n",
        [
            {"verb": "delete", "objectRef.resource": "secrets", "objectRef.apiGroup": ""},
            {"verb": "get", "objectRef.resource": "secrets", "objectRef.apiGroup": ""},
        ],
        [0],
    )
    assert "toLowerCase(action)" in query and "toLowerCase(resource)" in query


def test_web_fields_use_the_schema_names() -> None:
    """Cloud SIEM's schema has http_url_queryParameters, and no URL extension or cookie field
    (general_fields.md): the query string is read there, an extension or cookie test is unsupported."""
    text = _render(
        "logsource: {category: proxy}\ndetection:\n"
        "  sel: {cs-uri-query|contains: 'ver='}\n  condition: sel\n",
        EVERY_SOURCE_SITE,
    )
    assert "http_url_queryParameters" in text
    for field in ("c-uri-extension", "cs-cookie"):
        with pytest.raises(Unsupported, match=field):
            _render(
                f"logsource: {{category: proxy}}\ndetection:\n  sel: {{{field}: x}}\n  condition: sel\n",
                EVERY_SOURCE_SITE,
            )


def test_azure_audit_logs_select_their_category_and_read_the_exported_keys() -> None:
    """Cloud SIEM's AzureActivityLog AuditLogs mapping (event id AuditLogs, product Azure) maps
    operationName, the activity's display name, to action (Cloud SIEM's rule MATCH-S00140 tests
    action = 'Add policy'); Log Analytics' Category is the export's properties.category; Azure's
    product also holds Defender, sign-in and activity records, so the event id is in the selector."""
    query = _agrees(
        "logsource: {product: azure, service: auditlogs}\n"
        "detection:\n  sel: {properties.message: Add user, Category: UserManagement}\n  condition: sel\n",
        [
            {"properties.message": "Add user", "Category": "UserManagement"},
            {"properties.message": "Delete user", "Category": "UserManagement"},
        ],
        [0],
    )
    assert 'metadata_deviceEventId="AuditLogs"' in query
    assert "toLowerCase(action)" in query and '%"fields.properties.category"' in query


def test_azure_sign_in_status_object_has_no_field() -> None:
    """The sign-in export's properties.status is an object, kept as numbered, dotted keys
    (properties.status.errorCode is the mapping's errorCode): no field holds a Status string."""
    with pytest.raises(Unsupported, match="Status"):
        _render(
            "logsource: {product: azure, service: signinlogs}\n"
            "detection:\n  sel: {Status: Success}\n  condition: sel\n"
        )


def test_macos_process_creation_selects_jamf_exec_events() -> None:
    """Cloud SIEM's "Jamf Audit User - Endpoint" mapping (vendor and product Jamf, Endpoint records) maps
    the process path to baseImage and the arguments to commandLine; the mapping also takes ptrace and
    fork events, so the exec event names are part of the selector."""
    query = _agrees(
        "logsource: {category: process_creation, product: macos}\n"
        "detection:\n  sel: {Image|endswith: '/xattr', CommandLine|contains: ' -l'}\n  condition: sel\n",
        [
            {"Image": "/usr/bin/xattr", "CommandLine": "xattr -l /Applications/x.app"},
            {"Image": "/usr/bin/xattr", "CommandLine": "xattr -c /Applications/x.app"},
            {"Image": "/bin/ls", "CommandLine": "ls -l"},
        ],
        [0],
    )
    scope = query.splitlines()[2]
    assert scope.startswith('_index=sec_record_endpoint metadata_vendor="Jamf" metadata_product="Jamf"')
    assert 'metadata_deviceEventId="AUE_EXECVE"' in scope and "AUE_FORK" not in scope
    assert "toLowerCase(baseImage)" in query and "toLowerCase(commandLine)" in query


def test_macos_process_rule_does_not_match_a_ptrace_event_of_the_same_mapping() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {category: process_creation, product: macos}\n"
            "detection:\n  sel: {Image|endswith: '/osascript'}\n  condition: sel\n"
        ),
        Path("t.yml"),
    )
    target = get_target("sumo")
    query = target.render(detection)
    source = target.source_for(detection.sigma)
    rows = native_events("sumo", source, [{"Image": "/usr/bin/osascript"}] * 2)
    rows[1] |= {"metadata_deviceEventId": "AUE_PTRACE"}
    assert [row.index for row in ENGINES["sumo"](query, source, rows, {})] == [0]


@pytest.mark.parametrize(
    "field", ["ParentCommandLine", "OriginalFileName", "CurrentDirectory", "IntegrityLevel"]
)
def test_macos_fields_jamf_does_not_record_are_unsupported(field: str) -> None:
    """Jamf's mapping fills parentCommandLine with the responsible process's name, maps no original file
    name, and keeps Jamf's own keys in `fields`, none of which is a Sigma name."""
    with pytest.raises(Unsupported, match=field):
        _render(
            "logsource: {category: process_creation, product: macos}\n"
            f"detection:\n  sel: {{{field}|contains: x}}\n  condition: sel\n"
        )


def test_sshd_rules_select_the_sshd_mappings_of_linux_os_syslog() -> None:
    """Cloud SIEM's Linux syslog mappings write vendor Linux, product "Linux OS Syslog", each chosen by an
    event id the parser builds from the program ("sshd-success", "cron-CMD"): an sshd rule selects the
    sshd-* records and does not match the same text in a cron record."""
    detection = parse_rule(
        _rule(
            "logsource: {product: linux, service: sshd}\n"
            "detection:\n  kw: ['error in libcrypto']\n  condition: kw\n"
        ),
        Path("t.yml"),
    )
    target = get_target("sumo")
    query = target.render(detection)
    source = target.source_for(detection.sigma)
    assert source.name == "sec_record_linux_syslog_sshd"
    assert 'metadata_vendor="Linux" metadata_product="Linux OS Syslog" metadata_deviceEventId=sshd-*' in query
    rows = native_events("sumo", source, [{}] * 3)
    rows[0] |= {"_raw": "sshd[12]: error in libcrypto", "metadata_deviceEventId": "sshd-failed"}
    rows[1] |= {"_raw": "CRON[3]: (root) CMD (echo error in libcrypto)", "metadata_deviceEventId": "cron-CMD"}
    rows[2] |= {"_raw": "sshd[12]: Accepted publickey", "metadata_deviceEventId": "sshd-success"}
    assert [row.index for row in ENGINES["sumo"](query, source, rows, {})] == [0]


def _unmodelled_by_default(detection: Detection) -> None:
    """The rule's source has no data model: unsupported by default, read where a site vouches for it."""
    with pytest.raises(Unsupported, match="siemc has no data model of sec_record"):
        get_target("sumo").source_for(detection.sigma)
    models = load_datamodel(models_folder() / "sumo.yml")
    assert get_target("sumo", EVERY_SOURCE_SITE).source_for(detection.sigma).name not in models


@pytest.mark.parametrize("service", ["vsftpd", "guacamole", "clamav"])
def test_linux_services_without_a_cloud_siem_mapping_stay_unmodelled(service: str) -> None:
    """No Cloud SIEM mapping takes vsftpd, Guacamole or ClamAV messages: their rules keep the catch-all,
    which has no data model and so is not selected by default."""
    detection = parse_rule(
        _rule(f"logsource: {{product: linux, service: {service}}}\ndetection:\n  kw: [x]\n  condition: kw\n"),
        Path("t.yml"),
    )
    _unmodelled_by_default(detection)


def test_a_field_of_any_linux_log_is_unsupported() -> None:
    """The Linux products share no raw key, so a rule of product linux alone reads the record text only."""
    with pytest.raises(Unsupported, match="pam_user"):
        _render("logsource: {product: linux}\ndetection:\n  sel: {pam_user: root}\n  condition: sel\n")


def test_cisco_ios_rules_select_the_vendor_as_cloud_siem_spells_it() -> None:
    """Cloud SIEM's Cisco mappings write vendor "Cisco Systems" (never "Cisco"); IOS messages are records
    of product "Router and Switch IOS", searched by their text."""
    detection = parse_rule(
        _rule(
            "logsource: {product: cisco, service: aaa}\n"
            "detection:\n  kw: ['show running-config']\n  condition: kw\n"
        ),
        Path("t.yml"),
    )
    target = get_target("sumo")
    query = target.render(detection)
    source = target.source_for(detection.sigma)
    assert source.name == "sec_record_cisco_ios"
    assert 'metadata_vendor="Cisco Systems" metadata_product="Router and Switch IOS"' in query
    rows = native_events("sumo", source, [{}] * 3)
    rows[0] |= {"_raw": "%PARSER-5-CFGLOG_LOGGEDCMD: User:admin logged command:show running-config"}
    rows[1] |= {"_raw": "%PARSER-5-CFGLOG_LOGGEDCMD: User:admin logged command:show running-config"}
    rows[1] |= {"metadata_vendor": "Cisco", "metadata_product": "Umbrella"}
    rows[2] |= {"_raw": "%SYS-5-CONFIG_I: Configured from console by admin"}
    assert [row.index for row in ENGINES["sumo"](query, source, rows, {})] == [0]


def test_fortigate_event_action_is_flow_state_and_cfgpath_a_raw_key() -> None:
    """The "Fortinet Event Logs" mapping (event ids event-system, event-user, ...) maps the log's action to
    flowState; cfgpath stays in `fields` under its FortiOS name."""
    query = _agrees(
        "logsource: {product: fortigate, service: event}\n"
        "detection:\n  sel: {action: Add, cfgpath: system.admin}\n  condition: sel\n",
        [
            {"action": "Add", "cfgpath": "system.admin"},
            {"action": "Delete", "cfgpath": "system.admin"},
            {"action": "Add", "cfgpath": "firewall.address"},
        ],
        [0],
    )
    assert 'metadata_product="Fortigate" metadata_deviceEventId=event-*' in query
    assert "flowState" in query and '%"fields.cfgpath"' in query


def test_fortigate_event_rule_does_not_match_a_traffic_log() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {product: fortigate, service: event}\n"
            "detection:\n  sel: {action: Add}\n  condition: sel\n"
        ),
        Path("t.yml"),
    )
    target = get_target("sumo")
    query = target.render(detection)
    source = target.source_for(detection.sigma)
    rows = native_events("sumo", source, [{"action": "Add"}] * 2)
    rows[1] |= {"metadata_deviceEventId": "traffic-forward"}
    assert [row.index for row in ENGINES["sumo"](query, source, rows, {})] == [0]


def test_onelogin_event_type_is_the_event_id() -> None:
    """Cloud SIEM's OneLogin mappings are chosen by the event's event_type_id (its rule MATCH-S00605
    selects metadata_deviceEventId = '179'), product "OneLogin Single Sign-On"."""
    query = _agrees(
        "logsource: {product: onelogin, service: onelogin.events}\n"
        "detection:\n  sel: {event_type_id: 532}\n  condition: sel\n",
        [{"event_type_id": "532"}, {"event_type_id": "5"}],
        [0],
    )
    assert 'metadata_vendor="OneLogin" metadata_product="OneLogin Single Sign-On"' in query
    assert "metadata_deviceEventId" in query


def test_duo_reason_is_action_and_event_type_a_raw_key() -> None:
    """The "Duo Security Authentication API" mapping writes vendor "Duo Security", product
    "Multi-Factor Authentication (MFA)", and maps reason to action; event_type stays in `fields`."""
    query = _agrees(
        "logsource: {product: cisco, service: duo}\n"
        "detection:\n  sel: {event_type: authentication, reason: bypass_user}\n  condition: sel\n",
        [
            {"event_type": "authentication", "reason": "bypass_user"},
            {"event_type": "authentication", "reason": "user_approved"},
        ],
        [0],
    )
    assert 'metadata_vendor="Duo Security" metadata_product="Multi-Factor Authentication (MFA)"' in query
    assert "toLowerCase(action)" in query and '%"fields.event_type"' in query


def test_zeek_x509_selects_bro_records_of_the_x509_log() -> None:
    """Cloud SIEM's Zeek mappings write vendor and product "Bro" (never "Zeek"); x509.log records are
    chosen by the x509* event id and keep the log's keys in `fields`."""
    query = _agrees(
        "logsource: {product: zeek, service: x509}\n"
        "detection:\n  sel: {certificate.serial: 8BB00EE}\n  condition: sel\n",
        [{"certificate.serial": "8BB00EE"}, {"certificate.serial": "0102"}],
        [0],
    )
    assert 'metadata_vendor="Bro" metadata_product="Bro" metadata_deviceEventId=x509*' in query
    assert '%"fields.certificate.serial"' in query


def test_zeek_logs_without_a_cloud_siem_mapping_select_bro_records_but_stay_unmodelled() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {product: zeek, service: smb_files}\ndetection:\n  sel: {name: x}\n  condition: sel\n"
        ),
        Path("t.yml"),
    )
    query = get_target("sumo", EVERY_SOURCE_SITE).render(detection)
    assert 'metadata_vendor="Bro" metadata_product="Bro"' in query and "Zeek" not in query.splitlines()[2]
    _unmodelled_by_default(detection)


def test_m365_audit_reads_the_record_keys_in_fields() -> None:
    """Cloud SIEM's Office 365 mappings keep the audit record's keys in `fields` (its rule MATCH-S00068
    reads fields['Operation']) on records of vendor Microsoft, product "Office 365"."""
    query = _agrees(
        "logsource: {product: m365, service: audit}\n"
        "detection:\n  sel: {Workload: ThreatIntelligence, Operation: TIMailData}\n"
        "  filter: {DeliveryAction: Blocked}\n  condition: sel and not filter\n",
        [
            {"Workload": "ThreatIntelligence", "Operation": "TIMailData", "DeliveryAction": "Delivered"},
            {"Workload": "ThreatIntelligence", "Operation": "TIMailData", "DeliveryAction": "Blocked"},
            {"Workload": "Exchange", "Operation": "TIMailData", "DeliveryAction": "Delivered"},
        ],
        [0],
    )
    assert 'metadata_vendor="Microsoft" metadata_product="Office 365"' in query
    assert '%"fields.Operation"' in query and '%"fields.Workload"' in query


def test_m365_extended_property_has_no_key_of_its_own() -> None:
    with pytest.raises(Unsupported, match="RequestType"):
        _render(
            "logsource: {product: m365, service: audit}\n"
            "detection:\n  sel: {RequestType: x}\n  condition: sel\n"
        )


@pytest.mark.parametrize("service", ["threat_management", "threat_detection", "exchange"])
def test_m365_services_reading_event_names_office_365_lacks_stay_unmodelled(service: str) -> None:
    detection = parse_rule(
        _rule(
            f"logsource: {{product: m365, service: {service}}}\ndetection:\n  sel: {{status: success}}\n"
            "  condition: sel\n"
        ),
        Path("t.yml"),
    )
    _unmodelled_by_default(detection)
