"""Read a git repository without writing to it: revisions, merge bases and trees, from git objects.

Only plumbing that never writes is used (`rev-parse`, `merge-base`, `ls-tree`, `cat-file`), with
`GIT_OPTIONAL_LOCKS=0`: the working tree, the index and the refs are left exactly as they were, and
nothing needs the network. A revision's files are written from their blobs into a folder of the
cache, named after the revision's tree, so a tree is extracted once however often it is compared.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from siemc.review.errors import ReviewError

# Trees kept in the cache besides the ones in use: a branch under review and its merge base, with a
# few older ones for switching back and forth.
KEPT_TREES = 6
# Where git keeps the default branch: a clone's remote HEAD, else the usual local names.
DEFAULT_BRANCHES = ("origin/HEAD", "main", "master")


class GitError(ReviewError):
    """Not a repository, an unknown revision, or git itself failing: bad usage, exit 2."""


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment.update({"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    # A caller's GIT_DIR or GIT_WORK_TREE would point every command elsewhere than `folder`.
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        environment.pop(name, None)
    return environment


def git(folder: Path, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
    """Run a git command in `folder` and return its stdout; GitError with git's message on failure."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            input=stdin,
            capture_output=True,
            env=_environment(),
            check=False,
        )
    except OSError as error:
        raise GitError(f"cannot run git: {error}") from None
    if check and done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(message[-1] if message else f"git {args[0]} failed (exit {done.returncode})")
    return done.stdout


@dataclass(frozen=True)
class Repository:
    root: Path  # the top folder of the working tree

    @classmethod
    def discover(cls, folder: Path) -> Repository:
        try:
            top = git(folder, "rev-parse", "--show-toplevel").decode().strip()
        except GitError as error:  # git says why: not a repository, a bare one, an unsafe owner
            raise GitError(f"{folder.resolve()}: {error.message.removeprefix('fatal: ')}") from None
        if not top:
            raise GitError(f"not inside a working tree: {folder.resolve()}")
        return cls(Path(top).resolve())

    def commit(self, revision: str) -> str | None:
        """The commit a revision names, or None."""
        if not revision or revision.startswith("-"):
            return None
        out = git(self.root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
        name = out.decode().strip()
        return name or None

    def tree(self, commit: str) -> str:
        return git(self.root, "rev-parse", "--verify", f"{commit}^{{tree}}").decode().strip()

    def default_branch(self) -> str:
        for name in DEFAULT_BRANCHES:
            if self.commit(name) is not None:
                return name
        raise GitError(f"no default branch to compare with ({', '.join(DEFAULT_BRANCHES)}): give BASE")

    def merge_base(self, first: str, second: str) -> str:
        out = git(self.root, "merge-base", first, second, check=False).decode().strip()
        if not out:
            raise GitError(f"{first} and {second} have no common ancestor: give BASE")
        return out.splitlines()[0]

    def extract(self, tree: str, trees: Path) -> Path:
        """The files of a tree in `trees/<tree>`, written once from their blobs (later calls reuse it)."""
        folder = trees / tree
        if folder.is_dir():
            os.utime(folder)  # most recently used: kept by prune()
            return folder
        trees.mkdir(parents=True, exist_ok=True)
        temporary = trees / f".partial-{tree}-{os.getpid()}"
        shutil.rmtree(temporary, ignore_errors=True)
        try:
            self._write_tree(tree, temporary)
            try:
                temporary.rename(folder)
            except OSError:
                if not folder.is_dir():
                    raise
                shutil.rmtree(temporary, ignore_errors=True)  # another run extracted it first
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        return folder

    def _write_tree(self, tree: str, folder: Path) -> None:
        listing = git(self.root, "ls-tree", "-r", "-z", "--full-tree", tree)
        paths: dict[str, list[tuple[str, str]]] = {}  # object -> (mode, path) of every file holding it
        for item in listing.split(b"\0"):
            if not item:
                continue
            header, _, name = item.partition(b"\t")
            mode, kind, obj = header.decode().split(" ")
            if kind != "blob":  # a submodule's commit: its files are not in this repository
                continue
            path = name.decode("utf-8", errors="surrogateescape")
            parts = PurePosixPath(path).parts
            if not parts or PurePosixPath(path).is_absolute() or ".." in parts:
                continue
            paths.setdefault(obj, []).append((mode, path))
        folder.mkdir(parents=True)
        for obj, data in self._blobs(sorted(paths)):
            for mode, path in paths[obj]:
                _write_file(folder, mode, path, data)

    def _blobs(self, objects: list[str]) -> Iterator[tuple[str, bytes]]:
        """Each blob's bytes, one at a time, from one `git cat-file --batch` (a large repository is
        never held in memory at once)."""
        if not objects:
            return
        try:
            process = subprocess.Popen(
                ["git", "-C", str(self.root), "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_environment(),
            )
        except OSError as error:
            raise GitError(f"cannot run git: {error}") from None
        assert process.stdin is not None and process.stdout is not None
        requests = ("\n".join(objects) + "\n").encode()
        # The requests are written while the answers are read: neither pipe can fill up and block.
        feeder = threading.Thread(target=_feed, args=(process.stdin, requests), daemon=True)
        feeder.start()
        try:
            for obj in objects:
                header = process.stdout.readline().decode().split(" ")
                if len(header) != 3 or header[0] != obj or header[1] != "blob":
                    raise GitError(f"unexpected answer from git cat-file for {obj}: {' '.join(header)}")
                size = int(header[2])
                data = process.stdout.read(size)
                process.stdout.read(1)  # the newline after the contents
                if len(data) != size:
                    raise GitError(f"git cat-file stopped in the middle of {obj}")
                yield obj, data
        finally:
            process.stdout.close()
            process.wait()
            feeder.join()


def _feed(stream: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(OSError):  # git stopped early: its answers say why
        stream.write(data)
        stream.close()


def _write_file(folder: Path, mode: str, path: str, data: bytes) -> None:
    target = folder.joinpath(*PurePosixPath(path).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode == "120000":
        # A link is kept only when it stays inside the tree: a revision cannot make the comparison
        # read a file of this machine.
        link = os.fsdecode(data)
        resolved = os.path.normpath(os.path.join(os.path.dirname(path), link))
        if not os.path.isabs(link) and resolved != ".." and not resolved.startswith("../"):
            target.symlink_to(link)
        return
    target.write_bytes(data)
    if mode == "100755":
        target.chmod(0o755)


def prune(trees: Path, keep: set[str]) -> None:
    """Remove all but the most recently used extracted trees (and any left partial by a crash)."""
    if not trees.is_dir():
        return
    folders = [p for p in trees.iterdir() if p.is_dir()]
    for partial in [p for p in folders if p.name.startswith(".partial-")]:
        shutil.rmtree(partial, ignore_errors=True)
    complete = sorted(
        (p for p in folders if not p.name.startswith(".") and p.name not in keep),
        key=lambda p: p.stat().st_mtime_ns,
        reverse=True,
    )
    for old in complete[KEPT_TREES:]:
        shutil.rmtree(old, ignore_errors=True)
