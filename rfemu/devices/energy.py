"""The energy model of an emulated chip, written once: the power each device kind draws, and a
ledger that integrates it over physical time (docs/physics.md#energy).

Per device kind:

- ``oscillator``: Joule power ``R I^2`` of each neuron's DC drive, the current through the
  junction clipped to ``0 <= I <= I_max`` (:func:`joule_power`);
- ``junction``: RF power absorbed by the junctions of a line: a fraction ``junction_absorption``
  of the power of every tone passing each junction (every tone on its line reaches every junction,
  times the junction's power gain) (:meth:`EnergyModel.junction_power`);
- ``amplifier``: the power the line amplifiers supply to restore what the junctions absorbed,
  divided by their efficiency (:meth:`EnergyModel.amplifier_power`);
- ``write``: the energy of the non-volatile frequency writes (``FrequencyState.write``), added as
  joules when a write lands.

The engines use only these: the event engine records each device's power into an
:class:`EnergyLedger` whenever it changes and integrates over the inference; the static estimate
of a compiled batch (``rfemu.results.static_energy_and_latency``) holds the same powers over its
latency. ``rfemu.study.energy`` keeps the projections (the seed's 20 nm figures).

This module is a leaf: it imports numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["EnergyModel", "EnergyLedger", "ENERGY_KINDS", "joule_power", "integrate_steps"]

#: the device kinds of an energy account, in the order they are reported
ENERGY_KINDS = ("oscillator", "junction", "amplifier", "write")


@dataclass(frozen=True)
class EnergyModel:
    """Parameters of the energy account.

    Parameters
    ----------
    junction_absorption : float
        Fraction (0..1) of the RF power passing a junction that the junction dissipates.
    amplifier_efficiency : float
        Efficiency (0..1] of the amplifiers that restore the absorbed RF power.
    """

    junction_absorption: float = field(default=0.01, metadata={
        "unit": "", "ge": 0, "le": 1,
        "help": "Energy account: fraction of the RF power passing a junction that it dissipates."})
    amplifier_efficiency: float = field(default=0.1, metadata={
        "unit": "", "gt": 0, "le": 1,
        "help": "Energy account: efficiency of the amplifiers that restore the absorbed RF power."})

    def __post_init__(self):
        if not (0.0 <= self.junction_absorption <= 1.0):
            raise ValueError(f"junction_absorption must be in [0, 1], got {self.junction_absorption!r}")
        if not (0.0 < self.amplifier_efficiency <= 1.0):
            raise ValueError(f"amplifier_efficiency must be in (0, 1], got {self.amplifier_efficiency!r}")

    def junction_power(self, tone_power, power_gain):
        """W absorbed by the junctions of a line carrying tones of total power ``tone_power`` (W,
        array: one total per sample), junctions of power gains ``power_gain`` (any shape)."""
        return self.junction_absorption * float(np.sum(power_gain)) * np.asarray(tone_power, dtype=float)

    def amplifier_power(self, junction_power):
        """W the amplifiers draw to restore ``junction_power`` (W, or J: the ratio is the same)."""
        return np.asarray(junction_power, dtype=float) / self.amplifier_efficiency


def joule_power(current, resistance, max_current):
    """W, Joule power ``R I^2`` of oscillators driven by ``current`` (A), the current through the
    junction clipped to ``[0, max_current]`` (arrays broadcast)."""
    i = np.clip(np.asarray(current, dtype=float), 0.0, np.asarray(max_current, dtype=float))
    return np.asarray(resistance, dtype=float) * i ** 2


def integrate_steps(log, t0, t1):
    """Integral over [t0, t1] of a piecewise-constant signal given as sorted (t, value) changes;
    the value before the first change is the first entry's value.

    Times may be of any type whose differences are numbers (seconds as floats, or the event
    engine's integer ticks: the result is then in value x ticks)."""
    if t1 <= t0 or not log:
        return 0.0
    total = 0.0
    value = log[0][1]
    t_prev = t0
    for t, v in log:
        if t <= t0:
            value = v
            continue
        if t >= t1:
            break
        total += value * (t - t_prev)
        t_prev, value = t, v
    total += value * (t1 - t_prev)
    return total


class EnergyLedger:
    """What a run spends, as step signals per device, integrated per inference.

    The engine calls :meth:`power` whenever an oscillator's Joule power changes, :meth:`tones`
    whenever the total tone power on a line changes, and :meth:`add` for energies spent at once
    (writes); :meth:`start` begins an inference, :meth:`finish` returns the joules by kind over an
    interval (the junctions' share from the tone power through :class:`EnergyModel`). Times are in
    the engine's unit (``time_unit`` seconds each); only their differences matter.

    Parameters
    ----------
    model : EnergyModel
    time_unit : float
        s per unit of the times given (1.0: seconds; the event engine passes its tick).
    """

    def __init__(self, model=None, time_unit=1.0):
        self.model = model or EnergyModel()
        self.time_unit = float(time_unit)
        self._oscillators = {}   # device -> [(t, W)]
        self._lines = {}         # line -> [(t, W of tones)]
        self._gain = {}          # line -> sum of its junctions' power gains
        self._spent = {}         # kind -> J since start

    def register_oscillator(self, device, t=0, watts=0.0):
        """Declare an oscillator drawing ``watts`` from ``t`` (reports sum in declaration order)."""
        self._oscillators.setdefault(device, [(t, float(watts))])

    def register_line(self, line, power_gain, t=0, tone_power=0.0):
        """Declare a line whose junctions have power gains ``power_gain`` (any shape), carrying
        tones of total power ``tone_power`` (W) from ``t``."""
        self._gain[line] = float(np.sum(power_gain))
        self._lines.setdefault(line, [(t, float(tone_power))])

    def power(self, device, t, watts):
        """Oscillator ``device`` draws ``watts`` (W, :func:`joule_power`) from time ``t`` on."""
        self._oscillators[device].append((t, watts))

    def tones(self, line, t, tone_power):
        """The tones on ``line`` carry ``tone_power`` (W in total) from time ``t`` on."""
        self._lines[line].append((t, tone_power))

    def tone_change(self, line, t, delta):
        """The total tone power on ``line`` changes by ``delta`` W from time ``t`` on (no earlier
        than the last change recorded): one entry, no sum over the line's tones."""
        log = self._lines[line]
        log.append((t, log[-1][1] + delta))

    def add(self, kind, joules):
        """Energy ``joules`` (J) of kind ``kind`` spent at once (a write)."""
        self._spent[kind] = self._spent.get(kind, 0.0) + float(joules)

    def start(self, t):
        """Begin an inference at time ``t``: keep only what is in force at ``t`` and after."""
        for logs in (self._oscillators, self._lines):
            for key, log in logs.items():
                logs[key] = _from(log, t)
        self._spent = {}

    def finish(self, t0, t1) -> dict:
        """Energy (J) by kind spent over [t0, t1]: every kind of :data:`ENERGY_KINDS` (0 when
        nothing was spent), then any other kind added."""
        unit = self.time_unit
        oscillator = 0.0
        for log in self._oscillators.values():
            oscillator += integrate_steps(log, t0, t1) * unit
        junction = 0.0
        for line, log in self._lines.items():
            junction += float(self.model.junction_power(integrate_steps(log, t0, t1) * unit, self._gain[line]))
        out = {"oscillator": oscillator, "junction": junction,
               "amplifier": float(self.model.amplifier_power(junction))}
        out.update(self._spent)
        out.setdefault("write", 0.0)
        return out


def _from(log, t):
    """A step signal's log from time ``t`` on: the value in force at ``t``, then later changes."""
    value = log[0][1]
    k = 0
    for k, (tk, v) in enumerate(log):
        if tk > t:
            break
        value = v
    else:
        k = len(log)
    return [(t, value)] + log[k:]
