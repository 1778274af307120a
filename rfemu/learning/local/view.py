"""What a junction may know: the local view handed to a learning rule.

A rule is given a :class:`LocalView` and nothing else: no network, no engine, no learning state.
Its per-junction fields are arrays whose last axis is the junction (N junctions, batched for
speed); a rule's update must be elementwise along that axis, junction ``i``'s update a function
of column ``i`` and of the broadcast signals only. :func:`is_local` checks that for any rule: it
perturbs every other junction's columns and compares, and compares the batched update with the
update computed from a view of the one junction alone (``docs/architecture.md#on-chip-learning``).

Fields (None when not sensed in a phase)
----------------------------------------
Per junction, (N,):
    resonance_frequency (Hz, its own), half_width (Hz, its own line's), series_sign (+-1, how it
    is wired into its chain), dither_amplitude (Hz, its own volatile dither).
Per sample and junction, (B, N):
    rectified_voltage (V, its own, every tone through its own resonance), voltage_slope (V/Hz,
    dV_j/df_j of its own voltage), chain_voltage (V, its chain's), chain_current (A, its chain's:
    the neuron's drive; 0 for a read-out chain), chain_error (1/V: the error broadcast to its
    chain, d cost / d chain voltage as the learning circuit estimates it).
Per dither step and junction, (K, N):
    dither (its own code: unit-RMS values of its volatile frequency offset).
Broadcast:
    phase (str: "dither" or "feedback"), cost (K,) the global cost at each dither step,
    reference_cost (float) the cost with the dither off.
"""
from __future__ import annotations

import numpy as np

__all__ = ["LocalView", "JUNCTION_FIELDS", "SAMPLE_FIELDS", "STEP_FIELDS", "BROADCAST_FIELDS", "is_local"]

JUNCTION_FIELDS = ("resonance_frequency", "half_width", "series_sign", "dither_amplitude")
SAMPLE_FIELDS = ("rectified_voltage", "voltage_slope", "chain_voltage", "chain_current", "chain_error")
STEP_FIELDS = ("dither",)
BROADCAST_FIELDS = ("phase", "cost", "reference_cost")
_PER_JUNCTION = JUNCTION_FIELDS + SAMPLE_FIELDS + STEP_FIELDS


class LocalView:
    """The local view of N junctions (see the module docstring). Arrays are read-only copies.

    Examples
    --------
    >>> import numpy as np
    >>> v = LocalView(phase="feedback", resonance_frequency=np.array([1e8, 2e8]))
    >>> v.n_junctions, v.junction(1).resonance_frequency.tolist()
    (2, [200000000.0])
    """

    __slots__ = _PER_JUNCTION + BROADCAST_FIELDS

    def __init__(self, phase, **fields):
        unknown = set(fields) - set(self.__slots__)
        if unknown:
            raise TypeError(f"a local view has no field {sorted(unknown)!r}; fields: {self.__slots__}")
        object.__setattr__(self, "phase", str(phase))
        n = None
        for name in _PER_JUNCTION:
            value = fields.get(name)
            if value is not None:
                value = np.array(value, dtype=float)
                value.flags.writeable = False
                if n is not None and value.shape[-1] != n:
                    raise ValueError(f"{name} has {value.shape[-1]} junctions, expected {n}")
                n = value.shape[-1]
            object.__setattr__(self, name, value)
        for name in ("cost",):
            value = fields.get(name)
            if value is not None:
                value = np.array(value, dtype=float)
                value.flags.writeable = False
            object.__setattr__(self, name, value)
        ref = fields.get("reference_cost")
        object.__setattr__(self, "reference_cost", None if ref is None else float(ref))

    def __setattr__(self, name, value):
        raise AttributeError("a local view is read-only")

    @property
    def n_junctions(self) -> int:
        for name in _PER_JUNCTION:
            value = getattr(self, name)
            if value is not None:
                return value.shape[-1]
        return 0

    def _fields(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__ if name != "phase"}

    def junction(self, i: int) -> "LocalView":
        """The view of junction ``i`` alone (per-junction arrays keep a last axis of length 1)."""
        fields = self._fields()
        for name in _PER_JUNCTION:
            if fields[name] is not None:
                fields[name] = fields[name][..., i:i + 1]
        return LocalView(self.phase, **fields)

    def replace(self, **changes) -> "LocalView":
        """A copy with some fields replaced."""
        phase = changes.pop("phase", self.phase)
        fields = self._fields()
        fields.update(changes)
        return LocalView(phase, **fields)


def is_local(rule, view: LocalView, junction: int, rng=None, trials: int = 3) -> bool:
    """Whether ``rule.update`` gives junction ``junction`` an update that depends only on its own
    fields and the broadcast signals.

    Two checks: (1) the batched update of the junction equals ``rule.update`` of
    :meth:`LocalView.junction` (the junction alone); (2) every other junction's per-junction
    fields are replaced by random values (``trials`` times) and the junction's update must not
    change. Equal means within 1e-12 relative (a column summed alone may round differently).
    A junction whose own factor is zero (e.g. its codes sum to zero) can hide a global factor:
    check several junctions.
    """
    rng = np.random.default_rng(rng)
    base = np.asarray(rule.update(view))

    def same(a, b):      # the sums of a column alone may round differently from the batch's
        return bool(np.isclose(a, b, rtol=1e-12, atol=0.0))

    alone = np.asarray(rule.update(view.junction(junction)))
    if alone.shape != (1,) or not same(alone[0], base[junction]):
        return False
    for _ in range(trials):
        changes = {}
        for name in _PER_JUNCTION:
            value = getattr(view, name)
            if value is None:
                continue
            other = np.array(value)
            mask = np.ones(other.shape[-1], dtype=bool)
            mask[junction] = False
            scale = np.abs(other).max() or 1.0
            other[..., mask] = rng.normal(0.0, scale, other[..., mask].shape)
            changes[name] = other
        if not same(np.asarray(rule.update(view.replace(**changes)))[junction], base[junction]):
            return False
    return True
