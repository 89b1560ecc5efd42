"""Translate Sigma-named events into a target's native schema, by that target's own field mapping."""

from __future__ import annotations

import re
from typing import Any

from siemc.compile.datamodel import target_datamodel
from siemc.compile.fields import FILE_NAME_FIELDS
from siemc.compile.mappings import column_name
from siemc.compile.target import Source


def file_name(path: str) -> str:
    return re.split(r"[\\/]", path)[-1]


def native_event(event: dict[str, Any], source: Source, target: str | None = None) -> dict[str, Any]:
    """Flat dict of native field -> value; the file-name fields are derived from the paths.

    Where the target has a data model of the source (backends/datamodels/), the event is stored as
    the vendor's ingestion stores it, from the model's `from` fields, not through siemc's own mapping
    file: so a mapping that reads a field the vendor's parser renames or drops fails the tests. Only
    a model field without a `from` takes its value through the mapping.
    """
    sigma = dict(event)
    for path_field, name_field in FILE_NAME_FIELDS.items():
        if path_field in sigma and name_field not in sigma:
            sigma[name_field] = file_name(sigma[path_field])
    model = target_datamodel(target).get(source.name) if target else None
    if model is not None and (model.origins or model.raw):
        stored = model.event(sigma)
        # A model field no vendor artifact ties to a Sigma field (no `from`) holds what the mapping
        # (a site's `fields: {Computer: host}`, say) says it holds: the site's claim about its data.
        for name, value in sigma.items():
            native = source.native_field(name)
            field = column_name(native) if native is not None else None
            if field in model.fields and field not in model.origins and field not in stored:
                stored[field] = _stored(source, name, value)
        return stored
    native = {name: source.native_field(name) for name in sigma}
    return {
        column_name(field): _stored(source, name, sigma[name])
        for name, field in native.items()
        if field is not None
    }


def _stored(source: Source, name: str, value: Any) -> Any:
    """A value as the source keeps it where its ingestion rewrites the field's values (`values`)."""
    table = source.values.get(name)
    if table is None:
        return value
    return table.get(str(value).lower(), value)


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """`{"process.name": x}` -> `{"process": {"name": x}}` (ECS documents)."""
    root: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = root
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return root
