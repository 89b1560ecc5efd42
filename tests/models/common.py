"""What every language model shares: its interface, its result row and its syntax error.

Interface of a model module `tests/models/<lang>.py`:

    parse(query: str) -> object
        The parse tree (or a model-specific AST). Raises `ModelSyntaxError` on text the real
        language rejects within the modelled subset, and on anything outside the subset.

    run(query: str, events: Sequence[Mapping[str, Any]], now: datetime) -> list[Row]
        Evaluate the whole query (selector, filter, derived columns, projection, sort, time window)
        over native events. An event is a flat mapping of native field name -> value (str, int,
        float, bool, None); dotted names stay flat (`"target.process.file.full_path"`). The time
        field, when an event has one, holds a timezone-aware `datetime`; `now` anchors relative
        time windows. A field missing from an event is absent (null), not "".
        Returns the output rows in output order; `Row.index` is the position in `events` of the
        event that produced the row, `Row.fields` the row's columns after the projection (every
        event field when the query projects nothing), derived columns included.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class ModelSyntaxError(ValueError):
    """The query is not valid in the modelled language (or not in the subset the model covers)."""


@dataclass(frozen=True)
class Row:
    index: int
    fields: dict[str, Any] = field(default_factory=dict)


# Boolean nodes of the model ASTs that share them (SPL search expressions, Sumo Logic, YARA-L).
# Only the shape is shared: each model evaluates them with its own null and case rules.


@dataclass(frozen=True)
class And:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    item: Any


# The comparison operators as the modelled languages write them, applied once a model has brought
# both sides to one kind (numbers or text) by its own rules.
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
