"""The local rules' entries in the training-rule registry (:mod:`rfemu.learning.rules`).

``training.rule: perturbative`` or ``feedback_alignment`` trains the network on the chip with that
rule (:func:`rfemu.learning.local.train.train_on_chip`), settings under ``training.on_chip``
(:class:`~rfemu.learning.local.config.OnChipRuleConfig`), the junctions writing through their
frequency states with the devices' write physics (``context.frequency_state`` when the run gives
it, else :class:`~rfemu.learning.local.state.WriteSettings`' defaults).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from rfemu.learning import resume
from rfemu.learning.backprop import LearningCurve
from rfemu.learning.local.config import OnChipRuleConfig, write_settings
from rfemu.learning.local.report import run_traces
from rfemu.learning.local.train import learn_screened, train_on_chip
from rfemu.learning.restarts import random_state
from rfemu.learning.rules import TrainingContext, TrainingOutcome, TrainingRule, register

__all__ = ["PERTURBATIVE", "FEEDBACK_ALIGNMENT", "write_settings", "as_learning_curve"]

REPORTS = ("on_chip_writes", "on_chip_write_energy_J", "on_chip_simulated_time_s", "on_chip_stuck_junctions",
           "on_chip_max_writes_per_junction", "on_chip_junction_updates", "on_chip_curve",
           "on_chip_restart_validation_accuracy", "on_chip_best_accuracy", "on_chip_time_to_best_s",
           "on_chip_writes_to_best", "on_chip_write_energy_to_best_J")


def as_learning_curve(result, score_scale) -> LearningCurve:
    """The on-chip curve as a :class:`~rfemu.learning.backprop.LearningCurve` (one 'epoch' per
    evaluation point: the cost of the windows since the last one, the accuracy then; the
    followed junctions' frequencies as its snapshots)."""
    curve = LearningCurve()
    c = result.curve
    nodes = [node for layer in result.network.layers for row in layer.resonator_nodes for node in row]
    curve.snapshot_nodes = [nodes[i] for i in c.followed]
    curve.snapshot_frequency = [np.asarray(f) for f in c.frequency]
    curve.train_loss = list(c.cost[1:])
    curve.train_accuracy = list(c.accuracy[1:])
    curve.validation_loss = [float("nan")] * len(curve.train_loss)
    curve.validation_accuracy = [float("nan")] * len(curve.train_loss)
    curve.score_scale = [score_scale] * len(curve.train_loss)
    return curve


def _setting(settings, key, default):
    if isinstance(settings, Mapping):
        return settings.get(key, default)
    return getattr(settings, key, default)


def screening_schedule(programmings: int, first_windows: int, last_windows: int) -> list[int]:
    """The windows of each learning of :func:`~rfemu.learning.local.train.learn_screened`, in
    order: every live programming learns ``first_windows`` x 2^round while more than one is left
    (the better half goes on), the survivor ``last_windows``."""
    alive, windows, schedule = int(programmings), int(first_windows), []
    while alive > 1:
        schedule += [windows] * alive
        alive, windows = max(1, alive // 2), 2 * windows
    return schedule + [int(last_windows)]


def _bar(shown: bool, total: int, desc: str, unit: str, initial: int = 0):
    """A tqdm bar on stderr with the time left (disabled when not ``shown``), redrawn at every
    update (a restart or a learning takes seconds to hours)."""
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, leave=False, disable=not shown,
                mininterval=0, miniters=1)


def _counting(make_rule, schedule, bar):
    """``make_rule`` that advances ``bar`` by the finished learning's windows (``schedule``) each
    time a new learning asks for its rule."""
    started = []

    def make():
        if started and len(started) <= len(schedule):
            bar.update(schedule[len(started) - 1])
        started.append(True)
        return make_rule()
    return make


def _restarts(context, name, config, writes, restarts, initial_state, bias_range):
    """Learn on chip from ``restarts`` programmings (the first from the network as it is unless
    ``initial_state`` is "uniform", the others uniform in the windows, hidden biases uniform in
    ``bias_range``: (0, initial_bias_max) volts or "active", the neurons' active windows, see
    :func:`rfemu.learning.restarts.random_state`) on the last four fifths of the samples; keep the
    one whose chip classifies the first fifth best. Returns (kept result, validation accuracies)."""
    x, y = np.asarray(context.features, dtype=float), np.asarray(context.labels)
    n_val = max(1, len(y) // 5)
    rng = np.random.default_rng(context.streams["restarts"]) if "restarts" in context.streams else \
        np.random.default_rng(config.seed)
    best, scores = None, []
    progress = bool(getattr(context, "progress", False))
    if config.screen_windows > 0:          # successive halving (rfemu.learning.local.train.learn_screened)
        nets = [context.network.copy() for _ in range(int(restarts))]
        for r, net in enumerate(nets):
            if r > 0 or initial_state == "uniform":
                random_state(net, rng, bias_range=bias_range)
        schedule = screening_schedule(len(nets), config.screen_windows, config.loop().windows)
        with _bar(progress, sum(schedule), "on-chip screening", "window") as bar:
            best, scores = learn_screened(nets, x[n_val:], y[n_val:], (x[:n_val], y[:n_val]),
                                          _counting(lambda: config.rule(name), schedule, bar),
                                          dataclasses.replace(config.loop(), progress=progress), writes,
                                          config.screen_windows, n_threads=context.n_threads or 1,
                                          checkpoint=context.checkpoint)
            bar.update(bar.total - bar.n)
        restarts = 0
    ckpt = context.checkpoint if restarts else None       # checkpointed: rfemu.learning.resume
    saved = ckpt.restore("on_chip_restarts") if ckpt is not None else None
    first = 0
    if saved is not None:
        resume.set_generator_state(rng, saved["rng"])
        first, scores = int(saved["restart"]), list(saved["scores"])
        best = None if saved["best"] is None else resume.on_chip_result(saved["best"], context.network.copy(), writes)
    bar = _bar(progress and restarts > 0, int(restarts), "on-chip restarts", "restart", initial=first)
    for r in range(first, int(restarts)):
        at_start = resume.generator_state(rng)
        net = context.network.copy()
        if r > 0 or initial_state == "uniform":
            random_state(net, rng, bias_range=bias_range)
        loop = dataclasses.replace(config.loop(), seed=None if config.seed is None else config.seed + r,
                                   progress=progress)
        inner = None if ckpt is None else resume.NestedCheckpoint(
            ckpt, "on_chip_restarts",
            lambda: resume.restarts_state(r, scores, best, at_start, resume.on_chip_result_state),
            saved.get("inner") if saved is not None and saved["restart"] == r else None)
        result = train_on_chip(net, x[n_val:], y[n_val:], config.rule(name), loop, writes,
                               evaluation=(x[:n_val], y[:n_val]), n_threads=context.n_threads or 1, checkpoint=inner)
        scores.append(float(result.curve.accuracy[-1]))
        if best is None or scores[-1] > max(scores[:-1]):
            best = result
        if ckpt is not None and r + 1 < restarts:
            ckpt.offer("on_chip_restarts", lambda: resume.restarts_state(
                r + 1, scores, best, resume.generator_state(rng), resume.on_chip_result_state))
        bar.update(1)
    bar.close()
    context.network.set_trainable_state(best.network.trainable_state())
    best.network = context.network
    return best, scores


def _train(name):
    def train(context: TrainingContext) -> TrainingOutcome:
        config = ON_CHIP_ENTRIES[name].make_config(context, seed=context.seed("training"))
        writes = write_settings(context.frequency_state)
        t = context.settings
        restarts = int(_setting(t, "restarts", 1))
        initial_state = _setting(t, "initial_state", "plan")
        metrics = {}
        if restarts > 1 or initial_state == "uniform":
            bias_range = "active" if _setting(t, "initial_bias", "uniform") == "active" else \
                (0.0, float(_setting(t, "initial_bias_max", 0.02)))
            result, scores = _restarts(context, name, config, writes, restarts, initial_state, bias_range)
            metrics["on_chip_restart_validation_accuracy"] = scores
        else:
            result = train_on_chip(context.network, context.features, context.labels, config.rule(name),
                                   dataclasses.replace(config.loop(), progress=context.progress), writes,
                                   n_threads=context.n_threads or 1,
                                   checkpoint=context.checkpoint)
        log = result.states.log.arrays()
        per_junction = np.bincount(log["junction"], minlength=result.states.n_junctions)
        c = result.curve
        metrics.update({
            "on_chip_writes": int(result.states.log.count),
            "on_chip_write_energy_J": float(result.states.log.energy),
            "on_chip_simulated_time_s": float(result.simulated_time),
            "on_chip_stuck_junctions": int(result.states.stuck.sum()),
            "on_chip_max_writes_per_junction": int(per_junction.max(initial=0)),
            "on_chip_junction_updates": int(result.junction_updates),
            "on_chip_curve": {"window": c.window, "time_s": c.time, "writes": c.writes,
                              "energy_J": c.energy, "accuracy": c.accuracy},
        })
        best = int(np.argmax(c.accuracy))          # the first point at the curve's best accuracy
        metrics.update({"on_chip_best_accuracy": float(c.accuracy[best]),
                        "on_chip_time_to_best_s": float(c.time[best]),
                        "on_chip_writes_to_best": int(c.writes[best]),
                        "on_chip_write_energy_to_best_J": float(c.energy[best])})
        measured_on = "validation fifth" if "on_chip_restart_validation_accuracy" in metrics else "training samples"
        traces = run_traces(result, "on_chip", rule=name, measured_on=measured_on)
        return TrainingOutcome(as_learning_curve(result, config.score_scale), metrics,
                               {"training_s": result.seconds}, traces=traces)
    train.__doc__ = (f"On-chip learning with the {name} rule (:func:`rfemu.learning.local.train_on_chip`), "
                     "from several random programmings with training.restarts > 1 or initial_state: uniform.")
    return train


PERTURBATIVE = register(TrainingRule(
    "perturbative", _train("perturbative"), OnChipRuleConfig, ("on_chip",), reports=REPORTS,
    summary="on-chip learning, perturbative (multiplexed gradient descent): each junction dithers "
            "its own frequency, correlates the broadcast cost with its dither and writes its state"))
FEEDBACK_ALIGNMENT = register(TrainingRule(
    "feedback_alignment", _train("feedback_alignment"), OnChipRuleConfig, ("on_chip",), reports=REPORTS,
    summary="on-chip learning, direct feedback alignment through each junction's own line slope"))
ON_CHIP_ENTRIES = {"perturbative": PERTURBATIVE, "feedback_alignment": FEEDBACK_ALIGNMENT}
