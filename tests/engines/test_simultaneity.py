"""What simultaneity means in the event engine: events of one instant run in :class:`Priority`
order (docs/physics.md#event-engine-dynamics), and that order decides what the chip computes.

- WRITE before LINE_DELIVERY: a frequency write landing at the instant a line delivers is seen
  by that delivery. The line answers the new input and the new resonance in one update: the
  output goes straight to its final value. (The other order would deliver the old resonance
  first and the written one a line delay later: a wrong intermediate output.)
- SOURCE before LINE_DELIVERY: on a line without delay, every tone change of an instant is
  delivered in one update. (The other order would deliver the first source's tone alone, then
  the others: chain voltages of a partial input, at the very instant of the input.)
- LINE_DELIVERY before READOUT: a readout records once per instant, after its chain has its
  final voltage of that instant.

Single-layer networks (tones -> line 0 -> readouts), noise off: the expected values come from the
compiled engine on the same graph (the static model), the expected times from the delays.
"""
import numpy as np
import pytest

from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventConfig, EventEngine, Priority, TraceConfig
from rfemu.network import build_graph, spin_mlp


def _graph(seed=3):
    return build_graph(spin_mlp((3, 2)), seed=seed)


def _static(G, x):
    return CompiledEngine(G, n_threads=1).forward(np.atleast_2d(x)).scores[0]


def test_a_write_landing_as_the_line_delivers_is_seen_by_that_delivery():
    G = _graph()
    probe = EventEngine(G)
    latency = probe.lines[0].frequency_state.write_latency
    assert latency > 0
    # the line's delay equals the write latency: an input applied with the write request is
    # delivered at the very instant the write lands
    engine = EventEngine(G, config=EventConfig(line_delay=latency, diode_response=False))
    assert engine.lines[0].delay == latency
    x0, x1 = np.array([0.2, 0.5, 0.9]), np.array([0.8, 0.1, 0.4])
    engine.infer(x0)
    nodes = [a.node for a in engine.junctions if a.junction == a.chain]      # one per chain
    targets = np.array([G.nodes[n]["base_frequency"] + G.nodes[n]["tuning"] + 150e3 for n in nodes])
    t = engine.env.now
    engine.write_frequencies(nodes, targets)
    res = engine.infer(x1)
    written = G.copy()
    for n, f in zip(nodes, targets):
        written.nodes[n]["tuning"] = f - written.nodes[n]["base_frequency"]
    final = _static(written, x1)
    # the write moved the outputs (a real check), and neither old state shows up on the way
    assert np.all(np.abs(final - _static(G, x1)) > 1e-3 * np.abs(final).max())
    for r, expected in zip(engine.readouts, final):
        records = [(tr, v) for tr, v in r.history if tr > t]
        assert len(records) == 1, records
        assert records[0][0] == pytest.approx(t + latency, rel=0, abs=1e-18)     # within a tick
        assert records[0][1] == pytest.approx(expected, rel=1e-9)
    assert res.latency == pytest.approx(latency, rel=1e-12)
    np.testing.assert_allclose(res.outputs, final, rtol=1e-9)


def test_a_zero_delay_line_delivers_all_tone_changes_of_an_instant_at_once():
    G = _graph(seed=5)
    engine = EventEngine(G, config=EventConfig(line_delay=0.0, diode_response=False),
                         trace=TraceConfig(variables=("chains",)))
    x = np.array([0.7, 0.3, 1.0])
    engine.env.run(until=engine.env.now + 1e-9)      # apart from the power-up's deliveries
    t = engine.env.now
    res = engine.infer(x)
    ds = engine.traces()
    times = ds["time_chains0"].values
    at_input = times == t
    # one delivery at the instant of the input, carrying all three tones
    assert at_input.sum() == 1
    bias = engine.network.layers[0].bias_voltage
    np.testing.assert_allclose(ds["chain_voltage_layer0"].values[at_input][0] + bias, _static(G, x),
                               rtol=1e-9)
    # ... and nothing after it: a line without delay and no neurons settles at once
    assert res.latency == 0.0 and np.all(times <= t)
    for r in engine.readouts:
        assert [tr for tr, _ in r.history] == [t, t]        # the start value, then one record


def test_a_readout_records_once_per_instant_after_the_write_and_the_input():
    # a write with no latency and an input at the same instant, on a line without delay: the
    # write lands first, the sources change, the line delivers once, the readouts record once
    G = _graph(seed=7)
    engine = EventEngine(G, config=EventConfig(line_delay=0.0, diode_response=False))
    engine.lines[0].frequency_state.write_latency = 0.0
    x = np.array([0.4, 0.9, 0.2])
    engine.env.run(until=engine.env.now + 1e-9)
    nodes = [a.node for a in engine.junctions][-2:]
    targets = np.array([G.nodes[n]["base_frequency"] + G.nodes[n]["tuning"] - 120e3 for n in nodes])
    t = engine.env.now
    engine.write_frequencies(nodes, targets)
    engine.infer(x)
    written = G.copy()
    for n, f in zip(nodes, targets):
        written.nodes[n]["tuning"] = f - written.nodes[n]["base_frequency"]
    final = _static(written, x)
    for r, expected in zip(engine.readouts, final):
        assert len(r.history) == 2 and r.history[1][0] == t
        assert r.history[1][1] == pytest.approx(expected, rel=1e-9)


def test_the_order_is_write_source_delivery_neuron_readout():
    # the tests above derive their expectations from this order
    assert [p.name for p in sorted(Priority)] == ["WRITE", "SOURCE", "LINE_DELIVERY", "NEURON_UPDATE",
                                                 "READOUT"]


def test_twin_neurons_emitting_at_one_instant_are_recorded_once_per_instant():
    # two hidden neurons with the same device, drive and weights relax in step: on lines without
    # delay, their emissions of an instant both reach the output before the readout records
    # (NEURON_UPDATE before READOUT), so no record shows one twin's new tone without the other's
    G = build_graph(spin_mlp((2, 2, 1), initial_bias_spread=0.0), seed=11)
    params = G.nodes[("oscillator", 0, 0)]["parameters"]
    G.nodes[("oscillator", 0, 1)]["parameters"] = params
    for j in range(2):
        G.nodes[("resonator", 0, 1, j)]["tuning"] = G.nodes[("resonator", 0, 0, j)]["tuning"]
    engine = EventEngine(G, config=EventConfig(line_delay=0.0, diode_response=False))
    engine.env.run(until=engine.env.now + 1e-9)
    res = engine.infer(np.array([0.6, 0.2]))
    a, b = engine.neurons
    assert a.p_target == b.p_target and a.rate == b.rate and a.p_target > 0
    times = [t for t, _ in engine.readouts[0].history[1:]]
    assert len(times) > 3                                    # the twins emitted several times
    assert len(set(times)) == len(times)
    assert res.outputs[0] == pytest.approx(_static(G, np.array([0.6, 0.2]))[0], rel=1e-9)


def test_a_write_lands_after_its_latency_on_a_line_without_delay():
    # the line answers at once, so the outputs show the instant the write lands: its latency
    # after the request, not before
    G = _graph(seed=13)
    engine = EventEngine(G, config=EventConfig(line_delay=0.0, diode_response=False))
    x = np.array([0.5, 0.6, 0.7])
    engine.infer(x)
    latency = engine.lines[0].frequency_state.write_latency
    nodes = [a.node for a in engine.junctions if a.junction == a.chain]
    targets = np.array([G.nodes[n]["base_frequency"] + G.nodes[n]["tuning"] + 90e3 for n in nodes])
    t = engine.env.now
    engine.write_frequencies(nodes, targets)
    res = engine.infer(x)                         # the same input: only the write moves anything
    written = G.copy()
    for n, f in zip(nodes, targets):
        written.nodes[n]["tuning"] = f - written.nodes[n]["base_frequency"]
    for r, expected in zip(engine.readouts, _static(written, x)):
        records = [(tr, v) for tr, v in r.history if tr > t]
        assert len(records) == 1
        assert records[0][0] == pytest.approx(t + latency, rel=1e-12)
        assert records[0][1] == pytest.approx(expected, rel=1e-9)
    assert res.latency == pytest.approx(latency, rel=1e-12)
