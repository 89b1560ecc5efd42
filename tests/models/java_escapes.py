"""Escapes with the meaning java.util.regex.Pattern gives them, shared by the regex translators of
the models whose regexes follow Java's syntax (AQL's MATCHES, LogScale)."""

from __future__ import annotations

_OCTAL_DIGITS = "01234567"


def java_octal(text: str, start: int) -> tuple[int, int] | None:
    """The octal escape whose digits begin at `text[start]`, just after `\\0`: Java's `\\0n`,
    `\\0nn` and `\\0mnn` with m <= 3 (Pattern, "Characters"), so `\\0477` is `\\047` then `7`.
    Returns the character's code and the index after the escape; None when no octal digit follows
    (Java rejects such a `\\0`)."""
    digits = ""
    end = start
    while end < len(text) and len(digits) < 3 and text[end] in _OCTAL_DIGITS:
        if len(digits) == 2 and digits[0] > "3":
            break
        digits += text[end]
        end += 1
    return (int(digits, 8), end) if digits else None
