"""Settings and results of an event run (SI units)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["EventConfig", "InferenceResult", "EventRunResult"]


@dataclass(frozen=True)
class EventConfig:
    """Settings of an event run (SI units).

    Parameters
    ----------
    noise : bool
        Thermal noise on: the chains' Johnson noise floor and the neurons' stochastic dynamics.
    temperature : float
        K, noise temperature of the junctions' Johnson noise.
    readout_bandwidth : float
        Hz, bandwidth over which the chain voltages are read (the noise floor's B); with noise on
        a reading is the mean over the last 1 / B of an inference, after its settling time
        (:meth:`EventEngine.settling_time`).
    junction_resistance : float
        Ohm, resistance of each junction (noise floor, energy).
    line_delay : float
        s, propagation delay from an emitter to the junctions of its line.
    diode_response : bool
        Add each line's spin-diode response time ``1 / (2 pi min half width)`` to its delay.
    emission_tolerance : float
        A neuron re-emits when its output power moved by more than this fraction of its
        ``max_output_power`` since its last emission.
    frequency_tolerance : float
        ... or its frequency moved by more than this fraction of itself.
    settle_tolerance : float
        A neuron is settled (emits its exact static value, then sleeps) when its power is within
        this fraction of ``max_output_power`` (and its frequency within this fraction of itself).
    voltage_tolerance : float
        V: a chain wakes its consumer only if its voltage moved by more than this.
    latency_tolerance : float
        Output settled: within this fraction of the output's final value range (relative to the
        largest output magnitude) of its final value.
    min_relaxation_fraction : float
        Floor of the neuron relaxation rate as a fraction of ``2 G_G`` (critical slowing down at
        threshold is cut there).
    noise_duration : float or None
        s, how long an inference runs with noise on (noise never settles). None: the sum of the
        line delays plus 30 of the slowest neurons' linear damping times ``1 / (2 G_G)``.
    noise_step_fraction : float
        With noise on, a neuron integrates in steps of this fraction of its relaxation time, or
        of its output line's delay (junction response included) if that is longer.
    noise_integration_fraction : float
        With noise on, the oscillator integrator's time step between two of a neuron's events, as
        a fraction of ``1 / (G_G (|xi| + Q + 1) + |N|)`` (docs/physics.md#model-limits: the
        largest stable fraction is about 1/3, 15 times the default; a divergence names it).
    causal_delivery : bool
        Every tone change reaches the junctions exactly one line delay after it was sent (one
        delivery per arrival). Off (default), a line's delivery reads every change sent while it
        was pending, so a change can arrive up to one delay early: settling times come out short
        when a line's delay is long against the neurons' emission interval (the spin-diode
        response of slow junctions), by 0.1 % on the trained drone network and 18-31 % on small
        f(I) networks; on, the drone network takes about 8 times more events.
    locking_coupling : float or None
        Hz: enable frequency pulling / injection locking of the oscillators' tones on each line
        (:class:`rfemu.medium.PhaseLocking`); None disables it.
    locking_window : float
        s, integration window of the phase model whose mean frequencies become the tones.
    n_threads : int
        Threads of the kernel calls.
    """

    noise: bool = field(default=False, metadata={
        "section": "medium",
        "help": "Event engine: the junctions' Johnson noise on the chain voltages and the neurons'"
                " thermal dynamics."})
    temperature: float = field(default=300.0, metadata={
        "unit": "K", "ge": 0, "section": "medium",
        "help": "Noise temperature of the junctions' Johnson noise."})
    readout_bandwidth: float = field(default=1e6, metadata={
        "unit": "Hz", "gt": 0, "section": "medium",
        "help": "Bandwidth B over which chain voltages are read (noise floor sqrt(4 k_B T R B))."})
    junction_resistance: float = field(default=1e3, metadata={
        "unit": "Ohm", "gt": 0, "section": "medium",
        "help": "Resistance of each junction (noise floor)."})
    line_delay: float = field(default=1e-10, metadata={
        "unit": "s", "ge": 0, "section": "medium",
        "help": "Propagation delay from an emitter to the junctions of its line."})
    diode_response: bool = field(default=True, metadata={
        "help": "Add each line's spin-diode response time 1 / (2 pi min half width) to its delay."})
    emission_tolerance: float = field(default=0.05, metadata={
        "unit": "", "gt": 0,
        "help": "A neuron re-emits when its power moved by more than this fraction of "
                "max_output_power."})
    frequency_tolerance: float = field(default=1e-4, metadata={
        "unit": "", "gt": 0,
        "help": "... or its frequency by more than this fraction of itself."})
    settle_tolerance: float = field(default=1e-10, metadata={
        "unit": "", "gt": 0,
        "help": "A neuron within this fraction of its steady state emits its exact value and "
                "sleeps."})
    voltage_tolerance: float = field(default=1e-12, metadata={
        "unit": "V", "ge": 0,
        "help": "A chain wakes its consumer only if its voltage moved by more than this."})
    latency_tolerance: float = field(default=1e-3, metadata={
        "unit": "", "gt": 0,
        "help": "Output settled: within this fraction of the largest output of its final value."})
    min_relaxation_fraction: float = field(default=0.02, metadata={
        "unit": "", "gt": 0,
        "help": "Floor of a neuron's relaxation rate, as a fraction of 2 G_G (critical slowing "
                "down)."})
    noise_duration: float | None = field(default=None, metadata={
        "unit": "s", "gt": 0, "scenario_default": 2e-06,
        "help": "With medium.noise: how long each inference runs (noise never settles)."})
    noise_step_fraction: float = field(default=0.25, metadata={
        "unit": "", "gt": 0,
        "help": "With noise, a neuron integrates in steps of this fraction of its relaxation time."})
    noise_integration_fraction: float = field(default=0.02, metadata={
        "scenario": False,
        "help": "With noise, the oscillator integration step as a fraction of 1 / (G_G (|xi| + Q + 1) + |N|)."})
    causal_delivery: bool = field(default=False, metadata={
        "scenario": False,
        "help": "Every tone change reaches the junctions exactly one line delay after it was sent."})
    locking_coupling: float | None = field(default=None, metadata={
        "unit": "Hz", "ge": 0, "section": "medium", "scenario_default": 1000000.0, "enabled_by": "injection_locking",
        "help": "Locking range ~ locking_coupling * sqrt(P_inj / P)."})
    locking_window: float = field(default=2e-6, metadata={
        "unit": "s", "gt": 0, "section": "medium",
        "help": "Integration window of the phase model whose mean frequencies become the tones."})
    n_threads: int = field(default=1, metadata={
        "ge": 1, "section": "engine", "scenario_default": None,
        "help": "Kernel threads (null: every core; results do not depend on it)."})

    def __post_init__(self):
        for name in ("temperature", "readout_bandwidth", "junction_resistance", "line_delay",
                     "voltage_tolerance", "locking_window"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"EventConfig.{name} must be finite and >= 0, got {v!r}")
        for name in ("emission_tolerance", "frequency_tolerance", "settle_tolerance",
                     "latency_tolerance", "min_relaxation_fraction", "noise_step_fraction",
                     "noise_integration_fraction"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"EventConfig.{name} must be finite and > 0, got {v!r}")
        if self.noise_duration is not None and not (math.isfinite(self.noise_duration) and self.noise_duration > 0):
            raise ValueError(f"EventConfig.noise_duration must be > 0 s or None, got {self.noise_duration!r}")
        if self.locking_coupling is not None and not (self.locking_coupling >= 0):
            raise ValueError(f"EventConfig.locking_coupling must be >= 0 Hz or None, got {self.locking_coupling!r}")
        if int(self.n_threads) != self.n_threads or self.n_threads < 1:
            raise ValueError(f"EventConfig.n_threads must be an integer >= 1, got {self.n_threads!r}")


@dataclass
class InferenceResult:
    """One inference: ``outputs`` (K,) V (output chain voltage + bias), ``latency`` s (input applied
    to outputs settled), ``energy`` J by device kind, ``n_events`` simpy events processed,
    ``wall_time`` s, ``t_start``/``t_end`` s of physical time, ``cpu_time`` s (this process's CPU
    time processing the events)."""

    outputs: np.ndarray
    latency: float
    energy: dict
    n_events: int
    wall_time: float
    t_start: float
    t_end: float
    cpu_time: float = 0.0


@dataclass
class EventRunResult:
    """Many inferences: ``outputs`` (N, K) V, ``latency`` (N,) s, ``energy`` {kind: (N,) J},
    ``n_events`` (N,), ``wall_time`` (N,) s; ``predictions`` is the argmax of the outputs."""

    outputs: np.ndarray
    latency: np.ndarray
    energy: dict
    n_events: np.ndarray
    wall_time: np.ndarray
    items: list = field(default_factory=list, repr=False)

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.outputs, axis=1)

    def accuracy(self, labels) -> float:
        return float(np.mean(self.predictions == np.asarray(labels)))
