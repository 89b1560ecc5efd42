"""Long value lists (a catalogue of hundreds of tools, domains or hashes) on every target: each
output must pass its real checker and its language model, and stay exact.

The rule ORs 1,100 values for each of `contains`, `endswith`, `startswith` and exact match, and
excludes 1,100 parent-path endings, with values holding every regex and wildcard metacharacter (a
literal `*` and `?` too). Its tests (hits in another case, near misses one character off, the
filter hit, the filter's field absent) run on the reference evaluator and on each target's engine
(tests/engines.py: Kusto.Language then duckdb-kql, eql, logscale-tools and the models).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from siemc.backends import TARGET_NAMES

from siemc.compile.backend import bounded_join
from siemc.compile.build import compile_detection
from siemc.compile.rule import Detection, load_rule
from siemc.verify.ruletest import AGREES, load_target_engines, run_rule_tests
from tests.conftest import EVERY_SOURCE_SITE, SEED_RULE

COUNT = 1100
# Every regex, wildcard, quoting and LIKE metacharacter the languages have, one per value in turn.
SPECIALS = ".*?()[]{}+^$|\\/\"'%_-:#@&=~<>,;! `"
KINDS = ("contains", "endswith", "startswith", "exact")
PICKS = (0, 1, 2, 13, 15, 16, 17, COUNT // 2, COUNT - 1)  # `.`, `*`, `?`, `\`, `"`, `'`, `%`, ...


def values(prefix: str) -> list[str]:
    return [f"{prefix}{i:04d}{SPECIALS[i % len(SPECIALS)]}v" for i in range(COUNT)]


def _sigma(text: str) -> str:
    """A YAML single-quoted Sigma value matching `text` literally."""
    escaped = text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
    return "'" + escaped.replace("'", "''") + "'"


def _yaml(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def rule_text() -> str:
    lines = [
        "title: Long value lists",
        "id: 0e6f1c2a-8d4b-4c39-9f51-7a2b3c4d5e6f",
        "status: test",
        "logsource: {category: process_creation, product: windows}",
        "detection:",
    ]
    for kind in KINDS:
        modifier = "" if kind == "exact" else f"|{kind}"
        lines += [f"  sel_{kind}:", f"    CommandLine{modifier}:"]
        lines += [f"      - {_sigma(v)}" for v in values(kind[:3])]
    lines += ["  filter:", "    ParentImage|endswith:"]
    lines += [f"      - {_sigma(v)}" for v in values("par")]
    lines += ["  condition: 1 of sel_* and not filter", "level: low", "siemc:", "  tests:"]

    def test(name: str, event: dict[str, str], match: bool) -> None:
        fields = ", ".join(f"{key}: {_yaml(value)}" for key, value in event.items())
        lines.extend(
            [
                f"    - name: {_yaml(name)}",
                f"      event: {{{fields}}}",
                f"      expect: {{match: {str(match).lower()}}}",
            ]
        )

    parent = "C:\\Windows\\explorer.exe"
    for kind in KINDS:
        for i in PICKS:
            value = values(kind[:3])[i]
            hit, miss = {
                "contains": ("pre " + value.upper() + " post", "pre " + value[:-1] + "w post"),
                "endswith": ("pre " + value.upper(), "pre " + value + " "),
                "startswith": (value.upper() + " post", " " + value + " post"),
                "exact": (value.upper(), value + "v"),
            }[kind]
            test(f"{kind} {i}: hit", {"CommandLine": hit, "ParentImage": parent}, True)
            test(f"{kind} {i}: near miss", {"CommandLine": miss, "ParentImage": parent}, False)
    hit = values("con")[7]
    for i in PICKS:
        ending = values("par")[i]
        test(f"filter {i}: excluded", {"CommandLine": hit, "ParentImage": "C:\\x\\" + ending.upper()}, False)
        test(f"filter {i}: near miss", {"CommandLine": hit, "ParentImage": "C:\\x\\" + ending + "w"}, True)
    test("filter field absent", {"CommandLine": hit}, True)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def detection(tmp_path_factory: pytest.TempPathFactory) -> Detection:
    path: Path = tmp_path_factory.mktemp("long") / "long_value_lists.yml"
    path.write_text(rule_text(), encoding="utf-8")
    # ParentImage is no Falcon process field: LogScale reads the rule on Sysmon's events, which a site
    # collecting them allows (the long lists of Falcon's own fields: the T1219 pack's rules).
    return load_rule(path, EVERY_SOURCE_SITE)


@pytest.mark.parametrize("target", TARGET_NAMES)
def test_every_target_checks_and_agrees_on_long_lists(detection: Detection, target: str) -> None:
    engines = load_target_engines()
    assert engines is not None
    outcomes = run_rule_tests(detection, [target], engines, compile_detection)
    assert len(outcomes) == len(detection.extension.tests) > 90
    failures = [
        f"{o.test.name}: {o.reference_error or o.targets[target]}"
        for o in outcomes
        if o.reference_error or o.targets[target][0] != AGREES
    ]
    assert failures == []


def test_a_chain_is_grouped_only_past_the_bound() -> None:
    terms = [f"t{i}" for i in range(64)]
    assert bounded_join(terms, " or ", "({expr})", 64) == " or ".join(terms)
    grouped = bounded_join([*terms, "t64"], " or ", "({expr})", 64)
    assert grouped == "(" + " or ".join(terms) + ") or (t64)"
    deep = bounded_join([f"t{i}" for i in range(64 * 64 + 1)], " or ", "({expr})", 64)
    assert deep.startswith("((t0 or ") and deep.endswith(") or ((t4096))")
    assert deep.replace("(", "").replace(")", "") == " or ".join(f"t{i}" for i in range(64 * 64 + 1))


def test_a_kql_query_over_sentinels_rule_limit_says_so(detection: Detection) -> None:
    """Sentinel's scheduled analytics rules take at most 10,000 characters (backends/kql.py cites it)."""
    long_query = compile_detection(detection, "kql")
    assert len(long_query) > 10_000
    assert long_query.splitlines()[2].startswith("// Over 10,000 characters, the most a Sentinel scheduled")
    short_query = compile_detection(load_rule(SEED_RULE), "kql")
    assert len(short_query) < 10_000 and "10,000" not in short_query
