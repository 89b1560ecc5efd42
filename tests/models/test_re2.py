"""The RE2 -> Python translator shared by the Sumo Logic and YARA-L models.

Each expectation is an RE2 syntax fact (github.com/google/re2/wiki/Syntax), checked against the RE2
library itself when the table was written.
"""

from __future__ import annotations

import pytest

from tests.models.common import ModelSyntaxError
from tests.models.re2 import compile_re2, translate_re2

# (pattern, text, whether RE2 finds a match anywhere in the text)
SEARCHES = [
    # A bare (?i) inside a group lasts to the group's end, across `|`, and no further.
    ("^a(?i)b|c$", "aB", True),
    ("^(?:a(?i)b|c)$", "C", True),
    ("^a(?i)b|c$", "AB", False),
    ("x(?:(?i)a)B", "xAb", False),
    ("x(?:(?i)a)B", "xAB", True),
    ("(?s).*(?:(?i)invoke-[a-z]+ \\/c).*", "x\nINVOKE-Foo /c", True),
    # `$` is the end of the text only, unless (?m); a scoped (?m:) ends with its group.
    ("a$", "a\n", False),
    ("(?m)a$", "a\n", True),
    ("(?m:a$)\n", "a\n", True),
    ("(?m:x)a$", "xa\n", False),
    # \d \w \s \b and the POSIX classes are ASCII; \s has no \v, [[:space:]] has.
    ("\\d", "\u0667", False),
    ("\\w", "\u00e9", False),
    ("[\\D]", "\u0667", True),
    ("[\\W]", "\u00e9", True),
    ("[^\\W]", "\u00e9", False),
    ("\\s", "\v", False),
    ("[[:space:]]", "\v", True),
    ("[[:^alpha:]]", "\u00e9", True),
    ("[[:^alpha:]]", "z", False),
    # Under (?i) a complemented class is folded first: the Kelvin sign and the long s fold to k
    # and s, so they are not in (?i)[\W] although they are in [\W].
    ("[\\W]", "\u212a", True),
    ("(?i)[\\W]", "\u212a", False),
    ("(?i)[[:^alpha:]]", "\u017f", False),
    ("^[^\\S]?$", "a", False),
    ("\\bx", "\u00e9x", True),
    ("\\B", "", True),
    ("a\\B", "a", False),
    # Empty-width assertions take a repetition.
    ("^*a", "ba", True),
    ("x\\b?y", "xy", True),
    # Octal escapes, \x{...}, \Q...\E, a `{` that starts no repetition, `]` first in a class.
    ("^\\101\\x{42}\\x43$", "ABC", True),
    ("^\\Qa.b*\\E$", "a.b*", True),
    ("\\Qa.b\\E", "axb", False),
    ("^a{,2}$", "a{,2}", True),
    ("^a{2,3}?b$", "aab", True),
    ("[]a]", "]", True),
    # Flag letters are taken left to right: a repeated one is harmless, a later `-x` wins.
    ("(?ii)a", "A", True),
    ("(?i-i)a", "A", False),
    ("(?)a", "a", True),
]


@pytest.mark.parametrize(("pattern", "text", "found"), SEARCHES)
def test_re2_meaning(pattern: str, text: str, found: bool) -> None:
    assert (compile_re2(pattern).search(text) is not None) is found


REJECTED = [
    "a(?=b)",  # no lookaround
    "(?<=a)b",
    "(a)\\1",  # no backreferences
    "(?P<n>a)(?P=n)",
    "(?>a)",  # no atomic groups
    "a*+",  # no possessive or stacked repetition
    "a**",
    "a{2}{3}",
    "a\\Z",  # RE2 has \z, not \Z
    "a{1001}",
    "a{2,1}",
    "[z-a]",
    "(?x)a b",  # RE2 flags are i, m, s, U
    "(?i-)a",  # a `-` needs a flag after it
    "\\i",
    "\\8",
    "\\x{}",
    "\\x{110000}",
    "[\\1]",
    "[\\b]",
    "[\\Qa\\E]",
    "[[:foo:]]",
    "(a",
    "a)",
    "[a",
    "a\\",
    "*a",
    "(?i)*",
    "(?i)+",
    # Valid RE2 the models do not cover.
    "\\pL",
    "\\p{Greek}",
    "\\C",
    "(?U)a*",
]


@pytest.mark.parametrize("pattern", REJECTED)
def test_rejected(pattern: str) -> None:
    with pytest.raises(ModelSyntaxError):
        compile_re2(pattern)


def test_flags_set_anywhere() -> None:
    # YARA-L lets a regex see past the first line when it sets (?s) anywhere.
    assert translate_re2("a(?s:.)").flags_set == {"s"}
    assert translate_re2("(?i-s)a|(?m)b").flags_set == {"i", "m"}
    assert translate_re2("(?s-s)a").flags_set == frozenset()


def test_whole_pattern_ignore_case() -> None:
    assert compile_re2("abc", ignore_case=True).search("xABC")
    assert not compile_re2("a(?-i:b)", ignore_case=True).search("AB")
