"""From a scenario file with a ``sweep:`` section to the points to run, and running a point.

A point is the scenario's plain data (after ``extends`` and ``--set``, before validation) with
``--set`` overrides for its axis values and its seed, validated like any scenario and run through
:func:`rfemu.api.run` (``write=False``). Every scalar metric of the run (nested keys joined with
dots: ``energy.per_operation.per_synapse``) is one value of the point.

Problems in the sweep section, and axis values the scenario refuses, are reported like every
scenario problem: ``FILE:LINE: sweep.axes.0.values: ...``.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
from pydantic import BaseModel, ValidationError

from rfemu.study.sweep import SweepPoint, SweepSection, axis_values, sweep_points

__all__ = ["SweepPlan", "load_plan", "run_batch", "flatten_metrics", "point_key"]


class _SweepOnly(BaseModel):
    sweep: SweepSection


@dataclass
class SweepPlan:
    """A sweep ready to run.

    Attributes
    ----------
    source : str
        The scenario file.
    data : dict
        The scenario's plain data without its ``sweep`` section, the seed filled in.
    positions : rfemu.scenario.Positions
        Where each key came from.
    section : SweepSection
    seed : int
        The scenario's seed (repeat 0's).
    base : rfemu.scenario.Scenario
        The validated scenario without axis overrides.
    fingerprint : str
        Hash of ``data``: a sweep folder holds points of one fingerprint only.
    dims : dict
        Dimension -> coordinate values as written (see :func:`sweep_points`).
    coords : dict
        Grid axis -> its values in SI units (None where a value is not a number).
    points : list of SweepPoint
    """

    source: str
    data: dict
    positions: Any
    section: SweepSection
    seed: int
    base: Any
    fingerprint: str
    dims: dict
    coords: dict
    points: list = field(default_factory=list)

    @property
    def payload(self) -> dict:
        """What a worker needs to build any point (plain, picklable data)."""
        return {"fingerprint": self.fingerprint, "data": self.data, "positions": self.positions,
                "source": self.source, "keys": [a.key for a in self.section.axes]}

    def key(self, point: SweepPoint) -> str:
        """The point's name in the sweep folder (hash of the scenario and its overrides)."""
        return point_key(self.fingerprint, point.overrides(self.section.axes))


def point_key(fingerprint: str, overrides: list) -> str:
    """A short hash naming a point: same scenario and overrides, same name."""
    text = json.dumps([fingerprint, list(overrides)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _fingerprint(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _at(obj, path: tuple):
    for part in path:
        obj = obj[part] if isinstance(part, int) else getattr(obj, part)
    return obj


def _key_path(key: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in key.split("."))


def _as_coordinate(value) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _validate_point(data, positions, source, overrides):
    from rfemu.scenario import _validate, apply_override
    data, positions = copy.deepcopy(data), copy.deepcopy(positions)
    for override in overrides:
        apply_override(data, positions, override)
    return _validate(data, positions, source, Path(source).parent if source else None)


#: s a sweep's point takes at least (a run of the smallest scenario takes ~0.15 s), and bytes
#: its plan and results keep (a SweepPoint ~200 B, its metrics)
POINT_SECONDS, POINT_BYTES = 0.01, 1000


def _size_problems(section: SweepSection, positions) -> Optional[tuple[dict, list]]:
    """A sweep whose points would take longer than the time budget or more memory than the
    limit (rfemu.devices.limits), refused before its points are listed or checked (a billion
    repeats listed seeds for minutes without a word); None when it fits."""
    from rfemu.devices import limits
    sizes = [(len(a.values) if a.values is not None else len(a.sets) if a.sets is not None
              else (a.linear or a.log).num) for a in section.axes]
    samples = section.samples if section.sampling == "random" else \
        float(np.prod([float(n) for n in sizes])) if sizes else 1.0
    points = float(samples) * section.repeats
    biggest = max(range(len(sizes)), key=lambda i: sizes[i], default=None)
    key = ("sweep", "repeats") if biggest is None or section.repeats >= max(sizes) else \
        ("sweep", "samples") if section.sampling == "random" else ("sweep", "axes", biggest)
    what = f"a sweep of {points:.3g} points"
    try:
        message = limits.memory_problem(points * POINT_BYTES, what, "fewer points or repeats") or \
            limits.time_problem(points * POINT_SECONDS, what)
    except ValueError as exc:            # $RFEMU_MEMORY_LIMIT or $RFEMU_TIME_BUDGET unreadable
        message = str(exc)
    return ({}, [positions.problem(key, message)]) if message else None


def _check_axes(section: SweepSection, data, positions, source) -> tuple[dict, list]:
    """Validate every grid value (or range bound) on the scenario; SI coordinates of grid values."""
    from rfemu.scenario import ScenarioError
    coords, problems = {}, []
    for i, axis in enumerate(section.axes):
        kind = next(k for k in ("values", "sets", "linear", "log") if getattr(axis, k) is not None)
        if section.sampling == "grid" or axis.sets is not None:
            values = axis_values(axis)
        elif axis.values is not None:
            values = list(axis.values)
        else:
            r = axis.linear or axis.log
            values = [r.start, r.stop]
        si = []
        for value in values:
            try:
                s = _validate_point(data, positions, source, axis.overrides(value))
            except ScenarioError as exc:
                what = "; ".join(f"{p.path}: {p.message}" for p in exc.problems)
                problems.append(positions.problem(("sweep", "axes", i, kind),
                                                  f"{' and '.join(axis.keys)} = {value!r} is "
                                                  f"refused ({what})"))
                break
            if axis.sets is not None:
                continue
            try:
                si.append(_as_coordinate(_at(s, _key_path(axis.key))))
            except (AttributeError, IndexError, KeyError, TypeError):
                problems.append(positions.problem(("sweep", "axes", i, "key"),
                                                  f"{axis.key!r} is not a key of the scenario"))
                break
        coords[axis.label] = list(axis.labels) if axis.labels is not None else si
    return coords, problems


def load_plan(path, overrides=(), seed: Optional[int] = None) -> SweepPlan:
    """Read a scenario file with a ``sweep:`` section into the points to run.

    Parameters
    ----------
    path : str or Path
        The scenario file.
    overrides : sequence of str
        ``KEY=VALUE`` (``--set``) applied to the scenario before the sweep's axes.
    seed : int, optional
        The seed to use when the scenario's is null (a resumed sweep passes the one it drew).

    Raises
    ------
    rfemu.scenario.ScenarioError
        Problems of the scenario or of its sweep section, each ``FILE:LINE: key: ...``.
    """
    import secrets

    from rfemu.scenario import (Problem, ScenarioError, _read_file, _validate,
                                _validation_problems, apply_override)
    path = Path(path)
    data, positions = _read_file(path)
    for override in overrides or ():
        apply_override(data, positions, override)
    if not isinstance(data.get("sweep"), dict):
        file, line = positions.locate(("sweep",))
        raise ScenarioError([Problem(file, line if "sweep" in data else None, "sweep",
                                     "a sweep needs a `sweep:` section (expected axes: [{key: "
                                     "..., values: [...]}], repeats: N)")])
    try:
        section = _SweepOnly.model_validate({"sweep": data["sweep"]}).sweep
    except ValidationError as exc:
        raise ScenarioError(_validation_problems(exc, positions)) from None
    data = dict(data)
    del data["sweep"]
    if data.get("seed") is None:
        data["seed"] = int(seed) if seed is not None else secrets.randbits(31)
    base = _validate(copy.deepcopy(data), copy.deepcopy(positions), str(path), path.parent)
    coords, problems = _size_problems(section, positions) or _check_axes(section, data, positions, str(path))
    if problems:
        raise ScenarioError(problems)
    dims, points = sweep_points(section, int(data["seed"]))
    return SweepPlan(source=str(path), data=data, positions=positions, section=section,
                     seed=int(data["seed"]), base=base, fingerprint=_fingerprint(data),
                     dims=dims, coords=coords, points=points)


# --------------------------------------------------------------------------------------------
# the worker's side
# --------------------------------------------------------------------------------------------

_SCENARIOS: dict = {}
_CACHE_SIZE = 32


def _point_scenario(payload: dict, overrides: list):
    """The validated scenario of a point; points differing only by seed validate once."""
    axis_part, seed = tuple(overrides[:-1]), int(overrides[-1].split("=", 1)[1])
    cache_key = (payload["fingerprint"], axis_part)
    s = _SCENARIOS.get(cache_key)
    if s is None:
        s = _validate_point(payload["data"], payload["positions"], payload["source"], axis_part)
        if len(_SCENARIOS) >= _CACHE_SIZE:
            _SCENARIOS.pop(next(iter(_SCENARIOS)))
        _SCENARIOS[cache_key] = s
    return s.model_copy(update={"seed": seed})      # rfemu.api.run does not modify it


def flatten_metrics(metrics: dict, prefix: str = "") -> dict:
    """Every scalar number of a metrics dict, nested keys joined with dots."""
    out = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten_metrics(value, name + "."))
        elif isinstance(value, bool):
            out[name] = int(value)
        elif isinstance(value, (int, float)) and not isinstance(value, complex):
            out[name] = value
    return out


def _run_point(payload: dict, key: str, overrides: list) -> dict:
    from rfemu.api import run
    t0, c0 = time.perf_counter(), time.process_time()
    record = {"key": key, "overrides": list(overrides), "metrics": {}, "axis_si": [],
              "error": None, "host": socket.gethostname(), "pid": os.getpid()}
    try:
        s = _point_scenario(payload, overrides)
        record["axis_si"] = [_as_coordinate(_at(s, _key_path(k))) if k else None
                             for k in payload["keys"]]
        result = run(s, write=False, progress=False)
        record["metrics"] = flatten_metrics(result.metrics)
    except Exception as exc:  # a failing point is recorded; the sweep goes on
        lines = traceback.format_exception_only(type(exc), exc)
        record["error"] = "".join(lines).strip()
    record["seconds"] = time.perf_counter() - t0
    record["cpu_seconds"] = time.process_time() - c0     # this worker's CPU for the point
    return record


def run_batch(payload: dict, batch: list) -> list:
    """Run a batch of points ``[(key, overrides), ...]``; one record per point, errors included."""
    return [_run_point(payload, key, overrides) for key, overrides in batch]
