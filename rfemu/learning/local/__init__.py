"""On-chip learning with local rules: junctions that sense locally and write their own
non-volatile frequency states.

- :mod:`~rfemu.learning.local.view`   what a junction may know (:class:`LocalView`, :func:`is_local`)
- :mod:`~rfemu.learning.local.state`  volatile accumulators, frequency states, the write log
- :mod:`~rfemu.learning.local.chip`   the chip's physics batched per line: K dithered copies, the
  junctions' own voltages and slopes
- :mod:`~rfemu.learning.local.rules`  perturbative learning (multiplexed gradient descent) and
  direct feedback alignment
- :mod:`~rfemu.learning.local.train`  the learning loop on a simulated clock
- :mod:`~rfemu.learning.local.agents` the same learning in the event engine: junction agents whose
  processes wake only to write, writes as events with the device's latency and energy
- :mod:`~rfemu.learning.local.config`, :mod:`~rfemu.learning.local.entries`  the settings
  (``training.on_chip``) and the training-rule registry entries
- :mod:`~rfemu.learning.local.report`  a run as a Dataset (netCDF) and figures
- :mod:`~rfemu.learning.local.equilibrium`  why equilibrium propagation does not apply (measured)
"""
from rfemu.learning.local.chip import LearningChip, cross_entropy_per_copy
from rfemu.learning.local.rules import CODES, FeedbackAlignmentRule, PerturbativeRule
from rfemu.learning.local.state import JunctionStates, WriteLog, WriteSettings
from rfemu.learning.local.train import (OnChipConfig, OnChipCurve, OnChipResult, backprop_gradient, sense,
                                        train_on_chip)
from rfemu.learning.local.view import LocalView, is_local

__all__ = ["LearningChip", "cross_entropy_per_copy", "CODES", "FeedbackAlignmentRule", "PerturbativeRule",
           "JunctionStates", "WriteLog", "WriteSettings", "OnChipConfig", "OnChipCurve", "OnChipResult",
           "backprop_gradient", "sense", "train_on_chip", "LocalView", "is_local"]
