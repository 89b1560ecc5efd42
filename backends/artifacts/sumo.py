"""Sumo Logic: per rule, a scheduled search in Sumo's content JSON, imported into the Library.

    sumologic/<stem>.json

Why a scheduled search and not a Cloud SIEM match rule: siemc's Sumo output is a log search over the
Cloud SIEM record partitions (`_index=sec_record_endpoint | where ... | if(...) as ... | fields ... |
sort ...`). A match rule's `expression` (sumologic_cse_match_rule, SumoLogic/terraform-provider-sumologic
website/docs/r/cse_match_rule.html.markdown) is a single boolean over record fields in the rule
language, with no search pipeline, no derived columns and no projection: the query cannot be used as
one as it is, and rewriting it would be a second translation of the rule, not this output. A scheduled
search runs exactly the text that was built and tested.

The document is a `SavedSearchWithScheduleSyncDefinition`, the content item Sumo's Content Management
API imports (POST /v2/content/folders/{folderId}/import) and the Library's Import dialog takes; the
same JSON the Terraform resource sumologic_content carries (its docs' example). Field names, types and
enums are those of Sumo's OpenAPI models (SavedSearchWithScheduleSyncDefinition,
SavedSearchSyncDefinition, SearchScheduleSyncDefinition, BeginBoundedTimeRange,
RelativeTimeRangeBoundary, NotificationThresholdSyncDefinition, EmailSearchNotificationSyncDefinition,
as generated into craigsands/sumologic-client docs/) and of sumologic_log_search's schedule schema:
scheduleType one of 15Minutes, 1Hour, 2Hours, 4Hours, 6Hours, 8Hours, 12Hours, 1Day, 1Week, Custom
(with a Quartz cron expression, seconds first and a year last: "0 0 * * * ? *"), threshold operator
eq/gt/ge/lt/le with thresholdType message for a non-aggregate search.

A schedule needs a notification. Where it goes is the site's choice (an email list, a webhook
connection id, a Cloud SIEM record type), so the file carries an email notification with an empty
recipient list: add the recipients, or choose another notification, before or after importing.
"""

from __future__ import annotations

from collections.abc import Sequence

from siemc.backends.artifacts.common import summary_lines

from siemc.release.artifacts import Artifact, BundleInfo, QueryOutput, ReleaseRule
from siemc.release.serialize import json_bytes

# A rule without `siemc.lookback` has no time window of its own: its search covers the last hour.
DEFAULT_LOOKBACK = "1h"
TIME_ZONE = "Etc/UTC"  # a full time-zone name, as Sumo's schedule docs recommend

# Schedules Sumo runs exactly: (interval in seconds, scheduleType, Quartz cron). The named types are
# the documented presets; 30 minutes and 3 hours are "Custom" with their cron. 15Minutes is the
# shortest preset (RealTime aside, which is not a window), and the shortest siemc writes.
_SCHEDULES: tuple[tuple[int, str, str], ...] = (
    (900, "15Minutes", "0 0/15 * * * ? *"),
    (1800, "Custom", "0 0/30 * * * ? *"),
    (3600, "1Hour", "0 0 * * * ? *"),
    (7200, "2Hours", "0 0 0/2 * * ? *"),
    (10800, "Custom", "0 0 0/3 * * ? *"),
    (14400, "4Hours", "0 0 0/4 * * ? *"),
    (21600, "6Hours", "0 0 0/6 * * ? *"),
    (28800, "8Hours", "0 0 0/8 * * ? *"),
    (43200, "12Hours", "0 0 0/12 * * ? *"),
    (86400, "1Day", "0 0 0 * * ? *"),
    (604800, "1Week", "0 0 0 ? * 1 *"),
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def schedule_for(lookback: str) -> tuple[str, str, str]:
    """(scheduleType, cronExpression, relative start of the window) for a search over `lookback`.

    The run interval is the longest exact one no longer than the window, so runs leave no gap; a
    window under 15 minutes is widened to 15, the shortest preset, for the same reason (the window is
    this file's alone: Sumo's query text holds no time range)."""
    seconds = int(lookback[:-1]) * _UNIT_SECONDS[lookback[-1]]
    fitting = [entry for entry in _SCHEDULES if entry[0] <= seconds]
    if not fitting:
        _, schedule_type, cron = _SCHEDULES[0]
        return schedule_type, cron, "-15m"
    _, schedule_type, cron = fitting[-1]
    return schedule_type, cron, f"-{lookback}"


def description(rule: ReleaseRule) -> str:
    return "\n".join(summary_lines(rule, with_status=True))


def scheduled_search(rule: ReleaseRule, query: QueryOutput) -> dict[str, object]:
    lookback = rule.meta.get("lookback") or DEFAULT_LOOKBACK
    schedule_type, cron, start = schedule_for(lookback)
    return {
        "type": "SavedSearchWithScheduleSyncDefinition",
        "name": rule.meta.get("title") or rule.stem,
        "description": description(rule),
        "search": {
            "queryText": query.text.rstrip(),
            "defaultTimeRange": start,
            "byReceiptTime": False,  # by message time: the window is when the events happened
            "queryParameters": [],
            "parsingMode": "Manual",
        },
        "searchSchedule": {
            "cronExpression": cron,
            "displayableTimeRange": start,
            "parseableTimeRange": {
                "type": "BeginBoundedTimeRange",
                "from": {"type": "RelativeTimeRangeBoundary", "relativeTime": start},
                "to": None,  # up to now
            },
            "timeZone": TIME_ZONE,
            # Notify when the search returns any message.
            "threshold": {"thresholdType": "message", "operator": "gt", "count": 0},
            "notification": {
                "taskType": "EmailSearchNotificationSyncDefinition",
                "toList": [],  # the site's recipients: fill in (see the module's docstring)
                "subjectTemplate": "Search Alert: {{AlertCondition}} results found for {{SearchName}}",
                "includeQuery": True,
                "includeResultSet": True,
                "includeHistogram": False,
                "includeCsvAttachment": False,
            },
            "scheduleType": schedule_type,
            "muteErrorEmails": False,
            "parameters": [],
        },
    }


class SumoWriter:
    def rule_artifacts(self, rule: ReleaseRule, query: QueryOutput, bundle: BundleInfo) -> list[Artifact]:
        data = json_bytes(scheduled_search(rule, query))
        return [Artifact(f"sumologic/{rule.stem}.json", "sumo-scheduled-search", data, "sumo", rule.name)]

    def bundle_artifacts(
        self, items: Sequence[tuple[ReleaseRule, QueryOutput]], bundle: BundleInfo
    ) -> list[Artifact]:
        return []


WRITER = SumoWriter()
