"""Settings of the on-chip local rules (scenario section ``training.on_chip``).

One dataclass for both rules (:class:`~rfemu.learning.local.rules.PerturbativeRule`,
:class:`~rfemu.learning.local.rules.FeedbackAlignmentRule`): the learning loop's settings and the
rules' step; ``steps``, ``code`` and ``dither_fraction`` are the perturbative rule's. The
junctions' write physics (quantisation, write noise, latency, energy, endurance, drift) are the
devices' (``devices.frequency_state``), not settings of the rule.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from rfemu.learning.local.rules import CODES, FeedbackAlignmentRule, PerturbativeRule
from rfemu.learning.local.state import WriteSettings
from rfemu.learning.local.train import RECALLS, TRIMS, OnChipConfig

__all__ = ["OnChipRuleConfig", "write_settings"]


@dataclass(frozen=True)
class OnChipRuleConfig:
    """Settings of an on-chip learning run with a local rule (SI units)."""

    windows: int = field(default=500, metadata={
        "gt": 0, "help": "Learning windows: each one mini-batch on the chip and one local update."})
    batch_size: int = field(default=32, metadata={
        "gt": 0, "help": "Samples per learning window."})
    learning_rate: float = field(default=0.3, metadata={
        "unit": "", "gt": 0,
        "help": "Step in units of each junction's own half width: a junction moves by "
                "-learning_rate D^2 x its estimate of dC/df."})
    score_scale: float = field(default=1e3, metadata={
        "unit": "1/V", "gt": 0, "help": "The cost: cross-entropy of softmax(score_scale x output voltages)."})
    sample_time: float = field(default=10e-6, metadata={
        "unit": "s", "gt": 0, "help": "Presentation of one sample on the simulated clock."})
    evaluate_every: int = field(default=25, metadata={
        "gt": 0, "help": "Windows between two points of the learning curve."})
    readout_noise: float = field(default=0.0, metadata={
        "unit": "V", "ge": 0, "help": "V rms on every reading of an output chain's voltage by the learning "
                                      "circuit (the cost and errors the rules see are noisy)."})
    thermal_noise: bool = field(default=False, metadata={
        "help": "The learning chip senses with the neurons' thermal noise (noise-averaged class scores: "
                "power fluctuations with the frequency following), as the noisy chip runs."})
    final_step_fraction: float = field(default=1.0, metadata={
        "unit": "", "gt": 0, "le": 1, "help": "The broadcast step gain falls from 1 to this over the windows (cosine; "
                                                "1: constant steps); with screen_windows, in the survivor's last round."})
    adaptive_step: float = field(default=0.0, metadata={
        "unit": "", "ge": 0, "help": "> 0: every junction normalises its own steps: it moves by this fraction of its "
                                     "half width times the running mean of its requests over their running rms "
                                     "(two volatile accumulators of its own history; learning_rate then sets "
                                     "nothing); 0: the rule's steps."})
    adaptive_bias_step: float = field(default=0.0, metadata={
        "unit": "V", "ge": 0, "help": "> 0: every chain normalises its bias steps the same way, this many volts a "
                                      "step (bias_dither > 0); 0: bias_learning_rate's steps."})
    cost_gain_reference: float = field(default=0.0, metadata={
        "unit": "", "ge": 0, "help": "> 0: every step is also multiplied by min(1, C / this), C the running mean of the "
                                     "broadcast cost (Polyak-like: steps shrink near a good state); 0: off."})
    recall_best: str = field(default="none", metadata={
        "choices": RECALLS, "help": "At every evaluation that beats the best so far each junction copies its frequency "
                                    "state, each chain its bias, into a volatile register; rounds: at the end of "
                                    "every screening round they write it back; end: of the last round; none: never."})
    initial_trim: str = field(default="none", metadata={
        "choices": TRIMS, "help": "Before learning every chain sets its own bias from its own mean over the training "
                                  "samples (homeostatic, local): outputs: each output chain's mean voltage to zero; "
                                  "all: each hidden neuron's mean current mid-way between threshold and saturation "
                                  "too; none: the biases as programmed. With screen_windows, in the first round."})
    final_score_scale: float = field(default=0.0, metadata={
        "unit": "1/V", "ge": 0, "help": "> 0: the cost's score scale rises geometrically from score_scale to this over "
                                        "the windows (with screen_windows, the survivor's last round): the cost "
                                        "sharpens towards the classification error; 0: constant."})
    screen_windows: int = field(default=0, metadata={
        "ge": 0, "help": "With training.restarts > 1: > 0 screens the programmings by successive halving "
                         "(each learns this many windows, the better half by validation twice as many, ..., "
                         "the last one windows more); 0: every programming learns windows."})
    steps: int = field(default=1024, metadata={
        "gt": 1, "help": "perturbative: dither steps (cost measurements) per window; sinusoid codes "
                         "stay orthogonal for up to steps - 2 junctions."})
    code: str = field(default="sinusoid", metadata={
        "choices": CODES, "help": "perturbative: each junction's dither code (sinusoid at its own "
                                  "frequency, random +-1, or one junction at a time)."})
    dither_fraction: float = field(default=0.02, metadata={
        "unit": "", "gt": 0, "help": "perturbative: dither amplitude in units of the junction's half width."})
    bias_dither: float = field(default=0.0, metadata={
        "unit": "V", "ge": 0, "help": "perturbative: > 0: every chain dithers its bias voltage too (this "
                                      "amplitude, its own code) and learns it (volatile, no write)."})
    bias_learning_rate: float = field(default=0.0, metadata={
        "unit": "V^2", "ge": 0, "help": "perturbative: a chain's bias step is -bias_learning_rate x its "
                                        "estimate of dC/dV_bias."})
    seed: int | None = field(default=0, metadata={
        "scenario": False, "help": "the run's training random stream"})

    def __post_init__(self):
        for name in ("windows", "batch_size", "evaluate_every", "steps"):
            v = getattr(self, name)
            if int(v) != v or v < (2 if name == "steps" else 1):
                raise ValueError(f"{name} must be an integer >= {2 if name == 'steps' else 1}, got {v!r}")
        for name in ("learning_rate", "score_scale", "sample_time", "dither_fraction"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be finite and > 0, got {v!r}")
        if self.initial_trim not in TRIMS:
            raise ValueError(f"initial_trim must be one of {TRIMS}, got {self.initial_trim!r}")
        if self.recall_best not in RECALLS:
            raise ValueError(f"recall_best must be one of {RECALLS}, got {self.recall_best!r}")
        if self.code not in CODES:
            raise ValueError(f"code must be one of {CODES}, got {self.code!r}")

    def loop(self) -> OnChipConfig:
        """The learning loop's :class:`~rfemu.learning.local.train.OnChipConfig`: every setting of
        it that this section has, under the same name."""
        return OnChipConfig(**{f.name: getattr(self, f.name) for f in fields(OnChipConfig) if hasattr(self, f.name)})

    def rule(self, name: str):
        """The rule object of ``name`` ("perturbative" or "feedback_alignment")."""
        if name == "perturbative":
            return PerturbativeRule(self.learning_rate, self.steps, self.code, self.dither_fraction,
                                    self.bias_dither, self.bias_learning_rate)
        if name == "feedback_alignment":
            return FeedbackAlignmentRule(self.learning_rate)
        raise ValueError(f"unknown local rule {name!r} (known: perturbative, feedback_alignment)")


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
