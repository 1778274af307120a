"""Run folders are written atomically; the compiled engine's energy and latency follow the devices."""
import math

import numpy as np
import pytest
import xarray as xr

from rfemu.results import static_energy_and_latency, write_run_folder


def _dataset():
    return xr.Dataset({"x": ("t", np.arange(3.0), {"units": "s"})})


def test_a_failure_while_writing_leaves_nothing(tmp_path):
    target = tmp_path / "run"

    def draw(folder):
        (folder / "half.png").write_bytes(b"partial")
        raise RuntimeError("killed while drawing")

    with pytest.raises(RuntimeError):
        write_run_folder(target, "name: x\n", {"a": 1}, _dataset(), draw=draw)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_replaced_only_when_the_new_one_is_complete(tmp_path):
    target = tmp_path / "run"
    write_run_folder(target, "name: old\n", {"a": 1}, _dataset())
    with pytest.raises(RuntimeError):
        write_run_folder(target, "name: new\n", {"a": 2}, _dataset(),
                         draw=lambda folder: (_ for _ in ()).throw(RuntimeError("killed")))
    assert (target / "scenario.yaml").read_text() == "name: old\n"
    write_run_folder(target, "name: new\n", {"a": 2, "b": float("nan")}, _dataset())
    assert (target / "scenario.yaml").read_text() == "name: new\n"
    assert '"b": null' in (target / "metrics.json").read_text()     # NaN is not JSON
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_static_energy_and_latency_of_one_neuron_by_hand():
    """1 input -> 1 neuron -> 1 output (driven above I_max, so clamped): the latency is the two
    junctions' response times 1 / (2 pi alpha f_r) plus the
    neuron's power relaxation, ln(1/tol) / (2 G_G (xi - 1)); the power is R I^2 plus the RF."""
    from rfemu.devices import oscillator as osc
    from rfemu.engines.compiled import CompiledEngine
    from rfemu.network import build_graph, spin_mlp
    net = CompiledEngine(build_graph(spin_mlp((1, 1, 1)), seed=0)).network
    engine = CompiledEngine(net)
    fwd = engine.forward(np.array([[0.7]]), keep=True)
    tol = 1e-3
    out = static_energy_and_latency(net, fwd, tolerance=tol)
    hidden, last = net.layers
    params = hidden.oscillator
    i_max = float(np.asarray(params.max_current).ravel()[0])
    # the compact model protects the device: the current is clamped to I_max
    current = min(float(fwd.layers[0].current[0, 0]), i_max)
    i_th = float(np.asarray(params.threshold_current).ravel()[0])
    alpha = float(np.asarray(params.damping).ravel()[0])
    f0 = float(np.asarray(params.natural_frequency).ravel()[0])
    assert current > i_th, "the test needs a neuron above threshold"
    g_g = alpha * 2 * math.pi * f0
    neuron = math.log(1 / tol) / (2 * g_g * (current / i_th - 1))
    rings = sum(1 / (2 * math.pi * float(np.min(l.damping * l.resonance_frequency)))
                for l in (hidden, last))
    assert out["latency_s"] == pytest.approx(neuron + rings, rel=1e-12)
    resistance = float(np.asarray(params.resistance).ravel()[0])
    p_out = float(fwd.layers[0].output_power[0, 0])
    assert p_out > 0
    from rfemu.study.energy import EnergyModel
    model = EnergyModel(junction_absorption=0.02, amplifier_efficiency=0.25)
    out = static_energy_and_latency(net, fwd, tolerance=tol, energy_model=model)
    # every tone passes every junction of its line: 1 junction per line here, no line loss
    absorbed = 0.02 * (0.7 * 1e-6 + p_out)
    latency = neuron + rings
    assert out["oscillator_J"] == pytest.approx(resistance * current ** 2 * latency, rel=1e-12)
    assert out["junction_J"] == pytest.approx(absorbed * latency, rel=1e-12)
    assert out["amplifier_J"] == pytest.approx(absorbed / 0.25 * latency, rel=1e-12)
    assert out["energy_per_inference_J"] == pytest.approx(
        (resistance * current ** 2 + absorbed * (1 + 1 / 0.25)) * latency, rel=1e-12)
