"""Site configuration (siemc.yml): overrides, new sources, field renames, pipelines, placeholders in
all three forms, filters, the cache, and each configuration error."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
from siemc.backends import TARGET_NAMES
from typer.testing import CliRunner

from siemc.cli import app
from siemc.compile.build import build, compile_detection
from siemc.compile.rule import load_rule
from siemc.compile.site import check_site
from siemc.config import ConfigError, find_config, load_config, resolve_config
from siemc.diagnostics import Unsupported
from siemc.verify.evaluate import Evaluator
from siemc.verify.ruletest import AGREES, UNAVAILABLE, UNSUPPORTED, load_target_engines, run_rule_tests
from tests.conftest import SEED_RULE
from tests.no_repr import assert_no_repr

SITE = Path(__file__).parent / "site"


@pytest.fixture(scope="module")
def site_config():  # type: ignore[no-untyped-def]
    site = load_config(SITE / "siemc.yml")
    check_site(site)
    return site


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "siemc.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# -- finding the file ------------------------------------------------------------------------------------


def test_the_nearest_siemc_yml_above_the_rules_is_used(tmp_path: Path) -> None:
    (tmp_path / "repo" / "detections" / "sub").mkdir(parents=True)
    config = _config(tmp_path / "repo", "placeholders: {x: [a]}\n")
    assert find_config([tmp_path / "repo" / "detections" / "sub"], cwd=tmp_path) == config
    assert find_config([tmp_path / "elsewhere.yml"], cwd=tmp_path / "repo") == config
    assert find_config([tmp_path / "elsewhere.yml"], cwd=tmp_path) is None


def test_without_a_configuration_the_defaults_are_used(tmp_path: Path) -> None:
    site = resolve_config(None, [tmp_path])
    assert site.is_default
    default = compile_detection(load_rule(SEED_RULE), "spl")
    assert compile_detection(load_rule(SEED_RULE, site), "spl") == default


# -- sources, fields, pipelines ------------------------------------------------------------------------


def test_a_source_override_changes_the_keys_it_names_and_keeps_the_rest(site_config) -> None:  # type: ignore[no-untyped-def]
    spl = compile_detection(load_rule(SEED_RULE, site_config), "spl")
    assert spl.splitlines()[1].startswith("index=win sourcetype=xmlwineventlog EventCode=1 earliest=-24h")
    # the field table of the overridden source is kept, with the site's rename of Computer
    assert "| table _time host User Image CommandLine ParentImage" in spl
    assert "XmlWinEventLog:Microsoft-Windows-Sysmon" not in spl
    # other targets keep their defaults
    kql = compile_detection(load_rule(SEED_RULE, site_config), "kql")
    assert kql == compile_detection(load_rule(SEED_RULE), "kql")


def test_a_new_log_source_is_added(site_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rule = tmp_path / "acme.yml"
    rule.write_text(
        "title: Acme remote session\nlogsource: {category: remote_access, product: acme}\n"
        "detection:\n  sel: {ToolName: AnyDesk}\n  condition: sel\n",
        encoding="utf-8",
    )
    assert 'AcmeRemote_CL\n| where ToolName_s =~ "AnyDesk"' in compile_detection(
        load_rule(rule, site_config), "kql"
    )
    with pytest.raises(Unsupported, match="not mapped"):
        compile_detection(load_rule(rule), "kql")


def test_a_site_pipeline_applies_with_its_priority(site_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rule = tmp_path / "parent.yml"
    rule.write_text(
        "title: Parent\nlogsource: {category: process_creation, product: windows}\n"
        "detection:\n  sel: {ParentCommandLine|contains: anydesk}\n  condition: sel\n",
        encoding="utf-8",
    )
    assert 'parent_process="*anydesk*"' in compile_detection(load_rule(rule, site_config), "spl")
    # the pipeline is Splunk's only
    assert "InitiatingProcessCommandLine" in compile_detection(load_rule(rule, site_config), "kql")


# -- placeholders ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule_name", ["placeholder_rmm", "placeholder_network"])
def test_placeholder_values_agree_with_the_reference_on_every_target(site_config, rule_name: str) -> None:  # type: ignore[no-untyped-def]
    detection = load_rule(SITE / "rules" / f"{rule_name}.yml", site_config)
    engines = load_target_engines()
    assert engines is not None
    outcomes = run_rule_tests(detection, TARGET_NAMES, engines, compile_detection)
    problems = []
    for outcome in outcomes:
        if outcome.reference_error:
            problems.append(f"{outcome.test.name}: reference: {outcome.reference_error}")
        for target, (verdict, detail) in outcome.targets.items():
            # duckdb-kql has no ipv4_is_in_range; Kusto.Language still checked the KQL text.
            allowed = (
                {AGREES, UNAVAILABLE} if (target, rule_name) == ("kql", "placeholder_network") else {AGREES}
            )
            if (target, rule_name) == ("aql", "placeholder_rmm"):
                # The site's filter tests the computer's name, which no QRadar property holds.
                allowed = {UNSUPPORTED}
                assert detail == "Windows has no field Computer", detail
            if verdict not in allowed:
                problems.append(f"{outcome.test.name}: {target}: {verdict} {detail}")
    assert problems == []
    for target in TARGET_NAMES:
        if outcomes[0].targets[target][0] != UNSUPPORTED:
            assert_no_repr(compile_detection(detection, target))


def test_placeholder_values_are_written_as_if_the_rule_listed_them(site_config) -> None:  # type: ignore[no-untyped-def]
    detection = load_rule(SITE / "rules" / "placeholder_rmm.yml", site_config)
    kql = compile_detection(detection, "kql")
    assert 'FileName in~ ("anydesk.exe", "teamviewer.exe")' in kql
    assert 'ProcessCommandLine contains "--silent-install"' in kql
    assert 'ProcessCommandLine contains "--service"' in kql
    assert "# words" not in kql


def test_a_placeholder_without_value_is_unsupported_on_every_target(tmp_path: Path) -> None:
    rule = tmp_path / "nothing.yml"
    rule.write_text(
        "title: No value\nlogsource: {category: process_creation, product: windows}\n"
        "detection:\n  sel: {Image|expand|endswith: '%unknown_tools%'}\n  condition: sel\n",
        encoding="utf-8",
    )
    for target in TARGET_NAMES:
        with pytest.raises(Unsupported) as caught:
            compile_detection(load_rule(rule), target)
        assert caught.value.message == (
            "placeholder 'unknown_tools' has no value (set placeholders.unknown_tools in siemc.yml)"
        )


def test_the_command_line_adds_placeholder_values(tmp_path: Path) -> None:
    rule = tmp_path / "cli.yml"
    rule.write_text(
        "title: Cli\nlogsource: {category: process_creation, product: windows}\n"
        "detection:\n  sel: {Image|expand|endswith: '%tools%'}\n  condition: sel\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["convert", str(rule), "-t", "kql", "-p", "tools=\\x.exe", "-p", "tools=\\y.exe"]
    )
    assert result.exit_code == 0, result.output
    assert 'FileName in~ ("x.exe", "y.exe")' in result.stdout


def test_a_named_list_stays_a_list_and_never_a_repr(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "placeholders:\n  tools: {list: rmm_tools, values: ['\\anydesk.exe']}\n"
        "  users: {list: admin_users, values: [svc_helpdesk]}\n"
        "targets:\n  sumo: {list_folder: /Library/Admin Recommended/siemc}\n",
    )
    rule = tmp_path / "listed.yml"
    rule.write_text(
        "title: Listed\nlogsource: {category: process_creation, product: windows}\n"
        "detection:\n  sel: {Image|expand|endswith: '%tools%'}\n  condition: sel\n",
        encoding="utf-8",
    )
    site = load_config(config)
    detection = load_rule(rule, site)
    # The reference evaluator matches with the list's contents, read as plain text.
    evaluator = Evaluator.for_detection(detection, site.evaluation_values())
    assert evaluator.matches({"Image": "C:\\Temp\\AnyDesk.exe"})
    assert not evaluator.matches({"Image": "C:\\Temp\\notanydesk.exe"})
    # A suffix test: only EQL, which writes the entries into the query, can say it.
    for target in TARGET_NAMES:
        try:
            text = compile_detection(detection, target)
        except Unsupported as error:
            assert target != "eql"
            assert error.message.startswith("placeholder 'tools' is the named list 'rmm_tools': ")
        else:
            assert target == "eql"
            assert_no_repr(text)
            assert 'process.executable:"*\\\\anydesk.exe"' in text
    # An exact test: every target writes its list construct.
    rule.write_text(
        "title: Listed\nlogsource: {category: process_creation, product: windows}\n"
        "detection:\n  sel: {CommandLine|expand: '%users%'}\n  condition: sel\n",
        encoding="utf-8",
    )
    detection = load_rule(rule, site)
    constructs = {
        "kql": 'ProcessCommandLine in~ (_GetWatchlist("admin_users") | project SearchKey)',
        "spl": "| lookup admin_users value AS CommandLine OUTPUT value AS siemc_list1\n"
        "| where isnotnull(siemc_list1)",
        "eql": 'process.command_line:"svc_helpdesk"',
        "aql": "REFERENCESETCONTAINS('admin_users', LOWER(\"Command\"))",
        "sumo": 'lookupContains(path://"/Library/Admin Recommended/siemc/admin_users", commandLine=value)',
        "yaral": "$e.target.process.command_line in %admin_users nocase",
        "logscale": 'match(file="admin_users.csv", field="CommandLine", column="value", ignoreCase=true)',
    }
    for target in TARGET_NAMES:
        text = compile_detection(detection, target)
        assert_no_repr(text)
        assert constructs[target] in text, (target, text)


# -- filters ---------------------------------------------------------------------------------------------


def test_the_helpdesk_filter_drops_only_the_allowed_hit(site_config) -> None:  # type: ignore[no-untyped-def]
    detection = load_rule(SITE / "rules" / "placeholder_rmm.yml", site_config)
    assert [f.path.name for f in detection.filters] == ["helpdesk_teamviewer.yml"]
    unfiltered = load_rule(
        SITE / "rules" / "placeholder_rmm.yml", site_config.__class__(placeholders=site_config.placeholders)
    )
    allowed = {"Image": "C:\\Program Files\\TeamViewer\\TeamViewer.exe", "Computer": "HD-07", "User": "bob"}
    kept = {"Image": "C:\\Temp\\AnyDesk.exe", "Computer": "HD-07", "User": "bob"}
    values = site_config.evaluation_values()
    assert Evaluator.for_detection(unfiltered, values).matches(allowed)
    assert not Evaluator.for_detection(detection, values).matches(allowed)
    assert Evaluator.for_detection(detection, values).matches(kept)
    kql = compile_detection(detection, "kql")
    assert 'not(DeviceName startswith "HD-" and FileName =~ "teamviewer.exe")' in kql


def test_a_filter_naming_no_given_rule_is_a_warning_with_its_line(tmp_path: Path) -> None:
    shutil.copytree(SITE, tmp_path / "site")
    rule_id = "5f1e1d2c-7a4b-4c1e-9d3f-2b6a8c0e1219"
    path = tmp_path / "site" / "filters" / "helpdesk_teamviewer.yml"
    path.write_text(path.read_text(encoding="utf-8").replace(rule_id, "no-such-rule"), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "site" / "rules")])
    assert result.exit_code == 0, result.output
    assert f"{path}:8: warning: the filter names rule 'no-such-rule'" in result.stderr


def test_a_filter_field_the_source_lacks_names_the_filter_and_never_moves_the_rule(tmp_path: Path) -> None:
    (tmp_path / "integrity.yml").write_text(
        "title: Low integrity is fine\nlogsource: {category: process_creation, product: windows}\n"
        "filter:\n  rules: any\n  low:\n    NoSuchColumn: Low\n  condition: not low\n",
        encoding="utf-8",
    )
    site = load_config(_config(tmp_path, "filters: [integrity.yml]\n"))
    detection = load_rule(SEED_RULE, site)
    for target in ("kql", "yaral", "logscale"):
        with pytest.raises(Unsupported) as caught:
            compile_detection(detection, target)
        assert "field 'NoSuchColumn' has no column in" in caught.value.message
        assert f"(the field comes from the filter {tmp_path / 'integrity.yml'}:6)" in caught.value.message


# -- the cache -------------------------------------------------------------------------------------------


def test_a_changed_placeholder_rebuilds_exactly_the_rules_using_it(tmp_path: Path) -> None:
    shutil.copytree(SITE, tmp_path / "site")
    out, cache = tmp_path / "out", tmp_path / "cache"
    rules = tmp_path / "site" / "rules"
    site = load_config(tmp_path / "site" / "siemc.yml")
    first = build([rules], ["kql"], out, cache_dir=cache, site=site)
    assert first.compiled_rules == 2
    again = build([rules], ["kql"], out, cache_dir=cache, site=site)
    assert again.compiled_rules == 0
    config = tmp_path / "site" / "siemc.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("192.168.0.0/16", "172.16.0.0/12"), encoding="utf-8"
    )
    changed = build([rules], ["kql"], out, cache_dir=cache, site=load_config(config))
    assert changed.compiled_rules == 1  # only placeholder_network uses internal_nets
    assert "172.16.0.0/12" in (out / "kql" / "placeholder_network.kql").read_text(encoding="utf-8")


# -- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("bogus: 1\n", 1, "bogus: unknown key (known: targets, pipelines, placeholders, filters)"),
        ("targets:\n  splunk: {}\n", 2, "targets.splunk: unknown target"),
        ("targets:\n  spl:\n    fields: [a]\n", 3, "targets.spl.fields: expected a mapping of Sigma name"),
        ("placeholders:\n  x: {file: missing.txt}\n", 2, "placeholders.x.file: no such file: missing.txt"),
        ("placeholders:\n  x: {list: 'bad name'}\n", 2, "placeholders.x.list: a list name is letters"),
        ("placeholders:\n  x: 3\n", 2, "placeholders.x: expected a list of values"),
        ("filters: [nothing/*.yml]\n", 1, "filters[0]: no file matches nothing/*.yml"),
        (
            "targets:\n  spl:\n    sources:\n      - logsource: category=process_creation product=windows\n"
            "        selector: 3\n",
            5,
            "targets.spl.sources[0].selector: expected a non-empty string",
        ),
        (
            "targets:\n  kql:\n    sources:\n      - logsource: category=new product=x\n"
            "        fields: {A: B}\n",
            4,
            "targets.kql.sources[0]: missing 'selector'",
        ),
        (
            "targets:\n  aql:\n    fields: {CommandLine: Process CommandLine}\n",
            3,
            "targets.aql.fields.CommandLine: 'Process CommandLine' is not a normalised column",
        ),
        ("pipelines: [bad_pipeline.yml]\n", 1, "pipelines[0]: pySigma rejects the pipeline bad_pipeline.yml"),
        (
            "placeholders:\n  x: {values: [a], labels: [tool]}\n",
            2,
            "placeholders.x.labels: labels are read from a `file`",
        ),
        (
            "placeholders:\n  x: {file: tools.tsv, labels: [value]}\n",
            2,
            "placeholders.x.labels[0]: a label column name is an identifier, not `value`",
        ),
        (
            "placeholders:\n  x:\n    values: [a, b]\n    drop: [c]\n",
            4,
            "placeholders.x.drop[0]: 'c' is no value or label of the list",
        ),
        (
            "placeholders:\n  x:\n    file: tools.tsv\n    labels: [tool]\n    add: [{value: z.exe}]\n",
            5,
            "placeholders.x.add[0]: missing tool",
        ),
    ],
)
def test_a_bad_configuration_is_one_error_with_its_line_and_exit_2(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    (tmp_path / "bad_pipeline.yml").write_text("transformations:\n  - type: no_such_transformation\n")
    (tmp_path / "tools.tsv").write_text("a.exe\tToolA\n")
    config = _config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        check_site(load_config(config))
    assert caught.value.line == line
    assert caught.value.message.startswith(message), caught.value.message
    result = CliRunner().invoke(app, ["convert", str(SEED_RULE), "-t", "kql", "--config", str(config)])
    assert result.exit_code == 2
    assert re.match(rf"{re.escape(str(config))}:{line}: error: ", result.stderr)
    assert result.stdout == ""


def test_a_bad_row_of_a_labelled_list_names_the_list_file_and_its_line(tmp_path: Path) -> None:
    (tmp_path / "tools.tsv").write_text("# value, tool, category\na.exe\tToolA\tCat\nb.exe\tToolB\n")
    config = _config(tmp_path, "placeholders:\n  x: {file: tools.tsv, labels: [tool, category]}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert (caught.value.path, caught.value.line) == (tmp_path / "tools.tsv", 3)
    assert caught.value.message.startswith("expected a value and 2 label(s) separated by TABs")


LABELLED_RULE = r"""
title: Labelled list
id: 6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b
logsource: {category: process_creation, product: windows}
detection:
  selection:
    ImageName|expand: '%tools%'
  condition: selection
siemc:
  columns: [time, Image, Tool, Category]
  derive:
    Tool: {label: tool, of: {ImageName|expand: '%tools%'}, else: Unknown}
    Category: {label: LABEL, of: {ImageName|expand: '%tools%'}}
"""


def _labelled(tmp_path: Path, config: str, label: str = "category") -> Path:
    (tmp_path / "tools.tsv").write_text("a.exe\tToolA\tRMM\nb.exe\tToolB\tVNC\nc.exe\tToolA\tRMM\n")
    _config(tmp_path, config)
    rule = tmp_path / "rule.yml"
    rule.write_text(LABELLED_RULE.replace("LABEL", label), encoding="utf-8")
    return rule


def test_a_derived_label_is_the_label_of_the_row_that_matched_and_drop_and_add_edit_the_rows(
    tmp_path: Path,
) -> None:
    rule = _labelled(
        tmp_path,
        "placeholders:\n  tools:\n    file: tools.tsv\n    labels: [tool, category]\n    drop: [VNC]\n"
        "    add: [{value: d.exe, tool: ToolD, category: Other}]\n",
    )
    detection = load_rule(rule, load_config(tmp_path / "siemc.yml"))
    evaluator = Evaluator.for_detection(detection, detection.site.evaluation_values())
    assert evaluator.derived({"ImageName": "C.EXE"}) == {"Tool": "ToolA", "Category": "RMM"}
    assert evaluator.derived({"ImageName": "d.exe"}) == {"Tool": "ToolD", "Category": "Other"}
    assert not evaluator.matches({"ImageName": "b.exe"})  # dropped by its category
    kql = compile_detection(detection, "kql")
    assert 'FileName in~ ("a.exe", "c.exe"), "ToolA"' in kql and '"b.exe"' not in kql


def test_a_derived_label_the_list_lacks_is_an_error_at_its_line(tmp_path: Path) -> None:
    rule = _labelled(
        tmp_path, "placeholders:\n  tools: {file: tools.tsv, labels: [tool, category]}\n", "owner"
    )
    result = CliRunner().invoke(app, ["validate", str(rule)])
    assert result.exit_code == 1
    assert f"{rule}:13: error: placeholder 'tools' has no label 'owner' (its labels are tool, category;" in (
        result.stderr
    )


def test_an_escaped_backslash_before_a_placeholder_is_a_path_separator(tmp_path: Path) -> None:
    """`\\\\%name%` is a literal backslash then the values; `\\%name%` stays a literal percent sign."""
    _config(tmp_path, "placeholders:\n  tools: [a.exe]\n")
    rule = tmp_path / "rule.yml"
    rule.write_text(
        "title: t\nlogsource: {category: process_creation, product: windows}\ndetection:\n"
        "  tool:\n    Image|endswith|expand: '\\\\%tools%'\n"
        "  percent:\n    CommandLine|expand: '\\%tools%'\n  condition: tool or percent\n",
        encoding="utf-8",
    )
    detection = load_rule(rule, load_config(tmp_path / "siemc.yml"))
    evaluator = Evaluator.for_detection(detection, detection.site.evaluation_values())
    assert evaluator.matches({"Image": "C:\\x\\A.exe"})
    assert not evaluator.matches({"Image": "C:\\x\\xa.exe"})
    assert evaluator.matches({"CommandLine": "%tools%"})
    assert not evaluator.matches({"CommandLine": "a.exe"})


def test_a_bad_filter_names_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "filters").mkdir()
    (tmp_path / "filters" / "broken.yml").write_text(
        "title: Broken\nlogsource: {product: windows}\n"
        "filter:\n  rules: any\n  sel: {A: b}\n  condition: not nope\n"
    )
    config = _config(tmp_path, "filters: [filters/broken.yml]\n")
    result = CliRunner().invoke(app, ["convert", str(SEED_RULE), "-t", "kql", "--config", str(config)])
    assert result.exit_code == 2
    assert str(tmp_path / "filters" / "broken.yml") in result.stderr


def test_version_is_the_package_metadata_version() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"siemc {version('siemc')}\n"


def test_the_readme_filter_tunes_the_t1219_rule_on_every_target(tmp_path: Path) -> None:
    """The README's example: TeamViewer on helpdesk machines (HD-*) is allowed, everything else stays."""
    from tests.engines import reference, run_target

    text = (SITE / "filters" / "helpdesk_teamviewer.yml").read_text(encoding="utf-8")
    (tmp_path / "helpdesk.yml").write_text(
        text.replace("5f1e1d2c-7a4b-4c1e-9d3f-2b6a8c0e1219", "0b7a6a3e-5f1c-4c7e-9a55-2b1d8f7e1219"),
        encoding="utf-8",
    )
    site = load_config(_config(tmp_path, "filters: [helpdesk.yml]\n"))
    detection = load_rule(SEED_RULE, site)
    assert [f.path.name for f in detection.filters] == ["helpdesk.yml"]
    parent = "C:\\Windows\\explorer.exe"
    events = [
        {
            "Image": "C:\\Program Files\\TeamViewer\\TeamViewer.exe",
            "Computer": "HD-07",
            "ParentImage": parent,
        },
        {
            "Image": "C:\\Program Files\\TeamViewer\\TeamViewer.exe",
            "Computer": "WS-12",
            "ParentImage": parent,
        },
        {"Image": "C:\\Users\\bob\\Downloads\\AnyDesk.exe", "Computer": "HD-07", "ParentImage": parent},
        {
            "Image": "C:\\Program Files\\TeamViewer\\TeamViewer.exe",
            "Computer": "hd-08",
            "ParentImage": parent,
        },
    ]
    for target in TARGET_NAMES:
        if target == "aql":
            # No QRadar property IBM documents holds the computer's name (the AQL data model).
            with pytest.raises(Unsupported, match="Windows has no field Computer"):
                compile_detection(detection, target)
            continue
        expected = [i for i, (matched, _) in enumerate(reference(target, detection, events)) if matched]
        assert expected == [1, 2], target  # Sigma's startswith ignores case: hd-08 is a helpdesk machine too
        rows = run_target(target, detection, compile_detection(detection, target), events)
        assert sorted(row.index for row in rows) == expected, target
