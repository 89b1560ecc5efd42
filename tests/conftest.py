from __future__ import annotations

from pathlib import Path

import pytest

from siemc.compile.rule import Detection, load_rule
from siemc.config import load_config

REPO = Path(__file__).resolve().parent.parent
T1219_RULE = REPO / "detections" / "t1219_remote_access_tools.yml"
# The seed's process rule, self-contained (no placeholders): a small rule every writer takes whole.
SEED_RULE = REPO / "tests" / "seed" / "t1219_remote_access_tools.yml"
# The T1219 pack's site configuration: its shared lists (detections/siemc.yml), which every pack
# rule reads; `siemc` commands find it themselves, as the nearest siemc.yml above the rules.
PACK_SITE = load_config(REPO / "detections" / "siemc.yml")
# A site collecting every source siemc maps, vouching for those without a data model
# (targets.<target>.fallbacks and .unmodelled: true on every target).
EVERY_SOURCE_SITE = load_config(REPO / "tests" / "site" / "every_source" / "siemc.yml")


def copy_pack_site(folder: Path) -> None:
    """Put the pack's siemc.yml and the list files it reads into `folder` (a copy of detections/)."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "detections" / "siemc.yml", folder / "siemc.yml")
    lists = REPO / "detections" / "catalog" / "lists"
    shutil.copytree(lists, folder / "catalog" / "lists", dirs_exist_ok=True)


def load_pack_rule(path: Path = T1219_RULE) -> Detection:
    return load_rule(path, PACK_SITE)


@pytest.fixture(scope="session")
def t1219() -> Detection:
    return load_pack_rule()
