"""Problems found in a rule, reported as `file:line: message` and never raised past a stage."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Diagnostic:
    path: Path
    message: str
    line: int | None = None
    target: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        scope = f" [{self.target}]" if self.target else ""
        return f"{where}:{scope} error: {self.message}"


class SiemcError(Exception):
    """An error in a rule; carries the line when it is known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class Unsupported(SiemcError):
    """The rule is valid but a target language cannot express it."""


def line_of(text: str, needle: str) -> int | None:
    """1-based line of the first occurrence of `needle` in `text`, used to place pySigma errors."""
    index = text.find(needle)
    return None if index < 0 else text.count("\n", 0, index) + 1


def locate_message(text: str, message: str) -> int | None:
    """pySigma errors carry no line: place them at the first quoted name they mention."""
    for quoted in re.findall(r"'([^'\n]+)'", message):
        line = line_of(text, quoted)
        if line is not None:
            return line
    return None


def node_line(node: Any, key_path: Sequence[str | int]) -> int | None:
    """Line (1-based) of the YAML node at `key_path` under a composed node, or of its deepest existing
    parent; None when not even the first key is there."""
    line = None
    for key in key_path:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == key), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line
