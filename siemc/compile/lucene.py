"""Sigma (Python) regexes rewritten as Lucene regexes, for EQL's `regex` (Elasticsearch's dialect).

A Lucene regex always matches the whole value, has no anchors, no inline flags and no Unicode
classes, and its `.` is any character. A Python search becomes a whole-value match in three steps:

1. Alternatives: a group, branch or short repeat holding an anchor is expanded, so that every anchor
   stands at the top level of one alternative (`(^|/)x` is the two alternatives `^x` and `/x`).
2. Anchors: `^`/`\\A` drop the leading `.*` (what stands before them must match nothing); `$` becomes
   `\\n?` (Python's `$` also matches before a final line break), `\\Z` the end; with the m flag `^`
   and `$` are a line's start and end. `\\b`/`\\B` are decided from the characters on either side
   (`\\d\\b\\d` never matches), or, at an alternative's edge, become a word or non-word character there.
3. Text: `\\d`, `\\s`, `\\w` and their negations are the code-point ranges of Python's Unicode classes
   (exact, though `\\w` is long); `.` without the s flag is `[^\\n]`; Lucene's case-insensitive match
   folds ASCII letters only, so other letters spell out their cases.
Lookaround, backreferences, scoped flags and the a/L flags have no Lucene form: `Unsupported`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from siemc.compile.regex import UNSUPPORTED_NODES, sre_constants, sre_parse
from siemc.diagnostics import Unsupported

Item = tuple[Any, Any]  # one node of Python's parsed pattern: (opcode, argument)

_RESERVED = frozenset('.?+*|{}[]()"\\#@&<>~')
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT)
_BEGINNINGS = (sre_constants.AT_BEGINNING, sre_constants.AT_BEGINNING_STRING)
_ENDS = (sre_constants.AT_END, sre_constants.AT_END_STRING)
_BOUNDARIES = (sre_constants.AT_BOUNDARY, sre_constants.AT_NON_BOUNDARY)
_MAX_ALTERNATIVES = 64  # expansion beyond this is not worth writing out
_MAX_UNROLLED = 16  # a repeat holding an anchor is unrolled up to this many times

# Python's classes and their negations; the negations are written as negated Lucene classes.
_CLASS_OF = {
    sre_constants.CATEGORY_DIGIT: r"\d",
    sre_constants.CATEGORY_SPACE: r"\s",
    sre_constants.CATEGORY_WORD: r"\w",
}
_NEGATION_OF = {
    sre_constants.CATEGORY_NOT_DIGIT: sre_constants.CATEGORY_DIGIT,
    sre_constants.CATEGORY_NOT_SPACE: sre_constants.CATEGORY_SPACE,
    sre_constants.CATEGORY_NOT_WORD: sre_constants.CATEGORY_WORD,
}

# What a word boundary sees on each side of it: a word character or not (the text's edge is not).
WORD, NON_WORD = "word", "non-word"
_BOTH = frozenset({WORD, NON_WORD})
_WORD_CHARACTER = re.compile(r"\w")
_CATEGORY_KINDS = {
    sre_constants.CATEGORY_DIGIT: frozenset({WORD}),
    sre_constants.CATEGORY_WORD: frozenset({WORD}),
    sre_constants.CATEGORY_SPACE: frozenset({NON_WORD}),
    sre_constants.CATEGORY_NOT_WORD: frozenset({NON_WORD}),
}


def _unsupported(pattern: str, what: str) -> Unsupported:
    return Unsupported(f"regular expression {pattern!r} uses {what}, which a Lucene regex has no form for")


def _char(code: int, in_class: bool = False) -> str:
    char = chr(code)
    if char in _RESERVED or (in_class and char in "^-]["):
        return "\\" + char
    return char


def _code_ranges(category: str) -> list[tuple[int, int]]:
    """The code-point ranges a Python class such as `\\d` matches (callers cache the result).
    Scanned a plane at a time: the whole of Unicode as one string would cost some 100 MB at peak."""
    runs: list[tuple[int, int]] = []
    pattern = re.compile(f"[{category}]+")
    for base in range(0, 0x110000, 0x10000):
        plane = "".join(map(chr, range(base, base + 0x10000)))
        for run in pattern.finditer(plane):
            low, high = base + run.start(), base + run.end() - 1
            if runs and runs[-1][1] == low - 1:
                runs[-1] = (runs[-1][0], high)
            else:
                runs.append((low, high))
    return runs


@functools.cache
def _ranges(category: Any) -> str:
    """The body of a Lucene class holding exactly what Python's `\\d`, `\\s` or `\\w` matches."""
    return "".join(
        _char(low, True) + ("-" + _char(high, True) if high > low else "")
        for low, high in _code_ranges(_CLASS_OF[category])
    )


def _word_class(kind: str) -> str:
    return ("[" if kind == WORD else "[^") + _ranges(sre_constants.CATEGORY_WORD) + "]"


def _char_kind(code: int) -> str:
    return WORD if _WORD_CHARACTER.match(chr(code)) else NON_WORD


class _Writer:
    """Writes parsed items as Lucene text, and knows what characters they can start and end with."""

    def __init__(self, pattern: str, state: Any) -> None:
        self.pattern = pattern
        self.state = state
        self.ignorecase = bool(state.flags & re.IGNORECASE)
        self.dotall = bool(state.flags & re.DOTALL)
        self.multiline = bool(state.flags & re.MULTILINE)

    # -- text ------------------------------------------------------------------------------------

    def literal(self, code: int) -> str:
        char = chr(code)
        if self.ignorecase and not char.isascii():
            # Lucene's case-insensitive flag folds ASCII letters only: other letters spell their cases.
            variants = sorted({c for c in (char, char.lower(), char.upper()) if len(c) == 1})
            if len(variants) > 1:
                return "[" + "".join(_char(ord(c), True) for c in variants) + "]"
        return _char(code)

    def char_class(self, items: list[Item]) -> str:
        negate = bool(items) and items[0][0] is sre_constants.NEGATE
        items = items[1:] if negate else items
        if len(items) == 1 and items[0][0] is sre_constants.CATEGORY and items[0][1] in _NEGATION_OF:
            # `\W` is `[^<word ranges>]`, `[^\W]` is `[<word ranges>]`.
            return ("[" if negate else "[^") + _ranges(_NEGATION_OF[items[0][1]]) + "]"
        return "[" + ("^" if negate else "") + "".join(self.class_item(op, arg) for op, arg in items) + "]"

    def class_item(self, op: Any, arg: Any) -> str:
        if op is sre_constants.LITERAL:
            folded = self.literal(arg)
            return folded[1:-1] if folded.startswith("[") else _char(arg, True)
        if op is sre_constants.RANGE:
            low, high = arg
            if self.ignorecase and not (chr(low).isascii() and chr(high).isascii()):
                raise _unsupported(self.pattern, "a non-ASCII range with the i flag")
            return _char(low, True) + "-" + _char(high, True)
        if op is sre_constants.CATEGORY and arg in _CLASS_OF:
            return _ranges(arg)
        if op is sre_constants.CATEGORY:
            raise _unsupported(self.pattern, "\\W, \\S or \\D together with other characters in one class")
        raise _unsupported(self.pattern, f"{op} in a character class")

    def sequence(self, items: Sequence[Item]) -> str:
        return "".join(self.node(op, arg) for op, arg in items)

    def node(self, op: Any, arg: Any) -> str:
        if op is sre_constants.LITERAL:
            return self.literal(arg)
        if op is sre_constants.NOT_LITERAL:
            return "[^" + _char(arg, True) + "]"
        if op is sre_constants.ANY:
            return "." if self.dotall else "[^\n]"
        if op is sre_constants.IN:
            return self.char_class(list(arg))
        if op is sre_constants.BRANCH:
            return "(" + "|".join(self.sequence(branch) for branch in arg[1]) + ")"
        if op is sre_constants.SUBPATTERN:
            if arg[1] or arg[2]:
                raise _unsupported(self.pattern, "a scoped flag")
            body = arg[-1]
            if len(body) == 1 and body[0][0] is sre_constants.BRANCH:
                return self.node(*body[0])  # already in parentheses
            return "(" + self.sequence(body) + ")"
        if op in _REPEATS:
            # Lazy or greedy is the same for a whole-value match.
            low, high, body = arg
            inner = self.sequence(body)
            if len(body) != 1 or body[0][0] in _REPEATS:
                inner = "(" + inner + ")"
            if high is sre_constants.MAXREPEAT:
                suffix = {0: "*", 1: "+"}.get(low, "{" + str(low) + ",}")
            elif (low, high) == (0, 1):
                suffix = "?"
            else:
                suffix = "{" + str(low) + ("" if low == high else "," + str(high)) + "}"
            return inner + suffix
        if op is sre_constants.AT:
            raise _unsupported(self.pattern, "an anchor it cannot place")  # expansion leaves none here
        raise _unsupported(self.pattern, UNSUPPORTED_NODES.get(op, str(op)))

    # -- what items consume ----------------------------------------------------------------------

    def min_width(self, op: Any, arg: Any) -> int:
        return int(sre_parse.SubPattern(self.state, [(op, arg)]).getwidth()[0])

    def edge_kinds(self, items: Sequence[Item], from_end: bool) -> frozenset[str] | None:
        """Whether the first (or last) character `items` consume is a word character, or None when
        they can consume nothing at all (the character is then outside them)."""
        kinds: set[str] = set()
        for op, arg in reversed(items) if from_end else items:
            if op is sre_constants.AT:
                continue
            kinds |= self.item_kinds(op, arg, from_end)
            if self.min_width(op, arg) > 0:
                return frozenset(kinds)
        return None if not kinds else _BOTH  # partly outside: not decidable here

    def item_kinds(self, op: Any, arg: Any, from_end: bool) -> frozenset[str]:
        if op is sre_constants.LITERAL:
            return frozenset({_char_kind(arg)})
        if op is sre_constants.IN:
            items = list(arg)
            if items and items[0][0] is sre_constants.NEGATE:
                return _BOTH
            kinds: set[str] = set()
            for item_op, item_arg in items:
                if item_op is sre_constants.LITERAL:
                    kinds.add(_char_kind(item_arg))
                elif item_op is sre_constants.RANGE and item_arg[1] - item_arg[0] < 4096:
                    kinds.update(_char_kind(code) for code in range(item_arg[0], item_arg[1] + 1))
                else:
                    kinds |= _CATEGORY_KINDS.get(item_arg, _BOTH)
            return frozenset(kinds)
        if op is sre_constants.SUBPATTERN:
            return self.edge_kinds(arg[-1], from_end) or _BOTH
        if op is sre_constants.BRANCH:
            return frozenset().union(*(self.edge_kinds(branch, from_end) or _BOTH for branch in arg[1]))
        if op in _REPEATS:
            return self.edge_kinds(arg[2], from_end) or _BOTH
        return _BOTH


def _holds_anchor(items: Sequence[Item]) -> bool:
    for op, arg in items:
        if op is sre_constants.AT:
            return True
        if op is sre_constants.SUBPATTERN and _holds_anchor(arg[-1]):
            return True
        if op is sre_constants.BRANCH and any(_holds_anchor(branch) for branch in arg[1]):
            return True
        if op in _REPEATS and _holds_anchor(arg[2]):
            return True
    return False


def _expanded(pattern: str, items: Sequence[Item]) -> list[list[Item]]:
    """The alternatives of `items`, expanded until every anchor stands at the top level of one."""
    alternatives: list[list[Item]] = [[]]
    for op, arg in items:
        options: list[list[Item]] = [[(op, arg)]]
        if op is not sre_constants.AT and _holds_anchor([(op, arg)]):
            if op is sre_constants.SUBPATTERN:
                if arg[1] or arg[2]:
                    raise _unsupported(pattern, "a scoped flag")
                options = _expanded(pattern, arg[-1])
            elif op is sre_constants.BRANCH:
                options = [option for branch in arg[1] for option in _expanded(pattern, branch)]
            else:
                low, high, body = arg
                if high is sre_constants.MAXREPEAT or high > _MAX_UNROLLED:
                    raise _unsupported(pattern, "an anchor inside an unbounded repeat")
                unrolled = (list(body) * count for count in range(low, high + 1))
                options = [option for copies in unrolled for option in _expanded(pattern, copies)]
        alternatives = [alternative + option for alternative in alternatives for option in options]
        if len(alternatives) > _MAX_ALTERNATIVES:
            raise _unsupported(pattern, f"anchors in more than {_MAX_ALTERNATIVES} alternatives")
    return alternatives


class _Impossible(Exception):
    """An alternative that no value can match (`a^b`, `\\d\\b\\d`)."""


def _whole_value(writer: _Writer, items: list[Item]) -> str:
    """One alternative (anchors at its top level) as a Lucene regex over the whole value."""
    pattern = writer.pattern

    def anchors(kinds: tuple[Any, ...]) -> list[int]:
        return [i for i, (op, arg) in enumerate(items) if op is sre_constants.AT and arg in kinds]

    def consuming(part: list[Item]) -> bool:
        return any(op is not sre_constants.AT and writer.min_width(op, arg) > 0 for op, arg in part)

    def zero_width_only(part: list[Item], resolved: tuple[Any, ...]) -> list[Item]:
        """What matches nothing keeps only its other anchors (the rest can match nothing: dropped)."""
        return [(op, arg) for op, arg in part if op is sre_constants.AT and arg not in resolved]

    start, end = ".*", ".*"
    begins = anchors(_BEGINNINGS)
    if writer.multiline and any(items[i][1] is sre_constants.AT_BEGINNING for i in begins):
        if begins != [0]:
            raise _unsupported(pattern, "`^` inside the pattern with the m flag")
        start, items = "(.*\n)?", items[1:]
    elif begins:
        # `^` and `\A` stand at the value's start: everything before them matched nothing.
        if consuming(items[: begins[-1]]):
            raise _Impossible
        start, items = "", zero_width_only(items[: begins[-1]], _BEGINNINGS) + items[begins[-1] + 1 :]
    ends = anchors(_ENDS)
    if writer.multiline and any(items[i][1] is sre_constants.AT_END for i in ends):
        if ends != [len(items) - 1]:
            raise _unsupported(pattern, "`$` inside the pattern with the m flag")
        end, items = "(\n.*)?", items[:-1]
    elif ends:
        # `$` is the end or before a final line break (which what follows may consume), `\Z` the end.
        at_end = any(items[i][1] is sre_constants.AT_END_STRING for i in ends)
        if consuming(items[ends[0] + 1 :]):
            if at_end:
                raise _Impossible
            raise _unsupported(pattern, "text after `$`")
        trailing = zero_width_only(items[ends[0] + 1 :], _ENDS)
        end, items = ("" if at_end else "\n?"), items[: ends[0]] + trailing

    # Beyond an anchored edge stands the text's edge or a line break: no word character.
    start_kinds = None if start == ".*" else frozenset({NON_WORD})
    end_kinds = None if end == ".*" else frozenset({NON_WORD})
    while boundaries := anchors(_BOUNDARIES):
        index = boundaries[0]
        word_boundary = items[index][1] is sre_constants.AT_BOUNDARY
        before = writer.edge_kinds(items[:index], from_end=True) or start_kinds
        after = writer.edge_kinds(items[index + 1 :], from_end=False) or end_kinds
        if not word_boundary and not consuming(items):
            # Python's `\B` never matches in an empty value, which no neighbour rule says.
            raise _unsupported(pattern, "`\\B` where the value may be empty")
        if _BOTH in (before, after) or (before is None and after is None):
            raise _unsupported(pattern, "a word boundary next to what may or may not be a word character")
        if before is None or after is None:
            # The character on the free side is chosen: `.*` there ends (or starts) with the kind
            # the boundary asks for (a non-word character may also be the text's edge).
            known = after if before is None else before
            wanted_word = (known == frozenset({WORD})) != word_boundary
            wanted = frozenset({WORD if wanted_word else NON_WORD})
            if before is None:
                start = f".*{_word_class(WORD)}" if wanted_word else f"(.*{_word_class(NON_WORD)})?"
                start_kinds = wanted
            else:
                end = f"{_word_class(WORD)}.*" if wanted_word else f"({_word_class(NON_WORD)}.*)?"
                end_kinds = wanted
        elif (before == after) == word_boundary:
            raise _Impossible
        items = items[:index] + items[index + 1 :]
    return start + writer.sequence(items) + end


def lucene_regex(pattern: str, flags: set[str]) -> tuple[str, bool]:
    """A Lucene regex matching a whole value exactly when the Python regex is found in it.

    Returns the pattern and whether it needs the case-insensitive operator (`regex~`), which folds
    ASCII letters; other letters are written out in both cases.
    """
    compile_flags = 0
    for letter, flag in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)):
        if letter in flags:
            compile_flags |= flag
    try:
        parsed = sre_parse.parse(pattern, compile_flags)
    except re.error as error:
        raise Unsupported(f"regular expression {pattern!r} is invalid: {error}") from None
    if parsed.state.flags & (re.LOCALE | re.ASCII):
        raise _unsupported(pattern, "the a or L flag")
    writer = _Writer(pattern, parsed.state)
    out: list[str] = []
    for items in _expanded(pattern, list(parsed)):
        try:
            alternative = _whole_value(writer, items)
        except _Impossible:
            continue
        if alternative not in out:
            out.append(alternative)
    if not out:
        raise Unsupported(f"regular expression {pattern!r} can never match a value")
    return out[0] if len(out) == 1 else "|".join(f"({alt})" for alt in out), writer.ignorecase
