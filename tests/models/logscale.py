"""Executable model of CrowdStrike Falcon LogScale (CQL) for the subset siemc emits.

The grammar is `logscale.lark`; this module validates what the grammar leaves open (field names,
escapes, regex flags and syntax, function arguments) and evaluates a query over native events.
Every decision cites the LogScale documentation (library.humio.com) it follows:

- [operators] data-analysis/syntax-operators.html: `=`/`!=` are exact and case-sensitive ("The value
  must match exactly, including the case"); "If the specified field is not present in an event, then
  the comparison always fails -- unless it is !="; `<`/`>` compare numbers only; `and`/`or`/`not`/`!`
  with `not` > `or` > `and` (see the grammar).
- [humio-syntax] the query language page of the Humio documentation (LogScale's former name):
  `url = *login*` "contains login", `user = *Turing` "ends with", so a value is a whole-value glob;
  `url = /login/` contains, `loglevel = /error/i` ignores case; free text `foo` and
  `"msg: \\"welcome\\""` search the raw event.
- [quirks] lql-grammar/syntax-grammar-guide-appendix-a.html: free text `https://www.example.com/` is
  the same as `"*https://www.example.com/*"`; `/fisk/i` is like `regex("fisk", flags="i")`.
- [regex-flags] data-analysis/syntax-regex-flags.html: flags `d` (dot matches line terminators), `g`,
  `i`, `m` (`^`/`$` per line; otherwise they match the start and end of the whole value), `F`
  (engine v2); a regex finds a match anywhere in the value (examples `url = /login/` "contains").
- [regex-syntax] data-analysis/syntax-regex-syntax.html: the supported escapes and classes.
- [string] crowdstrike-query-language/syntax-datatypes-detail-string.html: `"..."`, `\\t`, `\\n`, `\\\\`.
- [in] data-analysis/functions-in.html: `in(field, ignoreCase=false, values=[...])`, "Only one match
  is required. Values can contain wildcards"; example: `values=["error", "warn"]` with
  `ignoreCase=true` matches `ERROR` and `WARN` (whole values).
- [wildcard] examples/examples-wildcard-2.html: `wildcard(field=animal, pattern=horse,
  ignoreCase=true)` "is equivalent to animal=/\\Ahorse\\z/i. Note that it is anchored."
- [array:contains] data-analysis/functions-array-contains.html: `array:contains(array, value)`, a
  filter function: `array` names the array followed by `[]` (events with fields `incidents[0]`,
  `incidents[1]`, ... are `incidents[]`), `value` "the exact value" to search for; an event none of
  whose elements is that value is excluded.
- [case] data-analysis/syntax-conditional.html: clauses are tried in order, a clause matches when its
  pipeline returns events, "If no clauses match then events are dropped", `*` matches all.
- [table] data-analysis/functions-table.html: `table(fields, limit=200, sortby=@timestamp,
  order=desc, type=number)`, an aggregate that keeps `limit` rows (maximum 20,000, StateRowLimit).
- [sort] data-analysis/functions-sort.html: `sort(field, order=desc, limit=200, type=number)`,
  maximum limit 20,000.
- [table] also: select() gives "similar tabular output but without row limits or sorting".
- [cidr] data-analysis/functions-cidr.html: `cidr(field, subnet=[...])`, `negate` (deprecated) lets
  only addresses outside the subnets through; `!cidr(...)` also lets events without the field through.
- [expressions] data-analysis/syntax-expressions.html: test() expressions, `==` equality, values are
  strings interpreted by context.
- [match] data-analysis/functions-match.html: `match(file, field, column, ignoreCase, include, mode,
  strict)`; `file` a lookup file ".csv" (first line the column titles, whitespace kept in keys and
  values, commas quoted); `column` defaults to the field; `mode` string (exact), glob (the key is a
  pattern) or cidr (the field holds an address in the key's subnet; the most specific subnet
  wins); `ignoreCase` default false; `strict` default true keeps only the events that match,
  false lets every event through; the matched row's columns (`include`: only those) are added to
  the event; with a single column, the last matching row is used; "Negatable: Yes" (`!match(...)`).
  Lookup files are given to `run` (`files`: name -> CSV text), as uploaded to LogScale.
- [sum] data-analysis/functions-sum.html: `sum(field, as=_sum)` "Calculates the sum for a field over a
  set of events"; it says nothing of a value that is no number (the model refuses such a value).
- [avg] data-analysis/functions-avg.html and functions-avg-operation.html: `avg(field, as=_avg)`; a
  missing field, a value that "isn't a number" or NaN "will not be counted towards the average".

Modelling choices (not settled by the documentation):
- Free text searches the event's `@rawstring` when it has one, otherwise each field value of the
  original event except tag (`#`) and built-in (`@`) fields; it is case-sensitive.
- Event values are compared as their text (`True` -> "true", a datetime -> epoch milliseconds).
- Regexes run on Python `re`: `\\d`, `\\w`, `\\s`, `\\b` are ASCII ([regex-syntax]: "\\d A digit:
  [0-9]"), the `i` flag folds Unicode case (Cyrillic too); `$` without `m` also matches before a final
  newline, as in Java; engine v2 semantics (inline flags cover every alternative); constructs without
  a faithful translation are rejected.
- The time range is a search setting, not query text: `now` has no effect.
- Without table/sort the rows keep the input order.
"""

from __future__ import annotations

import csv
import functools
import io
import ipaddress
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

from tests.models.common import COMPARISONS, ModelSyntaxError, Row
from tests.models.inline_flags import InlineFlagScopes
from tests.models.java_escapes import java_octal

__all__ = ["ModelSyntaxError", "Query", "parse", "run"]

# [table]/[sort] "The maximum is controlled by the StateRowLimit dynamic configuration" (20,000).
STATE_ROW_LIMIT = 20_000
DEFAULT_LIMIT = 200

_FIELD_NAME = re.compile(r"[#@]?[A-Za-z_][A-Za-z0-9_.:]*")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


# ------------------------------------------------------------------------------------------ values
def _text(value: Any) -> str | None:
    """An event value as LogScale sees it: text ([expressions] "values are basically strings")."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return str(int(value.timestamp() * 1000))  # @timestamp is epoch milliseconds
    return str(value)


def _number(text: str | None) -> float | None:
    if text is None or not _NUMBER.fullmatch(text.strip()):
        return None
    return float(text)


# [string] escapes; `\*` is a literal asterisk where `*` would be a wildcard.
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "/": "/", "*": "*"}


# [quirks] Appendix D: reserved words "should be quoted if they want to be used for filtering".
_RESERVED = frozenset({"and", "or", "not"})


def _decode(token: Token) -> tuple[str, frozenset[int]]:
    """The text of a STRING or WORD token and the positions of its unescaped `*` wildcards."""
    if token.type == "WORD" and token.value.lower() in _RESERVED:
        raise ModelSyntaxError(f"reserved word {token.value!r} must be quoted to be used as a value")
    raw = token.value[1:-1] if token.type == "STRING" else token.value
    out: list[str] = []
    stars: set[int] = set()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\":
            nxt = raw[i + 1 : i + 2]
            if nxt not in _ESCAPES:
                raise ModelSyntaxError(f"unsupported escape \\{nxt} in {token.value!r}")
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        if c == "*":
            stars.add(len(out))
        out.append(c)
        i += 1
    return "".join(out), frozenset(stars)


def _literal(token: Token) -> str:
    return _decode(token)[0]


@dataclass(frozen=True)
class Glob:
    """A whole-value pattern where `*` is any run of characters ([humio-syntax] `url = *login*`)."""

    text: str
    stars: frozenset[int]

    @classmethod
    def of(cls, token: Token) -> Glob:
        text, stars = _decode(token)
        return cls(text, stars)

    @property
    def has_wildcard(self) -> bool:
        return bool(self.stars)

    @functools.cached_property
    def _pattern(self) -> str:
        return "".join(".*" if i in self.stars else re.escape(c) for i, c in enumerate(self.text))

    def matches(self, value: str, ignore_case: bool = False, contains: bool = False) -> bool:
        pattern = f".*(?:{self._pattern}).*" if contains else self._pattern
        flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
        return re.fullmatch(pattern, value, flags) is not None


# ------------------------------------------------------------------------------------------ regexes
# [regex-flags] d, g, i, m, F. `g` (repeat extraction) and `F` (engine v2) do not change whether a
# value matches; `s` is not a LogScale flag (its dot-all flag is `d`).
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "d": re.DOTALL, "g": 0, "F": 0}
# Java/LogScale escapes with no faithful Python `re` equivalent (Unicode properties, quoting, \G, \R,
# \X, and \h \v, whose meaning differs between LogScale's engines v1 and v2).
_UNMODELLED_ESCAPES = set("pPQEGRXhHvVKNe")
_INLINE_FLAGS = set("imsx")
# [regex-syntax] predefined classes are ASCII ("\\d A digit: [0-9]"); Python's are Unicode unless
# re.ASCII, which would also make `i` ASCII-only, so the classes are spelled out instead.
_ASCII_WORD = "A-Za-z0-9_"
_ASCII_SPACE = " \\t\\n\\x0b\\f\\r"
_CLASS_ESCAPES = {"w": _ASCII_WORD, "d": "0-9", "s": _ASCII_SPACE}
_SHORTHANDS = {
    "w": f"[{_ASCII_WORD}]",
    "W": f"[^{_ASCII_WORD}]",
    "d": "[0-9]",
    "D": "[^0-9]",
    "s": f"[{_ASCII_SPACE}]",
    "S": f"[^{_ASCII_SPACE}]",
    "b": f"(?:(?<=[{_ASCII_WORD}])(?![{_ASCII_WORD}])|(?<![{_ASCII_WORD}])(?=[{_ASCII_WORD}]))",
    "B": f"(?:(?<=[{_ASCII_WORD}])(?=[{_ASCII_WORD}])|(?<![{_ASCII_WORD}])(?![{_ASCII_WORD}]))",
}


def translate_regex(body: str) -> str:
    """A LogScale regex body as an equivalent Python `re` pattern, or ModelSyntaxError."""
    out: list[str] = []
    # Engine v2: "(?i)a|b" ignores case in both alternatives.
    scopes = InlineFlagScopes()
    i, n = 0, len(body)
    in_class = False
    while i < n:
        c = body[i]
        if c == "\\":
            if i + 1 >= n:
                raise ModelSyntaxError("regex ends with a backslash")
            d = body[i + 1]
            if d in _UNMODELLED_ESCAPES:
                raise ModelSyntaxError(f"regex escape \\{d} is outside the modelled subset")
            if in_class and d in "WDS":
                raise ModelSyntaxError(f"\\{d} inside a character class is outside the modelled subset")
            if in_class and d in _CLASS_ESCAPES:
                out.append(_CLASS_ESCAPES[d])
            elif not in_class and d in _SHORTHANDS:
                out.append(_SHORTHANDS[d])
            elif d == "z":
                out.append(r"\Z")
            elif d == "Z" and not in_class:
                out.append(r"(?=\n?\Z)")  # Java: end of input before a final line terminator
            elif d == "a":
                out.append(r"\x07")
            elif d == "c" and i + 2 < n:
                out.append(f"\\x{ord(body[i + 2]) ^ 64:02x}")
                i += 3
                continue
            elif d == "0":
                octal = java_octal(body, i + 2)
                if octal is None:
                    raise ModelSyntaxError("invalid octal escape \\0 in regex")
                code, i = octal
                out.append(f"\\x{code:02x}")
                continue
            elif d == "x" and body[i + 2 : i + 3] == "{":
                raise ModelSyntaxError("regex escape \\x{...} is outside the modelled subset")
            elif d == "k" and body[i + 2 : i + 3] == "<":
                end = body.find(">", i)
                if end < 0:
                    raise ModelSyntaxError("unterminated \\k<name> in regex")
                out.append(f"(?P={body[i + 3 : end]})")
                i = end + 1
                continue
            elif d == "/":
                out.append("/")  # [quirks] the literal's delimiter, escaped
            else:
                out.append(c + d)
            i += 2
            continue
        if in_class:
            if c == "[" or body.startswith("&&", i):
                raise ModelSyntaxError("nested or intersected character classes are outside the subset")
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            start = "[^" if body.startswith("[^", i) else "["
            out.append(start)
            i += len(start)
            if body[i : i + 1] == "]":
                raise ModelSyntaxError("a character class starting with ] is outside the subset")
            continue
        if c == "(":
            inline = re.match(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?\)", body[i:])
            if inline:
                flags = inline.group(1) + (inline.group(2) or "")
                if not flags or set(flags) - _INLINE_FLAGS:
                    raise ModelSyntaxError(f"inline flags {inline.group(0)} are outside the subset")
                scope = inline.group(1) + (f"-{inline.group(2)}" if inline.group(2) else "")
                out.append(scopes.open_flags(scope))
                i += len(inline.group(0))
                continue
            scoped = re.match(r"\(\?([a-zA-Z]+)(?:-([a-zA-Z]*))?:", body[i:])
            if scoped:
                if set(scoped.group(1) + (scoped.group(2) or "")) - _INLINE_FLAGS:
                    raise ModelSyntaxError(f"inline flags {scoped.group(0)} are outside the subset")
                out.append(scoped.group(0))
                i += len(scoped.group(0))
            elif body.startswith("(?<", i) and body[i + 3 : i + 4] not in ("=", "!"):
                out.append("(?P<")  # named group (?<name>...)
                i += 3
            elif body.startswith("(?", i):
                # Java's group forms only: Python's (?P<n>, (?P=n), (?#...) and (?(1)...) are not
                # LogScale syntax.
                opener = next(
                    (o for o in ("(?:", "(?=", "(?!", "(?<=", "(?<!", "(?>") if body.startswith(o, i)), None
                )
                if opener is None:
                    raise ModelSyntaxError(f"regex group {body[i : i + 4]!r}... is not LogScale syntax")
                out.append(opener)
                i += len(opener)
            else:
                out.append("(")
                i += 1
            scopes.open_group()
            continue
        if c == ")":
            if scopes.depth > 0:  # an unbalanced `)` is left for Python to reject
                out.append(scopes.close_group())
            out.append(")")
            i += 1
            continue
        if c == "|":
            out.append(scopes.alternation())
            i += 1
            continue
        out.append(c)
        i += 1
    if in_class:
        raise ModelSyntaxError("unterminated character class in regex")
    out.append(scopes.close_pattern())
    return "".join(out)


@dataclass(frozen=True)
class Regex:
    body: str
    flags: str
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, token: Token) -> Regex:
        body, _, flags = token.value[1:].rpartition("/")
        unknown = set(flags) - set(_REGEX_FLAGS)
        if unknown:
            raise ModelSyntaxError(f"unknown regex flag(s) {''.join(sorted(unknown))!r} in {token.value}")
        py_flags = 0
        for flag in flags:
            py_flags |= _REGEX_FLAGS[flag]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                pattern = re.compile(translate_regex(body), py_flags)
        except (re.error, FutureWarning, DeprecationWarning) as exc:
            raise ModelSyntaxError(f"invalid regex {token.value}: {exc}") from exc
        return cls(body, flags, pattern)

    def search(self, value: str) -> bool:
        # [regex-flags] examples: `url = /login/` means "contains login": a find, not a full match.
        return self.pattern.search(value) is not None


# ------------------------------------------------------------------------------------------ events
@dataclass
class Record:
    index: int
    fields: dict[str, Any]
    original: Mapping[str, Any]

    def value(self, name: str) -> str | None:
        return _text(self.fields.get(name))

    def with_field(self, name: str, value: Any) -> Record:
        return Record(self.index, {**self.fields, name: value}, self.original)


def _haystacks(record: Record) -> list[str]:
    """What free text searches (a modelling choice; see the module docstring)."""
    raw = _text(record.original.get("@rawstring"))
    if raw is not None:
        return [raw]
    texts = (_text(v) for k, v in record.original.items() if not k.startswith(("#", "@")))
    return [t for t in texts if t is not None]


# ------------------------------------------------------------------------------------------ filters
class Filter:
    def matches(self, record: Record) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class And(Filter):
    parts: tuple[Filter, ...]

    def matches(self, record: Record) -> bool:
        return all(p.matches(record) for p in self.parts)


@dataclass(frozen=True)
class Or(Filter):
    parts: tuple[Filter, ...]

    def matches(self, record: Record) -> bool:
        return any(p.matches(record) for p in self.parts)


@dataclass(frozen=True)
class Not(Filter):
    part: Filter

    def matches(self, record: Record) -> bool:
        return not self.part.matches(record)


@dataclass(frozen=True)
class FreeText(Filter):
    """[quirks] bare text is searched for anywhere, `*` still a wildcard."""

    glob: Glob

    def matches(self, record: Record) -> bool:
        if self.glob.text == "*" and self.glob.has_wildcard:
            return True  # `*` alone matches every event ([case] the default clause)
        return any(self.glob.matches(h, contains=True) for h in _haystacks(record))


@dataclass(frozen=True)
class FreeRegex(Filter):
    regex: Regex

    def matches(self, record: Record) -> bool:
        return any(self.regex.search(h) for h in _haystacks(record))


@dataclass(frozen=True)
class FieldEquals(Filter):
    """[operators] `field=value`: whole value, case-sensitive, `*` wildcards; absent field fails."""

    field: str
    glob: Glob

    def matches(self, record: Record) -> bool:
        value = record.value(self.field)
        if value is None:
            return False
        if not self.glob.has_wildcard:
            # [operators] `statuscode = 400` is listed with the numeric comparisons.
            left, right = _number(value), _number(self.glob.text)
            if left is not None and right is not None:
                return left == right
        return self.glob.matches(value)


@dataclass(frozen=True)
class FieldRegex(Filter):
    field: str
    regex: Regex

    def matches(self, record: Record) -> bool:
        value = record.value(self.field)
        return value is not None and self.regex.search(value)


@dataclass(frozen=True)
class FieldCompare(Filter):
    """[operators] `<`, `<=`, `>`, `>=` "can only perform a comparison between numbers"."""

    field: str
    op: str
    number: float

    def matches(self, record: Record) -> bool:
        value = _number(record.value(self.field))
        return value is not None and COMPARISONS[self.op](value, self.number)


@dataclass(frozen=True)
class InValues(Filter):
    """[in] whole-value match against any of the values (wildcards allowed), optionally ignoring case."""

    field: str
    values: tuple[Glob, ...]
    ignore_case: bool

    def matches(self, record: Record) -> bool:
        value = record.value(self.field)
        return value is not None and any(g.matches(value, self.ignore_case) for g in self.values)


@dataclass(frozen=True)
class Wildcard(Filter):
    """[wildcard] an anchored glob over one or more fields."""

    fields: tuple[str, ...]
    glob: Glob
    ignore_case: bool

    def matches(self, record: Record) -> bool:
        values = (record.value(f) for f in self.fields)
        return any(v is not None and self.glob.matches(v, self.ignore_case) for v in values)


@dataclass(frozen=True)
class ArrayContains(Filter):
    """[array:contains] some element `array[0]`, `array[1]`, ... is exactly the value (case too)."""

    array: str
    value: str

    def matches(self, record: Record) -> bool:
        index = 0
        while (element := record.value(f"{self.array}[{index}]")) is not None:
            if element == self.value:
                return True
            index += 1
        return False


@dataclass(frozen=True)
class Cidr(Filter):
    field: str
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    negate: bool

    def matches(self, record: Record) -> bool:
        value = record.value(self.field)
        if value is None:
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        inside = any(address.version == n.version and address in n for n in self.networks)
        return inside != self.negate


@dataclass(frozen=True)
class Operand:
    """A test() operand: a field reference, or a literal (number or quoted string)."""

    field: str | None = None
    literal: str | None = None

    def resolve(self, record: Record) -> str | None:
        return record.value(self.field) if self.field is not None else self.literal


@dataclass(frozen=True)
class ExprCompare(Filter):
    """[expressions] test(a OP b): numbers compare as numbers; `==`/`!=` otherwise compare text."""

    left: Operand
    op: str
    right: Operand

    def evaluate(self, record: Record) -> bool | None:
        a, b = self.left.resolve(record), self.right.resolve(record)
        if a is None or b is None:
            return None  # an expression over a missing field has no value
        na, nb = _number(a), _number(b)
        if self.op in ("==", "!="):
            equal = na == nb if na is not None and nb is not None else a == b
            return equal == (self.op == "==")
        return na is not None and nb is not None and COMPARISONS[self.op](na, nb)

    def matches(self, record: Record) -> bool:
        return self.evaluate(record) is True  # no value: the event is dropped


@dataclass(frozen=True)
class ExprNot(Filter):
    """[expressions] `!` negates a value; it cannot give one to an expression that has none."""

    part: ExprCompare | ExprNot

    def evaluate(self, record: Record) -> bool | None:
        value = self.part.evaluate(record)
        return None if value is None else not value

    def matches(self, record: Record) -> bool:
        return self.evaluate(record) is True


# ------------------------------------------------------------------------------------------ steps
class Step:
    def apply(self, records: list[Record]) -> list[Record]:
        raise NotImplementedError


@dataclass(frozen=True)
class FilterStep(Step):
    filter: Filter

    def apply(self, records: list[Record]) -> list[Record]:
        return [r for r in records if self.filter.matches(r)]


@dataclass(frozen=True)
class Assign(Step):
    """[syntax] `field := value`; a field reference that is absent assigns nothing."""

    field: str
    literal: str | None = None
    source: str | None = None

    def apply(self, records: list[Record]) -> list[Record]:
        out = []
        for record in records:
            value = self.literal if self.source is None else record.fields.get(self.source)
            out.append(record if value is None else record.with_field(self.field, value))
        return out


@dataclass(frozen=True)
class Case(Step):
    """[case] first clause whose pipeline returns the event wins; no clause: the event is dropped."""

    branches: tuple[tuple[Step, ...], ...]

    def apply(self, records: list[Record]) -> list[Record]:
        out: list[Record] = []
        for record in records:
            for branch in self.branches:
                result = _run_steps(branch, [record])
                if result:
                    out.extend(result)
                    break
        return out


def _sort_records(
    records: list[Record], fields: Sequence[str], orders: Sequence[str], types: Sequence[str]
) -> list[Record]:
    """Stable multi-key sort; events without the field go last whatever the order."""
    result = list(records)
    for index in reversed(range(len(fields))):
        name = fields[index]
        order = orders[index] if index < len(orders) else orders[-1]
        kind = types[index] if index < len(types) else types[-1]
        present = [r for r in result if r.value(name) is not None]
        missing = [r for r in result if r.value(name) is None]
        present.sort(key=lambda r: _sort_key(r.value(name) or "", kind), reverse=order == "desc")
        result = present + missing
    return result


def _sort_key(value: str, kind: str) -> tuple[int, float, str]:
    if kind == "hex":
        try:
            return (0, float(int(value, 16)), "")
        except ValueError:
            return (1, 0.0, value)
    if kind == "number":
        number = _number(value)
        return (0, number, "") if number is not None else (1, 0.0, value)
    return (1, 0.0, value)


@dataclass(frozen=True)
class Table(Step):
    """[table] keep the first `limit` events by sortby/order, then project the columns."""

    fields: tuple[str, ...]
    limit: int
    sortby: tuple[str, ...]
    orders: tuple[str, ...]
    types: tuple[str, ...]

    def apply(self, records: list[Record]) -> list[Record]:
        ordered = _sort_records(records, self.sortby, self.orders, self.types)[: self.limit]
        return [Record(r.index, {f: r.fields.get(f) for f in self.fields}, r.original) for r in ordered]


@dataclass(frozen=True)
class Sort(Step):
    fields: tuple[str, ...]
    orders: tuple[str, ...]
    types: tuple[str, ...]
    limit: int

    def apply(self, records: list[Record]) -> list[Record]:
        return _sort_records(records, self.fields, self.orders, self.types)[: self.limit]


@dataclass(frozen=True)
class Select(Step):
    fields: tuple[str, ...]

    def apply(self, records: list[Record]) -> list[Record]:
        return [Record(r.index, {f: r.fields.get(f) for f in self.fields}, r.original) for r in records]


@dataclass(frozen=True)
class Query:
    steps: tuple[Step, ...]
    tree: Tree[Token] = field(repr=False, compare=False)


def _run_steps(steps: Sequence[Step], records: list[Record]) -> list[Record]:
    for step in steps:
        records = step.apply(records)
    return records


# ------------------------------------------------------------------------------------------ building
def _tok(node: Any) -> Token:
    if not isinstance(node, Token):
        raise ModelSyntaxError(f"expected a value, not {node!r}")
    return node


def _tree(node: Any) -> Tree[Token]:
    if not isinstance(node, Tree):
        raise ModelSyntaxError(f"unexpected {node!r}")
    return node


def _field_name(token: Token) -> str:
    if token.type == "STRING":
        return _literal(token)
    name = str(token.value)
    if token.type != "WORD" or not _FIELD_NAME.fullmatch(name) or name.lower() in _RESERVED:
        raise ModelSyntaxError(f"not a field name: {name!r}")
    return name


def _children(tree: Tree[Token]) -> list[Any]:
    return [c for c in tree.children if c is not None]


# Function signatures: the default (unnamed) parameter first, then the others; [in], [cidr],
# [wildcard], [table], [sort]; select() as [table] describes it.
_SIGNATURES: dict[str, tuple[str, frozenset[str], frozenset[str]]] = {
    # name: (default parameter, required, all parameters)
    "in": ("field", frozenset({"field", "values"}), frozenset({"field", "values", "ignoreCase"})),
    "cidr": ("field", frozenset({"field", "subnet"}), frozenset({"field", "subnet", "negate"})),
    "array:contains": ("array", frozenset({"array", "value"}), frozenset({"array", "value"})),
    "wildcard": (
        "pattern",
        frozenset({"pattern", "field"}),
        frozenset({"pattern", "field", "ignoreCase"}),
    ),
    "table": ("fields", frozenset({"fields"}), frozenset({"fields", "limit", "sortby", "order", "type"})),
    "sort": ("field", frozenset({"field"}), frozenset({"field", "order", "limit", "type"})),
    "select": ("fields", frozenset({"fields"}), frozenset({"fields"})),
    # [groupBy] field, function (an aggregate or an array of them; [] for none), limit.
    "groupBy": ("field", frozenset({"field"}), frozenset({"field", "function", "limit"})),
    # [math:floor] field, as (default _floor).
    "math:floor": ("field", frozenset({"field"}), frozenset({"field", "as"})),
    "match": (
        "file",
        frozenset({"file", "field"}),
        frozenset({"file", "field", "column", "ignoreCase", "include", "mode", "strict"}),
    ),
}
_FILTER_FUNCTIONS = frozenset({"in", "cidr", "wildcard", "array:contains"})


def _bind(call: Tree[Token]) -> tuple[str, dict[str, Any]]:
    func, *args = _children(call)
    name = func.value[:-1]
    if name not in _SIGNATURES:
        raise ModelSyntaxError(f"unknown function {name}()")
    default, required, allowed = _SIGNATURES[name]
    bound: dict[str, Any] = {}
    for position, arg in enumerate(args):
        if isinstance(arg, Tree) and arg.data == "named_arg":
            key_token, value = arg.children
            key = _tok(key_token).value
        elif position == 0:
            key, value = default, arg  # "The argument name for <default> can be omitted"
        else:
            raise ModelSyntaxError(f"{name}(): only the first argument may omit its name")
        if key not in allowed:
            raise ModelSyntaxError(f"{name}(): unknown argument {key!r}")
        if key in bound:
            raise ModelSyntaxError(f"{name}(): argument {key!r} given twice")
        bound[key] = value
    missing = required - bound.keys()
    if missing:
        raise ModelSyntaxError(f"{name}(): missing argument(s) {', '.join(sorted(missing))}")
    return name, bound


def _scalar(value: Any, what: str) -> Token:
    if not isinstance(value, Token) or value.type not in ("WORD", "STRING"):
        raise ModelSyntaxError(f"{what}: expected a string")
    return value


def _items(value: Any) -> list[Any]:
    if isinstance(value, Tree) and value.data == "array":
        return _children(value)
    return [value]


def _bool(value: Any, what: str) -> bool:
    text = _literal(_scalar(value, what))
    if text not in ("true", "false"):
        raise ModelSyntaxError(f"{what}: expected true or false, not {text!r}")
    return text == "true"


def _limit(value: Any, what: str) -> int:
    text = _literal(_scalar(value, what))
    if text == "max":
        return STATE_ROW_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= STATE_ROW_LIMIT:
        raise ModelSyntaxError(f"{what}: limit must be 1..{STATE_ROW_LIMIT} or max, not {text!r}")
    return int(text)


def _choices(value: Any, allowed: set[str], what: str) -> tuple[str, ...]:
    items = tuple(_literal(_scalar(v, what)) for v in _items(value))
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise ModelSyntaxError(f"{what}: expected one of {sorted(allowed)}, not {bad}")
    return items


def _fields(value: Any, what: str) -> tuple[str, ...]:
    names = tuple(_field_name(_scalar(v, what)) for v in _items(value))
    if not names:
        raise ModelSyntaxError(f"{what}: no fields")
    return names


def _build_function(call: Tree[Token]) -> Filter | Step:
    name, args = _bind(call)
    if name == "in":
        values = tuple(Glob.of(_scalar(v, "in(values)")) for v in _items(args["values"]))
        if not values:
            raise ModelSyntaxError("in(): empty values")
        ignore = _bool(args["ignoreCase"], "in(ignoreCase)") if "ignoreCase" in args else False
        return InValues(_field_name(_scalar(args["field"], "in(field)")), values, ignore)
    if name == "cidr":
        try:
            networks = tuple(
                ipaddress.ip_network(_literal(_scalar(v, "cidr(subnet)")), strict=False)
                for v in _items(args["subnet"])
            )
        except ValueError as exc:
            raise ModelSyntaxError(f"cidr(): {exc}") from exc
        negate = _bool(args["negate"], "cidr(negate)") if "negate" in args else False
        return Cidr(_field_name(_scalar(args["field"], "cidr(field)")), networks, negate)
    if name == "array:contains":
        array = _literal(_scalar(args["array"], "array:contains(array)"))
        if not array.endswith("[]"):
            raise ModelSyntaxError(f"array:contains(): {array!r} is no array name followed by []")
        element = _literal(_scalar(args["value"], "array:contains(value)"))
        return ArrayContains(_field_name(Token("WORD", array[:-2])), element)
    if name == "wildcard":
        ignore = _bool(args["ignoreCase"], "wildcard(ignoreCase)") if "ignoreCase" in args else False
        glob = Glob.of(_scalar(args["pattern"], "wildcard(pattern)"))
        return Wildcard(_fields(args["field"], "wildcard(field)"), glob, ignore)
    if name == "table":
        return Table(
            _fields(args["fields"], "table(fields)"),
            _limit(args["limit"], "table(limit)") if "limit" in args else DEFAULT_LIMIT,
            _fields(args["sortby"], "table(sortby)") if "sortby" in args else ("@timestamp",),
            _choices(args["order"], {"asc", "desc"}, "table(order)") if "order" in args else ("desc",),
            _choices(args["type"], {"number", "string", "hex"}, "table(type)")
            if "type" in args
            else ("number",),
        )
    if name == "sort":
        return Sort(
            _fields(args["field"], "sort(field)"),
            _choices(args["order"], {"asc", "desc"}, "sort(order)") if "order" in args else ("desc",),
            _choices(args["type"], {"number", "string", "hex"}, "sort(type)")
            if "type" in args
            else ("number",),
            _limit(args["limit"], "sort(limit)") if "limit" in args else DEFAULT_LIMIT,
        )
    if name == "match":
        return _build_match(args)
    if name == "groupBy":
        functions = args.get("function")
        calls = _items(functions) if functions is not None else []
        aggregates = (
            tuple(_aggregate(call) for call in calls)
            if functions is not None
            else (("count", None, "_count"),)
        )
        return GroupBy(_fields(args["field"], "groupBy(field)"), aggregates)
    if name == "math:floor":
        source = _field_name(_scalar(args["field"], "math:floor(field)"))
        target = _field_name(_scalar(args["as"], "math:floor(as)")) if "as" in args else "_floor"
        return Floor(source, target)
    return Select(_fields(args["fields"], "select(fields)"))


# [count] (field, as=_count), [sum], [avg], [min], [max] (field, as=_sum/_avg/_min/_max): the
# aggregates groupBy() takes here.
_AGGREGATES = {"count": "_count", "sum": "_sum", "avg": "_avg", "min": "_min", "max": "_max"}


def _aggregate(call: Any) -> tuple[str, str | None, str]:
    if not (isinstance(call, Tree) and call.data == "call"):
        raise ModelSyntaxError("groupBy(function): expected aggregate function calls")
    func, *args = _children(call)
    name = func.value[:-1]
    if name not in _AGGREGATES:
        raise ModelSyntaxError(f"groupBy(function): unmodelled aggregate {name}()")
    field_name: str | None = None
    result = _AGGREGATES[name]
    for position, arg in enumerate(args):
        if isinstance(arg, Tree) and arg.data == "named_arg":
            key, value = _tok(arg.children[0]).value, arg.children[1]
        elif position == 0:
            key, value = "field", arg
        else:
            raise ModelSyntaxError(f"{name}(): only the first argument may omit its name")
        if key == "field":
            field_name = _field_name(_scalar(value, f"{name}(field)"))
        elif key == "as":
            result = _field_name(_scalar(value, f"{name}(as)"))
        else:
            raise ModelSyntaxError(f"{name}(): unmodelled argument {key!r}")
    if name != "count" and field_name is None:
        raise ModelSyntaxError(f"{name}(): missing argument field")
    return name, field_name, result


@dataclass(frozen=True)
class GroupBy(Step):
    """[groupBy] one row per combination of the fields' values (an event without one of them is left
    out, the model's reading), holding those fields and each aggregate's result."""

    fields: tuple[str, ...]
    aggregates: tuple[tuple[str, str | None, str], ...]

    def apply(self, records: list[Record]) -> list[Record]:
        groups: dict[tuple[str, ...], list[Record]] = {}
        for record in records:
            key = tuple(record.value(name) for name in self.fields)
            if all(part is not None for part in key):
                groups.setdefault(key, []).append(record)  # type: ignore[arg-type]
        out = []
        for key, members in groups.items():
            values: dict[str, Any] = dict(zip(self.fields, key, strict=True))
            for function, field_name, result in self.aggregates:
                if function == "count":
                    counted = members if field_name is None else [m for m in members if m.value(field_name)]
                    values[result] = str(len(counted))
                elif function == "avg":
                    values[result] = _average(members, field_name or "")
                elif function == "sum":
                    values[result] = _sum(members, field_name or "")
                else:
                    numbers = [n for m in members if (n := _number(m.value(field_name or ""))) is not None]
                    combine = {"min": min, "max": max}[function]
                    values[result] = _number_text(combine(numbers)) if numbers else None
            first = min(members, key=lambda m: m.index)
            out.append(
                Record(first.index, {k: v for k, v in values.items() if v is not None}, first.original)
            )
        return out


def _average(members: Sequence[Record], name: str) -> str | None:
    """[avg] "When a field doesn't exist on an event, or if the field on an event isn't a number, or
    when it is NaN the value will not be counted towards the average" (avg() Function Operation). What
    a group with no number gets is not documented: the model gives it no value."""
    numbers = [n for m in members if (n := _number(m.value(name))) is not None and not math.isnan(n)]
    return _number_text(math.fsum(numbers) / len(numbers)) if numbers else None


def _sum(members: Sequence[Record], name: str) -> str | None:
    """[sum] "Calculates the sum for a field over a set of events"; an event without the field adds
    nothing. The page says nothing of a value that is no number: the model refuses to guess."""
    numbers = []
    for member in members:
        text = member.value(name)
        if text is None:
            continue
        number = _number(text)
        if number is None:
            raise ModelSyntaxError(f"sum({name}) of {text!r}: what sum() makes of text is not documented")
        numbers.append(number)
    return _number_text(math.fsum(numbers)) if numbers else None


@dataclass(frozen=True)
class Floor(Step):
    """[math:floor] the largest integer not above the field's value."""

    source: str
    target: str

    def apply(self, records: list[Record]) -> list[Record]:
        out = []
        for record in records:
            number = _number(record.value(self.source))
            out.append(
                record if number is None else record.with_field(self.target, _number_text(math.floor(number)))
            )
        return out


@dataclass(frozen=True)
class Arithmetic(Step):
    """[expressions] `field := a / b` (or + *): numbers from literals or fields; no result when an
    operand is no number."""

    field: str
    left: str
    op: str
    right: str

    def apply(self, records: list[Record]) -> list[Record]:
        out = []
        for record in records:
            a, b = (_operand_number(record, operand) for operand in (self.left, self.right))
            if a is None or b is None or (self.op == "/" and b == 0):
                out.append(record)
                continue
            result = a / b if self.op == "/" else a + b if self.op == "+" else a * b
            out.append(record.with_field(self.field, _number_text(result)))
        return out


def _operand_number(record: Record, operand: str) -> float | None:
    if _NUMBER.fullmatch(operand):
        return float(operand)
    return _number(record.value(operand))


def _number_text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def _build_match(args: Mapping[str, Any], negate: bool = False) -> Match:
    fields = _fields(args["field"], "match(field)")
    columns = (
        tuple(_literal(_scalar(v, "match(column)")) for v in _items(args["column"]))
        if "column" in args
        else fields
    )
    if len(columns) != len(fields):
        raise ModelSyntaxError("match(): field and column must have the same length")
    mode = (
        _choices(args["mode"], {"string", "glob", "cidr"}, "match(mode)")[0] if "mode" in args else "string"
    )
    include = (
        tuple(_literal(_scalar(v, "match(include)")) for v in _items(args["include"]))
        if "include" in args
        else None
    )
    return Match(
        file=_literal(_scalar(args["file"], "match(file)")),
        fields=fields,
        columns=columns,
        ignore_case=_bool(args["ignoreCase"], "match(ignoreCase)") if "ignoreCase" in args else False,
        mode=mode,
        strict=_bool(args["strict"], "match(strict)") if "strict" in args else True,
        include=include,
        negate=negate,
    )


# The lookup files of the running query ([match]): name -> CSV text.
LOOKUP_FILES: ContextVar[Mapping[str, str]] = ContextVar("logscale_lookup_files")


def lookup_rows(name: str) -> list[dict[str, str]]:
    """[match] a lookup file's rows: the first line names the columns; whitespace is kept."""
    text = LOOKUP_FILES.get({}).get(name)
    if text is None:
        raise ModelSyntaxError(f"match(): no lookup file {name!r}")
    if not name.endswith(".csv"):
        raise ModelSyntaxError(f"match(): only .csv lookup files are modelled, not {name!r}")
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    if not rows:
        return []
    header = rows[0]
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


@dataclass(frozen=True)
class Match(Step):
    """[match] a join with a lookup file: filters (strict) and adds the matched row's columns."""

    file: str
    fields: tuple[str, ...]
    columns: tuple[str, ...]
    ignore_case: bool
    mode: str
    strict: bool
    include: tuple[str, ...] | None
    negate: bool = False

    def _key_matches(self, key: str, value: str) -> bool:
        if self.mode == "cidr":
            try:
                return ipaddress.ip_address(value) in ipaddress.ip_network(key, strict=False)
            except ValueError:
                return False
        if self.mode == "glob":
            pattern = ".*".join(re.escape(part) for part in key.split("*"))
            flags = re.IGNORECASE | re.DOTALL if self.ignore_case else re.DOTALL
            return re.fullmatch(pattern, value, flags) is not None
        return key.lower() == value.lower() if self.ignore_case else key == value

    def _row(self, record: Record) -> dict[str, str] | None:
        values = [record.value(f) for f in self.fields]
        if any(v is None for v in values):
            return None
        found = [
            row
            for row in lookup_rows(self.file)
            if all(
                column in row and self._key_matches(row[column], value or "")
                for column, value in zip(self.columns, values, strict=True)
            )
        ]
        if not found:
            return None
        if self.mode == "cidr":
            # "If multiple subnets match, the most specific one is selected".
            return max(
                found, key=lambda row: ipaddress.ip_network(row[self.columns[0]], strict=False).prefixlen
            )
        return found[-1]  # "the last matching row in the CSV is used"

    def apply(self, records: list[Record]) -> list[Record]:
        out = []
        for record in records:
            row = self._row(record)
            if self.negate:
                if row is None:
                    out.append(record)
                continue
            if row is None:
                if not self.strict:
                    out.append(record)
                continue
            columns = self.include if self.include is not None else tuple(row)
            enriched = record
            for column in columns:
                if column in row:
                    enriched = enriched.with_field(column, row[column])
            out.append(enriched)
        return out


def _operand(token: Token) -> Operand:
    if token.type == "STRING":
        return Operand(literal=_literal(token))
    if _NUMBER.fullmatch(token.value):
        return Operand(literal=token.value)
    return Operand(field=_field_name(token))


def _build_test(tree: Tree[Token]) -> ExprCompare | ExprNot:
    if tree.data == "test_not":
        return ExprNot(_build_test(_children(tree)[-1]))
    left, op, right = (_tok(c) for c in tree.children)
    return ExprCompare(_operand(left), op.value, _operand(right))


def _build_filter(node: Tree[Token] | Token) -> Filter:
    if isinstance(node, Token):
        raise ModelSyntaxError(f"unexpected {node.value!r}")
    kind = node.data
    if kind == "and_":
        parts = [c for c in _children(node) if not (isinstance(c, Token) and c.type == "AND")]
        return And(tuple(_build_filter(p) for p in parts))
    if kind == "or_":
        parts = [c for c in _children(node) if not (isinstance(c, Token) and c.type == "OR")]
        return Or(tuple(_build_filter(p) for p in parts))
    if kind == "not_":
        return Not(_build_filter(_children(node)[-1]))
    if kind == "freetext":
        return FreeText(Glob.of(_tok(node.children[0])))
    if kind == "freeregex":
        return FreeRegex(Regex.of(_tok(node.children[0])))
    if kind == "comparison":
        ref, op, value = node.children
        name = _field_name(_tok(_tree(ref).children[0]))
        return _build_comparison(name, _tok(op).value, _tok(value))
    if kind == "call":
        built = _build_function(node)
        if not isinstance(built, Filter):
            raise ModelSyntaxError(f"{node.children[0]}...) is not a filter and cannot be combined")
        return built
    if kind == "test_call":
        return _build_test(_tree(node.children[1]))
    raise ModelSyntaxError(f"unsupported construct {kind}")


def _build_comparison(name: str, op: str, value: Token) -> Filter:
    if op in ("=", "!="):
        if value.type == "REGEX":
            test: Filter = FieldRegex(name, Regex.of(value))
        else:
            test = FieldEquals(name, Glob.of(value))
        return Not(test) if op == "!=" else test  # [operators] != is the negation: true when absent
    number = _number(_literal(value)) if value.type == "WORD" else None
    if number is None:
        raise ModelSyntaxError(f"{name} {op} {value.value}: comparison needs a number")
    return FieldCompare(name, op, number)


def _build_step(node: Tree[Token], nested: bool) -> Step:
    if node.data == "assignment":
        ref, _, assigned, *arithmetic = node.children
        target = _field_name(_tok(_tree(ref).children[0]))
        value = _tok(assigned)
        if arithmetic and arithmetic[0] is not None:
            op, right = (_tok(item) for item in arithmetic)
            operands = []
            for operand in (value, right):
                if operand.type != "WORD":
                    raise ModelSyntaxError("arithmetic on a string literal is outside the modelled subset")
                operands.append(operand.value if _NUMBER.fullmatch(operand.value) else _field_name(operand))
            return Arithmetic(target, operands[0], op.value, operands[1])
        if value.type == "STRING" or _NUMBER.fullmatch(value.value):
            return Assign(target, literal=_literal(value))
        return Assign(target, source=_field_name(value))
    if node.data == "case_stmt":
        branches = [c for c in node.children if isinstance(c, Tree)]
        return Case(tuple(_build_pipeline(b, nested=True) for b in branches))
    body = node.children[0]
    if isinstance(body, Tree) and body.data == "call":
        built = _build_function(body)
        if isinstance(built, Step):
            if nested and not isinstance(built, Match):
                raise ModelSyntaxError("aggregate functions inside case are outside the modelled subset")
            return built
        return FilterStep(built)
    negated = _children(body)[-1] if isinstance(body, Tree) and body.data == "not_" else None
    if isinstance(negated, Tree) and negated.data == "call" and negated.children[0].value == "match(":
        # [match] "Negatable: Yes": `!match(...)` keeps the events that match no row.
        return _build_match(_bind(negated)[1], negate=True)
    return FilterStep(_build_filter(body))


def _build_pipeline(tree: Tree[Token], nested: bool = False) -> tuple[Step, ...]:
    return tuple(_build_step(s, nested) for s in tree.children if isinstance(s, Tree))


@functools.cache
def _parser() -> Lark:
    grammar = (Path(__file__).with_name("logscale.lark")).read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True)


def parse(query: str) -> Query:
    """The query as steps; ModelSyntaxError when LogScale (or the modelled subset) rejects it."""
    try:
        tree = _parser().parse(query)
    except LarkError as exc:
        raise ModelSyntaxError(str(exc).strip().splitlines()[0]) from exc
    return Query(_build_pipeline(_tree(tree.children[0])), tree)


def run(
    query: str,
    events: Sequence[Mapping[str, Any]],
    now: datetime,
    files: Mapping[str, str] | None = None,
) -> list[Row]:
    """Evaluate the query over native events; `now` is unused (the time range is a search setting);
    `files` are the lookup files match() reads (name -> CSV text)."""
    parsed = parse(query)
    records = [Record(i, dict(e), e) for i, e in enumerate(events)]
    token = LOOKUP_FILES.set(dict(files or {}))
    try:
        return [Row(r.index, dict(r.fields)) for r in _run_steps(parsed.steps, records)]
    finally:
        LOOKUP_FILES.reset(token)
