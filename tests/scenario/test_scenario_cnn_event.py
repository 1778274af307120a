"""A scenario with a convolution (network.conv) on the event engine (engine.kind: event): the run's
event stage runs the whole CNN (rfemu.engines.event.conv.ConvEventEngine: convolution, its
oscillators, pooling, head) on the test images, giving the compiled run's outputs and accuracy;
its latency covers the sequential scan (n_positions x (line delay + the slowest junction's spin-
diode response)); the noisy event engine with a convolution is refused at its line."""
import numpy as np
import pytest

from rfemu import api
from rfemu.devices.resonator import response_time
from rfemu.engines.conv import SpinCNN
from rfemu.scenario import ScenarioError, load_scenario_text

SCENARIO = """\
name: digits_cnn_event
seed: 0
network:
  conv:
    filters: 4
    kernel_size: 3
    arrangement: sequential
    patch_plan: {kind: geometric, min: 20 MHz, max: 120 MHz}
    oscillator: {max_output_power: 0.2 uW}
    pool: max
    pool_size: 2
  inputs:
    frequency_plan: {kind: geometric, min: 100 MHz, max: 10.1 GHz}
  layers:
    - size: 20
      resonance_plan: {kind: geometric, min: 100 MHz, max: 10.1 GHz}
      tuning_window: [-20 MHz, 20 MHz]
      resonator: {damping: 0.005}
      bias_voltage: 11 mV
    - size: 10
      resonance_plan: {kind: geometric, min: 20 MHz, max: 120 MHz}
task:
  dataset: digits
training:
  rule: cnn_backprop
  epochs: 4
  batch_size: 50
  relative_frequency_learning_rate: 0.1
  bias_learning_rate: 10 uV
  score_scale: 200 /V
  validation_fraction: 0
  calibrate_bias: true
engine:
  kind: event
  event:
    samples: 12
record:
  figures: false
"""


def test_cnn_scenario_on_the_event_engine_equals_the_compiled_run_and_takes_the_scan():
    s = load_scenario_text(SCENARIO, file="cnn_event.yaml")
    r = api.run(s, progress=False, write=False)
    m, tr = r.metrics, r.traces
    n = m["event_samples"]
    event = tr["event_outputs"].values
    compiled = tr["test_scores"].values[:n]             # the compiled engine's whole CNN
    assert n == 12 and event.shape == compiled.shape == (n, 10)
    assert np.max(np.abs(event - compiled)) <= 1e-9 * np.max(np.abs(compiled))
    assert m["test_accuracy"] == m["compiled_accuracy_on_event_samples"] > 0.1
    # the sequential scan: one line delay + the slowest junction's spin-diode response per position
    conv = SpinCNN.from_graph(r.graph).conv
    damping = np.broadcast_to(np.asarray(conv.damping, dtype=float), conv.base_frequency.shape)[0]
    step = api._event_config(s).line_delay + float(np.max(response_time(conv.resonance_frequency[0], damping)))
    scan = conv.geometry.n_positions * step             # 36 positions of the 8x8 digits, kernel 3
    latency = tr["event_latency"].values
    assert conv.geometry.n_positions == 36 and m["conv_stage_latency_s"] >= scan * (1 - 1e-9)
    assert np.all(latency >= scan * (1 - 1e-9)) and m["latency_s"] == np.median(latency)
    # the run's energy is the whole CNN's as measured (every kind of every device); the
    # convolution's oscillators and junctions are counted in the per-operation figures
    energy = sum(tr[k].values for k in tr.data_vars if k.startswith("event_energy_"))
    assert m["energy_per_inference_J"] == pytest.approx(float(np.median(energy)), rel=1e-12)
    assert m["conv_oscillators"] == 4 * 36 and m["conv_junctions"] == 4 * 9
    assert m["energy"]["per_operation"]["per_neuron"] == pytest.approx(
        m["energy"]["oscillator_J"] / (m["n_oscillators"] + 4 * 36), rel=1e-12)


@pytest.mark.parametrize("given, path", [("medium:\n  noise: true\n", "medium.noise"),
                                         ("record:\n  event_traces: [chains]\n", "record.event_traces")])
def test_a_noisy_or_traced_event_engine_with_a_convolution_is_refused_at_its_line(given, path):
    text = SCENARIO.replace("record:\n", given if given.startswith("record") else given + "record:\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, file="cnn_event.yaml")
    (problem,) = info.value.problems
    assert problem.path == path and problem.file == "cnn_event.yaml"
    assert problem.line == text[:text.index(given.splitlines()[1])].count("\n") + 1
    # the same scenario on the compiled engine is accepted
    load_scenario_text(text.replace("  kind: event", "  kind: compiled"), file="cnn_event.yaml")
