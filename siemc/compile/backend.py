"""The shared tree walker under siemc's own backends.

A target's backend is a subclass holding tables (tokens, quoting, operator templates), exactly as
pySigma's `TextQueryBackend` intends. This base adds what several languages need and pySigma leaves
to each backend:

- every AND/OR group is parenthesised (`parenthesize`), whatever the language's precedence;
- a value with a wildcard in the middle, or a `?`, becomes an anchored regular expression with the
  right case flag, for languages without a wildcard operator (pySigma would emit it unanchored);
- languages without case-insensitive operators compare `lower(field)` with a lower-cased value
  (`case_fold_expression`);
- value lists become one list expression only when every value takes the same operator
  (case-insensitive strings, case-sensitive strings or numbers), never a mixed list.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final

from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionNOT, ConditionOR
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.deferred import DeferredQueryExpression
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    Placeholder,
    SigmaCasedString,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
    char_mapping,
)

from siemc.compile.placeholders import NamedListValue

_REGEX_ESCAPES = str.maketrans({c: "\\" + c for c in ".*+?^$[](){}|\\/"})
_WILDCARD_SPLIT = re.compile(r"([*?])")


def regex_string(text: str) -> SigmaString:
    """`SigmaString(text, escape=False)`, the form pySigma holds a regex in (`*` and `?` as wildcard
    parts), split in one call rather than by pySigma's loop over every character."""
    string = SigmaString()
    string.original = text
    string.s = [char_mapping.get(part, part) for part in _WILDCARD_SPLIT.split(text) if part]
    return string


class EscapedRegex(SigmaRegularExpression):
    """A regex written by escaping a value's text (siemc's wildcard and file-name regexes, pySigma's
    `SigmaString.to_regex`), so valid by construction: it skips pySigma's check, which compiles
    every regex it creates. Conversion creates one for each string test of each target, most of them
    never used (pySigma's string conversion formats a `regex` it rarely needs), and compiling them
    cost about a tenth of a build. A rule's own regexes are still checked when the rule is parsed.
    The text is held as pySigma holds it (`regex_string`)."""

    def __post_init__(self, regexp_init: str | SigmaString) -> None:
        self.regexp = regex_string(regexp_init) if isinstance(regexp_init, str) else regexp_init

    def compile(self) -> None:
        return None


def _escaped_to_regex(self: SigmaString, custom_escaped: str = "") -> SigmaRegularExpression:
    """pySigma 1.5's `SigmaString.to_regex`, with an EscapedRegex as the result (see there)."""
    return EscapedRegex(
        self.convert(
            escape_char="\\",
            wildcard_multi=".*",
            wildcard_single=".",
            add_escaped=".*+?^$[](){}\\|" + custom_escaped,
        )
    )


# siemc's one change to pySigma's behaviour, for speed only: every backend (pySigma's EQL and Splunk
# ones too) imports this module. tests/test_speedups.py checks it against pySigma's own method.
PYSIGMA_TO_REGEX: Final = SigmaString.to_regex
SigmaString.to_regex = _escaped_to_regex  # type: ignore[method-assign]


class WholeValueRegex(EscapedRegex):
    """A regex siemc writes for a wildcard value or value list: its `$` means the end of the value
    (unlike a rule's own regex, whose `$` also matches before a final line break). Escaped, or joined
    from regexes `_mergeable` compiled together."""


def wildcard_regex(value: SigmaString, cased: bool) -> SigmaRegularExpression:
    """Sigma's whole-value wildcard match as a regex for an unanchored search.

    `*` is any run (DOTALL, since Sigma's `*` spans line breaks), `?` one character; the value is
    anchored at both ends, except where it starts or ends with `*`, which an unanchored search already
    allows (`*\\x.exe` becomes `\\x\\.exe$`).
    """
    text, wildcards = _wildcard_pattern(value)
    regex = WholeValueRegex(text)
    regex.flags = _wildcard_flags(cased, wildcards)
    return regex


# A Windows path as the kernel names it: `C:\\x.exe` is `\\Device\\HarddiskVolume3\\x.exe` (the volume's
# number, which no drive letter tells).
DEVICE_PATH_PREFIX = "\\\\Device\\\\HarddiskVolume[0-9]+\\\\"
_DRIVE = re.compile(r"[A-Za-z]:\\")


def device_path_regex(value: SigmaString, cased: bool) -> SigmaRegularExpression | None:
    """A wildcard value naming a drive-letter path (`C:\\Windows\\*`, `*C:\\Users\\*`, `?:\\x`) as
    a regex over the device path that stores it (`\\Device\\HarddiskVolume<N>\\Windows\\...`);
    None for a value that names no drive (`*\\cmd.exe`). Every drive letter stands for any volume:
    which volume a letter names is the host's own."""
    parts = list(value.s)
    anchored = not (parts and parts[0] is SpecialChars.WILDCARD_MULTI)
    index = 0 if anchored else 1
    head = parts[index] if index < len(parts) else None
    after = parts[index + 1] if index + 1 < len(parts) else None
    if isinstance(head, str) and _DRIVE.match(head):
        tail = [head[3:], *parts[index + 1 :]]
    elif head is SpecialChars.WILDCARD_SINGLE and isinstance(after, str) and after.startswith(":\\"):
        tail = [after[2:], *parts[index + 2 :]]
    else:
        return None
    anchored_end = not (tail and tail[-1] is SpecialChars.WILDCARD_MULTI)
    while tail and tail[-1] is SpecialChars.WILDCARD_MULTI:
        tail.pop()
    pieces, wildcards = _regex_pieces(tail)
    body = ("^" if anchored else "") + DEVICE_PATH_PREFIX + pieces + ("$" if anchored_end else "")
    regex = WholeValueRegex(body)
    regex.flags = _wildcard_flags(cased, wildcards)
    return regex


def _regex_pieces(parts: Sequence[str | SpecialChars | Placeholder]) -> tuple[str, bool]:
    """Sigma string parts as regex text (`*` is `.*`, `?` is `.`, the rest escaped), and whether a
    wildcard is among them (`.`, which needs DOTALL)."""
    wildcards = (SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE)
    text = "".join(
        (".*" if part is SpecialChars.WILDCARD_MULTI else ".")
        if part in wildcards
        else str(part).translate(_REGEX_ESCAPES)
        for part in parts
    )
    return text, any(part in wildcards for part in parts)


def _wildcard_pattern(value: SigmaString) -> tuple[str, bool]:
    """The text of `wildcard_regex`, and whether it holds a wildcard (`.`, which needs DOTALL)."""
    parts = list(value.s)
    anchor_start = not (parts and parts[0] is SpecialChars.WILDCARD_MULTI)
    anchor_end = not (parts and parts[-1] is SpecialChars.WILDCARD_MULTI)
    while parts and parts[0] is SpecialChars.WILDCARD_MULTI:
        parts.pop(0)
    while parts and parts[-1] is SpecialChars.WILDCARD_MULTI:
        parts.pop()
    body, wildcards = _regex_pieces(parts)
    if not body and not (anchor_start and anchor_end):
        body = ".*"  # a value of only `*`: any value (an empty regex is no literal); "" stays `^$`
    return ("^" if anchor_start else "") + body + ("$" if anchor_end else ""), wildcards


def _wildcard_flags(cased: bool, wildcards: bool) -> set[SigmaRegularExpressionFlag]:
    flags = set() if cased else {SigmaRegularExpressionFlag.IGNORECASE}
    if wildcards:
        flags.add(SigmaRegularExpressionFlag.DOTALL)
    return flags


def factored_alternatives(bodies: list[str]) -> str:
    """`a|b|c` with what every alternative starts and ends with written once, as a hand-written regex
    would: `(?:x[^/]*$)|(?:y[^/]*$)` is `(?:x|y)[^/]*$`. Cuts fall only between whole tokens at the
    top level, never before a quantifier; bodies with a top-level `|` or a backreference stay as they
    are."""
    if len(bodies) < 2 or any(re.search(r"\\[1-9]|\(\?P=", body) for body in bodies):
        return "|".join(bodies)
    tokenised = [top_level_tokens(body) for body in bodies]
    if any(_TOP_LEVEL_BAR in tokens for tokens in tokenised):
        return "|".join(bodies)
    texts = [[token for token, _ in tokens] for tokens in tokenised]

    # Where a body may be cut: before a top-level token that is no quantifier (or at its end), and
    # not inside a word, which a reader would not split (`\\(?:services|svchost)`, not `\\s(?:er...`).
    def in_word(text: list[str], index: int) -> bool:
        return 0 < index < len(text) and all(
            len(token) == 1 and (token.isalnum() or token == "_") for token in text[index - 1 : index + 1]
        )

    cuts = [
        {
            index
            for index, (token, top) in enumerate([*tokens, ("", True)])
            if top and token[:1] not in "*+?{" and not in_word(text, index)
        }
        for tokens, text in zip(tokenised, texts, strict=True)
    ]
    shortest = min(len(text) for text in texts)
    prefix = suffix = 0
    for length in range(1, shortest):
        if len({tuple(text[:length]) for text in texts}) > 1:
            break
        if all(length in points for points in cuts):
            prefix = length
    for length in range(1, shortest - prefix):
        if len({tuple(text[len(text) - length :]) for text in texts}) > 1:
            break
        if all(len(text) - length in points for text, points in zip(texts, cuts, strict=True)):
            suffix = length
    if not (prefix or suffix):
        return "|".join(bodies)
    middles = "|".join("".join(text[prefix : len(text) - suffix]) for text in texts)
    first = texts[0]
    return "".join(first[:prefix]) + f"(?:{middles})" + "".join(first[len(first) - suffix :])


def alternation(values: list[SigmaString], cased: bool) -> SigmaRegularExpression:
    """One regex matching exactly when any of the wildcard values matches (`\\\\(?:a|b)\\.exe$` style)."""
    # Each value's `wildcard_regex`, as text and flags: no regex object per value.
    patterns = [_wildcard_pattern(value) for value in values]
    bodies = [text for text, _ in patterns]
    start = "^" if all(b.startswith("^") for b in bodies) else ""
    end = "$" if all(b.endswith("$") and not b.endswith("\\$") for b in bodies) else ""
    bodies = [b[len(start) : len(b) - len(end)] for b in bodies]
    body = factored_alternatives(bodies)
    if (start or end) and _TOP_LEVEL_BAR in top_level_tokens(body):
        body = f"(?:{body})"
    regex = WholeValueRegex(start + body + end)
    regex.flags = set().union(*(_wildcard_flags(cased, wildcards) for _, wildcards in patterns))
    return regex


def end_of_value_anchors(regex: SigmaRegularExpression, anchor: str = "\\z") -> SigmaRegularExpression:
    """A whole-value regex (`wildcard_regex`, `alternation`) with its `$` anchors written `anchor`, for
    dialects whose `$` also matches before a final line break (PCRE, Java, Python) where the end of a
    value does not. (Python's `re` before 3.14 has no `\\z`: the body is set after pySigma's check.)"""
    body = re.sub(r"(?<!\\)((?:\\\\)*)\$", lambda m: m.group(1) + anchor, str(regex.regexp))
    regex.regexp = regex_string(body)
    return regex


# Literals in which parentheses do not group (a backend states its own: `string_literals`).
DOUBLE_QUOTED = re.compile(r'"(?:\\.|[^"\\])*"')  # "..." with backslash escapes
DOUBLE_QUOTED_AND_REGEX = re.compile(DOUBLE_QUOTED.pattern + r"|/(?:\\.|[^/\\])*/")  # and /regex/


@functools.cache
def _group_scanner(strings: re.Pattern[str]) -> re.Pattern[str]:
    """Literals (skipped whole) or a parenthesis."""
    return re.compile(f"{strings.pattern}|[()]")


def group_wrapped(expression: str, strings: re.Pattern[str] = DOUBLE_QUOTED) -> bool:
    """True when the whole expression is one parenthesised group: `(a or b)`, not `(a) or (b)`."""
    if not (expression.startswith("(") and expression.endswith(")")):
        return False
    depth = 0
    for token in _group_scanner(strings).finditer(expression):
        if token.group() == "(":
            depth += 1
        elif token.group() == ")":
            depth -= 1
            if depth == 0 and token.end() != len(expression):
                return False
    return True


def regex_tokens(regexp: str) -> list[tuple[int, str, bool]]:
    """The regex as (start, token, inside a character class) triples, for rewriters that replace
    single characters by position: a token is an escape pair, a class opener `[`/`[^`, a group
    opener `(?` (outside a class), or one character."""
    tokens: list[tuple[int, str, bool]] = []
    index, in_class = 0, False
    while index < len(regexp):
        char, inside = regexp[index], in_class
        if char == "\\" and index + 1 < len(regexp):
            token = regexp[index : index + 2]
        elif in_class:
            token = char
            in_class = char != "]" or tokens[-1][1] in ("[", "[^")  # `[]a]`: a leading `]` is literal
        elif char == "[":
            token = "[^" if regexp[index + 1 : index + 2] == "^" else "["
            in_class = True
        elif char == "(" and regexp[index + 1 : index + 2] == "?":
            token = "(?"  # a group construct: its `?` is no quantifier, its `<!`/`<=` no anchor
        else:
            token = char
        tokens.append((index, token, inside))
        index += len(token)
    return tokens


def found_anywhere(regexp: str, any_run: str, anchors_are_edges: bool) -> str:
    """A search regex as a whole-value match: `any_run` (`.*` in the dialect's any-character form)
    on each side where the regex is not anchored there (`anchors_are_edges`: its `^`/`$` mean the
    value's start/end), and the regex in a group only where it needs one: an alternation at its top
    level, or an inline flag (which a group keeps to the regex)."""
    tokens = top_level_tokens(regexp)
    if _TOP_LEVEL_BAR in tokens or re.search(r"\(\?[a-zA-Z-]+\)", regexp):
        return f"{any_run}(?:{regexp}){any_run}"
    starts = anchors_are_edges and tokens[:1] == [("^", True)]
    ends = anchors_are_edges and tokens[-1:] == [("$", True)]
    return ("" if starts else any_run) + regexp + ("" if ends else any_run)


_TOP_LEVEL_BAR = ("|", True)  # in `top_level_tokens`: an alternation of the whole regex


def top_level_tokens(regexp: str) -> list[tuple[str, bool]]:
    """The regex's tokens (`regex_tokens`, with a counted repetition `{m,n}` as one), each with whether
    it stands outside every group and class."""
    out: list[tuple[str, bool]] = []
    depth, skip_to = 0, 0
    for start, token, inside in regex_tokens(regexp):
        if start < skip_to:
            continue
        if not inside and token == "{" and (repeat := re.match(r"\{\d*(?:,\d*)?\}", regexp[start:])):
            token, skip_to = repeat.group(), start + repeat.end()
        if not inside and token == ")":
            depth -= 1
        out.append((token, not inside and depth == 0 and token != ")"))
        if not inside and token in ("(", "(?"):
            depth += 1
    return out


def _outside_classes(regexp: str, char: str, replacement: str) -> str:
    return "".join(
        replacement if token == char and not inside else token for _, token, inside in regex_tokens(regexp)
    )


def dot_within_line(regexp: str) -> str:
    """The regex with every `.` outside a character class written `[^\\n]` (for DOTALL dialects)."""
    return _outside_classes(regexp, ".", "[^\\n]")


def final_line_break_anchors(regexp: str) -> str:
    """The regex with every `$` outside a character class written `(?:\\n?$)`, for RE2 dialects.

    Without the m flag, a Python `$` (Sigma's) also matches before a final line break; RE2's `$` only
    at the end of the text.
    """
    return _outside_classes(regexp, "$", "(?:\\n?$)")


def slash_delimited(regexp: str) -> str:
    """A regex body for a `/.../` literal: every `/` not already escaped gets a backslash."""
    return re.sub(r"(?<!\\)((?:\\\\)*)/", r"\1\\/", regexp)


def line_breaks_escaped(regexp: str) -> str:
    """The regex with raw line breaks (escaped or not) written `\\n` / `\\r`, for one-line literals."""
    escapes = {"\n": "\\n", "\r": "\\r"}
    return re.sub(r"(?<!\\)((?:\\\\)*)\\?([\n\r])", lambda m: m[1] + escapes[m[2]], regexp)


def backslash_string(text: str) -> str:
    """A double-quoted literal with C-style backslash escapes (YARA-L, LogScale)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return '"' + escaped.replace("\t", "\\t") + '"'


def plain_text(value: SigmaString) -> str:
    """The literal text of a value without wildcards (Sigma's escapes resolved, nothing re-escaped)."""
    return "".join(str(part) for part in value.s)


def _mergeable(args: list[ConditionFieldEqualsValueExpression]) -> bool:
    """Regexes join into one alternation unless one sets inline flags, which must lead a pattern."""
    regexes = [str(arg.value.regexp) for arg in args if isinstance(arg.value, SigmaRegularExpression)]
    try:
        re.compile("|".join(f"(?:{regex})" for regex in regexes))
    except re.error:
        return False
    return True


class _UnusedRegex:
    def __format__(self, spec: str) -> str:
        raise AssertionError("a string template uses {regex}, which SiemcBackend._without_regex skips")


def _unused_regex(regex: SigmaRegularExpression, state: ConversionState) -> _UnusedRegex:
    return _UnusedRegex()


def whole_value_reasons(test: str, holder: str) -> dict[str, str]:
    """`named_list_reasons` of a list construct that tests whole values only: why it has no pattern
    or regex match, for each of those kinds, case-sensitive or not."""
    return {
        key: f"{test} tests whole values: {holder} has no {kind} match"
        for kind in ("contains", "startswith", "endswith", "regex")
        for key in (kind, kind + "_cased")
    }


class NamedListTests:
    """A Sigma placeholder kept as the SIEM's own named list (siemc.compile.placeholders).

    A backend states, per match kind (exact, contains, startswith, endswith, regex, cidr; `_cased`
    appended for a case-sensitive test: the `cased` modifier, a regex without `i`), its SIEM's
    construct with `{field}` (the native field) and `{list}` (the list's reference, written by
    `named_list_literal` through the language's string literal). A kind with no construct is
    unsupported, with the backend's reason from `named_list_reasons` where it gives one. Backends
    whose construct is more than a template override `convert_named_list`.
    """

    named_list_tests: ClassVar[Mapping[str, str]] = {}
    # Why a kind (a key of named_list_tests) has no construct on this target.
    named_list_reasons: ClassVar[Mapping[str, str]] = {}

    def named_list_literal(self, value: NamedListValue) -> str:
        # List names are plain ([A-Za-z0-9_.-], checked in siemc.yml); still written as a string.
        return '"' + value.id + '"'

    def named_list_unsupported(self, value: NamedListValue, reason: str | None = None) -> Exception:
        if reason is None:
            reason = self.named_list_reasons.get(value.key)
        if reason is None:
            cased = "case-sensitive " if value.cased and value.kind != "cidr" else ""
            reason = f"this target has no list construct for {cased}{value.kind} matches"
        return SigmaFeatureNotSupportedByBackendError(
            f"placeholder '{value.placeholder}' is the named list {value.id!r}: {reason}"
        )

    def convert_condition_field_eq_query_expr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        if not isinstance(value, NamedListValue):
            return super().convert_condition_field_eq_query_expr(cond, state)  # type: ignore[misc]
        if value.other_flags:
            raise self.named_list_unsupported(
                value, f"the regex flags {value.other_flags} cannot be applied to a list's regexes"
            )
        return self.convert_named_list(cond, value, state)

    def convert_named_list(
        self, cond: ConditionFieldEqualsValueExpression, value: NamedListValue, state: ConversionState
    ) -> Any:
        template = self.named_list_tests.get(value.key)
        if template is None:
            raise self.named_list_unsupported(value)
        field = self.escape_and_quote_field(cond.field)  # type: ignore[attr-defined]
        return template.format(field=field, list=self.named_list_literal(value))


def bounded_join(terms: list[str], joiner: str, group_expression: str, limit: int) -> str:
    """`terms` joined by one associative operator, as nested groups of at most `limit` terms each
    wherever there are more: `a or b or ... or z` becomes `(a or ... or h) or (i or ... or p) ...`,
    whose syntax depth grows with the logarithm of the count, not with the count. A join of at most
    `limit` terms is the plain join."""
    while len(terms) > limit:
        terms = [
            group_expression.format(expr=joiner.join(terms[start : start + limit]))
            for start in range(0, len(terms), limit)
        ]
    return joiner.join(terms)


class BoundedChains(TextQueryBackend):
    """AND and OR conditions whose syntax depth stays bounded, for every backend (siemc's own and the
    pySigma ones siemc uses, by inheriting this first).

    A rule ORing a thousand values the language has no list form for (`contains`, `endswith`,
    `startswith`) converts to a chain of a thousand tests, which parsers build as a binary tree as deep
    as the chain is long. Parsers bound that depth: Microsoft's Kusto.Language refuses past about 490
    nested operations (KS245, "Query syntax depth exceeds maximum safe limit", measured with the
    checker in tests/checkers), Elasticsearch's ES|QL parser at 400 levels and its EQL and SQL parsers
    now likewise (elastic/elasticsearch pull requests 111186 and 150003). So a chain longer than
    `max_chain` terms is written as nested groups of at most `max_chain` terms (`bounded_join`): 4,400
    tests nest about 130 deep instead of 4,400. Grouping an associative operator changes no meaning,
    and a chain of at most `max_chain` terms is written as before, byte for byte.
    """

    max_chain: ClassVar[int] = 64

    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Any:
        return self._bounded_chain(cond, state, self.or_token, self.empty_or_expression)

    def convert_condition_and(self, cond: ConditionAND, state: ConversionState) -> Any:
        return self._bounded_chain(cond, state, self.and_token, self.empty_and_expression)

    def _bounded_chain(
        self, cond: ConditionOR | ConditionAND, state: ConversionState, token: str | None, empty: Any
    ) -> Any:
        """pySigma's AND/OR conversion (the same terms, separator and grouping), joined by `bounded_join`."""
        if token is None:
            raise NotImplementedError(f"Operator {type(cond).__name__} not supported by the backend")
        joiner = (
            token if self.token_separator == token else self.token_separator + token + self.token_separator
        )
        terms = [
            converted
            for converted in (
                self.convert_condition(arg, state)
                if self.compare_precedence(cond, arg)
                else self.convert_condition_group(arg, state)
                for arg in cond.args
            )
            if converted is not None and not isinstance(converted, DeferredQueryExpression)
        ]
        if not terms:
            return empty
        texts = [str(term) for term in terms]
        if self.group_expression is None:  # a language without grouping: the plain chain
            return joiner.join(texts)
        return bounded_join(texts, joiner, self.group_expression, self.max_chain)


class SiemcBackend(NamedListTests, BoundedChains):
    parenthesize = True
    # Standard precedence; with parenthesize every group is bracketed anyway.
    precedence: ClassVar[tuple[type[ConditionNOT], type[ConditionAND], type[ConditionOR]]] = (
        ConditionNOT,
        ConditionAND,
        ConditionOR,
    )
    group_expression = "({expr})"
    # Languages where negation is a function or needs its operand bracketed: e.g. "not({expr})".
    not_expression: ClassVar[str | None] = None
    compare_operators: ClassVar[dict[Any, str]] = {  # the same four symbols in every language here
        SigmaCompareExpression.CompareOperators.LT: "<",
        SigmaCompareExpression.CompareOperators.LTE: "<=",
        SigmaCompareExpression.CompareOperators.GT: ">",
        SigmaCompareExpression.CompareOperators.GTE: ">=",
    }
    convert_or_as_in = True
    in_expressions_allow_wildcards = False
    # Event data (Windows EventData, JSON) holds booleans as text: compare them as strings.
    bool_values: ClassVar[dict[bool, str | None]] = {True: '"true"', False: '"false"'}

    # Languages whose string comparisons are all case-sensitive set this to e.g. "lower({field})";
    # case-insensitive tests then compare it with the lower-cased value.
    case_fold_expression: ClassVar[str | None] = None
    # List operators per value kind; None disables the list form for that kind.
    cased_in_operator: ClassVar[str | None] = None
    number_in_operator: ClassVar[str | None] = None
    # Languages whose idiom for several patterns on one field is a single regex alternation.
    pattern_list_as_regex: ClassVar[bool] = False

    # Characters a language's wildcard patterns cannot escape (SQL LIKE's % and _, for instance):
    # a value containing one is matched with a regex instead.
    unescapable_pattern_chars: ClassVar[str] = ""
    # Characters that are wildcards even in a language's exact-match literals and list values
    # (LogScale's `*`): a value holding one literally is matched with a regex instead.
    literal_wildcard_chars: ClassVar[str] = ""
    # Languages with SQL's three-valued logic: a test on a missing field is unknown, and NOT keeps it
    # unknown, so under a NOT each test is guarded, e.g. "({field} IS NOT NULL AND {expr})".
    null_guard_expression: ClassVar[str | None] = None
    # Whole-value wildcard pattern tests (`like(f, "a%b")`, `f LIKE 'a%b'`); the value keeps its
    # wildcards in the language's own form (wildcard_multi / wildcard_single).
    pattern_match_expression: ClassVar[str | None] = None
    insensitive_pattern_match_expression: ClassVar[str | None] = None
    # How the dialect's regexes say "the end of the value" where its `$` also matches before a final
    # line break (PCRE, Java, Python): siemc's own whole-value regexes use it for their `$`.
    end_of_value_anchor: ClassVar[str | None] = None
    # How the language's string (and regex) literals are spelled, for reading generated expressions.
    string_literals: ClassVar[re.Pattern[str]] = DOUBLE_QUOTED

    # Equality for numbers where it differs from strings' (KQL: `=~` is for strings only).
    num_eq_token: ClassVar[str | None] = None

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        return (
            self.escape_and_quote_field(cond.field) + (self.num_eq_token or self.eq_token) + str(cond.value)
        )

    # -- strings -----------------------------------------------------------------------------------
    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        assert isinstance(value, SigmaString)
        if self._needs_regex(value):
            return self._as_regex(cond, self._wildcard_regex(value, cased=False), state)
        if value.contains_special() and self.insensitive_pattern_match_expression:
            return self._format(self.insensitive_pattern_match_expression, self._field(cond), value, state)
        if self.case_fold_expression:
            field = self.case_fold_expression.format(field=self._field(cond))
            template = (
                self.pattern_match_expression
                if value.contains_special()
                else self.case_sensitive_match_expression
            )
            assert template is not None
            return self._format(template, field, value.lower(), state)
        return self._without_regex(super().convert_condition_field_eq_val_str, cond, state)

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        assert isinstance(value, SigmaString)
        if self._needs_regex(value, cased=True):
            return self._as_regex(cond, self._wildcard_regex(value, cased=True), state)
        if value.contains_special() and self.pattern_match_expression:
            return self._format(self.pattern_match_expression, self._field(cond), value, state)
        return self._without_regex(super().convert_condition_field_eq_val_str_case_sensitive, cond, state)

    def _without_regex(
        self,
        convert: Callable[[ConditionFieldEqualsValueExpression, ConversionState], Any],
        cond: ConditionFieldEqualsValueExpression,
        state: ConversionState,
    ) -> Any:
        """pySigma's string conversion, without rewriting the value as a regex for nothing.

        pySigma formats its string templates with `regex=self.convert_value_re(value.to_regex())`,
        and no siemc string template uses `{regex}`: for the call, this instance's convert_value_re
        is a stand-in that refuses to be formatted (a template that used it would fail loudly). It
        saves a dialect rewrite per string test (KQL's RE2 one was about 5% of a build).
        """
        vars(self)["convert_value_re"] = _unused_regex
        try:
            return convert(cond, state)
        finally:
            del vars(self)["convert_value_re"]

    def _field(self, cond: ConditionFieldEqualsValueExpression) -> str:
        return str(self.escape_and_quote_field(cond.field))

    def _format(self, template: str, field: str, value: SigmaString, state: ConversionState) -> str:
        return template.format(field=field, value=self.convert_value_str(value, state))

    def _needs_regex(self, value: SigmaString, cased: bool = False) -> bool:
        """True when no template of the language can say the wildcard value exactly."""
        if self._holds(value, self.literal_wildcard_chars):
            return True
        if not value.contains_special():
            return False
        if self._holds(value, self.unescapable_pattern_chars):
            return True
        single = any(part is SpecialChars.WILDCARD_SINGLE for part in value.s)
        if single and self.wildcard_single is None:
            return True  # the language's patterns know `*` only
        if self.pattern_match_expression or self.wildcard_match_expression:
            return False
        leading = value.startswith(SpecialChars.WILDCARD_MULTI)
        trailing = value.endswith(SpecialChars.WILDCARD_MULTI)
        inner = value[1 if leading else 0 : len(value) - 1 if trailing else len(value)]
        if inner.contains_special():
            return True
        prefix = "case_sensitive_" if cased else ""
        kind = "contains" if leading and trailing else "endswith" if leading else "startswith"
        return getattr(self, f"{prefix}{kind}_expression") is None

    def _wildcard_regex(self, value: SigmaString, cased: bool) -> SigmaRegularExpression:
        return self.whole_value_regex(wildcard_regex(value, cased))

    def _alternation(self, values: list[SigmaString], cased: bool) -> SigmaRegularExpression:
        return self.whole_value_regex(alternation(values, cased))

    def whole_value_regex(self, regex: SigmaRegularExpression) -> SigmaRegularExpression:
        """A regex siemc built to match a whole value (its `$` means the value's end), in this dialect."""
        if self.end_of_value_anchor is None:
            return regex
        return end_of_value_anchors(regex, self.end_of_value_anchor)

    @staticmethod
    def _holds(value: SigmaString, chars: str) -> bool:
        """True when a literal part of the value holds one of the characters."""
        return any(c in part for part in value.s if isinstance(part, str) for c in chars)

    def _as_regex(
        self, cond: ConditionFieldEqualsValueExpression, regex: SigmaRegularExpression, state: ConversionState
    ) -> Any:
        as_regex = ConditionFieldEqualsValueExpression(cond.field, regex)
        as_regex.parent = cond.parent  # precedence decisions look at the parent chain
        return self.convert_condition_field_eq_val_re(as_regex, state)

    # How many NOTs enclose the condition being converted. Counted during the walk rather than read
    # from `parent`: pySigma shares one condition object between all uses of a selection
    # (`not sel or sel`), so its parent is whichever use was linked last.
    _negations = 0

    def group_wrapped(self, expression: str) -> bool:
        return group_wrapped(expression, self.string_literals)

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        self._negations += 1
        try:
            arg = cond.args[0]
            if self.not_expression is None:
                if isinstance(arg, ConditionFieldEqualsValueExpression) and isinstance(
                    arg.value, SigmaExpansion
                ):
                    # One value expanded into an OR of variants (base64offset, windash): `not` must
                    # take the whole OR, which pySigma leaves bare.
                    expanded = self.convert_condition(arg, state)
                    if isinstance(expanded, str):
                        grouped = self.group_wrapped(expanded)
                        expanded = expanded if grouped else self.group_expression.format(expr=expanded)
                        return self.not_token + self.token_separator + expanded
                return super().convert_condition_not(cond, state)
            inner = str(self.convert_condition(arg, state))
            return self.not_expression.format(expr=inner[1:-1] if self.group_wrapped(inner) else inner)
        finally:
            self._negations -= 1

    # -- lists -------------------------------------------------------------------------------------
    @staticmethod
    def _value_kind(value: object) -> str | None:
        if isinstance(value, SigmaCasedString):
            return "cased"
        if isinstance(value, SigmaString):
            return "string"
        if isinstance(value, SigmaNumber):
            return "number"
        if isinstance(value, SigmaRegularExpression):
            return "regex:" + "".join(sorted(flag.name for flag in value.flags))
        return None

    @staticmethod
    def field_args(cond: ConditionOR | ConditionAND) -> list[ConditionFieldEqualsValueExpression]:
        """The field = value terms of a list condition (all of its arguments, once it is a list)."""
        return [arg for arg in cond.args if isinstance(arg, ConditionFieldEqualsValueExpression)]

    def in_operator(self, kind: str | None) -> str | None:
        """The list operator for one value kind (None: the language has no list for it)."""
        return {
            "string": self.or_in_operator,
            "cased": self.cased_in_operator,
            "number": self.number_in_operator,
        }.get(kind or "")

    @staticmethod
    def _strings(args: list[ConditionFieldEqualsValueExpression]) -> list[SigmaString]:
        return [arg.value for arg in args if isinstance(arg.value, SigmaString)]

    def exact_list_as_regex(self, cond: ConditionOR | ConditionAND, state: ConversionState) -> Any:
        """Exact string values as one anchored regex alternation, `^(?:a|b)$`."""
        args = self.field_args(cond)
        values = self._strings(args)
        cased = self._value_kind(values[0]) == "cased"
        return self._as_regex(args[0], self._alternation(values, cased), state)

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        args = self.field_args(cond)
        if len(args) != len(cond.args) or len(args) < 2 or len({arg.field for arg in args}) != 1:
            return False
        kinds = {self._value_kind(arg.value) for arg in args}
        if len(kinds) != 1:
            return False
        kind = kinds.pop()
        if isinstance(cond, ConditionOR) and self._is_pattern_list(args):
            return self.pattern_list_as_regex and _mergeable(args)
        if not super().decide_convert_condition_as_in_expression(cond, state):
            return False
        return self.in_operator(kind) is not None

    def _is_pattern_list(self, args: list[ConditionFieldEqualsValueExpression]) -> bool:
        return any(
            isinstance(arg.value, SigmaRegularExpression)
            or (
                isinstance(arg.value, SigmaString)
                and (arg.value.contains_special() or self._holds(arg.value, self.literal_wildcard_chars))
            )
            for arg in args
        )

    # -- null guards -------------------------------------------------------------------------------
    def convert_condition_group(self, cond: Any, state: ConversionState) -> Any:
        expr = self.convert_condition(cond, state)
        if not isinstance(expr, str) or self.group_wrapped(expr):
            return expr  # deferred, or already one group (a null guard): no second parentheses
        if self._one_list_test(cond, state):
            return expr  # a single term needs no parentheses
        return self.group_expression.format(expr=expr)

    def _one_list_test(self, cond: Any, state: ConversionState) -> bool:
        """True when a group converts to one list test (`f in~ (...)`, one regex of the values)."""
        return isinstance(cond, (ConditionOR, ConditionAND)) and bool(
            self.decide_convert_condition_as_in_expression(cond, state)
        )

    # While a group's items convert under one guard for their single field, that field.
    _guarded_field: str | None = None

    def convert_condition(self, cond: Any, state: ConversionState) -> Any:
        if self.null_guard_expression is None or not self._negations:
            return super().convert_condition(cond, state)
        field, outer = self._single_field(cond), self._guarded_field
        if field is not None:
            self._guarded_field = field  # one guard for the group: its items go unguarded
        try:
            result = super().convert_condition(cond, state)
        finally:
            self._guarded_field = outer
        if not isinstance(result, str):
            return result
        test = isinstance(cond, ConditionFieldEqualsValueExpression)
        if test and isinstance(cond.value, SigmaFieldReference):
            fields = [str(cond.field), str(cond.value.field)]  # either may be the missing one
        elif field is None or field == outer:
            return result
        else:
            fields = [field]
        # An OR (an OR of variants too: base64offset) goes in parentheses, a list test does not.
        an_or = (test and isinstance(cond.value, SigmaExpansion)) or (
            isinstance(cond, ConditionOR) and not self._one_list_test(cond, state)
        )
        if an_or and not self.group_wrapped(result):
            result = self.group_expression.format(expr=result)
        for name in reversed(fields):
            result = self.null_guard_expression.format(field=self.escape_and_quote_field(name), expr=result)
        return result

    def _single_field(self, cond: Any) -> str | None:
        """The one field a test, or a group of tests, reads (None: several, or a two-valued test;
        a field reference reads two fields)."""
        if isinstance(cond, ConditionFieldEqualsValueExpression):
            if isinstance(cond.value, (SigmaNull, SigmaExists, SigmaFieldReference)):
                return None
            return str(cond.field)
        if isinstance(cond, (ConditionOR, ConditionAND)):
            fields = {self._single_field(arg) for arg in cond.args}
            return fields.pop() if len(fields) == 1 else None
        return None

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> Any:
        args = self.field_args(cond)
        kind = self._value_kind(args[0].value)
        if self._is_pattern_list(args):
            if kind and kind.startswith("regex:"):
                regexes = [arg.value for arg in args if isinstance(arg.value, SigmaRegularExpression)]
                whole = all(isinstance(r, WholeValueRegex) for r in regexes)  # file-name regexes
                merged_type = WholeValueRegex if whole else SigmaRegularExpression
                merged = merged_type(factored_alternatives([str(r.regexp) for r in regexes]))
                merged.flags = set(regexes[0].flags)
                return self._as_regex(args[0], merged, state)
            return self._as_regex(args[0], self._alternation(self._strings(args), kind == "cased"), state)
        operator = self.in_operator(kind)
        field = self.escape_and_quote_field(args[0].field)
        values: list[Any] = [arg.value for arg in args]
        if kind == "string" and self.case_fold_expression:
            field = self.case_fold_expression.format(field=field)
            values = [value.lower() for value in self._strings(args)]
        rendered = (self.list_separator or ", ").join(
            self.convert_value_str(v, state) if isinstance(v, SigmaString) else str(v) for v in values
        )
        assert self.field_in_list_expression is not None
        return self.field_in_list_expression.format(field=field, op=operator, list=rendered)
