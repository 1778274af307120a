"""Energy accounting of the event engine and the seed's 20 nm projection (docs/physics.md#energy)."""
import math

import pytest

from rfemu.devices import oscillator as osc
from rfemu.study.energy import (SEED_NEURON_ENERGY, SEED_SYNAPSE_ENERGY, EnergyModel, per_operation,
                                projection_20nm, projection_20nm_report)


def test_projection_devices_follow_from_their_stated_scaling():
    proj = projection_20nm()
    p = proj["oscillator"]
    area = math.pi * (10e-9) ** 2
    assert p.resistance == pytest.approx(1e-12 / area)               # RA = 1 Ohm um^2
    assert p.threshold_current == pytest.approx(1e11 * area)          # J_c = 1e11 A/m^2
    # "a 5 GHz uniform-mode oscillator settles in a few ns": 1 / (2 G_p) at 2 I_th
    tau = 1.0 / float(osc.relaxation_rate(2 * p.threshold_current, p))
    assert tau == pytest.approx(1.0 / (2 * 0.01 * 2 * math.pi * 5e9), rel=1e-12)
    assert 1e-9 < tau < 5e-9


def test_per_operation_splits_energy_by_device_kind():
    e = {"oscillator": 8e-13, "junction": 1e-13, "amplifier": 1e-12, "write": 0.0}
    out = per_operation(e, n_neurons=8, n_junctions=100)
    assert out["per_neuron"] == pytest.approx(1e-13)
    assert out["per_synapse"] == pytest.approx(1.1e-14)
    assert out["per_neuron_vs_seed"] == pytest.approx(1e-13 / SEED_NEURON_ENERGY)
    assert out["per_synapse_vs_seed"] == pytest.approx(1.1e-14 / SEED_SYNAPSE_ENERGY)
    with pytest.raises(ValueError, match="amplifier_efficiency"):
        EnergyModel(amplifier_efficiency=0.0)


def test_20nm_projection_lands_near_the_seed_figures():
    # the seed projects 10 fJ per synaptic and 100 fJ per neuron operation at 20 nm; rfemu's own
    # accounting of the same scaling, in the event engine, lands within an order of magnitude
    rep = projection_20nm_report((16, 8, 4), n_samples=3)
    # ns-scale relaxation; neurons driven near threshold slow down (critical slowing down)
    assert 1e-9 < rep["latency_s"] < 1e-6
    assert 0.1 < rep["per_neuron_vs_seed"] < 10
    assert 0.1 < rep["per_synapse_vs_seed"] < 10
    # the neuron energy is the Joule energy: at most R I_max^2 per device over the latency
    p = projection_20nm()["oscillator"]
    assert rep["per_neuron"] <= p.resistance * p.max_current ** 2 * rep["latency_s"] * (1 + 1e-9)
