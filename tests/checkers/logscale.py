r"""Syntax checker for CrowdStrike Falcon LogScale (Humio) queries.

It uses the community tree-sitter grammar shipped in the ``logscale-tools`` package (import name
``logscale_query_language``).  That package ships only the generated C sources of the grammar
(``grammar_src/parser.c`` and ``scanner.c``) and compiles them with ``cc`` on first use into its *own*
``site-packages/logscale_query_language/lib/`` directory, which fails in a read-only virtualenv.  This
module therefore compiles the same sources itself into a cache directory that it owns:

1. ``$SIEMC_CACHE_DIR/tree-sitter-logscale/<hash>/`` when ``SIEMC_CACHE_DIR`` is set,
2. else ``<repo>/.siemc-cache/tree-sitter-logscale/<hash>/`` (git-ignored),
3. else ``<tempdir>/siemc-cache-<uid>/tree-sitter-logscale/<hash>/`` when the checkout is read-only.

``<hash>`` is a digest of the C sources, so upgrading ``logscale-tools`` rebuilds.  The library is
written to a temporary name and renamed into place, so parallel test workers cannot load a half-written
file.  A C compiler (``cc``, or ``$CC``) is needed once per cache directory.

The grammar is a community one, not CrowdStrike's parser.  Measured (and pinned in
``tests/checkers/test_eql_logscale_checkers.py``):

* rejected although LogScale accepts it: negated or combined filter functions (``!in(...)``,
  ``NOT in(...)``, ``not test(...)``, ``a=1 OR in(...)``, ``a=1 AND test(...)``), ``!a=1``, AND/OR inside
  ``test()`` expressions, quoted-string escapes other than ``\"`` ``\\`` ``\/`` ``\n`` (so
  ``"C:\Windows"`` and ``"\t"`` fail), negative numbers in comparisons (``a > -1``), unquoted values with
  ``/`` (``a=10.0.0.0/8``), a ``;`` before ``}`` in ``case``, trailing commas in arrays, ``/* */`` comments
  that span lines or contain ``/``;
* accepted but misparsed: lower-case ``and``/``or``/``not`` are free-text terms, regex flags (``/x/i``)
  become a free-text term (so ``/x/q`` passes too), a one-line ``/* c */`` is a free-text regex, and
  ``test(a > 1 AND b < 2)`` is free text ``test`` AND a parenthesised filter;
* ``//`` comments are real comment nodes, anywhere.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.resources
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import tree_sitter

__all__ = ["logscale_parse", "logscale_sexp", "logscale_syntax_errors"]

_REPO_ROOT = Path(__file__).resolve().parents[2]
_LIB_NAME = "logscale.dylib" if sys.platform == "darwin" else "logscale.so"

# Keep loaded shared libraries referenced for the life of the process.
_loaded_libraries: list[ctypes.CDLL] = []


def _grammar_src_dir() -> Path:
    src = Path(str(importlib.resources.files("logscale_query_language"))) / "grammar_src"
    if not (src / "parser.c").is_file():
        raise RuntimeError(f"logscale-tools grammar sources not found in {src}")
    return src


def _sources_digest(src: Path) -> str:
    digest = hashlib.sha256()
    names = ("parser.c", "scanner.c", "tree_sitter/parser.h", "tree_sitter/array.h", "tree_sitter/alloc.h")
    for name in names:
        path = src / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _cache_roots() -> list[Path]:
    roots: list[Path] = []
    env = os.environ.get("SIEMC_CACHE_DIR")
    if env:
        roots.append(Path(env))
    roots.append(_REPO_ROOT / ".siemc-cache")
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    roots.append(Path(tempfile.gettempdir()) / f"siemc-cache-{uid}")
    return roots


def _compile(src: Path, target: Path) -> None:
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        raise RuntimeError("no C compiler (cc/gcc/clang) found to build the LogScale tree-sitter grammar")
    sources = [str(src / "parser.c")]
    if (src / "scanner.c").is_file():
        sources.append(str(src / "scanner.c"))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".logscale-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    shared = ["-dynamiclib"] if sys.platform == "darwin" else ["-shared"]
    cmd = [compiler, *shared, "-fPIC", "-O2", f"-I{src}", "-o", tmp_name, *sources]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"compiling the LogScale grammar failed ({' '.join(cmd)}):\n{result.stderr}")
        os.chmod(tmp_name, 0o755)
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _library_path() -> Path:
    """Return a compiled grammar library, building it in the first writable cache root."""
    src = _grammar_src_dir()
    subdir = Path("tree-sitter-logscale") / _sources_digest(src)
    errors: list[str] = []
    for root in _cache_roots():
        target = root / subdir / _LIB_NAME
        if target.is_file():
            return target
        try:
            _compile(src, target)
        except OSError as exc:  # read-only or missing directory: try the next root
            errors.append(f"{root}: {exc}")
            continue
        return target
    raise RuntimeError("cannot build the LogScale grammar in any cache directory:\n" + "\n".join(errors))


@functools.cache
def _language() -> tree_sitter.Language:
    lib = ctypes.CDLL(str(_library_path()))
    _loaded_libraries.append(lib)
    entry = lib.tree_sitter_logscale
    entry.restype = ctypes.c_void_p
    capsule_new = ctypes.pythonapi.PyCapsule_New
    capsule_new.restype = ctypes.py_object
    capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    capsule = capsule_new(entry(), b"tree_sitter.Language", None)
    return tree_sitter.Language(capsule)


@functools.cache
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(_language())


def logscale_parse(query: str) -> tree_sitter.Tree:
    """Parse ``query`` with the tree-sitter LogScale grammar and return the syntax tree."""
    return _parser().parse(query.encode("utf-8"))


def logscale_sexp(query: str) -> str:
    """Return the S-expression of the parse tree (named nodes only), e.g. ``(query (pipeline ...))``."""
    return str(logscale_parse(query).root_node)


def _snippet(source: bytes, node: tree_sitter.Node) -> str:
    text = source[node.start_byte : node.end_byte].decode("utf-8", "replace")
    if not text:
        # Zero-width node (MISSING, or ERROR at the end): show what follows, or what precedes.
        after = source[node.start_byte : node.start_byte + 20].decode("utf-8", "replace")
        before = source[max(0, node.start_byte - 20) : node.start_byte].decode("utf-8", "replace")
        text = f"...{before}" if not after.strip() else after
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def logscale_syntax_errors(query: str) -> list[str]:
    """Return one description per ERROR or MISSING node of the parse tree; empty for valid text.

    Each description is ``"line:col: ERROR near '<snippet>'"`` or ``"line:col: MISSING <kind>"``, with
    1-based line and column (column counted in bytes of UTF-8, as tree-sitter does).
    """
    source = query.encode("utf-8")
    tree = logscale_parse(query)
    problems: list[str] = []
    if not tree.root_node.has_error:
        return problems
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        row, col = node.start_point.row + 1, node.start_point.column + 1
        problem = None
        if node.is_missing:
            problem = f"{row}:{col}: MISSING {node.type!r} before '{_snippet(source, node)}'"
        elif node.is_error:
            problem = f"{row}:{col}: ERROR near '{_snippet(source, node)}'"
        if problem is not None and problem not in problems:  # nested ERROR nodes can share a span
            problems.append(problem)
        if node.has_error:
            stack.extend(reversed(node.children))
    return problems
