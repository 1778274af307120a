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
    assert out["oscillator_J"] == pytest.approx(resistance * current ** 2 * latency, rel=1e-12, abs=0)
    assert out["junction_J"] == pytest.approx(absorbed * latency, rel=1e-12, abs=0)
    assert out["amplifier_J"] == pytest.approx(absorbed / 0.25 * latency, rel=1e-12, abs=0)
    assert out["energy_per_inference_J"] == pytest.approx(
        (resistance * current ** 2 + absorbed * (1 + 1 / 0.25)) * latency, rel=1e-12, abs=0)   # (J: default abs=1e-12 took anything)


# ------------------------------------------------------------------------------ never lose a file

def test_a_folder_rfemu_did_not_write_is_refused_and_untouched(tmp_path):
    from rfemu.results import RunFolderError
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("years of work")
    with pytest.raises(RunFolderError, match="did not write"):
        write_run_folder(mine, "name: x\n", {"a": 1}, _dataset())
    assert [p.name for p in mine.iterdir()] == ["chapter1.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]
    # a file is not a folder
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(RunFolderError, match="not a folder"):
        write_run_folder(tmp_path / "notes.txt", "name: x\n", {"a": 1}, _dataset())
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_overwrite_writes_the_run_files_beside_the_users_files(tmp_path):
    mine = tmp_path / "thesis"
    (mine / "figures").mkdir(parents=True)
    (mine / "chapter1.tex").write_text("years of work")
    (mine / "figures" / "drawn_by_hand.svg").write_text("<svg/>")
    (mine / "metrics.json").write_text("{}")
    write_run_folder(mine, "name: x\n", {"a": 1}, _dataset(), overwrite=True,
                     draw=lambda folder: [folder / "f.png", (folder / "f.png").write_bytes(b"png")][:1])
    assert (mine / "chapter1.tex").read_text() == "years of work"
    assert (mine / "figures" / "drawn_by_hand.svg").read_text() == "<svg/>"
    assert (mine / "figures" / "f.png").read_bytes() == b"png"
    assert '"a": 1' in (mine / "metrics.json").read_text()
    assert not [p for p in mine.iterdir() if p.name.startswith(".rfemu-")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]


@pytest.mark.parametrize("trace_file, figures_dir", [
    ("metrics.json", "figures"), ("scenario.yaml", "figures"), ("figures/t.nc", "figures"),
    ("trace.nc", "trace.nc"), ("out/t.nc", "out"), (".rfemu-run", "figures"), ("../t.nc", "figures")])
def test_the_trace_cannot_overwrite_the_runs_own_files(tmp_path, trace_file, figures_dir):
    from rfemu.results import RunFolderError
    with pytest.raises(RunFolderError):
        write_run_folder(tmp_path / "run", "name: x\n", {"a": 1}, _dataset(), trace_file=trace_file,
                         figures_dir=figures_dir)
    assert list(tmp_path.iterdir()) == []


def _finished_run(folder, figures_dir="figures"):
    write_run_folder(folder, f"name: x\nrecord:\n  figures_dir: {figures_dir}\n", {"a": 1},
                     _dataset(), figures_dir=figures_dir)


def test_plotting_through_a_symlink_cannot_write_outside_the_run_folder(tmp_path):
    import os

    from rfemu.results import RunFolderError, redraw_figures
    outside = tmp_path / "outside"
    outside.mkdir()
    run = tmp_path / "run"
    _finished_run(run, "sub/figures")
    os.symlink(outside, run / "sub2")
    (run / "scenario.yaml").write_text("name: x\nrecord:\n  figures_dir: sub2/figures\n")
    with pytest.raises(RunFolderError, match="symbolic link"):
        redraw_figures(run)
    os.symlink(outside, run / "figures")                   # the figures folder itself a link
    (run / "scenario.yaml").write_text("name: x\n")
    with pytest.raises(RunFolderError, match="symbolic link"):
        redraw_figures(run)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("damage", ["yaml", "json", "trace", "list"])
def test_a_damaged_run_folder_is_one_error(tmp_path, damage):
    from rfemu.results import RunFolderError, redraw_figures
    run = tmp_path / "run"
    _finished_run(run)
    if damage == "yaml":
        (run / "scenario.yaml").write_text("name: [unclosed\n")
    elif damage == "json":
        (run / "metrics.json").write_text('{"a": ')
    elif damage == "trace":
        (run / "trace.nc").write_bytes(b"\0" * 100)
    else:
        (run / "scenario.yaml").write_text("- a list\n")
    with pytest.raises(RunFolderError, match="damaged"):
        redraw_figures(run)


_SLOW_WRITER = """
import sys, time
import numpy as np, xarray as xr
from rfemu.results import write_run_folder
def draw(folder):
    (folder / "half.png").write_bytes(b"partial")
    open(sys.argv[2], "w").close()                 # ready: the temporary folder exists
    time.sleep(60)
write_run_folder(sys.argv[1], "name: x\\n", {"a": 1}, xr.Dataset({"x": ("t", np.arange(3.0))}), draw=draw)
"""


def _kill_while_writing(tmp_path, signum):
    import signal
    import subprocess
    import sys
    import time
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(tmp_path / "runs" / "run"),
                             str(ready)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signum)
    proc.wait(timeout=60)
    return proc.returncode, sorted(p.name for p in (tmp_path / "runs").iterdir())


def test_sigterm_while_writing_leaves_nothing(tmp_path):
    import signal
    code, left = _kill_while_writing(tmp_path, signal.SIGTERM)
    assert code == 128 + signal.SIGTERM and left == []


def test_what_sigkill_leaves_is_obviously_rfemus_and_the_next_run_removes_it(tmp_path):
    import os
    import signal
    code, left = _kill_while_writing(tmp_path, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert len(left) == 1 and left[0].startswith(".rfemu-partial-run-")
    runs = tmp_path / "runs"
    # not rfemu's (no marker) or of a process still alive: kept
    (runs / ".rfemu-partial-mine-1").mkdir()
    alive = runs / f".rfemu-partial-other-{os.getpid()}"
    alive.mkdir()
    (alive / ".rfemu-run").write_text("{}")
    write_run_folder(runs / "next", "name: x\n", {"a": 1}, _dataset())
    assert sorted(p.name for p in runs.iterdir()) == sorted(["next", ".rfemu-partial-mine-1", alive.name])


def test_the_current_folder_and_impossible_names_are_refused(tmp_path, monkeypatch):
    from rfemu.results import RunFolderError, check_destination
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for out in (".", "", str(work), str(tmp_path)):         # the current folder or one holding it
        with pytest.raises(RunFolderError, match="current folder"):
            write_run_folder(out, "name: x\n", {"a": 1}, _dataset())
    assert list(work.iterdir()) == [] and [p.name for p in tmp_path.iterdir()] == ["work"]
    (work / "notes.txt").write_text("mine")
    write_run_folder(".", "name: x\n", {"a": 1}, _dataset(), overwrite=True)   # asked for: beside them
    assert (work / "notes.txt").read_text() == "mine" and (work / "metrics.json").is_file()
    with pytest.raises(RunFolderError, match="bytes"):
        check_destination(work / ("x" * 300))
    with pytest.raises(RunFolderError, match="cannot create"):
        write_run_folder("/proc/no-such-folder/run", "name: x\n", {"a": 1}, _dataset())
