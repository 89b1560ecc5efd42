"""`siemc build` at scale: summary, JSON report, unsupported policy, cache, worker pool, crash isolation.

Small rule folders made here, never the SigmaHQ corpus; no timing assertions (see bench/ for speed).
The build machinery is tested with a stand-in compiler (its results do not move as target mappings
grow); the last tests run the real targets.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from siemc.backends import TARGET_NAMES
from typer.testing import CliRunner

import siemc.compile.build
from siemc.cli import app
from siemc.compile.build import build
from siemc.compile.cache import Toolchain, toolchain_fingerprints
from siemc.compile.rule import Detection
from siemc.diagnostics import SiemcError, Unsupported

RULE = """\
title: {title}
status: test
logsource:
  category: process_creation
  product: {product}
detection:
  selection:
    {field}|endswith: '\\{image}'
  condition: selection
level: low
"""

GOOD = RULE.format(title="Whoami", product="windows", field="Image", image="whoami.exe")
# A log source no target maps: unsupported everywhere.
UNSUPPORTED = RULE.format(title="Nowhere", product="no_such_product", field="Image", image="x.exe")
# A field no target maps: an error on every target.
UNMAPPED = RULE.format(title="Unmapped", product="windows", field="NoSuchFieldAnywhere", image="x.exe")


def fake_compile(detection: Detection, target_name: str) -> tuple[str, str]:
    """Stands in for the targets: converts `Image` rules, rejects the other two kinds."""
    if detection.sigma.logsource.product == "no_such_product":
        raise Unsupported("log source process_creation/no_such_product is not mapped")
    if "NoSuchFieldAnywhere" in detection.text:
        raise SiemcError("field 'NoSuchFieldAnywhere' has no mapping on this target")
    text = f"{target_name}: {detection.sigma.title} {detection.text.split(chr(92))[1].split(chr(39))[0]}\n"
    return text, "FakeSource"


@pytest.fixture(autouse=True)
def compiler(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if not request.node.name.startswith("test_real_"):
        monkeypatch.setattr(siemc.compile.build, "compile_with_source", fake_compile)


def _rules(folder: Path, **rules: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, text in rules.items():
        (folder / f"{stem}.yml").write_text(text, encoding="utf-8")
    return folder


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["build", *args])
    return result.exit_code, result.stdout, result.stderr


def test_summary_counts_converted_unsupported_failed_per_target(tmp_path: Path) -> None:
    rules = _rules(tmp_path / "rules", good=GOOD, nowhere=UNSUPPORTED, unmapped=UNMAPPED)
    code, _, stderr = _invoke(str(rules), "--out", str(tmp_path / "out"), "--no-cache", "--jobs", "1")
    assert code == 1  # the unmapped field is an error
    lines = stderr.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("target ")))
    assert lines[header].split() == ["target", "converted", "unsupported", "failed"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[header + 1 : header + 1 + len(TARGET_NAMES)]}
    assert rows == {name: ["1", "1", "1"] for name in TARGET_NAMES}
    assert lines[-1] == f"{len(TARGET_NAMES)} written, 0 unchanged"


def test_report_lists_every_rule_and_target_in_a_stable_order(tmp_path: Path) -> None:
    rules = _rules(tmp_path / "rules", good=GOOD, nowhere=UNSUPPORTED, unmapped=UNMAPPED)
    out, report = tmp_path / "out", tmp_path / "report.json"
    _invoke(str(rules), "--out", str(out), "--report", str(report), "--target", "spl", "--target", "kql")
    document = json.loads(report.read_text())
    assert document["targets"] == ["kql", "spl"]
    assert document["summary"] == {t: {"converted": 1, "unsupported": 1, "failed": 1} for t in ("kql", "spl")}
    rows = document["rules"]
    assert [(Path(r["rule"]).stem, r["target"]) for r in rows] == [
        ("good", "kql"),
        ("good", "spl"),
        ("nowhere", "kql"),
        ("nowhere", "spl"),
        ("unmapped", "kql"),
        ("unmapped", "spl"),
    ]
    good, nowhere, unmapped = rows[0], rows[2], rows[4]
    assert good["status"] == "converted" and good["output"] == (out / "kql" / "good.kql").as_posix()
    assert good["message"] is None and good["source"] == "FakeSource"  # the source the query selects
    assert nowhere["source"] is None
    assert nowhere["status"] == "unsupported" and "not mapped" in nowhere["message"]
    assert nowhere["output"] is None
    assert unmapped["status"] == "failed" and "NoSuchFieldAnywhere" in unmapped["message"]
    assert isinstance(unmapped["line"], int)
    first = report.read_bytes()
    _invoke(str(rules), "--out", str(out), "--report", str(report), "--target", "kql", "--target", "spl")
    assert report.read_bytes() == first  # cache hits and target order do not change the report


@pytest.mark.parametrize(
    ("policy", "exit_code", "printed"),
    [("ignore", 0, None), ("warn", 0, "[kql] unsupported: "), ("error", 1, "[kql] error: unsupported: ")],
)
def test_unsupported_policy(tmp_path: Path, policy: str, exit_code: int, printed: str | None) -> None:
    rules = _rules(tmp_path / "rules", good=GOOD, nowhere=UNSUPPORTED)
    code, _, stderr = _invoke(
        str(rules), "--out", str(tmp_path / "out"), "-t", "kql", "--unsupported", policy
    )
    assert code == exit_code
    lines = [line for line in stderr.splitlines() if "nowhere.yml" in line]
    if printed is None:
        assert lines == []
    else:
        assert len(lines) == 1 and printed in lines[0]
    assert (tmp_path / "out" / "kql" / "good.kql").is_file()


def test_default_policy_is_warn_and_bad_policy_is_a_usage_error(tmp_path: Path) -> None:
    rules = _rules(tmp_path / "rules", nowhere=UNSUPPORTED)
    code, _, stderr = _invoke(str(rules), "--out", str(tmp_path / "out"), "-t", "kql")
    assert code == 0 and "[kql] unsupported: " in stderr
    code, _, _ = _invoke(str(rules), "--out", str(tmp_path / "out"), "--unsupported", "shout")
    assert code == 2


def test_cache_hit_skips_compiling_and_writing(tmp_path: Path) -> None:
    rules = _rules(tmp_path / "rules", good=GOOD, nowhere=UNSUPPORTED, unmapped=UNMAPPED)
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = build([rules], TARGET_NAMES, out, cache_dir=cache)
    assert first.compiled_rules == 3 and first.cached_rules == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    contents = _tree(out)
    second = build([rules], TARGET_NAMES, out, cache_dir=cache)
    assert second.compiled_rules == 0 and second.cached_rules == 3
    assert _tree(out) == contents
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before
    assert second.written == [] and sorted(second.unchanged) == sorted(first.written)
    # Errors and unsupported results come back from the cache exactly as they were found.
    assert second.diagnostics == first.diagnostics and second.unsupported == first.unsupported
    assert second.outcomes == first.outcomes


def test_cache_recompiles_a_changed_rule_and_a_missing_or_edited_output(tmp_path: Path) -> None:
    rules = _rules(tmp_path / "rules", good=GOOD, other=GOOD.replace("whoami", "net"))
    out, cache = tmp_path / "out", tmp_path / "cache"
    build([rules], ["kql"], out, cache_dir=cache)
    (rules / "good.yml").write_text(GOOD.replace("whoami", "hostname"))
    result = build([rules], ["kql"], out, cache_dir=cache)
    assert (result.compiled_rules, result.cached_rules) == (1, 1)
    assert "hostname.exe" in (out / "kql" / "good.kql").read_text()

    (out / "kql" / "other.kql").unlink()
    result = build([rules], ["kql"], out, cache_dir=cache)
    assert (result.compiled_rules, result.written) == (1, [out / "kql" / "other.kql"])

    (out / "kql" / "other.kql").write_text("edited by hand\n")
    result = build([rules], ["kql"], out, cache_dir=cache, check=True)
    assert result.changed == [out / "kql" / "other.kql"]
    result = build([rules], ["kql"], out, cache_dir=cache)
    assert "net.exe" in (out / "kql" / "other.kql").read_text()


def test_cache_invalidates_when_the_toolchain_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = _rules(tmp_path / "rules", good=GOOD)
    out, cache = tmp_path / "out", tmp_path / "cache"
    build([rules], ["kql", "spl"], out, cache_dir=cache)
    real = toolchain_fingerprints(["kql", "spl"])
    changed = {**real, "kql": "a template changed"}
    monkeypatch.setattr(siemc.compile.build, "toolchain_fingerprints", lambda targets: changed)
    result = build([rules], ["kql", "spl"], out, cache_dir=cache)
    assert result.compiled_rules == 1


def test_fingerprint_follows_the_targets_template_and_module(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for relative in ("siemc/core.py", "backends/__init__.py", "backends/kql.py", "backends/spl.py"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(f"# {relative}\n")
    for name in ("kql", "spl"):
        (root / "templates" / name).mkdir(parents=True)
        (root / "templates" / name / "query.j2").write_text("{{ condition }}\n")
    before = toolchain_fingerprints(["kql", "spl"], root)
    assert before == toolchain_fingerprints(["kql", "spl"], root)

    (root / "templates" / "kql" / "query.j2").write_text("{{ condition }} | take 10\n")
    after_template = toolchain_fingerprints(["kql", "spl"], root)
    assert after_template["kql"] != before["kql"] and after_template["spl"] == before["spl"]

    (root / "backends" / "spl.py").write_text("# changed\n")
    after_module = toolchain_fingerprints(["kql", "spl"], root)
    assert after_module["spl"] != after_template["spl"] and after_module["kql"] == after_template["kql"]

    (root / "siemc" / "core.py").write_text("# shared code changed\n")
    after_shared = toolchain_fingerprints(["kql", "spl"], root)
    assert all(after_shared[t] != after_module[t] for t in ("kql", "spl"))


def _write_files(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)


def test_fingerprint_is_the_same_in_an_installed_layout_and_ignores_the_scaffold(tmp_path: Path) -> None:
    """A wheel puts backends/, templates/ and the example rules inside the siemc package, and the
    interpreter leaves __pycache__ folders there: the fingerprint of the same files is the same."""
    code = {"siemc/__init__.py": "", "siemc/core.py": "# core\n", "siemc/scaffold/siemc.yml": "# init\n"}
    data = {
        "backends/__init__.py": "",
        "backends/kql.py": "# kql\n",
        "backends/mappings/kql.yml": "target: kql\n",
        "templates/kql/query.j2": "{{ condition }}\n",
        "templates/spl/query.j2": "{{ condition }}\n",
    }
    source = tmp_path / "repo"
    _write_files(source, {**code, **data, "detections/rule.yml": "title: example\n"})
    installed = tmp_path / "site-packages"
    _write_files(installed, {**code, **{f"siemc/{name}": text for name, text in data.items()}})
    _write_files(installed, {"siemc/scaffold/detections/rule.yml": "title: example\n"})
    _write_files(
        installed, {"siemc/__pycache__/core.cpython-311.pyc": "x", "siemc/backends/__pycache__/k.pyc": "x"}
    )
    package = installed / "siemc"
    in_wheel = Toolchain(package, package / "backends", package / "templates", None)
    expected = toolchain_fingerprints(["kql", "spl"], source)
    assert toolchain_fingerprints(["kql", "spl"], toolchain=in_wheel) == expected

    (package / "scaffold" / "siemc.yml").write_text("# init, edited\n")
    (package / "scaffold" / "detections" / "rule.yml").write_text("title: edited\n")
    assert toolchain_fingerprints(["kql", "spl"], toolchain=in_wheel) == expected
    (package / "templates" / "kql" / "query.j2").write_text("{{ condition }} | take 1\n")
    changed = toolchain_fingerprints(["kql", "spl"], toolchain=in_wheel)
    assert changed["kql"] != expected["kql"] and changed["spl"] == expected["spl"]


def test_jobs_do_not_change_the_output(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path / "rules",
        **{f"rule{i:02d}": GOOD.replace("whoami", f"tool{i}") for i in range(12)},
        nowhere=UNSUPPORTED,
        unmapped=UNMAPPED,
    )
    serial = build([rules], TARGET_NAMES, tmp_path / "one", jobs=1)
    parallel = build([rules], TARGET_NAMES, tmp_path / "two", jobs=2)
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")
    assert [(o.rule, o.target, o.status, o.message) for o in serial.outcomes] == [
        (o.rule, o.target, o.status, o.message) for o in parallel.outcomes
    ]
    assert [str(d) for d in serial.diagnostics] == [str(d) for d in parallel.diagnostics]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_crash_fails_one_rule_on_one_target_and_the_build_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    real = siemc.compile.build.compile_with_source

    def crashing(detection: Detection, target_name: str) -> tuple[str, str]:
        if detection.stem == "crash" and target_name == "kql":
            raise RuntimeError("boom")
        return real(detection, target_name)

    monkeypatch.setattr(siemc.compile.build, "compile_with_source", crashing)
    rules = _rules(tmp_path / "rules", crash=GOOD, good=GOOD.replace("whoami", "net"))
    out, cache = tmp_path / "out", tmp_path / "cache"
    result = build([rules], TARGET_NAMES, out, jobs=jobs, cache_dir=cache)
    assert [str(d) for d in result.diagnostics] == [
        f"{rules / 'crash.yml'}: [kql] error: internal error: RuntimeError: boom"
    ]
    assert not (out / "kql" / "crash.kql").exists()
    assert (out / "spl" / "crash.spl").is_file() and (out / "kql" / "good.kql").is_file()
    assert result.summary()["kql"] == {"converted": 1, "unsupported": 0, "failed": 1}
    # A crash is never cached: the next build tries that rule again.
    again = build([rules], TARGET_NAMES, out, jobs=jobs, cache_dir=cache)
    assert (again.compiled_rules, again.cached_rules) == (1, 1)


def test_same_stem_in_two_folders_is_built_once(tmp_path: Path) -> None:
    _rules(tmp_path / "rules" / "a", same=GOOD)
    _rules(tmp_path / "rules" / "b", same=GOOD.replace("whoami", "net"))
    out = tmp_path / "out"
    result = build([tmp_path / "rules"], ["kql"], out, jobs=2, cache_dir=tmp_path / "cache")
    assert "whoami.exe" in (out / "kql" / "same.kql").read_text()
    assert len(result.diagnostics) == 1 and "is also built from" in result.diagnostics[0].message


def test_real_targets_give_the_same_bytes_with_one_or_two_jobs_and_from_the_cache(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path / "rules",
        **{f"rule{i:02d}": GOOD.replace("whoami", f"tool{i}") for i in range(6)},
        nowhere=UNSUPPORTED,
    )
    serial = build([rules], TARGET_NAMES, tmp_path / "one", jobs=1)
    parallel = build([rules], TARGET_NAMES, tmp_path / "two", jobs=2, cache_dir=tmp_path / "cache")
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")
    assert [(o.target, o.status, o.message) for o in serial.outcomes] == [
        (o.target, o.status, o.message) for o in parallel.outcomes
    ]
    again = build([rules], TARGET_NAMES, tmp_path / "two", jobs=2, cache_dir=tmp_path / "cache")
    assert again.compiled_rules == 0 and again.written == []
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")


def test_a_second_build_in_one_process_recreates_a_removed_output_folder(tmp_path: Path) -> None:
    rules = _rules(tmp_path / "rules", good=GOOD)
    out = tmp_path / "out"
    build([rules], ["kql"], out, jobs=1)
    shutil.rmtree(out)
    result = build([rules], ["kql"], out, jobs=1)
    assert result.ok and (out / "kql" / "good.kql").is_file()
