"""Google SecOps: the rule files and the rule config of Google's content tooling.

    secops/rules/<rule name>.yaral     one YARA-L 2.0 rule per file
    secops/rule_config.yaml            per rule: enabled, alerting, archived, run_frequency

The layout and the config are those of Google's Content Manager (chronicle/detection-rules,
tools/content_manager: rules/ and rule_config.yaml), which creates, updates, enables and turns on
alerting for each rule through the SecOps API (`python -m content_manager rules update`). Its rules:
a file is named after the rule it holds (the name after `rule`, the first `rule <name>` the file holds,
content_manager/rules.py extract_rule_name); every rule file has a config entry, keyed by that name,
with the required keys `enabled` and `alerting` and no key outside its list (alerting, archive_time,
archived, create_time, enabled, id, resource_name, revision_create_time, revision_id, run_frequency,
type); an archived rule can be neither enabled nor alerting (check_rule_settings). run_frequency is
RuleDeployment.runFrequency of the SecOps API: LIVE, HOURLY or DAILY (Chronicle API v1alpha
RuleDeployment). The Content Manager records it and does not set it.

The rule text is the built query from its `rule` line on: the lines before it are siemc's comment
header, and the Content Manager would take a `rule <word>` in that header (a title such as "Suspicious
rule change", or the run note "rule run frequency") for the rule's name. Everything the header said is
in the rule's meta section (title, severity, ATT&CK ids, source path).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from siemc.diagnostics import SiemcError
from siemc.release.artifacts import Artifact, BundleInfo, QueryOutput, ReleaseRule
from siemc.release.serialize import yaml_bytes

_RULE_LINE = re.compile(r"rule\s+([A-Za-z0-9_]+)\s*\{")
_DISABLED_STATUSES = ("deprecated", "unsupported")


def rule_text(rule: ReleaseRule, query: QueryOutput) -> tuple[str, str]:
    """(rule name, rule file text): the query from its `rule <name> {` line on."""
    lines = query.text.split("\n")
    for index, line in enumerate(lines):
        if line.startswith("//") or not line.strip():
            continue
        match = _RULE_LINE.match(line)
        if match is None:
            break
        return match.group(1), "\n".join(lines[index:]).rstrip("\n") + "\n"
    raise SiemcError(f"{rule.name}: the YARA-L output does not start with a `rule <name> {{` line")


def deployment(rule: ReleaseRule) -> dict[str, object]:
    """The rule's config entry. siemc's YARA-L rules are single-event rules (no match section), which
    SecOps runs on streaming data as it arrives: LIVE ("Near real-time", the run-frequency page of the
    SecOps docs). A deprecated or unsupported Sigma rule is loaded but neither enabled nor alerting."""
    active = rule.meta.get("status") not in _DISABLED_STATUSES
    return {"enabled": active, "alerting": active, "archived": False, "run_frequency": "LIVE"}


class SecOpsWriter:
    def rule_artifacts(self, rule: ReleaseRule, query: QueryOutput, bundle: BundleInfo) -> list[Artifact]:
        name, text = rule_text(rule, query)
        return [
            Artifact(f"secops/rules/{name}.yaral", "secops-rule", text.encode("utf-8"), "yaral", rule.name)
        ]

    def bundle_artifacts(
        self, items: Sequence[tuple[ReleaseRule, QueryOutput]], bundle: BundleInfo
    ) -> list[Artifact]:
        if not items:
            return []
        config: dict[str, object] = {}
        owners: dict[str, str] = {}
        for rule, query in items:
            name, _ = rule_text(rule, query)
            if name in owners:
                # One file and one config entry per name: the Content Manager refuses duplicate names.
                raise SiemcError(f"{owners[name]} and {rule.name} are both the SecOps rule {name!r}")
            owners[name] = rule.name
            config[name] = deployment(rule)
        document = dict(sorted(config.items()))
        return [Artifact("secops/rule_config.yaml", "secops-rule-config", yaml_bytes(document), "yaral")]


WRITER = SecOpsWriter()
