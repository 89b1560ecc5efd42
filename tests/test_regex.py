"""Sigma (Python) regexes rewritten for RE2 (KQL) and Lucene (EQL): what each rewrite keeps exact."""

from __future__ import annotations

import re

import pytest

from siemc.diagnostics import Unsupported
from siemc.regex import lucene_regex, re2_regex
from tests.checkers.eql_engine import lucene_to_python


@pytest.mark.parametrize(
    ("pattern", "flags", "expected"),
    [
        # Python's `$` also matches before a final line break; RE2's only at the end.
        ("^(?:y1|1)?.*$", set(), "^(?:y1|1)?.*(?:\\n?\\z)"),
        ("a$", {"m"}, "(?m)a$"),
        ("a\\Z", set(), "a\\z"),
        # Unicode classes, as Python means them.
        ("\\d+", set(), "\\p{Nd}+"),
        ("[\\w.]", {"i"}, "(?i)[\\p{L}\\p{N}_\\.]"),
        ("(?a)\\s", set(), "[\\t\\n\\v\\f\\r ]"),
        # Python-only spellings.
        ("a{,3}", set(), "a{0,3}"),
        ("x{}", set(), "x\\{\\}"),
        ("[[:alpha:]]", set(), "[\\[:alpha:]\\]"),
        ("\\u00e9(?#note)", set(), "é"),
        # Python's IGNORECASE matches `i` with the dotted and dotless i; RE2's folding does not.
        ("wi[h-j]", {"i"}, "(?i)w[iI\\x{130}\\x{131}][h-j\\x{130}\\x{131}]"),
    ],
)
def test_re2_rewrites(pattern: str, flags: set[str], expected: str) -> None:
    assert re2_regex(pattern, flags) == expected


@pytest.mark.parametrize("pattern", ["(?<=a)b", "a(?!b)", "(a)\\1", "\\bword\\b", "a$\\n", "(?x)a b"])
def test_re2_unsupported(pattern: str) -> None:
    with pytest.raises(Unsupported):
        re2_regex(pattern, set())


SAMPLES = [
    "",
    "a",
    "ab",
    "ab\n",
    "xab",
    "a\nb",
    "AB",
    "éÉ",
    "\n",
    "1٣",
    "x y",
    "b$",
    "\u212a\u017f",
    "\u0131",
]


@pytest.mark.parametrize(
    ("pattern", "flags"),
    [
        ("^ab$", set()),
        ("ab$", {"m"}),
        ("^b", {"m"}),
        ("a.b", set()),
        ("a.b", {"s"}),
        ("^(?:a|xa)b|y", set()),
        ("(?i)é", set()),
        ("\\d\\d", set()),
        ("x\\sy", set()),
        ("b\\$", set()),
        ("a+?b", set()),
        ("[^a]", set()),
        ("ks|^i$", {"i"}),
        ("[a-k][r-t]", {"i"}),
    ],
)
def test_lucene_matches_the_whole_value_as_python_searches(pattern: str, flags: set[str]) -> None:
    lucene, insensitive = lucene_regex(pattern, flags)
    python_flags = sum(
        (flag for letter, flag in (("i", re.I), ("m", re.M), ("s", re.S)) if letter in flags), 0
    )
    compiled = re.compile(lucene_to_python(lucene), re.DOTALL | (re.I | re.A if insensitive else 0))
    for sample in SAMPLES:
        expected = re.search(pattern, sample, python_flags) is not None
        assert (compiled.fullmatch(sample) is not None) == expected, (pattern, sample, lucene)


@pytest.mark.parametrize("pattern", ["a\\bb", "(?<=a)b", "(a)\\1", "a^b", "\\w"])
def test_lucene_unsupported(pattern: str) -> None:
    with pytest.raises(Unsupported):
        lucene_regex(pattern, set())
