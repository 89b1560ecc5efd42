"""The README shows each SIEM's output of the T1219 pack's process and network rules as built: the
text under each `### \\`target\\` (build/...)` heading is that file, abbreviated the same way every
time (the catalog's lists make each query tens of kilobytes): a line over 160 characters is cut with
the count of what is left out, and a run of more than 8 lines of the same indentation keeps its first
3 and last line. `python tests/test_readme.py` rewrites the README from build/."""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
# A heading naming the built file, the opening fence, the file's text, the closing fence.
SECTION = re.compile(r"(### `\w+` \((build/[^)]+)\)\n\n```\w*\n)(.*?)(^```\n)", re.DOTALL | re.MULTILINE)
SHOWN_RULES = ("t1219_rat_network_connection", "t1219_remote_access_tools")
WIDTH, RUN, KEEP = 160, 8, 3


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def abbreviated(text: str) -> str:
    lines = [
        line if len(line) <= WIDTH else f"{line[:WIDTH]} … (+{len(line) - WIDTH} characters)"
        for line in text.splitlines()
    ]
    out: list[str] = []
    index = 0
    while index < len(lines):
        indent = _indent(lines[index])
        end = index
        while end < len(lines) and indent and _indent(lines[end]) == indent:
            end += 1
        if end - index > RUN:
            out += [
                *lines[index : index + KEEP],
                f"{indent}… ({end - index - KEEP - 1} more lines)",
                lines[end - 1],
            ]
            index = end
        else:
            out.append(lines[index])
            index += 1
    return "\n".join(out) + "\n"


def _with_built_outputs(text: str) -> str:
    return SECTION.sub(lambda m: m[1] + abbreviated((REPO / m[2]).read_text(encoding="utf-8")) + m[4], text)


def test_readme_shows_every_target_output_of_the_shown_rules_as_built() -> None:
    text = README.read_text(encoding="utf-8")
    shown = {m[2] for m in SECTION.finditer(text)}
    assert shown == {
        str(p.relative_to(REPO)) for stem in SHOWN_RULES for p in (REPO / "build").glob(f"*/{stem}.*")
    }
    assert text == _with_built_outputs(text), "README outputs are stale: run python tests/test_readme.py"


def test_abbreviation_keeps_short_text_and_cuts_long_lines_and_runs() -> None:
    assert abbreviated("a\n  b\n") == "a\n  b\n"
    assert abbreviated("x" * 170) == "x" * 160 + " … (+10 characters)\n"
    run = "head\n" + "".join(f"    case {i}\n" for i in range(10)) + "tail\n"
    assert (
        abbreviated(run)
        == "head\n    case 0\n    case 1\n    case 2\n    … (6 more lines)\n    case 9\ntail\n"
    )


if __name__ == "__main__":
    README.write_text(_with_built_outputs(README.read_text(encoding="utf-8")), encoding="utf-8")
    sys.exit(0)
