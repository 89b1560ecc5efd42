"""Data models: a field the SIEM's source never carries makes an output unsupported, never a query
that silently matches nothing; the files are validated with file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from siemc.backends import TARGET_NAMES, get_target

import siemc.compile.target as target_module
from siemc.compile.datamodel import (
    DataModelError,
    SourceModel,
    load_datamodel,
    models_folder,
)
from siemc.compile.rule import load_rule, parse_rule
from siemc.diagnostics import Unsupported
from tests.conftest import EVERY_SOURCE_SITE, SEED_RULE


def _model(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_key_under_an_open_field_is_a_field_of_the_source() -> None:
    model = SourceModel(
        "WindowsEvent", ("docs",), {"EventData": "dynamic", "Channel": "string"}, ("EventData",)
    )
    assert model.has("Channel")
    assert model.has("EventData.Image")
    assert model.has('EventData["Image"]')
    assert not model.has("EventDataX")
    assert not model.has("Image")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: {}\n", "sources: expected a mapping of source name to model"),
        ("oops: 1\nsources: {A: {}}\n", "oops: unknown top-level key"),
        ("sources:\n  A: {fields: {x: string}}\n", "sources.A.provenance: expected a non-empty list"),
        ("sources:\n  A: {provenance: [docs], fields: {}}\n", "sources.A.fields: expected a mapping"),
        ("sources:\n  A: {provenance: [docs], fields: {x: string}, open: [y]}\n", "sources.A.open: expected"),
        (
            "sources:\n  A: {provenance: [docs], fields: {x: string}, typo: 1}\n",
            "sources.A.typo: unknown key",
        ),
    ],
)
def test_a_bad_data_model_names_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = _model(tmp_path, text)
    with pytest.raises(DataModelError) as caught:
        load_datamodel(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_every_shipped_data_model_loads_and_names_sources_of_its_mapping() -> None:
    for path in sorted(models_folder().glob("*.yml")):
        assert path.stem in TARGET_NAMES
        models = load_datamodel(path)
        assert models


def test_a_field_the_model_lacks_makes_the_output_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    detection = load_rule(SEED_RULE)
    # Fresh targets (get_target's are shared, and keep backends built with the model they saw): one
    # for a site collecting Event too, where both candidates are tried, one for a default site.
    kql_class = type(get_target("kql"))
    kql, default_kql = kql_class(EVERY_SOURCE_SITE), kql_class()
    fields = {"Timestamp": "datetime", "FileName": "string", "DeviceName": "string"}
    thin = {
        "DeviceProcessEvents": SourceModel("DeviceProcessEvents", ("a test",), fields),
        "Event": SourceModel("Event", ("a test",), {"TimeGenerated": "datetime", "EventLog": "string"}),
    }
    monkeypatch.setattr(target_module, "target_datamodel", lambda name: thin)
    with pytest.raises(Unsupported) as caught:
        kql.render(detection)
    # the last candidate's reason; each names the first field, in name order, that its condition
    # reads and its source lacks (a column only shown, such as Computer, is left out instead)
    assert caught.value.message == "Event has no field EventFields.Image"
    # A default site collects no later source: the first source's reason, and where the rule could go.
    with pytest.raises(Unsupported) as caught:
        default_kql.render(detection)
    assert caught.value.message == (
        "DeviceProcessEvents has no field InitiatingProcessFileName; Event holds the rule where the site"
        " collects it"
        " (targets.kql.fallbacks in siemc.yml)"
    )
    read = ("AccountName", "ProcessCommandLine", "InitiatingProcessFileName", "InitiatingProcessCommandLine")
    read += ("DeviceId", "ReportId")  # the key columns every Defender query returns are checked too
    complete = SourceModel("DeviceProcessEvents", ("a test",), {**fields, **dict.fromkeys(read, "string")})
    monkeypatch.setattr(
        target_module, "target_datamodel", lambda name: {**thin, "DeviceProcessEvents": complete}
    )
    assert kql.render(detection).startswith("// Remote Access Tool Execution\n// ATT&CK: T1219")
    assert "DeviceProcessEvents\n" in kql.render(detection)


def test_a_model_stores_a_raw_event_as_the_vendors_parser_does(tmp_path: Path) -> None:
    path = _model(
        tmp_path,
        "sources:\n  process:\n    provenance: [docs]\n    fields:\n"
        "      process.executable: {type: keyword, from: Image}\n      event.code: keyword\n"
        "      winlog.event_data: object\n    open: [winlog.event_data]\n"
        "    raw: 'winlog.event_data.{name}'\n",
    )
    model = load_datamodel(path)["process"]
    assert model.fields == {
        "process.executable": "keyword",
        "event.code": "keyword",
        "winlog.event_data": "object",
    }
    assert model.event({"Image": "C:\\\\x.exe", "Hashes": "MD5=1"}) == {
        "process.executable": "C:\\\\x.exe",
        "winlog.event_data.Hashes": "MD5=1",
    }
    assert model.has("winlog.event_data.Hashes") and model.has("winlog.event_data")


def test_every_value_form_has_its_query_rewrite() -> None:
    """A form the data model stores values in (`as:`) is one queries know how to test."""
    from siemc.compile.datamodel import VALUE_FORMS
    from siemc.compile.fields import VALUE_FORM_TRANSFORMATIONS

    assert set(VALUE_FORMS) == set(VALUE_FORM_TRANSFORMATIONS)


# A Windows account as Sysmon writes `User` (DOMAIN\name), against Defender's AccountDomain and
# AccountName and Elastic Defend's user.domain and user.name: the account apart, and one without a
# domain (a Linux user, a local name) being its name alone.
ACCOUNT_EVENTS = [
    {"Image": "C:\\x.exe", "User": "NT AUTHORITY\\SYSTEM"},
    {"Image": "C:\\x.exe", "User": "AUTORITE NT\\Systeme"},
    {"Image": "C:\\x.exe", "User": "CORP\\alice"},
    {"Image": "C:\\x.exe", "User": "CORP\\ws01$"},
    {"Image": "C:\\x.exe", "User": "CORPNET\\bob"},
    {"Image": "C:\\x.exe", "User": "root"},
    {"Image": "C:\\x.exe", "User": "rooted"},
    {"Image": "C:\\x.exe", "User": "ROOT\\carol"},
]

ACCOUNT_SELECTIONS = [
    "User|contains: [AUTHORI, AUTORI]",  # in the domain (NT AUTHORITY) of either spelling
    "User|contains: 'T\\Sys'",  # across the backslash: the domain's end and the name's start
    "User|endswith: '$'",  # a machine account: the name's end
    "User: 'corp\\alice'",  # both parts, without case
    "User|startswith: 'CORP'",  # the domain's start (CORP, CORPNET)
    "User|startswith: 'root'",  # no domain and the name's start, or the domain's (ROOT\carol)
    "User: root",  # no domain and the name
    "User|endswith: 'corp\\alice'",  # a domain ending in corp
]


@pytest.mark.parametrize("target_name", ["kql", "eql"])
@pytest.mark.parametrize("selection", ACCOUNT_SELECTIONS)
def test_an_account_split_in_two_fields_agrees_with_the_reference(target_name: str, selection: str) -> None:
    """Each value form of `User` is tested on the domain and name fields so that a query matches
    exactly the events whose joined account the rule matches, on events the data model builds (the
    domain before the last backslash, the name after it)."""
    from siemc.compile.rule import parse_rule
    from tests.engines import agreeing_hits

    detection = parse_rule(
        "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n"
        "logsource: {category: process_creation, product: windows}\n"
        f"detection:\n  sel:\n    {selection}\n  condition: sel\n",
        Path("t.yml"),
    )
    query = get_target(target_name).render(detection)
    assert agreeing_hits(target_name, detection, query, ACCOUNT_EVENTS), "each selection matches some event"


@pytest.mark.parametrize("target_name", ["kql", "eql"])
@pytest.mark.parametrize(
    "selection",
    ["User|contains: 'A\\B\\C'", "User: 'CORP\\a*min'", "User|re: '^CORP'", "User|endswith: '\\bob'"],
)
def test_an_account_value_without_an_exact_split_is_unsupported(target_name: str, selection: str) -> None:
    """More than one backslash, an inner wildcard, a regex or an empty domain part: no test of the two
    fields means exactly what the joined account would."""
    from siemc.compile.rule import parse_rule

    detection = parse_rule(
        "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n"
        "logsource: {category: process_creation, product: windows}\n"
        f"detection:\n  sel:\n    {selection}\n  condition: sel\n",
        Path("t.yml"),
    )
    with pytest.raises(Exception, match="hold an account's name and domain apart"):
        get_target(target_name).render(detection)


def test_a_column_only_shown_is_left_out_where_the_source_lacks_it() -> None:
    """QRadar's Windows events have no property for the computer's name (the AQL data model): a rule
    that only shows Computer keeps its source without that column, and one that tests it is
    unsupported."""
    from siemc.compile.rule import parse_rule

    head = (
        "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n"
        "logsource: {category: process_creation, product: windows}\n"
    )
    shown = head + (
        "detection:\n  sel: {Image|endswith: '\\\\x.exe'}\n  condition: sel\n"
        "siemc:\n  columns: [time, Computer, Image]\n"
    )
    text = get_target("aql").render(parse_rule(shown, Path("t.yml")))
    assert text.startswith('SELECT\n  starttime,\n  "Process Path"\nFROM events')
    tested = head + "detection:\n  sel: {Computer: ws01}\n  condition: sel\n"
    with pytest.raises(Unsupported, match="Windows has no field Computer"):
        get_target("aql").render(parse_rule(tested, Path("t.yml")))


def test_a_native_name_the_site_gives_needs_no_model(tmp_path: Path) -> None:
    """A site's `fields` vouch for their native names (a QRadar custom property its DSM extracts):
    the data model need not list them, for a test or a shown column."""
    from siemc.compile.rule import parse_rule
    from siemc.config import load_config

    (tmp_path / "siemc.yml").write_text(
        "targets:\n  aql:\n    fields: {Computer: '\"Machine Name\"'}\n", encoding="utf-8"
    )
    site = load_config(tmp_path / "siemc.yml")
    text = (
        "title: t\nid: 6d5cd7a4-4b0f-4b35-9a39-5b7c1ba2d0f1\nstatus: test\n"
        "logsource: {category: process_creation, product: windows}\n"
        "detection:\n  sel: {Computer|startswith: HD-}\n  condition: sel\n"
        "siemc:\n  columns: [time, Computer]\n"
    )
    query = get_target("aql", site).render(parse_rule(text, Path("t.yml"), site))
    assert query.startswith('SELECT\n  starttime,\n  "Machine Name"\n')
    assert "\"Machine Name\" ILIKE 'HD-%'" in query
    with pytest.raises(Unsupported, match="Windows has no field Computer"):
        get_target("aql").render(parse_rule(text, Path("t.yml")))


def test_a_field_filled_from_several_raw_fields(tmp_path: Path) -> None:
    """QRadar's "Filename" is a file event's TargetFilename and a process's OriginalFileName: `from`
    lists both, and an event of either kind fills it."""
    path = _model(
        tmp_path,
        "sources:\n  Windows:\n    provenance: [docs]\n    fields:\n"
        "      Filename: {type: string, from: [TargetFilename, OriginalFileName]}\n",
    )
    model = load_datamodel(path)["Windows"]
    assert model.event({"TargetFilename": "C:\\x.txt"}) == {"Filename": "C:\\x.txt"}
    assert model.event({"OriginalFileName": "psexec.c"}) == {"Filename": "psexec.c"}
    accounts = (
        "      a: {type: string, from: [User, SubjectUserName], as: account_domain}\n"
        "      b: {type: string, from: [User, SubjectUserName], as: account_name}\n"
    )
    with pytest.raises(DataModelError, match="an account's parts are filled from one raw field"):
        load_datamodel(_model(tmp_path, "sources:\n  W:\n    provenance: [docs]\n    fields:\n" + accounts))


LINUX_KEYWORD = (
    "title: t\nlogsource: {product: linux}\ndetection:\n  keywords: [oops]\n  condition: keywords\n"
)


def _site(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    from siemc.config import load_config

    path = tmp_path / "siemc.yml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_a_source_without_a_data_model_is_read_only_where_the_site_vouches_for_it(tmp_path: Path) -> None:
    """QRadar's Linux OS log source has no data model (no IBM artifact says which properties it has):
    by default its rules are unsupported, naming the key that vouches for it; a site that lists it, or
    vouches for every source, gets the query; vouching for another source does not reach it."""
    rule = tmp_path / "r.yml"
    rule.write_text(LINUX_KEYWORD, encoding="utf-8")
    assert "Linux OS" not in target_module.target_datamodel("aql")
    with pytest.raises(Unsupported) as caught:
        get_target("aql").render(load_rule(rule))
    assert caught.value.message == (
        "siemc has no data model of Linux OS: which fields the SIEM's ingestion writes there is not"
        " established (targets.aql.unmodelled in siemc.yml, where the site collects it and vouches for"
        " its fields)"
    )
    for vouched in ("[Linux OS]", "true"):
        site = _site(tmp_path, f"targets:\n  aql: {{unmodelled: {vouched}}}\n")
        query = get_target("aql", site).render(load_rule(rule, site))
        assert "LOGSOURCETYPENAME(devicetype) = 'Linux OS'" in query and "oops" in query
    other = _site(tmp_path, "targets:\n  aql: {unmodelled: [Mac OS X]}\n  spl: {unmodelled: true}\n")
    with pytest.raises(Unsupported, match="no data model of Linux OS"):
        get_target("aql", other).render(load_rule(rule, other))


def test_a_source_the_site_states_is_vouched_for(tmp_path: Path) -> None:
    site = _site(
        tmp_path,
        "targets:\n  aql:\n    sources:\n      - logsource: product=linux\n"
        "        selector: \"LOGSOURCETYPENAME(devicetype) = 'Acme Linux'\"\n",
    )
    rule = tmp_path / "r.yml"
    rule.write_text(LINUX_KEYWORD, encoding="utf-8")
    assert "'Acme Linux'" in get_target("aql", site).render(load_rule(rule, site))


def test_an_unmodelled_fallback_is_read_only_where_the_site_vouches_for_it(tmp_path: Path) -> None:
    """IIS logs (W3CIISLog, modelled) keep no raw text; the site's text-file table WebServerLog_CL
    (siemc's name, no model) does: collecting it is not enough, the site vouches for it too."""
    rule = tmp_path / "r.yml"
    rule.write_text(LINUX_KEYWORD.replace("{product: linux}", "{category: webserver}"), encoding="utf-8")
    collected = _site(tmp_path, "targets:\n  kql: {fallbacks: true}\n")
    with pytest.raises(Unsupported, match="W3CIISLog has no raw event text field"):
        get_target("kql", collected).render(load_rule(rule, collected))
    vouched = _site(tmp_path, "targets:\n  kql: {fallbacks: true, unmodelled: [WebServerLog_CL]}\n")
    assert "WebServerLog_CL\n| where RawData" in get_target("kql", vouched).render(load_rule(rule, vouched))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "[Linux OZ]",
            "siemc.yml:2: error: targets.aql.unmodelled: 'Linux OZ' is no source of the aql mapping",
        ),
        (
            "3",
            "siemc.yml:2: error: targets.aql.unmodelled: expected true, false or a list of source"
            " names, got int",
        ),
    ],
)
def test_a_bad_unmodelled_entry_names_its_line(tmp_path: Path, value: str, message: str) -> None:
    from siemc.compile.site import check_site
    from siemc.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        check_site(_site(tmp_path, f"targets:\n  aql: {{unmodelled: {value}}}\n"))
    assert str(caught.value).endswith(message), str(caught.value)


def test_vouching_changes_the_targets_build_digest(tmp_path: Path) -> None:
    plain = _site(tmp_path, "targets:\n  aql: {fallbacks: true}\n")
    vouched = _site(tmp_path, "targets:\n  aql: {fallbacks: true, unmodelled: true}\n")
    assert plain.target_digests["aql"] != vouched.target_digests["aql"]


def test_an_integer_field_is_compared_with_a_number() -> None:
    """KUBERNETES_AUDIT keeps the response code in UDM's integer network.http.response_code: a plain
    integer is the number there, and a text the field never holds (a corpus rule tests 'ALLOW') is
    unsupported rather than a comparison YARA-L rejects."""
    text = (
        "title: t\nlogsource: {product: kubernetes, service: audit}\n"
        "detection:\n  sel: {verb: get, responseStatus.code: 'CODE'}\n  condition: sel\n"
    )
    yaral = get_target("yaral")
    assert (
        target_module.target_datamodel("yaral")["KUBERNETES_AUDIT"].fields["network.http.response_code"]
        == "int"
    )
    query = yaral.render(parse_rule(text.replace("CODE", "403"), Path("t.yml")))
    assert "$e.network.http.response_code = 403" in query
    for value in ("ALLOW", "40*"):
        with pytest.raises(Unsupported, match=r"int field network\.http\.response_code holds numbers"):
            yaral.render(parse_rule(text.replace("CODE", value), Path("t.yml")))
