"""The `siemc:` extension block: what a query needs that Sigma cannot say.

A rule may carry, next to its Sigma keys, one block named `siemc`:

    siemc:
      lookback: 24h                 # time window of the query (s, m, h, d)
      columns: [time, Computer, User, ImageName, RATCategory]   # projection, in order
      sort: -time                   # a column; a leading '-' sorts newest/highest first
      derive:                       # computed columns, in order
        RATCategory:                # a category: the first case whose `when` matches wins
          cases:
            - when: {ImageName|contains: [teamviewer, anydesk]}
              then: Commercial RMM
          else: Unknown
        IsService:                  # a flag: true when `when` matches, else false
          when: {ParentImageName: [services.exe, svchost.exe]}
      metadata: {severity: medium, confidence: high, data_sources: [...]}
      targets: [kql, eql]           # optional: build only for these targets (default: all)
      tests:                        # detection unit tests, run by `siemc test`
        - name: AnyDesk run from a temp folder
          event: {Image: 'C:\\Temp\\AnyDesk.exe', ParentImage: 'C:\\Windows\\explorer.exe'}
          expect: {match: true, RATCategory: Commercial RMM, IsUserLaunched: true}

Every `when` is a Sigma selection (field|modifier: value(s)), compiled by the same backend as the
detection. `time` is the event timestamp; other columns are Sigma field names or derived columns.
A correlation rule's block takes `metadata`, `targets` and `tests` of timestamped events
(siemc/compile/correlation.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from siemc.diagnostics import SiemcError

EXTENSION_KEY = "siemc"
TIME_COLUMN = "time"
_LOOKBACK = re.compile(r"^(\d+)([smhd])$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SEVERITIES = ("informational", "low", "medium", "high", "critical")
_CONFIDENCES = ("low", "medium", "high")


@dataclass(frozen=True)
class Case:
    when: Mapping[str, Any]
    then: str


@dataclass(frozen=True)
class DerivedColumn:
    """A computed column: a category (cases + else) or a flag (a single `when`)."""

    name: str
    cases: tuple[Case, ...]
    default: str | bool

    @property
    def is_flag(self) -> bool:
        return isinstance(self.default, bool)


@dataclass(frozen=True)
class Lookback:
    amount: int
    unit: str  # one of s, m, h, d

    @property
    def seconds(self) -> int:
        return self.amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[self.unit]

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True)
class Metadata:
    severity: str | None = None
    confidence: str | None = None
    data_sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleTest:
    """One detection unit test: an event in Sigma field names and what the rule must say of it."""

    name: str
    event: Mapping[str, Any]
    match: bool
    derived: Mapping[str, str | bool] = field(default_factory=dict)  # expected derived columns
    index: int = 0  # position in `tests`, for error messages


@dataclass(frozen=True)
class Extension:
    lookback: Lookback | None = None
    columns: tuple[str, ...] = ()
    sort: tuple[str, bool] | None = None  # (column, descending)
    derive: tuple[DerivedColumn, ...] = ()
    metadata: Metadata = field(default_factory=Metadata)
    tests: tuple[RuleTest, ...] = ()
    targets: tuple[str, ...] | None = None  # None: every target


class ExtensionError(SiemcError):
    """A schema error; `key_path` locates it in the YAML so the loader can add the line."""

    def __init__(self, message: str, key_path: tuple[str | int, ...]) -> None:
        super().__init__(f"{EXTENSION_KEY}.{'.'.join(map(str, key_path))}: {message}".rstrip("."))
        self.key_path = (EXTENSION_KEY, *key_path)


def _expect(value: Any, kind: type, path: tuple[str | int, ...], what: str) -> Any:
    # bool is an int subclass in Python; YAML `true` must not pass where a number or string is wanted.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ExtensionError(f"expected {what}, got {type(value).__name__}", path)
    return value


def _no_unknown_keys(block: Mapping[str, Any], known: tuple[str, ...], path: tuple[str | int, ...]) -> None:
    for key in block:
        if key not in known:
            raise ExtensionError(f"unknown key {key!r} (expected one of: {', '.join(known)})", (*path, key))


def _parse_when(value: Any, path: tuple[str | int, ...]) -> Mapping[str, Any]:
    _expect(value, dict, path, "a Sigma selection (a mapping of field|modifier to values)")
    if not value:
        raise ExtensionError("a selection needs at least one field", path)
    return dict(value)


def _parse_derived(name: str, spec: Any) -> DerivedColumn:
    path: tuple[str | int, ...] = ("derive", name)
    if not _IDENTIFIER.match(name):
        raise ExtensionError("a derived column name must be an identifier", path)
    _expect(spec, dict, path, "a mapping with `cases`/`else` or `when`")
    if "when" in spec:
        _no_unknown_keys(spec, ("when",), path)
        return DerivedColumn(name, (Case(_parse_when(spec["when"], (*path, "when")), "true"),), False)
    _no_unknown_keys(spec, ("cases", "else"), path)
    if "cases" not in spec:
        raise ExtensionError("needs `cases` (a category) or `when` (a flag)", path)
    cases = []
    for index, case in enumerate(_expect(spec["cases"], list, (*path, "cases"), "a list of cases")):
        case_path = (*path, "cases", index)
        _expect(case, dict, case_path, "a mapping with `when` and `then`")
        _no_unknown_keys(case, ("when", "then"), case_path)
        if "when" not in case or "then" not in case:
            raise ExtensionError("a case needs both `when` and `then`", case_path)
        then = _expect(case["then"], str, (*case_path, "then"), "a string")
        cases.append(Case(_parse_when(case["when"], (*case_path, "when")), then))
    if not cases:
        raise ExtensionError("needs at least one case", (*path, "cases"))
    default = _expect(spec.get("else", "Unknown"), str, (*path, "else"), "a string")
    return DerivedColumn(name, tuple(cases), default)


def _parse_test(index: int, spec: Any, derive: tuple[DerivedColumn, ...]) -> RuleTest:
    path: tuple[str | int, ...] = ("tests", index)
    _expect(spec, dict, path, "a mapping with `name`, `event` and `expect`")
    _no_unknown_keys(spec, ("name", "event", "expect"), path)
    for key in ("name", "event", "expect"):
        if key not in spec:
            raise ExtensionError(f"a test needs `{key}`", path)
    name = _expect(spec["name"], str, (*path, "name"), "a string")
    event = _expect(spec["event"], dict, (*path, "event"), "an event (a mapping of Sigma field to value)")
    expect = _expect(spec["expect"], dict, (*path, "expect"), "a mapping with `match` and derived values")
    if "match" not in expect:
        raise ExtensionError("`expect` needs `match: true` or `match: false`", (*path, "expect"))
    match = _expect(expect["match"], bool, (*path, "expect", "match"), "true or false")
    columns = {column.name: column for column in derive}
    derived: dict[str, str | bool] = {}
    for key, value in expect.items():
        if key == "match":
            continue
        if key not in columns:
            known = ", ".join(["match", *columns])
            raise ExtensionError(f"unknown key {key!r} (expected one of: {known})", (*path, "expect", key))
        kind, what = (bool, "true or false") if columns[key].is_flag else (str, "a string")
        derived[key] = _expect(value, kind, (*path, "expect", key), what)
    if derived and not match:
        raise ExtensionError("derived values are only checked on a match", (*path, "expect"))
    return RuleTest(name, dict(event), match, derived, index)


def parse_extension(block: Any, known_targets: tuple[str, ...] = ()) -> Extension:
    """Validate the `siemc:` block and return it typed; raises ExtensionError on the first problem."""
    if block is None:
        return Extension()
    _expect(block, dict, (), "a mapping")
    _no_unknown_keys(block, ("lookback", "columns", "sort", "derive", "metadata", "tests", "targets"), ())

    lookback = None
    if "lookback" in block:
        match = _LOOKBACK.match(str(_expect(block["lookback"], str, ("lookback",), "a duration like 24h")))
        if not match or int(match.group(1)) == 0:
            raise ExtensionError("expected a positive duration like 30m, 24h or 7d", ("lookback",))
        lookback = Lookback(int(match.group(1)), match.group(2))

    derive: list[DerivedColumn] = []
    derive_block = _expect(block.get("derive", {}), dict, ("derive",), "a mapping of column name to spec")
    for name, spec in derive_block.items():
        derive.append(_parse_derived(str(name), spec))

    columns = tuple(
        _expect(column, str, ("columns", index), "a column name")
        for index, column in enumerate(_expect(block.get("columns", []), list, ("columns",), "a list"))
    )
    if len(set(columns)) != len(columns):
        raise ExtensionError("a column is listed twice", ("columns",))

    sort = None
    if "sort" in block:
        text = _expect(block["sort"], str, ("sort",), "a column name, '-' first for descending")
        sort = (text.lstrip("-"), text.startswith("-"))
        if columns and sort[0] not in columns:
            raise ExtensionError(f"sort column {sort[0]!r} is not in `columns`", ("sort",))

    meta_block = _expect(block.get("metadata", {}), dict, ("metadata",), "a mapping")
    _no_unknown_keys(meta_block, ("severity", "confidence", "data_sources"), ("metadata",))
    for key, allowed in (("severity", _SEVERITIES), ("confidence", _CONFIDENCES)):
        if key in meta_block and meta_block[key] not in allowed:
            raise ExtensionError(f"expected one of {', '.join(allowed)}", ("metadata", key))
    sources = _expect(meta_block.get("data_sources", []), list, ("metadata", "data_sources"), "a list")
    metadata = Metadata(
        meta_block.get("severity"),
        meta_block.get("confidence"),
        tuple(_expect(s, str, ("metadata", "data_sources", i), "a string") for i, s in enumerate(sources)),
    )

    targets = None
    if "targets" in block:
        targets = tuple(_expect(block["targets"], list, ("targets",), "a list of target names"))
        for index, name in enumerate(targets):
            if known_targets and name not in known_targets:
                raise ExtensionError(
                    f"unknown target {name!r} (known: {', '.join(known_targets)})", ("targets", index)
                )

    tests = tuple(
        _parse_test(index, spec, tuple(derive))
        for index, spec in enumerate(_expect(block.get("tests", []), list, ("tests",), "a list of tests"))
    )
    return Extension(lookback, columns, sort, tuple(derive), metadata, tests, targets)
