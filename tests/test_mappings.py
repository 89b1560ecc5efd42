"""The mapping files: the loader's checks, the Windows event-log template, candidate sources and
each target's policy for a field its source table does not name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from siemc.backends import TARGET_NAMES, get_target
from sigma.rule import SigmaLogSource

from siemc.compile.fields import snake_case, unmapped_name
from siemc.compile.mappings import MappingError, entry_for, load_mapping
from siemc.compile.rule import Detection, load_rule
from siemc.compile.site import check_site
from siemc.config import ConfigError, load_config
from siemc.diagnostics import SiemcError, Unsupported
from siemc.resources import mappings_folder
from tests.conftest import EVERY_SOURCE_SITE


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.yml"
    path.write_text(text)
    load_mapping(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("target: t\nsources: [\n", "t.yml: while parsing"),
        ("- 1\n", "t.yml: top level: expected a mapping"),
        ("target: t\nsorces: []\n", "t.yml: sorces: unknown top-level key"),
        ("sources:\n  - {logsource: product=aws, time_field: t}\n", "sources[0]: missing 'selector'"),
        (
            "sources:\n  - {logsource: os=linux, selector: s, time_field: t}\n",
            "sources[0].logsource: expected",
        ),
        (
            "sources:\n  - {logsource: product=aws, selector: s, time_field: t, colour: red}\n",
            "unknown key 'colour'",
        ),
        (
            "sources:\n  - {logsource: product=aws, selector: s, time_field: t, fields: nosuch}\n",
            "unknown field set",
        ),
        (
            "sources:\n  - {logsource: product=aws, selector: s, time_field: t, fields: {a: [1]}}\n",
            "fields[0].a",
        ),
        (
            "sources:\n  - {logsource: product=aws, selector: s, time_field: t, unmapped: x}\n",
            "must contain {name}",
        ),
        (
            "sources:\n  - {logsource: product=aws, candidates: [windows_events]}\n",
            "'windows_events' is used",
        ),
        ("sources:\n  - {logsource: product=aws, candidates: []}\n", "candidates: expected a non-empty list"),
        (
            "sources:\n  - {logsource: product=aws, selector: s, time_field: t, columns: {text: [a]}}\n",
            "columns.text: unknown column type",
        ),
        (
            "sources:\n  - {logsource: product=aws, selector: s, time_field: t, columns: {int: a}}\n",
            "columns.int: expected a list of column names",
        ),
        (
            "sources:\n  - {logsource: product=aws, selector: s, time_field: t,\n"
            "     columns: {int: [a], string: [a]}}\n",
            "column 'a' is listed twice",
        ),
    ],
)
def test_a_bad_mapping_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MappingError) as error:
        _load(tmp_path, text)
    assert str(error.value).startswith(str(tmp_path / "t.yml"))
    assert message in str(error.value)


def test_defaults_field_sets_and_specificity(tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text(
        "defaults: {time_field: ts, unmapped: 'raw.{name}'}\n"
        "field_sets: {proc: {Image: exe}}\n"
        "sources:\n"
        "  - {logsource: product=linux, selector: any, fields: proc}\n"
        "  - logsource: category=process_creation product=linux\n"
        "    selector: exec\n"
        "    fields: [proc, {User: uid}]\n"
    )
    entries = load_mapping(path)
    rule = SigmaLogSource(category="process_creation", product="linux")
    entry = entry_for(entries, rule)
    assert entry is not None
    (spec,) = entry.candidates
    assert (spec.selector, spec.time_field, dict(spec.fields), spec.unmapped) == (
        "exec",
        "ts",
        {"Image": "exe", "User": "uid"},
        "raw.{name}",
    )
    other = entry_for(entries, SigmaLogSource(product="linux", service="auditd"))
    assert other is not None and other.candidates[0].selector == "any"
    assert entry_for(entries, SigmaLogSource(product="windows")) is None


def test_windows_event_log_sources_come_from_one_template(tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text(
        "windows_events:\n"
        "  selector: 'events | {tests}'\n"
        "  time_field: ts\n"
        "  channel: {field: Channel, literal: '\"{value}\"'}\n"
        "  event_id: {field: EventID, literal: '{value}'}\n"
        "  test: '{field} == {literal}'\n"
        "  list_test: '{field} in ({literals})'\n"
        "  join: ' and '\n"
    )
    entries = load_mapping(path)
    registry = entry_for(entries, SigmaLogSource(category="registry_event", product="windows"))
    security = entry_for(entries, SigmaLogSource(product="windows", service="security"))
    assert registry is not None and security is not None
    spec = registry.candidates[0]
    assert (
        spec.selector
        == 'events | Channel == "Microsoft-Windows-Sysmon/Operational" and EventID in (12, 13, 14)'
    )
    assert dict(spec.selector_fields) == {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 12}
    assert security.candidates[0].selector == 'events | Channel == "Security"'


_TEMPLATE = (
    "  selector: 'events | {tests}'\n"
    "  time_field: ts\n"
    "  channel: {field: Channel, literal: '\"{value}\"'}\n"
    "  event_id: {field: EventID, literal: '{value}'}\n"
    "  test: '{field} == {literal}'\n"
    "  list_test: '{field} in ({literals})'\n"
    "  join: ' and '\n"
)
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def test_a_channel_and_one_event_id_have_keys_of_their_own(tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text(
        "windows_events:\n" + _TEMPLATE + "  unmapped: 'data.{name}'\n"
        "  fields: {EventID: EventID}\n"
        "  channels:\n"
        f"    {SYSMON}:\n"
        "      name: sysmon\n"
        "      fields: {Image: exe, Hashes: ~}\n"
        "      values: {Initiated: {'true': egress}}\n"
        "      events:\n"
        "        7: {fields: {OriginalFileName: file.original}}\n"
    )
    entries = load_mapping(path)

    def spec(category: str) -> Any:
        entry = entry_for(entries, SigmaLogSource(category=category, product="windows"))
        assert entry is not None
        return entry.candidates[0]

    image_load, network = spec("image_load"), spec("network_connection")
    assert (image_load.name, network.name) == ("sysmon", "sysmon")
    assert dict(network.fields) == {"EventID": "EventID", "Image": "exe", "Hashes": None}
    assert dict(image_load.fields) == {**network.fields, "OriginalFileName": "file.original"}
    assert dict(network.values) == {"Initiated": {"true": "egress"}}
    security = entry_for(entries, SigmaLogSource(product="windows", service="security"))
    assert security is not None and security.candidates[0].name == "events"
    assert dict(security.candidates[0].fields) == {"EventID": "EventID"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("  channels: {Security: {colour: red}}\n", "windows_events.channels.Security.colour: unknown key"),
        ("  channels: {Security: {events: {x: {}}}}\n", "channels.Security.events.x: expected an event id"),
        ("  channels: {Security: {events: {4624: {colour: red}}}}\n", "events.4624.colour: unknown key"),
        ("  colour: red\n", "windows_events.colour: unknown key"),
    ],
)
def test_a_bad_windows_event_template_is_one_clear_error(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(MappingError) as error:
        _load(tmp_path, "windows_events:\n" + _TEMPLATE + extra)
    assert message in str(error.value)


def test_a_null_field_and_a_value_table_make_what_the_source_lacks_unsupported(tmp_path: Path) -> None:
    """A field mapped to null has no column whatever `unmapped` says; a field with a value table is
    tested for those values only, each as the source keeps it."""
    config = tmp_path / "siemc.yml"
    config.write_text(
        "targets:\n  eql:\n    sources:\n"
        "      - logsource: category=process_creation product=windows\n"
        "        candidates:\n"
        "          - name: procs\n"
        "            selector: process where true\n"
        "            time_field: '@timestamp'\n"
        "            fields: {Image: process.executable, Hashes: ~, Elevated: process.elevated}\n"
        "            values: {Elevated: {'yes': 'true', 'no': 'false'}}\n"
        "            unmapped: 'raw.{name}'\n"
    )
    site = load_config(config)
    eql = get_target("eql", site)

    def rule(selection: str) -> Detection:
        path = tmp_path / "r.yml"
        path.write_text(
            "title: t\nlogsource: {category: process_creation, product: windows}\n"
            f"detection:\n  selection:\n{selection}\n  condition: selection\n"
        )
        return load_rule(path, site)

    assert "raw.Other" in eql.render(rule("    Other: x"))
    with pytest.raises(Unsupported, match="field 'Hashes' has no column in procs"):
        eql.render(rule("    Hashes|contains: x"))
    assert 'process.elevated : ("true", "false")' in eql.render(rule("    Elevated: ['YES', 'no']"))
    with pytest.raises(
        Unsupported, match="Elevated is kept in another form on this source: only the values no, yes"
    ):
        eql.render(rule("    Elevated: 'y*'"))


def test_snake_case_follows_elastics_azure_pipeline() -> None:
    # elastic/integrations azure signinlogs: ([a-z])([A-Z]+) -> $1_$2, lower-cased, key by key.
    assert snake_case("DeviceDetail.isCompliant") == "device_detail.is_compliant"
    assert snake_case("AuthenticationRequirement") == "authentication_requirement"
    assert snake_case("ipAddress") == "ip_address"
    assert snake_case("IPAddress") == "ipaddress"
    assert unmapped_name("azure.x.{snake}", "riskLevelDuringSignIn") == "azure.x.risk_level_during_sign_in"


def test_every_shipped_mapping_file_loads() -> None:
    assert {path.stem for path in mappings_folder().glob("*.yml")} == set(TARGET_NAMES)
    for path in mappings_folder().glob("*.yml"):
        assert load_mapping(path)


# -- the unmapped-field policy, per target ------------------------------------------------------------

REGISTRY_RULE = """\
title: Run key written
id: 6f0f6d55-3c51-4a57-9d4b-0c7a3c5c2b11
status: test
logsource: {category: registry_set, product: windows}
detection:
  selection:
    TargetObject|contains: '\\CurrentVersion\\Run\\'
  condition: selection
level: medium
"""

# The native name each target gives Sysmon's TargetObject, which most normalised schemas do not spell
# the same way (hive abbreviations): it stays the event's own data, except where the vendor's own
# parser names it (Sumo Logic Cloud SIEM's Sysmon 12-14 mapping: changeTarget; IBM's QRadar
# property: "Object Name"; Elastic's Windows integration: registry.path, the value unchanged).
TARGET_OBJECT = {
    "kql": "EventFields.TargetObject",
    "spl": "TargetObject",
    "eql": "registry.path",
    "aql": '"Object Name"',
    "sumo": "changeTarget",
    "yaral": "target.registry.registry_key",
    "logscale": "windows.EventData.TargetObject",
}


def _rule(tmp_path: Path, text: str) -> Detection:
    path = tmp_path / "rule.yml"
    path.write_text(text)
    return load_rule(path)


@pytest.mark.parametrize("target_name", TARGET_NAMES)
def test_unmapped_windows_fields_keep_the_event_data_name(tmp_path: Path, target_name: str) -> None:
    detection = _rule(tmp_path, REGISTRY_RULE)
    target = get_target(target_name, EVERY_SOURCE_SITE)  # Defender has no TargetObject: KQL reads Event
    source = target.source_for(detection.sigma)
    assert source.native_field("TargetObject") == TARGET_OBJECT[target_name]
    assert TARGET_OBJECT[target_name].split("[")[0] in target.render(detection)


def test_kql_prefers_the_defender_table_and_falls_back_to_the_event_table(tmp_path: Path) -> None:
    """Defender's registry table has no TargetObject (its key and value name apart, hives spelled out):
    by default the rule is unsupported, and reads Sysmon's events where the site collects them."""
    by_image = _rule(tmp_path, REGISTRY_RULE.replace("TargetObject|contains", "Image|endswith"))
    assert get_target("kql").source_for(by_image.sigma).name == "DeviceRegistryEvents"
    with pytest.raises(
        Unsupported, match="'TargetObject' has no column in DeviceRegistryEvents; Event holds"
    ):
        get_target("kql").render(_rule(tmp_path, REGISTRY_RULE))
    kql = get_target("kql", EVERY_SOURCE_SITE)
    assert kql.source_for(by_image.sigma).name == "DeviceRegistryEvents"
    query = kql.render(_rule(tmp_path, REGISTRY_RULE))
    # Sysmon as the Azure Monitor Agent stores it: Event, its event data XML parsed as Microsoft's
    # Sysmon parsers do, the channel and event id tested before any XML is parsed.
    assert query.splitlines()[2:7] == [
        "// Reads Event, since field 'TargetObject' has no column in DeviceRegistryEvents",
        "Event",
        '| where EventLog == "Microsoft-Windows-Sysmon/Operational" and EventID == 13',
        "| extend EventDataItems = parse_xml(EventData).DataItem.EventData.Data",
        '| mv-apply Item = iff(gettype(EventDataItems) == "array", EventDataItems, '
        "pack_array(EventDataItems)) on (summarize EventFields = "
        'make_bag(bag_pack(tostring(Item["@Name"]), tostring(Item["#text"]))))',
    ]
    assert '| where EventFields.TargetObject contains @"\\CurrentVersion\\Run\\"' in query


@pytest.mark.parametrize(
    ("fallbacks", "source"),
    [("true", "Event"), ("[Event]", "Event"), ("[]", None), ("false", None), ("[SecurityEvent]", None)],
)
def test_a_site_says_which_fallbacks_it_collects(fallbacks: str, source: str | None, tmp_path: Path) -> None:
    """A rule moves whole to a fallback only where the site collects it (`targets.kql.fallbacks`);
    elsewhere it is unsupported, naming the first source's missing field and the fallback to list."""
    config = tmp_path / "siemc.yml"
    config.write_text(f"targets:\n  kql:\n    fallbacks: {fallbacks}\n")
    kql = get_target("kql", load_config(config))
    detection = _rule(tmp_path, REGISTRY_RULE)
    by_image = _rule(tmp_path, REGISTRY_RULE.replace("TargetObject|contains", "Image|endswith"))
    assert kql.source_for(by_image.sigma).name == "DeviceRegistryEvents"  # the first source: always
    if source is not None:
        assert kql.source_for(detection.sigma).name == source
        return
    with pytest.raises(Unsupported) as raised:
        kql.render(detection)
    assert raised.value.message == (
        "field 'TargetObject' has no column in DeviceRegistryEvents; Event holds the rule where the site"
        " collects it (targets.kql.fallbacks in siemc.yml)"
    )


def test_fallbacks_must_be_true_false_or_source_names(tmp_path: Path) -> None:
    config = tmp_path / "siemc.yml"
    config.write_text("targets:\n  kql:\n    fallbacks: [Event, 3]\n")
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    assert "targets.kql.fallbacks[1]: expected a source name" in str(raised.value)
    assert raised.value.line == 3
    config.write_text("targets:\n  kql:\n    fallbacks: [Evnt]\n")
    with pytest.raises(ConfigError) as raised:
        check_site(load_config(config))
    assert "targets.kql.fallbacks: 'Evnt' is no source of the kql mapping" in str(raised.value)
    assert raised.value.line == 3


def test_a_site_stores_windows_event_logs_in_windows_event(tmp_path: Path) -> None:
    """`windows_events: WindowsEvent` (Windows Event Forwarding) moves every generated Windows
    event-log source to the WindowsEvent table, whose EventData is a dynamic column already."""
    config = tmp_path / "siemc.yml"
    config.write_text("targets:\n  kql:\n    windows_events: WindowsEvent\n    fallbacks: [WindowsEvent]\n")
    kql = get_target("kql", load_config(config))
    query = kql.render(_rule(tmp_path, REGISTRY_RULE))
    assert query.splitlines()[2:6] == [
        "// Reads WindowsEvent, since field 'TargetObject' has no column in DeviceRegistryEvents",
        "WindowsEvent",
        '| where Channel == "Microsoft-Windows-Sysmon/Operational" and EventID == 13',
        '| where EventData.TargetObject contains @"\\CurrentVersion\\Run\\"',
    ]
    config.write_text("targets:\n  kql:\n    windows_events: ForwardedEvents\n")
    with pytest.raises(ConfigError) as caught:
        check_site(load_config(config))
    assert str(caught.value) == (
        f"{config}:3: error: targets.kql.windows_events: 'ForwardedEvents' is no Windows event-log table "
        "of kql.yml (known: WindowsEvent)"
    )
    config.write_text("targets:\n  kql:\n    windows_events: [WindowsEvent]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value).startswith(
        f"{config}:3: error: targets.kql.windows_events: expected the name of a Windows event-log table"
    )


def test_kql_fixed_schema_table_names_the_missing_column(tmp_path: Path) -> None:
    text = REGISTRY_RULE.replace(
        "{category: registry_set, product: windows}", "{product: aws, service: cloudtrail}"
    )
    detection = _rule(tmp_path, text.replace("TargetObject|contains", "recipientAccountId|contains"))
    with pytest.raises(Unsupported, match="field 'recipientAccountId' has no column in AWSCloudTrail"):
        get_target("kql").render(detection)
    nested = _rule(tmp_path, text.replace("TargetObject|contains", "requestParameters.userName|contains"))
    assert "tostring(parse_json(RequestParameters).userName) contains" in get_target("kql").render(nested)


def test_keywords_search_the_raw_text_field(tmp_path: Path) -> None:
    text = (
        "title: kw\nlogsource: {product: linux}\n"
        "detection:\n  keywords: ['error: bad']\n  condition: keywords\n"
    )
    detection = _rule(tmp_path, text)
    assert 'SyslogMessage contains "error: bad"' in get_target("kql").render(detection)
    assert '"error: bad"' in get_target("spl").render(detection)
    # QRadar's Linux OS log source has no data model: a site that collects it vouches for it.
    aql = get_target("aql", EVERY_SOURCE_SITE)
    assert "UTF8(payload) ILIKE '%error: bad%'" in aql.render(detection)
    no_text = _rule(tmp_path, text.replace("{product: linux}", "{product: aws, service: cloudtrail}"))
    with pytest.raises(Unsupported, match="keyword search: AWSCloudTrail has no raw event text field"):
        get_target("kql").render(no_text)


def test_an_unknown_log_source_is_unsupported(tmp_path: Path) -> None:
    text = REGISTRY_RULE.replace("{category: registry_set, product: windows}", "{product: acme, service: x}")
    with pytest.raises(SiemcError, match="log source product=acme service=x is not mapped"):
        get_target("kql").render(_rule(tmp_path, text))


def test_kql_field_references_map_both_fields(tmp_path: Path) -> None:
    text = REGISTRY_RULE.replace(
        "{category: registry_set, product: windows}", "{product: aws, service: cloudtrail}"
    )
    detection = _rule(
        tmp_path,
        text.replace("TargetObject|contains: '\\CurrentVersion\\Run\\'", "userAgent|fieldref: eventName"),
    )
    assert "UserAgent =~ EventName" in get_target("kql").render(detection)


@pytest.mark.parametrize("target_name", TARGET_NAMES)
def test_a_services_own_image_name_is_not_the_virtual_file_name(tmp_path: Path, target_name: str) -> None:
    """`ImageName` is the file-name part of `Image` only where a log-source category promises path
    fields; a service's own events (Security-Mitigations) hold an `ImageName` of their own, a path."""
    service = _rule(
        tmp_path,
        "title: t\nlogsource: {product: windows, service: security-mitigations}\n"
        "detection:\n  sel: {ImageName|contains: '\\Users\\Public\\'}\n  condition: sel\n",
    )
    target = get_target(target_name)
    if target_name == "yaral":
        # Google documents no UDM field naming the event-log channel of a WINEVTLOG event.
        with pytest.raises(Unsupported, match=r'WINEVTLOG has no field additional\.fields\["Channel"\]'):
            target.render(service)
        return
    query = target.render(service)
    assert target.source_for(service.sigma).native_field("ImageName").split("[")[0] in query
    assert "[^" not in query  # no file-name regex on a path field


def test_kql_text_file_logs_search_the_whole_entry(tmp_path: Path) -> None:
    """Logs without a Sentinel connector (application, web server, database) are text files the Azure
    Monitor Agent collects into a custom table: keywords search its RawData, a field has no column."""
    text = (
        "title: kw\nlogsource: {category: application, product: jvm}\n"
        "detection:\n  keywords: ['FileNotFoundException']\n  condition: keywords\n"
    )
    # JvmLog_CL is siemc's name for the site's own table: a site that collects it vouches for it.
    with pytest.raises(Unsupported, match="siemc has no data model of JvmLog_CL"):
        get_target("kql").render(_rule(tmp_path, text))
    kql = get_target("kql", EVERY_SOURCE_SITE)
    query = kql.render(_rule(tmp_path, text))
    assert query.endswith('JvmLog_CL\n| where RawData contains "FileNotFoundException"\n')
    web = _rule(tmp_path, text.replace("{category: application, product: jvm}", "{category: webserver}"))
    # IIS logs (W3CIISLog) keep no raw text: the keyword needs the site's text-file table.
    with pytest.raises(Unsupported, match="W3CIISLog has no raw event text field; WebServerLog_CL holds"):
        get_target("kql").render(web)
    assert 'WebServerLog_CL\n| where RawData contains "FileNotFoundException"' in kql.render(web)
    fields = _rule(tmp_path, text.replace("keywords: ['FileNotFoundException']", "keywords: {level: error}"))
    with pytest.raises(Unsupported, match="field 'level' has no column in JvmLog_CL"):
        kql.render(fields)
