"""Nothing is lost and nothing depends on where a point ran: Dask equals the process pool, a
worker killed mid-sweep, a sweep killed and started again, a point that fails."""
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from rfemu.sweep.runner import run_sweep
from rfemu.sweep.store import SweepFolderError

def _sweep(path, out, **kw):
    return run_sweep(path, out=out, progress=False, figures=False, **kw)


def _assert_same(a, b, physical_values):
    va, vb = physical_values(a), physical_values(b)
    assert sorted(va) == sorted(vb)
    for name in va:
        if va[name].dtype.kind == "f":
            np.testing.assert_array_equal(va[name], vb[name], err_msg=name)
        else:
            assert va[name].tolist() == vb[name].tolist(), name


def _points(out):
    return sorted((out / "points").glob("*.json"))


def _kill_first_worker_mid_sweep(path, out, backend):
    """Run the sweep in a thread; once its first point is stored, SIGKILL the process that ran
    it. Returns the result and the number of points stored at the kill."""
    import json
    box = {}
    thread = threading.Thread(target=lambda: box.update(r=_sweep(path, out, backend=backend)))
    thread.start()
    deadline = time.monotonic() + 300
    while not _points(out) and time.monotonic() < deadline:
        time.sleep(0.02)
    first = _points(out)
    pid = json.loads(first[0].read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    thread.join(600)
    return box["r"], len(first)


def test_dask_cluster_gives_the_values_of_the_process_pool(tmp_path, sweep16, dask_backend,
                                                          physical_values):
    path, expected = sweep16
    result = _sweep(path, tmp_path / "dask", backend=dask_backend)
    assert result.computed == 16 and not result.failed
    _assert_same(result.dataset, expected, physical_values)
    # the metrics do vary over the sweep (the comparison is not of constants)
    assert len(np.unique(expected["epochs_run"].values)) > 3


@pytest.mark.parametrize("backend_name", ["pool", "dask_backend"])
def test_a_worker_killed_mid_sweep_loses_no_point(tmp_path, sweep16, backend_name, request,
                                                  physical_values):
    path, expected = sweep16
    backend = request.getfixturevalue(backend_name)
    result, stored_at_kill = _kill_first_worker_mid_sweep(path, tmp_path / "out", backend)
    assert stored_at_kill < 16                    # the kill came mid-sweep
    assert not result.failed and result.dataset["error"].size == 16
    _assert_same(result.dataset, expected, physical_values)


def test_a_sweep_killed_and_started_again_recomputes_no_finished_point(tmp_path, sweep16, pool,
                                                                       physical_values):
    path, expected = sweep16
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "rfemu.cli", "sweep", str(path), "--out", str(out),
           "--workers", "1", "-q"]
    log = open(tmp_path / "driver.log", "wb")
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=log, stderr=log)
    deadline = time.monotonic() + 300
    while len(_points(out)) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, (tmp_path / "driver.log").read_text()
    os.killpg(proc.pid, signal.SIGKILL)           # the driver and its workers, at once
    proc.wait()
    log.close()
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in _points(out)}
    assert 3 <= len(before) < 16, len(before)
    result = _sweep(path, out, backend=pool)
    assert result.computed == 16 - len(before)
    for p in _points(out):
        if p.name in before:
            assert (p.stat().st_mtime_ns, p.read_bytes()) == before[p.name], p.name
    _assert_same(result.dataset, expected, physical_values)


def test_a_failing_point_is_recorded_and_the_others_run(tmp_path, pool, write_scenario, capsys):
    """task.n_train = 1 passes validation but fails in training ("target_frequency must be
    finite"): that point records its error, the other runs, the command says so and exits 1."""
    from rfemu.cli import main
    path = write_scenario(tmp_path, """\
        sweep:
          axes:
            - key: task.n_train
              values: [1, 200]
        """)
    result = _sweep(path, tmp_path / "out", backend=pool)
    errors = result.dataset["error"].values.tolist()
    assert errors[0][0] != "" and errors[1][0] == "", errors
    assert len(result.failed) == 1
    assert np.isnan(result.dataset["test_accuracy"].values[0, 0])
    assert result.dataset["test_accuracy"].values[1, 0] > 0.7
    # started again, only the failed point runs again (and fails again), and the command says so
    status = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "0", "-q"])
    assert status == 1
    assert "1 of 2 runs FAILED" in capsys.readouterr().err


def test_a_folder_rfemu_did_not_write_is_refused_and_left_alone(tmp_path, write_scenario):
    path = write_scenario(tmp_path, 'sweep: {axes: [{key: training.epochs, values: [1]}]}\n')
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(SweepFolderError):
        _sweep(path, mine, workers=0)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert (mine / "notes.txt").read_text() == "keep me"
