"""Elastic Security detection rules of a rule's EQL query, in Kibana's rule import format.

    elastic/rules/<stem>.json one rule (kind kibana-detection-rule)
    elastic/rules.ndjson      every rule, one a line: the file Kibana's Rules page (Import rules) and
                              POST /api/detection_engine/rules/_import take (kind kibana-detection-rules)

Sources, each cited again where it is used:
- elastic/kibana x-pack/solutions/security/plugins/security_solution/common/api/detection_engine/:
  model/rule_schema/rule_schemas.schema.yaml (EqlRuleCreateProps: required name, description,
  risk_score, severity, type eql, language eql, query), common_attributes.schema.yaml (the types,
  enums and ranges of every field, the threat objects), rule_schedule.ts and time_duration.ts
  (interval units), rule_management/import_rules/rule_to_import.ts (an imported rule needs rule_id
  and version) and import_rules_route.schema.yaml (the .ndjson file).
- elastic/detection-rules rules/*.toml: the values Elastic's own rules use (risk scores 21, 47, 73,
  99; threat references; index patterns of Elastic Defend, the Windows and System integrations and
  Winlogbeat).
- Elastic's data stream naming scheme, `<type>-<dataset>-<namespace>`
  (https://www.elastic.co/guide/en/fleet/current/data-streams.html).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from siemc.backends.artifacts import common
from siemc.backends.artifacts.attack import RuleAttack, Technique, rule_attack, table

from siemc.release.artifacts import Artifact, BundleInfo, QueryOutput, ReleaseRule
from siemc.release.serialize import json_bytes, ndjson_bytes

# Severity and risk score by level, as Elastic's prebuilt rules pair them (low 21, medium 47, high 73,
# critical 99; RiskScore: 0-21 low, 22-47 medium, 48-73 high, 74-100 critical). Elastic has no
# informational severity: it is low.
SEVERITY: Mapping[str, tuple[str, int]] = {
    "informational": ("low", 21),
    "low": ("low", 21),
    "medium": ("medium", 47),
    "high": ("high", 73),
    "critical": ("critical", 99),
}

# Index patterns by the source siemc's EQL mapping selects (backends/mappings/eql.yml), as Elastic's
# prebuilt rules list them for the same events: Elastic Defend's data streams, Sysmon through the
# Windows integration or Winlogbeat, Windows event logs through the Windows and System integrations.
_DEFEND_PROCESS = "logs-endpoint.events.process-*"
INDEX: Mapping[str, tuple[str, ...]] = {
    "process": (_DEFEND_PROCESS,),
    "file": ("logs-endpoint.events.file-*",),
    "file rename": ("logs-endpoint.events.file-*",),
    "file open": ("logs-endpoint.events.file-*",),
    "winlog": ("logs-system.*", "logs-windows.*", "winlogbeat-*"),
    "windows.sysmon_operational": ("logs-windows.sysmon_operational-*", "winlogbeat-*"),
}
# Windows process creation also comes from Sysmon event 1, which the Windows integration and
# Winlogbeat map to the same ECS process start event.
WINDOWS_PROCESS = (_DEFEND_PROCESS, "logs-windows.sysmon_operational-*", "winlogbeat-*")
# Sources selected by `event.module` rather than one dataset: every dataset of that integration.
MODULES = ("google_workspace", "zeek", "onelogin", "opencanary")
# Sources selected by an ECS category across integrations (proxy, web, dns, malware, firewall) get no
# index: the rule then reads Kibana's default Security indices (securitySolution:defaultIndex).


def index_patterns(source: str, logsource: Mapping[str, Any]) -> list[str] | None:
    if source == "process" and logsource.get("product") == "windows":
        return list(WINDOWS_PROCESS)
    if source == "network":
        # network_connection is Elastic Defend's network event; the firewall category is any network event.
        return (
            ["logs-endpoint.events.network-*"] if logsource.get("category") == "network_connection" else None
        )
    if source in INDEX:
        return list(INDEX[source])
    if source == "sysmon_linux":
        return ["logs-sysmon_linux.log-*"]
    if source in MODULES:
        return [f"logs-{source}.*"]
    if "." in source and " " not in source:  # an integration's dataset: its data stream
        return [f"logs-{source}-*"]
    return None


def threat(attack: RuleAttack) -> list[dict[str, Any]]:
    """One threat entry per tactic with the rule's techniques of that tactic, sub-techniques under
    their technique (Threat, ThreatTactic, ThreatTechnique, ThreatSubtechnique)."""
    entries = []
    for tactic in attack.tactics:
        techniques: dict[str, dict[str, Any]] = {}
        for technique in attack.techniques_of(tactic):
            parent = _parent(technique)
            entry = techniques.setdefault(parent.id, _technique(parent))
            if technique.is_subtechnique:
                entry.setdefault("subtechnique", []).append(_technique(technique))
        threat_entry: dict[str, Any] = {
            "framework": "MITRE ATT&CK",
            "tactic": {"id": tactic.id, "name": tactic.name, "reference": tactic.reference},
        }
        if techniques:
            threat_entry["technique"] = list(techniques.values())
        entries.append(threat_entry)
    return entries


def _parent(technique: Technique) -> Technique:
    if not technique.is_subtechnique:
        return technique
    parent = table().technique(technique.parent)
    return parent if parent is not None else technique


def _technique(technique: Technique) -> dict[str, Any]:
    return {"id": technique.id, "name": technique.name, "reference": technique.reference}


def kibana_rule(rule: ReleaseRule, query: QueryOutput) -> dict[str, Any]:
    """The rule as Kibana imports it (RuleToImport of type eql)."""
    seconds = common.lookback_seconds(rule)
    # interval: a whole number of s, m or h (RuleSchedule: allowedUnits s, m, h; no days), run as often
    # as the lookback is long; from: date math over the same window (RuleIntervalFrom).
    interval = _kibana_duration(seconds)
    severity, risk_score = SEVERITY[common.severity(rule)]
    attack = rule_attack(rule.meta)
    document: dict[str, Any] = {
        # A stable id across spaces and clusters (RuleSignatureId): the Sigma rule's own id.
        "rule_id": str(rule.meta.get("id") or common.derived_guid(rule, "elastic")),
        "name": common.title(rule),
        "description": common.description(rule),
        "type": "eql",
        "language": "eql",
        "query": query.text,
    }
    index = index_patterns(query.source, rule.meta.get("logsource") or {})
    if index:
        document["index"] = index
    document.update(
        {
            "interval": interval,
            "from": f"now-{interval}",
            "to": "now",
            "risk_score": risk_score,
            "severity": severity,
            "threat": threat(attack),
            "tags": [f"Tactic: {t.name}" for t in attack.tactics],
            "author": common.strings([rule.meta.get("author")] if rule.meta.get("author") else []),
            "false_positives": common.strings(rule.meta.get("falsepositives")),
            "references": common.strings(rule.meta.get("references")),
            # RuleVersion, an integer from 1: the rule's locked version.
            "version": rule.version,
            "enabled": common.enabled(rule),
        }
    )
    return document


def _kibana_duration(seconds: int) -> str:
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError("unreachable")


class EqlArtifacts:
    def rule_artifacts(self, rule: ReleaseRule, query: QueryOutput, bundle: BundleInfo) -> list[Artifact]:
        return [
            Artifact(
                f"elastic/rules/{rule.stem}.json",
                "kibana-detection-rule",
                json_bytes(kibana_rule(rule, query)),
                query.target,
                rule.name,
            )
        ]

    def bundle_artifacts(
        self, items: Sequence[tuple[ReleaseRule, QueryOutput]], bundle: BundleInfo
    ) -> list[Artifact]:
        if not items:
            return []
        ordered = sorted(items, key=lambda item: item[0].name)
        data = ndjson_bytes(kibana_rule(rule, query) for rule, query in ordered)
        return [Artifact("elastic/rules.ndjson", "kibana-detection-rules", data, "eql")]


WRITER = EqlArtifacts()
