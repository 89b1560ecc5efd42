"""Convert stage for correlation rules: the shared part of every target's correlation query.

Each base rule is converted as any rule is (its source, its condition, its native fields); a target
then says, in tables on its Target class and in `templates/<target>/correlation.j2`, how it groups,
cuts time and aggregates. A target without a `correlation_forms` entry for a type reports it
`unsupported: <why>` (`correlation_unsupported`), never as a looser query.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Template
from sigma.correlations import SigmaCorrelationConditionOperator, SigmaCorrelationType

from siemc.compile.correlation import Correlation
from siemc.compile.datamodel import target_datamodel
from siemc.compile.target import DerivedView, Source, Target, _environment
from siemc.diagnostics import Unsupported

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
OPERATOR_SYMBOLS: Mapping[SigmaCorrelationConditionOperator, str] = {
    SigmaCorrelationConditionOperator.LT: "<",
    SigmaCorrelationConditionOperator.LTE: "<=",
    SigmaCorrelationConditionOperator.GT: ">",
    SigmaCorrelationConditionOperator.GTE: ">=",
    SigmaCorrelationConditionOperator.EQ: "==",
    SigmaCorrelationConditionOperator.NEQ: "!=",
}


@dataclass(frozen=True)
class BaseView:
    """One base rule in the target's terms."""

    reference: str
    label: str  # an identifier for the rule in the query (a let name, a tag value)
    source: Source
    condition: str
    pipes: tuple[str, ...]
    group_fields: tuple[str, ...]  # native names of the group-by fields, in group-by order
    value_field: str | None  # native name of the aggregated field (value_* types)
    derived: tuple[DerivedView, ...] = ()  # the base rule's derived columns those fields name


@dataclass(frozen=True)
class CorrelationView:
    """Everything a correlation template needs."""

    correlation: Correlation
    bases: tuple[BaseView, ...]
    group_names: tuple[str, ...]  # the output column of each group-by field
    operator: str
    count: int
    timespan_seconds: int
    comparisons: tuple[tuple[str, int], ...] = ()  # every bound: (symbol, number); a range has two

    def test(self, subject: str, join: str = " and ", symbols: Mapping[str, str] | None = None) -> str:
        """`subject >= 3 and subject <= 10`: the condition on the aggregate, in a language's words."""
        symbols = symbols or {}
        return join.join(f"{subject} {symbols.get(op, op)} {count}" for op, count in self.comparisons)


def column_names(correlation: Correlation) -> tuple[str, ...]:
    """The output column of each group-by field: its name when it is an identifier, else `group<N>`."""
    return tuple(
        name if _IDENTIFIER.fullmatch(name) else f"group{index}"
        for index, name in enumerate(correlation.group_by)
    )


def _native(
    target: Target, correlation: Correlation, base_index: int, name: str, source: Source, derived: set[str]
) -> str:
    base = correlation.bases[base_index]
    field = correlation.field_for(base, name)
    if field in derived:
        if not target.computes_derived_columns:
            raise Unsupported(
                f"{target.name} cannot compute the derived column {field} of rule '{base.reference}'"
            )
        return field
    native = target.native_column(field, source, set())
    if native is None:
        raise Unsupported(f"field {field} of rule '{base.reference}' has no column in {source.name}")
    target.check_data_model(source, {native})
    model = target_datamodel(target.name).get(source.name)
    if model is not None and native in model.account_parts:
        # One part of an account groups CORP\alice with OTHER\alice: not the field's values.
        raise Unsupported(
            f"field {field} of rule '{base.reference}' is an account {source.name} keeps in two fields"
            f" ({native} is one of them): grouping by one part is not grouping by the account"
        )
    return native


def correlation_view(target: Target, correlation: Correlation) -> CorrelationView:
    bases: list[BaseView] = []
    for index, base in enumerate(correlation.bases):
        try:
            source, context = target.select(base.detection)
        except Unsupported as error:
            raise Unsupported(f"rule '{base.reference}': {error.message}") from None
        derived_views = context["derived_by_name"]
        group_fields = tuple(
            _native(target, correlation, index, name, source, set(derived_views))
            for name in correlation.group_by
        )
        value = correlation.value_field
        value_field = (
            _native(target, correlation, index, value, source, set(derived_views)) if value else None
        )
        # The derived columns a correlation field reads, computed in the base rule's part of the query.
        used = {*group_fields, *([value_field] if value_field else [])}
        derived = tuple(view for name, view in derived_views.items() if name in used)
        label = re.sub(r"\W", "_", base.reference, flags=re.ASCII)
        if any(other.label == label for other in bases):
            label = f"{label}_{index}"
        bases.append(
            BaseView(
                base.reference,
                label if _IDENTIFIER.fullmatch(label) else f"rule_{label}",
                source,
                context["condition"],
                tuple(context["pipes"]),
                group_fields,
                value_field,
                derived,
            )
        )
    condition = correlation.condition
    return CorrelationView(
        correlation,
        tuple(bases),
        column_names(correlation),
        OPERATOR_SYMBOLS[condition.op],
        condition.count,
        correlation.timespan_seconds,
        tuple((OPERATOR_SYMBOLS[op], count) for op, count in correlation.comparisons),
    )


@cache
def _template(target_name: str) -> Template:
    return _environment().get_template(f"{target_name}/correlation.j2")


def render_correlation(target: Target, correlation: Correlation) -> tuple[str, str]:
    """The correlation query and the name of the source it reads."""
    reason = correlation_unsupported(target, correlation)
    if reason:
        raise Unsupported(reason)
    view = correlation_view(target, correlation)
    rule = correlation.sigma
    context: dict[str, Any] = {
        "view": view,
        "correlation": correlation,
        "kind": correlation.kind.name.lower(),
        "title": rule.title,
        "rule_id": str(rule.id) if rule.id else "",
        "attack_ids": correlation.attack_ids,
        "severity": correlation.extension.metadata.severity
        or (rule.level.name.lower() if rule.level else ""),
        "source_path": posixpath.normpath(correlation.path.as_posix()),
        "target": target,
        "summary": summary(correlation),
    }
    context.update(target.correlation_context(view))
    text = target.finish(_template(target.name).render(context).rstrip("\n") + "\n")
    # The source the query reads; when the base rules read several, their names: no artifact then
    # narrows the rule to one of them (an Elastic rule's index, say).
    names = list(dict.fromkeys(base.source.name for base in view.bases))
    return text, " + ".join(names)


def summary(correlation: Correlation) -> str:
    """One line saying what the correlation counts, for the query's header comment."""
    kind = correlation.kind.name.lower()
    rules = ", ".join(base.reference for base in correlation.bases)
    by = f" by {', '.join(correlation.group_by)}" if correlation.group_by else ""
    condition = correlation.condition
    bounds = " and ".join(f"{OPERATOR_SYMBOLS[op]} {count}" for op, count in correlation.comparisons)
    if correlation.kind == SigmaCorrelationType.TEMPORAL_ORDERED:
        what = f"{rules} in this order"
    elif correlation.kind == SigmaCorrelationType.TEMPORAL:
        what = f"{bounds} of {rules}"
    else:
        field = f"({correlation.value_field})" if correlation.value_field else ""
        percentile = (
            f" p{condition.percentile}" if correlation.kind == SigmaCorrelationType.VALUE_PERCENTILE else ""
        )
        what = f"{kind}{field}{percentile} {bounds} over {rules}"
    return f"{kind}: {what}{by} within {correlation.sigma.timespan.spec}"


def correlation_unsupported(target: Target, correlation: Correlation) -> str | None:
    """Why a target cannot say this correlation exactly (its table), or None."""
    reasons: Mapping[str, str] = target.correlation_unsupported_types
    kind = correlation.kind.name.lower()
    if kind in reasons:
        return reasons[kind]
    return target.correlation_refuses(correlation)
