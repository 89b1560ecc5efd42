"""Property tests: random Sigma rules, and events built to hit and to miss them, run through every target.

For each example the reference evaluator decides which events match and what the derived columns
are; the target's compiled query, run by its engine (tests/engines.py), must return exactly those
events with the same derived values. Values mix quotes, backslashes, wildcards, SQL/LIKE wildcards,
slashes, pipes, newlines and non-ASCII text; every string modifier appears; conditions nest
and/or/not and `1 of`/`all of`.

A rule a target reports `unsupported` for is not counted for that target (hypothesis draws another);
each target must agree on at least `EXAMPLES` supported rules. CI runs a fixed (derandomised) series
of 200 per target, within the suite's time; set SIEMC_HYPOTHESIS_RANDOM=1 to explore new examples
locally, and SIEMC_PROPERTY_EXAMPLES=1000 for a longer series.
"""

from __future__ import annotations

import os
import re
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis import strategies as st
from siemc.backends import TARGET_NAMES
from sigma.rule import SigmaDetection, SigmaDetectionItem
from sigma.types import (
    SigmaCasedString,
    SigmaFieldReference,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

from siemc.compile.build import compile_detection
from siemc.compile.rule import Detection, parse_rule
from siemc.diagnostics import Unsupported
from tests.conftest import EVERY_SOURCE_SITE
from tests.engines import COMPUTES_DERIVED, EngineUnavailable, derived_value, reference, run_target
from tests.no_repr import assert_no_repr

EXAMPLES = int(os.environ.get("SIEMC_PROPERTY_EXAMPLES", "200"))
# The rules compile for a site collecting every later source (Sysmon beside the EDR): a generated
# rule its EDR table cannot hold is then tested on the raw event log rather than discarded.
STRING_FIELDS = ("Image", "CommandLine", "User", "Computer")
NUMBER_FIELD = "ProcessId"
RULE_PATH = Path("property.yml")

# Characters that stress quoting, escaping and pattern syntax in at least one of the languages.
ALPHABET = "abcXYZ019 -_.%/\\|'\"\n:;,()[]{}$^+=@#&~`éÄß€"
plain_text = st.text(alphabet=ALPHABET, min_size=1, max_size=8)
# Strings generated to match a rule's regex: the same characters plus all printable ASCII.
REGEX_ALPHABET = "".join(sorted(set(ALPHABET + string.ascii_letters + string.digits + string.punctuation)))

STRING_MODIFIERS: tuple[tuple[str, ...], ...] = (
    (),
    ("contains",),
    ("startswith",),
    ("endswith",),
    ("cased",),
    ("contains", "cased"),
    ("endswith", "cased"),
    ("windash",),
    ("contains", "windash"),
    ("base64",),
    ("base64offset", "contains"),
    ("wide", "base64offset", "contains"),
)
NUMBER_MODIFIERS: tuple[tuple[str, ...], ...] = ((), ("gt",), ("gte",), ("lt",), ("lte",))


@st.composite
def sigma_value(draw: st.DrawFn) -> str:
    """A Sigma string: literal runs (with `*`, `?` and backslash escaped) and bare wildcards."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(("text", "text", "text", "*", "?")))
        if kind == "text":
            text = draw(plain_text | st.sampled_from(("*", "?", "\\", "\\*")))
            parts.append(re.sub(r"([*?\\])", r"\\\1", text))
        else:
            parts.append(kind)
    return "".join(parts)


@st.composite
def literal_value(draw: st.DrawFn, ascii_only: bool = False) -> str:
    """A Sigma string without wildcards (special characters escaped)."""
    text = draw(plain_text.filter(str.isascii) if ascii_only else plain_text)
    return re.sub(r"([*?\\])", r"\\\1", text)


@st.composite
def regex_value(draw: st.DrawFn) -> str:
    """A regex in the subset every target dialect shares (RE2, PCRE, Java, Python)."""
    atoms = []
    for _ in range(draw(st.integers(1, 4))):
        atom = draw(st.sampled_from(("lit", "lit", "dot", "class", "alt", "escaped")))
        if atom == "lit":
            atom_text = draw(st.text(alphabet="abXY09 _-/'\"é", min_size=1, max_size=3))
        elif atom == "dot":
            atom_text = "."
        elif atom == "class":
            atom_text = draw(st.sampled_from(("[a-c]", "[0-9]", "[^x]", "[A-Z_]")))
        elif atom == "alt":
            left, right = draw(
                st.lists(st.text(alphabet="abxy19", min_size=1, max_size=3), min_size=2, max_size=2)
            )
            atom_text = f"(?:{left}|{right})"
        else:
            atom_text = "\\" + draw(st.sampled_from(".\\*+?()[]|$^"))
        quantifier = draw(st.sampled_from(("", "", "", "*", "+", "?")))
        atoms.append(atom_text + quantifier)
    anchor_start = draw(st.sampled_from(("", "", "^")))
    anchor_end = draw(st.sampled_from(("", "", "$")))
    return anchor_start + "".join(atoms) + anchor_end


@st.composite
def selection_item(draw: st.DrawFn) -> tuple[str, Any]:
    kinds = ("string", "string", "string", "regex", "number", "null", "exists", "all", "fieldref")
    kind = draw(st.sampled_from(kinds))
    field = draw(st.sampled_from(STRING_FIELDS))
    if kind == "fieldref":
        return f"{field}|fieldref", draw(st.sampled_from([f for f in STRING_FIELDS if f != field]))
    if kind == "string":
        modifiers = draw(st.sampled_from(STRING_MODIFIERS))
        # Encoding modifiers take literal values only (and `wide` ASCII only).
        encoded = any(m.startswith(("base64", "wide")) for m in modifiers)
        literal = literal_value(ascii_only="wide" in modifiers)
        values = draw(st.lists(literal if encoded else sigma_value(), min_size=1, max_size=3))
        if "windash" in modifiers:
            values = ["-" + value for value in values]
        return "|".join((field, *modifiers)), values[0] if len(values) == 1 else values
    if kind == "regex":
        flags = draw(st.sampled_from(((), ("i",), ("m",), ("s",), ("i", "s"))))
        values = draw(st.lists(regex_value(), min_size=1, max_size=2))
        return "|".join((field, "re", *flags)), values[0] if len(values) == 1 else values
    if kind == "number":
        modifiers = draw(st.sampled_from(NUMBER_MODIFIERS))
        count = 1 if modifiers else draw(st.integers(1, 3))
        values = draw(st.lists(st.integers(0, 70000), min_size=count, max_size=count))
        return "|".join((NUMBER_FIELD, *modifiers)), values[0] if count == 1 else values
    if kind == "null":
        return field, None
    if kind == "exists":
        return f"{field}|exists", draw(st.booleans())
    values = draw(st.lists(sigma_value(), min_size=2, max_size=3))
    return f"{field}|contains|all", values


@st.composite
def selection(draw: st.DrawFn) -> dict[str, Any]:
    items = dict(draw(st.lists(selection_item(), min_size=1, max_size=2)))
    return items


@st.composite
def condition(draw: st.DrawFn, names: list[str], depth: int = 0) -> str:
    choice = draw(
        st.sampled_from(("name", "name", "and", "or", "not", "of")) if depth < 2 else st.just("name")
    )
    if choice == "name":
        return draw(st.sampled_from(names))
    if choice == "of":
        return draw(st.sampled_from(("1 of sel*", "all of sel*", "1 of them", "all of them")))
    if choice == "not":
        return f"not {draw(condition(names, depth + 1))}"
    left, right = draw(condition(names, depth + 1)), draw(condition(names, depth + 1))
    return f"({left} {choice} {right})"


@st.composite
def rule_text(draw: st.DrawFn) -> str:
    names = [f"sel{i}" for i in range(draw(st.integers(1, 3)))]
    detection: dict[str, Any] = {name: draw(selection()) for name in names}
    detection["condition"] = draw(condition(names))
    rule = {
        "title": "Property rule",
        "logsource": {"category": "process_creation", "product": "windows"},
        "detection": detection,
        "siemc": {
            "derive": {
                "Kind": {"cases": [{"when": draw(selection()), "then": "first"}], "else": "other"},
                "Flag": {"when": draw(selection())},
            }
        },
    }
    return yaml.safe_dump(rule, allow_unicode=True, sort_keys=False)


# ----------------------------------------------------------------------------- events that hit and miss


def _leaves(detection: SigmaDetection) -> list[SigmaDetectionItem]:
    items: list[SigmaDetectionItem] = []
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            items.extend(_leaves(item))
        else:
            items.append(item)
    return items


def _flip_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.swapcase() if flip else c for c, flip in zip(text, flips, strict=True))


def _instance(draw: st.DrawFn, value: Any) -> Any:
    """A field value that the Sigma value matches (or nearly: numbers get a neighbour).

    The values are pySigma's after the modifiers ran, so base64, wide and windash values are
    already in their encoded or expanded form.
    """
    if isinstance(value, SigmaNumber):
        return int(value.number) + draw(st.sampled_from((-1, 0, 0, 1)))
    if isinstance(value, SigmaRegularExpression):
        flags = re.IGNORECASE if "i" in {f.name[0].lower() for f in value.flags} else 0
        pattern = re.compile(str(value.regexp), flags)
        texts = st.from_regex(pattern, fullmatch=False, alphabet=REGEX_ALPHABET)
        return draw(texts.filter(lambda s: len(s) < 40))
    if isinstance(value, SigmaString):
        text = ""
        for part in value.s:
            if part is SpecialChars.WILDCARD_MULTI:
                text += draw(st.sampled_from(("", "x", "a\\b", "é\n")))
            elif part is SpecialChars.WILDCARD_SINGLE:
                text += draw(st.sampled_from(("q", "\\", "é")))
            else:
                text += str(part)
        if not isinstance(value, SigmaCasedString) and draw(st.booleans()):
            text = _flip_case(draw, text)
        return text
    return draw(plain_text)


def _mutation(draw: st.DrawFn, text: str) -> str:
    how = draw(st.sampled_from(("prefix", "suffix", "drop", "case")))
    if how == "prefix":
        return draw(plain_text) + text
    if how == "suffix":
        return text + draw(plain_text)
    if how == "drop" and text:
        index = draw(st.integers(0, len(text) - 1))
        return text[:index] + text[index + 1 :]
    return text.swapcase()


@st.composite
def events_for(draw: st.DrawFn, detection: Detection) -> list[dict[str, Any]]:
    leaves: dict[str, list[Any]] = {}
    rules = [
        detection.sigma,
        *(detection.condition_rule(c.when) for d in detection.extension.derive for c in d.cases),
    ]
    for rule in rules:
        for sigma_detection in rule.detection.detections.values():
            for item in _leaves(sigma_detection):
                if item.field:
                    leaves.setdefault(item.field, []).extend(item.value)
    events = []
    for _ in range(draw(st.integers(3, 6))):
        event: dict[str, Any] = {}
        for field in (*STRING_FIELDS, NUMBER_FIELD):
            how = draw(st.sampled_from(("hit", "hit", "near", "random", "absent")))
            values = leaves.get(field, [])
            if how == "absent":
                continue
            if field == NUMBER_FIELD:
                pick = draw(st.sampled_from(values)) if values and how != "random" else None
                event[field] = (
                    _instance(draw, pick) if isinstance(pick, SigmaNumber) else draw(st.integers(0, 70000))
                )
                continue
            if how == "random" or not values:
                event[field] = draw(plain_text)
                continue
            text = _instance(draw, draw(st.sampled_from(values)))
            event[field] = str(text) if how == "hit" else _mutation(draw, str(text))
        # A field reference hits when its field holds the other field's value (in any case).
        for field, values in leaves.items():
            for value in values:
                if isinstance(value, SigmaFieldReference) and value.field in event and draw(st.booleans()):
                    event[field] = _flip_case(draw, str(event[value.field]))
        events.append(event)
    return events


# ----------------------------------------------------------------------------- the property


def _settings() -> settings:
    exploring = bool(os.environ.get("SIEMC_HYPOTHESIS_RANDOM"))
    return settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not exploring,
        # Shrinking a failure can take minutes; CI reports the failing example as found.
        phases=list(Phase) if exploring else [Phase.explicit, Phase.generate],
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


@st.composite
def example(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    """Rule text and events (text, not the parsed rule, so a failing example prints readably)."""
    text = draw(rule_text())
    return text, draw(events_for(parse_rule(text, RULE_PATH, EVERY_SOURCE_SITE)))


@pytest.mark.parametrize("target", TARGET_NAMES)
def test_target_agrees_with_the_reference_evaluator(target: str) -> None:
    @_settings()
    @given(example())
    def agrees(case: tuple[str, list[dict[str, Any]]]) -> None:
        text, events = case
        detection = parse_rule(text, RULE_PATH, EVERY_SOURCE_SITE)
        try:
            query = compile_detection(detection, target)
        except Unsupported:
            assume(False)
            return
        note(query)
        assert_no_repr(query)
        expected = {
            i: derived for i, (matched, derived) in enumerate(reference(target, detection, events)) if matched
        }
        try:
            rows = run_target(target, detection, query, events)
        except EngineUnavailable as error:
            pytest.skip(str(error))
        assert sorted(row.index for row in rows) == sorted(expected), "matched events differ"
        if target in COMPUTES_DERIVED:
            for row in rows:
                got = {name: derived_value(target, row.fields.get(name)) for name in expected[row.index]}
                assert got == expected[row.index], f"derived values of event {row.index} differ"

    agrees()
