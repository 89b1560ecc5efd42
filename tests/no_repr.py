"""No output may hold Python's text for a pySigma object: it would be a query that means nothing."""

from __future__ import annotations

import re

PYTHON_REPR = re.compile(
    r"Placeholder\(|Sigma[A-Za-z]+\(|SpecialChars\.|<[A-Za-z_][\w.]* object at 0x"
    r"|ConditionFieldEqualsValueExpression"
)


def assert_no_repr(text: str) -> None:
    found = PYTHON_REPR.search(text)
    assert found is None, (
        f"a Python repr in the output: {text[max(0, found.start() - 60) : found.end() + 60]!r}"
    )
