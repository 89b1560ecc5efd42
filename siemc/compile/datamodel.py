"""What each SIEM really has: the fields of every source, as the vendor's standard ingestion writes them.

A mapping file (backends/mappings/<target>.yml) says where siemc *looks* for a Sigma field; a data
model (backends/datamodels/<target>.yml) says which fields the SIEM's own parser, connector or
integration *produces* for each source, from the vendor's published artifacts, each fact with its
provenance. The compile stage checks every field an output reads against the model of the source it
selects: a field the source never has makes the output `unsupported: <source> has no field X`
instead of a query that silently matches nothing.

    target: kql
    sources:
      DeviceProcessEvents:                    # a source `name` of the mapping file
        provenance:                           # where the facts come from: pages, repo paths
          - Microsoft Learn, "DeviceProcessEvents table in the advanced hunting schema"
        fields:                               # field -> type, or {type, from}: `from` names the
          Timestamp: datetime                 # raw event field (Sysmon / Windows event data name,
          FileName: {type: string, from: ImageName}   # as Sigma spells it) the vendor's parser
          FolderPath: {type: string, from: Image}     # fills the field from (a list: events
                                                      # of several kinds fill it from several)
        open: [EventData]                     # fields whose keys vary (dynamic / map fields):
                                              # EventData.<anything> is a field of the source
        raw: EventData.{name}                 # where the parser keeps a raw field no `from` takes

`as` says how the vendor's ingestion rewrites the raw value: `device_path` is a Windows path as the
kernel names it (`C:\\x.exe` stored as `\\Device\\HarddiskVolume3\\x.exe`, as Falcon sensors report it).
`xml_attribute` is an XML attribute's text kept with its quotes (`'Service Control Manager'`, as the
Splunk Add-on for Microsoft Windows extracts the System element's attributes of XmlWinEventLog).
`account_domain` and `account_name` are the two parts of a Windows account `DOMAIN\\name` (Sysmon's
`User`) that the vendor keeps in two fields (Defender's AccountDomain and AccountName, ECS user.domain
and user.name); both name the same `from`, and an account without a backslash is a name alone.

Field names are written as the mapping file's native names read them, unquoted (AQL's "Process
Name" is `Process Name`, Sumo Logic's %"fields.X" is `fields.X`). A source without a model is not
checked: `checked_sources` says which are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml

from siemc.resources import backends_folder

_TOP_KEYS = {"target", "sources"}
_SOURCE_KEYS = {"provenance", "fields", "open", "raw"}
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _device_path(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 2 and value[0].isalpha() and value[1:3] == ":\\":
        return "\\Device\\HarddiskVolume3\\" + value[3:]
    return value


def _xml_attribute(value: Any) -> Any:
    return f"'{value}'" if isinstance(value, str) else value


def _account_domain(value: Any) -> Any:
    if isinstance(value, str):
        return value.rpartition("\\")[0] if "\\" in value else None
    return value


def _account_name(value: Any) -> Any:
    return value.rpartition("\\")[2] if isinstance(value, str) else value


# Field types that hold true or false (Elasticsearch's `boolean`, Kusto's `bool`): the vendor stores a
# raw event's "true" as the boolean, and a query compares it with a boolean.
BOOLEAN_TYPES = frozenset({"boolean", "bool"})
INTEGER_TYPES = frozenset({"int", "long"})
# The texts of the booleans, in any case once lowered.
BOOLEAN_TEXTS = {"true": True, "false": False}


def _as_boolean(value: Any) -> Any:
    return BOOLEAN_TEXTS.get(value.lower(), value) if isinstance(value, str) else value


# `as:` value rewrites of a vendor's ingestion (a field's `from` value -> the value it stores)
VALUE_FORMS = {
    "device_path": _device_path,
    "xml_attribute": _xml_attribute,
    "account_domain": _account_domain,
    "account_name": _account_name,
}


_ACCOUNT_FORMS = ("account_domain", "account_name")


class DataModelError(Exception):
    """A data-model file is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class SourceModel:
    name: str
    provenance: tuple[str, ...]
    fields: Mapping[str, str]  # field -> type, as the vendor states it
    open: tuple[str, ...] = ()  # fields holding keys of their own (dynamic, maps, nested records)
    origins: Mapping[str, str] = field(default_factory=dict)  # field -> the raw field it is filled from
    raw: str | None = None  # `EventData.{name}`: where a raw field no origin takes is kept
    forms: Mapping[str, str] = field(default_factory=dict)  # field -> VALUE_FORMS name (`as:`)
    # field -> further raw fields it is filled from, where events of several kinds fill it from
    # different ones (`from: [TargetFilename, OriginalFileName]`: QRadar's "Filename")
    also_from: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @cached_property
    def _filled_from(self) -> dict[str, tuple[str, ...]]:
        """Raw field -> the fields filled from it (a model lists thousands; an event holds a few)."""
        filled: dict[str, list[str]] = {}
        for name, origin in self.origins.items():
            for raw in (origin, *self.also_from.get(name, ())):
                filled.setdefault(raw, []).append(name)
        return {origin: tuple(names) for origin, names in filled.items()}

    def event(self, raw_event: Mapping[str, Any]) -> dict[str, Any]:
        """A raw event (Sigma field names) as the vendor's ingestion stores it in this source: what the
        test engines run siemc's queries over, independent of siemc's own mapping files."""
        stored: dict[str, Any] = {}
        for origin, value in raw_event.items():
            for name in self._filled_from.get(origin, ()):
                stored[name] = VALUE_FORMS[self.forms[name]](value) if name in self.forms else value
                if name in self.booleans:
                    stored[name] = _as_boolean(stored[name])
        if self.raw is not None:
            stored.update(
                {
                    self.raw.format(name=name): value
                    for name, value in raw_event.items()
                    if name not in self._filled_from
                }
            )
        return stored

    @cached_property
    def booleans(self) -> frozenset[str]:
        """The fields that hold true or false."""
        return frozenset(name for name, kind in self.fields.items() if kind in BOOLEAN_TYPES)

    @cached_property
    def typed_columns(self) -> dict[str, str]:
        """The fields a query must compare as their type holds them: booleans and integers (a language
        that types its fields rejects a string compared with them)."""
        integers = {name: kind for name, kind in self.fields.items() if kind in INTEGER_TYPES}
        return {**dict.fromkeys(self.booleans, "bool"), **integers}

    @cached_property
    def account_domains(self) -> dict[str, str]:
        """Name field -> the domain field of the same account (`as: account_name` / `account_domain`
        filled from one raw field)."""
        domains = {self.origins[name]: name for name, form in self.forms.items() if form == "account_domain"}
        return {
            name: domains[self.origins[name]]
            for name, form in self.forms.items()
            if form == "account_name" and self.origins[name] in domains
        }

    @cached_property
    def account_parts(self) -> dict[str, str]:
        """Either part of a split account -> its name field."""
        return {part: name for name, domain in self.account_domains.items() for part in (name, domain)}

    def has(self, field: str) -> bool:
        """Whether events of the source carry `field` (a key under an open field counts)."""
        if field in self.fields:
            return True
        return any(_under(field, parent) for parent in self.open)


def _under(field: str, parent: str) -> bool:
    # EventData.Image, additional.fields["Image"], fields.EventData.Image: a key below the open field.
    return len(field) > len(parent) and field.startswith(parent) and field[len(parent)] in ".["


def models_folder() -> Path:
    return backends_folder() / "datamodels"


def load_datamodel(path: Path) -> dict[str, SourceModel]:
    """Every source model of one data-model file; DataModelError names the file and the key."""

    def fail(where: str, problem: str) -> DataModelError:
        return DataModelError(f"{path}: {where}: {problem}")

    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as error:
        raise DataModelError(f"{path}: {error}") from None
    if not isinstance(document, dict):
        raise fail("top level", "expected a mapping")
    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        raise fail(unknown[0], "unknown top-level key")
    sources = document.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise fail("sources", "expected a mapping of source name to model")
    models: dict[str, SourceModel] = {}
    for name, block in sources.items():
        where = f"sources.{name}"
        if not isinstance(block, dict):
            raise fail(where, "expected a mapping")
        unknown = sorted(set(block) - _SOURCE_KEYS)
        if unknown:
            raise fail(f"{where}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(_SOURCE_KEYS))})")
        provenance = block.get("provenance")
        if not (isinstance(provenance, list) and provenance and all(isinstance(p, str) for p in provenance)):
            raise fail(f"{where}.provenance", "expected a non-empty list of sources for the facts")
        raw_fields = block.get("fields")
        if not isinstance(raw_fields, dict) or not raw_fields:
            raise fail(f"{where}.fields", "expected a mapping of field name to type")
        types: dict[str, str] = {}
        origins: dict[str, str] = {}
        also_from: dict[str, tuple[str, ...]] = {}
        forms: dict[str, str] = {}
        for name_, spec in raw_fields.items():
            kind = spec
            origin = spec.get("from") if isinstance(spec, dict) else None
            if isinstance(origin, list) and origin and all(isinstance(o, str) for o in origin):
                if len(origin) > 1:
                    also_from[str(name_)] = tuple(origin[1:])
                origin = origin[0]
            if isinstance(spec, dict) and set(spec) <= {"type", "from", "as"} and isinstance(origin, str):
                kind, origins[str(name_)] = spec.get("type"), origin
                if "as" in spec:
                    if spec["as"] not in VALUE_FORMS:
                        raise fail(f"{where}.fields.{name_}.as", f"expected one of {', '.join(VALUE_FORMS)}")
                    forms[str(name_)] = spec["as"]
            if not isinstance(name_, str) or not isinstance(kind, str) or not kind:
                raise fail(f"{where}.fields.{name_}", "expected a type, or {type: T, from: RAW_FIELD}")
            types[name_] = kind
        halves = {form: {origins[n] for n, f in forms.items() if f == form} for form in _ACCOUNT_FORMS}
        if halves["account_domain"] != halves["account_name"]:
            raise fail(f"{where}.fields", "account_domain and account_name come in pairs of one from")
        if any(forms.get(name) in _ACCOUNT_FORMS for name in also_from):
            raise fail(f"{where}.fields", "an account's parts are filled from one raw field")
        open_fields = block.get("open", [])
        if not isinstance(open_fields, list) or any(f not in types for f in open_fields):
            raise fail(f"{where}.open", "expected a list of fields of the source")
        raw = block.get("raw")
        if raw is not None and (not isinstance(raw, str) or "{name}" not in raw):
            raise fail(f"{where}.raw", "expected a template holding {name}")
        models[str(name)] = SourceModel(
            str(name), tuple(provenance), types, tuple(open_fields), origins, raw, forms, also_from
        )
    return models


@cache
def target_datamodel(target: str) -> dict[str, SourceModel]:
    """The target's data model (empty when the target has no data-model file yet)."""
    path = models_folder() / f"{target}.yml"
    return load_datamodel(path) if path.is_file() else {}
