"""Training rules by name: the registry that ``training.rule`` of a scenario picks from.

An entry (:class:`TrainingRule`) is the one place of a rule: its name, the function that trains,
the dataclass of its settings and where they sit in a scenario (its config mapping), and the run
metrics it reports. Adding a rule is one entry in :data:`RULES` (through :func:`register`) plus its
test (docs/architecture.md#a-new-learning-rule).

The train function of an entry takes a :class:`TrainingContext` (the compiled network, trained
in place, the training samples, the scenario's ``training`` settings, the run's random streams and
what a chip-in-the-loop rule needs) and returns a :class:`TrainingOutcome` (the learning curve, the
metrics named in the entry's ``reports``, timings).

The config mapping is the entry's ``config`` dataclass and its home section (``training``,
``training.in_situ``, ...): :meth:`TrainingRule.make_config` fills the dataclass from the scenario
through the context's ``configure`` (the scenario layer's field metadata,
:func:`rfemu.scenario.build.from_sections`), or, without one, takes every field the settings
section holds under the same name; the train function supplies the rest (seed, progress, threads,
data-dependent settings).

Examples
--------
>>> rule_names()[:3]
('none', 'backprop', 'in_situ')
>>> get_rule("backprop").config.__name__
'TrainingConfig'
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from rfemu.learning.backprop import TrainingConfig, image_shift_augmentation, train
from rfemu.learning.in_situ import InSituConfig, train_in_situ
from rfemu.learning.local.config import write_settings
from rfemu.learning.local.report import writes_dataset
from rfemu.learning.local.state import JunctionStates
from rfemu.learning.restarts import train_restarts

__all__ = ["TrainingContext", "TrainingOutcome", "TrainingRule", "SettingError", "RULES",
           "register", "get_rule", "rule_names", "int_seed", "backprop_config"]


class SettingError(ValueError):
    """A rule refuses its settings; ``key`` is the path of the offending key under ``training``."""

    def __init__(self, key: tuple, message: str):
        super().__init__(message)
        self.key = tuple(key)


@dataclass
class TrainingContext:
    """What a rule trains and with what.

    Attributes
    ----------
    network : CompiledNetwork
        The devices, trained in place (their ``tuning`` and ``bias_voltage`` arrays).
    features, labels : ndarray
        The training samples (features in [0, 1]) and their classes.
    settings : object
        The scenario's ``training`` section (attribute or key access), the root of every rule's
        settings (:attr:`TrainingRule.section`).
    streams : mapping of str to numpy.random.SeedSequence
        The run's random streams ("training", "restarts", "in_situ", ...; see ``rfemu.api.SEED_STREAMS``).
    progress : bool
        Progress bars.
    n_threads : int or None
        Threads of the kernel.
    image_shape : tuple or None
        (height, width) of image data (shift augmentation), None otherwise.
    snapshot_junctions : int
        Junctions whose resonance is followed epoch by epoch.
    ideal_twin : callable or None
        Builds the network's ideal twin (no variability); None when there is no variability.
    event_config : EventConfig or None
        The chip's settings for rules that run on the event engine.
    energy_model : EnergyModel or None
        The energy model of those runs.
    frequency_state : object or None
        The junctions' write physics for rules that write the chip (the scenario's
        ``devices.frequency_state``: step, write_noise, write_latency, write_energy, endurance,
        drift_rate).
    configure : callable or None
        ``configure(config_class, home, **given)``: a rule's config from the scenario (the run
        passes :func:`rfemu.scenario.build.from_sections` over its sections); None: by name from
        ``settings``.
    checkpoint : object or None
        The run's checkpoints (:mod:`rfemu.learning.resume`): a rule's loop saves its state
        through it and takes it back when the run resumes; None: no checkpoints.
    """

    network: object
    features: np.ndarray
    labels: np.ndarray
    settings: object
    streams: Mapping = field(default_factory=dict)
    progress: bool = False
    n_threads: int | None = None
    image_shape: tuple | None = None
    snapshot_junctions: int = 64
    ideal_twin: Callable | None = None
    event_config: object = None
    energy_model: object = None
    frequency_state: object = None
    configure: Callable | None = None
    checkpoint: object = None

    def seed(self, stream: str) -> int:
        """An integer seed drawn from the named stream (the same for the same run seed)."""
        return int_seed(self.streams[stream])


@dataclass
class TrainingOutcome:
    """What a rule returns: its learning curve (or None), the metrics it reports (names in its
    entry's ``reports``), wall-time figures (``*_s``, s) and the traces of its learning (an
    :class:`xarray.Dataset` whose names carry the rule's prefix, e.g. ``on_chip_accuracy``, or
    None), which the run adds to its ``trace.nc`` and draws (:func:`rfemu.plots.draw_all`)."""

    history: object = None
    metrics: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    traces: object = None


@dataclass(frozen=True)
class TrainingRule:
    """One training rule (an entry of :data:`RULES`).

    Attributes
    ----------
    name : str
        The value of ``training.rule`` that picks it.
    train : callable
        ``train(context: TrainingContext) -> TrainingOutcome``.
    config : type or None
        The dataclass of its settings (None: it has none).
    section : tuple of str
        Where its settings sit under the scenario's ``training`` section (``()``: ``training.*``
        itself, ``("in_situ",)``: ``training.in_situ.*``).
    reports : tuple of str
        The run metrics it may add.
    summary : str
        One line for the key reference.
    trains : bool
        False for the rule that leaves the network as fabricated (no training accuracy then).
    """

    name: str
    train: Callable
    config: type | None = None
    section: tuple = ()
    reports: tuple = ()
    summary: str = ""
    trains: bool = True

    def settings_of(self, training):
        """This rule's settings section inside the scenario's ``training`` section."""
        node = training
        for key in self.section:
            node = node[key] if isinstance(node, Mapping) else getattr(node, key)
        return node

    @property
    def home(self) -> str:
        """The scenario path of its settings section (``training``, ``training.in_situ``, ...)."""
        return ".".join(("training",) + tuple(self.section))

    def make_config(self, source, **runtime):
        """The rule's config: from a :class:`TrainingContext` through its ``configure`` (the
        scenario's field metadata), else from the settings section (``source``, or the context's
        ``settings``) by field name; ``runtime`` (seed, progress, ...) on top."""
        if self.config is None:
            raise TypeError(f"training rule {self.name!r} has no settings")
        if isinstance(source, TrainingContext):
            if source.configure is not None:
                return source.configure(self.config, self.home, **runtime)
            source = source.settings
        section = self.settings_of(source)

        def has(name):
            return name in section if isinstance(section, Mapping) else hasattr(section, name)

        def get(name):
            return section[name] if isinstance(section, Mapping) else getattr(section, name)

        values = {f.name: get(f.name) for f in dataclasses.fields(self.config) if has(f.name)}
        values.update(runtime)
        return self.config(**values)


#: the registry: name -> entry, in registration order
RULES: dict = {}


def register(rule: TrainingRule) -> TrainingRule:
    """Add an entry to :data:`RULES` (a name registered twice is an error)."""
    if not isinstance(rule, TrainingRule):
        raise TypeError(f"register takes a TrainingRule, not {type(rule).__name__}")
    if rule.name in RULES:
        raise ValueError(f"training rule {rule.name!r} is already registered")
    RULES[rule.name] = rule
    return rule


def rule_names() -> tuple:
    """The registered rules' names, in registration order."""
    return tuple(RULES)


def get_rule(name: str) -> TrainingRule:
    """The entry of a rule by name.

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    """
    try:
        return RULES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown training rule {name!r} (known: {', '.join(rule_names())})") from None


def int_seed(seed_sequence) -> int:
    """An integer seed from a :class:`numpy.random.SeedSequence` (its first 32-bit word)."""
    return int(seed_sequence.generate_state(1, dtype=np.uint32)[0])


# --------------------------------------------------------------------------------------------
# the entries
# --------------------------------------------------------------------------------------------

def _train_nothing(context: TrainingContext) -> TrainingOutcome:
    """The network as fabricated."""
    return TrainingOutcome()


def backprop_config(source, *, seed=0, progress=False, n_threads=None, image_shape=None,
                    snapshot_junctions=64) -> TrainingConfig:
    """The :class:`~rfemu.learning.backprop.TrainingConfig` of a run (a :class:`TrainingContext`)
    or of a scenario's ``training`` section (:meth:`TrainingRule.make_config`), with the shift
    augmentation of ``shift_augmentation`` pixels on images of ``image_shape`` and the run's
    settings."""
    training = source.settings if isinstance(source, TrainingContext) else source
    shift = training["shift_augmentation"] if isinstance(training, Mapping) else training.shift_augmentation
    augmentation = None
    if shift > 0:
        if image_shape is None:
            raise SettingError(("shift_augmentation",), "shift augmentation needs image data")
        augmentation = image_shift_augmentation(image_shape, shift)
    return BACKPROP.make_config(source, augmentation=augmentation, snapshot_junctions=snapshot_junctions,
                                seed=seed, progress=progress, n_threads=n_threads)


def _train_backprop(context: TrainingContext) -> TrainingOutcome:
    """Offline backpropagation (:func:`rfemu.learning.backprop.train`), from several random
    programmings with ``restarts`` > 1 or ``initial_state: uniform``
    (:func:`rfemu.learning.restarts.train_restarts`), then in-situ fine-tuning on the chip when
    ``in_situ.epochs`` > 0."""
    t = context.settings
    config = backprop_config(context, seed=context.seed("training"), progress=context.progress,
                             n_threads=context.n_threads, image_shape=context.image_shape,
                             snapshot_junctions=context.snapshot_junctions)
    ideal = None
    if t.variability_mode == "ideal_gradient" and context.ideal_twin is not None:
        ideal = context.ideal_twin()
    metrics = {}
    if t.restarts > 1 or t.initial_state == "uniform":
        if ideal is not None:
            raise SettingError(("restarts",), "restarts and initial_state: uniform do not combine "
                               "with variability_mode: ideal_gradient")
        trained, scores = train_restarts(
            context.network, context.features, context.labels, config, t.restarts, t.initial_state,
            bias_range="active" if t.initial_bias == "active" else (0.0, t.initial_bias_max),
            seed=context.streams["restarts"],
            progress=context.progress, checkpoint=context.checkpoint)
        metrics["restart_validation_accuracy"] = scores
    else:
        trained = train(context.network, context.features, context.labels, config, ideal=ideal,
                        checkpoint=context.checkpoint)
    history = trained.history
    metrics.update({"epochs_run": len(history.train_loss), "best_epoch": trained.best_epoch,
                    "stopped_early": trained.stopped_early, "score_scale_per_V": trained.score_scale})
    outcome = TrainingOutcome(history, metrics, {"training_s": trained.seconds,
                                                 "training_kernel_s": trained.kernel_seconds})
    if IN_SITU.settings_of(t).epochs > 0:
        tuned = _train_in_situ(context)
        outcome.metrics.update(tuned.metrics)
        outcome.timing.update(tuned.timing)
        outcome.traces = tuned.traces
    return outcome


def _train_in_situ(context: TrainingContext) -> TrainingOutcome:
    """Chip-in-the-loop fine-tuning (:func:`rfemu.learning.in_situ.train_in_situ`) on the first
    ``in_situ.samples`` training samples, every step of the tuning states written through the
    junctions' frequency states with the devices' write physics (``context.frequency_state``:
    quantisation, write noise, window, latency, energy, endurance; every write logged and
    counted in the metrics ``in_situ_writes``, ``in_situ_write_energy_J``, ...)."""
    settings = IN_SITU.settings_of(context.settings)
    if settings.epochs < 1:
        raise SettingError(("in_situ", "epochs"), "training.rule: in_situ trains on the chip for "
                           "in_situ.epochs passes: give at least 1")
    n_total = len(context.labels)
    n = n_total if settings.samples is None else min(settings.samples, n_total)
    config = IN_SITU.make_config(context, seed=context.seed("in_situ"), progress=context.progress)
    states = JunctionStates(context.network, write_settings(context.frequency_state),
                            seed=np.random.default_rng(config.seed).spawn(1)[0])
    t0 = time.perf_counter()
    tuned = train_in_situ(context.network, context.features[:n], context.labels[:n],
                          context.event_config, config, energy_model=context.energy_model, writes=states,
                          checkpoint=context.checkpoint)
    per_junction = np.bincount(states.log.arrays()["junction"], minlength=states.n_junctions)
    metrics = {"in_situ_chip_train_accuracy": tuned.history.train_accuracy,
               "in_situ_writes": int(states.log.count), "in_situ_write_energy_J": float(states.log.energy),
               "in_situ_max_writes_per_junction": int(per_junction.max(initial=0)),
               "in_situ_stuck_junctions": int(states.stuck.sum())}
    return TrainingOutcome(tuned.history, metrics, {"in_situ_s": time.perf_counter() - t0},
                           traces=writes_dataset(states.log, states.n_junctions, prefix="in_situ"))


#: what in-situ fine-tuning reports (alone or after backprop)
IN_SITU_REPORTS = ("in_situ_chip_train_accuracy", "in_situ_writes", "in_situ_write_energy_J",
                   "in_situ_max_writes_per_junction", "in_situ_stuck_junctions")

NONE = register(TrainingRule(
    "none", _train_nothing, summary="no training: test the network as fabricated", trains=False))
BACKPROP = register(TrainingRule(
    "backprop", _train_backprop, TrainingConfig, (),
    reports=("epochs_run", "best_epoch", "stopped_early", "score_scale_per_V",
             "restart_validation_accuracy") + IN_SITU_REPORTS,
    summary="offline backpropagation through the static device models (restarts, then in-situ "
            "fine-tuning when training.in_situ.epochs > 0)"))
IN_SITU = register(TrainingRule(
    "in_situ", _train_in_situ, InSituConfig, ("in_situ",),
    reports=IN_SITU_REPORTS,
    summary="physics-aware training on the chip alone: forward on the event engine, gradient "
            "through the static model"))

# the on-chip local rules (perturbative, feedback_alignment) register their own entries
from rfemu.learning.local import entries as _local_entries  # noqa: E402,F401
# the convolutional network's backpropagation (cnn_backprop) registers its own entry
from rfemu.learning import cnn as _cnn_entry  # noqa: E402,F401
