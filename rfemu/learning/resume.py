"""What a learning loop saves into a checkpoint, and how it takes it back (``rfemu run --resume``).

A long loop (the epochs of offline backpropagation, the windows of on-chip learning) takes an
optional ``checkpoint`` object with two methods (the run's :class:`rfemu.checkpoint.Checkpointer`
is one; docs/architecture.md names the layers):

``checkpoint.restore(loop) -> dict or None``
    Called once, after the loop has set itself up exactly as a fresh run does (same random
    draws): the state the loop saved under the name ``loop`` when the run is being resumed from
    a checkpoint written inside it, else None.
``checkpoint.offer(loop, state)``
    Called at every point where the loop could stop and go on again (the end of an epoch, of a
    window); ``state()`` builds the loop's state (a tree of dicts, lists, floats, ints, strings
    and numpy arrays) and is called only when a checkpoint is due.

Every random generator's state (``Generator.bit_generator.state``), every counter and every
array the loop goes on from is saved, so a resumed loop draws and computes what the loop left
alone would have: its results are the same bit for bit. The helpers here save and restore the
pieces the loops share (generators, a network's trainable arrays, the junctions' learning
state, a learning curve).
"""
from __future__ import annotations

import numpy as np

__all__ = ["generator_state", "set_generator_state", "trainable_arrays", "set_trainable_arrays",
           "curve_state", "set_curve_state", "junction_states_state", "set_junction_states_state",
           "rule_state", "set_rule_state", "NestedCheckpoint", "on_chip_result_state", "on_chip_result",
           "restarts_state"]


def generator_state(generator) -> dict:
    """A numpy Generator's bit generator state (plain dict of ints and strings)."""
    return generator.bit_generator.state


def set_generator_state(generator, state: dict) -> None:
    """Put a generator back where :func:`generator_state` found it (the same kind of bit generator)."""
    if state.get("bit_generator") != type(generator.bit_generator).__name__:
        raise ValueError(f"checkpoint holds a {state.get('bit_generator')} state, the run a "
                         f"{type(generator.bit_generator).__name__}")
    generator.bit_generator.state = state


def trainable_arrays(network) -> dict:
    """The network's trainable arrays: {"tuning": [...], "bias_voltage": [...]} (copies)."""
    return network.trainable_state()


def set_trainable_arrays(network, state: dict) -> None:
    """Write saved trainable arrays into the network's own arrays, in place (engines and
    learning states holding those arrays see them), checking their shapes."""
    for layer, tuning, bias in zip(network.layers, state["tuning"], state["bias_voltage"], strict=True):
        tuning, bias = np.asarray(tuning), np.asarray(bias)
        if tuning.shape != layer.tuning.shape or bias.shape != layer.bias_voltage.shape:
            raise ValueError(f"checkpoint arrays of layer {layer.index} have shapes {tuning.shape}, "
                             f"{bias.shape}; the network's {layer.tuning.shape}, {layer.bias_voltage.shape}")
        layer.tuning[...] = tuning
        layer.bias_voltage[...] = bias


#: the list fields of a learning curve that a checkpoint keeps (snapshot_nodes are rebuilt)
_CURVE_LISTS = ("train_loss", "train_accuracy", "validation_loss", "validation_accuracy", "seconds",
                "kernel_seconds", "lorentzian_seconds", "score_scale")


def curve_state(curve) -> dict:
    """A :class:`~rfemu.learning.backprop.LearningCurve`'s lists (floats) and snapshots (array)."""
    out = {name: [float(v) for v in getattr(curve, name)] for name in _CURVE_LISTS}
    out["snapshot_frequency"] = [np.asarray(f, dtype=float) for f in curve.snapshot_frequency]
    return out


def set_curve_state(curve, state: dict) -> None:
    """Fill a learning curve (its ``snapshot_nodes`` kept) from :func:`curve_state`."""
    for name in _CURVE_LISTS:
        setattr(curve, name, list(state[name]))
    curve.snapshot_frequency = [np.asarray(f, dtype=float) for f in state["snapshot_frequency"]]


def junction_states_state(states) -> dict:
    """The on-chip junctions' learning state (:class:`~rfemu.learning.local.state.JunctionStates`):
    accumulators, and per line the frequency state's shifts, write counters, stuck flags and its
    write-noise generator; the write log."""
    log = states.log.arrays()
    return {
        "accumulator": states.accumulator.copy(),
        "lines": [{"shift": fs.shift.copy(), "writes": fs.writes.copy(), "stuck": fs.stuck.copy(),
                   "rng": generator_state(fs._rng)} for fs in states.frequency_states],
        "log": {k: v.copy() for k, v in log.items()},
        "log_count": int(states.log.count), "log_energy": float(states.log.energy),
    }


def set_junction_states_state(states, state: dict) -> None:
    """Put :func:`junction_states_state` back (the network's tuning arrays follow the shifts)."""
    states.accumulator[...] = state["accumulator"]
    for l, (fs, saved) in enumerate(zip(states.frequency_states, state["lines"], strict=True)):
        fs.shift[...] = saved["shift"]
        fs.writes[...] = saved["writes"]
        fs.stuck[...] = saved["stuck"]
        set_generator_state(fs._rng, saved["rng"])
        states._sync(l)
    log = states.log
    log._chunks = {k: ([np.asarray(state["log"][k])] if state["log_count"] else [])
                   for k in log.FIELDS}
    log.count, log.energy = int(state["log_count"]), float(state["log_energy"])


def rule_state(rule) -> dict:
    """A local rule's changing state: its window counter and generator, when it has them."""
    out = {}
    if hasattr(rule, "_window"):
        out["window"] = int(rule._window)
    if getattr(rule, "_rng", None) is not None:
        out["rng"] = generator_state(rule._rng)
    return out


def set_rule_state(rule, state: dict) -> None:
    """Put :func:`rule_state` back."""
    if "window" in state:
        rule._window = int(state["window"])
    if "rng" in state:
        set_generator_state(rule._rng, state["rng"])


class NestedCheckpoint:
    """The ``checkpoint`` given to a loop that runs inside another (one restart's training inside
    the restarts' loop): what the inner loop offers is saved as the outer loop ``outer``'s state,
    ``outer_state()`` (finished restarts, generators) with the inner loop's under ``"inner"``
    (``{"loop": name, "state": ...}``); :meth:`restore` gives the inner loop back ``inner``, the
    inner state of the checkpoint being resumed (once).

    Parameters
    ----------
    checkpoint : object
        The outer loop's checkpoint (``restore``/``offer``, e.g. the run's Checkpointer).
    outer : str
        The outer loop's name.
    outer_state : callable
        ``outer_state() -> dict``, the outer loop's state at this point (without ``"inner"``).
    inner : dict or None
        ``{"loop": name, "state": dict}`` saved inside the inner loop, when resuming from it.
    """

    def __init__(self, checkpoint, outer: str, outer_state, inner=None):
        self.checkpoint, self.outer, self.outer_state, self.inner = checkpoint, outer, outer_state, inner

    def restore(self, loop: str):
        inner, self.inner = self.inner, None
        if inner is not None and inner.get("loop") == loop:
            return inner["state"]
        return None

    def offer(self, loop: str, state) -> None:
        self.checkpoint.offer(self.outer, lambda: dict(self.outer_state(),
                                                       inner={"loop": loop, "state": state()}))


def on_chip_result_state(result) -> dict:
    """A finished on-chip learning's result (:class:`~rfemu.learning.local.train.OnChipResult`):
    the trained arrays, the junctions' learning state, the curve, the clocks."""
    c = result.curve
    return {"network": trainable_arrays(result.network), "junctions": junction_states_state(result.states),
            "curve": {"followed": np.asarray(c.followed), "window": [int(w) for w in c.window],
                      "writes": [int(w) for w in c.writes], "frequency": [np.asarray(f) for f in c.frequency],
                      **{k: [float(v) for v in getattr(c, k)] for k in ("time", "energy", "cost", "accuracy")}},
            "simulated_time": float(result.simulated_time), "seconds": float(result.seconds),
            "junction_updates": int(result.junction_updates)}


def on_chip_result(saved: dict, network, writes):
    """The :class:`~rfemu.learning.local.train.OnChipResult` of :func:`on_chip_result_state`, on
    ``network`` (a copy of the chip, its arrays overwritten) with the write physics ``writes``."""
    from rfemu.learning.local.state import JunctionStates
    from rfemu.learning.local.train import OnChipCurve, OnChipResult
    set_trainable_arrays(network, saved["network"])
    states = JunctionStates(network, writes, seed=0)
    set_junction_states_state(states, saved["junctions"])
    c = saved["curve"]
    curve = OnChipCurve(followed=np.asarray(c["followed"]), window=list(c["window"]), writes=list(c["writes"]),
                        frequency=[np.asarray(f) for f in c["frequency"]],
                        **{k: list(c[k]) for k in ("time", "energy", "cost", "accuracy")})
    return OnChipResult(network=network, states=states, curve=curve, simulated_time=float(saved["simulated_time"]),
                        seconds=float(saved["seconds"]), junction_updates=int(saved["junction_updates"]))


def restarts_state(restart: int, scores, best, rng_state, best_state) -> dict:
    """A restarts' loop at the start of restart ``restart``: the finished restarts' scores, the
    best result so far (``best_state(best)``, None before the first), the programmings'
    generator state there; ``"inner"`` None (a nested loop's offer fills it)."""
    return {"restart": int(restart), "scores": [float(v) for v in scores], "rng": rng_state,
            "best": None if best is None else best_state(best), "inner": None}
