"""Write a tool file: block style for the structure, one flow mapping a line for each fact.

The layout keeps a pull request's diff to the facts it changes: one fact, one line.
"""

from __future__ import annotations

from typing import Any

import yaml

from .catalog import TOP_KEYS

HEADER = (
    "# A remote access tool of the siemc catalog (detections/catalog/README.md). YAML; every fact names\n"
    "# its sources (src: keys of `sources`). Facts from LOLRMM are rewritten by\n"
    "# `python -m tools.rat_catalog import-lolrmm`; every other fact and field is kept.\n"
)
SECTION_ORDER = ("binaries", "name_patterns", "folders", "pe", "signers", "services", "files", "registry")


def _scalar(value: Any) -> str:
    text: str = yaml.safe_dump(value, default_flow_style=True, width=10**6, allow_unicode=True)
    text = text.strip()
    return text[:-4].rstrip() if text.endswith("\n...") or text.endswith("...") else text


def _flow(value: Any) -> str:
    text: str = yaml.safe_dump(
        value, default_flow_style=True, width=10**6, allow_unicode=True, sort_keys=False
    )
    return text.strip()


def _facts(lines: list[str], indent: str, facts: list[dict[str, Any]]) -> None:
    for fact in facts:
        ordered = {k: v for k, v in fact.items() if k != "src"}
        ordered["src"] = fact.get("src") or []
        lines.append(f"{indent}- {_flow(ordered)}")


def dump_tool(data: dict[str, Any]) -> str:
    lines = [HEADER.rstrip("\n")]
    for key in TOP_KEYS:
        if key not in data or data[key] in (None, [], {}):
            continue
        value = data[key]
        if key in ("windows", "macos", "linux"):
            lines.append(f"{key}:")
            for kind in SECTION_ORDER:
                if value.get(kind):
                    lines.append(f"  {kind}:")
                    _facts(lines, "    ", value[kind])
        elif key in ("domains", "not_shipped"):
            lines.append(f"{key}:")
            _facts(lines, "  ", value)
        elif key == "sources":
            lines.append("sources:")
            for name in sorted(value):
                lines.append(f"  {_flow({name: value[name]})[1:-1]}")
        elif (key in ("vendor", "scope") and isinstance(value, dict)) or key in ("lolrmm", "seed_names"):
            lines.append(f"{key}: {_flow(value)}")
        elif key == "notes":
            lines.append("notes: " + _flow(value))
        else:
            lines.append(f"{key}: {_scalar(value)}")
    return "\n".join(lines) + "\n"
