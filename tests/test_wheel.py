"""siemc outside its repository: the sdist and the wheel built from it (as `pip install` gets them),
installed in a new virtual environment outside the repository, run every command.

The package is built from the tracked files only (`git ls-files` copied into a temporary folder), so
an untracked file of the checkout can neither leak into it nor hide a file missing from it. The
dependencies come from the package registry, as `make setup` gets them, through pip's cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from siemc import __version__
from siemc.compile.build import find_rule_files
from tests.conftest import REPO

pytestmark = pytest.mark.slow

T1219 = PurePosixPath("detections/t1219_remote_access_tools.yml")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    sdist: Path
    venv: Path
    env: dict[str, str]

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def run(self, *args: str, cwd: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.bin / "siemc"), *args], cwd=cwd, env=self.env, capture_output=True, text=True
        )
        assert result.returncode == expect, f"siemc {' '.join(args)}: {result.stdout}{result.stderr}"
        return result

    def python(self, code: str, cwd: Path) -> str:
        result = subprocess.run(
            [str(self.bin / "python"), "-c", code], cwd=cwd, env=self.env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


def _tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], check=True, capture_output=True, text=True
    ).stdout
    # A tracked file deleted in the working tree is not part of what is tested.
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


def _clean_env(venv: Path | None = None) -> dict[str, str]:
    """The environment without this checkout's virtual environment or import path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != Path(sys.executable).parent]
    if venv is not None:
        path.insert(0, str(venv / "bin"))
        env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join(path)
    return env


def _setup(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    for name in _tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    dist = work / "dist"
    # The sdist first, then the wheel from the sdist: the wheel holds only what the sdist carries.
    _setup([sys.executable, "-m", "build", "--outdir", str(dist), str(source)], _clean_env())
    (wheel,) = dist.glob("siemc-*.whl")
    (sdist,) = dist.glob("siemc-*.tar.gz")
    venv = work / "venv"
    _setup([sys.executable, "-m", "venv", str(venv)], _clean_env())
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _setup([*pip, str(wheel)], _clean_env(venv))
    return Installed(wheel, sdist, venv, _clean_env(venv))


@pytest.fixture(scope="module")
def repository(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`siemc init` and `siemc build` in an empty folder, with the installed command."""
    root = tmp_path_factory.mktemp("rules")
    init = installed.run("init", cwd=root)
    assert f"wrote {T1219}" in init.stdout
    installed.run("build", cwd=root)
    return root


def _shipped_data() -> dict[str, str]:
    """What the wheel must hold: each tracked file of the package and its data, by its installed name."""
    expected = {}
    for name in _tracked_files():
        path = PurePosixPath(name)
        top, rest = path.parts[0], PurePosixPath(*path.parts[1:]) if len(path.parts) > 1 else None
        if top == "siemc":
            expected[name] = name
        elif top == "backends" and (
            path.suffix == ".py" or path.parent.name in ("mappings", "datamodels") or name.endswith(".json")
        ):
            expected[f"siemc/backends/{rest}"] = name
        elif top == "templates" and path.suffix in (".py", ".j2"):
            expected[f"siemc/templates/{rest}"] = name
        elif top == "detections" and (
            (
                path.parts[1] != "catalog"
                and (path.suffix in (".yml", ".yaml") or path.name == "version.lock.json")
            )
            or (path.parts[1:3] == ("catalog", "lists") and path.suffix == ".tsv")  # the lists the rules read
        ):
            expected[f"siemc/scaffold/detections/{rest}"] = name
    return expected


def test_the_wheel_adds_only_the_siemc_import_name(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
        dist_info = f"siemc-{__version__}.dist-info"
        assert wheel.read(f"{dist_info}/top_level.txt").decode().split() == ["siemc"]
        record = wheel.read(f"{dist_info}/RECORD").decode().splitlines()
    tops = {line.split(",")[0].split("/")[0] for line in record if line}
    assert tops == {"siemc", dist_info}
    assert {name.split("/")[0] for name in names} == {"siemc", dist_info}


def test_the_wheel_holds_every_module_and_data_file_and_nothing_else(installed: Installed) -> None:
    expected = _shipped_data()
    with zipfile.ZipFile(installed.wheel) as wheel:
        shipped = {n for n in wheel.namelist() if not n.startswith("siemc-")}
        assert shipped == set(expected)
        for installed_name, tracked in expected.items():
            assert wheel.read(installed_name) == (REPO / tracked).read_bytes(), installed_name


def test_the_sdist_carries_the_same_files(installed: Installed) -> None:
    with tarfile.open(installed.sdist) as sdist:
        members = {PurePosixPath(m.name) for m in sdist.getmembers() if m.isfile()}
    carried = {PurePosixPath(*m.parts[1:]).as_posix() for m in members}
    assert set(_shipped_data().values()) <= carried
    assert {"pyproject.toml", "setup.cfg", "README.md"} <= carried


def test_version_and_targets(installed: Installed, tmp_path: Path) -> None:
    assert installed.run("--version", cwd=tmp_path).stdout == f"siemc {__version__}\n"
    listed = installed.run("targets", cwd=tmp_path).stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["kql", "spl", "eql", "aql", "sumo", "yaral", "logscale"]


def test_siemc_runs_from_the_installed_package(installed: Installed, tmp_path: Path) -> None:
    where = installed.python(
        "import json, siemc\n"
        "from siemc.compile.cache import Toolchain\n"
        "from siemc.resources import examples_folder, mappings_folder\n"
        "t = Toolchain.installed()\n"
        "print(json.dumps([siemc.__file__, str(t.code), str(t.backends), str(t.templates),"
        " t.project_file, str(mappings_folder()), str(examples_folder())]))",
        cwd=tmp_path,
    )
    module, code, backends, templates, project, mappings, examples = json.loads(where)
    package = Path(code)
    assert package.parent.name == "site-packages" and package.is_relative_to(installed.venv)
    assert Path(module) == package / "__init__.py"
    assert (Path(backends), Path(templates)) == (package / "backends", package / "templates")
    assert project is None
    assert Path(mappings) == package / "backends" / "mappings"
    assert Path(examples) == package / "scaffold" / "detections"


def test_init_then_build_gives_this_repositorys_outputs(installed: Installed, repository: Path) -> None:
    built = sorted(p.relative_to(REPO / "build") for p in (REPO / "build").rglob("*") if p.is_file())
    assert built, "this repository's build/ is empty"
    assert (
        sorted(p.relative_to(repository / "build") for p in (repository / "build").rglob("*") if p.is_file())
        == built
    )
    for relative in built:
        assert (repository / "build" / relative).read_bytes() == (REPO / "build" / relative).read_bytes()
    for path in (REPO / "detections").rglob("*.yml"):
        if path.name != "siemc.yml":  # the pack's placeholders go into the new repository's siemc.yml
            assert (repository / path.relative_to(REPO)).read_bytes() == path.read_bytes()


def test_the_fingerprint_is_stable_installed(installed: Installed, repository: Path) -> None:
    """A second build compiles nothing: every cache key is the same, so the manifest is not rewritten."""
    (manifest,) = (repository / ".siemc-cache").glob("build-*.marshal")
    before = manifest.read_bytes(), manifest.stat().st_mtime_ns
    again = installed.run("build", cwd=repository)
    outputs = len([p for p in (REPO / "build").rglob("*") if p.is_file()])
    assert again.stderr.rstrip().endswith(f"0 written, {outputs} unchanged")
    assert (manifest.read_bytes(), manifest.stat().st_mtime_ns) == before
    code = "from siemc.compile.cache import toolchain_fingerprints as f; print(f(['kql', 'spl']))"
    assert installed.python(code, cwd=repository) == installed.python(code, cwd=installed.venv)


def test_validate_convert_eval_lock_bundle_and_test(installed: Installed, repository: Path) -> None:
    validated = installed.run("validate", "detections", cwd=repository)
    rules = len(find_rule_files([REPO / "detections"]))
    assert validated.stderr.strip() == f"{rules} valid, 0 invalid"

    converted = installed.run("convert", str(T1219), "--target", "kql", cwd=repository)
    assert converted.stdout == (REPO / "build" / "kql" / "t1219_remote_access_tools.kql").read_text()

    events = repository / "events.json"
    events.write_text(
        json.dumps(
            [
                {"Image": "C:\\Windows\\notepad.exe", "ParentImage": "C:\\Windows\\explorer.exe"},
                {
                    "Image": "C:\\Program Files\\TeamViewer\\TeamViewer.exe",
                    "ParentImage": "C:\\Windows\\explorer.exe",
                },
            ]
        ),
        encoding="utf-8",
    )
    evaluated = installed.run("eval", str(T1219), "--events", str(events), cwd=repository)
    (line,) = evaluated.stdout.splitlines()
    match = json.loads(line)
    assert match["index"] == 1
    assert match["fields"]["RATCategory"] == "Commercial RMM" and match["fields"]["IsUserLaunched"] is True

    locked = installed.run("lock", "--check", cwd=repository)
    assert "error" not in locked.stderr
    bundled = installed.run("bundle", "--version", "v1.0.0", cwd=repository)
    assert "dist/siemc-v1.0.0.tar.gz" in bundled.stdout + bundled.stderr
    manifest = json.loads((repository / "dist" / "siemc-v1.0.0" / "manifest.json").read_text())
    assert json.dumps(manifest).count(__version__) >= 1
    for target in ("kql", "spl"):
        query = repository / "dist" / "siemc-v1.0.0" / "queries" / target / f"{T1219.stem}.{target}"
        assert query.read_bytes() == (REPO / "build" / target / query.name).read_bytes()

    tested = installed.run("test", cwd=repository)
    assert "note: the reference evaluator only" in tested.stderr
    assert "test(s) on the reference evaluator only, 0 failed" in tested.stderr
    assert "FAIL" not in tested.stdout and tested.stdout.count("\npass ") >= 40


def test_report_and_diff_from_the_wheel(installed: Installed, repository: Path, tmp_path: Path) -> None:
    """The review commands, installed: the report's page assets ship, and a diff of two commits runs
    outside siemc's checkout."""
    reported = installed.run("report", "--out", str(tmp_path / "report"), cwd=repository)
    assert "index.html" in reported.stdout and (tmp_path / "report" / "navigator-layer.json").is_file()
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "<script" in page and "<style" in page  # the assets inlined from the installed package
    work = tmp_path / "repo"
    shutil.copytree(repository / "detections", work / "detections")
    shutil.copy(repository / "siemc.yml", work / "siemc.yml")  # the lists the pack's rules read
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=work, check=True)
    subprocess.run([*git, "add", "-A"], cwd=work, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "rules"], cwd=work, check=True)
    rule = work / "detections" / T1219.name
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("lookback: 24h", "lookback: 12h"), encoding="utf-8")
    subprocess.run([*git, "commit", "-q", "-am", "change"], cwd=work, check=True)
    diffed = installed.run("diff", "HEAD^1", "HEAD", "--stat", cwd=work, expect=1)
    assert f"kql/{T1219.stem}.kql" in diffed.stdout and "changed" in diffed.stdout
