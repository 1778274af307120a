"""The synapse's static lineshape is the steady state of a driven macrospin junction.

Dynamic form: a macrospin LLGS junction (rfemu.devices.llgs, T = 0, in-plane free layer along +x,
field along the easy axis, reference layer 45 degrees in plane) driven by I(t) = I_rf cos(2 pi f t);
its rectified voltage V_dc = <I R(m)> is swept over f, one junction per frequency in one batched call.

Static form: rfemu.devices.resonator.rectified_voltage(f, P, f_r, D, K, a, s) =
K P [a 2 D d / (d^2 + D^2) + s D^2 / (d^2 + D^2)], d = f - f_r.

Parameter mapping (documented in rfemu.devices.llgs.spin_diode_lineshape):
- P = I_rf^2 R(m_rest) / 2, the RF power dissipated in the junction;
- f_r = Kittel frequency (gamma mu0 / 2 pi) sqrt((H + H_k)(H + H_k + M_eff));
- D = alpha (gamma mu0 / 2 pi)(H + H_k + M_eff / 2);
- K, a, s from the small-signal theory: the residue C of the resonant pole of the linearised LLGS
  equation gives K a = Re C / (2 D), K s = -Im C / D (K > 0, the larger of |a|, |s| is 1).
An in-plane Oersted field (transverse to the rest direction) makes the antisymmetric synapse of the
seed papers (a = +-1, s ~ 0); the damping-like torque alone makes a symmetric line.
"""
import numpy as np
import pytest
from scipy.optimize import curve_fit

from rfemu.devices import llgs, resonator

FIELD = 2e4          # A/m along the easy axis
RF_CURRENT = 20e-6   # A: small-signal regime


def _sweep(params):
    f_kittel = llgs.kittel_frequency(FIELD, params.anisotropy_field, params.effective_magnetisation)
    half = llgs.resonance_half_width(FIELD, params.anisotropy_field, params.effective_magnetisation,
                                     params.damping)
    f = f_kittel + half * np.linspace(-6, 6, 49)
    v = llgs.rectified_voltage(params, f, RF_CURRENT, 12e-9, 2e-13, settle_time=5e-9,
                               applied_field=(FIELD, 0, 0))
    power = 0.5 * RF_CURRENT ** 2 * float(llgs.resistance(llgs.rest_direction(params, (FIELD, 0, 0)), params))
    return f, v, power, f_kittel, half


ANTISYMMETRIC = llgs.MacrospinParameters(temperature=0.0, spin_torque_per_ampere=0.0,
                                         oersted_field_per_ampere=(0.0, 1e6, 0.0))
SYMMETRIC = llgs.MacrospinParameters(temperature=0.0)


@pytest.mark.parametrize("params, kind", [(ANTISYMMETRIC, "antisymmetric"), (SYMMETRIC, "symmetric")])
def test_static_lineshape_is_steady_state_of_driven_junction(params, kind):
    f, v, power, f_kittel, half = _sweep(params)
    peak = np.max(np.abs(v))

    # 1. a free fit of the static lineshape to the dynamic sweep: centre and width as predicted
    def static(f, f_r, d, ka, ks):
        return resonator.rectified_voltage(f, power, f_r, d, 1.0, ka, ks)

    ls = llgs.spin_diode_lineshape(params, (FIELD, 0, 0))
    p0 = [f_kittel, half, ls["sensitivity"] * ls["antisymmetric"], ls["sensitivity"] * ls["symmetric"]]
    (f_r, d, ka, ks), _ = curve_fit(static, f, v, p0=p0)
    assert abs(f_r / f_kittel - 1) < 0.01, (f_r, f_kittel)
    assert abs(d / half - 1) < 0.05, (d, half)

    # 2. the mapped parameters (no fit) reproduce the sweep to a few % of its peak
    assert abs(ls["resonance_frequency"] / f_kittel - 1) < 0.01
    assert abs(ls["half_width"] / half - 1) < 0.01
    mapped = resonator.rectified_voltage(f, power, ls["resonance_frequency"], ls["half_width"],
                                         ls["sensitivity"], ls["antisymmetric"], ls["symmetric"])
    assert np.max(np.abs(v - mapped)) < 0.04 * peak, np.max(np.abs(v - mapped)) / peak

    # 3. the fitted weights agree with the small-signal K a and K s: the dominant one to 3 %; the
    #    minor one to 10 % of K, because the free fit folds the slowly varying background of the
    #    non-resonant pole (absent from the one-pole static lineshape) into it
    k_scale = ls["sensitivity"]
    fitted = {"antisymmetric": ka, "symmetric": ks}
    other = "symmetric" if kind == "antisymmetric" else "antisymmetric"
    assert abs(fitted[kind] - k_scale * ls[kind]) < 0.03 * k_scale, (fitted, ls)
    assert abs(fitted[other] - k_scale * ls[other]) < 0.10 * k_scale, (fitted, ls)

    # 4. the line has the shape the drive gives it
    if kind == "antisymmetric":
        assert abs(ls["antisymmetric"]) == 1.0 and abs(ls["symmetric"]) < 0.05
    else:
        assert abs(ls["symmetric"]) == 1.0 and abs(ls["antisymmetric"]) < 0.05


def test_small_signal_response_is_the_driven_junction_to_second_order():
    # the full small-signal response (both poles, no Lorentzian approximation) against the sweep
    f, v, power, _, _ = _sweep(ANTISYMMETRIC)
    g = llgs.spin_diode_response(ANTISYMMETRIC, f, (FIELD, 0, 0))
    assert np.max(np.abs(v - g * power)) < 0.01 * np.max(np.abs(v))
