"""The serializers every artifact is written through: data structures in, bytes out, deterministic.

Artifact writers build dicts and lists and never paste query text into a format by hand: YAML and
JSON come from their libraries, and Splunk's `.conf` files from `conf_bytes`, which follows the
rules of Splunk's configuration file format.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

# libyaml's emitter writes the same text as PyYAML's own (checked on every artifact kind) many times
# faster: a corpus bundle writes thousands of YAML files.
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _LiteralDumper(_BaseDumper):  # type: ignore[valid-type,misc]
    """Multi-line strings (queries, descriptions) as YAML literal blocks, the way people write them."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # A literal block cannot hold trailing spaces before a line break or non-printable characters.
    style = "|" if "\n" in value and _literal_safe(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _literal_safe(value: str) -> bool:
    return all(line == line.rstrip() and (line.isprintable() or line == "") for line in value.split("\n"))


_LiteralDumper.add_representer(str, _string)


def yaml_bytes(document: Any) -> bytes:
    text: str = yaml.dump(
        document,
        Dumper=_LiteralDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return text.encode("utf-8")


def json_bytes(document: Any) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def ndjson_bytes(documents: Iterable[Any]) -> bytes:
    """One compact JSON document per line (Kibana's saved-objects import format)."""
    return "".join(
        json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n" for d in documents
    ).encode()


class ConfError(ValueError):
    """A value Splunk's .conf format cannot hold."""


def conf_bytes(stanzas: Sequence[tuple[str, Mapping[str, str | int | bool]]]) -> bytes:
    """Splunk .conf text: `[stanza]` then `key = value` lines.

    Splunk reads a line ending in a backslash as continued on the next line, so a multi-line value
    (a search) is written with `\\` at the end of every line but its last; a value line that itself
    ends in a backslash would be read as a continuation and cannot be written (ConfError). Neither can
    one ending in a backslash and then spaces: splunk-appinspect's parser reads that as a continuation
    too. A carriage return inside a value would end the line for a reader with universal newlines
    (ksconf reading the file), so it is refused as well. Stanza names cannot hold `]` or line breaks;
    the empty name is `[]`, the app-level stanza of a .meta file (default.meta.spec). Keys hold no `=`.
    """
    lines: list[str] = []
    for name, settings in stanzas:
        if any(c in name for c in "]\n\r"):
            raise ConfError(f"a stanza name cannot hold ']' or a line break: {name!r}")
        if lines:
            lines.append("")
        lines.append(f"[{name}]")
        for key, raw in settings.items():
            if not key or any(c in key for c in "=\n\r[") or key != key.strip():
                raise ConfError(f"not a .conf key: {key!r}")
            value = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
            parts = value.replace("\r\n", "\n").split("\n")
            if any(part.rstrip(" \t").endswith("\\") for part in parts):
                raise ConfError(f"{name}/{key}: a value line ending in a backslash would continue the line")
            if any("\r" in part for part in parts):
                raise ConfError(f"{name}/{key}: a carriage return would end the line")
            lines.append(f"{key} = " + "\\\n".join(parts))
    return ("\n".join(lines) + "\n").encode("utf-8")
