"""Data models: a field the SIEM's source never carries makes an output unsupported, never a query
that silently matches nothing; the files are validated with file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from siemc.backends import TARGET_NAMES, get_target

import siemc.compile.target as target_module
from siemc.compile.datamodel import (
    DataModelError,
    SourceModel,
    load_datamodel,
    models_folder,
)
from siemc.compile.rule import load_rule
from siemc.diagnostics import Unsupported
from tests.conftest import SEED_RULE


def _model(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_key_under_an_open_field_is_a_field_of_the_source() -> None:
    model = SourceModel(
        "WindowsEvent", ("docs",), {"EventData": "dynamic", "Channel": "string"}, ("EventData",)
    )
    assert model.has("Channel")
    assert model.has("EventData.Image")
    assert model.has('EventData["Image"]')
    assert not model.has("EventDataX")
    assert not model.has("Image")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: {}\n", "sources: expected a mapping of source name to model"),
        ("oops: 1\nsources: {A: {}}\n", "oops: unknown top-level key"),
        ("sources:\n  A: {fields: {x: string}}\n", "sources.A.provenance: expected a non-empty list"),
        ("sources:\n  A: {provenance: [docs], fields: {}}\n", "sources.A.fields: expected a mapping"),
        ("sources:\n  A: {provenance: [docs], fields: {x: string}, open: [y]}\n", "sources.A.open: expected"),
        (
            "sources:\n  A: {provenance: [docs], fields: {x: string}, typo: 1}\n",
            "sources.A.typo: unknown key",
        ),
    ],
)
def test_a_bad_data_model_names_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = _model(tmp_path, text)
    with pytest.raises(DataModelError) as caught:
        load_datamodel(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_every_shipped_data_model_loads_and_names_sources_of_its_mapping() -> None:
    for path in sorted(models_folder().glob("*.yml")):
        assert path.stem in TARGET_NAMES
        models = load_datamodel(path)
        assert models


def test_a_field_the_model_lacks_makes_the_output_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    detection = load_rule(SEED_RULE)
    kql = get_target("kql")
    fields = {"Timestamp": "datetime", "FileName": "string", "DeviceName": "string"}
    thin = {
        "DeviceProcessEvents": SourceModel("DeviceProcessEvents", ("a test",), fields),
        "Event": SourceModel("Event", ("a test",), {"TimeGenerated": "datetime", "EventLog": "string"}),
    }
    monkeypatch.setattr(target_module, "target_datamodel", lambda name: thin)
    with pytest.raises(Unsupported) as caught:
        kql.render(detection)
    # the last candidate's reason; each names the first field, in name order, that its source lacks
    assert caught.value.message == "Event has no field Computer"
    read = ("AccountName", "ProcessCommandLine", "InitiatingProcessFileName", "InitiatingProcessCommandLine")
    read += ("DeviceId", "ReportId")  # the key columns every Defender query returns are checked too
    complete = SourceModel("DeviceProcessEvents", ("a test",), {**fields, **dict.fromkeys(read, "string")})
    monkeypatch.setattr(
        target_module, "target_datamodel", lambda name: {**thin, "DeviceProcessEvents": complete}
    )
    assert kql.render(detection).startswith("// Remote Access Tool Execution\n// ATT&CK: T1219")
    assert "DeviceProcessEvents\n" in kql.render(detection)


def test_a_model_stores_a_raw_event_as_the_vendors_parser_does(tmp_path: Path) -> None:
    path = _model(
        tmp_path,
        "sources:\n  process:\n    provenance: [docs]\n    fields:\n"
        "      process.executable: {type: keyword, from: Image}\n      event.code: keyword\n"
        "      winlog.event_data: object\n    open: [winlog.event_data]\n"
        "    raw: 'winlog.event_data.{name}'\n",
    )
    model = load_datamodel(path)["process"]
    assert model.fields == {
        "process.executable": "keyword",
        "event.code": "keyword",
        "winlog.event_data": "object",
    }
    assert model.event({"Image": "C:\\\\x.exe", "Hashes": "MD5=1"}) == {
        "process.executable": "C:\\\\x.exe",
        "winlog.event_data.Hashes": "MD5=1",
    }
    assert model.has("winlog.event_data.Hashes") and model.has("winlog.event_data")


def test_every_value_form_has_its_query_rewrite() -> None:
    """A form the data model stores values in (`as:`) is one queries know how to test."""
    from siemc.compile.datamodel import VALUE_FORMS
    from siemc.compile.fields import VALUE_FORM_TRANSFORMATIONS

    assert set(VALUE_FORMS) == set(VALUE_FORM_TRANSFORMATIONS)
