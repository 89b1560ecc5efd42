"""Site configuration (`siemc.yml`): the team's SIEM, not siemc's defaults.

    targets:                       # per target: mapping changes and pySigma pipelines
      spl:
        sources:                   # entries in the format of backends/mappings/<target>.yml
          - logsource: category=process_creation product=windows
            selector: index=win sourcetype=xmlwineventlog EventCode=1
        fields: {Computer: host}   # Sigma name -> native name, for every source of the target
        pipelines: [pipelines/splunk_windows.yml]
        windows_events: NAME       # the mapping file's `windows_event_tables` entry the site's
                                   # Windows event logs are stored by (kql: WindowsEvent)
        fallbacks: [NAME, ...]     # the sources this site collects that a rule may move to, whole,
                                   # when its log source's first source lacks a field (default:
                                   # false, none; true: all of them)
        unmodelled: [NAME, ...]    # the sources siemc has no vendor data model of that this site
                                   # collects and vouches for (default: false, none; true: all)
    pipelines: [pipelines/common.yml]   # pySigma processing pipelines for every target
    placeholders:                  # values of `|expand` placeholders (%name%)
      admin_users: [alice, bob]
      rmm_tools: {file: lists/rmm_tools.txt}          # one value a line, '#' comments
      rat_names:                                      # values with labels (TAB-separated columns)
        file: lists/rat_file_names.tsv
        labels: [tool, category]                      # what derived columns read (`label:`)
        drop: [TeamViewer]                            # rows whose value or a label is one of these
        add: [{value: acme-remote.exe, tool: Acme Remote, category: Other RMM}]
      helpdesk_hosts: {list: helpdesk_hosts}          # the SIEM's own named list
    filters: [filters/*.yml]       # Sigma filter documents, paths or globs

The file is validated once, against one schema, before any rule is compiled: a problem is a
`ConfigError` naming the line. Paths are relative to the file's folder. The loaded `SiteConfig` is
passed down to the stages; nothing else reads the file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from siemc.backends import TARGET_NAMES
from siemc.diagnostics import SiemcError, line_of, node_line

if TYPE_CHECKING:
    from sigma.filters import SigmaFilter
    from sigma.processing.pipeline import ProcessingPipeline

CONFIG_NAME = "siemc.yml"
_TOP_KEYS = ("targets", "pipelines", "placeholders", "filters")
_TARGET_KEYS = (
    "sources", "fields", "pipelines", "list_folder", "windows_events", "fallbacks", "unmodelled",
)  # fmt: skip
# Targets whose named lists live in a folder siemc must name (Sumo Logic's lookup tables, in the Library).
LIST_FOLDER_TARGETS = ("sumo",)
LIST_FOLDER = re.compile(r"^/Library/[^\"\\\n\r]*[^/\"\\\n\r]$")
_PLACEHOLDER_KEYS = ("list", "file", "values", "labels", "drop", "add")
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A SIEM list name reaches queries inside a string literal: a plain name keeps it safe in every language.
LIST_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
PLACEHOLDER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


class ConfigError(SiemcError):
    """A problem in the configuration (or a file it names); `path` is the file the line is in."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        super().__init__(message, line)
        self.path = path

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: error: {self.message}"


@dataclass(frozen=True)
class NamedList:
    """A placeholder kept as the SIEM's own list object (Sentinel watchlist, Splunk lookup, ...).

    `values` are its contents when the configuration gives them (tests, targets with no list object).
    """

    name: str
    values: tuple[str, ...] | None = None


PlaceholderValue = tuple[str, ...] | NamedList


@dataclass(frozen=True)
class Labels:
    """Named columns beside a placeholder's values (a tool list's tool and category), one row per
    value in the values' order: what a derived column's `label:` reads."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def column(self, name: str) -> tuple[str, ...]:
        index = self.columns.index(name)
        return tuple(row[index] for row in self.rows)


class ListEntries(tuple[str, ...]):
    """A named list's entries as the reference evaluator reads them: the SIEM list's plain values
    (literal text, regexes for `re`, networks for `cidr`), not Sigma text with wildcards."""

    __slots__ = ()


@dataclass(frozen=True)
class LoadedFilter:
    """A Sigma filter document, parsed by pySigma, with where it came from."""

    path: Path
    text: str
    sigma: SigmaFilter
    line: int  # of its first line in the file (several documents may share one)

    def reference_line(self, reference: str) -> int:
        return line_of(self.text, reference) or self.line


@dataclass(frozen=True, eq=False)
class SiteConfig:
    path: Path | None = None
    text: str = ""
    sources: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    pipelines: tuple[Path, ...] = ()
    target_pipelines: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)
    list_folders: Mapping[str, str] = field(default_factory=dict)
    windows_events: Mapping[str, str] = field(default_factory=dict)
    # target -> the fallback sources the site collects (True: every one; False: none, the default)
    fallbacks: Mapping[str, bool | frozenset[str]] = field(default_factory=dict)
    # target -> the sources without a data model the site vouches for (True: every one; False: none)
    unmodelled: Mapping[str, bool | frozenset[str]] = field(default_factory=dict)
    placeholders: Mapping[str, PlaceholderValue] = field(default_factory=dict)
    placeholder_labels: Mapping[str, Labels] = field(default_factory=dict)
    filters: tuple[LoadedFilter, ...] = ()
    # Hashes of what shapes each part of the output, for the build cache.
    global_digest: str = ""
    target_digests: Mapping[str, str] = field(default_factory=dict)
    placeholder_digests: Mapping[str, str] = field(default_factory=dict)
    filter_digests: tuple[str, ...] = ()

    @property
    def is_default(self) -> bool:
        return self.path is None and not self.placeholders

    @cached_property
    def key(self) -> str:
        """One hash of the whole configuration: targets built for another key are other objects."""
        parts = [
            self.global_digest,
            *sorted(self.target_digests.items()),
            *sorted(self.placeholder_digests.items()),
        ]
        return hashlib.sha256(repr((parts, self.filter_digests)).encode()).hexdigest()[:16]

    # -- what the stages ask ------------------------------------------------------------------------
    def inline_values(self) -> dict[str, tuple[str, ...]]:
        """Placeholders with values that rules are compiled with, as if they listed them."""
        return {name: value for name, value in self.placeholders.items() if isinstance(value, tuple)}

    def contents(self, name: str) -> tuple[str, ...] | None:
        """A placeholder's values, inline or a named list's, when the configuration gives them."""
        value = self.placeholders.get(name)
        return value.values if isinstance(value, NamedList) else value

    def named_lists(self) -> dict[str, NamedList]:
        return {name: value for name, value in self.placeholders.items() if isinstance(value, NamedList)}

    def evaluation_values(self) -> dict[str, tuple[str, ...]]:
        """Every placeholder whose contents are known: what the reference evaluator matches with."""
        values: dict[str, tuple[str, ...]] = {
            name: ListEntries(v.values) for name, v in self.named_lists().items() if v.values is not None
        }
        return {**values, **self.inline_values()}

    def error_at(self, key_path: Sequence[str | int], problem: str) -> ConfigError:
        """An error at a key of this file (for checks made after loading, by the compile stage)."""
        assert self.path is not None
        return _Checker(self.path, self.text).fail(key_path, problem)

    def processing_pipelines(self, target: str) -> list[ProcessingPipeline]:
        """The site's pySigma pipelines for a target: the global ones, then the target's."""
        paths = (*self.pipelines, *self.target_pipelines.get(target, ()))
        return [self.processing_pipelines_of(path) for path in paths]

    def processing_pipelines_of(self, path: Path) -> ProcessingPipeline:
        """One pipeline file, loaded once (pySigma raises on a pipeline it rejects)."""
        cached: dict[Path, ProcessingPipeline] = self.__dict__.setdefault("_pipelines", {})
        if path not in cached:
            from sigma.processing.pipeline import ProcessingPipeline

            cached[path] = ProcessingPipeline.from_yaml(path.read_text(encoding="utf-8"))
        return cached[path]

    def rule_digest(self, target: str, rule_text: str) -> str:
        """What of this configuration can change one rule's output on one target: the target's part,
        the placeholders the rule names and the filters that may apply to it."""
        if self.is_default:
            return ""
        named = sorted(name for name in self.placeholder_digests if f"%{name}%" in rule_text)
        filters = [
            d for f, d in zip(self.filters, self.filter_digests, strict=True) if _may_apply(f, rule_text)
        ]
        parts = (
            self.global_digest,
            self.target_digests.get(target, ""),
            [self.placeholder_digests[n] for n in named],
            filters,
        )
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


def _may_apply(loaded: LoadedFilter, rule_text: str) -> bool:
    rules = loaded.sigma.filter.rules
    if isinstance(rules, str):
        return True
    return any(str(reference.reference) in rule_text for reference in rules)


def takes(setting: bool | frozenset[str], name: str) -> bool:
    """Whether a `true`, `false` or list-of-names setting (`fallbacks`, `unmodelled`) takes `name`."""
    return setting is True or (isinstance(setting, frozenset) and name in setting)


def _source_names(checker: _Checker, value: Any, where: list[str | int]) -> bool | frozenset[str]:
    """`true`, `false` or a list of source names (the mapping's `name`s)."""
    if isinstance(value, bool):
        return value
    names = checker.expect(value, list, where, "true, false or a list of source names")
    for index, name in enumerate(names):
        checker.expect(name, str, [*where, index], "a source name")
    return frozenset(names)


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


# -- loading -------------------------------------------------------------------------------------------


def find_config(rules_paths: Sequence[Path], cwd: Path | None = None) -> Path | None:
    """The nearest siemc.yml above the first rules path (itself included), else the current folder's."""
    starts = [p.resolve() for p in rules_paths[:1]]
    for start in starts:
        for folder in [start, *start.parents] if start.is_dir() else list(start.parents):
            candidate = folder / CONFIG_NAME
            if candidate.is_file():
                return candidate
    candidate = (cwd or Path.cwd()) / CONFIG_NAME
    return candidate if candidate.is_file() else None


class _Checker:
    """Schema checks over the loaded YAML; an error names the line of the offending key."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        try:
            self.root: Any = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            self.root = None

    def line(self, key_path: Sequence[str | int]) -> int | None:
        return node_line(self.root, key_path)

    def fail(self, key_path: Sequence[str | int], problem: str) -> ConfigError:
        where = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in key_path).lstrip(".")
        return ConfigError(self.path, f"{where}: {problem}" if where else problem, self.line(key_path))

    def expect(
        self, value: Any, kind: type | tuple[type, ...], key_path: Sequence[str | int], what: str
    ) -> Any:
        if not isinstance(value, kind) or (
            isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,))
        ):
            raise self.fail(key_path, f"expected {what}, got {_kind(value)}")
        return value

    def known_keys(
        self, block: Mapping[str, Any], known: Iterable[str], key_path: Sequence[str | int]
    ) -> None:
        for key in block:
            if key not in known:
                raise self.fail([*key_path, key], f"unknown key (known: {', '.join(known)})")

    def file(self, value: Any, key_path: Sequence[str | int]) -> Path:
        text: str = self.expect(value, str, key_path, "a file path")
        path: Path = (self.path.parent / text).resolve()
        if not path.is_file():
            raise self.fail(key_path, f"no such file: {text}")
        return path

    def files(self, value: Any, key_path: Sequence[str | int], globs: bool = False) -> tuple[Path, ...]:
        items = self.expect(value, list, key_path, "a list of file paths")
        found: list[Path] = []
        for index, item in enumerate(items):
            where = [*key_path, index]
            text = self.expect(item, str, where, "a file path")
            if globs and any(c in text for c in "*?["):
                matches = sorted(p.resolve() for p in self.path.parent.glob(text) if p.is_file())
                if not matches:
                    raise self.fail(where, f"no file matches {text}")
                found.extend(matches)
            else:
                found.append(self.file(text, where))
        return tuple(found)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )


def _read_list_file(path: Path, columns: int = 1) -> list[tuple[str, ...]]:
    """The rows of a list file: one value a line, or, with label columns, the
    value and its labels separated by TABs (read without labels, a row is its first column); '#'
    starts a comment line, blank lines are skipped."""
    rows = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        cells = tuple(cell.strip() for cell in text.split("\t"))
        if columns == 1:
            cells = cells[:1]
        if len(cells) != columns or not all(cells):
            raise ConfigError(
                path, f"expected a value and {columns - 1} label(s) separated by TABs, got {text!r}", number
            )
        rows.append(cells)
    return rows


def _placeholder(checker: _Checker, name: str, spec: Any) -> tuple[PlaceholderValue, Labels | None, str]:
    where: list[str | int] = ["placeholders", name]
    if not PLACEHOLDER_NAME.match(name):
        raise checker.fail(where, "a placeholder name is letters, digits, '_', '.' or '-'")
    if isinstance(spec, list):
        values = tuple(_scalar(checker, item, [*where, i]) for i, item in enumerate(spec))
        return values, None, _digest(values)
    if not isinstance(spec, dict):
        raise checker.fail(
            where, f"expected a list of values, {{file: PATH}} or {{list: NAME}}, got {_kind(spec)}"
        )
    checker.known_keys(spec, _PLACEHOLDER_KEYS, where)
    if "file" in spec and "values" in spec:
        raise checker.fail(where, "give `file` or `values`, not both")
    columns: tuple[str, ...] = ()
    if "labels" in spec:
        names = checker.expect(spec["labels"], list, [*where, "labels"], "a list of label column names")
        for index, label in enumerate(names):
            if not isinstance(label, str) or not LABEL_NAME.match(label) or label == "value":
                raise checker.fail(
                    [*where, "labels", index], "a label column name is an identifier, not `value`"
                )
        if len(set(names)) != len(names) or not names:
            raise checker.fail([*where, "labels"], "expected distinct label column names")
        if "file" not in spec:
            raise checker.fail([*where, "labels"], "labels are read from a `file` (TAB-separated columns)")
        columns = tuple(names)
    rows: list[tuple[str, ...]] | None = None
    if "file" in spec:
        path = checker.file(spec["file"], [*where, "file"])
        rows = _read_list_file(path, 1 + len(columns))
    elif "values" in spec:
        items = checker.expect(spec["values"], list, [*where, "values"], "a list of values")
        rows = [(_scalar(checker, item, [*where, "values", i]),) for i, item in enumerate(items)]
    if rows is not None:
        rows = _edit_rows(checker, spec, where, rows, columns)
    contents = None if rows is None else tuple(row[0] for row in rows)
    labels = Labels(columns, tuple(row[1:] for row in rows)) if columns and rows is not None else None
    label_digest = (labels.columns, labels.rows) if labels else None
    if "list" in spec:
        list_name = checker.expect(spec["list"], str, [*where, "list"], "the name of the SIEM's list")
        if not LIST_NAME.match(list_name):
            raise checker.fail([*where, "list"], "a list name is letters, digits, '_', '.' or '-'")
        named = NamedList(list_name, contents)
        return named, labels, _digest("list", list_name, contents, label_digest)
    if contents is None:
        raise checker.fail(where, "expected `file`, `values` or `list`")
    return contents, labels, _digest(contents, label_digest)


def _edit_rows(
    checker: _Checker,
    spec: Mapping[str, Any],
    where: list[str | int],
    rows: list[tuple[str, ...]],
    columns: tuple[str, ...],
) -> list[tuple[str, ...]]:
    """A site's changes to a shared list: `drop` removes every row whose value or one of whose labels
    is a given text (case-insensitive: a tool by its name), `add` appends rows."""
    if "drop" in spec:
        drops = checker.expect(spec["drop"], list, [*where, "drop"], "a list of values or labels")
        for index, item in enumerate(drops):
            text = _scalar(checker, item, [*where, "drop", index]).lower()
            kept = [row for row in rows if text not in (cell.lower() for cell in row)]
            if len(kept) == len(rows):
                raise checker.fail([*where, "drop", index], f"{text!r} is no value or label of the list")
            rows = kept
    if "add" in spec:
        additions = checker.expect(spec["add"], list, [*where, "add"], "a list of values")
        for index, item in enumerate(additions):
            at = [*where, "add", index]
            if not columns:
                rows.append((_scalar(checker, item, at),))
                continue
            checker.expect(item, dict, at, f"a mapping of value and {', '.join(columns)}")
            checker.known_keys(item, ("value", *columns), at)
            missing = [key for key in ("value", *columns) if key not in item]
            if missing:
                raise checker.fail(at, f"missing {', '.join(missing)}")
            rows.append(tuple(_scalar(checker, item[key], [*at, key]) for key in ("value", *columns)))
    return rows


def _scalar(checker: _Checker, value: Any, where: Sequence[str | int]) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise checker.fail(where, f"expected a string or number, got {_kind(value)}")
    return str(value)


def _load_filters(
    checker: _Checker, paths: Sequence[Path], key_path: Sequence[str | int]
) -> list[LoadedFilter]:
    from sigma.exceptions import SigmaError
    from sigma.filters import SigmaFilter

    from siemc.diagnostics import locate_message

    loaded: list[LoadedFilter] = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        try:
            documents = list(yaml.safe_load_all(text))
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            raise ConfigError(
                path, f"malformed YAML: {error.problem}", mark.line + 1 if mark else None
            ) from None
        starts = [m.start() for m in re.finditer(r"(?m)^(?!---)\S", text)]
        first_line = text.count("\n", 0, starts[0]) + 1 if starts else 1
        for document in documents:
            if document is None:
                continue
            if not isinstance(document, dict) or "filter" not in document:
                raise ConfigError(path, "not a Sigma filter document (it has no `filter:`)", first_line)
            try:
                sigma_filter = SigmaFilter.from_dict(document)
                for condition in sigma_filter.filter.parsed_condition:
                    condition.parse()
            except SigmaError as error:
                message = str(error).split(" in /")[0]
                raise ConfigError(path, message, locate_message(text, message) or first_line) from None
            loaded.append(LoadedFilter(path, text, sigma_filter, first_line))
    del checker, key_path
    return loaded


def load_config(path: Path, placeholder_overrides: Mapping[str, Sequence[str]] | None = None) -> SiteConfig:
    """Read and validate a configuration file; ConfigError on its first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path, f"cannot read the configuration: {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise ConfigError(path, f"malformed YAML: {error.problem}", mark.line + 1 if mark else None) from None
    checker = _Checker(path, text)
    if data is None:
        data = {}
    checker.expect(data, dict, [], "a mapping")
    checker.known_keys(data, _TOP_KEYS, [])

    sources: dict[str, tuple[Mapping[str, Any], ...]] = {}
    fields: dict[str, dict[str, str]] = {}
    target_pipelines: dict[str, tuple[Path, ...]] = {}
    list_folders: dict[str, str] = {}
    windows_events: dict[str, str] = {}
    fallbacks: dict[str, bool | frozenset[str]] = {}
    unmodelled: dict[str, bool | frozenset[str]] = {}
    target_digests: dict[str, str] = {}
    targets = checker.expect(data.get("targets", {}) or {}, dict, ["targets"], "a mapping of target names")
    for name, block in targets.items():
        where: list[str | int] = ["targets", name]
        if name not in TARGET_NAMES:
            raise checker.fail(where, f"unknown target (known: {', '.join(TARGET_NAMES)})")
        checker.expect(block, dict, where, "a mapping")
        checker.known_keys(block, _TARGET_KEYS, where)
        if "sources" in block:
            entries = checker.expect(block["sources"], list, [*where, "sources"], "a list of source entries")
            for index, entry in enumerate(entries):
                checker.expect(entry, dict, [*where, "sources", index], "a source entry (a mapping)")
                if "logsource" not in entry:
                    raise checker.fail([*where, "sources", index], "missing `logsource`")
            sources[name] = tuple(entries)
        if "fields" in block:
            table = checker.expect(
                block["fields"], dict, [*where, "fields"], "a mapping of Sigma name to native name"
            )
            for key, value in table.items():
                checker.expect(value, str, [*where, "fields", key], "a native field name")
            fields[name] = dict(table)
        if "pipelines" in block:
            target_pipelines[name] = checker.files(block["pipelines"], [*where, "pipelines"])
        if "list_folder" in block:
            folder = checker.expect(block["list_folder"], str, [*where, "list_folder"], "a folder path")
            if name not in LIST_FOLDER_TARGETS:
                raise checker.fail(
                    [*where, "list_folder"],
                    f"only {', '.join(LIST_FOLDER_TARGETS)} keeps its lists in a folder",
                )
            if not LIST_FOLDER.match(folder):
                raise checker.fail(
                    [*where, "list_folder"],
                    "expected the Library folder of the lookup tables, /Library/..., without a trailing "
                    "'/', quotes or backslashes",
                )
            list_folders[name] = folder
        if "windows_events" in block:
            windows_events[name] = checker.expect(
                block["windows_events"],
                str,
                [*where, "windows_events"],
                "the name of a Windows event-log table",
            )
        if "fallbacks" in block:
            fallbacks[name] = _source_names(checker, block["fallbacks"], [*where, "fallbacks"])
        if "unmodelled" in block:
            unmodelled[name] = _source_names(checker, block["unmodelled"], [*where, "unmodelled"])
        pipeline_bytes = [p.read_bytes() for p in target_pipelines.get(name, ())]
        target_digests[name] = _digest(
            sources.get(name),
            fields.get(name),
            pipeline_bytes,
            list_folders.get(name),
            windows_events.get(name),
            *(
                sorted(allowed) if isinstance(allowed := chosen.get(name), frozenset) else allowed
                for chosen in (fallbacks, unmodelled)
            ),
        )

    pipelines = checker.files(data["pipelines"], ["pipelines"]) if "pipelines" in data else ()
    placeholders: dict[str, PlaceholderValue] = {}
    placeholder_labels: dict[str, Labels] = {}
    placeholder_digests: dict[str, str] = {}
    raw_placeholders = checker.expect(data.get("placeholders", {}) or {}, dict, ["placeholders"], "a mapping")
    for name, spec in raw_placeholders.items():
        value, labels, placeholder_digests[str(name)] = _placeholder(checker, str(name), spec)
        placeholders[str(name)] = value
        if labels is not None:
            placeholder_labels[str(name)] = labels
    _override_placeholders(placeholders, placeholder_digests, placeholder_overrides, placeholder_labels)

    filter_paths = checker.files(data["filters"], ["filters"], globs=True) if "filters" in data else ()
    filters = _load_filters(checker, filter_paths, ["filters"])

    site = SiteConfig(
        path=path,
        text=text,
        sources=sources,
        fields=fields,
        pipelines=pipelines,
        target_pipelines=target_pipelines,
        list_folders=list_folders,
        windows_events=windows_events,
        fallbacks=fallbacks,
        unmodelled=unmodelled,
        placeholders=placeholders,
        placeholder_labels=placeholder_labels,
        filters=tuple(filters),
        global_digest=_digest([p.read_bytes() for p in pipelines]),
        target_digests=target_digests,
        placeholder_digests=placeholder_digests,
        filter_digests=tuple(_digest(f.path.as_posix(), f.text) for f in filters),
    )
    return site


def _override_placeholders(
    placeholders: dict[str, PlaceholderValue],
    digests: dict[str, str],
    overrides: Mapping[str, Sequence[str]] | None,
    labels: dict[str, Labels] | None = None,
) -> None:
    """`--placeholder NAME=VALUE` adds or overrides a placeholder's values (a named list keeps its name;
    labelled values keep their columns, with empty labels: derived columns give them their `else`)."""
    for name, values in (overrides or {}).items():
        if labels is not None and name in labels:
            columns = labels[name].columns
            labels[name] = Labels(columns, tuple(("",) * len(columns) for _ in values))
        current = placeholders.get(name)
        value: PlaceholderValue = (
            NamedList(current.name, tuple(values)) if isinstance(current, NamedList) else tuple(values)
        )
        placeholders[name] = value
        digests[name] = _digest("override", value)


def key_path(where: str) -> list[str | int]:
    path: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", where):
        path.append(int(part[1:-1]) if part.startswith("[") else part)
    return path


DEFAULT = SiteConfig()


def resolve_config(
    explicit: Path | None,
    rules_paths: Sequence[Path],
    placeholder_overrides: Mapping[str, Sequence[str]] | None = None,
) -> SiteConfig:
    """The configuration a command runs with: --config, else the nearest siemc.yml, else the defaults."""
    path = explicit if explicit is not None else find_config(rules_paths)
    if path is None:
        if not placeholder_overrides:
            return DEFAULT
        placeholders: dict[str, PlaceholderValue] = {}
        digests: dict[str, str] = {}
        _override_placeholders(placeholders, digests, placeholder_overrides)
        return SiteConfig(placeholders=placeholders, placeholder_digests=digests)
    if not path.is_file():
        raise ConfigError(path, "no such configuration file")
    return load_config(path, placeholder_overrides)
