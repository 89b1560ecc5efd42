"""`siemc report`: the ATT&CK Navigator layer (checked against a schema of the layer format) and the
static page, opened from disk in headless Chromium (Debian's package, driven by Playwright).

The browser tests need `chromium` on the PATH (`make setup` installs it as root); without it they
skip, except under CI, where they fail. The corpus load-time test runs when ../shared/sigmahq is
present. `SIEMC_REPORT_SCREENSHOT=docs/report.png .venv/bin/python -m pytest tests/test_report.py -k
highlighted` retakes the README's picture of the page (1280x800).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from siemc.backends import TARGET_NAMES
from typer.testing import CliRunner

from siemc.cli import app
from siemc.compile.build import BuildResult, Outcome
from siemc.review import report as report_module
from siemc.review.report import (
    TESTS_FAIL,
    TESTS_PASS,
    RuleTests,
    TargetTests,
    attack_layer,
    read_page_data,
)
from tests.conftest import REPO, SEED_RULE

CORPUS = REPO.parent / "shared" / "sigmahq" / "rules"
GOLDEN_RULES = REPO / "tests" / "golden" / "rules"
LOAD_BUDGET_S = 2.0

# -- a schema of the Navigator's layer format -------------------------------------------------------------
# Written from the layer format's documentation, version 4.5 (mitre-attack/attack-navigator,
# layers/spec/v4.5/layerformat.md): every property its tables list, with their types, the values
# they allow and which are required. The documentation lists all properties, so others are errors.

_METADATA = {
    "type": "object",
    "required": ["name", "value"],
    "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
    "additionalProperties": False,
}
_LINK = {
    "type": "object",
    "required": ["label", "url"],
    "properties": {
        "label": {"type": "string"},
        "url": {"type": "string", "pattern": "^[a-zA-Z][a-zA-Z0-9+.-]*://"},
    },
    "additionalProperties": False,
}
_DIVIDER = {
    "type": "object",
    "required": ["divider"],
    "properties": {"divider": {"type": "boolean"}},
    "additionalProperties": False,
}
_ENTERPRISE_PLATFORMS = [
    "PRE", "Windows", "Linux", "macOS", "Network", "AWS", "GCP", "Azure", "Azure AD", "Office 365", "SaaS",
]  # fmt: skip
LAYER_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ATT&CK Navigator layer, format 4.5",
    "type": "object",
    "required": ["name", "domain"],
    "additionalProperties": False,
    "properties": {
        "versions": {
            "type": "object",
            "required": ["navigator", "layer"],
            "additionalProperties": False,
            "properties": {
                "attack": {"type": "string"},
                # "Must be at least 4.9.0"
                "navigator": {
                    "type": "string",
                    "pattern": r"^(4\.(9|[1-9][0-9])|[5-9]|[1-9][0-9]+)(\.[0-9]+)*$",
                },
                "layer": {"const": "4.5"},
            },
        },
        "name": {"type": "string"},
        "description": {"type": "string"},
        "domain": {"enum": ["enterprise-attack", "mobile-attack", "ics-attack"]},
        "customDataURL": {"type": "string"},
        "filters": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"platforms": {"type": "array", "items": {"type": "string"}}},
        },
        "sorting": {"enum": [0, 1, 2, 3]},
        "layout": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "layout": {"enum": ["side", "flat", "mini"]},
                "showID": {"type": "boolean"},
                "showName": {"type": "boolean"},
                "showAggregateScores": {"type": "boolean"},
                "countUnscored": {"type": "boolean"},
                "aggregateFunction": {"enum": ["average", "min", "max", "sum"]},
                "expandedSubtechniques": {"enum": ["none", "all", "annotated"]},
            },
        },
        "hideDisabled": {"type": "boolean"},
        "techniques": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["techniqueID"],
                "additionalProperties": False,
                "properties": {
                    # "T####", a sub-technique "T####.###"
                    "techniqueID": {"type": "string", "pattern": r"^T[0-9]{4}(\.[0-9]{3})?$"},
                    "tactic": {"type": "string", "pattern": "^[a-z]+(-[a-z]+)*$"},
                    "comment": {"type": "string"},
                    "enabled": {"type": "boolean"},
                    "score": {"type": "number"},
                    "color": {"type": "string"},
                    "metadata": {"type": "array", "items": {"anyOf": [_METADATA, _DIVIDER]}},
                    "links": {"type": "array", "items": {"anyOf": [_LINK, _DIVIDER]}},
                    "showSubtechniques": {"type": "boolean"},
                },
            },
        },
        "gradient": {
            "type": "object",
            "required": ["colors", "minValue", "maxValue"],
            "additionalProperties": False,
            "properties": {
                "colors": {
                    "type": "array",
                    "minItems": 2,
                    "items": {"type": "string", "pattern": "^#([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"},
                },
                "minValue": {"type": "number"},
                "maxValue": {"type": "number"},
            },
        },
        "legendItems": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["label", "color"],
                "additionalProperties": False,
                "properties": {"label": {"type": "string"}, "color": {"type": "string"}},
            },
        },
        "showTacticRowBackground": {"type": "boolean"},
        "tacticRowBackground": {"type": "string"},
        "selectTechniquesAcrossTactics": {"type": "boolean"},
        "selectSubtechniquesWithParent": {"type": "boolean"},
        "selectVisibleTechniques": {"type": "boolean"},
        "metadata": {"type": "array", "items": {"anyOf": [_METADATA, _DIVIDER]}},
        "links": {"type": "array", "items": {"anyOf": [_LINK, _DIVIDER]}},
    },
}


def validate_layer(layer: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(LAYER_SCHEMA)
    jsonschema.Draft202012Validator(LAYER_SCHEMA).validate(layer)
    # What the schema cannot say: "maxValue must be > minValue"; the platforms allowed per domain.
    gradient = layer.get("gradient")
    if gradient is not None:
        assert gradient["maxValue"] > gradient["minValue"]
    if layer["domain"] == "enterprise-attack":
        assert set(layer.get("filters", {}).get("platforms", [])) <= set(_ENTERPRISE_PLATFORMS)


def test_the_schema_accepts_a_documented_layer_and_rejects_broken_ones() -> None:
    layer = {
        "name": "example",
        "versions": {"attack": "19", "navigator": "5.1.0", "layer": "4.5"},
        "domain": "enterprise-attack",
        "filters": {"platforms": ["Windows", "macOS"]},
        "sorting": 2,
        "layout": {"layout": "side", "aggregateFunction": "average", "expandedSubtechniques": "annotated"},
        "techniques": [
            {
                "techniqueID": "T1110",
                "score": 0,
                "color": "#fd8d3c",
                "comment": "c",
                "showSubtechniques": True,
            },
            {
                "techniqueID": "T1110.001",
                "score": 100,
                "links": [{"label": "x", "url": "https://example.org"}],
            },
            {"techniqueID": "T1134", "tactic": "defense-evasion", "enabled": False},
            {"techniqueID": "T1053", "metadata": [{"name": "a", "value": "b"}, {"divider": True}]},
        ],
        "gradient": {"colors": ["#ff6666", "#8ec843ff"], "minValue": 0, "maxValue": 100},
        "legendItems": [{"label": "l", "color": "#FF00FF"}],
    }
    validate_layer(layer)
    broken = [
        {k: v for k, v in layer.items() if k != "name"},
        {**layer, "versions": {"navigator": "5.1.0", "layer": "4.4"}},
        {**layer, "versions": {"navigator": "4.8.2", "layer": "4.5"}},
        {**layer, "domain": "mitre-enterprise"},
        {**layer, "techniques": [{"techniqueID": "t1110"}]},
        {**layer, "techniques": [{"techniqueID": "T1110", "score": "high"}]},
        {**layer, "techniques": [{"techniqueID": "T1110", "technique": "T1110"}]},
        {**layer, "gradient": {"colors": ["#ff6666"], "minValue": 0, "maxValue": 1}},
        {**layer, "sorting": 4},
    ]
    for document in broken:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft202012Validator(LAYER_SCHEMA).validate(document)


# -- the layer, from a build result ---------------------------------------------------------------------


def _result(rows: dict[str, dict[str, str]], metadata: dict[str, dict[str, Any]]) -> BuildResult:
    result = BuildResult(targets=tuple(TARGET_NAMES))
    for rule, statuses in rows.items():
        for target in TARGET_NAMES:
            result.outcomes.append(Outcome(Path(rule), target, statuses.get(target, "converted")))
    result.metadata = {Path(rule): meta for rule, meta in metadata.items()}
    return result


def test_the_layer_scores_each_technique_by_the_targets_that_cover_it() -> None:
    result = _result(
        {
            "a.yml": {"kql": "unsupported", "aql": "failed"},
            "b.yml": {"kql": "unsupported", "spl": "skipped"},
            "c.yml": {t: "unsupported" for t in TARGET_NAMES},
        },
        {
            "a.yml": {"title": "Rule A", "techniques": ["T1059.001", "T1218"]},
            "b.yml": {"title": "Rule B", "techniques": ["T1059.001", "T1059"]},
            "c.yml": {"title": "Rule C", "techniques": ["T1190"]},
        },
    )
    layer = attack_layer(result)
    validate_layer(layer)
    scores = {t["techniqueID"]: t["score"] for t in layer["techniques"]}
    # T1059.001: a covers all but kql, aql; b covers aql: six targets. Sub-techniques stay as tagged.
    assert scores == {"T1059": 5, "T1059.001": 6, "T1190": 0, "T1218": 5}
    comments = {t["techniqueID"]: t["comment"] for t in layer["techniques"]}
    assert comments["T1059.001"] == "Rule A\nRule B" and comments["T1190"] == "Rule C"
    assert [t["techniqueID"] for t in layer["techniques"]] == ["T1059", "T1059.001", "T1190", "T1218"]
    assert layer["versions"] == {"attack": "19", "navigator": "5.3.2", "layer": "4.5"}
    assert layer["gradient"]["maxValue"] == len(TARGET_NAMES)

    # Where tests ran, a target covers the rule only when its tests pass there.
    tests = {
        Path("b.yml"): RuleTests(
            3,
            (),
            {
                "aql": TargetTests(2, 3, TESTS_FAIL, ("x: FAIL",)),
                "eql": TargetTests(3, 3, TESTS_PASS),
            },
        )
    }
    scores = {t["techniqueID"]: t["score"] for t in attack_layer(result, tests)["techniques"]}
    assert scores["T1059"] == 4 and scores["T1059.001"] == 5


# -- the command -----------------------------------------------------------------------------------------

ONLY_TWO = """\
title: Whoami on two SIEMs only
id: 22222222-0000-4000-8000-000000000001
status: test
description: A rule built for KQL and EQL only, tagged with a sub-technique.
logsource: {category: process_creation, product: windows}
detection:
  selection:
    Image|endswith: '\\whoami.exe'
  condition: selection
level: high
tags: [attack.discovery, attack.t1033, attack.execution, attack.t1059.001]
siemc:
  targets: [kql, eql]
"""
BROKEN = """\
title: Broken rule
id: 22222222-0000-4000-8000-000000000002
logsource: {category: process_creation, product: windows}
detection:
  selection:
    Image|nosuchmodifier: x
  condition: selection
level: low
"""


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A report of a few rules (every state: converted, tested, unsupported, failed, skipped) with
    `--tests`, and the `siemc build --report` JSON of the same rules."""
    root = tmp_path_factory.mktemp("report")
    rules = root / "rules"
    rules.mkdir()
    shutil.copy(SEED_RULE, rules)
    for name in ("file_access.yml", "file_rename.yml", "escaping.yml", "modifiers.yml"):
        shutil.copy(GOLDEN_RULES / name, rules)
    (rules / "only_two.yml").write_text(ONLY_TWO)
    (rules / "broken.yml").write_text(BROKEN)
    previous = Path.cwd()
    os.chdir(root)  # queries and reports name each rule by the relative path given
    try:
        code, stdout, stderr = _invoke(
            "report", "rules", "--out", "out", "--tests", "--cache-dir", "cache", "--jobs", "2"
        )
        build_code, _, _ = _invoke(
            "build", "rules", "--out", "build", "--report", "build.json", "--unsupported", "ignore",
            "--cache-dir", "cache",
        )  # fmt: skip
    finally:
        os.chdir(previous)
    yield {
        "root": root,
        "out": root / "out",
        "code": code,
        "stdout": stdout,
        "stderr": stderr,
        "build_code": build_code,
        "build_report": json.loads((root / "build.json").read_text()),
    }


def test_report_writes_the_page_the_layer_and_the_queries(small: dict[str, Any]) -> None:
    out: Path = small["out"]
    # The broken rule fails on every target: exit 1, as `siemc build`, after writing the report.
    assert small["code"] == 1 and small["build_code"] == 1
    assert "rules/broken.yml" in small["stderr"] and "nosuchmodifier" in small["stderr"]
    assert small["stdout"].split() == [
        str(Path("out") / "index.html"),
        str(Path("out") / "navigator-layer.json"),
    ]
    assert "3 rule(s) with tests, 0 failing test(s)" in small["stderr"]
    for name in ("index.html", "navigator-layer.json", "report.json"):
        assert (out / name).stat().st_mode & 0o777 == 0o644
    assert (out / "queries" / "kql" / "t1219_remote_access_tools.kql").is_file()

    layer = json.loads((out / "navigator-layer.json").read_text())
    validate_layer(layer)
    techniques = {t["techniqueID"]: t for t in layer["techniques"]}
    assert set(techniques) == {"T1219", "T1033", "T1059.001"}
    assert (
        techniques["T1219"]["score"] == 7 and techniques["T1219"]["comment"] == "Remote Access Tool Execution"
    )
    assert techniques["T1059.001"]["score"] == 2  # built for kql and eql only
    assert {"name": "targets", "value": "kql, eql"} in techniques["T1059.001"]["metadata"]

    # The page's data holds the build's outcomes, row for row, and each converted query's exact text.
    data = read_page_data(out / "index.html")
    rows = {(row["rule"], row["target"]): row for row in small["build_report"]["rules"]}
    names = [t["name"] for t in data["targets"]]
    assert names == list(TARGET_NAMES)
    assert len(data["rules"]) == 7
    for rule in data["rules"]:
        for name, (status, message, query, _) in zip(names, rule["cells"], strict=True):
            row = rows[(rule["file"], name)]
            assert status == row["status"] and message == row["message"]
            if status == "converted":
                assert query == (small["root"] / row["output"]).read_text(encoding="utf-8")
            else:
                assert query is None
    t1219 = next(r for r in data["rules"] if r["file"].endswith("t1219_remote_access_tools.yml"))
    assert t1219["tests"] == 45 and all(cell[3]["state"] == "pass" for cell in t1219["cells"])
    assert t1219["techniques"] == ["T1219"] and t1219["level"] == "medium"

    # No file beside it is needed and nothing is fetched: no src, href, url() or import in the page.
    page = (out / "index.html").read_text(encoding="utf-8")
    assert not re.search(
        r"\b(src|href)\s*=|url\(|@import|https?://", page.split('<script id="siemc-data"')[0]
    )
    script = page.split("</script>")[-2]
    assert not re.search(r"https?://|fetch\(|XMLHttpRequest|import\(", script)


def test_report_is_deterministic_and_uses_the_cache(small: dict[str, Any]) -> None:
    root: Path = small["root"]
    before = (small["out"] / "index.html").read_bytes(), (small["out"] / "navigator-layer.json").read_bytes()
    previous = Path.cwd()
    os.chdir(root)
    try:
        code, _, stderr = _invoke("report", "rules", "--out", "out", "--tests", "--cache-dir", "cache")
    finally:
        os.chdir(previous)
    assert code == 1, stderr
    after = (small["out"] / "index.html").read_bytes(), (small["out"] / "navigator-layer.json").read_bytes()
    assert before == after


def test_report_usage_errors(tmp_path: Path) -> None:
    code, _, stderr = _invoke("report", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert code == 2 and "no such file or folder" in stderr
    code, _, stderr = _invoke("report", str(SEED_RULE), "--out", str(tmp_path / "o"), "--target", "nope")
    assert code == 2 and "unknown target 'nope'" in stderr
    code, _, stderr = _invoke("report", str(SEED_RULE))
    assert code == 2 and "--out" in stderr


def test_report_without_tests_scores_converted_outputs(tmp_path: Path) -> None:
    code, _, stderr = _invoke(
        "report", str(SEED_RULE), "--out", str(tmp_path / "o"), "--target", "kql", "--target", "spl",
        "--cache-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert code == 0, stderr
    layer = json.loads((tmp_path / "o" / "navigator-layer.json").read_text())
    validate_layer(layer)
    assert [(t["techniqueID"], t["score"]) for t in layer["techniques"]] == [("T1219", 2)]
    assert layer["gradient"]["maxValue"] == 2
    data = read_page_data(tmp_path / "o" / "index.html")
    assert [t["name"] for t in data["targets"]] == ["kql", "spl"] and not data["testsRan"]
    assert all(cell[3] is None for cell in data["rules"][0]["cells"])


def test_the_page_data_cannot_close_its_script_element() -> None:
    data = {"rules": [{"title": "</script><script>alert(1)</script> <!--", "cells": []}], "targets": []}
    page = report_module.render_page(data)
    assert page.count("</script>") == 2  # the data's and the page script's own
    match = re.search(r'<script id="siemc-data"[^>]*>([^<]*)</script>', page)
    assert match is not None and report_module.decode_data(match.group(1)) == data


# -- in a real browser -------------------------------------------------------------------------------------


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "Debian's chromium is not installed (make setup installs it as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("request", lambda request: requests.append(request.url))
    page.siemc_errors = errors  # type: ignore[attr-defined]
    page.siemc_requests = requests  # type: ignore[attr-defined]
    yield page
    context.close()


def _open(page: Any, path: Path) -> float:
    """Open a report from disk; the seconds until its matrix is drawn."""
    start = time.perf_counter()
    page.goto(path.resolve().as_uri())
    page.wait_for_function("document.documentElement.dataset.ready", polling=10)
    elapsed = time.perf_counter() - start
    assert page.evaluate("document.documentElement.dataset.ready") == "true"
    return elapsed


def _t1219_query(queries: Path, target: str) -> str:
    return next((queries / target).glob("t1219_remote_access_tools.*")).read_text(encoding="utf-8")


def _rows(page: Any) -> int:
    return int(page.locator("#matrix tbody tr.rule").count())


def test_the_page_shows_the_matrix_of_the_build_report(page: Any, small: dict[str, Any]) -> None:
    _open(page, small["out"] / "index.html")
    report = small["build_report"]
    statuses = Counter((row["target"], row["status"]) for row in report["rules"])
    for target in TARGET_NAMES:
        for status in ("converted", "unsupported", "failed"):
            assert statuses[(target, status)] == report["summary"][target][status]
        for status in ("converted", "unsupported", "failed", "skipped"):
            # the per-target totals ...
            total = page.locator(f'#totals td[data-target="{target}"][data-count="{status}"]')
            assert int(total.get_attribute("data-value")) == statuses[(target, status)], (target, status)
            # ... and the matrix itself (every rule is on the first page)
            cells = page.locator(f'#matrix td.cell[data-target="{target}"][data-status="{status}"]')
            assert cells.count() == statuses[(target, status)], (target, status)
    assert _rows(page) == len({row["rule"] for row in report["rules"]}) == 7
    # Every converted T1219 output passes its 45 tests on the target's engine or model.
    t1219 = page.locator("#matrix tr.rule", has_text="Remote Access Tool Execution")
    assert t1219.locator('td.cell[data-state="tested"]').count() == len(TARGET_NAMES)
    assert t1219.locator("td.cell").first.inner_text().strip() == "\u2713 45/45"
    unsupported = page.locator('#matrix tr.rule:has-text("DPAPI") td.cell[data-target="aql"]')
    assert unsupported.get_attribute("data-status") == "unsupported"
    assert "aql: " in unsupported.get_attribute("title")
    assert page.siemc_errors == []
    assert all(url.startswith("file://") for url in page.siemc_requests), page.siemc_requests


def test_search_and_filters_narrow_the_rows(page: Any, small: dict[str, Any]) -> None:
    _open(page, small["out"] / "index.html")
    assert _rows(page) == 7
    page.fill("#search", "dpapi")
    page.wait_for_function("document.querySelectorAll('#matrix tbody tr.rule').length === 1")
    assert "DPAPI key file" in page.locator("#matrix tbody tr.rule").inner_text()
    assert page.locator("#shown").inner_text() == "1 of 7 rules match"
    page.fill("#search", "DeviceProcessEvents")  # only in query texts
    page.wait_for_function("document.querySelector('#matrix tbody td.empty') !== null")
    page.check("#search-queries")
    page.wait_for_function("document.querySelectorAll('#matrix tbody tr.rule').length > 1")
    page.click("#reset")
    page.select_option("#filter-target", "aql")
    page.select_option("#filter-state", "unsupported")
    unsupported_aql = sum(
        1
        for row in small["build_report"]["rules"]
        if row["target"] == "aql" and row["status"] == "unsupported"
    )
    assert _rows(page) == unsupported_aql > 0
    page.select_option("#filter-state", "skipped")
    assert _rows(page) == 1 and "Whoami" in page.locator("#matrix tbody tr.rule").inner_text()
    page.click("#reset")
    page.select_option("#filter-level", "high")
    assert _rows(page) == 1
    page.click("#reset")
    page.fill("#filter-attack", "T1059")  # a technique covers its sub-techniques
    page.wait_for_function("document.querySelectorAll('#matrix tbody tr.rule').length === 1")
    page.fill("#filter-attack", "command-and-control")
    page.wait_for_function(
        "[...document.querySelectorAll('#matrix tbody tr.rule')].some(r => r.innerText.includes('Remote'))"
    )
    assert _rows(page) == 1


def test_each_query_is_shown_highlighted_and_copied_exactly(page: Any, small: dict[str, Any]) -> None:
    _open(page, small["out"] / "index.html")
    queries = small["out"] / "queries"
    row = page.locator("#matrix tr.rule", has_text="Remote Access Tool Execution")
    row.locator('td.cell[data-target="kql"]').click()
    for target in TARGET_NAMES:
        page.click(f'tr.detail button.tab[data-tab="{TARGET_NAMES.index(target)}"]')
        code = page.locator("tr.detail pre.code code")
        expected = _t1219_query(queries, target)
        # Highlighting only wraps the text: what is shown is the query, character for character.
        assert code.evaluate("element => element.textContent") == expected, target
        classes = set(code.evaluate("e => [...e.querySelectorAll('span')].map(s => s.className)"))
        assert {"tk-kw", "tk-str"} <= classes or {"tk-kw", "tk-re"} <= classes, (target, classes)
        if target != "aql":
            assert "tk-com" in classes, target  # the header comment
        if target in ("spl", "sumo", "yaral", "logscale", "aql"):
            assert "tk-re" in classes, target
    # Copy: the clipboard holds the exact text, backslashes, quotes and final newline included.
    for target in ("kql", "spl"):
        page.click(f'tr.detail button.tab[data-tab="{TARGET_NAMES.index(target)}"]')
        page.click("tr.detail button.copy")
        page.wait_for_function("document.querySelector('tr.detail button.copy').textContent === 'Copied'")
        copied = page.evaluate("navigator.clipboard.readText()")
        expected = _t1219_query(queries, target)
        assert copied == expected, target
    # An unsupported output shows its reason instead.
    page.locator("#matrix tr.rule", has_text="DPAPI").locator('td.cell[data-target="aql"]').click()
    message = page.locator('tr.rule:has-text("DPAPI") + tr.detail .message').inner_text()
    assert message.startswith("unsupported: ")
    assert page.siemc_errors == []
    if os.environ.get("SIEMC_REPORT_SCREENSHOT"):
        _screenshot(page, small["out"] / "index.html", Path(os.environ["SIEMC_REPORT_SCREENSHOT"]))


def _screenshot(page: Any, report_page: Path, path: Path) -> None:
    """The README's picture: the report of a few rules, the T1219 rule open on its SPL query."""
    _open(page, report_page)
    page.locator("#matrix tr.rule", has_text="Remote Access Tool Execution").locator(
        'td.cell[data-target="spl"]'
    ).click()
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the SigmaHQ corpus (../shared/sigmahq) is absent")
def test_the_corpus_report_opens_within_two_seconds(
    page: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path_factory.mktemp("corpus-report")
    code, _, stderr = _invoke(
        "report", str(CORPUS), "--out", str(out), "--cache-dir", str(out / "cache"),
        "--jobs", str(os.cpu_count() or 1),
    )  # fmt: skip
    assert code == 0, stderr[-2000:]
    data = read_page_data(out / "index.html")
    assert len(data["rules"]) > 3000
    timings = [_open(page, out / "index.html") for _ in range(3)]
    print(f"corpus report ({len(data['rules'])} rules): opened in {', '.join(f'{t:.2f}' for t in timings)} s")
    assert min(timings) < LOAD_BUDGET_S, timings
    # Paged: one page of rows is drawn, not the corpus.
    assert _rows(page) == 50
    assert page.locator("#pager").inner_text().startswith(f"1\u201350 of {len(data['rules']):,}")
    page.click('#pager button[data-page="next"]')
    assert page.locator("#range").inner_text().startswith("51\u2013100")
    page.fill("#search", "mimikatz")
    page.wait_for_function("document.querySelectorAll('#matrix tbody tr.rule').length < 50")
    assert 0 < _rows(page) < 50
    assert page.siemc_errors == []


PLACEHOLDER_RULE = """\
title: Admin account starts a shell
id: 22222222-0000-4000-8000-000000000003
logsource: {category: process_creation, product: windows}
detection:
  selection:
    User|expand: '%admin_accounts%'
    Image|endswith: '\\cmd.exe'
  condition: selection
level: low
"""


def test_report_takes_the_site_configuration_and_placeholders(tmp_path: Path) -> None:
    rule = tmp_path / "rules" / "admin_shell.yml"
    rule.parent.mkdir()
    rule.write_text(PLACEHOLDER_RULE)
    common = ["--target", "kql", "--cache-dir", str(tmp_path / "cache")]

    code, _, stderr = _invoke("report", str(rule), "--out", str(tmp_path / "a"), *common)
    assert code == 0, stderr
    (status, message, query, _) = read_page_data(tmp_path / "a" / "index.html")["rules"][0]["cells"][0]
    assert status == "unsupported" and query is None
    assert "placeholder 'admin_accounts' has no value" in message

    code, _, stderr = _invoke(
        "report", str(rule), "--out", str(tmp_path / "b"), "--placeholder", "admin_accounts=svc_ops", *common
    )
    assert code == 0, stderr
    (status, _, query, _) = read_page_data(tmp_path / "b" / "index.html")["rules"][0]["cells"][0]
    assert status == "converted" and '"svc_ops"' in query

    config = tmp_path / "site.yml"
    config.write_text("placeholders:\n  admin_accounts: [svc_backup]\n")
    code, _, stderr = _invoke(
        "report", str(rule), "--out", str(tmp_path / "c"), "--config", str(config), *common
    )
    assert code == 0, stderr
    (status, _, query, _) = read_page_data(tmp_path / "c" / "index.html")["rules"][0]["cells"][0]
    assert status == "converted" and '"svc_backup"' in query

    config.write_text("placeholders:\n  admin_accounts: 12\n  nonsense: {}\n")
    code, _, stderr = _invoke("report", str(rule), "--out", str(tmp_path / "d"), "--config", str(config))
    assert code == 2 and "site.yml:" in stderr and not (tmp_path / "d").exists()


WRONG_EXPECTATION = """\
title: Whoami with one wrong test
id: 22222222-0000-4000-8000-000000000004
logsource: {category: process_creation, product: windows}
detection:
  selection:
    Image|endswith: '\\whoami.exe'
  condition: selection
level: low
tags: [attack.t1033]
siemc:
  tests:
    - name: whoami runs
      event: {Image: 'C:\\Windows\\System32\\whoami.exe'}
      expect: {match: true}
    - name: expects a match the rule cannot give
      event: {Image: 'C:\\Windows\\System32\\hostname.exe'}
      expect: {match: true}
"""


def test_a_failing_test_fails_the_report_and_the_technique_score(tmp_path: Path) -> None:
    rule = tmp_path / "whoami.yml"
    rule.write_text(WRONG_EXPECTATION)
    code, _, stderr = _invoke(
        "report", str(rule), "--out", str(tmp_path / "o"), "--tests", "--target", "spl", "--target", "eql",
        "--cache-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert code == 1 and "1 rule(s) with tests, 1 failing test(s)" in stderr
    data = read_page_data(tmp_path / "o" / "index.html")
    (only,) = data["rules"]
    assert only["referenceFailures"] == [
        "expects a match the rule cannot give: expected a match, the rule does not match"
    ]
    # Both engines agree with the reference on both tests, but the second test is wrong: it fails.
    assert [cell[3] for cell in only["cells"]] == [
        {"passed": 1, "total": 2, "state": "fail", "problems": []}
    ] * 2
    layer = json.loads((tmp_path / "o" / "navigator-layer.json").read_text())
    validate_layer(layer)
    assert [(t["techniqueID"], t["score"]) for t in layer["techniques"]] == [("T1033", 0)]
