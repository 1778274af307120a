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
