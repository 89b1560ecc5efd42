"""Executable model of IBM QRadar AQL (Ariel Query Language), for the subset siemc emits.

Grammar: `aql.lark`. Facts come from the IBM QRadar documentation, "Ariel Query Language" chapter:

- [struct] AQL query structure (c_aql_introduction.html)
- [quotes] Quotation marks (c_qradar_aql_syntax.html)
- [ops]    AQL logical and comparison operators (r_aql_operators.html)
- [like]   LIKE clause (topic structure-like-clause): `%`, `_`; ILIKE / IMATCHES are the
           case-insensitive LIKE / MATCHES; the regex example is `MATCHES '.*Information.*'`
- [cond]   Conditional logic in AQL queries (c_aql_conditional_logic.html)
- [time]   Time criteria in AQL queries (r_aql_start_stop.html)
- [funcs]  AQL data calculation and formatting functions (r_aql_supported_functions.html)
- [data]   AQL data retrieval functions (r_aql_data_functions.html): UTF8, LOGSOURCETYPENAME,
           CATEGORYNAME, QIDNAME, LOGSOURCENAME, REFERENCESETCONTAINS('set name', value): true when
           the reference set holds the value
- [refset] Adding, editing, and deleting reference sets (t_qradar_adm_add_ref_set.html): a set's
           Type is chosen at creation; "The Alphanumeric (Ignore Case) type automatically changes any
           alphanumeric value to lowercase"; "The IP type stores IPv4 addresses". The reference sets
           are given to `run` (`reference_sets`: name -> ReferenceSet) with their type, as created.
- [5min]   QRadar AQL plugin, Grafana macros: "the Ariel database returns the results of the last
           5 minutes by default" (no time clause)
- [(?i)]   IBM Support 7160974: a "matches" filter is case-sensitive; `(?i)` at the start of the
           pattern makes it case-insensitive; it "will only match text that exactly corresponds to
           the specified pattern"

Modelling choices where IBM is silent (each is the stricter reading):

- MATCHES / IMATCHES must match the whole value (Java `String.matches`): the guide's own contains
  example is written `.*Information.*` and [(?i)] says "exactly corresponds". siemc wraps every
  regex as `(?s).*(?:re).*`, which is right under either reading.
- Regexes are Java `java.util.regex` (QRadar is a Java product); they are translated to Python `re`
  where the two differ, and constructs not translated are rejected.
- LIKE has no escape character (the LIKE page lists only `%` and `_`, and no ESCAPE clause).
- Null follows SQL three-valued logic: a comparison with a missing field is unknown, and
  `NOT unknown` is unknown, so the row is not returned.
- The searched `CASE WHEN <condition> THEN ...` form is accepted as in ANSI SQL, though IBM only
  shows the simple form `CASE <expr> WHEN <value> ...` and `IF <condition> THEN ... ELSE ...`.
- REFERENCESETCONTAINS compares the value as given with the stored elements: whether QRadar also
  lower-cases the value looked up in an Alphanumeric (Ignore Case) set is not documented, so the
  model does not (siemc looks up LOWER(value)); a null value is unknown, and a set that does not
  exist is an error.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, cast

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, VisitError

from tests.models.common import COMPARISONS, ModelSyntaxError, Row
from tests.models.java_escapes import java_octal

GRAMMAR = Path(__file__).with_name("aql.lark")

Value = Any  # str | int | float | bool | None
Ctx = Mapping[str, Any]
Expr = Callable[[Ctx], Value]
Cond = Callable[[Ctx], bool | None]  # Kleene: True, False or None (unknown)


@cache
def _parser() -> Lark:
    # LALR: the corpus has WHERE clauses of tens of thousands of characters.
    return Lark(GRAMMAR.read_text(), parser="lalr", maybe_placeholders=False)


# --------------------------------------------------------------------------------------------
# Values and field lookup
# --------------------------------------------------------------------------------------------


def _lookup(event: Ctx, name: str) -> Value:
    """A field by name: exact first, then ignoring case ([quotes] shows `sourceIP` and
    `sourceip`, `payLoad` and `payload` for the same column)."""
    if name in event:
        return event[name]
    lowered = name.lower()
    for key, value in event.items():
        if key.lower() == lowered:
            return value
    return None


def _as_number(value: Value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _compare(op: str, left: Value, right: Value) -> bool | None:
    # [ops] `=`, `!=`, `<`, `<=`, `>`, `>=` (`<>` as in SQL); a null operand gives unknown.
    if left is None or right is None:
        return None
    ln, rn = _as_number(left), _as_number(right)
    a: Any
    b: Any
    if isinstance(left, int | float) or isinstance(right, int | float):
        if ln is None or rn is None:
            return False  # a number never equals a non-numeric text
        a, b = ln, rn
    else:
        # Text compares exactly, case included (IBM Support 7160974: "AQL is case sensitive").
        a, b = _text(left), _text(right)
    return COMPARISONS["!=" if op == "<>" else op](a, b)


def _unquote_string(token: str) -> str:
    # [quotes] single-quoted; a doubled quote stands for one quote.
    return token[1:-1].replace("''", "'")


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


def _and(values: Sequence[Cond], ctx: Ctx) -> bool | None:
    result: bool | None = True
    for cond in values:
        value = cond(ctx)
        if value is False:
            return False
        if value is None:
            result = None
    return result


def _or(values: Sequence[Cond], ctx: Ctx) -> bool | None:
    result: bool | None = False
    for cond in values:
        value = cond(ctx)
        if value is True:
            return True
        if value is None:
            result = None
    return result


# --------------------------------------------------------------------------------------------
# LIKE and Java regular expressions
# --------------------------------------------------------------------------------------------


def like_regex(pattern: str, insensitive: bool) -> re.Pattern[str]:
    """[like] `%` any run of characters, `_` one character, the rest literal, whole value."""
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    flags = re.DOTALL | (re.IGNORECASE if insensitive else 0)
    return re.compile("".join(parts), flags)


# Java escapes that mean the same in Python `re`.
_SAME_ESCAPES = set("tnrfadDsSwWbB") | set("0123456789")
# Java-only escapes, spelled for Python (java.util.regex.Pattern, "Summary of regular-expression
# constructs"): \e escape, \h horizontal space, \v vertical space (Java 8), \z end of input.
_JAVA_ESCAPES = {
    "e": r"\x1b",
    "h": r"[ \t\xa0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000]",
    "H": r"[^ \t\xa0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000]",
    "v": r"[\n\x0b\f\r\x85\u2028\u2029]",
    "V": r"[^\n\x0b\f\r\x85\u2028\u2029]",
    "z": r"\Z",
    "A": r"\A",
    "R": r"(?:\r\n|[\n\x0b\f\r\x85\u2028\u2029])",
}
# Inside a character class the same sets without their brackets.
_JAVA_CLASS_ESCAPES = {
    "e": r"\x1b",
    "h": r" \t\xa0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000",
    "v": r"\n\x0b\f\r\x85\u2028\u2029",
}
_JAVA_FLAGS = set("imsx") | set("duUc")
_MODELLED_FLAGS = set("ims")
_QUANTIFIER = re.compile(r"\{\d+(,\d*)?\}")


class _JavaRegex:
    """Translate a Java regex to Python `re`, rejecting what Java rejects or what differs and is not
    modelled. Java applies an inline `(?i)` from where it stands to the end of the enclosing group,
    across later `|` alternatives; Python 3.11 only allows flags at the start, so each such flag is
    turned into a scoped `(?i:...)` that is closed and reopened around every `|` of that group."""

    def __init__(self, source: str) -> None:
        self.s = source
        self.i = 0
        self.out: list[str] = []
        self.flags: set[str] = set()  # the inline flags in force where the translation stands

    def fail(self, message: str) -> ModelSyntaxError:
        return ModelSyntaxError(f"regex {self.s!r}: {message} (at {self.i})")

    def translate(self) -> str:
        self.group(top=True)
        return "".join(self.out)

    def group(self, top: bool) -> None:
        # Scoped flag groups opened in this group; reopened after each `|`.
        opened: list[str] = []
        outer_flags = set(self.flags)  # an inline flag ends with its group
        try:
            self._group(top, opened)
        finally:
            self.flags = outer_flags

    def _group(self, top: bool, opened: list[str]) -> None:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == ")":
                if top:
                    raise self.fail("unmatched ')'")
                self.out.append(")" * len(opened))
                return
            if c == "|":
                self.out.append(")" * len(opened) + "|" + "".join(opened))
                self.i += 1
            elif c == "(":
                self.open_paren(opened)
            elif c == "[":
                self.char_class()
            elif c == "\\":
                self.out.append(self.escape(in_class=False))
            elif c in ".^$":
                self.out.append(self.line_sensitive(c))
                self.i += 1
            elif c == "{":
                match = _QUANTIFIER.match(self.s, self.i)
                if not match:
                    raise self.fail("illegal repetition '{' (Java requires '\\{' for a literal brace)")
                self.out.append(match.group())
                self.i = match.end()
            else:
                self.out.append(c)
                self.i += 1
        if not top:
            raise self.fail("unclosed group")
        self.out.append(")" * len(opened))

    def open_paren(self, opened: list[str]) -> None:
        s, i = self.s, self.i
        if not s.startswith("(?", i):
            self.out.append("(")
            self.i += 1
            self.group(top=False)
            self.close()
            return
        flags = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])").match(s, i)
        if flags and (flags.group(1) or flags.group(2) is not None):
            on, off, end = flags.group(1), flags.group(2) or "", flags.group(3)
            for flag in on + off:
                if flag not in _JAVA_FLAGS:
                    raise self.fail(f"unknown inline flag {flag!r}")
                if flag not in _MODELLED_FLAGS:
                    raise self.fail(f"inline flag {flag!r} is not modelled")
            spec = on + (f"-{off}" if off else "")
            self.i = flags.end()
            self.flags = (self.flags | set(on)) - set(off)
            if end == ")":
                # Applies to the rest of the enclosing group.
                opened.append(f"(?{spec}:")
                self.out.append(f"(?{spec}:")
            else:
                self.out.append(f"(?{spec}:")
                self.group(top=False)
                self.close()
            return
        for java, python in (("(?:", "(?:"), ("(?=", "(?="), ("(?!", "(?!"), ("(?>", "(?>")):
            if s.startswith(java, i):
                self.out.append(python)
                self.i += len(java)
                self.group(top=False)
                self.close()
                return
        if s.startswith("(?<=", i) or s.startswith("(?<!", i):
            # Java allows bounded variable-length look-behind, Python only fixed width; a pattern
            # Python cannot compile is rejected below rather than guessed at.
            self.out.append(s[i : i + 4])
            self.i += 4
            self.group(top=False)
            self.close()
            return
        named = re.compile(r"\(\?<([a-zA-Z][a-zA-Z0-9]*)>").match(s, i)
        if named:
            self.out.append(f"(?P<{named.group(1)}>")
            self.i = named.end()
            self.group(top=False)
            self.close()
            return
        raise self.fail("unknown group construct")

    def line_sensitive(self, c: str) -> str:
        """`.`, `^`, `$` as Java reads them: its line terminators are \\n, \\r\\n, \\r, U+0085, U+2028
        and U+2029 (java.util.regex.Pattern, "Line terminators"), where Python knows only \\n. Without
        DOTALL `.` matches none of them; `$` matches at the end of input and before a final line
        terminator, in MULTILINE mode before every one; `^` in MULTILINE mode also after every line
        terminator except at the end of input. Never inside a \\r\\n pair."""
        terminator = "\\n\\r\\x85\\u2028\\u2029"
        if c == ".":
            return "(?s:.)" if "s" in self.flags else f"[^{terminator}]"
        if c == "^":
            if "m" not in self.flags:
                return "(?-m:^)"
            return "(?:\\A|(?:(?<=[\\n\\x85\\u2028\\u2029])|(?<=\\r)(?!\\n))(?!\\Z))"
        if "m" in self.flags:
            return f"(?:(?=[{terminator}])(?<!\\r(?=\\n))|\\Z)"
        return f"(?:(?=(?:\\r\\n|[{terminator}])\\Z)(?<!\\r(?=\\n))|\\Z)"

    def close(self) -> None:
        if self.i >= len(self.s) or self.s[self.i] != ")":
            raise self.fail("unclosed group")
        self.out.append(")")
        self.i += 1

    def escape(self, in_class: bool) -> str:
        s = self.s
        if self.i + 1 >= len(s):
            raise self.fail("trailing backslash")
        c = s[self.i + 1]
        self.i += 2
        if c == "Q":
            if in_class:
                raise self.fail(r"\Q inside a character class is not modelled")
            end = s.find(r"\E", self.i)
            literal = s[self.i :] if end < 0 else s[self.i : end]
            self.i = len(s) if end < 0 else end + 2
            return re.escape(literal)
        if c == "x":
            braced = re.compile(r"\{([0-9a-fA-F]+)\}").match(s, self.i)
            if braced:
                self.i = braced.end()
                return "\\" + f"U{int(braced.group(1), 16):08x}"
            if not re.compile(r"[0-9a-fA-F]{2}").match(s, self.i):
                raise self.fail(r"illegal hexadecimal escape \x")
            self.i += 2
            return "\\x" + s[self.i - 2 : self.i]
        if c == "u":
            if not re.compile(r"[0-9a-fA-F]{4}").match(s, self.i):
                raise self.fail(r"illegal Unicode escape \u")
            self.i += 4
            return "\\u" + s[self.i - 4 : self.i]
        if c == "c":
            if self.i >= len(s):
                raise self.fail(r"illegal control escape \c")
            self.i += 1
            return f"\\x{ord(s[self.i - 1]) ^ 64:02x}"
        if c == "0":
            octal = java_octal(s, self.i)
            if octal is None:
                raise self.fail(r"illegal octal escape \0")
            code, self.i = octal
            return f"\\x{code:02x}"
        if c == "k":
            name = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)>").match(s, self.i)
            if not name:
                raise self.fail(r"\k is not followed by a group name")
            self.i = name.end()
            return f"(?P={name.group(1)})"
        if in_class and c in _JAVA_CLASS_ESCAPES:
            return _JAVA_CLASS_ESCAPES[c]
        if c in _JAVA_ESCAPES and not in_class:
            return _JAVA_ESCAPES[c]
        if c in _SAME_ESCAPES:
            if in_class and (c in "bB" or c.isdigit()):
                raise self.fail(f"escape \\{c} inside a character class is not modelled")
            return "\\" + c
        if c.isalpha():
            # \p{..}, \G, \Z, \X, \N and unknown letters: unknown to Java or not modelled.
            raise self.fail(f"escape \\{c} is not modelled")
        return re.escape(c)  # an escaped punctuation character is that character

    def char_class(self) -> None:
        s = self.s
        self.i += 1
        parts = ["["]
        if self.i < len(s) and s[self.i] == "^":
            parts.append("^")
            self.i += 1
        if self.i < len(s) and s[self.i] == "]":
            raise self.fail("']' first in a character class is not modelled")
        while True:
            if self.i >= len(s):
                raise self.fail("unclosed character class")
            c = s[self.i]
            if c == "]":
                self.i += 1
                parts.append("]")
                break
            if c == "[":
                raise self.fail("nested character class (Java union) is not modelled")
            if s.startswith("&&", self.i):
                raise self.fail("character class intersection '&&' is not modelled")
            if c == "\\":
                parts.append(self.escape(in_class=True))
                continue
            # Characters Python would read as set-operation syntax are literal in Java here.
            parts.append("\\" + c if c in "~|&" else c)
            self.i += 1
        self.out.append("".join(parts))


@cache
def java_regex(pattern: str, insensitive: bool) -> re.Pattern[str]:
    """A Java regex as a Python pattern matched against the whole value ([like], [(?i)]).
    IMATCHES adds CASE_INSENSITIVE, which in Java (without UNICODE_CASE) folds ASCII only, and Java's
    \\w, \\d, \\s, \\b are ASCII by default: hence `re.ASCII`."""
    translated = _JavaRegex(pattern).translate()
    flags = re.ASCII | (re.IGNORECASE if insensitive else 0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return re.compile(translated, flags)
    except (re.error, FutureWarning, DeprecationWarning) as error:
        raise ModelSyntaxError(f"regex {pattern!r}: {error}") from None


# --------------------------------------------------------------------------------------------
# Functions
# --------------------------------------------------------------------------------------------


def _lower(value: Value) -> Value:
    # [funcs] LOWER: the lower-case form of a string; null stays null.
    return None if value is None else _text(value).lower()


def _upper(value: Value) -> Value:
    # [funcs] UPPER: the upper-case form of a string.
    return None if value is None else _text(value).upper()


def _incidr(cidr: Value, address: Value) -> bool | None:
    # [ops]/[quotes] `INCIDR('10.45.225.14', sourceip)`: true when the address is in the range.
    if cidr is None or address is None:
        return None
    try:
        network = ipaddress.ip_network(_text(cidr), strict=False)
        return ipaddress.ip_address(_text(address).strip()) in network
    except ValueError:
        return False


def _utf8(value: Value) -> Value:
    # [data] UTF8(payload): the payload bytes as a UTF-8 string (an event may give it as text).
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return value


VALUE_FUNCTIONS: dict[str, tuple[int, Callable[..., Value]]] = {
    "LOWER": (1, _lower),
    "UPPER": (1, _upper),
    "UTF8": (1, _utf8),
}
# [data] Names QRadar looks up in its own tables by id: LOGSOURCETYPENAME(devicetype) "the name of a
# log source type", CATEGORYNAME(category) "the name of a category", QIDNAME(qid), LOGSOURCENAME
# (logsourceid). The model has no such tables: an event gives the looked-up name under the call's text,
# e.g. {"LOGSOURCETYPENAME(devicetype)": "Linux OS"}; without it the name is null.
LOOKUP_FUNCTIONS = {"LOGSOURCETYPENAME", "CATEGORYNAME", "QIDNAME", "LOGSOURCENAME"}


@dataclass(frozen=True)
class ReferenceSet:
    """[refset] A reference set as created: its Type (ALN, ALNIC, NUM, IP, PORT, DATE, CIDR, the
    element types of the reference data API) and its elements, as added."""

    element_type: str
    elements: tuple[str, ...]

    def stored(self) -> frozenset[str]:
        # [refset] "The Alphanumeric (Ignore Case) type automatically changes any alphanumeric value
        # to lowercase".
        if self.element_type == "ALNIC":
            return frozenset(e.lower() for e in self.elements)
        return frozenset(self.elements)


# The reference sets of the running query ([data], [refset]).
REFERENCE_SETS: ContextVar[Mapping[str, ReferenceSet]] = ContextVar("aql_reference_sets")


def _referencesetcontains(name: Value, value: Value) -> bool | None:
    # [data] REFERENCESETCONTAINS('set name', value): true when the set holds the value.
    reference_set = REFERENCE_SETS.get({}).get(_text(name)) if name is not None else None
    if reference_set is None:
        raise ModelSyntaxError(f"REFERENCESETCONTAINS: no reference set named {name!r}")
    if value is None:
        return None
    return _text(value) in reference_set.stored()


BOOL_FUNCTIONS: dict[str, tuple[int, Callable[..., bool | None]]] = {
    "INCIDR": (2, _incidr),
    "REFERENCESETCONTAINS": (2, _referencesetcontains),
}


# --------------------------------------------------------------------------------------------
# The query
# --------------------------------------------------------------------------------------------


@dataclass
class Column:
    name: str
    value: Expr


@dataclass
class Query:
    columns: list[Column] | None  # None: SELECT * (the event's own fields only)
    table: str
    star: bool = False  # `SELECT *, ...`: every event field, then `columns`
    where: Cond | None = None
    order: tuple[Expr, bool] | None = None  # (key, descending)
    limit: int | None = None
    window: Callable[[dt.datetime], tuple[dt.datetime, dt.datetime]] | None = None
    aliases: dict[str, Expr] = field(default_factory=dict)
    group: list[Expr] | None = None
    having: Cond | None = None


def _count_all(ctx: Ctx) -> Value:
    """COUNT(*): a group's row count; per event (outside GROUP BY) there is no such value."""
    raise ModelSyntaxError("COUNT(*) without GROUP BY is outside the modelled subset")


_UNITS = {"MINUTES": "minutes", "HOURS": "hours", "DAYS": "days"}
# [time] START/STOP formats (the model reads them as UTC).
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d-%H:%M:%S",
    "%Y:%m:%d-%H:%M:%S",
)


def _parse_time(text: str) -> tuple[dt.datetime, bool]:
    """(time, has seconds). A trailing z/Z marks UTC ([time])."""
    body = text[:-1] if text[-1:] in "zZ" else text
    for fmt in _TIME_FORMATS:
        try:
            parsed = dt.datetime.strptime(body, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        return parsed, fmt.endswith("%S")
    raise ModelSyntaxError(f"START/STOP: unsupported time format {text!r}")


@v_args(inline=True)
class _Build(Transformer[Token, Any]):
    """Parse tree -> closures. Checks what the grammar leaves open (functions, regexes)."""

    def string(self, token: Token) -> Expr:
        text = _unquote_string(token)
        return lambda ctx: text

    def number(self, token: Token) -> Expr:
        number: int | float = float(token) if "." in token else int(token)
        return lambda ctx: number

    def column_ref(self, token: Token) -> Expr:
        # [quotes] a double-quoted name is a custom property or an existing alias.
        name = token[1:-1] if token.startswith('"') else str(token)

        def get(ctx: Ctx) -> Value:
            return _lookup(ctx, name)

        get.column_name = name  # type: ignore[attr-defined]
        get.quoted = token.startswith('"')  # type: ignore[attr-defined]
        get.source = str(token)  # type: ignore[attr-defined]
        return get

    def func_call(self, name: Token, *args: Any) -> tuple[str, list[Expr]]:
        return (str(name).upper(), [self._expr(arg) for arg in args if arg is not None])

    def _value_call(self, call: tuple[str, list[Expr]]) -> Expr:
        name, args = call
        if name in LOOKUP_FUNCTIONS:
            sources = [getattr(arg, "source", None) for arg in args]
            if len(args) != 1 or sources[0] is None:
                raise ModelSyntaxError(f"{name}() takes one column")
            key = f"{name}({sources[0]})"
            return lambda ctx: _lookup(ctx, key)
        if name in BOOL_FUNCTIONS:
            raise ModelSyntaxError(f"{name}() is a condition, not a value")
        if name not in VALUE_FUNCTIONS:
            raise ModelSyntaxError(f"unknown or unmodelled function {name}()")
        arity, function = VALUE_FUNCTIONS[name]
        if len(args) != arity:
            raise ModelSyntaxError(f"{name}() takes {arity} argument(s), got {len(args)}")
        return lambda ctx: function(*(a(ctx) for a in args))

    def _expr(self, item: Any) -> Expr:
        if isinstance(item, tuple):
            return self._value_call(item)
        assert callable(item)
        return cast(Expr, item)

    def bool_call(self, call: tuple[str, list[Expr]]) -> Cond:
        name, args = call
        if name not in BOOL_FUNCTIONS:
            if name in VALUE_FUNCTIONS:
                raise ModelSyntaxError(f"{name}() is a value, not a condition")
            raise ModelSyntaxError(f"unknown or unmodelled function {name}()")
        arity, function = BOOL_FUNCTIONS[name]
        if len(args) != arity:
            raise ModelSyntaxError(f"{name}() takes {arity} argument(s), got {len(args)}")
        return lambda ctx: function(*(a(ctx) for a in args))

    def compare(self, left: Any, op: Token, right: Any) -> Cond:
        lhs, rhs = self._expr(left), self._expr(right)
        operator = str(op)
        if getattr(rhs, "quoted", False):
            # [quotes] a string value is single-quoted; `"text"` names a custom property. Comparing two
            # custom properties is valid AQL but not in the subset: here it is a mis-quoted string.
            raise ModelSyntaxError(
                f"double-quoted {getattr(rhs, 'column_name', '')!r} where a single-quoted string "
                "value is expected"
            )
        return lambda ctx: _compare(operator, lhs(ctx), rhs(ctx))

    def match(self, left: Any, op: Token, pattern: Token) -> Cond:
        lhs = self._expr(left)
        operator = str(op).upper()
        text = _unquote_string(pattern)
        insensitive = operator.startswith("I")
        # [like] LIKE/ILIKE wildcards; MATCHES/IMATCHES regex, compiled now so errors are syntax errors.
        regex = like_regex(text, insensitive) if operator.endswith("LIKE") else java_regex(text, insensitive)

        def test(ctx: Ctx) -> bool | None:
            value = lhs(ctx)
            return None if value is None else regex.fullmatch(_text(value)) is not None

        return test

    def in_list(self, left: Any, *items: Expr) -> Cond:
        # [ops] IN: shorthand for several `=` joined by OR.
        lhs = self._expr(left)
        values = [item({}) for item in items]

        def test(ctx: Ctx) -> bool | None:
            value = lhs(ctx)
            result: bool | None = False
            for item in values:
                equal = _compare("=", value, item)
                if equal:
                    return True
                if equal is None:
                    result = None
            return result

        return test

    def is_null(self, left: Any) -> Cond:
        # [ops] IS NULL: true when the field has no value.
        lhs = self._expr(left)
        return lambda ctx: lhs(ctx) is None

    def is_not_null(self, left: Any) -> Cond:
        lhs = self._expr(left)
        return lambda ctx: lhs(ctx) is not None

    def between(self, left: Any, low: Any, high: Any) -> Cond:
        # [ops] `magnitude BETWEEN 1 AND 5`: inclusive range.
        x, lo, hi = self._expr(left), self._expr(low), self._expr(high)
        return lambda ctx: _and(
            [lambda c: _compare(">=", x(c), lo(c)), lambda c: _compare("<=", x(c), hi(c))], ctx
        )

    def not_(self, cond: Cond) -> Cond:
        return lambda ctx: _not(cond(ctx))

    def and_cond(self, *conds: Cond) -> Cond:
        return lambda ctx: _and(conds, ctx)

    def or_cond(self, *conds: Cond) -> Cond:
        return lambda ctx: _or(conds, ctx)

    def case_simple(self, subject: Any, *rest: Any) -> Expr:
        # [cond] `CASE username WHEN 'root' THEN 'Admin root' ... ELSE 'other' END`: first equal WHEN.
        value = self._expr(subject)
        *pairs, default = [self._expr(item) for item in rest]
        whens = list(zip(pairs[::2], pairs[1::2], strict=True))

        def evaluate(ctx: Ctx) -> Value:
            subject_value = value(ctx)
            for when, then in whens:
                if _compare("=", subject_value, when(ctx)) is True:
                    return then(ctx)
            return default(ctx)

        return evaluate

    def case_searched(self, *rest: Any) -> Expr:
        # [cond] the first WHEN that is true gives the value, else the ELSE value.
        *pairs, default_item = rest
        whens = [(pairs[i], self._expr(pairs[i + 1])) for i in range(0, len(pairs), 2)]
        default = self._expr(default_item)

        def evaluate(ctx: Ctx) -> Value:
            for when, then in whens:
                if when(ctx) is True:
                    return then(ctx)
            return default(ctx)

        return evaluate

    def if_expr(self, cond: Cond, then: Any, otherwise: Any) -> Expr:
        # [cond] IF <condition> THEN a ELSE b.
        a, b = self._expr(then), self._expr(otherwise)
        return lambda ctx: a(ctx) if cond(ctx) is True else b(ctx)

    def alias(self, token: Token) -> str:
        return _unquote_string(token) if token.startswith("'") else str(token)

    def column(self, item: Any, alias: str | None = None) -> Column:
        value = self._expr(item)
        if alias is None:
            # An unaliased column is named by its field; an unaliased expression by a placeholder.
            alias = getattr(value, "column_name", None) or "expression"
        return Column(alias, value)

    def select_all(self, *columns: Column) -> tuple[str, list[Column]]:
        return ("*", list(columns))

    def select_columns(self, *columns: Column) -> list[Column]:
        return list(columns)

    def where(self, cond: Cond) -> tuple[str, Cond]:
        return ("where", cond)

    def count_all(self) -> Expr:
        return _count_all

    def group(self, *columns: Any) -> tuple[str, list[Expr]]:
        return ("group", [self._expr(column) for column in columns])

    def having(self, cond: Cond) -> tuple[str, Cond]:
        return ("having", cond)

    def order(self, key: Any, direction: Token | None = None) -> tuple[str, tuple[Expr, bool]]:
        # [struct] ORDER BY <column> ASC|DESC; ascending when omitted, as in SQL.
        return ("order", (self._expr(key), direction is not None and direction.upper() == "DESC"))

    def limit(self, count: Token) -> tuple[str, int]:
        return ("limit", int(count))

    def last(self, amount: Token, unit: Token) -> tuple[str, Any]:
        # [time] LAST n MINUTES|HOURS|DAYS: from n units before now up to now.
        delta = dt.timedelta(**{_UNITS[unit.upper()]: int(amount)})
        return ("window", lambda now: (now - delta, now))

    def start_stop(self, start: Token, stop: Token | None = None) -> tuple[str, Any]:
        # [time] START '...' [STOP '...'] (STOP defaults to now). The guide's examples return
        # 15:51:00 to 16:59:59 for START '15:51' STOP '17:00', and 15:51:00 to 17:00:59 for
        # START '15:51:20' STOP '17:00:20': whole minutes, a STOP with seconds takes its minute.
        begin, _ = _parse_time(_unquote_string(start))
        begin = begin.replace(second=0)
        end_value: tuple[dt.datetime, bool] | None = (
            _parse_time(_unquote_string(stop)) if stop is not None else None
        )

        def window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
            if end_value is None:
                return begin, now
            end, has_seconds = end_value
            end = end.replace(second=0) + (dt.timedelta(minutes=1) if has_seconds else dt.timedelta())
            return begin, end - dt.timedelta(microseconds=1)

        return ("window", window)

    def start(self, select: Any, table: Token, *clauses: tuple[str, Any]) -> Query:
        star = isinstance(select, tuple)
        columns: list[Column] | None = (select[1] or None) if star else select
        query = Query(columns, str(table).lower(), star=star)
        for kind, value in clauses:
            setattr(query, kind, value)
        for column in columns or []:
            query.aliases[column.name] = column.value
        return query


def parse(query: str) -> Query:
    """The query as a `Query`; `ModelSyntaxError` on text outside the modelled AQL."""
    _check_string_values(query)
    try:
        tree = _parser().parse(query)
        result: Query = _Build().transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, ModelSyntaxError):
            raise error.orig_exc from None
        raise
    except LarkError as error:
        raise ModelSyntaxError(str(error).splitlines()[0]) from None
    return result


_STRING_OPERATOR_DQ = re.compile(
    r"""(?ix)(?:\b(?:I?LIKE|I?MATCHES)\s+|\bIN\s*\((?:\s*(?:'(?:[^']|'')*'|-?\d+(?:\.\d+)?)\s*,)*\s*)"""
)


def _check_string_values(query: str) -> None:
    """[quotes] string values are single-quoted; double quotes name columns. A double-quoted text
    after LIKE/MATCHES or in an IN list is a string written with the wrong quotes. (The grammar already
    refuses it there; this gives the clearer message.)"""
    for match in _STRING_OPERATOR_DQ.finditer(_blank_strings(query)):
        if query[match.end() : match.end() + 1] == '"':
            raise ModelSyntaxError(
                f"a double-quoted text at {match.end()} where a single-quoted string value is required"
            )


def _blank_strings(query: str) -> str:
    """The query with single-quoted string contents blanked, so keywords inside strings are ignored."""
    return re.sub(r"'(?:[^']|'')*'", lambda m: "'" + " " * (len(m.group()) - 2) + "'", query)


# --------------------------------------------------------------------------------------------
# Running a query
# --------------------------------------------------------------------------------------------

TIME_FIELD = "starttime"
DEFAULT_WINDOW = dt.timedelta(minutes=5)  # [5min]


def _event_time(value: Value) -> dt.datetime | None:
    # starttime: epoch milliseconds ([funcs] DATEFORMAT "time in milliseconds since ... 1970") or a
    # timezone-aware datetime.
    if isinstance(value, dt.datetime):
        return _aware(value)
    number = _as_number(value)
    if number is None:
        return None
    return dt.datetime.fromtimestamp(number / 1000, tz=dt.UTC)


def _aware(when: dt.datetime) -> dt.datetime:
    # A naive time is read as UTC, so naive and aware times can be compared.
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _with_aliases(event: Mapping[str, Any], query: Query) -> dict[str, Any]:
    row = dict(event)
    for name, value in query.aliases.items():
        if name not in row:
            row[name] = value(event)
    return row


def run(
    query: str,
    events: Sequence[Mapping[str, Any]],
    now: dt.datetime,
    reference_sets: Mapping[str, ReferenceSet] | None = None,
) -> list[Row]:
    token = REFERENCE_SETS.set(dict(reference_sets or {}))
    try:
        return _run(query, events, now)
    finally:
        REFERENCE_SETS.reset(token)


def _run(query: str, events: Sequence[Mapping[str, Any]], now: dt.datetime) -> list[Row]:
    parsed = parse(query)
    now = _aware(now)
    # [time]/[5min] the window of the time clause, else the last five minutes; an event without a
    # time is in no window.
    begin, end = parsed.window(now) if parsed.window else (now - DEFAULT_WINDOW, now)
    matched: list[tuple[int, dict[str, Any]]] = []
    for index, event in enumerate(events):
        when = _event_time(_lookup(event, TIME_FIELD))
        if when is None or not begin <= when <= end:
            continue
        ctx = _with_aliases(event, parsed) if parsed.group is None else dict(event)
        if parsed.where is not None and parsed.where(ctx) is not True:
            continue
        matched.append((index, ctx))
    if parsed.group is not None:
        return _grouped(parsed, matched)
    if parsed.order is not None:
        key, descending = parsed.order
        present = [m for m in matched if key(m[1]) is not None]
        absent = [m for m in matched if key(m[1]) is None]
        present.sort(key=lambda m: _sort_key(key(m[1])), reverse=descending)
        matched = present + absent
    if parsed.limit is not None:
        matched = matched[: parsed.limit]
    rows = []
    for index, ctx in matched:
        fields = dict(events[index]) if parsed.star else {}
        fields.update({column.name: column.value(ctx) for column in parsed.columns or []})
        rows.append(Row(index, fields))
    return rows


def _grouped(parsed: Query, matched: list[tuple[int, dict[str, Any]]]) -> list[Row]:
    """[agg] one row per combination of the GROUP BY columns, in order of first appearance: COUNT(*)
    is the group's size, another column its first row's value; HAVING reads the row's aliases."""
    assert parsed.group is not None
    groups: dict[tuple[Any, ...], list[tuple[int, dict[str, Any]]]] = {}
    for index, ctx in matched:
        groups.setdefault(tuple(key(ctx) for key in parsed.group), []).append((index, ctx))
    rows = []
    for members in groups.values():
        first_index, first = members[0]
        fields = {
            column.name: len(members) if column.value is _count_all else column.value(first)
            for column in parsed.columns or []
        }
        if parsed.having is not None and parsed.having({**first, **fields}) is not True:
            continue
        rows.append(Row(first_index, fields))
    return rows


def _sort_key(value: Value) -> Any:
    if isinstance(value, dt.datetime):
        return (0, value.timestamp(), "")
    number = _as_number(value)
    if number is not None:
        return (0, number, "")
    return (1, 0.0, _text(value))
