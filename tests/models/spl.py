"""Executable model of Splunk SPL, for the subset siemc emits.

Grammar: `spl.lark`. Semantics, each from the Splunk documentation on help.splunk.com (Search
Manual "SM", Search Reference "SR"):

- search command: `field=value` matches the field value case-insensitively, field names are
  case-sensitive (SM "Use CASE() and TERM() to match phrases": "By default, searches are
  case-insensitive"); `*` matches any run of characters (SM "Wildcards"); NOT/OR/AND with OR binding
  tighter than AND (SM "Boolean expressions with logical operators"); `NOT f=x` also keeps events
  without `f` while `f!=x` needs `f` (SR "search", examples "Using the NOT or != comparisons");
  `<`, `>`, `<=`, `>=` compare numbers when both sides are numbers (SM "Predicate expressions"),
  `=` compares the value as text.
- Quoted strings: `\\\\` is one backslash and `\\"` one quote (SM "Backslashes"); any other backslash
  stays as written, and "the backslash symbol can't be used to escape the asterisk in search
  strings" (SM "Backslashes"), so `\\*` is a literal backslash followed by a wildcard.
- Bare keywords and phrases match `_raw` (SM "search primer"). Model: an event's `_raw` field when it
  has one, otherwise every field value joined by spaces; a term matches as a case-insensitive
  substring (index-time segmentation into terms is not modelled).
- Regular expressions (regex/rex commands, match()) are PCRE and unanchored (SR "regex", "rex";
  SM "SPL and regular expressions"); the string layer is undone first, so `"\\\\\\\\"` in the query is
  the regex `\\\\`, one literal backslash. PCRE constructs Python's `re` lacks are translated or
  rejected (`pcre_to_python`).
- eval/where: AND binds tighter than OR; `==` compares case-sensitively; functions case, if, match,
  like, lower, upper, isnull, isnotnull, true, false, in, cidrmatch, coalesce (SR "Evaluation
  functions", "Comparison and Conditional functions"); fields cannot be assigned a Boolean. A field
  holding a number-like string compares as a number; string literals and string results of
  functions compare as strings.
- table (projection in the given order), fields, sort (SR "sort": `sort 0` returns all results,
  missing values sort last), time modifiers earliest/latest relative to `now` (SM "Specify time
  modifiers in your search"; the window is [earliest, latest)).
- Results leave the implied search newest first (SR "head": "search order ... the most recent N
  events"), when events carry `_time`.
- lookup (SR "lookup"; Knowledge Manager Manual, "Add field matching rules to your lookup
  configuration"): an event whose lookup field matches rows of the lookup table gets their OUTPUT
  fields (several rows: a multivalue field, up to max_matches, default 100; OUTPUTNEW only fills
  fields the event lacks; without OUTPUT, every field of the table but the match fields). A lookup
  matches with case unless its definition sets `case_sensitive_match = false`; `match_type =
  CIDR(<field>)` or `WILDCARD(<field>)` reads that field of the table as networks or `*` patterns.
  The lookup definitions are given to `run` (`lookups`: name -> `Lookup`). Modelling choice: an
  event with no match gets no OUTPUT field (an OUTPUT field it had is removed, as OUTPUT replaces
  it).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import LarkError, VisitError

from tests.models.common import COMPARISONS, And, ModelSyntaxError, Not, Or, Row
from tests.models.inline_flags import InlineFlagScopes

_PARSER = Lark(
    (Path(__file__).with_name("spl.lark")).read_text(encoding="utf-8"),
    parser="lalr",
    lexer="contextual",
    maybe_placeholders=False,
)

Value = str | int | float | bool | dt.datetime | None
Event = dict[str, Any]


# ------------------------------------------------------------------------------------------------
# Strings and values


def unquote(token: str) -> str:
    """The text of a search/eval string or unquoted term, SPL's backslash escapes undone.

    SM "Backslashes": `\\\\` passes one backslash, `\\"` a quote; other sequences (`\\d`, `\\*`) are
    passed on unchanged for the command (the regex engine, the wildcard matcher) to interpret.
    """
    body = token[1:-1] if token.startswith('"') else token
    out: list[str] = []
    i = 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in '\\"':
            out.append(body[i + 1])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def text_of(value: Any) -> str | None:
    """A field value as the search command sees it: text; None when the field is absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return str(int(value.timestamp()))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_NUMERIC = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def number_of(value: Any) -> float | None:
    """The number a value holds (numeric fields are compared as numbers), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMERIC.fullmatch(value.strip()):
        return float(value)
    return None


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str) -> re.Pattern[str]:
    # SM "Wildcards": `*` matches any number of characters; it is the only wildcard of the
    # search command. Values match case-insensitively.
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.IGNORECASE | re.DOTALL)


def search_matches(pattern: str, text: str) -> bool:
    return _wildcard(pattern).fullmatch(text) is not None


# ------------------------------------------------------------------------------------------------
# PCRE -> Python re


_POSIX_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r"\s",
    "blank": r" \t",
    "xdigit": "0-9A-Fa-f",
    "word": r"\w",
    "punct": r"!-/:-@\[-`{-~",
    "cntrl": r"\x00-\x1f\x7f",
    "print": r"\x20-\x7e",
    "graph": r"\x21-\x7e",
}
# PCRE escapes with no Python equivalent the model can express: reject rather than guess.
_UNSUPPORTED_ESCAPES = {
    "p": "Unicode property \\p",
    "P": "Unicode property \\P",
    "X": "extended grapheme \\X",
    "K": "match reset \\K",
    "G": "\\G anchor",
    "C": "single code unit \\C",
    "H": "\\H",
    "V": "\\V",
    "v": "\\v (vertical space class)",
    "N": "\\N",
}


def pcre_to_python(pattern: str) -> str:
    """Translate the PCRE syntax SPL accepts into Python `re` syntax, or raise ModelSyntaxError.

    Translated: named groups `(?<n>...)`/`(?'n'...)`, `\\Q...\\E`, `\\z`, `\\Z`, `\\h`, `\\R`, `\\e`,
    `\\x{...}`, `\\g`/`\\k` back-references, POSIX classes, inline flags in mid-pattern (scoped to the
    rest of their group, as PCRE does). Rejected: recursion, branch reset, callouts, verbs, \\p{...}.
    Possessive quantifiers and atomic groups are native in Python 3.11.
    """
    out: list[str] = []
    scopes = InlineFlagScopes()
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise ModelSyntaxError("regex ends with a backslash")
            i = _escape(pattern, i, out, in_class)
            continue
        if in_class:
            if pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                name = pattern[i + 2 : end] if end > 0 else ""
                negated = name.startswith("^")
                if end < 0 or name.lstrip("^") not in _POSIX_CLASSES or negated:
                    raise ModelSyntaxError(f"unsupported POSIX class in regex: {pattern[i:]!r}")
                out.append(_POSIX_CLASSES[name])
                i = end + 2
            elif c == "[":
                out.append("\\[")  # literal in PCRE; escaped so Python does not read a nested set
                i += 1
            elif c == "]":
                out.append("]")
                in_class = False
                i += 1
            else:
                out.append(c)
                i += 1
            continue
        if c == "[":
            in_class = True
            out.append("[")
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":  # a leading `]` is a literal in PCRE
                out.append("\\]")
                i += 1
            continue
        if c == "(":
            i = _group(pattern, i, out, scopes)
            continue
        if c == ")":
            if scopes.depth == 0:
                raise ModelSyntaxError(f"unbalanced parenthesis in regex {pattern!r}")
            out.append(scopes.close_group() + ")")
            i += 1
            continue
        if c == "|":
            # PCRE: an inline flag also applies to the following alternatives of its group.
            out.append(scopes.alternation())
            i += 1
            continue
        out.append(c)
        i += 1
    if in_class:
        raise ModelSyntaxError(f"unterminated character class in regex {pattern!r}")
    if scopes.depth != 0:
        raise ModelSyntaxError(f"unbalanced parenthesis in regex {pattern!r}")
    out.append(scopes.close_pattern())
    return "".join(out)


def _escape(pattern: str, i: int, out: list[str], in_class: bool) -> int:
    d = pattern[i + 1]
    if d == "Q":  # \Q...\E quotes a literal run
        end = pattern.find("\\E", i + 2)
        literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
        out.append("".join("\\" + ch if not ch.isalnum() else ch for ch in literal))
        return len(pattern) if end < 0 else end + 2
    if d == "E":  # a stray \E is ignored by PCRE
        return i + 2
    if d in _UNSUPPORTED_ESCAPES:
        if d == "N" and not in_class and pattern.startswith("{", i + 2):
            raise ModelSyntaxError(f"unsupported regex construct {_UNSUPPORTED_ESCAPES[d]}")
        if d != "N":
            raise ModelSyntaxError(f"unsupported regex construct {_UNSUPPORTED_ESCAPES[d]}")
        out.append("[^\\n]")  # \N: any character but newline
        return i + 2
    if d == "z" and not in_class:
        out.append("\\Z")
    elif d == "Z" and not in_class:
        out.append("(?=\\n?\\Z)")
    elif d == "h":
        out.append(" \\t\\xa0" if in_class else "[ \\t\\xa0]")
    elif d == "R" and not in_class:
        out.append("(?:\\r\\n|[\\n\\x0b\\x0c\\r\\x85])")
    elif d == "e":
        out.append("\\x1b")
    elif d == "c" and i + 2 < len(pattern):
        out.append(f"\\x{ord(pattern[i + 2].upper()) ^ 0x40:02x}")
        return i + 3
    elif d == "x" and pattern.startswith("{", i + 2):
        end = pattern.find("}", i + 3)
        digits = pattern[i + 3 : end] if end > 0 else ""
        if not re.fullmatch(r"[0-9A-Fa-f]{1,8}", digits):
            raise ModelSyntaxError(f"bad \\x{{...}} escape in regex {pattern!r}")
        out.append(f"\\U{int(digits, 16):08x}")
        return end + 1
    elif d in "gk" and not in_class:
        m = re.match(r"\\(?:g(\d+)|g\{(\d+)\}|[gk]\{(\w+)\}|k<(\w+)>|k'(\w+)')", pattern[i:])
        if not m:
            raise ModelSyntaxError(f"unsupported back-reference in regex {pattern[i:]!r}")
        number = m.group(1) or m.group(2)
        name = m.group(3) or m.group(4) or m.group(5)
        out.append(f"(?:\\{number})" if number else f"(?P={name})")
        return i + len(m.group(0))
    else:
        out.append(pattern[i : i + 2])
    return i + 2


def _group(pattern: str, i: int, out: list[str], scopes: InlineFlagScopes) -> int:
    rest = pattern[i:]
    if rest.startswith("(*"):
        raise ModelSyntaxError(f"unsupported PCRE verb in regex: {rest[:20]!r}")
    if not rest.startswith("(?"):
        out.append("(")
        scopes.open_group()
        return i + 1
    m = re.match(r"\(\?(?:<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)'|P<([A-Za-z_]\w*)>)", rest)
    if m:
        out.append(f"(?P<{m.group(1) or m.group(2) or m.group(3)}>")
        scopes.open_group()
        return i + len(m.group(0))
    if re.match(r"\(\?(?:\||R\)|[+-]?\d|&|P>|C)", rest):
        raise ModelSyntaxError(f"unsupported PCRE group in regex: {rest[:20]!r}")
    m = re.match(r"\(\?([A-Za-z]*)(?:-([A-Za-z]*))?([:)])", rest)
    if m and (m.group(1) or m.group(2) is not None):
        on, off, end = m.group(1), m.group(2) or "", m.group(3)
        if set(on + off) - set("imsx"):
            raise ModelSyntaxError(f"unsupported inline flags in regex: {m.group(0)!r}")
        flags = on + ("-" + off if off else "")
        if end == ":":
            out.append(f"(?{flags}:")
            scopes.open_group()
        elif not "".join(out).strip() or re.fullmatch(r"(?:\(\?[imsx]+\))*", "".join(out)):
            if off:
                raise ModelSyntaxError(f"unsupported inline flags in regex: {m.group(0)!r}")
            out.append(f"(?{flags})")  # leading global flags: the same in Python
        else:
            # PCRE: a mid-pattern flag applies to the rest of the enclosing group.
            out.append(scopes.open_flags(flags))
        return i + len(m.group(0))
    # (?: (?= (?! (?<= (?<! (?> (?P=name) (?# ...) (?(cond)...) are the same in Python.
    out.append("(")
    scopes.open_group()
    return i + 1


@functools.lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """A PCRE pattern (the string layer already undone) compiled with Python `re`."""
    translated = pcre_to_python(pattern)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(translated)
    except re.error as error:
        raise ModelSyntaxError(f"bad regular expression {pattern!r}: {error}") from error


# ------------------------------------------------------------------------------------------------
# AST: search expressions


@dataclass(frozen=True)
class SCompare:
    field: str
    op: str
    value: str


@dataclass(frozen=True)
class SIn:
    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class SKeyword:
    value: str


@dataclass(frozen=True)
class STime:
    bound: str  # "earliest" or "latest"
    resolve: Callable[[dt.datetime], dt.datetime]


# AST: eval expressions. `kind` is "bool" or "value": SPL type-checks Booleans (a field cannot hold
# one; if/case/where/AND/OR/NOT need one).


@dataclass(frozen=True)
class ELiteral:
    value: str | float | int
    kind: str = "value"


@dataclass(frozen=True)
class EField:
    name: str
    kind: str = "value"


@dataclass(frozen=True)
class ECall:
    name: str
    args: tuple[Any, ...]
    kind: str
    regex: re.Pattern[str] | None = None


@dataclass(frozen=True)
class EArith:
    op: str  # + - * /
    left: Any
    right: Any
    kind: str = "value"


@dataclass(frozen=True)
class ECompare:
    op: str
    left: Any
    right: Any
    kind: str = "bool"


@dataclass(frozen=True)
class ELogic:
    op: str  # AND, OR, NOT
    items: tuple[Any, ...]
    kind: str = "bool"


# AST: commands


@dataclass(frozen=True)
class Search:
    expr: Any


@dataclass(frozen=True)
class Regex:
    field: str
    negate: bool
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Rex:
    field: str
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Eval:
    assignments: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Where:
    expr: Any


@dataclass(frozen=True)
class Table:
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Fields:
    remove: bool
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Sort:
    limit: int
    keys: tuple[tuple[str, bool], ...]  # (field, descending)


@dataclass(frozen=True)
class LookupCmd:
    table: str
    inputs: tuple[tuple[str, str], ...]  # (lookup field, event field)
    outputs: tuple[tuple[str, str], ...]  # (lookup field, event field); empty: every other field
    overwrite: bool  # OUTPUT; OUTPUTNEW only fills absent fields


@dataclass(frozen=True)
class Lookup:
    """A lookup definition (transforms.conf) over its table's rows."""

    rows: tuple[Mapping[str, str], ...]
    case_sensitive_match: bool = True
    match_type: Mapping[str, str] = dataclass_field(default_factory=dict)  # field -> "CIDR" | "WILDCARD"
    max_matches: int = 100

    def matching_rows(self, inputs: Sequence[tuple[str, str | None]]) -> list[Mapping[str, str]]:
        found = []
        for row in self.rows:
            if all(value is not None and self._matches(name, row.get(name), value) for name, value in inputs):
                found.append(row)
        return found[: self.max_matches]

    def _matches(self, name: str, key: str | None, value: str) -> bool:
        if key is None:
            return False
        kind = self.match_type.get(name)
        if kind == "CIDR":
            network = _cidr(key)
            return network is not None and _in_network(value, network)
        if not self.case_sensitive_match:
            key, value = key.lower(), value.lower()
        if kind == "WILDCARD":
            pattern = ".*".join(re.escape(part) for part in key.split("*"))
            return re.fullmatch(pattern, value, re.DOTALL) is not None
        return key == value


@dataclass(frozen=True)
class Bin:
    field: str
    span: dt.timedelta


@dataclass(frozen=True)
class Stats:
    functions: tuple[tuple[str, str | None, str], ...]  # (count|dc|sum|avg|min|max, field, AS name)
    by: tuple[str, ...]


@dataclass(frozen=True)
class EventStats:
    functions: tuple[tuple[str, str | None, str], ...]
    by: tuple[str, ...]


@dataclass(frozen=True)
class Accum:
    field: str
    target: str


@dataclass(frozen=True)
class Pipeline:
    commands: tuple[Any, ...]
    subsearches: tuple[Pipeline, ...] = ()  # a multisearch's, whose rows the commands then read


# ------------------------------------------------------------------------------------------------
# Tree -> AST

_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), dt.timedelta(seconds=1)),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), dt.timedelta(minutes=1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), dt.timedelta(hours=1)),
    **dict.fromkeys(("d", "day", "days"), dt.timedelta(days=1)),
    **dict.fromkeys(("w", "week", "weeks"), dt.timedelta(weeks=1)),
}
_SNAP = ("s", "m", "h", "d")


def time_modifier(spec: str) -> Callable[[dt.datetime], dt.datetime]:
    """SM "Specify time modifiers in your search": `now`, epoch seconds, or `[+|-]<n><unit>[@<snap>]`.

    Units s/m/h/d/w and snaps s/m/h/d are modelled; months, quarters, years and week snaps are not.
    """
    if spec in ("now", "now()"):
        return lambda now: now
    if spec.isdigit():
        return lambda now: dt.datetime.fromtimestamp(int(spec), tz=now.tzinfo or dt.UTC)
    m = re.fullmatch(r"(?:([+-])(\d*)([a-z]+))?(?:@([a-z]+))?", spec)
    if (
        not spec
        or not m
        or (m.group(3) and m.group(3) not in _UNITS)
        or (m.group(4) and m.group(4) not in _SNAP)
    ):
        raise ModelSyntaxError(f"unsupported time modifier value {spec!r}")
    sign, amount, unit, snap = m.groups()

    def resolve(now: dt.datetime) -> dt.datetime:
        at = now
        if unit:
            step = _UNITS[unit] * int(amount or "1")
            at = at - step if sign == "-" else at + step
        if snap == "d":
            at = at.replace(hour=0, minute=0, second=0, microsecond=0)
        elif snap == "h":
            at = at.replace(minute=0, second=0, microsecond=0)
        elif snap == "m":
            at = at.replace(second=0, microsecond=0)
        elif snap == "s":
            at = at.replace(microsecond=0)
        return at

    return resolve


# SR "Aggregate functions": count, dc (the exact distinct count), sum, avg, min and max (over
# numeric values).
_STATS_FUNCTIONS = ("count", "dc", "sum", "avg", "min", "max")
_BOOL_FUNCS = {"match", "like", "isnull", "isnotnull", "true", "false", "in", "cidrmatch"}
# name -> (minimum args, maximum args or None for "no limit")
_ARITY: dict[str, tuple[int, int | None]] = {
    "case": (2, None),
    "if": (3, 3),
    "match": (2, 2),
    "like": (2, 2),
    "lower": (1, 1),
    "upper": (1, 1),
    "isnull": (1, 1),
    "isnotnull": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
    "null": (0, 0),
    "in": (2, None),
    "cidrmatch": (2, 2),
    "coalesce": (1, None),
    "nullif": (2, 2),
    # SR "Mathematical functions" / "Conversion functions": floor(X); tonumber(X[, base]) is null when
    # X is no number (modelled in base 10).
    "floor": (1, 1),
    "tonumber": (1, 1),
}


def _need(expr: Any, kind: str, where: str) -> Any:
    if expr.kind != kind:
        # SPL's type checker: "Typechecking failed" (Booleans and values do not mix).
        raise ModelSyntaxError(f"{where} needs a {'Boolean' if kind == 'bool' else 'non-Boolean'} expression")
    return expr


@v_args(inline=True)
class _ToAst(Transformer[Token, Pipeline]):
    # --- pipeline
    def subsearch(self, expr: Any, *commands: Any) -> Pipeline:
        return Pipeline((Search(expr), *commands))

    def multisearch_start(self, *parts: Any) -> Pipeline:
        subsearches = tuple(part for part in parts if isinstance(part, Pipeline))
        commands = tuple(part for part in parts if not isinstance(part, Pipeline))
        for sub in subsearches:
            for command in sub.commands:
                if not isinstance(command, Search | Regex | Rex | Eval | Where | LookupCmd):
                    raise ModelSyntaxError("multisearch takes streaming commands only in its subsearches")
        return Pipeline(commands, subsearches)

    def bin_option(self, name: Token, value: Token) -> tuple[str, str]:
        return str(name), str(value)

    def bin_cmd(self, field: Token, *options: tuple[str, str]) -> Bin:
        given = dict(options)
        if set(given) != {"span"}:
            raise ModelSyntaxError(f"bin: only span= is modelled, got {sorted(given)}")
        found = re.fullmatch(r"(\d+)([a-z]+)", given["span"])
        if not found or found.group(2) not in _UNITS or int(found.group(1)) == 0:
            raise ModelSyntaxError(f"bin: bad span {given['span']!r}")
        return Bin(str(field), int(found.group(1)) * _UNITS[found.group(2)])

    def stats_func(self, name: Token, argument: Token | None = None) -> tuple[str, str | None]:
        if str(name) not in _STATS_FUNCTIONS:
            raise ModelSyntaxError(f"stats: unmodelled function {name}")
        if (argument is None) != (str(name) == "count"):
            raise ModelSyntaxError(f"stats: {name} takes {'no' if str(name) == 'count' else 'one'} field")
        return str(name), str(argument) if argument is not None else None

    def stats_item(self, function: tuple[str, str | None], name: Token) -> tuple[str, str | None, str]:
        return function[0], function[1], str(name)

    def stats_cmd(self, *parts: Any) -> Stats:
        functions = tuple(part for part in parts if isinstance(part, tuple))
        return Stats(functions, tuple(str(part) for part in parts if not isinstance(part, tuple)))

    def eventstats_cmd(self, *parts: Any) -> EventStats:
        stats = self.stats_cmd(*parts)
        return EventStats(stats.functions, stats.by)

    def accum_cmd(self, field: Token, target: Token | None = None) -> Accum:
        return Accum(str(field), str(target if target is not None else field))

    def start(self, *commands: Any) -> Pipeline:
        return Pipeline((Search(commands[0]), *commands[1:]))

    def search_cmd(self, expr: Any) -> Search:
        return Search(expr)

    # --- search expressions
    def s_and(self, left: Any, right: Any) -> And:
        return And((*(left.items if isinstance(left, And) else (left,)), right))

    def s_or(self, left: Any, right: Any) -> Or:
        return Or((*(left.items if isinstance(left, Or) else (left,)), right))

    def s_not(self, item: Any) -> Not:
        return Not(item)

    def s_compare(self, field: Token, op: Token, value: Token) -> SCompare | STime:
        text = unquote(str(value))
        if str(field) in ("earliest", "latest"):
            if str(op) != "=":
                raise ModelSyntaxError(f"time modifier {field} takes `=`")
            return STime(str(field), time_modifier(text))
        return SCompare(str(field), str(op), text)

    def s_in(self, field: Token, *values: Token) -> SIn:
        return SIn(str(field), tuple(unquote(str(v)) for v in values))

    def s_keyword(self, value: Token) -> SKeyword:
        return SKeyword(unquote(str(value)))

    # --- regex / rex
    def regex_args(self, *parts: Token) -> tuple[str, bool, re.Pattern[str]]:
        if len(parts) == 1:
            return ("_raw", False, compile_regex(unquote(str(parts[0]))))
        field, op, pattern = parts
        return (str(field), str(op) == "!=", compile_regex(unquote(str(pattern))))

    def regex_cmd(self, args: tuple[str, bool, re.Pattern[str]]) -> Regex:
        return Regex(*args)

    def rex_option(self, name: Token, value: Token) -> tuple[str, str]:
        return (str(name), unquote(str(value)))

    def rex_cmd(self, *parts: Any) -> Rex:
        *options, pattern = parts
        field = "_raw"
        for name, value in options:
            if name != "field":  # max_match, offset_field and mode=sed are outside the subset
                raise ModelSyntaxError(f"rex option {name} is not modelled")
            field = value
        regex = compile_regex(unquote(str(pattern)))
        if not regex.groupindex:
            # SR "rex": fields are extracted from named groups; a regex without one extracts nothing.
            raise ModelSyntaxError("rex regex must have a named group")
        return Rex(field, regex)

    # --- eval / where
    def eval_cmd(self, *assignments: tuple[str, Any]) -> Eval:
        return Eval(tuple(assignments))

    def assignment(self, name: Token, expr: Any) -> tuple[str, Any]:
        # A field cannot hold a Boolean: "Fields cannot be assigned a boolean result".
        return (str(name).strip("'"), _need(expr, "value", f"eval {name}="))

    def where_cmd(self, expr: Any) -> Where:
        return Where(_need(expr, "bool", "where"))

    def e_or(self, left: Any, right: Any) -> ELogic:
        return ELogic("OR", (_need(left, "bool", "OR"), _need(right, "bool", "OR")))

    def e_and(self, left: Any, right: Any) -> ELogic:
        return ELogic("AND", (_need(left, "bool", "AND"), _need(right, "bool", "AND")))

    def e_not(self, item: Any) -> ELogic:
        return ELogic("NOT", (_need(item, "bool", "NOT"),))

    def e_compare(self, left: Any, op: Token, right: Any) -> ECompare:
        return ECompare(str(op), _need(left, "value", str(op)), _need(right, "value", str(op)))

    def e_arith(self, left: Any, op: Token, right: Any) -> EArith:
        return EArith(str(op), _need(left, "value", str(op)), _need(right, "value", str(op)))

    def e_like_op(self, left: Any, right: Any) -> ECall:
        return self._call("like", (left, right))

    def e_string(self, token: Token) -> ELiteral:
        return ELiteral(unquote(str(token)))

    def e_number(self, token: Token) -> ELiteral:
        text = str(token)
        return ELiteral(float(text) if "." in text else int(text))

    def e_field(self, token: Token) -> EField:
        return EField(str(token).strip("'"))

    def e_call(self, name: Token, *args: Any) -> ECall:
        return self._call(str(name), args)

    def _call(self, name: str, args: tuple[Any, ...]) -> ECall:
        if name not in _ARITY:
            raise ModelSyntaxError(f"unknown or unmodelled eval function {name}()")
        low, high = _ARITY[name]
        if len(args) < low or (high is not None and len(args) > high):
            raise ModelSyntaxError(f"{name}() takes {low}..{high or 'n'} arguments, got {len(args)}")
        for position, arg in enumerate(args):
            condition = (name == "if" and position == 0) or (name == "case" and position % 2 == 0)
            _need(arg, "bool" if condition else "value", f"{name}() argument {position + 1}")
        if name == "case" and len(args) % 2:
            raise ModelSyntaxError("case() takes condition/value pairs")
        regex = None
        if name == "match" and isinstance(args[1], ELiteral):
            regex = compile_regex(str(args[1].value))  # a bad literal regex fails at parse time
        return ECall(name, tuple(args), "bool" if name in _BOOL_FUNCS else "value", regex)

    # --- lookup
    def lookup_args(self, *tokens: Token) -> tuple[str, ...]:
        return tuple("," if str(t) == "," else unquote(str(t)) for t in tokens)

    def lookup_cmd(self, words: tuple[str, ...]) -> LookupCmd:
        table, *rest = words
        if table == ",":
            raise ModelSyntaxError("lookup needs a lookup table name")
        overwrite = True
        sections: list[list[str]] = [[]]
        for word in rest:
            if word in ("OUTPUT", "OUTPUTNEW"):
                if len(sections) > 1:
                    raise ModelSyntaxError("lookup: OUTPUT or OUTPUTNEW given twice")
                overwrite = word == "OUTPUT"
                sections.append([])
            elif word != ",":
                sections[-1].append(word)
        inputs = _field_pairs(sections[0], "lookup field")
        if not inputs:
            raise ModelSyntaxError("lookup needs a lookup field")
        outputs = _field_pairs(sections[1], "output field") if len(sections) > 1 else ()
        if len(sections) > 1 and not outputs:
            raise ModelSyntaxError("lookup: OUTPUT needs a field")
        return LookupCmd(table, inputs, outputs, overwrite)

    # --- table / fields / sort
    def name_list(self, *names: Token) -> tuple[str, ...]:
        return tuple(str(n) for n in names)

    def table_cmd(self, names: tuple[str, ...]) -> Table:
        return Table(names)

    def fields_cmd(self, names: tuple[str, ...]) -> Fields:
        remove = names[0] == "-"
        if names[0] in "+-":
            names = names[1:]
        if not names:
            raise ModelSyntaxError("fields needs a field list")
        return Fields(remove, names)

    def sort_cmd(self, names: tuple[str, ...]) -> Sort:
        # SR "sort": sort [<count>] ( [+|-] <field> )... [desc]; default count 10000, 0 = all.
        items = list(names)
        limit = 10000
        if items and items[0].isdigit():
            limit = int(items.pop(0))
        reverse = bool(items) and items[-1] in ("d", "desc") and len(items) > 1
        if reverse:
            items.pop()
        keys: list[tuple[str, bool]] = []
        sign = ""
        for item in items:
            if item in ("+", "-"):
                if sign:
                    raise ModelSyntaxError("sort: two signs in a row")
                sign = item
                continue
            if item[0] in "+-":
                if sign:
                    raise ModelSyntaxError("sort: two signs in a row")
                sign, item = item[0], item[1:]
            keys.append((item, (sign == "-") != reverse))
            sign = ""
        if sign or not keys:
            raise ModelSyntaxError("sort needs a field")
        return Sort(limit or 0, tuple(keys))


def _field_pairs(words: Sequence[str], what: str) -> tuple[tuple[str, str], ...]:
    """`a [AS b] ...` as (a, b) pairs; b defaults to a."""
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        name = words[i]
        if name.upper() == "AS":
            raise ModelSyntaxError(f"lookup: AS without a {what} before it")
        if i + 1 < len(words) and words[i + 1].upper() == "AS":
            if i + 2 >= len(words):
                raise ModelSyntaxError(f"lookup: AS without a field after {name}")
            pairs.append((name, words[i + 2]))
            i += 3
        else:
            pairs.append((name, name))
            i += 1
    return tuple(pairs)


def parse(query: str) -> Pipeline:
    """The query's AST; ModelSyntaxError for text SPL rejects or the model does not cover."""
    try:
        tree: Tree[Token] = _PARSER.parse(query)
        return _ToAst().transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, ModelSyntaxError):
            raise error.orig_exc from None
        raise
    except LarkError as error:
        raise ModelSyntaxError(str(error)) from None


# ------------------------------------------------------------------------------------------------
# Evaluation


def _raw(event: Event) -> str:
    if "_raw" in event:
        return str(event["_raw"])
    return " ".join(t for t in (text_of(v) for v in event.values()) if t is not None)


def _search_compare(node: SCompare, event: Event) -> bool:
    text = text_of(event.get(node.field))
    if text is None:  # every comparison, `!=` included, needs the field
        return False
    if node.op in ("=", "!="):
        # `=` matches the value as text (wildcards, any case); only <, >, <=, >= compare numbers.
        # SR "search": a value in CIDR notation matches the IP addresses of that network.
        network = _cidr(node.value)
        if network is not None:
            return _in_network(text, network) == (node.op == "=")
        return search_matches(node.value, text) == (node.op == "=")
    left, right = number_of(text), number_of(node.value)
    a: Any
    b: Any
    a, b = (left, right) if left is not None and right is not None else (text, node.value)
    return COMPARISONS[node.op](a, b)


def _cidr(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if "/" not in value:
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _in_network(text: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(text) in network
    except ValueError:
        return False


def eval_search(node: Any, event: Event, now: dt.datetime) -> bool:
    if isinstance(node, And):
        return all(eval_search(item, event, now) for item in node.items)
    if isinstance(node, Or):
        return any(eval_search(item, event, now) for item in node.items)
    if isinstance(node, Not):
        return not eval_search(node.item, event, now)
    if isinstance(node, SCompare):
        return _search_compare(node, event)
    if isinstance(node, SIn):
        # SR "search": IN is shorthand for OR'ed field=value terms; wildcards allowed.
        return any(_search_compare(SCompare(node.field, "=", v), event) for v in node.values)
    if isinstance(node, SKeyword):
        return search_matches(f"*{node.value}*", _raw(event))
    if isinstance(node, STime):
        when = event.get("_time")
        if not isinstance(when, dt.datetime):
            return False
        bound = node.resolve(now)
        return when >= bound if node.bound == "earliest" else when < bound
    raise TypeError(node)


def _like(text: str, pattern: str) -> bool:
    # SR "like": `%` any run of characters, `_` exactly one; matched case-sensitively.
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text, re.DOTALL) is not None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    return text_of(left) == text_of(right)  # eval `==` on strings is case-sensitive


def _operand(node: Any, event: Event) -> Any:
    """A comparison operand: a field holding a number-like string counts as a number, while a
    string literal or a string function's result stays a string."""
    value = eval_expr(node, event)
    if isinstance(node, EField) and isinstance(value, str) and number_of(value) is not None:
        return number_of(value)
    return value


def eval_expr(node: Any, event: Event) -> Any:
    if isinstance(node, ELiteral):
        return node.value
    if isinstance(node, EField):
        return event.get(node.name)
    if isinstance(node, ELogic):
        if node.op == "NOT":
            return not eval_expr(node.items[0], event)
        values = (eval_expr(item, event) is True for item in node.items)
        return all(values) if node.op == "AND" else any(values)
    if isinstance(node, ECompare):
        left, right = _operand(node.left, event), _operand(node.right, event)
        if left is None or right is None:
            return False  # a comparison with null is not true
        if node.op in ("=", "=="):
            return _equal(left, right)
        if node.op == "!=":
            return not _equal(left, right)
        x: Any
        y: Any
        x, y = (left, right) if _is_number(left) and _is_number(right) else (text_of(left), text_of(right))
        return COMPARISONS[node.op](x, y)
    if isinstance(node, ECall):
        return _call(node, event)
    if isinstance(node, EArith):
        x, y = number_of(eval_expr(node.left, event)), number_of(eval_expr(node.right, event))
        if x is None or y is None or (node.op == "/" and y == 0):
            return None
        return ARITHMETIC[node.op](x, y)
    raise TypeError(node)


ARITHMETIC: Mapping[str, Callable[[float, float], float]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": lambda x, y: x / y,
}


def _call(node: ECall, event: Event) -> Any:
    name, args = node.name, node.args
    if name == "case":
        for condition, value in zip(args[::2], args[1::2], strict=True):
            if eval_expr(condition, event) is True:
                return eval_expr(value, event)
        return None
    if name == "if":
        return eval_expr(args[1] if eval_expr(args[0], event) is True else args[2], event)
    if name in ("true", "false"):
        return name == "true"
    if name == "null":
        return None  # SR "null()": takes no arguments, returns NULL
    values = [eval_expr(arg, event) for arg in args]
    if name == "isnull":
        return values[0] is None
    if name == "isnotnull":
        return values[0] is not None
    if name == "coalesce":
        return next((v for v in values if v is not None), None)
    if name == "nullif":
        # SR "nullif(<field1>,<field2>)": null when the two are equal, else the first.
        if values[0] is None:
            return None
        return None if values[1] is not None and _equal(values[0], values[1]) else values[0]
    if values[0] is None:
        return False if name in _BOOL_FUNCS else None
    text = text_of(values[0]) or ""
    if name == "tonumber":
        return number_of(values[0])
    if name == "floor":
        number = number_of(values[0])
        return None if number is None else math.floor(number)
    if name == "lower":
        return text.lower()
    if name == "upper":
        return text.upper()
    if name == "match":
        regex = node.regex or compile_regex(text_of(values[1]) or "")
        return regex.search(text) is not None  # unanchored
    if name == "like":
        return _like(text, text_of(values[1]) or "")
    if name == "in":
        first = _operand(args[0], event)
        return any(
            v is not None and _equal(first, _operand(arg, event))
            for arg, v in zip(args[1:], values[1:], strict=True)
        )
    if name == "cidrmatch":
        try:
            return ipaddress.ip_address(text_of(values[1]) or "") in ipaddress.ip_network(text, strict=False)
        except ValueError:
            return False
    raise TypeError(name)


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, dt.datetime):
        return (0, value.timestamp())
    number = number_of(value)
    if number is not None:
        return (0, number)
    return (1, text_of(value))


def _sort(rows: list[tuple[int, Event]], command: Sort) -> list[tuple[int, Event]]:
    def compare(a: tuple[int, Event], b: tuple[int, Event]) -> int:
        for field, descending in command.keys:
            x, y = a[1].get(field), b[1].get(field)
            # SR "sort": a missing value is the smallest when descending, the largest when
            # ascending: it sorts last either way.
            if x is None or y is None:
                if x is None and y is None:
                    continue
                return 1 if x is None else -1
            kx, ky = _sort_key(x), _sort_key(y)
            if kx != ky:
                result = -1 if kx < ky else 1
                return -result if descending else result
        return 0

    ordered = sorted(rows, key=functools.cmp_to_key(compare))
    return ordered[: command.limit] if command.limit else ordered


def _project(event: Event, names: Sequence[str]) -> Event:
    out: Event = {}
    for name in names:
        if "*" in name:
            regex = re.compile(".*".join(re.escape(p) for p in name.split("*")))
            out.update({k: v for k, v in event.items() if regex.fullmatch(k) and k not in out})
        else:
            out[name] = event.get(name)
    return out


def _fields(event: Event, command: Fields) -> Event:
    named = _project(event, command.fields)
    if command.remove:
        return {k: v for k, v in event.items() if k not in named}
    # SR "fields": the internal fields _raw and _time are kept unless removed explicitly.
    kept = _project(event, ("_time", "_raw", *command.fields))
    return {k: v for k, v in kept.items() if k in event}


def _lookup(command: LookupCmd, event: Event, lookups: Mapping[str, Lookup]) -> None:
    table = lookups.get(command.table)
    if table is None:
        raise ModelSyntaxError(f"lookup table {command.table!r} does not exist")
    rows = table.matching_rows([(name, text_of(event.get(field))) for name, field in command.inputs])
    outputs = command.outputs or tuple(
        (name, name)
        for name in dict.fromkeys(k for row in table.rows for k in row)
        if name not in {n for n, _ in command.inputs}
    )
    for name, field in outputs:
        if not command.overwrite and event.get(field) is not None:
            continue
        values = [row[name] for row in rows if row.get(name) not in (None, "")]
        if not values:
            event.pop(field, None)
        else:
            event[field] = values[0] if len(values) == 1 else values


def run(
    query: str,
    events: Sequence[Mapping[str, Any]],
    now: dt.datetime,
    lookups: Mapping[str, Lookup] | None = None,
) -> list[Row]:
    pipeline = parse(query)
    if pipeline.subsearches:
        # multisearch: every subsearch reads all events; their results are merged.
        rows = []
        for sub in pipeline.subsearches:
            rows += _run_commands(sub.commands, _event_rows(events), now, lookups)
        return _finish(_run_commands(pipeline.commands, rows, now, lookups))
    return _finish(_run_commands(pipeline.commands, _event_rows(events), now, lookups))


def _event_rows(events: Sequence[Mapping[str, Any]]) -> list[tuple[int, Event]]:
    rows = [(index, {k: v for k, v in event.items() if v is not None}) for index, event in enumerate(events)]
    # The implied search returns the newest events first.
    rows.sort(key=lambda r: -r[1]["_time"].timestamp() if isinstance(r[1].get("_time"), dt.datetime) else 0)
    return rows


def _finish(rows: list[tuple[int, Event]]) -> list[Row]:
    return [Row(i, e) for i, e in rows]


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _bin(rows: list[tuple[int, Event]], command: Bin) -> list[tuple[int, Event]]:
    """SR "bin": a time is put at the start of its span; spans count from the epoch (UTC here)."""
    for _, event in rows:
        value = event.get(command.field)
        if isinstance(value, dt.datetime):
            event[command.field] = _EPOCH + ((value - _EPOCH) // command.span) * command.span
    return rows


def _stats(rows: list[tuple[int, Event]], command: Stats) -> list[tuple[int, Event]]:
    """SR "stats": one row per combination of BY values; an event missing a BY field is left out."""
    groups: dict[tuple[Any, ...], list[tuple[int, Event]]] = {}
    for index, event in rows:
        if all(event.get(name) is not None for name in command.by):
            key = tuple(event[name] for name in command.by)
            groups.setdefault(key, []).append((index, event))
    result = []
    for key, members in groups.items():
        row: Event = dict(zip(command.by, key, strict=True))
        for function, argument, name in command.functions:
            if function == "count":
                row[name] = len(members)
                continue
            value = _stats_value(function, [e.get(argument) for _, e in members])
            if value is not None:
                row[name] = value
        result.append((min(index for index, _ in members), row))
    return result


def _event_stats(rows: list[tuple[int, Event]], command: EventStats) -> list[tuple[int, Event]]:
    """SR "eventstats": each event keeps its fields and gets its group's aggregates; an event missing a
    BY field gets none."""
    members: dict[tuple[Any, ...], list[Event]] = {}
    for _, event in rows:
        if all(event.get(name) is not None for name in command.by):
            members.setdefault(tuple(event[name] for name in command.by), []).append(event)
    result = []
    for index, event in rows:
        row = dict(event)
        if all(event.get(name) is not None for name in command.by):
            group = members[tuple(event[name] for name in command.by)]
            for function, argument, name in command.functions:
                values = [e.get(argument) for e in group]
                value = len(group) if function == "count" else _stats_value(function, values)
                if value is not None:
                    row[name] = value
        result.append((index, row))
    return result


def _stats_value(function: str, values: list[Any]) -> Any:
    """One stats function (dc, sum, avg, min, max) over a group's values of its field."""
    present = [v for v in values if v is not None]
    # _time is epoch seconds in Splunk; the model's events hold it as a datetime.
    numbers = [
        v.timestamp() if isinstance(v, dt.datetime) else n
        for v in present
        if isinstance(v, dt.datetime) or (n := number_of(v)) is not None
    ]
    if function == "dc":
        return len({text_of(v) for v in present})
    if not numbers:
        return None
    if function == "sum":
        return sum(numbers)
    if function == "avg":
        return sum(numbers) / len(numbers)
    return min(numbers) if function == "min" else max(numbers)


def _run_commands(
    commands: Sequence[Any],
    rows: list[tuple[int, Event]],
    now: dt.datetime,
    lookups: Mapping[str, Lookup] | None,
) -> list[tuple[int, Event]]:
    for command in commands:
        if isinstance(command, Bin):
            rows = _bin(rows, command)
            continue
        if isinstance(command, Stats):
            rows = _stats(rows, command)
            continue
        if isinstance(command, EventStats):
            rows = _event_stats(rows, command)
            continue
        if isinstance(command, Accum):
            # SR "accum": for each event where the field is a number, the running total of the numbers
            # so far (events without one are left as they are).
            total = 0.0
            for _, event in rows:
                number = number_of(event.get(command.field))
                if number is not None:
                    total += number
                    event[command.target] = total
            continue
        if isinstance(command, Search):
            rows = [r for r in rows if eval_search(command.expr, r[1], now)]
        elif isinstance(command, Regex):
            # SR "regex": keep results whose field matches (`=`) or does not match (`!=`).
            kept = []
            for row in rows:
                value = text_of(row[1].get(command.field))
                hit = value is not None and command.regex.search(value) is not None
                if hit != command.negate:
                    kept.append(row)
            rows = kept
        elif isinstance(command, Rex):
            for _, event in rows:
                value = text_of(event.get(command.field))
                found = command.regex.search(value) if value is not None else None
                if found:
                    event.update({k: v for k, v in found.groupdict().items() if v is not None})
        elif isinstance(command, Eval):
            for _, event in rows:
                for name, expr in command.assignments:
                    result = eval_expr(expr, event)
                    if result is None:
                        event.pop(name, None)
                    else:
                        event[name] = result
        elif isinstance(command, LookupCmd):
            for _, event in rows:
                _lookup(command, event, lookups or {})
        elif isinstance(command, Where):
            rows = [r for r in rows if eval_expr(command.expr, r[1]) is True]
        elif isinstance(command, Table):
            rows = [(i, _project(e, command.fields)) for i, e in rows]
        elif isinstance(command, Fields):
            rows = [(i, _fields(e, command)) for i, e in rows]
        elif isinstance(command, Sort):
            rows = _sort(rows, command)
    return rows
