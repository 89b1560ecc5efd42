"""Release: the version lock, bundles with manifest and SHA256SUMS, byte-identical archives."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from siemc.cli import app
from siemc.release import bundle as bundle_module
from siemc.release.serialize import ConfError, conf_bytes
from tests import artifact_fixtures
from tests.conftest import REPO, SEED_RULE

EPOCH = "1764460800"  # 2025-11-30


@pytest.fixture()
def rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """detections/ with the T1219 rule, in the current folder: queries name their rule by this path."""
    folder = tmp_path / "detections"
    folder.mkdir()
    shutil.copy(SEED_RULE, folder)
    monkeypatch.chdir(tmp_path)
    return Path("detections")


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"SOURCE_DATE_EPOCH": EPOCH, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def _lock(rules: Path, cache: Path, *flags: str) -> tuple[int, str, str]:
    return _run("lock", str(rules), "--cache-dir", str(cache), *flags)


def test_the_lock_versions_rules_and_refuses_an_unbumped_change(rules: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    code, _, err = _lock(rules, cache, "--check")
    assert code == 1 and "not in the lock (new rule): t1219_remote_access_tools.yml" in err
    assert _lock(rules, cache, "--bump")[0] == 0
    lock = json.loads((rules / "version.lock.json").read_text())
    assert lock["rules"]["t1219_remote_access_tools.yml"]["version"] == 1
    assert _lock(rules, cache, "--check")[0] == 0

    rule = rules / "t1219_remote_access_tools.yml"
    rule.write_text(rule.read_text().replace("'\\mstsc.exe'", "'\\mstscx.exe'"))
    code, _, err = _lock(rules, cache, "--check")
    assert code == 1
    assert "changed without a version bump: t1219_remote_access_tools.yml (aql, eql, kql" in err
    code, _, err = _run(
        "bundle", "--version", "2.0.0", str(rules), "--out", str(tmp_path / "dist"), "--cache-dir", str(cache)
    )
    assert code == 1 and "t1219_remote_access_tools.yml" in err
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())

    assert _lock(rules, cache, "--bump")[0] == 0
    lock = json.loads((rules / "version.lock.json").read_text())
    assert lock["rules"]["t1219_remote_access_tools.yml"]["version"] == 2
    (rules / "second.yml").write_text(rule.read_text().replace("0b7a6a3e", "0b7a6a3f"))
    rule.unlink()
    code, _, err = _lock(rules, cache, "--check")
    assert "not in the lock (new rule): second.yml" in err
    assert "in the lock but gone: t1219_remote_access_tools.yml" in err


def _bundle(rules: Path, out: Path, cache: Path) -> Path:
    assert _lock(rules, cache, "--bump")[0] == 0
    code, stdout, err = _run(
        "bundle", "--version", "1.2.0", str(rules), "--out", str(out), "--cache-dir", str(cache)
    )
    assert code == 0, err
    assert stdout.split() == [str(out / "siemc-1.2.0.tar.gz"), str(out / "siemc-1.2.0.zip")]
    return out / "siemc-1.2.0"


def test_a_bundle_has_a_manifest_and_checksums_of_every_file(rules: Path, tmp_path: Path) -> None:
    folder = _bundle(rules, tmp_path / "dist", tmp_path / "cache")
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    listed = {line.split("  ", 1)[1] for line in (folder / "SHA256SUMS").read_text().splitlines()}
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert on_disk - listed == {"SHA256SUMS", bundle_module.STATE_NAME}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["bundle_version"] == "1.2.0"
    (rule,) = manifest["rules"]
    assert rule["id"] == "0b7a6a3e-5f1c-4c7e-9a55-2b1d8f7e1219"
    assert rule["attack"] == ["T1219"] and rule["level"] == "medium" and rule["version"] == 1
    queries = {f["path"]: f for f in rule["files"] if f["kind"] == "query"}
    assert len(queries) == 7
    kql = queries["queries/kql/t1219_remote_access_tools.kql"]
    data = (folder / kql["path"]).read_bytes()
    assert kql["sha256"] == hashlib.sha256(data).hexdigest()
    assert data.decode("utf-8") == artifact_fixtures.t1219("kql")[1].text


def test_archives_are_byte_identical_across_runs_and_folders(
    rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _bundle(rules, tmp_path / "one", tmp_path / "cache1").parent
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(rules, elsewhere / "detections")
    monkeypatch.chdir(elsewhere)
    second = _bundle(rules, tmp_path / "two", tmp_path / "cache2").parent
    for name in ("siemc-1.2.0.tar.gz", "siemc-1.2.0.zip"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    raw = (first / "siemc-1.2.0.tar.gz").read_bytes()
    assert raw[4:8] == b"\0\0\0\0" and not raw[3] & 0x08  # gzip: no time, no file name
    with tarfile.open(first / "siemc-1.2.0.tar.gz") as archive:
        members = archive.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "", "", int(EPOCH))}
    with zipfile.ZipFile(first / "siemc-1.2.0.zip") as archive:
        names = archive.namelist()
        assert "siemc-1.2.0/manifest.json" in names
        assert (
            archive.read("siemc-1.2.0/queries/spl/t1219_remote_access_tools.spl")
            == (first / "siemc-1.2.0" / "queries" / "spl" / "t1219_remote_access_tools.spl").read_bytes()
        )
    assert gzip.decompress(raw)  # a valid gzip stream


def test_a_second_bundle_with_nothing_changed_is_left_in_place(rules: Path, tmp_path: Path) -> None:
    folder = _bundle(rules, tmp_path / "dist", tmp_path / "cache")
    stamp = (folder.parent / "siemc-1.2.0.tar.gz").stat().st_mtime_ns
    code, _, err = _run(
        "bundle",
        "--version",
        "1.2.0",
        str(rules),
        "--out",
        str(tmp_path / "dist"),
        "--cache-dir",
        str(tmp_path / "cache"),
    )
    assert code == 0 and "unchanged" in err
    assert (folder.parent / "siemc-1.2.0.tar.gz").stat().st_mtime_ns == stamp


def test_a_failed_bundle_leaves_no_partial_archive(
    rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _lock(rules, tmp_path / "cache", "--bump")[0] == 0

    def broken(*args: object) -> bytes:
        raise OSError("disk full")

    monkeypatch.setattr(bundle_module, "zip_bytes", broken)
    with pytest.raises(OSError, match="disk full"):
        bundle_module.bundle(
            [rules],
            "9.9.9",
            tmp_path / "dist",
            lock_path=rules / "version.lock.json",
            cache_dir=tmp_path / "cache",
        )
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == []


def test_a_bundle_version_cannot_leave_its_folder(rules: Path, tmp_path: Path) -> None:
    code, _, err = _run("bundle", "--version", "../evil", str(rules), "--out", str(tmp_path / "dist"))
    assert code == 1 and "not a bundle version" in err


def test_conf_values_continue_lines_with_a_backslash() -> None:
    text = conf_bytes([("T1219 Remote Access", {"search": "index=win\n| stats count", "enableSched": True})])
    assert text == b"[T1219 Remote Access]\nsearch = index=win\\\n| stats count\nenableSched = true\n"
    with pytest.raises(ConfError, match="continue the line"):
        conf_bytes([("x", {"search": "a \\\nb"})])
    with pytest.raises(ConfError, match="stanza name"):
        conf_bytes([("a]b", {"k": "v"})])


def test_the_committed_lock_holds_the_packs_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, _, err = _run("lock", "detections", "--check", "--cache-dir", str(tmp_path / "cache"))
    assert code == 0, err


def test_archives_hold_names_longer_than_ustar_allows() -> None:
    name = "queries/kql/" + "proc_creation_win_" * 8 + "long_name.kql"
    entries = [(name, b"DeviceProcessEvents\n")]
    packed = bundle_module.tar_gz("siemc-1.0.0", entries, int(EPOCH))
    assert packed == bundle_module.tar_gz("siemc-1.0.0", entries, int(EPOCH))
    with tarfile.open(fileobj=io.BytesIO(packed)) as archive:
        member = archive.getmember(f"siemc-1.0.0/{name}")
        assert member.mtime == int(EPOCH) and archive.extractfile(member).read() == b"DeviceProcessEvents\n"
