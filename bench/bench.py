"""Build-speed benchmark: siemc against the seven public pySigma backends run the way sigma-cli runs them.

Measures, on the SigmaHQ corpus read from ../shared at run time:
  - siemc cold build of the corpus for all seven targets (no cache, fresh output folder), median of N;
  - the no-op rebuild with the cache (nothing changed), median of N;
  - peak memory of the whole process tree (siemc and its workers; RSS summed, sampled);
  - `siemc convert` of one rule, cold process, median of N;
  - `siemc diff` on the corpus in a temporary git repository whose last commit changes one rule:
    the first comparison (cold: empty cache, the base revision extracted and both sides built), then
    the warm one a reviewer runs again, median of N;
  - `siemc bundle` of the corpus with a cold cache (against the cold build: the goal is at most 1.5x)
    and a second bundle with nothing changed, median of N (the lock is written first, not timed);
  - growth of the build time with the number of rules (500, 1,000, 2,000, all) and of targets (1, 3, 7);
  - the baseline: sigma-cli's conversion once per target, one process each, with the public backend
    and pipeline of each SIEM (bench/baseline_convert.py in bench/.venv, set up by `make bench`: it
    runs `sigma convert`'s steps but goes on past a rule its backend rejects, where `sigma convert`
    would stop), median of M runs (default 1: it takes a minute or more).
Wall time and CPU time (user + system of the whole process tree) are both recorded: on a shared,
busy machine the CPU ratio is the steadier comparison. Prints a markdown table and writes
bench/results.json. Coverage grows as mappings are added, so every figure is stored next to the
per-target converted/unsupported/failed counts it was measured with.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SIEMC = REPO / ".venv" / "bin" / "siemc"
BASELINE_PYTHON = REPO / "bench" / ".venv" / "bin" / "python"
BASELINE_SCRIPT = REPO / "bench" / "baseline_convert.py"
DEFAULT_RULES = REPO.parent / "shared" / "sigmahq" / "rules"
CONVERT_RULE = Path("detections") / "t1219_remote_access_tools.yml"
ALL_TARGETS = ("kql", "spl", "eql", "aql", "sumo", "yaral", "logscale")
TARGET_SUBSETS = (("kql",), ("kql", "spl", "eql"), ALL_TARGETS)
RULE_COUNTS = (500, 1000, 2000)
# sigma-cli target and processing pipeline per siemc target: the public backend for the same SIEM.
BASELINE = {
    "kql": ("kusto", "microsoft_xdr"),
    "spl": ("splunk", "splunk_windows"),
    "eql": ("eql", "ecs_windows"),
    "aql": ("qradar-aql-community", "qradar-aql-fields"),
    "sumo": ("sumologic_cse", "sumologic_cse"),
    "yaral": ("secops", "secops_udm"),
    "logscale": ("log_scale", "crowdstrike_falcon"),
}
GOALS = {
    "speedup": 5.0,
    "noop_seconds": 1.0,
    "peak_mb": 400.0,
    "convert_seconds": 0.4,
    "diff_warm_seconds": 3.0,
    "bundle_vs_cold_build": 1.5,
    "bundle_unchanged_seconds": 2.0,
}
GIT_IDENTITY = (
    "-c",
    "user.name=siemc bench",
    "-c",
    "user.email=bench@siemc.invalid",
    "-c",
    "commit.gpgsign=false",
)


@dataclass
class Run:
    seconds: float
    cpu_seconds: float  # user + system time of the command and every process it waited for
    peak_mb: float
    exit_code: int
    stderr: str


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:  # the process ended between two samples
        return found
    for task in tasks:
        try:
            found += [int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def _tree_rss_kb(root: int) -> int:
    """Resident memory of a process and all its descendants, in kB (Linux /proc)."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
        pending += _children(pid)
    return total


def measure(command: Sequence[str | Path], cwd: Path = REPO) -> Run:
    """Wall time and peak tree memory of one command; its stdout is discarded."""
    peak = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(
        [str(part) for part in command], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    stderr_chunks: list[bytes] = []
    assert process.stderr is not None
    reader = threading.Thread(target=lambda: stderr_chunks.append(process.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    while process.poll() is None:
        peak = max(peak, _tree_rss_kb(process.pid))
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    reader.join()
    stderr = b"".join(stderr_chunks).decode(errors="replace")
    return Run(seconds, cpu, peak / 1024, process.returncode, stderr)


def median_run(
    command: Sequence[str | Path], runs: int, prepare: Any = None, cwd: Path = REPO
) -> dict[str, Any]:
    results: list[Run] = []
    for _ in range(runs):
        if prepare:
            prepare()
        results.append(measure(command, cwd))
    return {
        "seconds": round(statistics.median(r.seconds for r in results), 3),
        "all_seconds": [round(r.seconds, 3) for r in results],
        "cpu_seconds": round(statistics.median(r.cpu_seconds for r in results), 3),
        "peak_mb": round(max(r.peak_mb for r in results), 1),
        "exit_code": results[-1].exit_code,
        "stderr": results[-1].stderr,
    }


def summary_counts(stderr: str) -> dict[str, dict[str, int]]:
    """The per-target table `siemc build` prints at the end of stderr."""
    counts: dict[str, dict[str, int]] = {}
    for line in stderr.splitlines():
        cells = line.split()
        if len(cells) == 4 and cells[0] in ALL_TARGETS and all(c.isdigit() for c in cells[1:]):
            counts[cells[0]] = dict(
                zip(("converted", "unsupported", "failed"), map(int, cells[1:]), strict=True)
            )
    return counts


def rule_subset(rules: list[Path], root: Path, count: int, folder: Path) -> Path:
    """Links to `count` rules spread evenly over the corpus (so the mix of log sources and rule sizes
    is that of the whole), keeping their relative paths."""
    for index in range(count):
        rule = rules[index * len(rules) // count]
        link = folder / rule.relative_to(root)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(rule.resolve())
    return folder


def siemc_build(rules: Path, out: Path, targets: Sequence[str], *extra: str | Path) -> list[str | Path]:
    command: list[str | Path] = [SIEMC, "build", rules, "--out", out, "--unsupported", "ignore", *extra]
    for target in targets:
        command += ["--target", target]
    return command


def fresh(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def run_baseline(rules: Path, work: Path, runs: int) -> dict[str, Any]:
    per_target: dict[str, Any] = {}
    for target, (backend, pipeline) in BASELINE.items():
        output = work / f"baseline-{target}.txt"
        command: list[str | Path] = [BASELINE_PYTHON, BASELINE_SCRIPT, "-t", backend, "-p", pipeline]
        result = median_run([*command, "-o", output, rules], runs)
        stderr = result["stderr"].strip()
        per_target[target] = {
            "backend": backend,
            "pipeline": pipeline,
            "seconds": result["seconds"],
            "cpu_seconds": result["cpu_seconds"],
            "all_seconds": result["all_seconds"],
            "peak_mb": result["peak_mb"],
            "exit_code": result["exit_code"],
            "outcome": stderr.splitlines()[-1] if stderr else "",
        }
        print(f"  baseline {target:<9} {backend:<21} {result['seconds']:7.2f} s", file=sys.stderr)
        if result["exit_code"] != 0:
            print(stderr[-2000:], file=sys.stderr)
    return {
        "total_seconds": round(sum(t["seconds"] for t in per_target.values()), 3),
        "total_cpu_seconds": round(sum(t["cpu_seconds"] for t in per_target.values()), 3),
        "targets": per_target,
    }


def diff_repository(rules_root: Path, folder: Path) -> tuple[Path, str]:
    """A git repository holding the corpus in rules/ on main, checked out on a branch whose one commit
    changes the title of one process-creation rule (the first, in path order): that rule's output
    changes on every target that shows the title, nothing else."""
    repo = folder / "diff-repo"
    shutil.copytree(rules_root, repo / "rules")

    def git(*args: str) -> None:
        subprocess.run(["git", *GIT_IDENTITY, *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "the corpus")
    git("checkout", "-q", "-b", "change")
    for rule in sorted(p for p in (repo / "rules").rglob("*.yml") if "process_creation" in p.parts):
        lines = rule.read_text(encoding="utf-8").splitlines(keepends=True)
        titles = [i for i, line in enumerate(lines) if line.startswith("title: ") and line[7] not in "'\""]
        if titles:  # a plain title: text appended to it stays valid YAML
            lines[titles[0]] = lines[titles[0]].rstrip("\n") + " (changed)\n"
            rule.write_text("".join(lines), encoding="utf-8")
            break
    git("commit", "-q", "-a", "-m", "one rule changed")
    return repo, rule.relative_to(repo).as_posix()


def run_diff(rules_root: Path, work: Path, runs: int) -> dict[str, Any]:
    """`siemc diff rules` (BASE: the merge base with main; HEAD: the working tree), cold then warm."""
    repo, changed = diff_repository(rules_root, work)
    cache = work / "diff-cache"
    command: list[str | Path] = [SIEMC, "diff", "rules", "--stat", "--cache-dir", cache]
    cold = median_run(command, 1, cwd=repo)
    warm = median_run(command, runs, cwd=repo)
    listing = subprocess.run([str(part) for part in command], cwd=repo, capture_output=True, text=True)
    return {
        "changed_rule": changed,
        "cold": without_stderr(cold),
        "warm": without_stderr(warm),
        "exit_code": listing.returncode,  # 1: outputs differ
        "summary": listing.stdout.strip().splitlines()[-1] if listing.stdout.strip() else "",
    }


def run_bundle(rules_root: Path, work: Path, runs: int, cold_build_seconds: float) -> dict[str, Any]:
    """`siemc bundle` of the corpus: cold (empty cache and output), then again with nothing changed."""
    lock, cache, dist = work / "bundle.lock.json", work / "bundle-cache", work / "dist"
    measure([SIEMC, "lock", rules_root, "--bump", "--lock", lock, "--cache-dir", work / "lock-cache"])
    command: list[str | Path] = [
        SIEMC,
        "bundle",
        "--version",
        "1.0.0",
        rules_root,
        "--lock",
        lock,
        "--cache-dir",
        cache,
        "--out",
        dist,
    ]

    def empty() -> None:
        fresh(cache)
        fresh(dist)

    cold = median_run(command, 1, empty)
    unchanged = median_run(command, runs)
    return {
        "cold": without_stderr(cold),
        "unchanged": without_stderr(unchanged),
        "cold_vs_cold_build": round(cold["seconds"] / cold_build_seconds, 2),
    }


def without_stderr(run: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in run.items() if key != "stderr"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="Sigma rule folder")
    parser.add_argument("--runs", type=int, default=3, help="runs per siemc measurement (median)")
    parser.add_argument("--baseline-runs", type=int, default=1, help="runs of each baseline conversion")
    parser.add_argument("--no-baseline", action="store_true", help="skip the sigma-cli baseline")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results.json")
    args = parser.parse_args(argv)

    if not SIEMC.exists():
        parser.error(f"{SIEMC} is missing: run `make setup` first")
    if not args.no_baseline and not BASELINE_PYTHON.exists():
        parser.error(f"{BASELINE_PYTHON} is missing: run `make bench` (it sets up bench/.venv)")
    rules_root: Path = args.rules.resolve()
    rules = sorted(p for p in rules_root.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
    runs: int = args.runs
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "rules": len(rules),
        "runs": runs,
    }

    with tempfile.TemporaryDirectory(prefix="siemc-bench-") as temporary:
        work = Path(temporary)
        out, cache = work / "out", work / "cache"

        print(f"siemc cold build: {len(rules)} rules x 7 targets, {runs} run(s)", file=sys.stderr)
        cold = median_run(siemc_build(rules_root, out, ALL_TARGETS, "--no-cache"), runs, lambda: fresh(out))
        results["cold"] = without_stderr(cold)
        results["coverage"] = summary_counts(cold["stderr"])

        print("siemc no-op rebuild with the cache", file=sys.stderr)
        fresh(out)
        measure(siemc_build(rules_root, out, ALL_TARGETS, "--cache-dir", cache))  # fills the cache
        noop = median_run(siemc_build(rules_root, out, ALL_TARGETS, "--cache-dir", cache), runs)
        results["noop"] = without_stderr(noop)

        print("siemc convert, one rule, cold process", file=sys.stderr)
        convert = median_run([SIEMC, "convert", CONVERT_RULE, "--target", "kql"], max(runs, 5))
        results["convert"] = without_stderr(convert)

        print("siemc diff: the corpus in a git repository, one rule changed, cold then warm", file=sys.stderr)
        results["diff"] = run_diff(rules_root, work, runs)

        print("siemc bundle: the corpus, cold then with nothing changed", file=sys.stderr)
        results["bundle"] = run_bundle(rules_root, work, runs, cold["seconds"])

        print("scaling with the number of rules and of targets", file=sys.stderr)
        by_rules: list[dict[str, Any]] = []
        for count in [c for c in RULE_COUNTS if c < len(rules)]:
            subset = rule_subset(rules, rules_root, count, work / f"rules-{count}")
            timed = median_run(siemc_build(subset, out, ALL_TARGETS, "--no-cache"), runs, lambda: fresh(out))
            by_rules.append(
                {"rules": count, "seconds": timed["seconds"], "cpu_seconds": timed["cpu_seconds"]}
            )
        by_rules.append({"rules": len(rules), "seconds": cold["seconds"], "cpu_seconds": cold["cpu_seconds"]})
        for row in by_rules:
            row["cpu_ms_per_rule"] = round(1000 * row["cpu_seconds"] / row["rules"], 2)
        by_targets: list[dict[str, Any]] = []
        for subset_targets in TARGET_SUBSETS[:-1]:
            command = siemc_build(rules_root, out, subset_targets, "--no-cache")
            timed = median_run(command, runs, lambda: fresh(out))
            by_targets.append(
                {
                    "targets": len(subset_targets),
                    "seconds": timed["seconds"],
                    "cpu_seconds": timed["cpu_seconds"],
                }
            )
        by_targets.append(
            {"targets": len(ALL_TARGETS), "seconds": cold["seconds"], "cpu_seconds": cold["cpu_seconds"]}
        )
        results["scaling"] = {"rules": by_rules, "targets": by_targets}

        if not args.no_baseline:
            print(
                f"baseline: sigma-cli conversion once per target, {args.baseline_runs} run(s)",
                file=sys.stderr,
            )
            results["baseline"] = run_baseline(rules_root, work, args.baseline_runs)
            results["baseline"]["runs"] = args.baseline_runs
            results["speedup"] = round(results["baseline"]["total_seconds"] / cold["seconds"], 2)
            results["cpu_ratio"] = round(results["baseline"]["total_cpu_seconds"] / cold["cpu_seconds"], 2)

    bundle = results["bundle"]
    results["goals"] = {
        "speedup_5x": results["speedup"] >= GOALS["speedup"] if "speedup" in results else None,
        "noop_under_1s": noop["seconds"] < GOALS["noop_seconds"],
        "peak_under_400mb": cold["peak_mb"] < GOALS["peak_mb"],
        "convert_under_0_4s": convert["seconds"] < GOALS["convert_seconds"],
        "diff_warm_under_3s": results["diff"]["warm"]["seconds"] < GOALS["diff_warm_seconds"],
        "bundle_under_1_5x_cold_build": bundle["cold_vs_cold_build"] <= GOALS["bundle_vs_cold_build"],
        "bundle_unchanged_under_2s": bundle["unchanged"]["seconds"] < GOALS["bundle_unchanged_seconds"],
    }
    args.results.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(markdown(results))
    return 0


def markdown(results: dict[str, Any]) -> str:
    cold = results["cold"]
    lines = [
        f"## siemc build benchmark ({results['rules']} rules, {results['machine']['cpus']} CPUs, "
        f"median of {results['runs']})",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
    ]
    if "baseline" in results:
        baseline = results["baseline"]
        lines.append(
            f"| baseline: sigma-cli conversion, 7 targets, one process each (median of {baseline['runs']}) "
            f"| {baseline['total_seconds']:.2f} s wall, {baseline['total_cpu_seconds']:.1f} s CPU | |"
        )
    lines.append(
        f"| siemc cold build, 7 targets, no cache "
        f"| {cold['seconds']:.2f} s wall, {cold['cpu_seconds']:.1f} s CPU | |"
    )
    if "speedup" in results:
        lines.append(f"| speed-up, wall (baseline / siemc) | {results['speedup']:.1f}x | >= 5x |")
        lines.append(f"| CPU ratio (baseline / siemc) | {results['cpu_ratio']:.1f}x | |")
    lines.append(f"| no-op rebuild with cache | {results['noop']['seconds']:.2f} s | < 1 s |")
    lines.append(f"| peak memory, cold build (process tree, RSS sum) | {cold['peak_mb']:.0f} MB | < 400 MB |")
    lines.append(
        f"| `siemc convert` one rule, cold process | {results['convert']['seconds']:.2f} s | < 0.4 s |"
    )
    diff = results["diff"]
    lines.append(
        f"| `siemc diff`, corpus in git, one rule changed: cold (empty cache) "
        f"| {diff['cold']['seconds']:.2f} s wall, {diff['cold']['cpu_seconds']:.1f} s CPU | |"
    )
    lines.append(
        f"| `siemc diff`, the same comparison warm "
        f"| {diff['warm']['seconds']:.2f} s wall, {diff['warm']['cpu_seconds']:.2f} s CPU | < 3 s |"
    )
    bundle = results["bundle"]
    lines.append(
        f"| `siemc bundle`, corpus, cold (empty cache) "
        f"| {bundle['cold']['seconds']:.2f} s wall, {bundle['cold_vs_cold_build']:.2f}x the cold build "
        f"| <= 1.5x |"
    )
    lines.append(f"| `siemc bundle`, nothing changed | {bundle['unchanged']['seconds']:.2f} s wall | < 2 s |")
    lines += ["", "| rules (7 targets) | wall s | CPU s | CPU ms per rule |", "|---|---|---|---|"]
    lines += [
        f"| {r['rules']} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} | {r['cpu_ms_per_rule']:.2f} |"
        for r in results["scaling"]["rules"]
    ]
    lines += ["", "| targets (all rules) | wall s | CPU s |", "|---|---|---|"]
    lines += [
        f"| {r['targets']} | {r['seconds']:.2f} | {r['cpu_seconds']:.2f} |"
        for r in results["scaling"]["targets"]
    ]
    lines += [
        "",
        "| target | siemc converted | unsupported | failed | baseline wall s | baseline outcome |",
        "|---|---|---|---|---|---|",
    ]
    for target, counts in results["coverage"].items():
        row = results.get("baseline", {}).get("targets", {}).get(target)
        seconds = f"{row['seconds']:.2f}" if row else "-"
        outcome = row["outcome"] if row else "-"
        lines.append(
            f"| {target} | {counts['converted']} | {counts['unsupported']} | {counts['failed']} "
            f"| {seconds} | {outcome} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
