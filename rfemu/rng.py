"""One way to turn a seed into a numpy Generator."""
from __future__ import annotations

import numpy as np


def as_generator(seed=None) -> np.random.Generator:
    """Return a numpy Generator from ``seed`` (None, an int, a SeedSequence or a Generator).

    A Generator passed in is returned as it is (shared, so it advances), anything else seeds a
    new PCG64 Generator.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.BitGenerator):
        return np.random.Generator(seed)
    if seed is None or isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be None, an int, a SeedSequence or a numpy Generator, not {type(seed).__name__}")
