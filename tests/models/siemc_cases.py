"""siemc's own output as test cases for every language model: the committed query files, and the
T1219 detection run over the hand-specified cases (tests/t1219_cases.py).

The SigmaHQ corpus sample is checked once for every model, in tests/test_corpus.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.models.common import Row

REPO = Path(__file__).resolve().parents[2]
T1219_RULE = REPO / "detections" / "t1219_remote_access_tools.yml"


class Model(Protocol):
    def parse(self, query: str) -> object: ...

    def run(self, query: str, events: Sequence[Mapping[str, Any]], now: datetime) -> list[Row]: ...


def output_files(target: str) -> list[Path]:
    """siemc's committed outputs for a target (files named `*.<target>`): the build and the golden
    files."""
    return sorted((REPO / "build" / target).glob(f"*.{target}")) + sorted(
        (REPO / "tests" / "golden" / target).glob(f"*.{target}")
    )


def output_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def query_text(path: Path) -> str:
    """The query in an output file; skips the test for a file that records an error instead."""
    text = path.read_text(encoding="utf-8")
    if text.startswith(("error:", "unsupported:")):
        pytest.skip(text.splitlines()[0])
    return text


def assert_t1219_finds_exactly_the_tools(
    model: Model,
    target: str,
    now: datetime,
    *,
    in_scope: Callable[[dict[str, Any], datetime], dict[str, Any]],
    out_of_scope: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    image: tuple[str, str],
    time_column: str | None,
    oldest_first: bool = False,
) -> None:
    """Run siemc's T1219 query for `target` over one native event per case and check that the rows
    are exactly the remote-access tools, with their category and flags.

    in_scope: the case's native event, and its time (case i is i minutes old), as an event the
        query's scope (log source, event type, time window) takes in.
    out_of_scope: changes to the first case's event that put it outside that scope; none may match.
    columns: the output columns, in order. image: (output column, event field) of the tool's path.
    time_column: when given, the rows must be newest first by it.
    oldest_first: feed the events oldest first, so that the query's sort has work to do.
    """
    from siemc.backends import get_target

    from tests.conftest import load_pack_rule
    from tests.native import native_event
    from tests.t1219_cases import TOOLS, cases

    detection = load_pack_rule()
    source = get_target(target).source_for(detection.sigma)
    text = query_text(REPO / "build" / target / f"t1219_remote_access_tools.{target}")
    all_cases = cases()
    events = [
        in_scope(native_event(case.event, source), now - timedelta(minutes=minutes))
        for minutes, case in enumerate(all_cases)
    ]
    events += [events[0] | dict(change) for change in out_of_scope]
    # order[k]: which of `events` the model is given k-th.
    order = list(range(len(events)))[:: -1 if oldest_first else 1]
    fed = [events[i] for i in order]

    rows = model.run(text, fed, now)

    flag = {True: "true", False: "false"}
    expected: dict[int, tuple[str | None, str, str]] = {}
    for index, case in enumerate(all_cases):
        if case.matches:
            assert case.is_service is not None and case.is_user_launched is not None
            expected[index] = (case.category, flag[case.is_service], flag[case.is_user_launched])
    got = {
        order[r.index]: (r.fields["RATCategory"], r.fields["IsService"], r.fields["IsUserLaunched"])
        for r in rows
    }
    assert got == expected
    assert len(rows) == len(TOOLS) == 33
    assert all(list(r.fields) == list(columns) for r in rows)
    column, field = image
    assert all(r.fields[column] == fed[r.index][field] for r in rows)
    if time_column is not None:
        times = [r.fields[time_column] for r in rows]
        assert times == sorted(times, reverse=True)
