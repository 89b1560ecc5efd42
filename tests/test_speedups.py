"""Speed-only shortcuts around pySigma: each must leave every result as pySigma would make it.

Regexes built by escaping a value skip pySigma's compile check (they must be valid by construction);
pySigma's string conversion runs without its unused regex rewrite (no string template may use it).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from siemc.backends import TARGET_NAMES, get_target
from sigma.types import SigmaString

from siemc.compile.backend import (
    PYSIGMA_TO_REGEX,
    EscapedRegex,
    SiemcBackend,
    WholeValueRegex,
    alternation,
    regex_string,
    wildcard_regex,
)
from siemc.compile.fields import file_name_regex

# Sigma values: any text, with `*`, `?` and `\` (Sigma's escape) drawn often.
values = st.text(st.one_of(st.sampled_from("*?\\.$^[](){}|+ \n"), st.characters()), max_size=12).map(
    SigmaString
)


@given(values, st.sampled_from(["", "/", "#", "'\""]))
def test_to_regex_is_pysigmas_and_compiles(value: SigmaString, custom: str) -> None:
    regex = value.to_regex(custom)
    assert isinstance(regex, EscapedRegex)
    assert regex.regexp == PYSIGMA_TO_REGEX(value, custom).regexp
    re.compile(str(regex.regexp))


@given(st.lists(values, min_size=1, max_size=4), st.booleans())
def test_siemc_wildcard_regexes_compile(value_list: list[SigmaString], cased: bool) -> None:
    regexes = [wildcard_regex(value_list[0], cased), alternation(value_list, cased)]
    regexes.append(file_name_regex(value_list[0], cased))
    for regex in regexes:
        assert isinstance(regex, WholeValueRegex)
        re.compile(str(regex.regexp))


# pySigma's own backends (SPL search, EQL) keep pySigma's string conversion as it is.
SIEMC_BACKENDS = [
    backend
    for name in TARGET_NAMES
    for backend in (get_target(name).backend_class, get_target(name).condition_backend_class)
    if backend is not None and issubclass(backend, SiemcBackend)
]


@pytest.mark.parametrize("backend", SIEMC_BACKENDS, ids=lambda backend: backend.__name__)
def test_no_string_template_uses_the_regex_pysigma_formats(backend: Any) -> None:
    prefixes = ("eq", "startswith", "endswith", "contains", "wildcard_match")
    names = [f"{cased}{prefix}_expression" for cased in ("", "case_sensitive_") for prefix in prefixes]
    for name in [*names, "case_sensitive_match_expression"]:
        assert "{regex}" not in (getattr(backend, name, None) or ""), name


@given(st.text(st.one_of(st.sampled_from("*?\\"), st.characters()), max_size=12))
def test_regex_string_is_pysigmas_unescaped_string(text: str) -> None:
    expected = SigmaString(text, escape=False)
    string = regex_string(text)
    assert (string.original, string.s) == (expected.original, expected.s)
    assert EscapedRegex(text).regexp.s == expected.s
