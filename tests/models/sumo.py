"""Sumo Logic log search: an executable model of the subset siemc emits.

`parse(query)` checks the text against `sumo.lark` and returns a `Query`; `run(query, events, now)`
evaluates the scope, `where`, `if(...) as`, `fields` and `sort` stages over flat events. Sources are
the Sumo Logic documentation pages cited next to each piece (help.sumologic.com/docs/...). Where the
documentation is silent, the choice made is stated as such.

The time range of a log search is a search setting, not query text (Cloud SIEM "Searching for Cloud
SIEM Records in Sumo Logic": "returns all of the logs created within the currently selected time
range"), so `now` is not used: no modelled construct refers to the current time.

Lookup tables ("lookupContains", within a where expression): `lookupContains(path://"<table>",
<event field>=<lookup field>)` is true when a row of the table holds the event's values; "The lookup
operator matches event field names and values to lookup table field names and values in a
case-insensitive manner" ("lookup Search Operator", Rules and limitations), which the model applies
to lookupContains, whose page says nothing of case. An event without the field matches no row. The
tables are given to `run` (`lookup_tables`: path -> rows); a table that does not exist is an error.

Choices where the documentation is silent: a comparison, `matches` or `in` with a null side is false
(so `!(...)` of it is true); `\\` in a string is one backslash and other backslash pairs stay as
written; nulls sort last; function and field names are matched without regard to case.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, VisitError

from tests.models.common import COMPARISONS, And, ModelSyntaxError, Not, Or, Row
from tests.models.re2 import compile_re2

# --------------------------------------------------------------------------------------------------
# AST


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Lit:
    value: str | float | int | bool


@dataclass(frozen=True)
class Call:
    name: str  # lower-cased
    args: tuple[Any, ...]


@dataclass(frozen=True)
class If:
    cond: Any
    then: Any
    other: Any


@dataclass(frozen=True)
class Compare:
    left: Any
    op: str
    right: Any


@dataclass(frozen=True)
class Wildcard:
    """A `matches "..."` pattern: `*` is the only wildcard and the whole value must match."""

    text: str
    compiled: re.Pattern[str]


@dataclass(frozen=True)
class Regex:
    """A `matches /.../` RE2 regex, translated to Python `re`."""

    source: str
    compiled: re.Pattern[str]


@dataclass(frozen=True)
class Matches:
    value: Any
    pattern: Wildcard | Regex | Field


@dataclass(frozen=True)
class InList:
    value: Any
    items: tuple[Lit, ...]
    negated: bool


@dataclass(frozen=True)
class LookupContains:
    path: str
    keys: tuple[tuple[str, str], ...]  # (event field, lookup field)


@dataclass(frozen=True)
class Truth:
    value: Any


@dataclass(frozen=True)
class KwField:
    name: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class KwTerm:
    """A bare keyword or quoted phrase of the scope, searched in every field."""

    pattern: re.Pattern[str] | None  # None: `*`, everything


@dataclass(frozen=True)
class Where:
    expr: Any


@dataclass(frozen=True)
class Assign:
    expr: If
    name: str


@dataclass(frozen=True)
class Fields:
    names: tuple[str, ...]
    drop: bool


@dataclass(frozen=True)
class SortKey:
    name: str
    descending: bool


@dataclass(frozen=True)
class Sort:
    keys: tuple[SortKey, ...]


@dataclass(frozen=True)
class Sum:
    """`| a + b as name`."""

    items: tuple[Any, ...]
    name: str


@dataclass(frozen=True)
class Copy:
    """`| <field> as name`: the field's value under another name."""

    source: Any
    name: str


@dataclass(frozen=True)
class ToLong:
    """`| toLong(<value>) as name`: the value cast to a whole number."""

    value: Any
    name: str


@dataclass(frozen=True)
class Accum:
    """`| accum <field> as <name> by <fields>`: the running sum of the field in row order."""

    field: str
    name: str
    by: tuple[str, ...]


@dataclass(frozen=True)
class Timeslice:
    milliseconds: int


@dataclass(frozen=True)
class Aggregate:
    """`count by ...` (functions: (("count", None, "_count"),)) or `sum(x) as y, ... by ...`."""

    functions: tuple[tuple[str, str | None, str], ...]  # (function, field, result name)
    by: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    scope: Any
    operators: tuple[Where | Assign | Fields | Sort | Sum | ToLong | Accum | Timeslice | Aggregate, ...]


# --------------------------------------------------------------------------------------------------
# Strings and patterns


def unquote(token: str) -> str:
    """Value of a double-quoted literal.

    Field Expressions, "String Expressions and Quotes": "Use a backslash to escape double quotes".
    `\\\\` is one backslash. Any other backslash pair is kept as written: the docs pass regexes such
    as `"(?<ip_address>\\d{1,3}\\.\\d{1,3}...)"` to parse regex as plain strings.
    """
    body = token[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            nxt = body[i + 1]  # the grammar guarantees a character after a backslash
            out.append(nxt if nxt in '"\\' else c + nxt)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def wildcard(text: str) -> Wildcard:
    # "matches": "Patterns use asterisks * as wildcards", and the examples ("5*", "*Windows NT*",
    # `!(status matches "200")`) show the pattern covers the whole value. Only `*` is special; the
    # string expression "is case-sensitive".
    body = ".*".join(re.escape(part) for part in text.split("*"))
    return Wildcard(text, re.compile(body, re.DOTALL))


# --------------------------------------------------------------------------------------------------
# Parsing

# Functions of the `where`/`if` expressions, with their arity and whether they return a boolean.
# "where": "Any operator that returns a boolean value can be used in the boolean expression. Such
# as ... contains, in, isBlank, isEmpty, isNull"; "toLowerCase, toUpperCase" take one string.
# Names are matched without regard to case (the docs only ever write them as here).
_FUNCTIONS: dict[str, tuple[int, bool]] = {
    "tolowercase": (1, False),
    "touppercase": (1, False),
    "isnull": (1, True),
    "isempty": (1, True),
    "isblank": (1, True),
    "contains": (2, True),
}


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).with_name("sumo.lark")).read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=False)


def _is_boolean(node: Any) -> bool:
    if isinstance(node, Lit):
        return isinstance(node.value, bool)
    if isinstance(node, Call):
        return _FUNCTIONS[node.name][1]
    if isinstance(node, If):
        return _is_boolean(node.then) and _is_boolean(node.other)
    return False


def _static_type(node: Any) -> type | None:
    if isinstance(node, Lit):
        return bool if isinstance(node.value, bool) else str if isinstance(node.value, str) else float
    if isinstance(node, If):
        return _static_type(node.then) or _static_type(node.other)
    if isinstance(node, Call):
        return bool if _FUNCTIONS[node.name][1] else str
    return None  # a field: known only at run time


def _scope_word(text: str) -> re.Pattern[str] | None:
    # KSE "Phrases": messages are split into terms at white space and punctuation; a keyword must
    # match whole terms ("test" finds "test" and "TEST"), `*` stands for characters of one term
    # ("*456*" finds "1234567"). Security indexes are searched "across all fields".
    if text == "*":
        return None
    body = "[0-9A-Za-z]*".join(re.escape(part) for part in text.split("*"))
    return re.compile(rf"(?<![0-9A-Za-z]){body}(?![0-9A-Za-z])", re.IGNORECASE)


def _scope_phrase(text: str) -> re.Pattern[str]:
    # KSE: a quoted phrase is literal; "Normalization of phrase queries" makes any run of white
    # space in it match any run of white space.
    body = r"\s+".join(re.escape(part) for part in text.split())
    return re.compile(rf"(?<![0-9A-Za-z]){body}(?![0-9A-Za-z])", re.IGNORECASE)


@v_args(inline=True)
class _ToAst(Transformer[Token, Any]):
    # Scope ----------------------------------------------------------------------------------------
    def scope(self, item: Any) -> Any:
        return item

    def kw_or(self, *items: Any) -> Or:
        return Or(items)

    def kw_and(self, *items: Any) -> And:
        return And(items)

    def kw_not(self, *children: Any) -> Not:
        return Not(children[-1])  # children: an optional `!` token, then the operand

    def kw_field(self, name: Token, value: Token) -> KwField:
        # "Built-in Metadata": "Metadata tags are case-insensitive when searching", and "Quotes and
        # wildcards cannot be used together": `*` is a wildcard only outside quotes. The value must
        # cover the whole field value.
        if value.type == "STRING":
            body = re.escape(unquote(value))
        else:
            body = ".*".join(re.escape(part) for part in str(value).split("*"))
        return KwField(str(name), re.compile(body, re.IGNORECASE | re.DOTALL))

    def kw_word(self, word: Token) -> KwTerm:
        return KwTerm(_scope_word(str(word)))

    def kw_phrase(self, phrase: Token) -> KwTerm:
        return KwTerm(_scope_phrase(unquote(phrase)))

    # where ----------------------------------------------------------------------------------------
    def or_expr(self, *items: Any) -> Or:
        return Or(items)

    def and_expr(self, *items: Any) -> And:
        return And(items)

    def not_expr(self, *children: Any) -> Not:
        operand = children[-1]
        if isinstance(operand, Lit | Call | If) and not _is_boolean(operand):
            raise ModelSyntaxError(f"`!` needs a boolean operand: {operand!r}")
        return Not(operand)

    def truth(self, value: Any) -> Truth:
        if not _is_boolean(value):
            raise ModelSyntaxError(f"not a boolean expression: {value!r}")
        return Truth(value)

    def compare(self, left: Any, op: Token, right: Any) -> Compare:
        return Compare(left, {"==": "=", "<>": "!="}.get(str(op), str(op)), right)

    def matches(self, value: Any, pattern: Any) -> Matches:
        if isinstance(pattern, Field):
            return Matches(value, pattern)
        if pattern.type == "REGEX":
            # "matches": "Regex must be RE2-compliant"; the whole value must match (see `Regex`).
            return Matches(value, Regex(str(pattern)[1:-1], compile_re2(str(pattern)[1:-1])))
        return Matches(value, wildcard(unquote(pattern)))

    def in_list(self, value: Any, *items: Lit) -> InList:
        return InList(value, items, False)

    def not_in_list(self, value: Any, *items: Lit) -> InList:
        return InList(value, items, True)

    def contains_op(self, left: Any, right: Any) -> Call:
        return Call("contains", (left, right))

    # values ---------------------------------------------------------------------------------------
    def lookup_key(self, event_field: Field, op: Token, lookup_field: Token) -> tuple[str, str]:
        if str(op) != "=":
            raise ModelSyntaxError(f"lookupContains: {event_field.name}{op}{lookup_field} needs =")
        return (event_field.name, str(lookup_field))

    def lookup_contains(self, path: Token, *keys: tuple[str, str]) -> LookupContains:
        return LookupContains(unquote(str(path)[len("path://") :]), keys)

    def string(self, token: Token) -> Lit:
        return Lit(unquote(token))

    def number(self, token: Token) -> Lit:
        text = str(token)
        return Lit(int(text) if re.fullmatch(r"-?\d+", text) else float(text))

    def bool_lit(self, token: Token) -> Lit:
        return Lit(str(token).lower() == "true")

    def field(self, token: Token) -> Field:
        return Field(str(token))

    def quoted_field(self, token: Token) -> Field:
        text = str(token)[1:]
        return Field(unquote(text) if text.startswith('"') else text)

    def call(self, name: Token, *args: Any) -> Call:
        key = str(name).lower()
        if key not in _FUNCTIONS:
            raise ModelSyntaxError(f"unknown function {name}()")
        if len(args) != _FUNCTIONS[key][0]:
            raise ModelSyntaxError(f"{name}() takes {_FUNCTIONS[key][0]} argument(s)")
        return Call(key, args)

    def if_call(self, cond: Any, then: Any, other: Any) -> If:
        # "if": "The two sub-expressions (value_if_true and value_if_false) must have the same type."
        left, right = _static_type(then), _static_type(other)
        if left is not None and right is not None and left is not right:
            raise ModelSyntaxError("if(): both values must have the same type")
        return If(cond, then, other)

    # operators ------------------------------------------------------------------------------------
    def where_op(self, expr: Any) -> Where:
        return Where(expr)

    def if_op(self, expr: If, name: Field) -> Assign:
        return Assign(expr, name.name)

    def sum_op(self, *parts: Any) -> Sum:
        items = tuple(part for part in parts[:-1] if not isinstance(part, Token))
        return Sum(items, parts[-1].name)

    def copy_op(self, source: Any, name: Field) -> Copy:
        return Copy(source, name.name)

    def tolong_op(self, value: Any, name: Field) -> ToLong:
        return ToLong(value, name.name)

    def accum_op(self, source: Field, *rest: Any) -> Accum:
        name = next((part.name for part in rest if isinstance(part, Field)), "_accum")
        by = next((part for part in rest if isinstance(part, tuple)), ())
        return Accum(source.name, name, by)

    def timeslice_op(self, duration: Token) -> Timeslice:
        text = str(duration)
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[text[-1]]
        if int(text[:-1]) == 0:
            raise ModelSyntaxError("timeslice: a slice of zero")
        return Timeslice(int(text[:-1]) * unit * 1000)

    def count_op(self, names: tuple[str, ...]) -> Aggregate:
        return Aggregate((("count", None, "_count"),), names)

    def aggregate(self, name: Token, field: Field, result: Field) -> tuple[str, str | None, str]:
        if str(name).lower() not in ("sum", "avg", "min", "max"):
            raise ModelSyntaxError(f"unmodelled aggregate function {name}()")
        return str(name).lower(), field.name, result.name

    def aggregate_op(self, *parts: Any) -> Aggregate:
        return Aggregate(tuple(parts[:-1]), parts[-1])

    def field_list(self, *fields: Field) -> tuple[str, ...]:
        names = tuple(f.name for f in fields)
        # "fields": "Make sure that your query does not repeat or duplicate individual fields, or
        # your search query will fail."
        if len({n.lower() for n in names}) != len(names):
            raise ModelSyntaxError("fields: a field is listed twice")
        return names

    def fields_keep(self, names: tuple[str, ...]) -> Fields:
        return Fields(names, False)

    def fields_drop(self, names: tuple[str, ...]) -> Fields:
        return Fields(names, True)

    def sort_key(self, *parts: Any) -> SortKey:
        plus = any(isinstance(p, Token) and p.type == "PLUS" for p in parts)
        name = next(p.name for p in parts if isinstance(p, Field))
        order = [str(p).lower() for p in parts if isinstance(p, Token) and p.type in ("ASC", "DESC")]
        if plus and order:
            raise ModelSyntaxError("sort: `+field` together with asc/desc")
        # "sort": "Default sort order is descending"; `+` or `asc` make it ascending.
        return SortKey(name, not plus and order != ["asc"])

    def sort_op(self, *keys: SortKey) -> Sort:
        return Sort(keys)

    def start(self, scope: Any, *operators: Any) -> Query:
        return Query(scope, operators)


def parse(query: str) -> Query:
    """The query's AST; `ModelSyntaxError` for text Sumo Logic rejects or the model does not cover."""
    try:
        tree = _parser().parse(query)
        result: Query = _ToAst().transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, ModelSyntaxError):
            raise error.orig_exc from None
        raise
    except LarkError as error:
        raise ModelSyntaxError(str(error)) from None
    return result


# --------------------------------------------------------------------------------------------------
# Evaluation


class _Record:
    """One message: its fields by name, looked up without regard to case.

    Field names are case-insensitive: the docs write the same metadata field as `_messageTime` and
    `_messagetime` (formatDate page) and `_receiptTime` / `_receipttime` in one query.
    """

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.values: dict[str, Any] = dict(event)
        self.names = {name.lower(): name for name in self.values}

    def get(self, name: str) -> Any:
        real = self.names.get(name.lower())
        return None if real is None else self.values[real]

    def set(self, name: str, value: Any) -> None:
        real = self.names.setdefault(name.lower(), name)
        self.values[real] = value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return str(_number(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float | None:
    """Numeric value for comparisons: numbers as they are, numeric strings cast, times as epoch ms
    ("Built-in Metadata": `_messageTime` is "in milliseconds")."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp() * 1000.0
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _value(node: Any, record: _Record) -> Any:
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Field):
        return record.get(node.name)
    if isinstance(node, If):
        return _value(node.then if _test(node.cond, record) else node.other, record)
    if isinstance(node, Call):
        return _call(node, record)
    raise TypeError(f"not a value: {node!r}")


def _call(node: Call, record: _Record) -> Any:
    args = [_value(arg, record) for arg in node.args]
    text = _text(args[0])
    if node.name == "tolowercase":
        return None if text is None else text.lower()
    if node.name == "touppercase":
        return None if text is None else text.upper()
    # "isNull, isEmpty, isBlank": isNull(null) true, isNull("") false; isEmpty(null) and
    # isEmpty("") true, isEmpty(" ") false; isBlank also true for white space only.
    if node.name == "isnull":
        return text is None
    if node.name == "isempty":
        return text is None or text == ""
    if node.name == "isblank":
        return text is None or text.strip() == ""
    if node.name == "contains":
        # "contains": "The full string of field2 must exist within field1", case-sensitive;
        # "Returns true if field1 and field2 are empty, and false when only one is empty."
        first, second = text or "", _text(args[1]) or ""
        if not first or not second:
            return first == second
        return second in first
    raise TypeError(node.name)


def _compare(left: Any, op: str, right: Any) -> bool:
    # A comparison with a null side is false (the docs' null checks go through isNull et al.).
    if left is None or right is None:
        return False
    numeric = isinstance(left, int | float | datetime) or isinstance(right, int | float | datetime)
    if numeric and not isinstance(left, bool) and not isinstance(right, bool):
        a, b = _number(left), _number(right)
        if a is None or b is None:
            return False
    else:
        # FE Comparison Operators: "String comparisons are case sensitive."
        a_text, b_text = _text(left), _text(right)
        assert a_text is not None and b_text is not None
        a, b = a_text, b_text  # type: ignore[assignment]
    return COMPARISONS[op](a, b)


def _in(value: Any, item: Lit) -> bool:
    if isinstance(item.value, int | float) and not isinstance(item.value, bool):
        # "where": "If you're using in or not in to match integers, cast "x" to a number first":
        # a number in the list matches numbers only, not the text of a field.
        return isinstance(value, int | float) and not isinstance(value, bool) and value == item.value
    return _text(value) == _text(item.value)


def _test(node: Any, record: _Record) -> bool:
    if isinstance(node, Or):
        return any(_test(item, record) for item in node.items)
    if isinstance(node, And):
        return all(_test(item, record) for item in node.items)
    if isinstance(node, Not):
        return not _test(node.item, record)
    if isinstance(node, Truth):
        return _value(node.value, record) is True
    if isinstance(node, Lit | Call | If):
        return _value(node, record) is True
    if isinstance(node, Compare):
        return _compare(_value(node.left, record), node.op, _value(node.right, record))
    if isinstance(node, Matches):
        text = _text(_value(node.value, record))
        if text is None:
            return False
        pattern = node.pattern
        if isinstance(pattern, Field):
            source = _text(record.get(pattern.name))
            return source is not None and wildcard(source).compiled.fullmatch(text) is not None
        # Whole-value match for both forms. Wildcards: see `wildcard`. Regexes: the Cloud SIEM rules
        # syntax page pairs `foo matches "*bar*"` with `foo matches /.*bar.*/` as the same test, so
        # a regex must also cover the whole value (siemc's `.*(?:...).*` works either way).
        return pattern.compiled.fullmatch(text) is not None
    if isinstance(node, InList):
        value = _value(node.value, record)
        if value is None:
            return False
        found = any(_in(value, item) for item in node.items)
        return found != node.negated
    if isinstance(node, LookupContains):
        rows = LOOKUP_TABLES.get({}).get(node.path)
        if rows is None:
            raise ModelSyntaxError(f"lookupContains: no lookup table {node.path!r}")
        values = [_text(record.get(name)) for name, _ in node.keys]
        if any(v is None for v in values):
            return False
        return any(
            all(
                (key := _text(row.get(column))) is not None and key.lower() == (value or "").lower()
                for (_, column), value in zip(node.keys, values, strict=True)
            )
            for row in rows
        )
    if isinstance(node, KwField):
        value = record.get(node.name)
        if value is None and node.name.lower() in ("_index", "_view"):
            # "Built-in Metadata": `_view` is "The name of the index, view, or partition".
            value = record.get("_view" if node.name.lower() == "_index" else "_index")
        text = _text(value)
        return text is not None and node.pattern.fullmatch(text) is not None
    if isinstance(node, KwTerm):
        if node.pattern is None:
            return True
        term = node.pattern
        return any(
            (text := _text(v)) is not None and term.search(text) is not None for v in record.values.values()
        )
    raise TypeError(f"not a condition: {node!r}")


def _sort_key(value: Any) -> tuple[int, Any]:
    # "sort": text sorts as text, "case sensitive with lower-case followed by upper-case"; numbers
    # and times in order. Nulls last in both directions (not documented).
    if value is None:
        return (3, 0)
    number = _number(value) if isinstance(value, int | float | datetime) else None
    if number is not None:
        return (0, number)
    text = _text(value) or ""
    return (1, [(c.lower(), c.isupper()) for c in text])


def _by_field(name: str) -> Callable[[tuple[int, _Record]], tuple[int, Any]]:
    return lambda pair: _sort_key(pair[1].get(name))


# The lookup tables of the running query: Library path -> rows.
LOOKUP_TABLES: ContextVar[Mapping[str, Sequence[Mapping[str, Any]]]] = ContextVar("sumo_lookup_tables")


def run(
    query: str,
    events: Sequence[Mapping[str, Any]],
    now: datetime,
    lookup_tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> list[Row]:
    token = LOOKUP_TABLES.set(dict(lookup_tables or {}))
    try:
        return _run(query, events, now)
    finally:
        LOOKUP_TABLES.reset(token)


def _run(query: str, events: Sequence[Mapping[str, Any]], now: datetime) -> list[Row]:
    del now  # the time range is a search setting; no modelled construct reads the clock
    ast = parse(query)
    records = [(index, _Record(event)) for index, event in enumerate(events)]
    records = [(i, r) for i, r in records if _test(ast.scope, r)]
    for op in ast.operators:
        if isinstance(op, Where):
            # "where": "Multiple where operators are processed in the order they are specified".
            records = [(i, r) for i, r in records if _test(op.expr, r)]
        elif isinstance(op, Assign):
            for _, r in records:
                r.set(op.name, _value(op.expr, r))
        elif isinstance(op, Sum):
            for _, r in records:
                numbers = [_number(_value(item, r)) for item in op.items]
                r.set(op.name, None if None in numbers else sum(n for n in numbers if n is not None))
        elif isinstance(op, Copy):
            for _, r in records:
                r.set(op.name, _value(op.source, r))
        elif isinstance(op, ToLong):
            for _, r in records:
                number = _number(_value(op.value, r))
                # Casting page: toLong() makes a number of text; of text that is no number it says
                # nothing (the model gives no value).
                r.set(op.name, None if number is None or not math.isfinite(number) else int(number))
        elif isinstance(op, Accum):
            records = _accum(records, op)
        elif isinstance(op, Timeslice):
            for _, r in records:
                stamp = r.get("_messagetime")
                if isinstance(stamp, datetime):
                    millis = int(stamp.timestamp() * 1000)
                    r.set("_timeslice", millis - millis % op.milliseconds)
        elif isinstance(op, Aggregate):
            records = _aggregate(records, op)
        elif isinstance(op, Fields):
            records = [(i, _project(r, op)) for i, r in records]
        elif isinstance(op, Sort):
            for key in reversed(op.keys):
                present = [(i, r) for i, r in records if r.get(key.name) is not None]
                missing = [(i, r) for i, r in records if r.get(key.name) is None]
                present.sort(key=_by_field(key.name), reverse=key.descending)
                records = present + missing
    return [Row(index, dict(record.values)) for index, record in records]


def _aggregate(records: list[tuple[int, _Record]], op: Aggregate) -> list[tuple[int, _Record]]:
    """One record per combination of the `by` fields (a message without one of them is left out,
    the model's reading), holding those fields and each function's result."""
    groups: dict[tuple[Any, ...], list[tuple[int, _Record]]] = {}
    for index, record in records:
        key = tuple(record.get(name) for name in op.by)
        if None not in key:
            groups.setdefault(key, []).append((index, record))
    result = []
    for key, members in groups.items():
        values: dict[str, Any] = dict(zip(op.by, key, strict=True))
        for function, field_name, name in op.functions:
            if function == "count":
                values[name] = len(members)
            else:
                if function in ("sum", "avg"):
                    # "sum"/"avg" add up or average a "numerical field"; a message without the field
                    # adds nothing (the model's reading).
                    found = [
                        n
                        for _, r in members
                        if (n := _aggregate_number(r.get(field_name or ""), function)) is not None
                    ]
                    total = math.fsum(found)
                    values[name] = (total if function == "sum" else total / len(found)) if found else None
                    continue
                numbers = [n for _, r in members if (n := _number(r.get(field_name or ""))) is not None]
                combine = {"min": min, "max": max}[function]
                values[name] = combine(numbers) if numbers else None
        result.append((min(index for index, _ in members), _Record(values)))
    return result


def _accum(records: list[tuple[int, _Record]], op: Accum) -> list[tuple[int, _Record]]:
    """ "accum": the cumulative sum of the field over the rows so far, this one included, per
    combination of the `by` fields; "If a row contains non-numeric values, that row will be skipped"
    (the model: it adds nothing and gets no running sum)."""
    totals: dict[tuple[Any, ...], float] = {}
    for _, record in records:
        number = _number(record.get(op.field))
        if number is None:
            continue
        key = tuple(_text(record.get(name)) for name in op.by)
        totals[key] = totals.get(key, 0.0) + number
        record.set(op.name, totals[key])
    return records


# FE "Numeric Literals": digits with an optional decimal point, optional exponent ("e+" or "e-"),
# a leading "-" as negation. The text the aggregates cast as numbers; the casting page says sum and
# avg cast text to numbers implicitly, and nothing of text that is no number (the model refuses it).
_NUMERIC_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _aggregate_number(value: Any, function: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = _text(value)
    if text is None or not _NUMERIC_TEXT.fullmatch(text):
        raise ModelSyntaxError(
            f"{function}() of {text!r}: how it casts a value that is no number is not documented"
        )
    return float(text)


def _project(record: _Record, op: Fields) -> _Record:
    if op.drop:
        dropped = {name.lower() for name in op.names}
        return _Record({k: v for k, v in record.values.items() if k.lower() not in dropped})
    # "fields", Allowlist: "only the fields included are kept", in the given order; "Allowlist
    # queries allow all system internal fields (fields prefixed with an underscore "_") to pass."
    kept = {name: record.get(name) for name in op.names}
    listed = {name.lower() for name in op.names}
    for name, value in record.values.items():
        if name.startswith("_") and name.lower() not in listed:
            kept[name] = value
    return _Record(kept)
