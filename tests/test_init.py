"""`siemc init`: the files it writes, that siemc.yml loads as written and with every example enabled,
that the example rules are the repository's own, and that it never overwrites a file unasked."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from siemc.backends import TARGET_NAMES
from typer.testing import CliRunner

import siemc.compile.mappings as mappings_module
import siemc.config as config_module
from siemc import __version__
from siemc.cli import app
from siemc.compile.build import build, compile_detection
from siemc.compile.rule import load_rule
from siemc.compile.site import check_site
from siemc.config import load_config
from siemc.init import scaffold_files
from tests.conftest import REPO

EXPECTED_FILES = {
    "siemc.yml",
    ".gitignore",
    "filters/helpdesk_teamviewer.yml",
    "lists/rmm_tools.txt",
    "pipelines/common.yml",
    "pipelines/splunk.yml",
    ".github/workflows/detections.yml",
    ".github/workflows/release.yml",
}
T1219_ID = "0b7a6a3e-5f1c-4c7e-9a55-2b1d8f7e1219"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _example_rules() -> dict[str, bytes]:
    """The repository's detections/ as `siemc init` ships it: the rules, their lock and the catalog's list
    files they read; the rest of the remote access tool catalog (its tool files, the importer's report) is
    the repository's content data, and detections/siemc.yml goes into the new siemc.yml."""
    return {
        name: data
        for name, data in _tree(REPO / "detections").items()
        if (not name.startswith("catalog/") or name.startswith("catalog/lists/")) and name != "siemc.yml"
    }


PACK_PLACEHOLDERS = {
    "rat_file_names",
    "rat_name_patterns",
    "rat_generic_file_paths",
    "rat_original_file_names",
    "rat_service_names",
    "rat_domains",
    "rat_artefact_files",
}


def enable_every_example(text: str) -> str:
    """siemc.yml with every example line ("# " + YAML) uncommented; "##" lines explain and stay."""
    lines = []
    for line in text.splitlines():
        if line.startswith("# "):
            line = line[2:]
        elif line == "#":
            line = ""
        lines.append(line)
    return "\n".join(lines) + "\n"


@pytest.fixture()
def repository(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    result = CliRunner().invoke(app, ["init", str(root)])
    assert result.exit_code == 0, result.output
    return root


def test_init_writes_a_repository(repository: Path) -> None:
    written = set(_tree(repository))
    assert written >= EXPECTED_FILES
    assert {name for name in written if name.startswith("detections/")} == {
        f"detections/{name}" for name in _example_rules()
    }
    assert "detections/version.lock.json" in written
    assert written == EXPECTED_FILES | {n for n in written if n.startswith("detections/")}


def test_the_example_rules_are_the_repositorys_detections_byte_for_byte(repository: Path) -> None:
    assert _tree(repository / "detections") == _example_rules()


def test_the_filter_names_the_t1219_rule(repository: Path) -> None:
    rule = (repository / "detections" / "t1219_remote_access_tools.yml").read_text(encoding="utf-8")
    assert re.search(rf"^id: {T1219_ID}$", rule, re.M)
    assert T1219_ID in (repository / "filters" / "helpdesk_teamviewer.yml").read_text(encoding="utf-8")


def test_siemc_yml_loads_as_written_and_changes_nothing(repository: Path) -> None:
    site = load_config(repository / "siemc.yml")
    check_site(site)
    assert not site.sources and not site.fields and not site.pipelines and not site.target_pipelines
    assert not site.filters
    # The only active key: the T1219 pack's lists, as this repository's detections/siemc.yml gives them.
    assert set(site.placeholders) == PACK_PLACEHOLDERS
    ours = load_config(REPO / "detections" / "siemc.yml")
    assert {n: site.placeholders[n] for n in PACK_PLACEHOLDERS} == dict(ours.placeholders)
    assert site.placeholder_labels == ours.placeholder_labels
    default = compile_detection(load_rule(REPO / "detections" / "t1219_remote_access_tools.yml", ours), "kql")
    rule = load_rule(repository / "detections" / "t1219_remote_access_tools.yml", site)
    assert compile_detection(rule, "kql").split("\n", 2)[2] == default.split("\n", 2)[2]


def test_siemc_yml_shows_every_key(repository: Path) -> None:
    """Every key of the format is in an example or, for a source entry's keys, explained; a key the
    format gains fails here until siemc.yml shows it."""
    text = (repository / "siemc.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(enable_every_example(text))
    assert set(data) == set(config_module._TOP_KEYS)
    assert set(data["targets"]) == set(TARGET_NAMES)  # one example per target
    assert {key for block in data["targets"].values() for key in block} == set(config_module._TARGET_KEYS)
    forms = {
        kind
        for spec in data["placeholders"].values()
        for kind in (["values"] if isinstance(spec, list) else spec)
    }
    assert forms == set(config_module._PLACEHOLDER_KEYS)
    explained = "\n".join(line for line in text.splitlines() if line.startswith("##"))
    for key in (*sorted(mappings_module._SOURCE_KEYS), "candidates"):
        assert re.search(rf"\b{key}\b", explained), key
    # Each key's default is stated: targets, sources, fields, pipelines (2), list_folder,
    # windows_events, placeholders, filters.
    assert explained.count("Default: none") == 9


def test_siemc_yml_loads_with_every_example_enabled(repository: Path) -> None:
    config = repository / "siemc.yml"
    config.write_text(enable_every_example(config.read_text(encoding="utf-8")), encoding="utf-8")
    site = load_config(config)
    check_site(site)
    assert sorted(site.sources) == ["eql", "kql", "logscale", "spl", "sumo", "yaral"]
    assert sorted(site.fields) == ["aql", "spl"]
    assert len(site.pipelines) == 1 and list(site.target_pipelines) == ["spl"]
    assert len(site.placeholders) == 6 + len(PACK_PLACEHOLDERS) and len(site.filters) == 1


def test_every_targets_example_changes_the_line_it_names(repository: Path) -> None:
    """Each `targets.<t>:` example says which line of the T1219 output it changes: so it does."""
    config = repository / "siemc.yml"
    text = enable_every_example(config.read_text(encoding="utf-8"))
    config.write_text(text, encoding="utf-8")
    site = load_config(config)
    check_site(site)
    rule = load_rule(repository / "detections" / "t1219_remote_access_tools.yml", site)
    expected = {
        "kql": '| where DeviceName !startswith "LAB-"',
        "spl": "index=win sourcetype=xmlwineventlog EventCode=1",
        "eql": 'process where host.os.type == "windows" and event.type == "start" '
        'and event.module == "endpoint" and',
        "aql": '"Process CommandLine",',
        "sumo": "_index=sec_record_endpoint_emea",
        "yaral": '$e.metadata.log_type = "WINDOWS_SYSMON"',
        "logscale": "#repo=falcon #event_simpleName=ProcessRollup2 event_platform=Win",
    }
    for target, line in expected.items():
        assert line in compile_detection(rule, target), target
    # The filter, enabled with the rest, now applies to the T1219 rule (README: KQL's last line).
    assert 'not(DeviceName startswith "HD-"' in compile_detection(rule, "kql")


def test_the_repository_builds_and_its_tests_pass(repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repository)
    result = CliRunner().invoke(app, ["build", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    for path in sorted((REPO / "build").rglob("*.*")):
        assert (repository / "build" / path.relative_to(REPO / "build")).read_bytes() == path.read_bytes()
    result = CliRunner().invoke(app, ["test", "--reference-only"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["lock", "--check"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["bundle", "--version", "v1.0.0", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert (repository / "dist" / "siemc-v1.0.0.tar.gz").is_file()
    assert (repository / "dist" / "siemc-v1.0.0.zip").is_file()


def test_gitignore_keeps_the_build_output_and_the_cache_out(repository: Path, tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", str(repository)], check=True, env=env)
    build([repository / "detections"], ["kql"], repository / "build", cache_dir=repository / ".siemc-cache")
    listed = subprocess.run(
        ["git", "-C", str(repository), "status", "--porcelain", "--untracked-files=all"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    names = {line[3:] for line in listed.splitlines()}
    assert names == {f.path.as_posix() for f in scaffold_files()}


def test_the_workflows_install_this_version_and_run_every_step(repository: Path) -> None:
    workflows = repository / ".github" / "workflows"
    for name in ("detections.yml", "release.yml"):
        text = (workflows / name).read_text(encoding="utf-8")
        assert f"SIEMC: siemc=={__version__}\n" in text and "@SIEMC_VERSION@" not in text
    pull_request = (workflows / "detections.yml").read_text(encoding="utf-8")
    for step in ("siemc validate detections", "siemc lock --check", "siemc build", "siemc test"):
        assert f"run: {step}" in pull_request, step
    assert "run: siemc diff HEAD^1 HEAD --format markdown > siemc-diff.md || [ $? -eq 1 ]" in pull_request
    assert "gh pr comment" in pull_request and "pull-requests: write" in pull_request
    release = (workflows / "release.yml").read_text(encoding="utf-8")
    assert "run: siemc lock --check" in release
    assert 'siemc bundle --version "$GITHUB_REF_NAME"' in release
    assert 'siemc diff "$previous" HEAD --format markdown > changes.md || [ $? -eq 1 ]' in release


def test_the_pull_request_diff_step_runs_in_the_repository(repository: Path, tmp_path: Path) -> None:
    """The workflow's `siemc diff HEAD^1 HEAD --format markdown`, run where it runs: a git repository
    whose last commit changes a rule."""
    work = tmp_path / "work"
    shutil.copytree(repository, work)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=work, check=True)
    subprocess.run([*git, "add", "-A"], cwd=work, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "rules"], cwd=work, check=True)
    rule = work / "detections" / "t1219_remote_access_tools.yml"
    rule.write_text(
        rule.read_text(encoding="utf-8").replace("title: Remote Access Tool Execution", "title: RAT Run"),
        encoding="utf-8",
    )
    subprocess.run([*git, "commit", "-q", "-am", "retitle the rule"], cwd=work, check=True)
    siemc = Path(sys.executable).parent / "siemc"
    done = subprocess.run(
        [str(siemc), "diff", "HEAD^1", "HEAD", "--format", "markdown"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    assert "detections/t1219_remote_access_tools.yml" in done.stdout and "changed" in done.stdout


def test_the_workflows_pass_the_github_workflow_schema(repository: Path) -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    workflows = sorted((repository / ".github" / "workflows").glob("*.yml"))
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", *map(str, workflows)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    """The check above can fail: a job without `runs-on` is not a workflow."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    steps:\n      - run: true\n", encoding="utf-8")
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stdout + result.stderr


# -- refusing to overwrite -------------------------------------------------------------------------------


def test_init_refuses_to_overwrite_and_names_each_file(repository: Path) -> None:
    (repository / "siemc.yml").write_text("placeholders: {mine: [a]}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["init", str(repository)])
    assert result.exit_code == 2
    assert "--force" in result.output
    for name in (
        "siemc.yml",
        ".gitignore",
        ".github/workflows/release.yml",
        "detections/t1219_remote_access_tools.yml",
    ):
        assert f"  {repository / name}\n" in result.output, name
    assert (repository / "siemc.yml").read_text(encoding="utf-8") == "placeholders: {mine: [a]}\n"


def test_init_names_only_the_files_that_exist(tmp_path: Path) -> None:
    (tmp_path / "detections").mkdir()
    (tmp_path / "detections" / "t1219_remote_access_tools.yml").write_text("mine\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("mine\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert "1 file(s) exist" in result.output
    assert f"  {tmp_path / 'detections' / 't1219_remote_access_tools.yml'}\n" in result.output
    assert not (tmp_path / "siemc.yml").exists()  # nothing is written when anything is refused


def test_force_overwrites(repository: Path) -> None:
    (repository / "siemc.yml").write_text("placeholders: {mine: [a]}\n", encoding="utf-8")
    (repository / "notes.txt").write_text("mine\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["init", str(repository), "--force"])
    assert result.exit_code == 0, result.output
    assert (repository / "siemc.yml").read_bytes() == next(
        f.content for f in scaffold_files() if f.path.as_posix() == "siemc.yml"
    )
    assert (repository / "notes.txt").read_text(encoding="utf-8") == "mine\n"


def test_a_non_empty_folder_without_conflicts_is_fine(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# our rules\n", encoding="utf-8")
    (tmp_path / "detections").mkdir()
    (tmp_path / "detections" / "ours.yml").write_text("title: ours\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "# our rules\n"
    assert (tmp_path / "detections" / "ours.yml").read_text(encoding="utf-8") == "title: ours\n"
    assert (tmp_path / "siemc.yml").is_file()


def test_a_path_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "rules"
    target.write_text("not a folder\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["init", str(target)])
    assert result.exit_code == 2
    assert f"error: {target} is a file, not a folder" in result.output
    assert target.read_text(encoding="utf-8") == "not a folder\n"


def test_a_file_where_a_folder_is_needed_is_an_error_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "filters").write_text("a file\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["init", str(tmp_path), "--force"])
    assert result.exit_code == 2
    assert f"{tmp_path / 'filters'} is a file, not a folder" in result.output
    assert not (tmp_path / "siemc.yml").exists()


def test_init_without_a_folder_writes_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "siemc.yml").is_file() and (
        tmp_path / ".github" / "workflows" / "release.yml"
    ).is_file()
