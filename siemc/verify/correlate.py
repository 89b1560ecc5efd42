"""Reference semantics of Sigma correlation rules, defined once, over timestamped events.

1. Each event is tested against the base rules (only against the one it is tagged with, when it is):
   every base rule it matches makes one *hit* (time, base rule, event).
2. A hit's group is the value of each group-by field in its event, read through the field aliases of
   its base rule (a field may be a derived column of the base rule: its value for the event).
   Values compare as text, exactly (case-sensitive). A hit missing a group-by field, or holding the
   empty string there, is in no group.
3. The hits of a group are cut into windows. The reference window is a *sliding* one anchored on
   each hit: the hits at or after the anchor and at most `timespan` after it (both ends included).
   Targets whose SIEM cuts time otherwise are checked against the same rule under their own window
   (`Tumbling`: fixed bins of `timespan` from an origin, as `bin()` / `timeslice` do; `Last`: the one
   window of `timespan` before the search runs; `SlidingOpenEnd`: a window from each hit's time that
   holds only hits less than `timespan` after it, as YARA-L's sliding windows do).
4. A window is reported when its aggregate satisfies the condition:
   - event_count: the number of hits; value_count: the number of distinct (text) values of the field;
     value_sum / value_avg: the sum / mean of the field's numeric values; value_median: the middle
     value (the mean of the two middle ones for an even count); value_percentile: the nearest-rank
     percentile (the smallest value with at least p% of the values at or below it). Hits without a
     value (or without a numeric one for sum/avg/median/percentile) do not count; a window with no
     value has no aggregate and is not reported.
   - temporal: the number of different base rules with a hit in the window (the default condition is
     all of them).
   - temporal_ordered: whether the window holds hits of the rules in the order listed, each later
     than the previous one (hits at the same time are in the order the events were received).
   Hits that fall in no window satisfying the condition are not reported; a group is reported once
   per window that satisfies it (for sliding windows: once, with its first such anchor).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sigma.correlations import SigmaCorrelationType

from siemc.compile.correlation import Correlation
from siemc.verify.evaluate import Evaluator

Event = Mapping[str, Any]
GroupKey = tuple[str, ...]


@dataclass(frozen=True)
class Sliding:
    """The reference: a window of `timespan` starting at each hit, both ends included."""


@dataclass(frozen=True)
class SlidingOpenEnd:
    """A window from each hit's time to `timespan` after it, that end excluded: the hits at or after the
    anchor's time (hits of the same time, whatever their arrival) and less than `timespan` after it."""


@dataclass(frozen=True)
class Tumbling:
    """Fixed, adjacent bins of `timespan` counted from `origin` (a bin includes its start only)."""

    origin: datetime = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Last:
    """One window: the `timespan` up to `now`, both ends included (a search over the last N minutes)."""

    now: datetime


Window = Sliding | SlidingOpenEnd | Tumbling | Last
# Kusto's bin() rounds datetimes down to multiples of the span counted from 0001-01-01.
KUSTO_ORIGIN = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Hit:
    order: int  # position of the event in the input
    time: datetime
    base: int  # index of the base rule in `rules`
    event: Event


@dataclass(frozen=True)
class Group:
    """A group the rule reports: its group-by values, and the start of the window (bins only)."""

    key: Mapping[str, str]
    start: datetime | None = None
    value: float | None = None  # the aggregate (counting types)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if text != "" else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _get(event: Event, name: str) -> Any:
    if name in event:
        return event[name]
    node: Any = event
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def hits(
    correlation: Correlation,
    events: Sequence[Event],
    times: Sequence[datetime],
    tags: Sequence[str | None] | None = None,
    empty_is_null: bool = False,
) -> list[Hit]:
    """Step 1: every (event, base rule) pair where the base rule matches the event."""
    evaluators = [
        Evaluator.for_detection(
            base.detection, correlation.site.evaluation_values(), empty_is_null=empty_is_null
        )
        for base in correlation.bases
    ]
    found = []
    for order, (event, time) in enumerate(zip(events, times, strict=True)):
        tag = tags[order] if tags is not None else None
        for index, (base, evaluator) in enumerate(zip(correlation.bases, evaluators, strict=True)):
            if tag is not None and tag != base.reference:
                continue
            if evaluator.matches(event):
                # A correlation field may name a derived column of the base rule: its value is the
                # column's for this event.
                derived = evaluator.derived(event)
                found.append(Hit(order, time, index, {**event, **derived} if derived else event))
    return found


def _aggregate(correlation: Correlation, window: Sequence[Hit]) -> float | None:
    kind = correlation.kind
    if kind == SigmaCorrelationType.EVENT_COUNT:
        return float(len(window))
    if kind == SigmaCorrelationType.TEMPORAL:
        return float(len({hit.base for hit in window}))
    name = correlation.value_field
    assert name is not None
    raw = [_get(hit.event, correlation.field_for(correlation.bases[hit.base], name)) for hit in window]
    if kind == SigmaCorrelationType.VALUE_COUNT:
        return float(len({text for value in raw if (text := _text(value)) is not None}))
    numbers = sorted(number for value in raw if (number := _number(value)) is not None)
    if not numbers:
        return None
    if kind == SigmaCorrelationType.VALUE_SUM:
        return math.fsum(numbers)
    if kind == SigmaCorrelationType.VALUE_AVG:
        return math.fsum(numbers) / len(numbers)
    if kind == SigmaCorrelationType.VALUE_MEDIAN:
        middle = len(numbers) // 2
        return numbers[middle] if len(numbers) % 2 else (numbers[middle - 1] + numbers[middle]) / 2
    percentile = correlation.condition.percentile or 50
    # The nearest rank, ceil(p * n / 100), in integers (p / 100 * n in floats is 7.000000000000001 for
    # p = 7, n = 100: rank 8, where 7 values are 7%).
    rank = max(1, -(-percentile * len(numbers) // 100))
    return numbers[rank - 1]


def _in_order(correlation: Correlation, window: Sequence[Hit], ties_in_order: bool = True) -> bool:
    """Hits of rule 0, then rule 1, ... each strictly after the previous one in (time, arrival); a
    target that compares times only (`ties_in_order=False`) never orders two hits of the same time."""
    wanted = 0
    last: tuple[datetime, int] | None = None
    for hit in window:
        later = last is None or ((hit.time, hit.order) > last if ties_in_order else hit.time > last[0])
        if hit.base == wanted and later:
            last = (hit.time, hit.order)
            wanted += 1
            if wanted == len(correlation.bases):
                return True
    return False


def _satisfied(
    correlation: Correlation, window: Sequence[Hit], ties_in_order: bool = True
) -> tuple[bool, float | None]:
    if correlation.kind == SigmaCorrelationType.TEMPORAL_ORDERED:
        return _in_order(correlation, window, ties_in_order), None
    value = _aggregate(correlation, window)
    if value is None:
        return False, None
    return correlation.holds(value), value


def group_key(correlation: Correlation, hit: Hit) -> GroupKey | None:
    """Step 2: the hit's group-by values, or None when one is missing or empty."""
    key = []
    for name in correlation.group_by:
        text = _text(_get(hit.event, correlation.field_for(correlation.bases[hit.base], name)))
        if text is None:
            return None
        key.append(text)
    return tuple(key)


def correlate(
    correlation: Correlation,
    events: Sequence[Event],
    times: Sequence[datetime],
    tags: Sequence[str | None] | None = None,
    window: Window = Sliding(),
    empty_is_null: bool = False,
    ties_in_order: bool = True,
) -> list[Group]:
    """The groups the correlation reports over the events, under a window semantics (and, for
    `temporal_ordered` on targets that compare times only, without ordering hits of the same time)."""
    groups: dict[GroupKey, list[Hit]] = {}
    for hit in hits(correlation, events, times, tags, empty_is_null):
        key = group_key(correlation, hit)
        if key is not None:
            groups.setdefault(key, []).append(hit)
    span = timedelta(seconds=correlation.timespan_seconds)
    reported: list[Group] = []
    for key, members in sorted(groups.items()):
        members.sort(key=lambda hit: (hit.time, hit.order, hit.base))
        named = dict(zip(correlation.group_by, key, strict=True))
        if isinstance(window, Sliding):
            for position, anchor in enumerate(members):
                inside = [hit for hit in members[position:] if hit.time - anchor.time <= span]
                ok, value = _satisfied(correlation, inside, ties_in_order)
                if ok:
                    reported.append(Group(named, None, value))
                    break
            continue
        if isinstance(window, SlidingOpenEnd):
            for anchor in members:
                inside = [hit for hit in members if anchor.time <= hit.time < anchor.time + span]
                ok, value = _satisfied(correlation, inside, ties_in_order)
                if ok:
                    reported.append(Group(named, None, value))
                    break
            continue
        if isinstance(window, Last):
            inside = [hit for hit in members if window.now - span <= hit.time <= window.now]
            ok, value = _satisfied(correlation, inside, ties_in_order) if inside else (False, None)
            if ok:
                reported.append(Group(named, window.now - span, value))
            continue
        bins: dict[int, list[Hit]] = {}
        for hit in members:
            bins.setdefault((hit.time - window.origin) // span, []).append(hit)
        for number, inside in sorted(bins.items()):
            ok, value = _satisfied(correlation, inside, ties_in_order)
            if ok:
                reported.append(Group(named, window.origin + number * span, value))
    return reported
