"""Restarts for small chips: train from several initial programmings, keep the best on validation.

A chip of a few neurons whose tones move with their currents (f(I) emission) has bump-shaped
activations, and gradient descent from one start often ends with a neuron below threshold or its
bump beside the data. Measured on the two-neuron chip of Ross et al. 2023 (concentric circles,
Adam, 400 epochs): starting near the frequency plan, the best of 32 restarts reached 90.5 %;
starting from programmings drawn uniformly over the tuning windows, about one restart in ten
reaches 97-100 %. :func:`random_state` draws such a programming; :func:`train_restarts` trains
from several and keeps the one with the best validation accuracy (ties: the lower validation loss).

Why restarts fail on that chip (XOR, measured over 23 programmings: 2 reach 97 %):

- hidden biases drawn over 0-20 mV put a neuron's zero-input current I = g_m V_bias beyond
  I_max = 40 uA (11.8 mV) or below I_th (2.95 mV) for about half the draws; clamped at I_max or
  off, its output does not move with its input and its gradient is zero, so training never brings
  it back (restarts ending at 52-74 %). ``bias_range="active"`` draws the biases over
  [I_th, I_max] / g_m instead: every neuron starts on and unsaturated at zero input;
- with both neurons working, most restarts end in one local minimum: both neurons' input weights
  along x1 + x2 (a band across the diagonal, 86-92 %); the solution needs one along x1 - x2, i.e.
  a first-layer junction's weight changing sign, which takes its resonance across its tone
  through a region where the loss rises. No learning rate of the tunings in 30-300 kHz changed
  that (measured), and screening restarts early does not find the good ones: some reach 97 %
  only after 100-400 epochs. So the chip needs many restarts: with ``bias_range="active"``
  about one in sixteen reaches 97 % (measured 15 of 245; 100 or 400 epochs, 160-640 training
  samples alike: the start decides).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from rfemu.engines.compiled import CompiledEngine
from rfemu.learning import resume
from rfemu.learning.backprop import LearningCurve, TrainingConfig, TrainingResult, _as_network, train
from rfemu.rng import as_generator

INITIAL_STATES = ("plan", "uniform")


def random_state(network, rng, bias_range=(0.0, 0.02)) -> None:
    """Program a network at random: every junction's tuning state uniform in its window, every
    hidden chain's bias voltage uniform in ``bias_range`` (V), or with ``bias_range="active"``
    uniform in [I_th, I_max] / g_m of its neuron (on and unsaturated at zero input). The output
    chains' biases are left as they are (training sets them)."""
    if isinstance(bias_range, str):
        if bias_range != "active":
            raise ValueError(f"bias_range must be (low, high) volts or 'active', got {bias_range!r}")
    else:
        lo, hi = (float(b) for b in bias_range)
        if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
            raise ValueError(f"bias_range must be (low, high) volts with low <= high, got {bias_range!r}")
    rng = as_generator(rng)
    net = _as_network(network)
    for layer in net.layers:
        shape = layer.tuning.shape
        layer.tuning = rng.uniform(np.broadcast_to(layer.tuning_min, shape), np.broadcast_to(layer.tuning_max, shape))
        if layer.is_hidden:
            if bias_range == "active":
                gm = np.broadcast_to(layer.transconductance, layer.bias_voltage.shape)
                lo = np.asarray(layer.oscillator.threshold_current, dtype=float) / gm
                hi = np.asarray(layer.oscillator.max_current, dtype=float) / gm
            layer.bias_voltage = rng.uniform(lo, hi, size=layer.bias_voltage.shape)


def train_restarts(network, features, labels, config: TrainingConfig, restarts, initial_state="uniform",
                   bias_range=(0.0, 0.02), seed=None, progress=False, checkpoint=None):
    """Train copies of ``network`` from ``restarts`` initial states; keep the best.

    Restart 0 starts from the network as it is when ``initial_state="plan"``; every other
    restart (and all of them with ``"uniform"``) from :func:`random_state`. The network passed in
    ends with the kept state.

    Parameters
    ----------
    network : CompiledNetwork (or graph / engine: compiled)
    features, labels : the training samples (the validation split is ``config``'s)
    config : TrainingConfig
        Its ``validation_fraction`` must be > 0 when ``restarts > 1`` (the choice needs held-out
        samples); each restart uses ``config.seed + k`` for its split and shuffling.
    restarts : int
    initial_state : {"plan", "uniform"}
    bias_range : (float, float) or "active"
        V, the hidden biases' range of :func:`random_state`.
    seed : int, Generator or None
        Seed of the random programmings.
    progress : bool
        A tqdm bar over restarts.
    checkpoint : object, optional
        Saves the restarts' loop (loop ``"restarts"``: the finished restarts' scores, the best
        result so far, the programmings' generator, and the running restart's own training loop
        under ``"inner"``) and takes it back when a run resumes (:mod:`rfemu.learning.resume`).

    Returns
    -------
    (TrainingResult, list of float)
        The kept restart's result and every restart's validation accuracy (of the state it
        ended with).
    """
    if int(restarts) != restarts or restarts < 1:
        raise ValueError(f"restarts must be an integer >= 1, got {restarts!r}")
    if initial_state not in INITIAL_STATES:
        raise ValueError(f"initial_state must be one of {INITIAL_STATES}, got {initial_state!r}")
    if restarts > 1 and config.validation_fraction <= 0:
        raise ValueError("restarts > 1 choose on held-out samples: validation_fraction must be > 0")
    net = _as_network(network)
    rng = as_generator(seed)
    start = net.trainable_state()
    best, scores, first = None, [], 0
    saved = checkpoint.restore("restarts") if checkpoint is not None else None
    if saved is not None:
        first, scores, best = _restore(saved, net, rng)
    it = range(first, int(restarts))
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc="restarts", unit="restart", total=int(restarts), initial=first)
    for k in it:
        at_start = resume.generator_state(rng)
        candidate = net.copy()
        candidate.set_trainable_state(start)
        if initial_state == "uniform" or k > 0:
            random_state(candidate, rng, bias_range)
        cfg = dataclasses.replace(config, seed=None if config.seed is None else config.seed + k,
                                  progress=False) if restarts > 1 else config
        inner = None
        if checkpoint is not None:
            inner = resume.NestedCheckpoint(
                checkpoint, "restarts", lambda: _state(k, scores, best, at_start),
                saved.get("inner") if saved is not None and saved["restart"] == k else None)
        result = train(candidate, features, labels, cfg, checkpoint=inner)
        key = _validation_key(result, config)
        scores.append(key[0])
        if best is None or key[0] > best[0][0] or (key[0] == best[0][0] and key[1] < best[0][1]):
            best = (key, result)
        if checkpoint is not None and k + 1 < restarts:
            checkpoint.offer("restarts", lambda: _state(k + 1, scores, best, resume.generator_state(rng)))
    result = best[1]
    net.set_trainable_state(result.network.trainable_state())
    result.network = net
    result.engine = CompiledEngine(net, n_threads=config.n_threads)
    return result, scores


def _state(restart, scores, best, rng_state) -> dict:
    """The restarts' loop at the start of restart ``restart`` (:mod:`rfemu.learning.resume`): the
    finished restarts' scores, the best one's result so far, the programmings' generator there."""
    out = {"restart": int(restart), "scores": [float(v) for v in scores], "rng": rng_state, "best": None,
           "inner": None}
    if best is not None:
        (acc, loss), r = best
        h = r.history
        out["best"] = {"key": [float(acc), float(loss)], "network": resume.trainable_arrays(r.network),
                       "history": resume.curve_state(h), "snapshot_nodes": list(h.snapshot_nodes),
                       "best_epoch": int(r.best_epoch), "stopped_early": bool(r.stopped_early),
                       "score_scale": float(r.score_scale), "seconds": float(r.seconds),
                       "kernel_seconds": float(r.kernel_seconds)}
    return out


def _restore(saved, net, rng):
    """(first restart, scores, best) from :func:`_state`; the generator put back."""
    resume.set_generator_state(rng, saved["rng"])
    best = None
    b = saved["best"]
    if b is not None:
        kept = net.copy()
        resume.set_trainable_arrays(kept, b["network"])
        history = LearningCurve()
        resume.set_curve_state(history, b["history"])
        history.snapshot_nodes = list(b["snapshot_nodes"])
        best = ((float(b["key"][0]), float(b["key"][1])),
                TrainingResult(network=kept, engine=None, history=history, best_epoch=int(b["best_epoch"]),
                               stopped_early=bool(b["stopped_early"]), score_scale=float(b["score_scale"]),
                               seconds=float(b["seconds"]), kernel_seconds=float(b["kernel_seconds"])))
    return int(saved["restart"]), [float(v) for v in saved["scores"]], best


def _validation_key(result, config):
    """(validation accuracy, validation loss) of the state a training ended with."""
    acc = np.asarray(result.history.validation_accuracy, dtype=float)
    loss = np.asarray(result.history.validation_loss, dtype=float)
    i = result.best_epoch - 1 if config.restore_best else len(acc) - 1
    return (-np.inf, np.inf) if np.isnan(acc[i]) else (float(acc[i]), float(loss[i]))
