"""The one error of the review commands: a comparison that cannot be made."""

from __future__ import annotations

from siemc.diagnostics import SiemcError


class ReviewError(SiemcError):
    """A comparison that cannot be made (not a repository, a bad revision, path or configuration):
    `error: <message>`, or `<where>: error: <message>` for a file of a revision; exit 2."""

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: error: {self.message}" if self.where else f"error: {self.message}"
