"""Field layer shared by every target: siemc's file-name fields and the strict field mapping.

Sigma names a process by its full path (`Image`, `ParentImage`). Many SIEMs also store the file-name
part in a column of its own (Defender `FileName`, ECS `process.name`), and that is what an expert
filters on. siemc therefore knows two extra fields:

    ImageName        the file-name part of Image (text after the last \\ or /)
    ParentImageName  the file-name part of ParentImage

A target that has such a column maps them directly, and `Image|endswith: '\\x.exe'` (or a Linux or
macOS `'/x'`) is lifted to `ImageName: x.exe` for it. A target with paths only gets `ImageName`
rewritten to an exact test on the path (an `endswith` or an anchored regular expression).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sigma.conditions import ConditionAND, ConditionOR
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError, SigmaTransformationError
from sigma.processing.conditions import RuleProcessingCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.processing.transformations.fields import FieldMappingTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from siemc.compile.backend import WholeValueRegex, device_path_regex, plain_text
from siemc.compile.datamodel import BOOLEAN_TEXTS, BOOLEAN_TYPES, INTEGER_TYPES
from siemc.compile.placeholders import NamedListValue

if TYPE_CHECKING:
    from siemc.compile.datamodel import SourceModel
    from siemc.compile.target import Source

# Sigma path field -> siemc file-name field.
FILE_NAME_FIELDS: Mapping[str, str] = {"Image": "ImageName", "ParentImage": "ParentImageName"}
_SEPARATORS = "\\/"


def _plain_parts(value: SigmaString) -> list[Any]:
    return list(value.s)


def _lifted_file_name(value: object) -> SigmaString | None:
    """`*\\name` or `*/name` (no other wildcard or separator) -> `name`; anything else -> None."""
    if not isinstance(value, SigmaString):
        return None
    parts = _plain_parts(value)
    if len(parts) != 2 or parts[0] is not SpecialChars.WILDCARD_MULTI or not isinstance(parts[1], str):
        return None
    text = parts[1]
    if len(text) < 2 or text[0] not in _SEPARATORS or any(c in _SEPARATORS for c in text[1:]):
        return None
    return type(value)(text[1:].replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?"))


class LiftFileNameTransformation(DetectionItemTransformation):
    """`Image|endswith: '\\x'` becomes `ImageName: x` on sources with a native file-name column."""

    def __init__(self, available: frozenset[str] = frozenset(FILE_NAME_FIELDS.values())) -> None:
        self.available = available

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> SigmaDetectionItem | None:
        name_field = FILE_NAME_FIELDS.get(detection_item.field or "")
        if name_field not in self.available or not detection_item.value:
            return None
        lifted = [_lifted_file_name(v) for v in detection_item.value]
        if any(v is None for v in lifted):
            return None
        detection_item.field = name_field
        detection_item.value = [v for v in lifted if v is not None]
        return detection_item


def file_name_regex(value: SigmaString, cased: bool) -> SigmaRegularExpression:
    """An unanchored regex on a full path that matches when its file-name part matches `value`."""
    pieces: list[str] = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            pieces.append("[^\\\\/]*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            pieces.append("[^\\\\/]")
        else:
            pieces.append(re.escape(str(part)).replace("\\ ", " "))
    body = "".join(pieces)
    # A leading `*` may start anywhere in the file name, which an unanchored search already allows.
    prefix = "" if value.startswith(SpecialChars.WILDCARD_MULTI) else "(?:^|[\\\\/])"
    if body.startswith("[^\\\\/]*"):
        body = body[len("[^\\\\/]*") :]
    flags = set() if cased else {SigmaRegularExpressionFlag.IGNORECASE}
    regex = WholeValueRegex(prefix + body + "$")  # `$`: the end of the path
    regex.flags = flags
    return regex


class FileNameOnPathTransformation(DetectionItemTransformation):
    """`ImageName` tests become exact tests on `Image` for sources that store paths only."""

    def __init__(self, separator: str = "\\", available: frozenset[str] = frozenset()) -> None:
        self.separator = separator
        self.available = available

    def apply_detection_item(
        self, detection_item: SigmaDetectionItem
    ) -> SigmaDetectionItem | SigmaDetection | None:
        path_field = {v: k for k, v in FILE_NAME_FIELDS.items()}.get(detection_item.field or "")
        if path_field is None or detection_item.field in self.available:
            return None
        values: list[object] = []
        for value in detection_item.value:
            if not isinstance(value, SigmaString):
                raise SigmaTransformationError(
                    f"{detection_item.field} supports plain and wildcard values only on this target"
                )
            cased = isinstance(value, SigmaCasedString)
            if value.contains_special():
                values.append(file_name_regex(value, cased))
            else:
                text = self.separator + str(value.to_plain())
                values.append(type(value)("*" + text.replace("\\", "\\\\")))
        detection_item.field = path_field
        detection_item.value = values  # type: ignore[assignment]
        return detection_item


def nested_name(mapping: Mapping[str, str], field: str) -> str | None:
    """`parent.*` entries map every field under `parent.` (`{rest}` is the part after it)."""
    for key, template in mapping.items():
        if key.endswith(".*") and field.startswith(key[:-1]):
            return template.format(rest=field[len(key) - 1 :])
    return None


# Elastic's integrations write a vendor's camelCase JSON keys in snake case: a lower-case letter and
# the capitals after it become `x_caps`, lower-cased (elastic/integrations, packages/azure,
# signinlogs ingest pipeline, "Convert Azure JSON keys to snake case").
_CAMEL_HUMP = re.compile(r"([a-z])([A-Z]+)")


def snake_case(field: str) -> str:
    return _CAMEL_HUMP.sub(r"\1_\2", field).lower()


def unmapped_name(template: str, field: str) -> str:
    """A source's name for a field its table does not list: `{name}` as is, `{flat}` with . and - as _,
    `{snake}` each dotted part in snake case (`DeviceDetail.isCompliant`: `device_detail.is_compliant`)."""
    return template.format(name=field, flat=re.sub(r"[.\-]", "_", field), snake=snake_case(field))


class UnmappedFieldError(SigmaTransformationError):
    def __init__(self, field: str) -> None:
        super().__init__(f"field {field!r} has no mapping on this target")
        self.field = field

    def message(self, source: Source) -> str:
        return f"field {self.field!r} has no column in {source.name}"


@dataclass
class StrictFieldMapping(FieldMappingTransformation):
    """Maps Sigma fields to native names by the source's table, else by its `unmapped` template.

    A source without a template (a fixed-schema table) has no column for any other field: that is an
    error naming the field, never a field passed through under its Sigma name.
    """

    unmapped: str | None = None
    # The native names this mapping gave since it was last cleared: the fields an output reads.
    read: set[str] = dataclasses.field(default_factory=set)
    # Fields the source has none of (a null in its field table), whatever `unmapped` says.
    absent: frozenset[str] = frozenset()

    def apply_field_name(self, field: str | None) -> str | list[str] | None:
        native = self._native(field)
        if isinstance(native, str):
            self.read.add(native)
        elif native is not None:
            self.read.update(native)
        return native

    def _native(self, field: str | None) -> str | list[str] | None:
        if field is None:
            return None
        if field in self.absent:
            raise UnmappedFieldError(field)
        if field in self.mapping:
            return super().apply_field_name(field)
        nested = nested_name(cast(Mapping[str, str], self.mapping), field)
        if nested is not None:
            return nested
        if self.unmapped is None:
            raise UnmappedFieldError(field)
        return unmapped_name(self.unmapped, field)


class KeywordTransformation(DetectionItemTransformation):
    """Sigma keywords (values without a field) search the source's raw event text: `field contains v`."""

    def __init__(self, field: str | None) -> None:
        self.field = field

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> SigmaDetectionItem | None:
        if detection_item.field is not None or self.field is None:
            return None  # without a raw-text field the backend reports the keyword if it is used
        values: list[object] = []
        for value in detection_item.value:
            if isinstance(value, SigmaString):
                wildcard = SigmaString("*")
                values.append(wildcard + value + wildcard)
            else:
                values.append(value)
        detection_item.field = self.field
        detection_item.value = values  # type: ignore[assignment]
        return detection_item


# Integer column types, and an integer as such a column reads as text (no sign +, no leading zero).
_INTEGER_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)")


class ColumnTypeTransformation(DetectionItemTransformation):
    """Values compared as a typed column holds them (after the field mapping: native names).

    Sigma values are untyped against event data, where every value is text: `LogonType: 3` and
    `LogonType: '3'` mean the same. A fixed table types its columns, and a language may reject a
    number compared with a string column or a string with an integer one (Kusto does). So a number
    on a string column becomes its text; a plain integer string on an integer column becomes the
    number; any other string test (a wildcard, a regex, `03`) reads the integer column as text
    (`as_text`, `tostring({column})` in KQL), which is exactly what Sigma tests. On a boolean column
    `'true'` and `'false'` (any case) are the booleans; another value has no form there.
    """

    def __init__(self, types: Mapping[str, str], as_text: str | None) -> None:
        self.types = types
        self.as_text = as_text

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> SigmaDetectionItem | None:
        kind = self.types.get(detection_item.field or "")
        if kind in BOOLEAN_TYPES:
            detection_item.value = [self._boolean(detection_item.field, v) for v in detection_item.value]
            return detection_item
        if kind == "string":
            if not any(isinstance(v, SigmaNumber) for v in detection_item.value):
                return None
            detection_item.value = [
                SigmaString(str(v.number)) if isinstance(v, SigmaNumber) else v for v in detection_item.value
            ]
            return detection_item
        if kind not in INTEGER_TYPES:
            return None
        values: list[object] = []
        as_text = False
        for value in detection_item.value:
            if isinstance(value, SigmaString) and not value.contains_special():
                text = plain_text(value)
                if _INTEGER_TEXT.fullmatch(text):
                    values.append(SigmaNumber(int(text)))
                    continue
            if isinstance(value, SigmaString | SigmaRegularExpression | SigmaExpansion):
                as_text = True
            values.append(value)
        if as_text:
            if self.as_text is None:
                raise SigmaFeatureNotSupportedByBackendError(
                    f"the {kind} field {detection_item.field} holds numbers: a text test on it has no"
                    " form on this target"
                )
            detection_item.field = self.as_text.format(column=detection_item.field)
            values = [SigmaString(str(v.number)) if isinstance(v, SigmaNumber) else v for v in values]
        detection_item.value = values  # type: ignore[assignment]
        return detection_item

    @staticmethod
    def _boolean(column: str | None, value: object) -> SigmaBool:
        if isinstance(value, SigmaBool):
            return value
        text = plain_text(value) if isinstance(value, SigmaString) and not value.contains_special() else None
        boolean = BOOLEAN_TEXTS.get(text.lower()) if text is not None else None
        if boolean is None:
            raise SigmaFeatureNotSupportedByBackendError(
                f"the boolean field {column} holds true or false, never {value}"
            )
        return SigmaBool(boolean)


class ValueMapTransformation(DetectionItemTransformation):
    """A field whose ingestion keeps each value in another form (a source's `values`): every value a
    rule tests is one of those the table names, tested as the source holds it; anything else (a
    wildcard, a regex, another value) has no form there."""

    def __init__(self, values: Mapping[str, Mapping[str, str]]) -> None:
        self.values = values

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> SigmaDetectionItem | None:
        table = self.values.get(detection_item.field or "")
        if table is None:
            return None
        mapped: list[object] = []
        for value in detection_item.value:
            text = (
                plain_text(value) if isinstance(value, SigmaString) and not value.contains_special() else None
            )
            if isinstance(value, SigmaNumber):
                text = str(value.number)
            elif isinstance(value, SigmaBool):
                text = str(value.boolean).lower()
            native = table.get(text.lower()) if text is not None else None
            if native is None:
                known = ", ".join(sorted(table))
                raise SigmaFeatureNotSupportedByBackendError(
                    f"{detection_item.field} is kept in another form on this source: only the values "
                    f"{known} have one"
                )
            mapped.append(SigmaString(native))
        detection_item.value = mapped  # type: ignore[assignment]
        return detection_item


# A Sigma regex naming a drive (`^C:\\\\`, `[a-z]:\\\\`): written for drive-letter paths.
_DRIVE_IN_REGEX = re.compile(r":\\\\")


class ValueFormTransformation(DetectionItemTransformation):
    """Rewrites the values of the fields a source's data model stores in a value form (`as:`), after
    the field mapping (native names); `rewrite` is the form's own part."""

    forms: ClassVar[tuple[str, ...]]  # the data model's `as:` names this rewrite stands for

    def __init__(self, fields: frozenset[str]) -> None:
        self.fields = fields

    @classmethod
    def for_model(cls, model: SourceModel) -> ValueFormTransformation | None:
        """The rewrite of a source's fields in this form, or None when the source has none."""
        fields = frozenset(name for name, form in model.forms.items() if form in cls.forms)
        return cls(fields) if fields else None

    def apply_detection_item(
        self, detection_item: SigmaDetectionItem
    ) -> SigmaDetection | SigmaDetectionItem | None:
        if detection_item.field not in self.fields:
            return None
        return self.rewrite(detection_item)

    def rewrite(self, detection_item: SigmaDetectionItem) -> SigmaDetection | SigmaDetectionItem | None:
        raise NotImplementedError


class DevicePathTransformation(ValueFormTransformation):
    """Values of a field the source stores as a device path (a data model's `as: device_path`, after
    the field mapping: native names): a drive-letter path is tested as the device path the SIEM holds
    (`C:\\Windows\\*` -> `^\\Device\\HarddiskVolume[0-9]+\\Windows\\`); a rule's own regex on a
    drive-letter path has no exact rewrite and is unsupported. Values naming no drive stay as they are."""

    forms = ("device_path",)

    def rewrite(self, detection_item: SigmaDetectionItem) -> SigmaDetectionItem | None:
        values: list[object] = []
        changed = False
        for value in detection_item.value:
            if isinstance(value, SigmaRegularExpression) and _DRIVE_IN_REGEX.search(str(value.regexp)):
                raise SigmaFeatureNotSupportedByBackendError(
                    f"{detection_item.field} holds device paths (\\Device\\HarddiskVolumeN\\...): a regex "
                    "on drive-letter paths has no exact form there"
                )
            regex = (
                device_path_regex(value, isinstance(value, SigmaCasedString))
                if isinstance(value, SigmaString)
                else None
            )
            changed = changed or regex is not None
            values.append(regex if regex is not None else value)
        if not changed:
            return None
        rewritten = [v for v in values if isinstance(v, WholeValueRegex)]
        if any(SigmaRegularExpressionFlag.DOTALL in v.flags for v in rewritten):
            # One flag set for the item's values, so that a list stays one regex: `.` spans line
            # breaks only where a wildcard wrote it, and a regex without `.` means the same either way.
            for regex in rewritten:
                regex.flags = {*regex.flags, SigmaRegularExpressionFlag.DOTALL}
        detection_item.value = values  # type: ignore[assignment]
        return detection_item


class XmlAttributeTransformation(ValueFormTransformation):
    """Values of a field the source keeps with an XML attribute's quotes (a data model's
    `as: xml_attribute`, after the field mapping): `X` is tested as `'X'`; a wildcard at an end
    takes the quote in, so `contains` and the like stay as they are. A rule's own regex is
    unsupported there (it would have to be rewritten around the quotes)."""

    forms = ("xml_attribute",)

    def rewrite(self, detection_item: SigmaDetectionItem) -> SigmaDetectionItem | None:
        values: list[object] = []
        for value in detection_item.value:
            if isinstance(value, SigmaRegularExpression):
                raise SigmaFeatureNotSupportedByBackendError(
                    f"{detection_item.field} keeps the quotes of its XML attribute: a regex on it is not"
                    " rewritten"
                )
            if isinstance(value, SigmaString):
                parts = list(value.s)
                if not parts or parts[0] is not SpecialChars.WILDCARD_MULTI:
                    parts.insert(0, "'")
                if parts[-1] is not SpecialChars.WILDCARD_MULTI:
                    parts.append("'")
                quoted = copy.copy(value)
                quoted.s = parts
                values.append(quoted)
            else:
                values.append(value)
        detection_item.value = values  # type: ignore[assignment]
        return detection_item


class AccountTransformation(ValueFormTransformation):
    """Values of a Windows account (`DOMAIN\\name`, as Sysmon and the event log write `User`) that the
    source keeps in two fields (a data model's `as: account_name` and `account_domain`, after the field
    mapping): each value becomes the tests of the two parts that hold exactly when the whole account
    would match, an account without a domain being its name alone. Without a backslash, `*X*`: the
    domain or the name contains X; `*X`: the name ends with X; `X`: no domain and the name X; `X*`:
    the domain starts with X, or no domain and the name does. `D\\N`: the domain is D and the name
    N, a wildcard before D making it "ends with", one after N "starts with". Anything else (inner
    wildcards, an empty part, more than one backslash, a regex) has no exact split and is
    unsupported."""

    forms = ("account_name", "account_domain")

    def __init__(self, model: SourceModel) -> None:
        super().__init__(frozenset(model.account_domains))
        self.domains = model.account_domains
        self.parts = model.account_parts

    @classmethod
    def for_model(cls, model: SourceModel) -> ValueFormTransformation | None:
        return cls(model) if model.account_domains else None

    def apply_detection_item(
        self, detection_item: SigmaDetectionItem
    ) -> SigmaDetection | SigmaDetectionItem | None:
        for value in detection_item.value:
            if isinstance(value, SigmaFieldReference) and value.field in self.parts:
                # Another field compared with one part of an account is not compared with the account.
                raise self._unsupported(self.parts[value.field], "a field reference to the account")
        return super().apply_detection_item(detection_item)

    def rewrite(self, detection_item: SigmaDetectionItem) -> SigmaDetection | SigmaDetectionItem | None:
        name_field = cast(str, detection_item.field)
        domain_field = self.domains[name_field]
        tests: list[SigmaDetection | SigmaDetectionItem] = []
        for value in detection_item.value:
            if isinstance(value, SigmaString):
                tests.append(self._split(name_field, domain_field, value))
            elif isinstance(value, SigmaExists):
                tests.append(SigmaDetectionItem(name_field, [], [value]))
            elif isinstance(value, NamedListValue):
                raise SigmaFeatureNotSupportedByBackendError(
                    f"placeholder '{value.placeholder}' is the named list {value.id!r}: "
                    + self._apart(name_field, "a list of accounts")
                )
            else:
                raise self._unsupported(name_field, f"a {type(value).__name__} value")
        linking = ConditionAND if detection_item.value_linking is ConditionAND else ConditionOR
        return tests[0] if len(tests) == 1 else SigmaDetection(tests, item_linking=linking)

    def _split(
        self, name_field: str, domain_field: str, value: SigmaString
    ) -> SigmaDetection | SigmaDetectionItem:
        parts = list(value.s)
        lead = bool(parts) and parts[0] is SpecialChars.WILDCARD_MULTI
        trail = len(parts) > int(lead) and parts[-1] is SpecialChars.WILDCARD_MULTI
        inner = parts[int(lead) : len(parts) - int(trail)]
        if len(inner) != 1 or not isinstance(inner[0], str):
            raise self._unsupported(name_field, f"the value {value.original!r} (a wildcard inside it)")
        text: str = inner[0]

        def test(field: str, before: bool, part: str, after: bool) -> SigmaDetectionItem:
            tested = value.__class__()
            tested.s = [*([SpecialChars.WILDCARD_MULTI] if before else []), part]
            tested.s += [SpecialChars.WILDCARD_MULTI] if after else []
            return SigmaDetectionItem(field, [], [tested])

        if "\\" not in text and lead and trail:
            return SigmaDetection(
                [test(domain_field, True, text, True), test(name_field, True, text, True)],
                item_linking=ConditionOR,
            )
        if "\\" not in text and lead:
            return test(name_field, True, text, False)
        if "\\" not in text:
            # The account is the name alone only where no domain is held.
            no_domain = SigmaDetectionItem(domain_field, [], [SigmaNull()])
            alone = SigmaDetection(
                [no_domain, test(name_field, False, text, trail)], item_linking=ConditionAND
            )
            if not trail:
                return alone
            return SigmaDetection([test(domain_field, False, text, True), alone], item_linking=ConditionOR)
        domain, _, name = text.partition("\\")
        if not domain or not name or "\\" in name:
            raise self._unsupported(name_field, f"the value {value.original!r}")
        return SigmaDetection(
            [test(domain_field, lead, domain, False), test(name_field, False, name, trail)],
            item_linking=ConditionAND,
        )

    def _apart(self, name_field: str, what: str) -> str:
        return (
            f"{name_field} and {self.domains[name_field]} hold an account's name and domain apart: {what}"
            " has no exact test on the two"
        )

    def _unsupported(self, name_field: str, what: str) -> SigmaFeatureNotSupportedByBackendError:
        return SigmaFeatureNotSupportedByBackendError(self._apart(name_field, what))


# A data model's value form (`as:`, siemc.compile.datamodel.VALUE_FORMS) -> how queries test it.
VALUE_FORM_TRANSFORMATIONS: Mapping[str, type[ValueFormTransformation]] = {
    form: transformation
    for transformation in (XmlAttributeTransformation, DevicePathTransformation, AccountTransformation)
    for form in transformation.forms
}


@dataclass
class CategoryLogsource(RuleProcessingCondition):
    """A rule whose log source names a category (its fields are the category's, Sysmon-like)."""

    def match(self, rule: SigmaRule | SigmaCorrelationRule) -> bool:
        return isinstance(rule, SigmaRule) and rule.logsource.category is not None


def field_pipeline(
    name: str,
    source: Source,
    native_keywords: bool = False,
    column_as_text: str | None = None,
    model: SourceModel | None = None,
) -> ProcessingPipeline:
    """The processing pipeline every target applies before its backend converts a rule.

    Whether a file-name field is a column of its own is a property of the source (its field table
    names `ImageName`), not of the target: raw event data (Sysmon's) has paths only.
    """
    available = frozenset(n for n in FILE_NAME_FIELDS.values() if source.fields.get(n) is not None)
    # Only a log-source category (process_creation, image_load...) promises path fields; a service's
    # own events (security-mitigations, appmodel-runtime) may hold an `ImageName` of their own.
    items = [
        ProcessingItem(
            identifier="siemc_file_names",
            transformation=LiftFileNameTransformation(available),
            rule_conditions=[CategoryLogsource()],
        ),
        ProcessingItem(
            identifier="siemc_file_names_on_paths",
            transformation=FileNameOnPathTransformation(available=available),
            rule_conditions=[CategoryLogsource()],
        ),
    ]
    if not native_keywords:
        # Keywords become a raw-text field before the field mapping (which maps that field as-is).
        keyword = KeywordTransformation(source.keyword_field)
        items.append(ProcessingItem(identifier="siemc_keywords", transformation=keyword))
    if source.values:
        # On Sigma names and values, before the field mapping renames them.
        items.append(
            ProcessingItem(
                identifier="siemc_value_maps", transformation=ValueMapTransformation(source.values)
            )
        )
    fields = {name: native for name, native in source.fields.items() if native is not None}
    if source.keyword_field:
        fields[source.keyword_field] = source.keyword_field
    absent = frozenset(name for name, native in source.fields.items() if native is None)
    items.append(
        ProcessingItem(
            identifier="siemc_field_mapping",
            transformation=StrictFieldMapping(fields, source.unmapped, absent=absent),  # type: ignore[arg-type]
        )
    )
    for form_rewrite in dict.fromkeys(VALUE_FORM_TRANSFORMATIONS.values()) if model else ():
        # On native names: the fields the source's data model stores in a value form (`as:`).
        transformation = form_rewrite.for_model(model) if model else None
        if transformation is not None:
            identifier = f"siemc_{form_rewrite.forms[0]}_values"
            items.append(ProcessingItem(identifier=identifier, transformation=transformation))
    # The mapping's typed columns, and the fields the data model types as booleans or integers.
    column_types = {**(model.typed_columns if model else {}), **source.column_types}
    if column_types:
        items.append(
            ProcessingItem(
                identifier="siemc_column_types",
                transformation=ColumnTypeTransformation(column_types, column_as_text),
            )
        )
    return ProcessingPipeline(name=f"siemc {name} fields", priority=20, items=items)
