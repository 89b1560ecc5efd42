"""The Splunk app (backends/artifacts/spl.py) and the .conf writer it goes through, read back by real
parsers: ksconf's (kintyre-splunk-conf) and splunk-appinspect's, and checked whole by splunk-appinspect,
Splunk's own app validator."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ksconf.conf.parser import parse_conf
from siemc.backends.artifacts import spl
from splunk_appinspect.configuration_file import ConfigurationFile
from splunk_appinspect.configuration_parser import configuration_lexer, parse

from siemc.diagnostics import SiemcError
from siemc.release.artifacts import Artifact, BundleInfo
from siemc.release.serialize import ConfError, conf_bytes
from tests.artifact_fixtures import BUNDLE, synthetic, t1219

# A search of several lines with what .conf files make awkward: quotes, backslashes (doubled, and
# before a quote), a line starting with `#` or `;` (comments only at the start of an entry), `[` at the
# start of a line, `=` inside, indentation, a trailing space inside a line and a backquoted comment.
AWKWARD_SEARCH = "\n".join(
    [
        '```A "quoted" header | #1 ; [not a stanza]```',
        'index=win Image="*\\\\evil.exe" CommandLine="*\\"-enc\\"*"',
        "# a line starting with a hash",
        "; and one with a semicolon",
        "[ a line starting with a bracket ]",
        '| eval x=if(match(a, "^C:\\\\\\\\Users\\\\\\\\"), "yes = sure", "no")  ',
        '    | where like(CommandLine, "%\\\\\\\\%")',
        "| table _time x",
    ]
)


def _ksconf(path: Path) -> dict[str, dict[str, str]]:
    parsed: dict[str, dict[str, str]] = parse_conf(str(path))
    return parsed


def _appinspect(data: bytes, *, clean: bool = True) -> ConfigurationFile:
    conf = parse(data.decode("utf-8"), ConfigurationFile(), configuration_lexer)
    assert not clean or not conf.errors, conf.errors
    return conf


def _appinspect_value(conf: ConfigurationFile, stanza: str, key: str) -> str:
    value: str = conf.get(stanza, key)
    return value


def test_multi_line_values_read_back_as_written(tmp_path: Path) -> None:
    values = {
        "search": AWKWARD_SEARCH,
        "description": "one\n  two, indented\n#three",
        "quantity": 0,
        "enableSched": 1,
        "disabled": False,
    }
    data = conf_bytes([("A [bracket name = with equals", values), ("", {"access": "read : [ * ]"})])
    path = tmp_path / "savedsearches.conf"
    path.write_bytes(data)
    expected = {k: (("true" if v else "false") if isinstance(v, bool) else str(v)) for k, v in values.items()}
    # ksconf reads continuation lines as Splunk writes them: the backslash-newline becomes a newline.
    parsed = _ksconf(path)
    assert parsed["A [bracket name = with equals"] == expected
    assert parsed[""] == {"access": "read : [ * ]"}
    conf = _appinspect(data)
    for key, value in expected.items():
        # appinspect strips the ends of a value, as Splunk does: the search has no trailing blanks.
        assert _appinspect_value(conf, "A [bracket name = with equals", key) == value


def test_conf_refuses_what_a_parser_would_read_differently(tmp_path: Path) -> None:
    # A backslash then spaces at the end of a line: splunk-appinspect's parser continues the line.
    misread = _appinspect(b"[x]\na = b\\ \nc = d\n", clean=False)
    assert _appinspect_value(misread, "x", "a") == "b\\\nc = d"
    assert misread.errors == [("Continuation with trailing whitespace", 3, "x")]
    with pytest.raises(ConfError, match="continue the line"):
        conf_bytes([("x", {"a": "b\\ \nc"})])
    with pytest.raises(ConfError, match="continue the line"):
        conf_bytes([("x", {"a": "ends in a backslash\\"})])
    # A lone carriage return: ksconf reading the file (universal newlines) ends the line there.
    path = tmp_path / "cr.conf"
    path.write_bytes(b"[x]\na = b\rc\n")
    with pytest.raises(Exception, match="Unexpected entry"):
        _ksconf(path)
    with pytest.raises(ConfError, match="carriage return"):
        conf_bytes([("x", {"a": "b\rc"})])


def _app(items: list[tuple[object, object]], bundle: BundleInfo = BUNDLE) -> dict[str, bytes]:
    artifacts: list[Artifact] = spl.WRITER.bundle_artifacts(items, bundle)  # type: ignore[arg-type]
    assert all(a.target == "spl" and a.rule is None for a in artifacts)
    return {a.path: a.data for a in artifacts}


def _write(files: dict[str, bytes], root: Path) -> Path:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return root / spl.FOLDER


# savedsearches.conf.spec (Splunk 10.4.2): the documented keys siemc writes and their values.
_ENUMS = {
    "counttype": {"number of events", "number of hosts", "number of sources", "custom", "always"},
    "relation": {"greater than", "less than", "equal to", "not equal to", "drops by", "rises by"},
    "enableSched": {"0", "1"},
    "disabled": {"true", "false"},
    "alert.track": {"true", "false", "auto"},
    "alert.digest_mode": {"true", "false"},
    "alert.suppress": {"true", "false"},
    "alert.severity": {"1", "2", "3", "4", "5", "6"},
}
_REQUIRED = {
    "search", "description", "enableSched", "cron_schedule", "dispatch.earliest_time",
    "dispatch.latest_time", "counttype", "relation", "quantity", "alert.track",
}  # fmt: skip
_DOCUMENTED = _REQUIRED | set(_ENUMS) | {"request.ui_dispatch_app"}
_CRON = re.compile(r"^(\*|\*/\d+|\d+) (\*|\*/\d+|\d+) \* \* (\*|\d)$")


def test_the_app_holds_one_scheduled_alert_per_rule(tmp_path: Path) -> None:
    items = [
        t1219("spl"),
        synthetic("spl", AWKWARD_SEARCH, description="Copies into c:\\windows\\color\\\n"),
        synthetic(
            "spl", "index=x", stem="daily", title="Weekly one", lookback="7d", level="low", severity="low"
        ),
        synthetic("spl", "index=x", stem="old", title="Old one", status="deprecated", lookback="90m"),
        synthetic("spl", "index=x", stem="no_window", title="No window", lookback=None),
    ]
    folder = _write(_app(items), tmp_path)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "default/app.conf",
        "default/savedsearches.conf",
        "metadata/default.meta",
    ]
    searches = _ksconf(folder / "default" / "savedsearches.conf")
    assert list(searches) == sorted(searches)  # stanzas in name order
    for name, settings in searches.items():
        assert _REQUIRED <= set(settings) <= _DOCUMENTED, name
        for key, allowed in _ENUMS.items():
            assert key not in settings or settings[key] in allowed, (name, key)
        assert int(settings["quantity"]) == 0
        assert _CRON.match(settings["cron_schedule"]), settings["cron_schedule"]
        assert re.fullmatch(r"-\d+[smhd]", settings["dispatch.earliest_time"])
        assert settings["dispatch.latest_time"] == "now"

    t1219_rule, t1219_query = items[0]
    t1219_stanza = searches["Remote Access Tool Execution"]
    # The search reads back exactly as built; its window is the rule's lookback and it runs daily.
    assert t1219_stanza["search"] == t1219_query.text.rstrip()
    assert "\n| eval RATCategory=case(\n    match(" in t1219_stanza["search"]
    assert (t1219_stanza["dispatch.earliest_time"], t1219_stanza["cron_schedule"]) == ("-24h", "0 0 * * *")
    assert t1219_stanza["alert.severity"] == "3" and t1219_stanza["disabled"] == "false"
    description = t1219_stanza["description"].split("\n")
    assert description[0].startswith("Detects the execution of remote access") and "\n" not in description[0]
    assert "ATT&CK: T1219, command-and-control" in description
    assert "False positive: MSPs running Atera, NinjaOne or ConnectWise agents" in description
    assert "Reference: https://attack.mitre.org/techniques/T1219/" in description
    assert description[-1].startswith(f"siemc rule {t1219_rule.name} version 1")

    awkward = searches["Synthetic rule"]
    assert awkward["search"] == AWKWARD_SEARCH.rstrip()
    assert awkward["alert.severity"] == "4" and awkward["cron_schedule"] == "0 * * * *"
    # A description line ending in a backslash would swallow the next line: it gets a full stop.
    assert awkward["description"].startswith("Copies into c:\\windows\\color\\.\n")
    assert "False positive: Admin scripts in C:\\Tools\\." in awkward["description"].split("\n")
    assert searches["Weekly one"]["cron_schedule"] == "0 0 * * 0"
    assert searches["Weekly one"]["alert.severity"] == "2"
    # 90 minutes has no exact cron: it runs hourly, so no event falls between two runs.
    assert (searches["Old one"]["disabled"], searches["Old one"]["cron_schedule"]) == ("true", "0 * * * *")
    assert searches["No window"]["dispatch.earliest_time"] == "-1h"

    app = _ksconf(folder / "default" / "app.conf")
    assert app["package"]["id"] == spl.APP == folder.name
    assert app["launcher"]["version"] == app["id"]["version"] == "1.2.0"
    assert app["install"]["build"] == "1002000" and app["ui"]["label"] == spl.LABEL
    meta = _ksconf(folder / "metadata" / "default.meta")
    assert meta[""]["export"] == "system"


def test_splunk_appinspect_passes_the_app(tmp_path: Path) -> None:
    """Splunk's own validator, offline, in the mode Splunkbase vets apps with: no failure, no error,
    no warning. Among its checks: .conf syntax (continuations, duplicate stanzas and keys), app.conf's
    id and version, the cron schedule, dispatch times on scheduled searches, default.meta's ACLs."""
    items = [t1219("spl"), synthetic("spl", AWKWARD_SEARCH), synthetic("spl", "index=x", stem="b", title="B")]
    folder = _write(_app(items), tmp_path)
    binary = Path(sys.executable).parent / "splunk-appinspect"  # installed with the test extras
    report = tmp_path / "report.json"
    subprocess.run(
        [str(binary), "inspect", str(folder), "--mode", "precert", "--skip-trusted-libraries-update",
         "--data-format", "json", "--output-file", str(report), "--max-messages", "all"],
        check=True, capture_output=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    (result,) = json.loads(report.read_text())["reports"]
    bad = [
        (check["name"], [m["message"] for m in check["messages"]])
        for group in result["groups"]
        for check in group["checks"]
        if check["result"] in ("failure", "error", "warning", "future_failure", "manual_check")
    ]
    assert bad == []
    assert result["summary"]["success"] > 50


def test_what_the_app_cannot_hold_is_refused() -> None:
    with pytest.raises(SiemcError, match="both titled"):
        _app([synthetic("spl", "index=x", stem="a"), synthetic("spl", "index=y", stem="b")])
    with pytest.raises(SiemcError, match=r"savedsearches\.conf: .*continue the line"):
        _app([synthetic("spl", "index=x Image=*\\\n| table x")])
    with pytest.raises(SiemcError, match=r"cannot hold '\]'"):
        _app([synthetic("spl", "index=x", title="a ] b")])
    with pytest.raises(SiemcError, match=r"version like 1\.2\.0"):
        _app([synthetic("spl", "index=x")], BundleInfo("release candidate", "0"))
    assert _app([synthetic("spl", "index=x")], BundleInfo("v2.0.1-rc1", "0"))
    assert spl.app_version("v2.0.1-rc1") == "2.0.1-rc1" and spl.build_number("2.0.1-rc1") == 2000001
    assert spl.WRITER.bundle_artifacts([], BUNDLE) == []


@pytest.mark.parametrize(
    ("lookback", "cron"),
    [("30s", "* * * * *"), ("5m", "*/5 * * * *"), ("7m", "*/6 * * * *"), ("1h", "0 * * * *"),
     ("5h", "0 */4 * * *"), ("12h", "0 */12 * * *"), ("24h", "0 0 * * *"), ("3d", "0 0 * * *"),
     ("7d", "0 0 * * 0"), ("30d", "0 0 * * 0")],
)  # fmt: skip
def test_the_schedule_runs_at_least_as_often_as_the_window(lookback: str, cron: str) -> None:
    assert spl.cron_for(lookback) == cron


def test_the_app_is_byte_identical_across_runs() -> None:
    items = [t1219("spl"), synthetic("spl", AWKWARD_SEARCH)]
    assert _app(items) == _app(list(reversed(items)))
