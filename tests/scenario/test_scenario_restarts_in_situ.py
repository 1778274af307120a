"""The training keys restarts, initial_state, initial_bias_max and in_situ: their checks, and a
small run that uses them (restarts chosen on validation, fine-tuning on the event engine)."""
import json

import pytest

from rfemu import api
from rfemu.scenario import ScenarioError, load_scenario_text

XOR = """\
name: xor_restarts
seed: 2
network:
  inputs:
    frequency_plan: {kind: linear, min: 200 MHz, max: 300 MHz}
  layers:
    - size: 2
      resonance_plan: {kind: linear, min: 200 MHz, max: 300 MHz}
      junctions_per_chain: 2
      bias_voltage: 8 mV
    - size: 2
      resonance_plan: {kind: linear, min: 400 MHz, max: 500 MHz}
task: {dataset: xor, n_train: 60, n_test: 20}
training:
  epochs: 3
  batch_size: 16
  validation_fraction: 0.25
  restarts: 3
  initial_state: uniform
  initial_bias_max: 15 mV
  in_situ:
    epochs: 1
    samples: 8
record: {figures: false, samples: 0}
"""


def _problems(text):
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, file="s.yaml")
    return info.value.problems


def test_restarts_need_a_validation_split_and_in_situ_needs_training():
    problems = _problems(XOR.replace("validation_fraction: 0.25", "validation_fraction: 0"))
    assert [(p.line, p.path) for p in problems] == [(18, "training.restarts")]
    text = XOR.replace("training:\n", "training:\n  rule: none\n")
    problems = _problems(text)
    assert [p.path for p in problems] == ["training.in_situ.epochs"]
    problems = _problems(XOR.replace("initial_state: uniform", "initial_state: random"))
    assert [(p.line, p.path) for p in problems] == [(19, "training.initial_state")]


def test_a_run_with_restarts_and_in_situ_reports_both(tmp_path):
    s = load_scenario_text(XOR)
    result = api.run(s, out=tmp_path / "run", progress=False)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    scores = metrics["restart_validation_accuracy"]
    assert len(scores) == 3 and all(0 <= a <= 1 for a in scores)
    # one fine-tuning pass on the chip, its accuracy on the 8 samples recorded
    assert len(metrics["in_situ_chip_train_accuracy"]) == 1
    assert result.metrics["test_accuracy"] == metrics["test_accuracy"]
