"""The phase dynamics of injection locking descend an energy (the premise of equilibrium
propagation), measured: E falls at every step and its fall is the dissipation sum P (dphi/dt)^2.
Why EP still cannot train the junctions is in rfemu.learning.local.equilibrium."""
import numpy as np

from rfemu.learning.local.equilibrium import phase_dissipation, phase_energy
from rfemu.medium import PhaseLocking


def test_locking_is_a_gradient_flow_of_the_xy_energy():
    rng = np.random.default_rng(0)
    locking = PhaseLocking(1e9 + rng.normal(0.0, 0.3e6, 5), np.full(5, 1e-6), coupling=1e6)
    assert locking.n_pairs == 20                                        # every pair, both ways
    locking.phase = rng.uniform(0.0, 2 * np.pi, 5)
    dt = 1e-11
    energy, dissipation = [phase_energy(locking)], [phase_dissipation(locking)]
    for _ in range(4000):
        locking.run(dt, dt)
        energy.append(phase_energy(locking))
        dissipation.append(phase_dissipation(locking))
    energy, dissipation = np.array(energy), np.array(dissipation)
    assert np.all(np.diff(energy) < 0)
    fall = energy[0] - energy[-1]
    dissipated = np.sum(0.5 * (dissipation[1:] + dissipation[:-1]) * dt)
    assert abs(fall - dissipated) < 1e-6 * fall
    # a minimum: the phases settle (locked), the dissipation falls
    assert dissipation[-1] < dissipation[0]


def test_the_energy_is_stationary_at_a_locked_state():
    """At a locked state the gradient of E (with mobility 1/P) is the common rotation only."""
    rng = np.random.default_rng(1)
    locking = PhaseLocking(1e9 + rng.normal(0.0, 0.2e6, 4), np.full(4, 1e-6), coupling=1e6)
    locking.run(2e-6, 1e-10)
    rate = locking._rate(locking.phase)
    assert np.ptp(rate) < 1e-6 * np.abs(locking._omega).max()         # every tone at one frequency
