"""Executable model of Google SecOps YARA-L 2.0 single-event rules (the subset siemc emits).

Written from Google's YARA-L 2.0 documentation (cloud.google.com/chronicle/docs, pages cited per
branch below); it reads query text only. Events are flat UDM dicts keyed by the path without the
event variable (`"target.process.file.full_path"`); a list value is a repeated field.

Modelled: `rule name { meta: ... events: ... outcome: ... condition: $e }` with comments; in
`events`, predicates on separate lines implicitly ANDed, `and`/`or`/`not` with parentheses,
comparisons `= != < > <= >=` between event fields and string/number literals, `nocase`, regex
literals `/.../` and `re.regex()`, `net.ip_in_range_cidr()`, `strings.to_lower/to_upper()`,
`any`/`all` over repeated fields; in `outcome`, `$var = expr` with nested `if(cond, a, b)`.
Multi-event rules (`_run_multi_event`): placeholders, joins of two event variables, a sliding window
`match: $p over <d> after $pivot`, and a condition of `$e` / `#e` / `#placeholder` terms joined with
`and`. Not modelled (rejected): hop and tumbling windows, `options`, unbounded condition terms, and
outcome sections (aggregation) of multi-event rules.

Reference lists ("Reference list syntax", "Reference Lists"): `$e.f in %list [nocase]` tests a STRING
list, whose lines are matched whole and with case ("All values in the reference list are treated as
case sensitive strings, and Google Security Operations will check if a field exactly matches any
line"); `in regex %list` a REGEX list, whose lines are RE2 regexes that "match substrings"; `in cidr
%list` a CIDR list of IPv4 and IPv6 ranges. `nocase` is compatible with STRING and REGEX lists. A
line's `//` starts a comment; a STRING line's `\\x` is `x`, a REGEX line's `\\/` is `/`. At most 7
`in` tests in a rule, 4 with `regex` and 2 with `cidr`. The lists are given to `run`
(`reference_lists`: ID -> `ReferenceList`, the list's type and text as uploaded). Modelling choices:
white space around a line's value is dropped; a REGEX line sees only the first line of a value
unless it sets `(?s)`, as re.regex does.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, VisitError

from tests.models.common import COMPARISONS, And, ModelSyntaxError, Not, Or, Row
from tests.models.re2 import compile_re2, translate_re2

GRAMMAR = Path(__file__).with_name("yaral.lark")

# Enumerated UDM fields: `nocase` is a compilation error on them, and a literal compared with them
# must be one of the enum's values (YARA-L 2.0 syntax page, "nocase"; the Overview's type-check
# example `$e.metadata.event_type = "LOGIN"` is rejected as "not a valid event_type enum value").
EVENT_TYPES = frozenset(
    {
        "EVENTTYPE_UNSPECIFIED",
        "PROCESS_UNCATEGORIZED",
        "PROCESS_LAUNCH",
        "PROCESS_INJECTION",
        "PROCESS_PRIVILEGE_ESCALATION",
        "PROCESS_TERMINATION",
        "PROCESS_OPEN",
        "PROCESS_MODULE_LOAD",
        "REGISTRY_UNCATEGORIZED",
        "REGISTRY_CREATION",
        "REGISTRY_MODIFICATION",
        "REGISTRY_DELETION",
        "SETTING_UNCATEGORIZED",
        "SETTING_CREATION",
        "SETTING_MODIFICATION",
        "SETTING_DELETION",
        "MUTEX_CREATION",
        "FILE_UNCATEGORIZED",
        "FILE_CREATION",
        "FILE_DELETION",
        "FILE_MODIFICATION",
        "FILE_READ",
        "FILE_COPY",
        "FILE_OPEN",
        "FILE_MOVE",
        "FILE_SYNC",
        "USER_UNCATEGORIZED",
        "USER_LOGIN",
        "USER_LOGOUT",
        "USER_CREATION",
        "USER_CHANGE_PASSWORD",
        "USER_CHANGE_PERMISSIONS",
        "USER_STATS",
        "USER_BADGE_IN",
        "USER_DELETION",
        "USER_RESOURCE_CREATION",
        "USER_RESOURCE_UPDATE_CONTENT",
        "USER_RESOURCE_UPDATE_PERMISSIONS",
        "USER_COMMUNICATION",
        "USER_RESOURCE_ACCESS",
        "USER_RESOURCE_DELETION",
        "GROUP_UNCATEGORIZED",
        "GROUP_CREATION",
        "GROUP_DELETION",
        "GROUP_MODIFICATION",
        "EMAIL_UNCATEGORIZED",
        "EMAIL_TRANSACTION",
        "EMAIL_URL_CLICK",
        "NETWORK_UNCATEGORIZED",
        "NETWORK_FLOW",
        "NETWORK_CONNECTION",
        "NETWORK_FTP",
        "NETWORK_DHCP",
        "NETWORK_DNS",
        "NETWORK_HTTP",
        "NETWORK_SMTP",
        "STATUS_UNCATEGORIZED",
        "STATUS_HEARTBEAT",
        "STATUS_STARTUP",
        "STATUS_SHUTDOWN",
        "STATUS_UPDATE",
        "SCAN_UNCATEGORIZED",
        "SCAN_FILE",
        "SCAN_PROCESS_BEHAVIORS",
        "SCAN_PROCESS",
        "SCAN_HOST",
        "SCAN_VULN_HOST",
        "SCAN_VULN_NETWORK",
        "SCAN_NETWORK",
        "SCHEDULED_TASK_UNCATEGORIZED",
        "SCHEDULED_TASK_CREATION",
        "SCHEDULED_TASK_DELETION",
        "SCHEDULED_TASK_ENABLE",
        "SCHEDULED_TASK_DISABLE",
        "SCHEDULED_TASK_MODIFICATION",
        "SYSTEM_AUDIT_LOG_UNCATEGORIZED",
        "SYSTEM_AUDIT_LOG_WIPE",
        "SERVICE_UNSPECIFIED",
        "SERVICE_CREATION",
        "SERVICE_DELETION",
        "SERVICE_START",
        "SERVICE_STOP",
        "SERVICE_MODIFICATION",
        "GENERIC_EVENT",
        "RESOURCE_CREATION",
        "RESOURCE_DELETION",
        "RESOURCE_PERMISSIONS_CHANGE",
        "RESOURCE_READ",
        "RESOURCE_WRITTEN",
        "DEVICE_FIRMWARE_UPDATE",
        "DEVICE_CONFIG_UPDATE",
        "DEVICE_PROGRAM_UPLOAD",
        "DEVICE_PROGRAM_DOWNLOAD",
        "ANALYST_UPDATE_VERDICT",
        "ANALYST_UPDATE_REPUTATION",
        "ANALYST_UPDATE_SEVERITY_SCORE",
        "ANALYST_UPDATE_STATUS",
        "ANALYST_ADD_COMMENT",
    }
)
PLATFORMS = frozenset(
    {"UNKNOWN_PLATFORM", "WINDOWS", "MAC", "LINUX", "GCP", "AWS", "AZURE", "IOS", "ANDROID", "CHROME_OS"}
)
ENUM_FIELDS: dict[str, frozenset[str]] = {
    "metadata.event_type": EVENT_TYPES,
    "principal.platform": PLATFORMS,
    "target.platform": PLATFORMS,
}

# UDM field types, for the type check the rule editor runs (Overview of YARA-L 2.0: `$e.target.port
# = "80"` is an error, "$e.target.port is of type integer which cannot be compared to a string").
# Types from the UDM field list: Process.pid and Metadata.product_event_type are strings, ports and
# HTTP response codes integers. Fields not listed here (and map entries) are not type-checked.
STRING_FIELD_SUFFIXES = (
    ".pid",
    ".hostname",
    ".command_line",
    ".full_path",
    ".names",
    ".userid",
    ".sha256",
    ".sha1",
    ".md5",
    "metadata.product_event_type",
    "metadata.description",
    "metadata.product_name",
    "metadata.vendor_name",
    ".registry_key",
    ".registry_value_name",
    ".registry_value_data",
)
INT_FIELD_SUFFIXES = (
    ".port",
    "network.http.response_code",
    "metadata.event_timestamp.seconds",
    # UDM DNS Question.type and ResourceRecord.type: "uint32", the numeric record type code.
    "network.dns.questions.type",
    "network.dns.answers.type",
)

# Repeated UDM fields, from the UDM field list: Noun.ip and Noun.mac ("repeated string"), File.names,
# and the fields of repeated messages (DNS.questions, DNS.answers, Event.security_result). Repeated
# fields page, "Limitations": "The any and all operators are only compatible with repeated fields
# (not scalar fields)", so a quantifier on any other field is rejected.
REPEATED_FIELD = re.compile(
    r"(?:principal|target|src|observer|intermediary)\.(?:ip|mac)"
    r"|(?:principal|target|src)\.(?:process\.)?file\.names"
    r"|network\.dns\.(?:questions|answers)\..+|security_result\..+"
)


def field_type(path: str) -> str | None:
    if path.endswith(STRING_FIELD_SUFFIXES):
        return "string"
    if path.endswith(INT_FIELD_SUFFIXES):
        return "integer"
    return None


# Boolean functions usable as a predicate on their own (Expressions page, "Function expressions").
BOOL_FUNCTIONS = frozenset({"re.regex", "net.ip_in_range_cidr"})
VALUE_FUNCTIONS = frozenset({"strings.to_lower", "strings.to_upper"})


# ---------------------------------------------------------------------------------------------
# AST


@dataclass(frozen=True)
class FieldRef:
    variable: str
    path: str
    quantifier: str | None = None  # "any" / "all" (Repeated fields page, "Modified expressions")


@dataclass(frozen=True)
class Literal:
    value: str | int | float


@dataclass(frozen=True)
class VarRef:
    name: str


@dataclass(frozen=True)
class Regex:
    source: str
    pattern: re.Pattern[str]
    dotall: bool


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]
    nocase: bool = False


@dataclass(frozen=True)
class Compare:
    left: Any
    op: str
    right: Any  # operand or Regex
    nocase: bool = False


@dataclass(frozen=True)
class InList:
    operand: Any
    kind: str  # "string", "regex" or "cidr"
    name: str
    nocase: bool = False


@dataclass(frozen=True)
class ReferenceList:
    """A reference list as created: its type (STRING, REGEX or CIDR) and its content, one line each."""

    list_type: str
    content: str

    def lines(self) -> list[str]:
        values = []
        for line in self.content.splitlines():
            out, i = [], 0
            while i < len(line):
                pair = line[i : i + 2]
                if pair == "//":
                    break  # a comment to the end of the line
                if line[i] == "\\" and i + 1 < len(line):
                    if self.list_type == "STRING":
                        out.append(line[i + 1])  # "anything after a back slash will be escaped to itself"
                    else:
                        out.append("/" if pair == "\\/" else pair)  # REGEX: only `\/` is the list's
                    i += 2
                    continue
                out.append(line[i])
                i += 1
            value = "".join(out).strip()
            if value:
                values.append(value)
        return values


# The reference lists of the running rule: ID -> list.
REFERENCE_LISTS: ContextVar[Mapping[str, ReferenceList]] = ContextVar("yaral_reference_lists")


@dataclass(frozen=True)
class If:
    condition: Any
    then: Any
    otherwise: Any


@dataclass(frozen=True)
class Match:
    """A multi-event rule's match section: placeholders, window length, and the sliding window's pivot."""

    variables: tuple[str, ...]
    seconds: int
    pivot: str | None


@dataclass(frozen=True)
class CountTest:
    """A condition term `#name <op> n`: the number of distinct events of an event variable, or of
    distinct values of a placeholder, compared with an integer."""

    name: str  # the variable, with its `$`
    op: str
    value: int

    def bounds(self) -> bool:
        """Whether the term makes its event variable exist (Condition section syntax, "Bounded and
        unbounded conditions": `#var > n` where n >= 0, `#var >= m` where m > 0)."""
        return (self.op == ">" and self.value >= 0) or (self.op == ">=" and self.value > 0)

    def holds(self, count: int) -> bool:
        return bool(COMPARISONS[self.op](count, self.value))


@dataclass(frozen=True)
class OutcomeTest:
    """A condition term `$outcome <op> n`: an outcome variable's value compared with a number."""

    name: str
    op: str
    value: int | float


@dataclass(frozen=True)
class Aggregate:
    """An outcome aggregation over one event variable's field in the detection's events."""

    function: str  # sum, count, min, max
    ref: FieldRef


@dataclass(frozen=True)
class MultiEventRule:
    """A multi-event rule: per event variable its filters, the placeholders it binds, and the
    predicates joining two event variables; the condition's terms."""

    name: str
    filters: Mapping[str, Any]  # event variable -> its predicates (an And)
    bindings: Mapping[str, tuple[tuple[str, FieldRef], ...]]  # event variable -> (placeholder, field)
    joins: tuple[Compare, ...]
    match: Match
    condition: tuple[str | CountTest | OutcomeTest, ...] = ()
    outcome: Mapping[str, Aggregate] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    name: str
    meta: dict[str, Any]
    events: Any  # the implicit AND of the section's predicates
    outcome: dict[str, Any]
    condition: str
    event_variable: str
    quantified: frozenset[str] = field(default_factory=frozenset)


# ---------------------------------------------------------------------------------------------
# Literals


_STRING_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


def decode_string(token: str) -> str:
    """A double-quoted literal: backslash escapes `\\\\` and `\\"` (and `\\n \\t \\r`).

    Double-quoted strings take backslash escapes (Google's rules write `"HKLM\\\\SOFTWARE..."` for
    one backslash); an escape the model does not know is rejected rather than guessed at.
    """
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            nxt = body[i + 1]
            if nxt not in _STRING_ESCAPES:
                raise ModelSyntaxError(f"unknown escape sequence \\{nxt} in string {token}")
            out.append(_STRING_ESCAPES[nxt])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def decode_regex_literal(token: str) -> str:
    """The RE2 text of `/.../`: `\\/` stands for `/`, every other escape is the regex's own."""
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\":
            pair = body[i : i + 2]
            out.append("/" if pair == "\\/" else pair)
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# RE2 -> Python `re`
#
# re.regex and `= /re/` use RE2 (re.regex page: "uses the RE2 regular expression engine ... omits
# certain advanced features, such as lookahead and lookbehind"); tests/models/re2.py translates it.


@cache
def compile_regex(source: str, nocase: bool) -> Regex:
    # `nocase` makes the whole regex case-insensitive; a `(?s)` anywhere lets it see past the
    # first line (`regex_matches`).
    dotall = "s" in translate_re2(source).flags_set
    return Regex(source, compile_re2(source, ignore_case=nocase), dotall)


# ---------------------------------------------------------------------------------------------
# Parse tree -> AST


@v_args(inline=True)
class _Builder(Transformer[Token, Any]):
    def start(self, rule: dict[str, Any]) -> dict[str, Any]:
        return rule

    def rule(self, name: Token, meta: dict[str, Any], events: Any, *rest: Any) -> dict[str, Any]:
        match = next((part for part in rest if isinstance(part, Match)), None)
        outcome: dict[str, Any] = next((part for part in rest if isinstance(part, dict)), {})
        condition: tuple[str, ...] = rest[-1]
        return {
            "name": str(name),
            "meta": meta,
            "events": events,
            "outcome": outcome,
            "condition": condition[0] if len(condition) == 1 and match is None else condition,
            "match": match,
        }

    def match_section(self, *parts: Token) -> Match:
        words = [str(part) for part in parts]
        duration_at = next(i for i, word in enumerate(words) if not word.startswith("$"))
        amount, unit = int(words[duration_at][:-1]), words[duration_at][-1]
        seconds = amount * {"m": 60, "h": 3600, "d": 86400}[unit]
        if not 60 <= seconds <= 48 * 3600:
            raise ModelSyntaxError(f"match: a window of {words[duration_at]} is outside 1m..48h")
        pivot = words[duration_at + 1] if len(words) > duration_at + 1 else None
        return Match(tuple(words[:duration_at]), seconds, pivot)

    def meta_section(self, *entries: tuple[str, Any]) -> dict[str, Any]:
        # A key may repeat (one `mitre_attack_technique` line per technique): keep every value.
        meta: dict[str, Any] = {}
        for key, value in entries:
            if key in meta:
                previous = meta[key] if isinstance(meta[key], list) else [meta[key]]
                meta[key] = [*previous, value]
            else:
                meta[key] = value
        return meta

    def meta_entry(self, key: Token, value: Any) -> tuple[str, Any]:
        return str(key), value.value if isinstance(value, Literal) else value

    def true(self, _: Token) -> bool:
        return True

    def false(self, _: Token) -> bool:
        return False

    def events_section(self, *predicates: Any) -> Any:
        return predicates[0] if len(predicates) == 1 else And(predicates)

    def or_expr(self, *items: Any) -> Or:
        return Or(items)

    def and_expr(self, *items: Any) -> And:
        return And(items)

    def not_(self, item: Any) -> Not:
        return Not(item)

    def comparison(self, left: Any, op: Token, right: Any, nocase: Token | None = None) -> Compare:
        return Compare(left, str(op), right, nocase is not None)

    def regex_comparison(self, left: Any, op: Token, regex: Token, nocase: Token | None = None) -> Compare:
        if str(op) not in ("=", "!="):
            raise ModelSyntaxError(f"a regex compares with = or != only, not {op}")
        return Compare(
            left,
            str(op),
            compile_regex(decode_regex_literal(str(regex)), nocase is not None),
            nocase is not None,
        )

    def regex(self, token: Token) -> Token:
        return token

    def call(self, name: Token, *args: Any) -> Call:
        return Call(str(name), tuple(a for a in args if a is not None))

    def call_predicate(self, call: Call, nocase: Token | None = None) -> Call:
        return Call(call.name, call.args, nocase is not None)

    def in_list(self, operand: Any, *rest: Token | None) -> InList:
        tokens = [t for t in rest if t is not None]
        kind = next((str(t) for t in tokens if t.type == "LIST_KIND"), "string")
        name = next(str(t)[1:] for t in tokens if t.type == "REFERENCE")
        nocase = any(t.type == "NOCASE" for t in tokens)
        if nocase and kind == "cidr":
            raise ModelSyntaxError("nocase is compatible with STRING and REGEX lists only")
        return InList(operand, kind, name, nocase)

    def quantified(self, quantifier: Token, ref: FieldRef) -> FieldRef:
        return FieldRef(ref.variable, ref.path, str(quantifier))

    def field(self, token: Token, key: Token | None = None) -> FieldRef:
        variable, _, path = str(token).partition(".")
        if key is not None:
            # Flat events name a map entry the way the rule writes it: `additional.fields["k"]`.
            path += f'["{decode_string(str(key))}"]'
        return FieldRef(variable, path)

    def variable(self, token: Token) -> VarRef:
        return VarRef(str(token))

    def dq_string(self, token: Token) -> Literal:
        return Literal(decode_string(str(token)))

    def raw_string(self, token: Token) -> Literal:
        return Literal(str(token)[1:-1])

    def NUMBER(self, token: Token) -> Literal:
        text = str(token)
        return Literal(float(text) if "." in text else int(text))

    def outcome_section(self, *assignments: tuple[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, expr in assignments:
            if name in result:
                raise ModelSyntaxError(f"outcome variable {name} assigned twice")
            result[name] = expr
        return result

    def outcome_assign(self, name: Token, expr: Any) -> tuple[str, Any]:
        return str(name), expr

    def if_expr(self, condition: Any, then: Any, otherwise: Any) -> If:
        return If(condition, then, otherwise)

    def condition_section(
        self, *terms: Token | CountTest | OutcomeTest
    ) -> tuple[str | CountTest | OutcomeTest, ...]:
        return tuple(term if isinstance(term, CountTest | OutcomeTest) else str(term) for term in terms)

    def outcome_test(self, name: Token, op: Token, number: Literal) -> OutcomeTest:
        assert isinstance(number.value, int | float)
        return OutcomeTest(str(name), str(op), number.value)

    def aggregate(self, function: Token, ref: FieldRef) -> Aggregate:
        return Aggregate(str(function), ref)

    def count_test(self, count: Token, op: Token, number: Literal) -> CountTest:
        if not isinstance(number.value, int):
            raise ModelSyntaxError(f"{count} is compared with an integer, not {number.value}")
        return CountTest("$" + str(count)[1:], "=" if str(op) == "=" else str(op), number.value)


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR.read_text(), parser="lalr", lexer="contextual", maybe_placeholders=True)


# ---------------------------------------------------------------------------------------------
# Static checks (what the rule editor rejects at compile time, within the subset)


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, And | Or):
        for item in node.items:
            yield from _walk(item)
    elif isinstance(node, Not):
        yield from _walk(node.item)
    elif isinstance(node, Compare):
        yield from _walk(node.left)
        yield from _walk(node.right)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from _walk(arg)
    elif isinstance(node, InList):
        yield from _walk(node.operand)
    elif isinstance(node, If):
        yield from _walk(node.condition)
        yield from _walk(node.then)
        yield from _walk(node.otherwise)


def _is_stringish(node: Any) -> bool:
    return isinstance(node, FieldRef | Call) or (isinstance(node, Literal) and isinstance(node.value, str))


def _check_predicates(root: Any, where: str) -> None:
    for node in _walk(root):
        if isinstance(node, Compare):
            _check_compare(node, where)
        elif isinstance(node, Call):
            _check_call(node)
        elif isinstance(node, FieldRef):
            _check_quantifier(node, where)


def _check_compare(node: Compare, where: str) -> None:
    left, right = node.left, node.right
    if isinstance(left, Literal) and isinstance(right, Literal):
        # Expressions page: "A compilation error occurs if both sides are literals."
        raise ModelSyntaxError(f"{where}: both sides of {node.op} are literals")
    if isinstance(right, Regex):
        if not isinstance(left, FieldRef | Call):
            raise ModelSyntaxError(f"{where}: a regex must be compared with a field")
    elif node.nocase and (node.op not in ("=", "!=") or not (_is_stringish(left) and _is_stringish(right))):
        # syntax page, "nocase": a modifier of string and regex comparisons only.
        raise ModelSyntaxError(f"{where}: nocase on a non-string comparison")
    for side, other in ((left, right), (right, left)):
        if isinstance(side, FieldRef) and isinstance(other, Literal) and "[" not in side.path:
            kind = field_type(side.path)
            literal = "a string" if isinstance(other.value, str) else "an integer"
            if kind is not None and not literal.endswith(kind):
                raise ModelSyntaxError(
                    f"{where}: {side.path} is of type {kind} which cannot be compared to {literal}"
                )
        if isinstance(side, FieldRef) and side.path in ENUM_FIELDS:
            if node.nocase:
                raise ModelSyntaxError(f"{where}: nocase cannot be used on the enumerated field {side.path}")
            if isinstance(other, Literal) and other.value not in ENUM_FIELDS[side.path]:
                raise ModelSyntaxError(f"{where}: {other.value!r} is not a valid {side.path} value")
        if isinstance(side, FieldRef) and side.quantifier and isinstance(other, FieldRef):
            # Repeated fields page: any/all cannot join two fields.
            raise ModelSyntaxError(f"{where}: any/all cannot join two fields")


def _check_quantifier(ref: FieldRef, where: str) -> None:
    if ref.quantifier and not REPEATED_FIELD.fullmatch(ref.path):
        raise ModelSyntaxError(f"{where}: {ref.quantifier} on {ref.path}, which is not a repeated field")


def _check_call(node: Call) -> None:
    if node.name not in BOOL_FUNCTIONS | VALUE_FUNCTIONS:
        raise ModelSyntaxError(f"function {node.name} is not modelled")
    arity = 1 if node.name in VALUE_FUNCTIONS else 2
    if len(node.args) != arity:
        raise ModelSyntaxError(f"{node.name} takes {arity} arguments")
    if node.nocase and node.name != "re.regex":
        raise ModelSyntaxError(f"nocase after {node.name}()")
    if node.name == "re.regex":
        pattern = node.args[1]
        if not isinstance(pattern, Literal) or not isinstance(pattern.value, str):
            raise ModelSyntaxError("re.regex takes a constant string pattern")
        compile_regex(pattern.value, node.nocase)
    if node.name == "net.ip_in_range_cidr":
        cidr = node.args[1]
        if not isinstance(cidr, Literal) or not isinstance(cidr.value, str):
            raise ModelSyntaxError("net.ip_in_range_cidr takes a constant CIDR string")
        try:
            ipaddress.ip_network(cidr.value, strict=False)
        except ValueError as error:
            raise ModelSyntaxError(f"invalid CIDR {cidr.value!r}") from error


def _top_level_bool_call(root: Any) -> None:
    """A value function (strings.to_lower) is no predicate on its own."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, And | Or):
            stack.extend(node.items)
        elif isinstance(node, Not):
            stack.append(node.item)
        elif isinstance(node, Call) and node.name not in BOOL_FUNCTIONS:
            raise ModelSyntaxError(f"{node.name}() is not a boolean predicate")


_LIST_TYPES = {"string": "STRING", "regex": "REGEX", "cidr": "CIDR"}


def _check_reference_lists(rule: Rule) -> None:
    """Each `in` names a list of its type; at most 7 `in`, 4 `in regex`, 2 `in cidr` in a rule."""
    tests = [
        n for root in (rule.events, *rule.outcome.values()) for n in _walk(root) if isinstance(n, InList)
    ]
    for kind, limit in (("", 7), ("regex", 4), ("cidr", 2)):
        count = sum(1 for t in tests if not kind or t.kind == kind)
        if count > limit:
            operator = f"in {kind}" if kind else "in"
            raise ModelSyntaxError(f"a rule may hold at most {limit} `{operator}` tests, not {count}")
    lists = REFERENCE_LISTS.get({})
    for test in tests:
        found = lists.get(test.name)
        if found is None:
            raise ModelSyntaxError(f"no reference list %{test.name}")
        if found.list_type != _LIST_TYPES[test.kind]:
            raise ModelSyntaxError(f"%{test.name} is a {found.list_type} list, not {_LIST_TYPES[test.kind]}")


def _raw_rule(query: str) -> dict[str, Any]:
    try:
        return _builder_transform(_parser().parse(query))
    except VisitError as error:
        if isinstance(error.orig_exc, ModelSyntaxError):
            raise error.orig_exc from error
        raise
    except LarkError as error:
        raise ModelSyntaxError(f"YARA-L syntax error: {error}") from error


def parse_multi_event(query: str) -> MultiEventRule:
    """A multi-event rule: events section predicates sorted into per-variable filters, placeholder
    bindings (`$e.field = $placeholder`) and joins of two event variables; the match section's
    placeholders must be bound, its pivot and the condition must name the event variables."""
    raw = _raw_rule(query)
    match = raw["match"]
    if match is None:
        raise ModelSyntaxError("a multi-event rule needs a match section")
    if match.pivot is None:
        raise ModelSyntaxError("hop windows (`over` without a pivot) are not modelled")
    outcome: dict[str, Aggregate] = {}
    for name, expr in raw["outcome"].items():
        # A multi-event rule's outcome aggregates over the detection's events: modelled for an
        # aggregation of one field.
        if not isinstance(expr, Aggregate):
            raise ModelSyntaxError(f"outcome {name}: modelled only as an aggregation of one field")
        outcome[name] = expr
    events = raw["events"]
    predicates = events.items if isinstance(events, And) else (events,)
    filters: dict[str, list[Any]] = {}
    bindings: dict[str, list[tuple[str, FieldRef]]] = {}
    joins: list[Compare] = []
    for predicate in predicates:
        _check_predicates(predicate, "events")
        nodes = list(_walk(predicate))
        variables = {n.variable for n in nodes if isinstance(n, FieldRef)}
        placeholders = [n for n in nodes if isinstance(n, VarRef)]
        if placeholders:
            # Variable declarations: `$e.field = $var` and `$var = $e.field` are equivalent ("YARA-L 2.0
            # language syntax", "Variable declarations").
            if isinstance(predicate, Compare) and isinstance(predicate.left, VarRef):
                predicate = Compare(predicate.right, predicate.op, predicate.left, predicate.nocase)
            if not (
                isinstance(predicate, Compare)
                and predicate.op == "="
                and isinstance(predicate.left, FieldRef)
                and isinstance(predicate.right, VarRef)
            ):
                raise ModelSyntaxError("a placeholder is modelled only as `$e.field = $placeholder`")
            bindings.setdefault(predicate.left.variable, []).append((predicate.right.name, predicate.left))
        elif len(variables) == 2 and isinstance(predicate, Compare):
            joins.append(predicate)
        elif len(variables) == 1:
            filters.setdefault(variables.pop(), []).append(predicate)
        else:
            raise ModelSyntaxError(f"events: a predicate over {sorted(variables)} is not modelled")
    event_vars = set(filters) | set(bindings)
    bound = {name for pairs in bindings.values() for name, _ in pairs}
    if set(match.variables) - bound:
        raise ModelSyntaxError(f"match: unbound placeholder(s) {sorted(set(match.variables) - bound)}")
    if match.pivot not in event_vars:
        raise ModelSyntaxError(f"match: the pivot {match.pivot} is no event variable")
    pivot_binds = {name for name, _ in bindings.get(match.pivot, ())}
    if set(match.variables) - pivot_binds:
        # A window is anchored on a pivot event and groups by its values: modelled when it binds them.
        raise ModelSyntaxError("match: a pivot that does not bind every match placeholder is not modelled")
    condition: tuple[str | CountTest | OutcomeTest, ...] = raw["condition"]
    for term in condition:
        if isinstance(term, OutcomeTest) and term.name not in outcome:
            raise ModelSyntaxError(f"condition: {term.name} is no outcome variable")
    for name, aggregate in outcome.items():
        if aggregate.ref.variable not in set(filters) | set(bindings):
            raise ModelSyntaxError(f"outcome {name}: undefined event variable {aggregate.ref.variable}")
    named = {
        term if isinstance(term, str) else term.name
        for term in condition
        if not isinstance(term, OutcomeTest)
    }
    if named & event_vars != event_vars:
        raise ModelSyntaxError(f"condition: expected {sorted(event_vars)}, got {sorted(named)}")
    if named - event_vars - bound:
        raise ModelSyntaxError(f"condition: undefined variable(s) {sorted(named - event_vars - bound)}")
    if any(isinstance(term, str) and term not in event_vars for term in condition):
        raise ModelSyntaxError("condition: a placeholder is tested by its count `#` only")
    for var in sorted(event_vars):
        # Condition section syntax: an unbounded condition lets the event variable be absent (a
        # non-existence query), which the model does not run.
        if not any(
            term == var or (isinstance(term, CountTest) and term.name == var and term.bounds())
            for term in condition
        ):
            raise ModelSyntaxError(f"condition: {var} is unbounded (absence is not modelled)")
    return MultiEventRule(
        raw["name"],
        {var: And(tuple(items)) for var, items in filters.items()},
        {var: tuple(pairs) for var, pairs in bindings.items()},
        tuple(joins),
        match,
        condition,
        outcome,
    )


def parse(query: str) -> Rule:
    raw = _raw_rule(query)
    if raw["match"] is not None:
        raise ModelSyntaxError("a match section: a multi-event rule (parse_multi_event)")
    events = raw["events"]
    _check_predicates(events, "events")
    _top_level_bool_call(events)
    refs = [n for n in _walk(events) if isinstance(n, FieldRef)]
    if any(isinstance(n, VarRef) for n in _walk(events)):
        # Placeholders (`$host = $e.principal.hostname`) and joins are outside the modelled subset.
        raise ModelSyntaxError("placeholder variables in events are not modelled")
    event_vars = {r.variable for r in refs}
    if len(event_vars) != 1:
        # Several event variables need joins and a match section: a multi-event rule.
        raise ModelSyntaxError(f"expected one event variable in events, found {sorted(event_vars)}")
    (event_var,) = event_vars

    defined: set[str] = set()
    for name, expr in raw["outcome"].items():
        if name == event_var:
            raise ModelSyntaxError(f"outcome variable {name} is the event variable")
        _check_predicates(expr, f"outcome {name}")
        for node in _walk(expr):
            if isinstance(node, FieldRef) and node.variable != event_var:
                raise ModelSyntaxError(f"outcome {name}: undefined event variable {node.variable}")
            if isinstance(node, VarRef) and node.name not in defined:
                raise ModelSyntaxError(f"outcome {name}: undefined variable {node.name}")
        defined.add(name)

    # Condition section: it may only name variables defined in events (Condition section syntax).
    if raw["condition"] != event_var:
        raise ModelSyntaxError(f"condition: undefined variable {raw['condition']}")

    quantified = frozenset(r.path for r in refs if r.quantifier)
    return Rule(raw["name"], raw["meta"], events, raw["outcome"], raw["condition"], event_var, quantified)


def _builder_transform(tree: Any) -> dict[str, Any]:
    result: dict[str, Any] = _Builder().transform(tree)
    return result


# ---------------------------------------------------------------------------------------------
# Evaluation


class _Zero:
    """An unset UDM field: it reads as the type's zero value, "" for strings and 0 for numbers
    (YARA-L best practices, "Filter zero values": "When fields are omitted, they default to zero
    values ... an omitted string value defaults to \"\"")."""


ZERO = _Zero()


def _as_number(value: Any) -> int | float | None:
    if value is ZERO or value == "":
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return None
    return None


def _as_text(value: Any) -> str:
    if value is ZERO or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _compare_values(op: str, left: Any, right: Any, nocase: bool) -> bool:
    a: Any
    b: Any
    numeric = isinstance(left, int | float) and not isinstance(left, bool)
    numeric = numeric or (isinstance(right, int | float) and not isinstance(right, bool))
    if numeric:
        a, b = _as_number(left), _as_number(right)
        if a is None or b is None:
            return False
    else:
        a, b = _as_text(left), _as_text(right)
        if nocase:
            a, b = a.lower(), b.lower()
    return COMPARISONS[op](a, b)


def regex_matches(regex: Regex, value: Any) -> bool:
    """re.regex page: true when a substring matches (unanchored search); on a value with newlines
    the regex sees only the first line unless it sets `(?s)`."""
    text = _as_text(value)
    if not regex.dotall:
        text = text.split("\n", 1)[0]
    return regex.pattern.search(text) is not None


class _Instance:
    """One (unnested) copy of an event: repeated fields not under any/all hold one element each
    (Repeated fields page, "Unmodified expressions": a field with n elements gives n copies)."""

    def __init__(self, event: Mapping[str, Any], chosen: Mapping[str, Any], event_var: str) -> None:
        self.event, self.chosen, self.event_var = event, chosen, event_var

    def read(self, ref: FieldRef) -> Any:
        if ref.path in self.chosen:
            return self.chosen[ref.path]
        value = self.event.get(ref.path)
        if value is None:
            return ZERO
        return value


def _eval_value(node: Any, inst: _Instance, outcome: Mapping[str, Any]) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, FieldRef):
        return inst.read(node)
    if isinstance(node, VarRef):
        return outcome[node.name]
    if isinstance(node, If):
        chosen = node.then if _eval_bool(node.condition, inst, outcome) else node.otherwise
        return _eval_value(chosen, inst, outcome)
    if isinstance(node, Call):
        if node.name == "strings.to_lower":
            return _as_text(_eval_value(node.args[0], inst, outcome)).lower()
        if node.name == "strings.to_upper":
            return _as_text(_eval_value(node.args[0], inst, outcome)).upper()
        return _eval_bool(node, inst, outcome)
    raise TypeError(f"not a value: {node!r}")


def _elements(node: Any, inst: _Instance, outcome: Mapping[str, Any]) -> tuple[str | None, list[Any]]:
    """The values to test for an operand: several for a field under any/all."""
    if isinstance(node, FieldRef) and node.quantifier:
        value = inst.read(node)
        items = list(value) if isinstance(value, list | tuple) else [value]
        return node.quantifier, items or [ZERO]
    return None, [_eval_value(node, inst, outcome)]


def _quantify(quantifier: str | None, results: Iterator[bool]) -> bool:
    return all(results) if quantifier == "all" else any(results)


def _eval_bool(node: Any, inst: _Instance, outcome: Mapping[str, Any]) -> bool:
    if isinstance(node, And):
        return all(_eval_bool(item, inst, outcome) for item in node.items)
    if isinstance(node, Or):
        return any(_eval_bool(item, inst, outcome) for item in node.items)
    if isinstance(node, Not):
        return not _eval_bool(node.item, inst, outcome)
    if isinstance(node, Compare):
        if isinstance(node.right, Regex):
            regex = node.right
            quantifier, values = _elements(node.left, inst, outcome)
            hit = (regex_matches(regex, v) == (node.op == "=") for v in values)
            return _quantify(quantifier, hit)
        lq, lefts = _elements(node.left, inst, outcome)
        rq, rights = _elements(node.right, inst, outcome)
        quantifier = lq or rq
        pairs = itertools.product(lefts, rights)
        return _quantify(quantifier, (_compare_values(node.op, a, b, node.nocase) for a, b in pairs))
    if isinstance(node, InList):
        quantifier, values = _elements(node.operand, inst, outcome)
        return _quantify(quantifier, (_in_list(node, v) for v in values))
    if isinstance(node, Call):
        quantifier, values = _elements(node.args[0], inst, outcome)
        if node.name == "re.regex":
            regex = compile_regex(node.args[1].value, node.nocase)
            return _quantify(quantifier, (regex_matches(regex, v) for v in values))
        if node.name == "net.ip_in_range_cidr":
            network = ipaddress.ip_network(node.args[1].value, strict=False)
            return _quantify(quantifier, (_in_network(v, network) for v in values))
    raise TypeError(f"not a predicate: {node!r}")


def _in_list(node: InList, value: Any) -> bool:
    lines = REFERENCE_LISTS.get({})[node.name].lines()
    if node.kind == "regex":
        return any(regex_matches(compile_regex(line, node.nocase), value) for line in lines)
    if node.kind == "cidr":
        return any(_in_network(value, ipaddress.ip_network(line, strict=False)) for line in lines)
    text = _as_text(value)
    if node.nocase:
        return text.lower() in {line.lower() for line in lines}
    return text in lines


def _in_network(value: Any, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(_as_text(value)) in network
    except ValueError:
        return False


def _instances(rule: Rule, event: Mapping[str, Any]) -> Iterator[_Instance]:
    refs = {n.path for n in _walk(rule.events) if isinstance(n, FieldRef) and not n.quantifier}
    repeated = sorted(p for p in refs if isinstance(event.get(p), list | tuple) and p not in rule.quantified)
    choices = [list(event[p]) or [ZERO] for p in repeated]
    for combo in itertools.product(*choices):
        yield _Instance(event, dict(zip(repeated, combo, strict=True)), rule.event_variable)


def run(
    query: str,
    events: Sequence[Mapping[str, Any]],
    now: datetime,
    reference_lists: Mapping[str, ReferenceList] | None = None,
) -> list[Row]:
    """One detection per matching event, in event order.

    The time window is the rule's run schedule, not part of the rule text, so `now` is unused.
    The row holds the outcome variables (without `$`); with no outcome section, the event itself.
    `reference_lists` are the lists the rule's `in` tests read.
    """
    token = REFERENCE_LISTS.set(dict(reference_lists or {}))
    try:
        return _run(query, events)
    finally:
        REFERENCE_LISTS.reset(token)


def _event_seconds(event: Mapping[str, Any]) -> int:
    value = event.get(TIME_FIELD)
    number = _as_number(value if value is not None else ZERO)
    return int(number or 0)


TIME_FIELD = "metadata.event_timestamp.seconds"


def _run_multi_event(query: str, events: Sequence[Mapping[str, Any]]) -> list[Row]:
    """One detection per match group whose window satisfies the condition.

    Windows: `over <duration> after $pivot` anchors a window on each pivot event ("Apply YARA-L 2.0
    windowing logic": sliding windows are anchored to the pivot); it holds the events from the
    pivot's time on and less than `duration` after it (the Overview of YARA-L 2.0: with a 5-minute
    window "only events less than 5 minutes apart are correlated"), grouped by the pivot's match
    placeholder values. In a window, a combination of events, one per event variable, is valid when
    each passes its variable's filters, binds every placeholder consistently (zero values of match
    placeholders are filtered out, "Match section syntax"; other placeholders keep them), and satisfies
    the joins. The condition reads the valid combinations: `$e` that one exists, `#e` the number of
    distinct events of `$e` in them, `#placeholder` the number of its distinct values (Condition
    section syntax). The row holds the match placeholders (without `$`); its index is the pivot's."""
    rule = parse_multi_event(query)
    variables = sorted(set(rule.filters) | set(rule.bindings))
    pivot = rule.match.pivot
    assert pivot is not None
    match_names = set(rule.match.variables)
    candidates: dict[str, list[tuple[int, _Instance]]] = {}
    for var in variables:
        single = Rule(rule.name, {}, rule.filters.get(var, And(())), {}, var, var)
        found = []
        for index, event in enumerate(events):
            for inst in _instances(single, event):
                if _eval_bool(single.events, inst, {}):
                    found.append((index, inst))
        candidates[var] = found
    rows: dict[tuple[Any, ...], Row] = {}
    for pivot_index, pivot_inst in candidates[pivot]:
        start = _event_seconds(pivot_inst.event)
        key_values = _bound_values(rule, pivot, pivot_inst, match_names)
        if key_values is None:
            continue
        key = tuple(key_values[name] for name in rule.match.variables)
        if key in rows:
            continue
        inside = {
            var: [
                (i, inst)
                for i, inst in found
                if start <= _event_seconds(inst.event) < start + rule.match.seconds
            ]
            for var, found in candidates.items()
        }
        valid = []
        for combo in itertools.product(*(inside[var] for var in variables)):
            chosen = dict(zip(variables, combo, strict=True))
            values = _combination_values(rule, chosen, match_names)
            if values is None or any(values[name] != key_values[name] for name in key_values):
                continue
            if all(_join_holds(join, chosen) for join in rule.joins):
                valid.append((chosen, values))
        outcomes = {name: _aggregate(aggregate, valid) for name, aggregate in rule.outcome.items()}
        if valid and all(_term_holds(term, valid, outcomes) for term in rule.condition):
            rows[key] = Row(pivot_index, {n[1:]: key_values[n] for n in rule.match.variables})
    return list(rows.values())


def _placeholder_value(ref: FieldRef, inst: _Instance) -> Any:
    """A placeholder's value read from an event: an unset field is its type's zero value."""
    value = inst.read(ref)
    if value is ZERO:
        return 0 if field_type(ref.path) == "integer" else ""
    return value


def _bound_values(
    rule: MultiEventRule, var: str, inst: _Instance, match_names: set[str]
) -> dict[str, Any] | None:
    """The match placeholders an event of `var` binds, or None when one is a zero value or two
    bindings of one placeholder disagree."""
    values: dict[str, Any] = {}
    for name, ref in rule.bindings.get(var, ()):
        if name not in match_names:
            continue
        value = _placeholder_value(ref, inst)
        if value in ("", 0) or values.setdefault(name, value) != value:
            return None
    return values


def _combination_values(
    rule: MultiEventRule, chosen: Mapping[str, tuple[int, _Instance]], match_names: set[str]
) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    for var, pairs in rule.bindings.items():
        for name, ref in pairs:
            value = _placeholder_value(ref, chosen[var][1])
            if name in match_names and value in ("", 0):
                return None
            if values.setdefault(name, value) != value:
                return None
    return values


Combination = tuple[Mapping[str, tuple[int, _Instance]], Mapping[str, Any]]


def _aggregate(aggregate: Aggregate, valid: Sequence[Combination]) -> int | float | None:
    """The aggregation over the distinct events (instances, for unnested repeated fields) of its
    variable in the valid combinations. An unset field is its type's zero value; a value that is no
    number is left out of sum/min/max (as NULL values are: "sum" page)."""
    instances = {
        id(chosen[aggregate.ref.variable][1]): chosen[aggregate.ref.variable][1] for chosen, _ in valid
    }
    values = [_placeholder_value(aggregate.ref, inst) for inst in instances.values()]
    if aggregate.function == "count":
        return len(values)
    numbers = [n for value in values if (n := _numeric(value)) is not None]
    if aggregate.function == "sum":
        return sum(numbers)
    if not numbers:
        return None
    return min(numbers) if aggregate.function == "min" else max(numbers)


def _numeric(value: Any) -> int | float | None:
    if isinstance(value, str) and not value.strip():
        return None
    return _as_number(value)


def _term_holds(
    term: str | CountTest | OutcomeTest,
    valid: Sequence[Combination],
    outcomes: Mapping[str, int | float | None],
) -> bool:
    if isinstance(term, OutcomeTest):
        value = outcomes[term.name]
        return value is not None and bool(COMPARISONS[term.op](value, term.value))
    if isinstance(term, str):
        return bool(valid)  # an event variable exists in some valid combination
    if any(term.name in chosen for chosen, _ in valid):
        # Distinct events: instances of one event (unnested repeated fields) count once.
        count = len({chosen[term.name][0] for chosen, _ in valid})
    else:
        count = len({_hashable(values[term.name]) for _, values in valid})
    return term.holds(count)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _join_holds(join: Compare, chosen: Mapping[str, tuple[int, _Instance]]) -> bool:
    left, right = join.left, join.right
    assert isinstance(left, FieldRef) and isinstance(right, FieldRef)
    a = chosen[left.variable][1].read(left)
    b = chosen[right.variable][1].read(right)
    if left.path == TIME_FIELD or right.path == TIME_FIELD:
        a, b = _as_number(a), _as_number(b)
    return _compare_values(join.op, a, b, join.nocase)


def _run(query: str, events: Sequence[Mapping[str, Any]]) -> list[Row]:
    if _raw_rule(query)["match"] is not None:
        return _run_multi_event(query, events)
    rule = parse(query)
    _check_reference_lists(rule)
    rows: list[Row] = []
    for index, event in enumerate(events):
        for inst in _instances(rule, event):
            if not _eval_bool(rule.events, inst, {}):
                continue
            values: dict[str, Any] = {}
            for name, expr in rule.outcome.items():
                value = _eval_value(expr, inst, values)
                values[name] = "" if value is ZERO else value
            fields = {name[1:]: value for name, value in values.items()} if rule.outcome else dict(event)
            rows.append(Row(index, fields))
            break
    return rows
