"""Load, validate and turn into list files the remote access tool catalog (detections/catalog/).

One YAML file per tool, `detections/catalog/tools/<id>.cyml` (the `.cyml` suffix keeps the catalog out
of `siemc build detections`, which compiles every `.yml`/`.yaml` under the folder). Every fact a tool
file states carries `src`: keys of the file's `sources` map, each a URL or `owner/repo@commit:path`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent.parent
CATALOG = REPO / "detections" / "catalog"
SUFFIX = ".cyml"
IN_SCOPE = "T1219"
# The label columns of every generated list, after the value (siemc.yml placeholders.<name>.labels).
LABELS = ("tool", "category")

TOP_KEYS = (
    "id", "name", "vendor", "category", "scope", "website", "lolrmm", "seed_names", "sources",
    "windows", "macos", "linux", "domains", "not_shipped", "notes",
)  # fmt: skip
REQUIRED = ("id", "name", "vendor", "category", "scope", "sources")
WINDOWS_KEYS = ("binaries", "name_patterns", "folders", "pe", "signers", "services", "files", "registry")
UNIX_KEYS = ("binaries", "folders", "files")
# Each kind of fact: its key fields (the first is the value that identifies it) and optional fields.
FACT_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "binaries": (("file",), ("generic", "folders", "note")),
    "unix_binaries": (("file",), ("path", "note")),
    "name_patterns": (("pattern",), ("note",)),
    "folders": (("path",), ("note",)),
    "pe": ((), ("original_file_name", "product", "company", "description", "note")),
    "signers": (("name",), ("note",)),
    "services": (("name",), ("image_path", "note")),
    "files": (("path",), ("note",)),
    "registry": (("key",), ("note",)),
    "domains": (("domain",), ("role", "note")),
    "not_shipped": (("file", "reason"), ()),
}
WINDOWS_EXECUTABLE = re.compile(r"\.(exe|com|scr)$", re.IGNORECASE)
ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SOURCE_PATTERN = re.compile(r"^(https?://\S+|[\w.-]+/[\w.-]+@[0-9a-f]{40}:\S.*)$")
HIVES = ("HKLM\\", "HKCU\\", "HKU\\", "HKCR\\", "HKCC\\")
WINDOWS_FOLDER = re.compile(r"^([A-Za-z]:|\*)\\([^%<>|\"]*\\)?$")
DOMAIN_LABEL = re.compile(r"^[a-z0-9*]([a-z0-9*-]*[a-z0-9*])?$")
LITERAL_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
# Second-level labels under which registrations happen (example.co.uk): the registrable part of a
# host under one of these is three labels. Only the ones the catalog meets.
MULTI_LABEL_SUFFIXES = frozenset(
    {"co.uk", "com.au", "net.au", "com.br", "com.cn", "net.cn", "co.jp", "co.kr", "com.tr", "co.in", "com.vn"}
)
ROLES = ("corporate_site",)


class CatalogError(Exception):
    """A catalog file breaks a rule: the message names the file and the fact."""


def read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@dataclass(frozen=True)
class Category:
    name: str
    scope: str  # "in" or "out"
    definition: str


@dataclass
class Reference:
    """The catalog's shared data: categories, generic names, shared-infrastructure domains."""

    categories: dict[str, Category]
    generic: dict[str, str]  # lower-case file name -> why benign programs use it
    shared: dict[str, tuple[str, str]]  # domain -> (kind, reason)

    @classmethod
    def load(cls, folder: Path = CATALOG) -> Reference:
        categories = {
            entry["name"]: Category(entry["name"], entry["scope"], entry["definition"])
            for entry in read_yaml(folder / f"categories{SUFFIX}")["categories"]
        }
        generic = {
            entry["file"].lower(): entry["reason"]
            for entry in read_yaml(folder / f"generic-names{SUFFIX}")["generic_names"]
        }
        shared = {
            entry["domain"].lower(): (entry["kind"], entry["reason"])
            for entry in read_yaml(folder / f"shared-domains{SUFFIX}")["domains"]
        }
        return cls(categories, generic, shared)

    def shared_match(self, domain: str) -> tuple[str, str, str] | None:
        """The denylisted domain a domain pattern falls under, with its kind and reason, if any.

        Shared infrastructure denies itself and everything below it (`github.com`,
        `*.blob.core.windows.net`, `acme.blob.core.windows.net`): its hosts serve many owners. A
        corporate site denies itself and patterns reaching over it (`connectwise.com`,
        `*.connectwise.com`); a host with its own label below it (`control.connectwise.com`) is fine.
        """
        labels = domain.lower().split(".")
        tail = labels  # the labels right of the rightmost label holding a wildcard
        for index in range(len(labels) - 1, -1, -1):
            if "*" in labels[index]:
                tail = labels[index + 1 :]
                break
        text = ".".join(labels)
        tail_text = ".".join(tail)
        for denied, (kind, reason) in self.shared.items():
            if kind == "shared_infrastructure" and (text == denied or text.endswith("." + denied)):
                return denied, kind, reason
            if tail_text == denied or denied.endswith("." + tail_text):
                return denied, kind, reason
        return None


@dataclass
class Tool:
    path: Path
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data.get("id", ""))

    @property
    def in_scope(self) -> bool:
        return self.data.get("scope") == IN_SCOPE

    @property
    def name(self) -> str:
        return str(self.data.get("name", self.id))

    @property
    def category(self) -> str:
        return str(self.data.get("category", ""))

    def section(self, os_name: str) -> dict[str, Any]:
        value = self.data.get(os_name) or {}
        return value if isinstance(value, dict) else {}

    def facts(self, os_name: str, kind: str) -> list[dict[str, Any]]:
        return list(self.section(os_name).get(kind) or [])


@dataclass
class Catalog:
    tools: list[Tool]
    reference: Reference
    folder: Path = CATALOG
    atomic: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path = CATALOG) -> Catalog:
        tools = [Tool(path, read_yaml(path) or {}) for path in sorted((folder / "tools").glob(f"*{SUFFIX}"))]
        atomic_path = folder / f"atomic-t1219{SUFFIX}"
        atomic = read_yaml(atomic_path) if atomic_path.exists() else {}
        return cls(tools, Reference.load(folder), folder, atomic)

    def in_scope(self) -> list[Tool]:
        return [tool for tool in self.tools if tool.in_scope]

    def by_id(self, tool_id: str) -> Tool:
        for tool in self.tools:
            if tool.id == tool_id:
                return tool
        raise KeyError(tool_id)


# ---------------------------------------------------------------------------------------------
# Validation


def domain_problem(domain: str, reference: Reference, role: str | None = None) -> str | None:
    """Why a domain pattern cannot be a catalog domain, or None."""
    if domain != domain.strip() or not domain:
        return "empty or padded"
    if ":" in domain or "/" in domain:
        return "holds a port, a scheme or a path"
    if any(char in domain for char in "[](){}\\+?^$|"):
        return "is a regular expression, not a host name pattern"
    if domain.lower() == "user_managed" or "<" in domain:
        return "is a placeholder, not a domain"
    bare = domain.replace("*", "0")
    try:
        ipaddress.ip_address(bare)
        return "is an IP address"
    except ValueError:
        pass
    if domain != domain.lower():
        return "is not lower-case"
    labels = domain.split(".")
    if len(labels) < 2 or not all(DOMAIN_LABEL.match(label) for label in labels):
        return "is not a host name pattern (labels of letters, digits, '-' and '*')"
    if not re.match(r"^[a-z]{2,}$", labels[-1]):
        return "has no top-level domain"
    registrable = 3 if ".".join(labels[-2:]) in MULTI_LABEL_SUFFIXES else 2
    if len(labels) < registrable or not all(LITERAL_LABEL.match(label) for label in labels[-registrable:]):
        return "has a wildcard in its registrable domain"
    match = reference.shared_match(domain)
    if match is not None:
        denied, kind, reason = match
        if kind == "shared_infrastructure":
            return f"is shared infrastructure ({denied}: {reason})"
        if role != "corporate_site":
            return f"is a corporate web site ({denied}: {reason}): give it role: corporate_site"
    return None


def file_name_problem(name: str) -> str | None:
    if not isinstance(name, str) or not name.strip():
        return "empty"
    if name != name.strip():
        return "padded with spaces"
    if "\\" in name or "/" in name:
        return "holds a path separator (the catalog stores file names; folders go in `folders`)"
    if "%" in name:
        return "holds an environment variable"
    if any(char in name for char in '*?<>|"'):
        return "holds a wildcard or a character file names cannot have (patterns go in `name_patterns`)"
    return None


def _check_fact(tool: Tool, where: str, fact: Any, kind: str, errors: list[str]) -> None:
    required, optional = FACT_FIELDS[kind]
    label = f"{tool.path.name}: {where}"
    if not isinstance(fact, dict):
        errors.append(f"{label}: a fact must be a mapping")
        return
    unknown = set(fact) - set(required) - set(optional) - {"src"}
    if unknown:
        errors.append(f"{label}: unknown field(s) {sorted(unknown)}")
    for name in required:
        if not fact.get(name):
            errors.append(f"{label}: missing {name}")
    if kind == "pe" and not any(fact.get(name) for name in optional if name != "note"):
        errors.append(f"{label}: a PE metadata fact names none of its fields")
    sources = tool.data.get("sources") or {}
    src = fact.get("src")
    if not src or not isinstance(src, list):
        errors.append(f"{label}: missing provenance (src)")
    else:
        for key in src:
            if key not in sources:
                errors.append(f"{label}: src {key!r} is not in the file's sources")


def validate_tool(tool: Tool, reference: Reference) -> list[str]:
    errors: list[str] = []
    data = tool.data
    name = tool.path.name
    for key in REQUIRED:
        if not data.get(key):
            errors.append(f"{name}: missing {key}")
    for key in data:
        if key not in TOP_KEYS:
            errors.append(f"{name}: unknown key {key!r}")
    if tool.id and (not ID_PATTERN.match(tool.id) or tool.path.name != f"{tool.id}{SUFFIX}"):
        errors.append(f"{name}: id {tool.id!r} must be lower-case words joined by '-' and name the file")
    sources = data.get("sources") or {}
    if not isinstance(sources, dict):
        errors.append(f"{name}: sources must map keys to URLs or owner/repo@commit:path")
        sources = {}
    for key, value in sources.items():
        if not isinstance(value, str) or not SOURCE_PATTERN.match(value):
            errors.append(f"{name}: source {key!r} is neither a URL nor owner/repo@<40-hex commit>:path")
    vendor = data.get("vendor")
    if not isinstance(vendor, dict) or not vendor.get("name"):
        errors.append(f"{name}: vendor must be {{name: ..., src: [...]}}")
    else:
        _check_fact(tool, "vendor", {"name": vendor["name"], "src": vendor.get("src")}, "signers", errors)
    scope = data.get("scope")
    category = reference.categories.get(str(data.get("category")))
    if category is None:
        errors.append(f"{name}: unknown category {data.get('category')!r}")
    if scope != IN_SCOPE:
        if not (isinstance(scope, dict) and scope.get("technique") and scope.get("reason")):
            errors.append(f"{name}: scope must be {IN_SCOPE} or {{technique: ..., reason: ...}}")
        elif category is not None and category.scope != "out":
            errors.append(f"{name}: category {category.name!r} is for remote access tools ({IN_SCOPE})")
    elif category is not None and category.scope != "in":
        errors.append(f"{name}: category {category.name!r} is outside {IN_SCOPE}; give the scope's technique")

    for section in ("windows", "macos", "linux"):
        value = data.get(section)
        if value is None:
            continue
        allowed = WINDOWS_KEYS if section == "windows" else UNIX_KEYS
        if not isinstance(value, dict) or set(value) - set(allowed):
            errors.append(f"{name}: {section} holds only {', '.join(allowed)}")
            continue
        for kind, facts in value.items():
            fact_kind = "unix_binaries" if kind == "binaries" and section != "windows" else kind
            for index, fact in enumerate(facts or []):
                _check_fact(tool, f"{section}.{kind}[{index}]", fact, fact_kind, errors)
    for index, fact in enumerate(data.get("domains") or []):
        _check_fact(tool, f"domains[{index}]", fact, "domains", errors)
    for index, fact in enumerate(data.get("not_shipped") or []):
        _check_fact(tool, f"not_shipped[{index}]", fact, "not_shipped", errors)
    if errors:
        return errors

    windows = tool.section("windows")
    has_binding = bool(windows.get("folders") or windows.get("pe") or windows.get("signers"))
    for index, binary in enumerate(windows.get("binaries") or []):
        where = f"{name}: windows.binaries[{index}] {binary['file']!r}"
        problem = file_name_problem(binary["file"])
        if problem:
            errors.append(f"{where}: {problem}")
            continue
        if not WINDOWS_EXECUTABLE.search(binary["file"]):
            errors.append(f"{where}: a Windows binary ends in .exe, .com or .scr")
        stem = binary["file"].rsplit(".", 1)[0]
        generic_reason = reference.generic.get(binary["file"].lower())
        if (generic_reason or len(stem) <= 2) and binary.get("generic") is not True:
            errors.append(f"{where}: a name benign programs also use must be marked generic: true")
        if binary.get("generic") is True and not (binary.get("folders") or has_binding):
            errors.append(f"{where}: a generic name needs the tool's folders, PE metadata or signer")
        for folder in binary.get("folders") or []:
            if not WINDOWS_FOLDER.match(folder):
                errors.append(f"{where}: folder {folder!r} is not an absolute Windows folder ending in '\\'")
    for index, pattern in enumerate(windows.get("name_patterns") or []):
        text = pattern["pattern"]
        if "\\" in text or "/" in text or "%" in text or "*" not in text:
            errors.append(f"{name}: windows.name_patterns[{index}] {text!r} must be a file name with a '*'")
    for index, folder in enumerate(windows.get("folders") or []):
        if not WINDOWS_FOLDER.match(folder["path"]):
            errors.append(
                f"{name}: windows.folders[{index}] {folder['path']!r} is not an absolute Windows folder "
                "ending in '\\' (no environment variables)"
            )
    for index, service in enumerate(windows.get("services") or []):
        if "%" in service["name"] or "\\" in service["name"]:
            errors.append(f"{name}: windows.services[{index}] {service['name']!r} is not a service name")
    for index, entry in enumerate(windows.get("registry") or []):
        if not entry["key"].startswith(HIVES):
            errors.append(
                f"{name}: windows.registry[{index}] {entry['key']!r} does not start with a hive "
                f"({', '.join(h.rstrip(chr(92)) for h in HIVES)})"
            )
    for index, entry in enumerate(windows.get("files") or []):
        if not WINDOWS_FOLDER.match(entry["path"].rsplit("\\", 1)[0] + "\\") or "%" in entry["path"]:
            errors.append(f"{name}: windows.files[{index}] {entry['path']!r} is not an absolute path")
    for index, entry in enumerate(windows.get("pe") or []):
        original = entry.get("original_file_name")
        if original and file_name_problem(original):
            errors.append(
                f"{name}: windows.pe[{index}] original_file_name {original!r}: {file_name_problem(original)}"
            )
    for section in ("macos", "linux"):
        for index, binary in enumerate(tool.facts(section, "binaries")):
            problem = file_name_problem(binary["file"])
            if problem:
                errors.append(f"{name}: {section}.binaries[{index}] {binary['file']!r}: {problem}")
    for index, entry in enumerate(data.get("domains") or []):
        if entry.get("role") is not None and entry["role"] not in ROLES:
            errors.append(f"{name}: domains[{index}] role must be one of {ROLES}")
        problem = domain_problem(entry["domain"], reference, entry.get("role"))
        if problem:
            errors.append(f"{name}: domains[{index}] {entry['domain']!r} {problem}")
    shipped = {b["file"].lower() for b in windows.get("binaries") or []}
    for index, entry in enumerate(data.get("not_shipped") or []):
        if entry["file"].lower() in shipped:
            errors.append(f"{name}: not_shipped[{index}] {entry['file']!r} is also listed as a binary")
    for kind in ("binaries", "folders", "services", "registry", "files", "name_patterns", "signers"):
        key = FACT_FIELDS[kind][0][0]
        seen: set[str] = set()
        for entry in windows.get(kind) or []:
            value = str(entry[key]).lower()
            if value in seen:
                errors.append(f"{name}: windows.{kind} lists {entry[key]!r} twice")
            seen.add(value)
    seen_domains: set[str] = set()
    for entry in data.get("domains") or []:
        if entry["domain"] in seen_domains:
            errors.append(f"{name}: domains lists {entry['domain']!r} twice")
        seen_domains.add(entry["domain"])
    return errors


def validate(catalog: Catalog) -> list[str]:
    """Every rule the catalog breaks, one line each (empty when it is valid)."""
    errors: list[str] = []
    names: dict[str, str] = {}
    lolrmm_files: dict[str, str] = {}
    for tool in catalog.tools:
        errors.extend(validate_tool(tool, catalog.reference))
        key = str(tool.data.get("name", "")).strip().lower()
        if key in names:
            errors.append(f"{tool.path.name}: duplicate tool: {tool.data.get('name')!r} is also {names[key]}")
        names[key] = tool.path.name
        for path in tool.data.get("lolrmm") or []:
            if path in lolrmm_files:
                errors.append(f"{tool.path.name}: duplicate tool: LOLRMM {path} is also {lolrmm_files[path]}")
            lolrmm_files[path] = tool.path.name
    for generic_name in catalog.reference.generic:
        if file_name_problem(generic_name):
            errors.append(f"generic-names{SUFFIX}: {generic_name!r}: {file_name_problem(generic_name)}")
    return errors


# ---------------------------------------------------------------------------------------------
# Generated lists


@dataclass(frozen=True)
class ListFile:
    """A generated list: one row a line, the value then its labels (TAB-separated)."""

    name: str
    description: str
    rows: tuple[tuple[str, ...], ...]
    columns: tuple[str, ...] = LABELS

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(row[0] for row in self.rows)


def sigma_path(path: str) -> str:
    """A Windows path as Sigma text: a separator before a wildcard is written `\\\\` (Sigma reads `\\*`
    as a literal star), so `C:\\Users\\*\\AppData` keeps its wildcard."""
    return re.sub(r"\\(?=[*?\\])", r"\\\\", path)


def _rows(entries: Iterable[tuple[str, Tool]]) -> tuple[tuple[str, ...], ...]:
    """One row per distinct value (lower-case: Sigma matches case-insensitively), labelled with the
    first tool (in catalog order) that has it, sorted by value."""
    found: dict[str, tuple[str, ...]] = {}
    for value, tool in entries:
        found.setdefault(value.lower(), (value.lower(), tool.name, tool.category))
    return tuple(found[key] for key in sorted(found))


def _windows_binaries(tools: Iterable[Tool], generic: bool) -> Iterator[tuple[Tool, dict[str, Any]]]:
    for tool in tools:
        for binary in tool.facts("windows", "binaries"):
            if bool(binary.get("generic")) == generic:
                yield tool, binary


def generic_paths(tool: Tool, binary: dict[str, Any]) -> list[str]:
    folders = binary.get("folders") or [entry["path"] for entry in tool.facts("windows", "folders")]
    return [folder + binary["file"] for folder in folders]


# Folders every program writes below: an artefact path needs a folder of its own beneath them.
COMMON_FOLDERS = re.compile(
    r"^c:\\(?:(?:program files(?: \(x86\))?|program files\*|programdata"
    r"|windows(?:\\system32|\\syswow64|\\temp)?"
    r"|users\\\*(?:\\appdata(?:\\local(?:\\temp)?|\\roaming|\\locallow)?|\\desktop|\\documents|\\downloads)?"
    r"|temp)\\)?[^\\]*$"
)


def artefact_problem(path: str) -> str | None:
    """Why a catalog file path is no artefact a rule can match alone, or None."""
    lowered = path.lower()
    if not re.match(r"^[a-z]:\\", lowered):
        return "not an absolute path"
    if COMMON_FOLDERS.match(lowered):
        return "directly in a folder every program writes to"
    return None


def _name_pattern_rows(tools: Iterable[Tool], generic: Mapping[str, str]) -> Iterator[tuple[str, Tool]]:
    """Versioned installer names: only those whose literal text names the tool (not `*.exe`)."""
    for tool in tools:
        for entry in tool.facts("windows", "name_patterns"):
            pattern = entry["pattern"]
            literal = pattern.replace("*", "").lower().removesuffix(".exe")
            if len(literal) >= 4 and pattern.lower() not in generic:
                yield pattern, tool


def _domain_rows(tools: Iterable[Tool]) -> Iterator[tuple[str, Tool]]:
    """Each domain pattern; a `*.example.com` also gives `example.com` itself (the same service's
    apex), unless the catalog calls that name a corporate web site."""
    corporate = {
        entry["domain"].lower()
        for tool in tools
        for entry in tool.data.get("domains") or []
        if entry.get("role")
    }
    for tool in tools:
        for entry in tool.data.get("domains") or []:
            if entry.get("role") == "corporate_site":
                continue
            domain = entry["domain"]
            yield domain, tool
            apex = domain[2:] if domain.startswith("*.") else None
            if apex and "*" not in apex and apex.lower() not in corporate:
                yield apex, tool


def build_lists(catalog: Catalog) -> list[ListFile]:
    tools = catalog.in_scope()
    generic = catalog.reference.generic
    out_of_scope = [tool for tool in catalog.tools if not tool.in_scope]
    seed_names = [(name, tool) for tool in catalog.tools for name in tool.data.get("seed_names") or []]
    return [
        ListFile(
            "rat_file_names.tsv",
            "Windows file names of remote access tools (not generic), and every name of the T1219 seed rule "
            "(some no release ships, two of tools outside T1219: see each tool's not_shipped and scope): "
            "test them as the file name, ImageName or after a path separator",
            _rows(
                [(binary["file"], tool) for tool, binary in _windows_binaries(tools, generic=False)]
                + [(name, tool) for name, tool in seed_names if "/" not in name]
            ),
        ),
        ListFile(
            "rat_name_patterns.tsv",
            "Versioned installer and portable file names of remote access tools ('*' is a wildcard): "
            "test them as the file name",
            _rows(_name_pattern_rows(tools, generic)),
        ),
        ListFile(
            "rat_generic_file_paths.tsv",
            "Generic file names (benign programs use them) with their tool's folder: match the whole path "
            "(Sigma text: '*' is a wildcard, '\\\\' a separator before one)",
            _rows(
                (sigma_path(path), tool)
                for tool, binary in _windows_binaries(tools, generic=True)
                for path in generic_paths(tool, binary)
            ),
        ),
        ListFile(
            "rat_original_file_names.tsv",
            "PE OriginalFileName values of remote access tools (generic names left out)",
            _rows(
                (entry["original_file_name"], tool)
                for tool in tools
                for entry in tool.facts("windows", "pe")
                if entry.get("original_file_name") and entry["original_file_name"].lower() not in generic
            ),
        ),
        ListFile(
            "rat_service_names.tsv",
            "Windows service names remote access tools install",
            _rows((entry["name"], tool) for tool in tools for entry in tool.facts("windows", "services")),
        ),
        ListFile(
            "rat_domains.tsv",
            "Relay, control and download domains of remote access tools, and the apex of each '*.' domain "
            "(corporate web sites left out); '*' is a wildcard",
            _rows(_domain_rows(tools)),
        ),
        ListFile(
            "rat_artefact_files.tsv",
            "Files a remote access tool writes when installed or running, as Sysmon records the path "
            "(Sigma text: '*' is a wildcard, '\\\\' a separator before one; paths directly in a common "
            "folder left out)",
            _rows(
                # A folder (trailing separator) stands for any file written in it.
                (sigma_path(entry["path"] + ("*" if entry["path"].endswith("\\") else "")), tool)
                for tool in tools
                for entry in tool.facts("windows", "files")
                if artefact_problem(entry["path"]) is None
            ),
        ),
        ListFile(
            "rat_unix_file_names.tsv",
            "macOS and Linux file names of remote access tools",
            _rows(
                (b["file"], tool)
                for tool in tools
                for os_name in ("macos", "linux")
                for b in tool.facts(os_name, "binaries")
            ),
        ),
        ListFile(
            "adjacent_file_names.tsv",
            "Windows file names of tools outside T1219 the catalog keeps (RDP clients, connection managers, "
            "admin tools, tunnels, file sync): other techniques' rules",
            _rows((binary["file"], tool) for tool, binary in _windows_binaries(out_of_scope, generic=False)),
        ),
    ]


LIST_COMMAND = "python -m tools.rat_catalog lists"


def render_list(entry: ListFile) -> str:
    header = [
        f"# {entry.name}: generated from the remote access tool catalog (detections/catalog/tools/*.cyml)",
        f"# by `{LIST_COMMAND}` (make catalog-lists); do not edit: change the catalog and regenerate.",
        f"# {entry.description}.",
        f"# {len(entry.rows)} rows, one a line: {', '.join(('value', *entry.columns))}, TAB-separated; "
        "values lower-case (Sigma matches case-insensitively).",
    ]
    return "\n".join([*header, *("\t".join(row) for row in entry.rows)]) + "\n"


def write_lists(catalog: Catalog, folder: Path | None = None) -> list[Path]:
    target = folder or catalog.folder / "lists"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in build_lists(catalog):
        path = target / entry.name
        path.write_text(render_list(entry), encoding="utf-8")
        written.append(path)
    return written
