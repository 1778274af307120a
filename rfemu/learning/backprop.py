"""Offline backpropagation through the static device models: the baseline learning rule.

The trained parameters are physical: the junctions' tuning states ``s`` (their resonance
frequencies ``f_r = f_base + s``, kept inside the tuning windows) and the chains' bias voltages.
The loss is the cross-entropy of a softmax over the output chains' voltages times a score scale
(1/V; 1e3 means logits in mV, the seed authors' choice), optionally learned. Adam, mini batches,
early stopping on a stratified validation split, a tqdm progress bar.

Gradients are analytic: the rectification's through :meth:`rfemu.devices.resonator.ChainSet.rectify_grad`
(fixed tones) or :func:`rfemu.devices.resonator.chain_matrix_grad` (tones moving with the sample),
both in the kernel, the neurons' through :func:`rfemu.devices.oscillator.d_output_power_d_current` and
:func:`~rfemu.devices.oscillator.d_frequency_d_current` and (neurons emitting at f(I), whose tones
also widen with their current) :func:`~rfemu.devices.oscillator.d_linewidth_d_current`.

Physics-aware variability (``variability_mode``):

- ``"perturbed"``: forward and gradient both through the perturbed devices (what a
  chip-in-the-loop training does: the gradient knows the real devices);
- ``"ideal_gradient"``: the seed authors' scheme: the forward pass runs through the perturbed
  devices, the loss gradient at their outputs is propagated back through the ideal devices.

This rule is not local: it is the offline baseline the on-chip rules are compared with.

Examples
--------
>>> import numpy as np
>>> from rfemu.network import build_graph, spin_mlp
>>> from rfemu.tasks import xor_quadrants
>>> task = xor_quadrants(n_train=64, n_test=16, seed=0)
>>> result = train(build_graph(spin_mlp((2, 4, 2)), seed=0), task.x_train, task.y_train,
...                TrainingConfig(epochs=2, progress=False))
>>> len(result.history.train_loss)
2
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields

import networkx as nx
import numpy as np

from rfemu.devices import oscillator as osc
from rfemu.engines.compiled import CompiledEngine, blas_threads
from rfemu.learning import resume
from rfemu.network import schema as S
from rfemu.network.compile import CompiledNetwork, compile_graph
from rfemu.rng import as_generator

VARIABILITY_MODES = ("perturbed", "ideal_gradient")
LEARNING_RATE_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of :func:`train` (SI units).

    Parameters
    ----------
    epochs : int
        Maximum number of passes over the training samples.
    batch_size : int
        Samples per Adam step (the last batch of an epoch may be smaller).
    frequency_learning_rate : float
        Hz: Adam step size of the tuning states (the seed's 6.6e-6 GHz = 6.6 kHz).
    relative_frequency_learning_rate : float or None
        If given, each junction's Adam step is this fraction of its half width ``alpha f_base``
        (instead of ``frequency_learning_rate``): the same step in units of linewidth whatever the
        frequency, which suits geometric plans over wide bands.
    bias_learning_rate : float
        V: Adam step size of the bias voltages.
    score_scale : float
        1/V: logits = score_scale * output voltages (1e3: logits in mV).
    learn_score_scale : bool
        Learn the score scale too (Adam on its logarithm, step ``score_scale_learning_rate``).
    score_scale_learning_rate : float
    beta1, beta2, adam_epsilon : float
        Adam's moment decay rates and its epsilon.
    validation_fraction : float
        Fraction of the training samples held out (stratified) for early stopping; 0: none.
    patience : int or None
        Stop after this many epochs without a better validation figure (None: never stop early).
    restore_best : bool
        End with the state of the epoch with the best validation figure.
    early_stopping_metric : {"loss", "accuracy"}
        The validation figure that early stopping and ``restore_best`` follow: the lowest loss, or
        the highest accuracy (ties: the lower loss).
    learning_rate_schedule : {"constant", "cosine"}
        Multiplier of every Adam step size over training: 1, or a cosine from 1 at the first
        batch to ``final_learning_rate_fraction`` at the last batch of ``epochs``.
    final_learning_rate_fraction : float
        End value of the cosine schedule, as a fraction of the initial step sizes.
    augmentation : callable or None
        ``augmentation(features_batch, rng) -> features_batch``: applied to each training batch
        before the forward pass (e.g. :func:`image_shift_augmentation`); never to validation.
    train_tuning, train_bias : bool
        Which parameters are trained.
    calibrate_resonances : bool
        Before training, write each junction's tuning state so that its resonance frequency is
        the design's, ``f_r = f_base_nominal + s``, compensating its drawn fabrication offset (a
        chip-in-the-loop calibration: measure each resonance, program the non-volatile state).
        Offsets beyond the tuning window are compensated only up to the window.
    calibrate_bias : bool
        Before training, set each hidden chain's bias voltage so that its neuron's mean input
        current over the training samples sits at the middle of its active window
        ``(I_th + I_max) / 2`` (what one would do on a chip: trim each neuron's operating point).
    variability_mode : {"perturbed", "ideal_gradient"}
        See the module docstring; ``"ideal_gradient"`` needs the ideal twin network.
    snapshot_junctions : int
        Number of junctions whose resonance frequency is recorded every epoch (trajectories).
    seed : int or None
        Seed of the validation split and the shuffling.
    progress : bool
        Show a tqdm progress bar.
    n_threads : int or None
        Kernel threads (default: every core).
    """

    epochs: int = field(default=100, metadata={
        "ge": 1,
        "help": "Maximum passes over the training samples."})
    batch_size: int = field(default=256, metadata={
        "gt": 0,
        "help": "Samples per Adam step."})
    frequency_learning_rate: float = field(default=6.6e3, metadata={
        "unit": "Hz", "gt": 0,
        "help": "Adam step of the tuning states (the seed's 6.6 kHz)."})
    bias_learning_rate: float = field(default=6.6e-6, metadata={
        "unit": "V", "gt": 0,
        "help": "Adam step of the chains' bias voltages."})
    relative_frequency_learning_rate: float | None = field(default=None, metadata={
        "unit": "", "gt": 0,
        "help": "If given, each junction's Adam step is this fraction of its half width alpha "
                "f_base (instead of frequency_learning_rate): the same step in linewidths at every"
                " frequency."})
    score_scale: float = field(default=1e3, metadata={
        "unit": "1/V", "gt": 0,
        "help": "Logits = score_scale x output voltages (1e3 /V: logits in mV)."})
    learn_score_scale: bool = field(default=False, metadata={
        "help": "Learn the score scale too (Adam on its logarithm)."})
    score_scale_learning_rate: float = field(default=1e-2, metadata={
        "unit": "", "gt": 0,
        "help": "Adam step of the score scale's logarithm (learn_score_scale)."})
    beta1: float = field(default=0.9, metadata={
        "unit": "", "ge": 0, "lt": 1,
        "help": "Adam's first-moment decay."})
    beta2: float = field(default=0.999, metadata={
        "unit": "", "ge": 0, "lt": 1,
        "help": "Adam's second-moment decay."})
    adam_epsilon: float = field(default=1e-8, metadata={
        "unit": "", "gt": 0,
        "help": "Adam's epsilon."})
    validation_fraction: float = field(default=0.1, metadata={
        "unit": "", "ge": 0, "lt": 1,
        "help": "Share of the training samples held out (stratified) for early stopping; 0: none."})
    patience: int | None = field(default=20, metadata={
        "ge": 1,
        "help": "Stop after this many epochs without a lower validation loss (null: never)."})
    restore_best: bool = field(default=True, metadata={
        "help": "End with the state of the epoch with the lowest validation loss."})
    early_stopping_metric: str = field(default="loss", metadata={
        "choices": ("loss", "accuracy"),
        "help": "What patience and restore_best follow on the validation samples: the lowest loss,"
                " or the highest accuracy (ties: the lower loss). accuracy needs "
                "validation_fraction > 0."})
    learning_rate_schedule: str = field(default="constant", metadata={
        "choices": ("constant", "cosine"),
        "help": "constant: the same Adam steps throughout; cosine: every step size decays from its"
                " full value at the first batch to final_learning_rate_fraction of it at the last "
                "batch of epochs."})
    final_learning_rate_fraction: float = field(default=0.0, metadata={
        "unit": "", "ge": 0, "le": 1,
        "help": "cosine: the step sizes at the last batch, as a fraction of the initial ones."})
    augmentation: object = field(default=None, metadata={
        "scenario": False,
        "help": "built from training.shift_augmentation and the task's image shape"})
    train_tuning: bool = field(default=True, metadata={
        "help": "Train the junctions' resonance frequencies."})
    train_bias: bool = field(default=True, metadata={
        "help": "Train the chains' bias voltages."})
    calibrate_resonances: bool = field(default=False, metadata={
        "help": "Before training, write each junction's tuning state so that its resonance "
                "frequency is the design's, compensating its drawn fabrication offset (up to the "
                "tuning window)."})
    calibrate_bias: bool = field(default=False, metadata={
        "help": "Before training, set each hidden chain's bias so that its neuron's mean current "
                "over the training samples is the middle of its active window (I_th + I_max) / 2 "
                "(replaces the configured bias_voltage and initial_bias_spread of the hidden "
                "layers)."})
    variability_mode: str = field(default="perturbed", metadata={
        "choices": ("perturbed", "ideal_gradient"),
        "help": "With variability: gradient through the perturbed devices (chip in the loop), or "
                "through the ideal ones (the seed authors' scheme)."})
    snapshot_junctions: int = field(default=64, metadata={
        "ge": 1, "section": "record",
        "help": "Junctions whose resonance frequency is recorded after every epoch."})
    seed: int | None = field(default=0, metadata={
        "scenario": False,
        "help": "the run's training random stream"})
    progress: bool = field(default=True, metadata={
        "scenario": False,
        "help": "the command line's progress bar"})
    n_threads: int | None = field(default=None, metadata={
        "ge": 1, "section": "engine",
        "help": "Kernel threads (null: every core; results do not depend on it)."})

    def __post_init__(self):
        def check(cond, msg):
            if not cond:
                raise ValueError(msg)
        check(int(self.epochs) == self.epochs and self.epochs >= 1, f"epochs must be an integer >= 1, got {self.epochs!r}")
        check(int(self.batch_size) == self.batch_size and self.batch_size >= 1,
              f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        for name in ("frequency_learning_rate", "bias_learning_rate", "score_scale", "score_scale_learning_rate"):
            v = getattr(self, name)
            check(np.isfinite(v) and v > 0, f"{name} must be positive, got {v!r}")
        check(self.relative_frequency_learning_rate is None or (
            np.isfinite(self.relative_frequency_learning_rate) and self.relative_frequency_learning_rate > 0),
            f"relative_frequency_learning_rate must be positive or None, got {self.relative_frequency_learning_rate!r}")
        check(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, f"beta1, beta2 must be in [0, 1), got {self.beta1!r}, {self.beta2!r}")
        check(0 <= self.validation_fraction < 1, f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")
        check(self.patience is None or self.patience >= 1, f"patience must be >= 1 or None, got {self.patience!r}")
        check(self.early_stopping_metric in ("loss", "accuracy"),
              f"early_stopping_metric must be 'loss' or 'accuracy', got {self.early_stopping_metric!r}")
        check(self.learning_rate_schedule in LEARNING_RATE_SCHEDULES,
              f"learning_rate_schedule must be one of {LEARNING_RATE_SCHEDULES}, got {self.learning_rate_schedule!r}")
        check(0 <= self.final_learning_rate_fraction <= 1,
              f"final_learning_rate_fraction must be in [0, 1], got {self.final_learning_rate_fraction!r}")
        check(self.augmentation is None or callable(self.augmentation),
              f"augmentation must be callable or None, got {self.augmentation!r}")
        check(self.variability_mode in VARIABILITY_MODES,
              f"variability_mode must be one of {VARIABILITY_MODES}, got {self.variability_mode!r}")


@dataclass
class LearningCurve:
    """Per-epoch record of a training run.

    ``train_loss``, ``train_accuracy`` (on the batches as they were trained, through the devices
    the forward pass ran on), ``validation_loss``, ``validation_accuracy`` (NaN without a
    validation split), ``seconds`` (wall time of each epoch, its validation pass included),
    ``kernel_seconds`` (of which inside the kernel's device physics: the rectification's Lorentzian
    evaluations and tone sums, the neurons' transfer) and ``lorentzian_seconds`` (of which in the
    Lorentzian evaluations); ``snapshot_nodes`` the resonator
    nodes followed and ``snapshot_frequency`` (epochs + 1, len(snapshot_nodes)) their resonance
    frequencies (Hz) before training and after each epoch; ``score_scale`` per epoch.
    """

    train_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    validation_loss: list = field(default_factory=list)
    validation_accuracy: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    kernel_seconds: list = field(default_factory=list)
    lorentzian_seconds: list = field(default_factory=list)
    score_scale: list = field(default_factory=list)
    snapshot_nodes: list = field(default_factory=list)
    snapshot_frequency: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain lists (JSON-ready; node identifiers as lists)."""
        d = asdict(self)
        d["snapshot_nodes"] = [list(n) for n in self.snapshot_nodes]
        d["snapshot_frequency"] = [list(map(float, row)) for row in self.snapshot_frequency]
        return d


@dataclass
class TrainingResult:
    """What :func:`train` returns.

    network : the trained CompiledNetwork (the one passed in, trained in place, or compiled from
    the graph); engine : a CompiledEngine on it; history : LearningCurve; best_epoch : epoch
    (1-based) whose state was kept; stopped_early : bool; score_scale : final 1/V;
    seconds : total wall time; kernel_seconds : of which inside the kernel's device physics
    (rectification and neurons' transfer; per epoch: ``history.kernel_seconds``).
    """

    network: CompiledNetwork
    engine: CompiledEngine
    history: LearningCurve
    best_epoch: int
    stopped_early: bool
    score_scale: float
    seconds: float
    kernel_seconds: float

    def accuracy(self, features, labels) -> float:
        """Accuracy of the trained network on a data set."""
        return self.engine.accuracy(features, labels)


# --------------------------------------------------------------------------- loss and gradient

def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy and its gradient with respect to the logits (B, K)."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    prob = e / e.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    idx = np.arange(n)
    loss = float(-np.mean(np.log(np.maximum(prob[idx, labels], 1e-300))))
    grad = prob.copy()
    grad[idx, labels] -= 1.0
    return loss, grad / n


def backward(engine: CompiledEngine, forward, grad_scores):
    """Gradients of a loss through the network given dL/d(scores) (B, K) and the kept forward pass.

    Returns ``(grad_tuning, grad_bias)``: lists over layers of (C, J) and (C,) arrays.
    """
    net = engine.network
    n_layers = len(net.layers)
    g_tuning = [None] * n_layers
    g_bias = [None] * n_layers
    g_v = grad_scores                                   # dL/d(V + bias) of the current layer
    for l in range(n_layers - 1, -1, -1):
        layer, st = net.layers[l], forward.layers[l]
        g_bias[l] = g_v.sum(axis=0)
        per_sample = st.chain_matrix.ndim == 3
        if per_sample:
            g_w = g_v[:, :, None] * st.tone_power[:, None, :]
            grad = engine.chain_matrix_grad(l, g_w, st.tone_frequency, st.tone_linewidth, tones=l > 0)
            g_p = np.einsum("bc,bct->bt", g_v, st.chain_matrix)
        else:
            grad = engine.rectify_grad(l, g_v, st, tone_power_grad=l > 0)
            g_p = grad.tone_power
        g_tuning[l] = grad.resonance_frequency
        if l == 0:
            break
        prev, pst = net.layers[l - 1], forward.layers[l - 1]
        params = prev.oscillator
        d_power = pst.d_output_power
        if d_power is None:
            d_power = osc.d_output_power_d_current(pst.current, params)
        g_i = g_p * d_power
        if per_sample:
            inside = (pst.current >= params.threshold_current) & (pst.current <= params.max_current)
            dev_i = osc.clamp_current(pst.current, params)
            df_di = osc.d_frequency_d_current(dev_i, params)
            dg_di = osc.d_linewidth_d_current(dev_i, params)
            g_i = g_i + np.where(inside, grad.tone_frequency * df_di + grad.tone_linewidth * dg_di, 0.0)
        g_v = g_i * prev.transconductance[None, :]
    return g_tuning, g_bias


def calibrate_resonances(network: CompiledNetwork) -> None:
    """Write every junction's tuning state so that its resonance frequency is the design's.

    ``s_new = f_base_nominal + s - f_base``: the junction then resonates where the ideal device
    with state ``s`` would; the new states are clipped to the tuning windows.
    """
    for layer in network.layers:
        if layer.nominal_base_frequency is None or np.any(np.isnan(layer.nominal_base_frequency)):
            raise ValueError(f"layer {layer.index} has no nominal resonance frequencies to calibrate to")
        target = layer.nominal_base_frequency + layer.tuning - layer.base_frequency
        layer.tuning[...] = np.clip(target, layer.tuning_min, layer.tuning_max)


def calibrate_bias(engine: CompiledEngine, features, batch_size=2048) -> None:
    """Set every hidden chain's bias so that its neuron's mean current over ``features`` is the
    middle of its active window (I_th + I_max) / 2; layer by layer, since each bias moves the
    next layer's inputs. The output layer's biases are left alone."""
    net = engine.network
    x = np.asarray(features, dtype=float)
    for l, layer in enumerate(net.layers):
        if not layer.is_hidden:
            break
        total = np.zeros(layer.n_chains)
        for i in range(0, len(x), batch_size):
            fwd = engine.forward(x[i:i + batch_size], keep=True)
            total += fwd.layers[l].chain_voltage.sum(axis=0)
        mean_v = total / len(x)
        target = 0.5 * (layer.oscillator.threshold_current + layer.oscillator.max_current)
        layer.bias_voltage[...] = target / layer.transconductance - mean_v


# --------------------------------------------------------------------------------- Adam

class _Adam:
    """Adam on the arrays of a list, kept as one flat vector.

    ``lr``: a scalar or a list of per-array step sizes (scalars or arrays of each array's shape);
    ``bounds``: optional (low, high) lists clipping the arrays after each step. The step runs in
    the kernel (``backend="kernel"``, one pass) or in numpy (``"numpy"``, the reference: the same
    operations in the same order, so the same bits).
    """

    def __init__(self, shapes, lr, beta1, beta2, eps, bounds=None, backend="kernel"):
        if backend not in ("kernel", "numpy"):
            raise ValueError(f"backend must be 'kernel' or 'numpy', got {backend!r}")
        sizes = [int(np.prod(s)) for s in shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        n = int(self.offsets[-1])
        self.m, self.v = np.zeros(n), np.zeros(n)
        self._p, self._g = np.empty(n), np.empty(n)
        if isinstance(lr, list):
            self.lr = self._flat([np.broadcast_to(np.asarray(x, dtype=float), s) for x, s in zip(lr, shapes)])
        else:
            self.lr = np.array([float(lr)])
        self.bounds = None if bounds is None else (self._flat(bounds[0]), self._flat(bounds[1]))
        self._limits = self.bounds if bounds is not None else (np.full(n, -np.inf), np.full(n, np.inf))
        self.b1, self.b2, self.eps, self.t, self.backend = beta1, beta2, eps, 0, backend

    @staticmethod
    def _flat(arrays, out=None):
        return np.concatenate([np.ravel(a) for a in arrays], out=out)

    def step(self, params, grads, factor=1.0):
        """One step on ``params`` (updated in place) with ``grads``; ``factor`` scales every step size."""
        self.t += 1
        c1 = 1 - self.b1 ** self.t
        c2 = 1 - self.b2 ** self.t
        p, g = self._p, self._g
        self._flat(params, out=p)
        self._flat(grads, out=g)
        if self.backend == "kernel":
            from rfemu import _core
            _core._adam_step(p, g, self.m, self.v, self.lr, float(factor), self.b1, self.b2, c1, c2,
                             self.eps, *self._limits)
        else:
            self._step_numpy(p, g, factor, c1, c2)
        for x, lo, hi in zip(params, self.offsets[:-1], self.offsets[1:]):
            x[...] = p[lo:hi].reshape(x.shape)

    def _step_numpy(self, p, g, factor, c1, c2):
        m, v = self.m, self.v
        m *= self.b1
        m += g * (1 - self.b1)
        v *= self.b2
        v += (g * (1 - self.b2)) * g
        lr = self.lr[0] * factor if self.lr.shape[0] == 1 and p.shape[0] != 1 else self.lr * factor
        p -= lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
        if self.bounds is not None:
            np.clip(p, self.bounds[0], self.bounds[1], out=p)


class _Loop:
    """The state of :func:`train`'s loop that a checkpoint keeps (:mod:`rfemu.learning.resume`)."""

    def __init__(self, net, ideal_net, optimisers, log_scale, rng, history):
        self.net, self.ideal_net, self.optimisers = net, ideal_net, optimisers
        self.log_scale, self.rng, self.history = log_scale, rng, history

    def state(self, next_epoch, step, bad_epochs, best, elapsed) -> dict:
        """Everything the next epoch starts from."""
        return {"next_epoch": int(next_epoch), "step": int(step), "bad_epochs": int(bad_epochs),
                "network": resume.trainable_arrays(self.net),
                "optimisers": [{"m": o.m.copy(), "v": o.v.copy(), "t": int(o.t)} for o in self.optimisers],
                "log_scale": self.log_scale.copy(), "rng": resume.generator_state(self.rng),
                "best": {"figure": [float(v) for v in best[0]], "epoch": int(best[1]),
                         "network": best[2], "scale": float(best[3])},
                "history": resume.curve_state(self.history), "elapsed_s": float(elapsed)}

    def restore(self, saved: dict):
        """Put a saved state back; returns (first epoch, step, bad epochs, best)."""
        resume.set_trainable_arrays(self.net, saved["network"])
        if self.ideal_net is not None:
            resume.set_trainable_arrays(self.ideal_net, saved["network"])
        for o, s in zip(self.optimisers, saved["optimisers"], strict=True):
            o.m[...], o.v[...], o.t = s["m"], s["v"], int(s["t"])
        self.log_scale[...] = saved["log_scale"]
        resume.set_generator_state(self.rng, saved["rng"])
        resume.set_curve_state(self.history, saved["history"])
        b = saved["best"]
        best = (tuple(b["figure"]), int(b["epoch"]),
                {k: [np.asarray(a, dtype=float) for a in v] for k, v in b["network"].items()},
                float(b["scale"]))
        return int(saved["next_epoch"]), int(saved["step"]), int(saved["bad_epochs"]), best


# --------------------------------------------------------------------------------- schedules, augmentation

def learning_rate_factor(schedule, step, total_steps, final_fraction=0.0):
    """Multiplier of the Adam step sizes at batch ``step`` (0-based) of ``total_steps``."""
    if schedule == "constant" or total_steps <= 1:
        return 1.0
    if schedule == "cosine":
        u = min(step / (total_steps - 1), 1.0)
        return final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + np.cos(np.pi * u))
    raise ValueError(f"learning_rate_schedule must be one of {LEARNING_RATE_SCHEDULES}, got {schedule!r}")


def image_shift_augmentation(shape, max_shift=1):
    """An ``augmentation`` for :class:`TrainingConfig`: shift each image of a batch by a random
    whole number of pixels in [-max_shift, max_shift] along each axis (zeros fill the edge).

    Parameters
    ----------
    shape : (rows, columns)
        Image shape; a feature vector is the image flattened in row-major order.
    max_shift : int
    """
    rows, cols = (int(v) for v in shape)
    k = int(max_shift)
    if rows < 1 or cols < 1:
        raise ValueError(f"shape must be two positive integers, got {shape!r}")
    if k < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift!r}")

    def shift(batch, rng):
        b = batch.shape[0]
        img = np.zeros((b, rows + 2 * k, cols + 2 * k))
        img[:, k:k + rows, k:k + cols] = batch.reshape(b, rows, cols)
        dy = rng.integers(0, 2 * k + 1, size=b)
        dx = rng.integers(0, 2 * k + 1, size=b)
        r = dy[:, None, None] + np.arange(rows)[None, :, None]
        c = dx[:, None, None] + np.arange(cols)[None, None, :]
        return img[np.arange(b)[:, None, None], r, c].reshape(b, rows * cols)

    return shift


# --------------------------------------------------------------------------------- training

def stratified_split(labels, fraction, seed=None):
    """Indices (train, validation): ``fraction`` of each class held out (at least one if > 0)."""
    labels = np.asarray(labels)
    rng = as_generator(seed)
    if fraction <= 0:
        return rng.permutation(len(labels)), np.zeros(0, dtype=int)
    train, val = [], []
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        n_val = max(1, int(round(fraction * idx.size))) if idx.size > 1 else 0
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(val))


def _samples(net, features, labels):
    """Features (N, inputs) as floats and labels (N,) as class indices of ``net``, checked."""
    x = np.asarray(features, dtype=float)
    y = np.asarray(labels)
    if x.ndim != 2 or x.shape[1] != net.n_inputs:
        raise ValueError(f"features must have shape (samples, {net.n_inputs}), got {x.shape}")
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be {x.shape[0]} integers, got shape {y.shape} dtype {y.dtype}")
    if y.min() < 0 or y.max() >= net.n_outputs:
        raise ValueError(f"labels must lie in [0, {net.n_outputs - 1}] (one output chain per class), "
                         f"got [{y.min()}, {y.max()}]")
    return x, y


def _as_network(network):
    if isinstance(network, nx.DiGraph):
        return compile_graph(network)
    if isinstance(network, CompiledNetwork):
        return network
    if isinstance(network, CompiledEngine):
        return network.network
    raise TypeError(f"network must be a graph, a CompiledNetwork or a CompiledEngine, not {type(network).__name__}")


def _check_twin(net, ideal):
    if len(net.layers) != len(ideal.layers) or any(
            a.base_frequency.shape != b.base_frequency.shape for a, b in zip(net.layers, ideal.layers)):
        raise ValueError("ideal network must have the same layers and shapes as the trained network")


def check_finite(net, log_scale, loss, epoch, config) -> None:
    """Stop training whose learned values went non-finite (one ``np.isfinite`` per array, once
    per epoch): raise :class:`rfemu.devices.limits.TrainingDivergence` naming the layer's tuning
    states or bias voltages (or the score scale, or the loss), the epoch and the learning rate to
    lower (docs/physics.md#model-limits)."""
    from rfemu.devices.limits import TrainingDivergence, first_nonfinite, learning_rate_cause
    found = first_nonfinite([(f"layer {l}'s bias voltages", layer.bias_voltage) for l, layer in enumerate(net.layers)]
                            + [(f"layer {l}'s tuning states", layer.tuning) for l, layer in enumerate(net.layers)]
                            + [("the score scale", log_scale), ("the training loss", np.asarray(loss))])
    if found is None:
        return
    what, bad, size = found
    defaults = {f.name: f.default for f in fields(TrainingConfig)}
    if "bias" in what:
        cause = learning_rate_cause("training.bias_learning_rate", config.bias_learning_rate, "V",
                                    defaults["bias_learning_rate"])
    elif "tuning" in what and config.relative_frequency_learning_rate is not None:
        cause = learning_rate_cause("training.relative_frequency_learning_rate",
                                    config.relative_frequency_learning_rate)
    elif "tuning" in what:
        cause = learning_rate_cause("training.frequency_learning_rate", config.frequency_learning_rate, "Hz",
                                    defaults["frequency_learning_rate"])
    elif "score" in what:
        cause = learning_rate_cause("training.score_scale_learning_rate", config.score_scale_learning_rate, "",
                                    defaults["score_scale_learning_rate"])
    else:
        cause = (f"the output scores overflowed with finite devices; the likely cause is a score scale too "
                 f"large (training.score_scale = {config.score_scale:.3g} /V) or a bias learning rate too large "
                 f"(training.bias_learning_rate = {config.bias_learning_rate:.3g} V)")
    label = f"{what} ({bad} of {size} values)" if size > 1 else what
    raise TrainingDivergence(f"training (backprop): {label}", f"epoch {epoch}", cause, epoch)


def train(network, features, labels, config: TrainingConfig | None = None, *, ideal=None,
          validation=None, checkpoint=None) -> TrainingResult:
    """Train a network's tuning states and bias voltages by offline backpropagation.

    Parameters
    ----------
    network : networkx.DiGraph, CompiledNetwork or CompiledEngine
        The devices the forward pass runs through (perturbed, if variability was drawn). A
        CompiledNetwork (or an engine's) is trained in place; a graph is compiled first (use
        :func:`rfemu.network.write_back` to store the result in the graph).
    features : array (N, inputs)
        Features in [0, 1] (tone power / max power).
    labels : array (N,) of int
        Class indices (0..K-1, K = number of output chains).
    config : TrainingConfig
    ideal : graph or CompiledNetwork, optional
        The ideal twin (same description without variability, same seed), required by
        ``variability_mode="ideal_gradient"``.
    validation : (features, labels), optional
        An explicit validation set instead of the stratified split of ``validation_fraction``.
    checkpoint : object, optional
        Saves the loop's state at the end of an epoch when one is due and gives it back when a
        run resumes (:mod:`rfemu.learning.resume`, loop name ``"backprop"``): the tuning states,
        biases, Adam moments and step counts, the score scale, the best state so far, the
        learning curve and the shuffling generator; the resumed loop's results equal those of
        the loop left alone, bit for bit.

    Returns
    -------
    TrainingResult
    """
    config = config or TrainingConfig()
    net = _as_network(network)
    x, y = _samples(net, features, labels)
    engine = CompiledEngine(net, n_threads=config.n_threads)
    grad_engine = engine
    ideal_net = None
    if config.variability_mode == "ideal_gradient":
        if ideal is None:
            raise ValueError("variability_mode='ideal_gradient' needs the ideal twin network (ideal=...)")
        ideal_net = _as_network(ideal)
        _check_twin(net, ideal_net)
        ideal_net.set_trainable_state(net.trainable_state())
        grad_engine = CompiledEngine(ideal_net, n_threads=config.n_threads)

    rng = as_generator(config.seed)
    if validation is not None:
        x_val, y_val = (np.asarray(a) for a in validation)
        train_idx = rng.permutation(len(y))
    else:
        train_idx, val_idx = stratified_split(y, config.validation_fraction, rng)
        x_val, y_val = x[val_idx], y[val_idx]
    has_val = len(y_val) > 0

    if config.calibrate_resonances:
        if ideal_net is not None:
            raise ValueError("calibrate_resonances writes the perturbed devices' own offsets; it does not apply "
                             "to variability_mode='ideal_gradient', whose tuning is shared with the ideal twin")
        calibrate_resonances(net)
    if config.calibrate_bias:
        calibrate_bias(engine, x[train_idx])
        if ideal_net is not None:
            ideal_net.set_trainable_state(net.trainable_state())

    # parameters and optimisers (the tunings clipped to their windows after each step)
    if config.relative_frequency_learning_rate is None:
        lr_f = config.frequency_learning_rate
    else:
        lr_f = [config.relative_frequency_learning_rate * layer.damping * layer.base_frequency for layer in net.layers]
    opt_f = _Adam([layer.tuning.shape for layer in net.layers], lr_f, config.beta1, config.beta2, config.adam_epsilon,
                  bounds=([layer.tuning_min for layer in net.layers], [layer.tuning_max for layer in net.layers]))
    opt_b = _Adam([layer.bias_voltage.shape for layer in net.layers], config.bias_learning_rate, config.beta1,
                  config.beta2, config.adam_epsilon)
    log_scale = np.array([np.log(config.score_scale)])
    opt_s = _Adam([(1,)], config.score_scale_learning_rate, config.beta1, config.beta2, config.adam_epsilon)

    history = LearningCurve()
    all_res = [(l, c, j) for l, layer in enumerate(net.layers)
               for c in range(layer.n_chains) for j in range(layer.n_junctions)]
    pick = np.unique(np.linspace(0, len(all_res) - 1, min(config.snapshot_junctions, len(all_res))).astype(int))
    followed = [all_res[k] for k in pick]
    history.snapshot_nodes = [net.layers[l].resonator_nodes[c][j] for l, c, j in followed]

    def snapshot():
        history.snapshot_frequency.append(
            np.array([net.layers[l].base_frequency[c, j] + net.layers[l].tuning[c, j] for l, c, j in followed]))

    snapshot()
    best = ((np.inf, np.inf), 0, net.trainable_state(), float(np.exp(log_scale[0])))
    n_batches = -(-len(train_idx) // config.batch_size)
    total_steps = config.epochs * n_batches
    step = 0
    stopped_early = False
    bad_epochs = 0
    t_start = time.perf_counter()
    engines = [engine] if grad_engine is engine else [engine, grad_engine]

    def kernel_time():
        return (sum(e.kernel_seconds for e in engines), sum(e.lorentzian_seconds for e in engines))

    kernel_start = kernel_time()[0]
    loop = _Loop(net, ideal_net, (opt_f, opt_b, opt_s), log_scale, rng, history)
    first_epoch = 1
    saved = checkpoint.restore("backprop") if checkpoint is not None else None
    if saved is not None:
        first_epoch, step, bad_epochs, best = loop.restore(saved)
        t_start -= saved["elapsed_s"]
        engine.invalidate()
        if grad_engine is not engine:
            grad_engine.invalidate()

    bar = None
    if config.progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=config.epochs, initial=first_epoch - 1, desc="training", unit="epoch", leave=False)
    # one BLAS limit for the whole loop (the engines' own contexts nested in it cost nothing)
    blas_limit = blas_threads(engine.blas_threads)
    # a diverging step overflows quietly: check_finite names it at the end of the epoch
    float_errors = np.errstate(over="ignore", invalid="ignore")
    try:
        blas_limit.__enter__()
        float_errors.__enter__()
        for epoch in range(first_epoch, config.epochs + 1):
            t0 = time.perf_counter()
            k0 = kernel_time()
            order = rng.permutation(train_idx)
            loss_sum, correct = 0.0, 0
            for start in range(0, len(order), config.batch_size):
                batch = order[start:start + config.batch_size]
                xb, yb = x[batch], y[batch]
                if config.augmentation is not None:
                    xb = config.augmentation(xb, rng)
                factor = learning_rate_factor(config.learning_rate_schedule, step, total_steps,
                                              config.final_learning_rate_fraction)
                step += 1
                scale = float(np.exp(log_scale[0]))
                fwd = engine.forward(xb, keep=True)
                loss, g_logits = softmax_cross_entropy(scale * fwd.scores, yb)
                loss_sum += loss * len(batch)
                correct += int(np.sum(np.argmax(fwd.scores, axis=1) == yb))
                g_scores = scale * g_logits
                g_log_scale = np.array([np.sum(g_logits * scale * fwd.scores)])
                if ideal_net is not None:
                    # seed authors' scheme: perturbed outputs, gradient through the ideal devices
                    fwd = grad_engine.forward(xb, keep=True)
                with blas_threads(grad_engine.blas_threads):
                    g_tuning, g_bias = backward(grad_engine, fwd, g_scores)
                if config.train_tuning:
                    opt_f.step([layer.tuning for layer in net.layers], g_tuning, factor)
                if config.train_bias:
                    opt_b.step([layer.bias_voltage for layer in net.layers], g_bias, factor)
                if config.learn_score_scale:
                    opt_s.step([log_scale], [g_log_scale], factor)
                if ideal_net is not None:
                    for a, b in zip(ideal_net.layers, net.layers):
                        a.tuning[...] = b.tuning
                        a.bias_voltage[...] = b.bias_voltage
            check_finite(net, log_scale, loss_sum, epoch, config)
            scale = float(np.exp(log_scale[0]))
            history.train_loss.append(loss_sum / len(order))
            history.train_accuracy.append(correct / len(order))
            history.score_scale.append(scale)
            if has_val:
                val_scores = engine.forward(x_val).scores
                val_loss, _ = softmax_cross_entropy(scale * val_scores, y_val)
                history.validation_loss.append(val_loss)
                history.validation_accuracy.append(float(np.mean(np.argmax(val_scores, axis=1) == y_val)))
            else:
                val_loss = history.train_loss[-1]
                history.validation_loss.append(float("nan"))
                history.validation_accuracy.append(float("nan"))
            history.seconds.append(time.perf_counter() - t0)
            k1 = kernel_time()
            history.kernel_seconds.append(k1[0] - k0[0])
            history.lorentzian_seconds.append(k1[1] - k0[1])
            snapshot()
            if config.early_stopping_metric == "accuracy" and has_val:
                figure = (-history.validation_accuracy[-1], val_loss)
            else:
                figure = (val_loss, 0.0)
            if figure < best[0]:
                best = (figure, epoch, net.trainable_state(), scale)
                bad_epochs = 0
            else:
                bad_epochs += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{history.train_loss[-1]:.3g}", acc=f"{history.train_accuracy[-1]:.3f}",
                                val=f"{history.validation_accuracy[-1]:.3f}")
            if has_val and config.patience is not None and bad_epochs >= config.patience:
                stopped_early = True
                break
            if checkpoint is not None and epoch < config.epochs:
                checkpoint.offer("backprop", lambda: loop.state(epoch + 1, step, bad_epochs, best,
                                                                time.perf_counter() - t_start))
    finally:
        float_errors.__exit__(None, None, None)
        blas_limit.__exit__(None, None, None)
        if bar is not None:
            bar.close()

    best_epoch = len(history.train_loss)
    final_scale = float(np.exp(log_scale[0]))
    if has_val and config.restore_best and best[1] > 0:
        net.set_trainable_state(best[2])
        best_epoch, final_scale = best[1], best[3]
        engine.invalidate()
    kernel = kernel_time()[0] - kernel_start
    return TrainingResult(network=net, engine=engine, history=history, best_epoch=best_epoch,
                          stopped_early=stopped_early, score_scale=final_scale,
                          seconds=time.perf_counter() - t_start, kernel_seconds=kernel)
