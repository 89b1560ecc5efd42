"""The Google SecOps rule files and rule config (backends/artifacts/yaral.py), in the layout of Google's
Content Manager: each file named after its rule, the config checked against a JSON Schema of the Content
Manager's rules (tests/artifact_schemas/secops_rule_config.schema.json)."""

from __future__ import annotations

import re

import jsonschema
import pytest
import yaml
from siemc.backends.artifacts import yaral

from siemc.diagnostics import SiemcError
from siemc.release.artifacts import Artifact
from tests.artifact_fixtures import BUNDLE, schema, synthetic, t1219

# How the Content Manager names a rule: the first `rule <name>` anywhere in the file's text.
FIRST_RULE_WORD = re.compile(r"rule(\s+)([A-Za-z0-9_]+)[\r\n\s]*")

RULE = """// Suspicious rule change
// Run over the last 1h (rule run frequency / retrohunt range).
rule suspicious_rule_change {
  meta:
    title = "Suspicious rule change"
    severity = "High"

  events:
    $e.metadata.event_type = "USER_RESOURCE_UPDATE_CONTENT"

  condition:
    $e
}
"""


def _files(items: list[tuple[object, object]]) -> dict[str, Artifact]:
    artifacts: list[Artifact] = []
    for rule, query in items:
        artifacts += yaral.WRITER.rule_artifacts(rule, query, BUNDLE)  # type: ignore[arg-type]
    artifacts += yaral.WRITER.bundle_artifacts(items, BUNDLE)  # type: ignore[arg-type]
    assert all(a.target == "yaral" for a in artifacts)
    return {a.path: a for a in artifacts}


def test_each_rule_file_is_named_as_the_content_manager_names_it() -> None:
    (t1219_rule, t1219_query), other = t1219("yaral"), synthetic("yaral", RULE, status="deprecated")
    files = _files([(t1219_rule, t1219_query), other])
    assert sorted(files) == [
        "secops/rule_config.yaml",
        "secops/rules/remote_access_tool_execution.yaral",
        "secops/rules/suspicious_rule_change.yaral",
    ]
    for path, artifact in files.items():
        if path.endswith(".yaral"):
            text = artifact.data.decode("utf-8")
            match = FIRST_RULE_WORD.search(text)
            assert match is not None and path == f"secops/rules/{match.group(2)}.yaral"
            assert text.startswith("rule ") and text.endswith("}\n") and artifact.kind == "secops-rule"
    # Left as built, the header's "rule run frequency" would have named the rule "run".
    header_match = FIRST_RULE_WORD.search(t1219_query.text)
    assert header_match is not None and header_match.group(2) == "run"
    # The rule is the query from its `rule` line on; only the comment header is left out.
    kept = files["secops/rules/remote_access_tool_execution.yaral"].data.decode("utf-8")
    header, _, rest = t1219_query.text.partition("rule remote_access_tool_execution {")
    assert kept == "rule remote_access_tool_execution {" + rest
    assert all(line.startswith("//") for line in header.strip().split("\n"))
    assert 'mitre_attack_technique = "T1219"' in kept and 'severity = "Medium"' in kept

    config_artifact = files["secops/rule_config.yaml"]
    assert config_artifact.rule is None and config_artifact.kind == "secops-rule-config"
    config = yaml.safe_load(config_artifact.data)
    jsonschema.validate(config, schema("secops_rule_config"))
    live = {"archived": False, "run_frequency": "LIVE"}
    assert config == {
        "remote_access_tool_execution": {"enabled": True, "alerting": True, **live},
        # A deprecated Sigma rule is loaded but neither runs nor alerts.
        "suspicious_rule_change": {"enabled": False, "alerting": False, **live},
    }
    assert list(config) == sorted(config)


def test_what_the_content_manager_would_refuse_is_refused() -> None:
    with pytest.raises(SiemcError, match="both the SecOps rule 'suspicious_rule_change'"):
        _files([synthetic("yaral", RULE, stem="a"), synthetic("yaral", RULE, stem="b")])
    with pytest.raises(SiemcError, match=r"does not start with a `rule <name> \{` line"):
        _files([synthetic("yaral", "// only a comment\nnot a rule\n")])
    assert yaral.WRITER.bundle_artifacts([], BUNDLE) == []


def test_the_files_are_byte_identical_across_runs() -> None:
    items = [t1219("yaral"), synthetic("yaral", RULE)]
    assert _files(items) == _files(list(reversed(items)))
