"""The benchmark baseline: `sigma convert` for one target, carried on past a rule the backend rejects.

Runs in bench/.venv (sigma-cli and the public backends). It does what `sigma convert -t T -p P -s
RULES -o FILE` does, with sigma-cli's own objects: the installed-plugin registry, its pipeline
resolver and its rule loader, a backend with `collect_errors`, `Backend.convert`'s steps (pipeline
initialisation, rule references, one `convert_rule` per rule, `finalize`) and the same output
file. The one difference: `sigma convert` stops at the first rule whose conversion raises
NotImplementedError (which `--skip-unsupported` does not catch; it ends 4 of the 7 runs on the
SigmaHQ corpus early), whereas this counts such a rule as failed and goes on, so every backend
does the whole corpus and the timing compares like with like.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-t", "--target", required=True)
    parser.add_argument("-p", "--pipeline", required=True)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("rules", type=Path)
    args = parser.parse_args()

    from sigma.cli.convert import backends, pipeline_resolver
    from sigma.cli.rules import load_rules
    from sigma.rule import SigmaRule

    pipeline = pipeline_resolver.resolve([args.pipeline], args.target)
    backend: Any = backends[args.target](processing_pipeline=pipeline, collect_errors=True)
    collection = load_rules([args.rules], "*.yml")
    output_format = backend.default_format
    backend.init_processing_pipeline(output_format)
    collection.resolve_rule_references()
    queries: list[Any] = []
    failed = 0
    for rule in collection.rules:
        if not isinstance(rule, SigmaRule):
            continue
        try:
            queries.extend(backend.convert_rule(rule, output_format))
        except Exception:  # NotImplementedError and the like: one rule fails, as in siemc
            failed += 1
    result = backend.finalize(queries, output_format)
    with args.output.open("w", encoding="utf-8") as stream:
        if isinstance(result, str):
            stream.write(result)
        else:
            stream.write("\n\n".join(str(item) for item in result))
    rejected = failed + len(backend.errors)
    print(f"{args.target}: {len(queries)} queries, {rejected} rules rejected", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
