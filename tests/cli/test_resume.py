"""`rfemu run --resume DIR`: a run killed with SIGKILL in the middle and resumed from its
checkpoint ends with the run folder of the run left alone (metrics.json wall times aside, every
netCDF variable bit for bit); a checkpoint of another scenario, changed or truncated is refused
with one line and exit status 2, and the folder is left as it was."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from rfemu import api, cli
from rfemu.checkpoint import CHECKPOINT_FILE, Checkpointer, read_checkpoint, write_checkpoint

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
#: metrics that measure the computer, not the emulated chip
WALL_CLOCK = ("wall_time_s", "timing", "cnn_epoch_s")
#: the quickstart trained offline for 40 epochs, no early stop, no figures (they are not data)
OFFLINE = ("training.epochs=40", "training.patience=null", "record.figures=false")
#: on-chip perturbative learning with every random stream in use: random dither codes (the
#: rule's generator), readout noise (the chip's), write noise (each line's frequency state)
PERTURBATIVE = ("training.rule=perturbative", "training.on_chip.windows=120", "training.on_chip.steps=8",
                "training.on_chip.code=random", "training.on_chip.evaluate_every=4",
                "training.on_chip.readout_noise=1e-5", "devices.frequency_state.write_noise=1 kHz",
                "devices.frequency_state.step=1 kHz", "record.figures=false")
FEEDBACK = ("training.rule=feedback_alignment", "training.on_chip.windows=120",
            "training.on_chip.evaluate_every=4", "devices.frequency_state.step=1 kHz", "record.figures=false")


def _sets(overrides):
    return [a for o in overrides for a in ("--set", o)]


def _killed_run(out: Path, overrides, stage="training", sig=signal.SIGKILL, messages=None, until=None,
                scenario=QUICKSTART) -> Path:
    """``rfemu run`` in a subprocess with a checkpoint after every epoch or window, killed with
    ``sig`` as soon as its first checkpoint of ``stage`` (for which ``until(checkpoint)`` holds,
    when given) is on disk (its stderr lines appended to ``messages``)."""
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.Popen([sys.executable, "-m", "rfemu.cli", "run", str(scenario), "--out", str(out),
                             "--checkpoint-every", "0", "-q", *_sets(overrides)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 300
    try:
        while not _reached(out, stage, until):
            assert proc.poll() is None, f"the run ended before its first checkpoint: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "no checkpoint after 300 s"
            time.sleep(0.002)
        proc.send_signal(sig)
        if messages is not None:
            messages.extend(proc.communicate(timeout=120)[1].decode().strip().splitlines())
            messages.append(proc.returncode)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    return out


def _reached(out: Path, stage, until) -> bool:
    if not (out / CHECKPOINT_FILE).exists():
        return False
    saved = read_checkpoint(out)
    return saved["stage"] == stage and (until is None or until(saved))


def _left_alone(out: Path, overrides, scenario=QUICKSTART) -> Path:
    """The same run, not interrupted and saving no checkpoint."""
    api.run(api.load_scenario(scenario, overrides=list(overrides)), out=out, progress=False,
            checkpoint_interval=None)
    return out


def _metrics(folder: Path) -> dict:
    m = json.loads((folder / "metrics.json").read_text())
    return {k: v for k, v in m.items() if k not in WALL_CLOCK}


def _same_attrs(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


def _assert_same_netcdf(a: Path, b: Path) -> None:
    with xr.open_dataset(a, engine="h5netcdf") as da, xr.open_dataset(b, engine="h5netcdf") as db:
        assert set(da.variables) == set(db.variables)
        assert _same_attrs(da.attrs, db.attrs)
        for name in da.variables:
            assert _same_attrs(da[name].attrs, db[name].attrs), name
            x, y = da[name].values, db[name].values
            assert x.dtype == y.dtype and x.shape == y.shape, name
            if x.dtype.kind in "fiub":
                assert x.tobytes() == y.tobytes(), f"{a.name}: {name} differs"
            else:
                assert np.array_equal(x, y), f"{a.name}: {name} differs"


def _assert_same_run_folder(resumed: Path, alone: Path) -> None:
    assert sorted(p.name for p in resumed.iterdir()) == sorted(p.name for p in alone.iterdir())
    assert not (resumed / CHECKPOINT_FILE).exists()
    assert _metrics(resumed) == _metrics(alone)
    for name in ("trace.nc", "chip_state.nc"):
        _assert_same_netcdf(resumed / name, alone / name)
    assert (resumed / "scenario.yaml").read_text() == (alone / "scenario.yaml").read_text()


@pytest.fixture(scope="module")
def offline_killed(tmp_path_factory):
    """The offline run killed after its first epochs, and an untouched copy of its folder."""
    work = tmp_path_factory.mktemp("offline")
    killed = _killed_run(work / "killed", OFFLINE)
    shutil.copytree(killed, work / "copy")
    return killed, work / "copy"


def test_a_killed_offline_training_resumed_ends_with_the_run_left_alone(offline_killed, tmp_path):
    killed, _ = offline_killed
    saved = read_checkpoint(killed)
    assert not (killed / "metrics.json").exists()              # killed in the middle ...
    assert saved["stage"] == "training" and saved["loop"] == "backprop"
    assert 2 <= saved["state"]["next_epoch"] <= 40              # ... of the training
    assert cli.main(["run", "--resume", str(killed), "-q"]) == 0
    _assert_same_run_folder(killed, _left_alone(tmp_path / "alone", OFFLINE))
    assert _metrics(killed)["epochs_run"] == 40


@pytest.mark.parametrize("overrides", [PERTURBATIVE, FEEDBACK], ids=["perturbative", "feedback_alignment"])
def test_a_killed_on_chip_learning_resumed_ends_with_the_run_left_alone(overrides, tmp_path):
    killed = _killed_run(tmp_path / "killed", overrides)
    saved = read_checkpoint(killed)
    assert not (killed / "metrics.json").exists()
    assert saved["stage"] == "training" and saved["loop"] == "on_chip"
    assert 2 <= saved["state"]["next_window"] <= 120
    assert cli.main(["run", "--resume", str(killed), "-q"]) == 0
    alone = _left_alone(tmp_path / "alone", overrides)
    _assert_same_run_folder(killed, alone)
    assert _metrics(alone)["on_chip_writes"] > 0


#: backprop from three random programmings (each 6 epochs), the best on validation kept
RESTARTS = ("training.restarts=3", "training.epochs=6", "training.patience=null", "record.figures=false")


def _inside_restart(k, loop="restarts"):
    """A checkpoint taken inside restart ``k``'s own training loop (after its first epoch)."""
    return lambda saved: saved["loop"] == loop and saved["state"]["restart"] == k and \
        saved["state"]["inner"] is not None


def _trainings(monkeypatch, module=None, name="train", first="next_epoch") -> list:
    """Record every restart's training (``module.name``) as the first epoch or window it starts
    from (1: from the start)."""
    from rfemu.learning import restarts
    module = module or restarts
    started, train = [], getattr(module, name)

    def recorded(*args, checkpoint=None, **kwargs):
        inner = None if checkpoint is None else checkpoint.inner
        started.append(1 if inner is None else inner["state"][first])
        return train(*args, checkpoint=checkpoint, **kwargs)

    monkeypatch.setattr(module, name, recorded)
    return started


def test_a_run_killed_inside_its_second_restart_resumes_it_and_ends_with_the_run_left_alone(tmp_path, monkeypatch):
    killed = _killed_run(tmp_path / "killed", RESTARTS, until=_inside_restart(1))
    saved = read_checkpoint(killed)["state"]
    assert len(saved["scores"]) == 1 and saved["best"] is not None     # restart 0 finished, kept
    next_epoch = saved["inner"]["state"]["next_epoch"]
    assert saved["inner"]["loop"] == "backprop" and 2 <= next_epoch <= 6
    started = _trainings(monkeypatch)
    assert cli.main(["run", "--resume", str(killed), "-q"]) == 0
    assert started == [next_epoch, 1]          # restart 1 from where it stood, then restart 2
    monkeypatch.undo()
    alone = _left_alone(tmp_path / "alone", RESTARTS)
    _assert_same_run_folder(killed, alone)
    scores = _metrics(alone)["restart_validation_accuracy"]
    assert len(scores) == 3 and np.argmax(scores) == 0   # the kept chip is the one taken from the checkpoint


def test_a_run_crashed_between_restarts_resumes_with_the_next_one(tmp_path, monkeypatch):
    overrides = RESTARTS[:1] + ("training.epochs=2",) + RESTARTS[2:]
    crashed = _crashed_run(tmp_path / "crashed", overrides, monkeypatch, after=2)   # epoch 1, end of restart 0
    saved = read_checkpoint(crashed)["state"]
    assert (saved["restart"], saved["inner"], len(saved["scores"])) == (1, None, 1)
    started = _trainings(monkeypatch)
    api.resume_run(crashed, progress=False)
    assert started == [1, 1]                   # restarts 1 and 2 only
    monkeypatch.undo()
    _assert_same_run_folder(crashed, _left_alone(tmp_path / "alone", overrides))


def test_on_chip_restarts_killed_inside_the_second_resume_it_and_end_with_the_run_left_alone(tmp_path, monkeypatch):
    from rfemu.learning.local import entries
    overrides = ("training.restarts=2",) + FEEDBACK[:1] + ("training.on_chip.windows=24",) + FEEDBACK[2:] + \
        ("devices.frequency_state.write_noise=1 kHz",)
    killed = _killed_run(tmp_path / "killed", overrides, until=_inside_restart(1, "on_chip_restarts"))
    saved = read_checkpoint(killed)["state"]
    assert len(saved["scores"]) == 1 and saved["best"]["junctions"]["log_count"] > 0
    next_window = saved["inner"]["state"]["next_window"]
    assert saved["inner"]["loop"] == "on_chip" and 2 <= next_window <= 24
    started = _trainings(monkeypatch, entries, "train_on_chip", "next_window")
    assert cli.main(["run", "--resume", str(killed), "-q"]) == 0
    assert started == [next_window]
    monkeypatch.undo()
    alone = _left_alone(tmp_path / "alone", overrides)
    _assert_same_run_folder(killed, alone)
    scores = _metrics(alone)["on_chip_restart_validation_accuracy"]
    assert len(scores) == 2 and scores[0] > scores[1]     # the kept chip is the one taken from the checkpoint


def test_screened_restarts_killed_in_their_second_round_resume_it_and_end_with_the_run_left_alone(tmp_path, monkeypatch):
    from rfemu.learning.local import train
    overrides = ("training.restarts=4", "training.on_chip.screen_windows=4") + FEEDBACK[:1] + \
        ("training.on_chip.windows=8",) + FEEDBACK[2:] + ("devices.frequency_state.write_noise=1 kHz",)
    inside_round_1 = lambda saved: saved["loop"] == "screened" and saved["state"]["k"] == 1 and \
        saved["state"]["inner"] is not None                   # 4 programmings x 4 windows done
    killed = _killed_run(tmp_path / "killed", overrides, until=inside_round_1)
    saved = read_checkpoint(killed)["state"]
    assert [len(r) for r in saved["rounds"]] == [1 + (i in saved["alive"][:saved["done"]]) for i in range(4)]
    assert len(saved["alive"]) == 2 and saved["inner"]["loop"] == "on_chip"
    started = _trainings(monkeypatch, train, "train_on_chip", "next_window")
    assert cli.main(["run", "--resume", str(killed), "-q"]) == 0
    # the rest of round 1 (the running learning from where it stood), then the survivor's round
    assert started == [saved["inner"]["state"]["next_window"]] + [1] * (2 - saved["done"])
    monkeypatch.undo()
    alone = _left_alone(tmp_path / "alone", overrides)
    _assert_same_run_folder(killed, alone)
    assert len(_metrics(alone)["on_chip_restart_validation_accuracy"]) == 4


def test_a_run_stopped_by_sigterm_in_the_event_engine_resumes_without_training_again(tmp_path):
    overrides = FEEDBACK[:1] + FEEDBACK[2:] + ("training.on_chip.windows=40", "engine.kind=event",
                                               "engine.event.samples=200")
    said = []
    killed = _killed_run(tmp_path / "killed", overrides, stage="event", sig=signal.SIGTERM, messages=said)
    assert said == [f"terminated (SIGTERM); nothing half-written was left; its checkpoint is kept: go on "
                    f"with `rfemu run --resume {killed}`", 143]
    assert sorted(p.name for p in killed.iterdir()) == [CHECKPOINT_FILE, ".rfemu-run"]
    saved = read_checkpoint(killed)
    assert not (killed / "metrics.json").exists()
    assert saved["training"]["metrics"]["on_chip_writes"] > 0     # the training's outcome is kept
    assert cli.main(["run", "--resume", str(killed), "-q"]) == 0
    _assert_same_run_folder(killed, _left_alone(tmp_path / "alone", overrides))
    assert _metrics(killed)["event_samples"] == 200


#: a briefly trained quickstart tested on the event engine with thermal noise (each sample then
#: starts from the chip, the neurons' fluctuating states and the noise generator, the previous
#: sample left), its chain voltages and neurons traced in time
NOISY_EVENT = ("training.epochs=3", "training.patience=null", "record.figures=false", "engine.kind=event",
               "medium.noise=true", "engine.event.samples=6")


def test_a_noisy_event_run_killed_between_test_samples_resumes_mid_way_and_ends_with_the_run_left_alone(
        tmp_path, monkeypatch):
    from rfemu.engines.event import EventEngine
    killed = _killed_run(tmp_path / "killed", NOISY_EVENT, stage="event",
                         until=lambda saved: saved["state"].get("next_sample", 0) >= 2)
    saved = read_checkpoint(killed)
    next_sample = saved["state"]["next_sample"]
    assert not (killed / "metrics.json").exists() and 2 <= next_sample < 6
    assert saved["state"]["engine"]["config"]["noise"] and saved["state"]["results"]["count"] == next_sample
    inferences = []
    infer = EventEngine.infer
    monkeypatch.setattr(EventEngine, "infer", lambda self, *a, **k: inferences.append(1) or infer(self, *a, **k))
    assert cli.main(["run", "--resume", str(killed), "-q"]) == 0
    assert len(inferences) == 6 - next_sample          # the samples after the checkpoint only
    monkeypatch.undo()
    alone = _left_alone(tmp_path / "alone", NOISY_EVENT)
    _assert_same_run_folder(killed, alone)
    with xr.open_dataset(alone / "trace.nc", engine="h5netcdf") as traces:
        assert "event_chain_voltage_layer0" in traces and traces.sizes["event_sample"] == 6


#: a small convolutional network on the 8x8 digits (rule cnn_backprop): 4 filters of 3x3 in the
#: parallel arrangement (36 copies), every copy written with 1 kHz of write noise from the
#: training's generator, 20 % of the images held out to keep the best of 3 epochs of 11 batches;
#: then 6 test images on the event engine (the whole CNN: convolution, oscillators, pooling, head)
CNN_SCENARIO = """\
name: digits_cnn_resume
seed: 0
network:
  conv:
    filters: 4
    kernel_size: 3
    arrangement: parallel
    patch_plan: {kind: geometric, min: 20 MHz, max: 120 MHz}
    oscillator: {max_output_power: 0.2 uW}
    pool: max
    pool_size: 2
  inputs:
    frequency_plan: {kind: geometric, min: 100 MHz, max: 10.1 GHz}
  layers:
    - size: 20
      resonance_plan: {kind: geometric, min: 100 MHz, max: 10.1 GHz}
      tuning_window: [-20 MHz, 20 MHz]
      resonator: {damping: 0.005}
      bias_voltage: 11 mV
    - size: 10
      resonance_plan: {kind: geometric, min: 20 MHz, max: 120 MHz}
task:
  dataset: digits
devices:
  frequency_state: {write_noise: 1 kHz}
training:
  rule: cnn_backprop
  epochs: 3
  batch_size: 100
  relative_frequency_learning_rate: 0.1
  bias_learning_rate: 10 uV
  score_scale: 200 /V
  validation_fraction: 0.2
  calibrate_bias: true
engine:
  kind: event
  event:
    samples: 6
record:
  figures: false
"""
CNN_BATCHES = 11          # 1347 training digits, 80 % kept for training, 100 a batch


def _crash_after(monkeypatch, holds):
    """Checkpointer.save raises KeyboardInterrupt (a crash) right after writing a checkpoint for
    which ``holds(content)``."""
    save = Checkpointer.save

    def save_then_crash(self, content):
        save(self, content)
        if holds(content):
            raise KeyboardInterrupt

    monkeypatch.setattr(Checkpointer, "save", save_then_crash)


def test_a_cnn_run_killed_mid_epoch_and_crashed_between_event_images_resumes_each_time_where_it_stood(
        tmp_path, monkeypatch):
    from rfemu.engines.event.conv import ConvEventEngine
    from rfemu.learning import cnn
    scenario = tmp_path / "cnn.yaml"
    scenario.write_text(CNN_SCENARIO)
    mid_epoch = lambda saved: saved["state"]["epoch"] >= 1 and saved["state"]["batch"] > 0
    killed = _killed_run(tmp_path / "killed", (), until=mid_epoch, scenario=scenario)
    saved = read_checkpoint(killed)
    state = saved["state"]
    done = state["epoch"] * CNN_BATCHES + state["batch"]
    assert not (killed / "metrics.json").exists()
    assert saved["loop"] == "cnn_backprop" and state["step"] == done < 3 * CNN_BATCHES
    assert len(state["result"]["train_loss"]) == state["epoch"] and state["best"] is not None
    batches, images = [], []
    step, infer, save = cnn._train_batch, ConvEventEngine.infer, Checkpointer.save
    monkeypatch.setattr(cnn, "_train_batch", lambda *a: batches.append(1) or step(*a))
    monkeypatch.setattr(ConvEventEngine, "infer", lambda self, x: images.append(1) or infer(self, x))
    # resumed: the batches after the checkpoint only, then the event engine, crashed after 2 images
    _crash_after(monkeypatch, lambda c: c["stage"] == "event" and c["state"].get("next_sample") == 2)
    with pytest.raises(KeyboardInterrupt):
        api.resume_run(killed, progress=False, checkpoint_interval=0)
    assert len(batches) == 3 * CNN_BATCHES - done and len(images) == 2
    saved = read_checkpoint(killed)
    assert saved["state"]["engine"]["conv"]["layout"]["copies"] == 36
    assert saved["training"]["conv"]["tuning"].shape == (36, 4, 9)     # the trained convolution kept
    # resumed again: no training, the 4 images left
    monkeypatch.setattr(Checkpointer, "save", save)
    del batches[:], images[:]
    assert cli.main(["run", "--resume", str(killed), "-q"]) == 0
    assert (len(batches), len(images)) == (0, 4)
    monkeypatch.undo()
    alone = _left_alone(tmp_path / "alone", (), scenario=scenario)
    _assert_same_run_folder(killed, alone)
    m = _metrics(alone)
    assert m["epochs_run"] == 3 and m["conv_copies"] == 36 and m["event_samples"] == 6
    with xr.open_dataset(alone / "trace.nc", engine="h5netcdf") as traces:
        assert traces.sizes["event_sample"] == 6


def _crashed_run(out: Path, overrides, monkeypatch, after=3) -> Path:
    """The run in this process, checkpointing at every epoch, dying after its ``after``-th checkpoint."""
    save = Checkpointer.save

    def save_then_crash(self, content):
        save(self, content)
        if self.saves == after:
            raise KeyboardInterrupt

    monkeypatch.setattr(Checkpointer, "save", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        api.run(api.load_scenario(QUICKSTART, overrides=list(overrides)), out=out, progress=False,
                overrides=list(overrides), checkpoint_interval=0)
    monkeypatch.undo()
    return out


def test_a_crashed_in_situ_training_resumed_ends_with_the_run_left_alone(tmp_path, monkeypatch):
    overrides = ("training.rule=in_situ", "training.in_situ.epochs=3", "training.in_situ.samples=32",
                 "devices.frequency_state.step=1 kHz", "devices.frequency_state.write_noise=1 kHz",
                 "record.figures=false")
    crashed = _crashed_run(tmp_path / "crashed", overrides, monkeypatch, after=1)
    saved = read_checkpoint(crashed)
    assert (saved["loop"], saved["state"]["next_epoch"]) == ("in_situ", 1)
    api.resume_run(crashed, progress=False)
    _assert_same_run_folder(crashed, _left_alone(tmp_path / "alone", overrides))
    assert _metrics(crashed)["in_situ_writes"] > 0


def test_a_run_without_seed_resumes_with_the_seed_it_drew(tmp_path, monkeypatch):
    overrides = ["seed=null", "training.epochs=6", "training.patience=null", "record.figures=false"]
    _crashed_run(tmp_path / "crashed", overrides, monkeypatch)
    seed = read_checkpoint(tmp_path / "crashed")["seed"]
    assert api.resume_run(tmp_path / "crashed", progress=False).metrics["seed"] == seed
    _assert_same_run_folder(tmp_path / "crashed", _left_alone(tmp_path / "alone", overrides[1:] + [f"seed={seed}"]))


def _refused(args, folder: Path, capsys) -> str:
    """Run ``rfemu run ARGS``; assert exit 2, one line, nothing in ``folder`` changed."""
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    capsys.readouterr()
    assert cli.main(["run", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    return err[0]


def test_a_checkpoint_of_another_scenario_is_refused(offline_killed, tmp_path, capsys):
    folder = tmp_path / "k"
    shutil.copytree(offline_killed[1], folder)
    other = tmp_path / "other.yaml"
    other.write_text(QUICKSTART.read_text().replace("n_train: 600", "n_train: 500"))
    line = _refused([str(other), "--resume", str(folder)], folder, capsys)
    assert line.startswith(f"{folder}: the checkpoint is of another scenario")


def test_a_changed_checkpoint_is_refused(offline_killed, tmp_path, capsys):
    folder = tmp_path / "k"
    shutil.copytree(offline_killed[1], folder)
    path = folder / CHECKPOINT_FILE
    with np.load(path, allow_pickle=False) as z:               # one array changed, the file rewritten
        arrays = {k: z[k].copy() for k in z.files}
    key = next(k for k, a in arrays.items() if not k.startswith("__") and a.dtype.kind == "f" and a.size)
    arrays[key].flat[0] += 1.0
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    line = _refused(["--resume", str(folder)], folder, capsys)
    assert "does not match its digest" in line


def test_a_checkpoint_whose_run_is_still_going_is_refused(offline_killed, tmp_path, capsys):
    folder = tmp_path / "k"
    shutil.copytree(offline_killed[1], folder)
    still = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # rfemu run"])
    try:
        write_checkpoint(folder, dict(read_checkpoint(folder), pid=still.pid))
        line = _refused(["--resume", str(folder)], folder, capsys)
    finally:
        still.kill()
        still.wait()
    assert line == (f"{folder}: the run that wrote this checkpoint (PID {still.pid}) is still running; "
                    "let it finish or stop it before resuming")


def test_a_truncated_checkpoint_is_refused(offline_killed, tmp_path, capsys):
    folder = tmp_path / "k"
    shutil.copytree(offline_killed[1], folder)
    path = folder / CHECKPOINT_FILE
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    line = _refused(["--resume", str(folder)], folder, capsys)
    assert line.startswith(f"{folder}: damaged checkpoint")


def test_resume_of_a_folder_without_checkpoint_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    line = _refused(["--resume", str(tmp_path / "empty")], tmp_path / "empty", capsys)
    assert "no checkpoint here" in line
