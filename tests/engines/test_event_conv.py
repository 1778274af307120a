"""The spintronic CNN on the event engine (rfemu.engines.event.conv.ConvEventEngine) against the
compiled engine's SpinCNN: the same scores, the scan's and the parallel copies' latencies from
the junctions' response time, and the energy as the static model integrated over the measured
times (rfemu.devices.energy)."""
import numpy as np
import pytest

from rfemu.devices.energy import EnergyModel, joule_power
from rfemu.devices.resonator import response_time
from rfemu.engines.conv import SpinCNN, rearranged
from rfemu.engines.event import EventConfig
from rfemu.engines.event.clock import to_seconds, to_ticks
from rfemu.engines.event.conv import ConvEventEngine, event_figures
from rfemu.medium import LineResponse
from rfemu.network import build_graph, conv, spin_mlp
from rfemu.network.frequency import FrequencyPlan
from rfemu.tasks.registry import load


def _cnn(geometry, arrangement, head, *, pool_size=2, pool="average", filters=2, seed=1, spread=0.0):
    tones = conv.patch_tone_frequencies(FrequencyPlan("geometric", 20e6, 120e6), geometry)
    layer = conv.conv_layer(geometry, filters, tones, arrangement=arrangement, bias_voltage=7e-3,
                            base_spread=spread, seed=seed)
    # random programming: every copy its own write error (the parallel copies differ)
    layer.tuning = layer.tuning + np.random.default_rng(seed + 1).normal(0.0, 0.2e6, layer.tuning.shape)
    return SpinCNN(layer, build_graph(spin_mlp(head), seed=seed + 2), pool_size=pool_size, pool=pool,
                   input_max_power=0.3e-6)


def _active(cnn, x):
    """Fraction of the convolution's oscillators driven between threshold and I_max."""
    current = cnn.forward(x).conv.voltage * cnn.transconductance
    p = cnn.oscillator
    return float(np.mean((current > p.threshold_current) & (current < p.max_current)))


def _assert_equal_to_compiled(cnn, x):
    run = ConvEventEngine(cnn).run(x)
    expected = cnn.forward(x).scores
    assert np.max(np.abs(run.outputs - expected)) <= 1e-9 * np.max(np.abs(expected))
    assert np.ptp(expected, axis=0).max() > 1e-2 * np.max(np.abs(expected))   # the images differ
    return run


@pytest.mark.parametrize("pool", ["average", "max"])
@pytest.mark.parametrize("arrangement", conv.ARRANGEMENTS)
def test_event_engine_equals_the_compiled_cnn_on_20_digits(arrangement, pool):
    task = load("digits", seed=0)
    x = task.x_test[:20].reshape(-1, 1, 8, 8)
    cnn = _cnn(conv.ConvGeometry(1, 8, 8, 3), arrangement, (18, 6, 10), pool=pool, spread=0.01)
    assert _active(cnn, x) > 0.5
    _assert_equal_to_compiled(cnn, x)


@pytest.mark.parametrize("arrangement", conv.ARRANGEMENTS)
def test_event_engine_equals_the_compiled_cnn_on_20_mnist_images(arrangement, require_data):
    task = load("mnist", {"n_train": 10, "n_test": 20}, seed=0, path=require_data("mnist"))
    x = task.x_test[:20].reshape(-1, 1, 28, 28)
    cnn = _cnn(conv.ConvGeometry(1, 28, 28, 5, stride=2), arrangement, (72, 10))
    assert _active(cnn, x) > 0.5
    _assert_equal_to_compiled(cnn, x)


def _delay_ticks(cnn, copy=0, line_delay=EventConfig().line_delay):
    """One reading of a convolution line: propagation + its slowest junction's spin-diode
    response time (rfemu.devices.resonator.response_time), ticks."""
    layer = cnn.conv
    return to_ticks(line_delay + float(np.max(response_time(layer.resonance_frequency[copy], layer.damping))))


def _twins(side, pool_size):
    """The same filters, oscillators and head on images of side ``side``: pooled to one value per
    filter (so the head is the same whatever the number of positions)."""
    g = conv.ConvGeometry(1, side, side, 3)
    cnn = _cnn(g, conv.SEQUENTIAL, (2, 4, 3), pool_size=pool_size)
    return rearranged(cnn, conv.SEQUENTIAL), rearranged(cnn, conv.PARALLEL)


def test_sequential_scan_takes_one_reading_per_position_and_parallel_one_reading():
    x = {side: np.stack([np.full((1, side, side), 0.6), np.full((1, side, side), 0.2)]) for side in (4, 6, 10)}
    runs = {side: [ConvEventEngine(c).run(x[side]) for c in _twins(side, side - 2)] for side in (4, 6, 10)}
    parallel_latency = runs[4][1].latency
    for side, (sequential, parallel) in runs.items():
        cnn, _ = _twins(side, side - 2)
        n_positions = (side - 2) ** 2
        d = _delay_ticks(cnn)
        # sequential: the scan is n_positions readings of d, exactly
        np.testing.assert_array_equal(sequential.stage_latency, to_seconds(n_positions * d))
        # then at most one settling of the oscillators and the head (the parallel one's)
        assert np.all(sequential.latency >= sequential.stage_latency)
        assert np.all(sequential.latency - sequential.stage_latency
                      <= parallel.latency - to_seconds(d) + 1e-18)
        # parallel: one reading, and the same latency whatever the number of positions
        np.testing.assert_array_equal(parallel.stage_latency, to_seconds(d))
        np.testing.assert_allclose(parallel.latency, parallel_latency, rtol=1e-9)


def _static_energy(cnn, engine, image, latency, scan_step):
    """Energy (J by kind) of an image read again on a settled chip: each device's static power
    (the compiled engine's currents and tone powers, rfemu.devices.energy) over the measured times.

    Every oscillator and the head's tones hold their power over the whole latency; the convolution
    lines' tones change per position of the scan (``scan_step`` s each, recorded as each reading
    is delivered) or hold (parallel)."""
    model, layer = engine.energy_model, cnn.conv
    fwd = cnn.forward(image[None], keep=True)
    current = fwd.conv.voltage * cnn.transconductance
    oscillator = latency * float(np.sum(joule_power(current, cnn.oscillator.resistance, cnn.oscillator.max_current)))
    patches = fwd.conv.patches[0]                                    # (P, T) W
    gain = layer.response().junction_power_gain().reshape(layer.base_frequency.shape).sum(axis=(1, 2))   # per copy
    if layer.arrangement == conv.SEQUENTIAL:
        conv_junction = model.junction_power(scan_step * patches.sum(), gain[0])
    else:
        conv_junction = sum(model.junction_power(latency * patches[k].sum(), gain[k]) for k in range(layer.n_copies))
    head_gain = LineResponse.of_layer(cnn.head.network.layers[0]).junction_power_gain()
    junction = float(conv_junction) + float(model.junction_power(latency * fwd.pooled.sum(), head_gain))
    return {"oscillator": oscillator, "junction": junction, "amplifier": float(model.amplifier_power(junction))}


@pytest.mark.parametrize("arrangement", conv.ARRANGEMENTS)
def test_energy_per_image_is_the_static_model_over_the_measured_times(arrangement):
    x = load("digits", seed=0).x_test[:2].reshape(-1, 1, 8, 8)
    cnn = _cnn(conv.ConvGeometry(1, 8, 8, 3), arrangement, (18, 10), spread=0.01)
    engine = ConvEventEngine(cnn, energy_model=EnergyModel(junction_absorption=0.02, amplifier_efficiency=0.25))
    first = engine.run(x)
    assert first.energy["oscillator"].min() > 0
    again = engine.infer(x[1])                           # the same image: only the conversion runs
    n_positions = cnn.conv.geometry.n_positions
    readings = n_positions if arrangement == conv.SEQUENTIAL else 1
    assert again.latency == again.stage_latency
    assert again.latency == pytest.approx(readings * to_seconds(max(
        _delay_ticks(cnn, k) for k in range(cnn.conv.n_copies))), rel=1e-12)
    want = _static_energy(cnn, engine, x[1], again.latency, again.stage_latency / readings)
    for kind, joules in want.items():
        assert again.energy[kind] == pytest.approx(joules, rel=1e-9, abs=0), kind
    assert again.energy["write"] == 0.0


def test_benchmark_figures_of_both_arrangements():
    x = load("digits", seed=0).x_test[:4].reshape(-1, 1, 8, 8)
    cnn = _cnn(conv.ConvGeometry(1, 8, 8, 3), conv.PARALLEL, (18, 10), spread=0.01)
    figures = event_figures(cnn, x)
    assert figures["event_vs_compiled_max_rel_diff"] <= 1e-9
    assert figures["energy_per_image_J"] == figures["parallel_energy_per_image_J"] > 0
    n_positions = cnn.conv.geometry.n_positions
    twin = rearranged(cnn, conv.SEQUENTIAL)
    assert figures["sequential_scan_s"] == to_seconds(n_positions * _delay_ticks(twin))
    assert figures["parallel_stage_s"] == to_seconds(max(_delay_ticks(cnn, k) for k in range(n_positions)))
    assert figures["sequential_latency_s"] > figures["parallel_latency_s"]


def test_noise_is_refused():
    cnn = _cnn(conv.ConvGeometry(1, 4, 4, 3), conv.SEQUENTIAL, (2, 3))
    with pytest.raises(ValueError, match="noise off"):
        ConvEventEngine(cnn, EventConfig(noise=True))
