"""Scenario files: units, line numbers, extends, overrides, the resolved form."""
import math
import os
from pathlib import Path

import pytest

from rfemu.scenario import (ScenarioError, dump_resolved, load_scenario, load_scenario_text,
                            parse_quantity, read_yaml)

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
DATA = "/work/shared/datasets"

MINIMAL = """\
name: t
network:
  layers:
    - size: 2
task: {dataset: xor}
"""


@pytest.fixture
def data_env(monkeypatch):
    monkeypatch.setenv("RFEMU_DATA", os.environ.get("RFEMU_DATA", DATA))


def test_there_are_example_scenarios():
    names = {p.name for p in SCENARIOS}
    assert {"quickstart.yaml", "ross2023_two_layer.yaml", "drone_spinmlp.yaml",
            "digits_single_layer.yaml", "mnist_mlp.yaml"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_example_validates_and_documents_itself(path, data_env, require_data):
    for name in ("drone", "mnist"):                  # the real data sets: skip (fail on CI) if absent
        if f"dataset: {name}" in path.read_text():
            require_data(name)
    s = load_scenario(path)
    assert s.name == path.stem
    header = path.read_text().splitlines()[:3]
    assert all(line.startswith("#") for line in header), "each scenario opens with a comment header"
    assert "Time:" in path.read_text(), "the header says how long it takes"


@pytest.mark.parametrize("text, unit, expected", [
    ("346 MHz", "Hz", 346e6),
    ("10 uA", "A", 10e-6),
    ("10 µA", "A", 10e-6),
    ("20 ns", "s", 20e-9),
    ("0.5 dB", "dB", 0.5),
    ("0.1 dB/mm", "dB/m", 100.0),
    ("-30 dBm", "W", 1e-6),
    ("8.8 mV/uW", "V/W", 8.8e3),
    ("3.388 uA/mV", "S", 3.388e-3),
    ("1 kOhm", "Ohm", 1e3),
    ("1 %", "", 0.01),
    ("27 degC", "K", 300.15),
    (3.5e8, "Hz", 3.5e8),                              # plain numbers are SI
    ("2 rad/ns", "Hz", 2e9 / (2 * math.pi)),           # angular -> cycles
    ("50 MHz", "rad/s", 2 * math.pi * 50e6),           # cycles -> angular
])
def test_quantities_convert_to_si(text, unit, expected):
    assert parse_quantity(text, unit) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("text, unit", [("10 uA", "Hz"), ("3 dB", "W"), ("1 mV", "dB"),
                                        ("MHz", "Hz"), ("twelve", "A"), (True, "Hz")])
def test_wrong_dimension_or_nonsense_is_refused(text, unit):
    with pytest.raises(ValueError):
        parse_quantity(text, unit)


def test_units_in_a_scenario_are_si_after_loading():
    s = load_scenario_text(MINIMAL + "devices:\n  oscillator:\n    threshold_current: 20 uA\n"
                                     "    max_current: 0.08 mA\n")
    assert s.devices.oscillator.threshold_current == 20e-6
    assert s.devices.oscillator.max_current == 80e-6
    # layer devices inherit the scenario-wide ones
    assert s.network.layers[0].oscillator.threshold_current == 20e-6


def test_errors_cite_the_line_of_the_key():
    text = MINIMAL + "devices:\n  resonator:\n    sensitivity: 3 mA\n    damping: -0.01\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, file="x.yaml")
    lines = str(info.value).splitlines()
    assert lines[0].startswith("x.yaml:8: devices.resonator.sensitivity: ")
    assert "current" in lines[0]
    assert lines[1].startswith("x.yaml:9: devices.resonator.damping: ")
    assert "impossible" in lines[1]


def test_unknown_key_suggests_the_near_one():
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(MINIMAL + "enigne: {kind: compiled}\n", file="x.yaml")
    (problem,) = info.value.problems
    assert problem.line == 6 and problem.path == "enigne"
    assert "did you mean 'engine'" in problem.message


def test_layer_override_is_checked_merged_with_the_defaults():
    text = MINIMAL.replace("    - size: 2\n", "    - size: 2\n      oscillator: {max_current: 5 uA}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, file="x.yaml")
    (problem,) = info.value.problems
    assert problem.line == 5 and "max_current" in problem.message


def test_duplicate_keys_and_tags_are_refused():
    with pytest.raises(ScenarioError) as info:
        read_yaml("a: 1\nb: 2\na: 3\n", "d.yaml")
    assert info.value.problems[0].line == 3 and "line 1" in info.value.problems[0].message
    with pytest.raises(ScenarioError) as info:
        read_yaml("a: !!python/object/apply:os.system ['echo pwned']\n", "d.yaml")
    assert info.value.problems[0].line == 1 and "not allowed" in info.value.problems[0].message


def test_last_layer_must_match_the_classes():
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(MINIMAL.replace("size: 2", "size: 3"), file="x.yaml")
    (problem,) = info.value.problems
    assert problem.line == 4 and "2 classes" in problem.message


def test_extends_takes_defaults_and_cites_the_base_file(tmp_path):
    (tmp_path / "base.yaml").write_text(MINIMAL + "training: {epochs: 5, batch_size: 0}\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: child\n"
                                         "training: {epochs: 7}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "child.yaml")
    (problem,) = info.value.problems
    assert problem.file.endswith("base.yaml") and problem.line == 6
    assert problem.path == "training.batch_size"
    s = load_scenario(tmp_path / "child.yaml", overrides=["training.batch_size=16"])
    assert (s.name, s.training.epochs, s.training.batch_size) == ("child", 7, 16)
    assert s.network.layers[0].size == 2


def test_overrides_reach_into_lists_and_parse_yaml():
    s = load_scenario_text(MINIMAL, overrides=["network.layers.0.bias_voltage=11 mV",
                                               "medium.noise=true", "seed=42"])
    assert s.network.layers[0].bias_voltage == pytest.approx(11e-3)
    assert s.medium.noise is True and s.seed == 42
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(MINIMAL, overrides=["network.layers.3.size=4"])
    assert "past the end" in str(info.value)


def test_resolved_scenario_reads_back_to_the_same_values(tmp_path, data_env):
    s = load_scenario(ROOT / "scenarios" / "ross2023_two_layer.yaml")
    text = dump_resolved(s, seed=11)
    (tmp_path / "resolved.yaml").write_text(text)
    again = load_scenario(tmp_path / "resolved.yaml")
    expected = s.model_dump()
    expected["seed"] = 11
    # the task's defaults are written out (the generated XOR set: 400 + 200 samples)
    assert expected["task"]["n_train"] == 800 and expected["task"]["n_test"] is None
    expected["task"]["n_test"] = 200
    assert again.model_dump() == expected


def test_output_paths_stay_in_the_run_folder():
    for bad in ("../elsewhere.nc", "/tmp/trace.nc", "figs/../../x"):
        with pytest.raises(ScenarioError) as info:
            load_scenario_text(MINIMAL + f"record: {{trace_file: '{bad}'}}\n", file="x.yaml")
        assert info.value.problems[0].line == 6


def test_missing_data_file_is_reported_with_its_line(tmp_path, monkeypatch):
    monkeypatch.setenv("RFEMU_DATA", str(tmp_path))
    text = MINIMAL.replace("size: 2", "size: 10").replace("task: {dataset: xor}",
                                                         "task:\n  dataset: drone\n  path: nope.h5")
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, file="x.yaml")
    (problem,) = info.value.problems
    assert problem.line == 7 and "nope.h5" in problem.message and "Zenodo" in problem.message
