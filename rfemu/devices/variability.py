"""Device-to-device variability: per-device draws of any parameter from a seeded Generator.

Two laws, both with relative standard deviation ``spread``:

- ``"gaussian"``: x = x0 (1 + spread z), z ~ N(0, 1), as in the seed papers (a 1 % spread of
  resonance frequencies is ``spread=0.01``);
- ``"lognormal"``: x = x0 exp(sigma z - sigma^2 / 2), sigma^2 = ln(1 + spread^2): same mean and
  relative spread, but the sign of x0 is always kept (for parameters such as damping or
  sensitivity that cannot change sign).

Examples
--------
>>> import numpy as np
>>> x = draw(100e6, 0.01, seed=1, size=100_000)
>>> bool(abs(x.std() / 100e6 - 0.01) < 1e-3)
True
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from rfemu.rng import as_generator

__all__ = ["LAWS", "draw", "Spread", "Variability"]

LAWS = ("gaussian", "lognormal")


def draw(value, spread, seed=None, size=None, law="gaussian"):
    """Per-device values of a parameter around ``value`` (scalar or array) with relative ``spread``.

    ``size`` adds device dimensions when ``value`` is a scalar; an array ``value`` gets one draw
    per element. A spread of 0 returns the values unchanged (and draws nothing).
    """
    if not (isinstance(spread, (int, float, np.floating)) and math.isfinite(spread) and spread >= 0):
        raise ValueError(f"spread must be a finite relative standard deviation >= 0, got {spread!r}")
    if law not in LAWS:
        raise ValueError(f"law must be one of {LAWS}, got {law!r}")
    base = np.asarray(value, dtype=float)
    shape = base.shape if size is None else (tuple(size) if np.iterable(size) else (int(size),))
    base = np.broadcast_to(base, shape)
    if spread == 0:
        return base.copy()
    z = as_generator(seed).standard_normal(shape)
    if law == "gaussian":
        return base * (1.0 + spread * z)
    sigma = math.sqrt(math.log1p(spread * spread))
    return base * np.exp(sigma * z - 0.5 * sigma * sigma)


@dataclass(frozen=True)
class Spread:
    """Relative spread of one parameter and its law."""

    spread: float
    law: str = "gaussian"

    def __post_init__(self):
        if not (math.isfinite(self.spread) and self.spread >= 0):
            raise ValueError(f"spread must be a finite relative standard deviation >= 0, got {self.spread!r}")
        if self.law not in LAWS:
            raise ValueError(f"law must be one of {LAWS}, got {self.law!r}")


@dataclass(frozen=True)
class Variability:
    """Spreads by parameter name, e.g. ``Variability({"resonance_frequency": Spread(0.01)})``."""

    spreads: dict = field(default_factory=dict)

    def __post_init__(self):
        for name, sp in self.spreads.items():
            if not isinstance(sp, Spread):
                raise TypeError(f"spread of {name!r} must be a Spread, got {type(sp).__name__}")

    def perturb(self, name, value, seed=None, size=None):
        """``value`` perturbed by this parameter's spread (unchanged if it has none)."""
        sp = self.spreads.get(name)
        if sp is None:
            return np.broadcast_to(np.asarray(value, dtype=float),
                                   np.shape(value) if size is None else size).copy()
        return draw(value, sp.spread, seed=seed, size=size, law=sp.law)

    def apply(self, params, seed=None):
        """A copy of a parameter dataclass with every field named here redrawn (scalar fields only).

        Returns the dataclass with each perturbed field a float (one device).
        """
        rng = as_generator(seed)
        changes = {}
        names = {f.name for f in dataclasses.fields(params)}
        for name, sp in self.spreads.items():
            if name in names:
                changes[name] = float(draw(getattr(params, name), sp.spread, seed=rng, law=sp.law))
        return dataclasses.replace(params, **changes)
