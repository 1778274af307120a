"""One source for every parameter: each field of the device, description, training and engine
dataclasses is a scenario key (or says why not), with the dataclass's unit and default, documented
in the README's key reference, and a value given in a scenario reaches the dataclass."""
import dataclasses
import math
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from rfemu.devices.energy import EnergyModel
from rfemu.devices.llgs import MacrospinParameters
from rfemu.devices.oscillator import OscillatorParameters
from rfemu.devices.resonator import FrequencyState, ResonatorParameters
from rfemu.engines.event.config import EventConfig
from rfemu.learning.backprop import TrainingConfig
from rfemu.learning.in_situ import InSituConfig
from rfemu.network.description import (InputDescription, LayerDescription, NetworkDescription,
                                       VariabilityDescription)
from rfemu.network.frequency import FrequencyPlan
from rfemu.scenario import Scenario, load_scenario_text
from rfemu import api
from rfemu.learning.rules import IN_SITU, TrainingContext
from rfemu.scenario.build import energy_model, event_config, from_sections, to_description
from rfemu.scenario.derive import field_key, is_scenario_key
from rfemu.scenario.schema import _unwrap as _unwrap_model

ROOT = Path(__file__).resolve().parents[2]

#: every dataclass whose fields are parameters, and the section its own fields live in
SOURCES = [
    (OscillatorParameters, "devices.oscillator"), (ResonatorParameters, "devices.resonator"),
    (FrequencyState, "devices.frequency_state"), (MacrospinParameters, "devices.llgs"),
    (FrequencyPlan, "frequency_plan"), (InputDescription, "network.inputs"),
    (LayerDescription, "network.layers"), (NetworkDescription, "network"),
    (VariabilityDescription, "variability"), (TrainingConfig, "training"),
    (InSituConfig, "training.in_situ"), (EventConfig, "engine.event"), (EnergyModel, "medium"),
]
#: where the README's table of a section is (the first frequency plan documents all of them)
HEADING = {"": "(top level)", "network.layers": "network.layers[i]",
           "frequency_plan": "network.inputs.frequency_plan"}
FIELDS = [(cls, home, f) for cls, home in SOURCES for f in dataclasses.fields(cls) if f.init]

MINIMAL = "name: t\nnetwork:\n  layers:\n    - size: 2\ntask: {dataset: xor}\n"


def _model_at(section: str) -> type[BaseModel]:
    """The pydantic section at a dotted path ("frequency_plan": the plans' shared section)."""
    if section == "frequency_plan":
        section = "network.inputs.frequency_plan"
    model = Scenario
    for part in filter(None, section.split(".")):
        model = _unwrap_model(model.model_fields[part].annotation)
    return model


def _readme_tables() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tables = {}
    for block in text.split("\n#### `")[1:]:
        heading, _, body = block.partition("`")
        tables[heading] = set(re.findall(r"^\| `(\w+)` \|", body.split("\n## ")[0], re.M))
    return tables


def _id(item):
    cls, _, f = item
    return f"{cls.__name__}.{f.name}"


@pytest.mark.parametrize("item", FIELDS, ids=_id)
def test_every_dataclass_field_is_a_documented_key_with_its_unit_and_default(item):
    cls, home, f = item
    if not is_scenario_key(f):
        assert f.metadata.get("help"), f"{_id(item)}: not a scenario key: say where it comes from"
        return
    section, key = field_key(f, home)
    model = _model_at(section)
    assert key in model.model_fields, f"{_id(item)}: no key {section}.{key} in the schema"
    info = model.model_fields[key]
    assert f.metadata.get("help"), f"{_id(item)}: no help text"
    inner = _unwrap_model(info.annotation)
    is_section = isinstance(inner, type) and issubclass(inner, BaseModel)   # documented by its table
    assert is_section or info.description == f.metadata["help"]
    unit = (info.json_schema_extra or {}).get("unit") if isinstance(info.json_schema_extra, dict) else None
    assert unit == f.metadata.get("unit"), f"{_id(item)}: schema unit {unit!r}"
    expected = f.metadata.get("scenario_default", f.default)
    if "scenario_default" in f.metadata or isinstance(f.default, (int, float, str)) and \
            not isinstance(f.default, bool) and f.default is not dataclasses.MISSING:
        got = info.default
        assert got == expected or (isinstance(got, float) and math.isclose(got, expected)), \
            f"{_id(item)}: schema default {got!r}, dataclass {expected!r}"
    assert key in _readme_tables()[HEADING.get(section, section)], \
        f"{_id(item)}: `{key}` is not in the README's table of {section}"


def _nudged(value):
    """A valid value different from a default (bounds and cross-key checks kept)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isinf(value):
        return None
    if isinstance(value, int):
        return value + 1
    return value * (1 + 1e-3) if value != 0 else 1e-3


def _nudge_keys(cls, section, prefix):
    """--set overrides moving every numeric key of ``cls`` that lives in ``section``, and the
    values expected."""
    home = dict(SOURCES)[cls]
    sets, expected = [], {}
    for f in dataclasses.fields(cls):
        if not is_scenario_key(f) or field_key(f, home)[0] != section:
            continue
        value = _nudged(f.metadata.get("scenario_default", f.default))
        if value is not None and f.name != "size":
            sets.append(f"{prefix}.{field_key(f, home)[1]}={value!r}")
            expected[f.name] = value
    return sets, expected


@pytest.mark.parametrize("cls,home,prefix", [
    (OscillatorParameters, "devices.oscillator", "devices.oscillator"),
    (ResonatorParameters, "devices.resonator", "devices.resonator"),
    (LayerDescription, "network.layers", "network.layers.0"),
    (InputDescription, "network.inputs", "network.inputs"),
    (VariabilityDescription, "variability", "variability"),
    (TrainingConfig, "training", "training"),
    (InSituConfig, "training.in_situ", "training.in_situ"),
    (MacrospinParameters, "devices.llgs", "devices.llgs"),
    (FrequencyState, "devices.frequency_state", "devices.frequency_state"),
    (EventConfig, "engine.event", "engine.event"), (EventConfig, "medium", "medium"),
    (EnergyModel, "medium", "medium"),
], ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_a_value_given_in_a_scenario_reaches_the_dataclass(cls, home, prefix):
    sets, expected = _nudge_keys(cls, home, prefix)
    assert len(expected) >= 2
    if cls is EventConfig and home == "medium":
        # locking_coupling reaches the engine only with locking on (its enabled_by flag)
        assert event_config(load_scenario_text(MINIMAL, sets)).locking_coupling is None
        sets.append("medium.injection_locking=true")
    s = load_scenario_text(MINIMAL, sets)
    if cls in (OscillatorParameters, ResonatorParameters, LayerDescription, InputDescription,
               VariabilityDescription):
        description = to_description(s, 2)
        built = {OscillatorParameters: description.layers[0].oscillator,
                 ResonatorParameters: description.layers[0].resonator,
                 LayerDescription: description.layers[0], InputDescription: description.inputs,
                 VariabilityDescription: description.variability}[cls]
    elif cls is TrainingConfig:
        built = api._training_config(s, seed=0, progress=False)      # as a run maps it
    elif cls is InSituConfig:
        context = TrainingContext(network=None, features=None, labels=None, settings=s.training,
                                  configure=api._configure(s))
        built = IN_SITU.make_config(context, seed=0, progress=False)
    elif cls is EventConfig:
        built = event_config(s)
    elif cls is EnergyModel:
        built = energy_model(s)
    elif cls is FrequencyState:
        built = from_sections(FrequencyState, {home: s.devices.frequency_state}, home,
                              base_frequency=[1e8])
    else:
        built = from_sections(cls, {home: s.devices.llgs}, home)
    got = {name: getattr(built, name) for name in expected}
    assert got == pytest.approx(expected, rel=1e-12)
    # and the defaults differ from what was set: the keys moved something
    assert all(got[k] != f.default for f in dataclasses.fields(cls) for k in got if f.name == k)
