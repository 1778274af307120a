"""The scenario keys of the medium and of the frequency state, end to end: medium.linewidths,
medium.loss_per_length and line_length, devices.frequency_state.endurance and drift_rate,
engine.hold_time."""
import numpy as np
import pytest

from rfemu import api
from rfemu.engines.compiled import CompiledEngine
from rfemu.network import build_graph, compile_graph
from rfemu.network import schema as S
from rfemu.scenario import ScenarioError, load_scenario_text

TWO_LAYERS = """\
name: keys
seed: 3
network:
  inputs:
    frequency_plan: {kind: linear, min: 100 MHz, max: 150 MHz}
    linewidth: 300 kHz
  layers:
    - size: 3
      resonance_plan: {kind: linear, min: 100 MHz, max: 150 MHz}
      bias_voltage: 9 mV
      initial_tuning_spread: 1.5 MHz
      tone_linewidth: 1 MHz
    - size: 2
      resonance_plan: {kind: linear, min: 200 MHz, max: 300 MHz}
      initial_tuning_spread: 1.5 MHz
task: {dataset: xor, n_train: 40, n_test: 60}
training: {rule: none}
record: {figures: false, samples: 60}
"""

ONE_LAYER = """\
name: lossy
seed: 5
network:
  inputs:
    frequency_plan: {kind: linear, min: 100 MHz, max: 150 MHz}
  layers:
    - size: 2
      resonance_plan: {kind: linear, min: 102 MHz, max: 148 MHz}
      initial_bias_spread: 0 V
task: {dataset: xor, n_train: 20, n_test: 30}
training: {rule: none}
record: {figures: false, samples: 30}
"""


def _run(text, overrides=()):
    return api.run(load_scenario_text(text, overrides=overrides), write=False, progress=False)


def _tuning(result, l):
    t = result.traces
    return t[f"resonance_frequency_{l}"].values - t[f"base_frequency_{l}"].values


# ---------------------------------------------------------------------------- medium.linewidths

def test_linewidths_false_makes_the_run_the_pure_tone_run():
    off = _run(TWO_LAYERS, ["medium.linewidths=false"])
    pure = _run(TWO_LAYERS, ["network.inputs.linewidth=0", "network.layers.0.tone_linewidth=0"])
    wide = _run(TWO_LAYERS)
    assert off.graph.graph[S.LINEWIDTHS] is False and wide.graph.graph[S.LINEWIDTHS] is True
    for l in (0, 1):
        assert np.all(off.traces[f"tone_linewidth_{l}"].values == 0)
    np.testing.assert_array_equal(off.traces["test_scores"].values, pure.traces["test_scores"].values)
    scale = np.abs(pure.traces["test_scores"].values).max()
    assert np.abs(wide.traces["test_scores"].values - pure.traces["test_scores"].values).max() \
        > 1e-2 * scale


# ---------------------------------------------------------------------------- loss per length

def test_length_loss_maps_onto_the_junctions_power_gain():
    s = load_scenario_text(TWO_LAYERS, ["medium.loss_per_length=0.1 dB/mm", "medium.line_length=20 mm",
                                        "medium.loss_per_tap=0.5 dB"])
    assert s.medium.loss_per_length == pytest.approx(100.0) and s.medium.line_length == pytest.approx(0.02)
    net = compile_graph(build_graph(api.to_description(s, 2), seed=0))
    for layer in net.layers:
        k = np.arange(layer.n_junctions)
        np.testing.assert_allclose(layer.power_gain,
                                   np.broadcast_to(10 ** (-(0.5 * k + 2.0) / 10), layer.power_gain.shape),
                                   rtol=1e-14)


@pytest.mark.parametrize("engine", ["compiled", "event"])
def test_a_lossy_line_lowers_the_chain_voltages_by_its_loss(engine):
    overrides = [f"engine.kind={engine}", "engine.event.samples=4"]
    lossless = _run(ONE_LAYER, overrides)
    lossy = _run(ONE_LAYER, overrides + ["medium.loss_per_length=25 dB/m", "medium.line_length=4 cm"])
    factor = 10 ** (-25 * 0.04 / 10)
    v0 = lossless.traces["test_scores"].values
    assert np.abs(v0).min() > 0
    np.testing.assert_allclose(lossy.traces["test_scores"].values, factor * v0, rtol=1e-12)
    if engine == "event":
        e0 = lossless.traces["event_outputs"].values
        np.testing.assert_allclose(e0, v0[:4], rtol=1e-9)
        np.testing.assert_allclose(lossy.traces["event_outputs"].values, factor * e0, rtol=1e-9)


# ---------------------------------------------------------------------------- frequency state

def test_drift_during_the_hold_time_moves_the_tested_chip_and_endurance_sticks_it():
    window = ["devices.frequency_state.window_low=-3 MHz", "devices.frequency_state.window_high=3 MHz"]
    fresh = _run(TWO_LAYERS, window)
    drifted = _run(TWO_LAYERS, window + ["devices.frequency_state.drift_rate=1 MHz/s",
                                         "engine.hold_time=2 s",
                                         "devices.frequency_state.endurance=1"])
    clipped = 0
    for l in (0, 1):
        before, after = _tuning(fresh, l), _tuning(drifted, l)
        expected = np.minimum(before + 2e6, 3e6)              # bounded by the window
        np.testing.assert_allclose(after, expected, rtol=0, atol=1e-3)
        clipped += int(np.sum(before + 2e6 > 3e6))
    assert clipped > 0, "some junctions must reach the window's edge"
    # the chip that was tested is the drifted one (the graph holds its states)
    seed = drifted.metrics["seed"]
    streams = dict(zip(api.SEED_STREAMS, np.random.SeedSequence(seed).spawn(len(api.SEED_STREAMS))))
    task = api.load_task(drifted.scenario, api._int_seed(streams["task"]))
    scores = CompiledEngine(drifted.graph, n_threads=1).forward(task.x_test).scores
    np.testing.assert_allclose(drifted.traces["test_scores"].values, scores, rtol=1e-12)
    assert not np.allclose(scores, fresh.traces["test_scores"].values, rtol=1e-3)
    # one write allowed: every junction written is stuck afterwards
    assert drifted.metrics["programming_writes"] > 0
    assert drifted.metrics["programming_stuck_devices"] == drifted.metrics["programming_writes"]
    assert fresh.metrics["programming_stuck_devices"] == 0


def test_unlimited_endurance_reads_as_null_and_survives_the_resolved_file():
    s = load_scenario_text(TWO_LAYERS)
    assert s.devices.frequency_state.endurance is None
    assert s.devices.frequency_state.drift_rate == 0.0 and s.engine.hold_time == 0.0
    s = load_scenario_text(TWO_LAYERS, ["devices.frequency_state.endurance=1e6"])
    assert s.devices.frequency_state.endurance == 1e6


# ---------------------------------------------------------------------------- errors with lines

@pytest.mark.parametrize("section, expected", [
    ("medium: {line_length: 5 MHz}", "medium.line_length: '5 MHz' is a frequency, not a length"),
    ("medium: {loss_per_length: 3 dB}", "medium.loss_per_length: '3 dB' has the wrong dimension"),
    ("medium: {loss_per_length: -1 dB/m}", "medium.loss_per_length: '-1 dB/m' is impossible here: a loss in dB cannot be negative"),
    ("medium: {linewidths: sometimes}", "medium.linewidths: got 'sometimes' (expected true or false)"),
    ("devices: {frequency_state: {endurance: 0.5}}",
     "devices.frequency_state.endurance: 0.5 is impossible here: a junction takes at least one write"),
    ("devices: {frequency_state: {endurance: 0}}", "devices.frequency_state.endurance: 0 is impossible"),
    ("devices: {frequency_state: {endurance: 2.5}}",
     "devices.frequency_state.endurance: got 2.5 (expected a whole number of writes"),
    ("devices: {frequency_state: {drift_rate: 1 MHz}}",
     "devices.frequency_state.drift_rate: '1 MHz' is a frequency, not a drift rate"),
    ("engine: {hold_time: 2 m}", "engine.hold_time: '2 m' is a length, not a time"),
    ("engine: {hold_time: -1 s}", "engine.hold_time: '-1 s' is impossible here"),
])
def test_bad_values_are_errors_citing_their_line(section, expected):
    text = TWO_LAYERS + "\n" + section + "\n"
    line = text.count("\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, file="bad.yaml")
    (problem,) = info.value.problems
    assert problem.format().startswith(f"bad.yaml:{line}: {expected}"), problem.format()
