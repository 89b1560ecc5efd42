"""EQL for Elastic Security over ECS process events.

The filter comes from the official pySigma Elasticsearch EQL backend: `:` is case-insensitive
equality with `*`/`?` wildcards and lists (`field : ("a", "b")`), `like~` the same for patterns,
`==` is case-sensitive, strings are double-quoted with backslash escapes. EQL cannot compute columns,
so derived columns are written into the header as the rule's categorisation guide.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sigma.backends.elasticsearch.elasticsearch_eql import EqlBackend as ElasticEqlBackend
from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaRule
from sigma.types import SigmaRegularExpressionFlag

from siemc.backend import wildcard_regex
from siemc.target import Source, Target


class EqlBackend(ElasticEqlBackend):
    """The official backend, returning the bare condition (the template writes `process where`)."""

    # `:` is `like~` (case-insensitive, wildcards), and is how Elastic's own rules write lists.
    or_in_operator: ClassVar[str] = " : "

    def convert_condition_field_eq_val_str_case_sensitive(self, cond: Any, state: ConversionState) -> Any:
        # `==` takes `*` literally; a case-sensitive pattern is `like` (the official backend uses `==`).
        if cond.value.contains_special():
            return (
                f"{self.escape_and_quote_field(cond.field)} like {self.convert_value_str(cond.value, state)}"
            )
        return super().convert_condition_field_eq_val_str_case_sensitive(cond, state)

    def convert_condition_field_eq_val_str(self, cond: Any, state: ConversionState) -> Any:
        # EQL patterns cannot escape `*` or `?`: a value holding one literally is matched by regex.
        if any(c in part for part in cond.value.s if isinstance(part, str) for c in "*?"):
            return self.convert_condition_field_eq_val_re(
                ConditionFieldEqualsValueExpression(cond.field, wildcard_regex(cond.value, cased=False)),
                state,
            )
        return super().convert_condition_field_eq_val_str(cond, state)

    def convert_condition_field_eq_val_re(self, cond: Any, state: ConversionState) -> Any:
        """Lucene regex is anchored and has no inline flags: anchor explicitly, `regex~` for no case."""
        pattern = str(cond.value.regexp)
        insensitive = SigmaRegularExpressionFlag.IGNORECASE in cond.value.flags
        if pattern.startswith("(?i)"):
            pattern, insensitive = pattern[4:], True
        pattern = pattern[1:] if pattern.startswith("^") else ".*" + pattern
        pattern = pattern[:-1] if pattern.endswith("$") and not pattern.endswith("\\$") else pattern + ".*"
        quoted = '"' + pattern.replace("\\", "\\\\").replace('"', '\\"') + '"'
        operator = "regex~" if insensitive else "regex"
        return f"{self.escape_and_quote_field(cond.field)} {operator} {quoted}"

    def finalize_query_default(self, rule: SigmaRule, query: Any, index: int, state: ConversionState) -> Any:
        return query


_PROCESS_CREATION = Source(
    selector='process where event.type == "start"',
    time_field="@timestamp",
    fields={
        "Image": "process.executable",
        "ImageName": "process.name",
        "CommandLine": "process.command_line",
        "OriginalFileName": "process.pe.original_file_name",
        "Description": "process.pe.description",
        "Product": "process.pe.product",
        "Company": "process.pe.company",
        "ProcessId": "process.pid",
        "CurrentDirectory": "process.working_directory",
        "IntegrityLevel": "process.Ext.token.integrity_level_name",
        "User": "user.name",
        "Computer": "host.name",
        "ParentImage": "process.parent.executable",
        "ParentImageName": "process.parent.name",
        "ParentCommandLine": "process.parent.command_line",
        "ParentProcessId": "process.parent.pid",
    },
)


class Eql(Target):
    name = "eql"
    siem = "Elastic Security (EQL)"
    file_extension = "eql"
    backend_class = EqlBackend
    has_file_name_columns = True
    sources: ClassVar[dict[tuple[str | None, str | None], Source]] = {
        ("process_creation", "windows"): _PROCESS_CREATION,
    }
