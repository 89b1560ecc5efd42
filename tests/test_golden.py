"""Golden files: `build/` matches `detections/`, and per-target unit cases match tests/golden/<target>/.

Regenerate the unit cases with `make regen-golden` (SIEMC_REGEN_GOLDEN=1), then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from siemc.backends import TARGET_NAMES, get_target

from siemc.compile.build import build, compile_detection
from siemc.compile.rule import load_rule
from siemc.diagnostics import SiemcError, Unsupported
from tests.conftest import PACK_SITE, REPO

GOLDEN = REPO / "tests" / "golden"
GOLDEN_RULES = sorted((GOLDEN / "rules").glob("*.yml"))
REGENERATE = os.environ.get("SIEMC_REGEN_GOLDEN") == "1"


def test_build_folder_is_in_sync_with_detections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # headers name the rule by its path as given, like `make build` does
    result = build([Path("detections")], TARGET_NAMES, tmp_path, site=PACK_SITE)
    assert result.ok, result.diagnostics
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(REPO / "build") for p in (REPO / "build").rglob("*") if p.is_file())
    assert fresh == committed
    for relative in fresh:
        assert (tmp_path / relative).read_bytes() == (REPO / "build" / relative).read_bytes(), relative


def test_builds_are_byte_identical_on_rerun(tmp_path: Path) -> None:
    """Two builds in one process write the same bytes (the pack's build is compared with the one
    committed from another process, another hash seed, by the test above)."""
    first, second = tmp_path / "a", tmp_path / "b"
    build([GOLDEN / "rules"], TARGET_NAMES, first)
    build([GOLDEN / "rules"], TARGET_NAMES, second)
    assert any(first.rglob("*.kql"))
    for path in first.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (second / path.relative_to(first)).read_bytes()


def test_check_lists_a_changed_file_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build([REPO / "detections"], ["kql"], out, site=PACK_SITE)
    target_file = next((out / "kql").iterdir())
    target_file.write_text("stale\n")
    result = build([REPO / "detections"], ["kql"], out, check=True, site=PACK_SITE)
    assert result.changed == [target_file]
    assert target_file.read_text() == "stale\n"


@pytest.mark.parametrize("target", TARGET_NAMES)
@pytest.mark.parametrize("rule", GOLDEN_RULES, ids=lambda p: p.stem)
def test_golden_unit_case(rule: Path, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    expected_path = GOLDEN / target / f"{rule.stem}.{get_target(target).file_extension}"
    try:
        actual = compile_detection(load_rule(rule.relative_to(REPO)), target)
    except Unsupported as error:  # a rule a language cannot express is pinned as such
        actual = f"unsupported: {error.message}\n"
    except SiemcError as error:
        actual = f"error: {error.message}\n"
    if REGENERATE:
        expected_path.parent.mkdir(parents=True, exist_ok=True)
        expected_path.write_text(actual)
    assert expected_path.exists(), f"missing {expected_path}; run `make regen-golden`"
    assert actual == expected_path.read_text()


def test_no_stray_golden_files() -> None:
    stems = {rule.stem for rule in GOLDEN_RULES}
    for target in TARGET_NAMES:
        for path in (GOLDEN / target).glob("*"):
            assert path.stem in stems, f"{path} has no rule in tests/golden/rules"


def test_template_folder_per_target() -> None:
    for target in TARGET_NAMES:
        assert (REPO / "templates" / target / "query.j2").is_file()
