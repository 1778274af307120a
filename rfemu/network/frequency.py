"""Frequency plans: where the tones and the junctions' resonances sit on the frequency axis.

docs/physics.md#frequency-plans: linear grids, or the geometric grid ``f_k = f_min r^k`` with
``r = (f_max / f_min)^(1/(n-1))``, which keeps the spacing constant in units of the local linewidth
(the half width of a junction is ``D_r = alpha f_r``).

Spacings here are counted in *linewidths*, the full width at half maximum ``2 alpha f`` of the
junction line at the lower of two neighbouring channels.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LINEAR = "linear"
GEOMETRIC = "geometric"
EXPLICIT = "explicit"
PLAN_KINDS = (LINEAR, GEOMETRIC, EXPLICIT)


@dataclass(frozen=True)
class FrequencyPlan:
    """Where ``n`` channels sit between two bounds.

    Parameters
    ----------
    kind : {"linear", "geometric", "explicit"}
        ``linear``: evenly spaced; ``geometric``: ``f_k = f_min r^k`` (constant spacing in
        linewidths); ``explicit``: the frequencies given in ``values``.
    minimum, maximum : float
        Bounds in Hz (the first and last channel). Ignored for ``explicit``.
    values : tuple of float
        The channels of an ``explicit`` plan, in Hz.

    Examples
    --------
    >>> FrequencyPlan("geometric", 20e6, 120e6).frequencies(3)
    array([2.00000000e+07, 4.89897949e+07, 1.20000000e+08])
    """

    kind: str = field(default=LINEAR, metadata={
        "choices": ("linear", "geometric", "explicit"),
        "help": "linear: evenly spaced; geometric: f_k = min r^k (constant spacing in linewidths);"
                " explicit: the `values`."})
    minimum: float = field(default=20e6, metadata={
        "unit": "Hz", "gt": 0, "nullable": True, "key": "min",
        "help": "First channel."})
    maximum: float = field(default=120e6, metadata={
        "unit": "Hz", "gt": 0, "nullable": True, "key": "max",
        "help": "Last channel."})
    values: tuple = field(default=(), metadata={
        "unit": "Hz", "gt": 0,
        "help": "The channels of an `explicit` plan."})

    def __post_init__(self):
        if self.kind not in PLAN_KINDS:
            raise ValueError(f"frequency plan kind must be one of {PLAN_KINDS}, got {self.kind!r}")
        if self.kind == EXPLICIT:
            values = np.asarray(self.values, dtype=float)
            if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
                raise ValueError(f"explicit frequency plan values must be positive finite Hz, got {self.values!r}")
            return
        if not (np.isfinite(self.minimum) and self.minimum > 0):
            raise ValueError(f"frequency plan minimum must be a positive frequency in Hz, got {self.minimum!r}")
        if not (np.isfinite(self.maximum) and self.maximum >= self.minimum):
            raise ValueError(
                f"frequency plan maximum must be >= minimum ({self.minimum!r} Hz), got {self.maximum!r}")

    def frequencies(self, n: int) -> np.ndarray:
        """The ``n`` channel frequencies (Hz, float64, ascending for linear/geometric)."""
        n = int(n)
        if n < 1:
            raise ValueError(f"number of channels must be >= 1, got {n}")
        if self.kind == EXPLICIT:
            values = np.asarray(self.values, dtype=float)
            if values.size != n:
                raise ValueError(f"explicit frequency plan has {values.size} values, {n} channels asked")
            return values.copy()
        if n == 1:
            return np.array([float(self.minimum)])
        if self.kind == LINEAR:
            return np.linspace(self.minimum, self.maximum, n)
        ratio = (self.maximum / self.minimum) ** (1.0 / (n - 1))
        return self.minimum * ratio ** np.arange(n, dtype=float)


def spacing_in_linewidths(frequencies, damping) -> np.ndarray:
    """Spacing between neighbouring channels in units of the lower channel's linewidth ``2 alpha f``.

    Returns an array of length ``n - 1`` (channels sorted first).
    """
    f = np.sort(np.asarray(frequencies, dtype=float))
    damping = _positive("damping", damping)
    return np.diff(f) / (2.0 * damping * f[:-1])


def channels_in_band(minimum, maximum, damping, spacing=1.0, kind=GEOMETRIC) -> int:
    """How many channels fit in ``[minimum, maximum]`` at ``spacing`` linewidths apart.

    Parameters
    ----------
    minimum, maximum : float
        Band edges in Hz.
    damping : float
        Gilbert damping alpha of the junctions (half width ``alpha f``, linewidth ``2 alpha f``).
    spacing : float
        Distance between neighbours in linewidths (1 = one full width at half maximum).
    kind : {"geometric", "linear"}
        ``geometric``: each spacing is ``spacing`` linewidths of its lower channel (the densest
        plan at that spacing); ``linear``: an even grid whose step is ``spacing`` linewidths of
        the widest (highest) channel.

    Examples
    --------
    >>> channels_in_band(1e9, 2e9, 0.01, spacing=1.0)
    36
    """
    minimum = _positive("minimum", minimum)
    maximum = _positive("maximum", maximum)
    if maximum < minimum:
        raise ValueError(f"maximum must be >= minimum ({minimum!r} Hz), got {maximum!r}")
    damping = _positive("damping", damping)
    spacing = _positive("spacing", spacing)
    if kind == GEOMETRIC:
        ratio = 1.0 + 2.0 * damping * spacing
        # small epsilon so that a band that is an exact number of steps counts its last channel
        return int(np.floor(np.log(maximum / minimum) / np.log(ratio) * (1 + 1e-12))) + 1
    if kind == LINEAR:
        step = 2.0 * damping * spacing * maximum
        return int(np.floor((maximum - minimum) / step * (1 + 1e-12))) + 1
    raise ValueError(f"kind must be 'geometric' or 'linear', got {kind!r}")


def crosstalk(frequencies, damping, antisymmetric=1.0, symmetric=0.0) -> np.ndarray:
    """Relative crosstalk of a set of channels: for each junction tuned to channel k, the sum of
    the magnitudes of its responses to all the other channels' tones, in units of its largest
    response (the response at the best detuning, ``K`` for a purely antisymmetric line).

    Uses the device's line shape (:func:`rfemu.devices.resonator.rectified_voltage`), unit power
    and unit sensitivity.
    """
    from rfemu.devices import resonator

    f = np.asarray(frequencies, dtype=float)
    damping = _positive("damping", damping)
    half_width = resonator.half_width(f, damping)
    response = np.abs(resonator.rectified_voltage(
        f[None, :], 1.0, f[:, None], half_width[:, None], 1.0,
        antisymmetric=antisymmetric, symmetric=symmetric))
    np.fill_diagonal(response, 0.0)
    # largest response over detuning of a line a * 2 D d / (d^2 + D^2) + s D^2 / (d^2 + D^2)
    d = np.linspace(-5.0, 5.0, 20001)
    peak = np.max(np.abs(antisymmetric * 2 * d / (d * d + 1) + symmetric / (d * d + 1)))
    return response.sum(axis=1) / peak


def plot_frequency_plan(tone_frequency, resonance_frequency, damping, tone_linewidth=None, ax=None,
                        title=None, max_lines=400):
    """Draw a layer's frequency plan: tones as vertical lines, the junctions' resonance lines as
    Lorentzians of half width ``alpha f_r`` on one axis, so that overlaps are visible.

    Parameters
    ----------
    tone_frequency : array (T,)
        Tone frequencies in Hz.
    resonance_frequency : array (J,) or (C, J)
        Resonance frequencies in Hz (one chain, or all chains: every chain is drawn faintly).
    damping : float or array
        Gilbert damping of the junctions.
    tone_linewidth : array (T,), optional
        Half widths of the tones (drawn as shaded bands).
    ax : matplotlib Axes, optional
    title : str, optional
    max_lines : int
        At most this many resonance curves are drawn (evenly subsampled) to keep the figure light.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib
    if ax is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tones = np.asarray(tone_frequency, dtype=float).ravel()
    res = np.atleast_2d(np.asarray(resonance_frequency, dtype=float))
    alpha = np.broadcast_to(np.asarray(damping, dtype=float), res.shape)
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 3.5))
    else:
        fig = ax.figure
    lo = min(tones.min(), res.min()) * 0.97
    hi = max(tones.max(), res.max()) * 1.03
    axis = np.linspace(lo, hi, 4000)
    flat_res, flat_alpha = res.ravel(), alpha.ravel()
    pick = np.unique(np.linspace(0, flat_res.size - 1, min(max_lines, flat_res.size)).astype(int))
    for k in pick:
        width = flat_alpha[k] * flat_res[k]
        curve = width ** 2 / ((axis - flat_res[k]) ** 2 + width ** 2)
        ax.plot(axis * 1e-6, curve, color="tab:blue", lw=0.6, alpha=0.5 if res.shape[0] == 1 else 0.15)
    for i, f in enumerate(tones):
        ax.axvline(f * 1e-6, color="tab:red", lw=0.5, alpha=0.7)
        if tone_linewidth is not None:
            g = float(np.asarray(tone_linewidth, dtype=float).ravel()[i])
            if g > 0:
                ax.axvspan((f - g) * 1e-6, (f + g) * 1e-6, color="tab:red", alpha=0.1)
    ax.set_xlabel("frequency (MHz)")
    ax.set_ylabel("resonance line (normalised)")
    ax.set_title(title or f"{tones.size} tones (red), {flat_res.size} junction resonances (blue)")
    ax.set_xlim(lo * 1e-6, hi * 1e-6)
    fig.tight_layout()
    return fig


def _positive(name, value) -> float:
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return value
