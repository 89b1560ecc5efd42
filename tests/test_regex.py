"""Sigma (Python) regexes rewritten for RE2 (KQL) and Lucene (EQL): what each rewrite keeps exact."""

from __future__ import annotations

import random
import re

import pytest

from siemc.compile.lucene import lucene_regex
from siemc.compile.regex import re2_regex
from siemc.diagnostics import Unsupported
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
        # Case folding is the engine's: no Turkish i, long s or Kelvin sign spelled out (README).
        ("wi[h-j]", {"i"}, "(?i)wi[h-j]"),
    ],
)
def test_re2_rewrites(pattern: str, flags: set[str], expected: str) -> None:
    assert re2_regex(pattern, flags) == expected


@pytest.mark.parametrize("pattern", ["(?<=a)b", "a(?!b)", "(a)\\1", "\\bword\\b", "a$\\n", "(?x)a b"])
def test_re2_unsupported(pattern: str) -> None:
    with pytest.raises(Unsupported):
        re2_regex(pattern, set())


# No letter whose case pairs are not one-to-one (the dotted and dotless i, the long s, the Kelvin
# sign): engines fold those each their own way, and siemc does not spell them out (README).
SAMPLES = [
    "",
    "/.x",
    ".x",
    "1.2",
    "12",
    "1.2.",
    "ab cd",
    "_a",
    "abyd\n",
    "a\n",
    "a\n\n",
    "$b",
    "x\n",
    "\u00e9a",
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
        # Unicode classes and their negations.
        ("\\w+", set()),
        ("\\W\\s*b", set()),
        ("[\\w$]\\S", set()),
        ("\\D", set()),
        # Anchors inside the pattern: expanded into alternatives.
        ("(^|/)\\.[^./]", set()),
        ("(^[a-z]{2}$)|(^[a-z]{4}$)", {"i"}),
        ("(?:b|^a)(?:b$|y)", set()),
        ("a$\\n?", set()),
        # Word boundaries: decided by their neighbours, or a class at the alternative's edge.
        ("(?:\\d(?:\\.|\\b)){2}", set()),
        ("a\\b", set()),
        ("\\ba", set()),
        ("\\Bb", set()),
        ("a\\B", set()),
        ("^\\bab$", set()),
        ("x\\b$", set()),
        ("\\ba$", {"m"}),
        ("\\$\\b", set()),
    ],
)
def test_lucene_matches_the_whole_value_as_python_searches(pattern: str, flags: set[str]) -> None:
    _assert_lucene_agrees(pattern, flags, SAMPLES)


def _assert_lucene_agrees(pattern: str, flags: set[str], samples: list[str]) -> None:
    """The Lucene rewrite, run as Elasticsearch runs it, matches a whole sample exactly when Python
    finds the pattern in it."""
    lucene, insensitive = lucene_regex(pattern, flags)
    python_flags = sum(
        (flag for letter, flag in (("i", re.I), ("m", re.M), ("s", re.S)) if letter in flags), 0
    )
    compiled = re.compile(lucene_to_python(lucene), re.DOTALL | (re.I | re.A if insensitive else 0))
    for sample in samples:
        expected = re.search(pattern, sample, python_flags) is not None
        assert (compiled.fullmatch(sample) is not None) == expected, (pattern, flags, sample, lucene)


@pytest.mark.parametrize(
    "pattern", ["a\\bb", "(?<=a)b", "(a)\\1", "a^b", "[\\W\\d]", "(?:^a)+", "\\bx*", "a$b", "(?m)a^b"]
)
def test_lucene_unsupported(pattern: str) -> None:
    with pytest.raises(Unsupported):
        lucene_regex(pattern, set())


_ATOMS = ["a", "b", "1", "\\.", " ", "\\n", "é", ".", "\\w", "\\W", "\\d", "\\s", "\\S", "[a1_]", "[^b]"]
_ANCHORS = ["^", "$", "\\A", "\\Z", "\\b", "\\B"]
_ALPHABET = "ab1 ._\né/"


def _random_pattern(rng: random.Random, depth: int = 0) -> str:
    parts = []
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.25:
            parts.append(rng.choice(_ANCHORS))
        elif roll < 0.4 and depth < 2:
            branches = [_random_pattern(rng, depth + 1) for _ in range(rng.randint(1, 3))]
            parts.append("(?:" + "|".join(branches) + ")" + rng.choice(["", "?", "{2}", "{1,2}"]))
        else:
            parts.append(rng.choice(_ATOMS) + rng.choice(["", "", "?", "*", "+"]))
    return "".join(parts)


def test_lucene_agrees_with_python_on_random_patterns() -> None:
    """Random patterns mixing anchors, boundaries and classes, each on random values: a whole-value
    Lucene match exactly when Python finds the pattern (those Lucene cannot say are skipped)."""
    rng = random.Random(1219)
    written = 0
    for _ in range(1500):
        pattern = _random_pattern(rng)
        flags = set(rng.sample(["i", "m", "s"], rng.randint(0, 2)))
        try:
            lucene_regex(pattern, flags)
        except Unsupported:
            continue
        written += 1
        samples = ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 6))) for _ in range(40)]
        _assert_lucene_agrees(pattern, flags, samples)
    assert written > 900  # most random patterns have a Lucene form
