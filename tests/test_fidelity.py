"""Fidelity over the whole SigmaHQ corpus: every output on a source with a vendor data model reads only
fields that model has, as judged by each language's own checker told nothing but the data model.

The compile stage refuses a field the model lacks (siemc.compile.target.check_data_model); these tests
do not trust that check. They compile every corpus rule, then hand each output to a real checker whose
schema is built from `backends/datamodels/<target>.yml` alone: Microsoft's Kusto.Language (an unknown
column is KS142) and Elastic's `eql` library (`Field not recognized`). Skipped when ../shared/sigmahq
is absent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from siemc.backends import get_target

from siemc.compile.correlation import is_correlation_text
from siemc.compile.datamodel import SourceModel, target_datamodel
from siemc.compile.rule import Detection, load_rule
from siemc.diagnostics import SiemcError
from tests.checkers.kusto import KustoLanguage, KustoLanguageUnavailable, all_tables_schema_path
from tests.test_corpus import CORPUS

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="the SigmaHQ corpus (../shared/sigmahq) is absent"
)


@pytest.fixture(scope="module")
def detections() -> list[tuple[Path, Detection]]:
    """Every event rule of the corpus, loaded once for both checks."""
    loaded = []
    for path in sorted(CORPUS.rglob("*.yml")):
        if is_correlation_text(path.read_text(encoding="utf-8")):
            continue
        try:
            loaded.append((path, load_rule(path)))
        except SiemcError:
            continue
    return loaded


def modelled_outputs(
    target_name: str, detections: list[tuple[Path, Detection]]
) -> Iterator[tuple[Path, str, SourceModel]]:
    """(rule, query, model of the source it selects) for every corpus rule the target converts onto a
    modelled source."""
    target = get_target(target_name)
    models = target_datamodel(target_name)
    for path, detection in detections:
        try:
            text, source = target.render_with_source(detection)
        except SiemcError:
            continue
        if source in models:
            yield path, text, models[source]


def _model_kusto(tmp_path: Path) -> KustoLanguage:
    """Kusto.Language knowing the KQL data model's tables and nothing else (and Sentinel's functions)."""
    functions = json.loads(all_tables_schema_path().read_text(encoding="utf-8")).get("functions", {})
    tables = {name: dict(model.fields) for name, model in target_datamodel("kql").items()}
    schema_path = tmp_path / "model_schema.json"
    schema_path.write_text(
        json.dumps({"database": "model", "tables": tables, "functions": functions}), encoding="utf-8"
    )
    try:
        return KustoLanguage(schema_path)
    except KustoLanguageUnavailable as error:
        pytest.skip(str(error))


def test_the_model_schema_rejects_a_column_the_model_lacks(tmp_path: Path) -> None:
    kusto = _model_kusto(tmp_path)
    try:
        assert not kusto.errors('DeviceProcessEvents | where FileName =~ "a.exe"')
        assert kusto.errors('DeviceProcessEvents | where IntegrityLevel =~ "High"')
    finally:
        kusto.close()


def test_every_kql_output_reads_only_columns_its_table_model_has(
    detections: list[tuple[Path, Detection]], tmp_path: Path
) -> None:
    """Kusto.Language with the modelled tables as the data model states them (the checker's own schema
    files are not used): any column an output reads that the model lacks is an error (KS142)."""
    kusto = _model_kusto(tmp_path)
    checked = 0
    failures: dict[str, list[str]] = {}
    try:
        for path, text, _ in modelled_outputs("kql", detections):
            checked += 1
            if errors := kusto.errors(text):
                failures[path.name] = [str(error) for error in errors]
    finally:
        kusto.close()
    assert checked > 2000
    assert not failures


def _eql_fields(model: SourceModel) -> dict[str, Any]:
    """The model's fields as the nested mapping an `eql` schema takes (every leaf `mixed`: only the
    field's existence is judged); an open field takes any key below it."""
    root: dict[str, Any] = {}
    for name in model.fields:
        node = root
        *parents, leaf = name.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else node.setdefault(part, {})
        if not isinstance(node.get(leaf), dict):
            node[leaf] = "mixed"
    return root


_EVENT_TYPE = re.compile(r"^(?:\w+) where ", re.MULTILINE)


def test_every_eql_output_reads_only_fields_its_source_model_has(
    detections: list[tuple[Path, Detection]],
) -> None:
    """Elastic's `eql` parser with a schema of the source's model alone: a field the model lacks is
    `Field not recognized`. The query's event type is named after the source (`any` has no schema)."""
    import eql
    from eql.schema import Schema

    models = target_datamodel("eql")
    if not models:
        pytest.skip("eql has no data model yet")
    checked = 0
    failures: dict[str, str] = {}
    for path, text, model in modelled_outputs("eql", detections):
        open_fields = set(model.open)
        body = "\n".join(line for line in text.splitlines() if not line.startswith("//"))
        query = _EVENT_TYPE.sub("source where ", body, count=1)
        schema = Schema({"source": _eql_fields(model)}, allow_any=False, allow_generic=False)
        checked += 1
        try:
            with schema, eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
                eql.parse_query(query)
        except eql.EqlSchemaError as error:
            if not any(parent in str(error) for parent in open_fields):
                failures[path.name] = str(error).splitlines()[1]
    assert checked > 1000
    assert not failures
