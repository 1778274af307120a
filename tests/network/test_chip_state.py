"""Chip-state files: every run folder holds the programmed chip; a scenario starts from one (or
from an .npz made elsewhere) and reproduces the run that saved it, on either engine."""
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import rfemu.api as api
from rfemu.network import VariabilityDescription, build_graph, compile_graph, spin_mlp
from rfemu.network.chip_state import ChipStateError, apply_chip_state, chip_state_dataset, read_chip_state
from rfemu.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
VARIED = ["training.epochs=4", "variability.resonance_frequency=0.01",
          "variability.damping=0.05", "variability.oscillator_power=0.05",
          "variability.sensitivity=0.05"]


def _varied_network(seed):
    d = dataclasses.replace(spin_mlp((4, 3, 2)),
                            variability=VariabilityDescription(
                                source_frequency=0.01, resonance_frequency=0.01, oscillator_frequency=0.01,
                                oscillator_power=0.1, sensitivity=0.1, damping=0.05))
    G = build_graph(d, seed=seed)
    return G, compile_graph(G)


def _arrays(net):
    out = {}
    for layer in net.layers:
        for k, v in vars(layer).items():
            if isinstance(v, np.ndarray):
                out[(layer.index, k)] = v
        if layer.oscillator is not None:
            for f in dataclasses.fields(layer.oscillator):
                out[(layer.index, f.name)] = getattr(layer.oscillator, f.name)
    out["sources"] = net.source_max_power
    return out


def test_a_saved_state_rebuilds_every_drawn_device_on_another_draw(tmp_path):
    G1, n1 = _varied_network(seed=1)
    rng = np.random.default_rng(0)
    for layer in n1.layers:
        layer.tuning = rng.uniform(layer.tuning_min, layer.tuning_max)
        layer.bias_voltage = rng.normal(0, 1e-3, layer.bias_voltage.shape)
    chip_state_dataset(G1, n1).to_netcdf(tmp_path / "chip.nc", engine="h5netcdf")
    G2, n2 = _varied_network(seed=2)
    a, b = _arrays(n1), _arrays(n2)
    differ = [k for k in a if not np.array_equal(a[k], b[k], equal_nan=True)]
    assert {(0, "sensitivity"), (0, "tone_frequency"), (0, "natural_frequency"), (0, "tuning"), (1, "bias_voltage")} <= set(differ)
    apply_chip_state(G2, read_chip_state(tmp_path / "chip.nc"))
    b = _arrays(compile_graph(G2))
    assert [k for k in a if not np.array_equal(a[k], b[k], equal_nan=True)] == []


def test_an_npz_of_resonances_and_biases_sets_the_tuning_states(tmp_path):
    G, net = _varied_network(seed=1)
    layer = net.layers[0]
    target = layer.base_frequency + 0.5 * layer.tuning_max
    np.savez(tmp_path / "chip.npz", layer0_resonance_frequency=target, layer0_bias_voltage=[1e-3, 2e-3, 3e-3])
    apply_chip_state(G, read_chip_state(tmp_path / "chip.npz"))
    new = compile_graph(G).layers[0]
    np.testing.assert_array_equal(new.resonance_frequency, target)
    np.testing.assert_array_equal(new.bias_voltage, [1e-3, 2e-3, 3e-3])
    np.testing.assert_array_equal(new.damping, layer.damping)         # the rest as drawn


def test_frequency_plans_come_from_a_file_too(tmp_path):
    """Input tones, neuron channels and as-fabricated resonances as explicit lists from an .npz."""
    G, net = _varied_network(seed=1)
    tones = np.array([11e6, 23e6, 37e6, 52e6])
    channels = np.array([210e6, 260e6, 330e6])
    base = net.layers[1].base_frequency * 1.01
    np.savez(tmp_path / "plans.npz", layer0_source_frequency=tones, layer0_channel_frequency=channels,
             layer1_base_frequency=base)
    apply_chip_state(G, read_chip_state(tmp_path / "plans.npz"))
    new = compile_graph(G)
    np.testing.assert_array_equal(new.layers[0].tone_frequency, tones)
    np.testing.assert_array_equal(new.layers[0].channel_frequency, channels)
    np.testing.assert_array_equal(new.layers[1].tone_frequency, channels)   # the next line's tones
    np.testing.assert_array_equal(new.layers[1].base_frequency, base)
    np.testing.assert_array_equal(new.layers[1].tuning, net.layers[1].tuning)


@pytest.mark.parametrize("arrays, match", [
    ({"layer0_resonance_frequency": np.zeros((2, 2))}, r"shape \(2, 2\).*needs \(3, 4\)"),
    ({"layer0_resonance_frequency": "far"}, r"outside junction \(0, 0\)'s reach"),
    ({"layer5_bias_voltage": np.zeros(3)}, "2 resonator layers"),
    ({"weights": np.zeros(3)}, "layer<l>_<quantity>"),
    ({"layer0_colour": np.zeros(3)}, "not a chip-state quantity"),
    ({"layer0_bias_voltage": [np.nan, 0, 0]}, "not finite"),
    ({"layer1_oscillator_damping": np.ones(2)}, "output layer"),
])
def test_a_state_that_does_not_fit_is_one_error_naming_the_array(tmp_path, arrays, match):
    G, net = _varied_network(seed=1)
    if isinstance(arrays.get("layer0_resonance_frequency"), str):
        arrays = {"layer0_resonance_frequency": net.layers[0].base_frequency + 10 * net.layers[0].tuning_max}
    np.savez(tmp_path / "chip.npz", **arrays)
    with pytest.raises(ChipStateError, match=match):
        apply_chip_state(G, read_chip_state(tmp_path / "chip.npz"))


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """The quickstart chip with variability, trained on the compiled engine and written."""
    out = tmp_path_factory.mktemp("saved") / "run"
    s = api.load_scenario(QUICKSTART, overrides=VARIED)
    return api.run(s, out=out, progress=False)


def test_every_run_folder_holds_the_programmed_chip(saved_run):
    with xr.open_dataset(saved_run.run_dir / "chip_state.nc", engine="h5netcdf") as ds:
        state = ds.load()
    net = compile_graph(saved_run.graph)
    for layer in net.layers:
        l = layer.index
        np.testing.assert_array_equal(state[f"layer{l}_resonance_frequency"].values, layer.resonance_frequency)
        np.testing.assert_array_equal(state[f"layer{l}_bias_voltage"].values, layer.bias_voltage)
        assert state[f"layer{l}_resonance_frequency"].attrs["units"] == "Hz"
        # programming wrote every junction once (no endurance limit: none stuck)
        assert np.all(state[f"layer{l}_write_count"].values == 1) and not state[f"layer{l}_stuck"].values.any()
    assert saved_run.metrics["programming_writes"] == sum(
        int(state[f"layer{l.index}_write_count"].values.sum()) for l in net.layers)


def test_a_run_from_the_saved_state_on_the_event_engine_reproduces_the_compiled_run(saved_run):
    samples = 6
    s = api.load_scenario(saved_run.run_dir / "scenario.yaml", overrides=[
        f"network.chip_state={saved_run.run_dir / 'chip_state.nc'}", "training.rule=none",
        "engine.kind=event", f"engine.event.samples={samples}", f"record.samples={samples}",
        "medium.noise=false"])
    again = api.run(s, write=False, progress=False)
    first = saved_run.traces["test_scores"].values
    event = again.traces["event_outputs"].values
    np.testing.assert_allclose(event, first[:samples], rtol=1e-6, atol=1e-6 * np.abs(first).max())
    np.testing.assert_array_equal(np.argmax(event, axis=1), np.argmax(first[:samples], axis=1))
    # the compiled engine of the restored chip gives the saved run's metrics exactly
    assert again.metrics["compiled_test_accuracy"] == saved_run.metrics["test_accuracy"]
    assert again.metrics["n_junctions"] == saved_run.metrics["n_junctions"]
    np.testing.assert_array_equal(again.traces["test_scores"].values, first[:samples])


def test_a_run_from_an_npz_made_elsewhere(saved_run, tmp_path):
    """Per-junction resonances and per-chain biases from another tool: the rest of the chip is
    the scenario's own (same seed, same variability), so the saved run's scores come back."""
    with xr.open_dataset(saved_run.run_dir / "chip_state.nc", engine="h5netcdf") as ds:
        arrays = {k: ds[k].values for k in ds.data_vars
                  if k.endswith("_resonance_frequency") or k.endswith("_bias_voltage")}
    np.savez(tmp_path / "trained_elsewhere.npz", **arrays)
    scenario = tmp_path / "imported.yaml"
    scenario.write_text((saved_run.run_dir / "scenario.yaml").read_text())
    s = api.load_scenario(scenario, overrides=["network.chip_state=trained_elsewhere.npz",
                                               "training.rule=none"])
    again = api.run(s, write=False, progress=False)
    np.testing.assert_allclose(again.traces["test_scores"].values, saved_run.traces["test_scores"].values,
                               rtol=1e-12, atol=0)


def test_a_missing_or_unfit_chip_state_is_a_scenario_error_with_its_line(saved_run, tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(QUICKSTART.read_text().replace("network:\n", "network:\n  chip_state: nowhere.nc\n", 1))
    with pytest.raises(ScenarioError, match=r"s.yaml:\d+: network.chip_state: chip-state file 'nowhere.nc' does not exist"):
        api.load_scenario(scenario)
    np.savez(tmp_path / "nowhere.nc.npz", layer0_bias_voltage=np.zeros(3))
    scenario.write_text(scenario.read_text().replace("nowhere.nc", "nowhere.nc.npz"))
    with pytest.raises(ScenarioError, match=r"network.chip_state: layer0_bias_voltage has shape \(3,\)"):
        api.run(api.load_scenario(scenario), write=False, progress=False)
