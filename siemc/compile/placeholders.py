"""Sigma placeholders (`Field|expand: '%name%'`) resolved from the site configuration.

Two forms, as `siemc.yml` gives them:

- **Values.** Before pySigma reads the rule, each `%name%` in a value of an `expand` field is replaced
  by each configured value and `expand` leaves the modifier chain, so the rule compiles, on every
  target and in the reference evaluator, exactly as if it listed the values (the modifiers after
  `expand` apply to each one: `contains`, `endswith`, `re`, `cidr`, `base64`...). A value is Sigma
  text inserted where `%name%` stands: `*`, `?` and `\\` keep their Sigma meaning. Several
  placeholders in one value give every combination, as pySigma's own placeholder expansion does.
- **Named lists** (`{list: NAME}`): the placeholder stays one, and a pipeline step turns each
  placeholder-only value into a `NamedListValue` that the target's backend writes as its SIEM's list
  construct (`siemc.compile.backend.NamedListTests`), or reports unsupported.

A placeholder with neither is `unsupported: placeholder 'NAME' has no value (...)`: no output ever
holds pySigma's text for a placeholder.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sigma.conditions import ConditionAND
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.rule import SigmaDetectionItem
from sigma.types import (
    Placeholder,
    SigmaCasedString,
    SigmaQueryExpression,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from siemc.config import NamedList, SiteConfig
from siemc.diagnostics import SiemcError

# pySigma's own placeholder syntax (sigma.types.SigmaString.insert_placeholders): `%name%`, `\%` a percent.
# An escaped backslash before it (`\\%name%`, a path separator then the value) leaves it a placeholder.
PLACEHOLDER = re.compile(r"(?:(?<!\\)|(?<=(?<!\\)\\\\))%(?P<name>[^%]+)%")
EXPAND = "expand"
# A named list under `|expand|cidr` (which pySigma cannot parse) travels as the placeholder `name|cidr`.
CIDR_SUFFIX = "|cidr"


def _names(value: object) -> list[str]:
    return [m["name"] for m in PLACEHOLDER.finditer(value)] if isinstance(value, str) else []


def _substitutions(text: str, values: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Every combination of values for the placeholders of one string, in order."""
    pieces = PLACEHOLDER.split(text)  # literal, name, literal, name, ..., literal
    literals = [piece.replace("\\%", "%") for piece in pieces[0::2]]
    choices = [values[name] for name in pieces[1::2]]
    results = []
    for combination in itertools.product(*choices):
        results.append(
            literals[0] + "".join(v + lit for v, lit in zip(combination, literals[1:], strict=True))
        )
    return results


def _expand_item(key: str, value: Any, values: Mapping[str, tuple[str, ...]]) -> tuple[str, Any]:
    field, *modifiers = key.split("|")
    if EXPAND not in modifiers:
        return key, value
    items = value if isinstance(value, list) else [value]
    names = [name for item in items for name in _names(item)]
    if not names:
        return key, value
    if all(name in values for name in names):
        expanded = [
            v for item in items for v in (_substitutions(item, values) if isinstance(item, str) else [item])
        ]
        modifiers.remove(EXPAND)
        return "|".join([field, *modifiers]), expanded
    # A named list or an unknown placeholder: it stays a placeholder, in an order pySigma can read.
    position = modifiers.index(EXPAND)
    after = modifiers[position + 1 :]
    if after[:1] == ["re"]:  # `expand|re`: pySigma reads `re|expand` (a regex holding the placeholder)
        modifiers[position : position + 2] = ["re", EXPAND]
    elif after[:1] == ["cidr"]:  # pySigma cannot read `cidr` on a placeholder: the name carries it
        del modifiers[position + 1]
        items = [
            PLACEHOLDER.sub(lambda m: f"%{m['name']}{CIDR_SUFFIX}%", i) if isinstance(i, str) else i
            for i in items
        ]
        value = items if isinstance(value, list) else items[0]
    return "|".join([field, *modifiers]), value


def _expand_selection(selection: Any, values: Mapping[str, tuple[str, ...]]) -> Any:
    if isinstance(selection, list):
        return [_expand_selection(item, values) for item in selection]
    if not isinstance(selection, dict):
        return selection
    expanded: dict[str, Any] = {}
    for key, value in selection.items():
        new_key, new_value = _expand_item(str(key), value, values)
        if new_key in expanded or (new_key != key and new_key in selection):
            raise SiemcError(
                f"{key}: expanding the placeholder gives {new_key!r}, which the selection already has"
            )
        expanded[new_key] = new_value
    return expanded


def expand_placeholders(data: dict[str, Any], values: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """The rule's data with the placeholders that have values written out (detection and derived columns)."""
    detection = data.get("detection")
    if isinstance(detection, dict):
        data = {
            **data,
            "detection": {
                name: selection if name == "condition" else _expand_selection(selection, values)
                for name, selection in detection.items()
            },
        }
    extension = data.get("siemc")
    if isinstance(extension, dict) and isinstance(extension.get("derive"), dict):
        derive = {}
        for column, spec in extension["derive"].items():
            if isinstance(spec, dict) and isinstance(spec.get("when"), dict):
                spec = {**spec, "when": _expand_selection(spec["when"], values)}
            elif isinstance(spec, dict) and isinstance(spec.get("cases"), list):
                spec = {
                    **spec,
                    "cases": [
                        {**case, "when": _expand_selection(case["when"], values)}
                        if isinstance(case, dict) and isinstance(case.get("when"), dict)
                        else case
                        for case in spec["cases"]
                    ],
                }
            derive[column] = spec
        data = {**data, "siemc": {**extension, "derive": derive}}
    return data


# -- labelled lists -------------------------------------------------------------------------------------


class LabelError(SiemcError):
    """A `label` derived column that cannot be resolved; `key_path` locates it in the rule's YAML."""

    def __init__(self, message: str, key_path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.key_path = key_path


def resolve_label_columns(data: dict[str, Any], site: SiteConfig) -> dict[str, Any]:
    """The rule's data with each `label` derived column written as the category it stands for.

        RATTool: {label: tool, of: {DestinationHostname|expand: '%rat_domains%'}, else: Unknown}

    becomes one case per label, in the list's order, testing the values of the placeholder that carry
    that label (`of` with `%rat_domains%` standing for them), then `else`. The list stays defined once,
    in siemc.yml; the rule says which column it reads. A placeholder without values keeps its one
    case, so the rule is unsupported as any rule naming a placeholder without a value."""
    extension = data.get("siemc")
    if not isinstance(extension, dict):
        return data
    derive = extension.get("derive")
    if not isinstance(derive, dict) or not any(isinstance(v, dict) and "label" in v for v in derive.values()):
        return data
    resolved: dict[str, Any] = {}
    for column, spec in derive.items():
        resolved[column] = (
            _label_cases(column, spec, site) if isinstance(spec, dict) and "label" in spec else spec
        )
    return {**data, "siemc": {**extension, "derive": resolved}}


def _label_cases(column: str, spec: Mapping[str, Any], site: SiteConfig) -> dict[str, Any]:
    path: tuple[str | int, ...] = ("siemc", "derive", column)
    unknown = [key for key in spec if key not in ("label", "of", "else")]
    if unknown:
        raise LabelError(
            f"unknown key {unknown[0]!r} (expected one of: label, of, else)", (*path, unknown[0])
        )
    label, of, default = spec.get("label"), spec.get("of"), spec.get("else", "Unknown")
    if not isinstance(label, str) or not isinstance(default, str):
        raise LabelError("`label` and `else` are strings", path)
    # One selection, or several: the cases of each in turn (a rule matching by name, then by path).
    selections = of if isinstance(of, list) else [of]
    cases: list[dict[str, Any]] = []
    for index, selection in enumerate(selections):
        where = (*path, "of", index) if isinstance(of, list) else (*path, "of")
        cases += _selection_cases(selection, label, default, site, where)
    if not cases:  # every value unlabelled (overridden on the command line): the column is `else`
        cases = [{"when": selections[0], "then": default}]
    return {"cases": cases, "else": default}


def _selection_cases(
    selection: Any, label: str, default: str, site: SiteConfig, path: tuple[str | int, ...]
) -> list[dict[str, Any]]:
    if not isinstance(selection, dict) or not selection:
        raise LabelError("`of` is a Sigma selection naming a labelled placeholder, or a list of them", path)
    names = sorted(
        {
            name
            for key, value in selection.items()
            if EXPAND in str(key).split("|")
            for item in (value if isinstance(value, list) else [value])
            for name in _names(item)
        }
    )
    if len(names) != 1:
        raise LabelError("a selection of `of` names exactly one placeholder (`Field|expand: '%name%'`)", path)
    name = names[0]
    if name not in site.placeholders:  # no value: left to the rule's usual `unsupported`
        return [{"when": selection, "then": default}]
    contents = site.contents(name)
    if contents is None:
        raise LabelError(
            f"placeholder {name!r} is a named list without its contents: a label column needs them "
            f"(siemc.yml placeholders.{name}.file)",
            path,
        )
    labels = site.placeholder_labels.get(name)
    if labels is None or label not in labels.columns:
        have = f"its labels are {', '.join(labels.columns)}" if labels else "it has no labels"
        raise LabelError(
            f"placeholder {name!r} has no label {label!r} ({have}; siemc.yml placeholders.{name}.labels)",
            (*path[: path.index("of")], "label"),
        )
    groups: dict[str, list[str]] = {}
    for value, text in zip(contents, labels.column(label), strict=True):
        if text:
            groups.setdefault(text, []).append(value)
    return [
        {"when": _expand_selection(selection, {name: tuple(values)}), "then": text}
        for text, values in groups.items()
    ]


# -- named lists -----------------------------------------------------------------------------------------

NAMED_LIST_KINDS = ("exact", "contains", "startswith", "endswith", "regex", "cidr")


@dataclass
class NamedListValue(SigmaQueryExpression):
    """A test of a field against a SIEM's named list: `kind` says how each list entry matches.

    `cased` is Sigma's case sensitivity of the test: the `cased` modifier for strings, a regex
    without the `i` flag. `values` are the list's entries when siemc.yml gives them (plain text,
    regexes for `regex`, networks for `cidr`), for targets with no list object of their own.
    """

    kind: str = "exact"
    cased: bool = False
    placeholder: str = ""
    values: tuple[str, ...] | None = None
    # Regex flags other than `i` (m, s), which no list construct can apply to a list's regexes.
    other_flags: str = ""

    def __str__(self) -> str:  # never reaches a query: backends write it through NamedListTests
        raise TypeError("a named list is written by the target's backend")

    @property
    def key(self) -> str:
        """The kind with `_cased` for a case-sensitive test: the key of a backend's construct table."""
        return self.kind + ("_cased" if self.cased and self.kind != "cidr" else "")


def _named_list_value(value: object, lists: Mapping[str, NamedList]) -> NamedListValue | None:
    """The named-list test a placeholder-only value stands for, None when it holds no placeholder."""
    if isinstance(value, SigmaRegularExpression):
        parts = value.regexp.s
        if len(parts) == 1 and isinstance(parts[0], Placeholder) and parts[0].name in lists:
            named = lists[parts[0].name]
            flags = {flag: letter for flag, letter in value.sigma_to_re_flag.items()}
            other = "".join(sorted(flags[flag] for flag in value.flags if flag is not _IGNORECASE))
            return NamedListValue(
                "",
                named.name,
                kind="regex",
                cased=_IGNORECASE not in value.flags,
                placeholder=parts[0].name,
                values=named.values,
                other_flags=other,
            )
        return None
    if not isinstance(value, SigmaString) or not any(isinstance(p, Placeholder) for p in value.s):
        return None
    parts = list(value.s)
    placeholders = [p for p in parts if isinstance(p, Placeholder)]
    name = placeholders[0].name
    base = name.removesuffix(CIDR_SUFFIX)
    if len(placeholders) != 1 or base not in lists:
        return None
    wildcard = SpecialChars.WILDCARD_MULTI
    shapes = {
        (name,): "exact",
        (wildcard, name, wildcard): "contains",
        (wildcard, name): "endswith",
        (name, wildcard): "startswith",
    }
    shape = tuple(p.name if isinstance(p, Placeholder) else p for p in parts)
    kind = shapes.get(shape)
    if kind is None:
        raise SigmaFeatureNotSupportedByBackendError(
            f"placeholder '{base}' is a named list: it must be the whole value (with contains, startswith "
            "or endswith at most), not part of a longer value"
        )
    if name.endswith(CIDR_SUFFIX):
        kind = "cidr"
    return NamedListValue(
        "",
        lists[base].name,
        kind=kind,
        cased=isinstance(value, SigmaCasedString),
        placeholder=base,
        values=lists[base].values,
    )


_IGNORECASE = SigmaRegularExpressionFlag.IGNORECASE


class PlaceholderTransformation(DetectionItemTransformation):
    """Placeholders that reach the pipeline: named lists become `NamedListValue`s; any other has no
    value and makes the rule unsupported (its text would otherwise be a Python repr in the query)."""

    def __init__(self, lists: Mapping[str, NamedList]) -> None:
        self.lists = dict(lists)

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> SigmaDetectionItem | None:
        values: list[Any] = []
        changed = False
        for value in detection_item.value:
            named = _named_list_value(value, self.lists)
            if named is not None:
                if detection_item.value_linking is ConditionAND:
                    # `|all`: every entry must match, where a list construct tests for any entry.
                    raise SigmaFeatureNotSupportedByBackendError(
                        f"placeholder '{named.placeholder}' is the named list {named.id!r}: the all "
                        "modifier needs every entry to match, and a list construct tests for any entry"
                    )
                values.append(named)
                changed = True
                continue
            for name in _unresolved(value):
                raise SigmaFeatureNotSupportedByBackendError(
                    f"placeholder '{name}' has no value (set placeholders.{name} in siemc.yml)"
                )
            values.append(value)
        if not changed:
            return None
        detection_item.value = values
        return detection_item


def _unresolved(value: object) -> Iterator[str]:
    if isinstance(value, SigmaRegularExpression):
        value = value.regexp
    parts = getattr(value, "s", None)
    if isinstance(value, SigmaString) and parts is not None:
        for part in parts:
            if isinstance(part, Placeholder):
                yield part.name.removesuffix(CIDR_SUFFIX)
    for inner in getattr(value, "values", ()) or ():  # SigmaExpansion (windash)
        yield from _unresolved(inner)


def literal_sigma_text(text: str) -> str:
    """Plain text as Sigma text that means exactly it: `\\`, `*` and `?` escaped (a named list's
    entries are the SIEM list's own plain values, not Sigma patterns)."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
