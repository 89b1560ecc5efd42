"""Fidelity over the whole SigmaHQ corpus: every output on a source with a vendor data model reads only
fields that model has, as judged by each language's own checker told nothing but the data model.

The compile stage refuses a field the model lacks (siemc.compile.target.check_data_model); these tests
do not trust that check. They compile every corpus rule, then hand each output to a real checker whose
schema is built from `backends/datamodels/<target>.yml` alone: Microsoft's Kusto.Language (an unknown
column is KS142) and Elastic's `eql` library (`Field not recognized`). SPL, AQL, Sumo Logic, YARA-L
and LogScale outputs are parsed by the executable language models of tests/models, every field the
query reads is collected from the syntax tree (less the names the query itself creates), and each must
be a field of the source's model; an output the language model refuses fails too. Skipped when
../shared/sigmahq is absent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lark import Token, Tree
from siemc.backends import get_target

from siemc.compile.correlation import is_correlation_text
from siemc.compile.datamodel import SourceModel, target_datamodel
from siemc.compile.rule import Detection, load_rule
from siemc.diagnostics import SiemcError
from tests.checkers.kusto import KustoLanguage, KustoLanguageUnavailable, all_tables_schema_path
from tests.models import aql, logscale, spl, sumo, yaral
from tests.models.common import And, ModelSyntaxError, Not, Or
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
    """The model's fields as the nested mapping an `eql` schema takes: every leaf `mixed` (only the
    field's existence is judged), an open field an empty mapping (any key below it)."""
    root: dict[str, Any] = {}
    for name in sorted(model.fields, key=lambda field: field in model.open):
        node = root
        *parents, leaf = name.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        if name in model.open:
            node[leaf] = {}
        elif not isinstance(node.get(leaf), dict):
            node[leaf] = "mixed"
    return root


def _eql_schema_errors(query: str, model: SourceModel) -> str | None:
    """Why the eql parser, told only the model's fields, rejects the query (`Field not recognized`)."""
    import eql
    from eql.schema import Schema

    from tests.checkers.eql_engine import parse_eql

    schema = Schema({"source": _eql_fields(model)}, allow_any=False, allow_generic=False)
    try:
        with schema:
            parse_eql(_EVENT_TYPE.sub("source where ", query, count=1))
    except eql.EqlSchemaError as error:
        return " ".join(str(error).splitlines()[:2])
    return None


def test_the_model_schema_rejects_a_field_the_eql_model_lacks() -> None:
    model = SourceModel(
        "s", ("a test",), {"process.name": "keyword", "winlog.event_data": "object"}, ("winlog.event_data",)
    )
    assert (
        _eql_schema_errors('process where process.name == "a" and winlog.event_data.Any == "b"', model)
        is None
    )
    assert _eql_schema_errors('process where process.executable == "a"', model)
    assert _eql_schema_errors('process where winlog.channel == "a"', model)


_EVENT_TYPE = re.compile(r"^(?:\w+) where ", re.MULTILINE)


def test_every_eql_output_reads_only_fields_its_source_model_has(
    detections: list[tuple[Path, Detection]],
) -> None:
    """Elastic's `eql` parser with a schema of the source's model alone: a field the model lacks is
    `Field not recognized`. The query's event type is named after the source (`any` has no schema)."""
    if not target_datamodel("eql"):
        pytest.skip("eql has no data model yet")
    checked = 0
    failures: dict[str, str] = {}
    for path, text, model in modelled_outputs("eql", detections):
        checked += 1
        if error := _eql_schema_errors(text, model):
            failures[path.name] = error
    assert checked > 1000
    assert not failures


# ------------------------------------------------------------------------------------------------
# The other targets: each output parsed by the target's executable language model (tests/models),
# every field it reads collected from the syntax tree, and each judged by the source's model alone.


class _Reads:
    """The fields a query reads, in query order, less those the query itself has created by then."""

    def __init__(self) -> None:
        self.created: set[str] = set()
        self.read: list[str] = []

    def use(self, name: str) -> None:
        if name not in self.created and name not in self.read:
            self.read.append(name)


def _spl_reads(query: str) -> list[str]:
    """Every field an SPL output reads: search comparisons and IN lists, bare terms and `regex`
    without a field (`_raw`), time bounds (`_time`), eval/where expressions, rex/regex sources,
    lookup inputs, bin/stats/accum/table/fields/sort columns."""
    reads = _Reads()

    def search(node: Any) -> None:
        if isinstance(node, And | Or):
            for item in node.items:
                search(item)
        elif isinstance(node, Not):
            search(node.item)
        elif isinstance(node, spl.SCompare | spl.SIn):
            reads.use(node.field)
        elif isinstance(node, spl.SKeyword):
            reads.use("_raw")  # a bare term matches the raw event text
        elif isinstance(node, spl.STime):
            reads.use("_time")
        else:
            raise AssertionError(f"unwalked SPL search node {node!r}")

    def expression(node: Any) -> None:
        if isinstance(node, spl.EField):
            reads.use(node.name)
        elif isinstance(node, spl.ECall):
            for arg in node.args:
                expression(arg)
        elif isinstance(node, spl.EArith | spl.ECompare):
            expression(node.left)
            expression(node.right)
        elif isinstance(node, spl.ELogic):
            for item in node.items:
                expression(item)
        elif not isinstance(node, spl.ELiteral):
            raise AssertionError(f"unwalked SPL eval node {node!r}")

    def pipeline(commands: tuple[Any, ...]) -> None:
        for command in commands:
            if isinstance(command, spl.Search):
                search(command.expr)
            elif isinstance(command, spl.Where):
                expression(command.expr)
            elif isinstance(command, spl.Eval):
                for name, expr in command.assignments:
                    expression(expr)
                    reads.created.add(name)
            elif isinstance(command, spl.Regex):
                reads.use(command.field)
            elif isinstance(command, spl.Rex):
                reads.use(command.field)
                reads.created.update(command.regex.groupindex)
            elif isinstance(command, spl.LookupCmd):
                for _, event_field in command.inputs:
                    reads.use(event_field)
                reads.created.update(event_field for _, event_field in command.outputs)
            elif isinstance(command, spl.Stats | spl.EventStats):
                for _, field, _ in command.functions:
                    if field is not None:
                        reads.use(field)
                for field in command.by:
                    reads.use(field)
                reads.created.update(name for _, _, name in command.functions)
            elif isinstance(command, spl.Accum):
                reads.use(command.field)
                reads.created.add(command.target)
            elif isinstance(command, spl.Bin):
                reads.use(command.field)
            elif isinstance(command, spl.Table | spl.Fields):
                for field in command.fields:
                    reads.use(field)
            elif isinstance(command, spl.Sort):
                for field, _ in command.keys:
                    reads.use(field)
            else:
                raise AssertionError(f"unwalked SPL command {command!r}")

    tree = spl.parse(query)
    for subsearch in tree.subsearches:
        pipeline(subsearch.commands)
    pipeline(tree.commands)
    return reads.read


def _lacking(model: SourceModel, reads: list[str]) -> list[str]:
    """The fields read that the source's model does not have, in the order read."""
    return [name for name in reads if not model.has(name)]


def _fields_missing(
    target_name: str, reads: Callable[[str], list[str]], detections: list[tuple[Path, Detection]]
) -> tuple[int, dict[str, list[str]]]:
    """How many modelled outputs were checked, and per rule the fields read that its model lacks. An
    output the language model refuses is a failure too: no field of it can be vouched for (test_corpus
    parses only a sample of the corpus)."""
    checked = 0
    failures: dict[str, list[str]] = {}
    for path, text, model in modelled_outputs(target_name, detections):
        checked += 1
        try:
            read = reads(text)
        except ModelSyntaxError as error:
            failures[path.name] = [f"the language model refuses it: {str(error).splitlines()[0]}"]
            continue
        if missing := _lacking(model, read):
            failures[path.name] = [f"{model.name} has no {name}" for name in missing]
    return checked, failures


def test_the_spl_reads_name_a_field_the_model_lacks() -> None:
    model = target_datamodel("spl")["XmlWinEventLog"]
    query = (
        'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 "mimikatz" '
        'ImageX IN ("a", "b")\n| eval siemc_n=lower(CommandLine)\n'
        '| where siemc_n != "a" AND like(Imagx, "%a")'
    )
    reads = _spl_reads(query)
    assert reads == ["source", "EventCode", "_raw", "ImageX", "CommandLine", "Imagx"]
    assert _lacking(model, reads) == ["ImageX", "Imagx"]


def _sumo_reads(query: str) -> list[str]:
    """Every field a Sumo Logic output reads: scope `field=value` terms, bare scope terms (the raw
    message, `_raw`), fields of where expressions (comparisons, matches and its pattern field, in
    lists, function and if() arguments, lookupContains keys), and operator inputs (sums, copies,
    toLong, accum, timeslice's `_messagetime`, aggregates, fields, sort); `%"fields.X"` is `fields.X`."""
    reads = _Reads()

    def walk(node: Any) -> None:
        if isinstance(node, And | Or):
            for item in node.items:
                walk(item)
        elif isinstance(node, Not):
            walk(node.item)
        elif isinstance(node, sumo.KwField):
            reads.use(node.name)
        elif isinstance(node, sumo.KwTerm):
            reads.use("_raw")
        elif isinstance(node, sumo.Field):
            reads.use(node.name)
        elif isinstance(node, sumo.Call):
            for arg in node.args:
                walk(arg)
        elif isinstance(node, sumo.If):
            for part in (node.cond, node.then, node.other):
                walk(part)
        elif isinstance(node, sumo.Compare):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, sumo.Matches):
            walk(node.value)
            walk(node.pattern)
        elif isinstance(node, sumo.InList | sumo.Truth):
            walk(node.value)
        elif isinstance(node, sumo.LookupContains):
            for event_field, _ in node.keys:
                reads.use(event_field)
        elif not isinstance(node, sumo.Lit | sumo.Wildcard | sumo.Regex):
            raise AssertionError(f"unwalked Sumo Logic node {node!r}")

    tree = sumo.parse(query)
    walk(tree.scope)
    for operator in tree.operators:
        if isinstance(operator, sumo.Where):
            walk(operator.expr)
        elif isinstance(operator, sumo.Assign):
            walk(operator.expr)
            reads.created.add(operator.name)
        elif isinstance(operator, sumo.Copy):
            walk(operator.source)
            reads.created.add(operator.name)
        elif isinstance(operator, sumo.ToLong):
            walk(operator.value)
            reads.created.add(operator.name)
        elif isinstance(operator, sumo.Sum):
            for item in operator.items:
                walk(item)
            reads.created.add(operator.name)
        elif isinstance(operator, sumo.Accum):
            for name in (operator.field, *operator.by):
                reads.use(name)
            reads.created.add(operator.name)
        elif isinstance(operator, sumo.Timeslice):
            reads.use("_messagetime")
            reads.created.add("_timeslice")
        elif isinstance(operator, sumo.Aggregate):
            for _, field, _ in operator.functions:
                if field is not None:
                    reads.use(field)
            for name in operator.by:
                reads.use(name)
            reads.created.update(name for _, _, name in operator.functions)
        elif isinstance(operator, sumo.Fields):
            for name in operator.names:
                reads.use(name)
        elif isinstance(operator, sumo.Sort):
            for key in operator.keys:
                reads.use(key.name)
        else:
            raise AssertionError(f"unwalked Sumo Logic operator {operator!r}")
    return reads.read


def test_the_sumo_reads_name_a_field_the_model_lacks() -> None:
    model = target_datamodel("sumo")["sec_record_endpoint_process"]
    query = (
        '_index=sec_record_endpoint metadata_vendor="Microsoft" mimikatz\n'
        '| where toLowerCase(baseImagx) matches "*\\\\a.exe" and %"fields.EventData.Anything" = "1"\n'
        '| if(commandLine = "a", 1, 0) as siemc_hit\n'
        '| where siemc_hit = 1 and %"commandLinx" in ("a", "b")'
    )
    reads = _sumo_reads(query)
    assert reads == [
        "_index",
        "metadata_vendor",
        "_raw",
        "baseImagx",
        "fields.EventData.Anything",
        "commandLine",
        "commandLinx",
    ]
    assert _lacking(model, reads) == ["baseImagx", "commandLinx"]


# AQL data retrieval functions: their value is a column of its own, which the model lists as written
# (`UTF8(payload)`); other functions (LOWER, INCIDR) only compute over the columns they are given.
_AQL_DATA_FUNCTIONS = ("UTF8", "LOGSOURCETYPENAME", "QIDNAME", "CATEGORYNAME")


def _aql_reads(query: str) -> list[str]:
    """Every column an AQL output reads: each column reference of the select list, WHERE, GROUP BY,
    HAVING and ORDER BY (a double-quoted property unquoted, `"Process Name"` -> Process Name), and a
    data retrieval function over a column as the column it is (`UTF8(payload)`); select-list aliases
    are the query's own. The model's own parse validates the query; the walk is over its syntax tree,
    since the model compiles conditions to closures."""
    aql.parse(query)
    tree = aql._parser().parse(query)
    reads = _Reads()

    def column(node: Tree[Token]) -> str:
        text = str(node.children[0])
        return text[1:-1] if text.startswith('"') else text

    def walk(node: Tree[Token]) -> None:
        if node.data == "column_ref":
            reads.use(column(node))
            return
        if node.data == "func_call" and str(node.children[0]).upper() in _AQL_DATA_FUNCTIONS:
            arguments = [child for child in node.children[1:] if isinstance(child, Tree)]
            if len(arguments) == 1 and arguments[0].data == "column_ref":
                reads.use(f"{str(node.children[0]).upper()}({column(arguments[0])})")
        for child in node.children:
            if isinstance(child, Tree) and child.data != "alias":
                walk(child)

    select, *clauses = [child for child in tree.children if isinstance(child, Tree)]
    walk(select)
    for alias in select.find_data("alias"):
        reads.created.add(str(alias.children[0]).strip("'"))
    for clause in clauses:
        if clause.data in ("last", "start_stop"):
            reads.use("starttime")  # the time window is over the event's start time
        walk(clause)
    return reads.read


def test_the_aql_reads_name_a_field_the_model_lacks() -> None:
    model = target_datamodel("aql")["Windows"]
    query = (
        "SELECT LOWER(\"Process Name\") AS 'siemc_name', QIDNAME(qid)\nFROM events\n"
        "WHERE devicetype = 12 AND UTF8(payload) IMATCHES '(?s).*x.*' AND \"Process Nam\" ILIKE '%a'\n"
        "  AND LOGSOURCENAME(logsourceid) = 'x' AND \"siemc_name\" = 'a'\nORDER BY siemc_name\nLAST 1 HOURS"
    )
    reads = _aql_reads(query)
    assert reads == [
        "Process Name",
        "QIDNAME(qid)",
        "qid",
        "devicetype",
        "UTF8(payload)",
        "payload",
        "Process Nam",
        "logsourceid",
        "starttime",
    ]
    assert _lacking(model, reads) == ["Process Nam", "logsourceid"]


def _yaral_reads(query: str) -> list[str]:
    """Every UDM field a YARA-L output reads: each `$e.<path>` of the events and outcome sections
    (comparisons, regex comparisons, reference-list tests, function arguments, if() and aggregates),
    a map entry as written (`additional.fields["Channel"]`); outcome `$variables` are the rule's own."""
    reads = _Reads()

    def walk(node: Any) -> None:
        if isinstance(node, And | Or):
            for item in node.items:
                walk(item)
        elif isinstance(node, Not):
            walk(node.item)
        elif isinstance(node, yaral.FieldRef):
            reads.use(node.path)
        elif isinstance(node, yaral.Compare):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, yaral.InList):
            walk(node.operand)
        elif isinstance(node, yaral.Call):
            for arg in node.args:
                walk(arg)
        elif isinstance(node, yaral.If):
            for part in (node.condition, node.then, node.otherwise):
                walk(part)
        elif isinstance(node, yaral.Aggregate):
            walk(node.ref)
        elif not isinstance(node, yaral.Literal | yaral.Regex | yaral.VarRef):
            raise AssertionError(f"unwalked YARA-L node {node!r}")

    rule = yaral.parse(query)
    walk(rule.events)
    for expression in rule.outcome.values():
        walk(expression)
    return reads.read


def test_the_yaral_reads_name_a_field_the_model_lacks() -> None:
    model = target_datamodel("yaral")["PROCESS_LAUNCH"]
    query = """rule r {
  meta:
    title = "t"

  events:
    $e.metadata.event_type = "PROCESS_LAUNCH"
    $e.target.process.file.full_path = /(?s)\\\\a\\.exe$/ nocase
    re.regex($e.target.process.comand_line, `x`)
    $e.additional.fields["IntegrityLevel"] = "High" or $e.additional.fields["Integrity"] = "High"

  outcome:
    $hit = if($e.principal.process.file.full_path = "b", 1, 0)

  condition:
    $e
}
"""
    reads = _yaral_reads(query)
    assert reads == [
        "metadata.event_type",
        "target.process.file.full_path",
        "target.process.comand_line",
        'additional.fields["IntegrityLevel"]',
        'additional.fields["Integrity"]',
        "principal.process.file.full_path",
    ]
    assert _lacking(model, reads) == [
        "target.process.comand_line",
        'additional.fields["Integrity"]',
    ]


def _logscale_reads(query: str) -> list[str]:
    """Every field a LogScale output reads: `field=` / `#tag=` filters (globs, regexes, numeric
    comparisons), in/wildcard/cidr/array:contains arguments (the array as written, `x[]`), test()
    operands, free text and bare regexes (`@rawstring`), the sources of `:=` assignments, arithmetic
    and math:floor, match() keys, and table/sort/select/groupBy columns, through case branches; what
    `:=`, math:floor, groupBy aggregates and match() include create is the query's own."""
    reads = _Reads()

    def operand(name: str) -> None:
        if not logscale._NUMBER.fullmatch(name):
            reads.use(name)

    def walk(node: Any) -> None:
        if isinstance(node, logscale.And | logscale.Or):
            for part in node.parts:
                walk(part)
        elif isinstance(node, logscale.Not | logscale.ExprNot):
            walk(node.part)
        elif isinstance(node, logscale.FreeText):
            if not (node.glob.text == "*" and node.glob.has_wildcard):  # `*` alone tests nothing
                reads.use("@rawstring")
        elif isinstance(node, logscale.FreeRegex):
            reads.use("@rawstring")
        elif isinstance(
            node,
            logscale.FieldEquals
            | logscale.FieldRegex
            | logscale.FieldCompare
            | logscale.InValues
            | logscale.Cidr,
        ):
            reads.use(node.field)
        elif isinstance(node, logscale.Wildcard):
            for name in node.fields:
                reads.use(name)
        elif isinstance(node, logscale.ArrayContains):
            reads.use(f"{node.array}[]")
        elif isinstance(node, logscale.ExprCompare):
            for side in (node.left, node.right):
                if side.field is not None:
                    reads.use(side.field)
        else:
            raise AssertionError(f"unwalked LogScale filter {node!r}")

    def steps(pipeline: tuple[Any, ...]) -> None:
        for step in pipeline:
            if isinstance(step, logscale.FilterStep):
                walk(step.filter)
            elif isinstance(step, logscale.Assign):
                if step.source is not None:
                    reads.use(step.source)
                reads.created.add(step.field)
            elif isinstance(step, logscale.Arithmetic):
                operand(step.left)
                operand(step.right)
                reads.created.add(step.field)
            elif isinstance(step, logscale.Floor):
                reads.use(step.source)
                reads.created.add(step.target)
            elif isinstance(step, logscale.Case):
                for branch in step.branches:
                    steps(branch)
            elif isinstance(step, logscale.Match):
                for name in step.fields:
                    reads.use(name)
                reads.created.update(step.include or ())
            elif isinstance(step, logscale.GroupBy):
                for name in step.fields:
                    reads.use(name)
                for _, name, _ in step.aggregates:
                    if name is not None:
                        reads.use(name)
                reads.created.update(result for _, _, result in step.aggregates)
            elif isinstance(step, logscale.Table):
                for name in (*step.fields, *step.sortby):
                    reads.use(name)
            elif isinstance(step, logscale.Sort | logscale.Select):
                for name in step.fields:
                    reads.use(name)
            else:
                raise AssertionError(f"unwalked LogScale step {step!r}")

    steps(logscale.parse(query).steps)
    return reads.read


def test_the_logscale_reads_name_a_field_the_model_lacks() -> None:
    model = target_datamodel("logscale")["ProcessRollup2"]
    query = (
        "#event_simpleName=ProcessRollup2 event_platform=Win mimikatz\n"
        '| case { in(field="FileNam", values=["a.exe"]) | _siemc_hit := "true"; * | _siemc_hit := "false" }\n'
        '| _siemc_hit="true" AND CommandLine=/x/i AND #event_platform=Win'
    )
    reads = _logscale_reads(query)
    assert reads == [
        "#event_simpleName",
        "event_platform",
        "@rawstring",
        "FileNam",
        "CommandLine",
        "#event_platform",
    ]
    assert _lacking(model, reads) == ["FileNam", "#event_platform"]


@pytest.mark.parametrize(
    ("target_name", "reads", "minimum"),
    [
        ("spl", _spl_reads, 2500),
        ("sumo", _sumo_reads, 2500),
        ("aql", _aql_reads, 1200),
        ("yaral", _yaral_reads, 1800),
        ("logscale", _logscale_reads, 1800),
    ],
)
def test_every_output_reads_only_fields_its_source_model_has(
    detections: list[tuple[Path, Detection]],
    target_name: str,
    reads: Callable[[str], list[str]],
    minimum: int,
) -> None:
    """Each language model's syntax tree gives the fields an output reads; its source's model has each."""
    checked, failures = _fields_missing(target_name, reads, detections)
    assert checked > minimum
    assert not failures
