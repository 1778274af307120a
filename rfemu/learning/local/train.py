"""On-chip learning, batched: windows of sensing, local updates, writes on a simulated clock.

Each learning window presents a mini-batch to the chip and makes the measurement the rule needs
(:mod:`rfemu.learning.local.chip`):

- ``"dither"`` (perturbative rules): the cost with the dither off, then one cost per dither step,
  every junction offset by its own code; ``steps + 1`` cost measurements of the batch;
- ``"feedback"`` (feedback alignment): one pass of the batch; each chain receives its error,
  each junction senses its own voltage and slope.

The junctions' :class:`~rfemu.learning.local.view.LocalView` goes to ``rule.update``; the
requested changes go to the volatile accumulators; junctions past their threshold write
(:class:`~rfemu.learning.local.state.JunctionStates`). Simulated time advances by the
presentation of every sample measured (``sample_time`` each) and, in a window with writes, by
the write latency; the resonances drift over that time.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np

from rfemu.engines.compiled import blas_threads
from rfemu.learning.backprop import _as_network, _samples, backward, softmax_cross_entropy
from rfemu.learning.local.chip import LearningChip, cross_entropy_per_copy
from rfemu.learning.local.state import JunctionStates, WriteSettings
from rfemu.learning.local.view import LocalView
from rfemu.rng import as_generator

__all__ = ["OnChipConfig", "OnChipCurve", "OnChipResult", "train_on_chip", "sense", "backprop_gradient",
           "followed_junctions", "learn_screened", "AdaptiveSteps", "BestState", "trim_biases", "TRIMS", "RECALLS"]


#: what :func:`trim_biases` sets before learning
TRIMS = ("none", "outputs", "all")

#: when the junctions and chains go back to their state at the best evaluation
#: (``OnChipConfig.recall_best``; "rounds" and "end" differ only in :func:`learn_screened`)
RECALLS = ("none", "end", "rounds")

#: decay per window of the running mean cost of ``OnChipConfig.cost_gain_reference``
COST_DECAY = 0.9


@dataclass(frozen=True)
class OnChipConfig:
    """Settings of :func:`train_on_chip` (SI units).

    Parameters
    ----------
    windows : int
        Learning windows (each one mini-batch and one local update).
    batch_size : int
        Samples per window.
    score_scale : float
        1/V: the cost is the cross-entropy of softmax(score_scale * output voltages).
    sample_time : float
        s, presentation of one sample (at least the readout's 1 / bandwidth).
    evaluate_every : int
        Windows between two points of the learning curve (accuracy on the evaluation set).
    readout_noise : float
        V rms added to every reading of an output chain's voltage by the learning circuit (the
        cost and the errors are computed from noisy readings; the accuracy of the curve is not).
    thermal_noise : bool
        The chip senses as it runs with thermal noise on: its class scores are the noise-averaged
        ones of :class:`~rfemu.learning.local.chip.LearningChip` (the neurons' power fluctuations
        with the frequency following), for the cost, the dither correlations and the accuracy of
        the curve alike (the learning learns the chip it has, noise included).
    final_step_fraction : float
        The learning circuit's broadcast step gain falls from 1 to this over the windows (cosine;
        1: constant): every junction's and chain's step is multiplied by it (annealing: large
        steps to cross the landscape, small ones to settle with margins).
    adaptive_step : float
        > 0: every junction normalises its own steps (:class:`AdaptiveSteps`): it moves by
        ``adaptive_step`` of its own half width times the running mean of its requested changes
        over their running rms (two volatile accumulators of its own history: local); the rule's
        learning rate then sets nothing. 0: the rule's steps as they are.
    adaptive_bias_step : float
        V; > 0: every chain normalises its bias steps the same way (this many volts a step).
    cost_gain_reference : float
        > 0: the broadcast step gain is also multiplied by ``min(1, C / cost_gain_reference)``, with
        C the running mean (decay :data:`COST_DECAY` a window) of the cost the chip broadcasts
        (Polyak's step: steps shrink as the cost falls, so that a good state is not shaken out of
        its basin by steps of full size); 0: off.
    recall_best : {"none", "end", "rounds"}
        Not "none": at every evaluation point that beats the best so far, the learning circuit
        broadcasts a "best" flag and every junction copies its own frequency state, every chain
        its own bias, into a volatile register (:class:`BestState`); at the end each junction
        writes its copy back (a write like any other: quantisation, noise, latency, energy,
        endurance) and each chain sets its bias. With :func:`learn_screened`, "rounds": at the end
        of every screening round (the screening ranks the recalled states), "end": of the last.
    initial_trim : {"none", "outputs", "all"}
        Before the first window every chain sets its own bias from its own mean over the
        training samples (:func:`trim_biases`; homeostatic, local): "outputs": each output chain
        so that its mean voltage is zero (the classes start even); "all": each hidden chain too,
        so that its neuron's mean current sits mid-way between threshold and saturation.
    final_score_scale : float
        1/V; > 0: the cost's score scale rises geometrically from ``score_scale`` to this over the
        windows (:func:`_score_scale`; with :func:`learn_screened`, in the survivor's last round
        only): the cost sharpens towards the classification error. 0: constant.
    seed : int or None
        Mini-batches, dither codes, feedback couplings, write noise.
    progress : bool
        A progress bar on stderr over the windows, with the time left (no effect on the results).
    """

    windows: int = 200
    batch_size: int = 32
    score_scale: float = 1e3
    sample_time: float = 10e-6
    evaluate_every: int = 10
    readout_noise: float = 0.0
    thermal_noise: bool = False
    final_step_fraction: float = 1.0
    adaptive_step: float = 0.0
    adaptive_bias_step: float = 0.0
    cost_gain_reference: float = 0.0
    recall_best: str = "none"
    initial_trim: str = "none"
    final_score_scale: float = 0.0
    seed: int | None = 0
    progress: bool = False

    def __post_init__(self):
        for name in ("windows", "batch_size", "evaluate_every"):
            v = getattr(self, name)
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        for name in ("score_scale", "sample_time"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be finite and > 0, got {v!r}")
        if not (math.isfinite(self.readout_noise) and self.readout_noise >= 0):
            raise ValueError(f"readout_noise must be finite and >= 0 V, got {self.readout_noise!r}")
        if not (0 < self.final_step_fraction <= 1):
            raise ValueError(f"final_step_fraction must be in (0, 1], got {self.final_step_fraction!r}")
        if self.initial_trim not in TRIMS:
            raise ValueError(f"initial_trim must be one of {TRIMS}, got {self.initial_trim!r}")
        if self.recall_best not in RECALLS:
            raise ValueError(f"recall_best must be one of {RECALLS}, got {self.recall_best!r}")
        for name in ("adaptive_step", "adaptive_bias_step", "cost_gain_reference", "final_score_scale"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {v!r}")


@dataclass
class OnChipCurve:
    """The learning curve: per evaluation point the window, simulated time (s), writes so far,
    write energy so far (J), the mean cost of the windows since the last point, the accuracy on
    the evaluation set, and the resonance frequencies (Hz) of the followed junctions
    (``followed``: global indices, up to 64 spread over the chip)."""

    window: list = field(default_factory=list)
    followed: np.ndarray | None = None
    frequency: list = field(default_factory=list)
    time: list = field(default_factory=list)
    writes: list = field(default_factory=list)
    energy: list = field(default_factory=list)
    cost: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)


@dataclass
class OnChipResult:
    """What :func:`train_on_chip` returns: the network (trained in place), the junctions'
    learning state (writes log, counts), the curve, simulated seconds, wall seconds and the number
    of junction updates made (junctions x windows for feedback, x dither steps for dither)."""

    network: object
    states: JunctionStates
    curve: OnChipCurve
    simulated_time: float
    seconds: float
    junction_updates: int


def followed_junctions(n, count=64):
    """Global indices of up to ``count`` junctions spread evenly over ``n``."""
    return np.unique(np.linspace(0, n - 1, min(count, n)).astype(np.int64))


def _half_widths(network):
    return np.concatenate([(layer.damping * layer.resonance_frequency).ravel() for layer in network.layers])


def _signs(network):
    return np.concatenate([layer.sign.ravel() for layer in network.layers])


def sense(chip: LearningChip, rule, power, labels, score_scale, chain_views=None):
    """The local view of every junction for one window, and the number of samples measured.

    Parameters
    ----------
    chip : LearningChip
    rule : a rule (its ``sensing``, and for feedback its ``chain_errors``, for dither its ``codes``)
    power : array (B, T0)
        W, the input tones of the batch.
    labels : array (B,)
    score_scale : float
    chain_views : list, optional
        With a perturbative rule that dithers the chains' biases too (``rule.bias_dither`` > 0),
        the chains' own view (their codes and the broadcast cost) is appended to it.
    """
    net = chip.network
    n = net.n_junctions
    half_width = _half_widths(net)
    common = dict(resonance_frequency=np.concatenate([l.resonance_frequency.ravel() for l in net.layers]),
                  half_width=half_width, series_sign=_signs(net))
    if rule.sensing == "dither":
        chains = [layer.n_chains for layer in net.layers]
        n_bias = sum(chains) if getattr(rule, "bias_dither", 0.0) > 0 else 0
        codes = rule.codes(n + n_bias)
        amplitude = rule.dither_fraction * half_width
        resonances = chip.dithered_resonances(codes, amplitude)      # copy 0: the dither off
        bias = None
        if n_bias:
            offsets = np.vstack([np.zeros((1, n_bias)), codes[:, n:] * rule.bias_dither])
            bias = np.split(offsets, np.cumsum(chains)[:-1], axis=1)
        costs = cross_entropy_per_copy(chip.read(chip.scores(power, resonances, bias)), labels, score_scale)
        view = LocalView("dither", dither=codes[:, :n], dither_amplitude=amplitude, cost=costs[1:],
                         reference_cost=costs[0], **common)
        if n_bias and chain_views is not None:
            chain_views.append(LocalView("dither", dither=codes[:, n:], cost=costs[1:], reference_cost=costs[0],
                                         dither_amplitude=np.full(n_bias, rule.bias_dither)))
        return view, (codes.shape[0] + 1) * len(labels), float(costs[0])
    if rule.sensing == "feedback":
        fwd = chip.engine.forward(power=power, keep=True)
        loss, g = softmax_cross_entropy(score_scale * chip.read(fwd.scores), labels)
        errors = rule.chain_errors(net, fwd, score_scale * g)
        fields = {k: [] for k in ("rectified_voltage", "voltage_slope", "chain_voltage", "chain_current",
                                  "chain_error")}
        for l, layer in enumerate(net.layers):
            st = fwd.layers[l]
            v, slope = chip.junction_response(l, st)
            b, J = v.shape[0], layer.n_junctions

            def per_junction(chain_values):
                return np.repeat(chain_values, J, axis=1)

            current = st.current if st.current is not None else np.zeros_like(st.chain_voltage)
            fields["rectified_voltage"].append(v.reshape(b, -1))
            fields["voltage_slope"].append(slope.reshape(b, -1))
            fields["chain_voltage"].append(per_junction(st.chain_voltage))
            fields["chain_current"].append(per_junction(current))
            fields["chain_error"].append(per_junction(errors[l]))
        view = LocalView("feedback", **{k: np.concatenate(v, axis=1) for k, v in fields.items()}, **common)
        return view, len(labels), loss
    raise ValueError(f"rule.sensing must be 'dither' or 'feedback', got {rule.sensing!r}")


def trim_biases(chip: LearningChip, power, which="outputs") -> int:
    """Every chain sets its own bias from its own mean over the samples ``power`` (B, T0) W
    (homeostatic trim, ``docs/architecture.md#on-chip-learning``): with ``which="all"`` each
    hidden chain first, so that its neuron's mean current is ``(I_th + I_max) / 2``, then (also
    with ``"outputs"``) each output chain so that its mean voltage (as the chip senses it,
    noise-averaged with ``chip.thermal_noise``) is zero. A chain reads only its own voltage or
    current. Returns the number of sample presentations it took (one pass per trimmed line)."""
    if which not in TRIMS:
        raise ValueError(f"which must be one of {TRIMS}, got {which!r}")
    net = chip.network
    if which == "none":
        return 0
    passes = 0
    if which == "all":
        fwd = chip.engine.forward(power=power, keep=True)
        passes += 1
        for l, layer in enumerate(net.layers):
            if layer.is_hidden:
                mid = 0.5 * (np.asarray(layer.oscillator.threshold_current, dtype=float)
                             + np.asarray(layer.oscillator.max_current, dtype=float))
                layer.bias_voltage = mid / layer.transconductance - fwd.layers[l].chain_voltage.mean(axis=0)
        chip.engine.invalidate()
    out = net.layers[-1]
    voltage = chip.scores(power, chip.resonances())[0] - out.bias_voltage      # (B, classes)
    out.bias_voltage = -voltage.mean(axis=0)
    chip.engine.invalidate()
    return (passes + 1) * len(power)


def backprop_gradient(network, features, labels, score_scale):
    """(N,) dC/df_j of every junction by backpropagation (the offline baseline's gradient), for
    the cost :func:`sense` measures."""
    from rfemu.engines.compiled import CompiledEngine
    net = _as_network(network)
    engine = CompiledEngine(net, n_threads=1)
    fwd = engine.forward(features, keep=True)
    _, g = softmax_cross_entropy(score_scale * fwd.scores, np.asarray(labels))
    g_tuning, _ = backward(engine, fwd, score_scale * g)
    return np.concatenate([a.ravel() for a in g_tuning])


def train_on_chip(network, features, labels, rule, config: OnChipConfig | None = None,
                  writes: WriteSettings | None = None, evaluation=None, n_threads=1,
                  checkpoint=None) -> OnChipResult:
    """Let the chip learn with a local rule (batched junction agents, simulated clock).

    Parameters
    ----------
    network : networkx.DiGraph, CompiledNetwork or CompiledEngine
        Trained in place when compiled (the tuning arrays follow the frequency states).
    features, labels : arrays (N, inputs), (N,)
        Training samples (features in [0, 1]).
    rule : PerturbativeRule, FeedbackAlignmentRule or any object with their interface
    config : OnChipConfig
    writes : WriteSettings
        The junctions' write physics.
    evaluation : (features, labels), optional
        Set the accuracy of the curve is measured on (default: the training samples).
    n_threads : int
    checkpoint : object, optional
        Saves the learning state after a window when one is due and gives it back when a run
        resumes (:mod:`rfemu.learning.resume`, loop ``"on_chip"``; :func:`_state`).

    Returns
    -------
    OnChipResult
    """
    config = config or OnChipConfig()
    net = _as_network(network)
    x, y = _samples(net, features, labels)
    x_eval, y_eval = (x, y) if evaluation is None else (np.asarray(evaluation[0], dtype=float),
                                                         np.asarray(evaluation[1]))
    rng = as_generator(config.seed)
    rule_rng, write_rng = rng.spawn(2)
    chip = LearningChip(net, n_threads=n_threads)
    chip.readout_noise, chip.noise_rng = config.readout_noise, rng.spawn(1)[0]
    chip.thermal_noise = bool(config.thermal_noise)
    if hasattr(rule, "prepare"):
        rule.prepare(net, rule_rng)
    states = JunctionStates(net, writes, seed=write_rng)
    curve = OnChipCurve(followed=followed_junctions(states.n_junctions))
    clock = [0.0, 0]
    t0 = time.perf_counter()

    def record(window):
        curve.window.append(window)
        curve.time.append(clock[0])
        curve.writes.append(states.log.count)
        curve.energy.append(states.log.energy)
        curve.cost.append(float(np.mean(record.costs)) if record.costs else float("nan"))
        curve.accuracy.append(chip.accuracy(x_eval, y_eval))
        curve.frequency.append(states.frequency[curve.followed])
        record.costs.clear()
        if record.best is not None:
            record.best.offer(curve.accuracy[-1], window, states, net)

    record.costs = []
    record.curve = curve
    record.running_cost = None
    record.best = BestState() if config.recall_best != "none" else None

    adaptive = _adaptive(config)
    with blas_threads(1):         # small products: one BLAS thread (see the compiled engine)
        saved = checkpoint.restore("on_chip") if checkpoint is not None else None
        if saved is None:
            trimmed = trim_biases(chip, chip.engine.input_power(x), config.initial_trim)
            if trimmed:
                states.advance(trimmed * config.sample_time)
                clock[0] += trimmed * config.sample_time
            record(0)
        else:
            _restore(saved, chip, rule, states, curve, rng, record, clock, adaptive)
            t0 -= saved["elapsed_s"]
        bar = None
        if config.progress:
            from tqdm.auto import tqdm
            first = 0 if saved is None else int(saved["next_window"]) - 1
            bar = tqdm(total=config.windows, initial=first, desc="on-chip learning", unit="window", leave=False)
        try:
            _learn(chip, rule, states, x, y, config, rng, record, clock, checkpoint, saved,
                   lambda: time.perf_counter() - t0, bar, adaptive)
        finally:
            if bar is not None:
                bar.close()
        if record.best is not None and record.best.accuracy > curve.accuracy[-1]:
            latency = record.best.recall(states, net, clock[0])
            states.advance(latency)
            clock[0] += latency
            chip.engine.invalidate()
            record.best = None                  # the point of the recalled state is not a new best
            record(config.windows)
    return OnChipResult(network=net, states=states, curve=curve, simulated_time=clock[0],
                        seconds=time.perf_counter() - t0, junction_updates=clock[1])


class AdaptiveSteps:
    """Agents that normalise their own steps (Adam's moments, Kingma and Ba 2015, kept by each
    agent for itself): a volatile running mean ``m`` of its requested changes and of their
    squares ``v`` (decays ``decay`` and ``decay_sq``, bias-corrected), and a step of ``step``
    units of its own ``unit`` times ``m / sqrt(v)``. Each agent reads only its own history, so the
    rule stays local (``docs/architecture.md#on-chip-learning``). The first step of an agent is
    ``step * unit`` in the direction the rule asks; an agent whose requests are all zero stays.

    Parameters
    ----------
    step : float
        Step in units of ``unit`` (> 0).
    decay, decay_sq : float
        Decay per window of the mean and of the mean square.
    """

    def __init__(self, step, decay=0.9, decay_sq=0.999):
        if not (math.isfinite(step) and step > 0):
            raise ValueError(f"step must be finite and > 0, got {step!r}")
        self.step, self.decay, self.decay_sq = float(step), float(decay), float(decay_sq)
        self.mean = self.mean_square = None
        self.count = 0

    def __call__(self, request, unit=1.0, scale=None) -> np.ndarray:
        """The normalised steps of the agents whose rule asked for ``request`` (N,); ``scale``
        (N,) divides the requests first (e.g. a rule's D^2, so that the moments are of a
        gradient); ``unit`` (N,) or scalar: the step's unit (a junction's half width, Hz; V)."""
        g = np.asarray(request, dtype=float) if scale is None else np.asarray(request, dtype=float) / scale
        if self.mean is None:
            self.mean, self.mean_square = np.zeros_like(g), np.zeros_like(g)
        self.count += 1
        self.mean = self.decay * self.mean + (1.0 - self.decay) * g
        self.mean_square = self.decay_sq * self.mean_square + (1.0 - self.decay_sq) * g * g
        m = self.mean / (1.0 - self.decay ** self.count)
        rms = np.sqrt(self.mean_square / (1.0 - self.decay_sq ** self.count))
        return self.step * unit * np.divide(m, rms, out=np.zeros_like(m), where=rms > 0)

    def state(self) -> dict:
        """The agents' accumulators (:mod:`rfemu.learning.resume`)."""
        return {"count": int(self.count), "mean": None if self.mean is None else self.mean.copy(),
                "mean_square": None if self.mean_square is None else self.mean_square.copy()}

    def set_state(self, saved) -> None:
        self.count = int(saved["count"])
        self.mean = None if saved["mean"] is None else np.array(saved["mean"], dtype=float)
        self.mean_square = None if saved["mean_square"] is None else np.array(saved["mean_square"], dtype=float)


class BestState:
    """Every junction's and chain's volatile copy of its own state at the best evaluation point
    so far (``OnChipConfig.recall_best``): a register of one frequency per junction and one
    voltage per chain, loaded when the learning circuit broadcasts that an evaluation beat the
    best before (a scalar flag: local), written back by :meth:`recall`."""

    def __init__(self):
        self.accuracy = -math.inf
        self.window = -1
        self.frequency = self.bias = None

    def offer(self, accuracy, window, states: JunctionStates, network) -> None:
        """Load the registers if ``accuracy`` beats the best so far (ties keep the earlier)."""
        if accuracy > self.accuracy:
            self.accuracy, self.window = float(accuracy), int(window)
            self.frequency = states.frequency.copy()
            self.bias = [layer.bias_voltage.copy() for layer in network.layers]

    def recall(self, states: JunctionStates, network, now: float) -> float:
        """Every junction writes its register back (its pending request dropped), every chain sets
        its bias; returns the write latency (s)."""
        states.accumulator[:] = self.frequency - states.frequency
        _, _, latency = states.commit(now)
        states.accumulator[:] = 0.0         # stuck junctions and quantisation remainders: nothing pending
        for layer, bias in zip(network.layers, self.bias):
            layer.bias_voltage[...] = bias
        return latency

    def state(self) -> dict:
        """The registers (:mod:`rfemu.learning.resume`)."""
        return {"accuracy": self.accuracy, "window": self.window, "frequency": self.frequency,
                "bias": self.bias}

    def set_state(self, saved) -> None:
        self.accuracy, self.window = float(saved["accuracy"]), int(saved["window"])
        self.frequency, self.bias = saved["frequency"], saved["bias"]


def _adaptive(config) -> dict:
    """The loop's :class:`AdaptiveSteps` of junctions ("tuning") and chains ("bias"), those on."""
    out = {}
    if config.adaptive_step > 0:
        out["tuning"] = AdaptiveSteps(config.adaptive_step)
    if config.adaptive_bias_step > 0:
        out["bias"] = AdaptiveSteps(config.adaptive_bias_step)
    return out


def _step_gain(window, config, running_cost=None) -> float:
    """The broadcast step gain of window ``window`` (1-based): a cosine from 1 to
    ``config.final_step_fraction`` over ``config.windows``, times ``min(1, running_cost /
    config.cost_gain_reference)`` when that is on."""
    gain = 1.0
    f = config.final_step_fraction
    if f != 1.0 and config.windows > 1:
        t = (window - 1) / (config.windows - 1)
        gain = f + (1.0 - f) * 0.5 * (1.0 + math.cos(math.pi * t))
    if config.cost_gain_reference > 0 and running_cost is not None:
        gain *= min(1.0, running_cost / config.cost_gain_reference)
    return gain


def _score_scale(window, config) -> float:
    """1/V, the cost's score scale in window ``window`` (1-based): ``config.score_scale``, rising
    geometrically to ``config.final_score_scale`` over the windows when that is on."""
    if config.final_score_scale <= 0 or config.windows == 1:
        return config.score_scale
    t = (window - 1) / (config.windows - 1)
    return config.score_scale * (config.final_score_scale / config.score_scale) ** t


def _running_cost(previous, cost) -> float:
    """The running mean of the broadcast cost after a window of cost ``cost``."""
    return float(cost) if previous is None else COST_DECAY * previous + (1.0 - COST_DECAY) * float(cost)


def _state(chip, rule, states, curve, rng, record, clock, order, pos, window, elapsed, adaptive=None) -> dict:
    """What the windows after ``window`` start from (:mod:`rfemu.learning.resume`): the chip's
    biases and the junctions' states, the rule's, the generators', the sample order, the clock,
    the curve so far, the agents' step accumulators (``adaptive``, when on)."""
    from rfemu.learning import resume
    extra = {"adaptive": {k: a.state() for k, a in adaptive.items()}} if adaptive else {}
    return {**extra, "next_window": int(window) + 1, "order": order.copy(), "pos": int(pos),
            "clock": [float(clock[0]), int(clock[1])], "costs": [float(c) for c in record.costs],
            "running_cost": record.running_cost,
            "best": None if record.best is None else record.best.state(),
            "network": resume.trainable_arrays(chip.network), "junctions": resume.junction_states_state(states),
            "rule": resume.rule_state(rule), "rng": resume.generator_state(rng),
            "noise_rng": resume.generator_state(chip.noise_rng),
            "curve": {"window": [int(w) for w in curve.window], "frequency": [np.asarray(f) for f in curve.frequency],
                      **{k: [float(v) for v in getattr(curve, k)] for k in ("time", "energy", "cost", "accuracy")},
                      "writes": [int(w) for w in curve.writes]},
            "elapsed_s": float(elapsed)}


def _restore(saved, chip, rule, states, curve, rng, record, clock, adaptive=None) -> None:
    """Put :func:`_state` back (after the same set-up as a fresh start)."""
    from rfemu.learning import resume
    for k, a in (adaptive or {}).items():
        a.set_state(saved["adaptive"][k])
    resume.set_trainable_arrays(chip.network, saved["network"])
    resume.set_junction_states_state(states, saved["junctions"])
    resume.set_rule_state(rule, saved["rule"])
    resume.set_generator_state(rng, saved["rng"])
    resume.set_generator_state(chip.noise_rng, saved["noise_rng"])
    c = saved["curve"]
    curve.window, curve.writes = list(c["window"]), list(c["writes"])
    curve.frequency = [np.asarray(f) for f in c["frequency"]]
    for k in ("time", "energy", "cost", "accuracy"):
        setattr(curve, k, list(c[k]))
    record.costs[:] = saved["costs"]
    record.running_cost = saved["running_cost"]
    if record.best is not None:
        record.best.set_state(saved["best"])
    clock[:] = [float(saved["clock"][0]), int(saved["clock"][1])]
    chip.engine.invalidate()


def _check_request(request, sizes, what, rule, rate, unit, window) -> None:
    """Stop learning whose rule asks for a non-finite change (one ``np.isfinite`` per window):
    raise :class:`rfemu.devices.limits.TrainingDivergence` naming the layer, the window and the
    rule's learning rate ``rate`` to lower (docs/physics.md#model-limits)."""
    if np.isfinite(request).all():
        return
    from rfemu.devices.limits import TrainingDivergence, first_nonfinite, learning_rate_cause
    from rfemu.learning.local.config import OnChipRuleConfig
    found = first_nonfinite(enumerate(np.split(np.asarray(request), np.cumsum(sizes)[:-1])))
    layer, bad, size = found
    value = getattr(rule, rate, None)
    default = {f.name: f.default for f in dataclasses.fields(OnChipRuleConfig)}.get(rate)
    cause = (learning_rate_cause(f"training.on_chip.{rate}", value, unit, default or None) if value is not None
             else "the learning rule's step overflowed")
    raise TrainingDivergence(f"on-chip learning ({type(rule).__name__}): layer {layer}'s requested {what} "
                             f"({bad} of {size} values)", f"window {window}", cause, window)


def _learn(chip, rule, states, x, y, config, rng, record, clock, checkpoint=None, saved=None, elapsed=None,
           bar=None, adaptive=None):
    """The windows of :func:`train_on_chip`; ``clock`` = [simulated time, junction updates];
    from a checkpoint's ``saved`` state when resuming; ``bar`` (tqdm) advanced once a window;
    ``adaptive``: the agents' :class:`AdaptiveSteps` ("tuning", "bias") that are on."""
    adaptive = adaptive or {}
    order = rng.permutation(len(y)) if saved is None else np.asarray(saved["order"])
    pos = 0 if saved is None else int(saved["pos"])
    for window in range(1 if saved is None else int(saved["next_window"]), config.windows + 1):
        if pos + config.batch_size > len(order):
            order, pos = rng.permutation(len(y)), 0
        idx = order[pos:pos + config.batch_size]
        pos += config.batch_size
        power = chip.engine.input_power(x[idx])
        chain_views = []
        view, measured, cost = sense(chip, rule, power, y[idx], _score_scale(window, config), chain_views)
        record.costs.append(cost)
        record.running_cost = _running_cost(record.running_cost, cost)
        gain = _step_gain(window, config, record.running_cost)
        with np.errstate(over="ignore", invalid="ignore"):      # _check_request names it
            asked = rule.update(view)
            request = asked if gain == 1.0 else gain * asked
        _check_request(request, [layer.tuning.size for layer in chip.network.layers], "tuning changes",
                       rule, "learning_rate", "", window)
        if "tuning" in adaptive:            # each junction's own normalised step (the gain after)
            request = gain * adaptive["tuning"](asked, unit=view.half_width, scale=view.half_width ** 2)
        states.accumulate(request)
        if chain_views:                     # the chains' biases: volatile, set at once
            with np.errstate(over="ignore", invalid="ignore"):
                asked = rule.update_bias(chain_views[0])
                request = gain * asked
            sizes = [layer.n_chains for layer in chip.network.layers]
            _check_request(request, sizes, "bias changes", rule, "bias_learning_rate", "V^2", window)
            if "bias" in adaptive:
                request = gain * adaptive["bias"](asked)
            step = np.split(request, np.cumsum(sizes)[:-1])
            for layer, d in zip(chip.network.layers, step):
                layer.bias_voltage += d
        clock[1] += view.n_junctions * (view.dither.shape[0] if view.dither is not None else 1)
        duration = measured * config.sample_time
        states.advance(duration)
        clock[0] += duration
        n_writes, _, latency = states.commit(clock[0])
        if n_writes:          # the engines' cached line shapes follow the tuning arrays
            states.advance(latency)
            clock[0] += latency
        if window % config.evaluate_every == 0 or window == config.windows:
            record(window)
        if bar is not None:
            bar.update(1)
        if checkpoint is not None and window < config.windows:
            checkpoint.offer("on_chip", lambda: _state(chip, rule, states, record.curve, rng, record, clock,
                                                       order, pos, window, elapsed(), adaptive))


def learn_screened(networks, features, labels, evaluation, make_rule, config: OnChipConfig,
                   writes: WriteSettings | None = None, first_windows=100, n_threads=1, checkpoint=None):
    """On-chip learning from several programmings by successive halving, kept by the chip's own
    validation accuracy.

    Every programming (``networks``: compiled networks, trained in place) learns
    ``first_windows`` windows; the better half by validation accuracy (``evaluation``, measured on
    the chip as it senses) learns twice as many, and so on until one is left, which learns
    ``config.windows`` more. A chip can do all of it: the programmings, the learning and the
    validation are its own; only the bookkeeping of which programming is best is outside a
    junction (a broadcast choice, like the restarts'). Most random programmings of a chip with
    bump-shaped neurons stall (``docs/architecture.md#on-chip-learning``): halving spends the
    windows on the few that do not.

    Parameters
    ----------
    networks : list of CompiledNetwork
    features, labels : training samples
    evaluation : (features, labels)
        The validation samples.
    make_rule : callable
        ``make_rule() -> rule``, a fresh rule for every learning round.
    config : OnChipConfig
        ``windows``: the last round's; ``seed + 1000 * i + round`` for programming i; the step
        gain anneals (``final_step_fraction``) in the last round only.
    writes : WriteSettings
    first_windows : int
    n_threads : int
    checkpoint : object, optional
        Saves the screening (loop ``"screened"``: every programming's arrays and finished rounds,
        the scores, the round, and the running learning's own ``"on_chip"`` loop) after every
        learning and inside it, and takes it back when a run resumes (:mod:`rfemu.learning.resume`).

    Returns
    -------
    (OnChipResult, list of float)
        The survivor's whole learning (rounds joined: curve, writes, simulated time) and every
        programming's validation accuracy when it was last measured.
    """
    if int(first_windows) != first_windows or first_windows < 1:
        raise ValueError(f"first_windows must be an integer >= 1, got {first_windows!r}")
    alive = list(range(len(networks)))
    if not alive:
        raise ValueError("learn_screened needs at least one network")
    rounds = {i: [] for i in alive}
    scores = [float("nan")] * len(networks)
    windows, k, done = int(first_windows), 0, 0
    saved = checkpoint.restore("screened") if checkpoint is not None else None
    if saved is not None:
        alive, scores, windows, k, done = _restore_screened(saved, networks, rounds, writes)
    inner_saved = None if saved is None else saved["inner"]

    def state(done, learning=None):
        return _screened_state(networks, rounds, scores, alive, windows, k, done, learning)

    while True:
        last = len(alive) == 1
        n = config.windows if last else windows
        for j, i in enumerate(alive[done:], start=done):
            seed = None if config.seed is None else config.seed + 1000 * i + k
            cfg = dataclasses.replace(config, windows=n, evaluate_every=min(config.evaluate_every, n), seed=seed,
                                      final_step_fraction=config.final_step_fraction if last else 1.0,
                                      final_score_scale=config.final_score_scale if last else 0.0,
                                      initial_trim=config.initial_trim if k == 0 else "none",
                                      recall_best="none" if config.recall_best == "end" and not last
                                      else config.recall_best)
            inner = None
            if checkpoint is not None:
                from rfemu.learning.resume import NestedCheckpoint, trainable_arrays
                at_start = (i, trainable_arrays(networks[i]))      # the rule prepares on these
                inner = NestedCheckpoint(checkpoint, "screened", lambda: state(j, at_start), inner_saved)
                inner_saved = None
            result = train_on_chip(networks[i], features, labels, make_rule(), cfg, writes,
                                   evaluation=evaluation, n_threads=n_threads, checkpoint=inner)
            rounds[i].append(result)
            scores[i] = float(result.curve.accuracy[-1])
            if checkpoint is not None and not last:
                checkpoint.offer("screened", lambda: state(j + 1))
        done = 0
        if last:
            return _joined(rounds[alive[0]]), scores
        alive = sorted(alive, key=lambda i: -scores[i])[:max(1, len(alive) // 2)]
        windows, k = 2 * windows, k + 1


def _screened_state(networks, rounds, scores, alive, windows, k, done, learning=None) -> dict:
    """:func:`learn_screened` before the ``done``-th learning of round ``k`` (:mod:`rfemu.learning.resume`);
    ``learning``: (programming, its arrays when that learning began) while it runs."""
    from rfemu.learning import resume
    arrays = [resume.trainable_arrays(n) for n in networks]
    if learning is not None:
        arrays[learning[0]] = learning[1]
    return {"networks": arrays,
            "rounds": [[resume.on_chip_result_state(r) for r in rounds[i]] for i in range(len(networks))],
            "scores": [float(v) for v in scores], "alive": [int(i) for i in alive], "windows": int(windows),
            "k": int(k), "done": int(done), "inner": None}


def _restore_screened(saved, networks, rounds, writes):
    """Put :func:`_screened_state` back; returns (alive, scores, windows, k, done)."""
    from rfemu.learning import resume
    for i, net in enumerate(networks):
        rounds[i] = [resume.on_chip_result(r, net, writes) for r in saved["rounds"][i]]
        resume.set_trainable_arrays(net, saved["networks"][i])
    return (list(saved["alive"]), [float(v) for v in saved["scores"]], int(saved["windows"]), int(saved["k"]),
            int(saved["done"]))


def _joined(results) -> OnChipResult:
    """One :class:`OnChipResult` of consecutive learning runs of the same chip."""
    final = results[-1]
    curve = OnChipCurve(followed=final.curve.followed)
    log = type(final.states.log)()
    window = t = writes = energy = 0.0
    for r in results:
        c = r.curve
        for i in range(len(c.window)):
            if curve.window and i == 0:
                continue                              # a round's start is the last one's end
            curve.window.append(int(window + c.window[i]))
            curve.time.append(t + c.time[i])
            curve.writes.append(int(writes + c.writes[i]))
            curve.energy.append(energy + c.energy[i])
            curve.cost.append(c.cost[i])
            curve.accuracy.append(c.accuracy[i])
            curve.frequency.append(c.frequency[i])
        a = r.states.log.arrays()
        for j in range(len(a["junction"])):
            log.add(t + a["time"][j], a["junction"][j:j + 1], a["requested"][j:j + 1], a["obtained"][j:j + 1],
                    a["energy"][j])
        window += c.window[-1]
        t += r.simulated_time
        writes += r.states.log.count
        energy += r.states.log.energy
    final.states.log = log
    return OnChipResult(network=final.network, states=final.states, curve=curve, simulated_time=t,
                        seconds=sum(r.seconds for r in results),
                        junction_updates=sum(r.junction_updates for r in results))
