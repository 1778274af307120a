"""The agents of the event engine: small state records (``__slots__``) and the plain generator
functions simpy runs over them, one process per device; :class:`Priority` orders simultaneous
events.

Times held by agents (``t0``, ``t_current``, ``stop_time``, readout records) are the clock's
integer ticks (:mod:`rfemu.engines.event.clock`); every physics computation uses their
differences in seconds. An agent sleeps on a :class:`~rfemu.engines.event.clock.PriorityTimeout`,
created pending and armed by whoever wakes it.
"""
from __future__ import annotations

import math
from collections import deque
from enum import IntEnum

import numpy as np
import simpy

from rfemu.engines.event.clock import TICK, PriorityTimeout, arm_ticks, pending, rearm, timer, to_seconds

__all__ = ["Priority", "SourceAgent", "source_process", "JunctionAgent", "write_process", "NeuronAgent",
           "neuron_process", "ReadoutAgent", "readout_process", "LineAgent", "line_process"]


class Priority(IntEnum):
    """Order of simultaneous events (lower first)."""

    WRITE = 0            #: a non-volatile frequency write lands on its junctions
    SOURCE = 1           #: an input source changes its tone
    LINE_DELIVERY = 2    #: a line answers every tone change of the instant at once
    NEURON_UPDATE = 3    #: oscillators react to their chains' new voltages
    READOUT = 4          #: readouts record the output chains


# the priorities as plain ints for the hot path (an IntEnum attribute costs ~0.4 us to read)
_SOURCE, _LINE_DELIVERY, _NEURON_UPDATE, _READOUT = (int(p) for p in (
    Priority.SOURCE, Priority.LINE_DELIVERY, Priority.NEURON_UPDATE, Priority.READOUT))


class SourceAgent:
    """An input tone: its line, slot, frequency, linewidth and the power it is asked to emit."""

    __slots__ = ("node", "line", "slot", "frequency", "linewidth", "power", "kick", "process")

    def __init__(self, node, line, slot, frequency, linewidth):
        self.node, self.line, self.slot = node, line, slot
        self.frequency, self.linewidth = frequency, linewidth
        self.power = 0.0
        self.kick = None
        self.process = None


def source_process(env, agent, engine):
    """A source: wait to be told a new power, put the tone on the line."""
    priority = _SOURCE
    while True:
        yield agent.kick
        agent.kick = pending(env, priority)
        agent.line.send(env._now, agent.slot, agent.frequency, agent.power, agent.linewidth)


class JunctionAgent:
    """A junction (synapse): where its state sits in its line's arrays (chain, junction; ``flat``
    the index in the line's flattened (chains x junctions) arrays)."""

    __slots__ = ("node", "line", "chain", "junction")

    def __init__(self, node, line, chain, junction):
        self.node, self.line, self.chain, self.junction = node, line, chain, junction

    @property
    def flat(self) -> int:
        """Index of the junction in its line's flattened arrays, ``chain * J + junction``
        (computed: a stored int would cost ~40 bytes per junction)."""
        return self.chain * self.line.medium.resonance_frequency.shape[1] + self.junction


def write_process(env, line, flat_index, target, engine):
    """Junctions of one line are written (in parallel): the new resonances land after the latency."""
    report = line.frequency_state.write(target, index=flat_index)
    engine.ledger.add("write", report.energy)
    yield PriorityTimeout(env, Priority.WRITE, report.latency, who=f"a write on line {line.layer}")
    applied = line.frequency_state.frequency[flat_index]
    C, J = line.medium.resonance_frequency.shape
    line.medium.set_resonance(flat_index // J, flat_index % J, applied)
    if engine.tracer is not None:
        engine.tracer.junctions(env.now, line.layer, flat_index, applied)
    line.changed()


class NeuronAgent:
    """An oscillator (neuron): its drive, its emitted and relaxing state, its tone slot."""

    __slots__ = ("node", "layer", "chain", "line_out", "slot", "params", "kick", "timer", "process",
                 "busy", "interrupted", "t0", "p0", "f0", "p_target", "f_target", "g_target", "rate",
                 "p_emit", "f_emit", "g_emit", "current", "p_scale", "amplitude", "stop_time",
                 "t_current", "p_now", "f_now", "steady", "f_natural", "tolerances", "segments")

    def __init__(self, node, layer, chain, line_out, slot, params, f_channel, linewidth):
        self.node, self.layer, self.chain = node, layer, chain
        self.line_out, self.slot, self.params = line_out, slot, params
        self.kick = self.timer = self.process = None
        self.busy = self.interrupted = False
        self.t0 = 0
        self.p0 = self.p_target = self.p_emit = 0.0
        self.f0 = self.f_target = self.f_emit = self.f_natural = f_channel
        self.g_target = self.g_emit = linewidth
        self.rate = 1.0
        self.current = 0.0
        self.p_scale = float(params.max_output_power)
        self.amplitude = 0j
        self.stop_time = math.inf
        self.t_current = 0
        self.steady = 0.0
        self.tolerances = (0.0, 0.0, 1e-300, 1e-300)
        self.segments = []       # noise off, this inference: (t0 ticks, p0 W, p_target W, rate 1/s) per retarget

    def state_at(self, t):
        """Output power and frequency at time t >= t0, ticks (noise off: exponential relaxation)."""
        decay = math.exp(-self.rate * ((t - self.t0) * TICK))
        return (self.p_target + (self.p0 - self.p_target) * decay,
                self.f_target + (self.f0 - self.f_target) * decay)


def neuron_process(env, n, engine):
    """A neuron: sleep until its chain moves, then relax, re-emit, settle, sleep again."""
    priority = _NEURON_UPDATE
    step = engine.neuron_step
    while True:
        try:
            yield (n.timer if n.busy else n.kick)
        except simpy.Interrupt:
            pass
        n.interrupted = False
        if not n.busy:
            n.kick = pending(env, priority)
        ticks = step(n, env._now)
        if ticks is None:
            n.busy = False
            n.timer = None
        else:
            n.busy = True
            # the timer that just woke the neuron (processed: callbacks None) is armed again; one
            # still pending (the neuron was interrupted) is left to fire unheard, and a new one made
            t = n.timer
            if t is not None and t.callbacks is None:
                n.timer = rearm(t, ticks)
            else:
                n.timer = timer(env, priority, ticks)


class ReadoutAgent:
    """A readout: the class score it last recorded and when (``records``: (ticks, V) pairs of the
    present inference; ``history``: the same in seconds)."""

    __slots__ = ("node", "layer", "chain", "value", "recorded", "records", "kick", "kicked", "process")

    def __init__(self, node, layer, chain):
        self.node, self.layer, self.chain = node, layer, chain
        self.value = 0.0
        self.recorded = 0.0
        self.records = []
        self.kick = None
        self.kicked = False
        self.process = None

    @property
    def history(self):
        """(t, V) of every record of the present inference, t in seconds."""
        return [(to_seconds(t), v) for t, v in self.records]


def readout_process(env, r, engine):
    """A readout: record the output chain's value (voltage + bias) whenever it moved."""
    priority = _READOUT
    while True:
        yield r.kick
        r.kick = pending(env, priority)
        r.kicked = False
        r.recorded = r.value
        r.records.append((env._now, r.value))


class LineAgent:
    """An RF line: the medium (tones x junctions), its consumers, its pending delivery.

    Causal (``causal``): each tone change travels on the line (``in_flight``: (arrival tick, slot,
    Hz, W, Hz), in order of arrival) and reaches the junctions exactly one delay after it was
    sent, the delivery armed for the first arrival. Otherwise a change is put on the medium when
    sent and the one delivery armed at the first change after a delivery (one delay later) reads
    every change made meanwhile: fewer deliveries, but a change sent while a delivery is pending
    arrives early (by up to one delay).

    ``delay`` (s) is the line's delay (``medium.delay``), ``delay_ticks`` the same on the clock
    (the nearest whole number of ticks)."""

    def __init__(self, engine, layer, medium, frequency_state, compiled_layer, delay_ticks, causal=False):
        self.engine = engine
        self.layer = layer
        self.medium = medium
        self.frequency_state = frequency_state
        self.cl = compiled_layer
        self.delay = medium.delay
        self.delay_ticks = delay_ticks
        self.armed = False
        self.kick = None
        self.process = None
        self.delivered = np.full(medium.n_chains, np.nan)   # the first delivery wakes every chain
        self.consumers = []          # NeuronAgent or ReadoutAgent per chain
        self.hidden = True if compiled_layer is None else compiled_layer.is_hidden   # None: a convolution's line
        self.oscillator_slots = []   # slots of tones emitted by oscillators (for locking)
        self.free_frequency = None   # free-running tone frequencies (the medium holds the pulled ones)
        self.causal = causal
        self.in_flight = deque()     # tone changes on their way to the junctions (causal)

    def send(self, now, slot, frequency, power, linewidth):
        """An emitter changes its tone at ``now`` (ticks): the change reaches the junctions after
        the line's delay (causal: a delivery at its arrival; changes arriving together, one
        delivery)."""
        if self.causal:
            self.in_flight.append((now + self.delay_ticks, slot, frequency, power, linewidth))
        else:
            self.free_frequency[slot] = frequency
            medium = self.medium
            old = float(medium.tone_power[slot])
            medium.update_tone(slot, frequency, power, linewidth)
            if power != old:
                # the junctions absorb the change from its arrival, one delay from now (changes
                # arrive in the order sent), even if a delivery reads it earlier
                self.engine.ledger.tone_change(self.layer, now + self.delay_ticks, power - old)
        if not self.armed:
            self.armed = True
            arm_ticks(self.kick, self.delay_ticks)

    def arrive(self, now):
        """Put every tone change that has arrived by ``now`` (ticks) on the medium."""
        in_flight = self.in_flight
        update = self.medium.update_tone
        free = self.free_frequency
        while in_flight and in_flight[0][0] <= now:
            _, slot, frequency, power, linewidth = in_flight.popleft()
            free[slot] = frequency
            update(slot, frequency, power, linewidth)

    def changed(self):
        """Something on the line changed (a tone sent, a junction written): deliver after the
        line's delay, unless a delivery is already armed (it comes no later)."""
        if not self.armed:
            self.armed = True
            arm_ticks(self.kick, self.delay_ticks)


def line_process(env, line, engine):
    """A line: when tone changes arrive at its junctions, one update over all of them; then wait
    for the next arrival."""
    priority = _LINE_DELIVERY
    while True:
        yield line.kick
        now = env._now
        line.kick = pending(env, priority)
        line.armed = False
        if line.causal:
            line.arrive(now)
        engine.deliver(line, now)
        if line.in_flight and not line.armed:
            line.armed = True
            arm_ticks(line.kick, line.in_flight[0][0] - now)
