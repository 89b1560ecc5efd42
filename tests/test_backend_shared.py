"""The shared layer's readers of generated text: one group check, each language's literals."""

from __future__ import annotations

import pytest

from backends.aql import AqlBackend
from backends.kql import KqlBackend
from backends.logscale import LogScaleBackend
from backends.spl import SplEvalBackend
from siemc.backend import SiemcBackend


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
