"""The local rules' entries in the training-rule registry (:mod:`rfemu.learning.rules`).

``training.rule: perturbative`` or ``feedback_alignment`` trains the network on the chip with that
rule (:func:`rfemu.learning.local.train.train_on_chip`), settings under ``training.on_chip``
(:class:`~rfemu.learning.local.config.OnChipRuleConfig`), the junctions writing through their
frequency states with the devices' write physics (``context.frequency_state`` when the run gives
it, else :class:`~rfemu.learning.local.state.WriteSettings`' defaults).
"""
from __future__ import annotations

import math

import numpy as np

from rfemu.learning.backprop import LearningCurve
from rfemu.learning.local.config import OnChipRuleConfig
from rfemu.learning.local.state import WriteSettings
from rfemu.learning.local.train import train_on_chip
from rfemu.learning.rules import TrainingContext, TrainingOutcome, TrainingRule, register

__all__ = ["PERTURBATIVE", "FEEDBACK_ALIGNMENT", "write_settings", "as_learning_curve"]

REPORTS = ("on_chip_writes", "on_chip_write_energy_J", "on_chip_simulated_time_s", "on_chip_stuck_junctions",
           "on_chip_max_writes_per_junction", "on_chip_junction_updates", "on_chip_curve")


def write_settings(frequency_state) -> WriteSettings:
    """The junctions' :class:`WriteSettings` from a frequency-state settings object (the
    scenario's ``devices.frequency_state``: step, write_noise, write_latency, write_energy,
    endurance, drift_rate), or the defaults for None."""
    if frequency_state is None:
        return WriteSettings()

    def get(name, default):
        value = getattr(frequency_state, name, default)
        return default if value is None else value

    return WriteSettings(step=get("step", 0.0), write_noise=get("write_noise", 0.0),
                         write_latency=get("write_latency", 10e-9), write_energy=get("write_energy", 1e-13),
                         endurance=get("endurance", math.inf), drift_rate=get("drift_rate", 0.0))


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


def _train(name):
    def train(context: TrainingContext) -> TrainingOutcome:
        config = ON_CHIP_ENTRIES[name].make_config(context, seed=context.seed("training"))
        writes = write_settings(context.frequency_state)
        result = train_on_chip(context.network, context.features, context.labels, config.rule(name),
                               config.loop(), writes, n_threads=context.n_threads or 1)
        log = result.states.log.arrays()
        per_junction = np.bincount(log["junction"], minlength=result.states.n_junctions)
        c = result.curve
        metrics = {
            "on_chip_writes": int(result.states.log.count),
            "on_chip_write_energy_J": float(result.states.log.energy),
            "on_chip_simulated_time_s": float(result.simulated_time),
            "on_chip_stuck_junctions": int(result.states.stuck.sum()),
            "on_chip_max_writes_per_junction": int(per_junction.max(initial=0)),
            "on_chip_junction_updates": int(result.junction_updates),
            "on_chip_curve": {"window": c.window, "time_s": c.time, "writes": c.writes,
                              "energy_J": c.energy, "accuracy": c.accuracy},
        }
        return TrainingOutcome(as_learning_curve(result, config.score_scale), metrics,
                               {"training_s": result.seconds})
    train.__doc__ = f"On-chip learning with the {name} rule (:func:`rfemu.learning.local.train_on_chip`)."
    return train


PERTURBATIVE = register(TrainingRule(
    "perturbative", _train("perturbative"), OnChipRuleConfig, ("on_chip",), reports=REPORTS,
    summary="on-chip learning, perturbative (multiplexed gradient descent): each junction dithers "
            "its own frequency, correlates the broadcast cost with its dither and writes its state"))
FEEDBACK_ALIGNMENT = register(TrainingRule(
    "feedback_alignment", _train("feedback_alignment"), OnChipRuleConfig, ("on_chip",), reports=REPORTS,
    summary="on-chip learning, direct feedback alignment through each junction's own line slope"))
ON_CHIP_ENTRIES = {"perturbative": PERTURBATIVE, "feedback_alignment": FEEDBACK_ALIGNMENT}
