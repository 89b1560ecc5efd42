"""`siemc test`: the rule's own tests, checked by the reference evaluator and by every target."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from siemc.backends import TARGET_NAMES
from typer.testing import CliRunner

from siemc.cli import app
from siemc.compile.build import compile_detection
from siemc.compile.rule import Detection, parse_rule
from siemc.diagnostics import SiemcError
from siemc.verify.ruletest import AGREES, load_target_engines, run_rule_tests
from tests.conftest import T1219_RULE
from tests.t1219_cases import TOOLS

RULE = """\
title: Whoami
logsource: {category: process_creation, product: windows}
detection:
  selection: {Image|endswith: '\\whoami.exe'}
  condition: selection
siemc:
  derive:
    FromShell:
      when: {ParentImage|endswith: ['\\cmd.exe', '\\powershell.exe']}
  tests:
"""


def _rule(tmp_path: Path, tests: str) -> Path:
    path = tmp_path / "whoami.yml"
    path.write_text(RULE + textwrap.indent(textwrap.dedent(tests), "    "), encoding="utf-8")
    return path


def test_the_t1219_rule_carries_the_specified_tests(t1219: Detection) -> None:
    tests = t1219.extension.tests
    names = " ".join(test.name.lower() for test in tests)
    assert {tool for tool in TOOLS if tool in names} == set(TOOLS)
    assert sum(not test.match for test in tests) >= 7
    assert {test.derived.get("RATCategory") for test in tests if test.match} >= set(TOOLS.values())
    for scenario in ("anydesk portable", "reg.exe", "tvnserver.exe started by cmd.exe"):
        assert scenario in names


def test_the_t1219_tests_pass_on_the_reference_and_every_target(t1219: Detection) -> None:
    engines = load_target_engines()
    assert engines is not None
    outcomes = run_rule_tests(t1219, TARGET_NAMES, engines, compile_detection)
    failures = [
        f"{o.test.name}: reference {o.reference_error}; "
        + str({t: v for t, v in o.targets.items() if v[0] != AGREES})
        for o in outcomes
        if o.reference_error or any(v[0] != AGREES for v in o.targets.values())
    ]
    assert failures == []
    assert len(outcomes) == len(t1219.extension.tests)


def test_cli_reports_every_test_and_exits_0() -> None:
    result = CliRunner().invoke(app, ["test", str(T1219_RULE), "--reference-only"])
    assert result.exit_code == 0, result.output
    assert "TeaMviEweR.eXe started by services.exe" in result.stdout
    assert "FAIL" not in result.stdout


def test_without_target_engines_a_note_says_only_the_reference_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed siemc has no target engines (they ship with the source tree): the run says so."""
    import siemc.verify.ruletest

    monkeypatch.setattr(siemc.verify.ruletest, "load_target_engines", lambda: None)
    result = CliRunner().invoke(app, ["test", str(T1219_RULE)])
    assert result.exit_code == 0, result.output
    assert "note: the reference evaluator only: the engines that run each target's query" in result.stderr
    assert "49 test(s) on the reference evaluator only, 0 failed" in result.stderr
    assert result.stdout.splitlines()[0].split() == ["result", "rule", "test", "notes"]


def test_with_target_engines_the_summary_counts_them() -> None:
    result = CliRunner().invoke(app, ["test", str(T1219_RULE), "-t", "kql", "-t", "spl"])
    assert result.exit_code == 0, result.output
    assert "note:" not in result.stderr
    assert "49 test(s) on the reference and 2 target(s), 0 failed" in result.stderr


def test_a_wrong_expectation_fails_with_exit_1(tmp_path: Path) -> None:
    path = _rule(
        tmp_path,
        """\
        - name: whoami from cmd
          event: {Image: 'C:\\Windows\\System32\\whoami.exe', ParentImage: 'C:\\Windows\\System32\\cmd.exe'}
          expect: {match: true, FromShell: false}
        - name: notepad
          event: {Image: 'C:\\Windows\\notepad.exe'}
          expect: {match: true}
        """,
    )
    result = CliRunner().invoke(app, ["test", str(path), "--reference-only"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("FAIL") and "whoami from cmd" in line and "FromShell=True" in line for line in lines
    )
    assert any(line.startswith("FAIL") and "notepad" in line and "expected a match" in line for line in lines)


def test_matrix_prints_agreement_counts_per_target(tmp_path: Path) -> None:
    path = _rule(
        tmp_path,
        """\
        - name: whoami from cmd
          event: {Image: 'C:\\Windows\\System32\\whoami.exe', ParentImage: 'C:\\Windows\\System32\\cmd.exe'}
          expect: {match: true, FromShell: true}
        - name: notepad
          event: {Image: 'C:\\Windows\\notepad.exe'}
          expect: {match: false}
        """,
    )
    result = CliRunner().invoke(app, ["test", str(path), "--matrix", "-t", "kql", "-t", "eql", "-t", "spl"])
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()[:2]
    assert header.split() == ["rule", "reference", "kql", "eql", "spl"]
    assert row.split() == ["whoami", "2/2", "2/2", "2/2", "2/2"]


@pytest.mark.parametrize(
    ("tests", "message"),
    [
        ("- {name: x, event: {Image: a}}\n", "siemc.tests.0: a test needs `expect`"),
        ("- {name: x, event: {Image: a}, expect: {}}\n", "`expect` needs `match: true` or `match: false`"),
        ("- {name: x, event: {Image: a}, expect: {match: true, Nope: 1}}\n", "unknown key 'Nope'"),
        (
            "- {name: x, event: {Image: a}, expect: {match: true, FromShell: yes-ish}}\n",
            "expected true or false",
        ),
        ("- {name: x, event: [a], expect: {match: true}}\n", "expected an event"),
    ],
)
def test_malformed_tests_are_rule_errors_with_a_line(tmp_path: Path, tests: str, message: str) -> None:
    path = _rule(tmp_path, tests)
    with pytest.raises(SiemcError) as error:
        parse_rule(path.read_text(encoding="utf-8"), path)
    assert message in error.value.message
    assert error.value.line is not None and error.value.line >= 11
