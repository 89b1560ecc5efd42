"""`siemc bundle` of detections/ holds the Splunk, QRadar, Sumo Logic, SecOps and LogScale artifacts,
each readable as its format, listed in the manifest and in SHA256SUMS, byte-identical across runs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from ksconf.conf.parser import parse_conf
from typer.testing import CliRunner

from siemc.cli import app
from tests.artifact_fixtures import schema
from tests.conftest import SEED_RULE

EPOCH = "1764460800"
EXPECTED = {
    "splunk/siemc_detections/default/app.conf": ("spl", "splunk-app-conf", None),
    "splunk/siemc_detections/default/savedsearches.conf": ("spl", "splunk-savedsearches", None),
    "splunk/siemc_detections/metadata/default.meta": ("spl", "splunk-default-meta", None),
    "qradar/t1219_remote_access_tools.json": ("aql", "qradar-saved-search", "t1219_remote_access_tools.yml"),
    "sumologic/t1219_remote_access_tools.json": (
        "sumo",
        "sumo-scheduled-search",
        "t1219_remote_access_tools.yml",
    ),
    "secops/rules/remote_access_tool_execution.yaral": (
        "yaral",
        "secops-rule",
        "t1219_remote_access_tools.yml",
    ),
    "secops/rule_config.yaml": ("yaral", "secops-rule-config", None),
    "logscale/scheduled-searches/t1219_remote_access_tools.yaml": (
        "logscale",
        "logscale-scheduled-search",
        "t1219_remote_access_tools.yml",
    ),
}


def _run(*args: str) -> None:
    result = CliRunner().invoke(app, list(args), env={"SOURCE_DATE_EPOCH": EPOCH})
    assert result.exit_code == 0, result.stderr


@pytest.fixture()
def bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """detections/ copied (with its lock), bumped, and bundled as 1.2.0 from the copy's root. The cache
    folder is absolute: the build remembers the folders it made by name, per process."""
    shutil.copytree(SEED_RULE.parent, tmp_path / "detections")
    monkeypatch.chdir(tmp_path)
    cache = str(tmp_path / "cache")
    _run("lock", "detections", "--bump", "--cache-dir", cache)
    _run("bundle", "--version", "1.2.0", "detections", "--out", str(tmp_path / "dist"), "--cache-dir", cache)
    return tmp_path / "dist" / "siemc-1.2.0"


def test_the_bundle_holds_every_artifact_listed_and_checksummed(bundled: Path) -> None:
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=bundled, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    summed = {line.split("  ", 1)[1] for line in (bundled / "SHA256SUMS").read_text().splitlines()}
    assert set(EXPECTED) <= summed
    manifest = json.loads((bundled / "manifest.json").read_text())
    listed = {f["path"]: (f["target"], f["kind"], f["rule"]) for f in manifest["files"]}
    assert {path: listed[path] for path in EXPECTED} == EXPECTED
    (rule,) = manifest["rules"]
    assert {f["path"] for f in rule["files"]} >= {p for p, (_, _, r) in EXPECTED.items() if r}

    def text(path: str) -> str:
        return (bundled / path).read_text(encoding="utf-8")

    def query(target: str, extension: str) -> str:
        return text(f"queries/{target}/t1219_remote_access_tools.{extension}")

    searches = parse_conf(str(bundled / "splunk/siemc_detections/default/savedsearches.conf"))
    assert searches["Remote Access Tool Execution"]["search"] == query("spl", "spl").rstrip()
    assert parse_conf(str(bundled / "splunk/siemc_detections/default/app.conf"))["id"]["version"] == "1.2.0"
    qradar = json.loads(text("qradar/t1219_remote_access_tools.json"))
    jsonschema.validate(qradar, schema("qradar_search"))
    assert qradar["aql"] == query("aql", "aql").strip()
    sumo = json.loads(text("sumologic/t1219_remote_access_tools.json"))
    jsonschema.validate(sumo, schema("sumo_saved_search"))
    assert sumo["search"]["queryText"] == query("sumo", "sumo").rstrip()
    config = yaml.safe_load(text("secops/rule_config.yaml"))
    jsonschema.validate(config, schema("secops_rule_config"))
    assert list(config) == ["remote_access_tool_execution"]
    assert query("yaral", "yaral").endswith(text("secops/rules/remote_access_tool_execution.yaral"))
    logscale = yaml.safe_load(text("logscale/scheduled-searches/t1219_remote_access_tools.yaml"))
    jsonschema.validate(logscale, schema("logscale_scheduledsearch"))
    assert logscale["queryString"] == query("logscale", "logscale").rstrip()


def test_the_bundle_is_byte_identical_across_runs(bundled: Path, tmp_path: Path) -> None:
    _run("bundle", "--version", "1.2.0", "detections", "--out", str(tmp_path / "again"), "--no-cache")
    again = tmp_path / "again" / "siemc-1.2.0"
    files = sorted(p.relative_to(bundled) for p in bundled.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for path in files:
        assert (bundled / path).read_bytes() == (again / path).read_bytes(), path
    for archive in ("siemc-1.2.0.tar.gz", "siemc-1.2.0.zip"):
        assert (bundled.parent / archive).read_bytes() == (again.parent / archive).read_bytes()
