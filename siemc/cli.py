"""The `siemc` command line: thin typer commands over the load, convert and write stages."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from siemc.backends import TARGET_NAMES, get_target
from siemc.diagnostics import Diagnostic, SiemcError, Unsupported

if TYPE_CHECKING:
    from siemc.config import SiteConfig

app = typer.Typer(
    help="Compile Sigma detection rules into native SIEM queries.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from siemc import __version__

        typer.echo(f"siemc {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    """Compile Sigma detection rules into native SIEM queries."""


EXIT_RULE_ERROR = 1
EXIT_USAGE = 2


def _fail_usage(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def _check_targets(targets: list[str]) -> None:
    for name in targets:
        if name not in TARGET_NAMES:
            _fail_usage(f"unknown target {name!r} (known: {', '.join(TARGET_NAMES)})")


def _report(diagnostics: list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        typer.echo(str(diagnostic), err=True)


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Site configuration (default: the nearest siemc.yml).", dir_okay=False
    ),
]
PlaceholderOption = Annotated[
    list[str] | None,
    typer.Option(
        "--placeholder", "-p", help="NAME=VALUE: a placeholder value, adds to siemc.yml (repeatable)."
    ),
]


RulePaths = Annotated[list[Path] | None, typer.Argument(help="Rule files or folders (default: detections/).")]
JobsOption = Annotated[
    int | None,
    typer.Option("--jobs", "-j", min=1, help="Worker processes (default: the number of CPUs)."),
]
NoCacheOption = Annotated[
    bool, typer.Option("--no-cache", help="Compile every rule; neither read nor update the cache.")
]
CacheDirOption = Annotated[Path, typer.Option("--cache-dir", help="Folder of the content-hash build cache.")]
LockOption = Annotated[
    Path | None, typer.Option("--lock", help="The version lock (default: <rules>/version.lock.json).")
]


def _rule_sources(paths: list[Path] | None) -> list[Path]:
    """The rule files and folders a command reads (default detections/); a missing one is exit 2."""
    sources = paths or [Path("detections")]
    for source in sources:
        if not source.exists():
            _fail_usage(f"no such file or folder: {source}")
    return sources


def _site(config: Path | None, placeholder: list[str] | None, paths: list[Path]) -> SiteConfig:
    """The site configuration of a command; a bad one is one error line and exit 2, before any rule."""
    from siemc.compile.site import check_site
    from siemc.config import ConfigError, resolve_config

    overrides: dict[str, list[str]] = {}
    for item in placeholder or []:
        name, equals, value = item.partition("=")
        if not equals or not name:
            _fail_usage(f"--placeholder expects NAME=VALUE, got {item!r}")
        overrides.setdefault(name, []).append(value)
    try:
        site = resolve_config(config, paths, overrides)
        check_site(site)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    return site


def _warn_unused_filters(site: SiteConfig, rule_texts: list[str]) -> None:
    """A filter naming a rule that is not among the rules at hand is most likely a typo."""
    for loaded in site.filters:
        references = loaded.sigma.filter.rules
        if isinstance(references, str):
            continue
        for reference in references:
            name = str(reference.reference)
            if not any(name in text for text in rule_texts):
                line = loaded.reference_line(name)
                typer.echo(
                    f"{loaded.path}:{line}: warning: the filter names rule {name!r}, which is not among "
                    "the rules given (by id or name)",
                    err=True,
                )


def _rule_texts(paths: list[Path]) -> list[str]:
    from siemc.compile.build import find_rule_files

    texts = []
    for path in find_rule_files(paths):
        try:
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return texts


@app.command()
def targets() -> None:
    """List the targets and the SIEM each one serves."""
    for name in TARGET_NAMES:
        typer.echo(f"{name:<9} {get_target(name).siem}")


@app.command()
def init(
    folder: Annotated[
        Path,
        typer.Argument(metavar="DIR", help="The repository folder (created if missing; default: here)."),
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
) -> None:
    """Start a rules repository: siemc.yml, example rules with tests, a filter, CI workflows."""
    from siemc.init import InitError, init_repository

    try:
        written = init_repository(folder, force)
    except InitError as error:
        _fail_usage(str(error))
    for path in written:
        typer.echo(f"wrote {path}")
    here = "" if folder == Path(".") else f"cd {folder} && "
    typer.echo(f"next: {here}siemc build && siemc test  (then commit, and push a tag to release)", err=True)


@app.command()
def convert(
    rules: Annotated[list[Path], typer.Argument(help="Rule files to convert.")],
    target: Annotated[str, typer.Option("--target", "-t", help="Target name (see `siemc targets`).")],
    config: ConfigOption = None,
    placeholder: PlaceholderOption = None,
) -> None:
    """Print the query of each rule for one target, ready to paste."""
    from siemc.compile.build import compile_detection
    from siemc.compile.correlation import load_rule_file
    from siemc.diagnostics import locate_message

    _check_targets([target])
    site = _site(config, placeholder, rules)
    failed = False
    for index, path in enumerate(rules):
        try:
            detection = load_rule_file(path, site, _rule_library(path, site))
            text = compile_detection(detection, target)
        except SiemcError as error:
            line = error.line
            if line is None and path.exists() and not isinstance(error, Unsupported):
                line = locate_message(path.read_text(encoding="utf-8", errors="replace"), error.message)
            prefix = "unsupported: " if isinstance(error, Unsupported) else ""
            _report([Diagnostic(path, prefix + error.message, line, target)])
            failed = True
            continue
        if index:
            typer.echo("")
        sys.stdout.write(text)
    if failed:
        raise typer.Exit(EXIT_RULE_ERROR)


class UnsupportedPolicy(StrEnum):
    """What `build` does with a rule a target cannot express."""

    IGNORE = "ignore"  # count it in the summary and the report only
    WARN = "warn"  # also print `file: [target] unsupported: reason`
    ERROR = "error"  # print it as an error and exit 1


# A build compiling fewer rules than this finishes before a progress bar would help.
PROGRESS_MIN_RULES = 200


class _ProgressBar:
    """A transient bar on a terminal's stderr, started on the first report of a long build."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._progress is None:
            if total < PROGRESS_MIN_RULES:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("compiling"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("compiling", total=total)
        self._progress.update(self._task, completed=done)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _print_summary(summary: dict[str, dict[str, int]]) -> None:
    typer.echo(f"{'target':<9} {'converted':>9} {'unsupported':>11} {'failed':>6}", err=True)
    for name, counts in summary.items():
        typer.echo(
            f"{name:<9} {counts['converted']:>9} {counts['unsupported']:>11} {counts['failed']:>6}", err=True
        )


@app.command()
def build(
    paths: RulePaths = None,
    target: Annotated[
        list[str] | None, typer.Option("--target", "-t", help="Build only this target (repeatable).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("build"),
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 listing every file that would change.")
    ] = False,
    jobs: JobsOption = None,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = Path(".siemc-cache"),
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write per rule and target status, output and message as JSON."),
    ] = None,
    unsupported: Annotated[
        UnsupportedPolicy,
        typer.Option("--unsupported", help="A rule a target cannot express: ignore, warn or error."),
    ] = UnsupportedPolicy.WARN,
    config: ConfigOption = None,
    placeholder: PlaceholderOption = None,
) -> None:
    """Compile rules into <out>/<target>/<rule-stem>.<ext>."""
    from siemc.compile.build import build as run_build
    from siemc.compile.build import write_report

    selected = target or list(TARGET_NAMES)
    _check_targets(selected)
    sources = _rule_sources(paths)
    site = _site(config, placeholder, sources)
    if site.filters:
        _warn_unused_filters(site, _rule_texts(sources))
    progress = _ProgressBar() if sys.stderr.isatty() else None
    try:
        result = run_build(
            sources,
            selected,
            out,
            check,
            jobs=jobs or os.cpu_count() or 1,
            cache_dir=None if no_cache else cache_dir,
            progress=progress,
            site=site,
        )
    finally:
        if progress is not None:
            progress.close()
    _report(result.diagnostics)
    if unsupported is UnsupportedPolicy.ERROR:
        _report(result.unsupported)
    elif unsupported is UnsupportedPolicy.WARN:
        for diagnostic in result.unsupported:
            typer.echo(str(diagnostic).replace(" error: ", " "), err=True)
    if report is not None:
        write_report(result, report)
    _print_summary(result.summary())
    if check:
        for path in result.changed:
            typer.echo(f"would change: {path}")
        if result.changed:
            typer.echo(f"{len(result.changed)} file(s) out of date; run `siemc build` to update", err=True)
    else:
        typer.echo(f"{len(result.written)} written, {len(result.unchanged_files)} unchanged", err=True)
    failed_unsupported = unsupported is UnsupportedPolicy.ERROR and bool(result.unsupported)
    if result.diagnostics or failed_unsupported or (check and result.changed):
        raise typer.Exit(EXIT_RULE_ERROR)


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Rule files or folders.")],
    config: ConfigOption = None,
    placeholder: PlaceholderOption = None,
) -> None:
    """Load and check rules (with the site's placeholders and filters) without compiling them."""
    from siemc.compile.build import load_all

    site = _site(config, placeholder, paths)
    if site.filters:
        _warn_unused_filters(site, _rule_texts(paths))
    detections, diagnostics = load_all(paths, site)
    _report(diagnostics)
    typer.echo(f"{len(detections)} valid, {len(diagnostics)} invalid", err=True)
    if diagnostics:
        raise typer.Exit(EXIT_RULE_ERROR)


@app.command("test")
def test_rules(
    paths: RulePaths = None,
    target: Annotated[
        list[str] | None, typer.Option("--target", "-t", help="Check only this target (repeatable).")
    ] = None,
    reference_only: Annotated[
        bool, typer.Option("--reference-only", help="Run the reference evaluator only, no target engines.")
    ] = False,
    matrix: Annotated[
        bool, typer.Option("--matrix", help="Print rules x targets with agreement counts instead.")
    ] = False,
    config: ConfigOption = None,
    placeholder: PlaceholderOption = None,
) -> None:
    """Run the rules' `siemc.tests`: the reference evaluator, then each target's query on the same events."""
    from siemc.compile.build import compile_detection, load_all
    from siemc.compile.correlation import Correlation
    from siemc.verify.ruletest import (
        CorrelationTestOutcome,
        TestOutcome,
        load_target_engines,
        run_correlation_tests,
        run_rule_tests,
    )

    selected = target or list(TARGET_NAMES)
    _check_targets(selected)
    sources = paths or [Path("detections")]
    site = _site(config, placeholder, sources)
    if site.filters:
        _warn_unused_filters(site, _rule_texts(sources))
    detections, diagnostics = load_all(sources, site)
    _report(diagnostics)
    engines = None if reference_only else load_target_engines()
    if engines is None and not reference_only:
        typer.echo(
            "note: the reference evaluator only: the engines that run each target's query (Kusto.Language,"
            " duckdb-kql, eql, siemc's language models) ship with siemc's source tree, not with the"
            " installed package; `siemc test` in a siemc checkout also runs them",
            err=True,
        )
    targets = selected if engines is not None else []
    failed, total = 0, 0
    rows: list[list[str]] = []
    for detection in detections:
        outcomes: Sequence[TestOutcome | CorrelationTestOutcome]
        if isinstance(detection, Correlation):
            outcomes = run_correlation_tests(detection, targets, engines, compile_detection)
        else:
            outcomes = run_rule_tests(detection, targets, engines, compile_detection)
        total += len(outcomes)
        failed += sum(not outcome.passed for outcome in outcomes)
        if matrix:
            cells = [f"{sum(o.reference_error is None for o in outcomes)}/{len(outcomes)}"]
            for name in targets:
                verdicts = [o.targets[name][0] for o in outcomes]
                special = {v for v in verdicts if v in ("unsupported", "rejected", "n/a")}
                cells.append(special.pop() if special else f"{verdicts.count('ok')}/{len(verdicts)}")
            rows.append([detection.stem, *cells])
            continue
        for outcome in outcomes:
            problems = [f"reference: {outcome.reference_error}"] if outcome.reference_error else []
            problems += [f"{name}: {v} {d}".rstrip() for name, (v, d) in outcome.targets.items() if v != "ok"]
            status = "pass" if outcome.passed else "FAIL"
            rows.append([status, detection.stem, outcome.test.name, "; ".join(problems)])
    header = ["rule", "reference", *targets] if matrix else ["result", "rule", "test", "notes"]
    _print_table(header, rows)
    scope = f"on the reference and {len(targets)} target(s)" if targets else "on the reference evaluator only"
    typer.echo(f"{total} test(s) {scope}, {failed} failed", err=True)
    if failed or diagnostics:
        raise typer.Exit(EXIT_RULE_ERROR)


def _rule_library(path: Path, site: SiteConfig) -> Callable[[str], tuple[Path, str] | None]:
    """Where a correlation rule named alone finds the rules it references: the rule files under the
    folder of the site's siemc.yml, else under the rule's own folder."""
    from siemc.compile.correlation import folder_library

    root = site.path.parent if site.path is not None else path.parent
    return folder_library([root])


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)] + [row[-1]]
        typer.echo("  ".join(cells).rstrip())


@app.command("eval")
def eval_rule(
    rule: Annotated[Path, typer.Argument(help="The rule file.")],
    events: Annotated[
        Path,
        typer.Option(
            "--events", "-e", help="Events: a JSON array, JSON lines or event-log records (JSON or XML)."
        ),
    ],
    placeholder: PlaceholderOption = None,
    config: ConfigOption = None,
) -> None:
    """Print each event the rule matches as JSON: its index (from 0) and its derived columns.

    For a correlation rule, each event carries its `time` (ISO 8601) and may carry `rule` (the base
    rule whose log source it comes from); each group the rule reports is printed instead: its
    group-by values and the aggregate that satisfied the condition."""
    import json

    from siemc.compile.correlation import Correlation, load_rule_file
    from siemc.diagnostics import locate_message
    from siemc.verify.evaluate import Evaluator
    from siemc.verify.events import load_events, log_source_filter

    site = _site(config, placeholder, [rule])
    try:
        loaded_rule = load_rule_file(rule, site, _rule_library(rule, site))
        if isinstance(loaded_rule, Correlation):
            _eval_correlation(loaded_rule, events)
            return
        detection = loaded_rule
        evaluator = Evaluator.for_detection(detection, site.evaluation_values())
    except SiemcError as error:
        line = error.line
        if line is None and rule.is_file():
            line = locate_message(rule.read_text(encoding="utf-8", errors="replace"), error.message)
        _report([Diagnostic(rule, error.message, line)])
        raise typer.Exit(EXIT_RULE_ERROR) from None
    try:
        loaded = load_events(events)
    except SiemcError as error:
        _report([Diagnostic(events, error.message, error.line)])
        raise typer.Exit(EXIT_RULE_ERROR) from None
    # Event-log records carry their channel and event id: keep those the rule's log source covers.
    accept = log_source_filter(detection.sigma.logsource)
    for match in evaluator.evaluate(loaded.events, accept):
        fields = dict(sorted(match.fields.items()))
        typer.echo(json.dumps({"index": match.index, "fields": fields}))


def _eval_correlation(correlation: Any, events: Path) -> None:
    """`siemc eval` of a correlation rule: the groups it reports over timestamped events."""
    import json

    from siemc.compile.correlation import event_time
    from siemc.verify.correlate import correlate
    from siemc.verify.events import load_events

    try:
        loaded = load_events(events)
    except SiemcError as error:
        _report([Diagnostic(events, error.message, error.line)])
        raise typer.Exit(EXIT_RULE_ERROR) from None
    plain, times, tags = [], [], []
    references = {base.reference for base in correlation.bases}
    for index, event in enumerate(loaded.events):
        event = dict(event)
        stamp = event_time(event.pop("time", None))
        tag = event.pop("rule", None)
        if stamp is None or (tag is not None and tag not in references):
            why = (
                "has no `time` (ISO 8601)" if stamp is None else f"names no rule of the correlation: {tag!r}"
            )
            _report([Diagnostic(events, f"event {index} {why}")])
            raise typer.Exit(EXIT_RULE_ERROR)
        plain.append(event)
        times.append(stamp)
        tags.append(tag)
    for group in correlate(correlation, plain, times, tags):
        typer.echo(json.dumps({"group": dict(group.key), "value": group.value}))


def _epoch(paths: list[Path]) -> int:
    """The archives' file time: SOURCE_DATE_EPOCH, else the last commit's time, else 0."""
    import subprocess

    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    folder = paths[0] if paths and paths[0].is_dir() else (paths[0].parent if paths else Path("."))
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "log", "-1", "--format=%ct"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return 0
    return int(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip().isdigit() else 0


@app.command("bundle")
def bundle_command(
    version: Annotated[str, typer.Option("--version", "-V", help="The bundle's version, e.g. a tag.")],
    paths: RulePaths = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder of the bundle and its archives.")] = Path(
        "dist"
    ),
    lock: LockOption = None,
    jobs: JobsOption = None,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = Path(".siemc-cache"),
    config: ConfigOption = None,
    placeholder: PlaceholderOption = None,
) -> None:
    """Write every rule's queries and SIEM artifacts, a manifest, SHA256SUMS and archives."""
    from siemc.release.bundle import BundleRefused, bundle
    from siemc.release.lock import default_lock_path

    sources = _rule_sources(paths)
    site = _site(config, placeholder, sources)
    lock_path = lock or default_lock_path(sources)
    try:
        result = bundle(
            sources,
            version,
            out,
            lock_path=lock_path,
            site=site,
            jobs=jobs or os.cpu_count() or 1,
            cache_dir=None if no_cache else cache_dir,
            epoch=_epoch(sources),
        )
    except BundleRefused as error:
        typer.echo(f"error: {error.message}", err=True)
        for line in error.changes.lines():
            typer.echo(f"{lock_path}: {line}", err=True)
        raise typer.Exit(EXIT_RULE_ERROR) from None
    except SiemcError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(EXIT_RULE_ERROR) from None
    _report(result.diagnostics)
    for warning in result.warnings:
        typer.echo(str(warning), err=True)
    state = "unchanged" if result.reused else "written"
    typer.echo(f"{result.folder}: {result.rules} rule(s), {result.files} file(s), {state}", err=True)
    for archive in result.archives:
        typer.echo(str(archive))
    if result.diagnostics:
        raise typer.Exit(EXIT_RULE_ERROR)


@app.command("lock")
def lock_command(
    paths: RulePaths = None,
    bump: Annotated[
        bool, typer.Option("--bump", help="Raise the version of every changed rule and rewrite the lock.")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1, naming every rule, when the lock is out of date.")
    ] = False,
    lock: LockOption = None,
    jobs: JobsOption = None,
    cache_dir: CacheDirOption = Path(".siemc-cache"),
    config: ConfigOption = None,
    placeholder: PlaceholderOption = None,
) -> None:
    """Compare the rules' outputs with the version lock; --bump versions the changed rules."""
    from siemc.compile.build import build as run_build
    from siemc.release.lock import bumped, compare, current_outputs, default_lock_path, load_lock, write_lock

    if bump and check:
        _fail_usage("--bump and --check exclude each other")
    sources = _rule_sources(paths)
    site = _site(config, placeholder, sources)
    lock_path = lock or default_lock_path(sources)
    result = run_build(
        sources,
        TARGET_NAMES,
        cache_dir / "bundle-build",
        jobs=jobs or os.cpu_count() or 1,
        cache_dir=cache_dir,
        site=site,
    )
    _report(result.diagnostics)
    try:
        locked = load_lock(lock_path)
    except SiemcError as error:
        _report([Diagnostic(lock_path, error.message, error.line)])
        raise typer.Exit(EXIT_RULE_ERROR) from None
    current = current_outputs(result, lock_path)
    changes = compare(locked, current)
    for line in changes.lines():
        typer.echo(f"{lock_path}: {line}", err=not bump)
    if bump:
        new = bumped(locked, current)
        write_lock(lock_path, new)
        raised = [f"{name} {locked[name].version} -> {new[name].version}" for name in changes.changed]
        typer.echo(
            f"{lock_path}: {len(raised)} version(s) raised, {len(changes.added)} added, "
            f"{len(changes.removed)} removed",
            err=True,
        )
        return
    if changes.clean:
        typer.echo(f"{lock_path}: up to date ({len(current)} rule(s))", err=True)
        return
    if check or not changes.clean:
        raise typer.Exit(EXIT_RULE_ERROR)


@app.command("report")
def report_command(
    paths: RulePaths = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder of the page, the ATT&CK layer and the queries.")
    ] = ...,  # type: ignore[assignment]
    target: Annotated[
        list[str] | None, typer.Option("--target", "-t", help="Report only this target (repeatable).")
    ] = None,
    tests: Annotated[
        bool, typer.Option("--tests", help="Run the rules' siemc.tests on each target's engine too.")
    ] = False,
    jobs: JobsOption = None,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = Path(".siemc-cache"),
    config: ConfigOption = None,
    placeholder: PlaceholderOption = None,
) -> None:
    """Write a static review page (rules x targets) and an ATT&CK Navigator layer of the build."""
    from siemc.review.report import report

    selected = target or list(TARGET_NAMES)
    _check_targets(selected)
    sources = _rule_sources(paths)
    site = _site(config, placeholder, sources)
    progress = _ProgressBar() if sys.stderr.isatty() else None
    try:
        result = report(
            sources,
            out,
            selected,
            run_rule_tests=tests,
            site=site,
            jobs=jobs or os.cpu_count() or 1,
            cache_dir=None if no_cache else cache_dir,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.close()
    _report(result.build.diagnostics)
    _report(result.diagnostics)
    _print_summary(result.build.summary())
    if tests:
        typer.echo(f"{len(result.tests)} rule(s) with tests, {result.failed_tests} failing test(s)", err=True)
    typer.echo(str(result.page))
    typer.echo(str(result.layer))
    if result.build.diagnostics or result.diagnostics or result.failed_tests:
        raise typer.Exit(EXIT_RULE_ERROR)


class DiffFormat(StrEnum):
    """How `diff` prints the comparison."""

    TEXT = "text"  # unified diffs, one per output
    MARKDOWN = "markdown"  # a pull-request comment: summary tables and collapsed diffs
    JSON = "json"  # the documented structure of siemc.review.diff


@app.command("diff")
def diff_command(
    arguments: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[BASE] [HEAD] [PATH]...",
            help="Revisions (BASE default: the merge base of HEAD with the default branch; HEAD default: "
            "the working tree), then rule files or folders (default: detections/).",
        ),
    ] = None,
    output_format: Annotated[
        DiffFormat, typer.Option("--format", help="text (unified diffs), markdown or json.")
    ] = DiffFormat.TEXT,
    stat: Annotated[bool, typer.Option("--stat", help="One line per output file, no diff.")] = False,
    toolchain_too: Annotated[
        bool,
        typer.Option(
            "--toolchain-too", help="Compile each revision with its own siemc, mappings and templates."
        ),
    ] = False,
    target: Annotated[
        list[str] | None, typer.Option("--target", "-t", help="Compare only this target (repeatable).")
    ] = None,
    jobs: JobsOption = None,
    cache_dir: Annotated[
        Path, typer.Option("--cache-dir", help="Folder of the build cache and the extracted revisions.")
    ] = Path(".siemc-cache"),
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Site configuration for both revisions (default: each revision's own siemc.yml).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Compare the queries generated at two revisions, rule by rule and target by target.

    Exit 0 when nothing changed, 1 when something did, 2 on an error.
    """
    from siemc.review.diff import compare, render
    from siemc.review.errors import ReviewError

    selected = target or list(TARGET_NAMES)
    _check_targets(selected)
    site = _site(config, None, []) if config is not None else None
    try:
        comparison = compare(
            arguments or [],
            targets=selected,
            toolchain_too=toolchain_too,
            cache_dir=cache_dir,
            config=site,
            config_path=config.resolve() if config is not None else None,
            jobs=jobs or os.cpu_count() or 1,
        )
    except ReviewError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    for note in comparison.notes:
        typer.echo(f"note: {note}", err=True)
    sys.stdout.write(render(comparison, output_format.value, stat))
    if output_format is DiffFormat.TEXT and not (stat and comparison.changes):  # --stat ends with it
        summary = comparison.summary() if comparison.changes else "no generated query changes"
        typer.echo(f"{comparison.base.label} -> {comparison.head.label}: {summary}", err=True)
    if comparison.changes:
        raise typer.Exit(EXIT_RULE_ERROR)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
