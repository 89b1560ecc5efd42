"""Bad input: a one-line error naming the file (and line), exit 1, other rules still built."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from siemc.cli import app
from tests.conftest import SEED_RULE

GOOD = SEED_RULE.read_text()
BAD_RULES = {
    # name: (text, expected message part, expected line)
    "malformed": ("title: x\ndetection:\n  sel: [a\n", "malformed YAML", 4),
    "modifier": (GOOD.replace("Image|endswith:", "Image|endswithh:"), "endswithh", 23),
    "no_condition": (GOOD.replace("  condition: selection\n", ""), "condition", None),
    "unknown_target": (
        GOOD.replace("  lookback: 24h\n", "  lookback: 24h\n  targets: [kql, splunk]\n"),
        "unknown target 'splunk'",
        67,
    ),
    "bad_lookback": (GOOD.replace("lookback: 24h", "lookback: yesterday"), "siemc.lookback", 66),
}


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", sorted(BAD_RULES))
def test_bad_rule_is_one_line_with_file_and_line(tmp_path: Path, name: str) -> None:
    text, message, line = BAD_RULES[name]
    path = _write(tmp_path, name, text)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    errors = [row for row in result.stderr.splitlines() if " error: " in row]
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:{line}:" if line else f"{path}:")
    assert message in errors[0]


def test_field_without_a_column_names_target_file_and_table(tmp_path: Path) -> None:
    # Falcon process events on Linux have no parent path, and that source has no fallback.
    path = _write(
        tmp_path,
        "unmapped",
        GOOD.replace("product: windows", "product: linux").replace(
            "    Image|endswith:", "    ParentImage|startswith: /usr/bin/\n    Image|endswith:"
        ),
    )
    result = CliRunner().invoke(app, ["convert", str(path), "--target", "logscale"])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(
        f"{path}: [logscale] error: unsupported: field 'ParentImage' has no column in ProcessRollup2"
    )


def test_build_goes_on_and_keeps_earlier_output(tmp_path: Path) -> None:
    rules, out = tmp_path / "rules", tmp_path / "out"
    rules.mkdir()
    _write(rules, "good", GOOD)
    broken = _write(rules, "later_broken", GOOD.replace("title: Remote", "title: Still remote"))
    runner = CliRunner()
    assert runner.invoke(app, ["build", str(rules), "--out", str(out)]).exit_code == 0
    before = (out / "kql" / "later_broken.kql").read_text()

    broken.write_text(GOOD.replace("Image|endswith:", "Image|nosuch:"))
    result = runner.invoke(app, ["build", str(rules), "--out", str(out)])
    assert result.exit_code == 1
    assert "later_broken.yml" in result.stderr and "nosuch" in result.stderr
    assert (out / "kql" / "good.kql").is_file()
    assert (out / "kql" / "later_broken.kql").read_text() == before  # not removed, not half-written
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_unknown_target_option_is_bad_usage() -> None:
    result = CliRunner().invoke(app, ["convert", str(SEED_RULE), "--target", "splunk"])
    assert result.exit_code == 2
    assert "unknown target 'splunk'" in result.stderr


def test_targets_lists_all_seven() -> None:
    result = CliRunner().invoke(app, ["targets"])
    names = [row.split()[0] for row in result.stdout.splitlines()]
    assert names == ["kql", "spl", "eql", "aql", "sumo", "yaral", "logscale"]


def test_check_exits_1_listing_changed_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    runner.invoke(app, ["build", str(SEED_RULE), "--out", str(out), "--target", "spl"])
    (out / "spl" / "t1219_remote_access_tools.spl").write_text("old\n")
    result = runner.invoke(app, ["build", str(SEED_RULE), "--out", str(out), "--target", "spl", "--check"])
    assert result.exit_code == 1
    assert "would change: " in result.stdout
    assert (out / "spl" / "t1219_remote_access_tools.spl").read_text() == "old\n"
