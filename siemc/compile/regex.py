"""Sigma regular expressions (Python `re` semantics, searched unanchored) rewritten for RE2.

RE2 reads most of Python's syntax the same way; what differs is rewritten so the pattern keeps
Python's meaning, and what RE2 cannot say at all is `Unsupported`:

- `$` without the m flag also matches before a final line break in Python: `(?:\\n?\\z)` in RE2
  (whose `$` is the end of the text only); `\\Z` is RE2's `\\z`.
- `\\d`, `\\w`, `\\s` are Unicode classes in Python and ASCII ones in RE2: written as the Unicode
  classes they are (`\\p{Nd}`, `[\\p{L}\\p{N}_]`, Python's 29 white-space characters).
- `\\b`/`\\B` are Unicode word boundaries in Python and ASCII ones in RE2, and RE2 has no lookaround
  to build one: unsupported unless the pattern is ASCII-only (`(?a)`). Lookaround, backreferences,
  conditionals, atomic groups and possessive quantifiers do not exist in RE2 either.
- Python-only spellings (`{,n}`, `\\uXXXX`, `\\N{name}`, octal escapes, `(?<name>`, `(?#...)`, a
  literal `[` inside a class, which RE2 would read as a POSIX class) are written RE2's way.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from typing import Any

from siemc.diagnostics import Unsupported

# Python's own regex parser (untyped, private modules): the tree says exactly what a pattern means.
sre_constants: Any = importlib.import_module("re._constants")
sre_parse: Any = importlib.import_module("re._parser")

# Python's Unicode classes, exactly (checked against `re` over every code point, Unicode 14).
_SPACE = "\\t\\n\\v\\f\\r\\x{1c}-\\x{1f}\\x{85}\\p{Z}"
_WORD = "\\p{L}\\p{N}_"
_UNICODE_CLASSES = {
    "d": ("\\p{Nd}", "\\p{Nd}"),
    "D": ("\\P{Nd}", "\\P{Nd}"),
    "w": (f"[{_WORD}]", _WORD),
    "W": (f"[^{_WORD}]", None),
    "s": (f"[{_SPACE}]", _SPACE),
    "S": (f"[^{_SPACE}]", None),
}
# Under `(?a)` Python's classes are ASCII ones; RE2's `\s` lacks the vertical tab.
_ASCII_CLASSES = {
    "d": ("\\d", "\\d"),
    "D": ("\\D", "\\D"),
    "w": ("\\w", "\\w"),
    "W": ("\\W", "\\W"),
    "s": ("[\\t\\n\\v\\f\\r ]", "\\t\\n\\v\\f\\r "),
    "S": ("[^\\t\\n\\v\\f\\r ]", None),
}
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")
_MAX_REPEAT = 1000  # RE2's limit on a counted repetition
UNSUPPORTED_NODES = {
    sre_constants.ASSERT: "lookahead/lookbehind",
    sre_constants.ASSERT_NOT: "negative lookahead/lookbehind",
    sre_constants.GROUPREF: "a backreference",
    sre_constants.GROUPREF_EXISTS: "a conditional group",
}
for _name, _what in (("ATOMIC_GROUP", "an atomic group"), ("POSSESSIVE_REPEAT", "a possessive quantifier")):
    if hasattr(sre_constants, _name):
        UNSUPPORTED_NODES[getattr(sre_constants, _name)] = _what


def _unsupported(pattern: str, what: str) -> Unsupported:
    return Unsupported(f"regular expression {pattern!r} uses {what}, which RE2 has no form for")


def _check_tree(
    pattern: str, items: Any, state: Any, tail_consumes: bool, multiline: bool, ascii_: bool
) -> None:
    """Reject what RE2 cannot say, walking the tree backwards to know what follows each `$`."""
    for op, arg in reversed(list(items)):
        if op in UNSUPPORTED_NODES:
            raise _unsupported(pattern, UNSUPPORTED_NODES[op])
        boundary = (sre_constants.AT_BOUNDARY, sre_constants.AT_NON_BOUNDARY)
        if op is sre_constants.AT and arg in boundary and not ascii_:
            raise _unsupported(pattern, "a Unicode word boundary (\\b)")
        if op is sre_constants.AT and arg is sre_constants.AT_END and tail_consumes and not multiline:
            # Python's `$` can be followed by the final line break itself; `\n?\z` consumes it.
            raise _unsupported(pattern, "text after `$`")
        if op is sre_constants.SUBPATTERN:
            _check_tree(pattern, arg[-1], state, tail_consumes, multiline, ascii_)
        elif op is sre_constants.BRANCH:
            for branch in arg[1]:
                _check_tree(pattern, branch, state, tail_consumes, multiline, ascii_)
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            low, high, body = arg
            if max(low, 0 if high is sre_constants.MAXREPEAT else high) > _MAX_REPEAT:
                raise Unsupported(
                    f"regular expression {pattern!r} repeats more than RE2's {_MAX_REPEAT} times"
                )
            _check_tree(pattern, body, state, True, multiline, ascii_)
        if sre_parse.SubPattern(state, [(op, arg)]).getwidth()[1] > 0:
            tail_consumes = True


def _literal(char: str, in_class: bool = False) -> str:
    if char in _RE2_SPECIAL or (in_class and char in "-"):
        return "\\" + char
    if char in _PUNCTUATION:
        return char
    if unicodedata.category(char)[0] in "CZ" and char != " ":
        return f"\\x{{{ord(char):x}}}"  # controls and separators stay visible (and RE2-safe)
    return char


class _Translator:
    def __init__(self, pattern: str, multiline: bool, ascii_: bool) -> None:
        self.pattern = pattern
        self.pos = 0
        self.multiline = [multiline]
        self.ascii_ = ascii_
        self.classes = _ASCII_CLASSES if ascii_ else _UNICODE_CLASSES

    def _escaped_char(self) -> str | None:
        """The character an escape at `pos` (after the backslash) stands for, or None if a class."""
        text, pos = self.pattern, self.pos
        char = text[pos]
        simple = {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
        if char in simple:
            self.pos += 1
            return simple[char]
        for lead, size in (("x", 2), ("u", 4), ("U", 8)):
            if char == lead:
                self.pos += 1 + size
                return chr(int(text[pos + 1 : pos + 1 + size], 16))
        if char == "N":
            end = text.index("}", pos)
            self.pos = end + 1
            return unicodedata.lookup(text[pos + 2 : end])
        if char in "01234567":
            match = re.match(r"[0-7]{1,3}", text[pos:])
            assert match is not None
            self.pos += len(match.group(0))
            return chr(int(match.group(0), 8))
        if char.isascii() and char.isalnum():
            return None
        self.pos += 1
        return char

    def _class(self) -> str:
        """A `[...]` class from `pos` (just after the `[`)."""
        text = self.pattern
        out = ["["]
        if text[self.pos] == "^":
            out.append("^")
            self.pos += 1
        first = True
        while first or text[self.pos] != "]":
            char = text[self.pos]
            if char == "\\":
                self.pos += 1
                escaped = self._escaped_char()
                if escaped is None:
                    letter = text[self.pos]
                    self.pos += 1
                    if letter == "b":
                        out.append("\\x{8}")
                        continue
                    inner = self.classes[letter][1]
                    if inner is None:
                        raise _unsupported(self.pattern, f"\\{letter} inside a character class")
                    out.append(inner)
                else:
                    out.append(_literal(escaped, in_class=True))
            elif char == "-":
                out.append("-")  # a range, or a literal at either end: the same in RE2
                self.pos += 1
            else:
                out.append(_literal(char, in_class=True))
                self.pos += 1
            first = False
        self.pos += 1
        out.append("]")
        return "".join(out)

    def _group(self) -> str:
        """What follows a `(` at `pos`; pushes the group's m state."""
        text = self.pattern
        if text[self.pos] != "?":
            self.multiline.append(self.multiline[-1])
            return "("
        if text.startswith("?:", self.pos):
            self.pos += 2
            self.multiline.append(self.multiline[-1])
            return "(?:"
        named = re.match(r"\?P?<(\w+)>", text[self.pos :])
        if named:
            self.pos += len(named.group(0))
            self.multiline.append(self.multiline[-1])
            return f"(?P<{named.group(1)}>"
        scoped = re.match(r"\?([aiLmsux]*)(?:-([imsx]*))?:", text[self.pos :])
        if scoped:
            on, off = scoped.group(1), scoped.group(2) or ""
            if set(on + off) & set("aLx"):
                raise _unsupported(self.pattern, "a scoped a, L or x flag")
            self.pos += len(scoped.group(0))
            self.multiline.append(("m" in on or self.multiline[-1]) and "m" not in off)
            on, off = on.replace("u", ""), off
            return f"(?{on}{'-' + off if off else ''}:" if on or off else "(?:"
        raise _unsupported(self.pattern, "a group form")  # lookaround etc., rejected earlier

    def translate(self) -> str:
        text, out = self.pattern, []
        while self.pos < len(text):
            char = text[self.pos]
            self.pos += 1
            if char == "\\":
                escaped = self._escaped_char()
                if escaped is not None:
                    out.append(_literal(escaped))
                    continue
                letter = text[self.pos]
                self.pos += 1
                if letter in self.classes:
                    out.append(self.classes[letter][0])
                elif letter == "Z":
                    out.append("\\z")
                elif letter in "AbB":
                    out.append("\\" + letter)
                else:  # pragma: no cover - Python rejects other letter escapes
                    raise _unsupported(self.pattern, f"\\{letter}")
            elif char == "[":
                out.append(self._class())
            elif char == "(":
                if text.startswith("?#", self.pos):
                    self.pos = text.index(")", self.pos) + 1
                    continue
                out.append(self._group())
            elif char == ")":
                self.multiline.pop()
                out.append(")")
            elif char == "$":
                out.append("$" if self.multiline[-1] else "(?:\\n?\\z)")
            elif char == "{":
                quantifier = re.match(r"(\d*)(?:(,)(\d*))?\}", text[self.pos :])
                if quantifier and (quantifier.group(1) or quantifier.group(2)):
                    self.pos += len(quantifier.group(0))
                    low, comma, high = quantifier.group(1) or "0", quantifier.group(2), quantifier.group(3)
                    out.append("{" + low + ("," + high if comma else "") + "}")
                else:
                    out.append("\\{")
            elif char == "}":
                out.append("\\}")
            elif char in "^.|*+?":
                out.append(char)
            else:
                out.append(_literal(char))
        return "".join(out)


def re2_regex(pattern: str, flags: set[str]) -> str:
    """The RE2 pattern (with its `(?ims)` prefix) that a Python search with `flags` means."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as error:
        raise Unsupported(f"regular expression {pattern!r} is invalid: {error}") from None
    global_flags = parsed.state.flags
    if global_flags & (re.VERBOSE | re.LOCALE):
        raise _unsupported(pattern, "the x or L flag")
    flags = set(flags)
    for flag, letter in ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s")):
        if global_flags & flag:
            flags.add(letter)
    ascii_ = bool(global_flags & re.ASCII)
    _check_tree(pattern, parsed, parsed.state, False, "m" in flags, ascii_)
    # Leading global flag groups are folded into the prefix.
    body = re.sub(r"^(?:\(\?[aiLmsux]+\))+", "", pattern)
    translated = _Translator(body, "m" in flags, ascii_).translate()
    prefix = "".join(sorted(flags & {"i", "m", "s"}))
    return (f"(?{prefix})" if prefix else "") + translated
