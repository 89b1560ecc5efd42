"""Load and validate a target's mapping file (`backends/mappings/<target>.yml`).

A mapping file is the one place that says where each Sigma log source lives on a SIEM: the event
selector (native text), the native field -> value pairs every event of that source carries
(`selector_fields`), the time field, the field table (Sigma name -> native name) and what happens
to a field the table does not name (`unmapped`: a template such as `winlog.event_data.{name}`, or
absent: the field has no column there).

    target: kql
    defaults: {time_field: Timestamp}          # keys every source inherits
    field_sets: {process: {Image: FolderPath}}  # named tables a source can list under `fields`
    sources:
      - logsource: category=process_creation product=windows   # or `any`: every other log source
        candidates:                             # first one that maps every field of the rule wins
          - {name: DeviceProcessEvents, selector: DeviceProcessEvents, fields: [process]}
          - windows_events                      # the generated Windows event-log source (below)
    windows_events: {...}                       # template for every Windows event-log source
    windows_event_tables: {Name: {...}}         # other such templates a site may choose instead

A field table may map a field to null (`Hashes: ~`): the source has no such field (its ingestion
drops it, or keeps it in another form), and a rule testing it moves on to the next candidate as on
a fixed table without that column.

Where the ingestion keeps a field's value in another form, `values` says how each Sigma value reads
there (`values: {Initiated: {"true": egress, "false": ingress}}`, with `fields: {Initiated:
network.direction}`): such a field is tested for those values only, exactly.

A fixed table may list its columns by type instead of naming each field twice: `columns: {int:
[EventID, LogonType], string: [TargetUserName]}` maps the Sigma field of each name to that column
and tells the field layer its type (a value of another type is compared as the column holds it:
siemc.compile.fields.ColumnTypeTransformation); `fields` adds or overrides names.

`windows_events` turns siemc.compile.logsources (Sysmon categories, PowerShell categories and Windows
services, each a channel and event ids) into sources, so every target covers the same Windows log
sources from one table of facts. Its `channels` give one channel's sources keys of their own (the
name and fields of the Sysmon data an integration parses). Where a SIEM's ingestion can store Windows
event logs in more than one standard way, `windows_event_tables` names the other templates, and a
site picks one for all its Windows event-log sources (siemc.yml `targets.<target>.windows_events`).
Errors name the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sigma.rule import SigmaLogSource

from siemc.compile.logsources import CATEGORY_SOURCES, RecordSource, service_channels
from siemc.resources import mappings_folder

WINDOWS_EVENTS = "windows_events"

_SOURCE_KEYS = {
    "name",
    "selector",
    "selector_fields",
    "time_field",
    "fields",
    "unmapped",
    "keyword_field",
    "extra",
    "columns",
    "values",
}
_FAMILY_KEYS = _SOURCE_KEYS | {"channel", "event_id", "test", "list_test", "list_join", "join", "channels"}
WINDOWS_EVENT_TABLES = "windows_event_tables"
_LOGSOURCE_KEYS = ("category", "product", "service")


# Column types a `columns` table may name (Kusto's scalar types; other languages state none). Only the
# numeric ones change how a value is compared (siemc.compile.fields.ColumnTypeTransformation).
COLUMN_TYPES = frozenset({"string", "int", "long", "real", "bool", "datetime", "dynamic", "guid", "timespan"})

# libyaml's loader reads the same documents several times faster (`siemc convert` loads a whole file).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# A value a selected event carries, typed as the SIEM stores it (QRadar's devicetype is a number).
SelectorValue = str | int | bool


class MappingError(Exception):
    """A mapping file (or a site configuration's sources) is malformed; the message names the file
    and the key, `where` is the key alone (`sources[2].selector`) and `problem` what is wrong."""

    def __init__(self, message: str, where: str = "", problem: str = "") -> None:
        super().__init__(message)
        self.where = where
        self.problem = problem or message


@dataclass(frozen=True)
class LogsourceKey:
    """The log source fields an entry requires; a missing field matches anything."""

    category: str | None = None
    product: str | None = None
    service: str | None = None

    @property
    def specificity(self) -> int:
        return sum(value is not None for value in (self.category, self.product, self.service))

    def matches(self, logsource: SigmaLogSource) -> bool:
        return all(
            wanted is None or wanted == (getattr(logsource, key) or "").lower()
            for key, wanted in zip(_LOGSOURCE_KEYS, (self.category, self.product, self.service), strict=True)
        )

    def __str__(self) -> str:
        return " ".join(
            f"{key}={value}"
            for key, value in zip(_LOGSOURCE_KEYS, (self.category, self.product, self.service), strict=True)
            if value is not None
        )


@dataclass(frozen=True)
class SourceSpec:
    """One source as the mapping file states it (siemc.compile.target turns it into a `Source`)."""

    name: str
    selector: str
    selector_fields: Mapping[str, SelectorValue]
    time_field: str
    fields: Mapping[str, str | None]  # None: the source has no such field
    unmapped: str | None
    keyword_field: str | None
    extra: Mapping[str, str]
    column_types: Mapping[str, str]  # native column -> type, for the columns a `columns` table lists
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # Sigma field -> value -> native
    # A site configuration's own source (or its change to one): the site vouches for its fields.
    stated_by_site: bool = False


@dataclass(frozen=True)
class Entry:
    key: LogsourceKey
    candidates: tuple[SourceSpec, ...]


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> MappingError:
        return MappingError(f"{self.path}: {where}: {problem}", where, problem)

    def mapping(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "expected a mapping")
        return value

    def text(self, value: object, where: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(where, "expected a non-empty string")
        return value

    def field_table(self, value: object, where: str) -> dict[str, str | None]:
        """Sigma name -> native name, or null: the source has no such field."""
        table = self.mapping(value, where)
        named = self.string_table({key: item for key, item in table.items() if item is not None}, where)
        return {key: named.get(key) for key in table}

    def string_table(self, value: object, where: str) -> dict[str, str]:
        table = self.mapping(value, where)
        for key, item in table.items():
            if not isinstance(key, str) or not isinstance(item, str | int) or isinstance(item, bool):
                raise self.fail(f"{where}.{key}", "expected a name -> string entry")
        return {key: str(item) for key, item in table.items()}

    def value_table(self, value: object, where: str) -> dict[str, SelectorValue]:
        table = self.mapping(value, where)
        for key, item in table.items():
            if not isinstance(key, str) or not isinstance(item, str | int | bool):
                raise self.fail(f"{where}.{key}", "expected a name -> string, number or boolean entry")
        return table

    def columns(self, value: object, where: str) -> dict[str, str]:
        """A fixed table's columns by type (`{int: [EventID], string: [ObjectName]}`) as column -> type."""
        typed: dict[str, str] = {}
        for kind, names in self.mapping(value, where).items():
            if kind not in COLUMN_TYPES:
                raise self.fail(
                    f"{where}.{kind}", f"unknown column type (known: {', '.join(sorted(COLUMN_TYPES))})"
                )
            if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
                raise self.fail(f"{where}.{kind}", "expected a list of column names")
            for name in names:
                if name in typed:
                    raise self.fail(f"{where}.{kind}", f"column {name!r} is listed twice")
                typed[name] = kind
        return typed

    def logsource(self, value: object, where: str) -> LogsourceKey:
        text = self.text(value, where)
        if text == "any":  # the catch-all: its selector names the log source by `{logsource}`
            return LogsourceKey()
        parts: dict[str, str] = {}
        for word in text.split():
            key, _, item = word.partition("=")
            if key not in _LOGSOURCE_KEYS or not item or key in parts:
                raise self.fail(where, f"expected `category=x product=y service=z` words, got {word!r}")
            parts[key] = item.lower()
        return LogsourceKey(**parts)

    def fields(
        self, value: object, sets: Mapping[str, dict[str, str | None]], where: str
    ) -> dict[str, str | None]:
        """A field table, or a list of named field sets and tables merged in order."""
        merged: dict[str, str | None] = {}
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(item, str):
                if item not in sets:
                    raise self.fail(f"{where}[{index}]", f"unknown field set {item!r}")
                merged.update(sets[item])
            else:
                merged.update(self.field_table(item, f"{where}[{index}]"))
        return merged

    def source(
        self,
        raw: object,
        defaults: Mapping[str, Any],
        sets: Mapping[str, dict[str, str | None]],
        where: str,
        allowed: set[str] = _SOURCE_KEYS,
    ) -> dict[str, Any]:
        block = {**defaults, **self.mapping(raw, where)}
        unknown = sorted(set(block) - allowed)
        if unknown:
            raise self.fail(where, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
        for key in ("selector", "time_field"):
            if key not in block:
                raise self.fail(where, f"missing {key!r}")
        unmapped = block.get("unmapped")
        if unmapped is not None and not any(
            slot in self.text(unmapped, f"{where}.unmapped") for slot in ("{name}", "{flat}", "{snake}")
        ):
            raise self.fail(f"{where}.unmapped", "the template must contain {name}, {flat} or {snake}")
        selector = self.text(block["selector"], f"{where}.selector")
        column_types = self.columns(block.get("columns", {}), f"{where}.columns")
        # A listed column is the native name of the Sigma field spelt the same; `fields` states the rest.
        fields: dict[str, str | None] = {name: name for name in column_types}
        fields.update(self.fields(block.get("fields", {}), sets, f"{where}.fields"))
        return {
            **block,
            "name": self.text(block.get("name", selector.split()[0]), f"{where}.name"),
            "selector": selector,
            "time_field": self.text(block["time_field"], f"{where}.time_field"),
            "fields": fields,
            "column_types": column_types,
            "selector_fields": self.value_table(block.get("selector_fields", {}), f"{where}.selector_fields"),
            "extra": self.string_table(block.get("extra", {}), f"{where}.extra"),
            "values": {
                name: {
                    str(k).lower(): v for k, v in self.string_table(table, f"{where}.values.{name}").items()
                }
                for name, table in self.mapping(block.get("values", {}), f"{where}.values").items()
            },
        }


def _spec(block: Mapping[str, Any]) -> SourceSpec:
    return SourceSpec(
        name=block["name"],
        selector=block["selector"],
        selector_fields=block["selector_fields"],
        time_field=block["time_field"],
        fields=block["fields"],
        unmapped=block.get("unmapped"),
        keyword_field=block.get("keyword_field"),
        extra=block["extra"],
        column_types=block.get("column_types", {}),
        values=block.get("values", {}),
    )


def _windows_records() -> dict[LogsourceKey, tuple[RecordSource, ...]]:
    """Windows log sources siemc.compile.logsources knows, each as the records it stands for."""
    records: dict[LogsourceKey, tuple[RecordSource, ...]] = {}
    for category, sources in CATEGORY_SOURCES.items():
        # One channel per source: process_creation's Security 4688 alternative has other field names.
        records[LogsourceKey(category=category, product="windows")] = tuple(
            s for s in sources if s.channel == sources[0].channel
        )
    for service, channels in service_channels().items():
        records[LogsourceKey(product="windows", service=service)] = tuple(RecordSource(c) for c in channels)
    return records


def column_name(native: str) -> str:
    """The column a native field reference names: a quoted identifier (AQL's "Process Name", Sumo
    Logic's %"fields.EventID") unquoted."""
    if native.startswith('%"') and native.endswith('"') and len(native) > 2:
        return native[2:-1]
    return native[1:-1] if len(native) > 1 and native[0] == native[-1] == '"' else native


def _as_list(fields: object) -> list[object]:
    return list(fields) if isinstance(fields, list) else [fields]


def _family_source(family: Mapping[str, Any], records: Sequence[RecordSource]) -> dict[str, Any]:
    """The source of one Windows log source from the `windows_events` template."""
    channel, event_id = family["channel"], family["event_id"]
    channels = sorted({r.channel for r in records})
    ids = sorted({i for r in records for i in r.event_ids})

    def test(part: Mapping[str, str], values: Sequence[object]) -> str:
        literals = [part["literal"].format(value=v) for v in values]
        tests = [str(family["test"]).format(field=part["field"], literal=literal) for literal in literals]
        if len(literals) == 1:
            return tests[0]
        list_test = str(family["list_test"])
        if "{tests}" in list_test:  # languages without a list operator: one test per value
            return list_test.format(tests=str(family.get("list_join", " or ")).join(tests))
        return list_test.format(field=part["field"], literals=", ".join(literals))

    tests = [test(channel, channels)] + ([test(event_id, ids)] if ids else [])
    selector_fields: dict[str, SelectorValue] = {
        column_name(channel["field"]): channel.get("value", "{value}").format(value=channels[0])
    }
    if ids:
        # An unquoted literal is a number in the language, and so is the stored event id.
        numeric = event_id["literal"] == "{value}" and "value" not in event_id
        selector_fields[column_name(event_id["field"])] = (
            ids[0] if numeric else event_id.get("value", "{value}").format(value=ids[0])
        )
    block = {k: v for k, v in family.items() if k in _SOURCE_KEYS}
    # A channel's own keys (one channel per source: siemc.compile.logsources), then those of its one
    # event id (`events`, when the source is one event): fields are merged, other keys replaced.
    channel_keys = dict(family.get("channels", {}).get(channels[0], {})) if len(channels) == 1 else {}
    by_event = channel_keys.pop("events", {})
    for own in (channel_keys, by_event.get(ids[0], {}) if len(ids) == 1 else {}):
        own = dict(own)
        if "fields" in own:
            own["fields"] = [*_as_list(block.get("fields", {})), *_as_list(own["fields"])]
        block.update(own)
    return {
        **block,
        "selector": str(family["selector"]).format(tests=str(family["join"]).join(tests)),
        "selector_fields": {**block.get("selector_fields", {}), **selector_fields},
    }


@dataclass(frozen=True)
class SiteSources:
    """A site configuration's changes to one target's mapping (siemc.yml `targets.<target>`).

    `sources` are entries in the mapping file's format: one for a log source the file has overrides
    the keys it names (of the candidate called `name`, else of the first candidate; `fields` are
    merged into the table, `candidates` replaces them all) and keeps the rest; one for a new log
    source adds it. `fields` (Sigma -> native) are merged into every source's table.
    `windows_events` names the mapping file's `windows_event_tables` template the site's Windows
    event logs are stored by, in place of the file's `windows_events`.
    """

    path: Path  # the configuration file, named in errors
    prefix: str  # where in it: `targets.spl`
    sources: tuple[Mapping[str, Any], ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)
    windows_events: str | None = None


def _candidates(
    reader: _Reader,
    key: LogsourceKey,
    entry: dict[str, Any],
    where: str,
    defaults: Mapping[str, Any],
    sets: Mapping[str, dict[str, str | None]],
    generated: Any,
) -> tuple[SourceSpec, ...]:
    """An entry's sources: its `candidates` list, or the entry itself as the one source."""
    raw_candidates = entry.pop("candidates", None)
    single = raw_candidates is None
    if single:
        raw_candidates = [entry]
    elif entry:
        raise reader.fail(where, "give either `candidates` or one source, not both")
    if not isinstance(raw_candidates, list) or not raw_candidates:
        raise reader.fail(f"{where}.candidates", "expected a non-empty list")
    places = [where] if single else [f"{where}.candidates[{i}]" for i in range(len(raw_candidates))]
    return tuple(
        generated(key, place)
        if candidate == WINDOWS_EVENTS
        else _spec(reader.source(candidate, defaults, sets, place))
        for place, candidate in zip(places, raw_candidates, strict=True)
    )


def _spec_block(spec: SourceSpec) -> dict[str, Any]:
    block: dict[str, Any] = {
        "name": spec.name,
        "selector": spec.selector,
        "selector_fields": dict(spec.selector_fields),
        "time_field": spec.time_field,
        "fields": dict(spec.fields),
        "extra": dict(spec.extra),
    }
    if spec.unmapped is not None:
        block["unmapped"] = spec.unmapped
    if spec.keyword_field is not None:
        block["keyword_field"] = spec.keyword_field
    if spec.values:
        block["values"] = {name: dict(table) for name, table in spec.values.items()}
    if spec.column_types:  # back into the file's form, {type: [columns]}, for the reader to check again
        by_type: dict[str, list[str]] = {}
        for column, kind in spec.column_types.items():
            by_type.setdefault(kind, []).append(column)
        block["columns"] = by_type
    return block


def _apply_site(
    entries: list[Entry],
    site: SiteSources,
    defaults: Mapping[str, Any],
    sets: Mapping[str, dict[str, str | None]],
    generated: Any,
) -> list[Entry]:
    reader = _Reader(site.path)
    by_key = {entry.key: index for index, entry in enumerate(entries)}
    for index, raw_entry in enumerate(site.sources):
        where = f"{site.prefix}.sources[{index}]"
        entry = dict(reader.mapping(raw_entry, where))
        key = reader.logsource(entry.pop("logsource", None), f"{where}.logsource")
        existing = entries[by_key[key]] if key in by_key else None
        if "candidates" in entry or existing is None:
            candidates = tuple(
                replace(spec, stated_by_site=True)
                for spec in _candidates(reader, key, entry, where, defaults, sets, generated)
            )
        else:
            assert existing is not None
            unknown = sorted(set(entry) - _SOURCE_KEYS)
            if unknown:
                known = ", ".join(sorted(_SOURCE_KEYS | {"candidates", "logsource"}))
                raise reader.fail(f"{where}.{unknown[0]}", f"unknown key (known: {known})")
            names = [spec.name for spec in existing.candidates]
            chosen = names.index(entry["name"]) if entry.get("name") in names else 0
            block = _spec_block(existing.candidates[chosen])
            for name, value in entry.items():
                if name == "fields":
                    block["fields"] = {**block["fields"], **reader.fields(value, sets, f"{where}.fields")}
                elif value is None and name in ("unmapped", "keyword_field"):
                    block.pop(name, None)  # `unmapped: null`: a fixed schema from now on
                else:
                    block[name] = value
            replaced = replace(_spec(reader.source(block, {}, sets, where)), stated_by_site=True)
            candidates = tuple(replaced if i == chosen else c for i, c in enumerate(existing.candidates))
        new_entry = Entry(key, candidates)
        if key in by_key:
            entries[by_key[key]] = new_entry
        else:
            by_key[key] = len(entries)
            entries.append(new_entry)
    if site.fields:
        table = reader.string_table(site.fields, f"{site.prefix}.fields")
        entries = [
            Entry(
                entry.key,
                tuple(
                    SourceSpec(**{**spec.__dict__, "fields": {**spec.fields, **table}})
                    for spec in entry.candidates
                ),
            )
            for entry in entries
        ]
    return entries


def _family(reader: _Reader, value: object, defaults: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A Windows event-log template: how one channel and its event ids are selected, and the rest."""
    raw = reader.mapping(value, where)
    unknown = sorted(set(raw) - _FAMILY_KEYS)
    if unknown:
        raise reader.fail(f"{where}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(_FAMILY_KEYS))})")
    for name in ("channel", "event_id"):
        part = reader.string_table(raw.get(name), f"{where}.{name}")
        if "field" not in part or "literal" not in part:
            raise reader.fail(f"{where}.{name}", "expected `field` and `literal`")
    for name in ("test", "list_test", "join"):
        if not isinstance(raw.get(name), str):
            raise reader.fail(f"{where}.{name}", "expected a string")
    for channel, own in reader.mapping(raw.get("channels", {}), f"{where}.channels").items():
        keys = sorted(set(reader.mapping(own, f"{where}.channels.{channel}")) - _SOURCE_KEYS - {"events"})
        if keys:
            raise reader.fail(f"{where}.channels.{channel}.{keys[0]}", "unknown key")
        for event_id, keys_of_event in reader.mapping(
            own.get("events", {}), f"{where}.channels.{channel}.events"
        ).items():
            place = f"{where}.channels.{channel}.events.{event_id}"
            if not isinstance(event_id, int):
                raise reader.fail(place, "expected an event id (a number)")
            keys = sorted(set(reader.mapping(keys_of_event, place)) - _SOURCE_KEYS)
            if keys:
                raise reader.fail(f"{place}.{keys[0]}", "unknown key")
    return {**defaults, **raw}


def load_mapping(path: Path, site: SiteSources | None = None) -> tuple[Entry, ...]:
    """Every log source entry of one mapping file, most specific first, with a site's changes."""
    reader = _Reader(path)
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as error:
        raise MappingError(f"{path}: {error}") from None
    top = reader.mapping(document, "top level")
    known = {"target", "defaults", "field_sets", "sources", WINDOWS_EVENTS, WINDOWS_EVENT_TABLES}
    unknown = sorted(set(top) - known)
    if unknown:
        raise reader.fail(unknown[0], "unknown top-level key")
    defaults = reader.mapping(top.get("defaults", {}), "defaults")
    sets = {
        name: reader.field_table(table, f"field_sets.{name}")
        for name, table in reader.mapping(top.get("field_sets", {}), "field_sets").items()
    }
    families = {
        name: _family(reader, raw, defaults, f"{WINDOWS_EVENT_TABLES}.{name}")
        for name, raw in reader.mapping(top.get(WINDOWS_EVENT_TABLES, {}), WINDOWS_EVENT_TABLES).items()
    }
    family = _family(reader, top[WINDOWS_EVENTS], defaults, WINDOWS_EVENTS) if WINDOWS_EVENTS in top else None
    if family is not None and site is not None and site.windows_events is not None:
        if site.windows_events not in families:
            known_tables = ", ".join(sorted(families)) or "none"
            problem = f"{site.windows_events!r} is no Windows event-log table of {path.name}"
            problem += f" (known: {known_tables})"
            where = f"{site.prefix}.windows_events"
            raise MappingError(f"{site.path}: {where}: {problem}", where, problem)
        family = families[site.windows_events]
    windows = _windows_records()

    def generated(key: LogsourceKey, where: str) -> SourceSpec:
        if family is None:
            raise reader.fail(where, f"{WINDOWS_EVENTS!r} is used but not defined")
        if key not in windows:
            raise reader.fail(where, f"{key} is not a Windows event-log source siemc knows")
        block = _family_source(family, windows[key])
        return _spec(reader.source(block, {}, sets, where))

    entries: list[Entry] = []
    raw_sources = top.get("sources", [])
    if not isinstance(raw_sources, list):
        raise reader.fail("sources", "expected a list")
    for index, raw_entry in enumerate(raw_sources):
        where = f"sources[{index}]"
        entry = dict(reader.mapping(raw_entry, where))
        key = reader.logsource(entry.pop("logsource", None), f"{where}.logsource")
        entries.append(Entry(key, _candidates(reader, key, entry, where, defaults, sets, generated)))
    if family is not None:
        stated = {entry.key for entry in entries}
        entries.extend(
            Entry(key, (generated(key, f"{WINDOWS_EVENTS} ({key})"),)) for key in windows if key not in stated
        )
    if site is not None:
        entries = _apply_site(entries, site, defaults, sets, generated)
    return tuple(sorted(entries, key=lambda entry: -entry.key.specificity))


@cache
def target_mapping(target: str) -> tuple[Entry, ...]:
    return load_mapping(mappings_folder() / f"{target}.yml")


def logsource_values(logsource: SigmaLogSource) -> dict[str, str]:
    """Template values for a catch-all entry: each part, and the parts joined (`windows_file_access`)."""
    parts = {key: (getattr(logsource, key) or "").lower() for key in ("product", "service", "category")}
    present = [value for value in parts.values() if value]
    return {**parts, "logsource": "_".join(present), "dataset": ".".join(present)}


def entry_for(entries: Sequence[Entry], logsource: SigmaLogSource) -> Entry | None:
    """The most specific entry matching a rule's log source (file order breaks ties)."""
    return next((entry for entry in entries if entry.key.matches(logsource)), None)
