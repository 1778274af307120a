"""Device-to-device variability draws."""
import numpy as np
import pytest

from rfemu.devices.oscillator import OscillatorParameters
from rfemu.devices.variability import Spread, Variability, draw


@pytest.mark.parametrize("law", ["gaussian", "lognormal"])
def test_relative_spread_and_mean(law):
    x = draw(300e6, 0.05, seed=11, size=200_000, law=law)
    assert x.mean() == pytest.approx(300e6, rel=5 * 0.05 / np.sqrt(x.size))
    assert x.std() / 300e6 == pytest.approx(0.05, rel=0.01)


def test_lognormal_keeps_the_sign_gaussian_does_not():
    g = draw(-1.0, 1.0, seed=1, size=10_000)
    ln = draw(-1.0, 1.0, seed=1, size=10_000, law="lognormal")
    assert np.any(g > 0) and np.all(ln < 0)


def test_reproducible_and_zero_spread_is_identity():
    assert np.array_equal(draw([1.0, 2.0], 0.1, seed=5), draw([1.0, 2.0], 0.1, seed=5))
    assert np.array_equal(draw([1.0, 2.0], 0.0, seed=5), [1.0, 2.0])


def test_apply_redraws_only_named_fields():
    v = Variability({"natural_frequency": Spread(0.01)})
    p = OscillatorParameters()
    q = v.apply(p, seed=3)
    changed = [f for f in p.__dataclass_fields__ if getattr(p, f) != getattr(q, f)]
    assert changed == ["natural_frequency"]


def test_bad_spread_is_an_error():
    with pytest.raises(ValueError, match="spread"):
        Spread(-0.1)
    with pytest.raises(ValueError, match="law"):
        draw(1.0, 0.1, law="uniform")
