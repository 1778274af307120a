"""What crosstalk_mnist.yaml's reading rests on: on a geometric plan the overlap between channels
depends on the spacing in linewidths, s = ln(top / bottom) / ((N - 1) 2 alpha), not on the band
or the damping apart (docs/physics.md#frequency-plans, #line-shape)."""
import math

import numpy as np

from rfemu.network.frequency import FrequencyPlan, crosstalk

N = 784


def _plan(top):
    return FrequencyPlan("geometric", 100e6, top).frequencies(N)


def _spacing(top, damping):
    return math.log(top / 100e6) / (N - 1) / (2 * damping)


def test_two_bands_at_the_same_spacing_in_linewidths_overlap_alike():
    # 784 channels in 0.1-10.1 GHz at damping 0.01 and in 0.1-1.1 GHz at the damping that gives
    # the same spacing (0.29 linewidths): every junction's summed response to the other tones
    # agrees within 6 % (median; 20 % at most: the antisymmetric tails fall as 1 / detuning, and
    # the far channels of a tenfold wider band sit relatively further away), although the bands
    # differ tenfold and the dampings 1.9x; the same band at the other damping differs by 40 %
    wide, narrow = 10.1e9, 1.1e9
    damping_narrow = 0.01 * math.log(narrow / 100e6) / math.log(wide / 100e6)
    assert math.isclose(_spacing(wide, 0.01), _spacing(narrow, damping_narrow), rel_tol=1e-12)
    a = crosstalk(_plan(wide), 0.01)
    b = crosstalk(_plan(narrow), damping_narrow)
    same = np.abs(b / a - 1)
    assert np.median(same) < 0.06 and same.max() < 0.2, (np.median(same), same.max())
    c = crosstalk(_plan(wide), damping_narrow)
    assert np.median(np.abs(c / a - 1)) > 0.3


def test_overlap_grows_as_the_spacing_shrinks_and_vanishes_without_overlaps():
    # the study's no-overlap arm (damping 1e-6: thousands of linewidths) against the damping
    # where MNIST lost 2 points (0.1: 0.03 linewidths)
    medians = [float(np.median(crosstalk(_plan(10.1e9), alpha))) for alpha in (1e-6, 0.01, 0.1)]
    assert medians[0] < 1e-2 < medians[1] < medians[2]
