"""Convert stage: a `Target` turns a Detection into query parts and renders them with its template.

A target module (`backends/<name>.py`) declares a Target subclass: names, the backend class that
writes condition expressions, the event sources it knows (selector + native field names per Sigma
log source) and how a literal is written. Everything else is shared here.
"""

from __future__ import annotations

import copy
import pickle
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from jinja2 import FileSystemLoader, StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment
from sigma.conversion.base import Backend
from sigma.exceptions import SigmaError, SigmaFeatureNotSupportedByBackendError
from sigma.rule import SigmaRule

from siemc.compile.datamodel import SourceModel, target_datamodel
from siemc.compile.extension import TIME_COLUMN, DerivedColumn
from siemc.compile.fields import (
    FILE_NAME_FIELDS,
    StrictFieldMapping,
    UnmappedFieldError,
    field_pipeline,
    nested_name,
    unmapped_name,
)
from siemc.compile.mappings import SelectorValue, SourceSpec, column_name, entry_for, logsource_values
from siemc.compile.rule import Detection
from siemc.compile.site import site_mapping, site_pipeline
from siemc.config import DEFAULT, SiteConfig, takes
from siemc.diagnostics import SiemcError, Unsupported
from siemc.resources import templates_folder

if TYPE_CHECKING:
    from siemc.compile.correlation import Correlation
    from siemc.compile.correlation_target import CorrelationView

# A target that has not stated how it converts correlation rules (its `correlation_unsupported_types`).
CORRELATION_NOT_CONVERTED = "correlation rules are not converted for this target yet"


@dataclass(frozen=True)
class Source:
    """How one Sigma log source looks in a SIEM (stated in backends/mappings/<target>.yml).

    `selector` is the native text that selects the events, `selector_fields` the native field ->
    value pairs every such event carries, `fields` the Sigma -> native field table and `unmapped`
    the native name of any other field (`{name}` is the Sigma name), or None: such a field has no
    column in `name` (a fixed-schema table). `keyword_field` holds the raw event text that Sigma
    keywords search. `column_types` gives the type of the table's typed columns (a mapping file's
    `columns`): a value of another type is compared as that column holds it.
    """

    selector: str
    fields: Mapping[str, str | None]  # None: the source has no such field
    time_field: str
    extra: Mapping[str, str] = field(default_factory=dict)  # target-specific template values
    selector_fields: Mapping[str, SelectorValue] = field(default_factory=dict)
    unmapped: str | None = None
    keyword_field: str | None = None
    name: str = ""
    column_types: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # Sigma field -> value -> native
    stated_by_site: bool = False  # the site configuration states it: it vouches for its fields

    def native_field(self, sigma_name: str) -> str | None:
        """The native name of a Sigma field, or None when the source has no column for it."""
        if sigma_name in self.fields:
            return self.fields[sigma_name]  # None: a field the source has none of
        nested = nested_name(self.present, sigma_name)
        if nested is not None:
            return nested
        return unmapped_name(self.unmapped, sigma_name) if self.unmapped else None

    @property
    def present(self) -> dict[str, str]:
        """The field table without the fields the source has none of."""
        return {name: native for name, native in self.fields.items() if native is not None}

    @classmethod
    def from_spec(cls, spec: SourceSpec, logsource: Mapping[str, str] | None = None) -> Source:
        """The source a mapping file states; a catch-all's texts name the rule's log source."""

        def fill(text: str) -> str:
            return text.format(**logsource) if logsource else text

        return cls(
            selector=fill(spec.selector),
            fields=spec.fields,
            time_field=spec.time_field,
            extra=spec.extra,
            selector_fields={
                key: fill(value) if isinstance(value, str) else value
                for key, value in spec.selector_fields.items()
            },
            unmapped=spec.unmapped,
            keyword_field=spec.keyword_field,
            name=fill(spec.name),
            column_types=spec.column_types,
            values=spec.values,
            stated_by_site=spec.stated_by_site,
        )


@dataclass(frozen=True)
class DerivedView:
    """A derived column ready for a template: every condition and literal already in target syntax."""

    name: str
    is_flag: bool
    cases: tuple[tuple[str, str], ...]  # (condition expression, literal value)
    default: str


# Outside quotes and brackets, the characters that open or close them.
_GROUP_SPECIAL = re.compile(r"[\"'`()\[\]{}]")
# Only ASCII letters lower-case to these words, and a match is one only when no letter touches it.
_BOOLEAN_WORD = re.compile(r"and|or|not", re.IGNORECASE | re.ASCII)


def _has_boolean_word(text: str) -> bool:
    for match in _BOOLEAN_WORD.finditer(text):
        start, end = match.span()
        if (start == 0 or not text[start - 1].isalpha()) and (end == len(text) or not text[end].isalpha()):
            return True
    return False


def group(expression: str) -> str:
    """Parenthesise an expression unless it is one term, so juxtaposition can never regroup it.

    One term: no and/or/not word outside quotes and brackets. A quote ends at the next same quote not
    preceded by a backslash. Templates call this on every condition: quoted values are skipped whole.
    """
    depth, position = 0, 0
    while True:
        special = _GROUP_SPECIAL.search(expression, position)
        end = special.start() if special else len(expression)
        if depth == 0 and _has_boolean_word(expression[position:end]):
            return f"({expression})"
        if special is None:
            return expression
        char = special.group()
        if char in "\"'`":
            close = expression.find(char, end + 1)
            while close != -1 and expression[close - 1] == "\\":
                close = expression.find(char, close + 1)
            if close == -1:  # an unterminated quote runs to the end
                return expression
            position = close + 1
        else:
            depth += 1 if char in "([{" else -1
            position = end + 1


@cache
def _environment() -> SandboxedEnvironment:
    environment = SandboxedEnvironment(
        loader=FileSystemLoader(templates_folder()),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    environment.filters["group"] = group
    return environment


@cache
def _template(target: str) -> Template:
    # Held once loaded: `get_template` would check the file's modification time on every rule.
    return _environment().get_template(f"{target}/query.j2")


class _RuleCopies:
    """Fresh copies of the rule being converted, each for one conversion.

    pySigma's pipelines rewrite a rule in place, so every conversion needs its own copy, and one rule
    is converted several times in a row (each target, candidate source, SPL's eval form). The rule is
    pickled once and unpickled per copy: several times cheaper than `copy.deepcopy`.
    """

    def __init__(self) -> None:
        self.rule: SigmaRule | None = None  # held, so its id is never reused while the bytes are kept
        self.data = b""

    def fresh(self, rule: SigmaRule) -> SigmaRule:
        if rule is not self.rule:
            try:
                data = pickle.dumps(rule, protocol=pickle.HIGHEST_PROTOCOL)
            except (pickle.PicklingError, TypeError, AttributeError):  # a value pickle cannot take
                return copy.deepcopy(rule)
            self.rule, self.data = rule, data
        copied: SigmaRule = pickle.loads(self.data)
        return copied


_copies = _RuleCopies()


class UnmappedField(Unsupported):
    """A field has no column in a fixed-schema source; the next candidate source may have one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Target:
    name: ClassVar[str]
    siem: ClassVar[str]
    file_extension: ClassVar[str]
    backend_class: ClassVar[type[Backend]]
    # Backend for derived-column conditions when the language writes them differently (SPL eval).
    condition_backend_class: ClassVar[type[Backend] | None] = None
    # The backend searches free text itself (Splunk); other targets search the source's keyword_field.
    native_keywords: ClassVar[bool] = False
    # Derived flags are the strings "true"/"false" where the language's computed columns hold no
    # booleans (or its rule engines compare them as text).
    flags_as_text: ClassVar[bool] = False
    # How the language reads a numeric column as text (`tostring({column})`), for string patterns on
    # a typed column (`columns` in the mapping file); None: such a test is unsupported.
    column_as_text: ClassVar[str | None] = None

    # A native field name a site configuration may give, written into queries as it is: a plain or
    # dotted name by default; targets with quoted identifiers say so (AQL's "Process Name").
    native_field_name: ClassVar[re.Pattern[str]] = re.compile(r"[A-Za-z_@#][\w.@#\-]*")
    native_field_hint: ClassVar[str] = "a plain or dotted field name"

    # Whether a correlation query can compute a base rule's derived columns (to group or count them).
    computes_derived_columns: ClassVar[bool] = True
    # Correlation rules (siemc/compile/correlation_target.py): each correlation type the target cannot
    # say exactly, with the reason; keyed by the type's name (event_count, temporal_ordered, ...).
    correlation_unsupported_types: ClassVar[Mapping[str, str]] = {
        name: CORRELATION_NOT_CONVERTED
        for name in (
            "event_count",
            "value_count",
            "temporal",
            "temporal_ordered",
            "value_sum",
            "value_avg",
            "value_percentile",
            "value_median",
        )
    }

    def __init__(self, site: SiteConfig = DEFAULT) -> None:
        self.site = site

    def correlation_refuses(self, correlation: Correlation) -> str | None:
        """Why this target cannot say a correlation of a type it converts (a condition, a shape), or None."""
        return None

    def correlation_context(self, view: CorrelationView) -> dict[str, Any]:
        """Target values for templates/<target>/correlation.j2, beyond the shared ones."""
        return {}

    # -- literals ------------------------------------------------------------------------------------
    def string_literal(self, text: str) -> str:
        """A string constant in the language (derived-column values, metadata)."""
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def bool_literal(self, value: bool) -> str:
        word = "true" if value else "false"
        return self.string_literal(word) if self.flags_as_text else word

    # -- conversion ----------------------------------------------------------------------------------
    def candidates(self, rule: SigmaRule) -> tuple[Source, ...]:
        """The sources a rule's log source may live in on this target, preferred first."""
        logsource = rule.logsource
        # Thousands of rules share a few hundred log sources: each is looked up once per target.
        known: dict[tuple[str | None, ...], tuple[Source, ...] | str] = self.__dict__.setdefault(
            "_logsources", {}
        )
        triple = (logsource.category, logsource.product, logsource.service)
        if triple not in known:
            try:
                known[triple] = self._candidates(rule)
            except Unsupported as error:
                known[triple] = error.message
        found = known[triple]
        if isinstance(found, str):
            raise Unsupported(found)
        return found

    def _candidates(self, rule: SigmaRule) -> tuple[Source, ...]:
        cache: dict[tuple[object, ...], tuple[Source, ...]] = self.__dict__.setdefault("_sources", {})
        entry = entry_for(site_mapping(self.site, self.name), rule.logsource)
        if entry is None:
            logsource = rule.logsource
            raise Unsupported(
                "log source "
                + " ".join(
                    f"{key}={value}"
                    for key in ("category", "product", "service")
                    if (value := getattr(logsource, key))
                )
                + " is not mapped"
            )
        values = logsource_values(rule.logsource) if entry.key.specificity == 0 else {}
        key = (id(entry), *values.values())
        if key not in cache:
            cache[key] = tuple(Source.from_spec(spec, values) for spec in entry.candidates)
        return cache[key]

    def usable_candidates(self, rule: SigmaRule) -> tuple[Source, ...]:
        """The candidates a rule may read: its log source's first source, and the fallbacks the site
        says it collects (`targets.<target>.fallbacks`; none by default). A fallback holds the rule
        *whole*, so moving there because the first source lacks one field needs data the SIEM's
        standard ingestion does not produce (Sysmon beside an EDR, a Windows event collector): by
        default such a rule is unsupported with the first source's reason and the fallbacks a site
        could list. Of those, only sources whose fields are known are read: the vendor's data model
        has them, or the site vouches for them (`targets.<target>.unmodelled`, or a source it states)."""
        candidates = self.candidates(rule)
        allowed = self.site.fallbacks.get(self.name, False)
        collected = candidates[:1] + tuple(source for source in candidates[1:] if takes(allowed, source.name))
        usable = tuple(source for source in collected if self._fields_known(source))
        if not usable:
            first = candidates[0].name
            raise Unsupported(
                f"siemc has no data model of {first}: which fields the SIEM's ingestion writes there is"
                f" not established (targets.{self.name}.unmodelled in siemc.yml, where the site"
                " collects it and vouches for its fields)"
            )
        return usable

    def _fields_known(self, source: Source) -> bool:
        """The source's fields are known: the vendor's data model has it, or the site vouches for it."""
        return (
            source.name in target_datamodel(self.name)
            or source.stated_by_site
            or takes(self.site.unmodelled.get(self.name, False), source.name)
        )

    def _no_fallback(self, rule: SigmaRule, error: UnmappedField) -> UnmappedField:
        """The first source's reason, with the fallbacks a site could allow."""
        names = list(dict.fromkeys(source.name for source in self.candidates(rule)[1:]))
        if not names:
            return error
        message = (
            f"{error.message}; {' or '.join(names)} holds the rule where the site collects it"
            f" (targets.{self.name}.fallbacks in siemc.yml)"
        )
        return UnmappedField(message, error.field)

    def select(self, detection: Detection) -> tuple[Source, dict[str, Any]]:
        """The first usable candidate source that maps every field the rule uses, with its context."""
        first_error: UnmappedField | None = None
        last_error: UnmappedField | None = None
        usable = self.usable_candidates(detection.sigma)
        for source in usable:
            try:
                context = self._context(detection, source)
                # A rule the preferred source cannot hold reads another one whole: the output says why.
                context["fallback"] = last_error.message if last_error is not None else ""
                return source, context
            except UnmappedField as error:
                applied = detection.filter_with_field(error.field) if error.field else None
                if applied is not None:
                    # A filter tunes a rule where it lives: it never moves the rule to another source.
                    raise UnmappedField(
                        f"{error.message} (the field comes from the filter {applied})"
                    ) from None
                first_error = first_error or error
                last_error = error
        assert first_error is not None and last_error is not None
        if len(usable) == 1:
            raise self._no_fallback(detection.sigma, first_error)
        # The last candidate is the most permissive one: its reason is the one worth reporting.
        raise last_error

    def source_for(self, rule: SigmaRule) -> Source:
        """The source a rule converts against (the first usable candidate that maps all its fields)."""
        first_error: UnmappedField | None = None
        last_error: UnmappedField | None = None
        usable = self.usable_candidates(rule)
        for source in usable:
            try:
                self.expression(rule, source)
                return source
            except UnmappedField as error:
                first_error = first_error or error
                last_error = error
        assert first_error is not None and last_error is not None
        if len(usable) == 1:
            raise self._no_fallback(rule, first_error)
        raise last_error

    def _backend(self, source: Source, condition: bool = False) -> Backend:
        # Backends are built once per (source, kind) and reused for every rule: pipelines are costly.
        cache: dict[tuple[int, bool], Backend] = self.__dict__.setdefault("_backends", {})
        key = (id(source), condition)
        if key not in cache:
            # Free text is the search backend's own; a condition backend (SPL eval) reads the raw field.
            native_keywords = self.native_keywords and not (condition and self.condition_backend_class)
            model = target_datamodel(self.name).get(source.name)
            pipeline = site_pipeline(
                self.site,
                self.name,
                field_pipeline(self.name, source, native_keywords, self.column_as_text, model),
            )
            backend_class = (self.condition_backend_class if condition else None) or self.backend_class
            cache[key] = backend_class(processing_pipeline=pipeline)
            self.__dict__.setdefault("_mappers", {})[key] = next(
                item.transformation
                for item in pipeline.items
                if isinstance(item.transformation, StrictFieldMapping)
            )
            self.configure_backend(cache[key])
        return cache[key]

    def configure_backend(self, backend: Backend) -> None:
        """Targets whose backends need a site setting (Sumo Logic's lookup folder) set it here."""

    def _reads(self, source: Source, condition: bool) -> set[str]:
        """The native fields the last conversion against `source` read (its field mapping records them)."""
        mappers: dict[tuple[int, bool], StrictFieldMapping] = self.__dict__["_mappers"]
        return mappers[(id(source), condition)].read

    def expression(self, rule: SigmaRule, source: Source, condition: bool = False) -> str:
        """The boolean expression of a rule's detection, in this language."""
        try:
            backend = self._backend(source, condition)
            self._reads(source, condition).clear()
            # pySigma's pipelines rewrite the rule in place: each target converts its own copy.
            queries = backend.convert_rule(_copies.fresh(rule))
        except UnmappedFieldError as error:
            raise UnmappedField(error.message(source), error.field) from None
        except SigmaFeatureNotSupportedByBackendError as error:
            raise Unsupported(str(error).split(" in /")[0]) from None
        except SigmaError as error:
            raise SiemcError(str(error).split(" in /")[0]) from None
        except NotImplementedError as error:
            if "value expressions are not supported" in str(error):
                # A keyword (a value without a field) and no raw-text field to search it in.
                raise UnmappedField(f"keyword search: {source.name} has no raw event text field") from None
            raise Unsupported(str(error)) from None
        if len(queries) != 1:
            raise Unsupported(f"the rule converts to {len(queries)} queries; one is needed")
        self.__dict__.setdefault("_read", set()).update(self._reads(source, condition))
        return str(queries[0])

    def derived(self, detection: Detection, column: DerivedColumn, source: Source) -> DerivedView:
        cases = tuple(
            (
                self.expression(detection.condition_rule(case.when), source, condition=True),
                self.bool_literal(True) if column.is_flag else self.string_literal(case.then),
            )
            for case in column.cases
        )
        default = (
            self.bool_literal(False)
            if isinstance(column.default, bool)
            else self.string_literal(column.default)
        )
        return DerivedView(column.name, column.is_flag, cases, default)

    def split_pipes(self, expression: str) -> tuple[str, list[str]]:
        """Languages whose backend appends pipe stages to a condition split them off here."""
        return expression, []

    def native_column(self, column: str, source: Source, derived: set[str]) -> str | None:
        if column == TIME_COLUMN:
            return source.time_field
        if column in derived:
            return column
        if source.fields.get(column) is None and column in FILE_NAME_FIELDS.values():
            # Path-only sources show the full path where the file name has no column of its own.
            column = next(path for path, name in FILE_NAME_FIELDS.items() if name == column)
        return source.native_field(column)

    def context(self, detection: Detection) -> dict[str, Any]:
        """Everything the template needs, each value a finished fragment of the language."""
        return self.select(detection)[1]

    def _context(self, detection: Detection, source: Source) -> dict[str, Any]:
        rule = detection.sigma
        ext = detection.extension
        read: set[str] = self.__dict__.setdefault("_read", set())
        read.clear()
        derived = [self.derived(detection, column, source) for column in ext.derive]
        derived_names = {d.name for d in derived}
        sort = None
        if ext.sort:
            sort_column = self.native_column(ext.sort[0], source, derived_names)
            sort = (sort_column, ext.sort[1]) if sort_column else None
        condition, pipes = self.split_pipes(self.expression(rule, source))
        columns, unshown = self._shown_columns(ext.columns, source, derived_names)
        shown = {*columns, *([sort[0]] if sort else [])} - derived_names
        self.check_data_model(source, read | shown)
        return {
            "rule": rule,
            "title": rule.title,
            "rule_id": str(rule.id) if rule.id else "",
            "attack_ids": detection.attack_ids,
            "severity": ext.metadata.severity or (rule.level.name.lower() if rule.level else ""),
            "source_path": posixpath.normpath(detection.path.as_posix()),
            "source": source,
            "condition": condition,
            "pipes": pipes,
            "derived": derived,
            "derived_by_name": {d.name: d for d in derived},
            "columns": columns,
            "unshown": unshown,
            "sort": sort,
            "lookback": ext.lookback,
            "target": self,
        }

    def _shown_columns(
        self, wanted: Sequence[str], source: Source, derived: set[str]
    ) -> tuple[list[str], list[str]]:
        """The native columns of a rule's projection, and the columns left out because the source's
        data model lacks them: a column only shown changes no match, so the rule keeps its source
        and says what it cannot show (a field its condition reads is checked, never left out)."""
        model = target_datamodel(self.name).get(source.name)
        columns: list[str] = []
        unshown: list[str] = []
        for column in wanted:
            native = self.native_column(column, source, derived)
            if not native:
                continue
            checked = model is not None and column not in derived and column != TIME_COLUMN
            if checked and self._lacks(model, native):  # type: ignore[arg-type]
                unshown.append(column)
                continue
            columns.append(native)
        return columns, unshown

    def check_data_model(self, source: Source, fields: set[str]) -> None:
        """Every field an output reads must be one the source's events carry (its data model), or
        the output would silently match nothing: `<source> has no field X` instead."""
        model = target_datamodel(self.name).get(source.name)
        if model is None:
            return
        wanted = fields | {source.time_field} | set(source.selector_fields)
        names = {name for native in wanted - self._site_natives for name in self.model_fields(native)}
        missing = sorted(name for name in names if not model.has(name))
        if missing:
            raise UnmappedField(f"{source.name} has no field {missing[0]}", None)

    @cached_property
    def _site_natives(self) -> frozenset[str]:
        """The native names the site's `fields` give: the site says its SIEM has them (a custom
        property a QRadar admin extracts, a column a pipeline writes), so the model need not."""
        return frozenset(self.site.fields.get(self.name, {}).values())

    def _lacks(self, model: SourceModel, native: str) -> bool:
        """Whether a native field reference reads a field the source's model lacks."""
        if native in self._site_natives:
            return False
        return not all(model.has(name) for name in self.model_fields(native))

    def model_fields(self, native: str) -> set[str]:
        """The fields of the data model a native field reference reads (a language whose references
        may be expressions, such as KQL's `tostring(DeviceDetail.trustType)`, names them itself)."""
        return {column_name(native)}

    def render(self, detection: Detection) -> str:
        return self.render_with_source(detection)[0]

    def render_with_source(self, detection: Detection) -> tuple[str, str]:
        """The query text and the name of the source it selects (release artifacts need both)."""
        source, context = self.select(detection)
        return self.finish(_template(self.name).render(context)), source.name

    def finish(self, text: str) -> str:
        """The rendered query, for a target to annotate as a whole (KQL notes Sentinel's length limit)."""
        return text
