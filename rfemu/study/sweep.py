"""The ``sweep:`` section of a scenario: axes, sampling, Monte-Carlo repeats, and the points.

A sweep runs one scenario many times. Each *axis* names one scenario key as a dotted path (list
indices as numbers, as for ``--set``: ``network.layers.0.size``) and the values it takes: a
``values:`` list, or a ``linear:`` / ``log:`` range. With ``sampling: grid`` every combination of
axis values is a point; with ``sampling: random`` ``samples`` points are drawn (uniformly from a
list, uniformly in a linear range, log-uniformly in a log range). Every point runs ``repeats``
times with different seeds.

Seeds: repeat 0 runs with the scenario's own seed, so it is exactly ``rfemu run SCENARIO --set
KEY=VALUE ...``; repeat ``r >= 1`` runs with a seed spawned from the scenario's seed
(``numpy.random.SeedSequence(seed, spawn_key=(r,))``). A repeat's seed is the same at every
point (common random numbers: two points of one repeat differ only by their axis values), and it
does not depend on how many repeats there are, so adding repeats keeps the finished ones.

Examples
--------
.. code-block:: yaml

    sweep:
      axes:
        - key: variability.resonance_frequency_spread
          linear: {start: 0, stop: 0.1, num: 6}
        - key: devices.resonator.damping
          log: {start: 0.003, stop: 0.03, num: 5}
        - key: network.inputs.frequency_plan.max
          values: [1 GHz, 5 GHz, 10 GHz]
      sampling: grid
      repeats: 4
      figures: [test_accuracy]

This module only describes the sweep (it imports nothing of the scenario package, which imports
it); :mod:`rfemu.sweep.plan` turns a scenario file into the points to run.
"""
from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal, Optional, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

__all__ = ["SweepSection", "AxisSection", "RangeSection", "SweepPoint", "axis_values",
           "sweep_points", "repeat_seed", "SAMPLING_SPAWN_KEY"]

#: the spawn key of the random stream that draws the points of ``sampling: random``
SAMPLING_SPAWN_KEY = (2 ** 32 - 1,)

_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
_KEY_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\d+))*$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, use_attribute_docstrings=True)


def _split_unit(value) -> tuple[float, str]:
    """``"10 GHz"`` -> ``(10.0, "GHz")``; a number -> ``(value, "")``."""
    if isinstance(value, bool):
        raise ValueError(f"got {value!r}, expected a number or a number with a unit")
    if isinstance(value, (int, float)):
        return float(value), ""
    match = _NUMBER_UNIT.match(str(value))
    if not match:
        raise ValueError(f"got {value!r}, expected a number or a number with a unit ('10 GHz')")
    return float(match.group(1)), match.group(2)


class RangeSection(_Section):
    """``num`` values from ``start`` to ``stop`` (both included), evenly or log-evenly spaced."""

    start: Any
    """First value: a number (SI) or a number with a unit ("100 MHz")."""
    stop: Any
    """Last value, in the same unit as ``start``."""
    num: int = Field(ge=1)
    """How many values (at least 1)."""

    @model_validator(mode="after")
    def _same_unit(self):
        (_, u0), (_, u1) = _split_unit(self.start), _split_unit(self.stop)
        if u0 != u1:
            raise ValueError(f"start and stop must have the same unit (got {u0!r} and {u1!r})")
        return self

    def bounds(self) -> tuple[float, float, str]:
        """``(start, stop, unit)`` with the numbers in the unit written."""
        (a, unit), (b, _) = _split_unit(self.start), _split_unit(self.stop)
        return a, b, unit


class AxisSection(_Section):
    """One axis of a sweep: a scenario key and the values it takes (exactly one of
    ``values``, ``linear``, ``log``), or ``sets`` of keys changed together."""

    key: Optional[str] = Field(default=None, pattern=_KEY_PATH)
    """The scenario key, a dotted path as for ``--set`` (``network.layers.0.size``)."""
    values: Optional[list[Any]] = Field(default=None, min_length=1)
    """The values, each as it would be written in the scenario (numbers, "10 GHz", names)."""
    linear: Optional[RangeSection] = None
    """Evenly spaced values from start to stop."""
    log: Optional[RangeSection] = None
    """Logarithmically spaced values from start to stop (both > 0)."""
    name: Optional[str] = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    """The axis's name in sweep.nc and on the figures (default: the key)."""
    also: list[str] = Field(default_factory=list)
    """More keys set to the same value at each point (a band's two ends, four spreads at once)."""
    sets: Optional[list[dict[str, Any]]] = Field(default=None, min_length=1)
    """Instead of key and values: each value of the axis is a mapping of keys to their values,
    set together (a device diameter changes R, I_th and the transconductance at once); needs
    ``name`` and ``labels``."""
    labels: Optional[Union[list[float], list[str]]] = None
    """The axis's coordinates in sweep.nc and on the figures, one per value (default: the
    values in SI units); required with ``sets``. Numbers, or names (``offline``, ``on_chip``)
    for an axis whose values have no order."""

    @model_validator(mode="after")
    def _one_kind(self):
        given = [k for k in ("values", "linear", "log", "sets") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of values, linear, log, sets "
                             f"(got {', '.join(given) if given else 'none'})")
        if self.sets is not None:
            if self.key is not None or self.also or self.name is None or self.labels is None:
                raise ValueError("an axis of sets has a name and labels, and no key or also")
            if len(self.labels) != len(self.sets):
                raise ValueError(f"{len(self.labels)} labels for {len(self.sets)} sets")
        elif self.key is None:
            raise ValueError("an axis needs a key (or sets)")
        if self.labels is not None and self.values is not None and \
                len(self.labels) != len(self.values):
            raise ValueError(f"{len(self.labels)} labels for {len(self.values)} values")
        if self.labels is not None and self.values is None and self.sets is None:
            raise ValueError("labels go with values or sets (not with a range)")
        if self.log is not None:
            a, b, _ = self.log.bounds()
            if a <= 0 or b <= 0:
                raise ValueError("a log range needs start > 0 and stop > 0")
        for key in self.keys:
            if not re.fullmatch(_KEY_PATH, key):
                raise ValueError(f"{key!r} is not a dotted key path (network.layers.0.size)")
            if key in ("seed", "name") or key.startswith("sweep"):
                raise ValueError(f"cannot sweep {key!r} (use repeats for seeds)")
        return self

    @property
    def keys(self) -> list:
        """Every key the axis sets: ``key`` then ``also`` (or the keys of its sets)."""
        if self.sets is not None:
            return list(dict.fromkeys(k for entry in self.sets for k in entry))
        return [self.key] + list(self.also)

    def overrides(self, value) -> list:
        """``KEY=VALUE`` strings (VALUE as YAML) for one value of the axis."""
        if self.sets is not None:
            return [f"{k}={json.dumps(v)}" for k, v in value.items()]
        return [f"{k}={json.dumps(value)}" for k in self.keys]

    @property
    def label(self) -> str:
        """The dimension name (``name`` or the key)."""
        return self.name or self.key


class SweepSection(_Section):
    """Run the scenario over axes of values, with Monte-Carlo repeats (``rfemu sweep``)."""

    axes: list[AxisSection] = Field(default_factory=list)
    """The axes; each is a scenario key and its values."""
    sampling: Literal["grid", "random"] = "grid"
    """grid: every combination of the axes' values; random: ``samples`` points drawn at random."""
    samples: Optional[StrictInt] = Field(default=None, ge=1)
    """Number of points drawn with ``sampling: random`` (required then, refused with grid)."""
    repeats: StrictInt = Field(default=1, ge=1)
    """Runs per point; repeat 0 uses the scenario's seed, the others seeds spawned from it."""
    figures: list[str] = Field(default_factory=lambda: ["test_accuracy"])
    """The metrics drawn against each axis (and as a heat map for two axes)."""

    @model_validator(mode="after")
    def _samples_with_random(self):
        if self.sampling == "random" and self.samples is None:
            raise ValueError("sampling: random needs `samples` (how many points to draw)")
        if self.sampling == "grid" and self.samples is not None:
            raise ValueError("`samples` is for sampling: random (a grid takes every combination)")
        if self.sampling == "random" and any(a.sets is not None for a in self.axes):
            raise ValueError("an axis of sets is for sampling: grid")
        labels = [a.label for a in self.axes]
        if len(set(labels)) != len(labels):
            raise ValueError(f"two axes have the same name/key: {labels}")
        return self


# --------------------------------------------------------------------------------------------
# values and points
# --------------------------------------------------------------------------------------------

def _with_unit(number: float, unit: str):
    value = float(f"{number:.12g}")
    return f"{value!r} {unit}" if unit else value


def axis_values(axis: AxisSection) -> list:
    """The values of a grid axis, each as written in a scenario (a number or "x unit")."""
    if axis.values is not None:
        return list(axis.values)
    if axis.sets is not None:
        return list(axis.sets)
    if axis.linear is not None:
        a, b, unit = axis.linear.bounds()
        return [_with_unit(v, unit) for v in np.linspace(a, b, axis.linear.num)]
    a, b, unit = axis.log.bounds()
    return [_with_unit(v, unit) for v in np.geomspace(a, b, axis.log.num)]


def _draw(axis: AxisSection, rng: np.random.Generator):
    if axis.values is not None:
        return axis.values[int(rng.integers(len(axis.values)))]
    if axis.linear is not None:
        a, b, unit = axis.linear.bounds()
        return _with_unit(rng.uniform(a, b), unit)
    a, b, unit = axis.log.bounds()
    return _with_unit(math.exp(rng.uniform(math.log(a), math.log(b))), unit)


def repeat_seed(seed: int, repeat: int) -> int:
    """The seed of Monte-Carlo repeat ``repeat`` (0: the scenario's own seed)."""
    if repeat == 0:
        return int(seed)
    ss = np.random.SeedSequence(int(seed), spawn_key=(int(repeat),))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep.

    Attributes
    ----------
    position : tuple of int
        Index along each dimension of sweep.nc (the axes, or ``sample``, then ``repeat``).
    values : tuple
        The value of each axis, as written in the scenario.
    seed : int
        The run's seed.
    """

    position: tuple
    values: tuple
    seed: int

    def overrides(self, axes) -> list[str]:
        """``KEY=VALUE`` strings (VALUE as YAML) that make this point from the scenario."""
        return [o for a, v in zip(axes, self.values) for o in a.overrides(v)] + \
            [f"seed={self.seed}"]


def sweep_points(section: SweepSection, seed: int) -> tuple[dict, list[SweepPoint]]:
    """The dimensions and the points of a sweep, repeat fastest.

    Returns
    -------
    dims : dict
        Dimension name -> list of its coordinate values as written (a grid: one per axis;
        random sampling: ``sample``, with each axis's drawn values in ``values_of``), then
        ``repeat``.
    points : list of SweepPoint
    """
    repeats = range(section.repeats)
    seeds = [repeat_seed(seed, r) for r in repeats]
    if section.sampling == "grid":
        grid = [axis_values(a) for a in section.axes]
        dims = {a.label: vals for a, vals in zip(section.axes, grid)}
        combos = itertools.product(*[list(enumerate(v)) for v in grid])
        samples = [(tuple(i for i, _ in c), tuple(v for _, v in c)) for c in combos]
    else:
        rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=SAMPLING_SPAWN_KEY))
        drawn = [tuple(_draw(a, rng) for a in section.axes) for _ in range(section.samples)]
        dims = {"sample": list(range(section.samples))}
        samples = [((i,), values) for i, values in enumerate(drawn)]
    dims["repeat"] = list(repeats)
    points = [SweepPoint(pos + (r,), values, seeds[r]) for pos, values in samples for r in repeats]
    return dims, points
