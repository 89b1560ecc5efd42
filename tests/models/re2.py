"""RE2 -> Python `re`, shared by the models of the languages whose regexes are RE2 (Sumo Logic's
`matches /.../`, YARA-L's `re.regex` and `= /.../`).

Source: RE2's syntax reference (github.com/google/re2/wiki/Syntax). RE2 rejects constructs Python
accepts (lookaround, backreferences, possessive and atomic forms, conditionals, `\\Z`) and differs in
a few meanings: `\\d \\w \\s \\b` and the POSIX classes are ASCII; `$` without (?m) is the end of the
text only; a bare `(?i)` inside a group lasts to the end of that group, across `|`; `\\1`..`\\7`
followed by an octal digit are octal escapes. The translator walks the pattern once, rejects what
RE2 rejects (or the models do not cover: `\\p` Unicode classes, `\\C`, the `U` flag) and emits an
equivalent Python pattern.

Compared with the RE2 library on random patterns, it still differs in three corners, all rare in
rules: RE2 matches on UTF-8 bytes, so it finds `\\B` between the bytes of a multi-byte character;
RE2 accepts a repeated group name, Python does not; and RE2 lets a repetition follow a bare
`(?flags)` (applying it to the item before), which is rejected here.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import cache

from tests.models.common import ModelSyntaxError

# A character set as sorted, disjoint, inclusive code-point ranges.
CodeRanges = tuple[tuple[int, int], ...]

_MAX_CODEPOINT = 0x10FFFF
_DIGIT: CodeRanges = ((0x30, 0x39),)
_WORD: CodeRanges = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
# RE2 `\s` is [\t\n\f\r ]: no \v, unlike [[:space:]].
_SPACE: CodeRanges = ((0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20))
PERL_CLASSES: dict[str, CodeRanges] = {"d": _DIGIT, "w": _WORD, "s": _SPACE}
POSIX_CLASSES: dict[str, CodeRanges] = {
    "alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "ascii": ((0x00, 0x7F),),
    "blank": ((0x09, 0x09), (0x20, 0x20)),
    "cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "digit": _DIGIT,
    "graph": ((0x21, 0x7E),),
    "lower": ((0x61, 0x7A),),
    "print": ((0x20, 0x7E),),
    "punct": ((0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "space": ((0x09, 0x0D), (0x20, 0x20)),
    "upper": ((0x41, 0x5A),),
    "word": _WORD,
    "xdigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
}
_SIMPLE_ESCAPES = {"a": 0x07, "f": 0x0C, "t": 0x09, "n": 0x0A, "r": 0x0D, "v": 0x0B}
_MAX_REPEAT = 1000  # RE2: "bad repetition operator" past {1000}
_FLAGS = set("imsU")
# RE2's `\b` is an ASCII word boundary. `\B` is its negation, which RE2 (unlike Python before 3.14)
# also finds in the empty text.
_WORD_BOUNDARY = "(?a:\\b)"
_NOT_WORD_BOUNDARY = "(?a:\\B|\\A\\Z)"


def class_body(ranges: CodeRanges) -> str:
    """Python class-member text for the ranges (no brackets)."""
    return "".join(
        _codepoint_text(low) if low == high else _codepoint_text(low) + "-" + _codepoint_text(high)
        for low, high in ranges
    )


def _codepoint_text(value: int) -> str:
    """Python pattern text matching exactly this character, valid in and out of a class."""
    char = chr(value)
    if char.isascii() and not char.isalnum():
        return f"\\x{value:02x}"
    return char


@dataclass(frozen=True)
class Translation:
    pattern: str  # Python `re` text with RE2's meaning
    flags_set: frozenset[str]  # flags some `(?flags)` or `(?flags:` turns on, anywhere in the pattern


@dataclass
class _Frame:
    prefix: str  # the Python text opening this group
    multiline: bool  # (?m) in force
    items: list[str]  # each item is one unit a quantifier can follow
    flag_groups: list[str]  # `(?i:` groups opened by bare `(?i)` since the group (or `|`) began
    can_repeat: bool = False  # the last item takes a quantifier
    repeated: bool = False  # the last item already has one
    lazy_ok: bool = False  # the last quantifier may still take a `?`
    assertion: bool = False  # the last item is an empty-width assertion (Python cannot repeat it bare)


class _Translator:
    def __init__(self, source: str) -> None:
        self.src = source
        self.i = 0
        self.frames = [_Frame("", False, [], [])]
        self.flags_set: set[str] = set()

    def fail(self, why: str) -> ModelSyntaxError:
        return ModelSyntaxError(f"invalid RE2 regex /{self.src}/: {why}")

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.src[j] if j < len(self.src) else ""

    @property
    def top(self) -> _Frame:
        return self.frames[-1]

    def emit(self, text: str, *, repeatable: bool = True, assertion: bool = False) -> None:
        frame = self.top
        frame.items.append(text)
        frame.can_repeat, frame.repeated, frame.lazy_ok = repeatable, False, False
        frame.assertion = assertion

    def translate(self) -> Translation:
        while self.i < len(self.src):
            c = self.src[self.i]
            self.i += 1
            if c == "\\":
                self.escape()
            elif c == "[":
                self.char_class()
            elif c == "(":
                self.open_group()
            elif c == ")":
                self.close_group()
            elif c == "|":
                frame = self.top
                self.emit(")" * len(frame.flag_groups) + "|" + "".join(frame.flag_groups), repeatable=False)
            elif c in "*+?":
                self.quantifier(c)
            elif c == "{":
                self.brace()
            elif c == "$":
                # RE2: without (?m) `$` matches only at the end of the text; Python's `$` also
                # matches before a final newline, so write `\Z`.
                self.emit("$" if self.top.multiline else "\\Z", assertion=True)
            elif c == "^":
                self.emit("^", assertion=True)
            elif c == ".":
                self.emit(".")
            else:
                self.emit(_codepoint_text(ord(c)))
        if len(self.frames) != 1:
            raise self.fail("missing )")
        root = self.top
        return Translation("".join(root.items) + ")" * len(root.flag_groups), frozenset(self.flags_set))

    def repeat(self, quantifier: str) -> None:
        frame = self.top
        if not frame.can_repeat or frame.repeated:
            # RE2 "missing argument to repetition operator" / "bad repetition operator"; this also
            # rejects Python-only possessive forms such as `a*+`.
            raise self.fail(f"bad repetition operator {quantifier}")
        if frame.assertion:
            # RE2 repeats `^`, `$`, `\b`... like any item; Python wants them in a group first.
            frame.items[-1] = "(?:" + frame.items[-1] + ")"
        frame.items[-1] += quantifier
        frame.repeated, frame.lazy_ok = True, True

    def quantifier(self, c: str) -> None:
        frame = self.top
        if c == "?" and frame.lazy_ok:
            frame.items[-1] += "?"  # the non-greedy form of the quantifier before it
            frame.lazy_ok = False
            return
        self.repeat(c)

    def brace(self) -> None:
        m = re.match(r"(\d+)(,(\d*))?\}", self.src[self.i :])
        if not m:
            # RE2 reads a `{` that does not start `{n}`, `{n,}` or `{n,m}` as a literal; Python
            # would take `{,n}` as a repetition, so escape it.
            self.emit("\\{")
            return
        low, high = int(m.group(1)), m.group(3)
        if low > _MAX_REPEAT or (high and (int(high) > _MAX_REPEAT or int(high) < low)):
            raise self.fail("bad repetition size")
        self.repeat("{" + m.group(0))
        self.i += m.end()

    def open_group(self) -> None:
        multiline = self.top.multiline
        if self.peek() != "?":
            self.frames.append(_Frame("(", multiline, [], []))
            return
        rest = self.src[self.i + 1 :]
        if rest.startswith(":"):
            self.i += 2
            self.frames.append(_Frame("(?:", multiline, [], []))
        elif m := re.match(r"P?<([A-Za-z_][A-Za-z0-9_]*)>", rest):
            self.i += 1 + m.end()
            self.frames.append(_Frame(f"(?P<{m.group(1)}>", multiline, [], []))
        elif m := re.match(r"([A-Za-z]*)(?:(-)([A-Za-z]*))?([:)])", rest):
            on, negated, off, end = m.group(1), m.group(2), m.group(3) or "", m.group(4)
            # RE2 takes the letters left to right (so `(?ii)` is `(?i)` and `(?i-i)` turns i off)
            # and rejects only a `-` with no flag after it.
            if negated and not off:
                raise self.fail("bad flag group: missing flag after -")
            if set(on + off) - _FLAGS:
                raise self.fail(f"unknown flag in (?{m.group(0)}")
            if "U" in on + off:
                raise ModelSyntaxError("the RE2 (?U) flag is outside the modelled subset")
            on_set, off_set = set(on) - set(off), set(off)
            self.flags_set |= on_set
            self.i += 1 + m.end()
            opener = (
                "(?" + "".join(sorted(on_set)) + ("-" + "".join(sorted(off_set)) if off_set else "") + ":"
            )
            now_multiline = "m" in on_set or (multiline and "m" not in off_set)
            if end == ":":
                self.frames.append(_Frame(opener, now_multiline, [], []))
            else:
                # RE2: a bare `(?flags)` holds to the end of the enclosing group, across `|`;
                # Python takes global flags only at the very start, so open a scoped group here
                # and close it (and reopen it after each `|`) at the end of the enclosing group.
                frame = self.top
                frame.flag_groups.append(opener)
                frame.multiline = now_multiline
                self.emit(opener, repeatable=False)
        else:
            raise self.fail("lookaround, backreference, atomic, conditional and comment groups are not RE2")

    def close_group(self) -> None:
        if len(self.frames) == 1:
            raise self.fail("unexpected )")
        frame = self.frames.pop()
        self.emit(frame.prefix + "".join(frame.items) + ")" * len(frame.flag_groups) + ")")

    def escape(self) -> None:
        c = self.peek()
        if not c:
            raise self.fail("trailing backslash")
        self.i += 1
        if c in "dws":
            self.emit("[" + class_body(PERL_CLASSES[c]) + "]")  # RE2 classes are ASCII
        elif c in "DWS":
            self.emit("[^" + class_body(PERL_CLASSES[c.lower()]) + "]")
        elif c == "b":
            self.emit(_WORD_BOUNDARY, assertion=True)
        elif c == "B":
            self.emit(_NOT_WORD_BOUNDARY, assertion=True)
        elif c == "A":
            self.emit("\\A", assertion=True)
        elif c == "z":
            self.emit("\\Z", assertion=True)  # RE2 `\z` is Python `\Z`; RE2 has no `\Z`
        elif c == "Q":
            end = self.src.find("\\E", self.i)
            literal = self.src[self.i :] if end < 0 else self.src[self.i : end]
            self.i = len(self.src) if end < 0 else end + 2
            for ch in literal:
                self.emit(_codepoint_text(ord(ch)))
        else:
            self.emit(_codepoint_text(self.escaped_codepoint(c)))

    def escaped_codepoint(self, c: str) -> int:
        """The literal character an escape stands for (`\\` and `c` are consumed)."""
        if c in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[c]
        if c == "x":
            if m := re.match(r"\{([0-9A-Fa-f]{1,8})\}", self.src[self.i :]):
                value = int(m.group(1), 16)
            elif m := re.match(r"[0-9A-Fa-f]{2}", self.src[self.i :]):
                value = int(m.group(0), 16)
            else:
                raise self.fail("bad \\x escape")
            if value > _MAX_CODEPOINT:
                raise self.fail("bad \\x escape")
            self.i += m.end()
            return value
        if c in "01234567":
            # RE2: `\0` and `\1`..`\7` followed by an octal digit start an octal escape (up to three
            # digits); a lone `\1`..`\9` would be a backreference, which RE2 does not support.
            if c != "0" and not ("0" <= self.peek() <= "7"):
                raise self.fail(f"backreference \\{c} is not supported")
            digits = c
            while len(digits) < 3 and "0" <= self.peek() <= "7":
                digits += self.peek()
                self.i += 1
            return int(digits, 8)
        if c.isascii() and not c.isalnum():
            return ord(c)  # RE2 lets any ASCII punctuation be escaped
        if c in "pP":
            raise ModelSyntaxError("RE2 Unicode classes \\p, \\P are outside the modelled subset")
        if c == "C":
            raise ModelSyntaxError("RE2 \\C (any byte) is outside the modelled subset")
        raise self.fail(f"invalid escape \\{c}")

    def char_class(self) -> None:
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        parts: list[str] = []  # members as Python class text
        excluded: list[str] = []  # class text of sets whose complement is a member (\W, [:^alpha:])
        first = True
        while True:
            c = self.peek()
            if not c:
                raise self.fail("missing ]")
            if c == "]" and not first:  # RE2, like Perl, takes a leading `]` as a member
                self.i += 1
                break
            first = False
            if c == "[" and self.peek(1) == ":":
                m = re.match(r"\[:(\^?)([a-z]+):\]", self.src[self.i :])
                if m and m.group(2) in POSIX_CLASSES:
                    self.i += m.end()
                    body = class_body(POSIX_CLASSES[m.group(2)])
                    (excluded if m.group(1) else parts).append(body)
                    continue
                if m:
                    raise self.fail(f"invalid character class [:{m.group(2)}:]")
            low = self.class_member()
            if isinstance(low, str):  # a Perl class such as `\d` or `\D`
                body = class_body(PERL_CLASSES[low.lower()])
                (parts if low.islower() else excluded).append(body)
                continue
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.i += 1
                high = self.class_member()
                if isinstance(high, str) or high < low:
                    raise self.fail("bad character class range")
                parts.append(_codepoint_text(low) + "-" + _codepoint_text(high))
            else:
                parts.append(_codepoint_text(low))
        if not excluded:
            self.emit("[" + ("^" if negated else "") + "".join(parts) + "]")
            return
        # A complemented member is written as its own `[^...]`: under (?i) RE2 folds the set before
        # complementing it, so `(?i)[\W]` excludes the Kelvin sign and the long s (they fold to k
        # and s), and so does Python's `[^...]`, where ranges spelling out the complement would not.
        members = (["[" + "".join(parts) + "]"] if parts else []) + [f"[^{body}]" for body in excluded]
        union = "|".join(members)
        self.emit(f"(?:(?!{union})(?s:.))" if negated else f"(?:{union})")

    def class_member(self) -> int | str:
        """One class member: a code point, or the letter of a Perl class such as `d`."""
        c = self.peek()
        self.i += 1
        if c != "\\":
            return ord(c)
        e = self.peek()
        if not e:
            raise self.fail("trailing backslash")
        self.i += 1
        if e in "dwsDWS":
            return e
        if e in "pP":
            raise ModelSyntaxError("RE2 Unicode classes \\p, \\P are outside the modelled subset")
        if e in "QEbBAzC":
            raise self.fail(f"\\{e} is not valid inside a character class")
        return self.escaped_codepoint(e)


def translate_re2(source: str) -> Translation:
    """The Python pattern for an RE2 pattern; `ModelSyntaxError` where RE2 rejects it."""
    return _Translator(source).translate()


@cache
def compile_re2(source: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """`translate_re2`, compiled (with the whole pattern case-insensitive when `ignore_case`)."""
    python = translate_re2(source).pattern
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(python, re.IGNORECASE if ignore_case else 0)
    except re.error as error:
        raise ModelSyntaxError(f"invalid RE2 regex /{source}/: {error}") from error
