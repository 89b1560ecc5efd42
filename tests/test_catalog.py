"""The remote access tool catalog (detections/catalog/): valid, complete for the seed, lists in sync."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools.rat_catalog.catalog import (
    CATALOG,
    Catalog,
    Tool,
    build_lists,
    render_list,
    validate,
    validate_tool,
)

# The 33 names of the T1219 seed rule (detections/t1219_remote_access_tools.yml).
SEED = [
    "teamviewer.exe",
    "teamviewer_service.exe",
    "anydesk.exe",
    "anydesk_service.exe",
    "screenconnect.exe",
    "screenconnectclient.exe",
    "connectwisecontrol.client.exe",
    "logmein.exe",
    "lmi_rescue.exe",
    "logmeinrescue.exe",
    "ammyyadmin.exe",
    "aa_v3.exe",
    "supremo.exe",
    "supremoservice.exe",
    "rustdesk.exe",
    "splashtop.exe",
    "splashtopremote.exe",
    "ateraagent.exe",
    "ninjaone.exe",
    "ninjaremote.exe",
    "simplehelp.exe",
    "dwrcs.exe",
    "dwrcst.exe",
    "tmate",
    "vnc.exe",
    "tvnserver.exe",
    "vncviewer.exe",
    "uvnc_service.exe",
    "winvnc.exe",
    "remotedesktopmanager.exe",
    "mstsc.exe",
    "chrome_remote_desktop.exe",
    "remote_assistance_host.exe",
]
NOT_SHIPPED = [
    "anydesk_service.exe",
    "ammyyadmin.exe",
    "uvnc_service.exe",
    "screenconnectclient.exe",
    "splashtop.exe",
    "splashtopremote.exe",
    "ninjaone.exe",
    "simplehelp.exe",
    "vnc.exe",
    "chrome_remote_desktop.exe",
]
REAL = {
    "anydesk": ["AnyDesk.exe"],
    "splashtop": ["SRService.exe", "SRServer.exe", "SRManager.exe", "strwinclt.exe"],
    "ninjaone": ["NinjaRMMAgent.exe"],
    "chrome-remote-desktop": ["remoting_host.exe", "remote_assistance_host.exe"],
    "screenconnect": ["ScreenConnect.ClientService.exe", "ScreenConnect.WindowsClient.exe"],
}
MOST_ABUSED = [
    "netsupport-manager",
    "ultraviewer",
    "meshcentral",
    "level",
    "action1",
    "zoho-assist",
    "goto-resolve",
    "remotepc",
    "remote-utilities",
    "tactical-rmm",
    "todesk",
    "sunlogin",
    "radmin",
    "kaseya-vsa",
    "n-able-n-sight",
    "n-able-n-central",
    "n-able-take-control",
    "syncro",
    "quick-assist",
    "anydesk",
    "teamviewer",
    "screenconnect",
    "atera",
    "splashtop",
    "simplehelp",
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def names(tool: Tool) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"windows": set(), "unix": set(), "not_shipped": set()}
    found["windows"] = {b["file"].lower() for b in tool.facts("windows", "binaries")}
    found["unix"] = {
        b["file"].lower() for os_name in ("macos", "linux") for b in tool.facts(os_name, "binaries")
    }
    found["not_shipped"] = {entry["file"].lower() for entry in tool.data.get("not_shipped") or []}
    return found


def test_catalog_is_valid(catalog: Catalog) -> None:
    assert validate(catalog) == []


def test_catalog_holds_at_least_200_remote_access_tools(catalog: Catalog) -> None:
    assert len(catalog.in_scope()) >= 200


def test_committed_lists_are_what_the_generator_writes(catalog: Catalog) -> None:
    lists = build_lists(catalog)
    for entry in lists:
        path = CATALOG / "lists" / entry.name
        assert path.read_text(encoding="utf-8") == render_list(entry), (
            f"run: python -m tools.rat_catalog lists ({path})"
        )
    assert sorted(p.name for p in (CATALOG / "lists").iterdir()) == sorted(entry.name for entry in lists)


def test_every_seed_name_is_in_the_catalog(catalog: Catalog) -> None:
    everywhere: dict[str, list[str]] = {}
    declared = {name for tool in catalog.tools for name in tool.data.get("seed_names") or []}
    for tool in catalog.tools:
        for kind, values in names(tool).items():
            for value in values:
                everywhere.setdefault(value, []).append(f"{tool.id}:{kind}")
    assert [name for name in SEED if name not in everywhere] == []
    assert sorted(declared) == sorted(SEED)


def list_values(name: str) -> set[str]:
    """The values (first column) of a generated list file."""
    lines = (CATALOG / "lists" / name).read_text(encoding="utf-8").splitlines()
    return {line.split("\t")[0] for line in lines if line and not line.startswith("#")}


def test_names_no_release_uses_are_marked_and_listed_only_as_seed_names(catalog: Catalog) -> None:
    marked = {name for tool in catalog.tools for name in names(tool)["not_shipped"]}
    assert set(NOT_SHIPPED) <= marked
    # The seed rule's names stay detected (its tests stay); any other name no release ships is left out.
    assert marked & list_values("rat_file_names.tsv") == marked & set(SEED)


def test_every_seed_name_is_in_the_file_name_list() -> None:
    assert set(SEED) - {"tmate"} <= list_values("rat_file_names.tsv")


def test_the_real_binaries_stand_next_to_the_seed_names(catalog: Catalog) -> None:
    for tool_id, binaries in REAL.items():
        shipped = names(catalog.by_id(tool_id))["windows"]
        assert {b.lower() for b in binaries} <= shipped, tool_id
    anydesk = catalog.by_id("anydesk").facts("windows", "services")
    assert any('AnyDesk.exe" --service' in s.get("image_path", "") for s in anydesk)


def test_tmate_has_no_windows_binary(catalog: Catalog) -> None:
    tmate = names(catalog.by_id("tmate"))
    assert tmate["windows"] == set() and "tmate" in tmate["unix"]


def test_the_tools_most_abused_in_intrusions_are_in_scope(catalog: Catalog) -> None:
    for tool_id in MOST_ABUSED:
        assert catalog.by_id(tool_id).in_scope, tool_id


def test_admin_tools_and_tunnels_are_outside_t1219(catalog: Catalog) -> None:
    for tool_id in ("psexec", "putty", "winscp", "ngrok", "cloudflared", "tailscale", "mstsc"):
        tool = catalog.by_id(tool_id)
        assert not tool.in_scope and tool.data["scope"]["reason"], tool_id


def test_domains_list_has_relays_and_not_corporate_sites(catalog: Catalog) -> None:
    domains = list_values("rat_domains.tsv")
    assert {"supremocontrol.com", "simple-help.com", "*.screenconnect.com"} <= domains
    assert {"anydesk.com", "*.anydesk.com", "teamviewer.com"} <= domains
    assert "connectwise.com" not in domains and "*.connectwise.com" not in domains
    screenconnect = catalog.by_id("screenconnect").data["domains"]
    assert {"domain": "connectwise.com", "role": "corporate_site"}.items() <= next(
        d for d in screenconnect if d["domain"] == "connectwise.com"
    ).items()
    for line in domains:
        assert ":" not in line and "github" not in line and "blob.core.windows.net" not in line


def test_atomic_red_team_tests_name_catalog_tools(catalog: Catalog) -> None:
    tests = catalog.atomic["tests"]
    assert len(tests) == 15
    assert len({t["guid"] for t in tests}) == 15
    for test in tests:
        assert catalog.by_id(test["tool"]).in_scope, test["name"]
        assert test["runs"] or test.get("note"), test["name"]
        if not test["visible_to"]:
            assert test.get("note"), f"{test['name']}: say why no log source sees it"


# ---------------------------------------------------------------------------------------------
# The validator rejects each kind of bad entry.


def _anydesk(catalog: Catalog) -> Tool:
    tool = catalog.by_id("anydesk")
    return Tool(tool.path, copy.deepcopy(tool.data))


def _binary(name: str, **extra: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["windows"]["binaries"].append({"file": name, "src": ["website"], **extra})

    return change


def _domain(domain: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["domains"].append({"domain": domain, "src": ["website"]})

    return change


def _registry(key: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["windows"]["registry"].append({"key": key, "src": ["website"]})

    return change


def _drop_src(data: dict[str, Any]) -> None:
    del data["windows"]["binaries"][0]["src"]


def _unknown_source(data: dict[str, Any]) -> None:
    data["domains"][0]["src"] = ["nowhere"]


def _category(data: dict[str, Any]) -> None:
    data["category"] = "Remote Thing"


def _bad_folder(data: dict[str, Any]) -> None:
    data["windows"]["folders"] = [{"path": "%ProgramFiles%\\AnyDesk\\", "src": ["website"]}]


BAD: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "missing provenance": (_drop_src, "missing provenance"),
    "unknown source": (_unknown_source, "is not in the file's sources"),
    "separator in a file name": (_binary("C:\\Tools\\x.exe"), "path separator"),
    "environment variable in a file name": (_binary("%TEMP%x.exe"), "environment variable"),
    "wildcard in a file name": (_binary("x*.exe"), "wildcard"),
    "domain with a port": (_domain("relay.anydesk.com:443"), "port"),
    "domain with a regex": (_domain("relay-[a-f0-9]{8}.net.anydesk.com"), "regular expression"),
    "IP address": (_domain("192.0.2.10"), "IP address"),
    "user_managed": (_domain("user_managed"), "placeholder"),
    "github.com": (_domain("github.com"), "shared infrastructure"),
    "Azure blob storage": (_domain("*.blob.core.windows.net"), "shared infrastructure"),
    "a tenant on shared storage": (_domain("acme.blob.core.windows.net"), "shared infrastructure"),
    "corporate site without its role": (_domain("connectwise.com"), "corporate web site"),
    "wildcard registrable domain": (_domain("relay.*.com"), "wildcard in its registrable domain"),
    "registry typo": (_registry("KLM\\SOFTWARE\\AnyDesk"), "does not start with a hive"),
    "unmarked generic name": (_binary("setup.exe"), "must be marked generic"),
    "unmarked two-letter name": (_binary("rd.exe"), "must be marked generic"),
    "unknown category": (_category, "unknown category"),
    "folder with an environment variable": (_bad_folder, "no environment variables"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_validator_rejects(catalog: Catalog, case: str) -> None:
    change, message = BAD[case]
    tool = _anydesk(catalog)
    assert validate_tool(tool, catalog.reference) == []
    change(tool.data)
    errors = validate_tool(tool, catalog.reference)
    assert any(message in error for error in errors), errors


def test_validator_accepts_a_generic_name_bound_to_its_folder(catalog: Catalog) -> None:
    tool = _anydesk(catalog)
    _binary("setup.exe", generic=True, folders=["C:\\Program Files (x86)\\AnyDesk\\"])(tool.data)
    assert validate_tool(tool, catalog.reference) == []


def test_validator_rejects_duplicate_tools(catalog: Catalog, tmp_path: Path) -> None:
    twin = _anydesk(catalog)
    twin.path = tmp_path / "anydesk-copy.cyml"
    twin.data["id"] = "anydesk-copy"
    doubled = Catalog([*catalog.tools, twin], catalog.reference)
    errors = validate(doubled)
    assert any("duplicate tool" in error and "AnyDesk" in error for error in errors)
    assert any("duplicate tool: LOLRMM yaml/anydesk.yaml" in error for error in errors)
