"""The junctions' write physics in on-chip learning: quantisation, write noise, tuning window,
endurance, drift, the write log, and reproducibility (same seed, same writes)."""
import numpy as np
import pytest

from rfemu.learning.local import JunctionStates, WriteSettings
from rfemu.network import build_graph, compile_graph, spin_mlp


def _net():
    return compile_graph(build_graph(spin_mlp((8, 5, 3)), seed=0))    # 40 + 15 = 55 junctions


def _run(settings, seed, n_writes=10_000, spread=200e3, rng_seed=1, alternate=False):
    """Random requests (normal, std ``spread`` Hz; ``alternate``: +-spread in turn, every junction
    back and forth) until at least ``n_writes`` writes."""
    net = _net()
    states = JunctionStates(net, settings, seed=seed)
    rng = np.random.default_rng(rng_seed)
    t = 0.0
    before = []
    while states.log.count < n_writes:
        before.append(states.frequency.copy())
        if alternate:
            states.accumulate(np.full(states.n_junctions, spread * (-1) ** len(before)))
        else:
            states.accumulate(rng.normal(0.0, spread, states.n_junctions))
        t += 1e-6
        states.commit(t)
        if len(before) > 5 * n_writes:
            break
    return net, states


def test_quantisation_over_10000_writes():
    step = 25e3
    net, states = _run(WriteSettings(step=step), seed=0)
    log = states.log.arrays()
    assert log["junction"].size >= 10_000
    base = np.concatenate([layer.base_frequency.ravel() for layer in net.layers])[log["junction"]]
    k = (log["obtained"] - base) / step
    assert np.allclose(k, np.round(k), atol=1e-6)                       # on the grid
    # the request is a whole number of steps from a grid point: obtained exactly, inside the window
    lo = np.concatenate([layer.tuning_min.ravel() for layer in net.layers])[log["junction"]] + base
    hi = np.concatenate([layer.tuning_max.ravel() for layer in net.layers])[log["junction"]] + base
    inside = (log["requested"] > lo + step) & (log["requested"] < hi - step)
    assert np.all(np.abs(log["obtained"][inside] - log["requested"][inside]) <= step / 2 + 1e-3)
    # the tuning arrays the engines read follow the states
    assert np.allclose(np.concatenate([(l.base_frequency + l.tuning).ravel() for l in net.layers]), states.frequency)


def test_write_noise_has_the_specified_spread_over_10000_writes():
    sigma = 30e3
    net, states = _run(WriteSettings(step=0.0, write_noise=sigma, write_threshold=50e3), seed=3)
    log = states.log.arrays()
    err = log["obtained"] - log["requested"]
    lo = min(layer.tuning_min.min() for layer in net.layers)
    hi = max(layer.tuning_max.max() for layer in net.layers)
    base = np.concatenate([layer.base_frequency.ravel() for layer in net.layers])[log["junction"]]
    inside = (log["requested"] - base > lo + 6 * sigma) & (log["requested"] - base < hi - 6 * sigma)
    e = err[inside]
    assert e.size > 8000
    assert abs(e.mean()) < 4 * sigma / np.sqrt(e.size)
    assert abs(e.std() / sigma - 1) < 0.05                            # 5 % on ~10^4 draws (se 0.7 %)


def test_the_window_bounds_every_write():
    net, states = _run(WriteSettings(step=100e3), seed=0, spread=20e6)   # requests far beyond
    log = states.log.arrays()
    base = np.concatenate([layer.base_frequency.ravel() for layer in net.layers])[log["junction"]]
    shift = log["obtained"] - base
    lo = min(layer.tuning_min.min() for layer in net.layers)
    hi = max(layer.tuning_max.max() for layer in net.layers)
    assert np.all((shift >= lo - 1e-6) & (shift <= hi + 1e-6))
    beyond = log["requested"] - base > hi
    assert beyond.sum() > 100 and np.allclose(shift[beyond], hi)       # clipped to the edge


def test_endurance_sticks_a_junction_after_its_last_write():
    endurance = 200                                                     # 55 x 200 = 11,000 writes
    net, states = _run(WriteSettings(step=10e3, endurance=endurance), seed=0, n_writes=11_000,
                       alternate=True)
    per_junction = np.bincount(states.log.arrays()["junction"], minlength=states.n_junctions)
    assert np.all(per_junction == endurance)                            # none beyond, all reached
    assert np.all(states.stuck)
    frozen = states.frequency.copy()
    states.accumulate(np.full(states.n_junctions, 1e6))
    states.commit(1.0)
    assert np.array_equal(states.frequency[states.stuck], frozen[states.stuck])


def test_write_energy_and_drift():
    settings = WriteSettings(step=10e3, write_energy=2e-13, drift_rate=1e9)
    net, states = _run(settings, seed=0, n_writes=2000)
    log = states.log.arrays()
    assert states.log.energy == pytest.approx(2e-13 * log["junction"].size)
    assert np.all(np.diff(log["time"]) >= 0)
    f0 = states.frequency.copy()
    states.advance(1e-3)                                                # 1 MHz of drift
    f1 = states.frequency
    hi = np.concatenate([layer.tuning_max.ravel() for layer in net.layers])
    base = np.concatenate([layer.base_frequency.ravel() for layer in net.layers])
    free = f0 - base + 1e6 <= hi
    assert np.allclose(f1[free] - f0[free], 1e6)
    assert np.allclose(net.layers[0].tuning.ravel(), states.frequency_states[0].shift)


def test_same_seed_same_writes_and_another_seed_other_writes():
    settings = WriteSettings(step=10e3, write_noise=5e3)
    a = _run(settings, seed=7, n_writes=3000)[1].log.arrays()
    b = _run(settings, seed=7, n_writes=3000)[1].log.arrays()
    c = _run(settings, seed=8, n_writes=3000)[1].log.arrays()
    for key in a:
        assert np.array_equal(a[key], b[key])
    assert not np.array_equal(a["obtained"][:100], c["obtained"][:100])


def test_settings_refuse_bad_values():
    with pytest.raises(ValueError, match="write_noise"):
        WriteSettings(write_noise=-1.0)
    with pytest.raises(ValueError, match="endurance"):
        WriteSettings(endurance=0)
