"""api.run: its stages in order, training through the rule registry (a new rule is one entry: the
scenario accepts its name and the run uses it), a rule's refusal cited at its scenario line."""
import numpy as np
import pytest

from rfemu import api
from rfemu.learning import rules
from rfemu.scenario import ScenarioError, load_scenario_text

MOONS = """\
name: api_rules
seed: 4
network:
  inputs:
    frequency_plan: {kind: linear, min: 20 MHz, max: 120 MHz}
  layers:
    - size: 3
      resonance_plan: {kind: linear, min: 20 MHz, max: 120 MHz}
      bias_voltage: 11 mV
      transconductance: 3.388 uA/mV
    - size: 2
      resonance_plan: {kind: geometric, min: 200 MHz, max: 400 MHz}
task: {dataset: moons, n_train: 40, n_test: 20}
training:
  rule: RULE
  epochs: 2
  batch_size: 8
record: {figures: false, samples: 0}
"""


def test_the_run_is_its_stages_in_order():
    assert [stage.__name__ for _, stage in api.STAGES] == [
        "_data", "_graph", "_training", "_programming", "_test", "_event", "_write"]


def test_a_new_rule_is_one_entry_and_the_run_uses_it(monkeypatch):
    monkeypatch.setattr(rules, "RULES", dict(rules.RULES))
    seen = {}

    def hold_bias(context):
        # a rule that programs every chain's bias to 2 mV and reports how many chains it set
        for layer in context.network.layers:
            layer.bias_voltage[:] = 2e-3
        seen["samples"] = len(context.labels)
        return rules.TrainingOutcome(metrics={"held_chains": 5})

    rules.register(rules.TrainingRule("hold_bias", hold_bias, reports=("held_chains",)))
    result = api.run(load_scenario_text(MOONS.replace("RULE", "hold_bias")), write=False, progress=False)
    assert result.metrics["held_chains"] == 5 and seen["samples"] == 40
    assert "epochs_run" not in result.metrics                 # backprop did not run
    net = result.graph
    biases = [d["bias_voltage"] for _, d in net.nodes(data=True) if "bias_voltage" in d]
    assert len(biases) == 5 and np.all(np.array(biases) == 2e-3)


def test_an_unknown_rule_is_refused_at_its_line():
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(MOONS.replace("RULE", "hebbian"), file="s.yaml")
    (problem,) = info.value.problems
    assert (problem.line, problem.path) == (15, "training.rule")
    for name in rules.rule_names():
        assert name in str(problem)


def test_a_rule_refusing_its_settings_is_cited_at_the_key():
    text = MOONS.replace("RULE", "backprop") + (
        "variability: {resonance_frequency: 0.01}\n")
    text = text.replace("  batch_size: 8\n", "  batch_size: 8\n  restarts: 2\n  validation_fraction: 0.25\n"
                        "  variability_mode: ideal_gradient\n")
    with pytest.raises(ScenarioError) as info:
        api.run(load_scenario_text(text, file="s.yaml"), write=False, progress=False)
    (problem,) = info.value.problems
    assert (problem.line, problem.path) == (18, "training.restarts")
    assert "ideal_gradient" in problem.message
