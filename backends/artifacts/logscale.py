"""Falcon LogScale: per rule, a scheduled search in LogScale's YAML template format.

    logscale/scheduled-searches/<stem>.yaml

The template format is the one LogScale exports and imports (the UI's import from a template or a
package, and the GraphQL query generateScheduledSearchFromTemplate(yamlTemplate)), with
`$schema: https://schemas.humio.com/scheduledsearch/v0.1.0` as in CrowdStrike's published packages
(CrowdStrike/logscale-community-content, e.g. Log-Sources/CrowdStrike/FLTR/crowdstrike-fltrcore/src/
scheduled-searches/fltr-aidmaster-generation.yaml) and in the same folder layout. Its fields are those
of LogScale's scheduled search (GraphQL UnsavedScheduledSearch / CreateScheduledSearch): name,
description, enabled, queryString, queryStart and queryEnd (the relative window, "24h" to "now"),
schedule (cron), timeZone (LogScale takes UTC offsets only: "UTC", "UTC-01", "UTC+12:45"),
backfillLimit, actionNameReferences and labels.

A scheduled search rather than an alert: it runs the query over exactly the rule's window on a
schedule, as the other SIEMs here do; an alert (alert/v0.3.0) runs live with a throttle instead.
Actions (email, webhook, Falcon Fusion) are the site's: the list is empty, name yours after import.
"""

from __future__ import annotations

from collections.abc import Sequence

from siemc.backends.artifacts.common import enabled, summary_lines

from siemc.release.artifacts import Artifact, BundleInfo, QueryOutput, ReleaseRule
from siemc.release.serialize import yaml_bytes

SCHEMA = "https://schemas.humio.com/scheduledsearch/v0.1.0"
# A rule without `siemc.lookback` has no window of its own: its search covers the last hour.
DEFAULT_LOOKBACK = "1h"
# Missed runs (after an outage) LogScale runs again, at most this many: with runs that tile time,
# a missed run is otherwise a gap.
BACKFILL_LIMIT = 3

# Run intervals a five-field cron keeps exactly, with their cron strings.
_SCHEDULES: tuple[tuple[int, str], ...] = (
    *((m * 60, "* * * * *" if m == 1 else f"*/{m} * * * *") for m in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)),
    *((h * 3600, "0 * * * *" if h == 1 else f"0 */{h} * * *") for h in (1, 2, 3, 4, 6, 8, 12)),
    (86400, "0 0 * * *"),
    (604800, "0 0 * * 0"),
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def schedule_for(lookback: str) -> tuple[str, str]:
    """(cron, queryStart) for a search over `lookback`: the longest exact interval no longer than the
    window, so runs leave no gap; a window under a minute is widened to one, the shortest cron
    interval (the window is this file's alone: the query text holds no time range)."""
    seconds = int(lookback[:-1]) * _UNIT_SECONDS[lookback[-1]]
    fitting = [cron for interval, cron in _SCHEDULES if interval <= seconds]
    if not fitting:
        return _SCHEDULES[0][1], "1m"
    return fitting[-1], lookback


def description(rule: ReleaseRule) -> str:
    return "\n".join(summary_lines(rule))


def labels(rule: ReleaseRule) -> list[str]:
    meta = rule.meta
    severity = meta.get("severity") or meta.get("level")
    found = ["siemc", *([f"severity:{severity}"] if severity else []), *meta.get("techniques", [])]
    return found + [f"tactic:{tactic}" for tactic in meta.get("tactics", [])]


def scheduled_search(rule: ReleaseRule, query: QueryOutput) -> dict[str, object]:
    cron, start = schedule_for(rule.meta.get("lookback") or DEFAULT_LOOKBACK)
    return {
        "$schema": SCHEMA,
        "name": rule.meta.get("title") or rule.stem,
        "description": description(rule),
        "enabled": enabled(rule),
        "queryString": query.text.rstrip(),
        "queryStart": start,
        "queryEnd": "now",
        "schedule": cron,
        "timeZone": "UTC",
        "backfillLimit": BACKFILL_LIMIT,
        "actionNameReferences": [],
        "labels": labels(rule),
    }


class LogScaleWriter:
    def rule_artifacts(self, rule: ReleaseRule, query: QueryOutput, bundle: BundleInfo) -> list[Artifact]:
        data = yaml_bytes(scheduled_search(rule, query))
        path = f"logscale/scheduled-searches/{rule.stem}.yaml"
        return [Artifact(path, "logscale-scheduled-search", data, "logscale", rule.name)]

    def bundle_artifacts(
        self, items: Sequence[tuple[ReleaseRule, QueryOutput]], bundle: BundleInfo
    ) -> list[Artifact]:
        return []


WRITER = LogScaleWriter()
