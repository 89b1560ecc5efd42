"""`siemc diff [BASE] [HEAD] [PATH...]`: what a change does to the generated queries, output by output.

The rules at two revisions are compiled (BASE: by default the merge base of HEAD with the default
branch; HEAD: by default the working tree, uncommitted changes included) and each rule's output on
each target is compared. A revision is read from git objects into the cache folder, never through
the working tree or the index, and is compiled from its own top folder with its own `siemc.yml`, so
an unchanged rule gives the same text, and a cache hit, on both sides.

Kinds of change, per rule and target (the JSON `kind`, and what the text formats print):

    changed             a query at both revisions, with different text
    added               a query at HEAD; no rule (or the rule's siemc.targets left the target out) at BASE
    removed             a query at BASE; no rule (or the target left out) at HEAD
    newly_unsupported   a query at BASE; unsupported at HEAD
    newly_converted     unsupported or failed at BASE; a query at HEAD
    newly_failed        failed at HEAD (a rule or compile error); converted, unsupported or absent at BASE
    status_changed      a query at neither revision, and the status or its reason changed

The JSON format (`--format json`, keys sorted, `format` "siemc-diff/1"):

    {"format": "siemc-diff/1",
     "base": REVISION, "head": REVISION,
     "paths": [rule paths, relative to the repository's top folder], "targets": [...],
     "summary": {"outputs": N, "rules": N, "kinds": {KIND: N, ... every kind}},
     "changes": [CHANGE, ... by rule path, then target in `siemc targets` order],
     "notes": [...]}
    REVISION = {"revision": the revision as given ("main"; the merge base's short id when BASE is
                            not given), null for the working tree,
                "commit": SHA or null, "label": "main (1a2b3c4d5e6f)",
                "toolchain": "current" (this siemc) or "revision" (the revision's own, --toolchain-too),
                "config": the site configuration used ("main:siemc.yml", "siemc.yml" in the working
                          tree, the --config path) or null,
                "rules": N (rule files compiled)}
    CHANGE = {"rule": "detections/x.yml", "target": "kql", "kind": KIND, "file": "kql/x.kql",
              "base": {"status": S, "message": TEXT or null}, "head": {...},
              "lines_added": N, "lines_removed": N,
              "diff": the unified diff, or null (no query at either revision; --stat)}
    S = converted, unsupported, failed, skipped (the rule's siemc.targets) or absent (no such rule)

Exit status, as `git diff --exit-code`: 0 no change, 1 changes, 2 an error (not a git repository, a
bad revision or path, a bad configuration at either revision).
"""

from __future__ import annotations

import contextlib
import difflib
import html
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from siemc.backends import TARGET_NAMES, get_target
from siemc.config import CONFIG_NAME, SiteConfig
from siemc.review.errors import ReviewError
from siemc.review.git import GitError, Repository, prune
from siemc.review.revision import (
    Compiled,
    Output,
    Revision,
    compile_current,
    compile_own,
    has_own_siemc,
    is_current_toolchain,
    load_site,
    output_text,
    rule_paths,
    seed,
)

FORMAT = "siemc-diff/1"
KINDS = (
    "changed",
    "added",
    "removed",
    "newly_unsupported",
    "newly_converted",
    "newly_failed",
    "status_changed",
)
CONVERTED, ABSENT, FAILED, UNSUPPORTED, SKIPPED = "converted", "absent", "failed", "unsupported", "skipped"
WORKING_TREE = "working tree"
DEFAULT_PATH = "detections"
# GitHub refuses a comment longer than 65,536 characters: the markdown stays below this, with room
# to spare for a line a workflow adds around it.
COMMENT_LIMIT = 65_536
COMMENT_BUDGET = 64_000
DIFF_MAX_LINES = 200  # one collapsed diff in the markdown format
DIFF_MAX_CHARS = 12_000
TABLE_MAX_CHARS = 16_000  # the rules x targets table


class DiffError(ReviewError):
    """Bad usage: exit 2."""


@dataclass(frozen=True)
class State:
    status: str
    message: str = ""

    def describe(self) -> str:
        if self.status in (UNSUPPORTED, FAILED) and self.message:
            return f"{self.status}: {self.message}"
        if self.status == SKIPPED:
            return "skipped (the rule's siemc.targets)"
        return self.status


@dataclass(frozen=True)
class Change:
    rule: str
    target: str
    kind: str
    file: str  # <target>/<rule stem>.<extension>, as `siemc build` names it under its output folder
    base: State
    head: State
    diff: str  # unified diff, "" when neither revision has a query
    added: int
    removed: int

    @property
    def title(self) -> str:
        """What happened, with the reason where one side has none: `newly unsupported: <reason>`."""
        name = self.kind.replace("_", " ")
        if self.kind in ("newly_unsupported", "newly_failed"):
            return f"{name}: {self.head.message}" if self.head.message else name
        if self.kind == "newly_converted":
            return f"{name} (was {self.base.describe()})"
        if self.kind == "status_changed":
            return f"{name}: {self.base.describe()} -> {self.head.describe()}"
        return name


@dataclass
class Comparison:
    base: Revision
    head: Revision
    paths: list[str]
    targets: list[str]
    compiled: dict[str, Compiled]  # "base", "head"
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed_rules(self) -> list[str]:
        return sorted({c.rule for c in self.changes}, key=_rule_order)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for change in self.changes:
            counts[change.kind] += 1
        return counts

    def summary(self) -> str:
        """`3 output(s) of 2 rule(s) differ: 2 changed, 1 newly unsupported`."""
        parts = [f"{n} {kind.replace('_', ' ')}" for kind, n in self.counts().items() if n]
        outputs, rules = len(self.changes), len(self.changed_rules)
        return f"{outputs} output(s) of {rules} rule(s) differ: {', '.join(parts)}"


# -- arguments -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arguments:
    base: str | None
    head: str | None
    paths: list[str]  # relative to the repository's top folder, POSIX
    revision_like: str | None = None  # the first path, when it stood where a revision may stand


def parse_arguments(repo: Repository, args: Sequence[str], cwd: Path) -> Arguments:
    """[BASE] [HEAD] [PATH...]: up to two leading revisions, then paths (as `git diff` reads them).

    An argument that names a commit is a revision, else a path; one that is both is refused."""
    revisions: list[str] = []
    rest = list(args)
    while rest and len(revisions) < 2:
        candidate = rest[0]
        if repo.commit(candidate) is None:
            break
        if os.path.lexists(cwd / candidate):
            raise DiffError(
                f"ambiguous argument {candidate!r}: both a revision and a path "
                f"(write ./{candidate} for the path, {candidate}^0 for the revision)"
            )
        revisions.append(rest.pop(0))
    paths = [_repository_path(repo, cwd, p) for p in rest] or [_repository_path(repo, cwd, DEFAULT_PATH)]
    base = revisions[0] if revisions else None
    head = revisions[1] if len(revisions) > 1 else None
    revision_like = paths[0] if rest and len(revisions) < 2 else None
    return Arguments(base, head, list(dict.fromkeys(paths)), revision_like)


def _repository_path(repo: Repository, cwd: Path, given: str) -> str:
    absolute = Path(os.path.normpath(os.path.join(os.path.realpath(cwd), given)))
    try:
        relative = absolute.relative_to(repo.root)
    except ValueError:
        raise DiffError(f"{given}: outside the repository {repo.root}") from None
    return relative.as_posix() if relative.parts else "."


# -- comparing -------------------------------------------------------------------------------------------


def compare(
    args: Sequence[str],
    *,
    targets: Sequence[str] = TARGET_NAMES,
    toolchain_too: bool = False,
    cache_dir: Path = Path(".siemc-cache"),
    config: SiteConfig | None = None,
    config_path: Path | None = None,
    jobs: int = 1,
    cwd: Path | None = None,
) -> Comparison:
    """Compile the rules at both revisions and compare them; DiffError (or another SiemcError) when
    the comparison cannot be made."""
    cwd = Path(cwd or Path.cwd())
    repo = Repository.discover(cwd)
    parsed = parse_arguments(repo, args, cwd)
    cache = (cwd / cache_dir).resolve()
    work = cache / "diff"
    _prepare_cache(cache, work)
    with _locked(work):
        base, head = _revisions(repo, parsed, work)
        for path in parsed.paths:
            if not any(os.path.lexists(r.root / path) for r in (base, head)):
                what = "unknown revision, and no" if path == parsed.revision_like else "no"
                where = "in the working tree" if head.commit is None else f"at {head.label}"
                raise DiffError(f"{path}: {what} such file or folder at {base.label} or {where}")
        comparison = Comparison(base, head, parsed.paths, list(targets), {})
        # A revision whose siemc, mappings or templates differ from the running siemc's.
        own = {"base": _own_toolchain(base, targets), "head": _own_toolchain(head, targets)}
        for role, revision in (("base", base), ("head", head)):
            if toolchain_too and not has_own_siemc(revision.root):
                comparison.notes.append(
                    f"{revision.label} holds no siemc of its own: compiled with the current siemc"
                )
            elif own[role] and not toolchain_too:
                comparison.notes.append(
                    f"{revision.label} holds a siemc (code, mappings or templates) other than this one: "
                    "compiled with this one; --toolchain-too compiles it with its own"
                )
            own[role] = own[role] and toolchain_too
            # Rules are never looked for inside the cache (a PATH of "." would find extracted trees).
            paths = rule_paths(revision.root, parsed.paths, exclude=cache)
            if own[role]:
                out = work / "out" / f"{role}-own"
                compiled = compile_own(
                    revision, paths, targets, config_path, out=out, cache_dir=cache, jobs=jobs
                )
            else:
                if role == "head" and not own["base"]:
                    seed(cache, work / "out" / "base", work / "out" / "head")
                site = load_site(revision, parsed.paths, config)
                out = work / "out" / role
                compiled = compile_current(
                    revision, paths, targets, site, out=out, cache_dir=cache, jobs=jobs
                )
            if config_path is not None:
                compiled.config = str(config_path)
            comparison.compiled[role] = compiled
        comparison.changes = list(_changes(comparison))
    return comparison


def _own_toolchain(revision: Revision, targets: Sequence[str]) -> bool:
    return has_own_siemc(revision.root) and not is_current_toolchain(revision.root, targets)


def _prepare_cache(cache: Path, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    # The cache may sit in the working tree: it must never show in `git status`.
    ignore = cache / ".gitignore"
    if not ignore.exists():
        with contextlib.suppress(OSError):
            ignore.write_text("# siemc's cache: nothing here is to be committed\n*\n", encoding="utf-8")


@contextlib.contextmanager
def _locked(work: Path) -> Iterator[None]:
    """One comparison at a time per cache: two would rebuild the same output folders."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock
        yield
        return
    with open(work / ".lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Above the extracted trees: the siemc of a revision looks for its siemc.yml from its rules folder up
# to the root of the file system, and without one of its own it must find this empty one, not the
# working tree's (the cache may sit inside the working tree).
TREES_CONFIG = (
    "# Empty on purpose: a revision extracted below this folder that has no siemc.yml of its own\n"
    "# is compiled with the defaults, never with a configuration found further up.\n"
)


def _revisions(repo: Repository, parsed: Arguments, work: Path) -> tuple[Revision, Revision]:
    trees = work / "trees"
    trees.mkdir(parents=True, exist_ok=True)
    guard = trees / CONFIG_NAME
    if not guard.is_file():
        guard.write_text(TREES_CONFIG, encoding="utf-8")
    if parsed.base is not None:
        base_name, base_commit, description = parsed.base, repo.commit(parsed.base), ""
    else:
        if repo.commit("HEAD") is None:
            raise GitError("the repository has no commit yet: nothing to compare with")
        branch = repo.default_branch()
        base_commit = repo.merge_base("HEAD", branch)
        base_name, description = base_commit[:12], f"merge base of HEAD and {branch}"
    assert base_commit is not None
    base = Revision(base_name, base_commit, repo.extract(repo.tree(base_commit), trees), description)
    if parsed.head is not None:
        head_commit = repo.commit(parsed.head)
        assert head_commit is not None
        head = Revision(parsed.head, head_commit, repo.extract(repo.tree(head_commit), trees))
    else:
        head = Revision(WORKING_TREE, None, repo.root)
    prune(trees, {r.root.name for r in (base, head) if r.commit is not None})
    return base, head


def _rule_order(rule: str) -> tuple[str, ...]:
    return tuple(rule.split("/"))


def _changes(comparison: Comparison) -> Iterator[Change]:
    base, head = comparison.compiled["base"].outputs, comparison.compiled["head"].outputs
    order = {name: index for index, name in enumerate(TARGET_NAMES)}
    targets = sorted(comparison.targets, key=lambda t: order.get(t, len(order)))
    rules = comparison.compiled["base"].rules | comparison.compiled["head"].rules
    roots = (comparison.compiled["base"].root, comparison.compiled["head"].root)
    for rule in sorted(rules, key=_rule_order):
        for target in targets:
            before, after = base.get((rule, target)), head.get((rule, target))
            # Most outputs are the same on both sides: one comparison of the build's digests.
            if (
                before is not None
                and after is not None
                and before.digest
                and before.digest == after.digest
                and before.status == after.status
            ):
                continue
            change = _change(rule, target, before, after, roots)
            if change is not None:
                yield change


def _state(output: Output | None) -> State:
    return State(ABSENT) if output is None else State(output.status, output.message)


def _kind(before: State, after: State, old: str | None, new: str | None) -> str | None:
    if old is not None and new is not None:
        return "changed" if old != new else None
    if new is not None:
        return "newly_converted" if before.status in (UNSUPPORTED, FAILED) else "added"
    if old is not None:
        return {UNSUPPORTED: "newly_unsupported", FAILED: "newly_failed"}.get(after.status, "removed")
    if before == after:
        return None
    return "newly_failed" if after.status == FAILED and before.status != FAILED else "status_changed"


def _file_name(rule: str, target: str, outputs: Sequence[Output | None]) -> str:
    """<target>/<file>, the output's name under `siemc build`'s output folder."""
    for output in outputs:
        if output is not None and output.output is not None:
            return f"{target}/{os.path.basename(output.output)}"
    return f"{target}/{Path(rule).stem}.{get_target(target).file_extension}"


def _change(
    rule: str, target: str, base: Output | None, head: Output | None, roots: tuple[Path, Path]
) -> Change | None:
    before, after = _state(base), _state(head)
    old = output_text(base, roots[0]) if base is not None and base.status == CONVERTED else None
    new = output_text(head, roots[1]) if head is not None and head.status == CONVERTED else None
    kind = _kind(before, after, old, new)
    if kind is None:
        return None
    name = _file_name(rule, target, (head, base))
    text, added, removed = "", 0, 0
    if old is not None or new is not None:
        old_name = f"a/{name}" if old is not None else "/dev/null"
        new_name = f"b/{name}" if new is not None else "/dev/null"
        text, added, removed = unified(old or "", new or "", old_name, new_name)
    return Change(rule, target, kind, name, before, after, text, added, removed)


def _lines(text: str) -> list[str]:
    """Lines with their newline; only "\\n" ends a line (a query may hold other line separators)."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def unified(old: str, new: str, old_name: str, new_name: str) -> tuple[str, int, int]:
    """A unified diff as git writes it (three lines of context, `\\ No newline at end of file`), with
    the numbers of lines added and removed."""
    out: list[str] = []
    added = removed = 0
    for index, line in enumerate(difflib.unified_diff(_lines(old), _lines(new), old_name, new_name)):
        if index >= 2:
            added += line.startswith("+")
            removed += line.startswith("-")
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out), added, removed


# -- formats ---------------------------------------------------------------------------------------------


def _compared(comparison: Comparison) -> str:
    rules = len(comparison.compiled["base"].rules | comparison.compiled["head"].rules)
    return f"{rules} rule(s) on {len(comparison.targets)} target(s)"


def render_text(comparison: Comparison, stat: bool = False) -> str:
    """Unified diffs, one per output (`siemc diff: <rule> [<target>] <what>` above each); with `stat`,
    one line per output and a summary line."""
    if stat:
        return render_stat(comparison)
    blocks = []
    for change in comparison.changes:
        blocks.append(f"siemc diff: {change.rule} [{change.target}] {change.title}\n{change.diff}")
    return "".join(blocks)


def render_stat(comparison: Comparison) -> str:
    if not comparison.changes:
        return ""
    rows = [
        (c.file, c.rule, c.kind.replace("_", " "), f"+{c.added} -{c.removed}") for c in comparison.changes
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        " ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + " " + row[3]
        for row in rows
    ]
    lines.append(comparison.summary())
    return "\n".join(lines) + "\n"


def _revision_json(revision: Revision, compiled: Compiled) -> dict[str, Any]:
    return {
        "revision": revision.name if revision.commit is not None else None,
        "commit": revision.commit,
        "label": revision.label,
        "toolchain": compiled.toolchain,
        "config": compiled.config,
        "rules": len(compiled.rules),
    }


def render_json(comparison: Comparison, stat: bool = False) -> str:
    document = {
        "format": FORMAT,
        "base": _revision_json(comparison.base, comparison.compiled["base"]),
        "head": _revision_json(comparison.head, comparison.compiled["head"]),
        "paths": comparison.paths,
        "targets": comparison.targets,
        "summary": {
            "outputs": len(comparison.changes),
            "rules": len(comparison.changed_rules),
            "kinds": comparison.counts(),
        },
        "changes": [
            {
                "rule": c.rule,
                "target": c.target,
                "kind": c.kind,
                "file": c.file,
                "base": {"status": c.base.status, "message": c.base.message or None},
                "head": {"status": c.head.status, "message": c.head.message or None},
                "lines_added": c.added,
                "lines_removed": c.removed,
                "diff": None if stat or not c.diff else c.diff,
            }
            for c in comparison.changes
        ],
        "notes": comparison.notes,
    }
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    """Text for a markdown table cell or list item: no table break, no HTML, no stray code span."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("`", "'").replace("\n", " ")


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in the text (SPL comments are ``` ... ```)."""
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _clip(diff: str) -> str:
    """One diff, cut to a reviewable size for a comment."""
    lines = diff.splitlines(keepends=True)
    kept: list[str] = []
    size = 0
    for line in lines:
        if len(kept) >= DIFF_MAX_LINES or size + len(line) > DIFF_MAX_CHARS:
            break
        kept.append(line)
        size += len(line)
    if len(kept) == len(lines):
        return diff
    cut = len(lines) - len(kept)
    if not kept:  # a single line longer than the limit: its start
        return lines[0][:DIFF_MAX_CHARS] + f"\n... {len(lines)} line(s) cut: run `siemc diff` for all of it\n"
    return "".join(kept) + f"... {cut} more line(s): run `siemc diff` for all of it\n"


def _revision_markdown(revision: Revision) -> str:
    if revision.commit is None:
        return revision.name
    return f"`{_cell(revision.name)}` ({_cell(revision.description or revision.commit[:12])})"


def render_markdown(comparison: Comparison, stat: bool = False, budget: int = COMMENT_BUDGET) -> str:
    """A pull-request comment: the counts per kind and target, the rules x targets table, then each
    diff in a collapsed block, cut so the whole stays under GitHub's comment limit."""
    base, head = _revision_markdown(comparison.base), _revision_markdown(comparison.head)
    lines = [f"### siemc diff: {base} → {head}", ""]
    if not comparison.changes:
        lines.append(f"No generated query changes ({_compared(comparison)} compared).")
        lines += [f"> {_cell(note)}" for note in comparison.notes]
        return "\n".join(lines) + "\n"
    lines += [f"**{_cell(comparison.summary())}** ({_compared(comparison)} compared).", ""]
    lines += [f"> {_cell(note)}" for note in comparison.notes]
    if comparison.notes:
        lines.append("")
    targets = comparison.targets
    header = "| | " + " | ".join(f"`{t}`" for t in targets) + " | total |"
    lines += [header, "|---|" + "---:|" * (len(targets) + 1)]
    for kind in KINDS:
        per_target = [sum(c.kind == kind and c.target == t for c in comparison.changes) for t in targets]
        if any(per_target):
            cells = " | ".join(str(n) if n else "" for n in per_target)
            lines.append(f"| {kind.replace('_', ' ')} | {cells} | {sum(per_target)} |")
    lines.append("")

    by_rule: dict[str, dict[str, str]] = {}
    for change in comparison.changes:
        by_rule.setdefault(change.rule, {})[change.target] = change.kind.replace("_", " ")
    table = ["| rule | " + " | ".join(f"`{t}`" for t in targets) + " |", "|---|" + "---|" * len(targets)]
    size = sum(len(row) + 1 for row in table)
    shown = 0
    for rule in comparison.changed_rules:
        row = f"| `{_cell(rule)}` | " + " | ".join(by_rule[rule].get(t, "") for t in targets) + " |"
        if size + len(row) + 1 > TABLE_MAX_CHARS:
            break
        table.append(row)
        size += len(row) + 1
        shown += 1
    lines += table
    if shown < len(by_rule):
        lines.append(f"\n_... and {len(by_rule) - shown} more rule(s): `--format json` lists them all._")
    lines.append("")

    statuses = [c for c in comparison.changes if not c.diff]
    for change in statuses:
        lines.append(f"- `{_cell(change.rule)}` `{change.target}`: {_cell(change.title)}")
    if statuses:
        lines.append("")
    text = "\n".join(lines) + "\n"
    if stat:
        return text

    diffs = [c for c in comparison.changes if c.diff]
    blocks: list[str] = []
    for change in diffs:
        body = _clip(change.diff)
        fence = _fence(body)
        summary = (
            f"<code>{html.escape(change.file)}</code> · <code>{html.escape(change.rule)}</code>: "
            f"{html.escape(change.title)} (+{change.added} -{change.removed})"
        )
        blocks.append(f"<details><summary>{summary}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n")
    reserve = 400  # the line saying what was left out
    used = len(text)
    kept = 0
    for block in blocks:
        if used + len(block) + reserve > budget:
            break
        used += len(block)
        kept += 1
    text += "".join(blocks[:kept])
    if kept < len(blocks):
        text += (
            f"\n_{len(blocks) - kept} of {len(blocks)} diffs left out to stay under GitHub's comment "
            f"limit ({COMMENT_LIMIT:,} characters): `siemc diff` prints them all._\n"
        )
    return text


def render(comparison: Comparison, output_format: str, stat: bool = False) -> str:
    if output_format == "json":
        return render_json(comparison, stat)
    if output_format == "markdown":
        return render_markdown(comparison, stat)
    return render_text(comparison, stat)
