"""Named lists (`{list: NAME}` placeholders) on every target: each SIEM's own list construct, proven
on events by the engines and models with the lists' entries (tests/engines.py, `list_objects`), and
every kind of test a target cannot say reported unsupported with its reason, never a looser query.

The site in tests/site_lists/ gives each list its entries; one rule per kind of test (exact, cased,
contains, startswith, endswith, regex with and without `i`, cidr alone and under NOT, a derived
column).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from siemc.backends import TARGET_NAMES

from siemc.compile.build import compile_detection
from siemc.compile.rule import load_rule
from siemc.compile.site import check_site
from siemc.config import ConfigError, load_config
from siemc.diagnostics import Unsupported
from siemc.verify.evaluate import Evaluator
from siemc.verify.ruletest import AGREES, UNAVAILABLE, UNSUPPORTED, load_target_engines, run_rule_tests
from tests.no_repr import assert_no_repr

SITE = Path(__file__).parent / "site_lists"
RULES = sorted(path.stem for path in (SITE / "rules").glob("*.yml"))

_WHOLE = "tests whole values"
_SUBSTRING = {
    "kql": "KQL has no operator testing a value against a watchlist's entries by {what} "
    "(has_any matches whole terms, not substrings)",
    "spl": "a Splunk lookup's WILDCARD match type reads patterns written in the lookup file, not plain "
    "values: no lookup tests its entries by {what}",
    "aql": f"REFERENCESETCONTAINS {_WHOLE}: a reference set has no {{kind}} match",
    "sumo": f"lookupContains {_WHOLE}: a lookup table has no {{kind}} match",
    "yaral": "a YARA-L reference list matches whole values, regexes or networks: no list tests its "
    "entries by {what}",
    "logscale": "match()'s glob mode reads patterns written in the lookup file, not plain values: no mode "
    "tests its entries by {what}",
}
_REGEX = {
    "kql": "KQL has no operator matching a value against a watchlist of regexes",
    "spl": "a Splunk lookup has no regular-expression match type",
    "aql": f"REFERENCESETCONTAINS {_WHOLE}: a reference set has no regex match",
    "sumo": f"lookupContains {_WHOLE}: a lookup table has no regex match",
    "logscale": "match() has no regular-expression mode",
}
_CIDR = {
    "aql": "QRadar documents no network match for REFERENCESETCONTAINS (an IP reference set holds addresses)",
    "sumo": f"lookupContains {_WHOLE}: a lookup table has no network match",
}
# Defender and Elastic Defend keep an account's domain and name apart: a list of whole accounts has
# no test on the two (siemc.compile.fields.AccountTransformation).
_ACCOUNT = {
    "kql": "AccountName and AccountDomain hold an account's name and domain apart: a list of accounts has no"
    " exact test on the two",
    "eql": "user.name and user.domain hold an account's name and domain apart: a list of accounts has no"
    " exact test on the two",
}
_KINDS = {"list_contains": ("contains", "substring"), "list_startswith": ("startswith", "prefix")}
_KINDS["list_endswith"] = ("endswith", "suffix")
_LISTS = {
    "list_exact": "admin_accounts",
    "list_derived": "admin_accounts",
    "list_cased": "backup_accounts",
    "list_contains": "rmm_words",
    "list_startswith": "staging_dirs",
    "list_endswith": "rmm_binaries",
    "list_regex": "relay_patterns",
    "list_regex_i": "relay_patterns",
    "list_cidr": "internal_nets",
    "list_cidr_negated": "internal_nets",
}

# rule -> target -> the reason it is unsupported (after "placeholder 'x' is the named list 'y': ").
UNSUPPORTED_REASONS: dict[str, dict[str, str]] = {
    "list_exact": _ACCOUNT,
    "list_cased": {
        **_ACCOUNT,
        "spl": "a Splunk lookup definition matches every use with one case rule (case_sensitive_match), "
        "and siemc's lookups are case-insensitive, as Sigma's tests are",
        "sumo": "Sumo Logic matches lookup table values without case",
    },
    **{
        rule: {target: text.format(kind=kind, what=what) for target, text in _SUBSTRING.items()}
        for rule, (kind, what) in _KINDS.items()
    },
    "list_regex": _REGEX,
    "list_regex_i": _REGEX,
    "list_cidr": _CIDR,
    "list_cidr_negated": {
        **_CIDR,
        "yaral": "principal.ip is a repeated UDM field, tested per element: a list test on it must stand "
        "alone, not under not nor beside another test of the field",
    },
    "list_derived": _ACCOUNT,
}
# Messages that are not about one list's construct.
OTHER_MESSAGES = {
    ("list_derived", "spl"): "a named list in a derived column: a Splunk lookup is a command of its own, "
    "not an eval expression",
}
# duckdb-kql has no ipv4_is_in_any_range: Kusto.Language still checks the KQL text.
NOT_EXECUTABLE = {("list_cidr", "kql"), ("list_cidr_negated", "kql")}


@pytest.fixture(scope="module")
def site():  # type: ignore[no-untyped-def]
    loaded = load_config(SITE / "siemc.yml")
    check_site(loaded)
    return loaded


def _expected_message(rule: str, target: str) -> str | None:
    if (rule, target) in OTHER_MESSAGES:
        return OTHER_MESSAGES[(rule, target)]
    reason = UNSUPPORTED_REASONS[rule].get(target)
    if reason is None:
        return None
    name = _LISTS[rule]
    return f"placeholder '{name}' is the named list '{name}': {reason}"


def test_every_rule_of_the_site_is_covered() -> None:
    assert set(RULES) == set(UNSUPPORTED_REASONS)


@pytest.mark.parametrize("rule", RULES)
def test_each_target_writes_its_list_construct_or_says_why_not(site, rule: str) -> None:  # type: ignore[no-untyped-def]
    detection = load_rule(SITE / "rules" / f"{rule}.yml", site)
    for target in TARGET_NAMES:
        expected = _expected_message(rule, target)
        try:
            text = compile_detection(detection, target)
        except Unsupported as error:
            assert error.message == expected, (target, error.message)
        else:
            assert expected is None, (target, "converts, expected unsupported")
            assert_no_repr(text)


@pytest.mark.parametrize("rule", RULES)
def test_named_lists_agree_with_the_reference_on_every_target(site, rule: str) -> None:  # type: ignore[no-untyped-def]
    detection = load_rule(SITE / "rules" / f"{rule}.yml", site)
    engines = load_target_engines()
    assert engines is not None
    outcomes = run_rule_tests(detection, TARGET_NAMES, engines, compile_detection)
    assert outcomes
    problems = []
    for outcome in outcomes:
        if outcome.reference_error:
            problems.append(f"{outcome.test.name}: reference: {outcome.reference_error}")
        for target, (verdict, detail) in outcome.targets.items():
            if _expected_message(rule, target) is not None:
                expected = UNSUPPORTED
            elif (rule, target) in NOT_EXECUTABLE:
                expected = UNAVAILABLE
                assert "ipv4_is_in_any_range" in detail, detail
            else:
                expected = AGREES
            if verdict != expected:
                problems.append(f"{outcome.test.name}: {target}: {verdict} {detail}")
    assert problems == []


# -- the constructs ---------------------------------------------------------------------------------


def test_each_target_writes_the_documented_construct(site) -> None:  # type: ignore[no-untyped-def]
    expected = {
        "list_cased": {
            "aql": "REFERENCESETCONTAINS('backup_accounts', \"Username\")",
            "yaral": "$e.principal.user.userid in %backup_accounts\n",
            "logscale": 'match(file="backup_accounts.csv", field="UserName", column="value", '
            "ignoreCase=false)",
        },
        "list_regex_i": {
            "yaral": "$e.target.process.command_line in regex %relay_patterns nocase",
            "eql": 'process.command_line regex~ ".*relay-[0-9]+\\\\.example\\\\.(com|net).*"',
        },
        "list_cidr": {
            "kql": 'ipv4_is_in_any_range(LocalIP, toscalar(_GetWatchlist("internal_nets") '
            "| summarize make_list(SearchKey))) == true",
            "spl": "| lookup internal_nets value AS SourceIp OUTPUT value AS siemc_list1\n"
            "| where isnotnull(siemc_list1)",
            "yaral": "$e.principal.ip in cidr %internal_nets",
            # No CrowdStrike artifact shows LocalAddressIP4 on NetworkConnectIP4 (the LogScale data
            # model): the rule reads the Sysmon event.
            "logscale": 'match(file="internal_nets.csv", field="windows.EventData.SourceIp", column="value", '
            "mode=cidr)",
            "eql": '(cidrMatch(source.ip, "10.0.0.0/8") or cidrMatch(source.ip, "192.168.0.0/16"))',
        },
        "list_cidr_negated": {
            # Inside a larger condition, match() sets a flag in a case statement first.
            "logscale": 'case { match(file="internal_nets.csv", field="windows.EventData.SourceIp", '
            'column="value", mode=cidr) | _siemc_list1 := "true"; * | _siemc_list1 := "false" }',
        },
    }
    for rule, texts in expected.items():
        detection = load_rule(SITE / "rules" / f"{rule}.yml", site)
        for target, construct in texts.items():
            assert construct in compile_detection(detection, target), (rule, target)


# -- what no construct can say ------------------------------------------------------------------------


def _rule(tmp_path: Path, selection: str, config: str, logsource: str = "process_creation") -> Path:
    (tmp_path / "siemc.yml").write_text(textwrap.dedent(config), encoding="utf-8")
    rule = tmp_path / "rule.yml"
    rule.write_text(
        f"title: T\nlogsource: {{category: {logsource}, product: windows}}\n"
        f"detection:\n  sel: {selection}\n  condition: sel\n",
        encoding="utf-8",
    )
    return rule


LISTS = """\
    targets:
      sumo: {list_folder: /Library/Users/soc@example.com/lists}
    placeholders:
      users: {list: admin_users, values: [alice, bob]}
      words: {list: words, values: [anydesk]}
      pats: {list: pats, values: ['^a']}
      bare: {list: bare_list}
      empty: {list: empty_list, values: []}
      dotted: {list: admin.users-v2, values: [alice]}
    """


def test_the_all_modifier_is_unsupported_everywhere(tmp_path: Path) -> None:
    # `contains|all` needs every entry to be contained; a list construct tests for any entry.
    rule = _rule(tmp_path, "{CommandLine|expand|contains|all: '%words%'}", LISTS)
    detection = load_rule(rule, load_config(tmp_path / "siemc.yml"))
    for target in TARGET_NAMES:
        with pytest.raises(Unsupported, match="the all modifier needs every entry to match"):
            compile_detection(detection, target)


def test_regex_flags_other_than_i_are_unsupported_everywhere(tmp_path: Path) -> None:
    rule = _rule(tmp_path, "{CommandLine|expand|re|m: '%pats%'}", LISTS)
    detection = load_rule(rule, load_config(tmp_path / "siemc.yml"))
    for target in TARGET_NAMES:
        with pytest.raises(Unsupported, match="the regex flags m cannot be applied to a list's regexes"):
            compile_detection(detection, target)


def test_eql_needs_the_entries(tmp_path: Path) -> None:
    bare = _rule(tmp_path, "{CommandLine|expand: '%bare%'}", LISTS)
    site = load_config(tmp_path / "siemc.yml")
    detection = load_rule(bare, site)
    with pytest.raises(
        Unsupported, match=r"EQL has no list reference: give the list's entries in siemc\.yml"
    ):
        compile_detection(detection, "eql")
    assert "_GetWatchlist" in compile_detection(detection, "kql")  # the SIEM's own list needs no entries
    empty = load_rule(_rule(tmp_path, "{CommandLine|expand: '%empty%'}", LISTS), site)
    with pytest.raises(Unsupported, match="the list has no entries"):
        compile_detection(empty, "eql")


def test_a_yaral_list_id_is_letters_digits_and_underscores(tmp_path: Path) -> None:
    rule = _rule(tmp_path, "{CommandLine|expand: '%dotted%'}", LISTS)
    detection = load_rule(rule, load_config(tmp_path / "siemc.yml"))
    with pytest.raises(Unsupported, match="a reference list ID starts with a letter"):
        compile_detection(detection, "yaral")
    assert '_GetWatchlist("admin.users-v2")' in compile_detection(detection, "kql")


def test_a_yaral_rule_holds_at_most_seven_list_tests(tmp_path: Path) -> None:
    config = "placeholders:\n" + "".join(f"  l{i}: {{list: l{i}}}\n" for i in range(8))
    (tmp_path / "siemc.yml").write_text(config, encoding="utf-8")
    rule = tmp_path / "rule.yml"
    rule.write_text(
        "title: T\nlogsource: {category: process_creation, product: windows}\ndetection:\n"
        + "".join(f"  s{i}: {{User|expand: '%l{i}%'}}\n" for i in range(8))
        + "  condition: 1 of s*\n",
        encoding="utf-8",
    )
    detection = load_rule(rule, load_config(tmp_path / "siemc.yml"))
    with pytest.raises(Unsupported, match="at most 7 `in` reference-list tests"):
        compile_detection(detection, "yaral")


def test_sumo_needs_the_folder_of_its_lookup_tables(tmp_path: Path) -> None:
    config = "placeholders:\n  users: {list: admin_users}\n"
    rule = _rule(tmp_path, "{User|expand: '%users%'}", config)
    detection = load_rule(rule, load_config(tmp_path / "siemc.yml"))
    with pytest.raises(Unsupported, match=r"set targets\.sumo\.list_folder in siemc\.yml"):
        compile_detection(detection, "sumo")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "targets:\n  kql: {list_folder: /Library/x}\n",
            "targets.kql.list_folder: only sumo keeps its lists",
        ),
        ("targets:\n  sumo: {list_folder: Library/x}\n", "targets.sumo.list_folder: expected the Library"),
        ("targets:\n  sumo: {list_folder: /Library/x/}\n", "targets.sumo.list_folder: expected the Library"),
        (
            'targets:\n  sumo: {list_folder: "/Library/a\\"b"}\n',
            "targets.sumo.list_folder: expected the Library",
        ),
    ],
)
def test_a_bad_list_folder_is_a_configuration_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "siemc.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.line == 2
    assert caught.value.message.startswith(message), caught.value.message


def test_a_named_lists_entries_are_plain_text_for_the_reference(tmp_path: Path) -> None:
    # The SIEM's list holds plain values: `adm*` is those four characters, not a pattern.
    config = "placeholders:\n  users: {list: admin_users, values: ['adm*', 'a?c', 'x\\y']}\n"
    rule = _rule(tmp_path, "{CommandLine|expand: '%users%'}", config)
    site = load_config(tmp_path / "siemc.yml")
    evaluator = Evaluator.for_detection(load_rule(rule, site), site.evaluation_values())
    assert evaluator.matches({"CommandLine": "ADM*"})
    assert not evaluator.matches({"CommandLine": "admin"})
    assert evaluator.matches({"CommandLine": "a?c"}) and not evaluator.matches({"CommandLine": "abc"})
    assert evaluator.matches({"CommandLine": "x\\y"})
    # EQL writes them as plain text too: a literal `*` or `?` is matched by an escaped regex.
    eql = compile_detection(load_rule(rule, site), "eql")
    assert (
        'process.command_line regex~ "adm\\\\*" or process.command_line regex~ "a\\\\?c"'
        ' or process.command_line:"x\\\\y"' in eql
    )
