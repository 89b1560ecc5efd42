"""Event files for `siemc eval`: a JSON array, JSON lines, or Windows event-log records as JSON or XML.

Event-log records (EVTX rendered as JSON, as in SigmaHQ's regression data) look like
`{"Event": {"System": {...}, "EventData": {...}}}`; they are flattened to Sigma field names:
`EventData` (or the single element under `UserData`) gives the event's own fields, and `System`
gives EventID, Channel, Computer, ... with XML attributes joined by `_` (`Provider_Name`,
`TimeCreated_SystemTime`, `Security_UserID`). Files hold one record, an array, JSON lines or
several pretty-printed records one after the other: all are read as a sequence of JSON values.
A file starting with `<` is event-log XML (`<Event>` elements, as `wevtutil qe /f:xml` writes them,
or wrapped in one `<Events>` element, as Event Viewer saves them): each record is read as its JSON
rendering would be.

Winlogbeat's own JSON output (`winlog.channel`, `winlog.event_id`, `winlog.event_data`) is flattened the
same way. A record that names its channel (`Channel`, with `EventID`, whether flattened from a record
or flat as exported, e.g. by NXLog) is evaluated only by rules whose log source covers that channel and
event id (`log_source_filter`); events without a channel are evaluated by every rule.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sigma.rule import SigmaLogSource

from siemc.compile.logsources import record_filter
from siemc.diagnostics import SiemcError

_ATTRIBUTES = "#attributes"
_TEXT = "#text"

# Security 4688 (process creation) names the process paths its own way; Sigma rules for the
# process_creation category use the Sysmon names, so the record gets those as well.
_SECURITY_PROCESS_CREATION_NAMES = {"NewProcessName": "Image", "ParentProcessName": "ParentImage"}


@dataclass(frozen=True)
class EventFile:
    events: list[dict[str, Any]]
    event_log: bool  # at least one record was a Windows event-log record (log-source filter applies)


def is_event_log_record(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and isinstance(value.get("Event"), Mapping)
        and isinstance(value["Event"].get("System"), Mapping)
    )


def _flatten_xml(prefix: str, value: Any, into: dict[str, Any]) -> None:
    """XML rendered as JSON: attributes and text become `prefix_name` / `prefix` fields."""
    if not isinstance(value, Mapping):
        into[prefix] = value
        return
    for key, inner in value.items():
        if key == _TEXT:
            into[prefix] = inner
        elif key == _ATTRIBUTES and isinstance(inner, Mapping):
            for name, attribute in inner.items():
                if name != "xmlns":
                    into[f"{prefix}_{name}"] = attribute
        else:
            _flatten_xml(f"{prefix}_{key}", inner, into)


def _data_fields(data: Any, into: dict[str, Any]) -> None:
    """EventData: named values, either as keys or as `Data` elements with a Name attribute."""
    if not isinstance(data, Mapping):
        return
    for key, value in data.items():
        if key == _ATTRIBUTES:
            continue
        if key == "Data" and isinstance(value, list):
            unnamed = []
            for item in value:
                name = item.get(_ATTRIBUTES, {}).get("Name") if isinstance(item, Mapping) else None
                if name is None:
                    unnamed.append(item.get(_TEXT) if isinstance(item, Mapping) else item)
                else:
                    into[str(name)] = item.get(_TEXT)
            if unnamed:
                into["Data"] = unnamed
        elif isinstance(value, Mapping) and _TEXT in value:
            into[key] = value[_TEXT]
        else:
            into[key] = value


def flatten_event_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """One event-log record as a flat mapping of Sigma field names."""
    event = record["Event"]
    fields: dict[str, Any] = {}
    _data_fields(event.get("EventData"), fields)
    user_data = event.get("UserData")
    if isinstance(user_data, Mapping):
        for element in user_data.values():
            _data_fields(element, fields)
    # System fields last: EventID and Channel must be the record's own, whatever EventData holds.
    for key, value in event["System"].items():
        _flatten_xml(key, value, fields)
    return _with_sigma_names(fields)


# Winlogbeat's own output (before any ingest pipeline renames fields): the record's System values
# under `winlog`, its event data under `winlog.event_data` (or `user_data`) with the Windows names.
_WINLOGBEAT_SYSTEM = {
    "channel": "Channel",
    "event_id": "EventID",
    "computer_name": "Computer",
    "provider_name": "Provider_Name",
    "record_id": "EventRecordID",
}


def is_winlogbeat_record(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and isinstance(value.get("winlog"), Mapping)
        and isinstance(value["winlog"].get("channel"), str)
    )


def flatten_winlogbeat_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A Winlogbeat event as a flat mapping of Sigma field names, as an event-log record is flattened."""
    winlog = record["winlog"]
    fields: dict[str, Any] = {}
    for part in ("event_data", "user_data"):
        if isinstance(winlog.get(part), Mapping):
            fields.update(winlog[part])
    for name, sigma_name in _WINLOGBEAT_SYSTEM.items():
        if winlog.get(name) is not None:
            fields[sigma_name] = winlog[name]
    return _with_sigma_names(fields)


def _with_sigma_names(fields: dict[str, Any]) -> dict[str, Any]:
    if fields.get("Channel") == "Security" and str(fields.get("EventID")) == "4688":
        for native, sigma_name in _SECURITY_PROCESS_CREATION_NAMES.items():
            if native in fields and sigma_name not in fields:
                fields[sigma_name] = fields[native]
    return fields


def names_channel(event: Mapping[str, Any]) -> bool:
    """Whether an event says which event log it comes from (a non-empty `Channel`)."""
    channel = event.get("Channel")
    return isinstance(channel, str) and bool(channel.strip())


def log_source_filter(logsource: SigmaLogSource) -> Callable[[Mapping[str, Any]], bool] | None:
    """The events a rule of this log source is evaluated on: a record naming its channel only if the
    log source covers its channel and event id (siemc.compile.logsources, the same table every
    target's Windows event-log sources come from); an event without a channel always. None: the log
    source is no Windows event-log source, every event is evaluated."""
    covers = record_filter(logsource)
    if covers is None:
        return None
    return lambda event: not names_channel(event) or covers(event)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_value(element: ElementTree.Element) -> Any:
    """One XML element as its JSON rendering (`#attributes`, `#text`); `Data` elements as a list."""
    attributes = {_local(name): value for name, value in element.attrib.items()}
    children = list(element)
    if not children and not attributes:
        return element.text
    node: dict[str, Any] = {}
    if attributes:
        node[_ATTRIBUTES] = attributes
    for child in children:
        name, value = _local(child.tag), _xml_value(child)
        if name == "Data":
            node.setdefault(name, []).append(value)
        elif name in node:
            node[name] = [*(node[name] if isinstance(node[name], list) else [node[name]]), value]
        else:
            node[name] = value
    if element.text is not None and element.text.strip():
        node[_TEXT] = element.text
    return node


_XML_DECLARATION = re.compile(r"<\?xml[^>]*\?>")


def parse_xml_events(text: str) -> EventFile:
    """Event-log XML: every `<Event>` element holding a `<System>`, in document order."""
    # Declarations are blanked (not removed) so that parser line numbers stay the file's own.
    body = _XML_DECLARATION.sub(lambda m: " " * len(m.group()), text)
    try:
        root = ElementTree.fromstring(f"<siemc-events>{body}</siemc-events>")
    except ElementTree.ParseError as error:
        raise SiemcError(f"invalid event-log XML: {error.msg}", error.position[0]) from None
    events = []
    for element in root.iter():
        if _local(element.tag) == "Event" and any(_local(c.tag) == "System" for c in element):
            events.append(flatten_event_record({"Event": _xml_value(element)}))
    return EventFile(events, bool(events))


def parse_events(text: str) -> EventFile:
    """Every JSON value in the text, in order; arrays are spread into their elements."""
    if text.lstrip(" \t\r\n\ufeff").startswith("<"):
        return parse_xml_events(text)
    decoder = json.JSONDecoder()
    events: list[dict[str, Any]] = []
    event_log = False
    position = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n\ufeff":
            position += 1
        if position >= len(text):
            break
        line = text.count("\n", 0, position) + 1
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise SiemcError(f"invalid JSON: {error.msg}", error.lineno) from None
        for item in value if isinstance(value, list) else [value]:
            if is_event_log_record(item):
                events.append(flatten_event_record(item))
                event_log = True
            elif is_winlogbeat_record(item):
                events.append(flatten_winlogbeat_record(item))
                event_log = True
            elif isinstance(item, dict):
                events.append(_with_sigma_names(dict(item)) if names_channel(item) else item)
            else:
                raise SiemcError(f"an event must be a JSON object, got {type(item).__name__}", line)
    return EventFile(events, event_log)


def load_events(path: Path) -> EventFile:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise SiemcError(f"cannot read events: {error}") from None
    return parse_events(text)
