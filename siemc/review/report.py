"""`siemc report`: what a build produced, for a reviewer: an ATT&CK Navigator layer and a static page.

    <out>/index.html             rules x targets: each output's state, its query (highlighted, copyable)
    <out>/navigator-layer.json   the techniques the rules cover, scored by the targets that cover them
    <out>/report.json            the build report, as `siemc build --report` writes it
    <out>/queries/<target>/...   the build's outputs (the cache serves unchanged rules)

The page is one file with its style, script and data inline: it opens from disk with no server and no
network, and stays quick on thousands of rules (the data is one JSON blob, the matrix is rendered a
page of rows at a time, a query is highlighted only when it is shown).

A cell's state is the build's (`converted`, `unsupported` with its reason, `failed`, `skipped`), and,
when the rules' `siemc.tests` ran (`--tests`), `tested` where every test passes on that target's
engine or model, `test failing` where one does not. The layer scores a technique by the number of
targets on which some rule tagged with it has a converted output, or, for a rule whose tests ran on
a target, passing tests there.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

from siemc import __version__
from siemc.backends import TARGET_NAMES, get_target
from siemc.compile.build import CONVERTED, FAILED, SKIPPED, UNSUPPORTED, BuildResult, ProgressCallback
from siemc.config import DEFAULT, SiteConfig
from siemc.diagnostics import Diagnostic, SiemcError

# The ATT&CK Navigator's layer file format (mitre-attack/attack-navigator, layers/spec/v4.5): the
# current format version, a Navigator release that reads it (the format needs at least 4.9.0) and
# the ATT&CK release the layer is meant for. The Navigator offers to upgrade a layer made for an
# older ATT&CK release; none of these change what the layer says.
LAYER_VERSION: Final = "4.5"
NAVIGATOR_VERSION: Final = "5.3.2"
ATTACK_VERSION: Final = "19"
DOMAIN: Final = "enterprise-attack"

PAGE_NAME: Final = "index.html"
LAYER_NAME: Final = "navigator-layer.json"
BUILD_REPORT_NAME: Final = "report.json"
QUERIES_FOLDER: Final = "queries"

# Test states of a converted output (the page's `tested` and `test failing`; `n/a` = no engine).
TESTS_PASS: Final = "pass"
TESTS_FAIL: Final = "fail"
TESTS_UNAVAILABLE: Final = "n/a"

# The page's highlighter has one set of rules per language family.
LANGUAGE_FAMILY: Final = {
    "kql": "kusto",
    "spl": "spl",
    "eql": "eql",
    "aql": "sql",
    "sumo": "sumo",
    "yaral": "yaral",
    "logscale": "logscale",
}

ASSETS: Final = "report_assets"


@dataclass(frozen=True)
class TargetTests:
    """A rule's tests on one target: how many the target's engine agrees on, and what went wrong."""

    passed: int
    total: int
    state: str  # TESTS_PASS, TESTS_FAIL or TESTS_UNAVAILABLE
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleTests:
    """A rule's `siemc.tests`: their number, those the reference evaluator contradicts, per target."""

    total: int
    reference_failures: tuple[str, ...]
    targets: dict[str, TargetTests]
    failing: int = 0  # tests that fail on the reference or on some target's engine


@dataclass
class ReportResult:
    folder: Path
    build: BuildResult
    tests: dict[Path, RuleTests] = field(default_factory=dict)
    engines: bool = False  # the targets' engines were at hand when tests ran
    diagnostics: list[Diagnostic] = field(default_factory=list)  # tests that could not run

    @property
    def page(self) -> Path:
        return self.folder / PAGE_NAME

    @property
    def layer(self) -> Path:
        return self.folder / LAYER_NAME

    @property
    def failed_tests(self) -> int:
        """Rule tests that fail: on the reference, or on a target's engine."""
        return sum(rule_tests.failing for rule_tests in self.tests.values())


# -- tests ---------------------------------------------------------------------------------------------


def _outcomes_by_rule(result: BuildResult) -> dict[Path, dict[str, Any]]:
    by_rule: dict[Path, dict[str, Any]] = {}
    for outcome in result.outcomes:
        by_rule.setdefault(outcome.rule, {})[outcome.target] = outcome
    return by_rule


def _may_have_tests(path: Path) -> bool:
    """A cheap look before parsing: a rule with `siemc.tests` names both keys."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "siemc:" in text and "tests:" in text


def run_tests(
    result: BuildResult, site: SiteConfig = DEFAULT
) -> tuple[dict[Path, RuleTests], bool, list[Diagnostic]]:
    """Run every rule's `siemc.tests` on the reference and on each target it converts for.

    The targets' engines ship with the source tree (`load_target_engines`); without them only the
    reference runs and no output counts as tested. Returns the tests per rule, whether the engines
    ran, and the rules whose tests could not run.
    """
    from siemc.compile.build import compile_detection
    from siemc.compile.correlation import Correlation, folder_library, load_rule_file
    from siemc.verify.ruletest import (
        AGREES,
        DISAGREES,
        REJECTED,
        UNAVAILABLE,
        TestRun,
        load_target_engines,
        run_correlation_tests,
        run_rule_tests,
    )

    engines = load_target_engines()
    # A correlation rule's referenced rules are among the build's rule files.
    library = folder_library(sorted({outcome.rule for outcome in result.outcomes}))
    tests: dict[Path, RuleTests] = {}
    diagnostics: list[Diagnostic] = []
    for rule, outcomes in _outcomes_by_rule(result).items():
        if rule not in result.metadata or not _may_have_tests(rule):
            continue
        converted = [
            t for t in result.targets if outcomes.get(t) is not None and outcomes[t].status == CONVERTED
        ]
        try:
            detection = load_rule_file(rule, site, library)
            runs: Sequence[TestRun]
            if isinstance(detection, Correlation):
                if not detection.tests:
                    continue
                runs = list[TestRun](
                    run_correlation_tests(detection, converted if engines else [], engines, compile_detection)
                )
            else:
                if not detection.extension.tests:
                    continue
                runs = list[TestRun](
                    run_rule_tests(detection, converted if engines else [], engines, compile_detection)
                )
        except SiemcError as error:
            diagnostics.append(Diagnostic(rule, f"tests: {error.message}", error.line))
            continue
        reference = tuple(
            f"{run.test.name}: {run.reference_error}" for run in runs if run.reference_error is not None
        )
        # A test passes on a target when the reference agrees with the test and the engine with both.
        failing = {index for index, run in enumerate(runs) if run.reference_error is not None}
        per_target: dict[str, TargetTests] = {}
        for target in converted if engines else []:
            verdicts = [(index, run.test.name, *run.targets[target]) for index, run in enumerate(runs)]
            if all(verdict == UNAVAILABLE for _, _, verdict, _ in verdicts):
                per_target[target] = TargetTests(0, len(verdicts), TESTS_UNAVAILABLE, (verdicts[0][3],))
                continue
            passed = sum(verdict == AGREES and index not in failing for index, _, verdict, _ in verdicts)
            problems = tuple(
                f"{name}: {verdict} {detail}".rstrip()
                for _, name, verdict, detail in verdicts
                if verdict in (DISAGREES, REJECTED)
            )
            failing.update(index for index, _, verdict, _ in verdicts if verdict in (DISAGREES, REJECTED))
            state = TESTS_PASS if passed == len(verdicts) else TESTS_FAIL
            per_target[target] = TargetTests(passed, len(verdicts), state, problems)
        tests[rule] = RuleTests(len(runs), reference, per_target, len(failing))
    return tests, engines is not None, diagnostics


# -- the ATT&CK Navigator layer ---------------------------------------------------------------------------


def covering_targets(
    result: BuildResult, tests: dict[Path, RuleTests] | None = None
) -> dict[Path, list[str]]:
    """Per rule, the targets that cover it: a converted output, or passing tests where tests ran."""
    tests = tests or {}
    covering: dict[Path, list[str]] = {}
    for rule, outcomes in _outcomes_by_rule(result).items():
        rule_tests = tests.get(rule)
        targets = []
        for target in result.targets:
            outcome = outcomes.get(target)
            if outcome is None or outcome.status != CONVERTED:
                continue
            target_tests = rule_tests.targets.get(target) if rule_tests is not None else None
            if target_tests is not None and target_tests.state == TESTS_FAIL:
                continue
            targets.append(target)
        covering[rule] = targets
    return covering


def attack_layer(
    result: BuildResult, tests: dict[Path, RuleTests] | None = None, name: str = "siemc detection coverage"
) -> dict[str, Any]:
    """The ATT&CK Navigator layer (format 4.5) of the techniques the built rules are tagged with.

    A technique (or sub-technique, as tagged) is scored by the number of targets on which at least
    one of its rules is covered (`covering_targets`); its comment lists the rules' titles.
    """
    covering = covering_targets(result, tests)
    titles: dict[str, set[str]] = {}
    targets_of: dict[str, set[str]] = {}
    rules_of: dict[str, int] = {}
    for rule, meta in result.metadata.items():
        for technique in meta.get("techniques") or []:
            titles.setdefault(technique, set()).add(str(meta.get("title") or rule.stem))
            targets_of.setdefault(technique, set()).update(covering.get(rule, []))
            rules_of[technique] = rules_of.get(technique, 0) + 1
    ordered_targets = [t for t in TARGET_NAMES if t in result.targets]
    techniques = []
    for technique in sorted(titles, key=_technique_order):
        covered = [t for t in ordered_targets if t in targets_of[technique]]
        techniques.append(
            {
                "techniqueID": technique,
                "score": len(covered),
                "comment": "\n".join(sorted(titles[technique], key=str.casefold)),
                "enabled": True,
                "metadata": [
                    {"name": "rules", "value": str(rules_of[technique])},
                    {"name": "targets", "value": ", ".join(covered) or "none"},
                ],
                "showSubtechniques": False,
            }
        )
    ran = tests is not None and any(rule_tests.targets for rule_tests in tests.values())
    basis = "a converted output (passing siemc.tests where they ran)" if ran else "a converted output"
    return {
        "name": name,
        "versions": {"attack": ATTACK_VERSION, "navigator": NAVIGATOR_VERSION, "layer": LAYER_VERSION},
        "domain": DOMAIN,
        "description": (
            f"{len(result.metadata)} rule(s) compiled by siemc {__version__} for "
            f"{', '.join(ordered_targets)}. Score: the number of these targets on which a rule tagged with "
            f"the technique has {basis}; the comment lists the rules."
        ),
        "sorting": 3,
        "layout": {
            "layout": "side",
            "showID": True,
            "showName": True,
            "showAggregateScores": False,
            "countUnscored": False,
            "aggregateFunction": "max",
            "expandedSubtechniques": "annotated",
        },
        "hideDisabled": False,
        "techniques": techniques,
        "gradient": {
            "colors": ["#ff6666", "#ffe766", "#8ec843"],
            "minValue": 0,
            "maxValue": max(len(ordered_targets), 1),
        },
        "legendItems": [],
        "showTacticRowBackground": False,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
        "selectVisibleTechniques": False,
        "metadata": [
            {"name": "siemc", "value": __version__},
            {"name": "targets", "value": ", ".join(ordered_targets)},
            {"name": "score", "value": f"targets with {basis}"},
        ],
    }


def _technique_order(technique: str) -> tuple[int, int]:
    main, _, sub = technique[1:].partition(".")
    return (int(main) if main.isdigit() else 0, int(sub) if sub.isdigit() else -1)


# -- the page ------------------------------------------------------------------------------------------------


def _query_text(output: str | None) -> str | None:
    if output is None:
        return None
    try:
        with open(output, encoding="utf-8", newline="") as stream:
            return stream.read()
    except OSError:
        return None


def page_data(
    result: BuildResult,
    tests: dict[Path, RuleTests] | None = None,
    *,
    engines: bool = False,
    tests_ran: bool = False,
    title: str = "siemc report",
    read_query: Callable[[str | None], str | None] = _query_text,
) -> dict[str, Any]:
    """The page's data: per rule its metadata and per target [status, message, query, tests]."""
    tests = tests or {}
    ordered_targets = [t for t in TARGET_NAMES if t in result.targets]
    rules = []
    for rule, outcomes in _outcomes_by_rule(result).items():
        meta = result.metadata.get(rule, {})
        rule_tests = tests.get(rule)
        cells: list[list[Any]] = []
        for target in ordered_targets:
            outcome = outcomes.get(target)
            if outcome is None:
                cells.append([SKIPPED, None, None, None])
                continue
            target_tests = rule_tests.targets.get(target) if rule_tests is not None else None
            query = read_query(outcome.output) if outcome.status == CONVERTED else None
            cells.append(
                [
                    outcome.status,
                    outcome.message or None,
                    query,
                    None
                    if target_tests is None
                    else {
                        "passed": target_tests.passed,
                        "total": target_tests.total,
                        "state": target_tests.state,
                        "problems": list(target_tests.problems),
                    },
                ]
            )
        rules.append(
            {
                "file": rule.as_posix(),
                "id": meta.get("id"),
                "title": meta.get("title") or rule.stem,
                "level": meta.get("level"),
                "status": meta.get("status"),
                "techniques": list(meta.get("techniques") or []),
                "tactics": list(meta.get("tactics") or []),
                "logsource": meta.get("logsource") or {},
                "tests": rule_tests.total if rule_tests is not None else 0,
                "referenceFailures": list(rule_tests.reference_failures) if rule_tests is not None else [],
                "cells": cells,
            }
        )
    return {
        "format": 1,
        "title": title,
        "siemc": __version__,
        "targets": [
            {"name": t, "siem": get_target(t).siem, "family": LANGUAGE_FAMILY.get(t, t)}
            for t in ordered_targets
        ],
        "testsRan": tests_ran,
        "engines": engines,
        "statuses": [CONVERTED, UNSUPPORTED, FAILED, SKIPPED],
        "rules": rules,
    }


def _asset(name: str) -> str:
    return resources.files("siemc.review").joinpath(ASSETS, name).read_text(encoding="utf-8")


def encode_data(data: Any) -> str:
    """The page's data: one JSON document, gzip-compressed (no timestamp) and base64-encoded.

    Base64 holds no `<`, so nothing in the data can close the script element it sits in; the
    compression keeps a corpus report quick to open (its 18 MB of queries become some 4 MB).
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)).decode("ascii")


def decode_data(blob: str) -> Any:
    """The data of a page, as `encode_data` wrote it (tests and tools read a report with this)."""
    return json.loads(gzip.decompress(base64.b64decode(blob)).decode("utf-8"))


def read_page_data(page: Path) -> Any:
    """The data blob of a written page."""
    text = page.read_text(encoding="utf-8")
    match = re.search(r'<script id="siemc-data"[^>]*>([^<]*)</script>', text)
    if match is None:
        raise ValueError(f"{page}: no siemc report data")
    return decode_data(match.group(1).strip())


def render_page(data: dict[str, Any]) -> str:
    """The page: the template with its style sheet, script and data inline (no other file, no network)."""
    from html import escape

    page = _asset("report.html")
    parts = {
        "/*@CSS@*/": _asset("report.css"),
        "/*@JS@*/": _asset("report.js"),
        "@DATA@": encode_data(data),
        "@TITLE@": escape(str(data.get("title", "siemc report"))),
    }
    # One pass, so nothing inserted is searched again (a query may contain a marker's text).
    pattern = re.compile("|".join(re.escape(marker) for marker in parts))
    return pattern.sub(lambda match: parts[match.group(0)], page)


# -- the command ---------------------------------------------------------------------------------------------


def write_shared(path: Path, text: str) -> None:
    """Write atomically, readable by all (a report is published, e.g. as a CI artifact)."""
    from siemc.compile.build import write_atomic

    write_atomic(path, text)
    path.chmod(0o644)


def report(
    paths: Sequence[Path],
    out: Path,
    targets: Iterable[str] = TARGET_NAMES,
    *,
    run_rule_tests: bool = False,
    site: SiteConfig = DEFAULT,
    jobs: int = 1,
    cache_dir: Path | None = None,
    progress: ProgressCallback | None = None,
) -> ReportResult:
    """Build the rules into `<out>/queries`, optionally run their tests, and write the layer and the page."""
    from siemc.compile.build import build, write_report

    result = build(
        paths, targets, out / QUERIES_FOLDER, jobs=jobs, cache_dir=cache_dir, progress=progress, site=site
    )
    report_result = ReportResult(out, result)
    if run_rule_tests:
        tests, engines, diagnostics = run_tests(result, site)
        report_result.tests, report_result.engines, report_result.diagnostics = tests, engines, diagnostics
    write_report(result, out / BUILD_REPORT_NAME)
    (out / BUILD_REPORT_NAME).chmod(0o644)
    write_shared(out / LAYER_NAME, json.dumps(attack_layer(result, report_result.tests), indent=1) + "\n")
    title = "siemc report: " + ", ".join(path.as_posix() for path in paths)
    data = page_data(
        result,
        report_result.tests,
        engines=report_result.engines,
        tests_ran=run_rule_tests,
        title=title,
    )
    write_shared(out / PAGE_NAME, render_page(data))
    return report_result
