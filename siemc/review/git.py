"""Read a git repository without writing to it: revisions, merge bases and trees, from git objects.

Only plumbing that never writes is used (`rev-parse`, `merge-base`, `ls-tree`, `cat-file`), with
`GIT_OPTIONAL_LOCKS=0`: the working tree, the index and the refs are left exactly as they were, and
nothing needs the network. A revision's files are written from their blobs into a folder of the
cache, named after the revision's tree, so a tree is extracted once however often it is compared.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from siemc.review import ReviewError

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
        entries: list[tuple[str, str, str]] = []  # (mode, object, path)
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
            entries.append((mode, obj, path))
        contents = self._blobs(sorted({obj for _, obj, _ in entries}))
        folder.mkdir(parents=True)
        for mode, obj, path in entries:
            target = folder.joinpath(*PurePosixPath(path).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = contents[obj]
            if mode == "120000":
                # A link is kept only when it stays inside the tree: a revision cannot make the
                # comparison read a file of this machine.
                link = os.fsdecode(data)
                resolved = os.path.normpath(os.path.join(os.path.dirname(path), link))
                if not os.path.isabs(link) and resolved != ".." and not resolved.startswith("../"):
                    target.symlink_to(link)
                continue
            target.write_bytes(data)
            if mode == "100755":
                target.chmod(0o755)

    def _blobs(self, objects: list[str]) -> dict[str, bytes]:
        """Every blob's bytes from one `git cat-file --batch`."""
        if not objects:
            return {}
        out = git(self.root, "cat-file", "--batch", stdin=("\n".join(objects) + "\n").encode())
        contents: dict[str, bytes] = {}
        position = 0
        for obj in objects:
            end = out.index(b"\n", position)
            name, kind, size = out[position:end].decode().split(" ")
            start = end + 1
            contents[obj] = out[start : start + int(size)]
            position = start + int(size) + 1
            if name != obj or kind != "blob":
                raise GitError(f"unexpected object {name} ({kind}) from git cat-file")
        return contents


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
