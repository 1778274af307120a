"""An on-chip learning run as a Dataset (netCDF) and figures: what they hold is the run's."""
import numpy as np

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
