"""Mid-pattern inline flags for the regex translators to Python `re` (SPL's PCRE, LogScale).

PCRE and LogScale apply a bare `(?flags)` from where it stands to the end of the enclosing group,
across later `|` alternatives; Python 3.11 takes global flags only at the very start of a pattern.
A translator therefore writes each such flag as a scoped group `(?flags:`, closed at the end of the
enclosing group and closed and reopened around each `|` of that group. (The RE2 translator in
re2.py does the same inside its own group frames, which also track repetition.)
"""

from __future__ import annotations


class InlineFlagScopes:
    def __init__(self) -> None:
        # Per open group (the pattern itself first), the flag specs (`i`, `i-s`) opened in it.
        self._groups: list[list[str]] = [[]]

    @property
    def depth(self) -> int:
        """How many groups are open."""
        return len(self._groups) - 1

    def open_group(self) -> None:
        self._groups.append([])

    def open_flags(self, spec: str) -> str:
        """The Python text for a bare `(?spec)` at this point."""
        self._groups[-1].append(spec)
        return f"(?{spec}:"

    def close_group(self) -> str:
        """The Python text closing the innermost group's flag scopes (the group's `)` not included)."""
        return ")" * len(self._groups.pop())

    def alternation(self) -> str:
        """The Python text for a `|` of the innermost group."""
        specs = self._groups[-1]
        return ")" * len(specs) + "|" + "".join(f"(?{spec}:" for spec in specs)

    def close_pattern(self) -> str:
        """The Python text closing the flag scopes opened at the top level of the pattern."""
        return ")" * len(self._groups[0])
