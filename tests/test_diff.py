"""siemc diff: the queries generated at two revisions of a git repository, compared output by output.

One temporary repository holds a short history, one tag per kind of change (a rule edited, added,
removed, made unsupported; the site configuration changed); clones of it hold uncommitted changes.
Every comparison shares the repository's cache, as a reviewer's repeated runs do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from siemc.backends import TARGET_NAMES
from typer.testing import CliRunner

from siemc.cli import app
from siemc.review.diff import COMMENT_LIMIT, KINDS, unified

REPO = Path(__file__).resolve().parent.parent
GIT_IDENTITY = [
    "-c",
    "user.name=siemc tests",
    "-c",
    "user.email=tests@siemc.invalid",
    "-c",
    "commit.gpgsign=false",
]


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=folder, capture_output=True, text=True, check=True
    )
    return done.stdout


def _commit(folder: Path, message: str, tag: str | None = None) -> None:
    _git(folder, "add", "-A")
    _git(folder, "commit", "-q", "-m", message)
    if tag:
        _git(folder, "tag", tag)


def _rule(title: str, number: int, selection: str) -> str:
    """A process-creation rule; `selection` is the body of its one selection (lines at its indent)."""
    body = "\n".join(f"    {line}" for line in selection.splitlines())
    return (
        f"title: {title}\nid: 00000000-0000-4000-8000-{number:012d}\nstatus: test\n"
        "logsource: {category: process_creation, product: windows}\n"
        f"detection:\n  selection:\n{body}\n  condition: selection\nlevel: low\n"
    )


def _write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


SITE_BASE = "targets:\n  spl:\n    fields: {Computer: host}\n"
SITE_HEAD = (
    "targets:\n  spl:\n    fields: {Computer: host}\n    sources:\n"
    "      - logsource: category=process_creation product=windows\n"
    "        selector: index=win EventCode=1\n"
)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main: v-base, then one commit per kind of change, each tagged."""
    repo = tmp_path_factory.mktemp("history")
    _git(repo, "init", "-q", "-b", "main")
    _write(repo, "detections/whoami.yml", _rule("Whoami", 1, "Image|endswith: '\\whoami.exe'"))
    _write(repo, "detections/cmd.yml", _rule("Cmd", 2, "Image|endswith: '\\cmd.exe'"))
    _write(repo, "detections/gone.yml", _rule("Net", 3, "Image|endswith: '\\net.exe'"))
    _write(repo, "siemc.yml", SITE_BASE)
    _commit(repo, "base", "v-base")
    _write(repo, "detections/whoami.yml", _rule("Whoami", 1, "Image|endswith: '\\whoami2.exe'"))
    _commit(repo, "edit a rule", "v-edit")
    _write(repo, "detections/new.yml", _rule("Mimikatz", 4, "CommandLine|contains: mimikatz"))
    _commit(repo, "add a rule", "v-add")
    (repo / "detections" / "gone.yml").unlink()
    _commit(repo, "remove a rule", "v-remove")
    _write(repo, "detections/cmd.yml", _rule("Cmd", 2, "Image|fieldref: ParentImage"))
    _commit(repo, "a field reference: EQL cannot compare two fields", "v-unsupported")
    _write(repo, "siemc.yml", SITE_HEAD)
    _commit(repo, "the site's Splunk index", "v-config")
    return repo


def _diff(folder: Path, *args: str) -> tuple[int, str, str]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(app, ["diff", *args])
    finally:
        os.chdir(previous)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _json(folder: Path, *args: str) -> dict:  # type: ignore[type-arg]
    code, out, err = _diff(folder, *args, "--format", "json")
    assert code in (0, 1), err
    document = json.loads(out)
    assert (code == 1) == bool(document["changes"])
    return document  # type: ignore[no-any-return]


def _kinds(document: dict) -> set[tuple[str, str, str]]:  # type: ignore[type-arg]
    return {(c["rule"], c["target"], c["kind"]) for c in document["changes"]}


def _clone(history: Path, folder: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(history), str(folder)], check=True, capture_output=True)
    _git(folder, "checkout", "-q", "-b", "feature")
    return folder


# -- kinds of change -----------------------------------------------------------------------------------


def test_an_edited_rule_changes_its_outputs_and_only_those(history: Path) -> None:
    code, out, err = _diff(history, "v-base", "v-edit")
    assert code == 1, err
    assert (
        "siemc diff: detections/whoami.yml [kql] changed\n--- a/kql/whoami.kql\n+++ b/kql/whoami.kql\n" in out
    )
    assert '-| where FileName =~ "whoami.exe"\n+| where FileName =~ "whoami2.exe"\n' in out
    # The header names the rule by its path in the repository, identical on both sides.
    assert " // ATT&CK: - | Severity: low | Rule: detections/whoami.yml\n" in out
    document = _json(history, "v-base", "v-edit")
    assert _kinds(document) == {("detections/whoami.yml", t, "changed") for t in TARGET_NAMES}
    assert (
        document["base"]["config"] == "v-base:siemc.yml" and document["head"]["config"] == "v-edit:siemc.yml"
    )


def test_a_new_rule_is_added_and_a_deleted_one_removed(history: Path) -> None:
    added = _json(history, "v-edit", "v-add")
    assert _kinds(added) == {("detections/new.yml", t, "added") for t in TARGET_NAMES}
    change = added["changes"][0]
    assert change["base"] == {"status": "absent", "message": None}
    assert change["diff"].startswith("--- /dev/null\n+++ b/kql/new.kql\n@@ -0,0 +1,")
    removed = _json(history, "v-add", "v-remove")
    assert _kinds(removed) == {("detections/gone.yml", t, "removed") for t in TARGET_NAMES}
    assert removed["changes"][0]["diff"].startswith("--- a/kql/gone.kql\n+++ /dev/null\n")


def test_a_rule_made_unsupported_on_a_target_says_why(history: Path) -> None:
    document = _json(history, "v-remove", "v-unsupported")
    kinds = {target: kind for _, target, kind in _kinds(document)}
    assert kinds["eql"] == "newly_unsupported"
    assert kinds["kql"] == kinds["spl"] == kinds["aql"] == "changed"
    eql = next(c for c in document["changes"] if c["target"] == "eql")
    assert eql["head"]["status"] == "unsupported" and "compare two fields" in eql["head"]["message"]
    assert eql["diff"].startswith("--- a/eql/cmd.eql\n+++ /dev/null\n")
    code, out, _ = _diff(history, "v-remove", "v-unsupported", "--target", "eql")
    assert code == 1
    assert out.startswith(
        "siemc diff: detections/cmd.yml [eql] newly unsupported: EQL cannot compare two fields"
    )
    # The other way round, the rule is newly converted, with the reason it was not before.
    back = _json(history, "v-unsupported", "v-remove", "--target", "eql")
    assert _kinds(back) == {("detections/cmd.yml", "eql", "newly_converted")}
    assert back["changes"][0]["base"]["status"] == "unsupported"


def test_a_site_configuration_change_at_head_changes_every_output_it_applies_to(history: Path) -> None:
    document = _json(history, "v-unsupported", "v-config")
    rules = {"detections/cmd.yml", "detections/new.yml", "detections/whoami.yml"}
    assert _kinds(document) == {(rule, "spl", "changed") for rule in rules}
    assert all("+index=win EventCode=1" in c["diff"] for c in document["changes"])


def test_config_overrides_both_revisions(history: Path, tmp_path: Path) -> None:
    config = tmp_path / "site.yml"
    config.write_text(SITE_BASE, encoding="utf-8")
    document = _json(history, "v-unsupported", "v-config", "--config", str(config))
    assert document["changes"] == []
    assert document["base"]["config"] == document["head"]["config"] == str(config.resolve())


def test_paths_limit_the_comparison(history: Path) -> None:
    document = _json(history, "v-base", "v-add", "detections/new.yml")
    assert {c["rule"] for c in document["changes"]} == {"detections/new.yml"}
    assert document["paths"] == ["detections/new.yml"]


def test_a_broken_rule_is_newly_failed_and_a_rule_no_target_converts_changes_status(
    history: Path, tmp_path: Path
) -> None:
    clone = _clone(history, tmp_path / "statuses")
    _write(clone, "detections/broken.yml", "title: Broken\ndetection: [\n")
    file_access = _rule("Secret read", 6, "TargetFilename|endswith: '\\secret.txt'")
    _write(clone, "detections/secret.yml", file_access.replace("process_creation", "file_access"))
    document = _json(clone)
    broken = [c for c in document["changes"] if c["rule"] == "detections/broken.yml"]
    assert {c["kind"] for c in broken} == {"newly_failed"} and len(broken) == len(TARGET_NAMES)
    assert broken[0]["base"]["status"] == "absent" and broken[0]["head"]["status"] == "failed"
    assert broken[0]["diff"] is None
    secret = {c["target"]: c for c in document["changes"] if c["rule"] == "detections/secret.yml"}
    # No query on KQL at either revision (the log source is unmapped there): its status changed.
    assert secret["kql"]["kind"] == "status_changed" and secret["kql"]["diff"] is None
    assert "is not mapped" in secret["kql"]["head"]["message"]
    assert secret["eql"]["kind"] == "added"
    code, out, _ = _diff(clone, "--target", "kql")
    assert code == 1
    assert "siemc diff: detections/broken.yml [kql] newly failed: " in out
    assert "siemc diff: detections/secret.yml [kql] status changed: absent -> unsupported: log source" in out


def test_a_site_file_named_in_a_message_is_the_same_file_on_both_sides(tmp_path: Path) -> None:
    """siemc names a filter by its full path: the extracted revision's and the working tree's differ."""
    repo = tmp_path / "filtered"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _write(repo, "siemc.yml", "filters: [filters/*.yml]\n")
    _write(
        repo,
        "filters/integrity.yml",
        "title: Low integrity is fine\nlogsource: {category: process_creation, product: windows}\n"
        "filter:\n  rules: any\n  low:\n    NoSuchColumn: Low\n  condition: not low\n",
    )
    _write(repo, "detections/whoami.yml", _rule("Whoami", 1, "Image|endswith: '\\whoami.exe'"))
    _write(repo, "detections/cmd.yml", _rule("Cmd", 2, "Image|endswith: '\\cmd.exe'"))
    _commit(repo, "rules and a filter")
    _write(repo, "detections/whoami.yml", _rule("Whoami", 1, "Image|endswith: '\\whoami2.exe'"))
    document = _json(repo, "main")
    # Only the edited rule, only where it has a query: on a target whose sources lack the filter's
    # field (KQL's fixed columns, at least) the rule is unsupported with the same message on both sides.
    assert {c["rule"] for c in document["changes"]} == {"detections/whoami.yml"}
    assert {c["kind"] for c in document["changes"]} == {"changed"}
    code, out, _ = _diff(repo, "main", "--target", "kql", "--format", "json")
    assert code == 0 and json.loads(out)["changes"] == []


def test_an_output_named_in_a_message_is_the_same_output_on_both_sides(history: Path, tmp_path: Path) -> None:
    """Two rules with one stem: the second fails naming the first's output, by its build folder."""
    clone = _clone(history, tmp_path / "stems")
    _write(clone, "detections/more/cmd.yml", _rule("Cmd again", 7, "Image|endswith: '\\cmd2.exe'"))
    _commit(clone, "a second cmd.yml")
    _write(clone, "detections/whoami.yml", _rule("Whoami", 1, "Image|endswith: '\\whoami4.exe'"))
    document = _json(clone, "HEAD")
    assert {c["rule"] for c in document["changes"]} == {"detections/whoami.yml"}


def test_a_missing_final_newline_is_shown_as_git_shows_it() -> None:
    text, added, removed = unified("a\nb", "a\nc\n", "a/x", "b/x")
    assert text == "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n"
    assert (added, removed) == (1, 1)


# -- the working tree ------------------------------------------------------------------------------------


def _state(folder: Path) -> tuple[str, bytes]:
    return _git(folder, "status", "--porcelain", "--untracked-files=all"), (
        folder / ".git" / "index"
    ).read_bytes()


def test_uncommitted_changes_are_compared_and_the_working_tree_and_index_stay_untouched(
    history: Path, tmp_path: Path
) -> None:
    clone = _clone(history, tmp_path / "clone")
    _write(clone, "detections/whoami.yml", _rule("Whoami", 1, "Image|endswith: '\\whoami3.exe'"))  # unstaged
    _write(clone, "detections/new.yml", _rule("Mimikatz", 4, "CommandLine|contains: sekurlsa"))
    _git(clone, "add", "detections/new.yml")  # staged
    _write(clone, "detections/untracked.yml", _rule("Untracked", 5, "Image|endswith: '\\at.exe'"))
    before = _state(clone)
    # The default BASE: the merge base of HEAD with origin/HEAD (main); HEAD: the working tree.
    document = _json(clone)
    assert document["base"]["commit"] == _git(clone, "rev-parse", "v-config").strip()
    assert document["base"]["label"].endswith("(merge base of HEAD and origin/HEAD)")
    assert document["head"] == {
        "commit": None,
        "config": "siemc.yml",
        "label": "working tree",
        "revision": None,
        "rules": 4,
        "toolchain": "current",
    }
    kinds = _kinds(document)
    assert {(r, k) for r, _, k in kinds} == {
        ("detections/whoami.yml", "changed"),
        ("detections/new.yml", "changed"),
        ("detections/untracked.yml", "added"),
    }
    for options in ([], ["--stat"], ["--format", "markdown"], ["--toolchain-too"]):
        assert _diff(clone, *options)[0] == 1
    assert _state(clone) == before


# -- formats -------------------------------------------------------------------------------------------


def test_stat_prints_one_line_per_output_file(history: Path) -> None:
    code, out, _ = _diff(history, "v-edit", "v-unsupported", "--stat")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 7 * 3 + 1
    assert lines[0].split() == ["kql/cmd.kql", "detections/cmd.yml", "changed", "+1", "-1"]
    assert lines[2].split() == ["eql/cmd.eql", "detections/cmd.yml", "newly", "unsupported", "+0", "-3"]
    assert lines[-1] == "21 output(s) of 3 rule(s) differ: 5 changed, 7 added, 7 removed, 2 newly unsupported"
    # The JSON form of --stat keeps every entry, without the diffs.
    document = _json(history, "v-edit", "v-unsupported", "--stat")
    assert len(document["changes"]) == 21 and all(c["diff"] is None for c in document["changes"])


def test_markdown_is_a_pull_request_comment(history: Path) -> None:
    code, out, _ = _diff(history, "v-edit", "v-unsupported", "--format", "markdown")
    assert code == 1
    assert out.startswith("### siemc diff: `v-edit` (")
    assert "**21 output(s) of 3 rule(s) differ: 5 changed, 7 added, 7 removed, 2 newly unsupported**" in out
    assert "| newly unsupported |  |  | 1 |  |  |  | 1 | 2 |" in out
    assert "| `detections/gone.yml` | removed | removed | removed |" in out
    assert out.count("<details>") == out.count("</details>") == 21
    assert "```diff\n--- a/kql/cmd.kql\n" in out
    # SPL comments are ``` ... ```: the fence around an SPL diff is longer.
    assert "````diff\n--- a/spl/cmd.spl\n" in out
    assert len(out) < COMMENT_LIMIT
    code, stat, _ = _diff(history, "v-edit", "v-unsupported", "--format", "markdown", "--stat")
    assert "<details>" not in stat and "| `detections/cmd.yml` |" in stat


def test_json_is_stable_and_documented(history: Path) -> None:
    code, out, _ = _diff(history, "v-edit", "v-unsupported", "--format", "json")
    assert code == 1
    document = json.loads(out)
    assert out == json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    assert set(document) == {"format", "base", "head", "paths", "targets", "summary", "changes", "notes"}
    assert document["format"] == "siemc-diff/1"
    assert document["paths"] == ["detections"] and document["targets"] == list(TARGET_NAMES)
    assert document["summary"] == {
        "outputs": 21,
        "rules": 3,
        "kinds": {**dict.fromkeys(KINDS, 0), "changed": 5, "added": 7, "removed": 7, "newly_unsupported": 2},
    }
    assert set(document["base"]) == {"revision", "commit", "label", "toolchain", "config", "rules"}
    for change in document["changes"]:
        assert set(change) == {
            "rule", "target", "kind", "file", "base", "head", "lines_added", "lines_removed", "diff"
        }  # fmt: skip
    order = [(c["rule"], TARGET_NAMES.index(c["target"])) for c in document["changes"]]
    assert order == sorted(order)
    assert _diff(history, "v-edit", "v-unsupported", "--format", "json")[1] == out  # deterministic


def test_a_big_markdown_diff_is_cut_below_the_comment_limit(history: Path, tmp_path: Path) -> None:
    clone = _clone(history, tmp_path / "big")
    values = "\n".join(f"  - '\\tool-with-a-long-name-{i:04d}.exe'" for i in range(40))
    for number in range(40):
        _write(
            clone,
            f"detections/bulk/rule{number:02d}.yml",
            _rule(f"Bulk {number}", 100 + number, f"Image|endswith:\n{values}"),
        )
    huge = "\n".join(f"  - 'x{i:05d}-a-value-long-enough-to-fill-a-line'" for i in range(600))
    _write(clone, "detections/bulk/huge.yml", _rule("Huge", 999, f"CommandLine|contains:\n{huge}"))
    _commit(clone, "many rules")
    code, out, _ = _diff(clone, "HEAD~1", "HEAD", "--format", "markdown")
    assert code == 1
    assert len(out) < COMMENT_LIMIT
    assert "**287 output(s) of 41 rule(s) differ: 287 added**" in out
    kept = out.count("<details>")
    assert 0 < kept < 287
    assert out.rstrip().endswith(
        f"_{287 - kept} of 287 diffs left out to stay under GitHub's comment limit (65,536 characters): "
        "`siemc diff` prints them all._"
    )
    # A diff too long for a comment is cut where it is shown (the huge rule sorts first).
    first = out[out.index("<details>") : out.index("</details>")]
    assert "huge.yml" in first and "run `siemc diff` for all of it" in first


# -- exit codes and errors -------------------------------------------------------------------------------


def test_no_change_exits_0_and_prints_nothing(history: Path) -> None:
    code, out, err = _diff(history, "v-config", "v-config")
    assert (code, out) == (0, "")
    assert "no generated query changes" in err
    code, out, _ = _diff(history, "v-config", "v-config", "--format", "markdown")
    assert code == 0 and "No generated query changes (3 rule(s) on 7 target(s) compared)." in out


def test_errors_exit_2(history: Path, tmp_path: Path) -> None:
    code, _, err = _diff(history, "no-such-revision")
    assert code == 2 and "no-such-revision: unknown revision, and no such file or folder" in err
    code, _, err = _diff(history, "v-base", "v-config", "no/such/folder")
    assert code == 2 and "no/such/folder: no such file or folder at v-base" in err
    outside = tmp_path / "not-a-repository"
    outside.mkdir()
    code, _, err = _diff(outside, "main")
    assert code == 2 and "not a git repository" in err
    code, _, err = _diff(history, "--format", "yaml")
    assert code == 2

    clone = _clone(history, tmp_path / "bad")
    _write(clone, "siemc.yml", "targets:\n  splunk: {}\n")
    code, _, err = _diff(clone)
    assert code == 2 and err.startswith("siemc.yml:2: error: targets.splunk: unknown target")
    _commit(clone, "a bad configuration")
    code, _, err = _diff(clone, "HEAD", "HEAD~1")
    assert code == 2 and err.startswith("HEAD:siemc.yml:2: error: targets.splunk: unknown target")
    (clone / "ambiguous").write_text("", encoding="utf-8")
    _git(clone, "branch", "ambiguous")
    code, _, err = _diff(clone, "ambiguous")
    assert code == 2 and "ambiguous argument 'ambiguous'" in err


# -- --toolchain-too -------------------------------------------------------------------------------------


def _copy_siemc(destination: Path) -> None:
    """This siemc's source, as a repository holding its own siemc has it."""
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("siemc", "backends", "templates"):
        shutil.copytree(REPO / folder, destination / folder, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", destination)


def test_toolchain_too_compiles_each_revision_with_its_own_siemc(tmp_path: Path) -> None:
    repo = tmp_path / "own"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _write(repo, "detections/whoami.yml", _rule("Whoami", 1, "Image|endswith: '\\whoami.exe'"))
    _write(repo, "detections/cmd.yml", _rule("Cmd", 2, "Image|endswith: '\\cmd.exe'"))
    _commit(repo, "rules only", "no-siemc")
    _copy_siemc(repo)
    _commit(repo, "siemc itself, as installed here", "own")
    template = repo / "templates" / "kql" / "query.j2"
    lines = template.read_text(encoding="utf-8").splitlines(keepends=True)
    template.write_text("".join([*lines[:2], "// Reviewed by the SOC\n", *lines[2:]]), encoding="utf-8")
    _commit(repo, "a kql template edit", "template")
    mapping = repo / "backends" / "mappings" / "kql.yml"
    text = mapping.read_text(encoding="utf-8")
    old = "{name: DeviceProcessEvents, selector: DeviceProcessEvents,"
    assert old in text
    selector = 'DeviceProcessEvents\\n| where DeviceName !startswith \\"LAB-\\"'
    new = f'{{name: DeviceProcessEvents, selector: "{selector}",'
    mapping.write_text(text.replace(old, new), encoding="utf-8")
    _commit(repo, "a kql mapping edit", "mapping")

    # The current siemc sees no change: the rules are the same; a note says the toolchain differs.
    code, _, err = _diff(repo, "own", "template")
    assert code == 0
    assert "note: template (" in err and "other than this one: compiled with this one; --toolchain-too" in err
    # Each revision's own siemc: the template's change shows on every rule's kql output, and nowhere else.
    document = _json(repo, "own", "template", "--toolchain-too")
    assert _kinds(document) == {
        (r, "kql", "changed") for r in ("detections/cmd.yml", "detections/whoami.yml")
    }
    assert all("+// Reviewed by the SOC\n" in c["diff"] for c in document["changes"])
    # `own` is this very siemc (compiled in this process); `template` ran its own in a subprocess.
    assert (document["base"]["toolchain"], document["head"]["toolchain"]) == ("current", "revision")
    # Both revisions with their own siemc: the mapping's selector reaches every kql output.
    document = _json(repo, "template", "mapping", "--toolchain-too")
    assert (document["base"]["toolchain"], document["head"]["toolchain"]) == ("revision", "revision")
    assert _kinds(document) == {
        (r, "kql", "changed") for r in ("detections/cmd.yml", "detections/whoami.yml")
    }
    assert all('+| where DeviceName !startswith "LAB-"\n' in c["diff"] for c in document["changes"])
    # A revision's own siemc finds the revision's siemc.yml, never the working tree's: here only the
    # working tree has one, which changes every Splunk output; the mapping commit changes kql.
    _write(repo, "siemc.yml", SITE_HEAD)
    document = _json(repo, "template", "--toolchain-too")
    assert (document["base"]["config"], document["head"]["config"]) == (None, "siemc.yml")
    rules = ("detections/cmd.yml", "detections/whoami.yml")
    assert _kinds(document) == {(r, t, "changed") for r in rules for t in ("kql", "spl")}
    (repo / "siemc.yml").unlink()
    # A revision without a siemc of its own is compiled with the current one, and the note says so.
    code, _, err = _diff(repo, "no-siemc", "own", "--toolchain-too")
    assert code == 0
    assert "note: no-siemc (" in err and "holds no siemc of its own: compiled with the current siemc" in err
