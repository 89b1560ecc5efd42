"""Detection unit tests (`siemc test`): a rule's `siemc.tests` checked by the reference evaluator and,
where an engine for a target is at hand, by running that target's compiled query over the same events.

The reference evaluator (siemc/verify/evaluate.py) states what the rule means; each test states what the
author expects. A target agrees on a test when its query returns the test's event exactly when the
reference matches it, with the same derived values where the language computes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from siemc.compile.correlation import Correlation, CorrelationTest
from siemc.compile.extension import RuleTest
from siemc.compile.rule import Detection
from siemc.diagnostics import SiemcError, Unsupported
from siemc.verify.evaluate import Evaluator

# Verdicts of a target on one test.
AGREES, DISAGREES, UNSUPPORTED, REJECTED, UNAVAILABLE = "ok", "FAIL", "unsupported", "rejected", "n/a"


class TargetRow(Protocol):
    index: int
    fields: dict[str, Any]


@dataclass(frozen=True)
class TargetEngines:
    """How to run targets: `run(target, detection, query, events) -> rows`, and their quirks."""

    run: Callable[[str, Detection, str, Sequence[Mapping[str, Any]]], Sequence[TargetRow]]
    # The reference per target: (matches, derived values) of each event as that SIEM stores it.
    reference: Callable[[str, Detection, Sequence[Mapping[str, Any]]], list[tuple[bool, dict[str, Any]]]]
    computes_derived: frozenset[str]
    normalise: Callable[[str, Any], Any]
    rejected: type[Exception]
    unavailable: type[Exception]
    # Correlation rules: `run(target, correlation, query, events, times, tags) -> groups` and the
    # reference's groups under that target's window; targets without an engine are absent.
    correlation_run: Callable[..., set[Any]] | None = None
    correlation_expected: Callable[..., set[Any]] | None = None
    correlation_targets: frozenset[str] = frozenset()


@dataclass
class TestOutcome:
    test: RuleTest
    reference_error: str | None  # why the reference evaluator disagrees with the test, if it does
    targets: dict[str, tuple[str, str]] = field(default_factory=dict)  # target -> (verdict, detail)

    @property
    def passed(self) -> bool:
        return self.reference_error is None and all(
            v in (AGREES, UNSUPPORTED, UNAVAILABLE) for v, _ in self.targets.values()
        )


class NamedTest(Protocol):
    @property
    def name(self) -> str: ...


class TestRun(Protocol):
    """What reports read of a test's outcome, a rule's or a correlation rule's."""

    @property
    def test(self) -> NamedTest: ...

    @property
    def reference_error(self) -> str | None: ...

    @property
    def targets(self) -> dict[str, tuple[str, str]]: ...


@dataclass
class CorrelationTestOutcome:
    """A correlation rule's test: the reference's groups against the expected ones, then each target's."""

    test: CorrelationTest
    reference_error: str | None
    targets: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.reference_error is None and all(
            v in (AGREES, UNSUPPORTED, UNAVAILABLE) for v, _ in self.targets.values()
        )


def _groups_text(groups: Sequence[Mapping[str, str]]) -> str:
    return "[" + ", ".join("{" + ", ".join(f"{k}: {v}" for k, v in g.items()) + "}" for g in groups) + "]"


def run_correlation_tests(
    correlation: Correlation,
    targets: Sequence[str] = (),
    engines: TargetEngines | None = None,
    compile_query: Callable[[Correlation, str], str] | None = None,
) -> list[CorrelationTestOutcome]:
    """Each test's groups by the reference (sliding windows), then by each target's engine, which must
    report what the reference reports under that target's own window."""
    from siemc.verify.correlate import correlate

    outcomes = []
    for test in correlation.tests:
        groups = correlate(correlation, test.events, test.times, test.rules)
        got = sorted(tuple(sorted(g.key.items())) for g in groups)
        wanted = sorted(tuple(sorted(g.items())) for g in test.groups)
        error = None
        if got != wanted:
            error = (
                f"expected groups {_groups_text(test.groups)}, the rule reports "
                f"{_groups_text([g.key for g in groups])}"
            )
        outcomes.append(CorrelationTestOutcome(test, error))
    if engines is None or compile_query is None or engines.correlation_run is None:
        return outcomes
    expected_of = engines.correlation_expected
    assert expected_of is not None
    for target in targets:
        try:
            query = compile_query(correlation, target)
        except Unsupported as error:
            verdicts = [(UNSUPPORTED, error.message)] * len(outcomes)
        except SiemcError as error:
            verdicts = [(DISAGREES, f"does not compile: {error.message}")] * len(outcomes)
        else:
            verdicts = []
            for outcome in outcomes:
                test = outcome.test
                if target not in engines.correlation_targets:
                    verdicts.append((UNAVAILABLE, f"no engine runs {target} correlation queries"))
                    continue
                try:
                    got_groups = engines.correlation_run(
                        target, correlation, query, test.events, test.times, test.rules
                    )
                except engines.unavailable as error:
                    verdicts.append((UNAVAILABLE, str(error)))
                    continue
                except engines.rejected as error:
                    verdicts.append((REJECTED, str(error)))
                    continue
                wanted_groups = expected_of(target, correlation, test.events, test.times, test.rules)
                if got_groups == wanted_groups:
                    verdicts.append((AGREES, ""))
                else:
                    verdicts.append(
                        (
                            DISAGREES,
                            f"reports {sorted(got_groups)}, the reference under its window"
                            f" {sorted(wanted_groups)}",
                        )
                    )
        for outcome, verdict in zip(outcomes, verdicts, strict=True):
            outcome.targets[target] = verdict
    return outcomes


def _reference_error(test: RuleTest, matched: bool, derived: Mapping[str, Any]) -> str | None:
    if matched != test.match:
        said = "matches" if matched else "does not match"
        return f"expected {'a match' if test.match else 'no match'}, the rule {said}"
    wrong = [
        f"{name}={derived.get(name)!r} (expected {value!r})"
        for name, value in test.derived.items()
        if derived.get(name) != value
    ]
    return "; ".join(wrong) or None


def run_rule_tests(
    detection: Detection,
    targets: Sequence[str] = (),
    engines: TargetEngines | None = None,
    compile_query: Callable[[Detection, str], str] | None = None,
) -> list[TestOutcome]:
    """Check every test of the rule with the reference evaluator, then with each target's engine."""
    tests = detection.extension.tests
    evaluator = Evaluator.for_detection(detection, detection.site.evaluation_values())
    events = [dict(test.event) for test in tests]
    expected = [(evaluator.matches(event), evaluator.derived(event)) for event in events]
    outcomes = [
        TestOutcome(test, _reference_error(test, matched, derived))
        for test, (matched, derived) in zip(tests, expected, strict=True)
    ]
    if not tests or engines is None or compile_query is None:
        return outcomes
    for target in targets:
        target_expected = engines.reference(target, detection, events)
        for outcome, verdict in zip(
            outcomes,
            _target_verdicts(target, detection, events, target_expected, engines, compile_query),
            strict=True,
        ):
            outcome.targets[target] = verdict
    return outcomes


def _target_verdicts(
    target: str,
    detection: Detection,
    events: list[dict[str, Any]],
    expected: list[tuple[bool, dict[str, Any]]],
    engines: TargetEngines,
    compile_query: Callable[[Detection, str], str],
) -> list[tuple[str, str]]:
    try:
        query = compile_query(detection, target)
    except Unsupported as error:
        return [(UNSUPPORTED, str(error))] * len(events)
    except SiemcError as error:
        return [(DISAGREES, f"does not compile: {error}")] * len(events)
    try:
        rows = engines.run(target, detection, query, events)
    except engines.unavailable as error:
        return [(UNAVAILABLE, str(error))] * len(events)
    except engines.rejected as error:
        return [(REJECTED, str(error))] * len(events)
    by_index = {row.index: row for row in rows}
    verdicts = []
    for index, (matched, derived) in enumerate(expected):
        row = by_index.get(index)
        if (row is not None) != matched:
            verdicts.append(
                (
                    DISAGREES,
                    "the query returns an event the rule does not match"
                    if row
                    else "the query misses an event the rule matches",
                )
            )
            continue
        wrong = []
        if row is not None and target in engines.computes_derived:
            for name, value in derived.items():
                got = engines.normalise(target, row.fields.get(name, row.fields.get("$" + name)))
                if got != value:
                    wrong.append(f"{name}={got!r} (reference {value!r})")
        verdicts.append((DISAGREES, "; ".join(wrong)) if wrong else (AGREES, ""))
    return verdicts


def load_target_engines() -> TargetEngines | None:
    """The target engines of a source checkout (tests/engines.py), or None when there are none.

    The engines are test tooling (Kusto.Language, duckdb-kql, eql and the language models under
    tests/); they ship with the repository, not with the package.
    """
    import sys
    from importlib import import_module

    from siemc.resources import project_file

    project = project_file()
    if project is None:
        return None
    root = project.parent
    if not (root / "tests" / "engines.py").is_file():
        return None
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = import_module("tests.engines")
    except ImportError:
        return None
    try:
        correlation_module = import_module("tests.correlation_engines")
    except ImportError:
        correlation_module = None
    return TargetEngines(
        run=module.run_target,
        reference=module.reference,
        computes_derived=module.COMPUTES_DERIVED,
        normalise=module.derived_value,
        rejected=module.EngineRejected,
        unavailable=module.EngineUnavailable,
        correlation_run=correlation_module.run_correlation if correlation_module else None,
        correlation_expected=correlation_module.expected_groups if correlation_module else None,
        correlation_targets=frozenset(correlation_module.TARGET_WINDOWS)
        if correlation_module
        else frozenset(),
    )
