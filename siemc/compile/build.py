"""Write stage: compile rules for targets into `<out>/<target>/<stem>.<ext>`, atomically and fast.

Every rule is parsed once and compiled for every target it asks for; a problem becomes a Diagnostic
(an unexpected exception too: it fails that rule on that target only) and the build goes on. Output
files are written to a temporary file beside the destination and moved into place with
`os.replace`, so an interrupted or failed build never leaves a half-written file, and a rule that
fails keeps its previous output.

Speed: rules are compiled in a pool of worker processes (results are merged in rule order, so the
output never depends on scheduling), and a content-hash cache (`siemc.compile.cache`) lets a rebuild skip
every rule whose text and toolchain are unchanged and whose output file is still in place. This
module imports no pySigma at load time: a rebuild that is all cache hits never needs it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from siemc.backends import TARGET_NAMES, get_target
from siemc.compile.cache import BuildCache, CacheEntry, toolchain_fingerprints
from siemc.config import CONFIG_NAME, DEFAULT, SiteConfig
from siemc.diagnostics import Diagnostic, SiemcError, Unsupported

if TYPE_CHECKING:
    from siemc.compile.correlation import Correlation
    from siemc.compile.rule import Detection

# Per rule and target, one of these; `skipped` = the rule's `siemc.targets` leaves this target out.
CONVERTED: Final = "converted"
UNSUPPORTED: Final = "unsupported"
FAILED: Final = "failed"
SKIPPED: Final = "skipped"
SUMMARY_STATUSES: Final = (CONVERTED, UNSUPPORTED, FAILED)

# File states after the write step of a converted rule.
WRITTEN: Final = "written"
UNCHANGED: Final = "unchanged"
CHANGED: Final = "changed"  # --check: the file would change

RULE_SUFFIXES: Final = (".yml", ".yaml")  # as siemc.compile.rule, which this module does not import eagerly

ProgressCallback = Callable[[int, int], None]  # (rules compiled so far, rules to compile)


@dataclass(frozen=True)
class Outcome:
    """The result of one rule on one target, as shown in the summary and the JSON report."""

    rule: Path
    target: str
    status: str
    output: str | None = None  # a file path; strings, as a no-op build handles some 20,000 of them
    message: str = ""
    line: int | None = None
    digest: bytes = b""  # of the query text (converted only)
    source: str = ""  # the name of the source the query selects (converted only)


@dataclass
class BuildResult:
    written: list[Path] = field(default_factory=list)
    unchanged_files: list[str] = field(default_factory=list)
    changed: list[Path] = field(default_factory=list)  # with check=True: files that would change
    diagnostics: list[Diagnostic] = field(default_factory=list)
    unsupported: list[Diagnostic] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)  # in rule order, then target order
    targets: tuple[str, ...] = ()
    compiled_rules: int = 0  # rules parsed and converted in this run
    cached_rules: int = 0  # rules answered by the cache without parsing
    metadata: dict[Path, dict[str, Any]] = field(default_factory=dict)  # rule -> Detection.metadata()

    @property
    def unchanged(self) -> list[Path]:
        return [Path(name) for name in self.unchanged_files]

    @property
    def ok(self) -> bool:
        return not self.diagnostics

    def summary(self) -> dict[str, dict[str, int]]:
        """Per target: how many rules were converted, unsupported, failed."""
        counts = {target: dict.fromkeys(SUMMARY_STATUSES, 0) for target in self.targets}
        for outcome in self.outcomes:
            if outcome.status in SUMMARY_STATUSES:
                counts.setdefault(outcome.target, dict.fromkeys(SUMMARY_STATUSES, 0))[outcome.status] += 1
        return counts


def compile_detection(detection: Detection | Correlation, target_name: str) -> str:
    """The finished query text of one rule for one target; SiemcError when it cannot be built."""
    return compile_with_source(detection, target_name)[0]


def compile_with_source(detection: Detection | Correlation, target_name: str) -> tuple[str, str]:
    """The query text and the name of the source it selects; SiemcError when it cannot be built."""
    # mypy reads backends/ as its own package, so siemc.backends is untyped to it: state the types.
    text: str
    source: str
    target = get_target(target_name, detection.site)
    from siemc.compile.correlation import Correlation

    if isinstance(detection, Correlation):
        from siemc.compile.correlation_target import render_correlation

        return render_correlation(target, detection)
    text, source = target.render_with_source(detection)
    return text, source


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def output_path(out: Path, target_name: str, detection: Detection) -> Path:
    return out / target_name / f"{detection.stem}.{get_target(target_name).file_extension}"


def load_all(
    paths: Iterable[Path], site: SiteConfig = DEFAULT
) -> tuple[list[Detection | Correlation], list[Diagnostic]]:
    """Every rule file under the paths; a correlation rule finds the rules it references among them."""
    from siemc.compile.correlation import folder_library, load_rule_file

    paths = list(paths)
    library = folder_library(paths)
    detections: list[Detection | Correlation] = []
    diagnostics: list[Diagnostic] = []
    for path in find_rule_files(paths):
        try:
            detections.append(load_rule_file(path, site, library))
        except SiemcError as error:
            diagnostics.append(Diagnostic(path, error.message, error.line))
    return detections, diagnostics


def find_rule_files(paths: Iterable[Path]) -> list[Path]:
    """Rule files named or found under folders, sorted so that builds are deterministic. A folder's
    site configuration (siemc.yml) is not a rule."""
    found: set[Path] = set()
    for path in paths:
        if not path.is_dir():
            found.add(path)
            continue
        # os.walk reads file types from the directory listing: no stat per file, unlike rglob.
        for folder, _, names in os.walk(path):
            found.update(
                Path(folder, name) for name in names if name.endswith(RULE_SUFFIXES) and name != CONFIG_NAME
            )
    return sorted(found, key=lambda path: path.parts)  # Path order, computed once per path


def internal_error(error: BaseException) -> str:
    """The message of an unexpected exception: it is a bug in siemc, reported like a rule problem."""
    return f"internal error: {type(error).__name__}: {error}"


# -- one rule, all targets (runs in a worker process) ---------------------------------------------------


@dataclass(frozen=True)
class RuleTask:
    path: Path
    text: str
    targets: tuple[str, ...]
    out: Path
    check: bool
    write: bool  # False when another rule has the same stem: the main process picks the owner
    # A correlation rule's: the other rule files that define the rules it references (path, text).
    related: tuple[tuple[Path, str], ...] = ()


@dataclass
class TargetReport:
    target: str
    status: str
    output: str | None = None
    message: str = ""
    line: int | None = None
    digest: bytes = b""  # of the query text
    text: str | None = None  # kept only when the main process writes the file
    state: str = ""  # WRITTEN / UNCHANGED / CHANGED once the file was settled
    stat: tuple[int, int] | None = None  # (size, mtime_ns) of the output after settling
    cacheable: bool = True
    source: str = ""  # the name of the source the query selects


@dataclass
class RuleReport:
    path: Path
    load_error: tuple[str, int | None] | None
    targets: list[TargetReport]
    from_cache: bool = False
    meta: dict[str, Any] | None = None  # Detection.metadata() of a rule that loaded


def text_digest(data: bytes) -> bytes:
    """128 bits of SHA-256: collision-safe here, and half the manifest a no-op build reads."""
    return hashlib.sha256(data).digest()[:16]


def file_stat(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_size, status.st_mtime_ns


def settle(report: TargetReport, text: str, check: bool) -> None:
    """Write the query unless the file already holds it (or, with check, only say it would change)."""
    assert report.output is not None
    data = text.encode("utf-8")
    try:
        with open(report.output, "rb") as stream:
            current: bytes | None = stream.read()
    except OSError:
        current = None
    if current == data:
        report.state, report.stat = UNCHANGED, file_stat(report.output)
    elif check:
        report.state, report.stat = CHANGED, file_stat(report.output)
    else:
        report.state, report.stat = WRITTEN, write_bytes_atomic(report.output, data)


_made_folders: set[str] = set()  # per process: a build writes thousands of files into a few folders


def write_bytes_atomic(path: str, data: bytes) -> tuple[int, int]:
    """`write_atomic` with fewer system calls for the build loop; returns the file's (size, mtime_ns)."""
    folder = os.path.dirname(path)
    if folder not in _made_folders:
        os.makedirs(folder, exist_ok=True)
        _made_folders.add(folder)
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except FileNotFoundError:  # the folder went away since this process made it (a later build)
        os.makedirs(folder, exist_ok=True)
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view) :]
            status = os.fstat(handle)  # a rename keeps size and mtime: no stat of the destination
        finally:
            os.close(handle)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return status.st_size, status.st_mtime_ns


def destination(out: Path, target_name: str, stem: str) -> str:
    return os.path.join(out, target_name, f"{stem}.{get_target(target_name).file_extension}")


def universal_newlines(data: bytes) -> str:
    """Decode like `Path.read_text`, so that the text (and line numbers) match a direct load."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


# The site configuration of the build under way, in this process and in each worker (set by the
# pool's initializer): one object, passed once rather than with every task.
_site: SiteConfig = DEFAULT


def _use_site(site: SiteConfig) -> None:
    global _site
    _site = site


def build_rule(task: RuleTask) -> RuleReport:
    """Parse one rule once and compile it for each target; never raises for a rule's problem."""
    from siemc.compile.correlation import parse_rule_file
    from siemc.diagnostics import locate_message

    related = dict(task.related)

    def library(name: str) -> tuple[Path, str] | None:
        from siemc.compile.correlation import defined_names

        for path, text in related.items():
            if name in defined_names(text.encode("utf-8")):
                return path, text
        return None

    try:
        detection = parse_rule_file(task.text, task.path, _site, library)
    except SiemcError as error:
        return RuleReport(
            task.path,
            (error.message, error.line),
            [TargetReport(t, FAILED, message=error.message, line=error.line) for t in task.targets],
        )
    except Exception as error:
        message = internal_error(error)
        return RuleReport(
            task.path,
            (message, None),
            [TargetReport(t, FAILED, message=message, cacheable=False) for t in task.targets],
        )
    reports: list[TargetReport] = []
    for target_name in task.targets:
        wanted = detection.extension.targets
        if wanted is not None and target_name not in wanted:
            reports.append(TargetReport(target_name, SKIPPED))
            continue
        report = TargetReport(target_name, CONVERTED, destination(task.out, target_name, detection.stem))
        reports.append(report)
        try:
            text, report.source = compile_with_source(detection, target_name)
        except Unsupported as error:
            report.status, report.message, report.output = UNSUPPORTED, error.message, None
            continue
        except SiemcError as error:
            report.status, report.output = FAILED, None
            report.message = error.message
            report.line = error.line or locate_message(detection.text, error.message)
            continue
        except Exception as error:
            report.status, report.output, report.cacheable = FAILED, None, False
            report.message = internal_error(error)
            continue
        report.digest = text_digest(text.encode("utf-8"))
        if task.write:
            settle(report, text, task.check)
        else:
            report.text = text
    return RuleReport(task.path, None, reports, meta=detection.metadata())


def _build_rule_safely(task: RuleTask) -> RuleReport:
    try:
        return build_rule(task)
    except Exception as error:  # e.g. the output folder is not writable: fail the rule, not the build
        message = internal_error(error)
        return RuleReport(
            task.path, None, [TargetReport(t, FAILED, message=message, cacheable=False) for t in task.targets]
        )


def _run_tasks(
    tasks: Sequence[RuleTask], jobs: int, progress: ProgressCallback | None, site: SiteConfig
) -> Iterator[RuleReport]:
    """Reports in task order, whatever the scheduling; a pool of `jobs` processes when it pays off."""
    total = len(tasks)
    workers = min(jobs, total)
    _use_site(site)
    if workers <= 1:
        for done, task in enumerate(tasks, 1):
            yield _build_rule_safely(task)
            if progress:
                progress(done, total)
        return
    # Imported here: a build that is all cache hits starts no pool.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # Fork keeps start-up cheap (workers inherit this light process); spawn elsewhere.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    context = multiprocessing.get_context(method)
    chunk = max(1, min(16, total // (workers * 8)))
    done = 0
    executor = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_use_site, initargs=(site,)
    )
    try:
        for report in executor.map(_build_rule_safely, tasks, chunksize=chunk):
            done += 1
            if progress:
                progress(done, total)
            yield report
    except BrokenProcessPool:
        # A worker died (killed, out of memory): the rules not yet reported fail, the build goes on.
        for task in tasks[done:]:
            message = "internal error: the worker process compiling this rule stopped"
            yield RuleReport(
                task.path,
                None,
                [TargetReport(t, FAILED, message=message, cacheable=False) for t in task.targets],
            )
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


# -- the whole build -------------------------------------------------------------------------------------


def _replay(
    entries: dict[str, CacheEntry], targets: Sequence[str], keys: dict[str, bytes], colliding: bool, out: str
) -> list[TargetReport] | None:
    """Target reports from the cache, or None when any target must be compiled again."""
    reports: list[TargetReport] = []
    for target_name in targets:
        entry = entries.get(target_name)
        if entry is None or entry.key != keys[target_name]:
            return None
        report = TargetReport(target_name, entry.status, message=entry.message, line=entry.line)
        if entry.status == CONVERTED:
            if colliding or entry.output is None:
                return None
            report.output = os.path.join(out, target_name, entry.output)
            report.digest, report.source = entry.digest, entry.source
            current = file_stat(report.output)
            if current is None:
                return None
            # Touched but maybe not changed: compare the bytes before compiling again.
            if current != entry.stat and text_digest(Path(report.output).read_bytes()) != entry.digest:
                return None
            report.state, report.stat = UNCHANGED, current
        reports.append(report)
    return reports


def _unreadable(path: Path, error: Exception, targets: Sequence[str]) -> RuleReport:
    """A rule file that cannot be read (or decoded) fails on every target with the reason."""
    message = f"cannot read rule: {error}"
    return RuleReport(path, (message, None), [TargetReport(t, FAILED, message=message) for t in targets])


def build(
    paths: Iterable[Path],
    targets: Iterable[str] = TARGET_NAMES,
    out: Path = Path("build"),
    check: bool = False,
    *,
    jobs: int = 1,
    cache_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    site: SiteConfig = DEFAULT,
) -> BuildResult:
    """Compile rule files and folders for the targets into `out`.

    `jobs` > 1 compiles in that many processes; `cache_dir` enables the content-hash cache there.
    """
    selected = tuple(targets)
    result = BuildResult(targets=selected)
    files = find_rule_files(paths)
    stems: dict[str, int] = {}
    for path in files:
        stems[path.stem] = stems.get(path.stem, 0) + 1

    cache = BuildCache.open(cache_dir, out) if cache_dir is not None else None
    fingerprints = toolchain_fingerprints(selected) if cache is not None else {}

    reports: list[RuleReport | None] = []
    tasks: list[RuleTask] = []
    rule_keys: dict[Path, dict[str, bytes]] = {}
    contents: dict[Path, bytes | OSError] = {}
    for path in files:
        try:
            contents[path] = path.read_bytes()
        except OSError as error:
            contents[path] = error
    related = _correlation_related(contents)
    for path in files:
        data = contents[path]
        if isinstance(data, OSError):
            reports.append(_unreadable(path, data, selected))
            continue
        colliding = stems[path.stem] > 1
        others = related.get(path, ())
        if cache is not None:
            # A correlation rule's output also depends on the files of the rules it references.
            hashed = path.as_posix().encode() + b"\0" + data
            for other in others:
                other_data = contents[other]
                hashed += (
                    b"\0"
                    + other.as_posix().encode()
                    + b"\0"
                    + (other_data if isinstance(other_data, bytes) else b"")
                )
            rule_hash = hashlib.sha256(hashed).hexdigest()
            if site.is_default:
                keys = {t: text_digest(f"{fingerprints[t]}:{rule_hash}".encode()) for t in selected}
            else:  # what of the configuration can change this rule's output is part of its key
                rule_text = data.decode("utf-8", errors="replace")
                for other in others:
                    other_data = contents[other]
                    if isinstance(other_data, bytes):
                        rule_text += "\n" + other_data.decode("utf-8", errors="replace")
                keys = {
                    t: text_digest(f"{fingerprints[t]}:{rule_hash}:{site.rule_digest(t, rule_text)}".encode())
                    for t in selected
                }
            rule_keys[path] = keys
            replayed = _replay(cache.entries_for(path), selected, keys, colliding, str(out))
            if replayed is not None:
                load_error = cache.load_error(path)
                reports.append(RuleReport(path, load_error, replayed, True, cache.metadata(path)))
                continue
        try:
            text = universal_newlines(data)
        except UnicodeDecodeError as error:
            reports.append(_unreadable(path, error, selected))
            continue
        reports.append(None)
        texts = tuple(
            (other, universal_newlines(other_data))
            for other in others
            if isinstance(other_data := contents[other], bytes)
        )
        tasks.append(RuleTask(path, text, selected, out, check, write=not colliding, related=texts))

    compiled = _run_tasks(tasks, jobs, progress, site)
    seen: dict[str, Path] = {}
    for index, maybe_report in enumerate(reports):
        report = maybe_report if maybe_report is not None else next(compiled)
        reports[index] = None  # the merged result is all that is kept: memory stays flat
        _merge(report, result, seen, check)
        if cache is not None and report.path in rule_keys:
            cache.record(report.path, rule_keys[report.path], report.load_error, report.targets, report.meta)
        if report.from_cache:
            result.cached_rules += 1
        else:
            result.compiled_rules += 1
    if cache is not None and not check:
        cache.save()
    return result


_CORRELATION_KEY = b"correlation:"


def _correlation_related(contents: dict[Path, bytes | OSError]) -> dict[Path, tuple[Path, ...]]:
    """For each correlation rule file, the other files defining the rules it references (by name or
    id). The build indexes the files' names only when it holds a correlation rule."""
    correlations = [
        path for path, data in contents.items() if isinstance(data, bytes) and _CORRELATION_KEY in data
    ]
    if not correlations:
        return {}
    from siemc.compile.correlation import defined_names, referenced_names

    index: dict[str, Path] = {}
    for path, data in contents.items():
        if isinstance(data, bytes):
            for name in defined_names(data):
                index.setdefault(name, path)
    related: dict[Path, tuple[Path, ...]] = {}
    for path in correlations:
        data = contents[path]
        assert isinstance(data, bytes)
        try:
            names = referenced_names(universal_newlines(data))
        except UnicodeDecodeError:
            continue
        found = [index[name] for name in names if name in index and index[name] != path]
        related[path] = tuple(dict.fromkeys(found))
    return related


def _merge(report: RuleReport, result: BuildResult, seen: dict[str, Path], check: bool) -> None:
    if report.load_error is not None:
        message, line = report.load_error
        result.diagnostics.append(Diagnostic(report.path, message, line))
    for target_report in report.targets:
        status, output = target_report.status, target_report.output
        if status == CONVERTED and output is not None:
            if output in seen:
                message = f"output {output} is also built from {seen[output]}"
                result.diagnostics.append(Diagnostic(report.path, message))
                target_report.status, target_report.message, target_report.output = FAILED, message, None
                target_report.cacheable = False
            else:
                seen[output] = report.path
                if target_report.text is not None:
                    settle(target_report, target_report.text, check)
                    target_report.text = None
                if target_report.state == UNCHANGED:
                    result.unchanged_files.append(output)
                else:
                    (result.written if target_report.state == WRITTEN else result.changed).append(
                        Path(output)
                    )
        elif status == UNSUPPORTED:
            message = f"unsupported: {target_report.message}"
            result.unsupported.append(Diagnostic(report.path, message, None, target_report.target))
        elif status == FAILED and report.load_error is None:
            result.diagnostics.append(
                Diagnostic(report.path, target_report.message, target_report.line, target_report.target)
            )
        result.outcomes.append(
            Outcome(
                report.path,
                target_report.target,
                target_report.status,
                target_report.output,
                target_report.message,
                target_report.line,
                target_report.digest if target_report.status == CONVERTED else b"",
                target_report.source,
            )
        )
    if report.meta is not None:
        result.metadata[report.path] = report.meta


def write_report(result: BuildResult, path: Path) -> None:
    """The JSON report: summary per target and one row per rule and target, in a stable order."""
    import json

    from siemc import __version__

    rows = [
        {
            "rule": outcome.rule.as_posix(),
            "target": outcome.target,
            "status": outcome.status,
            "output": Path(outcome.output).as_posix() if outcome.output is not None else None,
            "message": outcome.message or None,
            "line": outcome.line,
            "source": outcome.source or None,
        }
        for outcome in result.outcomes
    ]
    rows.sort(key=lambda row: (row["rule"], row["target"]))
    document = {
        "siemc_version": __version__,
        "targets": sorted(result.targets),
        "summary": result.summary(),
        "rules": rows,
    }
    write_atomic(path, json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
