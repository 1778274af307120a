"""Local learning rules: each junction changes its resonance from its own view only.

A rule has a ``sensing`` phase (``"dither"`` or ``"feedback"``: which measurement the chip makes
for it, :mod:`rfemu.learning.local.train`), an optional ``prepare(network, rng)`` (fixed
hardware it needs: dither frequencies, feedback couplings) and ``update(view) -> (N,) Hz``: the
change of each junction's frequency it asks for, elementwise along the junctions
(:func:`rfemu.learning.local.view.is_local`). The learning state adds it to the volatile
accumulators and writes when they pass a quantisation step.

Step sizes are in units of each junction's own half width D_j (dimensionless
``learning_rate``): a rule moves f_j by ``-learning_rate * D_j^2 * (its estimate of dC/df_j)``,
i.e. gradient descent in f / D, the same step in linewidths for every junction of a wide band.

- :class:`PerturbativeRule`: multiplexed gradient descent (McCaughan et al., APL Machine
  Learning 1, 026118 (2023)). Only the scalar cost is broadcast; each junction correlates its
  changes with its own dither code.
- :class:`FeedbackAlignmentRule`: direct feedback alignment (Nokland, NeurIPS 2016): each chain
  receives the output error through fixed random couplings; a junction multiplies it with the
  slope of its own voltage with its own resonance, which changes sign across the resonance, so
  it moves the right way on either side of its line.
"""
from __future__ import annotations

import math

import numpy as np

from rfemu.network.compile import CompiledNetwork
from rfemu.rng import as_generator

__all__ = ["CODES", "PerturbativeRule", "FeedbackAlignmentRule"]

CODES = ("sinusoid", "random", "sequential")


def _positive(name, value):
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")


class PerturbativeRule:
    """Multiplexed gradient descent: dither, correlate with the broadcast cost, integrate.

    Over a window of ``steps`` dither steps each junction offsets its own frequency by
    ``a_j c_j(k)`` (volatile: a field or bias, no write), with ``a_j = dither_fraction * D_j`` and
    its own unit-RMS code ``c_j``:

    - ``"sinusoid"``: frequency multiplexing, junction i at harmonic ``1 + i // 2`` of the window,
      sine or cosine (orthogonal over a window while the harmonics stay below ``steps / 2``;
      beyond, harmonics repeat and their junctions' estimates cross-talk);
    - ``"random"``: independent +-1 codes (code multiplexing);
    - ``"sequential"``: one junction at a time (+1 on its step, 0 otherwise).

    The chip broadcasts the cost change ``dC(k) = C(k) - C_ref`` (``C_ref``: the cost with the
    dither off); each junction integrates ``G_j = sum_k dC(k) c_j(k) / (a_j sum_k c_j(k)^2)``, an
    estimate of dC/df_j whose expectation is the gradient for small dithers, and asks for
    ``-learning_rate D_j^2 G_j``.

    Parameters
    ----------
    learning_rate : float
        Dimensionless step (see the module docstring).
    steps : int
        Dither steps per window (cost measurements).
    code : {"sinusoid", "random", "sequential"}
    dither_fraction : float
        Dither amplitude in units of the junction's own half width.
    bias_dither : float
        V: with > 0 every chain dithers its bias voltage too, with its own code, and learns it
        (a volatile voltage, set at once: no write).
    bias_learning_rate : float
        V^2 per unit cost: a chain's bias step is ``-bias_learning_rate * dC/dV_bias``.
    """

    sensing = "dither"
    name = "perturbative"

    def __init__(self, learning_rate=1.0, steps=64, code="sinusoid", dither_fraction=0.02,
                 bias_dither=0.0, bias_learning_rate=0.0):
        _positive("learning_rate", learning_rate)
        _positive("dither_fraction", dither_fraction)
        if not (bias_dither >= 0 and bias_learning_rate >= 0):
            raise ValueError(f"bias_dither and bias_learning_rate must be >= 0, got {bias_dither!r}, "
                             f"{bias_learning_rate!r}")
        self.bias_dither, self.bias_learning_rate = float(bias_dither), float(bias_learning_rate)
        if int(steps) != steps or steps < 2:
            raise ValueError(f"steps must be an integer >= 2, got {steps!r}")
        if code not in CODES:
            raise ValueError(f"code must be one of {CODES}, got {code!r}")
        self.learning_rate, self.steps, self.code = float(learning_rate), int(steps), code
        self.dither_fraction = float(dither_fraction)
        self._window = 0
        self._sinusoids = None
        self._rng = as_generator(None)

    def prepare(self, network: CompiledNetwork, rng=None) -> None:
        self._rng = as_generator(rng)
        self._window = 0

    def harmonics(self, n: int) -> np.ndarray:
        """(n,) the sinusoid code's harmonic of each junction (cycles per window)."""
        top = max(1, self.steps // 2 - 1)
        return 1 + (np.arange(n) // 2) % top

    def codes(self, n: int) -> np.ndarray:
        """(steps, n) the dither codes of the next window (each column a junction's own)."""
        k = np.arange(self.steps)[:, None]
        if self.code == "sinusoid":        # the same every window: made once
            if self._sinusoids is None or self._sinusoids.shape[1] != n:
                m = self.harmonics(n)[None, :]
                phase = 0.5 * np.pi * (np.arange(n) % 2)[None, :]
                self._sinusoids = math.sqrt(2.0) * np.sin(2.0 * np.pi * m * k / self.steps + phase)
            out = self._sinusoids
        elif self.code == "random":
            out = self._rng.choice(np.array([-1.0, 1.0]), size=(self.steps, n))
        else:
            slot = (self._window * self.steps + k) % n
            out = (slot == np.arange(n)[None, :]).astype(float)
        self._window += 1
        return out

    @staticmethod
    def estimate(view) -> np.ndarray:
        """Each agent's integrated estimate of dC/d(its parameter) over the window."""
        change = view.cost - view.reference_cost                       # (K,) broadcast
        num = (view.dither * change[:, None]).sum(axis=0)
        den = (view.dither * view.dither).sum(axis=0) * view.dither_amplitude
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    def update(self, view) -> np.ndarray:
        return -self.learning_rate * view.half_width ** 2 * self.estimate(view)

    def update_bias(self, view) -> np.ndarray:
        """The chains' bias steps (V) from their own view (``bias_dither`` > 0): each chain
        dithers its bias with its own code (columns after the junctions') and moves by
        ``-bias_learning_rate * (its estimate of dC/dV_bias)``."""
        return -self.bias_learning_rate * self.estimate(view)


class FeedbackAlignmentRule:
    """Direct feedback alignment through the junctions' own line slopes.

    The learning circuit gives each output chain its error ``dC/dV_c`` and each hidden chain
    ``(B e)_c * dP_c/dI * g_m`` (``B``: fixed random couplings of an error bus, one matrix per
    hidden layer, scaled like the next layer's forward weights; ``dP/dI``: the neuron's own
    slope). Junction j asks for ``-learning_rate D_j^2 sum_b e_c(b) s_j dV_j/df_j(b)`` (s_j its
    series sign): for an output chain this is exactly gradient descent.

    Parameters
    ----------
    learning_rate : float
        Dimensionless step (see the module docstring).
    """

    sensing = "feedback"
    name = "feedback_alignment"

    def __init__(self, learning_rate=1.0):
        _positive("learning_rate", learning_rate)
        self.learning_rate = float(learning_rate)
        self.feedback = {}

    def prepare(self, network: CompiledNetwork, rng=None) -> None:
        """Draw the fixed random feedback couplings (hidden layer l: (C_l, classes)), each scaled
        by the rms of layer l + 1's chain matrix (V/W) on the network as it is."""
        from rfemu.engines.compiled import CompiledEngine
        rng = as_generator(rng)
        engine = CompiledEngine(network, n_threads=1)
        k = network.n_outputs
        self.feedback = {}
        for l, layer in enumerate(network.layers[:-1]):
            nxt = network.layers[l + 1]
            scale = float(np.sqrt(np.mean(engine.chain_matrix(l + 1, nxt.tone_frequency[None],
                                                                nxt.tone_linewidth[None]) ** 2)))
            self.feedback[l] = rng.normal(0.0, scale, (layer.n_chains, k))

    def chain_errors(self, network: CompiledNetwork, forward, grad_scores):
        """Per layer (B, C) the error each chain receives: dC/dV for the output chains, the
        random projection of it times the neuron's slope for hidden chains."""
        out = []
        for l, layer in enumerate(network.layers):
            if not layer.is_hidden:
                out.append(grad_scores)
                continue
            st = forward.layers[l]
            out.append((grad_scores @ self.feedback[l].T) * st.d_output_power * layer.transconductance[None, :])
        return out

    def update(self, view) -> np.ndarray:
        drive = (view.chain_error * view.voltage_slope).sum(axis=0)
        return -self.learning_rate * view.half_width ** 2 * view.series_sign * drive
