"""The README shows each SIEM's T1219 output as built: the text under each `### \\`target\\`
(build/...)` heading is that file. `python tests/test_readme.py` rewrites the README from build/."""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
# A heading naming the built file, the opening fence, the file's text, the closing fence.
SECTION = re.compile(r"(### `\w+` \((build/[^)]+)\)\n\n```\w*\n)(.*?)(^```\n)", re.DOTALL | re.MULTILINE)


def _with_built_outputs(text: str) -> str:
    return SECTION.sub(lambda m: m[1] + (REPO / m[2]).read_text(encoding="utf-8") + m[4], text)


def test_readme_shows_every_target_output_as_built() -> None:
    text = README.read_text(encoding="utf-8")
    shown = {m[2] for m in SECTION.finditer(text)}
    assert shown == {str(p.relative_to(REPO)) for p in (REPO / "build").glob("*/t1219_*")}
    assert text == _with_built_outputs(text), "README outputs are stale: run python tests/test_readme.py"


if __name__ == "__main__":
    README.write_text(_with_built_outputs(README.read_text(encoding="utf-8")), encoding="utf-8")
    sys.exit(0)
