"""LogScale data model: Falcon events and the Windows event logs as CrowdStrike's sensor and parsers
store them: device paths, tag fields, array fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from siemc.backends import get_target

from siemc.compile.datamodel import load_datamodel, models_folder
from siemc.compile.mappings import column_name, target_mapping
from siemc.compile.rule import load_rule, parse_rule
from siemc.config import load_config
from siemc.diagnostics import Unsupported
from tests.checkers.logscale import logscale_syntax_errors
from tests.conftest import EVERY_SOURCE_SITE
from tests.engines import ENGINES, agreeing_hits, native_events, run_target
from tests.models.logscale import run

MODELS = load_datamodel(models_folder() / "logscale.yml")
SYSMON_1 = '#windows.Channel="Microsoft-Windows-Sysmon/Operational" #windows.EventID="1"'


def _rule(text: str) -> str:
    return "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n" + text


def _detection(text: str):  # type: ignore[no-untyped-def]
    return parse_rule(_rule(text), Path("t.yml"))


def _process_rule(selection: str) -> str:
    return "logsource: {category: process_creation, product: windows}\ndetection:\n" + selection


def test_the_model_loads_with_provenance_on_every_source() -> None:
    assert {"ProcessRollup2", "DnsRequest", "NetworkConnectIP4", "file written", "windows"} <= set(MODELS)
    for model in MODELS.values():
        assert model.provenance and all(p.strip() for p in model.provenance)
    assert MODELS["ProcessRollup2"].forms == {"ImageFileName": "device_path"}
    assert MODELS["windows"].has("windows.EventData.AnyName")
    assert not MODELS["ProcessRollup2"].has("OriginalFilename")


def test_every_field_a_modelled_source_maps_is_one_the_model_has() -> None:
    checked = 0
    for entry in target_mapping("logscale"):
        for spec in entry.candidates:
            model = MODELS.get(spec.name)
            if model is None:
                continue
            natives = {n for n in spec.fields.values() if n is not None}
            natives |= {spec.time_field, *spec.selector_fields}
            if spec.keyword_field:
                natives.add(spec.keyword_field)
            # Where the model keeps raw fields where the mapping looks (CPS parsers: Vendor.{name}), the
            # model's field list decides each one; elsewhere any name must resolve into the model.
            if spec.unmapped and spec.unmapped != model.raw:
                natives.add(spec.unmapped.format(name="AnyName", snake="any_name"))
            missing = sorted(n for n in natives if not model.has(column_name(n)))
            assert missing == [], (str(entry.key), spec.name, missing)
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize(
    ("stored", "excluded"),
    [
        ("\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe", True),
        ("\\Device\\HarddiskVolume12\\windows\\cmd.exe", True),
        ("\\Device\\HarddiskVolume3\\Windows2\\cmd.exe", False),  # another folder
        ("\\Device\\HarddiskVolume3\\Users\\a\\Windows\\cmd.exe", False),  # not a prefix
        ("\\Device\\Mup\\server\\Windows\\cmd.exe", False),  # a network path, no volume
        ("\\Device\\HarddiskVolume\\Windows\\cmd.exe", False),  # no volume number
    ],
)
def test_a_drive_letter_prefix_filter_excludes_the_device_paths_falcon_stores(
    stored: str, excluded: bool
) -> None:
    detection = _detection(
        _process_rule(
            "  sel: {Image|endswith: '\\cmd.exe'}\n  filter: {Image|startswith: 'C:\\Windows\\'}\n"
            "  condition: sel and not filter\n"
        )
    )
    target = get_target("logscale")
    query = target.render(detection)
    assert "ImageFileName=/^\\\\Device\\\\HarddiskVolume[0-9]+\\\\Windows\\\\/i" in query
    assert logscale_syntax_errors(query.split("\n", 2)[2]) == []
    source = target.select(detection)[0]
    row = {**source.selector_fields, "ImageFileName": stored, "FileName": "cmd.exe"}
    hits = [r.index for r in ENGINES["logscale"](query, source, [row], {})]
    assert hits == ([] if excluded else [0])


def test_the_harness_stores_a_drive_letter_path_as_falcon_does_and_agrees_with_the_reference() -> None:
    detection = _detection(
        _process_rule(
            "  sel: {Image|endswith: '\\cmd.exe'}\n  filter: {Image|startswith: 'C:\\Windows\\'}\n"
            "  condition: sel and not filter\n"
        )
    )
    source = get_target("logscale").select(detection)[0]
    events = [{"Image": "C:\\Windows\\System32\\cmd.exe"}, {"Image": "C:\\Users\\a\\cmd.exe"}]
    stored = native_events("logscale", source, events)
    assert stored[0]["ImageFileName"] == "\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe"
    assert stored[0]["FileName"] == "cmd.exe"
    query = get_target("logscale").render(detection)
    assert agreeing_hits("logscale", detection, query, events) == [1]


VOLUME = "\\Device\\HarddiskVolume"


@pytest.mark.parametrize(
    ("value", "matches", "misses"),
    [
        ("Image: 'C:\\Tools\\x.exe'", VOLUME + "2\\tools\\X.EXE", VOLUME + "2\\tools\\x.exe2"),
        ("Image|contains: 'C:\\Users\\'", VOLUME + "3\\Users\\a\\x.exe", VOLUME + "3\\Usersx\\x.exe"),
        ("Image: '?:\\\\*\\x.exe'", VOLUME + "4\\a\\b\\x.exe", VOLUME + "4\\x.exe"),
        ("Image|cased: 'C:\\Tools\\x.exe'", VOLUME + "1\\Tools\\x.exe", VOLUME + "1\\tools\\x.exe"),
    ],
)
def test_drive_letter_values_stay_exact_in_device_path_form(value: str, matches: str, misses: str) -> None:
    detection = _detection(_process_rule(f"  sel: {{{value}}}\n  condition: sel\n"))
    query = get_target("logscale").render(detection)
    body = query.split("\n", 2)[2]
    assert logscale_syntax_errors(body) == []
    falcon = {"#event_simpleName": "ProcessRollup2", "event_platform": "Win"}
    paths = [matches, misses, "C:" + matches.split("\\", 3)[3]]  # a drive letter Falcon never stores
    events = [{**falcon, "ImageFileName": path} for path in paths]
    assert [r.index for r in run(body, events, datetime.now(UTC))] == [0]


def test_a_regex_on_a_drive_letter_path_is_unsupported_on_a_device_path_field() -> None:
    regex = "  sel: {Image|re: '^C:\\\\Windows\\\\.*\\.exe$'}\n  condition: sel\n"
    detection = _detection(_process_rule(regex))
    with pytest.raises(Unsupported, match="device paths"):
        get_target("logscale").render(detection)


def test_a_field_the_model_lacks_makes_the_output_unsupported(tmp_path: Path) -> None:
    """ProcessRollup2 has no working directory; a site that writes one itself (its own parser) names
    it in its field table and vouches for it."""
    rule = tmp_path / "r.yml"
    rule.write_text(
        _rule(
            "logsource: {category: process_creation, product: linux}\n"
            "detection:\n  sel: {CurrentDirectory: /tmp}\n  condition: sel\n"
        )
    )
    with pytest.raises(Unsupported, match="CurrentDirectory"):
        get_target("logscale").render(load_rule(rule))
    config = tmp_path / "siemc.yml"
    config.write_text("targets:\n  logscale:\n    fields: {CurrentDirectory: CurrentDirectory}\n")
    detection = load_rule(rule, load_config(config))
    assert "CurrentDirectory=" in get_target("logscale", detection.site).render(detection)


def test_a_field_falcon_lacks_is_unsupported_unless_the_site_collects_sysmon() -> None:
    """ProcessRollup2 has no OriginalFileName: by default the rule is unsupported with where it could
    go; a site that collects Sysmon's events (targets.logscale.fallbacks) gets the rule on them, as
    the Windows parser names them."""
    text = _rule(
        _process_rule("  sel: {OriginalFileName: AnyDesk.exe, Image|endswith: '\\x.exe'}\n  condition: sel\n")
    )
    with pytest.raises(Unsupported, match="OriginalFileName' has no column in ProcessRollup2; windows holds"):
        get_target("logscale").render(parse_rule(text, Path("t.yml")))
    detection = parse_rule(text, Path("t.yml"), EVERY_SOURCE_SITE)
    target = get_target("logscale", EVERY_SOURCE_SITE)
    query = target.render(detection)
    assert SYSMON_1 in query
    assert "windows.EventData.OriginalFileName=" in query and "windows.EventData.Image=" in query
    source = target.select(detection)[0]
    events = [{"OriginalFileName": "AnyDesk.exe", "Image": "C:\\a\\x.exe"}, {"OriginalFileName": "a.exe"}]
    stored = native_events("logscale", source, events)
    assert stored[0]["#windows.Channel"] == "Microsoft-Windows-Sysmon/Operational"
    assert stored[0]["windows.EventData.Image"] == "C:\\a\\x.exe"  # Sysmon keeps drive letters
    assert [r.index for r in run_target("logscale", detection, query, events)] == [0]


def test_windows_channel_and_event_id_are_the_parser_tags() -> None:
    detection = _detection(
        "logsource: {product: windows, service: system}\n"
        "detection:\n  sel: {EventID: 7045, Provider_Name: Service Control Manager}\n  condition: sel\n"
    )
    query = get_target("logscale").render(detection)
    assert '#windows.Channel="System"' in query and "#windows.EventID=7045" in query
    assert "windows.Channel=" not in query.replace("#windows.Channel=", "")


def test_event_category_is_tested_as_the_array_next_gen_siem_parsers_write() -> None:
    detection = _detection(
        "logsource: {category: proxy}\ndetection:\n  sel: {c-uri|contains: '/evil'}\n  condition: sel\n"
    )
    # `web` selects by event.category across every parser: no parser's field list is behind it.
    with pytest.raises(Unsupported, match="siemc has no data model of web"):
        get_target("logscale").render(detection)
    query = get_target("logscale", EVERY_SOURCE_SITE).render(detection)
    assert 'array:contains("event.category[]", value="web")' in query
    assert "#event.category" not in query
    body = query.split("\n", 2)[2]
    assert logscale_syntax_errors(body) == []
    events = [
        {"event.category[0]": "network", "event.category[1]": "web", "url.original": "/evil/x"},
        {"event.category[0]": "web", "url.original": "/good"},
        {"#event.category": "web", "url.original": "/evil/x"},  # no such tag: not a web event
    ]
    assert [r.index for r in run(body, events, datetime.now(UTC))] == [0]


def _cloud_rule(logsource: str, selection: str) -> str:
    return f"logsource: {{{logsource}}}\ndetection:\n  sel: {{{selection}}}\n  condition: sel\n"


def test_cloudtrail_is_selected_by_the_vendor_tag_its_parser_writes() -> None:
    """LogScale's CloudTrail package (CPS) tags its events #Vendor="amazon" #event.module="cloudtrail"
    (LogScale documentation, "Amazon Web Services CloudTrail"): a selector on #Vendor="aws" finds none."""
    detection = _detection(_cloud_rule("product: aws, service: cloudtrail", "eventName: ConsoleLogin"))
    query = get_target("logscale").render(detection)
    body = query.split("\n", 2)[2]
    assert '#Vendor="amazon" #event.module="cloudtrail"' in body and '"aws"' not in body
    assert logscale_syntax_errors(body) == []
    events = [
        {"#Vendor": "amazon", "#event.module": "cloudtrail", "Vendor.eventName": "ConsoleLogin"},
        {"#Vendor": "aws", "#event.module": "cloudtrail", "Vendor.eventName": "ConsoleLogin"},
        {"#Vendor": "amazon", "#event.module": "cloudtrail", "eventName": "ConsoleLogin"},  # not kept so
    ]
    assert [r.index for r in run(body, events, datetime.now(UTC))] == [0]


def test_a_field_no_cloudtrail_record_has_is_unsupported() -> None:
    """A CloudTrail record has no `status` (AWS CloudTrail User Guide, "CloudTrail record contents")."""
    detection = _detection(
        _cloud_rule("product: aws, service: cloudtrail", "eventName: DeleteSAMLProvider, status: success")
    )
    with pytest.raises(Unsupported, match=r"^aws has no field Vendor\.status$"):
        get_target("logscale").render(detection)


def test_entra_sign_ins_read_the_exported_record_not_log_analytics_columns() -> None:
    """Entra ID's exported sign-in record keeps the error code as `resultType` and the sign-in under
    `properties` (Microsoft Learn, Entra sign-in logs schema in Azure Monitor); the Next-Gen SIEM parser
    microsoft-entra-id keeps that record under Vendor. (CPS), so Log Analytics' `ResultType` and
    `AuthenticationRequirement` are Vendor.resultType and Vendor.properties.authenticationRequirement."""
    detection = _detection(
        _cloud_rule(
            "product: azure, service: signinlogs",
            "ResultType: 0, AuthenticationRequirement: singleFactorAuthentication",
        )
    )
    query = get_target("logscale").render(detection)
    body = query.split("\n", 2)[2]
    assert '#type="microsoft-entra-id" Vendor.category="SignInLogs"' in body
    assert "Vendor.resultType=" in body and "Vendor.properties.authenticationRequirement=" in body
    assert "Vendor.ResultType" not in body
    assert logscale_syntax_errors(body) == []
    events = [
        {"ResultType": "0", "AuthenticationRequirement": "singleFactorAuthentication"},
        {"ResultType": "50126"},
    ]
    source = get_target("logscale").select(detection)[0]
    stored = native_events("logscale", source, events)
    assert stored[0]["Vendor.resultType"] == "0"
    assert [r.index for r in run_target("logscale", detection, query, events)] == [0]


@pytest.mark.parametrize(
    ("logsource", "selection", "reason"),
    [
        # Entra's audit record has no `properties.message` (audit logs schema in Azure Monitor).
        (
            "product: azure, service: auditlogs",
            "properties.message: Add owner to application",
            "properties.message",
        ),
        # Management Activity API records carry Operation, not eventName (Office 365 Management API schema).
        (
            "product: m365, service: threat_management",
            "eventSource: SecurityComplianceCenter, eventName: x",
            "Vendor.eventName",
        ),
        # Okta's `target` is an array: parseJson writes Vendor.target[<n>].displayName.
        ("product: okta, service: okta", "target.displayName: Admin Console", "Vendor.target.displayName"),
    ],
)
def test_a_field_the_exported_record_lacks_is_unsupported(
    logsource: str, selection: str, reason: str
) -> None:
    detection = _detection(_cloud_rule(logsource, selection))
    with pytest.raises(Unsupported, match=re.escape(reason)):
        get_target("logscale").render(detection)


def test_okta_events_are_the_sso_module_with_the_log_event_under_vendor() -> None:
    """CrowdStrike's Okta dashboard reads #Vendor="okta" #event.module="sso" and Vendor.outcome.result
    (logscale-community-content Next-Gen-SIEM/Dashboards/Okta/okta-event-tracking.yaml)."""
    detection = _detection(_cloud_rule("product: okta, service: okta", "eventType: user.account.lock"))
    query = get_target("logscale").render(detection)
    body = query.split("\n", 2)[2]
    assert '#Vendor="okta" #event.module="sso"' in body and "Vendor.eventType=" in body
    events = [{"eventType": "user.account.lock"}, {"eventType": "user.session.start"}]
    assert [r.index for r in run_target("logscale", detection, query, events)] == [0]


def test_the_windows_event_fallback_is_the_collector_parsers_windows_event_data() -> None:
    """CrowdStrike's published Windows parser (logscale-community-content Log-Sources/Microsoft/
    Windows-Logs/src/parsers/flc-microsoft-windows.yaml) is kvParse() over the Collector's event for every
    channel, Sysmon's included, with windows.Channel and windows.EventID as tags: EventData values are
    windows.EventData.<Name>. No CrowdStrike artifact shows a Vendor.EventData field."""
    assert MODELS["windows"].raw == "windows.EventData.{name}"
    assert not MODELS["windows"].has("Vendor.EventData.Image")
    assert any("flc-microsoft-windows.yaml" in p for p in MODELS["windows"].provenance)


def test_zeek_logs_are_the_corelight_parsers_dataset_with_zeek_fields_under_vendor() -> None:
    """CrowdStrike's corelight-sensor parser (logscale-community-content Next-Gen-SIEM/Parsers/Corelight/
    corelight-sensor.yaml) sets the tags #Vendor="corelight" and #event.dataset="ndr.<Zeek log>" and keeps
    each Zeek field as Vendor.<name>; nothing is tagged #Vendor="zeek"."""
    detection = _detection(_cloud_rule("product: zeek, service: dns", "query|endswith: '.onion'"))
    query = get_target("logscale").render(detection)
    body = query.split("\n", 2)[2]
    assert '#Vendor="corelight" #event.dataset="ndr.dns"' in body and "Vendor.query=" in body
    assert logscale_syntax_errors(body) == []
    events = [
        {"#Vendor": "corelight", "#event.dataset": "ndr.dns", "Vendor.query": "abc.onion"},
        {"#Vendor": "corelight", "#event.dataset": "ndr.http", "Vendor.query": "abc.onion"},
        {"#Vendor": "zeek", "#event.dataset": "ndr.dns", "Vendor.query": "abc.onion"},
    ]
    assert [r.index for r in run(body, events, datetime.now(UTC))] == [0]


def test_a_zeek_array_field_is_not_a_scalar_field() -> None:
    """parseJson writes Zeek's answers array as Vendor.answers[<n>] (the parser's own test events)."""
    detection = _detection(_cloud_rule("product: zeek, service: dns", "answers|contains: evil"))
    with pytest.raises(Unsupported, match=r"zeek has no field Vendor\.answers$"):
        get_target("logscale").render(detection)


@pytest.mark.parametrize(
    ("logsource", "selection", "selector"),
    [
        (
            "product: fortigate, service: event",
            "action: Add, cfgpath: system.admin",
            '#Vendor="fortinet" #type="fortinet-fortigate"',
        ),
        (
            "product: cisco, service: duo",
            "event_type: authentication, reason: bypass_user",
            '#type="cisco-duo"',
        ),
        ("product: cisco, service: aaa", "keywords: ['clear logging']", '#type="cisco-ios"'),
    ],
)
def test_third_party_sources_are_selected_by_their_next_gen_siem_parser(
    logsource: str, selection: str, selector: str
) -> None:
    """#type is the parser's name: CrowdStrike's Logging Posture dashboard matches it against the list of
    Next-Gen SIEM default parsers (fortinet-fortigate, cisco-duo, cisco-ios, ...)."""
    if selection.startswith("keywords"):
        text = f"logsource: {{{logsource}}}\ndetection:\n  {selection}\n  condition: keywords\n"
    else:
        text = _cloud_rule(logsource, selection)
    query = get_target("logscale").render(_detection(text))
    body = query.split("\n", 2)[2]
    assert body.startswith(selector)
    assert logscale_syntax_errors(body) == []


def test_linux_keyword_rules_search_the_raw_lines_of_the_linux_parsers() -> None:
    """Next-Gen SIEM parses a Linux host's logs with linux-syslog, linux-journald and linux-audit (the
    parser list of CrowdStrike's Logging Posture dashboard); no CrowdStrike artifact shows a
    #Vendor="linux" tag."""
    text = (
        "logsource: {product: linux}\ndetection:\n"
        "  keywords: ['bpf_probe_write_user']\n  condition: keywords\n"
    )
    body = get_target("logscale").render(_detection(text)).split("\n", 2)[2]
    assert body.startswith("#type=/^linux-(?:syslog|journald|audit)$/")
    assert logscale_syntax_errors(body) == []
    events = [
        {"#type": "linux-journald", "@rawstring": "x bpf_probe_write_user y"},
        {"#type": "linux-syslog-extra", "@rawstring": "x bpf_probe_write_user y"},
        {"#type": "okta-sso", "@rawstring": "x bpf_probe_write_user y"},
    ]
    assert [r.index for r in run(body, events, datetime.now(UTC))] == [0]


def test_kubernetes_audit_events_are_the_fluent_bit_packages_top_level_fields() -> None:
    """CrowdStrike's package kubernetes/fluent-bit-logging parses the Fluent Bit record with parseJson()
    and no prefix and tags nothing (parsers/fluentbit.yaml); its dashboards find audit events by
    flb.source=audit and read verb and objectRef.resource at the top level. Nothing writes
    #Vendor="kubernetes" or Vendor.verb."""
    detection = _detection(
        _cloud_rule("product: kubernetes, service: audit", "verb: create, objectRef.resource: pods")
    )
    query = get_target("logscale").render(detection)
    body = query.split("\n", 2)[2]
    assert body.startswith('flb.source="audit"')
    assert "objectRef.resource=" in body and "verb=" in body
    assert "Vendor." not in body and "#Vendor" not in body
    assert logscale_syntax_errors(body) == []
    events = [
        {"flb.source": "audit", "verb": "create", "objectRef.resource": "pods"},
        {"flb.source": "container", "verb": "create", "objectRef.resource": "pods"},
        {"#Vendor": "kubernetes", "Vendor.verb": "create", "Vendor.objectRef.resource": "pods"},
    ]
    assert [r.index for r in run(body, events, datetime.now(UTC))] == [0]


def test_kubernetes_api_group_is_the_object_references_and_agrees_with_the_reference() -> None:
    """An audit Event names the request's API group in objectRef.apiGroup (Kubernetes API reference,
    audit.k8s.io/v1 Event); Sigma's bare `apiGroup` is that value."""
    detection = _detection(
        _cloud_rule(
            "product: kubernetes, service: audit",
            "verb: create, apiGroup: authorization.k8s.io, objectRef.resource: selfsubjectrulesreviews",
        )
    )
    query = get_target("logscale").render(detection)
    assert "objectRef.apiGroup=" in query and " apiGroup=" not in query
    events = [
        {
            "verb": "create",
            "apiGroup": "authorization.k8s.io",
            "objectRef.resource": "selfsubjectrulesreviews",
        },
        {
            "verb": "create",
            "apiGroup": "rbac.authorization.k8s.io",
            "objectRef.resource": "selfsubjectrulesreviews",
        },
    ]
    source = get_target("logscale").select(detection)[0]
    stored = native_events("logscale", source, events)
    assert stored[0]["objectRef.apiGroup"] == "authorization.k8s.io" and "apiGroup" not in stored[0]
    assert stored[0]["flb.source"] == "audit"
    assert agreeing_hits("logscale", detection, query, events) == [0]


@pytest.mark.parametrize("field", ["hostPath", "capabilities"])
def test_a_pod_spec_value_inside_request_object_arrays_is_unsupported(field: str) -> None:
    """A pod's host paths and capabilities sit in requestObject's container and volume arrays
    (requestObject.spec.volumes[<n>].hostPath), which parseJson writes per index: no field holds them."""
    detection = _detection(
        _cloud_rule("product: kubernetes, service: audit", f"verb: create, {field}|contains: x")
    )
    with pytest.raises(Unsupported, match=field):
        get_target("logscale").render(detection)


def test_gcp_audit_reads_the_log_entry_the_google_cloud_audit_parser_keeps() -> None:
    """Next-Gen SIEM's google-cloud-audit parser (#type, Logging Posture dashboard) keeps the exported
    LogEntry under Vendor. (CPS): Elastic's gcp.audit.method_name is the AuditLog's methodName,
    Vendor.protoPayload.methodName. No CrowdStrike artifact writes #Vendor="google" #event.module="gcp"."""
    detection = _detection(
        _cloud_rule("product: gcp, service: gcp.audit", "gcp.audit.method_name: storage.buckets.delete")
    )
    query = get_target("logscale").render(detection)
    body = query.split("\n", 2)[2]
    assert body.startswith('#type="google-cloud-audit"')
    assert "Vendor.protoPayload.methodName=" in body and "gcp.audit" not in body and "#Vendor" not in body
    assert logscale_syntax_errors(body) == []
    events = [
        {"gcp.audit.method_name": "storage.buckets.delete"},
        {"gcp.audit.method_name": "storage.buckets.get"},
    ]
    source = get_target("logscale").select(detection)[0]
    stored = native_events("logscale", source, events)
    assert stored[0]["Vendor.protoPayload.methodName"] == "storage.buckets.delete"
    assert stored[0]["#type"] == "google-cloud-audit"
    assert agreeing_hits("logscale", detection, query, events) == [0]
    wrong = [
        {
            "#Vendor": "google",
            "#event.module": "gcp",
            "Vendor.protoPayload.methodName": "storage.buckets.delete",
        }
    ]
    assert [r.index for r in run(body, wrong, datetime.now(UTC))] == []


@pytest.mark.parametrize(
    ("selection", "reason"),
    [
        # A Pub/Sub envelope's path: the parser keeps the LogEntry itself under Vendor.
        (
            "data.protoPayload.serviceName: accesscontextmanager.googleapis.com",
            "Vendor.data.protoPayload.serviceName",
        ),
        # authorizationInfo is a repeated member: Vendor.protoPayload.authorizationInfo[<n>].permission.
        (
            "protoPayload.authorizationInfo.permission: x.delete",
            "Vendor.protoPayload.authorizationInfo.permission",
        ),
    ],
)
def test_a_path_no_gcp_log_entry_has_is_unsupported(selection: str, reason: str) -> None:
    detection = _detection(_cloud_rule("product: gcp, service: gcp.audit", selection))
    with pytest.raises(Unsupported, match=rf"^google-cloud-audit has no field {re.escape(reason)}$"):
        get_target("logscale").render(detection)


def test_sources_without_a_published_field_list_are_selected_by_their_parser_and_left_unmodelled() -> None:
    """auditd and Google Workspace go through the Next-Gen SIEM parsers linux-audit and google-workspace
    (#type, the parser names of CrowdStrike's Logging Posture dashboard); no CrowdStrike artifact says
    which fields those parsers write, so neither source has a data model."""
    assert "linux-audit" not in MODELS and "google-workspace" not in MODELS
    auditd = _detection(_cloud_rule("product: linux, service: auditd", "type: EXECVE"))
    workspace = _detection(
        _cloud_rule("product: gcp, service: google_workspace.admin", "eventName: DELETE_ROLE")
    )
    for detection, selector in ((auditd, '#type="linux-audit"'), (workspace, '#type="google-workspace"')):
        with pytest.raises(Unsupported, match="siemc has no data model of"):
            get_target("logscale").select(detection)
        source = get_target("logscale", EVERY_SOURCE_SITE).select(detection)[0]
        assert source.selector == selector and source.name not in MODELS
