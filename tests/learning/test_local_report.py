"""An on-chip learning run as a Dataset (netCDF) and figures: what they hold is the run's."""
import numpy as np
import pytest

from rfemu.engines.event import save_traces
from rfemu.learning.local import FeedbackAlignmentRule, OnChipConfig, WriteSettings, train_on_chip
from rfemu.learning.local.report import dataset, figures
from rfemu.network import build_graph, compile_graph, spin_mlp
from rfemu.tasks import xor_quadrants


def test_dataset_and_figures_of_a_run(tmp_path):
    import xarray as xr
    task = xor_quadrants(n_train=64, n_test=8, seed=0)
    net = compile_graph(build_graph(spin_mlp((2, 4, 2)), seed=0))
    run = train_on_chip(net, task.x_train, task.y_train, FeedbackAlignmentRule(0.01),
                        OnChipConfig(windows=12, batch_size=16, evaluate_every=4),
                        WriteSettings(step=10e3, write_energy=3e-13))
    ds = dataset(run)
    log = run.states.log.arrays()
    assert ds.sizes["evaluation"] == 4 and ds.sizes["write"] == log["junction"].size > 0
    assert int(ds["writes_per_junction"].sum()) == run.states.log.count
    assert float(ds["write_energy"][-1]) == run.states.log.energy
    # the followed junctions' last frequencies are the chip's
    assert np.array_equal(ds["frequency"].values[-1], run.states.frequency[ds["followed_junction"].values])
    path = save_traces(ds, tmp_path / "on_chip.nc")
    back = xr.load_dataset(path, engine="h5netcdf")
    assert np.array_equal(back["write_obtained"].values, log["obtained"])
    paths = figures(run, tmp_path / "figures")
    assert len(paths) == 3 and all((tmp_path / "figures" / p.split("/")[-1]).stat().st_size > 1000 for p in paths)


# ------------------------------------------------------------------ in a run folder

ONCHIP = """
name: onchip_report
seed: 5
network:
  inputs: {frequency_plan: {kind: linear, min: 200 MHz, max: 300 MHz}}
  layers:
    - {size: 2, resonance_plan: {kind: linear, min: 200 MHz, max: 300 MHz}, junctions_per_chain: 2,
       bias_voltage: 8 mV, transconductance: 3.388 uA/mV}
    - {size: 2, resonance_plan: {kind: linear, min: 400 MHz, max: 500 MHz}}
devices:
  frequency_state: {step: 20 kHz, write_energy: 3e-13 J}
engine:
  n_threads: 1
  event: {samples: 4}
task: {dataset: xor, n_train: 80, n_test: 8}
training:
  rule: perturbative
  on_chip: {windows: 24, batch_size: 8, evaluate_every: 8, steps: 16, learning_rate: 0.01,
            score_scale: 3000}
record: {samples: 4}
"""


@pytest.mark.parametrize("engine", ["compiled", "event"])
def test_an_on_chip_run_folder_holds_its_learning_and_prices_every_write(tmp_path, engine):
    """Whatever engine tests the chip, the run's write energy is its writes x the device's write
    energy (devices.frequency_state.write_energy), and the run folder's trace.nc holds the learning
    that produced it: the curve against simulated time and writes, every write, the writes per
    junction; the figures are the on-chip ones, drawn again from the folder by rfemu plot."""
    import json
    import xarray as xr
    from rfemu import api
    from rfemu.results import redraw_figures
    from rfemu.scenario import load_scenario_text
    text = ONCHIP.replace("n_threads: 1", f"n_threads: 1\n  kind: {engine}")
    if engine == "compiled":                  # the figures are drawn and redrawn once (event)
        text = text.replace("record: {samples: 4}", "record: {samples: 4, figures: false}")
    s = load_scenario_text(text)
    api.run(s, out=tmp_path / "run", progress=False)
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["engine"] == engine and m["on_chip_writes"] > 0
    assert m["on_chip_write_energy_J"] == pytest.approx(3e-13 * m["on_chip_writes"], rel=1e-12)
    ds = xr.load_dataset(tmp_path / "run" / "trace.nc", engine="h5netcdf")
    assert int(ds["on_chip_writes_per_junction"].sum()) == ds.sizes["on_chip_write"] == m["on_chip_writes"]
    assert ds.sizes["on_chip_junction"] == m["n_junctions"]
    assert np.all(ds["on_chip_write_pulse_energy"].values == 3e-13)
    assert float(ds["on_chip_write_energy"][-1]) == pytest.approx(m["on_chip_write_energy_J"], rel=1e-12)
    assert list(ds["on_chip_accuracy"].values) == m["on_chip_curve"]["accuracy"]
    assert float(ds["on_chip_time"][-1]) == pytest.approx(m["on_chip_simulated_time_s"], rel=1e-12)
    # learning time and energy: the whole run's, and up to the first point of its best accuracy
    best = int(np.argmax(ds["on_chip_accuracy"].values))
    assert m["on_chip_best_accuracy"] == max(m["on_chip_curve"]["accuracy"])
    assert (m["on_chip_time_to_best_s"], m["on_chip_writes_to_best"], m["on_chip_write_energy_to_best_J"]) == \
        (float(ds["on_chip_time"][best]), int(ds["on_chip_writes"][best]), float(ds["on_chip_write_energy"][best]))
    assert m["on_chip_write_energy_to_best_J"] == pytest.approx(3e-13 * m["on_chip_writes_to_best"], rel=1e-12)
    # the writes happen in time order on the simulated clock, within the learning run
    t = ds["on_chip_write_time"].values
    assert np.all(np.diff(t) >= 0) and 0 < t[-1] <= m["on_chip_simulated_time_s"]
    # every written frequency sits on the 20 kHz grid of the device (from its base frequency)
    obtained = ds["on_chip_write_obtained"].values
    base = np.concatenate([ds[f"base_frequency_{l}"].values.ravel() for l in range(2)])
    k = (obtained - base[ds["on_chip_write_junction"].values]) / 20e3
    assert np.allclose(k, np.round(k), rtol=0, atol=1e-6)
    if engine == "compiled":
        return
    names = {p.name for p in (tmp_path / "run" / "figures").iterdir()}
    assert {"learning_curve.png", "resonance_trajectories.png", "writes_per_junction.png"} <= names
    for p in (tmp_path / "run" / "figures").iterdir():
        p.unlink()
    assert {p.name for p in redraw_figures(tmp_path / "run")} == names


def test_the_learning_curve_is_titled_by_the_rule_that_trained(tmp_path):
    """An on-chip run's curve is not called offline backprop; in-situ and backprop say theirs."""
    import xarray as xr
    from rfemu import plots
    task = xor_quadrants(n_train=64, n_test=8, seed=0)
    run = train_on_chip(compile_graph(build_graph(spin_mlp((2, 4, 2)), seed=0)), task.x_train, task.y_train,
                        FeedbackAlignmentRule(0.01), OnChipConfig(windows=8, batch_size=16, evaluate_every=4))
    from rfemu.learning.local.report import run_traces
    traces = run_traces(run, "on_chip")
    jobs = dict(plots._learning_jobs(traces, "feedback_alignment"))
    fig = jobs["learning_curve.png"]()
    title = fig._suptitle.get_text()
    assert "feedback_alignment" in title and "backprop" not in title
    assert [ax.get_xlabel() for ax in fig.axes[2:]] == ["simulated time (ms)", "writes (all junctions)"]
    epochs = xr.Dataset({k: ("epoch", [0.5, 0.4]) for k in ("train_loss", "train_accuracy", "validation_loss",
                                                           "validation_accuracy")}, coords={"epoch": [1, 2]})
    assert "offline backprop" in plots.learning_curve(epochs, "backprop")._suptitle.get_text()
    in_situ = plots.learning_curve(epochs, "in_situ")
    assert "chip-in-the-loop" in in_situ._suptitle.get_text() and "backprop" not in in_situ._suptitle.get_text()
