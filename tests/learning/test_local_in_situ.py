"""Chip-in-the-loop fine-tuning writing through the junctions' frequency states: continuous
writes take Adam's steps; quantised writes land on the grid, count against the endurance and
cost their energy; the tuning arrays follow the frequency states."""
import numpy as np
import pytest

from rfemu.engines.event import EventConfig
from rfemu.learning.in_situ import InSituConfig, train_in_situ
from rfemu.learning.local import JunctionStates, WriteSettings
from rfemu.network import build_graph, compile_graph, spin_mlp
from rfemu.tasks import xor_quadrants

KW = dict(frequency_learning_rate=1e5, bias_learning_rate=1e-4, score_scale=3e3, progress=False,
          final_learning_rate_fraction=1.0)


def _net():
    return compile_graph(build_graph(spin_mlp((2, 3, 2)), seed=2))


def test_continuous_writes_take_adams_steps():
    task = xor_quadrants(n_train=24, n_test=8, seed=0)
    ideal, written = _net(), _net()
    train_in_situ(ideal, task.x_train, task.y_train, EventConfig(noise=False), InSituConfig(epochs=3, batch_size=12, **KW))
    states = JunctionStates(written, WriteSettings(step=0.0))
    train_in_situ(written, task.x_train, task.y_train, EventConfig(noise=False), InSituConfig(epochs=3, batch_size=12, **KW),
                  writes=states)
    for a, b in zip(ideal.layers, written.layers):
        np.testing.assert_allclose(b.tuning, a.tuning, rtol=0, atol=1.0)        # 1 Hz of 100 kHz steps
    # one write per junction and step at most (none where Adam's step is zero or clipped)
    assert written.n_junctions < states.log.count <= 6 * written.n_junctions


def test_quantised_writes_land_on_the_grid_within_endurance():
    task = xor_quadrants(n_train=24, n_test=8, seed=0)
    net = _net()
    start = [layer.tuning.copy() for layer in net.layers]
    step, endurance = 50e3, 2
    states = JunctionStates(net, WriteSettings(step=step, endurance=endurance, write_energy=2e-13))
    train_in_situ(net, task.x_train, task.y_train, EventConfig(noise=False), InSituConfig(epochs=4, batch_size=6, **KW),
                  writes=states)
    log = states.log.arrays()
    per_junction = np.bincount(log["junction"], minlength=net.n_junctions)
    assert log["junction"].size > 0 and per_junction.max() <= endurance
    assert np.array_equal(states.stuck, per_junction == endurance)
    assert states.log.energy == pytest.approx(2e-13 * log["junction"].size)
    assert np.all(np.diff(log["time"]) >= 0) and log["time"][-1] > 0       # on the chips' clock
    for layer, s0, fs in zip(net.layers, start, states.frequency_states):
        assert np.array_equal(layer.tuning.ravel(), fs.shift)
        moved = layer.tuning != s0
        k = layer.tuning[moved] / step
        assert np.allclose(k, np.round(k))


# ------------------------------------------------------------- the registry's in_situ rule

IN_SITU_SCENARIO = """
name: in_situ_writes
network:
  inputs: {frequency_plan: {kind: linear, min: 20 MHz, max: 120 MHz}}
  layers:
    - {size: 3, resonance_plan: {kind: linear, min: 20 MHz, max: 120 MHz}, bias_voltage: 11 mV,
       transconductance: 3.388 uA/mV}
    - {size: 2, resonance_plan: {kind: geometric, min: 200 MHz, max: 400 MHz}}
task: {dataset: xor, n_train: 40}
training:
  rule: in_situ
  in_situ: {epochs: 3, batch_size: 4, frequency_learning_rate: 100 kHz, score_scale: 3 /mV,
            final_learning_rate_fraction: 1.0}
"""


def _in_situ_context(frequency_state, seed=0):
    from rfemu.learning import rules
    from rfemu.scenario import load_scenario_text
    task = xor_quadrants(n_train=24, n_test=8, seed=seed)
    streams = dict(zip(("training", "restarts", "in_situ"), np.random.SeedSequence(seed).spawn(3)))
    return rules.TrainingContext(network=_net(), features=task.x_train, labels=task.y_train,
                                 settings=load_scenario_text(IN_SITU_SCENARIO).training, streams=streams,
                                 event_config=EventConfig(noise=False), frequency_state=frequency_state)


def test_the_in_situ_rule_writes_quantised_and_counted_through_the_devices_frequency_state():
    """training.rule: in_situ writes through devices.frequency_state: every tuning state on the
    quantisation grid, no junction past its endurance (stuck exactly there), the metrics count
    every write of the frequency states and price each at the device's write energy."""
    import types
    from rfemu.learning import rules
    step, endurance, energy = 50e3, 3, 4e-13
    fs = types.SimpleNamespace(step=step, write_noise=0.0, write_latency=20e-9, write_energy=energy,
                               endurance=endurance, drift_rate=0.0)
    context = _in_situ_context(fs)
    start = [layer.tuning.copy() for layer in context.network.layers]
    m = rules.get_rule("in_situ").train(context).metrics
    assert m["in_situ_writes"] > context.network.n_junctions            # it did learn by writing
    assert m["in_situ_write_energy_J"] == pytest.approx(energy * m["in_situ_writes"], rel=1e-12)
    assert m["in_situ_max_writes_per_junction"] == endurance and m["in_situ_stuck_junctions"] > 0
    for layer, s0 in zip(context.network.layers, start):
        moved = layer.tuning != s0
        k = layer.tuning[moved] / step               # every written state on the device's grid
        assert moved.any() and np.allclose(k, np.round(k), rtol=0, atol=1e-9)
        assert np.all(np.abs(layer.tuning) <= 15e6)


def test_the_in_situ_rule_writes_with_the_devices_write_noise():
    """Continuous writes with 20 kHz of write noise: each write lands off the frequency asked for
    by a Gaussian error of that spread (every write of the run, from the outcome's traces), and
    the metrics count them all."""
    import types
    from scipy import stats
    from rfemu.learning import rules
    noise = 20e3
    fs = types.SimpleNamespace(step=0.0, write_noise=noise, write_latency=10e-9, write_energy=1e-13,
                               endurance=None, drift_rate=0.0)
    context = _in_situ_context(fs)
    outcome = rules.get_rule("in_situ").train(context)
    ds = outcome.traces
    error = ds["in_situ_write_obtained"].values - ds["in_situ_write_requested"].values
    assert error.size == outcome.metrics["in_situ_writes"] > 100
    assert int(ds["in_situ_writes_per_junction"].sum()) == error.size
    assert abs(np.mean(error)) < 4 * noise / np.sqrt(error.size)
    assert np.std(error) == pytest.approx(noise, rel=4 / np.sqrt(2 * error.size))
    assert stats.kstest(error / noise, "norm").pvalue > 1e-3


def test_an_in_situ_run_folder_holds_every_write(tmp_path):
    """rfemu run with training.rule: in_situ: trace.nc holds every write of the fine-tuning (on
    the device's 50 kHz grid, each at the device's write energy), metrics.json counts them, and
    the figures show the writes per junction under a title that says what trained."""
    import json
    import xarray as xr
    from rfemu import api
    from rfemu.scenario import load_scenario_text
    text = IN_SITU_SCENARIO.replace("task:", "devices:\n  frequency_state: {step: 50 kHz, write_energy: 2e-13 J}\n"
                                             "engine: {n_threads: 1}\nrecord: {samples: 4}\ntask:")
    text = text.replace("n_train: 40", "n_train: 24, n_test: 8")
    api.run(load_scenario_text(text), out=tmp_path / "run", progress=False)
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    ds = xr.load_dataset(tmp_path / "run" / "trace.nc", engine="h5netcdf")
    assert m["in_situ_writes"] == ds.sizes["in_situ_write"] == int(ds["in_situ_writes_per_junction"].sum()) > 0
    assert m["in_situ_write_energy_J"] == pytest.approx(2e-13 * m["in_situ_writes"], rel=1e-12)
    assert np.all(ds["in_situ_write_pulse_energy"].values == 2e-13)
    base = np.concatenate([ds[f"base_frequency_{l}"].values.ravel() for l in range(2)])
    k = (ds["in_situ_write_obtained"].values - base[ds["in_situ_write_junction"].values]) / 50e3
    assert np.allclose(k, np.round(k), rtol=0, atol=1e-6)
    names = {p.name for p in (tmp_path / "run" / "figures").iterdir()}
    assert {"learning_curve.png", "in_situ_writes_per_junction.png"} <= names
    assert "resonance_trajectories.png" not in names          # in-situ follows no junction per epoch
