"""Correlation rules: loading, the reference semantics, and each target's query against the reference
on events placed inside, across and outside window edges (tests/correlation_engines.py runs them)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from siemc.compile.build import compile_detection
from siemc.compile.correlation import Correlation, parse_rule_file
from siemc.config import DEFAULT, SiteConfig, load_config
from siemc.diagnostics import SiemcError, Unsupported
from siemc.verify.correlate import KUSTO_ORIGIN, Sliding, SlidingOpenEnd, Tumbling, correlate
from tests.correlation_engines import TARGET_WINDOWS, expected_groups, run_correlation

PROCESS = """title: Remote access tool started
name: rat_process
id: 5b0f6c55-43a6-4a55-9d43-3f7a6e0b1c01
status: test
logsource: {category: process_creation, product: windows}
detection:
  selection: {Image|endswith: ['\\\\anydesk.exe', '\\\\teamviewer.exe', '\\\\rustdesk.exe']}
  condition: selection
"""
NETWORK = """title: Remote access relay contacted
name: rat_relay
id: 5b0f6c55-43a6-4a55-9d43-3f7a6e0b1c02
status: test
logsource: {category: network_connection, product: windows}
detection:
  selection: {DestinationHostname|endswith: '.net.anydesk.com'}
  condition: selection
"""


COMMAND = """title: Remote access tool started with a relay option
name: rat_command
id: 5b0f6c55-43a6-4a55-9d43-3f7a6e0b1c03
status: test
logsource: {category: process_creation, product: windows}
detection:
  selection: {CommandLine|contains: '--relay'}
  condition: selection
"""


def correlation_text(body: str, rules: str = "[rat_process]") -> str:
    return f"""title: Correlation under test
id: 5b0f6c55-43a6-4a55-9d43-3f7a6e0b1c10
status: test
level: high
correlation:
  rules: {rules}
  group-by: [Computer]
  timespan: 10m
{body}"""


def load(text: str, tmp_path: Path, name: str = "corr.yml", site: SiteConfig = DEFAULT) -> Correlation:
    (tmp_path / "process.yml").write_text(PROCESS)
    (tmp_path / "network.yml").write_text(NETWORK)
    (tmp_path / "command.yml").write_text(COMMAND)
    from siemc.compile.correlation import folder_library

    path = tmp_path / name
    path.write_text(text)
    loaded = parse_rule_file(text, path, site, library=folder_library([tmp_path]))
    assert isinstance(loaded, Correlation)
    return loaded


T0 = dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.UTC)  # on a 10-minute bin edge


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def process(host: str, image: str = "anydesk.exe") -> dict[str, Any]:
    return {"Computer": host, "Image": f"C:\\Tools\\{image}", "CommandLine": image}


def relay(host: str, port: int = 443) -> dict[str, Any]:
    return {"Computer": host, "DestinationHostname": "relay-1.net.anydesk.com", "DestinationPort": port}


# Per host, events placed against a 10-minute window: inside one bin, across a bin edge (one sliding
# window), 10 minutes and a second apart (no window), exactly 10 minutes apart (one sliding window,
# both ends included), non-matching events, and a matching event without the group-by field.
COUNT_EVENTS: list[tuple[float, dict[str, Any], str | None]] = [
    (1, process("inside"), None),
    (5, process("inside", "teamviewer.exe"), None),
    (9.99, process("inside"), None),
    (8, process("across"), None),
    (11, process("across", "rustdesk.exe"), None),
    (17, process("across"), None),
    (20, process("apart"), None),
    (25, process("apart"), None),
    (30 + 1 / 60, process("apart", "teamviewer.exe"), None),
    (40, process("edge"), None),
    (45, process("edge", "rustdesk.exe"), None),
    (50, process("edge", "teamviewer.exe"), None),
    (1, process("other", "notepad.exe"), None),
    (2, process("other", "notepad.exe"), None),
    (3, process("other", "notepad.exe"), None),
    (4, {"Image": "C:\\Tools\\anydesk.exe"}, None),
]

ORDER_EVENTS: list[tuple[float, dict[str, Any], str | None]] = [
    (1, process("in_order"), "rat_process"),
    (6, relay("in_order"), "rat_relay"),
    (0, relay("reversed"), "rat_relay"),
    (3, process("reversed"), "rat_process"),
    (12, process("at_edge"), "rat_process"),
    (22, relay("at_edge"), "rat_relay"),
    (30, process("too_late"), "rat_process"),
    (40 + 1 / 60, relay("too_late"), "rat_relay"),
    (58, process("across_bins"), "rat_process"),
    (61, relay("across_bins"), "rat_relay"),
    # The same time (received in order), and the same second: ordered by the reference and by targets
    # that order by arrival, never by those comparing times only (at whole seconds for UDM).
    (45, process("same_time"), "rat_process"),
    (45, relay("same_time"), "rat_relay"),
    (47 + 0.2 / 60, process("same_second"), "rat_process"),
    (47 + 0.7 / 60, relay("same_second"), "rat_relay"),
]


def command(host: str, image: str = "notepad.exe") -> dict[str, Any]:
    return {"Computer": host, "Image": f"C:\\Tools\\{image}", "CommandLine": f"{image} --relay x"}


# Two base rules on one log source: an event may match both (it then counts once per rule).
SAME_SOURCE_EVENTS: list[tuple[float, dict[str, Any], str | None]] = [
    (1, process("both"), None),
    (4, command("both"), None),
    (2, command("one_event_both_rules", "anydesk.exe"), None),
    (1, process("process_only"), None),
    (2, process("process_only"), None),
    (8, process("across"), None),
    (12, command("across"), None),
    (20, command("commands_only"), None),
    (21, command("commands_only"), None),
]

SAME_SOURCE_ORDER: list[tuple[float, dict[str, Any], str | None]] = [
    (1, process("in_order"), None),
    (3, command("in_order"), None),
    (1, command("reversed"), None),
    (3, process("reversed"), None),
    (5, command("one_event_both_rules", "anydesk.exe"), None),  # one event is never in order with itself
    (8, process("across"), None),
    (12, command("across"), None),
]

# Values for the median and percentiles: odd and even counts inside one bin (the even one's median at
# the bound, and just under it), ties, a window whose text order differs from its numeric order, values
# that are no numbers, and values across a bin edge.
RANK_EVENTS: list[tuple[float, dict[str, Any], str | None]] = [
    (1, relay("odd", 100), None),
    (2, relay("odd", 900), None),
    (3, relay("odd", 600), None),
    (1, relay("even", 400), None),
    (2, relay("even", 900), None),
    (3, relay("even", 100), None),
    (4, relay("even", 600), None),
    (11, relay("even_low", 400), None),
    (12, relay("even_low", 900), None),
    (13, relay("even_low", 100), None),
    (14, relay("even_low", 599), None),
    (21, relay("ties", 600), None),
    (22, relay("ties", 100), None),
    (23, relay("ties", 600), None),
    (24, relay("ties", 600), None),
    (1, relay("text_order", 9), None),  # in text order 10, 1000, 9: a median of 1000, a p75 of 9
    (2, relay("text_order", 10), None),
    (3, relay("text_order", 1000), None),
    (1, relay("no_number", "none"), None),
    (2, relay("no_number", 700), None),
    (3, relay("no_number", "x"), None),
    (4, relay("only_text", "none"), None),
    (8, relay("across", 400), None),
    (12, relay("across", 600), None),
    (31, relay("negative", -700), None),
    (32, relay("negative", 2000), None),
    (33, relay("negative", 650), None),
]

# Three rules in order (a tool starts, is given a relay option, then contacts the relay): in order, out
# of order, the middle rule missing, an earlier hit of the middle rule to pass over, the middle rule only
# before the first, across a bin edge, exactly a window apart, and two of the same time.
THREE_ORDER: list[tuple[float, dict[str, Any], str | None]] = [
    (1, process("in_order"), "rat_process"),
    (3, command("in_order"), "rat_command"),
    (6, relay("in_order"), "rat_relay"),
    (1, process("out_of_order"), "rat_process"),
    (3, relay("out_of_order"), "rat_relay"),
    (6, command("out_of_order"), "rat_command"),
    (1, process("no_middle"), "rat_process"),
    (5, relay("no_middle"), "rat_relay"),
    (0, command("pass_over"), "rat_command"),
    (1, process("pass_over"), "rat_process"),
    (2, command("pass_over"), "rat_command"),
    (4, relay("pass_over"), "rat_relay"),
    (2, command("middle_first"), "rat_command"),
    (5, process("middle_first"), "rat_process"),
    (8, relay("middle_first"), "rat_relay"),
    (8, process("across_bins"), "rat_process"),
    (9, command("across_bins"), "rat_command"),
    (11, relay("across_bins"), "rat_relay"),
    (30, process("at_edge"), "rat_process"),
    (35, command("at_edge"), "rat_command"),
    (40, relay("at_edge"), "rat_relay"),
    (21, process("same_time"), "rat_process"),
    (21, command("same_time"), "rat_command"),
    (23, relay("same_time"), "rat_relay"),
    (21, process("late_relay"), "rat_process"),
    (22, relay("late_relay"), "rat_relay"),
    (23, command("late_relay"), "rat_command"),
    (25, relay("late_relay"), "rat_relay"),
]

CASES: dict[str, tuple[str, str, list[tuple[float, dict[str, Any], str | None]]]] = {
    "temporal_ordered_same_source": (
        "  type: temporal_ordered\n",
        "[rat_process, rat_command]",
        SAME_SOURCE_ORDER,
    ),
    "temporal_ordered_three": (
        "  type: temporal_ordered\n",
        "[rat_process, rat_command, rat_relay]",
        THREE_ORDER,
    ),
    "temporal_same_source": ("  type: temporal\n", "[rat_process, rat_command]", SAME_SOURCE_EVENTS),
    "event_count_two_rules": (
        "  type: event_count\n  condition: {gte: 2}\n",
        "[rat_process, rat_command]",
        SAME_SOURCE_EVENTS,
    ),
    "event_count": ("  type: event_count\n  condition: {gte: 3}\n", "[rat_process]", COUNT_EVENTS),
    "event_count_gt": ("  type: event_count\n  condition: {gt: 2}\n", "[rat_process]", COUNT_EVENTS),
    # A range (the specification's conjunction of bounds): 2 or 3 events, not 1 and not 4.
    "event_count_range": (
        "  type: event_count\n  condition: {gte: 2, lte: 3}\n",
        "[rat_process]",
        COUNT_EVENTS
        + [
            (minute, process(host), None)
            for host in ("four", "four_last")
            for minute in ((31, 32, 33, 34) if host == "four" else (44, 46, 47, 48))
        ],
    ),
    "value_count_range": (
        "  type: value_count\n  condition: {gt: 1, lt: 3, field: Image}\n",
        "[rat_process]",
        COUNT_EVENTS,
    ),
    "value_count": (
        "  type: value_count\n  condition: {gte: 2, field: Image}\n",
        "[rat_process]",
        COUNT_EVENTS,
    ),
    "temporal": ("  type: temporal\n", "[rat_process, rat_relay]", ORDER_EVENTS),
    "temporal_ordered": ("  type: temporal_ordered\n", "[rat_process, rat_relay]", ORDER_EVENTS),
    "value_avg": (
        "  type: value_avg\n  condition: {gt: 500, field: DestinationPort}\n",
        "[rat_relay]",
        [
            (1, relay("inside", 443), None),
            (4, relay("inside", 600), None),
            (5, relay("inside", 700), None),
            (8, relay("across", 443), None),
            (12, relay("across", 600), None),
            (20, relay("low", 80), None),
            (21, relay("low", "none"), None),  # text is no number: it does not count
        ],
    ),
    "value_median": (
        "  type: value_median\n  condition: {gte: 500, field: DestinationPort}\n",
        "[rat_relay]",
        RANK_EVENTS,
    ),
    "value_median_lt": (
        "  type: value_median\n  condition: {lt: 500, field: DestinationPort}\n",
        "[rat_relay]",
        RANK_EVENTS,
    ),
    "value_percentile": (
        "  type: value_percentile\n  condition: {gte: 900, field: DestinationPort, percentile: 75}\n",
        "[rat_relay]",
        RANK_EVENTS,
    ),
    "value_percentile_low": (
        "  type: value_percentile\n  condition: {eq: 100, field: DestinationPort, percentile: 1}\n",
        "[rat_relay]",
        RANK_EVENTS,
    ),
    "value_avg_range": (
        "  type: value_avg\n  condition: {gt: 100, lte: 600, field: DestinationPort}\n",
        "[rat_relay]",
        RANK_EVENTS,
    ),
    "value_sum": (
        "  type: value_sum\n  condition: {gte: 1000, field: DestinationPort}\n",
        "[rat_relay]",
        [
            (1, relay("inside", 443), None),
            (4, relay("inside", 600), None),
            (8, relay("across", 443), None),
            (12, relay("across", 600), None),
            (20, relay("low", 80), None),
            (21, relay("low", 80), None),
        ],
    ),
}


# QRadar names no property for the computer's name (the AQL data model): its cases group by the
# account ("Username"), which the events then carry with the computer's values.
GROUP_FIELD = {"aql": "User"}
Placed = list[tuple[float, dict[str, Any], str | None]]


def _case(target: str, name: str) -> tuple[str, Placed]:
    """A case's correlation text and events, grouped by the field the target's data holds."""
    body, rules, placed = CASES[name]
    field = GROUP_FIELD.get(target, "Computer")
    if field == "Computer":
        return correlation_text(body, rules), placed
    text = correlation_text(body, rules).replace("group-by: [Computer]", f"group-by: [{field}]")
    return text, [(m, {**e, field: e["Computer"]} if "Computer" in e else e, t) for m, e, t in placed]


def _run(target: str, name: str, tmp_path: Path) -> tuple[set[Any], set[Any], Correlation]:
    text, placed = _case(target, name)
    correlation = load(text, tmp_path)
    events = [event for _, event, _ in placed]
    times = [at(minutes) for minutes, _, _ in placed]
    tags = [tag for _, _, tag in placed]
    try:
        query = compile_detection(correlation, target)
    except Unsupported as error:
        pytest.skip(f"{target} {name}: unsupported: {error.message}")
    return (
        run_correlation(target, correlation, query, events, times, tags),
        expected_groups(target, correlation, events, times, tags),
        correlation,
    )


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("target", sorted(TARGET_WINDOWS))
def test_target_agrees_with_reference_under_its_window(target: str, name: str, tmp_path: Path) -> None:
    got, expected, _ = _run(target, name, tmp_path)
    assert got == expected
    assert expected, "the case must make the rule report something"


def test_the_cases_tell_windows_apart(tmp_path: Path) -> None:
    """The events sit where sliding windows and bins disagree: a check under one is none of the other."""
    body, rules, placed = CASES["event_count"]
    correlation = load(correlation_text(body, rules), tmp_path)
    events, times = [e for _, e, _ in placed], [at(m) for m, _, _ in placed]
    sliding = {group.key["Computer"] for group in correlate(correlation, events, times)}
    bins = {
        group.key["Computer"]
        for group in correlate(correlation, events, times, window=Tumbling(KUSTO_ORIGIN))
    }
    assert sliding == {"inside", "across", "edge"}
    assert bins == {"inside"}


def test_temporal_ordered_reference(tmp_path: Path) -> None:
    body, rules, placed = CASES["temporal_ordered"]
    correlation = load(correlation_text(body, rules), tmp_path)
    groups = correlate(
        correlation,
        [e for _, e, _ in placed],
        [at(m) for m, _, _ in placed],
        [t for _, _, t in placed],
        Sliding(),
    )
    assert {group.key["Computer"] for group in groups} == {
        "in_order",
        "at_edge",
        "across_bins",
        "same_time",
        "same_second",
    }


def test_same_file_base_rules_and_tests(tmp_path: Path) -> None:
    text = (
        PROCESS
        + "---\n"
        + correlation_text(
            "  type: event_count\n  condition: {gte: 2}\n"
            "siemc:\n  tests:\n    - name: two starts\n      events:\n"
            "        - {time: '2026-01-01T10:00:00Z', Computer: h1, Image: 'C:\\x\\anydesk.exe'}\n"
            "        - {time: '2026-01-01T10:03:00Z', Computer: h1, Image: 'C:\\x\\anydesk.exe'}\n"
            "      expect: {groups: [{Computer: h1}]}\n"
        )
    )
    path = tmp_path / "pair.yml"
    loaded = parse_rule_file(text, path)
    assert isinstance(loaded, Correlation)
    assert [base.reference for base in loaded.bases] == ["rat_process"]
    assert loaded.tests[0].groups == ({"Computer": "h1"},)


@pytest.mark.parametrize(
    ("rules", "body", "message", "line"),
    [
        ("[nope]", "  type: event_count\n  condition: {gte: 2}\n", "unknown rule 'nope'", 6),
        ("[rat_process]", "  type: value_count\n  condition: {gte: 2}\n", "without field reference", 5),
        (
            "[rat_process, rat_relay]",
            "  type: temporal_ordered\n  condition: {gte: 1}\n",
            "temporal_ordered:",
            10,
        ),
        (
            "[rat_process, rat_relay]",
            "  type: temporal_ordered\n  condition: {gte: 2, lte: 2}\n",
            "temporal_ordered:",
            10,
        ),
        ("[rat_process]", "  type: event_count\n  condition: {gte: 2, lte: many}\n", "no number for lte", 10),
    ],
)
def test_load_errors_are_one_line_with_a_line(
    rules: str, body: str, message: str, line: int, tmp_path: Path
) -> None:
    with pytest.raises(SiemcError) as raised:
        load(correlation_text(body, rules), tmp_path)
    assert message in raised.value.message
    assert "\n" not in raised.value.message
    assert raised.value.line == line


def test_a_bad_timespan_is_an_error_with_its_line(tmp_path: Path) -> None:
    text = correlation_text("  type: event_count\n  condition: {gte: 2}\n").replace("10m", "10x")
    with pytest.raises(SiemcError) as raised:
        load(text, tmp_path)
    assert raised.value.message == "Timespan '10x' is invalid."
    assert raised.value.line == 8


# -- the README's example -------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
EXAMPLE = Path("tests/rules/correlation/failed_logons.yml")
_EXAMPLE_SECTION = re.compile(
    r"(### Correlation example per SIEM \(tests/rules/correlation/failed_logons\.yml\)\n\n)(.*?)"
    r"(<!-- correlation-example-end -->)",
    re.DOTALL,
)


def example_blocks() -> str:
    """The example rendered for every target, as the README shows it (run from the repository root)."""
    from siemc.backends import TARGET_NAMES

    from siemc.compile.correlation import folder_library, load_rule_file

    correlation = load_rule_file(REPO / EXAMPLE, library=folder_library([REPO / EXAMPLE.parent]))
    assert isinstance(correlation, Correlation)
    correlation = dataclasses.replace(correlation, path=EXAMPLE)
    parts = []
    for target in TARGET_NAMES:
        try:
            text = compile_detection(correlation, target)
        except Unsupported as error:
            parts.append(f"#### `{target}`\n\nunsupported: {error.message}\n\n")
            continue
        parts.append(f"#### `{target}`\n\n```{target}\n{text}```\n\n")
    return "".join(parts)


def _with_example(text: str) -> str:
    return _EXAMPLE_SECTION.sub(lambda m: m[1] + example_blocks() + m[3], text)


def test_readme_shows_the_correlation_example_as_compiled() -> None:
    text = README.read_text(encoding="utf-8")
    assert _EXAMPLE_SECTION.search(text)
    assert text == _with_example(text), "README example is stale: run python -m tests.test_correlation"


def test_the_readme_example_passes_its_tests() -> None:
    from siemc.compile.correlation import folder_library, load_rule_file
    from siemc.verify.ruletest import load_target_engines, run_correlation_tests

    correlation = load_rule_file(REPO / EXAMPLE, library=folder_library([REPO / EXAMPLE.parent]))
    assert isinstance(correlation, Correlation)
    from siemc.backends import TARGET_NAMES

    outcomes = run_correlation_tests(correlation, TARGET_NAMES, load_target_engines(), compile_detection)
    assert len(outcomes) == 2
    for outcome in outcomes:
        assert outcome.reference_error is None
        verdicts = {target: verdict for target, (verdict, _) in outcome.targets.items()}
        assert verdicts == dict.fromkeys(TARGET_NAMES, "ok")


if __name__ == "__main__":
    README.write_text(_with_example(README.read_text(encoding="utf-8")), encoding="utf-8")


CATEGORIES = """title: Remote access tool by category
name: rat_category
status: test
logsource: {category: process_creation, product: windows}
detection:
  selection:
    Image|endswith: ['\\\\anydesk.exe', '\\\\teamviewer.exe', '\\\\tvnserver.exe', '\\\\rustdesk.exe']
  condition: selection
siemc:
  derive:
    RATCategory:
      cases:
        - when: {Image|endswith: ['\\\\anydesk.exe', '\\\\teamviewer.exe']}
          then: Commercial
        - when: {Image|endswith: '\\\\tvnserver.exe'}
          then: VNC
      else: Other
"""


@pytest.mark.parametrize("target", ["kql", "spl", "sumo", "logscale"])
def test_value_count_of_a_derived_column(target: str, tmp_path: Path) -> None:
    """A correlation may count the values of a base rule's derived column (a category)."""
    (tmp_path / "categories.yml").write_text(CATEGORIES)
    body = "  type: value_count\n  condition: {gte: 3, field: RATCategory}\n"
    correlation = load(correlation_text(body, "[rat_category]"), tmp_path)
    placed = [
        (1, process("three", "anydesk.exe")),
        (2, process("three", "teamviewer.exe")),
        (3, process("three", "tvnserver.exe")),
        (4, process("three", "rustdesk.exe")),
        (1, process("two", "anydesk.exe")),
        (2, process("two", "teamviewer.exe")),
        (3, process("two", "rustdesk.exe")),
    ]
    events, times, tags = [e for _, e in placed], [at(m) for m, _ in placed], [None] * len(placed)
    query = compile_detection(correlation, target)
    expected = expected_groups(target, correlation, events, times, tags)
    assert {key for key, _ in expected} == {("three",)}
    assert run_correlation(target, correlation, query, events, times, tags) == expected


def test_eql_cannot_group_by_a_derived_column(tmp_path: Path) -> None:
    (tmp_path / "categories.yml").write_text(CATEGORIES)
    text = correlation_text("  type: event_count\n  condition: {gte: 2}\n", "[rat_category]")
    correlation = load(text.replace("group-by: [Computer]", "group-by: [RATCategory]"), tmp_path)
    with pytest.raises(Unsupported, match="cannot compute the derived column RATCategory"):
        compile_detection(correlation, "eql")


# -- the build and the command line ------------------------------------------------------------------


def _rules_folder(tmp_path: Path, body: str, rules: str = "[rat_process]") -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "process.yml").write_text(PROCESS)
    (folder / "network.yml").write_text(NETWORK)
    (folder / "corr.yml").write_text(correlation_text(body, rules))
    return folder


def test_build_compiles_a_correlation_again_when_a_rule_it_names_changes(tmp_path: Path) -> None:
    from siemc.compile.build import build

    folder = _rules_folder(tmp_path, "  type: event_count\n  condition: {gte: 3}\n")
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = build([folder], ["kql"], out, cache_dir=cache)
    assert first.ok and (out / "kql" / "corr.kql").is_file()
    assert build([folder], ["kql"], out, cache_dir=cache).compiled_rules == 0
    (folder / "process.yml").write_text(PROCESS.replace("rustdesk", "splashtop"))
    third = build([folder], ["kql"], out, cache_dir=cache)
    assert third.compiled_rules == 2  # the changed rule and the correlation naming it
    assert "splashtop" in (out / "kql" / "corr.kql").read_text()


def test_build_reports_an_unknown_rule_with_its_line_and_goes_on(tmp_path: Path) -> None:
    from siemc.compile.build import build

    folder = _rules_folder(tmp_path, "  type: event_count\n  condition: {gte: 3}\n", "[rat_process, nope]")
    result = build([folder], ["kql"], tmp_path / "out")
    (problem,) = result.diagnostics
    assert problem.path.name == "corr.yml" and problem.line == 6 and "unknown rule 'nope'" in problem.message
    assert (tmp_path / "out" / "kql" / "process.kql").is_file()


def test_siemc_test_and_eval_run_a_correlation(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from siemc.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["test", str(REPO / EXAMPLE), "--target", "kql", "--target", "spl"])
    assert result.exit_code == 0, result.output
    assert "2 test(s) on the reference and 2 target(s), 0 failed" in result.output
    events = tmp_path / "events.json"
    stamps = ["2026-01-01T10:00:00Z", "2026-01-01T10:01:00Z", "2026-01-01T10:02:00Z", "2026-01-01T10:03:00Z"]
    rows = [
        {"time": t, "EventID": 4625, "TargetUserName": "alice"} for t in [*stamps, "2026-01-01T10:09:00Z"]
    ]
    events.write_text(json.dumps(rows))
    result = runner.invoke(app, ["eval", str(REPO / EXAMPLE), "--events", str(events)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"group": {"TargetUserName": "alice"}, "value": 5.0}
    ]


def test_a_plain_rule_that_mentions_correlation_loads_as_a_rule(tmp_path: Path) -> None:
    from siemc.compile.rule import Detection

    text = "---\n" + PROCESS.replace("status: test", "status: test\ndescription: 'no correlation: here'")
    assert isinstance(parse_rule_file(text, tmp_path / "plain.yml"), Detection)


@pytest.mark.parametrize(
    ("kind", "condition", "ports", "reported"),
    [
        ("value_avg", "{gte: 500, field: DestinationPort}", [400, 600], True),
        ("value_avg", "{gt: 500, field: DestinationPort}", [600, 400], False),
        ("value_median", "{eq: 500, field: DestinationPort}", [400, 600, 100, 900], True),  # mean of 400, 600
        ("value_median", "{eq: 400, field: DestinationPort}", [400, 100, 900], True),
        ("value_percentile", "{eq: 600, field: DestinationPort, percentile: 75}", [100, 400, 600, 900], True),
        ("value_percentile", "{eq: 100, field: DestinationPort, percentile: 1}", [100, 400, 600, 900], True),
        # Windows are anchored on each hit: the one on the last hit holds it alone (600 < 1000).
        ("value_sum", "{lt: 1000, field: DestinationPort}", [400, 600], True),
        ("value_sum", "{lt: 1000, field: DestinationPort}", [400, 1000], False),
        ("value_sum", "{neq: 999, field: DestinationPort}", [400, "x"], True),  # text is no number
    ],
)
def test_reference_aggregates(
    kind: str, condition: str, ports: list[Any], reported: bool, tmp_path: Path
) -> None:
    """The reference's definitions: mean; median as the middle value or the mean of the two middle
    ones; nearest-rank percentile; values that are no numbers do not count."""
    correlation = load(
        correlation_text(f"  type: {kind}\n  condition: {condition}\n", "[rat_relay]"), tmp_path
    )
    events = [relay("h", port) for port in ports]
    times = [at(index) for index in range(len(events))]
    assert bool(correlate(correlation, events, times)) is reported


def test_the_nearest_rank_is_computed_in_integers(tmp_path: Path) -> None:
    """7% of 100 values is the 7th value (7 / 100 * 100 in floats is 7.000000000000001, rank 8)."""
    correlation = load(
        correlation_text(
            "  type: value_percentile\n  condition: {eq: 7, field: DestinationPort, percentile: 7}\n",
            "[rat_relay]",
        ),
        tmp_path,
    )
    events = [relay("h", port) for port in range(1, 101)]
    times = [T0 + dt.timedelta(seconds=index) for index in range(100)]
    (group,) = correlate(correlation, events, times)
    assert group.value == 7


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        # The lower middle value for every median, the rank before the nearest one for the percentile.
        ("value_median", ("siemc_n / 2 + 1", "(siemc_n - 1) / 2 + 1")),
        ("value_percentile", ("(75 * siemc_n + 99) / 100", "(75 * siemc_n + 99) / 100 - 1")),
        # A step that takes a hit of the same time as the step before as later.
        ("temporal_ordered_three", ("siemc_time > siemc_at", "siemc_time >= siemc_at")),
    ],
)
def test_a_wrong_kql_query_disagrees_on_the_cases(name: str, wrong: tuple[str, str], tmp_path: Path) -> None:
    """The KQL query run with a wrong rank (or step) disagrees with the reference on the same events."""
    _a_wrong_query_disagrees("kql", name, wrong, tmp_path)


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("value_median", ("floor(siemc_n/2)+1", "floor((siemc_n-1)/2)+1")),
        ("value_percentile", ("floor((75*siemc_n+99)/100)", "floor((75*siemc_n+99)/100)-1")),
        # The ranks read off values in the order they come instead of sorted.
        ("value_percentile", ("| sort 0 Computer _time siemc_value\n", "")),
        # A step that takes a hit of the same time as the step before as later.
        ("temporal_ordered_three", ("siemc_time1>siemc_at0", "siemc_time1>=siemc_at0")),
    ],
)
def test_a_wrong_spl_query_disagrees_on_the_cases(name: str, wrong: tuple[str, str], tmp_path: Path) -> None:
    """The SPL query (on the SPL model) with a wrong rank, or unsorted, disagrees with the reference."""
    _a_wrong_query_disagrees("spl", name, wrong, tmp_path)


@pytest.mark.parametrize("target", ["kql", "spl", "sumo", "logscale", "aql"])
def test_a_range_keeps_both_bounds(target: str, tmp_path: Path) -> None:
    """Both bounds of a range are in the query, and the query without its upper bound disagrees."""
    correlation = load(_case(target, "event_count_range")[0], tmp_path)
    assert [(op.name, count) for op, count in correlation.comparisons] == [("GTE", 2), ("LTE", 3)]
    query = compile_detection(correlation, target)
    if target != "aql":  # an AQL query holds no comment
        assert "event_count >= 2 and <= 3 over rat_process by Computer within 10m" in query
    upper = {"aql": " AND siemc_result <= 3", "logscale": "\n| siemc_result <= 3"}.get(target)
    upper = upper or (" AND siemc_result <= 3" if target == "spl" else " and siemc_result <= 3")
    if target == "sumo":
        upper = " and siemc_rule0 <= 3"
    _a_wrong_query_disagrees(target, "event_count_range", (upper, ""), tmp_path)


def _a_wrong_query_disagrees(target: str, name: str, wrong: tuple[str, str], tmp_path: Path) -> None:
    text, placed = _case(target, name)
    correlation = load(text, tmp_path)
    events, times, tags = [e for _, e, _ in placed], [at(m) for m, _, _ in placed], [t for _, _, t in placed]
    _only_the_right_query_agrees(target, correlation, events, times, tags, wrong)


def _only_the_right_query_agrees(
    target: str,
    correlation: Correlation,
    events: list[Any],
    times: list[Any],
    tags: list[Any],
    wrong: tuple[str, str],
) -> set[Any]:
    """The target's query agrees with the reference on the events, and the query with `wrong[0]`
    replaced by `wrong[1]` does not; the reference's groups."""
    query = compile_detection(correlation, target)
    assert wrong[0] in query
    expected = expected_groups(target, correlation, events, times, tags)
    assert run_correlation(target, correlation, query, events, times, tags) == expected
    broken = query.replace(wrong[0], wrong[1])
    assert run_correlation(target, correlation, broken, events, times, tags) != expected
    return expected


# -- generate ------------------------------------------------------------------------------------------


def test_generate_true_with_a_base_rule_of_the_same_file_is_an_error_with_its_line(tmp_path: Path) -> None:
    """A rule in the correlation's own file has no output of its own: `generate: true` cannot hold."""
    text = (
        PROCESS + "---\n" + correlation_text("  type: event_count\n  condition: {gte: 2}\n  generate: true\n")
    )
    with pytest.raises(SiemcError) as raised:
        parse_rule_file(text, tmp_path / "pair.yml")
    assert "generate: true asks for the query of rule 'rat_process' too" in raised.value.message
    assert "\n" not in raised.value.message
    assert raised.value.line == text.split("\n").index("  generate: true") + 1


@pytest.mark.parametrize("generate", ["", "  generate: true\n", "  generate: false\n"])
def test_base_rules_in_files_of_their_own_keep_their_output(generate: str, tmp_path: Path) -> None:
    """With or without `generate`, a rule the correlation names from another file is built as any rule;
    the rules of the correlation's own file are part of the correlation only."""
    from siemc.compile.build import build

    folder = _rules_folder(tmp_path, "  type: event_count\n  condition: {gte: 3}\n" + generate)
    (folder / "pair.yml").write_text(
        COMMAND + "---\n" + correlation_text("  type: event_count\n  condition: {gte: 2}\n", "[rat_command]")
    )
    result = build([folder], ["kql"], tmp_path / "out")
    assert result.ok, result.diagnostics
    built = sorted(path.name for path in (tmp_path / "out" / "kql").iterdir())
    assert built == ["corr.kql", "network.kql", "pair.kql", "process.kql"]
    assert 'siemc_rule = "rat_process"' in (tmp_path / "out" / "kql" / "corr.kql").read_text()


@pytest.mark.parametrize(
    ("body", "rules", "placed", "reported"),
    [
        (
            "  type: value_median\n  condition: {gte: 500, field: DestinationPort}\n",
            "[rat_relay]",
            [(1, relay("a", 100)), (2, relay("b", 900)), (3, relay("c", 600)), (12, relay("a", 100))],
            1,
        ),
        (
            "  type: temporal_ordered\n",
            "[rat_process, rat_command, rat_relay]",
            [(1, process("a")), (2, command("b")), (3, relay("c")), (11, relay("a")), (12, process("a"))],
            1,
        ),
    ],
)
def test_kql_median_and_ordered_chain_without_group_by(
    body: str, rules: str, placed: list[tuple[float, dict[str, Any]]], reported: int, tmp_path: Path
) -> None:
    """With no group-by field every hit is in one group: the query joins and groups on the bin alone."""
    correlation = load(correlation_text(body, rules).replace("  group-by: [Computer]\n", ""), tmp_path)
    events, times, tags = [e for _, e in placed], [at(m) for m, _ in placed], [None] * len(placed)
    query = compile_detection(correlation, "kql")
    expected = expected_groups("kql", correlation, events, times, tags)
    assert len(expected) == reported
    assert run_correlation("kql", correlation, query, events, times, tags) == expected


# -- LogScale and Sumo Logic: three rules in order on one source, sums and means of numbers only ----------

INSTALL = """title: Remote access tool installed as a service
name: rat_install
id: 5b0f6c55-43a6-4a55-9d43-3f7a6e0b1c04
status: test
logsource: {category: process_creation, product: windows}
detection:
  selection: {CommandLine|contains: '--install'}
  condition: selection
"""


def install(host: str, image: str = "svc.exe") -> dict[str, Any]:
    return {"Computer": host, "Image": f"C:\\Tools\\{image}", "CommandLine": f"{image} --install"}


# Three rules of one log source in order (a tool starts, is given a relay, is installed), the events
# untagged: as THREE_ORDER, plus one event matching the first two rules (never in order with itself,
# but the second step of an earlier first one).
THREE_SAME_SOURCE: list[tuple[float, dict[str, Any], str | None]] = [
    (1, process("in_order"), None),
    (3, command("in_order"), None),
    (6, install("in_order"), None),
    (1, process("out_of_order"), None),
    (3, install("out_of_order"), None),
    (6, command("out_of_order"), None),
    (1, process("no_middle"), None),
    (5, install("no_middle"), None),
    (0, command("pass_over"), None),
    (1, process("pass_over"), None),
    (2, command("pass_over"), None),
    (4, install("pass_over"), None),
    (2, command("middle_first"), None),
    (5, process("middle_first"), None),
    (8, install("middle_first"), None),
    (8, process("across_bins"), None),
    (9, command("across_bins"), None),
    (11, install("across_bins"), None),
    (30, process("at_edge"), None),
    (35, command("at_edge"), None),
    (40, install("at_edge"), None),
    (21, process("same_time"), None),
    (21, command("same_time"), None),
    (23, install("same_time"), None),
    (21, process("late_install"), None),
    (22, install("late_install"), None),
    (23, command("late_install"), None),
    (25, install("late_install"), None),
    (41, command("one_event_two_rules", "anydesk.exe"), None),
    (43, install("one_event_two_rules"), None),
    (51, process("two_rules_after_one"), None),
    (52, command("two_rules_after_one", "anydesk.exe"), None),
    (53, install("two_rules_after_one"), None),
]


def started(host: str, pid: Any) -> dict[str, Any]:
    return {**process(host), "ProcessId": pid}


# Values of a field of the process source (Sumo Logic groups by schema fields only): a window inside
# one bin, one across a bin edge, text beside numbers, text only, negative and decimal numbers.
PID_EVENTS: list[tuple[float, dict[str, Any], str | None]] = [
    (1, started("inside", 443), None),
    (4, started("inside", 600), None),
    (5, started("inside", 700), None),
    (8, started("across", 443), None),
    (12, started("across", 600), None),
    (20, started("low", 80), None),
    (21, started("low", "none"), None),
    (31, started("no_number", "none"), None),
    (32, started("no_number", 700), None),
    (33, started("no_number", "x"), None),
    (41, started("only_text", "none"), None),
    (42, started("only_text", "n/a"), None),
    (51, started("negative", -700), None),
    (52, started("negative", 2000), None),
    (53, started("negative", "650.5"), None),
    (1, started("text_order", 9), None),
    (2, started("text_order", 10), None),
    (3, started("text_order", 1000), None),
]

LS_SUMO_CASES: dict[str, tuple[str, str, list[tuple[float, dict[str, Any], str | None]]]] = {
    "temporal_ordered_three_same_source": (
        "  type: temporal_ordered\n",
        "[rat_process, rat_command, rat_install]",
        THREE_SAME_SOURCE,
    ),
    "value_sum_pid": (
        "  type: value_sum\n  condition: {gte: 1000, field: ProcessId}\n",
        "[rat_process]",
        PID_EVENTS,
    ),
    # A window of text only has no sum: it is not reported, though "less than 1000" would hold for 0.
    "value_sum_pid_lt": (
        "  type: value_sum\n  condition: {lt: 1000, field: ProcessId}\n",
        "[rat_process]",
        PID_EVENTS,
    ),
    "value_avg_pid_range": (
        "  type: value_avg\n  condition: {gt: 100, lte: 600, field: ProcessId}\n",
        "[rat_process]",
        PID_EVENTS,
    ),
    "value_avg_pid_neq": (
        "  type: value_avg\n  condition: {neq: 600, field: ProcessId}\n",
        "[rat_process]",
        PID_EVENTS,
    ),
}


def _load_ls_sumo_case(name: str, tmp_path: Path) -> tuple[Correlation, list[Any], list[Any], list[Any]]:
    (tmp_path / "install.yml").write_text(INSTALL)
    body, rules, placed = LS_SUMO_CASES[name]
    correlation = load(correlation_text(body, rules), tmp_path)
    return (
        correlation,
        [event for _, event, _ in placed],
        [at(minutes) for minutes, _, _ in placed],
        [tag for _, _, tag in placed],
    )


@pytest.mark.parametrize("name", sorted(LS_SUMO_CASES))
@pytest.mark.parametrize("target", ["logscale", "sumo"])
def test_logscale_and_sumo_agree_with_reference_on_one_source(target: str, name: str, tmp_path: Path) -> None:
    correlation, events, times, tags = _load_ls_sumo_case(name, tmp_path)
    try:
        query = compile_detection(correlation, target)
    except Unsupported as error:
        pytest.skip(f"{target} {name}: unsupported: {error.message}")
    expected = expected_groups(target, correlation, events, times, tags)
    assert expected, "the case must make the rule report something"
    assert run_correlation(target, correlation, query, events, times, tags) == expected


def test_the_one_source_cases_report_what_they_place(tmp_path: Path) -> None:
    """Under bins and times compared alone, the ordered case reports the hosts with three rules in order
    inside one bin, and the sums leave out the window of text only."""
    correlation, events, times, tags = _load_ls_sumo_case("temporal_ordered_three_same_source", tmp_path)
    groups = {key[0] for key, _ in expected_groups("sumo", correlation, events, times, tags)}
    assert groups == {"in_order", "pass_over", "late_install", "two_rules_after_one"}
    correlation, events, times, tags = _load_ls_sumo_case("value_sum_pid_lt", tmp_path)
    groups = {key[0] for key, _ in expected_groups("sumo", correlation, events, times, tags)}
    assert groups == {"across", "low", "no_number"}


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        # A step that takes a row of the same time as the step before as later (its own row counted).
        ("temporal_ordered_three_same_source", ("siemc_reach0 > siemc_step0", "siemc_reach0 > 0")),
        # The chain's last step dropped: two rules in order are taken for three.
        (
            "temporal_ordered_three_same_source",
            (
                "| if(siemc_rule2 > 0 and siemc_reach1 > siemc_step1, 1, 0) as siemc_step2",
                "| siemc_step1 + 0 as siemc_step2",
            ),
        ),
        ("value_avg_pid_range", ("siemc_result <= 600", "siemc_result < 600")),
        ("value_sum_pid", ("| sum(pid) as siemc_result", "| avg(pid) as siemc_result")),
    ],
)
def test_a_wrong_sumo_query_disagrees_on_the_cases(name: str, wrong: tuple[str, str], tmp_path: Path) -> None:
    correlation, events, times, tags = _load_ls_sumo_case(name, tmp_path)
    _only_the_right_query_agrees("sumo", correlation, events, times, tags, wrong)


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("value_avg_pid_range", ("\n| siemc_result <= 600", "\n| siemc_result < 600")),
        ("value_sum_pid", ("function=sum(", "function=avg(")),
    ],
)
def test_a_wrong_logscale_query_disagrees_on_the_cases(
    name: str, wrong: tuple[str, str], tmp_path: Path
) -> None:
    correlation, events, times, tags = _load_ls_sumo_case(name, tmp_path)
    _only_the_right_query_agrees("logscale", correlation, events, times, tags, wrong)


@pytest.mark.parametrize("target", ["logscale", "sumo"])
def test_a_sum_without_the_number_filter_reads_text(target: str, tmp_path: Path) -> None:
    """Without its filter to decimal numbers, sum() gets text, which neither vendor documents: the
    model refuses the query rather than guess."""
    from tests.engines import EngineRejected

    correlation, events, times, tags = _load_ls_sumo_case("value_sum_pid_lt", tmp_path)
    query = compile_detection(correlation, target)
    filters = {
        "logscale": re.compile(r"\n\| \S+=/\^\[\+-\][^\n]*"),
        "sumo": re.compile(r" and \S+ matches /\^\[\+-\][^\n]*"),
    }[target]
    broken, replaced = filters.sub("", query, count=1), filters.search(query)
    assert replaced is not None
    with pytest.raises(EngineRejected, match="not documented"):
        run_correlation(target, correlation, broken, events, times, tags)


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        # A count one short of the bound (`>` for `>=`), and an upper bound taken as strict.
        ("event_count", ("#e >= 3", "#e > 3")),
        # Values of another field counted.
        ("value_count", ("$value = $e.target.process.file.full_path", "$value = $e.principal.hostname")),
        # The largest value instead of the sum.
        ("value_sum", ("$sum = sum(", "$sum = max(")),
        # A window a minute longer: it takes in the events exactly the span after the pivot.
        ("event_count", ("over 10m after", "over 11m after")),
        ("temporal_ordered", ("over 10m after", "over 11m after")),
    ],
)
def test_a_wrong_yaral_rule_disagrees_on_the_cases(name: str, wrong: tuple[str, str], tmp_path: Path) -> None:
    """The YARA-L rule (on the YARA-L model) with a wrong count or window disagrees with the reference."""
    _a_wrong_query_disagrees("yaral", name, wrong, tmp_path)


def test_yaral_counts_in_a_window_that_excludes_its_end(tmp_path: Path) -> None:
    """Under YARA-L's window (events less than the span after the pivot) the hits exactly the span
    apart are in no window together, where the reference's window holds them."""
    body, rules, placed = CASES["event_count"]
    correlation = load(correlation_text(body, rules), tmp_path)
    events, times = [e for _, e, _ in placed], [at(m) for m, _, _ in placed]
    reference = {group.key["Computer"] for group in correlate(correlation, events, times)}
    yaral = {
        group.key["Computer"] for group in correlate(correlation, events, times, window=SlidingOpenEnd())
    }
    assert reference - yaral == {"edge"}
    assert yaral == {"inside", "across"}


@pytest.mark.parametrize(
    ("body", "placed", "wrong"),
    [
        # Four hits in one second: every window holds four, above the range; without its upper bound
        # the rule reports them.
        (
            "  type: event_count\n  condition: {gte: 2, lte: 3}\n",
            [*[(1, process("four"))] * 4, (1, process("two")), (2, process("two"))],
            (" and #e <= 3", ""),
        ),
        # Hits without a command line: their "" would count as a value without the events section's
        # `!= ""` (a placeholder outside the match section keeps its zero value).
        (
            "  type: value_count\n  condition: {gte: 2, field: CommandLine}\n",
            [
                (1, {"Computer": "blank", "Image": "C:\\Tools\\anydesk.exe"}),
                (2, process("blank")),
                (1, process("two")),
                (2, process("two", "rustdesk.exe")),
            ],
            ('    $e.target.process.command_line != ""\n', ""),
        ),
    ],
)
def test_a_yaral_rule_without_its_bound_or_filter_disagrees(
    body: str, placed: list[tuple[float, dict[str, Any]]], wrong: tuple[str, str], tmp_path: Path
) -> None:
    correlation = load(correlation_text(body), tmp_path)
    events, times, tags = [e for _, e in placed], [at(m) for m, _ in placed], [None] * len(placed)
    expected = _only_the_right_query_agrees("yaral", correlation, events, times, tags, wrong)
    assert {key for key, _ in expected} == {("two",)}


@pytest.mark.parametrize(
    ("body", "rules", "reason"),
    [
        (
            "  type: value_sum\n  condition: {lt: 1000, field: DestinationPort}\n",
            "[rat_relay]",
            "accepting 0",
        ),
        ("  type: value_sum\n  condition: {gte: 1000, field: Computer}\n", "[rat_relay]", "it is a string"),
        ("  type: value_count\n  condition: {lte: 3, field: Image}\n", "[rat_process]", "upper bound (lte)"),
        ("  type: event_count\n  condition: {gte: 2}\n", "[rat_process, rat_relay]", "several rules"),
        ("  type: temporal\n", "[rat_process, rat_relay]", "a hit of every rule"),
        ("  type: value_avg\n  condition: {gt: 1, field: DestinationPort}\n", "[rat_relay]", "reads 0"),
    ],
)
def test_yaral_refuses_what_its_windows_or_zero_values_cannot_say(
    body: str, rules: str, reason: str, tmp_path: Path
) -> None:
    correlation = load(correlation_text(body, rules), tmp_path)
    with pytest.raises(Unsupported, match=re.escape(reason)):
        compile_detection(correlation, "yaral")


def test_a_group_by_on_one_part_of_an_account_is_unsupported(tmp_path: Path) -> None:
    """Defender and Elastic Defend keep an account's domain and name apart: grouping by the name alone
    would put CORP\\alice and OTHER\\alice in one group, so a group-by on User is unsupported there."""
    correlation = load(
        correlation_text("  type: event_count\n  condition: {gte: 3}\n").replace(
            "group-by: [Computer]", "group-by: [User]"
        ),
        tmp_path,
    )
    for target in ("kql", "eql"):
        with pytest.raises(Unsupported, match="grouping by one part is not grouping by the account"):
            compile_detection(correlation, target)
    assert "BY User _time" in compile_detection(correlation, "spl")  # Sysmon's User, whole


def test_a_kql_correlation_on_a_site_table_says_so(tmp_path: Path) -> None:
    """A base rule on a table siemc names for the site (no Microsoft connector writes it) carries the
    same note in a correlation as in its own query."""
    (tmp_path / "jvm.yml").write_text(
        "title: JVM error\nname: jvm_error\nlogsource: {category: application, product: jvm}\n"
        "detection:\n  keywords: ['OutOfMemoryError']\n  condition: keywords\n"
    )
    text = correlation_text("  type: event_count\n  condition: {gte: 3}\n", "[jvm_error]").replace(
        "  group-by: [Computer]\n", ""
    )
    with pytest.raises(Unsupported, match="siemc has no data model of JvmLog_CL"):
        compile_detection(load(text, tmp_path), "kql")
    (tmp_path / "site.yml").write_text("targets:\n  kql: {unmodelled: [JvmLog_CL]}\n")
    correlation = load(text, tmp_path, site=load_config(tmp_path / "site.yml"))
    query = compile_detection(correlation, "kql")
    note = "// JvmLog_CL is siemc's name for a site's own custom table"
    assert note in query and query.count(note) == 1
    assert note in compile_detection(correlation.bases[0].detection, "kql")
