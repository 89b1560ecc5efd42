"""IBM QRadar: per rule, the AQL with what an analyst needs to save it as a search, in JSON.

    qradar/<stem>.json

QRadar has no import format a file can feed: its REST API (IBM's QRadar API 20.0 reference,
IBMSecurityDocs/qradar_api_20.0) lists, shares, deletes and runs saved searches (/ariel/saved_searches
GET, POST only for is_shared/owner/is_quick_search/is_default/is_dashboard) but creates none, and
/analytics/rules/{id} POST changes only a rule's owner and enabled state. Content packages (the
Content Management Tool's export) are made on a console, not documented for writing by hand. So this
is siemc's own JSON, documented here and in the README: its first keys are the fields of QRadar's Ariel
saved-search object as GET /ariel/saved_searches/{id} returns it (name, description, database, aql),
so the values go one for one into the Log Activity "Save Criteria" dialog or into a script; the AQL
runs as it is with POST /api/ariel/searches?query_expression=<aql>. Its time frame (`LAST n HOURS`)
is in the text; a rule without `siemc.lookback` has none, and that endpoint then searches the last 60
seconds (its reference page), so set a range when saving it. "siemc" holds the rule's metadata.

    {"name": str, "description": str, "database": "EVENTS", "aql": str,
     "time_range": {"lookback": "24h" | null, "in_aql": bool},
     "siemc": {"format": "siemc-qradar-search 1", "rule", "id", "version", "title", "status", "level",
               "severity", "author", "date", "modified", "attack": {"techniques", "tactics"},
               "references", "falsepositives", "logsource", "source"}}
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from siemc.release.artifacts import Artifact, BundleInfo, QueryOutput, ReleaseRule
from siemc.release.serialize import json_bytes

FORMAT = "siemc-qradar-search 1"

# The AQL writer ends a query with a window (`LAST 24 HOURS`) when the rule has a lookback
# (backends/aql.py time_clause); the artifact says whether the text carries one.
_TIME_FRAME = re.compile(r"^(LAST \d+ (MINUTES|HOURS|DAYS)|START .+ STOP .+)$", re.MULTILINE)


def search_document(rule: ReleaseRule, query: QueryOutput) -> dict[str, object]:
    meta = rule.meta
    aql = query.text.strip()
    return {
        "name": meta.get("title") or rule.stem,
        "description": " ".join((meta.get("description") or "").split()),
        # siemc's AQL selects FROM events; the saved-search object names the Ariel database in capitals.
        "database": "EVENTS",
        "aql": aql,
        "time_range": {"lookback": meta.get("lookback"), "in_aql": bool(_TIME_FRAME.search(aql))},
        "siemc": {
            "format": FORMAT,
            "rule": rule.name,
            "id": meta.get("id"),
            "version": rule.version,
            "title": meta.get("title"),
            "status": meta.get("status"),
            "level": meta.get("level"),
            "severity": meta.get("severity"),
            "author": meta.get("author"),
            "date": meta.get("date"),
            "modified": meta.get("modified"),
            "attack": {
                "techniques": list(meta.get("techniques", [])),
                "tactics": list(meta.get("tactics", [])),
            },
            "references": list(meta.get("references", [])),
            "falsepositives": list(meta.get("falsepositives", [])),
            "logsource": dict(meta.get("logsource", {})),
            "source": query.source,  # the log source the AQL selects (QRadar's DSM or log source type)
        },
    }


class QRadarWriter:
    def rule_artifacts(self, rule: ReleaseRule, query: QueryOutput, bundle: BundleInfo) -> list[Artifact]:
        data = json_bytes(search_document(rule, query))
        return [Artifact(f"qradar/{rule.stem}.json", "qradar-saved-search", data, "aql", rule.name)]

    def bundle_artifacts(
        self, items: Sequence[tuple[ReleaseRule, QueryOutput]], bundle: BundleInfo
    ) -> list[Artifact]:
        return []


WRITER = QRadarWriter()
