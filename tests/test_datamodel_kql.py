"""KQL data model: the Defender XDR and Sentinel tables as Microsoft's schema references give them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from siemc.backends import get_target
from siemc.backends.kql import kql_expression_columns

from siemc.compile.datamodel import load_datamodel, models_folder
from siemc.compile.mappings import target_mapping
from siemc.compile.rule import load_rule, parse_rule
from siemc.diagnostics import Unsupported
from tests.conftest import load_pack_rule
from tests.engines import EngineUnavailable, reference_hits, run_target

CHECKERS = Path(__file__).parent / "checkers"
MODELS = load_datamodel(models_folder() / "kql.yml")


def _rule(text: str) -> str:
    return "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n" + text


def test_every_table_the_mapping_selects_has_a_model_with_provenance() -> None:
    specs = [spec for entry in target_mapping("kql") for spec in entry.candidates]
    # Only the custom tables no Microsoft connector writes (siemc's names for a site's own tables,
    # marked `site_table`) have no model; those a Sentinel connector writes are modelled.
    site_tables = {spec.name for spec in specs if spec.extra.get("site_table")}
    assert {spec.name for spec in specs} - site_tables <= set(MODELS)
    assert not site_tables & set(MODELS)
    assert {"Okta_CL", "GitHubAuditLogPolling_CL", "CiscoDuo_CL", "OneLogin_CL"} <= set(MODELS)
    assert all(name.endswith("_CL") for name in site_tables)
    assert {"DeviceProcessEvents", "SecurityEvent", "Event", "WindowsEvent", "SigninLogs"} <= set(MODELS)
    for model in MODELS.values():
        assert model.provenance and all(p.strip() for p in model.provenance)
        assert "TimeGenerated" in model.fields or "Timestamp" in model.fields


def test_every_mapped_column_is_a_column_of_its_table() -> None:
    # Every native name the mapping gives, its selector fields, time column and key columns.
    missing = []
    for entry in target_mapping("kql"):
        for spec in entry.candidates:
            model = MODELS.get(spec.name)
            if model is None:
                continue
            natives = [n.replace(".{rest}", "") for n in spec.fields.values() if n is not None]
            natives += [spec.time_field, *spec.selector_fields, *spec.extra.get("key_columns", "").split()]
            for native in natives:
                missing += [f"{spec.name}: {c}" for c in kql_expression_columns(native) if not model.has(c)]
    assert missing == []


def test_the_kusto_checker_knows_no_column_microsoft_does_not_document() -> None:
    # The Kusto.Language schema the tests check outputs with: for every modelled table, each column is
    # one the reference lists, with its type (AdditionalFields: JSON text in the Defender reference,
    # dynamic in Sentinel's copies of the tables, so both are read through parse_json).
    for name in ("defender_xdr_schema.json", "sentinel_schema.json"):
        tables = json.loads((CHECKERS / name).read_text(encoding="utf-8"))["tables"]
        for table, columns in tables.items():
            model = MODELS.get(table)
            if model is None:
                continue
            for column, kind in columns.items():
                assert column in model.fields, f"{table}.{column}"
                assert kind == model.fields[column] or column == "AdditionalFields", f"{table}.{column}"


@pytest.mark.parametrize(
    ("native", "columns"),
    [
        ("DeviceName", {"DeviceName"}),
        ("tostring(DeviceDetail.trustType)", {"DeviceDetail.trustType"}),
        ("tostring(parse_json(RequestParameters).bucketName)", {"RequestParameters"}),
        ("tostring(AuthorizationInfo[0].granted)", {"AuthorizationInfo"}),
        ("extract(@'(?:^|\\s)exe=\"?([^\"\\s]*)', 1, SyslogMessage)", {"SyslogMessage"}),
        ('column_ifexists("actor_name_s", "")', {"actor_name_s"}),
        ('tostring(column_ifexists("securityContext_isProxy_b", ""))', {"securityContext_isProxy_b"}),
    ],
)
def test_the_columns_an_expression_reads(native: str, columns: set[str]) -> None:
    assert kql_expression_columns(native) == columns


def test_a_key_of_a_dynamic_column_is_a_field_a_key_of_a_text_column_is_not() -> None:
    assert MODELS["SigninLogs"].has("DeviceDetail.trustType")
    assert not MODELS["SigninLogs"].has("NetworkLocationDetails.networkType")  # string column
    assert MODELS["Event"].has("EventFields.TargetObject") and not MODELS["Event"].has("TargetObject")
    assert not MODELS["DeviceEvents"].has("AdditionalFields.ThreatName")


def test_gcp_resource_type_reads_the_column_the_table_has() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {product: gcp, service: gcp.audit}\n"
            "detection:\n  sel: {data.protoPayload.resource.type: k8s_cluster}\n  condition: sel\n"
        ),
        Path("t.yml"),
    )
    query = get_target("kql").render(detection)
    assert 'GCPResourceType =~ "k8s_cluster"' in query and " ResourceType" not in query
    events = [{"data.protoPayload.resource.type": "k8s_cluster"}, {"data.protoPayload.resource.type": "gce"}]
    expected = reference_hits("kql", detection, events)
    assert expected == [0]
    try:
        rows = run_target("kql", detection, query, events)
    except EngineUnavailable as error:
        pytest.skip(str(error))
    assert [row.index for row in rows] == expected


def test_antivirus_threat_names_are_read_from_the_json_text() -> None:
    detection = parse_rule(
        _rule(
            "logsource: {category: antivirus}\n"
            "detection:\n  sel: {Signature|contains: Mimikatz}\n  condition: sel\n"
        ),
        Path("t.yml"),
    )
    query = get_target("kql").render(detection)
    assert "tostring(parse_json(AdditionalFields).ThreatName) contains" in query


def test_a_column_the_table_lacks_is_unsupported(tmp_path: Path) -> None:
    # A column Microsoft's SigninLogs does not have, unless the site names it itself (its own
    # ingestion writes it: the site vouches for the names its field table gives).
    (tmp_path / "siemc.yml").write_text("targets:\n  kql:\n    fields: {Foo: FooColumn}\n", encoding="utf-8")
    rule = tmp_path / "r.yml"
    rule.write_text(
        _rule(
            "logsource: {product: azure, service: signinlogs}\n"
            "detection:\n  sel: {ResultType: 50126, AuthenticationProtocol: ropc}\n  condition: sel\n"
        ),
        encoding="utf-8",
    )
    from siemc.config import load_config

    with pytest.raises(Unsupported, match="AuthenticationProtocol"):
        get_target("kql").render(load_rule(rule))
    rule.write_text(rule.read_text(encoding="utf-8").replace("AuthenticationProtocol: ropc", "Foo: bar"))
    site = load_config(tmp_path / "siemc.yml")
    assert 'FooColumn =~ "bar"' in get_target("kql", site).render(load_rule(rule, site))


def test_t1219_stays_on_device_process_events_with_its_key_columns() -> None:
    query = get_target("kql").render(load_pack_rule())
    assert "\nDeviceProcessEvents\n" in f"\n{query}"
    assert "Timestamp, DeviceId, ReportId" in query


def _render(text: str) -> str:
    return get_target("kql").render(parse_rule(_rule(text), Path("t.yml")))


def _stored(table: str, event: dict[str, object]) -> dict[str, object]:
    # The event as the connector stores it (the model's `from` origins), which the test engines run
    # queries over (tests/native.py); the Kusto checker's schema of a custom table lists no columns
    # beyond TimeGenerated, so the queries read them through column_ifexists.
    return MODELS[table].event(event)


def test_okta_is_proxy_is_read_from_the_boolean_column() -> None:
    """Okta's Sentinel connector (Okta Single Sign-On) posts the System Log events through the HTTP
    Data Collector API, which stores the boolean securityContext.isProxy as securityContext_isProxy_b
    (Azure-Sentinel KqlvalidationsTests/CustomTables/Okta_CL.json, Sample Data/Custom/Okta_CL.json):
    the `_s` column the custom-log template names never exists."""
    rule = (
        "logsource: {product: okta, service: okta}\n"
        "detection:\n  sel: {eventType: user.session.start, securityContext.isProxy: 'true'}\n"
        "  condition: sel\n"
    )
    query = _render(rule)
    assert 'tostring(column_ifexists("securityContext_isProxy_b", "")) =~ "true"' in query
    assert "securityContext_isProxy_s" not in query
    assert MODELS["Okta_CL"].origins["securityContext_isProxy_b"] == "securityContext.isProxy"
    stored = _stored("Okta_CL", {"eventType": "user.session.start", "securityContext.isProxy": "true"})
    assert stored == {"eventType_s": "user.session.start", "securityContext_isProxy_b": True}


def test_onelogin_event_type_id_is_read_from_the_number_column() -> None:
    """OneLogin IAM's connector stores event_type_id as a number: event_type_id_d (Azure-Sentinel
    KqlvalidationsTests/CustomTables/OneLogin_CL.json), never event_type_id_s."""
    rule = "logsource: {product: onelogin}\ndetection:\n  sel: {event_type_id: 3}\n  condition: sel\n"
    query = _render(rule)
    assert 'todouble(column_ifexists("event_type_id_d", "")) == 3' in query
    assert _stored("OneLogin_CL", {"event_type_id": 3}) == {"event_type_id_d": 3}


def test_an_okta_key_the_connector_does_not_store_is_unsupported() -> None:
    """Okta's `target` is an array: the connector keeps it as JSON text in target_s, so there is no
    target_displayName_s column (Azure-Sentinel KqlvalidationsTests/CustomTables/Okta_CL.json)."""
    with pytest.raises(Unsupported, match="Okta_CL has no field target_displayName_s"):
        _render(
            "logsource: {product: okta, service: okta}\n"
            "detection:\n  sel: {target.displayName: Okta Admin Console}\n  condition: sel\n"
        )


def test_a_site_table_says_it_is_the_sites_own_until_the_site_names_it(tmp_path: Path) -> None:
    """JvmLog_CL is siemc's name: no Microsoft connector writes it, so by default the rule is
    unsupported; a site that vouches for the table (targets.kql.unmodelled) gets the output with a note
    that the table is the site's to name; a site that names its own table (siemc.yml
    targets.kql.sources) gets no note."""
    from siemc.config import load_config

    rule_text = _rule(
        "logsource: {category: application, product: jvm}\n"
        "detection:\n  keywords: [FileNotFoundException]\n  condition: keywords\n"
    )
    with pytest.raises(Unsupported, match="siemc has no data model of JvmLog_CL"):
        get_target("kql").render(parse_rule(rule_text, Path("t.yml")))
    (tmp_path / "vouched.yml").write_text("targets:\n  kql: {unmodelled: [JvmLog_CL]}\n", encoding="utf-8")
    vouched = get_target("kql", load_config(tmp_path / "vouched.yml"))
    query = vouched.render(parse_rule(rule_text, Path("t.yml")))
    assert "// JvmLog_CL is siemc's name for a site's own custom table" in query
    (tmp_path / "siemc.yml").write_text(
        "targets:\n  kql:\n    sources:\n      - logsource: category=application product=jvm\n"
        "        selector: AcmeJava_CL\n",
        encoding="utf-8",
    )
    rule = tmp_path / "r.yml"
    rule.write_text(rule_text, encoding="utf-8")
    site = load_config(tmp_path / "siemc.yml")
    query = get_target("kql", site).render(load_rule(rule, site))
    assert "AcmeJava_CL\n| where RawData" in query and "site's own" not in query
