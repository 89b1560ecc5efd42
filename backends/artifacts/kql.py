"""Microsoft Sentinel and Defender XDR artifacts of a rule's KQL query.

Per rule, in the bundle:

    sentinel/<stem>.yaml          scheduled analytics rule in the format of Azure-Sentinel's Detections/
                                  (kind sentinel-analytics-rule)
    sentinel-arm/<stem>.json      the same rule as an ARM template, a Microsoft.SecurityInsights/alertRules
                                  resource of kind Scheduled (kind sentinel-arm-template)
    defender/<stem>.json          a Defender XDR custom detection, the body of Microsoft Graph's
                                  POST /security/rules/detectionRules (kind defender-custom-detection),
                                  for queries on Defender XDR advanced-hunting tables
    <kind>/<stem>.skipped.json    instead of an artifact the rule cannot be, why not
                                  (kinds sentinel-analytics-rule-skipped, defender-custom-detection-skipped)

Sources, each cited again where it is used:
- Azure-Sentinel, .script/tests/detectionTemplateSchemaValidation: the validation every template in
  Detections/ passes (Models/ScheduledTemplateInternalModel.cs, AnalyticsTemplateInternalModelBase.cs,
  AttackTactic.cs, EntityMappingIdentifiers.cs, ValidEntityMappingsAttribute.cs,
  ModelValidationAttributes/*.cs, ValidConnectorIds.json).
- Azure/azure-rest-api-specs, specification/securityinsights/resource-manager/Microsoft.SecurityInsights/
  stable/2025-09-01/AlertRules.json (ScheduledAlertRuleProperties: property names, required ones, enums)
  and stable/2024-09-01/examples/alertRules/CreateScheduledAlertRule.json.
- https://learn.microsoft.com/azure/templates/microsoft.securityinsights/alertrules: alertRules is an
  extension resource, deployed with `scope` set to the workspace.
- https://learn.microsoft.com/azure/azure-resource-manager/templates/template-expressions#escape-characters
- https://learn.microsoft.com/graph/api/resources/security-detectionrule and security-ruleschedule,
  security-alerttemplate, security-impacteddeviceasset, security-impacteduserasset
  (microsoftgraph/microsoft-graph-docs-contrib), and MicrosoftDocs/defender-docs
  defender-xdr/custom-detection-rules.md ("Required columns in the query results", "Rule frequency").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from siemc.backends.artifacts import common
from siemc.backends.artifacts.attack import RuleAttack, rule_attack

from siemc.release.artifacts import Artifact, BundleInfo, QueryOutput, ReleaseRule
from siemc.release.serialize import json_bytes, yaml_bytes

# -- Microsoft Sentinel ---------------------------------------------------------------------------

# Severity enum of ScheduledTemplateInternalModel.cs and of AlertSeverityEnum (Informational, Low,
# Medium, High): Sentinel has no critical.
SENTINEL_SEVERITY = {
    "informational": "Informational",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "critical": "High",
}

# RangeTimeSpanIsoFormat("00:05:00", "14.00:00:00") on queryFrequency and queryPeriod.
SENTINEL_MIN_SECONDS = 5 * 60
SENTINEL_MAX_SECONDS = 14 * 86400
# StringLength(10000) on query, StringLength(256) on name, StringLength(5000) on description.
SENTINEL_MAX_QUERY = 10000
SENTINEL_MAX_NAME = 256
SENTINEL_MAX_DESCRIPTION = 5000

# The ARM form: the latest stable api-version of Microsoft.SecurityInsights/alertRules in
# azure-rest-api-specs; its ScheduledAlertRuleProperties has `techniques` but no `subTechniques`.
ARM_API_VERSION = "2025-09-01"
ARM_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
# The workspace the rule extends, from the template's `workspace` parameter.
ARM_SCOPE = "[format('Microsoft.OperationalInsights/workspaces/{0}', parameters('workspace'))]"
# Required by ScheduledAlertRuleProperties even when suppression is off; the REST example's value.
ARM_SUPPRESSION = "PT1H"

# requiredDataConnectors by the table a query reads: the connector ids and data types Azure-Sentinel's
# own Detections/ templates give those tables (ids the connector-id test accepts, ValidConnectorIds.json
# plus the WindowsForwardedEvents its WindowsEvent templates name). SecurityEvent
# has two connectors (the legacy agent's SecurityEvents and the Azure Monitor Agent's
# WindowsSecurityEvents) and templates list both; Sentinel's WindowsEvent table is the "Windows
# Forwarded Events" connector. A table missing here (custom `_CL` logs, AKS, GCP...) lists none.
CONNECTORS: Mapping[str, tuple[str, ...]] = {
    "SecurityEvent": ("SecurityEvents", "WindowsSecurityEvents"),
    "WindowsEvent": ("WindowsForwardedEvents",),
    "Syslog": ("Syslog",),
    "SigninLogs": ("AzureActiveDirectory",),
    "AuditLogs": ("AzureActiveDirectory",),
    "AzureActivity": ("AzureActivity",),
    "OfficeActivity": ("Office365",),
    "AWSCloudTrail": ("AWS",),
    "CommonSecurityLog": ("CEF",),
    "DnsEvents": ("DNS",),
    "W3CIISLog": ("AzureMonitor(IIS)",),
}
# Defender XDR advanced-hunting tables streamed to Sentinel by the Microsoft Defender XDR connector.
DEFENDER_CONNECTOR = "MicrosoftThreatProtection"

# Entity mappings by table, for host, account and process: (entity type, [(identifier, column)]),
# at most 3 identifiers each (ValidEntityMappings fieldMappingsMaxLength). Identifiers are those of
# EntityMappingIdentifiers.cs; columns are the tables' own (Defender XDR advanced-hunting schema,
# https://learn.microsoft.com/defender-xdr/advanced-hunting-deviceprocessevents-table and the other
# Device* tables; Azure Monitor's SecurityEvent, WindowsEvent, Event and Syslog table references).
# Defender's DeviceName is the device's fully qualified name, mapped as Host FullName as Microsoft's
# own REST example maps Computer; AccountName holds the user name without its domain (Account Name,
# with AccountDomain as NTDomain).
_DEVICE_HOST = ("Host", (("FullName", "DeviceName"),))
_DEVICE_ACTOR = (
    (
        "Account",
        (
            ("Name", "InitiatingProcessAccountName"),
            ("NTDomain", "InitiatingProcessAccountDomain"),
            ("Sid", "InitiatingProcessAccountSid"),
        ),
    ),
    (
        "Process",
        (
            ("ProcessId", "InitiatingProcessId"),
            ("CommandLine", "InitiatingProcessCommandLine"),
            ("CreationTimeUtc", "InitiatingProcessCreationTime"),
        ),
    ),
)
ENTITIES: Mapping[str, tuple[tuple[str, tuple[tuple[str, str], ...]], ...]] = {
    "DeviceProcessEvents": (
        _DEVICE_HOST,
        ("Account", (("Name", "AccountName"), ("NTDomain", "AccountDomain"), ("Sid", "AccountSid"))),
        (
            "Process",
            (
                ("ProcessId", "ProcessId"),
                ("CommandLine", "ProcessCommandLine"),
                ("CreationTimeUtc", "ProcessCreationTime"),
            ),
        ),
    ),
    "DeviceFileEvents": (_DEVICE_HOST, *_DEVICE_ACTOR),
    "DeviceNetworkEvents": (_DEVICE_HOST, *_DEVICE_ACTOR),
    "DeviceRegistryEvents": (_DEVICE_HOST, *_DEVICE_ACTOR),
    "DeviceImageLoadEvents": (_DEVICE_HOST, *_DEVICE_ACTOR),
    "DeviceEvents": (_DEVICE_HOST, *_DEVICE_ACTOR),
    "SecurityEvent": (
        ("Host", (("FullName", "Computer"),)),
        (
            "Account",
            (("Name", "SubjectUserName"), ("NTDomain", "SubjectDomainName"), ("Sid", "SubjectUserSid")),
        ),
        ("Process", (("ProcessId", "NewProcessId"), ("CommandLine", "CommandLine"))),
    ),
    "WindowsEvent": (("Host", (("FullName", "Computer"),)),),
    "Event": (("Host", (("FullName", "Computer"),)),),
    "Syslog": (("Host", (("HostName", "HostName"),)),),
    "SigninLogs": (("Account", (("FullName", "UserPrincipalName"), ("AadUserId", "UserId"))),),
}
# EntityMappingIdentifiers.cs RequiredIdentifiers: a mapping needs one of these identifiers.
REQUIRED_IDENTIFIERS = {
    "Host": ("FullName", "HostName", "NetBiosName", "AzureID", "OMSAgentID"),
    "Account": ("FullName", "Sid", "Name", "AadUserId", "PUID", "ObjectGuid"),
    "Process": ("CommandLine", "ProcessId"),
}
# ValidEntityMappingsAttribute: a column name starts with a letter or an underscore, then \w.
_COLUMN_NAME = re.compile(r"^[A-Za-z_]\w*$")

# -- Defender XDR custom detections -----------------------------------------------------------------

# custom-detection-rules.md, "Required columns in the query results": Timestamp, and the columns that
# identify the event: Timestamp, DeviceId and ReportId for Defender for Endpoint (Device*) tables,
# Timestamp and ReportId for the other tables listed.
DEFENDER_TABLES: Mapping[str, tuple[str, ...]] = {
    **{
        table: ("Timestamp", "DeviceId", "ReportId")
        for table in (
            "DeviceProcessEvents",
            "DeviceNetworkEvents",
            "DeviceFileEvents",
            "DeviceRegistryEvents",
            "DeviceImageLoadEvents",
            "DeviceEvents",
            "DeviceLogonEvents",
        )
    },
    **{
        table: ("Timestamp", "ReportId")
        for table in (
            "EmailEvents",
            "EmailAttachmentInfo",
            "EmailUrlInfo",
            "EmailPostDeliveryEvents",
            "UrlClickEvents",
            "IdentityLogonEvents",
            "IdentityQueryEvents",
            "IdentityDirectoryEvents",
            "CloudAppEvents",
        )
    },
}
# "Rule frequency": every 24, 12, 3 or 1 hours (and continuous, which takes no comment lines); the
# Graph ruleSchedule `frequency` is an ISO 8601 duration (`period` is deprecated).
DEFENDER_FREQUENCIES = ((86400, "P1D"), (12 * 3600, "PT12H"), (3 * 3600, "PT3H"), (3600, "PT1H"))
# microsoft.graph.alertSeverity: informational, low, medium, high.
DEFENDER_SEVERITY = {
    "informational": "informational",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "high",
}
# impactedUserAsset identifiers (userAssetIdentifier enum) for the strong account columns
# custom-detection-rules.md lists, when the query returns one.
DEFENDER_USER_ASSETS = (
    ("AccountObjectId", "accountObjectId"),
    ("AccountSid", "accountSid"),
    ("AccountUpn", "accountUpn"),
    ("InitiatingProcessAccountObjectId", "processAccountObjectId"),
    ("InitiatingProcessAccountSid", "initiatingAccountSid"),
    ("InitiatingProcessAccountUpn", "initiatingProcessAccountUpn"),
)
DEFENDER_DOCS = "https://learn.microsoft.com/defender-xdr/custom-detection-rules"
SENTINEL_DOCS = "https://learn.microsoft.com/azure/sentinel/detect-threats-custom"

_PROJECT = re.compile(r"^\| project (?P<columns>.+)$")


def projected_columns(query: str) -> tuple[str, ...] | None:
    """The columns the query returns when it ends in siemc's `| project a, b, c` line (templates/kql);
    None when it projects nothing, so that every column of its table comes back. A projected
    expression that is not a plain column name (`EventData.User`) is left out: no entity can use it."""
    columns: tuple[str, ...] | None = None
    for line in query.splitlines():
        match = _PROJECT.match(line.strip())
        if match:
            columns = tuple(c.strip() for c in match.group("columns").split(","))
    return columns


def entity_mappings(table: str, columns: tuple[str, ...] | None) -> list[dict[str, Any]]:
    mappings = []
    for entity_type, identifiers in ENTITIES.get(table, ()):
        fields = [
            {"identifier": identifier, "columnName": column}
            for identifier, column in identifiers
            if _COLUMN_NAME.match(column) and (columns is None or column in columns)
        ]
        if any(f["identifier"] in REQUIRED_IDENTIFIERS[entity_type] for f in fields):
            mappings.append({"entityType": entity_type, "fieldMappings": fields})
    return mappings


def required_connectors(source: str) -> list[dict[str, Any]]:
    """The connectors of the table a query reads (a correlation's tables are joined by ` + `)."""
    found: list[dict[str, Any]] = []
    for table in source.split(" + "):
        if table.startswith("Device") or table in DEFENDER_TABLES:
            found.append({"connectorId": DEFENDER_CONNECTOR, "dataTypes": [table]})
        else:
            found += [{"connectorId": c, "dataTypes": [table]} for c in CONNECTORS.get(table, ())]
    return found


def short_duration(seconds: int) -> str:
    """Azure-Sentinel's template form, `<number><m|h|d>` (ScheduledTemplateTimeSpanConverter.cs)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise ValueError(f"{seconds}s is not a whole number of minutes")


def iso_duration(seconds: int) -> str:
    """An ISO 8601 duration in its largest whole unit: P1D, PT12H, PT90M, PT30S."""
    if seconds % 86400 == 0:
        return f"P{seconds // 86400}D"
    for unit, size in (("H", 3600), ("M", 60), ("S", 1)):
        if seconds % size == 0:
            return f"PT{seconds // size}{unit}"
    raise AssertionError("unreachable")


def arm_literal(value: Any) -> Any:
    """A value as an ARM template holds it literally: a string that starts with `[` and ends with `]`
    is an expression to ARM, and one more `[` in front makes it a literal (template-expressions,
    "Escape characters"). Lists and objects are walked."""
    if isinstance(value, str):
        return "[" + value if value.startswith("[") and value.endswith("]") else value
    if isinstance(value, list):
        return [arm_literal(v) for v in value]
    if isinstance(value, dict):
        return {k: arm_literal(v) for k, v in value.items()}
    return value


class KqlArtifacts:
    """The Sentinel rule (template and ARM form) and, on Defender XDR tables, the custom detection."""

    def rule_artifacts(self, rule: ReleaseRule, query: QueryOutput, bundle: BundleInfo) -> list[Artifact]:
        attack = rule_attack(rule.meta)
        columns = projected_columns(query.text)
        artifacts = self._sentinel(rule, query, attack, columns)
        if query.source in DEFENDER_TABLES:
            artifacts.append(self._defender(rule, query, attack, columns))
        return artifacts

    def bundle_artifacts(
        self, items: Sequence[tuple[ReleaseRule, QueryOutput]], bundle: BundleInfo
    ) -> list[Artifact]:
        return []

    # -- Sentinel ----------------------------------------------------------------------------------

    def _sentinel(
        self, rule: ReleaseRule, query: QueryOutput, attack: RuleAttack, columns: tuple[str, ...] | None
    ) -> list[Artifact]:
        seconds = common.lookback_seconds(rule)
        reason = None
        if not SENTINEL_MIN_SECONDS <= seconds <= SENTINEL_MAX_SECONDS:
            reason = (
                f"the rule's lookback ({rule.meta.get('lookback')}) is outside the 5 minutes to 14 days a "
                "scheduled rule's queryFrequency and queryPeriod can be"
            )
        elif len(query.text) > SENTINEL_MAX_QUERY:
            reason = f"the query has {len(query.text)} characters; a scheduled rule's query holds 10,000"
        if reason is not None:
            return [
                _skipped(
                    rule,
                    query,
                    "sentinel",
                    "Microsoft Sentinel scheduled analytics rule",
                    reason,
                    SENTINEL_DOCS,
                )
            ]
        guid = common.derived_guid(rule, "sentinel")
        name = common.title(rule)[:SENTINEL_MAX_NAME]
        description = common.description(rule, SENTINEL_MAX_DESCRIPTION)
        severity = SENTINEL_SEVERITY[common.severity(rule)]
        tactics = [t.sentinel_name for t in attack.tactics]
        entities = entity_mappings(query.source, columns)
        # Key order and values as the templates of Azure-Sentinel's Detections/ write them; the
        # template form of triggerOperator is `gt` (ScheduledTemplateTriggerOperatorConverter.cs).
        template: dict[str, Any] = {
            "id": guid,
            "name": name,
            "description": description,
            "severity": severity,
            "requiredDataConnectors": required_connectors(query.source),
            "queryFrequency": short_duration(seconds),
            "queryPeriod": short_duration(seconds),
            "triggerOperator": "gt",
            "triggerThreshold": 0,
        }
        if tactics:
            template["tactics"] = tactics
            # Sub-techniques as they are (Azure-Sentinel templates list T1059.001 in relevantTechniques).
            template["relevantTechniques"] = [t.id for t in attack.techniques]
        template["query"] = query.text
        if entities:
            template["entityMappings"] = entities
        # One alert per result row, each with its own entities (AlertRules.json EventGroupingSettings).
        template["eventGroupingSettings"] = {"aggregationKind": "AlertPerResult"}
        # X.Y.Z (QueryBasedTemplateVersionValidator.cs): 1.0.<the rule's locked version>.
        template["version"] = f"1.0.{rule.version}"
        template["kind"] = "Scheduled"

        properties: dict[str, Any] = {
            "displayName": name,
            "description": description,
            "severity": severity,
            "enabled": common.enabled(rule),
            "query": query.text,
            "queryFrequency": iso_duration(seconds),
            "queryPeriod": iso_duration(seconds),
            "triggerOperator": "GreaterThan",
            "triggerThreshold": 0,
            "suppressionDuration": ARM_SUPPRESSION,
            "suppressionEnabled": False,
        }
        if tactics:
            properties["tactics"] = tactics
            properties["techniques"] = sorted({t.parent for t in attack.techniques})
        if entities:
            properties["entityMappings"] = entities
        properties["eventGroupingSettings"] = {"aggregationKind": "AlertPerResult"}
        arm = {
            "$schema": ARM_SCHEMA,
            "contentVersion": f"1.0.{rule.version}.0",
            "parameters": {
                "workspace": {
                    "type": "string",
                    "metadata": {"description": "The Log Analytics workspace Microsoft Sentinel runs on"},
                }
            },
            "resources": [
                {
                    "type": "Microsoft.SecurityInsights/alertRules",
                    "apiVersion": ARM_API_VERSION,
                    "name": guid,
                    "scope": ARM_SCOPE,
                    "kind": "Scheduled",
                    "properties": arm_literal(properties),
                }
            ],
        }
        return [
            Artifact(
                f"sentinel/{rule.stem}.yaml",
                "sentinel-analytics-rule",
                yaml_bytes(template),
                query.target,
                rule.name,
            ),
            Artifact(
                f"sentinel-arm/{rule.stem}.json",
                "sentinel-arm-template",
                json_bytes(arm),
                query.target,
                rule.name,
            ),
        ]

    # -- Defender XDR ------------------------------------------------------------------------------

    def _defender(
        self, rule: ReleaseRule, query: QueryOutput, attack: RuleAttack, columns: tuple[str, ...] | None
    ) -> Artifact:
        label = "Microsoft Defender XDR custom detection"
        required = DEFENDER_TABLES[query.source]
        missing = [c for c in required if columns is not None and c not in columns]
        if missing:
            return _skipped(
                rule,
                query,
                "defender",
                label,
                f"a custom detection's query must return {', '.join(required)}; this query projects no "
                f"{', '.join(missing)} (add them to the rule's siemc.columns as native names, or end the "
                "query without a project)",
                DEFENDER_DOCS,
            )
        seconds = common.lookback_seconds(rule)
        frequency = next((iso for size, iso in DEFENDER_FREQUENCIES if size <= seconds), None)
        if frequency is None:
            return _skipped(
                rule,
                query,
                "defender",
                label,
                f"the rule's lookback ({rule.meta.get('lookback')}) is shorter than the shortest scheduled "
                "frequency (1 hour): runs an hour apart would miss events",
                DEFENDER_DOCS,
            )
        returned = set(columns) if columns is not None else None
        assets: list[dict[str, str]] = []
        if query.source.startswith("Device") and (returned is None or "DeviceId" in returned):
            assets.append(
                {"@odata.type": "#microsoft.graph.security.impactedDeviceAsset", "identifier": "deviceId"}
            )
        for column, identifier in DEFENDER_USER_ASSETS:
            if returned is not None and column in returned:
                assets.append(
                    {"@odata.type": "#microsoft.graph.security.impactedUserAsset", "identifier": identifier}
                )
                break
        template: dict[str, Any] = {
            "title": common.title(rule),
            "description": common.description(rule),
            "severity": DEFENDER_SEVERITY[common.severity(rule)],
            # The alert category: the rule's first tactic in Microsoft's spelling (the API's example
            # category is "Execution"); SuspiciousActivity when it names none.
            "category": attack.tactics[0].sentinel_name if attack.tactics else "SuspiciousActivity",
            "mitreTechniques": [t.id for t in attack.techniques],
            "impactedAssets": assets,
        }
        body = {
            "displayName": common.title(rule),
            "description": common.description(rule),
            "isEnabled": common.enabled(rule),
            "queryCondition": {"queryText": query.text},
            "schedule": {"frequency": frequency},
            "detectionAction": {"alertTemplate": template, "responseActions": []},
        }
        return Artifact(
            f"defender/{rule.stem}.json",
            "defender-custom-detection",
            json_bytes(body),
            query.target,
            rule.name,
        )


def _skipped(
    rule: ReleaseRule, query: QueryOutput, folder: str, label: str, reason: str, docs: str
) -> Artifact:
    """A note in place of an artifact the rule cannot be: which, why, and where the format is defined."""
    kind = {"sentinel": "sentinel-analytics-rule-skipped", "defender": "defender-custom-detection-skipped"}[
        folder
    ]
    note = {
        "rule": rule.name,
        "artifact": label,
        "skipped": reason,
        "table": query.source,
        "documentation": docs,
    }
    return Artifact(f"{folder}/{rule.stem}.skipped.json", kind, json_bytes(note), query.target, rule.name)


WRITER = KqlArtifacts()
