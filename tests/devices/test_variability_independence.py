"""Device-to-device variability as built into a network graph: each parameter drawn with its own
spread, from its own random stream (docs/physics.md#variability).

Every perturbed parameter is turned back into the standard normal deviate it was drawn from
(``x = x0 (1 + s z)``, or ``x = x0 exp(sigma z - sigma^2 / 2)``, ``sigma^2 = ln(1 + s^2)``, for
the log-normal ones), in the order of its draws. The deviates must then be standard normal
(mean and spread within a tolerance computed from their number) and uncorrelated between any two
parameters (a correlation consistent with zero for that many pairs).
"""
import itertools
import math

import numpy as np
import pytest

from rfemu.devices.variability import draw
from rfemu.network import VariabilityDescription, build_graph, spin_mlp

SIZES = (64, 128, 4)
SPREADS = dict(source_frequency=0.01, resonance_frequency=0.02, oscillator_frequency=0.03,
               oscillator_power=0.04, sensitivity=0.05, damping=0.06)
LOGNORMAL = ("oscillator_power", "sensitivity", "damping")
Z_BOUND = 4.5                      # standard errors: a false alarm about once in 10^5 checks


def _nodes(G, kind):
    """Nodes of one kind in the order their parameters are drawn (layer, chain, index)."""
    return sorted(n for n, k in G.nodes(data="kind") if k == kind)


def deviates(G, description):
    """{parameter: its standard normal deviates, in draw order} of a built graph."""
    res = description.layers[0].resonator
    osc = description.layers[0].oscillator
    sources = _nodes(G, "source")
    junctions = _nodes(G, "resonator")
    oscillators = _nodes(G, "oscillator")
    ratio = {
        "source_frequency": [G.nodes[n]["frequency"] / G.nodes[n]["nominal_frequency"] for n in sources],
        "resonance_frequency": [G.nodes[n]["base_frequency"] / G.nodes[n]["nominal_base_frequency"]
                                for n in junctions],
        "sensitivity": [G.nodes[n]["sensitivity"] / res.sensitivity for n in junctions],
        "damping": [G.nodes[n]["damping"] / res.damping for n in junctions],
        "oscillator_frequency": [G.nodes[n]["channel_frequency"] / G.nodes[n]["nominal_frequency"]
                                 for n in oscillators],
        "oscillator_power": [G.nodes[n]["parameters"].max_output_power / osc.max_output_power
                             for n in oscillators],
    }
    out = {}
    for name, r in ratio.items():
        r = np.asarray(r)
        s = SPREADS[name]
        if name in LOGNORMAL:
            sigma = math.sqrt(math.log1p(s * s))
            out[name] = (np.log(r) + 0.5 * sigma * sigma) / sigma
        else:
            out[name] = (r - 1.0) / s
    return out


@pytest.fixture(scope="module")
def network():
    description = spin_mlp(SIZES, variability=VariabilityDescription(**SPREADS))
    return build_graph(description, seed=2024), description


def test_every_parameter_has_its_own_spread(network):
    G, description = network
    for name, z in deviates(G, description).items():
        n = z.size
        assert n >= 64, name
        # mean of n standard normals: standard error 1 / sqrt(n); sample variance: sqrt(2 / n)
        assert abs(z.mean()) < Z_BOUND / math.sqrt(n), name
        assert abs(z.var(ddof=1) - 1.0) < Z_BOUND * math.sqrt(2.0 / (n - 1)), (name, z.std())


def test_no_two_parameters_are_correlated(network):
    G, description = network
    z = deviates(G, description)
    for a, b in itertools.combinations(sorted(z), 2):
        n = min(z[a].size, z[b].size)
        r = np.corrcoef(z[a][:n], z[b][:n])[0, 1]
        # the sample correlation of independent normals has standard error about 1 / sqrt(n)
        assert abs(r) < Z_BOUND / math.sqrt(n), (a, b, r, n)
    # nor are two devices of one parameter (consecutive draws)
    for name, v in z.items():
        r = np.corrcoef(v[:-1], v[1:])[0, 1]
        assert abs(r) < Z_BOUND / math.sqrt(v.size - 1), (name, r)


def test_a_parameter_draws_the_same_devices_whatever_the_other_spreads(network):
    # the streams are separate: switching the other parameters' variability off changes nothing
    # in this one's devices (nor in the trainable start)
    G, description = network
    z = deviates(G, description)
    for name in ("resonance_frequency", "oscillator_power", "damping"):
        alone = spin_mlp(SIZES, variability=VariabilityDescription(**{name: SPREADS[name]}))
        z_alone = deviates(build_graph(alone, seed=2024), alone)
        np.testing.assert_allclose(z_alone[name], z[name], rtol=0, atol=1e-9)


def test_the_law_draws_a_standard_normal_deviate():
    # draw() against its formula: with the same Generator state, x = x0 (1 + s z)
    z = np.random.default_rng(5).standard_normal(1000)
    np.testing.assert_allclose(draw(3.0, 0.1, seed=np.random.default_rng(5), size=1000), 3.0 * (1 + 0.1 * z),
                               rtol=1e-15)
    sigma = math.sqrt(math.log1p(0.01))
    np.testing.assert_allclose(draw(3.0, 0.1, seed=np.random.default_rng(5), size=1000, law="lognormal"),
                               3.0 * np.exp(sigma * z - sigma * sigma / 2), rtol=1e-14)
