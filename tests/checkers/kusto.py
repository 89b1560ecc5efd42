"""Real KQL checkers for generated queries.

Two independent third-party tools, so a query the compiler emits is judged by
something other than the compiler's own idea of KQL:

* :class:`KustoLanguage` — Microsoft's Kusto.Language parser and semantic
  analyzer (the engine behind the Kusto editors), run in one long-lived Node
  process over ``node/kusto_check.js``. It knows the Microsoft Defender XDR
  advanced-hunting tables from ``defender_xdr_schema.json``, so it reports
  syntax errors, unknown columns (``KS142``) and type errors (``KS106``...).
* :func:`run_kql` — executes a query with duckdb-kql over small in-memory
  tables shaped like the same schema, to check what a query *matches*.

Neither is available everywhere: :class:`KustoLanguageUnavailable` is raised
when node or the npm package is missing (``make setup`` installs both), and
tests are expected to skip on it.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

__all__ = [
    "DEFENDER_XDR_SCHEMA_PATH",
    "KustoDiagnostic",
    "KustoLanguage",
    "KustoLanguageUnavailable",
    "defender_xdr_schema",
    "kusto_language",
    "run_kql",
]

CHECKERS_DIR: Final = Path(__file__).resolve().parent
NODE_DIR: Final = CHECKERS_DIR / "node"
KUSTO_CHECK_SCRIPT: Final = NODE_DIR / "kusto_check.js"
KUSTO_PACKAGE_DIR: Final = NODE_DIR / "node_modules" / "@kusto" / "language-service-next"
DEFENDER_XDR_SCHEMA_PATH: Final = CHECKERS_DIR / "defender_xdr_schema.json"
SENTINEL_SCHEMA_PATH: Final = CHECKERS_DIR / "sentinel_schema.json"


@functools.cache
def all_tables_schema_path() -> Path:
    """One schema file with the Defender XDR and the Sentinel tables and functions (siemc uses both)."""
    schema = json.loads(DEFENDER_XDR_SCHEMA_PATH.read_text(encoding="utf-8"))
    sentinel = json.loads(SENTINEL_SCHEMA_PATH.read_text(encoding="utf-8"))
    schema["tables"].update(sentinel["tables"])
    schema.setdefault("functions", {}).update(sentinel.get("functions", {}))
    handle, name = tempfile.mkstemp(prefix="siemc-kusto-schema-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(schema, stream)
    atexit.register(os.unlink, name)
    return Path(name)


#: Seconds to wait for the Node process to load Kusto.Language and answer the
#: start-up probe (it takes about one second).
_STARTUP_TIMEOUT: Final = 60.0


class KustoLanguageUnavailable(RuntimeError):
    """Node, the npm package or the checker script is missing, or it failed to start."""


@dataclass(frozen=True)
class KustoDiagnostic:
    """One diagnostic from Kusto.Language, as ``KustoCode.GetDiagnostics()`` gives it."""

    code: str
    """Diagnostic code, e.g. ``KS001`` (syntax), ``KS142`` (unknown name), ``KS106``."""
    severity: str
    """``Error``, ``Warning``, ``Suggestion`` or ``Information``."""
    message: str
    start: int
    """Offset of the offending text in the query."""
    length: int

    @property
    def is_error(self) -> bool:
        return self.severity == "Error"

    def excerpt(self, query: str) -> str:
        """The text of *query* the diagnostic points at (may be empty)."""
        return query[self.start : self.start + self.length]

    def __str__(self) -> str:
        return f"{self.code} {self.severity} at {self.start}+{self.length}: {self.message}"


class KustoLanguage:
    """A Node process running Kusto.Language over the Defender XDR schema.

    Started once and reused: each :meth:`diagnostics` call is one JSON line
    each way. Thread-safe (requests are serialised). Prefer the shared instance
    from :func:`kusto_language`.
    """

    def __init__(self, schema_path: Path | str | None = None) -> None:
        schema_path = schema_path or all_tables_schema_path()
        node = shutil.which("node")
        if node is None:
            raise KustoLanguageUnavailable("`node` is not on PATH; Kusto.Language needs Node.js")
        for required in (
            KUSTO_CHECK_SCRIPT,
            KUSTO_PACKAGE_DIR / "bridge.min.js",
            KUSTO_PACKAGE_DIR / "Kusto.Language.Bridge.min.js",
        ):
            if not required.is_file():
                raise KustoLanguageUnavailable(
                    f"{required} is missing; run `npm ci` in {NODE_DIR} (or `make setup`)"
                )
        self._lock = threading.Lock()
        # Lives as long as the process; closed in close().
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._proc: subprocess.Popen[str] | None = subprocess.Popen(
            [node, str(KUSTO_CHECK_SCRIPT), str(Path(schema_path).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
            cwd=NODE_DIR,
        )
        # Probe once so a broken install fails here, as "unavailable", rather
        # than in the middle of the first test that uses it.
        try:
            probe = self._request("print x = 1", timeout=_STARTUP_TIMEOUT)
        except RuntimeError as exc:
            self.close()
            raise KustoLanguageUnavailable(f"kusto_check.js failed to start: {exc}") from exc
        if probe:
            self.close()
            raise KustoLanguageUnavailable(f"kusto_check.js start-up probe failed: {probe}")

    def diagnostics(self, query: str) -> list[KustoDiagnostic]:
        """Every diagnostic (syntactic and semantic) Kusto.Language reports for *query*."""
        return self._request(query)

    def errors(self, query: str) -> list[KustoDiagnostic]:
        """Only the ``Error``-severity diagnostics for *query*."""
        return [d for d in self._request(query) if d.is_error]

    def close(self) -> None:
        """Stop the Node process. Idempotent."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
            finally:
                if proc.stdout is not None:
                    proc.stdout.close()
                self._stderr.close()

    def __enter__(self) -> KustoLanguage:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _request(self, query: str, timeout: float | None = None) -> list[KustoDiagnostic]:
        with self._lock:
            proc = self._proc
            if proc is None or proc.stdin is None or proc.stdout is None:
                raise RuntimeError("KustoLanguage is closed")
            try:
                proc.stdin.write(json.dumps({"query": query}) + "\n")
                proc.stdin.flush()
                line = _readline(proc.stdout, timeout)
            except (OSError, TimeoutError) as exc:
                raise RuntimeError(f"kusto_check.js: {exc}; stderr: {self._stderr_text()}") from exc
            if not line:
                raise RuntimeError(
                    f"kusto_check.js exited (code {proc.poll()}); stderr: {self._stderr_text()}"
                )
        response = json.loads(line)
        if "error" in response:
            raise RuntimeError(f"kusto_check.js: {response['error']}")
        return [
            KustoDiagnostic(
                code=str(d["code"]),
                severity=str(d["severity"]),
                message=str(d["message"]),
                start=int(d["start"]),
                length=int(d["length"]),
            )
            for d in response["diagnostics"]
        ]

    def _stderr_text(self) -> str:
        try:
            self._stderr.seek(0)
            return self._stderr.read().decode("utf-8", "replace").strip()[-4000:]
        except (OSError, ValueError):
            return "<unavailable>"


def _readline(stream: IO[str], timeout: float | None) -> str:
    """``stream.readline()``, giving up after *timeout* seconds if one is set."""
    if timeout is None:
        return stream.readline()
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        raise TimeoutError(f"no answer within {timeout:.0f}s")
    return result[0]


_shared: KustoLanguage | None = None
_shared_lock = threading.Lock()


def kusto_language() -> KustoLanguage:
    """The process-wide :class:`KustoLanguage`, started on first use, closed at exit.

    Raises :class:`KustoLanguageUnavailable` if it cannot be started.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = KustoLanguage()
            atexit.register(_shared.close)
        return _shared


# --------------------------------------------------------------------------
# Execution with duckdb-kql
# --------------------------------------------------------------------------

#: Kusto scalar type -> DuckDB column type, matching what duckdb-kql's own
#: ``datatable`` produces for each type.
_DUCKDB_TYPES: Final[dict[str, str]] = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "long": "BIGINT",
    "bool": "BOOLEAN",
    "datetime": "TIMESTAMP",
    "timespan": "INTERVAL",
    "dynamic": "JSON",
    "real": "DOUBLE",
    "guid": "UUID",
}

#: Generated Sigma queries can be long ``or`` chains; both DuckDB's expression
#: depth limit (default 1000) and Python's recursion limit (used by the
#: duckdb-kql translator) are raised for them.
_MAX_EXPRESSION_DEPTH: Final = 100_000
_RECURSION_LIMIT: Final = 50_000


@functools.cache
def _load_schema(path: str) -> dict[str, dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    tables: dict[str, dict[str, str]] = data["tables"]
    for table, columns in tables.items():
        for column, kql_type in columns.items():
            if kql_type not in _DUCKDB_TYPES:
                raise ValueError(f"{path}: {table}.{column}: unsupported type {kql_type!r}")
    return tables


def table_columns(table: str) -> dict[str, str]:
    """Column -> Kusto type of one Defender XDR or Sentinel table (empty for an unknown table)."""
    return dict(_load_schema(str(all_tables_schema_path())).get(table, {}))


def defender_xdr_schema() -> dict[str, dict[str, str]]:
    """Table -> column -> Kusto type, from ``defender_xdr_schema.json`` (a fresh copy)."""
    return {t: dict(c) for t, c in _load_schema(str(DEFENDER_XDR_SCHEMA_PATH)).items()}


def _coerce(table: str, column: str, kql_type: str, value: object) -> object:
    """*value* as DuckDB should store it in a column of *kql_type*."""

    def bad() -> TypeError:
        return TypeError(f"{table}.{column} is {kql_type}; got {type(value).__name__} {value!r}")

    if kql_type == "string":
        # Kusto strings are never null: a missing string is "".
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        raise bad()
    if value is None:
        return None
    if kql_type == "datetime":
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError as exc:
                raise bad() from exc
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return value
        raise bad()
    if kql_type == "bool":
        if isinstance(value, bool):
            return value
        raise bad()
    if kql_type in ("int", "long"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad()
    if kql_type == "real":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad()
    if kql_type == "dynamic":
        return json.dumps(value)
    if kql_type == "guid":
        if isinstance(value, uuid.UUID):
            return value
        if isinstance(value, str):
            return uuid.UUID(value)
        raise bad()
    if kql_type == "timespan":
        if isinstance(value, dt.timedelta):
            return value
        raise bad()
    raise bad()


@contextmanager
def _recursion_limit(limit: int) -> Iterator[None]:
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def run_kql(
    query: str,
    tables: Mapping[str, Sequence[Mapping[str, object]]],
    *,
    now: dt.datetime | str | None = None,
    extra_columns: Mapping[str, Mapping[str, str]] | None = None,
) -> list[dict[str, object]]:
    """Run *query* with duckdb-kql over in-memory Defender XDR tables.

    Every table in ``defender_xdr_schema.json`` exists, with every one of its
    columns; *tables* supplies rows (column -> value) for some of them. A
    column a row leaves out is ``""`` for strings (Kusto strings are never
    null) and null otherwise. Values must fit the column's Kusto type:
    ``datetime`` takes a :class:`datetime.datetime` (naive means UTC) or an ISO
    8601 string, ``bool`` a real :class:`bool`, ``dynamic`` any JSON-serialisable
    Python value, ``guid`` a :class:`uuid.UUID` or its string.

    *now* pins the query clock (``now()``, ``ago()``); by default it is the
    wall clock. *extra_columns* (table -> column -> type) adds columns a table
    has at some later stage of a query, for running the query from that stage.

    Returns the result rows, in result order, as column -> value dicts.
    ``datetime`` values come back as naive UTC :class:`datetime.datetime`,
    ``bool`` as :class:`bool`, ``dynamic`` parsed from JSON.

    Raises ``duckdb_kql.KqlUnsupportedError`` for KQL outside what duckdb-kql
    covers, :class:`ValueError` for a table or column not in the schema and
    :class:`TypeError` for a value that does not fit its column.
    """
    import duckdb_kql  # imported here: only this function needs duckdb

    schema = _load_schema(str(all_tables_schema_path()))
    if extra_columns:
        schema = {name: {**columns, **extra_columns.get(name, {})} for name, columns in schema.items()}
    for name, rows in tables.items():
        if name not in schema:
            raise ValueError(f"unknown table {name!r}; the schema has {sorted(schema)}")
        for row in rows:
            unknown = set(row) - set(schema[name])
            if unknown:
                raise ValueError(f"{name} has no column(s) {sorted(unknown)}")

    con = duckdb_kql.connect()
    try:
        con.execute(f"SET max_expression_depth TO {_MAX_EXPRESSION_DEPTH}")
        for name, columns in schema.items():
            if name not in tables and not re.search(rf"\b{re.escape(name)}\b", query):
                continue  # only the tables the query can read: creating ~100 tables per run is slow
            column_sql = ", ".join(f'"{c}" {_DUCKDB_TYPES[t]}' for c, t in columns.items())
            con.execute(f'CREATE TABLE "{name}" ({column_sql})')
            rows = tables.get(name, ())
            if rows:
                placeholders = ", ".join("?" for _ in columns)
                con.executemany(
                    f'INSERT INTO "{name}" VALUES ({placeholders})',
                    [[_coerce(name, c, t, row.get(c)) for c, t in columns.items()] for row in rows],
                )
        with _recursion_limit(_RECURSION_LIMIT):
            cursor = duckdb_kql.execute(con, query, query_now=now)
            description = cursor.description or []
            result = cursor.fetchall()
        names = [d[0] for d in description]
        json_columns = {i for i, d in enumerate(description) if str(d[1]) == "JSON"}
        return [
            {names[i]: (_parse_json(v) if i in json_columns else v) for i, v in enumerate(row)}
            for row in result
        ]
    finally:
        con.close()


def _parse_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# Allow `python tests/checkers/kusto.py 'query'` for a quick manual check.
if __name__ == "__main__":  # pragma: no cover
    text = " ".join(sys.argv[1:]) or sys.stdin.read()
    with KustoLanguage() as kl:
        found = kl.diagnostics(text)
    for diag in found:
        print(f"{diag}  [{diag.excerpt(text)!r}]")
    sys.exit(1 if any(d.is_error for d in found) else 0)
