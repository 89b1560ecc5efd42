"""What the artifact tests share: the T1219 rule as the release sees it on each target, synthetic rules
with awkward metadata and query text, and the JSON Schemas of tests/artifact_schemas/."""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from siemc import __version__
from siemc.compile.build import CONVERTED, build
from siemc.release.artifacts import BundleInfo, QueryOutput, ReleaseRule
from tests.conftest import SEED_RULE

SCHEMAS = Path(__file__).parent / "artifact_schemas"
BUNDLE = BundleInfo("1.2.0", __version__)


@functools.cache
def t1219(target: str) -> tuple[ReleaseRule, QueryOutput]:
    """The T1219 rule's metadata and its query on `target`, built as `siemc bundle` builds them."""
    with tempfile.TemporaryDirectory() as folder:
        # Built as a bundle builds it: from the repository's root, the rule under detections/.
        root = Path(folder)
        (root / "detections").mkdir()
        shutil.copy(SEED_RULE, root / "detections")
        previous = Path.cwd()
        os.chdir(root)
        try:
            result = build([Path("detections") / SEED_RULE.name], [target], root / "out", jobs=1)
        finally:
            os.chdir(previous)
        (outcome,) = [o for o in result.outcomes if o.status == CONVERTED]
        assert outcome.output is not None
        text = (root / outcome.output).read_text(encoding="utf-8")
        name = Path(outcome.output).name
    rule = ReleaseRule(SEED_RULE.name, SEED_RULE.stem, result.metadata[outcome.rule], 1)
    return rule, QueryOutput(target, name, text, outcome.source)


def synthetic(
    target: str, text: str, *, stem: str = "synthetic_rule", version: int = 3, **meta: Any
) -> tuple[ReleaseRule, QueryOutput]:
    """A rule with the metadata keys of Detection.metadata(), overridden by `meta`."""
    base: dict[str, Any] = {
        "id": "11111111-2222-4333-8444-555555555555",
        "name": None,
        "title": "Synthetic rule",
        "description": "Line one of the description.\nLine two.\n",
        "status": "test",
        "level": "high",
        "severity": "high",
        "author": "siemc tests",
        "date": "2026-01-02",
        "modified": None,
        "tags": ["attack.execution", "attack.t1059.001"],
        "techniques": ["T1059.001"],
        "tactics": ["execution"],
        "references": ["https://example.org/a"],
        "falsepositives": ["Admin scripts in C:\\Tools\\"],
        "logsource": {"category": "process_creation", "product": "windows"},
        "lookback": "1h",
    }
    base.update(meta)
    rule = ReleaseRule(f"{stem}.yml", stem, base, version)
    return rule, QueryOutput(target, f"{stem}.{target}", text, "synthetic_source")


def schema(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    return document
