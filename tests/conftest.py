from __future__ import annotations

from pathlib import Path

import pytest

from siemc.compile.rule import Detection, load_rule

REPO = Path(__file__).resolve().parent.parent
T1219_RULE = REPO / "detections" / "t1219_remote_access_tools.yml"


@pytest.fixture(scope="session")
def t1219() -> Detection:
    return load_rule(T1219_RULE)
