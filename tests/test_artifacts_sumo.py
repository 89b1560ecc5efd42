"""The Sumo Logic scheduled search (backends/artifacts/sumo.py), checked against a JSON Schema written
from Sumo's OpenAPI content models (tests/artifact_schemas/sumo_saved_search.schema.json)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from siemc.backends.artifacts import sumo

from tests.artifact_fixtures import BUNDLE, schema, synthetic, t1219


def _document(items: tuple[object, object]) -> dict[str, object]:
    rule, query = items
    (artifact,) = sumo.WRITER.rule_artifacts(rule, query, BUNDLE)  # type: ignore[arg-type]
    assert artifact.path == f"sumologic/{rule.stem}.json" and artifact.kind == "sumo-scheduled-search"  # type: ignore[attr-defined]
    assert artifact.target == "sumo" and artifact.rule == rule.name  # type: ignore[attr-defined]
    document: dict[str, object] = json.loads(artifact.data)
    jsonschema.validate(document, schema("sumo_saved_search"))
    return document


def test_the_scheduled_search_runs_the_query_as_built_over_the_rules_window() -> None:
    rule, query = t1219("sumo")
    document = _document((rule, query))
    search, schedule = document["search"], document["searchSchedule"]
    assert isinstance(search, dict) and isinstance(schedule, dict)
    # A log search over the Cloud SIEM record index, with a pipeline: no match-rule expression.
    assert search["queryText"] == query.text.rstrip()
    assert '_index=sec_record_endpoint metadata_vendor="Microsoft"' in search["queryText"]
    assert 'metadata_deviceEventId="Microsoft-Windows-Sysmon/Operational-1"' in search["queryText"]
    assert '"Security-4688")\n| where ' in search["queryText"]
    assert search["defaultTimeRange"] == schedule["displayableTimeRange"] == "-24h"
    assert schedule["parseableTimeRange"]["from"]["relativeTime"] == "-24h"
    assert (schedule["scheduleType"], schedule["cronExpression"]) == ("1Day", "0 0 0 * * ? *")
    assert schedule["threshold"] == {"thresholdType": "message", "operator": "gt", "count": 0}
    assert schedule["notification"]["toList"] == []  # the site's recipients
    lines = str(document["description"]).split("\n")
    assert lines[0].startswith("Detects the execution") and "ATT&CK: T1219, command-and-control" in lines
    assert "Severity: medium" in lines and "Reference: https://attack.mitre.org/techniques/T1219/" in lines
    assert "False positive: Developers using VNC or RustDesk for lab access" in lines


@pytest.mark.parametrize(
    ("lookback", "schedule_type", "cron", "start"),
    [
        ("5m", "15Minutes", "0 0/15 * * * ? *", "-15m"),  # widened to the shortest preset: no gap
        ("15m", "15Minutes", "0 0/15 * * * ? *", "-15m"),
        ("45m", "Custom", "0 0/30 * * * ? *", "-45m"),
        ("90m", "1Hour", "0 0 * * * ? *", "-90m"),
        ("3h", "Custom", "0 0 0/3 * * ? *", "-3h"),
        ("12h", "12Hours", "0 0 0/12 * * ? *", "-12h"),
        ("24h", "1Day", "0 0 0 * * ? *", "-24h"),
        ("7d", "1Week", "0 0 0 ? * 1 *", "-7d"),
        ("30d", "1Week", "0 0 0 ? * 1 *", "-30d"),
        (None, "1Hour", "0 0 * * * ? *", "-1h"),
    ],
)
def test_every_window_gets_a_schedule_that_leaves_no_gap(
    lookback: str | None, schedule_type: str, cron: str, start: str
) -> None:
    document = _document(synthetic("sumo", "_index=sec_record_endpoint\n| where x = 1", lookback=lookback))
    schedule = document["searchSchedule"]
    assert isinstance(schedule, dict)
    assert (schedule["scheduleType"], schedule["cronExpression"], schedule["displayableTimeRange"]) == (
        schedule_type,
        cron,
        start,
    )
    fields = cron.split()
    # Quartz: seconds first, a year last, and one of day-of-month / day-of-week left as "?".
    assert len(fields) == 7 and fields[0] == "0" and "?" in (fields[3], fields[5])


def test_a_deprecated_rule_says_so_and_the_file_is_byte_identical() -> None:
    rule, query = synthetic("sumo", "_index=x", status="deprecated")
    document = _document((rule, query))
    assert "Status: deprecated (do not schedule)" in str(document["description"]).split("\n")
    assert sumo.WRITER.rule_artifacts(rule, query, BUNDLE) == sumo.WRITER.rule_artifacts(rule, query, BUNDLE)
    assert sumo.WRITER.bundle_artifacts([(rule, query)], BUNDLE) == []
