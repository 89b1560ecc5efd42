"""Import LOLRMM (magicsword-io/LOLRMM, Apache-2.0) into the catalog, cleaning what it gets wrong.

    python -m tools.rat_catalog import-lolrmm PATH/TO/LOLRMM [--commit SHA]

PATH is a local checkout (or an exported snapshot with --commit). Each LOLRMM file `yaml/<stem>.yaml`
belongs to the tool file whose `lolrmm:` names it, else to a new tool file `<stem>.cyml` whose
category says `unreviewed` (the validator rejects it until a person sets category, vendor and scope).
A re-run replaces every fact whose source is LOLRMM and keeps every other fact, the tool's name,
vendor, category and scope: facts from vendor documentation or Atomic Red Team survive re-imports.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .catalog import (
    CATALOG,
    FACT_FIELDS,
    SUFFIX,
    WINDOWS_EXECUTABLE,
    Reference,
    domain_problem,
    file_name_problem,
    read_yaml,
)
from .writer import dump_tool

LOLRMM_REPO = "magicsword-io/LOLRMM"
ENVIRONMENT = {
    "programdata": "C:\\ProgramData",
    "allusersprofile": "C:\\ProgramData",
    "appdata": "C:\\Users\\*\\AppData\\Roaming",
    "localappdata": "C:\\Users\\*\\AppData\\Local",
    "userprofile": "C:\\Users\\*",
    "temp": "C:\\Users\\*\\AppData\\Local\\Temp",
    "tmp": "C:\\Users\\*\\AppData\\Local\\Temp",
    "programfiles": "C:\\Program Files",
    "programw6432": "C:\\Program Files",
    "programfiles(x86)": "C:\\Program Files (x86)",
    "commonprogramfiles": "C:\\Program Files\\Common Files",
    "windir": "C:\\Windows",
    "systemroot": "C:\\Windows",
    "systemdrive": "C:",
    "public": "C:\\Users\\Public",
}
LONG_HIVES = {
    "HKEY_LOCAL_MACHINE": "HKLM",
    "HKEY_CURRENT_USER": "HKCU",
    "HKEY_USERS": "HKU",
    "HKEY_CLASSES_ROOT": "HKCR",
    "HKEY_CURRENT_CONFIG": "HKCC",
}
HIVE_TYPOS = {"KLM": "HKLM", "HKLM:": "HKLM", "HKCU:": "HKCU"}
# Words every company name has: a signer sharing only these with a tool says nothing about it.
COMPANY_WORDS = frozenset(
    [
        "corporation",
        "corp",
        "company",
        "limited",
        "ltd",
        "inc",
        "llc",
        "gmbh",
        "software",
        "technologies",
        "technology",
        "solutions",
        "systems",
        "group",
        "holdings",
        "international",
        "network",
        "networks",
        "information",
        "the",
        "and",
        "private",
        "public",
        "security",
        "code",
        "signing",
        "digital",
        "services",
        "service",
    ]
)
UNIX_EXTENSIONLESS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
REGEX_CLASS = re.compile(r"\[[^\]]*\](\{\d+(,\d*)?\}|[+*])?")


@dataclass
class Report:
    """What the import changed, per kind, with a few examples of each (measured on the real data)."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, example: str = "", amount: int = 1) -> None:
        self.counts[kind] += amount
        if example:
            bucket = self.examples.setdefault(kind, [])
            if len(bucket) < 4 and example not in bucket:
                bucket.append(example)

    def render(self, header: Iterable[str]) -> str:
        lines = [*header, ""]
        for kind in sorted(self.counts):
            examples = "; ".join(self.examples.get(kind, []))
            lines.append(f"{self.counts[kind]:6d}  {kind}" + (f"  (e.g. {examples})" if examples else ""))
        return "\n".join(lines) + "\n"


@dataclass
class Facts:
    """The cleaned facts of one LOLRMM file, in the catalog's shape."""

    windows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    macos: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    linux: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    domains: list[dict[str, Any]] = field(default_factory=list)

    def add(self, section: str, kind: str, fact: dict[str, Any]) -> None:
        target = self.domains if section == "domains" else getattr(self, section).setdefault(kind, [])
        target.append(fact)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def expand_environment(path: str, report: Report) -> str | None:
    """`%APPDATA%\\X` -> `C:\\Users\\*\\AppData\\Roaming\\X`; None for a variable with no fixed place."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).lower()
        if name not in ENVIRONMENT:
            raise KeyError(name)
        return ENVIRONMENT[name]

    if "%" not in path:
        return path
    try:
        expanded = re.sub(r"%([A-Za-z0-9_()]+)%", replace, path)
    except KeyError:
        report.add("paths dropped: environment variable with no fixed folder", path)
        return None
    expanded = expanded.replace("%", "")  # a stray '%' (`C:\Program Files (x86)%\mRemoteNG`)
    report.add("environment variables expanded in paths", path)
    return expanded


def normalise_windows_path(raw: str, report: Report) -> str | None:
    path = raw.strip().strip("'\"")
    if "\\\\" in path:
        path = re.sub(r"\\{2,}", r"\\", path)
        report.add("doubled backslashes collapsed in paths", raw)
    expanded = expand_environment(path, report)
    if expanded is None:
        return None
    path = expanded
    placeholder = re.sub(r"<[^>]*>|\((Random|random)\)", "*", path)
    if placeholder != path:
        report.add("placeholder text in paths made a wildcard", raw)
        path = placeholder
    if re.match(r"^\*[^\\]", path):  # `*Windows\System32\mstsc.exe`: the '*' stands for a drive
        path = "*\\" + path[1:]
    if re.match(r"^[a-z]:\\", path):
        path = path[0].upper() + path[1:]
    return path


def split_windows_path(path: str) -> tuple[str, str | None]:
    """A path -> (folder ending in '\\', file name or None when the path names a folder)."""
    if path.endswith("\\*") or path.endswith("\\"):
        return path.rstrip("*").rstrip("\\") + "\\", None
    folder, _, last = path.rpartition("\\")
    if "." in last and not last.endswith(".") and re.search(r"\.[A-Za-z0-9]{1,5}$", last):
        return folder + "\\", last
    return path + "\\", None


def classify_name(name: str, facts: Facts, src: list[str], report: Report, unix: Iterable[str] = ()) -> None:
    """A bare file name from LOLRMM (no folder) into the right kind of fact."""
    if name.lower().endswith(".exee"):
        report.add("file name typos fixed (.exee)", name)
        name = name[:-1]
    if "*" in name or "?" in name or re.search(r"\[[^\]]*\]", name):
        pattern = REGEX_CLASS.sub("*", name)
        if WINDOWS_EXECUTABLE.search(pattern.replace("*", "x")):
            facts.add("windows", "name_patterns", {"pattern": pattern, "src": src})
            report.add("wildcard names kept as name patterns, not file names", name)
        else:
            report.add("names dropped: installer or archive patterns, not executables", name)
        return
    if file_name_problem(name):
        report.add("names dropped: not a file name", name)
        return
    if WINDOWS_EXECUTABLE.search(name):
        facts.add("windows", "binaries", {"file": name, "src": src})
    elif unix and UNIX_EXTENSIONLESS.match(name) and "." not in name:
        for os_name in unix:
            facts.add(os_name, "binaries", {"file": name, "src": src})
    elif " " in name and not re.search(r"\.[A-Za-z0-9]{2,4}$", name):
        report.add("names dropped: prose or notes where a file name belongs", name)
    else:
        report.add("names dropped: not an executable (DLL, MSI, config, shortcut, hash)", name)


def classify_path(entry: str, facts: Facts, src: list[str], report: Report, os_hint: set[str]) -> None:
    """One LOLRMM InstallationPaths or PEMetadata.Filename entry into file names and folders."""
    text = entry.strip()
    if not text:
        return
    if text.startswith(("/", "~/")) or text.endswith(".app"):
        classify_unix_path(text, facts, src, report, os_hint)
        return
    if "\\" not in text and "%" not in text:
        classify_name(text, facts, src, report, sorted(os_hint))
        return
    path = normalise_windows_path(text, report)
    if path is None:
        return
    if not re.match(r"^([A-Za-z]:|\*)\\", path):
        report.add("paths dropped: not absolute", entry)
        return
    folder, name = split_windows_path(path)
    if name is None:
        facts.add("windows", "folders", {"path": folder, "src": src})
        return
    report.add("paths split where a file name belongs (file name + folder)", entry)
    if "*" in name or not WINDOWS_EXECUTABLE.search(name):
        classify_name(name, facts, src, report)
        if folder != "*\\":
            facts.add("windows", "folders", {"path": folder, "src": src})
        return
    binary: dict[str, Any] = {"file": name, "src": src}
    if folder not in ("*\\", "*\\*\\"):
        binary["folders"] = [folder]
    facts.add("windows", "binaries", binary)


def classify_unix_path(text: str, facts: Facts, src: list[str], report: Report, os_hint: set[str]) -> None:
    mac = text.startswith(("/Applications", "/Library", "/System", "~/Library")) or ".app" in text
    targets = ["macos"] if mac else sorted(os_hint & {"linux", "macos"}) or ["linux"]
    last = text.rstrip("/").rsplit("/", 1)[-1]
    is_binary = (
        text.startswith(("/usr/bin/", "/usr/local/bin/", "/usr/sbin/", "/bin/", "/opt/"))
        and "*" not in last
        and "." not in last
        and not text.endswith("/")
    )
    for os_name in targets:
        if is_binary:
            facts.add(os_name, "binaries", {"file": last, "path": text, "src": src})
        else:
            facts.add(
                os_name, "folders" if text.endswith(("/", "/*", ".app")) else "files", _unix_fact(text, src)
            )


def _unix_fact(text: str, src: list[str]) -> dict[str, Any]:
    return {"path": text, "src": src}


def clean_domain(raw: str, reference: Reference, report: Report) -> dict[str, Any] | None:
    text = raw.strip()
    if not text:
        return None
    if text.lower() == "user_managed" or text.startswith("<"):
        report.add("domains dropped: placeholder (user_managed, <operator-configured ...>)", text)
        return None
    if re.match(r"^\d{1,3}(\.\d{1,3}){3}(:\d+)?$", text):
        report.add("domains dropped: IP address", text)
        return None
    if re.search(r":\d+$", text):
        report.add("domains with a port: port removed", text)
        text = re.sub(r":\d+$", "", text)
    if REGEX_CLASS.search(text) or "{" in text:
        converted = REGEX_CLASS.sub("*", text)
        report.add("domains holding a regex: made a wildcard pattern", f"{raw} -> {converted}")
        text = converted
    if text != text.lower():
        report.add("domains lower-cased", text)
        text = text.lower()
    role = None
    problem = domain_problem(text, reference)
    if problem and "corporate web site" in problem:
        role = "corporate_site"
        report.add("domains marked corporate_site (kept out of the domain list)", text)
        problem = domain_problem(text, reference, role)
    if problem:
        kind = "shared infrastructure" if "shared infrastructure" in problem else "invalid host name pattern"
        report.add(f"domains dropped: {kind}", text)
        return None
    fact: dict[str, Any] = {"domain": text}
    if role:
        fact["role"] = role
    return fact


def clean_registry(raw: str, report: Report) -> str | None:
    text = raw.strip()
    hive, _, rest = text.partition("\\")
    if hive.upper() in LONG_HIVES:
        report.add("registry keys with a long hive name shortened", text)
        hive = LONG_HIVES[hive.upper()]
    elif hive in HIVE_TYPOS:
        report.add("registry keys with a typo in the hive fixed", text)
        hive = HIVE_TYPOS[hive]
    if "<" in rest:
        report.add("placeholder text in registry keys made a wildcard", text)
        rest = re.sub(r"<[^>]*>", "*", rest)
    if hive not in ("HKLM", "HKCU", "HKU", "HKCR", "HKCC") or not rest:
        report.add("registry keys dropped: no valid hive", text)
        return None
    return f"{hive}\\{rest}"


def parse_image_path(raw: str) -> str:
    """`"C:\\X\\a.exe" --service` -> `C:\\X\\a.exe`."""
    text = raw.strip()
    if text.startswith('"'):
        return text[1:].split('"', 1)[0]
    match = re.match(r"^(.*?\.(exe|com))\b", text, re.IGNORECASE)
    return match.group(1) if match else text.split(" ")[0]


def tokens(*texts: str) -> set[str]:
    found: set[str] = set()
    for text in texts:
        for word in re.findall(r"[a-z0-9]{4,}", text.lower()):
            if word not in COMPANY_WORDS:
                found.add(word)
    return found


def lolrmm_facts(
    data: dict[str, Any], src: list[str], reference: Reference, report: Report, owner_words: set[str]
) -> Facts:
    facts = Facts()
    details = data.get("Details") or {}
    artifacts = data.get("Artifacts") or {}
    supported = {str(name).lower() for name in details.get("SupportedOS") or []}
    os_hint = {"linux"} if "linux" in supported else set()
    if supported & {"mac", "macos"}:
        os_hint.add("macos")
    pe_entries = details.get("PEMetadata") or []
    if isinstance(pe_entries, dict):
        pe_entries = [pe_entries]
    for entry in pe_entries:
        if not isinstance(entry, dict):
            continue
        if _text(entry.get("Filename")):
            classify_path(_text(entry.get("Filename")), facts, src, report, os_hint)
        pe = {
            "original_file_name": _text(entry.get("OriginalFileName")),
            "product": _text(entry.get("Product")),
            "company": _text(entry.get("Company")),
            "description": _text(entry.get("Description")),
        }
        pe = {key: value for key, value in pe.items() if value}
        if pe.get("original_file_name") and file_name_problem(pe["original_file_name"]):
            report.add("PE OriginalFileName dropped: not a file name", pe.pop("original_file_name"))
        if pe:
            facts.add("windows", "pe", {**pe, "src": src})
    for entry in details.get("InstallationPaths") or []:
        if isinstance(entry, str):
            classify_path(entry, facts, src, report, os_hint)
    for entry in artifacts.get("EventLog") or []:
        if not isinstance(entry, dict) or not _text(entry.get("ServiceName")):
            continue
        service: dict[str, Any] = {"name": _text(entry["ServiceName"]), "src": src}
        image = _text(entry.get("ImagePath"))
        if image:
            if "\\\\" in image:
                report.add("service image paths with doubled backslashes collapsed", image)
                image = re.sub(r"\\{2,}", r"\\", image)
            service["image_path"] = image
            binary_path = normalise_windows_path(parse_image_path(image), report)
            if binary_path and re.match(r"^[A-Za-z]:\\", binary_path):
                folder, name = split_windows_path(binary_path)
                if name and WINDOWS_EXECUTABLE.search(name):
                    facts.add("windows", "binaries", {"file": name, "folders": [folder], "src": src})
        facts.add("windows", "services", service)
    for entry in artifacts.get("Registry") or []:
        key = clean_registry(_text((entry or {}).get("Path")), report) if isinstance(entry, dict) else None
        if key:
            facts.add("windows", "registry", {"key": key, "src": src})
    for entry in artifacts.get("Disk") or []:
        if not isinstance(entry, dict) or not _text(entry.get("File")):
            continue
        path = _text(entry["File"])
        os_name = str(entry.get("OS") or "").lower()
        if path.startswith(("/", "~")) or os_name in ("mac", "linux", "macos"):
            section = "macos" if os_name in ("mac", "macos") or "Library" in path else "linux"
            facts.add(section, "files", {"path": path, "src": src})
            continue
        normalised = normalise_windows_path(path, report)
        if normalised and re.match(r"^([A-Za-z]:|\*)\\", normalised):
            facts.add("windows", "files", {"path": normalised, "src": src})
        elif normalised and "\\" not in normalised:
            report.add("file names listed as artefact files: kept as file names", path)
            classify_name(normalised, facts, src, report)
        elif normalised:
            report.add("artefact files dropped: not an absolute path", path)
    for entry in artifacts.get("Network") or []:
        for raw in (entry or {}).get("Domains") or []:
            fact = clean_domain(str(raw), reference, report)
            if fact:
                facts.domains.append({**fact, "src": src})
    signing = data.get("CodeSigning") or {}
    names = {_text(c.get("signer_name")) for c in signing.get("certificates") or [] if isinstance(c, dict)}
    names |= {_text(name) for name in signing.get("signer_names") or []}
    for signer in sorted(name for name in names if name):
        if tokens(signer) & owner_words:
            facts.add("windows", "signers", {"name": signer, "src": src})
        else:
            report.add("signers dropped: unrelated to the tool (samples LOLRMM matched by file name)", signer)
    return facts


# ---------------------------------------------------------------------------------------------
# Merging into tool files


def _key(kind: str, fact: dict[str, Any]) -> str:
    fields = FACT_FIELDS[kind][0]
    if not fields:  # PE metadata: the whole record
        return repr(sorted((k, str(v).lower()) for k, v in fact.items() if k != "src"))
    return str(fact[fields[0]]).lower()


def merge_facts(kind: str, existing: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for fact in [*existing, *new]:
        key = _key(kind, fact)
        if key not in merged:
            merged[key] = {k: (list(v) if isinstance(v, list) else v) for k, v in fact.items()}
            continue
        target = merged[key]
        for name, value in fact.items():
            if name == "src" or name == "folders":
                target[name] = sorted(set(target.get(name) or []) | set(value))
            elif name not in target:
                target[name] = value
    return sorted(merged.values(), key=lambda fact: _key(kind, fact))


def strip_lolrmm(data: dict[str, Any]) -> None:
    """Remove every LOLRMM source and every fact left without a source."""
    sources = data.get("sources") or {}
    for key in [key for key in sources if key.startswith("lolrmm/")]:
        del sources[key]

    def keep(fact: dict[str, Any]) -> bool:
        fact["src"] = [key for key in fact.get("src") or [] if not key.startswith("lolrmm/")]
        return bool(fact["src"])

    for section in ("windows", "macos", "linux"):
        for kind, facts in list((data.get(section) or {}).items()):
            data[section][kind] = [fact for fact in facts if keep(fact)]
    data["domains"] = [fact for fact in data.get("domains") or [] if keep(fact)]
    vendor = data.get("vendor")
    if isinstance(vendor, dict):
        vendor["src"] = [key for key in vendor.get("src") or [] if not key.startswith("lolrmm/")]


def apply_generic(data: dict[str, Any], reference: Reference, report: Report) -> None:
    shipped_not = {entry["file"].lower() for entry in data.get("not_shipped") or []}
    windows = data.get("windows") or {}
    bound = bool(windows.get("folders") or windows.get("pe") or windows.get("signers"))
    binaries = []
    for binary in windows.get("binaries") or []:
        name = binary["file"].lower()
        if name in shipped_not:
            report.add("names LOLRMM lists that no release ships (kept under not_shipped)", binary["file"])
            continue
        if name in reference.generic or len(name.rsplit(".", 1)[0]) <= 2:
            if not binary.get("generic"):
                report.add(
                    "generic names marked (match only with folder, PE metadata or signer)", binary["file"]
                )
            binary["generic"] = True
            if not (bound or binary.get("folders")):
                report.add(
                    "generic names dropped: no folder, PE metadata or signer to bind them", binary["file"]
                )
                continue
        binaries.append(binary)
    if data.get("windows"):
        data["windows"]["binaries"] = binaries


def import_lolrmm(checkout: Path, commit: str | None = None, catalog: Path = CATALOG) -> Report:
    commit = (
        commit
        or subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise SystemExit(f"not a commit: {commit!r}")
    reference = Reference.load(catalog)
    report = Report()
    tools_folder = catalog / "tools"
    tools_folder.mkdir(parents=True, exist_ok=True)
    owners: dict[str, Path] = {}
    existing: dict[Path, dict[str, Any]] = {}
    for path in sorted(tools_folder.glob(f"*{SUFFIX}")):
        data = read_yaml(path) or {}
        existing[path] = data
        for name in data.get("lolrmm") or []:
            owners[name] = path
    files = sorted(p for p in (checkout / "yaml").iterdir() if p.suffix in (".yaml", ".yml"))
    grouped: dict[Path, list[Path]] = {}
    for file in files:
        relative = f"yaml/{file.name}"
        path = owners.get(relative) or tools_folder / f"{slug(file.stem)}{SUFFIX}"
        grouped.setdefault(path, []).append(file)
    report.add("LOLRMM files read", amount=len(files))
    report.add("LOLRMM files merged into another file's tool (duplicates)", amount=len(files) - len(grouped))
    measure_lolrmm_rules(checkout, report)

    for path, lolrmm_files in sorted(grouped.items()):
        data = existing.get(path) or new_tool(path, lolrmm_files[0])
        strip_lolrmm(data)
        data["lolrmm"] = sorted(f"yaml/{file.name}" for file in lolrmm_files)
        sources = data.setdefault("sources", {})
        for file in lolrmm_files:
            raw = read_yaml(file) or {}
            key = f"lolrmm/{file.stem}"
            sources[key] = f"{LOLRMM_REPO}@{commit}:yaml/{file.name}"
            website = _text((raw.get("Details") or {}).get("Website"))
            if website and not data.get("website"):
                data["website"] = website
            vendor = data.get("vendor") or {}
            owner_words = tokens(str(data.get("name", "")), str(vendor.get("name", "")), data["id"], website)
            facts = lolrmm_facts(raw, [key], reference, report, owner_words)
            for section in ("windows", "macos", "linux"):
                for kind, values in getattr(facts, section).items():
                    fact_kind = "unix_binaries" if section != "windows" and kind == "binaries" else kind
                    target = data.setdefault(section, {})
                    target[kind] = merge_facts(fact_kind, target.get(kind) or [], values)
            data["domains"] = merge_facts("domains", data.get("domains") or [], facts.domains)
            if vendor and not vendor.get("src"):
                vendor["src"] = [key]
        apply_generic(data, reference, report)
        prune_empty(data)
        path.write_text(dump_tool(data), encoding="utf-8")
    return report


def slug(stem: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")


def new_tool(path: Path, file: Path) -> dict[str, Any]:
    raw = read_yaml(file) or {}
    return {
        "id": path.name[: -len(SUFFIX)],
        "name": _text(raw.get("Name")) or file.stem,
        "vendor": {"name": "unreviewed", "src": []},
        "category": "unreviewed",
        "scope": "unreviewed",
        "sources": {},
    }


def prune_empty(data: dict[str, Any]) -> None:
    for section in ("windows", "macos", "linux"):
        value = {kind: facts for kind, facts in (data.get(section) or {}).items() if facts}
        if value:
            data[section] = value
        else:
            data.pop(section, None)
    if not data.get("domains"):
        data.pop("domains", None)


def measure_lolrmm_rules(checkout: Path, report: Report) -> None:
    """LOLRMM's own process rules: values that `endswith` a name with no path separator before it."""
    for rule in sorted((checkout / "detections" / "sigma").glob("*_processes_sigma.yml")):
        detection = (yaml.safe_load(rule.read_text(encoding="utf-8")) or {}).get("detection") or {}
        values: list[str] = []
        for selection in detection.values():
            if isinstance(selection, dict):
                for name, items in selection.items():
                    if "endswith" in name:
                        values.extend(str(v) for v in (items if isinstance(items, list) else [items]))
        bare = [value for value in values if not value.startswith("\\") and "\\" not in value]
        if bare:
            report.add("LOLRMM process rules testing a name with no path separator", rule.name)
            report.add("LOLRMM process rule values without a path separator", bare[0], amount=len(bare))
        report.add("LOLRMM process rule values (endswith)", amount=len(values))


def report_header(checkout: Path, commit: str | None) -> list[str]:
    commit = (
        commit
        or subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    return [
        f"# What the LOLRMM import cleaned, measured on {LOLRMM_REPO}@{commit}.",
        "# Generated by `python -m tools.rat_catalog import-lolrmm <checkout>`: counts, with examples.",
    ]
