"""Checkpoints of a run (``rfemu run --resume DIR``): written atomically, read without running code.

A run that writes a run folder ``DIR`` saves, every ``record.checkpoint_interval`` seconds of wall
time (``rfemu run --checkpoint-every``), the state it would go on from into ``DIR/`` as one file,
:data:`CHECKPOINT_FILE`:

- inside the training loop (:mod:`rfemu.learning.resume`): the junctions' tuning states and the
  chains' biases, the optimiser's moments and step counts, every random generator's state, the
  learning curve so far (a CNN's training, after every batch, adds its convolution's copies and
  the epoch's image order); on-chip learning adds the junctions' frequency states with their write
  counters, stuck flags, accumulators and write log; training from several programmings
  (restarts, screened restarts) adds the finished restarts' results and the programmings'
  generator, the running restart's own loop nested in it (:class:`rfemu.learning.resume.NestedCheckpoint`);
- in the event engine's run over the test samples (``engine.kind: event``): the trained chip and
  the training's outcome (curve, metrics, the rule's traces), so a run killed in the event engine
  does not train again, and, after each sample, the engine's state between two samples
  (:mod:`rfemu.engines.event.state`: the clock and its queue, every agent's record, the lines,
  the random generator, the energy ledger, the traces) with the samples' results so far: each
  sample starts from the chip as the previous one left it, and a resumed run goes on from the
  sample after the checkpoint with that chip (a CNN's event engine likewise:
  :meth:`rfemu.engines.event.conv.ConvEventEngine.state`).

``DIR`` is the ``--out`` folder itself (a run without ``--out`` prints the folder it chose). While
the run works ``DIR`` holds rfemu's marker and the checkpoint; when the run ends, the finished
run folder replaces it in one rename (:func:`rfemu.results.write_run_folder`), so a finished
folder holds no checkpoint. ``rfemu run --resume DIR`` reads the checkpoint, loads the scenario
it was written for (its file and ``--set`` overrides, recorded in it) and goes on; the run folder
it ends with is the one the run left alone would have written (wall times aside).

The file is a numpy ``.npz`` (read with ``allow_pickle=False``: loading it never runs code): the
arrays, a JSON text of everything else (the arrays' places marked in it) and a SHA-256 digest of
both. It is written to a temporary file in ``DIR``, flushed to disk (``fsync``) and renamed over
the previous checkpoint (``os.replace``), so a kill at any moment leaves the previous checkpoint or
the new one, never a mix. A checkpoint whose digest does not match (changed or truncated), of
another scenario, or of another rfemu version is refused with one line (:class:`CheckpointError`).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
import zipfile
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from rfemu.results import CHECKPOINT_FILE, MARKER_FILE, _pid_alive

__all__ = ["CHECKPOINT_FILE", "DEFAULT_INTERVAL", "CheckpointError", "Checkpointer", "fingerprint",
           "read_checkpoint", "write_checkpoint", "remove_checkpoint", "running_writer"]

#: the layout of the file (a reader refuses another)
FORMAT = 1
#: s, wall time between two checkpoints when the scenario does not say
DEFAULT_INTERVAL = 60.0

_STATE_KEY = "__state__"
_DIGEST_KEY = "__digest__"


class CheckpointError(Exception):
    """A checkpoint that cannot be written, read or used (one line for the user)."""


# --------------------------------------------------------------------------------------------
# the file: arrays in npz, the rest as JSON, a digest of both
# --------------------------------------------------------------------------------------------

def _encode(value, arrays: dict):
    """A JSON-ready tree of ``value``; numpy arrays go to ``arrays`` (their place marked)."""
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise CheckpointError("a checkpoint holds no Python objects (object array)")
        key = f"a{len(arrays)}"
        arrays[key] = np.ascontiguousarray(value)
        return {"__array__": key}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise CheckpointError("a checkpoint's mappings have string keys")
        if "__array__" in value or "__tuple__" in value:
            raise CheckpointError("a checkpoint's mappings do not use the reserved keys")
        return {k: _encode(v, arrays) for k, v in value.items()}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CheckpointError(f"a checkpoint cannot hold a {type(value).__name__}")


def _decode(value, arrays):
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return arrays[value["__array__"]]
        if set(value) == {"__tuple__"}:
            return tuple(_decode(v, arrays) for v in value["__tuple__"])
        return {k: _decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    return value


def _digest(text: bytes, arrays: dict) -> str:
    h = hashlib.sha256(text)
    for key in sorted(arrays):
        a = arrays[key]
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_dead_temporaries(folder: Path) -> None:
    """Remove temporary checkpoint files that a killed rfemu left in ``folder`` (their PID gone)."""
    for p in folder.glob(CHECKPOINT_FILE + ".tmp-*"):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)) and p.is_file() and not p.is_symlink():
            p.unlink(missing_ok=True)


def write_checkpoint(folder, content: dict) -> Path:
    """Write ``content`` (a tree of dicts, lists, tuples, numbers, strings, arrays) atomically
    as ``folder/CHECKPOINT_FILE``: a temporary file in the same folder, fsync, rename."""
    folder = Path(folder)
    arrays: dict = {}
    text = json.dumps(_encode(content, arrays), sort_keys=True).encode()
    digest = _digest(text, arrays)
    target = folder / CHECKPOINT_FILE
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise CheckpointError(f"{target} is not a checkpoint file rfemu wrote; it is left alone")
    tmp = folder / f"{CHECKPOINT_FILE}.tmp-{os.getpid()}"
    _remove_dead_temporaries(folder)
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays, **{_STATE_KEY: np.frombuffer(text, dtype=np.uint8),
                                     _DIGEST_KEY: np.frombuffer(digest.encode(), dtype=np.uint8)})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    return target


def read_checkpoint(folder) -> dict:
    """The content of ``folder/CHECKPOINT_FILE``, its digest checked (:class:`CheckpointError`:
    missing, truncated, changed, or not rfemu's)."""
    path = Path(folder) / CHECKPOINT_FILE
    if not path.is_file():
        raise CheckpointError(f"no checkpoint here ({CHECKPOINT_FILE} missing): expected the --out "
                              "folder of a run that was interrupted after writing a checkpoint")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise CheckpointError(f"damaged checkpoint {CHECKPOINT_FILE} ({type(exc).__name__}: {exc}); "
                              "expected one rfemu wrote") from None
    try:
        text = arrays.pop(_STATE_KEY).tobytes()
        digest = arrays.pop(_DIGEST_KEY).tobytes().decode("ascii")
    except (KeyError, UnicodeDecodeError):
        raise CheckpointError(f"{CHECKPOINT_FILE} is not an rfemu checkpoint (no state or digest)") from None
    if _digest(text, arrays) != digest:
        raise CheckpointError(f"checkpoint {CHECKPOINT_FILE} does not match its digest (changed or "
                              "damaged after rfemu wrote it); start the run again without --resume")
    try:
        content = _decode(json.loads(text), arrays)
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"damaged checkpoint {CHECKPOINT_FILE} ({exc})") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise CheckpointError(f"{CHECKPOINT_FILE} has another layout (format "
                              f"{content.get('format') if isinstance(content, dict) else '?'}, "
                              f"expected {FORMAT})")
    return content


def remove_checkpoint(folder) -> None:
    """Remove the checkpoint (a regular file rfemu wrote) from ``folder``, if there."""
    path = Path(folder) / CHECKPOINT_FILE
    if path.is_file() and not path.is_symlink():
        path.unlink()


def running_writer(content: dict) -> Optional[int]:
    """The PID of the rfemu process that wrote a checkpoint when it is still running (None when
    it is gone, or is this process): resuming then would make two runs write one folder."""
    pid = content.get("pid")
    if not isinstance(pid, int) or pid == os.getpid() or pid <= 0 or not _pid_alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid                        # alive, and nothing says it is not rfemu
    return pid if b"rfemu" in cmdline else None


def fingerprint(resolved: dict) -> str:
    """SHA-256 of a resolved scenario (:func:`rfemu.scenario.resolved_dict`, the seed in it),
    without the keys that do not change the results (``record.checkpoint_interval``)."""
    data = json.loads(json.dumps(resolved))
    (data.get("record") or {}).pop("checkpoint_interval", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# the run's checkpointer
# --------------------------------------------------------------------------------------------

class Checkpointer:
    """Saves a run's state into its run folder every ``interval`` seconds and gives a resumed
    run the state it saved (the ``checkpoint`` object of :mod:`rfemu.learning.resume`).

    Parameters
    ----------
    folder : Path
        The run folder (created with rfemu's marker if missing, at the first checkpoint).
    header : dict
        What identifies the run (format, fingerprint, seed, scenario file, overrides, version).
    interval : float or None
        s of wall time between checkpoints (0: at every point a loop offers; None: never).
    resumed : dict, optional
        The checkpoint being resumed from (:func:`read_checkpoint`).
    """

    def __init__(self, folder, header: dict, interval: Optional[float], resumed: Optional[dict] = None):
        self.folder = Path(folder)
        self.header = dict(header, format=FORMAT)
        self.interval = interval
        self.resumed = resumed
        self.finished_training = None     # the training's outcome once it is done (stage "event")
        self.last = time.monotonic()
        self.saves = 0
        self.announce: Optional[Callable[[Path], None]] = None

    def due(self) -> bool:
        return self.interval is not None and math.isfinite(self.interval) and \
            time.monotonic() - self.last >= self.interval

    # -- the loops' protocol ------------------------------------------------------------------
    def restore(self, loop: str) -> Optional[dict]:
        """The state saved inside ``loop`` (once), when resuming from a checkpoint taken there."""
        r = self.resumed
        if r is not None and r.get("stage") == "training" and r.get("loop") == loop:
            self.resumed = None
            return r["state"]
        return None

    def offer(self, loop: str, state: Callable[[], dict]) -> None:
        """Save ``state()`` as the training loop ``loop``'s when a checkpoint is due."""
        if self.due():
            self.save({"stage": "training", "loop": loop, "state": state()})

    # -- the run's stages ---------------------------------------------------------------------
    def resumed_stage(self, stage: str) -> Optional[dict]:
        """The checkpoint's content when it was taken in the run stage ``stage`` (else None)."""
        r = self.resumed
        return r if r is not None and r.get("stage") == stage else None

    def offer_stage(self, stage: str, state: Callable[[], dict]) -> None:
        """Save a later stage's state (with the training's outcome) when a checkpoint is due."""
        if self.due():
            self.save({"stage": stage, "training": self.finished_training, "state": state()})

    def save(self, content: dict) -> None:
        """Write a checkpoint now. A checkpoint that cannot be written (disk full, a name taken)
        stops the checkpoints, not the run: one warning on stderr, and the run goes on."""
        try:
            if not self.folder.exists():
                self.folder.mkdir(parents=True)
                (self.folder / MARKER_FILE).write_text(json.dumps({"pid": os.getpid()}) + "\n",
                                                       encoding="utf-8")
            write_checkpoint(self.folder, dict(content, **self.header, saved_unix_s=time.time(),
                                               pid=os.getpid()))
        except (OSError, CheckpointError) as exc:
            import sys
            self.interval = None
            print(f"rfemu: no checkpoint could be written in {self.folder} ({exc}); the run goes on "
                  "without checkpoints", file=sys.stderr)
            return
        self.saves += 1
        self.last = time.monotonic()
        if self.saves == 1 and self.announce is not None:
            self.announce(self.folder)

