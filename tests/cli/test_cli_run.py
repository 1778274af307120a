"""`rfemu run` writes a complete run folder; its resolved scenario reproduces the metrics."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = os.environ.get("RFEMU_DATA", "/work/shared/datasets")
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
FIGURES = {"network_graph.png", "frequency_plan.png", "learning_curve.png",
           "confusion_matrix.png", "resonance_trajectories.png"}
#: metrics that measure the computer, not the emulated chip
WALL_CLOCK = ("wall_time_s", "timing")


def _rfemu(*args, cwd):
    env = dict(os.environ, RFEMU_DATA=DATA, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "rfemu.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


@pytest.fixture(scope="module")
def quickstart_runs(tmp_path_factory):
    """The quickstart run into the default folder, then its resolved scenario run again (without
    --quiet, as the README's first command runs: its summary printed)."""
    work = tmp_path_factory.mktemp("quickstart")
    first = _rfemu("run", str(QUICKSTART), "-q", cwd=work)
    assert first.returncode == 0, first.stderr
    runs = list((work / "runs").iterdir())
    assert len(runs) == 1
    run_dir = runs[0]
    again = _rfemu("run", str(run_dir / "scenario.yaml"), "--out", str(work / "again"), cwd=work)
    assert again.returncode == 0, again.stderr
    return first, run_dir, work / "again", again


def test_default_folder_holds_every_file(quickstart_runs):
    first, run_dir, _, _ = quickstart_runs
    assert run_dir.name.startswith("quickstart-") and len(run_dir.name) == len("quickstart-YYYYmmdd-HHMMSS")
    assert first.stdout.strip() == str(Path("runs") / run_dir.name)
    assert {p.name for p in run_dir.iterdir()} == {"scenario.yaml", "metrics.json", "trace.nc", "figures",
                                                   ".rfemu-run", "chip_state.nc", "provenance.json"}
    assert {p.name for p in (run_dir / "figures").iterdir()} == FIGURES
    for png in (run_dir / "figures").iterdir():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # nothing temporary left beside it
    assert [p.name for p in run_dir.parent.iterdir()] == [run_dir.name]


def test_metrics_hold_what_the_issue_lists(quickstart_runs):
    _, run_dir, _, _ = quickstart_runs
    m = json.loads((run_dir / "metrics.json").read_text())
    for key in ("test_accuracy", "train_accuracy", "energy_per_inference_J", "latency_s",
                "wall_time_s", "counters"):
        assert key in m
    assert 0.0 <= m["test_accuracy"] <= 1.0 and 0.0 <= m["train_accuracy"] <= 1.0
    # the quickstart learns: the moons are far from chance (50 %)
    assert m["test_accuracy"] > 0.9
    assert m["energy_per_inference_J"] > 0 and m["latency_s"] > 0
    # a 2 -> 16 -> 2 network: 2 x 16 + 16 x 2 junctions
    assert m["sizes"] == [2, 16, 2] and m["n_junctions"] == 64 and m["n_oscillators"] == 16


def test_resolved_scenario_is_si_with_the_seed(quickstart_runs):
    import yaml
    _, run_dir, _, _ = quickstart_runs
    resolved = yaml.safe_load((run_dir / "scenario.yaml").read_text())
    assert resolved["seed"] == 7
    assert resolved["network"]["inputs"]["max_power"] == pytest.approx(1e-6)
    assert resolved["network"]["layers"][0]["transconductance"] == pytest.approx(3.388e-3)
    assert resolved["devices"]["oscillator"]["threshold_current"] == pytest.approx(10e-6)
    # defaults filled in: keys the quickstart never wrote
    assert resolved["devices"]["resonator"]["damping"] == pytest.approx(0.01)
    assert resolved["task"]["n_test"] == 200


def test_rerunning_the_resolved_scenario_reproduces_the_metrics(quickstart_runs):
    _, run_dir, again, _ = quickstart_runs
    a = json.loads((run_dir / "metrics.json").read_text())
    b = json.loads((again / "metrics.json").read_text())
    for key in WALL_CLOCK:
        a.pop(key)
        b.pop(key)
    assert a == b


def test_a_run_without_quiet_prints_its_folder_and_the_metrics_it_wrote(quickstart_runs):
    """The README's first command: no traceback at the end, the folder and the run's own
    accuracy and energy in the summary (a summary printed from other numbers would fail)."""
    _, _, again, printed = quickstart_runs
    m = json.loads((again / "metrics.json").read_text())
    assert "Traceback" not in printed.stderr
    lines = printed.stdout.splitlines()
    assert f"run folder: {again}" in lines
    assert any(line.split() == ["test", "accuracy", f"{100 * m['test_accuracy']:.2f}", "%"] for line in lines), lines
    assert any(line.split()[:3] == ["energy", "/", "inference"] for line in lines), lines


def test_trace_has_units_and_matches_the_metrics(quickstart_runs):
    import xarray as xr
    _, run_dir, _, _ = quickstart_runs
    m = json.loads((run_dir / "metrics.json").read_text())
    with xr.open_dataset(run_dir / "trace.nc", engine="h5netcdf") as ds:
        assert all("units" in ds[v].attrs for v in ds.data_vars)
        assert ds["resonance_frequency_0"].attrs["units"] == "Hz"
        confusion = ds["confusion"].values
        assert confusion.sum() == m["n_test"]
        assert np.trace(confusion) / confusion.sum() == pytest.approx(m["test_accuracy"])
        # trajectories start at the as-programmed state and stay in the tuning window
        f = ds["snapshot_resonance_frequency"].values
        assert f.shape[0] == m["epochs_run"] + 1
        assert np.all(np.abs(f - f[0]) <= 30e6 + 1e-3)


def test_plot_redraws_the_figures(quickstart_runs, tmp_path):
    import shutil
    _, run_dir, _, _ = quickstart_runs
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "figures")
    proc = _rfemu("plot", str(copy), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in (copy / "figures").iterdir()} == FIGURES
    bad = _rfemu("plot", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_event_engine_runs_the_trained_chip_and_agrees_with_the_compiled_one(monkeypatch):
    """engine: event runs the same programmed network; noise off, its settled outputs equal
    the compiled engine's steady state."""
    monkeypatch.setenv("RFEMU_DATA", DATA)
    import rfemu.api as api
    s = api.load_scenario(QUICKSTART, overrides=["training.epochs=3", "engine.event.samples=6",
                                                 "record.samples=6", "medium.noise=false"])
    result = api.run(s, engine="event", write=False, progress=False)
    m, ds = result.metrics, result.traces
    assert m["engine"] == "event" and m["event_samples"] == 6
    assert m["counters"]["events"] > 0 and m["latency_s"] > 0
    event = ds["event_outputs"].values
    compiled = ds["test_scores"].values
    np.testing.assert_allclose(event, compiled, rtol=1e-6, atol=1e-6 * np.abs(compiled).max())
    assert m["test_accuracy"] == m["compiled_accuracy_on_event_samples"]


def test_a_scenario_without_seed_records_the_seed_it_drew(monkeypatch):
    monkeypatch.setenv("RFEMU_DATA", DATA)
    import rfemu.api as api
    s = api.load_scenario(QUICKSTART, overrides=["seed=null", "training.epochs=1"])
    assert s.seed is None
    a = api.run(s, write=False, progress=False)
    b = api.run(s, write=False, progress=False)
    assert isinstance(a.resolved["seed"], int) and a.resolved["seed"] == a.metrics["seed"]
    assert a.resolved["seed"] != b.resolved["seed"]          # 32 random bits, twice


def test_out_naming_a_folder_rfemu_did_not_write_is_refused_before_the_work(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "data.csv").write_text("1,2,3")
    proc = _rfemu("run", str(QUICKSTART), "--out", str(mine), "-q", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "did not write" in proc.stderr and "--overwrite" in proc.stderr
    assert [p.name for p in mine.iterdir()] == ["data.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    proc = _rfemu("run", str(QUICKSTART), "--out", str(mine / "data.csv"), "-q", cwd=tmp_path)
    assert proc.returncode == 2 and "not a folder" in proc.stderr
    assert (mine / "data.csv").read_text() == "1,2,3"


def test_a_trace_file_named_like_the_metrics_is_refused_with_its_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(QUICKSTART.read_text() + "\nrecord:\n  trace_file: metrics.json\n")
    proc = _rfemu("validate", str(path), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    line = len(QUICKSTART.read_text().splitlines()) + 3
    assert proc.stderr.startswith(f"{path}:{line}: record.trace_file: ") and "metrics.json" in proc.stderr


def test_the_run_folder_records_what_repeats_it(quickstart_runs):
    """provenance.json: this rfemu's version and git revision, the kernel build, the libraries
    actually imported, the seed the run used (the resolved scenario is scenario.yaml)."""
    import subprocess

    import numpy
    import scipy
    import simpy
    import xarray
    import yaml

    from rfemu import _core
    from rfemu._version import __version__
    _, run_dir, _, _ = quickstart_runs
    p = json.loads((run_dir / "provenance.json").read_text())
    m = json.loads((run_dir / "metrics.json").read_text())
    resolved = yaml.safe_load((run_dir / p["scenario"]).read_text())
    assert p["rfemu_version"] == __version__ and p["seed"] == m["seed"] == resolved["seed"]
    assert p["kernel"] == json.loads(json.dumps(_core.build_info()))
    assert p["python"] == sys.version.split()[0]
    for module, name in ((numpy, "numpy"), (scipy, "scipy"), (simpy, "simpy"), (xarray, "xarray")):
        assert p["libraries"][name] == module.__version__
    if (ROOT / ".git").exists():
        # a commit of this repository (HEAD then; it may have moved on since)
        kind = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-t", p["git"]["commit"]],
                              capture_output=True, text=True)
        assert kind.stdout.strip() == "commit" and isinstance(p["git"]["modified"], bool)


def test_sigterm_during_a_run_is_one_line_and_leaves_nothing(tmp_path):
    import signal
    import time
    env = dict(os.environ, RFEMU_DATA=DATA, MPLBACKEND="Agg")
    proc = subprocess.Popen([sys.executable, "-m", "rfemu.cli", "run", str(QUICKSTART), "--out",
                             str(tmp_path / "runs" / "run"), "-q", "--set", "training.epochs=100000",
                             "--set", "training.patience=null"],     # no early stop: still training
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    time.sleep(8)                                    # in the middle of the training
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 143 and "Traceback" not in err
    assert err.strip().splitlines() == ["terminated (SIGTERM); nothing half-written was left"]
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []
