"""Junctions as learning agents in the event engine: the same writes as the batched loop, writes
as events with the device's latency, processes that wake only to write, at most 1 kB an agent."""
import numpy as np
import pytest

from rfemu.engines.event import EventConfig, EventEngine
from rfemu.learning.local import (FeedbackAlignmentRule, OnChipConfig, PerturbativeRule, WriteSettings,
                                  train_on_chip)
from rfemu.learning.local.agents import EventLearning, learning_circuit
from rfemu.network import build_graph, compile_graph, spin_mlp
from rfemu.tasks import digits


@pytest.fixture(scope="module")
def task():
    return digits(seed=0)


def _net():
    return compile_graph(build_graph(spin_mlp((64, 10), input_band=(100e6, 1e9)), seed=1))


@pytest.mark.parametrize("make_rule", [lambda: FeedbackAlignmentRule(0.3),
                                       lambda: PerturbativeRule(0.3, steps=16, code="random"),
                                       lambda: PerturbativeRule(0.3, steps=32, bias_dither=1e-5,
                                                                bias_learning_rate=1e-9)])
def test_event_learning_makes_the_batched_loops_writes(task, make_rule):
    """Write noise and drift on: the same junctions write the same requested and obtained
    frequencies at the same simulated times, and the chips end equal."""
    writes = WriteSettings(step=10e3, write_noise=2e3, write_latency=50e-9, drift_rate=1e3)
    config = OnChipConfig(windows=8, batch_size=8, evaluate_every=4, seed=3)
    batched = train_on_chip(_net(), task.x_train, task.y_train, make_rule(), config, writes)
    engine = EventEngine(_net(), EventConfig(), seed=0)
    events = EventLearning(engine, task.x_train, task.y_train, make_rule(), config, writes).run()
    a, b = batched.states.log.arrays(), events.log.arrays()
    assert a["junction"].size > 100
    for key in ("junction", "requested", "obtained", "energy"):
        assert np.array_equal(a[key], b[key])
    assert np.allclose(a["time"], b["time"], rtol=1e-9, atol=1e-15)
    assert np.array_equal(batched.states.frequency, events.frequency)
    for a_layer, b_layer, start in zip(batched.network.layers, engine.network.layers, _net().layers):
        assert np.array_equal(a_layer.bias_voltage, b_layer.bias_voltage)
        if getattr(make_rule(), "bias_dither", 0.0) > 0:                 # the chains learned theirs
            assert not np.array_equal(b_layer.bias_voltage, start.bias_voltage)
    assert events.curve.accuracy == batched.curve.accuracy
    assert events.simulated_time == pytest.approx(batched.simulated_time, rel=1e-9)
    # the line's resonances (what the event chip runs on) are the written ones
    for line in engine.lines:
        assert np.array_equal(line.medium.resonance_frequency.ravel(), line.frequency_state.frequency)


def test_a_write_lands_after_the_write_latency_and_processes_wake_only_to_write(task):
    latency = 1e-3                                         # long enough to look inside
    writes = WriteSettings(step=10e3, write_latency=latency, write_threshold=100e3)
    config = OnChipConfig(windows=1, batch_size=8, sample_time=1e-6, seed=0)
    engine = EventEngine(_net(), EventConfig(), seed=0)
    learning = EventLearning(engine, task.x_train, task.y_train, FeedbackAlignmentRule(1.0), config, writes)
    env = engine.env
    t0 = env.now
    learning.t_start = t0
    circuit = env.process(learning_circuit(env, learning))
    line = engine.lines[0]
    before = line.medium.resonance_frequency.copy()
    t_write = t0 + 8 * 1e-6                                # the batch's presentation
    env.run(until=t_write + latency / 2)
    log = learning.log.arrays()
    assert log["junction"].size > 0 and np.allclose(log["time"], t_write - t0)
    written = log["junction"]
    state = line.frequency_state.frequency
    assert not np.array_equal(state[written], before.ravel()[written])          # the state is written
    assert np.array_equal(line.medium.resonance_frequency, before)              # not yet on the line
    env.run(until=circuit)
    assert np.array_equal(line.medium.resonance_frequency.ravel()[written], state[written])
    # only the junctions that wrote woke, once each
    wakes = learning.wakes
    assert np.array_equal(np.flatnonzero(wakes), np.unique(written)) and wakes.max() == 1
    assert engine.ledger is not None


def test_a_junction_agent_takes_at_most_1_kB():
    assert EventLearning.bytes_per_agent() <= 1024


@pytest.mark.parametrize("write_noise", [0.0, 3e3])
def test_every_write_costs_the_devices_write_energy_in_both_paths(task, write_noise):
    """Batched loop and event engine: the write energy is the number of writes times the
    device's energy per write pulse (a junction asked to stay put is not pulsed); in the event
    engine the chip's energy ledger holds the same joules as the write log."""
    energy = 2.5e-13
    writes = WriteSettings(step=10e3, write_noise=write_noise, write_energy=energy, endurance=6)
    config = OnChipConfig(windows=10, batch_size=8, evaluate_every=5, seed=1)
    batched = train_on_chip(_net(), task.x_train, task.y_train, FeedbackAlignmentRule(0.3), config, writes)
    engine = EventEngine(_net(), EventConfig(), seed=0)
    events = EventLearning(engine, task.x_train, task.y_train, FeedbackAlignmentRule(0.3), config, writes).run()
    for log in (batched.states.log, events.log):
        assert log.count > 100
        assert log.energy == pytest.approx(energy * log.count, rel=1e-12)
        assert np.all(log.arrays()["energy"] == energy)
    # the frequency states counted exactly the logged writes (and stuck junctions stopped), the
    # same in both paths: without drift too, the event engine's next window senses the chip only
    # once the writes have landed on its lines (they once sensed it a latency too early)
    counts = np.concatenate([line.frequency_state.writes for line in engine.lines])
    assert counts.sum() == events.log.count and counts.max() == 6
    assert np.array_equal(batched.states.writes, counts)
    assert np.array_equal(batched.states.log.arrays()["obtained"], events.log.arrays()["obtained"])
    assert engine.ledger.finish(engine.env.now, engine.env.now)["write"] == pytest.approx(events.log.energy,
                                                                                         rel=1e-12)
    assert events.curve.energy[-1] == events.log.energy and batched.curve.energy[-1] == batched.states.log.energy


def test_same_seed_same_learning_run_and_another_seed_another(task):
    """A whole learning run (mini-batches, random dither codes, write noise) on the event engine
    is fixed by its seed: the same seed makes the same writes at the same times; another seed
    other writes."""
    writes = WriteSettings(step=10e3, write_noise=3e3)

    def log(seed):
        config = OnChipConfig(windows=4, batch_size=8, evaluate_every=4, seed=seed)
        engine = EventEngine(_net(), EventConfig(), seed=0)
        rule = PerturbativeRule(0.3, steps=16, code="random")
        return EventLearning(engine, task.x_train, task.y_train, rule, config, writes).run().log.arrays()

    a, b, c = log(11), log(11), log(12)
    assert a["junction"].size > 100
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    assert not np.array_equal(a["obtained"][:50], c["obtained"][:50])


def test_event_writes_are_quantised_noisy_windowed_and_endure_over_10000_writes(task):
    """The event engine's junction agents write through their lines' frequency states: over more
    than 10,000 writes each lands on the 10 kHz grid plus a Gaussian write error of the given
    spread, inside the tuning window, and no junction writes past its endurance (the stuck ones
    keep their last frequency)."""
    step, sigma, endurance = 10e3, 2e3, 25
    writes = WriteSettings(step=step, write_noise=sigma, endurance=endurance)
    config = OnChipConfig(windows=40, batch_size=8, evaluate_every=40, seed=2)
    engine = EventEngine(_net(), EventConfig(), seed=0)
    run = EventLearning(engine, task.x_train, task.y_train, FeedbackAlignmentRule(3.0), config, writes).run()
    log = run.log.arrays()
    assert log["junction"].size > 10_000
    base = np.concatenate([line.frequency_state.base_frequency for line in engine.lines])[log["junction"]]
    lo, hi = engine.lines[0].frequency_state.window_low, engine.lines[0].frequency_state.window_high
    shift = log["obtained"] - base
    assert np.all((shift >= lo) & (shift <= hi))                         # the window
    grid = np.clip(np.round((log["requested"] - base) / step) * step, lo, hi)
    inside = (grid > lo + 6 * sigma) & (grid < hi - 6 * sigma)
    error = (shift - grid)[inside]                                      # quantised, then noise
    assert error.size > 10_000
    assert abs(error.mean()) < 4 * sigma / np.sqrt(error.size)
    assert abs(error.std() / sigma - 1) < 0.05
    per_junction = np.bincount(log["junction"], minlength=int(run.offsets[-1]))
    assert per_junction.max() == endurance
    stuck = np.concatenate([line.frequency_state.stuck for line in engine.lines])
    assert np.array_equal(stuck, per_junction == endurance) and stuck.sum() > 100
    # a stuck junction's resonance is its last write's
    last = {}
    for j, f in zip(log["junction"], log["obtained"]):
        last[j] = f
    frequency = run.frequency
    assert all(frequency[j] == last[j] for j in np.flatnonzero(stuck))


@pytest.mark.parametrize("make_rule", [lambda: FeedbackAlignmentRule(0.05),
                                       lambda: PerturbativeRule(0.05, steps=16, bias_dither=1e-4,
                                                                bias_learning_rate=1e-9)])
def test_event_learning_senses_the_noisy_chip_as_the_batched_loop(make_rule):
    """With thermal_noise on (the neurons' power fluctuations in what the chip senses) both paths
    still make the same writes and measure the same learning curve on a chip with hidden neurons."""
    from rfemu.tasks import xor_quadrants
    task = xor_quadrants(n_train=64, n_test=8, seed=0)

    def net():
        return compile_graph(build_graph(spin_mlp((2, 4, 2)), seed=0))

    writes = WriteSettings(step=10e3, write_latency=20e-9)
    config = OnChipConfig(windows=6, batch_size=16, evaluate_every=3, score_scale=3e3, thermal_noise=True, seed=4)
    batched = train_on_chip(net(), task.x_train, task.y_train, make_rule(), config, writes)
    engine = EventEngine(net(), EventConfig(), seed=0)
    events = EventLearning(engine, task.x_train, task.y_train, make_rule(), config, writes).run()
    assert events.chip.thermal_noise
    a, b = batched.states.log.arrays(), events.log.arrays()
    assert a["junction"].size > 0
    for key in ("junction", "requested", "obtained"):
        assert np.array_equal(a[key], b[key])
    assert events.curve.accuracy == batched.curve.accuracy and events.curve.cost == pytest.approx(batched.curve.cost,
                                                                                                  rel=0, nan_ok=True)


ON = {"final_step_fraction": 0.1, "adaptive_step": 0.01, "adaptive_bias_step": 3e-5, "cost_gain_reference": 0.35,
      "recall_best": "end", "initial_trim": "all", "final_score_scale": 2e4}


@pytest.mark.parametrize("key", sorted(ON))
def test_event_learning_refuses_a_batched_loop_mechanism_it_does_not_run(task, key):
    """The learning circuit here runs the rule's own steps; a setting that only the batched loop
    acts on would make the run learn differently without a word."""
    from dataclasses import replace
    config = replace(OnChipConfig(windows=2, batch_size=8, seed=3), **{key: ON[key]})
    engine = EventEngine(_net(), EventConfig(), seed=0)
    with pytest.raises(ValueError, match=key):
        EventLearning(engine, task.x_train, task.y_train, FeedbackAlignmentRule(0.3), config)


def test_every_loop_setting_is_either_run_by_both_or_refused_here():
    """A new setting of the batched loop must be declared: run by the event learning too, or in
    LOOP_ONLY (refused), so that the two stay the same learning."""
    from dataclasses import fields

    from rfemu.learning.local.agents import LOOP_ONLY
    run_by_both = {"windows", "batch_size", "score_scale", "sample_time", "evaluate_every", "readout_noise",
                   "thermal_noise", "seed", "progress"}
    assert {f.name for f in fields(OnChipConfig)} == run_by_both | set(LOOP_ONLY)
    assert set(ON) == set(LOOP_ONLY)
