"""Learning rules. :mod:`rfemu.learning.backprop` is the offline baseline (analytic gradients
through the static device models, Adam); :mod:`rfemu.learning.restarts` trains small chips from
several random programmings; :mod:`rfemu.learning.in_situ` fine-tunes on the emulated chip
(forward on the event engine, gradient through the static model); :mod:`rfemu.learning.mlp` a
plain numpy MLP used as the software reference of the benchmarks. :mod:`rfemu.learning.rules` is
the registry of training rules by name (``training.rule``): one entry per rule."""
from rfemu.learning.backprop import (
    VARIABILITY_MODES, LearningCurve, TrainingConfig, TrainingResult, backward, calibrate_bias, calibrate_resonances,
    softmax_cross_entropy,
    stratified_split, train,
)
from rfemu.learning.rules import RULES, TrainingRule, get_rule, register, rule_names

__all__ = ["VARIABILITY_MODES", "LearningCurve", "TrainingConfig", "TrainingResult", "backward", "calibrate_bias", "calibrate_resonances",
           "softmax_cross_entropy", "stratified_split", "train",
           "RULES", "TrainingRule", "get_rule", "register", "rule_names"]
