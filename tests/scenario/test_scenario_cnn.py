"""A scenario with a convolution (network.conv, training.rule: cnn_backprop) runs end to end on the
8x8 digits through description, graph, compile, the registry's rule and the programmed chip, both
arrangements giving the same trained network when devices are ideal; wrong combinations are one
FILE:LINE problem each."""
import numpy as np
import pytest

from rfemu import api
from rfemu.network import schema as S
from rfemu.scenario import ScenarioError, load_scenario_text

SCENARIO = """\
name: digits_cnn
seed: 0
network:
  conv:
    filters: 4
    kernel_size: 3
    arrangement: {arrangement}
    patch_plan: {{kind: geometric, min: 20 MHz, max: 120 MHz}}
    oscillator: {{max_output_power: 0.2 uW}}
    pool: max
    pool_size: 2
  inputs:
    frequency_plan: {{kind: geometric, min: 100 MHz, max: 10.1 GHz}}
  layers:
    - size: 20
      resonance_plan: {{kind: geometric, min: 100 MHz, max: 10.1 GHz}}
      tuning_window: [-20 MHz, 20 MHz]
      resonator: {{damping: 0.005}}
      bias_voltage: 11 mV
    - size: 10
      resonance_plan: {{kind: geometric, min: 20 MHz, max: 120 MHz}}
task:
  dataset: digits
training:
  rule: cnn_backprop
  epochs: 8
  batch_size: 50
  relative_frequency_learning_rate: 0.1
  bias_learning_rate: 10 uV
  score_scale: 200 /V
  validation_fraction: 0
  learning_rate_schedule: cosine
  calibrate_bias: true
record:
  figures: false
"""


def _run(arrangement):
    s = load_scenario_text(SCENARIO.format(arrangement=arrangement), file="cnn.yaml")
    return api.run(s, progress=False, write=False)


@pytest.mark.slow
def test_cnn_scenario_learns_digits_and_both_arrangements_train_the_same_network():
    seq = _run("sequential")
    m = seq.metrics
    assert m["conv_copies"] == 1 and m["sizes"] == [4 * 3 * 3, 20, 10]
    assert m["test_accuracy"] > 0.85                     # chance 0.1 (measured 0.882)
    # the trained convolution went back into the graph's conv nodes
    tuning = [d[S.TUNING] for _, d in seq.graph.nodes(data=True) if d[S.KIND] == S.CONV_RESONATOR]
    assert len(tuning) == 4 * 9 and np.ptp(tuning) > 0
    par = _run("parallel")
    assert par.metrics["conv_copies"] == 36
    assert par.metrics["test_accuracy"] == m["test_accuracy"]


@pytest.mark.parametrize("change, path", [
    ("task:\n  dataset: digits", "task:\n  dataset: xor"),
    ("rule: cnn_backprop", "rule: backprop"),
    ("record:\n  figures: false", "record:\n  figures: false\nengine:\n  kind: event\nmedium:\n  noise: true"),
    ("filters: 4", "filters: 0"),
])
def test_wrong_combinations_with_a_convolution_cite_their_line(change, path):
    text = SCENARIO.format(arrangement="sequential").replace(change, path)
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, file="cnn.yaml")
    lines = str(info.value).splitlines()
    assert lines and all(line.startswith("cnn.yaml:") for line in lines)


def test_cnn_backprop_without_a_convolution_is_refused_at_the_rule():
    text = SCENARIO.format(arrangement="sequential")
    start, end = text.index("  conv:"), text.index("  inputs:")
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text[:start] + text[end:], file="cnn.yaml")
    (problem,) = [p for p in info.value.problems if p.path == "training.rule"]
    assert problem.line == text[:start].count("\n") + text[end:].split("rule:")[0].count("\n") + 1 \
        and "network.conv" in problem.message
