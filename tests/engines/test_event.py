"""The event engine against the compiled engine, causality, reproducibility, writes, energy, traces."""
import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rfemu.devices.oscillator import OscillatorParameters
from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventConfig, EventEngine, Priority, TraceConfig, save_traces
from rfemu.devices.energy import EnergyModel
from rfemu.network import VariabilityDescription, build_graph, spin_mlp
from rfemu.results import static_energy_and_latency

import settling_theory


def _graph(sizes, seed, *, emission="fixed", shift=0.0, linewidth=0.0, tap_loss_db=0.0, spread=0.0):
    oscillator = OscillatorParameters(nonlinear_frequency_shift=shift)
    desc = spin_mlp(sizes, oscillator=oscillator, emission=emission, tone_linewidth=linewidth,
                    tap_loss_db=tap_loss_db, variability=VariabilityDescription.uniform(spread))
    return build_graph(desc, seed=seed)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_in=st.integers(1, 6), hidden=st.lists(st.integers(1, 4), min_size=1, max_size=2),
       n_out=st.integers(1, 3), seed=st.integers(0, 2 ** 16),
       emission=st.sampled_from(["fixed", "current"]), linewidth=st.sampled_from([0.0, 2e5]),
       tap_loss=st.sampled_from([0.0, 0.5]), spread=st.sampled_from([0.0, 0.01]))
def test_event_outputs_equal_compiled_outputs_noise_off(n_in, hidden, n_out, seed, emission, linewidth,
                                                        tap_loss, spread):
    # N = 2 pi * 20 MHz: emission="current" neurons move their tones with their input
    G = _graph((n_in, *hidden, n_out), seed, emission=emission, shift=2 * math.pi * 20e6,
               linewidth=linewidth, tap_loss_db=tap_loss, spread=spread)
    x = np.random.default_rng(seed).random((3, n_in))
    expected = CompiledEngine(G, n_threads=1).forward(x).scores
    got = EventEngine(G).run(x).outputs
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6 * scale)


@pytest.fixture(scope="module")
def settling_run():
    """A 5-4-3 chip of fixed-channel neurons (noise off), four inputs one after the other; each
    emission reaches the junctions exactly one line delay later (causal delivery), neurons
    re-emit on 1e-4 of their full power; and the figures expected from the device formulas
    (tests/engines/settling_theory.py)."""
    G = _graph((5, 4, 3), seed=3)
    cfg = EventConfig(line_delay=2e-9, emission_tolerance=1e-4, causal_delivery=True)
    model = EnergyModel(junction_absorption=0.03, amplifier_efficiency=0.2)
    engine = EventEngine(G, config=cfg, energy_model=model)
    x = np.random.default_rng(3).random((4, 5))
    run = engine.run(x)
    return engine, run, settling_theory.predict(G, x, cfg, model)


def test_outputs_settle_when_every_neuron_has_relaxed_as_the_theory_says(settling_run):
    """Settling = both lines' delays (propagation + spin-diode response) + the time the sum of
    the neurons' exponential relaxations exp(-2 G_G (xi - 1) t), weighted by the output
    junctions, takes to fall inside the latency tolerance: 5-19 time constants of the slowest
    moving neuron here, not one."""
    engine, run, expected = settling_run
    assert engine.lines[0].delay == pytest.approx(expected[0]["d0"], rel=1e-12)
    assert engine.lines[1].delay == pytest.approx(expected[0]["d1"], rel=1e-12)
    for item, e in zip(run.items, expected):
        # the bracket is what the emission lag (1e-4 of full power) allows; measured within 1.2 %
        assert e["early"] <= item.latency <= e["late"]
        assert item.latency == pytest.approx(e["latency"], rel=0.02)
        assert item.latency * e["rates"].min() > 4.0
    # no output moved before the last input's tones crossed both lines (the readouts keep the
    # records of the last inference)
    first = min(t for r in engine.readouts for t, _ in r.history[1:])
    assert first >= run.items[-1].t_start + expected[-1]["d0"] + expected[-1]["d1"] - 1e-15


def test_energy_is_the_static_model_integrated_over_the_theoretical_settling(settling_run):
    """Joule R I^2 of each neuron (old current until line 0 delivers, the new one after) and the
    junctions' absorbed share of the tones on both lines, integrated over the settling of the
    theory; the amplifiers restore what the junctions absorbed."""
    engine, run, expected = settling_run
    for item, e in zip(run.items, expected):
        assert abs(item.energy["oscillator"] - e["oscillator"]) <= e["slack_oscillator"]
        assert abs(item.energy["junction"] - e["junction"]) <= e["slack_junction"]
        assert e["slack_oscillator"] < 0.1 * e["oscillator"] and e["slack_junction"] < 0.1 * e["junction"]
        assert item.energy["amplifier"] == pytest.approx(item.energy["junction"] / 0.2, rel=1e-12, abs=0)


def test_quiet_chip_costs_nothing_no_clock_tick():
    G = _graph((4, 3, 2), seed=1)
    engine = EventEngine(G)
    x = np.random.default_rng(1).random(4)
    first = engine.infer(x)
    again = engine.infer(x)                    # the same input: no source changes
    assert first.n_events > 0 and again.n_events == 0 and again.latency == 0.0
    np.testing.assert_array_equal(first.outputs, again.outputs)


def test_same_seed_same_trace_with_noise():
    G = _graph((3, 2, 2), seed=5)
    cfg = EventConfig(noise=True)
    x = np.random.default_rng(5).random((2, 3))

    def run(seed):
        e = EventEngine(G, config=cfg, seed=seed, trace=TraceConfig())
        out = e.run(x).outputs
        return out, e.traces()

    a, ta = run(11)
    b, tb = run(11)
    c, _ = run(12)
    np.testing.assert_array_equal(a, b)
    assert ta.equals(tb)
    assert not np.any(a == c)


def _step_means(records, t0, window, n):
    """Means of a step signal (ticks, value) over n consecutive windows from t0 (ticks)."""
    from rfemu.devices.energy import integrate_steps
    return np.array([integrate_steps(records, t0 + k * window, t0 + (k + 1) * window) / window
                     for k in range(n)])


def test_different_seeds_spread_as_one_long_noisy_run_fluctuates():
    """Noise is stationary and each seed an independent realisation of it (ergodicity): the
    outputs of 40 seeds (each the mean over the last 1 / B of a run) spread as the 1 / B means
    of one long run of the same chip on the same input fluctuate in time, mean and variance
    equal within their sampling errors. Seeds sharing a stream, or noise the seed does not
    reach, would spread less."""
    G = _graph((3, 2, 2), seed=5)
    cfg = EventConfig(noise=True, noise_duration=1.5e-5)
    x = np.random.default_rng(5).random(3)
    seeds = np.array([EventEngine(G, config=cfg, seed=s).infer(x).outputs for s in range(40)])
    long = EventEngine(G, config=dataclasses.replace(cfg, noise_duration=2.6e-4), seed=1000)
    item = long.infer(x)
    window = round(1e18 / cfg.readout_bandwidth)
    t0 = round(item.t_start * 1e18) + round(cfg.noise_duration * 1e18) - window   # after the transient
    n = 240
    in_time = np.array([_step_means(r.records, t0, window, n) for r in long.readouts]).T   # (n, outputs)
    for k in range(seeds.shape[1]):
        s_var, t_var = seeds[:, k].var(ddof=1), in_time[:, k].var(ddof=1)
        assert s_var > 0
        # chi-square: the relative error of a 40-sample variance is sqrt(2 / 39) = 0.23; the time
        # windows are nearly independent (the slowest neuron's correlation time 1 / (2 G_G (xi - 1))
        # = 0.35 us < 1 / B = 1 us: lag-1 correlation of the window means ~0.2); measured 1.1-1.2
        assert 0.45 < s_var / t_var < 2.2, (k, s_var, t_var)
        se = math.sqrt(s_var / len(seeds) + t_var / n)
        assert abs(seeds[:, k].mean() - in_time[:, k].mean()) < 4.5 * se


def test_priorities_are_named_and_ordered():
    assert Priority.WRITE < Priority.SOURCE < Priority.LINE_DELIVERY < Priority.NEURON_UPDATE < Priority.READOUT


def test_frequency_writes_land_after_their_latency_and_change_the_outputs():
    G = _graph((4, 3, 2), seed=7)
    engine = EventEngine(G)
    x = np.random.default_rng(7).random(4)
    engine.infer(x)
    line = engine.lines[1]
    nodes = [a.node for a in engine.junctions if a.line is line][:3]
    state = line.frequency_state
    latency = state.write_latency
    targets = np.array([G.nodes[n]["base_frequency"] + 2e6 for n in nodes])
    t_write = engine.env.now
    engine.write_frequencies(nodes, targets)
    res = engine.infer(x)        # same input: only the write moves anything
    moved = [t for r in engine.readouts for t, _ in r.history[1:]]
    assert moved and min(moved) >= t_write + latency
    for n, f in zip(nodes, targets):
        G.nodes[n]["tuning"] = f - G.nodes[n]["base_frequency"]
    expected = CompiledEngine(G).forward(x[None]).scores[0]
    np.testing.assert_allclose(res.outputs, expected, rtol=1e-6, atol=1e-9)
    # (pytest.approx's default abs=1e-12 would take 0 J for the 3e-13 J)
    assert state.write_energy > 0 and res.energy["write"] == pytest.approx(3 * state.write_energy, rel=1e-12, abs=0)


def test_oscillator_energy_is_joule_power_times_time():
    G = _graph((4, 3, 2), seed=9)
    engine = EventEngine(G)
    x = np.random.default_rng(9).random(4)
    res = engine.infer(x)
    state = CompiledEngine(G).forward(x[None], keep=True).layers[0]
    params = engine.network.layers[0].oscillator
    idle = CompiledEngine(G).forward(np.zeros((1, 4)), keep=True).layers[0]
    current = np.clip(state.current[0], 0, params.max_current)
    before = np.clip(idle.current[0], 0, params.max_current)
    # the idle chip's bias currents flow until line 0 delivers the input, then the new ones
    delay = engine.lines[0].delay
    expected = float(np.sum(params.resistance * (before ** 2 * delay + current ** 2 * (res.latency - delay))))
    assert res.energy["oscillator"] == pytest.approx(expected, rel=1e-9, abs=0)


def test_traces_units_netcdf_and_final_state(tmp_path):
    import xarray as xr

    G = _graph((4, 3, 2), seed=2)
    engine = EventEngine(G, trace=TraceConfig(every=1e-9))
    x = np.random.default_rng(2).random((2, 4))
    out = engine.run(x).outputs
    ds = engine.traces()
    assert ds["chain_voltage_layer1"].attrs["units"] == "V"
    assert ds["tone_power_line1"].attrs["units"] == "W"
    assert ds["neuron_frequency_layer0"].attrs["units"] == "Hz"
    # decimation keeps the latest state: the last chain voltages + bias are the outputs
    bias = engine.network.layers[1].bias_voltage
    np.testing.assert_allclose(ds["chain_voltage_layer1"].values[-1] + bias, out[-1], rtol=1e-12)
    # the neurons' last emitted powers are the static output powers
    state = CompiledEngine(G).forward(x[-1:], keep=True).layers[0]
    np.testing.assert_allclose(ds["neuron_power_layer0"].values[-1], state.output_power[0], rtol=1e-9)
    times = ds["time_chains1"].values
    assert np.all(np.diff(times) >= 0)
    # decimation: at most two records (the first and the latest) per 1 ns window
    assert np.all(times[2:] - times[:-2] >= 1e-9)
    full = EventEngine(G, trace=TraceConfig()).run(x)
    np.testing.assert_array_equal(full.outputs, out)
    path = save_traces(ds, tmp_path / "trace.nc")
    back = xr.open_dataset(path, engine="h5netcdf")
    assert back["tone_frequency_line0"].attrs["units"] == "Hz"
    np.testing.assert_array_equal(back["chain_voltage_layer1"].values, ds["chain_voltage_layer1"].values)
    back.close()


def test_injection_locking_between_neurons_on_a_line():
    # two neurons held on by their bias (equal powers): mutual Adler locking range
    # c (sqrt(P2/P1) + sqrt(P1/P2)) = 2 MHz for c = 1 MHz. 0.2 MHz apart they lock onto one
    # frequency; 20 MHz apart they stay apart (pulled by about c^2 / df = 50 kHz at most)
    for band, locked in (((100e6, 100.2e6), True), ((100e6, 120e6), False)):
        desc = spin_mlp((2, 2, 1), hidden_band=band, initial_bias_spread=0.0)
        G = build_graph(desc, seed=4)
        engine = EventEngine(G, config=EventConfig(locking_coupling=1e6, locking_window=4e-6))
        engine.infer(np.array([0.01, 0.0]))
        medium = engine.lines[1].medium
        assert np.all(medium.tone_power > 0.5e-6)
        f = medium.tone_frequency
        if locked:
            assert abs(f[1] - f[0]) < 1e-3 * 0.2e6
        else:
            assert abs(abs(f[1] - f[0]) - 20e6) < 0.01 * 20e6


def test_event_ledger_and_static_model_account_the_same_powers():
    # hold an input on a settled chip: the event engine's ledger over a quiet interval and the
    # compiled engine's static estimate give the same power of each kind
    G = build_graph(spin_mlp((5, 4, 3)), seed=4)
    model = EnergyModel(junction_absorption=0.03, amplifier_efficiency=0.2)
    x = np.random.default_rng(4).random((1, 5))
    engine = EventEngine(G, energy_model=model)
    engine.infer(x[0])
    t0 = engine.env.ticks
    hold = 1e-6
    engine.idle(hold)
    assert engine.env.ticks == t0 + 10 ** 12
    event = engine.ledger.finish(t0, engine.env.ticks)
    forward = CompiledEngine(G, n_threads=1).forward(x, keep=True)
    static = static_energy_and_latency(engine.network, forward, energy_model=model)
    for kind in ("oscillator", "junction", "amplifier"):
        static_power = static[f"{kind}_J"] / static["latency_s"]
        assert static_power > 0
        assert event[kind] / hold == pytest.approx(static_power, rel=1e-9), kind
    # and by hand: the neurons' Joule power at their static currents
    layer = engine.network.layers[0]
    current = forward.layers[0].current[0]
    by_hand = float(np.sum(layer.oscillator.resistance * np.clip(current, 0, layer.oscillator.max_current) ** 2))
    assert event["oscillator"] / hold == pytest.approx(by_hand, rel=1e-9)


@pytest.mark.parametrize("emission", ["fixed", "current"])
def test_causal_delivery_puts_each_emission_on_the_line_exactly_one_delay_later(emission):
    # a slow line (diode response ~0.8 us, longer than the neurons' emission interval): with
    # causal delivery the tones a line's junctions see at each delivery are the neurons'
    # emissions of exactly one delay before, never a later one
    G = _graph((3, 4, 2), seed=6, emission=emission, shift=2 * math.pi * 20e6)
    x = np.random.default_rng(6).random((2, 3))
    expected = CompiledEngine(G, n_threads=1).forward(x).scores
    engine = EventEngine(G, config=EventConfig(causal_delivery=True),
                         trace=TraceConfig(variables=("tones", "neurons")))
    delay = engine.lines[1].delay
    assert delay > 1e-7
    run = engine.run(x)
    np.testing.assert_allclose(run.outputs, expected, rtol=1e-9, atol=1e-12)
    ds = engine.traces()
    neuron_t = ds["time_neurons0"].values
    neuron_p = ds["neuron_power_layer0"].values
    order = [list(ds["neuron_layer0"].values).index(t) for t in ds["tone_line1"].values]
    start = run.items[0].t_start
    checked = 0
    for T, tones in zip(ds["time_line1"].values, ds["tone_power_line1"].values):
        if T < start + delay:
            continue
        k = np.searchsorted(neuron_t, T - delay + 0.5e-18, side="right") - 1
        np.testing.assert_array_equal(tones, neuron_p[k][order])
        checked += 1
    assert checked > 10
    # the same chip without causal delivery reads some emissions early, so it settles sooner
    acausal = EventEngine(G).run(x)
    np.testing.assert_array_equal(acausal.outputs, run.outputs)
    assert np.all(run.latency >= acausal.latency)
