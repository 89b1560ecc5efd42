"""The shared layer's readers of generated text: one group check, each language's literals."""

from __future__ import annotations

import random
import re

import pytest
from siemc.backends.aql import AqlBackend
from siemc.backends.kql import KqlBackend
from siemc.backends.logscale import LogScaleBackend
from siemc.backends.spl import SplEvalBackend

from siemc.compile.backend import SiemcBackend, factored_alternatives


@pytest.mark.parametrize(
    ("backend", "expression", "wrapped"),
    [
        (SiemcBackend, '(a or "(b")', True),
        (SiemcBackend, "(a) or (b)", False),
        (SiemcBackend, '("x\\\\") or ("y")', False),  # an escaped backslash ends the string
        (SiemcBackend, '("x\\") or (y")', True),  # an escaped quote does not
        # AQL: quotes doubled, a backslash escapes nothing (a path may end with one).
        (AqlBackend, "('C:\\') OR ('D:\\')", False),
        (AqlBackend, "('it''s (' AND \"p(1)\" = 2)", True),
        # KQL: a verbatim string doubles its quotes and escapes nothing.
        (KqlBackend, '(@"C:\\") or (@"D:\\")', False),
        (KqlBackend, '(@"say ""(""" or x)', True),
        # LogScale: "..." and /regex/ literals take backslash escapes.
        (LogScaleBackend, "(/a\\/(/ or x)", True),
        (LogScaleBackend, "(/a\\\\/) or (/b/)", False),
        # SPL eval: '...' are field names.
        (SplEvalBackend, "('f(x)'=1) or ('g'=2)", False),
        (SplEvalBackend, "('f)'=1 or x)", True),
    ],
)
def test_group_wrapped_reads_each_languages_literals(
    backend: type[SiemcBackend], expression: str, wrapped: bool
) -> None:
    assert backend().group_wrapped(expression) is wrapped


_PIECES = ["a", "b", "x", "\\.", "\\\\", "[ab]", "[^a]", "(?:a|b)", "(a)", "^", "$", ".", "{", "}"]
_SUFFIXES = ["", "", "*", "+", "?", "{2}", "{1,2}", "*?"]


def _random_body(rng: random.Random) -> str:
    return "".join(rng.choice(_PIECES) + rng.choice(_SUFFIXES) for _ in range(rng.randint(1, 4)))


def test_factored_alternatives_match_what_the_plain_alternation_matches() -> None:
    """Random alternatives sharing random heads and tails: the factored regex finds, and fully
    matches, exactly the values the plain `a|b|c` does."""
    rng = random.Random(1219)
    factored_count = 0
    for _ in range(3000):
        head, tail = _random_body(rng) if rng.random() < 0.7 else "", _random_body(rng)
        bodies = [head + _random_body(rng) + tail for _ in range(rng.randint(2, 3))]
        try:
            plain = re.compile("|".join(bodies))
        except re.error:
            continue
        factored_text = factored_alternatives(bodies)
        factored = re.compile(factored_text)
        factored_count += factored_text != "|".join(bodies)
        for _ in range(30):
            value = "".join(rng.choice("abx.\\") for _ in range(rng.randint(0, 6)))
            assert bool(plain.search(value)) == bool(factored.search(value)), (bodies, factored_text, value)
            assert bool(plain.fullmatch(value)) == bool(factored.fullmatch(value)), (bodies, factored_text)
    assert factored_count > 800


@pytest.mark.parametrize(
    ("bodies", "expected"),
    [
        (["teamviewer[^\\\\/]*$", "anydesk[^\\\\/]*$"], "(?:teamviewer|anydesk)[^\\\\/]*$"),
        (["a*", "b*"], "a*|b*"),  # a shared quantifier is no shared tail
        (["a{2}x", "a{3}y"], "a{2}x|a{3}y"),  # nor is half a counted repetition
        (["a|bz", "cz"], "a|bz|cz"),  # a top-level `|` is left alone
        (["(a)x\\1", "(a)y\\1"], "(a)x\\1|(a)y\\1"),  # backreferences keep their groups
    ],
)
def test_factored_alternatives(bodies: list[str], expected: str) -> None:
    assert factored_alternatives(bodies) == expected
