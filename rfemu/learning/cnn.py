"""Training a spintronic CNN (:class:`rfemu.engines.conv.SpinCNN`) by backpropagation through the
compiled engine's static model (Leroux et al., Neuromorph. Comput. Eng. 2, 034002, 2022).

The trained arrays are the convolution's *shared target* (one tuning shift per filter junction,
(F, J) Hz) and its chains' biases (F,), the dense head's tuning states and biases. Every step:

1. forward and analytic backward of a batch (:meth:`SpinCNN.forward` / :meth:`SpinCNN.backward`);
2. the copies' gradients accumulated into the shared target (:func:`rfemu.network.conv.shared_gradient`:
   in the parallel arrangement every position's copy contributes, the sequential chain is one copy);
3. one Adam step, each junction's step ``relative_frequency_learning_rate`` times its own half
   width ``alpha f_base`` (the same step in linewidths across the bands, docs/physics.md#line-shape);
4. every copy programmed toward the same target (:func:`rfemu.network.conv.program`): the copies'
   targets stay identical, their tunings differ only by the write noise and, uncalibrated, by their
   fabrication offsets (docs/physics.md#variability).

The cross-entropy sees ``scores * score_scale`` as logits (scores in V). Images are shifted by up to
``shift_augmentation`` pixels per batch; the learning rate follows ``learning_rate_schedule``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from rfemu.engines.conv import SpinCNN
from rfemu.learning import resume
from rfemu.learning.backprop import (LEARNING_RATE_SCHEDULES, _Adam, calibrate_bias, learning_rate_factor,
                                     softmax_cross_entropy, stratified_split)
from rfemu.learning.rules import SettingError, TrainingContext, TrainingOutcome, TrainingRule, register
from rfemu.network import conv as cv
from rfemu.rng import as_generator

__all__ = ["CNNTrainingConfig", "CNNTrainingResult", "train_cnn", "shift_images", "calibrate_cnn_bias",
           "cnn_accuracy", "predict", "conv_arrays", "set_conv_arrays", "result_state", "result_from_state"]


@dataclass(frozen=True)
class CNNTrainingConfig:
    """Settings of :func:`train_cnn`; the field names are those of the scenario's ``training`` keys."""

    epochs: int = field(default=5, metadata={"gt": 0, "help": "Passes over the training images."})
    batch_size: int = field(default=250, metadata={"gt": 0, "help": "Images per gradient step."})
    relative_frequency_learning_rate: float | None = field(default=0.1, metadata={
        "unit": "", "gt": 0, "help": "Adam step of a junction in units of its own half width alpha f_base "
                                     "(None: frequency_learning_rate for every junction)."})
    frequency_learning_rate: float = field(default=6.6e3, metadata={
        "unit": "Hz", "gt": 0, "help": "Adam step of every junction when relative_frequency_learning_rate is None."})
    bias_learning_rate: float = field(default=1e-5, metadata={"unit": "V", "ge": 0, "help": "Adam step of the biases."})
    score_scale: float = field(default=40.0, metadata={"unit": "1/V", "gt": 0, "help": "Logits per volt of score."})
    learning_rate_schedule: str = field(default="cosine", metadata={
        "choices": LEARNING_RATE_SCHEDULES, "help": "constant, or a cosine decay over the training."})
    final_learning_rate_fraction: float = field(default=0.0, metadata={"unit": "", "ge": 0, "le": 1,
                                                                       "help": "End of the cosine decay."})
    validation_fraction: float = field(default=0.0, metadata={
        "unit": "", "ge": 0, "lt": 1, "help": "Held-out images (stratified); the best epoch is kept."})
    shift_augmentation: int = field(default=1, metadata={"ge": 0, "help": "Random shifts of every image, pixels."})
    calibrate_bias: bool = field(default=True, metadata={
        "help": "Before training, set every chain's bias so its neuron's mean current is mid-window."})
    write_noise: float = field(default=0.0, metadata={
        "scenario": False, "help": "Hz, std of each copy's write error at every programming (devices.frequency_state.write_noise)."})
    calibrated: bool = field(default=False, metadata={
        "scenario": False, "help": "Writes cancel each copy's fabrication offset (parallel arrangement)."})
    beta1: float = field(default=0.9, metadata={"unit": "", "ge": 0, "lt": 1, "help": "Adam beta1."})
    beta2: float = field(default=0.999, metadata={"unit": "", "ge": 0, "lt": 1, "help": "Adam beta2."})
    adam_epsilon: float = field(default=1e-8, metadata={"unit": "", "gt": 0, "help": "Adam epsilon."})
    seed: int | None = field(default=0, metadata={"scenario": False, "help": "the run's training stream"})
    progress: bool = field(default=False, metadata={"scenario": False, "help": "the run's progress setting"})

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}")
        if self.learning_rate_schedule not in LEARNING_RATE_SCHEDULES:
            raise ValueError(f"learning_rate_schedule must be one of {LEARNING_RATE_SCHEDULES}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must lie in [0, 1), got {self.validation_fraction}")


@dataclass
class CNNTrainingResult:
    """The learning curve (one entry per epoch), the kept epoch and the wall time per epoch."""

    train_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    validation_loss: list = field(default_factory=list)
    validation_accuracy: list = field(default_factory=list)
    score_scale: list = field(default_factory=list)
    epoch_seconds: list = field(default_factory=list)
    best_epoch: int = -1
    seconds: float = 0.0
    snapshot_frequency: list = field(default_factory=list)     # (none followed: the run's traces ask)


def shift_images(images, max_shift, rng):
    """Every image (B, C, H, W) shifted by a random whole number of pixels in [-max_shift, max_shift]
    along each axis (zeros fill the edge)."""
    x = np.asarray(images, dtype=float)
    k = int(max_shift)
    if k == 0:
        return x
    b, c, h, w = x.shape
    pad = np.zeros((b, c, h + 2 * k, w + 2 * k))
    pad[:, :, k:k + h, k:k + w] = x
    dy, dx = rng.integers(0, 2 * k + 1, size=b), rng.integers(0, 2 * k + 1, size=b)
    out = np.empty_like(x)
    for sy in range(2 * k + 1):
        for sx in range(2 * k + 1):
            sel = np.flatnonzero((dy == sy) & (dx == sx))
            out[sel] = pad[sel, :, sy:sy + h, sx:sx + w]
    return out


def predict(cnn: SpinCNN, images, batch_size=1000) -> np.ndarray:
    """The class of every image (the largest score)."""
    x = np.asarray(images, dtype=float)
    return np.concatenate([cnn.forward(x[i:i + batch_size]).scores.argmax(axis=1)
                           for i in range(0, len(x), batch_size)]) if len(x) else np.zeros(0, int)


def cnn_accuracy(cnn: SpinCNN, images, labels, batch_size=1000) -> float:
    """Fraction of images classified right."""
    return float(np.mean(predict(cnn, images, batch_size) == np.asarray(labels)))


def calibrate_cnn_bias(cnn: SpinCNN, images, batch_size=1000) -> None:
    """Set every filter chain's bias (shared by its copies) so that its neurons' mean current over
    ``images`` is the middle of their window (I_th + I_max) / 2, then the head's hidden biases
    likewise (:func:`rfemu.learning.backprop.calibrate_bias` on the pooled powers)."""
    x = np.asarray(images, dtype=float)
    layer = cnn.conv
    total = np.zeros(layer.n_filters)
    for i in range(0, len(x), batch_size):
        v = layer.forward(x[i:i + batch_size] * cnn.input_max_power, backend=cnn.backend).voltage
        total += (v - layer.bias_voltage.mean(axis=0)[None, :, None, None]).sum(axis=(0, 2, 3))
    mean_v = total / (len(x) * layer.geometry.n_positions)
    p = cnn.oscillator
    target = 0.5 * (np.asarray(p.threshold_current) + np.asarray(p.max_current))
    layer.bias_voltage[...] = (target / cnn.transconductance - mean_v)[None, :]
    pooled = np.concatenate([cnn.forward(x[i:i + batch_size]).pooled.reshape(min(batch_size, len(x) - i), -1)
                             for i in range(0, len(x), batch_size)])
    calibrate_bias(cnn.head, pooled / cnn.head.network.source_max_power[None, :], batch_size=batch_size)


class _Trainables:
    """The arrays Adam moves: the shared conv target (F, J), the shared conv bias (F,), the head's
    tuning and biases; their step sizes and bounds."""

    def __init__(self, cnn: SpinCNN, config: CNNTrainingConfig):
        layer, head = cnn.conv, cnn.head.network.layers
        self.cnn = cnn
        self.target = layer.target_tuning[0].copy()
        self.bias = layer.bias_voltage[0].copy()
        rel = config.relative_frequency_learning_rate

        def step(half_width):
            if rel is None:
                return np.full(np.shape(half_width), config.frequency_learning_rate)
            return rel * half_width

        conv_half_width = np.broadcast_to(layer.damping, layer.base_frequency.shape)[0] * \
            layer.nominal_base_frequency[0]
        self.arrays = [self.target, self.bias]
        lrs = [step(conv_half_width), config.bias_learning_rate]
        lows = [np.full(self.target.shape, layer.tuning_min), np.full(self.bias.shape, -np.inf)]
        highs = [np.full(self.target.shape, layer.tuning_max), np.full(self.bias.shape, np.inf)]
        for hl in head:
            self.arrays += [hl.tuning, hl.bias_voltage]
            lrs += [step(hl.damping * hl.base_frequency), config.bias_learning_rate]
            lows += [np.broadcast_to(hl.tuning_min, hl.tuning.shape), np.full(hl.bias_voltage.shape, -np.inf)]
            highs += [np.broadcast_to(hl.tuning_max, hl.tuning.shape), np.full(hl.bias_voltage.shape, np.inf)]
        self.adam = _Adam([a.shape for a in self.arrays], lrs, config.beta1, config.beta2,
                          config.adam_epsilon, bounds=(lows, highs))

    def step(self, grad, factor, config, rng):
        shared = cv.shared_gradient(grad.conv)
        grads = [shared.tuning[0], shared.bias_voltage[0]]
        for gt, gb in zip(grad.head_tuning, grad.head_bias):
            grads += [gt, gb]
        self.adam.step(self.arrays, grads, factor)
        self.write(config, rng)

    def write(self, config, rng):
        """Every copy's target := the shared target, then every copy programmed."""
        layer = self.cnn.conv
        layer.target_tuning[...] = self.target[None]
        layer.bias_voltage[...] = self.bias[None]
        cv.program(layer, calibrated=config.calibrated, write_noise=config.write_noise, rng=rng)

    def snapshot(self):
        return [a.copy() for a in self.arrays]

    def restore(self, saved, config, rng):
        for a, s in zip(self.arrays, saved):
            a[...] = s
        self.write(config, rng)


#: the name under which :func:`train_cnn`'s loop saves its checkpoints (:mod:`rfemu.learning.resume`)
CHECKPOINT_LOOP = "cnn_backprop"

#: the lists of a :class:`CNNTrainingResult` that a checkpoint keeps
_RESULT_LISTS = ("train_loss", "train_accuracy", "validation_loss", "validation_accuracy", "score_scale",
                 "epoch_seconds")


def conv_arrays(layer) -> dict:
    """A convolution layer's trained arrays (copies): every copy's tuning as written, its target
    and its bias (:class:`rfemu.network.conv.ConvLayer`)."""
    return {"tuning": layer.tuning.copy(), "target_tuning": layer.target_tuning.copy(),
            "bias_voltage": layer.bias_voltage.copy()}


def set_conv_arrays(layer, saved: dict) -> None:
    """Write :func:`conv_arrays` back into the layer's own arrays (in place), checking their shapes."""
    for name, value in saved.items():
        if np.shape(value) != np.shape(getattr(layer, name)):
            raise ValueError(f"checkpoint's convolution {name} has shape {np.shape(value)}, the "
                             f"network's {np.shape(getattr(layer, name))}")
        getattr(layer, name)[...] = value


def result_state(result: CNNTrainingResult) -> dict:
    """A :class:`CNNTrainingResult` as plain data (a checkpoint's)."""
    return {k: [float(v) for v in getattr(result, k)] for k in _RESULT_LISTS} | \
        {"best_epoch": int(result.best_epoch), "seconds": float(result.seconds)}


def result_from_state(saved: dict) -> CNNTrainingResult:
    """The :class:`CNNTrainingResult` of :func:`result_state`."""
    return CNNTrainingResult(**{k: list(saved[k]) for k in _RESULT_LISTS}, best_epoch=int(saved["best_epoch"]),
                             seconds=float(saved["seconds"]))


class _Loop:
    """Where :func:`train_cnn`'s loop stands, and what a checkpoint keeps of it
    (:mod:`rfemu.learning.resume`, loop :data:`CHECKPOINT_LOOP`): the epoch and the next batch, the
    epoch's image order and running sums, the step count, the convolution's arrays (every copy's
    tuning as written, with its write noise, target and bias), the shared target and bias, the
    head's arrays, Adam's moments, the generator, the curve and the best epoch's arrays."""

    def __init__(self, cnn: SpinCNN, params: _Trainables, rng):
        self.cnn, self.params, self.rng = cnn, params, rng
        self.result, self.best, self.best_accuracy = CNNTrainingResult(), None, -1.0
        self.epoch, self.batch, self.step = 0, 0, 0
        self.order, self.loss_sum, self.right = None, 0.0, 0
        self.epoch_start = self.start = time.perf_counter()

    def begin_epoch(self, order) -> None:
        self.order, self.loss_sum, self.right = order, 0.0, 0
        self.epoch_start = time.perf_counter()

    def state(self) -> dict:
        """Everything the loop goes on from, at the end of a batch or of an epoch."""
        layer, adam, now = self.cnn.conv, self.params.adam, time.perf_counter()
        return {"epoch": int(self.epoch), "batch": int(self.batch), "step": int(self.step),
                "order": None if self.batch == 0 else np.asarray(self.order).copy(),
                "loss_sum": float(self.loss_sum), "right": int(self.right),
                "epoch_elapsed_s": float(now - self.epoch_start), "elapsed_s": float(now - self.start),
                "conv": conv_arrays(layer),
                "shared": [self.params.target.copy(), self.params.bias.copy()],
                "head": resume.trainable_arrays(self.cnn.head.network),
                "adam": {"m": adam.m.copy(), "v": adam.v.copy(), "t": int(adam.t)},
                "rng": resume.generator_state(self.rng),
                "result": result_state(self.result),
                "best": self.best, "best_accuracy": float(self.best_accuracy)}

    def restore(self, saved: dict) -> None:
        """Put :meth:`state` back (after the loop set itself up as a fresh run does)."""
        layer, adam, now = self.cnn.conv, self.params.adam, time.perf_counter()
        set_conv_arrays(layer, saved["conv"])
        self.params.target[...], self.params.bias[...] = saved["shared"]
        resume.set_trainable_arrays(self.cnn.head.network, saved["head"])
        adam.m[...], adam.v[...], adam.t = saved["adam"]["m"], saved["adam"]["v"], int(saved["adam"]["t"])
        resume.set_generator_state(self.rng, saved["rng"])
        self.result = result_from_state(saved["result"])
        self.best = None if saved["best"] is None else [np.asarray(a, dtype=float) for a in saved["best"]]
        self.best_accuracy = float(saved["best_accuracy"])
        self.epoch, self.batch, self.step = int(saved["epoch"]), int(saved["batch"]), int(saved["step"])
        self.order = None if saved["order"] is None else np.asarray(saved["order"])
        self.loss_sum, self.right = float(saved["loss_sum"]), int(saved["right"])
        self.epoch_start, self.start = now - saved["epoch_elapsed_s"], now - saved["elapsed_s"]


def train_cnn(cnn: SpinCNN, images, labels, config: CNNTrainingConfig | None = None, *,
              validation=None, log=None, checkpoint=None) -> CNNTrainingResult:
    """Train ``cnn`` in place on images (N, C, H, W) in [0, 1] and their classes.

    Parameters
    ----------
    validation : (images, labels), optional
        Held-out images (else ``validation_fraction`` of the training images); the epoch of best
        validation accuracy is kept.
    log : callable, optional
        Called with a one-line summary after every epoch.
    checkpoint : object, optional
        Offered the loop's state after every batch and epoch, and asked for it when the run
        resumes (:mod:`rfemu.learning.resume`, loop :data:`CHECKPOINT_LOOP`); the resumed loop's
        results equal those of the loop left alone bit for bit.
    """
    config = config or CNNTrainingConfig()
    x, y = np.asarray(images, dtype=float), np.asarray(labels)
    rng = as_generator(config.seed)
    if validation is None and config.validation_fraction > 0:
        tr, va = stratified_split(y, config.validation_fraction, seed=rng)
        validation, x, y = (x[va], y[va]), x[tr], y[tr]
    if config.calibrate_bias:
        calibrate_cnn_bias(cnn, x[rng.permutation(len(x))[:2000]])
    params = _Trainables(cnn, config)
    params.write(config, rng)
    loop = _Loop(cnn, params, rng)
    saved = checkpoint.restore(CHECKPOINT_LOOP) if checkpoint is not None else None
    if saved is not None:
        loop.restore(saved)
    offer = (lambda: None) if checkpoint is None else (lambda: checkpoint.offer(CHECKPOINT_LOOP, loop.state))
    n_batches = -(-len(x) // config.batch_size)
    while loop.epoch < config.epochs:
        if loop.batch == 0:
            loop.begin_epoch(rng.permutation(len(x)))
        while loop.batch < n_batches:
            _train_batch(cnn, params, loop, x, y, config, n_batches)
            if loop.batch < n_batches:
                offer()
        _end_epoch(cnn, params, loop, len(x), config, validation, log)
        if loop.epoch < config.epochs:
            offer()
    result = loop.result
    if loop.best is not None:
        params.restore(loop.best, config, rng)
    else:
        result.best_epoch = config.epochs - 1
    result.seconds = time.perf_counter() - loop.start
    return result


def _train_batch(cnn, params, loop, x, y, config, n_batches) -> None:
    """One gradient step on the loop's next batch (its images shifted, Adam, every copy written)."""
    i = loop.batch
    idx = loop.order[i * config.batch_size:(i + 1) * config.batch_size]
    xb = shift_images(x[idx], config.shift_augmentation, loop.rng)
    fwd = cnn.forward(xb, keep=True)
    loss, g = softmax_cross_entropy(fwd.scores * config.score_scale, y[idx])
    grad = cnn.backward(fwd, g * config.score_scale)
    factor = learning_rate_factor(config.learning_rate_schedule, loop.step, config.epochs * n_batches,
                                  config.final_learning_rate_fraction)
    params.step(grad, factor, config, loop.rng)
    loop.step += 1
    loop.loss_sum += loss * len(idx)
    loop.right += int(np.sum(fwd.scores.argmax(axis=1) == y[idx]))
    loop.batch = i + 1


def _end_epoch(cnn, params, loop, n_images, config, validation, log) -> None:
    """The epoch's curve entries, its validation (the best epoch's arrays kept), the log line."""
    result, epoch = loop.result, loop.epoch
    result.epoch_seconds.append(time.perf_counter() - loop.epoch_start)
    result.train_loss.append(loop.loss_sum / n_images)
    result.train_accuracy.append(loop.right / n_images)
    line = f"epoch {epoch + 1}/{config.epochs}: loss {result.train_loss[-1]:.4f} " \
           f"train {100 * result.train_accuracy[-1]:.2f} % ({result.epoch_seconds[-1]:.0f} s)"
    result.score_scale.append(config.score_scale)
    result.validation_loss.append(float("nan"))
    result.validation_accuracy.append(float("nan"))
    if validation is not None:
        acc = cnn_accuracy(cnn, *validation)
        result.validation_accuracy[-1] = acc
        line += f" validation {100 * acc:.2f} %"
        if acc > loop.best_accuracy:
            loop.best_accuracy, loop.best, result.best_epoch = acc, params.snapshot(), epoch
    if log is not None:
        log(line)
    loop.epoch, loop.batch = epoch + 1, 0


# --------------------------------------------------------------------------------------------
# the registry entry (training.rule: cnn_backprop)
# --------------------------------------------------------------------------------------------

def _train_entry(context: TrainingContext) -> TrainingOutcome:
    """Backpropagation of a network with a convolution (``network.conv``): :func:`train_cnn` on
    the run's :class:`SpinCNN`, the scenario's ``training`` keys by name, every copy written with
    the devices' ``write_noise`` (``devices.frequency_state``)."""
    cnn = context.network
    if not isinstance(cnn, SpinCNN):
        raise SettingError(("rule",), "cnn_backprop trains a network with a convolution (network.conv)")
    fs = context.frequency_state
    config = CNN_BACKPROP.make_config(context, seed=context.seed("training"), progress=context.progress,
                                      write_noise=float(getattr(fs, "write_noise", 0.0) or 0.0))
    g = cnn.conv.geometry
    images = np.asarray(context.features, dtype=float).reshape(-1, g.in_channels, g.height, g.width)
    result = train_cnn(cnn, images, context.labels, config, checkpoint=context.checkpoint)
    metrics = {"epochs_run": len(result.train_loss), "best_epoch": result.best_epoch + 1,
               "cnn_epoch_s": float(np.median(result.epoch_seconds)),
               "conv_copies": int(cnn.conv.n_copies)}
    return TrainingOutcome(result, metrics, {"training_s": result.seconds})


CNN_BACKPROP = register(TrainingRule(
    "cnn_backprop", _train_entry, CNNTrainingConfig, (),
    reports=("epochs_run", "best_epoch", "cnn_epoch_s", "conv_copies"),
    summary="backpropagation of a network with a convolution (network.conv) through the compiled "
            "engine; the parallel copies share one target"))
