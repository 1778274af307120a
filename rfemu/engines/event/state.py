"""The event engine's state between two inferences, as plain data: export it, and continue an
engine from it (a long event run resumed after a crash, ``rfemu run --resume``).

Simpy processes are suspended generators, which cannot be saved. What each agent would go on from
is in its state record, not in its generator's frame: every agent waits at the top of its loop on
one event (its ``kick``, or a busy neuron's ``timer``), and between two inferences no process is
in the middle of anything. So the state is (docs/architecture.md#resuming-a-run):

- the clock's time (ticks, an exact integer) and every event in its queue, in the order the
  queue would process them, each named by the agent it wakes (a line's delivery, a busy neuron's
  wake-up, ...) or marked as a left-over timer of an interrupted neuron that wakes nobody (it
  still counts as an event);
- each agent's record: the neurons' drive, relaxation or oscillator amplitude, emitted tone and
  tolerances; each line's tones, chain matrix and its pending refreshes, the voltages it last
  delivered, the tone changes still travelling on it (causal delivery), the junctions'
  resonances and frequency states; the readouts' values; the sources' powers;
- the state of the engine's random generator (the chains' noise floor, the neurons' thermal
  noise, writes and phase locking all draw from it, in event order), the energy ledger's logs
  and the tracer's records.

:func:`load_engine_state` builds nothing: :class:`~rfemu.engines.event.engine.EventEngine` (``state=``)
builds the agents and starts their processes as a fresh engine does (each then waits on its
kick), and this module puts the records back and re-creates the queue's events on the kicks the
processes wait on, in the saved order. Running samples ``0..k``, saving, building an engine from
the state and running ``k+1..n`` gives the results of running ``0..n`` at once, bit for bit.

The state is a tree of dicts, lists, numbers, strings and numpy arrays (no Python objects;
:mod:`rfemu.checkpoint` writes it). Times in ticks are Python integers (they may exceed 64 bits
on long runs). A state belongs to the network and :class:`EventConfig` it was taken with (the
same graph and trained arrays): the layout and the settings are checked when it is loaded.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math

import numpy as np

from rfemu.engines.event.clock import PriorityTimeout, arm_ticks, pending, timer
from rfemu.engines.event.config import InferenceResult

__all__ = ["STATE_FORMAT", "engine_state", "load_engine_state", "results_state", "results_from_state"]

#: the layout of an engine state (a loader refuses another)
STATE_FORMAT = 1

#: a neuron's float fields saved as arrays (the rest: ticks, flags, amplitude, tolerances)
_NEURON_FLOATS = ("p0", "f0", "p_target", "f_target", "g_target", "rate", "p_emit", "f_emit", "g_emit",
                  "current", "steady")


# --------------------------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------------------------

def engine_state(engine) -> dict:
    """The state of ``engine`` between two inferences (see the module's docstring).

    Raises
    ------
    ValueError
        During an inference, or with an event in the queue that belongs to no agent's loop
        (a write still landing, an interrupt not yet delivered, a user's own process).
    """
    if engine._recording:
        raise ValueError("the event engine's state is taken between inferences, not during one")
    return {
        "format": STATE_FORMAT,
        "layout": _layout(engine),
        "config": _config(engine.config),
        "clock_ticks": int(engine.env.ticks),
        "queue": _queue(engine),
        "n_events": int(engine.n_events),
        "stop_time": _tick_or_none(engine._stop_time),
        "rng": engine.rng.bit_generator.state,
        "sources": {"power": np.array([s.power for s in engine.sources], dtype=float)},
        "readouts": {"value": np.array([r.value for r in engine.readouts], dtype=float),
                     "recorded": np.array([r.recorded for r in engine.readouts], dtype=float)},
        "neurons": _neurons(engine.neurons),
        "lines": [_line(engine, line) for line in engine.lines],
        "ledger": _ledger(engine.ledger),
        "tracer": None if engine.tracer is None else engine.tracer.state(),
    }


def _layout(engine) -> dict:
    """What identifies the engine's agents (counts and shapes) and the network they were built
    from (a digest of its arrays)."""
    return {"sources": len(engine.sources), "neurons": len(engine.neurons), "readouts": len(engine.readouts),
            "lines": [[line.medium.n_chains, line.medium.n_junctions, line.medium.n_tones] for line in engine.lines],
            "network": _network_digest(engine.network)}


def _network_digest(network) -> str:
    """SHA-256 of a compiled network's numeric arrays (every layer's, its oscillators' parameters,
    the sources' powers): the trained, calibrated chip an engine state belongs to."""
    h = hashlib.sha256()

    def add(name, value):
        a = np.ascontiguousarray(value)
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    for layer in network.layers:
        for f in dataclasses.fields(layer):
            value = getattr(layer, f.name)
            if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
                add(f"{layer.index}.{f.name}", value)
        if dataclasses.is_dataclass(layer.oscillator):
            for f in dataclasses.fields(layer.oscillator):
                add(f"{layer.index}.oscillator.{f.name}", np.asarray(getattr(layer.oscillator, f.name), dtype=float))
    add("source_max_power", np.asarray(network.source_max_power, dtype=float))
    return h.hexdigest()


def _config(config) -> dict:
    """The settings that change results (``n_threads`` does not)."""
    return {k: v for k, v in dataclasses.asdict(config).items() if k != "n_threads"}


def _tick_or_none(t):
    return None if t == math.inf else int(t)


def _queue(engine) -> list:
    """Every scheduled event in processing order: its time (ticks), priority and the agent it wakes."""
    owners = {}
    for kind, agents in (("line", engine.lines), ("source", engine.sources), ("readout", engine.readouts),
                         ("neuron_kick", engine.neurons)):
        for i, agent in enumerate(agents):
            owners[id(agent.kick)] = (kind, i)
    for i, n in enumerate(engine.neurons):
        if n.interrupted:
            raise ValueError(f"neuron {n.node!r} is being interrupted: the event engine's state is taken "
                             "between inferences")
        if n.busy:
            owners[id(n.timer)] = ("neuron_timer", i)
    entries = []
    for at, priority, _, event in sorted(engine.env._queue, key=lambda e: e[:3]):
        owner = owners.get(id(event))
        if owner is None:
            if type(event) is not PriorityTimeout or event.callbacks != []:
                raise ValueError(f"an event at {at} ticks ({event!r}) belongs to no agent's loop (a write "
                                 "still landing?): the event engine's state is taken between inferences")
            owner = ("stale", -1)             # an interrupted neuron's old timer: wakes nobody
        entries.append({"at": int(at), "priority": int(priority), "agent": owner[0], "index": owner[1]})
    return entries


def _neurons(neurons) -> dict:
    out = {name: np.array([getattr(n, name) for n in neurons], dtype=float) for name in _NEURON_FLOATS}
    has_now = [hasattr(n, "p_now") for n in neurons]      # set by the first noisy step
    out.update(
        busy=np.array([n.busy for n in neurons], dtype=bool),
        t0=[int(n.t0) for n in neurons], t_current=[int(n.t_current) for n in neurons],
        stop_time=[_tick_or_none(n.stop_time) for n in neurons],
        amplitude=np.array([n.amplitude for n in neurons], dtype=complex),
        tolerances=np.array([n.tolerances for n in neurons], dtype=float).reshape(len(neurons), 4),
        has_now=np.array(has_now, dtype=bool),
        p_now=np.array([n.p_now if h else 0.0 for n, h in zip(neurons, has_now)], dtype=float),
        f_now=np.array([n.f_now if h else 0.0 for n, h in zip(neurons, has_now)], dtype=float))
    return out


def _line(engine, line) -> dict:
    medium, fs = line.medium, line.frequency_state
    flight = list(line.in_flight)
    return {
        "armed": bool(line.armed),
        "delivered": line.delivered.copy(),
        "free_frequency": np.array(line.free_frequency, dtype=float),
        "in_flight": {"at": [int(e[0]) for e in flight], "slot": np.array([e[1] for e in flight], dtype=np.int64),
                      "tone": np.array([e[2:] for e in flight], dtype=float).reshape(len(flight), 3)},
        "medium": {"tone_frequency": medium.tone_frequency.copy(), "tone_power": medium.tone_power.copy(),
                   "tone_linewidth": medium.tone_linewidth.copy(),
                   "resonance_frequency": medium.resonance_frequency.copy(),
                   "matrix": np.array(medium._w, dtype=float),
                   "dirty_tones": sorted(int(k) for k in medium._dirty_tones),
                   "dirty_chains": sorted(int(k) for k in medium._dirty_chains),
                   "n_kernel_calls": int(medium.n_kernel_calls)},
        "frequency_state": None if fs is None else {   # (a convolution's line writes nothing)
            "shift": fs.shift.copy(), "writes": fs.writes.copy(), "stuck": fs.stuck.copy(),
            "rng": None if fs._rng is engine.rng else fs._rng.bit_generator.state},
    }


def _ledger(ledger) -> dict:
    """The energy ledger's step logs (in its devices' order) and what was spent at once."""
    def logs(d):
        return [{"t": [int(t) for t, _ in log], "value": np.array([w for _, w in log], dtype=float)}
                for log in d.values()]
    return {"oscillators": logs(ledger._oscillators), "lines": logs(ledger._lines),
            "spent": [[k, float(v)] for k, v in ledger._spent.items()]}


# --------------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------------

def load_engine_state(engine, state: dict) -> None:
    """Put :func:`engine_state` back into a just-built engine whose processes wait on their kicks
    (:class:`~rfemu.engines.event.engine.EventEngine` with ``state=`` calls it).

    Raises
    ------
    ValueError
        A state of another layout, another :class:`EventConfig` or another generator.
    """
    if state.get("format") != STATE_FORMAT:
        raise ValueError(f"event engine state of format {state.get('format')!r}, expected {STATE_FORMAT}")
    saved, here = _as_plain(state["layout"]), _layout(engine)
    if saved != here:
        what = "arrays" if {k: v for k, v in saved.items() if k != "network"} == \
            {k: v for k, v in here.items() if k != "network"} else "agents"
        raise ValueError(f"the event engine state is of another network (its {what} differ: a state goes "
                         "on only on the network it was taken on, trained and calibrated as it was)")
    saved, here = _as_plain(state["config"]), _as_plain(_config(engine.config))
    if saved != here:
        diff = sorted(k for k in here if saved.get(k) != here[k])
        raise ValueError(f"the event engine state was taken with other settings ({', '.join(diff)})")
    env = engine.env
    if env._queue:
        raise ValueError("load_engine_state needs a just-built engine (its queue empty)")
    env._now = int(state["clock_ticks"])
    _set_generator(engine.rng, state["rng"])
    engine.n_events = int(state["n_events"])
    engine._stop_time = _tick(state["stop_time"])
    for s, p in zip(engine.sources, np.asarray(state["sources"]["power"]).tolist()):
        s.power = p
    for r, v, rec in zip(engine.readouts, np.asarray(state["readouts"]["value"]).tolist(),
                         np.asarray(state["readouts"]["recorded"]).tolist()):
        r.value, r.recorded = v, rec
    _set_neurons(engine.neurons, state["neurons"])
    for line, saved_line in zip(engine.lines, state["lines"]):
        _set_line(engine, line, saved_line)
    _set_ledger(engine.ledger, state["ledger"])
    if engine.tracer is not None and state.get("tracer") is not None:
        engine.tracer.load_state(state["tracer"])
    _set_queue(engine, state["queue"])


def _as_plain(value):
    """Tuples as lists (a checkpoint gives lists back where tuples went in, or the reverse)."""
    if isinstance(value, (list, tuple)):
        return [_as_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_plain(v) for k, v in value.items()}
    return value


def _tick(t):
    return math.inf if t is None else int(t)


def _set_generator(generator, state) -> None:
    if state.get("bit_generator") != type(generator.bit_generator).__name__:
        raise ValueError(f"the event engine state holds a {state.get('bit_generator')} generator, the "
                         f"engine a {type(generator.bit_generator).__name__}")
    generator.bit_generator.state = state


def _set_neurons(neurons, saved) -> None:
    floats = {name: np.asarray(saved[name]).tolist() for name in _NEURON_FLOATS}
    amplitude = np.asarray(saved["amplitude"]).tolist()
    tolerances = np.asarray(saved["tolerances"]).tolist()
    busy, has_now = np.asarray(saved["busy"]).tolist(), np.asarray(saved["has_now"]).tolist()
    p_now, f_now = np.asarray(saved["p_now"]).tolist(), np.asarray(saved["f_now"]).tolist()
    for i, n in enumerate(neurons):
        for name in _NEURON_FLOATS:
            setattr(n, name, floats[name][i])
        n.busy, n.interrupted = bool(busy[i]), False
        n.t0, n.t_current = int(saved["t0"][i]), int(saved["t_current"][i])
        n.stop_time = _tick(saved["stop_time"][i])
        n.amplitude = complex(amplitude[i])
        n.tolerances = tuple(tolerances[i])
        if has_now[i]:
            n.p_now, n.f_now = p_now[i], f_now[i]
        n.timer = None
        n.segments = []


def _set_line(engine, line, saved) -> None:
    line.armed = bool(saved["armed"])
    line.delivered[...] = saved["delivered"]
    line.free_frequency[...] = saved["free_frequency"]
    flight = saved["in_flight"]
    line.in_flight.clear()
    for at, slot, tone in zip(flight["at"], np.asarray(flight["slot"]).tolist(),
                              np.asarray(flight["tone"]).reshape(-1, 3).tolist()):
        line.in_flight.append((int(at), slot, *tone))
    m, medium = saved["medium"], line.medium
    for name in ("tone_frequency", "tone_power", "tone_linewidth", "resonance_frequency"):
        getattr(medium, name)[...] = m[name]
    medium._w = np.array(m["matrix"], dtype=float)
    medium._dirty_tones = {int(k) for k in m["dirty_tones"]}
    medium._dirty_chains = {int(k) for k in m["dirty_chains"]}
    medium.n_kernel_calls = int(m["n_kernel_calls"])
    fs, f = line.frequency_state, saved["frequency_state"]
    if (fs is None) != (f is None):
        raise ValueError(f"the event engine state's line {line.layer} is of another kind (frequency state)")
    if fs is None:
        return
    fs.shift[...], fs.writes[...], fs.stuck[...] = f["shift"], f["writes"], f["stuck"]
    if f["rng"] is not None:
        _set_generator(fs._rng, f["rng"])


def _set_ledger(ledger, saved) -> None:
    for logs, entries in ((ledger._oscillators, saved["oscillators"]), (ledger._lines, saved["lines"])):
        if len(logs) != len(entries):
            raise ValueError(f"the event engine state's energy ledger has {len(entries)} logs, the engine {len(logs)}")
        for key, entry in zip(list(logs), entries):
            logs[key] = list(zip((int(t) for t in entry["t"]), np.asarray(entry["value"]).tolist()))
    ledger._spent = {str(k): float(v) for k, v in saved["spent"]}


def _set_queue(engine, entries) -> None:
    """Schedule the saved events again, in their order, on the kicks the processes wait on."""
    env = engine.env
    now = env._now
    groups = {"line": engine.lines, "source": engine.sources, "readout": engine.readouts,
              "neuron_kick": engine.neurons, "neuron_timer": engine.neurons}
    for e in entries:
        kind, delay, priority = e["agent"], int(e["at"]) - now, int(e["priority"])
        if delay < 0:
            raise ValueError(f"the event engine state schedules an event before its clock ({e['at']} < {now} ticks)")
        if kind == "stale":
            timer(env, priority, delay)
            continue
        agent = groups[kind][int(e["index"])]
        event = agent.kick                     # what the agent's process waits on
        event.priority = priority
        arm_ticks(event, delay)
        if kind == "neuron_timer":             # a busy neuron: the event it waits on is its timer
            agent.timer, agent.kick = event, pending(env, event.priority)
    for line in engine.lines:
        if line.armed != any(e["agent"] == "line" and engine.lines[int(e["index"])] is line for e in entries):
            raise ValueError(f"the event engine state's line {line.layer} is armed without a delivery scheduled")
    for n in engine.neurons:
        if n.busy and n.timer is None:
            raise ValueError(f"the event engine state's neuron {n.node!r} is busy without a wake-up scheduled")


# --------------------------------------------------------------------------------------------
# the results of the samples already run
# --------------------------------------------------------------------------------------------

def results_state(items) -> dict:
    """The :class:`InferenceResult` of the samples run so far, as plain data."""
    items = list(items)
    state = {"count": len(items),
             "n_events": [int(it.n_events) for it in items],
             "energy": [[[k, float(v)] for k, v in it.energy.items()] for it in items]}
    for name in ("latency", "wall_time", "t_start", "t_end", "cpu_time"):
        state[name] = np.array([getattr(it, name) for it in items], dtype=float)
    if items:
        state["outputs"] = np.array([it.outputs for it in items], dtype=float)
    return state


def results_from_state(state: dict) -> list:
    """The :class:`InferenceResult` list :func:`results_state` saved."""
    n = int(state["count"])
    cols = {name: np.asarray(state[name]).tolist() for name in ("latency", "wall_time", "t_start", "t_end",
                                                              "cpu_time")}
    outputs = np.asarray(state["outputs"], dtype=float) if n else None
    return [InferenceResult(outputs=outputs[i].copy(), latency=cols["latency"][i],
                            energy={str(k): float(v) for k, v in state["energy"][i]},
                            n_events=int(state["n_events"][i]), wall_time=cols["wall_time"][i],
                            t_start=cols["t_start"][i], t_end=cols["t_end"][i], cpu_time=cols["cpu_time"][i])
            for i in range(n)]
