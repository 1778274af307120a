"""The event engine's clock cannot stall: integer ticks, physics on time differences.

A float clock at t seconds cannot advance by less than about t * 2.2e-16: a neuron asking for a
shorter delay is woken at the same instant and asks again, forever (a trained drone network did
this at 16 ms of simulated time). These tests would fail, or hang in a bounded loop that they
detect, with such a clock.
"""
import math

import numpy as np
import pytest

from rfemu.devices.oscillator import OscillatorParameters
from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventConfig, EventEngine, Priority
from rfemu.engines.event.clock import TICK, Clock, PriorityTimeout, to_seconds, to_ticks
from rfemu.network import build_graph, spin_mlp

SHIFT = 2 * math.pi * 20e6        # rad/s: f(I) neurons move their tones with their input


def _graph(sizes, seed, emission):
    desc = spin_mlp(sizes, oscillator=OscillatorParameters(nonlinear_frequency_shift=SHIFT), emission=emission)
    return build_graph(desc, seed=seed)


def test_a_float_clock_cannot_take_the_step_the_tick_clock_takes():
    # the defect: at 1e4 s a float time cannot move by 1e-20 s; the tick clock moves by one tick
    assert 1e4 + 1e-20 == 1e4
    env = Clock(start_time=1e4)
    start = env.ticks
    done = []

    def asks_for_tiny_delays(env):
        for _ in range(1000):
            yield PriorityTimeout(env, Priority.NEURON_UPDATE, 1e-30)
        done.append(env.ticks)

    env.process(asks_for_tiny_delays(env))
    env.run()
    assert done == [start + 1000]
    assert env.ticks == start + 1000 and start == 10 ** 22


def test_delays_become_whole_ticks_and_bad_delays_name_who_asked():
    assert TICK == 1e-18
    assert to_ticks(0.0) == 0                          # the same instant stays the same instant
    assert to_ticks(1e-30) == 1 and to_ticks(1e-30, up=True) == 1
    assert to_ticks(1e-8) == 10 ** 10 and to_seconds(3 * 10 ** 10) == 3e-8
    assert to_ticks(1.2e-18) == 1 and to_ticks(1.2e-18, up=True) == 2
    for bad in (-1e-9, math.nan, math.inf):
        with pytest.raises(ValueError, match="neuron h0_3"):
            to_ticks(bad, "neuron h0_3")
    engine = EventEngine(_graph((2, 2, 1), 0, "fixed"))
    with pytest.raises(ValueError, match="EventEngine.idle"):
        engine.idle(-1.0)
    with pytest.raises(ValueError):
        engine.schedule(math.nan, Priority.WRITE)


@pytest.mark.parametrize("emission", ["fixed", "current"])
def test_sub_tick_relaxation_cannot_loop_at_a_late_time(emission):
    # neurons relaxing at ~1e27 /s ask for delays of ~1e-27 s, a thousandth of a tick: at
    # 1e4 s a float clock would never move again. Bounded stepping: a stall fails, not hangs
    G = _graph((4, 3, 2), 1, emission)
    engine = EventEngine(G, config=EventConfig(min_relaxation_fraction=1e20), start_time=1e4)
    rates = [n.rate for n in engine.neurons]
    assert min(rates) > 1e26
    x = np.random.default_rng(1).random((3, 4))
    expected = CompiledEngine(G, n_threads=1).forward(x).scores
    for xi, want in zip(x, expected):
        t0 = engine.env.ticks
        engine.apply(xi)
        for _ in range(10_000):
            if engine.env.peek() == math.inf:
                break
            engine.env.step()
        else:
            pytest.fail("the event engine did not come to rest in 10,000 events: the clock stalled")
        assert engine.env.ticks > t0
        got = np.array([r.value for r in engine.readouts])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.max(np.abs(want)))


@pytest.mark.parametrize("emission,noise", [("fixed", False), ("current", False), ("current", True)])
def test_inferences_started_at_1e4_s_equal_those_started_at_0(emission, noise):
    # time-translation invariance: the physics sees only time differences. At 1e4 s a float
    # clock resolves 1.8e-12 s, which would move latencies (~1e-6 s) by ~1e-6 relative
    G = _graph((5, 4, 3), 2, emission)
    x = np.random.default_rng(2).random((4, 5))
    cfg = EventConfig(noise=noise, noise_duration=2e-6 if noise else None)
    runs = [EventEngine(G, config=cfg, seed=7, start_time=t0).run(x) for t0 in (0.0, 1e4)]
    a, b = runs
    np.testing.assert_array_equal(a.outputs, b.outputs)
    np.testing.assert_array_equal(a.latency, b.latency)
    np.testing.assert_array_equal(a.n_events, b.n_events)
    for kind in a.energy:
        np.testing.assert_array_equal(a.energy[kind], b.energy[kind])
    assert np.all(a.latency > 0) and np.all(a.n_events > 0)
    assert b.items[0].t_start >= 1e4 and a.items[0].t_start < 1.0
