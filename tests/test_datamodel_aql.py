"""QRadar data model: fields are read under the property names IBM's DSMs and content extensions give
them (IBM/pySigma-backend-QRadar-AQL sigma/mapping/fields.py), never as a Sigma name QRadar would
reject; a field IBM names no property for is unsupported on a modelled source. Windows events (the
Microsoft Windows Security Event Log DSM, devicetype 12) are modelled: their channel is the payload's
AgentLogFile pair, as IBM's sample WinCollect events show it. Linux OS is not modelled: no IBM artifact
gives the Linux OS DSM the Sysmon for Linux event id its process, file and network selectors test.
The Amazon AWS CloudTrail and Okta DSMs are modelled: IBM's DSM specifications say neither installs a
custom property, so their events hold Ariel's normalised columns, the QID and the JSON payload; IBM's
Sigma mapping reads CloudTrail's eventName as QIDNAME(qid), and every other CloudTrail or Okta field
is unsupported."""

from __future__ import annotations

from pathlib import Path

import pytest
from siemc.backends import get_target

from siemc.compile.datamodel import load_datamodel, models_folder, target_datamodel
from siemc.compile.mappings import target_mapping
from siemc.compile.rule import parse_rule
from siemc.config import DEFAULT, SiteConfig
from siemc.diagnostics import Unsupported
from tests.conftest import EVERY_SOURCE_SITE, load_pack_rule
from tests.engines import agreeing_hits, run_target

SYSMON = "(?s).*\\tAgentLogFile=Microsoft-Windows-Sysmon/Operational\\t.*"


def _rule(text: str):
    head = "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n"
    return parse_rule(head + text, Path("t.yml"))


def _render(text: str, site: SiteConfig = DEFAULT) -> str:
    return get_target("aql", site).render(_rule(text))


def _vouched(text: str) -> str:
    """The output for a site that vouches for a source siemc has no data model of; by default the rule
    is unsupported, since which properties such a QRadar log source has is not established."""
    with pytest.raises(Unsupported, match="siemc has no data model of"):
        _render(text)
    return _render(text, EVERY_SOURCE_SITE)


def test_the_model_loads_with_provenance_on_every_source() -> None:
    models = load_datamodel(models_folder() / "aql.yml")
    assert set(models) == {"Windows", "Amazon AWS CloudTrail", "Okta"}
    for model in models.values():
        assert model.provenance and all(p.strip() for p in model.provenance)
        assert model.has("starttime") and model.has("UTF8(payload)") and model.has("devicetype")
    windows = models["Windows"]
    assert windows.has("Event ID") and windows.has("Process Path") and windows.has("Object Name")
    # Sigma's names are no QRadar properties: the former raw names are outside the model.
    for sigma_name in ("Channel", "EventID", "TargetObject", "Details", "QueryName", "Provider_Name"):
        assert not windows.has(sigma_name)
    assert "Linux OS" not in target_datamodel("aql")


def test_windows_channel_is_the_payload_agentlogfile_pair() -> None:
    """IBM's "Microsoft Windows Security Event Log sample event messages" (WinCollect): the payload is
    `AgentDevice=WindowsLog<tab>AgentLogFile=Security<tab>...`; IBM names no channel property, so the
    channel is tested on UTF8(payload), anchored by a tab on each side, and "Event ID" is IBM's
    property for the event id."""
    text = _render(
        "logsource: {category: registry_set, product: windows}\n"
        "detection:\n  sel: {TargetObject|contains: '\\\\Run\\\\'}\n  condition: sel\n"
    )
    assert f"devicetype = 12 AND UTF8(payload) IMATCHES '{SYSMON}' AND \"Event ID\" = 13" in text
    assert '"Object Name"' in text and '"Channel"' not in text and '"TargetObject"' not in text
    security = _render(
        "logsource: {product: windows, service: security}\n"
        "detection:\n  sel: {EventID: 4624, LogonType: 10}\n  condition: sel\n"
    )
    assert "UTF8(payload) IMATCHES '(?s).*\\tAgentLogFile=Security\\t.*'" in security
    assert '"Event ID" = 4624' in security and '"Logon Type" = 10' in security


def test_every_windows_source_selects_its_channel_on_the_payload() -> None:
    """No Windows source keeps the "Channel" property IBM does not have, and each channel's events
    carry the AgentLogFile pair the selector tests."""
    for entry in target_mapping("aql"):
        for spec in entry.candidates:
            if spec.name != "Windows":
                continue
            assert '"Channel"' not in spec.selector, entry.key
            assert "UTF8(payload) IMATCHES '(?s).*\\tAgentLogFile=" in spec.selector, entry.key
            assert "\tAgentLogFile=" in str(spec.selector_fields["payload"]), entry.key


def test_a_channel_never_matches_a_longer_channel_name() -> None:
    """The tab after the channel name (IBM's sample) anchors it: a Security source does not select an
    event of a channel whose name begins with Security."""
    detection = _rule(
        "logsource: {product: windows, service: security}\n"
        "detection:\n  sel: {EventID: 1102}\n  condition: sel\n"
    )
    query = get_target("aql").render(detection)
    head = "<13>May 08 10:45:44 host AgentDevice=WindowsLog\t"
    events = [
        {"EventID": 1102, "payload": head + "AgentLogFile=Security\tSource=Microsoft-Windows-Eventlog"},
        {"EventID": 1102, "payload": head + "AgentLogFile=Security-Foo\tSource=Microsoft-Windows-Eventlog"},
        {"EventID": 1102, "payload": head + "AgentLogFile=System\tSource=Microsoft-Windows-Eventlog"},
    ]
    assert [row.index for row in run_target("aql", detection, query, events)] == [0]


def test_process_creation_reads_ibms_windows_properties() -> None:
    """IBM's mapping: EventID -> "Event ID", CommandLine -> "Command", Image -> "Process Path",
    User -> "Username"; process creation is Sysmon's event 1 on its channel."""
    text = _render(
        "logsource: {category: process_creation, product: windows}\n"
        "detection:\n  sel: {Image|contains: '\\\\Temp\\\\', CommandLine|contains: ' -enc ',"
        " User|contains: adm}\n"
        "  condition: sel\n"
    )
    assert f"devicetype = 12 AND UTF8(payload) IMATCHES '{SYSMON}' AND \"Event ID\" = 1" in text
    assert '"Process Path"' in text and '"Command"' in text and '"Username"' in text
    assert '"EventID"' not in text and '"CommandLine"' not in text and '"Image"' not in text


@pytest.mark.parametrize(
    ("logsource", "selection", "field"),
    [
        ("{category: registry_set, product: windows}", "{Details: DWORD (0x00000001)}", "Details"),
        ("{category: dns_query, product: windows}", "{QueryName|endswith: .anydesk.com}", "QueryName"),
        ("{category: image_load, product: windows}", "{ImageLoaded|endswith: \\\\x.dll}", "ImageLoaded"),
        ("{product: windows, service: system}", "{Provider_Name: Service Control Manager}", "Provider_Name"),
    ],
)
def test_a_sigma_field_without_an_ibm_property_is_unsupported(
    logsource: str, selection: str, field: str
) -> None:
    """IBM's mapping names no property for these Sysmon / System fields (registry value data, DNS query
    name, loaded image, event provider): a query naming them would be rejected by QRadar."""
    with pytest.raises(Unsupported, match=f"Windows has no field {field}"):
        _render(f"logsource: {logsource}\ndetection:\n  sel: {selection}\n  condition: sel\n")


def test_t1219_leaves_out_its_computer_column() -> None:
    """The pack's T1219 rule shows the Computer column; IBM names no Windows property holding the
    computer name (the payload's Computer pair is extracted by none), so QRadar's output leaves that
    column out rather than name a property that does not exist."""
    text = get_target("aql").render(load_pack_rule())
    assert text.startswith('SELECT\n  starttime,\n  "Username",')
    assert "Machine Name" not in text and '"Computer"' not in text


def test_security_source_address_is_the_sourceip_column() -> None:
    """IBM's sample 4624 event: the Source IP is the event's Source Network Address (Sigma IpAddress)."""
    text = _render(
        "logsource: {product: windows, service: security}\n"
        "detection:\n  sel: {EventID: 4624, IpAddress|cidr: 10.0.0.0/8}\n  condition: sel\n"
    )
    assert "INCIDR('10.0.0.0/8', sourceip)" in text and '"IpAddress"' not in text


def test_linux_audit_type_reads_the_type_property() -> None:
    """IBM's Linux content extension 1.1.2: "Type" is extracted by type=([^\\s]*), the audit record type."""
    text = _vouched(
        "logsource: {product: linux, service: auditd}\ndetection:\n  sel: {type: EXECVE}\n  condition: sel\n"
    )
    assert "LOGSOURCETYPENAME(devicetype) = 'Linux OS'" in text and '"Type"' in text
    assert '"type"' not in text


def test_linux_process_fields_read_the_content_extension_names() -> None:
    """IBM's Linux content extension 1.1.3 renames Process CommandLine to "Command" and Process Id to
    "Process ID"."""
    text = _vouched(
        "logsource: {category: process_creation, product: linux}\n"
        "detection:\n  sel: {CommandLine|contains: 'base64 -d', ProcessId: 4}\n  condition: sel\n"
    )
    assert '"Command"' in text and '"Process ID"' in text
    assert '"CommandLine"' not in text and '"ProcessId"' not in text


def test_network_and_web_fields_are_qradar_columns_and_properties() -> None:
    firewall = _vouched(
        "logsource: {category: firewall}\ndetection:\n  sel: {dst_ip|cidr: 10.0.0.0/8}\n  condition: sel\n"
    )
    assert "INCIDR('10.0.0.0/8', destinationip)" in firewall and '"dst_ip"' not in firewall
    proxy = _vouched(
        "logsource: {category: proxy}\ndetection:\n  sel: {c-uri|contains: '/evil'}\n  condition: sel\n"
    )
    assert "URL" in proxy and '"c-uri"' not in proxy


def test_a_renamed_field_agrees_with_the_reference_on_model_built_events() -> None:
    """The engine's events are built from the model (IBM's property names), not from siemc's mapping."""
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
    assert agreeing_hits("aql", detection, query, events) == [0]


def test_script_block_text_has_no_property_of_its_own() -> None:
    """IBM's mapping reads ScriptBlockText inside "Message" (its unstructured_field_mapping), the
    rendered message "Creating Scriptblock text (1 of 1): <script> ScriptBlock ID: <id> Path: <path>":
    a contains test there also matches the block's path and id, so it is no test of the script block."""
    head = "logsource: {category: ps_script, product: windows}\ndetection:\n  sel: "
    with pytest.raises(Unsupported, match="ScriptBlockText"):
        _render(head + "{ScriptBlockText|contains: '\\AppData\\'}\n  condition: sel\n")


def test_cloudtrail_and_okta_hold_only_ariel_columns_and_the_qid() -> None:
    """The DSM specifications: "Includes custom properties? No" for both; CloudTrail's eventName is
    the event id the DSM maps to a QID (IBM's mapping: eventName -> QIDNAME(qid))."""
    models = target_datamodel("aql")
    cloudtrail, okta = models["Amazon AWS CloudTrail"], models["Okta"]
    assert cloudtrail.origins["QIDNAME(qid)"] == "eventName"
    assert cloudtrail.event({"eventName": "ConsoleLogin"}) == {"QIDNAME(qid)": "ConsoleLogin"}
    for model in (cloudtrail, okta):
        assert model.has("LOGSOURCETYPENAME(devicetype)") and model.has("UTF8(payload)")
    for sigma_name in ("eventSource", "eventName", "userIdentity.arn", "errorCode", "userAgent"):
        assert not cloudtrail.has(sigma_name)
    for sigma_name in ("eventType", "outcome.result", "actor.alternateId"):
        assert not okta.has(sigma_name)
    assert "QIDNAME(qid)" not in okta.origins


def test_cloudtrail_event_name_is_the_qid_name() -> None:
    text = _render(
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection:\n  sel: {eventName: [ConsoleLogin, StopLogging]}\n  condition: sel\n"
    )
    assert "LOGSOURCETYPENAME(devicetype) = 'Amazon AWS CloudTrail'" in text
    assert "LOWER(QIDNAME(qid)) IN ('consolelogin', 'stoplogging')" in text
    assert '"eventName"' not in text


@pytest.mark.parametrize(
    ("logsource", "selection", "message"),
    [
        (
            "{product: aws, service: cloudtrail}",
            "{eventSource: iam.amazonaws.com, eventName: CreateUser}",
            "Amazon AWS CloudTrail has no field eventSource",
        ),
        (
            "{product: aws, service: cloudtrail}",
            "{eventName: ConsoleLogin, errorCode: Failure}",
            "Amazon AWS CloudTrail has no field errorCode",
        ),
        (
            "{product: aws, service: cloudtrail}",
            "{'userIdentity.type': Root}",
            "Amazon AWS CloudTrail has no field userIdentity.type",
        ),
        ("{product: aws, service: cloudtrail}", "{sourceIPAddress: 10.1.2.3}", "sourceIPAddress"),
        (
            "{product: okta, service: okta}",
            "{eventType: user.mfa.factor.deactivate}",
            "Okta has no field eventType",
        ),
    ],
)
def test_a_cloud_field_without_an_ibm_property_is_unsupported(
    logsource: str, selection: str, message: str
) -> None:
    """The former queries read "eventSource", "errorCode", "eventType" ...: properties QRadar does not
    have, so it would reject the query; now the rule is unsupported with the reason."""
    with pytest.raises(Unsupported, match=message):
        _render(f"logsource: {logsource}\ndetection:\n  sel: {selection}\n  condition: sel\n")


def test_cloudtrail_agrees_with_the_reference_on_model_built_events() -> None:
    """The events are built from the model (eventName held as the QID's name), not from the mapping."""
    detection = _rule(
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection:\n  sel: {eventName: [ConsoleLogin, StopLogging]}\n  condition: sel\n"
    )
    events = [{"eventName": "ConsoleLogin"}, {"eventName": "GetObject"}, {"eventName": "StopLogging"}]
    query = get_target("aql").render(detection)
    assert agreeing_hits("aql", detection, query, events) == [0, 2]
