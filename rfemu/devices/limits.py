"""Limits of the device models: values that would make a simulation diverge, overflow or leave the
model's domain, each found before a run with a message naming the device and the likely cause.

Every function takes SI numbers and returns None (fine) or one sentence (the problem, the cause
and what is expected); :mod:`rfemu.scenario` cites the scenario line with it.

- :func:`thermal_noise_problem`: a neuron's thermal noise eta = k_B T / E0 (docs/physics.md#model-limits)
  above 1: its thermal energy exceeds its oscillation energy,
  the small-noise model does not hold and its integration diverges (measured on the quickstart
  chip: eta = 4 still runs, eta = 41 gives NaN amplitudes; eta = 1e20 at E0 = 1e-40 J);
- :func:`johnson_noise_problem`: a junction's Johnson noise sqrt(4 k_B T R B) above 1 V, where a
  tunnel barrier breaks down (the chains carry mV signals; at 1e20 K the event engine ran for
  minutes without end);
- :func:`reciprocal_problem`: a positive factor whose reciprocal overflows a float (an amplifier
  efficiency of 1e-320 made the energy per inference infinite);
- :func:`square_law_problem` (a warning, :class:`ModelValidityWarning`, once per device): a
  junction driven so hard that the square-law model's voltage ``K P`` exceeds the largest a
  junction can rectify;
- :func:`time_problem`: a run whose work, counted from below (integration steps times their
  measured cost), exceeds :func:`time_budget` (``$RFEMU_TIME_BUDGET``, default an hour):
  ``noise_duration: 10 s`` or ``locking_window: 10 s`` ran for hours without a word;
- :func:`memory_problem`: a run whose estimated memory exceeds :func:`memory_limit` (the
  machine's available memory, or ``$RFEMU_MEMORY_LIMIT``), refused before anything is allocated
  (``size: 1000000000`` asked for gigabytes and died in a MemoryError).

During a run (docs/physics.md#model-limits): the integrators are checked after each batch, in
vectorised numpy around the kernel calls, and a state that left the model's domain raises
:class:`Divergence` (one line: the device, the simulated time, the likely cause and the largest
stable step :func:`heun_stable_step` estimates):

- :func:`check_macrospin`: a magnetisation that is not finite, or one step of the integrator
  from the state reached moves ``|m|`` off 1 by more than :data:`NORM_TOLERANCE` (the kernel
  renormalises ``|m|`` after every step, so a step too large for the precession leaves ``|m| = 1``
  but turns ``m`` by a meaningless angle);
- :func:`check_oscillator`: a power ``p = |c|^2`` that is not finite or beyond
  :data:`RUNAWAY_POWER` (the physical bound is ``p <= 1``).

Training loops check their learned values once per epoch (backprop) or window (on-chip
learning) with :func:`first_nonfinite` and raise :class:`TrainingDivergence` (a
:class:`Divergence`: the layer's tuning states or bias voltages, the epoch or window, and
:func:`learning_rate_cause`: the learning rate to lower and a smaller one to try).
"""
from __future__ import annotations

import math
import os
import re
import sys
import warnings
from typing import Optional

import numpy as np

from rfemu.devices.oscillator import BOLTZMANN_CONSTANT

__all__ = ["MAX_NOISE_RATIO", "BREAKDOWN_VOLTAGE", "thermal_noise_problem", "johnson_noise_problem",
           "reciprocal_problem", "MEMORY_ENV", "JUNCTION_BYTES", "EVENT_JUNCTION_BYTES",
           "memory_limit", "memory_problem", "format_bytes", "Divergence", "TrainingDivergence",
           "first_nonfinite", "learning_rate_cause", "STABLE_STEP_FRACTION",
           "NORM_TOLERANCE", "SMALL_TURN", "RUNAWAY_POWER", "heun_stability_boundary", "heun_stable_step",
           "macrospin_rates", "oscillator_rates", "check_macrospin", "check_oscillator",
           "ModelValidityWarning", "validity_warning_line", "show_validity_warnings",
           "square_law_power", "square_law_problem", "warn_once",
           "TIME_ENV", "DEFAULT_TIME_BUDGET", "NOISY_STEP_SECONDS", "LOCKING_STEP_SECONDS",
           "time_budget", "time_problem", "TRACE_EMISSION_BYTES", "ARRAY_HEADER_BYTES",
           "trace_emissions", "event_trace_bytes"]

#: largest k_B T / E0 of the oscillator's small-noise model
MAX_NOISE_RATIO = 1.0
#: V, the order of magnitude at which an MgO tunnel barrier breaks down
BREAKDOWN_VOLTAGE = 1.0


def thermal_noise_problem(temperature: float, oscillation_energy: float,
                          device: str = "the neurons' (spin-torque oscillators')") -> Optional[str]:
    """Why a neuron's thermal noise eta = k_B T / E0 is out of the model's reach (or None)."""
    if temperature <= 0 or oscillation_energy <= 0:
        return None
    log_eta = math.log10(BOLTZMANN_CONSTANT) + math.log10(temperature) - math.log10(oscillation_energy)
    if log_eta <= math.log10(MAX_NOISE_RATIO):
        return None
    return (f"{device} thermal noise k_B T / E0 = {10 ** min(log_eta, 300):.3g} (T = {temperature:g} K, "
            f"E0 = {oscillation_energy:g} J): the thermal energy exceeds the oscillation energy, the "
            f"oscillator's small-noise model does not hold and its integration diverges (expected "
            f"k_B T / E0 <= {MAX_NOISE_RATIO:g}: oscillation_energy >= "
            f"{BOLTZMANN_CONSTANT * temperature / MAX_NOISE_RATIO:.3g} J, or a lower temperature)")


def johnson_noise_problem(temperature: float, resistance: float, bandwidth: float,
                          device: str = "the junctions'") -> Optional[str]:
    """Why the junctions' Johnson noise sqrt(4 k_B T R B) is beyond a real junction (or None)."""
    if temperature <= 0 or resistance <= 0 or bandwidth <= 0:
        return None
    log_v = 0.5 * (math.log10(4 * BOLTZMANN_CONSTANT) + math.log10(temperature) + math.log10(resistance)
                   + math.log10(bandwidth))
    if log_v <= math.log10(BREAKDOWN_VOLTAGE):
        return None
    t_max = BREAKDOWN_VOLTAGE ** 2 / (4 * BOLTZMANN_CONSTANT * resistance * bandwidth)
    return (f"{device} Johnson noise sqrt(4 k_B T R B) = {10 ** min(log_v, 300):.3g} V (T = {temperature:g} K, "
            f"R = {resistance:g} Ohm, B = {bandwidth:g} Hz): beyond the ~{BREAKDOWN_VOLTAGE:g} V at which "
            f"a tunnel barrier breaks down; it would swamp the chains' mV signals and the event "
            f"engine's noise steps run away (expected a noise temperature below {t_max:.3g} K for "
            f"this R and B)")


def reciprocal_problem(value: float, what: str, expected: str) -> Optional[str]:
    """Why dividing by ``value`` overflows a float (or None): ``value`` below 1 / (largest float)."""
    if value <= 0 or value * sys.float_info.max >= 1.0:
        return None
    return (f"{what} = {value:g} is so small that dividing by it overflows a float (the energy "
            f"account would be infinite); expected {expected}")


#: environment variable that sets the memory a run may take (bytes, or with a unit: "64 GB", "8GiB")
MEMORY_ENV = "RFEMU_MEMORY_LIMIT"
#: bytes per junction of the network graph and its compiled arrays (measured 2.9-3.0 kB with
#: build_graph + compile_graph on spin_mlp((2, S, 2)), S = 5,000 and 20,000)
JUNCTION_BYTES = 3000
#: bytes per junction the event engine adds (its agents; measured 1.46 kB, S = 5,000)
EVENT_JUNCTION_BYTES = 1500
_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12,
          "tb": 1e12, "kib": 2 ** 10, "mib": 2 ** 20, "gib": 2 ** 30, "tib": 2 ** 40}


def _available_memory() -> Optional[int]:
    """Bytes the machine can give a new allocation now: psutil if installed, else
    /proc/meminfo's MemAvailable, else None (unknown)."""
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except Exception:        # not installed, or no access to the system's figures
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def memory_limit() -> tuple[Optional[float], str]:
    """The memory a run may take, bytes, and where that figure comes from.

    ``$RFEMU_MEMORY_LIMIT`` (a number of bytes, or with a unit such as ``64 GB`` or ``8GiB``;
    ``none`` lifts the limit) wins; else the machine's available memory; else no limit (None).

    Raises
    ------
    ValueError
        If ``$RFEMU_MEMORY_LIMIT`` is set but is not a positive amount of bytes.
    """
    text = os.environ.get(MEMORY_ENV, "").strip()
    if text:
        if text.lower() in ("none", "off", "inf"):
            return None, f"${MEMORY_ENV}={text}"
        m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)", text)
        unit = m.group(2).lower() if m else None
        if m is None or unit not in _UNITS or not 0 < float(m.group(1)) * _UNITS[unit] < math.inf:
            raise ValueError(f"${MEMORY_ENV}={text!r} is not an amount of memory (expected bytes, "
                             "or a number with kB, MB, GB, TB, KiB, MiB, GiB or TiB, or none)")
        return float(m.group(1)) * _UNITS[unit], f"${MEMORY_ENV}"
    available = _available_memory()
    if available is None:
        return None, "unknown"
    return float(available), "the machine's available memory"


#: environment variable that sets the seconds a run's integrations may take ("none": no limit)
TIME_ENV = "RFEMU_TIME_BUDGET"
#: s, the default budget
DEFAULT_TIME_BUDGET = 3600.0
#: s per noisy neuron step of the event engine (two oscillator integrations, measured 165-200 us
#: each on the development machine: a lower bound)
NOISY_STEP_SECONDS = 1e-4
#: s per step of the phase-locking model (a vectorised numpy step, >= 10 us measured: lower bound)
LOCKING_STEP_SECONDS = 5e-6


def time_budget() -> tuple[Optional[float], str]:
    """Seconds a run's integrations may take and where that comes from (``$RFEMU_TIME_BUDGET``:
    seconds, ``none`` for no limit; default :data:`DEFAULT_TIME_BUDGET`).

    Raises
    ------
    ValueError
        If ``$RFEMU_TIME_BUDGET`` is set but is not a positive number of seconds or none.
    """
    text = os.environ.get(TIME_ENV, "").strip()
    if not text:
        return DEFAULT_TIME_BUDGET, "the default budget"
    if text.lower() in ("none", "off", "inf"):
        return None, f"${TIME_ENV}={text}"
    try:
        value = float(text.lower().rstrip("s").strip())
    except ValueError:
        value = float("nan")
    if not 0 < value < math.inf:
        raise ValueError(f"${TIME_ENV}={text!r} is not a time budget (expected seconds, e.g. 7200, "
                         "or none)")
    return value, f"${TIME_ENV}"


def time_problem(estimate_seconds: float, what: str) -> Optional[str]:
    """Why a run estimated (from below) to take ``estimate_seconds`` is refused, or None."""
    budget, source = time_budget()
    if budget is None or estimate_seconds <= budget:
        return None
    return (f"{what}: the run would take at least {estimate_seconds:.3g} s and {source} is "
            f"{budget:g} s (expected a shorter run; to run it anyway set {TIME_ENV}, e.g. "
            f"{TIME_ENV}={10 ** math.ceil(math.log10(estimate_seconds)):.0f} or none)")


def format_bytes(n: float) -> str:
    """``n`` bytes in kB/MB/GB/TB (powers of 1000), 3 significant figures."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def memory_problem(estimate: float, what: str, remedy: str = "a smaller run") -> Optional[str]:
    """Why a run estimated to need ``estimate`` bytes (mostly for ``what``) cannot start here,
    or None when it fits under :func:`memory_limit`; ``remedy`` says what makes it smaller."""
    limit, source = memory_limit()
    if limit is None or estimate <= limit:
        return None
    return (f"{what}: the run needs about {format_bytes(estimate)} of memory, more than {source} = "
            f"{format_bytes(limit)} (expected {remedy}; or raise the limit if the machine has the "
            f"memory: {MEMORY_ENV}='{format_bytes(10 ** math.ceil(math.log10(estimate)))}' or none)")


#: bytes of one neuron emission the event engine's tracer keeps during the run (a list entry
#: holding a tuple of the time, chain, power and frequency: measured 205-215 B)
TRACE_EMISSION_BYTES = 220
#: bytes of a numpy array's header (the tracer copies one array per recorded row)
ARRAY_HEADER_BYTES = 112


def trace_emissions(emission_tolerance: float, frequency_swing: float = 0.0,
                    frequency_tolerance: float = 1.0) -> float:
    """Emissions of one event-engine neuron per inference, counted from above.

    A neuron re-emits when its power moved by ``emission_tolerance`` of its largest output power,
    or its frequency by ``frequency_tolerance`` of itself (:class:`rfemu.engines.event.EventConfig`):
    relaxing across its whole power range and its whole relative frequency swing (an f(I)
    neuron: ``|N| / w0``) it emits ``1 / emission_tolerance + frequency_swing /
    frequency_tolerance`` times, plus its first and its settled emission. Measured: 9 emissions
    per neuron and inference with inputs alternating between 0 and 1 (22 counted at the default
    5 %), 5 with random inputs, 2 with noise on (tests/scenario/test_memory_estimate.py).
    """
    return 1.0 / emission_tolerance + frequency_swing / frequency_tolerance + 2.0


def event_trace_bytes(samples: int, tones, chains, emissions, variables, causal: bool = False) -> float:
    """Bytes the event engine's time traces of ``samples`` inferences take (recorded, then turned
    into arrays: :class:`rfemu.engines.event.Tracer`), estimated from above.

    Parameters
    ----------
    samples : int
    tones, chains : sequence of int
        Per layer, the tones on its line and its chains.
    emissions : sequence of float
        Per hidden layer, each neuron's emissions per inference (:func:`trace_emissions`).
    variables : collection of str
        The recorded variables (``tones``, ``chains``, ``neurons``, ``junctions``).
    causal : bool
        One line delivery per emission (``causal_delivery``); else the emissions of a layer that
        answers one input change arrive in about as many deliveries as one neuron emits.

    Each neuron emission is a row of every neuron's power and frequency (sample-and-hold): its
    record, two row copies and the final two arrays, ``220 + 2 x 112 + 32 n`` bytes for ``n``
    neurons, so a layer's traces grow as ``samples x emissions x n^2``. Each line delivery keeps the
    tones (three arrays of ``m``) and the chain voltages, twice (record and array).
    """
    total = 0.0
    for l, (m, n) in enumerate(zip(tones, chains)):
        if l == 0:
            deliveries = 2.0 * samples                 # the inputs change once per inference
        else:
            deliveries = samples * float(emissions[l - 1]) * (float(chains[l - 1]) if causal else 1.0) + samples
        row = 0.0
        if "tones" in variables:
            row += 3 * (ARRAY_HEADER_BYTES + 16.0 * m)
        if "chains" in variables:
            row += ARRAY_HEADER_BYTES + 16.0 * n
        total += deliveries * row
        if l < len(chains) - 1 and "neurons" in variables:
            rows = float(samples) * n * float(emissions[l])
            total += rows * (TRACE_EMISSION_BYTES + 2 * ARRAY_HEADER_BYTES + 32.0 * n + 32)
        if "junctions" in variables:
            total += 4 * 8.0 * n * m                   # the state at 0 and at the end, twice
    return total


# --------------------------------------------------------------------------------------------
# Divergence during a run (docs/physics.md#model-limits)
# --------------------------------------------------------------------------------------------

#: the stable step quoted is this fraction of Heun's stability boundary (margin for the
#: nonlinear terms and the noise)
STABLE_STEP_FRACTION = 0.5
#: largest departure of |m| from 1 in one macrospin step from a state reached (a step at a
#: tenth of Heun's stability boundary moves |m| by ~1e-8; a diverged run by 1e-2 or more)
NORM_TOLERANCE = 1e-3
#: a macrospin step that turns m by at most this (rad) anywhere on the sphere needs no probe
SMALL_TURN = 0.05
#: normalised oscillator power p = |c|^2 taken as a runaway: p <= 1 deterministically (the
#: spin-torque gain sigma I (1 - p) vanishes at p = 1) and thermal excursions beyond it fall off
#: as exp(-p / eta) with eta <= 1 (rfemu.devices.limits.thermal_noise_problem)
RUNAWAY_POWER = 100.0


class Divergence(RuntimeError):
    """A simulation that left its model's domain during a run.

    ``str()`` is one line naming the device, the simulated time and the likely cause, with the
    largest stable time step when a step is the cause.

    Attributes
    ----------
    device : str
    time : float, s of simulated time (the end of the batch in which the state was found, or
        the first traced sample that shows it)
    cause : str
    stable_step : float or None, s
    """

    def __init__(self, device: str, time: float, cause: str, stable_step: Optional[float] = None):
        self.device, self.time, self.cause, self.stable_step = device, float(time), cause, stable_step
        # the fields are the args: simpy re-raises a process's exception as type(e)(*e.args)
        super().__init__(device, self.time, cause, stable_step)

    def __str__(self) -> str:
        return self.line()

    def line(self) -> str:
        text = f"{self.device} diverged at t = {self.time:.4g} s: {self.cause}"
        if self.stable_step is not None:
            text += f"; the largest stable time step is about {self.stable_step:.3g} s"
        return text

    def at(self, device: str, time: float, advice: str = "") -> "Divergence":
        """The same divergence told of ``device`` at simulated ``time`` (an engine's names and
        clock), with ``advice`` (what to change) after the cause."""
        return Divergence(device, time, self.cause + (f" ({advice})" if advice else ""), self.stable_step)


class TrainingDivergence(Divergence):
    """A training loop whose learned values became non-finite (infinite or NaN).

    ``str()`` is one line: what went non-finite (a layer's tuning states or bias voltages, the
    score scale, the loss), when (the epoch or window) and the likely cause with what to change.
    :mod:`rfemu.cli` prints it as ``<scenario>: (run): <line>`` (exit 2), as any
    :class:`Divergence`. ``time`` is the training step (epoch or window) it was found after.
    """

    def __init__(self, what: str, when: str, cause: str, step: int = 0):
        self.what, self.when = what, when
        self.device, self.time, self.cause, self.stable_step = what, float(step), cause, None
        RuntimeError.__init__(self, what, when, cause, step)

    def line(self) -> str:
        return f"{self.what} became non-finite in {self.when}: {self.cause}"

    def at(self, device: str, time: float, advice: str = "") -> "TrainingDivergence":
        return TrainingDivergence(device, self.when, self.cause + (f" ({advice})" if advice else ""), int(time))


def first_nonfinite(named_arrays) -> Optional[tuple[str, int, int]]:
    """The first ``(name, array)`` pair whose array holds a non-finite value, as ``(name, number
    of non-finite values, size)``, or None. One vectorised ``np.isfinite`` per array."""
    for name, values in named_arrays:
        finite = np.isfinite(values)
        if not finite.all():
            return name, int(finite.size - np.count_nonzero(finite)), int(finite.size)
    return None


def learning_rate_cause(key: str, value: float, unit: str = "", default: Optional[float] = None) -> str:
    """The likely cause of a training divergence: the learning rate ``key`` too large, with a
    smaller value to try (a tenth of it, or the default when that is smaller)."""
    smaller = value / 10 if default is None or not 0 < default < value / 10 else default
    unit = f" {unit}" if unit and unit != "-" else ""
    return (f"the likely cause is a learning rate too large: {key} = {value:.3g}{unit} (try "
            f"{smaller:.3g}{unit} or smaller)")


def heun_stability_boundary(decay_rate, rotation_rate):
    """Largest step h of Heun's method (explicit trapezoid) on dy/dt = (-a + i b) y that does not
    grow: the first positive root of |1 + z + z^2 / 2|^2 = 1, z = h (-a + i b).

    Expanding, |R|^2 - 1 = h [-2a + 2a^2 h - a (a^2 + b^2) h^2 + (a^2 + b^2)^2 h^3 / 4]: on the
    real axis (b = 0) h = 2 / a; for weak damping (a << b) h ~ 2 (a / b)^(1/3) / b, and h -> 0
    without damping (Heun slowly amplifies an undamped rotation). Vectorised; s when the rates
    are in 1/s.
    """
    a = np.maximum(np.asarray(decay_rate, float), 1e-12 * np.abs(np.asarray(rotation_rate, float)))
    b = np.abs(np.asarray(rotation_rate, float))
    w2 = a * a + b * b
    a, b, w2 = np.broadcast_arrays(a, b, w2)
    scale = 1.0 / np.sqrt(np.where(w2 > 0, w2, 1.0))

    def g(h):
        return -2 * a + 2 * a * a * h - a * w2 * h * h + w2 * w2 * h ** 3 / 4

    # scan x = h |w| upwards for the first sign change (Heun's stability region lies inside
    # |z| < 2.2: x = 4 is beyond it in every direction)
    grid = np.geomspace(1e-6, 4.0, 600)
    values = np.stack([g(x * scale) for x in grid])
    first = np.argmax(values >= 0, axis=0)
    low, high = np.where(first > 0, grid[first - 1], 0.0) * scale, grid[first] * scale
    for _ in range(60):                      # bisection to machine precision
        mid = 0.5 * (low + high)
        up = g(mid) >= 0
        low, high = np.where(up, low, mid), np.where(up, mid, high)
    return np.where(w2 > 0, low, np.inf)


def heun_stable_step(decay_rate, rotation_rate):
    """:data:`STABLE_STEP_FRACTION` of :func:`heun_stability_boundary`, s."""
    return STABLE_STEP_FRACTION * heun_stability_boundary(decay_rate, rotation_rate)


def macrospin_rates(table):
    """(decay, rotation) rates, 1/s, bounding a macrospin's linearised Heun step per junction of
    the parameter table (rfemu.devices.llgs.parameter_table).

    The precession rate anywhere on the sphere is at most gamma' mu0 |H| with |H| <= |H_app| +
    H_k + |M_eff| + (1 + |beta|) |a_J| I_peak + |h_oe| I_peak (I_peak = |I_dc| + |I_rf|, the spin
    torque counted as a field); the Gilbert damping takes alpha of it."""
    from rfemu.devices import llgs
    t = np.atleast_2d(np.asarray(table, float))
    alpha = t[:, llgs.COL_DAMPING]
    current = np.abs(t[:, llgs.COL_DC_CURRENT]) + np.abs(t[:, llgs.COL_RF_CURRENT])
    field = (np.linalg.norm(t[:, llgs.COL_APPLIED_FIELD:llgs.COL_APPLIED_FIELD + 3], axis=1)
             + np.abs(t[:, llgs.COL_ANISOTROPY_FIELD]) + np.abs(t[:, llgs.COL_EFFECTIVE_MAGNETISATION])
             + (1 + np.abs(t[:, llgs.COL_FIELD_LIKE_RATIO])) * np.abs(t[:, llgs.COL_SPIN_TORQUE]) * current
             + np.linalg.norm(t[:, llgs.COL_OERSTED:llgs.COL_OERSTED + 3], axis=1) * current)
    rotation = llgs.GYROMAGNETIC_RATIO * llgs.VACUUM_PERMEABILITY / (1 + alpha ** 2) * field
    return alpha * rotation, rotation


def _turn_bound(table) -> float:
    """An upper bound of :func:`macrospin_rates`' rotation over the batch, 1/s, in a few array
    operations (|H_app| bounded by the sum of its components' magnitudes)."""
    from rfemu.devices import llgs
    a = np.abs(table)
    current = a[:, llgs.COL_DC_CURRENT] + a[:, llgs.COL_RF_CURRENT]
    columns = [llgs.COL_APPLIED_FIELD, llgs.COL_APPLIED_FIELD + 1, llgs.COL_APPLIED_FIELD + 2,
               llgs.COL_ANISOTROPY_FIELD, llgs.COL_EFFECTIVE_MAGNETISATION]
    field = (a[:, columns].sum(axis=1)
             + ((1 + a[:, llgs.COL_FIELD_LIKE_RATIO]) * a[:, llgs.COL_SPIN_TORQUE]
                + a[:, llgs.COL_OERSTED:llgs.COL_OERSTED + 3].sum(axis=1)) * current)
    return float(llgs.GYROMAGNETIC_RATIO * llgs.VACUUM_PERMEABILITY * field.max()) if len(field) else 0.0


def _one_step_norm(table, m, dt, time):
    """|1 - |m'|| after one deterministic Heun step of ``dt`` from ``m`` (N, 3) (no thermal
    field, the drive at ``time``), before the renormalisation."""
    from rfemu.devices import llgs
    c = llgs._Columns(table)
    mm = np.asarray(m, float).T
    current = c.idc + c.irf * np.cos(c.w * time)
    zero = np.zeros_like(mm)
    k1 = llgs._rhs(mm, current, zero, c) * dt
    k2 = llgs._rhs(mm + k1, current, zero, c) * dt
    return np.abs(np.linalg.norm(mm + 0.5 * (k1 + k2), axis=0) - 1.0)


def check_macrospin(table, m, voltage, trace, trace_every: int, dt: float, n_steps: int) -> None:
    """Raise :class:`Divergence` for the first junction whose integration ran away.

    Parameters
    ----------
    table : (N, n_columns) parameter table of the batch (rfemu.devices.llgs.parameter_table)
    m : (N, 3) final magnetisation; voltage : (N,) rectified voltage
    trace : (N, K, 3) or None, m every ``trace_every`` steps from t = 0
    dt : the step, s; n_steps : steps taken
    """
    from rfemu.devices.llgs import COL_DAMPING
    t_end = n_steps * dt
    if np.isfinite(m).all() and np.isfinite(voltage).all() and _turn_bound(table) * dt <= SMALL_TURN:
        return                      # the usual case: |m| moves by < SMALL_TURN^4 / 8 per step
    finite = np.isfinite(m).all(axis=1) & np.isfinite(voltage)
    with np.errstate(all="ignore"):
        off = np.where(finite, _one_step_norm(table, np.where(finite[:, None], m, 1.0), dt, t_end), np.inf)
    bad = ~(off <= NORM_TOLERANCE)
    if not bad.any():
        return
    j = int(np.argmax(bad))
    decay, rotation = macrospin_rates(table[j:j + 1])
    stable = float(heun_stable_step(decay, rotation)[0])
    time = t_end
    if trace is not None and trace.shape[1] > 1:
        # the first traced state (after t = 0: the initial state is the caller's) that shows it
        rows = np.repeat(table[j:j + 1], trace.shape[1] - 1, axis=0)
        sample_times = np.arange(1, trace.shape[1]) * trace_every * dt
        with np.errstate(all="ignore"):
            ok = np.isfinite(trace[j, 1:]).all(axis=1)
            off_k = _one_step_norm(rows, np.where(ok[:, None], trace[j, 1:], 1.0), dt, sample_times)
        seen = ~ok | ~(off_k <= NORM_TOLERANCE)
        if seen.any():
            time = float(sample_times[int(np.argmax(seen))])
    what = ("its magnetisation or rectified voltage is not finite" if not finite[j] else
            f"one integration step moves |m| off 1 by {off[j]:.2g} (the integrator renormalises "
            f"|m| after each step, so m turns by a meaningless angle)")
    cause = (f"{what}; the step dt = {dt:.3g} s is too large for precession up to "
             f"{rotation[0] / (2 * math.pi):.3g} Hz with damping {table[j, COL_DAMPING]:.3g}"
             if dt > stable else f"{what} although dt = {dt:.3g} s is within the stable step: "
             "check the junction's fields and currents")
    raise Divergence(f"macrospin junction {j}", time, cause, stable)


def oscillator_rates(damping_rate, nonlinear_damping, nonlinear_frequency_shift, xi, peak_power=1.0):
    """(decay, rotation) rates, 1/s, bounding the linearised oscillator equation (docs/physics.md
    #oscillator-dynamics) in the rotating frame for powers up to ``peak_power``: the amplitude
    relaxes at most at G_G (1 + 3 Q p + |xi| (1 + 2 p)) (the derivative of
    (G+(p) - G-(p)) c along c) and turns at most at 3 |N| p."""
    p = np.maximum(np.asarray(peak_power, float), 1.0)
    g = np.asarray(damping_rate, float)
    decay = g * (1 + 3 * np.abs(nonlinear_damping) * p + np.abs(xi) * (1 + 2 * p))
    return decay, 3 * np.abs(nonlinear_frequency_shift) * p


def check_oscillator(power, trace_power, trace_time, t_end: float, dt: float, params, current,
                     initial_state) -> None:
    """Raise :class:`Divergence` for the first oscillator whose power p = |c|^2 is not finite or
    beyond :data:`RUNAWAY_POWER` (one comparison per device when nothing is wrong).

    Parameters
    ----------
    power : (n,) final p; trace_power : (n, K) (size 0: no trace); trace_time : (K,) s
    t_end : s, the end of the batch; dt : the step, s
    params : OscillatorParameters (scalar or per device); current : (n,) A; initial_state : (n,) c(0)
    """
    bad = ~(power <= RUNAWAY_POWER)
    if not bad.any():
        return
    n = power.shape[0]
    j = int(np.argmax(bad))

    def at_j(x):
        return float(np.broadcast_to(np.asarray(x, float), (n,))[j])
    peak = max(1.0, float(np.abs(np.broadcast_to(initial_state, (n,))[j]) ** 2))
    xi = at_j(current) / at_j(params.threshold_current)
    decay, rotation = oscillator_rates(at_j(params.damping_rate), at_j(params.nonlinear_damping),
                                       at_j(params.nonlinear_frequency_shift), xi, peak)
    stable = float(heun_stable_step(decay, rotation))
    t = t_end
    if trace_power.size:
        seen = ~(trace_power[j] <= RUNAWAY_POWER)
        if seen.any():
            t = float(trace_time[int(np.argmax(seen))])
    p = float(power[j])
    what = (f"its power p = |c|^2 is {'not finite' if not math.isfinite(p) else f'{p:.3g}'}, "
            f"beyond the physical bound p <= 1 (runaway above {RUNAWAY_POWER:g})")
    cause = (f"{what}; the step dt = {dt:.3g} s is too large for its relaxation (up to "
             f"{float(decay):.3g} /s) and frequency shift (up to {float(rotation):.3g} rad/s)"
             if dt > stable else
             f"{what} although dt = {dt:.3g} s is within the stable step: check the oscillator's "
             "parameters (noise ratio k_B T / E0, current, injection)")
    raise Divergence(f"oscillator {j}", t, cause, stable)


# --------------------------------------------------------------------------------------------
# Validity of the models (warnings, once per device)
# --------------------------------------------------------------------------------------------

class ModelValidityWarning(UserWarning):
    """A parameter outside the range where a device model holds (the run goes on)."""


_WARNED: set = set()


def warn_once(device: str, message: str, filename: str = "<rfemu>", lineno: int = 0) -> bool:
    """Warn (:class:`ModelValidityWarning`, at ``filename:lineno``) the first time this device
    gets this message in the process; True when it warned."""
    key = (device, message)
    if key in _WARNED:
        return False
    _WARNED.add(key)
    warnings.warn_explicit(message, ModelValidityWarning, filename, lineno, module="rfemu")
    return True


def validity_warning_line(message, filename: str, lineno: int) -> str:
    """The one line a :class:`ModelValidityWarning` is shown as: ``FILE:LINE: ...``, or
    ``--set KEY=VALUE: ...`` (no line) when a command-line override set the value."""
    where = f"{filename}:{lineno}" if lineno else str(filename)
    return f"{where}: {ModelValidityWarning.__name__}: {message}"


def show_validity_warnings(show):
    """A ``warnings.showwarning`` that prints :class:`ModelValidityWarning` as
    :func:`validity_warning_line` and passes every other warning to ``show``."""
    def showwarning(message, category, filename, lineno, file=None, line=None):
        if isinstance(category, type) and issubclass(category, ModelValidityWarning):
            print(validity_warning_line(message, filename, lineno), file=file or sys.stderr)
        else:
            show(message, category, filename, lineno, file, line)
    return showwarning


def square_law_power(sensitivity: float, resistance: float, tmr: float) -> float:
    """W, the tone power above which the square-law spin diode's V = K P exceeds what a junction
    can rectify.

    V_dc = <I(t) R(m(t))> with I = I_rf cos(w t) and R = R (1 + TMR (1 - m.p) / 2): only
    -(TMR R / 2) <I_rf cos(w t) m.p> rectifies, at most TMR R I_rf / pi (m.p = -sign cos). With
    P = I_rf^2 R / 2, K P <= TMR R I_rf / pi holds for P <= 2 TMR^2 R / (pi^2 K^2) (2.6 uW for
    the defaults K = 8.8 mV/uW, R = 1 kOhm, TMR = 100 %).
    """
    with np.errstate(all="ignore"):      # extreme values give inf or 0, not an OverflowError
        return float(2.0 * np.float64(tmr) ** 2 * resistance / (math.pi ** 2 * np.float64(sensitivity) ** 2))


def square_law_problem(tone_power: float, sensitivity: float, resistance: float, tmr: float,
                       device: str = "the junctions") -> Optional[str]:
    """Why tones of ``tone_power`` drive ``device`` beyond the square-law model (or None)."""
    if tone_power <= 0 or sensitivity <= 0 or resistance <= 0 or tmr <= 0:
        return None
    limit = square_law_power(sensitivity, resistance, tmr)
    if not tone_power > limit:
        return None
    current = math.sqrt(2.0 * tone_power / resistance)
    if not math.isfinite(sensitivity * tone_power * tmr * resistance * current):
        return None               # beyond the floats: refused as values (the run's own checks)
    return (f"{device} get tones of up to {tone_power:.3g} W, beyond the square-law spin-diode "
            f"model: its K P = {sensitivity * tone_power:.3g} V exceeds the largest voltage a "
            f"junction can rectify, TMR R I_rf / pi = {tmr * resistance * current / math.pi:.3g} V "
            f"(the model holds well below {limit:.3g} W: lower the power or the sensitivity)")
