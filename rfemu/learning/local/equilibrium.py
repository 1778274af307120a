"""Does equilibrium propagation apply to this hardware? What was measured, and why it does not.

Equilibrium propagation (Scellier and Bengio, Front. Comput. Neurosci. 11, 24 (2017)) needs a
state s that relaxes to a minimum of an energy E(s; theta) whose parameters theta are the trained
ones, and whose outputs are part of s, so that nudging the outputs moves the whole state.

What rfemu's hardware has (``docs/physics.md#injection-locking``): the tones of one line pull
each other's phases (:class:`rfemu.medium.PhaseLocking`),

    dphi_i/dt = omega_i + sum_j 2 pi c sqrt(P_j / P_i) sin(phi_j - phi_i).

Multiplied by P_i this is a gradient flow, ``P_i dphi_i/dt = -dE/dphi_i``, of the XY energy

    E(phi) = - sum_i P_i omega_i phi_i - sum_(i<j) 2 pi c sqrt(P_i P_j) cos(phi_i - phi_j)

(:func:`phase_energy`), so ``dE/dt = -sum_i P_i (dphi_i/dt)^2 <= 0``. Measured on five
oscillators at 1 GHz (detunings 0.3 MHz rms, c = 1 MHz, equal powers) from random phases,
4,000 steps of 10 ps: E falls at every step, and its fall equals the integrated dissipation to
1.6e-9 relative (tests/learning/test_local_equilibrium.py). The first premise of EP holds for
the phases.

Why EP still cannot train the junctions:

1. the trained parameters do not enter E: the couplings are set by the line (c) and the tones'
   powers, not by the junctions' resonances f_r, so ``dE/df_r = 0`` in the free and in the
   nudged phase alike and EP's update ``(dE/df_r(s_beta) - dE/df_r(s_0)) / beta`` is zero;
2. the computation is phase-blind: a junction rectifies each tone's power through its line
   shape, V = sum_t P_t W(f_t - f_r) (time-averaged cross terms of tones at different
   frequencies vanish), so the equilibrium phases do not reach the chain voltages, and nudging
   the outputs (a readout) has no path back to the phases;
3. the coupling is within a line: the phases of line l + 1 (a layer's neurons) do not act on
   line l, so a nudge at the outputs cannot move an earlier layer's state (EP needs the
   symmetric, bidirectional coupling of an energy-based network).

The closest rule that applies is a two-phase contrastive one whose second phase is produced
locally rather than by relaxation: the perturbative rule
(:class:`rfemu.learning.local.rules.PerturbativeRule`, dither off / dither on as the phase flag,
the cost change broadcast), which is built and tested. Making EP apply would take a junction
whose coupling to the phase dynamics depends on its resonance (e.g. a resonator that loads the
line and so sets c_ij between two oscillators near its frequency) and a readout that feeds back
onto the line; neither is in the device models.
"""
from __future__ import annotations

import numpy as np

from rfemu.medium import PhaseLocking

__all__ = ["phase_energy", "phase_dissipation"]


def phase_energy(locking: PhaseLocking, phase=None) -> float:
    """E(phi) of a :class:`~rfemu.medium.PhaseLocking` (in its rotating frame; W, i.e. J/s x rad).

    The coupling sum runs over the locking's coupled pairs (each unordered pair counted once when
    both directions are coupled, as with equal powers).
    """
    phi = locking.phase if phase is None else np.asarray(phase, dtype=float)
    p = locking.power
    linear = -float(np.sum(p * locking._omega * phi))
    i, j = locking.driven, locking.driver
    pair = p[i] * locking._k * np.cos(phi[i] - phi[j])      # P_i k_ij = 2 pi c sqrt(P_i P_j)
    return linear - 0.5 * float(pair.sum())


def phase_dissipation(locking: PhaseLocking, phase=None) -> float:
    """sum_i P_i (dphi_i/dt)^2 at ``phase`` (W rad / s): minus dE/dt along the dynamics."""
    phi = locking.phase if phase is None else np.asarray(phase, dtype=float)
    rate = locking._rate(phi)
    return float(np.sum(locking.power * rate * rate))
