"""The .conf writer, read back by real parsers: ksconf's (kintyre-splunk-conf) and splunk-appinspect's."""

from __future__ import annotations

from pathlib import Path

import pytest
from ksconf.conf.parser import parse_conf
from splunk_appinspect.configuration_file import ConfigurationFile
from splunk_appinspect.configuration_parser import configuration_lexer, parse

from siemc.release.serialize import ConfError, conf_bytes

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
