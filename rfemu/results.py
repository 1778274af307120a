"""Run folders: what ``rfemu run`` writes, written atomically, and read back by ``rfemu plot``.

A run folder holds::

    scenario.yaml    the resolved scenario (defaults filled in, SI units, the seed used)
    metrics.json     test_accuracy, train_accuracy, energy_per_inference_J, latency_s,
                     wall_time_s, the engine's counters, ...
    trace.nc         an xarray Dataset (netCDF via h5netcdf), units in each variable's attrs
    figures/*.png    drawn by :mod:`rfemu.plots`

Everything is first written into a hidden temporary folder beside the destination and then
renamed into place, so a run that is killed leaves no half-written folder.

This module also holds :func:`static_energy_and_latency`, the compiled engine's energy and
latency per inference computed from the devices' own formulas (docs/physics.md#energy); the event
engine reports its own.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

__all__ = ["Result", "RunFolderError", "default_run_dir", "write_run_folder", "read_run_folder",
           "redraw_figures", "print_summary", "summary_table", "static_energy_and_latency",
           "SETTLING_TOLERANCE"]

SCENARIO_FILE = "scenario.yaml"
METRICS_FILE = "metrics.json"
#: an interrupted run's checkpoint (:mod:`rfemu.checkpoint`; the name is reserved there)
CHECKPOINT_FILE = ".rfemu-checkpoint.npz"

#: relative deviation of an oscillator's power from its steady state at which it counts as settled
SETTLING_TOLERANCE = 1e-3


class RunFolderError(Exception):
    """A run folder that cannot be read or written."""


@dataclass
class Result:
    """What :func:`rfemu.run` returns.

    Attributes
    ----------
    metrics : dict
        As in ``metrics.json``.
    traces : xarray.Dataset
        As in ``trace.nc``.
    figures : list of Path
        The figures drawn (empty without a run folder or with ``record.figures: false``).
    run_dir : Path or None
        The run folder (None when nothing was written).
    scenario : rfemu.scenario.Scenario
        The validated scenario that ran.
    resolved : dict
        The resolved scenario (what ``scenario.yaml`` holds).
    graph : networkx.DiGraph or None
        The network after training (tuning states written back).
    """

    metrics: dict
    traces: Any
    figures: list = field(default_factory=list)
    run_dir: Optional[Path] = None
    scenario: Any = None
    resolved: dict = field(default_factory=dict)
    graph: Any = None


# --------------------------------------------------------------------------------------------
# writing and reading
# --------------------------------------------------------------------------------------------


#: hidden file that marks a folder (a run folder, or one of rfemu's temporary folders) as rfemu's
MARKER_FILE = ".rfemu-run"
#: prefix of rfemu's temporary folders: ``.rfemu-partial-NAME-PID`` (being written) and
#: ``.rfemu-old-NAME-PID`` (a replaced run folder being removed)
TMP_PREFIX = ".rfemu-"


def _is_rfemu_folder(path: Path) -> bool:
    """True when ``path`` is a folder that rfemu wrote: it holds the marker, or (a run folder of
    an older rfemu) only a run folder's files."""
    if not path.is_dir() or path.is_symlink():
        return False
    if (path / MARKER_FILE).is_file():
        return True
    names = {p.name for p in path.iterdir()}
    return {SCENARIO_FILE, METRICS_FILE} <= names <= {SCENARIO_FILE, METRICS_FILE, "trace.nc", "figures",
                                                      PROVENANCE_FILE, "chip_state.nc"}


def _holds_cwd(dest: Path) -> bool:
    """True when ``dest`` is the current folder or one of its parents (it cannot be renamed)."""
    cwd = Path.cwd().resolve()
    target = dest.resolve()
    return target == cwd or target in cwd.parents


def _writable_place(dest: Path) -> Optional[str]:
    """Why ``dest`` cannot be created (None when it can): a name too long, or no writable folder."""
    name_max = 255
    ancestor = dest.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    try:
        name_max = os.pathconf(ancestor, "PC_NAME_MAX")
    except (OSError, ValueError):
        pass
    long = [part for part in dest.absolute().parts if len(part.encode()) > name_max - 32]
    if long:
        return (f"the name {long[0][:40]}... is {len(long[0].encode())} bytes; the file system takes "
                f"{name_max} (and rfemu needs room for its temporary name): expected a shorter name")
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        return f"{ancestor} is not a folder rfemu can write into"
    return None


def check_destination(run_dir, overwrite: bool = False) -> None:
    """Refuse a destination that would cost the user a file or cannot be written (:class:`RunFolderError`).

    A path that is a file, or an existing non-empty folder that rfemu did not write, or the
    current folder (or one holding it), is refused unless ``overwrite`` (then rfemu's files are
    written into it and nothing else there is touched); an earlier run folder of rfemu's is
    replaced; a missing or empty folder is used. A name too long for the file system or a place
    that cannot be written is refused too.
    """
    dest = Path(run_dir)
    problem = _writable_place(dest)
    if problem:
        raise RunFolderError(problem)
    try:
        if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
            raise RunFolderError(f"{dest} exists and is not a folder (expected a new or rfemu's run folder)")
    except OSError as exc:
        raise RunFolderError(f"{dest} cannot be used as a run folder ({exc.strerror})") from None
    if dest.exists() and _holds_cwd(dest) and not overwrite:
        raise RunFolderError(f"{dest} is the current folder (or holds it); rfemu does not replace it "
                             "(choose a new --out, or give --overwrite to write the run's files into it)")
    if not dest.exists() or _is_rfemu_folder(dest) or not any(dest.iterdir()):
        return
    if not overwrite:
        raise RunFolderError(f"{dest} is a folder that rfemu did not write; rfemu does not replace "
                             "it (choose a new --out, or give --overwrite to write the run's files "
                             "into it, leaving the others)")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(parent) -> list:
    """Remove rfemu's temporary folders in ``parent`` left by a killed process (their PID is
    gone and they hold rfemu's marker); returns what was removed. Nothing else is touched."""
    removed = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return removed
    for p in entries:
        if not p.name.startswith(TMP_PREFIX) or p.is_symlink() or not p.is_dir():
            continue
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)) and (p / MARKER_FILE).is_file():
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def _temporary_folder(parent: Path, name: str, kind: str = "partial") -> Path:
    tmp = parent / f"{TMP_PREFIX}{kind}-{name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    (tmp / MARKER_FILE).write_text(json.dumps({"pid": os.getpid()}) + "\n", encoding="utf-8")
    return tmp


def _replace_dir(tmp: Path, dest: Path) -> None:
    """Put the finished folder ``tmp`` at ``dest`` by renames. An earlier folder of rfemu's (or
    an empty one) at ``dest`` is moved aside, then removed, so ``dest`` is never half-written."""
    old = None
    if dest.exists():
        old = dest.parent / f"{TMP_PREFIX}old-{dest.name}-{os.getpid()}"
        marked = not (dest / MARKER_FILE).exists()
        if marked:                              # so that a kill now leaves it to clean_stale
            (dest / MARKER_FILE).write_text("{}\n", encoding="utf-8")
        try:
            os.replace(dest, old)
        except OSError:
            if marked:
                (dest / MARKER_FILE).unlink()
            raise
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _merge_into(tmp: Path, dest: Path) -> None:
    """Move the files of ``tmp`` into the existing folder ``dest`` one by one (``--overwrite``):
    a file of the same name is replaced, nothing else in ``dest`` is touched."""
    for src in tmp.iterdir():
        target = dest / src.name
        if src.is_dir() and target.is_dir() and not target.is_symlink():
            _merge_into(src, target)
        else:
            if target.is_dir() and not target.is_symlink():
                raise RunFolderError(f"{target} is a folder; the run would write a file there")
            os.replace(src, target)


class _TerminateAsExit:
    """While writing, SIGTERM raises SystemExit(143) so that the temporary folder is removed
    (installed only in the main thread, over the default handler)."""

    def __enter__(self):
        import signal
        import threading
        self.previous = None
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        raise SystemExit(128 + signum)

    def __exit__(self, *exc):
        import signal
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        return False


PROVENANCE_FILE = "provenance.json"
#: the libraries whose versions a run folder records
LIBRARIES = ("numpy", "scipy", "simpy", "networkx", "xarray", "h5netcdf", "h5py", "pydantic", "pint",
             "PyYAML", "scikit-learn", "matplotlib", "pooch", "threadpoolctl", "Cython")


def _git_revision() -> Optional[dict]:
    """The commit of the checkout rfemu runs from, and whether it has changes (None outside git)."""
    import subprocess
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10)
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0:
        return None
    return {"commit": commit.stdout.strip(), "modified": bool(status.stdout.strip())}


def provenance(seed=None) -> dict:
    """What repeats a run besides its resolved scenario (``scenario.yaml``): the rfemu version
    and git revision, the kernel build, Python and library versions, the machine, the seed."""
    import platform
    import sys
    from importlib import metadata

    from rfemu._version import __version__
    try:
        from rfemu import _core
        kernel = dict(_core.build_info())
    except Exception as exc:      # a missing kernel is a fact to record, not a failure
        kernel = {"error": f"{type(exc).__name__}: {exc}"}
    libraries = {}
    for name in LIBRARIES:
        try:
            libraries[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libraries[name] = None
    return {"rfemu_version": __version__, "git": _git_revision(), "kernel": kernel,
            "python": sys.version.split()[0], "platform": platform.platform(),
            "machine": platform.machine(), "libraries": libraries, "seed": seed,
            "scenario": SCENARIO_FILE, "command": list(sys.argv)}


def run_folder_files(graph=None, network=None, frequency_states=None, seed=None) -> dict:
    """The run folder's further files for :func:`write_run_folder`: ``provenance.json``
    (:func:`provenance`) and, with a network, ``chip_state.nc``
    (:func:`rfemu.network.chip_state.chip_state_dataset`)."""
    from rfemu.network.chip_state import CHIP_STATE_FILE, chip_state_dataset

    def write_provenance(path):
        path.write_text(json.dumps(provenance(seed), indent=2, sort_keys=True, default=_json_default)
                        + "\n", encoding="utf-8")

    files = {PROVENANCE_FILE: write_provenance}
    if network is not None:
        files[CHIP_STATE_FILE] = lambda path: chip_state_dataset(graph, network, frequency_states) \
            .to_netcdf(path, engine="h5netcdf")
    return files


def default_run_dir(name: str, base="runs") -> Path:
    """``runs/NAME-YYYYmmdd-HHMMSS`` (with ``-2``, ``-3``... if that exists already)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(base) / f"{name}-{stamp}"
    k = 2
    while path.exists():
        path = Path(base) / f"{name}-{stamp}-{k}"
        k += 1
    return path


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean_metrics(metrics: dict) -> dict:
    """NaN/inf are not JSON: write them as null."""
    def clean(v):
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, (float, np.floating)) and not math.isfinite(float(v)):
            return None
        return v
    return clean(metrics)


def layout_problem(trace_file: str, figures_dir: str) -> Optional[str]:
    """Why ``trace_file`` and ``figures_dir`` cannot share a run folder with its own files
    (None when they can): inside it, without '..', neither one the run's files nor inside the other."""
    own = {SCENARIO_FILE, METRICS_FILE, MARKER_FILE, PROVENANCE_FILE, "chip_state.nc"}
    paths = {"trace_file": trace_file, "figures_dir": figures_dir}
    for key, value in paths.items():
        p = Path(value)
        if p.is_absolute() or ".." in p.parts or not value.strip() or p == Path("."):
            return f"{key} {value!r} leaves the run folder (expected a relative path inside it, without '..')"
        if p.parts[0] in own or p.parts[0].startswith(TMP_PREFIX):
            return (f"{key} {value!r} would overwrite the run's own {p.parts[0]} (expected another "
                    "name, e.g. trace.nc or figures)")
    t, f = Path(trace_file), Path(figures_dir)
    if t == f or f in t.parents or t in f.parents:
        return (f"trace_file {trace_file!r} and figures_dir {figures_dir!r} overlap (redrawing the "
                "figures would remove the trace; expected separate paths)")
    return None


def write_run_folder(run_dir, resolved_yaml: str, metrics: dict, traces, figures_dir="figures",
                     trace_file="trace.nc", draw=None, overwrite: bool = False,
                     extra_files: Optional[dict] = None) -> list:
    """Write a run folder atomically; returns the figure paths (inside ``run_dir``).

    Parameters
    ----------
    run_dir : path
        The destination (see :func:`check_destination`: an earlier run folder is replaced only
        once the new one is complete; a folder that rfemu did not write is refused).
    resolved_yaml : str
        Text of the resolved scenario.
    metrics : dict
    traces : xarray.Dataset
    figures_dir, trace_file : str
        Relative paths inside the folder (:func:`layout_problem`).
    draw : callable, optional
        ``draw(folder) -> list of paths`` draws the figures into ``folder``.
    overwrite : bool
        Write into an existing folder that rfemu did not write, replacing only the files of the
        same names.
    extra_files : dict, optional
        ``{relative name: writer(path)}`` for further files (chip state, provenance).

    Everything goes first into ``.rfemu-partial-NAME-PID`` beside the destination, then is renamed
    into place; SIGTERM meanwhile removes it, and a folder left by SIGKILL is removed by the next
    write in the same parent (:func:`clean_stale`).
    """
    problem = layout_problem(trace_file, figures_dir)
    if problem:
        raise RunFolderError(problem)
    run_dir = Path(run_dir)
    check_destination(run_dir, overwrite)
    parent = run_dir.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFolderError(f"cannot create {parent} ({exc.strerror})") from None
    clean_stale(parent)
    with _TerminateAsExit():
        merge = run_dir.is_dir() and ((not _is_rfemu_folder(run_dir) and any(run_dir.iterdir()))
                                      or _holds_cwd(run_dir))
        if merge:
            clean_stale(run_dir)
        tmp = _temporary_folder(run_dir if merge else parent, run_dir.absolute().name)
        try:
            _write_files(tmp, resolved_yaml, metrics, traces, trace_file, extra_files)
            figures = []
            if draw is not None:
                fig_dir = tmp / figures_dir
                fig_dir.mkdir(parents=True, exist_ok=True)
                figures = [run_dir / Path(p).relative_to(tmp) for p in draw(fig_dir)]
            if merge:
                (tmp / MARKER_FILE).unlink()
                _merge_into(tmp, run_dir)
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                _replace_dir(tmp, run_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return figures


def _write_files(folder: Path, resolved_yaml, metrics, traces, trace_file, extra_files) -> None:
    (folder / SCENARIO_FILE).write_text(resolved_yaml, encoding="utf-8")
    (folder / METRICS_FILE).write_text(
        json.dumps(_clean_metrics(metrics), indent=2, sort_keys=True, default=_json_default)
        + "\n", encoding="utf-8")
    trace_path = folder / trace_file
    trace_path.parent.mkdir(parents=True, exist_ok=True)
    traces.to_netcdf(trace_path, engine="h5netcdf")
    for name, writer in (extra_files or {}).items():
        writer(folder / name)


def _inside(run_dir: Path, relative: str, what: str) -> Path:
    """``run_dir / relative``, refused when it leads out of the run folder, by '..' or through a
    symbolic link (:class:`RunFolderError`)."""
    p = Path(relative)
    if p.is_absolute() or ".." in p.parts:
        raise RunFolderError(f"{what} {relative!r} leaves the run folder")
    path = run_dir / p
    root = os.path.realpath(run_dir)
    real = os.path.realpath(path)
    if os.path.commonpath([root, real]) != root:
        raise RunFolderError(f"{what} {relative!r} leads out of the run folder through a symbolic "
                             f"link (to {real}); rfemu writes only inside {run_dir}")
    return path


def read_run_folder(run_dir):
    """(resolved scenario dict, metrics dict, traces Dataset) of a finished run folder.

    A damaged folder (unreadable YAML, JSON or trace) is one :class:`RunFolderError`."""
    import xarray as xr
    import yaml
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError("not a folder")
    missing = [n for n in (SCENARIO_FILE, METRICS_FILE) if not (run_dir / n).is_file()]
    if missing and (run_dir / CHECKPOINT_FILE).is_file():
        raise RunFolderError(f"the folder of an interrupted run (a checkpoint, no {', '.join(missing)}): "
                             f"go on with `rfemu run --resume {run_dir}`")
    if missing:
        raise RunFolderError(f"not a run folder (missing {', '.join(missing)})")
    try:
        resolved = yaml.safe_load((run_dir / SCENARIO_FILE).read_text(encoding="utf-8"))
        metrics = json.loads((run_dir / METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise RunFolderError(f"damaged run folder: {type(exc).__name__}: {exc}") from None
    if not isinstance(resolved, dict) or not isinstance(metrics, dict):
        raise RunFolderError(f"damaged run folder: {SCENARIO_FILE} and {METRICS_FILE} must each hold a mapping")
    trace_file = str((resolved.get("record") or {}).get("trace_file", "trace.nc"))
    trace_path = _inside(run_dir, trace_file, "trace_file")
    if not trace_path.is_file():
        raise RunFolderError(f"missing {trace_file}")
    try:
        with xr.open_dataset(trace_path, engine="h5netcdf") as ds:
            traces = ds.load()
    except (OSError, ValueError, KeyError) as exc:
        raise RunFolderError(f"damaged {trace_file}: {type(exc).__name__}: {exc}") from None
    return resolved, metrics, traces


def redraw_figures(run_dir) -> list:
    """Draw the figures of a finished run folder again (``rfemu plot``); returns their paths.

    Nothing is written outside the run folder: a ``figures_dir`` reached through a symbolic link
    that leaves it is refused."""
    from rfemu import plots
    run_dir = Path(run_dir)
    resolved, metrics, traces = read_run_folder(run_dir)
    figures_dir = str((resolved.get("record") or {}).get("figures_dir", "figures"))
    trace_file = str((resolved.get("record") or {}).get("trace_file", "trace.nc"))
    problem = layout_problem(trace_file, figures_dir)
    if problem:
        raise RunFolderError(problem)
    out = _inside(run_dir, figures_dir, "figures_dir")
    if out.is_symlink():
        raise RunFolderError(f"figures_dir {figures_dir!r} is a symbolic link; rfemu replaces only "
                             "folders it wrote")
    if out.exists() and not (out.is_dir() and all(p.suffix == ".png" or p.name == MARKER_FILE
                                                     for p in out.iterdir())):
        raise RunFolderError(f"{out} holds files other than figures; rfemu does not replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    _inside(run_dir, figures_dir, "figures_dir")       # again, now that the parents exist
    clean_stale(out.parent)
    with _TerminateAsExit():
        tmp = _temporary_folder(out.parent, out.name)
        try:
            names = [Path(f).name for f in plots.draw_all(traces, resolved, metrics, tmp)]
            (tmp / MARKER_FILE).unlink()
            _replace_dir(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return [out / n for n in names]


# --------------------------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------------------------

def _fmt(value, unit=""):
    if value is None:
        return "-"
    if isinstance(value, float):
        if unit == "%":
            return f"{100 * value:.2f} %"
        if unit:
            return _si(value, unit)
        return f"{value:.4g}"
    return str(value)


_PREFIXES = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, ""),
             (1e3, "k"), (1e6, "M"), (1e9, "G")]


def _si(value: float, unit: str) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    scale, prefix = _PREFIXES[0]
    for s, p in _PREFIXES:
        if abs(value) >= s:
            scale, prefix = s, p
    return f"{value / scale:.3g} {prefix}{unit}"


SUMMARY_ROWS = [("engine", "engine", ""), ("test_accuracy", "test accuracy", "%"),
                ("train_accuracy", "train accuracy", "%"),
                ("energy_per_inference_J", "energy / inference", "J"),
                ("latency_s", "latency", "s"), ("n_junctions", "synapse junctions", ""),
                ("n_oscillators", "oscillators", ""), ("epochs_run", "epochs", ""),
                ("wall_time_s", "wall time", "s")]


def summary_table(metrics: dict) -> str:
    """A short two-column table of the main metrics."""
    rows = []
    for key, label, unit in SUMMARY_ROWS:
        if key not in metrics:
            continue
        if key == "test_accuracy" and metrics.get("engine") == "event":
            rows.append((f"test accuracy (event, {metrics.get('event_samples')} samples)",
                         _fmt(metrics[key], unit)))
            rows.append(("test accuracy (compiled, all)",
                         _fmt(metrics.get("compiled_test_accuracy"), unit)))
            continue
        rows.append((label, _fmt(metrics.get(key), unit)))
    width = max(len(r[0]) for r in rows) if rows else 0
    return "\n".join(f"  {label:<{width}}  {value}" for label, value in rows)


def print_summary(result: Result) -> None:
    """Print the run folder and the summary table."""
    if result.run_dir is not None:
        print(f"run folder: {result.run_dir}")
    print(summary_table(result.metrics))


# --------------------------------------------------------------------------------------------
# energy and latency of the compiled engine (from the devices' formulas)
# --------------------------------------------------------------------------------------------

def static_energy_and_latency(network, forward, tolerance: float = SETTLING_TOLERANCE,
                              energy_model=None, min_relaxation_fraction: float = 0.02) -> dict:
    """Energy per inference and latency of a batch run by the compiled engine.

    The event engine integrates its energy over physical time (its
    :class:`~rfemu.devices.energy.EnergyLedger`); this is the static counterpart with the same
    kinds, the same :class:`~rfemu.devices.energy.EnergyModel` and the same power formulas
    (:mod:`rfemu.devices.energy`), the times from :mod:`rfemu.devices.oscillator` and
    :mod:`rfemu.devices.resonator`:

    - latency of a sample, as the event engine times it: for each layer, the spin-diode
      response time of its slowest junction, ``1 / (2 pi D_r)`` with the half width
      D_r = alpha f_r of :func:`rfemu.devices.resonator.half_width`; then, for each hidden layer,
      the time its slowest oscillator takes for its power to settle within ``tolerance``
      (relative) of the steady state, ``ln(1 / tolerance) / rate`` with the rate at which the
      event engine moves it, :func:`rfemu.devices.oscillator.settling_rate`
      (docs/physics.md#relaxation-rate: a deviation of p decays as exp(-2 G_G |xi - 1| t),
      floored at ``min_relaxation_fraction * 2 G_G``: critical slowing down at threshold is cut
      there); layers settle one after the other, so the times add;
    - powers of a sample, held for that latency: ``oscillator``, the neurons' Joule power
      ``R I^2`` (current clipped to [0, max_current]); ``junction``, the fraction
      ``junction_absorption`` of the power of every tone passing each junction (times its power
      gain); ``amplifier``, what the amplifiers spend restoring it (``junction /
      amplifier_efficiency``); ``write`` is 0 (no write during an inference).

    Parameters
    ----------
    network : rfemu.network.CompiledNetwork
    forward : ForwardResult
        From ``CompiledEngine.forward(..., keep=True)``.
    tolerance : float
    energy_model : rfemu.devices.energy.EnergyModel, optional

    Returns
    -------
    dict
        ``latency_s`` and ``energy_per_inference_J`` (medians over the batch), the median
        energies by kind
        (``oscillator_J``, ``junction_J``, ``amplifier_J``, ``write_J``) and
        ``settling_tolerance``.
    """
    from rfemu.devices import oscillator as osc
    from rfemu.devices import resonator as res
    from rfemu.devices.energy import EnergyModel, joule_power
    from rfemu.medium import LineResponse
    model = energy_model or EnergyModel()
    states = forward.layers
    if not states:
        raise ValueError("forward must be run with keep=True")
    n = states[0].tone_power.shape[0]
    latency = np.zeros(n)
    joule = np.zeros(n)
    absorbed = np.zeros(n)
    log_tol = math.log(1.0 / tolerance)
    for layer, state in zip(network.layers, states):
        # the junctions' rectified voltage follows the drive as their resonance responds:
        # time 1 / (2 pi D_r), D_r = alpha f_r (the resonator's half width)
        latency += float(np.max(res.response_time(layer.resonance_frequency, layer.damping)))
        absorbed += model.junction_power(state.tone_power.sum(axis=1),
                                         LineResponse.of_layer(layer).junction_power_gain())
        if not layer.is_hidden:
            continue
        params = layer.oscillator
        rate = np.asarray(osc.settling_rate(state.current, params, min_relaxation_fraction), dtype=float)
        latency += (log_tol / rate).max(axis=1)
        joule += joule_power(state.current, params.resistance, params.max_current).sum(axis=1)
    amplifier = model.amplifier_power(absorbed)
    energy = {"oscillator_J": joule * latency, "junction_J": absorbed * latency,
              "amplifier_J": amplifier * latency}
    total = sum(energy.values())
    out = {"latency_s": float(np.median(latency)),
           "energy_per_inference_J": float(np.median(total))}
    out.update({k: float(np.median(v)) for k, v in energy.items()})
    out["write_J"] = 0.0
    out["settling_tolerance"] = tolerance
    out["energy_model"] = "rfemu.results.static_energy_and_latency"
    return out
