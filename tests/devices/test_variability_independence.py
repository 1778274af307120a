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
               oscillator_power=0.04, sensitivity=0.05, damping=0.06, oscillator_threshold=0.07)
LOGNORMAL = ("oscillator_power", "sensitivity", "damping", "oscillator_threshold")
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
        "oscillator_threshold": [G.nodes[n]["parameters"].threshold_current / osc.threshold_current
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
    for name in ("resonance_frequency", "oscillator_power", "damping", "oscillator_threshold"):
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


def test_a_neuron_switches_on_at_its_own_drawn_threshold():
    # the drawn threshold is the one the compiled engine's neurons use: a drive current just
    # below a neuron's own I_th emits nothing, just above it emits; the drive circuit's maximum
    # current (and the power there) is the nominal one, whatever the threshold
    from rfemu.devices.oscillator import output_power
    from rfemu.network.compile import compile_graph
    spread = VariabilityDescription(oscillator_threshold=0.1)
    description = spin_mlp(SIZES, variability=spread)
    osc = compile_graph(build_graph(description, seed=11)).layers[0].oscillator
    nominal = description.layers[0].oscillator
    i_th = np.asarray(osc.threshold_current)
    assert i_th.shape == (SIZES[1],) and np.unique(i_th).size == SIZES[1]
    assert 0.7 < i_th.min() / nominal.threshold_current and i_th.max() / nominal.threshold_current < 1.4
    np.testing.assert_array_equal(output_power(i_th * (1 - 1e-9), osc), 0.0)
    assert np.all(output_power(i_th * (1 + 1e-3), osc) > 0)
    np.testing.assert_allclose(osc.max_current, nominal.max_current, rtol=0)
    np.testing.assert_allclose(output_power(np.asarray(osc.max_current), osc), nominal.max_output_power,
                               rtol=1e-12)


def test_a_threshold_spread_too_wide_for_the_drive_is_refused():
    # 300 % log-normal spread on I_th = max_current / 4 puts some thresholds above max_current
    description = spin_mlp(SIZES, variability=VariabilityDescription(oscillator_threshold=3.0))
    with pytest.raises(ValueError, match="oscillator_threshold"):
        build_graph(description, seed=0)
