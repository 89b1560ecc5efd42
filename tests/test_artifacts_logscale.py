"""The LogScale scheduled search (backends/artifacts/logscale.py): YAML parsed back and checked against
a JSON Schema of LogScale's scheduledsearch/v0.1.0 template (tests/artifact_schemas/)."""

from __future__ import annotations

import jsonschema
import pytest
import yaml
from siemc.backends.artifacts import logscale

from tests.artifact_fixtures import BUNDLE, schema, synthetic, t1219


def _document(items: tuple[object, object]) -> dict[str, object]:
    rule, query = items
    (artifact,) = logscale.WRITER.rule_artifacts(rule, query, BUNDLE)  # type: ignore[arg-type]
    assert artifact.path == f"logscale/scheduled-searches/{rule.stem}.yaml"  # type: ignore[attr-defined]
    assert artifact.kind == "logscale-scheduled-search" and artifact.rule == rule.name  # type: ignore[attr-defined]
    document: dict[str, object] = yaml.safe_load(artifact.data)
    jsonschema.validate(document, schema("logscale_scheduledsearch"))
    return document


def test_the_scheduled_search_runs_the_query_as_built_over_the_rules_window() -> None:
    rule, query = t1219("logscale")
    document = _document((rule, query))
    assert document["queryString"] == query.text.rstrip()  # a YAML literal block reads back exactly
    assert (document["queryStart"], document["queryEnd"], document["schedule"]) == ("24h", "now", "0 0 * * *")
    assert document["name"] == "Remote Access Tool Execution" and document["enabled"] is True
    assert document["timeZone"] == "UTC" and document["actionNameReferences"] == []
    assert document["labels"] == ["siemc", "severity:medium", "T1219", "tactic:command-and-control"]
    lines = str(document["description"]).split("\n")
    assert "ATT&CK: T1219, command-and-control" in lines and "Author: siemc" in lines
    assert "False positive: Helpdesk staff using approved RMM tools during business hours" in lines


AWKWARD = '// a "quoted" comment: with colon\n#event_simpleName=ProcessRollup2 \n| CommandLine=/\\\\x: #y/i\n'


@pytest.mark.parametrize(
    ("lookback", "cron", "start"),
    [("30s", "* * * * *", "1m"), ("5m", "*/5 * * * *", "5m"), ("90m", "0 * * * *", "90m"),
     ("24h", "0 0 * * *", "24h"), ("7d", "0 0 * * 0", "7d"), (None, "0 * * * *", "1h")],
)  # fmt: skip
def test_every_window_gets_a_schedule_that_leaves_no_gap(lookback: str | None, cron: str, start: str) -> None:
    rule, query = synthetic("logscale", AWKWARD, lookback=lookback, status="unsupported")
    document = _document((rule, query))
    assert (document["schedule"], document["queryStart"]) == (cron, start)
    # A line with trailing blanks cannot be a literal block: the string is quoted and still reads back.
    assert document["queryString"] == AWKWARD.rstrip() and document["enabled"] is False


def test_the_file_is_byte_identical_across_runs() -> None:
    rule, query = t1219("logscale")
    first = logscale.WRITER.rule_artifacts(rule, query, BUNDLE)
    assert first == logscale.WRITER.rule_artifacts(rule, query, BUNDLE)
    assert first[0].data.startswith(b"$schema: https://schemas.humio.com/scheduledsearch/v0.1.0\nname: ")
    assert b"queryString: |-\n  // Remote Access Tool Execution\n" in first[0].data
    assert logscale.WRITER.bundle_artifacts([(rule, query)], BUNDLE) == []
