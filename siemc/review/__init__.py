"""Review a change: what siemc generates at two revisions of a repository, compared output by output.

`siemc.review.git` reads revisions from git objects without touching the working tree or the index,
`siemc.review.revision` compiles the rules of one revision (with the current siemc, or with the
revision's own in a subprocess), and `siemc.review.diff` compares the two and writes the result as
unified diffs, a pull-request comment or JSON.
"""

from siemc.diagnostics import SiemcError


class ReviewError(SiemcError):
    """A comparison that cannot be made (not a repository, a bad revision, path or configuration):
    `error: <message>`, or `<where>: error: <message>` for a file of a revision; exit 2."""

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: error: {self.message}" if self.where else f"error: {self.message}"
