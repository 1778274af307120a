"""A scenario maps onto the network description: the compiled graph holds its SI values."""
import numpy as np
import pytest

from rfemu.api import to_description
from rfemu.network import build_graph, compile_graph
from rfemu.scenario import ScenarioError, load_scenario_text

TEXT = """\
name: mapping
devices:
  resonator: {damping: 0.02, sensitivity: 20 mV/uW}
  oscillator: {threshold_current: 12 uA, max_current: 48 uA}
  frequency_state: {window_low: -5 MHz, window_high: 7 MHz}
network:
  inputs:
    frequency_plan: {kind: explicit, values: [100 MHz, 150 MHz]}
    max_power: -30 dBm
  layers:
    - size: 4
      resonance_plan: {kind: geometric, min: 100 MHz, max: 150 MHz}
      bias_voltage: 9 mV
      initial_bias_spread: 0 V
      initial_tuning_spread: 0 Hz
      transconductance: 2 uA/mV
      tap_loss: 0.5 dB
      sign_pattern: [1, -1]
      oscillator: {max_current: 60 uA}
    - size: 2
      resonance_plan: {kind: linear, min: 300 MHz, max: 400 MHz}
      resonator: {damping: 0.005}
variability: {resonance_frequency: 0}
task: {dataset: xor}
"""


def test_compiled_graph_holds_the_scenario_values():
    s = load_scenario_text(TEXT)
    net = compile_graph(build_graph(to_description(s, 2), seed=0))
    first, last = net.layers
    np.testing.assert_allclose(net.source_max_power, 1e-6)
    np.testing.assert_allclose(first.tone_frequency, [100e6, 150e6])
    np.testing.assert_allclose(first.base_frequency,
                               np.broadcast_to([100e6, 150e6], (4, 2)))
    np.testing.assert_allclose(first.damping, 0.02)
    np.testing.assert_allclose(last.damping, 0.005)              # the layer's own override
    np.testing.assert_allclose(first.sensitivity, 20e3)
    np.testing.assert_allclose(last.sensitivity, 20e3)           # the rest from devices
    np.testing.assert_allclose(first.sign, np.broadcast_to([1.0, -1.0], (4, 2)))
    np.testing.assert_allclose(first.bias_voltage, 9e-3)
    np.testing.assert_allclose(first.transconductance, 2e-3)
    np.testing.assert_allclose(first.tuning_min, -5e6)
    np.testing.assert_allclose(first.tuning_max, 7e6)
    np.testing.assert_allclose(first.tuning, 0.0)
    # 0.5 dB lost at each tap along a chain
    np.testing.assert_allclose(first.power_gain[0], 10 ** (-0.05 * np.arange(2)))
    np.testing.assert_allclose(last.power_gain, 1.0)
    np.testing.assert_allclose(first.oscillator.threshold_current, 12e-6)
    np.testing.assert_allclose(first.oscillator.max_current, 60e-6)
    # neurons emit on the next layer's resonance plan (the seed's default)
    np.testing.assert_allclose(last.tone_frequency, np.linspace(300e6, 400e6, 4))


def test_a_window_inherited_by_every_layer_is_reported_once():
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(TEXT.replace("window_low: -5 MHz", "window_low: 1 MHz"), file="m.yaml")
    (problem,) = info.value.problems
    assert problem.line == 5 and "must contain 0" in problem.message
