"""Frequency plans (docs/physics.md#frequency-plans): linear and geometric grids, channel counting, crosstalk."""
import numpy as np
import pytest

from rfemu.network.frequency import (
    FrequencyPlan, channels_in_band, crosstalk, plot_frequency_plan, spacing_in_linewidths,
)


def test_geometric_plan_keeps_spacing_constant_in_linewidths():
    f = FrequencyPlan("geometric", 20e6, 120e6).frequencies(128)
    assert f[0] == pytest.approx(20e6, rel=1e-15) and f[-1] == pytest.approx(120e6, rel=1e-12)
    ratio = f[1:] / f[:-1]
    assert np.allclose(ratio, (120 / 20) ** (1 / 127), rtol=1e-12)
    spacing = spacing_in_linewidths(f, 0.01)
    assert np.ptp(spacing) < 1e-9 * spacing.mean()


def test_linear_plan_is_evenly_spaced_and_its_spacing_in_linewidths_falls_as_1_over_f():
    f = FrequencyPlan("linear", 20e6, 120e6).frequencies(256)
    assert np.allclose(np.diff(f), 100e6 / 255, rtol=1e-9)
    spacing = spacing_in_linewidths(f, 0.01)
    assert np.allclose(spacing * f[:-1], spacing[0] * f[0], rtol=1e-9)


@pytest.mark.parametrize("kind", ["geometric", "linear"])
@pytest.mark.parametrize("spacing", [0.5, 1.0, 3.0])
def test_channels_in_band_is_the_largest_count_that_keeps_the_spacing(kind, spacing):
    lo, hi, alpha = 1e9, 3e9, 0.01
    n = channels_in_band(lo, hi, alpha, spacing, kind=kind)

    def min_spacing(m):
        f = FrequencyPlan(kind, lo, hi).frequencies(m)
        if kind == "geometric":
            return spacing_in_linewidths(f, alpha).min()
        return np.diff(f).min() / (2 * alpha * hi)     # linear: in linewidths of the top channel

    assert min_spacing(n) >= spacing * (1 - 1e-9)
    assert min_spacing(n + 1) < spacing


def test_crosstalk_of_two_distant_channels_is_the_antisymmetric_tail():
    alpha, f1, f2 = 0.01, 1e9, 1.5e9
    ct = crosstalk([f1, f2], alpha)
    # junction at f1 (half width alpha f1) responding to the tone at f2, relative to its peak K
    d, D = f2 - f1, alpha * f1
    expected_1 = 2 * D * d / (d * d + D * D)
    d, D = f1 - f2, alpha * f2
    expected_2 = abs(2 * D * d / (d * d + D * D))
    assert ct == pytest.approx([expected_1, expected_2], rel=1e-6)


def test_plan_validation_names_the_bad_value():
    with pytest.raises(ValueError, match="minimum"):
        FrequencyPlan("linear", -1.0, 2.0)
    with pytest.raises(ValueError, match="kind"):
        FrequencyPlan("log", 1.0, 2.0)
    with pytest.raises(ValueError, match="spacing"):
        channels_in_band(1e9, 2e9, 0.01, spacing=0)


def test_plot_draws_every_tone_and_resonance():
    tones = FrequencyPlan("linear", 20e6, 120e6).frequencies(16)
    res = FrequencyPlan("geometric", 20e6, 120e6).frequencies(16)
    fig = plot_frequency_plan(tones, res, 0.01, tone_linewidth=np.full(16, 1e5))
    ax = fig.axes[0]
    assert len(ax.lines) == 16 + 16        # 16 resonance curves, 16 tone markers
    xs = sorted(line.get_xdata()[0] for line in ax.lines[16:])
    assert np.allclose(xs, tones * 1e-6)
    import matplotlib.pyplot as plt
    plt.close(fig)
