"""Expected settling and energy of a noise-off event-engine inference, written out from the device
formulas (docs/physics.md#event-engine-dynamics, #relaxation-rate, #energy): the yardstick of
tests/engines/test_event.py and tests/engines/test_event_energy.py.

A chip with one hidden layer of fixed-channel neurons: the inputs change at t = 0; line 0 carries
them to the hidden chains after its delay d0 (propagation plus the spin-diode response
1 / (2 pi alpha f_r) of its slowest junction); every neuron then relaxes from its old static power
to its new one, P_n(t) = P_new + (P_old - P_new) exp(-r_n (t - d0)) at the rate
r_n = 2 G_G |xi_new - 1| (G_G = alpha_osc 2 pi f_n, xi the new current over I_th, capped at
I_max / I_th, floored at ``min_relaxation_fraction`` 2 G_G); line 1 carries the tones after d1; an
output chain k is linear in the tone powers (fixed channels), so its deviation from its final
value is sum_n A_kn (P_old,n - P_new,n) exp(-r_n (t - d0 - d1)). The inference has settled at the
last moment any output is farther than ``latency_tolerance`` x (largest final output) from its
final value. The static operating points (currents, powers, A) come from the compiled engine.

The emitted powers lag the exponential by at most ``emission_tolerance`` x P_max per neuron: the
outputs by at most eps_k = sum_n |A_kn| emission_tolerance P_max,n, which brackets the settling
time (``early``/``late``).
"""
import math

import numpy as np

from rfemu.engines.compiled import CompiledEngine
from rfemu.network.compile import compile_graph


def line_delay(layer, propagation):
    """s: propagation plus the slowest junction's spin-diode response 1 / (2 pi alpha f_r)."""
    f_r = layer.base_frequency + layer.tuning
    return propagation + float(np.max(1.0 / (2.0 * math.pi * layer.damping * f_r)))


def relaxation_rates(current, oscillator, min_fraction):
    """1/s: 2 G_G |xi - 1| at the current (capped at I_max), floored at min_fraction 2 G_G."""
    g = np.asarray(oscillator.damping, dtype=float) * 2.0 * math.pi * np.asarray(oscillator.natural_frequency)
    i = np.minimum(current, np.asarray(oscillator.max_current, dtype=float))
    xi = i / np.asarray(oscillator.threshold_current, dtype=float)
    return np.maximum(2.0 * g * np.abs(xi - 1.0), min_fraction * 2.0 * g)


def _last_above(t0, deviation, threshold, horizon):
    """Last t >= t0 at which any |deviation(t)| exceeds ``threshold`` (per output), by a dense
    grid then bisection; t0 when none does."""
    t = t0 + np.linspace(0.0, horizon, 20001)
    above = np.any(np.abs(deviation(t)) > threshold[:, None], axis=0)
    if not above.any():
        return t0
    k = int(np.nonzero(above)[0][-1])
    if k == len(t) - 1:
        raise ValueError("horizon too short")
    lo, hi = t[k], t[k + 1]
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if np.any(np.abs(deviation(np.array([mid]))[:, 0]) > threshold):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def predict(G, features, config, energy_model):
    """Expected settling and energy of each inference of ``features`` (one after the other,
    from the chip idle at zero input) on the event engine with ``config`` (noise off).

    Returns a list of dicts: ``latency`` (s, the settling time with the exact tolerance),
    ``early``/``late`` (s, its bracket from the emission lag), ``d0``, ``d1``, ``rates`` (1/s),
    ``oscillator``, ``junction`` (J over ``latency``), ``slack_oscillator``, ``slack_junction``
    (J: what the emission lag and the bracket allow).
    """
    net = compile_graph(G)
    hidden, out = net.layers
    assert len(net.layers) == 2 and hidden.emission == "fixed"
    x = np.vstack([np.zeros((1, features.shape[1])), features])
    fwd = CompiledEngine(G, n_threads=1).forward(x, keep=True)
    current, power = fwd.layers[0].current, fwd.layers[0].output_power
    a = np.asarray(fwd.layers[1].chain_matrix)               # (C, N) V/W, fixed channels
    scores = fwd.scores
    source_power = fwd.layers[0].tone_power
    d0, d1 = line_delay(hidden, config.line_delay), line_delay(out, config.line_delay)
    osc = hidden.oscillator
    p_max = np.asarray(osc.max_output_power, dtype=float) * np.ones(power.shape[1])
    r_neuron = np.asarray(osc.resistance, dtype=float) * np.ones(power.shape[1])
    i_max = np.asarray(osc.max_current, dtype=float) * np.ones(power.shape[1])
    gain0, gain1 = float(np.sum(hidden.power_gain)), float(np.sum(out.power_gain))
    results = []
    for k in range(1, len(x)):
        rates = relaxation_rates(current[k], osc, config.min_relaxation_fraction)
        dp = power[k - 1] - power[k]

        def deviation(t, dp=dp, rates=rates):
            return a @ (dp[:, None] * np.exp(-rates[:, None] * np.maximum(t - d0 - d1, 0.0)))

        tol = np.full(a.shape[0], config.latency_tolerance * np.max(np.abs(scores[k])))
        eps = np.abs(a) @ (config.emission_tolerance * p_max)
        horizon = 40.0 / rates.min()
        latency = _last_above(d0 + d1, deviation, tol, horizon)
        early = _last_above(d0 + d1, deviation, tol + eps, horizon)
        late = _last_above(d0 + d1, deviation, np.maximum(tol - eps, 0.0), horizon)
        joule_old = r_neuron * np.clip(current[k - 1], 0.0, i_max) ** 2
        joule_new = r_neuron * np.clip(current[k], 0.0, i_max) ** 2
        oscillator = float(np.sum(joule_old) * d0 + np.sum(joule_new) * (latency - d0))
        # tones on line 0: the old inputs until d0, the new after; on line 1 the neurons' powers,
        # relaxing from d0 on and arriving d1 later
        t_relax = latency - d0 - d1
        line0 = source_power[k - 1].sum() * d0 + source_power[k].sum() * (latency - d0)
        line1 = (power[k - 1].sum() * (d0 + d1) + power[k].sum() * t_relax
                 + float(np.sum(dp * -np.expm1(-rates * t_relax) / rates)))
        junction = energy_model.junction_absorption * (gain0 * line0 + gain1 * line1)
        slack_t = max(late - latency, latency - early)
        slack_junction = energy_model.junction_absorption * (
            gain1 * float(np.sum(config.emission_tolerance * p_max)) * t_relax
            + (gain0 * source_power[k].sum() + gain1 * power[k].sum()) * slack_t)
        results.append(dict(latency=latency, early=early, late=late, d0=d0, d1=d1, rates=rates,
                            oscillator=oscillator, junction=junction,
                            slack_oscillator=float(np.sum(joule_new)) * slack_t, slack_junction=slack_junction))
    return results
