"""rfemu.checkpoint: a checkpoint gives back exactly what was saved (floats bit for bit, every
generator where it was), is replaced atomically, and loading one never runs code."""
import math
import pickle
import subprocess
import sys

import numpy as np
import pytest

from rfemu.checkpoint import (CHECKPOINT_FILE, CheckpointError, Checkpointer, read_checkpoint,
                              write_checkpoint)


def _content(rng):
    return {"format": 1, "floats": [math.nan, -0.0, 5e-324, math.inf, 0.1 + 0.2, -1e308],
            "big": 2 ** 100 + 1, "pair": (1, "a"), "rng": rng.bit_generator.state,
            "arrays": [np.random.default_rng(1).normal(size=(3, 4)), np.arange(5, dtype=np.int64),
                       np.array([True, False]), np.zeros((0, 2))],
            "nested": {"m": np.full(3, np.nan), "t": 7, "none": None}}


def test_read_gives_back_what_was_written_bit_for_bit(tmp_path):
    rng = np.random.default_rng(3)
    rng.normal(size=11)                                       # a generator part-way through
    saved = _content(rng)
    write_checkpoint(tmp_path, saved)
    back = read_checkpoint(tmp_path)
    assert np.array(back["floats"]).tobytes() == np.array(saved["floats"]).tobytes()
    assert back["big"] == 2 ** 100 + 1 and back["pair"] == (1, "a") and back["nested"]["none"] is None
    for a, b in zip(back["arrays"], saved["arrays"]):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    resumed = np.random.default_rng(0)
    resumed.bit_generator.state = back["rng"]
    assert resumed.normal(size=5).tobytes() == rng.normal(size=5).tobytes()


def test_a_failed_write_leaves_the_previous_checkpoint_and_no_temporary_file(tmp_path, monkeypatch):
    write_checkpoint(tmp_path, {"format": 1, "step": 1})
    real_savez = np.savez

    def savez_then_fail(f, **arrays):
        real_savez(f, **arrays)
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(OSError):
        write_checkpoint(tmp_path, {"format": 1, "step": 2})
    assert read_checkpoint(tmp_path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT_FILE]


def test_a_temporary_file_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f"{CHECKPOINT_FILE}.tmp-{dead.pid}").write_bytes(b"half")
    (tmp_path / "user.txt").write_text("mine")
    write_checkpoint(tmp_path, {"format": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([CHECKPOINT_FILE, "user.txt"])


class _Payload:
    """Unpickling it would create a file: loading a checkpoint must not."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_loading_a_checkpoint_holding_a_pickle_runs_no_code(tmp_path):
    marker = tmp_path / "ran"
    payload = np.empty(1, dtype=object)
    payload[0] = _Payload(str(marker))
    pickle.dumps(payload)                                     # it is a real pickle payload
    with open(tmp_path / CHECKPOINT_FILE, "wb") as f:
        np.savez(f, __state__=np.frombuffer(b'{"format": 1}', dtype=np.uint8), a0=payload)
    with pytest.raises(CheckpointError, match="damaged checkpoint"):
        read_checkpoint(tmp_path)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="holds no Python objects"):
        write_checkpoint(tmp_path / "x", {"a": payload})


def test_the_checkpointer_saves_at_its_interval_and_gives_a_loop_its_state_once(tmp_path):
    never = Checkpointer(tmp_path / "never", {"fingerprint": "f"}, None)
    never.offer("loop", lambda: {"n": 1})
    assert not (tmp_path / "never").exists()
    hourly = Checkpointer(tmp_path / "hourly", {"fingerprint": "f"}, 3600.0)
    hourly.offer("loop", lambda: {"n": 1})
    assert not (tmp_path / "hourly").exists()
    always = Checkpointer(tmp_path / "always", {"fingerprint": "f"}, 0.0)
    always.offer("loop", lambda: {"n": 2})
    saved = read_checkpoint(tmp_path / "always")
    assert (saved["stage"], saved["loop"], saved["state"], saved["fingerprint"]) == ("training", "loop", {"n": 2}, "f")
    resumed = Checkpointer(tmp_path / "always", {}, None, resumed=saved)
    assert resumed.restore("other") is None
    assert resumed.restore("loop") == {"n": 2} and resumed.restore("loop") is None


def test_a_checkpoint_that_cannot_be_written_stops_the_checkpoints_not_the_run(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / CHECKPOINT_FILE).mkdir()           # the name is taken by a folder
    checkpointer = Checkpointer(tmp_path / "run", {}, 0.0)
    checkpointer.offer("loop", lambda: {"n": 1})
    checkpointer.offer("loop", lambda: {"n": 2})
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the run goes on without checkpoints" in err[0]
    assert checkpointer.saves == 0 and (tmp_path / "run" / CHECKPOINT_FILE).is_dir()
