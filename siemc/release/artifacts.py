"""What an artifact writer gets and gives: one per SIEM, in backends/artifacts/<target>.py.

A writer turns a rule's finished query text and metadata into the files its SIEM imports (a Sentinel
analytics rule, a Splunk savedsearches.conf stanza, a Kibana rule...), as data structures written by
siemc.release.serialize; it never re-escapes the query. `rule_artifacts` gives the files of one rule
and `bundle_artifacts` those made of every rule at once (a Splunk app, an NDJSON of all rules).
A target without a writer module ships its query files only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Protocol


@dataclass(frozen=True)
class ReleaseRule:
    """A rule as the release sees it: its metadata (Detection.metadata()) and locked version."""

    name: str  # path relative to the lock's folder, e.g. t1219_remote_access_tools.yml
    stem: str
    meta: dict[str, Any]
    version: int  # from the version lock


@dataclass(frozen=True)
class QueryOutput:
    target: str
    file_name: str  # <stem>.<ext>
    text: str
    source: str  # the name of the source it selects (a table, an index, an event type)


@dataclass(frozen=True)
class Artifact:
    path: str  # inside the bundle, `/`-separated
    kind: str  # e.g. "query", "sentinel-analytics-rule"
    data: bytes
    target: str
    rule: str | None = None  # the rule's name; None for a file made of all rules


@dataclass(frozen=True)
class BundleInfo:
    version: str
    siemc_version: str


class ArtifactWriter(Protocol):
    def rule_artifacts(self, rule: ReleaseRule, query: QueryOutput, bundle: BundleInfo) -> list[Artifact]: ...

    def bundle_artifacts(
        self, items: Sequence[tuple[ReleaseRule, QueryOutput]], bundle: BundleInfo
    ) -> list[Artifact]: ...


class QueryOnly:
    """The writer of a target with no artifact format yet: nothing beyond the query files."""

    def rule_artifacts(self, rule: ReleaseRule, query: QueryOutput, bundle: BundleInfo) -> list[Artifact]:
        return []

    def bundle_artifacts(
        self, items: Sequence[tuple[ReleaseRule, QueryOutput]], bundle: BundleInfo
    ) -> list[Artifact]:
        return []


def writer_for(target: str) -> ArtifactWriter:
    try:
        module = import_module(f"siemc.backends.artifacts.{target}")
    except ModuleNotFoundError as error:
        if error.name not in (f"siemc.backends.artifacts.{target}", "siemc.backends.artifacts"):
            raise
        return QueryOnly()
    writer: ArtifactWriter = module.WRITER
    return writer
