"""Splunk: one app a Splunk admin installs, with a scheduled alert per rule.

    splunk/siemc_detections/default/app.conf
    splunk/siemc_detections/default/savedsearches.conf    one stanza per rule
    splunk/siemc_detections/metadata/default.meta

Copy the folder to $SPLUNK_HOME/etc/apps/ (or package it and install it from Splunk Web) and restart.
Every setting below is a documented key of Splunk's savedsearches.conf.spec, app.conf.spec and
default.meta.spec (Splunk Enterprise 10.4.2 spec files, as republished in livehybrid/splunk-spec-files);
the stanza follows the keys Splunk's own detections ship with (splunk/contentctl,
contentctl/output/templates/savedsearches_detections.j2: cron_schedule, dispatch.earliest_time /
latest_time, enableSched, counttype / relation / quantity). Files are written by conf_bytes, which
continues a multi-line value with a trailing backslash as Splunk's own files do (alert_actions.conf's
footer.text) and as ksconf and splunk-appinspect read it back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from siemc.backends.artifacts.common import enabled, one_line, summary_lines

from siemc.diagnostics import SiemcError
from siemc.release.artifacts import Artifact, BundleInfo, QueryOutput, ReleaseRule
from siemc.release.serialize import ConfError, conf_bytes

APP = "siemc_detections"  # app.conf.spec: the folder name, letters, digits, "." and "_" only
LABEL = "siemc detections"
FOLDER = f"splunk/{APP}"

# A rule without `siemc.lookback` has no time window in its search: its alert searches the last hour.
DEFAULT_LOOKBACK = "1h"

# savedsearches.conf.spec, alert.severity: an integer 1-6 (1-debug, 2-info, 3-warn, 4-error, 5-severe,
# 6-fatal), default 3. Splunk Web offers five of them as Info, Low, Medium, High, Critical = 1..5 (the
# same reading as Kibana's Splunk rule migration, elastic/kibana SPLUNK_ELASTIC_ALERT_SEVERITY_MAP).
SEVERITY = {"informational": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

# Run intervals a cron schedule keeps exactly (each divides the next unit), with their cron strings
# (savedsearches.conf.spec, cron_schedule: standard five-field cron, no month or day names).
_SCHEDULES: tuple[tuple[int, str], ...] = (
    *((m * 60, "* * * * *" if m == 1 else f"*/{m} * * * *") for m in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)),
    *((h * 3600, "0 * * * *" if h == 1 else f"0 */{h} * * *") for h in (1, 2, 3, 4, 6, 8, 12)),
    (86400, "0 0 * * *"),
    (604800, "0 0 * * 0"),
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# app.conf.spec, [launcher] version: "a number followed by a sequence of dots and numbers", optionally
# a single-word pre-release suffix after "+" or "-", no spaces.
_APP_VERSION = re.compile(r"\d+(?:\.\d+)*(?:[+-][A-Za-z0-9]+)?")


def lookback_seconds(lookback: str) -> int:
    return int(lookback[:-1]) * _UNIT_SECONDS[lookback[-1]]


def cron_for(lookback: str) -> str:
    """The schedule of a search over `lookback`: the longest exact interval no longer than the window,
    so consecutive runs leave no gap (they overlap when the window is no such interval: 90m runs
    hourly). A window under a minute still runs every minute, Splunk's shortest schedule."""
    seconds = lookback_seconds(lookback)
    fitting = [cron for interval, cron in _SCHEDULES if interval <= seconds]
    return fitting[-1] if fitting else _SCHEDULES[0][1]


def app_version(version: str) -> str:
    """The bundle version as app.conf takes it: a leading "v" of a git tag dropped, else refused."""
    candidate = version[1:] if version[:1] in ("v", "V") and version[1:2].isdigit() else version
    if not _APP_VERSION.fullmatch(candidate):
        raise SiemcError(
            f"the Splunk app needs a version like 1.2.0 or 1.2.0-beta (app.conf), not {version!r}"
        )
    return candidate


def build_number(version: str) -> int:
    """app.conf [install] build: a positive integer that changes with every release. The first three
    numbers of the version, three digits each (1.2.10 -> 1002010), so it grows with the version."""
    numbers = [int(n) for n in re.findall(r"\d+", version.split("-")[0].split("+")[0])[:3]]
    numbers += [0] * (3 - len(numbers))
    return max(1, numbers[0] * 1_000_000 + numbers[1] * 1000 + numbers[2])


def _conf_text(lines: Sequence[str]) -> str:
    """Free text as a .conf value: a line cannot end in a backslash (it would continue onto the next
    line, and no escape exists), so such a line gets a full stop after it."""
    return "\n".join(line + "." if line.endswith("\\") else line for line in lines if line)


def description(rule: ReleaseRule) -> str:
    return _conf_text(summary_lines(rule))


def stanza(rule: ReleaseRule, query: QueryOutput) -> dict[str, str | int | bool]:
    meta = rule.meta
    lookback = meta.get("lookback") or DEFAULT_LOOKBACK
    severity = meta.get("severity") or meta.get("level")
    settings: dict[str, str | int | bool] = {
        "description": description(rule),
        # The query text as built; its own time terms (earliest=/latest=) agree with the dispatch window.
        "search": query.text.rstrip(),
        "disabled": not enabled(rule),
        "enableSched": 1,  # the spec accepts only 0 and 1 here
        "cron_schedule": cron_for(lookback),
        "dispatch.earliest_time": f"-{lookback}",
        "dispatch.latest_time": "now",
        # Trigger when the search returns any event: "number of events greater than 0".
        "counttype": "number of events",
        "relation": "greater than",
        "quantity": 0,
        "alert.track": True,  # list each firing under Activity > Triggered Alerts
        "alert.digest_mode": True,  # one alert per run, with every result
        "alert.suppress": False,
    }
    if severity in SEVERITY:
        settings["alert.severity"] = SEVERITY[severity]
    settings["request.ui_dispatch_app"] = APP
    return settings


def stanza_name(rule: ReleaseRule) -> str:
    name: str = one_line(rule.meta.get("title") or rule.stem)
    if "]" in name:
        raise SiemcError(f"{rule.name}: a Splunk stanza name cannot hold ']' (title {name!r})")
    return name


def savedsearches(items: Sequence[tuple[ReleaseRule, QueryOutput]]) -> bytes:
    stanzas: list[tuple[str, Mapping[str, str | int | bool]]] = []
    seen: dict[str, str] = {}
    for rule, query in sorted(items, key=lambda item: stanza_name(item[0])):
        name = stanza_name(rule)
        if name in seen:
            # Splunk merges stanzas of the same name: one alert would silently take the other's settings.
            raise SiemcError(f"{seen[name]} and {rule.name} are both titled {name!r}: one Splunk alert each")
        seen[name] = rule.name
        stanzas.append((name, stanza(rule, query)))
    try:
        return conf_bytes(stanzas)
    except ConfError as error:
        raise SiemcError(f"savedsearches.conf: {error}") from None


def app_conf(bundle: BundleInfo) -> bytes:
    version = app_version(bundle.version)
    return conf_bytes(
        [
            ("install", {"is_configured": False, "state": "enabled", "build": build_number(version)}),
            (
                "launcher",
                {
                    "author": "siemc",
                    "description": "Scheduled detection alerts compiled from Sigma rules by siemc.",
                    "version": version,
                },
            ),
            ("package", {"id": APP, "check_for_updates": False}),
            ("ui", {"is_visible": False, "label": LABEL}),  # no views: alerts only
            ("id", {"name": APP, "version": version}),
        ]
    )


def default_meta() -> bytes:
    # default.meta.spec: every user may read the app's objects, only admins change them (sc_admin is Splunk
    # Cloud's admin role, which splunk-appinspect asks for); the alerts are
    # exported so they also show in Search & Reporting.
    return conf_bytes([("", {"access": "read : [ * ], write : [ admin, sc_admin ]", "export": "system"})])


class SplunkWriter:
    def rule_artifacts(self, rule: ReleaseRule, query: QueryOutput, bundle: BundleInfo) -> list[Artifact]:
        return []  # every rule is a stanza of the app's one savedsearches.conf

    def bundle_artifacts(
        self, items: Sequence[tuple[ReleaseRule, QueryOutput]], bundle: BundleInfo
    ) -> list[Artifact]:
        if not items:
            return []
        return [
            Artifact(f"{FOLDER}/default/app.conf", "splunk-app-conf", app_conf(bundle), "spl"),
            Artifact(
                f"{FOLDER}/default/savedsearches.conf", "splunk-savedsearches", savedsearches(items), "spl"
            ),
            Artifact(f"{FOLDER}/metadata/default.meta", "splunk-default-meta", default_meta(), "spl"),
        ]


WRITER = SplunkWriter()
