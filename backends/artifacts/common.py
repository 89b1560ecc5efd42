"""What the artifact writers share: a rule's schedule, severity, stable ids, status and the text that
describes it to an analyst."""

from __future__ import annotations

import re
import uuid
from typing import Any

from siemc.release.artifacts import ReleaseRule

# Every id siemc derives lives under this namespace (uuid5 of a fixed name): the same rule always gets
# the same GUID, on any machine, in any bundle.
SIEMC_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "siemc.release")

# A rule without `siemc.lookback` runs every hour over the last hour.
DEFAULT_LOOKBACK_SECONDS = 3600

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Sigma statuses (SigmaHQ specification, "Status"): rules marked deprecated or unsupported ship
# disabled; every other status ships enabled.
_DISABLED_STATUSES = ("deprecated", "unsupported")


def derived_guid(rule: ReleaseRule, purpose: str) -> str:
    """A GUID for one use of the rule (`sentinel`), from its Sigma id, else its file name."""
    key = rule.meta.get("id") or rule.name
    return str(uuid.uuid5(SIEMC_NAMESPACE, f"{purpose}:{key}"))


def lookback_seconds(rule: ReleaseRule) -> int:
    """The rule's `siemc.lookback` in seconds (Detection.metadata() writes it as e.g. `24h`)."""
    text = rule.meta.get("lookback")
    if not text:
        return DEFAULT_LOOKBACK_SECONDS
    match = _DURATION.match(str(text))
    if match is None:
        raise ValueError(f"{rule.name}: not a lookback: {text!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def severity(rule: ReleaseRule) -> str:
    """`siemc.metadata.severity`, else the Sigma level (Detection.metadata()), else medium."""
    value = str(rule.meta.get("severity") or rule.meta.get("level") or "medium").lower()
    return value if value in ("informational", "low", "medium", "high", "critical") else "medium"


def enabled(rule: ReleaseRule) -> bool:
    return str(rule.meta.get("status") or "").lower() not in _DISABLED_STATUSES


def title(rule: ReleaseRule) -> str:
    return str(rule.meta.get("title") or rule.meta.get("name") or rule.stem)


def description(rule: ReleaseRule, limit: int | None = None) -> str:
    """The rule's description (its title when it has none), cut to `limit` characters at a word."""
    text = str(rule.meta.get("description") or "").strip() or title(rule)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0].rstrip() + "…"
    return text


def strings(values: Any) -> list[str]:
    return [str(v) for v in values or () if str(v).strip()]


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def summary_lines(rule: ReleaseRule, with_status: bool = False) -> list[str]:
    """The rule for an analyst, a line each: its description, ATT&CK ids, severity (and, with
    `with_status`, a disabled status), false positives, references, author and siemc's rule version;
    for the formats whose one description field holds all of it (Splunk, Sumo Logic, LogScale)."""
    meta = rule.meta
    lines = [one_line(meta.get("description") or meta.get("title") or "")]
    attack = ", ".join([*meta.get("techniques", []), *meta.get("tactics", [])])
    if attack:
        lines.append(f"ATT&CK: {attack}")
    lines.append(f"Severity: {meta.get('severity') or meta.get('level') or 'unknown'}")
    if with_status and meta.get("status") in _DISABLED_STATUSES:
        lines.append(f"Status: {meta['status']} (do not schedule)")
    lines += [f"False positive: {one_line(fp)}" for fp in meta.get("falsepositives", [])]
    lines += [f"Reference: {reference}" for reference in meta.get("references", [])]
    if meta.get("author"):
        lines.append(f"Author: {one_line(meta['author'])}")
    lines.append(
        f"siemc rule {rule.name} version {rule.version}" + (f", id {meta['id']}" if meta.get("id") else "")
    )
    return lines
