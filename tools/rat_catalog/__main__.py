"""python -m tools.rat_catalog {validate | lists [--check] | import-lolrmm PATH [--commit SHA]}."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .catalog import CATALOG, Catalog, build_lists, render_list, validate, write_lists


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.rat_catalog", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("validate", help="check every catalog file; one line per problem")
    lists = commands.add_parser("lists", help="write detections/catalog/lists/ from the catalog")
    lists.add_argument("--check", action="store_true", help="fail when the committed lists differ")
    importer = commands.add_parser("import-lolrmm", help="import a local LOLRMM checkout")
    importer.add_argument("checkout", type=Path)
    importer.add_argument("--commit", help="the checkout's commit (default: git rev-parse HEAD in it)")
    args = parser.parse_args(argv)

    if args.command == "import-lolrmm":
        from .importer import import_lolrmm, report_header

        report = import_lolrmm(args.checkout, args.commit)
        text = report.render(report_header(args.checkout, args.commit))
        (CATALOG / "lolrmm-import-report.txt").write_text(text, encoding="utf-8")
        print(text, end="")
        return 0
    catalog = Catalog.load()
    errors = validate(catalog)
    for error in errors:
        print(error, file=sys.stderr)
    if args.command == "validate" or errors:
        print(f"{len(catalog.tools)} tools, {len(catalog.in_scope())} in scope; {len(errors)} problems")
        return 1 if errors else 0
    if args.check:
        stale = [
            entry.name
            for entry in build_lists(catalog)
            if not (CATALOG / "lists" / entry.name).exists()
            or (CATALOG / "lists" / entry.name).read_text(encoding="utf-8") != render_list(entry)
        ]
        for name in stale:
            print(f"lists/{name} is out of date: run python -m tools.rat_catalog lists", file=sys.stderr)
        return 1 if stale else 0
    for path in write_lists(catalog):
        print(path.relative_to(CATALOG.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
