"""EQL for Elastic Security over ECS process events.

The filter comes from the official pySigma Elasticsearch EQL backend: `:` is case-insensitive
equality with `*`/`?` wildcards and lists (`field : ("a", "b")`), `like~` the same for patterns,
`==` is case-sensitive, strings are double-quoted with backslash escapes. EQL cannot compute columns,
so derived columns are written into the header as the rule's categorisation guide.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sigma.backends.elasticsearch import EqlBackend as ElasticEqlBackend
from sigma.conversion.state import ConversionState
from sigma.rule import SigmaRule

from siemc.target import Source, Target


class EqlBackend(ElasticEqlBackend):
    """The official backend, returning the bare condition (the template writes `process where`)."""

    # `:` is `like~` (case-insensitive, wildcards), and is how Elastic's own rules write lists.
    or_in_operator: ClassVar[str] = " : "

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
