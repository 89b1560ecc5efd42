"""Write stage: compile rules for targets into `<out>/<target>/<stem>.<ext>`, atomically.

Every rule is compiled for every target it asks for; a problem becomes a Diagnostic and the build
goes on. Output files are written to a temporary file beside the destination and moved into place
with `os.replace`, so an interrupted or failed build never leaves a half-written file, and a rule
that fails keeps its previous output.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from backends import TARGET_NAMES, get_target
from siemc.diagnostics import Diagnostic, SiemcError, Unsupported
from siemc.rule import Detection, load_rule, locate_message, rule_files


@dataclass
class BuildResult:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    changed: list[Path] = field(default_factory=list)  # with check=True: files that would change
    diagnostics: list[Diagnostic] = field(default_factory=list)
    unsupported: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.diagnostics


def compile_detection(detection: Detection, target_name: str) -> str:
    """The finished query text of one rule for one target; SiemcError when it cannot be built."""
    return get_target(target_name).render(detection)


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def output_path(out: Path, target_name: str, detection: Detection) -> Path:
    return out / target_name / f"{detection.stem}.{get_target(target_name).file_extension}"


def load_all(paths: Iterable[Path]) -> tuple[list[Detection], list[Diagnostic]]:
    detections: list[Detection] = []
    diagnostics: list[Diagnostic] = []
    for path in rule_files(list(paths)):
        try:
            detections.append(load_rule(path))
        except SiemcError as error:
            diagnostics.append(Diagnostic(path, error.message, error.line))
    return detections, diagnostics


def build(
    paths: Iterable[Path],
    targets: Iterable[str] = TARGET_NAMES,
    out: Path = Path("build"),
    check: bool = False,
) -> BuildResult:
    result = BuildResult()
    detections, result.diagnostics = load_all(paths)
    seen: dict[Path, Path] = {}
    for detection in detections:
        for target_name in targets:
            if detection.extension.targets is not None and target_name not in detection.extension.targets:
                continue
            destination = output_path(out, target_name, detection)
            if destination in seen:
                result.diagnostics.append(
                    Diagnostic(detection.path, f"output {destination} is also built from {seen[destination]}")
                )
                continue
            seen[destination] = detection.path
            try:
                text = compile_detection(detection, target_name)
            except Unsupported as error:
                result.unsupported.append(
                    Diagnostic(detection.path, f"unsupported: {error.message}", None, target_name)
                )
                continue
            except SiemcError as error:
                line = error.line or locate_message(detection.text, error.message)
                result.diagnostics.append(Diagnostic(detection.path, error.message, line, target_name))
                continue
            current = destination.read_text(encoding="utf-8") if destination.exists() else None
            if current == text:
                result.unchanged.append(destination)
            elif check:
                result.changed.append(destination)
            else:
                write_atomic(destination, text)
                result.written.append(destination)
    return result
