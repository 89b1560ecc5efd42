"""The QRadar search file (backends/artifacts/aql.py): siemc's JSON, checked against its JSON Schema
(tests/artifact_schemas/qradar_search.schema.json), whose first keys are QRadar's own."""

from __future__ import annotations

import json

import jsonschema
from siemc.backends.artifacts import aql

from tests.artifact_fixtures import BUNDLE, schema, synthetic, t1219

# The fields of QRadar's Ariel saved-search object (QRadar API 20.0, GET /ariel/saved_searches/{id}).
ARIEL_SAVED_SEARCH = {
    "aql", "creation_date", "database", "description", "id", "is_aggregate", "is_dashboard",
    "is_default", "is_quick_search", "is_shared", "modified_date", "name", "owner", "uid",
}  # fmt: skip


def _document(items: tuple[object, object]) -> dict[str, object]:
    rule, query = items
    (artifact,) = aql.WRITER.rule_artifacts(rule, query, BUNDLE)  # type: ignore[arg-type]
    assert artifact.path == f"qradar/{rule.stem}.json" and artifact.kind == "qradar-saved-search"  # type: ignore[attr-defined]
    assert artifact.target == "aql" and artifact.rule == rule.name  # type: ignore[attr-defined]
    document: dict[str, object] = json.loads(artifact.data)
    jsonschema.validate(document, schema("qradar_search"), format_checker=jsonschema.FormatChecker())
    return document


def test_the_search_file_holds_the_aql_as_built_with_its_metadata() -> None:
    rule, query = t1219("aql")
    document = _document((rule, query))
    assert document["aql"] == query.text.strip()
    assert document["name"] == "Remote Access Tool Execution" and document["database"] == "EVENTS"
    assert {"name", "description", "database", "aql"} <= ARIEL_SAVED_SEARCH
    assert document["time_range"] == {"lookback": "24h", "in_aql": True}
    assert str(document["aql"]).endswith("\nLAST 24 HOURS")
    meta = document["siemc"]
    assert isinstance(meta, dict)
    assert meta["attack"] == {"techniques": ["T1219"], "tactics": ["command-and-control"]}
    assert meta["severity"] == "medium" and meta["version"] == 1 and meta["source"] == query.source
    assert (
        len(meta["falsepositives"]) == 4
        and meta["references"][0] == "https://attack.mitre.org/techniques/T1219/"
    )


def test_a_rule_without_lookback_says_its_aql_has_no_time_frame() -> None:
    document = _document(synthetic("aql", "SELECT * FROM events WHERE x = 1\n", lookback=None))
    assert document["time_range"] == {"lookback": None, "in_aql": False}
    assert document["description"] == "Line one of the description. Line two."


def test_the_file_is_byte_identical_across_runs() -> None:
    rule, query = t1219("aql")
    assert aql.WRITER.rule_artifacts(rule, query, BUNDLE) == aql.WRITER.rule_artifacts(rule, query, BUNDLE)
    assert aql.WRITER.bundle_artifacts([(rule, query)], BUNDLE) == []
