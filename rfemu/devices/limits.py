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
  efficiency of 1e-320 made the energy per inference infinite).
"""
from __future__ import annotations

import math
import sys
from typing import Optional

from rfemu.devices.oscillator import BOLTZMANN_CONSTANT

__all__ = ["MAX_NOISE_RATIO", "BREAKDOWN_VOLTAGE", "thermal_noise_problem", "johnson_noise_problem",
           "reciprocal_problem"]

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
