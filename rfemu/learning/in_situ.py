"""Chip-in-the-loop fine-tuning: forward on the emulated chip, gradient through the static model.

Offline training (:mod:`rfemu.learning.backprop`) optimises the static device models: steady
oscillator powers and frequencies, tones with Lorentzian lines. The chip run in the event engine
with thermal noise on differs from them systematically, not only by fluctuations: a neuron's power
and frequency fluctuate together (its frequency follows its power through the non-linear
frequency shift), so the averaged rectified voltage <P W(f)> through the non-linear line shape is
not P0 W(f0). The offset grows as eta N^2 (measured on the trained two-neuron circles chip of
Ross et al. 2023: -0.02 mV at E0 = 2e-17 J, -0.07 mV at 6e-18 J, -0.2 to -0.6 mV at 2e-18 J,
against class-score margins of about 0.16 mV), and it moves the decision boundary.

Physics-aware training (L. G. Wright et al., Nature 601, 549 (2022)) closes that gap: each
mini-batch runs on the chip (here the event engine, noise and all), the loss is taken at the
chip's outputs, and its gradient is propagated back through the static model evaluated at the same
inputs (:func:`rfemu.learning.backprop.backward`): the model gives the direction, the chip the
values. The trained parameters are the same physical ones (tuning states inside their windows,
bias voltages); Adam.

Each batch builds a fresh :class:`~rfemu.engines.event.EventEngine` on the network as it now is.
With ``writes`` the tuning states change only through the junctions' non-volatile frequency
states (:class:`rfemu.learning.local.JunctionStates`: each junction accumulates Adam's steps and
writes past its threshold, quantised, with write noise, window, endurance and energy, every
write logged); without, Adam's values are taken as they are (ideal writes). The cost is the
event engine's per inference, so this is for small chips (the 9-junction chip: about 10 ms per
sample).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from rfemu.engines.compiled import CompiledEngine
from rfemu.learning.backprop import (LearningCurve, TrainingResult, _Adam, _as_network, _samples, backward,
                                     softmax_cross_entropy)
from rfemu.rng import as_generator


@dataclass(frozen=True)
class InSituConfig:
    """Settings of :func:`train_in_situ` (SI units).

    Parameters
    ----------
    epochs : int
        Passes over the training samples.
    batch_size : int
        Samples per Adam step (each one an inference on the chip).
    frequency_learning_rate : float
        Hz: Adam step of the tuning states.
    bias_learning_rate : float
        V: Adam step of the bias voltages.
    score_scale : float
        1/V: logits = score_scale * the chip's output voltages. Large (3e4: logits in 33 uV) so
        that the loss works on the samples the chip gets wrong or nearly wrong (measured on the
        circles chip, 6 passes over 160 samples: 99.5 % with 3e4, 96 % with 1e4, 80 % with 3e3).
    final_learning_rate_fraction : float
        The step sizes fall linearly from 1 to this fraction of themselves over the run.
    beta1, beta2, adam_epsilon : float
    seed : int or None
        Seed of the shuffling and of the chip's noise.
    progress : bool
        Show a tqdm progress bar over batches.
    """

    epochs: int = field(default=10, metadata={
        "ge": 0, "scenario_default": 0,
        "help": "Passes over the training samples on the chip (0: off)."})
    batch_size: int = field(default=32, metadata={
        "gt": 0,
        "help": "Samples per Adam step (each one an inference on the chip)."})
    frequency_learning_rate: float = field(default=3e4, metadata={
        "unit": "Hz", "gt": 0,
        "help": "Adam step of the tuning states."})
    bias_learning_rate: float = field(default=3e-5, metadata={
        "unit": "V", "gt": 0,
        "help": "Adam step of the bias voltages."})
    score_scale: float = field(default=3e4, metadata={
        "unit": "1/V", "gt": 0,
        "help": "Logits = score_scale x the chip's output voltages (large: the loss works on the "
                "samples the chip gets wrong or nearly wrong)."})
    final_learning_rate_fraction: float = field(default=0.1, metadata={
        "unit": "", "ge": 0, "le": 1,
        "help": "The steps fall linearly to this fraction of themselves over the run."})
    beta1: float = field(default=0.9, metadata={
        "unit": "", "ge": 0, "lt": 1,
        "help": "Adam's first-moment decay."})
    beta2: float = field(default=0.999, metadata={
        "unit": "", "ge": 0, "lt": 1,
        "help": "Adam's second-moment decay."})
    adam_epsilon: float = field(default=1e-8, metadata={
        "unit": "", "gt": 0,
        "help": "Adam's epsilon."})
    seed: int | None = field(default=0, metadata={
        "scenario": False,
        "help": "the run's in-situ random stream"})
    progress: bool = field(default=True, metadata={
        "scenario": False,
        "help": "the command line's progress bar"})

    def __post_init__(self):
        def check(cond, msg):
            if not cond:
                raise ValueError(msg)
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            check(int(v) == v and v >= 1, f"{name} must be an integer >= 1, got {v!r}")
        for name in ("frequency_learning_rate", "bias_learning_rate", "score_scale"):
            v = getattr(self, name)
            check(math.isfinite(v) and v > 0, f"{name} must be positive, got {v!r}")
        check(0 <= self.final_learning_rate_fraction <= 1,
              f"final_learning_rate_fraction must be in [0, 1], got {self.final_learning_rate_fraction!r}")
        check(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1,
              f"beta1, beta2 must be in [0, 1), got {self.beta1!r}, {self.beta2!r}")


def _junction_states(net, writes, rng):
    """The junctions' learning state for ``writes`` (None: none, ideal writes)."""
    if writes is None:
        return None
    from rfemu.learning.local.state import JunctionStates, WriteSettings
    if isinstance(writes, JunctionStates):
        if writes.network is not net:
            raise ValueError("writes: the JunctionStates must be built on the network being trained")
        return writes
    if not isinstance(writes, WriteSettings):
        raise TypeError(f"writes must be WriteSettings, JunctionStates or None, not {type(writes).__name__}")
    return JunctionStates(net, writes, seed=rng.spawn(1)[0])


def _write_step(states, opt_f, net, g_tuning, factor, now):
    """Adam's step of the tuning states as requests to the junctions: each junction accumulates
    its change and writes past its threshold (the tuning arrays follow the frequency states)."""
    proposed = [layer.tuning.copy() for layer in net.layers]
    opt_f.step(proposed, g_tuning, factor)
    states.accumulate(np.concatenate([(p - layer.tuning).ravel() for p, layer in zip(proposed, net.layers)]))
    states.commit(now)


def _state(next_epoch, step, chip_time, net, optimisers, rng, history, states, elapsed) -> dict:
    """What the epochs after ``next_epoch - 1`` start from (:mod:`rfemu.learning.resume`)."""
    from rfemu.learning import resume
    return {"next_epoch": int(next_epoch), "step": int(step), "chip_time": float(chip_time),
            "network": resume.trainable_arrays(net), "rng": resume.generator_state(rng),
            "optimisers": [{"m": o.m.copy(), "v": o.v.copy(), "t": int(o.t)} for o in optimisers],
            "history": resume.curve_state(history), "elapsed_s": float(elapsed),
            "junctions": None if states is None else resume.junction_states_state(states)}


def _restore(saved, net, optimisers, rng, history, states) -> None:
    """Put :func:`_state` back (after the same set-up as a fresh start)."""
    from rfemu.learning import resume
    resume.set_trainable_arrays(net, saved["network"])
    resume.set_generator_state(rng, saved["rng"])
    for o, s in zip(optimisers, saved["optimisers"], strict=True):
        o.m[...], o.v[...], o.t = s["m"], s["v"], int(s["t"])
    resume.set_curve_state(history, saved["history"])
    if states is not None:
        resume.set_junction_states_state(states, saved["junctions"])


def train_in_situ(network, features, labels, event_config=None, config: InSituConfig | None = None,
                  energy_model=None, writes=None, checkpoint=None) -> TrainingResult:
    """Fine-tune a trained network on the emulated chip (physics-aware training).

    Parameters
    ----------
    network : networkx.DiGraph, CompiledNetwork or CompiledEngine
        The chip's devices with their trained state; a CompiledNetwork is trained in place.
    features : array (N, inputs)
        Features in [0, 1].
    labels : array (N,) of int
        Class indices, one output chain per class.
    event_config : rfemu.engines.event.EventConfig
        How the chip runs (noise on, readout bandwidth, ...).
    config : InSituConfig
    energy_model : rfemu.devices.energy.EnergyModel, optional
    writes : rfemu.learning.local.WriteSettings or rfemu.learning.local.JunctionStates, optional
        Write every Adam step of the tuning states through the junctions' non-volatile frequency
        states (:class:`rfemu.learning.local.JunctionStates`: volatile accumulators, writes past
        the threshold, quantisation, write noise, window, endurance, energy; every write logged,
        timed on the chips' simulated clock). Pass a JunctionStates built on the same network to
        read its log afterwards. None: the tuning arrays take Adam's values directly (ideal writes).
    checkpoint : object, optional
        Saves the state after an epoch when one is due and gives it back when a run resumes
        (:mod:`rfemu.learning.resume`, loop ``"in_situ"``): tuning states, biases, Adam moments,
        the generator, the junctions' learning state, the simulated clock, the curve.

    Returns
    -------
    TrainingResult
        ``history``: per epoch the loss and accuracy of the chip's outputs on the batches as they
        were trained (``validation_*`` NaN); ``kernel_seconds`` is the static model's.
    """
    from rfemu.engines.event import EventEngine

    config = config or InSituConfig()
    net = _as_network(network)
    x, y = _samples(net, features, labels)
    rng = as_generator(config.seed)
    model = CompiledEngine(net, n_threads=1)
    states = _junction_states(net, writes, rng)
    opt_f = _Adam([layer.tuning.shape for layer in net.layers], config.frequency_learning_rate, config.beta1,
                  config.beta2, config.adam_epsilon,
                  bounds=([layer.tuning_min for layer in net.layers], [layer.tuning_max for layer in net.layers]))
    opt_b = _Adam([layer.bias_voltage.shape for layer in net.layers], config.bias_learning_rate, config.beta1,
                  config.beta2, config.adam_epsilon)
    history = LearningCurve()
    n_batches = -(-len(y) // config.batch_size)
    total = config.epochs * n_batches
    bar = None
    if config.progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=total, desc="in-situ training", unit="batch", leave=False)
    t_start = time.perf_counter()
    step = 0
    chip_time = 0.0            # s, simulated: the chips' runs one after the other
    first = 0
    saved = checkpoint.restore("in_situ") if checkpoint is not None else None
    if saved is not None:
        first, step, chip_time = int(saved["next_epoch"]), int(saved["step"]), float(saved["chip_time"])
        _restore(saved, net, (opt_f, opt_b), rng, history, states)
        t_start -= saved["elapsed_s"]
        if bar is not None:
            bar.update(step)
    try:
        for epoch in range(first, config.epochs):
            t0 = time.perf_counter()
            order = rng.permutation(len(y))
            losses, correct = [], 0
            for b in range(n_batches):
                idx = order[b * config.batch_size:(b + 1) * config.batch_size]
                model.invalidate()
                static = model.forward(x[idx], keep=True)
                chip = EventEngine(net, config=event_config, seed=rng, energy_model=energy_model)
                outputs = chip.run(x[idx]).outputs
                loss, grad = softmax_cross_entropy(config.score_scale * outputs, y[idx])
                g_tuning, g_bias = backward(model, static, config.score_scale * grad)
                factor = 1.0 - (1.0 - config.final_learning_rate_fraction) * step / max(total - 1, 1)
                if states is None:
                    opt_f.step([layer.tuning for layer in net.layers], g_tuning, factor)
                else:
                    chip_time += chip.env.now
                    _write_step(states, opt_f, net, g_tuning, factor, chip_time)
                opt_b.step([layer.bias_voltage for layer in net.layers], g_bias, factor)
                losses.append(loss * len(idx))
                correct += int(np.sum(np.argmax(outputs, axis=1) == y[idx]))
                step += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.4f}")
            history.train_loss.append(float(np.sum(losses) / len(y)))
            history.train_accuracy.append(correct / len(y))
            history.validation_loss.append(float("nan"))
            history.validation_accuracy.append(float("nan"))
            history.score_scale.append(config.score_scale)
            history.seconds.append(time.perf_counter() - t0)
            if checkpoint is not None and epoch + 1 < config.epochs:
                checkpoint.offer("in_situ", lambda: _state(epoch + 1, step, chip_time, net, (opt_f, opt_b), rng,
                                                           history, states, time.perf_counter() - t_start))
    finally:
        if bar is not None:
            bar.close()
    model.invalidate()
    return TrainingResult(network=net, engine=model, history=history, best_epoch=config.epochs,
                          stopped_early=False, score_scale=config.score_scale,
                          seconds=time.perf_counter() - t_start, kernel_seconds=model.kernel_seconds)
