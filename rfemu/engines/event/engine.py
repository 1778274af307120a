"""The event engine: the network graph emulated as hardware, one simpy process per device.

Every source (input tone), oscillator (neuron), RF line and readout of the graph is an agent: a
small state record and a plain generator function run as a simpy process over it. Junctions
(synapses) are agents whose state lives in their line's arrays; a junction runs a process only
when its own state changes (a write of its non-volatile frequency state). Time is physical
and advances from event to event: nothing happens periodically, and a quiet chip costs nothing.
The clock counts whole attoseconds in Python integers (:mod:`rfemu.engines.event.clock`), so it
keeps its resolution over any run length and every computation depends only on time differences;
the agents' energy goes into an :class:`~rfemu.devices.energy.EnergyLedger`.

What happens, in physical order::

    input applied -> each source puts its tone on line 0                       (source agents)
    line: after its delay, one chain-matrix update over all its junctions,     (line agent)
          chain voltages V = W @ P (+ thermal noise floor); chains whose
          voltage moved by more than ``voltage_tolerance`` wake their consumer
    neuron: I = (V + V_bias) g_m; its output power and frequency relax towards  (oscillator agents)
          the device's static values at the device's relaxation rate (noise off),
          or are integrated by the oscillator kernel with thermal noise (noise on);
          it re-emits on its line when power or frequency moved by more than the
          emission tolerance, and emits the exact static value once settled
    readout: records the output chain's voltage + bias (the class score)        (readout agents)

Simultaneous events run in the order of :class:`Priority` (a write lands before the line reads
it, the line delivers before neurons update, neurons before readouts record). The engine holds no
device formula: the line's response is :class:`rfemu.medium.LineResponse` (through
:class:`rfemu.medium.Line`), the neuron's target (:func:`rfemu.devices.oscillator.neuron_target`)
and relaxation come from :mod:`rfemu.devices.oscillator`, writes from
:class:`rfemu.devices.resonator.FrequencyState`, energy from :mod:`rfemu.devices.energy`.

Examples
--------
>>> import numpy as np
>>> from rfemu.network import build_graph, spin_mlp
>>> engine = EventEngine(build_graph(spin_mlp((4, 3, 2)), seed=0))
>>> result = engine.run(np.random.default_rng(0).random((2, 4)))
>>> result.outputs.shape, bool(np.all(result.latency > 0))
((2, 2), True)
"""
from __future__ import annotations

import math
import time as _time

import networkx as nx
import numpy as np

from rfemu.devices import oscillator as osc
from rfemu.devices import resonator as res
from rfemu.devices.energy import EnergyLedger, EnergyModel, integrate_steps, joule_power
from rfemu.devices.limits import Divergence, warn_once
from rfemu.devices.resonator import FrequencyState
from rfemu.engines.event.agents import (JunctionAgent, LineAgent, NeuronAgent, Priority, ReadoutAgent,
                                        SourceAgent, line_process, neuron_process, readout_process,
                                        source_process, write_process)
from rfemu.engines.event.clock import TICK, Clock, PriorityTimeout, arm_ticks, to_seconds, to_ticks
from rfemu.engines.event.config import EventConfig, EventRunResult, InferenceResult
from rfemu.engines.event.state import engine_state, load_engine_state
from rfemu.engines.event.tracer import Tracer
from rfemu.medium import Line, PhaseLocking
from rfemu.network import schema as S
from rfemu.network.compile import CompiledNetwork, compile_graph
from rfemu.rng import as_generator

__all__ = ["EventEngine"]

# the neuron step's functions, bound once (a module attribute lookup per call is measurable there)
_exp, _log, _ceil, _INF = math.exp, math.log, math.ceil, math.inf


class EventEngine:
    """Emulate a network graph in physical time with simpy agents on shared RF lines.

    Parameters
    ----------
    network : networkx.DiGraph or CompiledNetwork
        The same graph the compiled engine runs (read through :func:`compile_graph`).
    config : EventConfig, optional
    seed : None, int or Generator
        Noise source (junction noise floor, neuron noise, write noise).
    trace : TraceConfig, optional
        What to record (see :class:`Tracer`; :meth:`traces` returns the xarray Dataset).
    energy_model : rfemu.devices.energy.EnergyModel, optional
    start_time : float
        s, the clock's time at power-up (the physics depends only on time differences: a run
        started at any time gives the same results).
    state : dict, optional
        Continue from :meth:`state` of an engine built on the same network and settings instead
        of powering up (``seed`` then takes that engine's generator state; ``start_time`` is
        ignored): the samples run next give the results that engine would have given, bit for
        bit (:mod:`rfemu.engines.event.state`).

    Attributes
    ----------
    env : rfemu.engines.event.clock.Clock
        One simpy environment for the engine's whole life (a run of many inferences); its time is
        an integer count of ticks (``env.ticks``), ``env.now`` the same in seconds.
    ledger : rfemu.devices.energy.EnergyLedger
        The energy account the agents record into.
    lines, sources, neurons, readouts, junctions : lists of agents
    """

    def __init__(self, network, config=None, seed=None, trace=None, energy_model=None, start_time=0.0,
                 state=None):
        if isinstance(network, nx.DiGraph):
            network = compile_graph(network)
        if not isinstance(network, CompiledNetwork):
            raise TypeError(f"network must be a networkx.DiGraph or a CompiledNetwork, not {type(network).__name__}")
        self.config = config or EventConfig()
        self.noise = self.config.noise
        self.network = network
        self.rng = as_generator(seed)
        self.env = Clock(start_time)
        self.energy_model = energy_model or EnergyModel()
        self.ledger = EnergyLedger(self.energy_model, time_unit=TICK)
        self.n_events = 0
        self._recording = False          # neurons keep their trajectory segments (an inference)
        self.tracer = Tracer(trace, network) if trace is not None else None
        cfg = self.config
        env = self.env
        self.lines, self.sources, self.neurons, self.readouts, self.junctions = [], [], [], [], []
        self._node = {}
        self._junction_index = None
        for l, cl in enumerate(network.layers):
            medium = Line.from_layer(cl, resistance=np.full(cl.sign.shape, cfg.junction_resistance),
                                     temperature=cfg.temperature if cfg.noise else 0.0,
                                     bandwidth=cfg.readout_bandwidth,
                                     delay=cfg.line_delay + (self._diode_response(cl.resonance_frequency, cl.damping)
                                                            if cfg.diode_response else 0.0),
                                     n_threads=cfg.n_threads, name=S.line_node(l))
            for t, node in enumerate(cl.tone_nodes):
                medium.add_slot(node, cl.tone_frequency[t], cl.tone_linewidth[t])
            lo, hi = float(cl.tuning_min.min()), float(cl.tuning_max.max())
            if np.any(cl.tuning_min != lo) or np.any(cl.tuning_max != hi):
                raise ValueError(f"layer {l}: the event engine needs one tuning window per line")
            frequency_state = FrequencyState(base_frequency=cl.base_frequency.ravel(), window_low=lo, window_high=hi,
                                   shift=cl.tuning.ravel(), seed=self.rng)
            line = LineAgent(self, l, medium, frequency_state, cl, to_ticks(medium.delay, S.line_node(l)),
                             causal=cfg.causal_delivery)
            line.free_frequency = medium.tone_frequency.copy()
            line.kick = PriorityTimeout(env, Priority.LINE_DELIVERY)
            self.ledger.register_line(l, medium.response.junction_power_gain(), env.ticks,
                                      float(medium.tone_power.sum()))
            line.process = env.process(line_process(env, line, self))
            self.lines.append(line)
            self._node[S.line_node(l)] = line
            C, J = cl.sign.shape
            for c in range(C):
                for j in range(J):
                    agent = JunctionAgent(cl.resonator_nodes[c][j], line, c, j)
                    self.junctions.append(agent)
        # sources (tones of line 0)
        line0 = self.lines[0]
        for t, node in enumerate(network.source_nodes):
            s = SourceAgent(node, line0, t, float(network.layers[0].tone_frequency[t]),
                            float(network.layers[0].tone_linewidth[t]))
            s.kick = PriorityTimeout(env, Priority.SOURCE)
            s.process = env.process(source_process(env, s, self))
            self.sources.append(s)
            self._node[node] = s
        # neurons and readouts
        for l, cl in enumerate(network.layers):
            line = self.lines[l]
            for c, node in enumerate(cl.output_nodes):
                if cl.is_hidden:
                    params = _single(cl.oscillator, c)
                    out_line = self.lines[l + 1]
                    n = NeuronAgent(node, l, c, out_line, out_line.medium.slot(node), params,
                                    float(cl.channel_frequency[c]), float(out_line.medium.tone_linewidth[out_line.medium.slot(node)]))
                    n.kick = PriorityTimeout(env, Priority.NEURON_UPDATE)
                    n.process = env.process(neuron_process(env, n, self))
                    n.t0 = n.t_current = env.ticks
                    self.ledger.register_oscillator(node, env.ticks)
                    self.neurons.append(n)
                    line.consumers.append(n)
                    out_line.oscillator_slots.append(n.slot)
                else:
                    r = ReadoutAgent(node, l, c)
                    r.kick = PriorityTimeout(env, Priority.READOUT)
                    r.process = env.process(readout_process(env, r, self))
                    r.value = float(cl.bias_voltage[c])
                    r.recorded = r.value
                    self.readouts.append(r)
                    line.consumers.append(r)
                self._node[node] = line.consumers[-1]
        self._neuron_layers = {}
        for n in self.neurons:
            self._neuron_layers.setdefault(n.layer, []).append(n)
        self._osc_batch = {l: cl.oscillator for l, cl in enumerate(network.layers) if cl.is_hidden}
        self.env.run()                   # every process starts and waits on its kick
        if state is not None:            # ... and goes on from where a saved engine stood
            load_engine_state(self, state)
            return
        # power-up: every line delivers once (chains at 0 V drive their neurons through their
        # bias), and the idle chip settles before the first input
        self._stop_time = env.ticks + to_ticks(self.default_noise_duration()) if cfg.noise else math.inf
        for n in self.neurons:
            n.stop_time = self._stop_time
        for line in self.lines:
            line.changed()
        self._run_env(None if not cfg.noise else self._stop_time)
        self.n_events = 0

    # -- small helpers -------------------------------------------------------------------------
    @staticmethod
    def _diode_response(resonance_frequency, damping):
        """Spin-diode response time of a line's junctions (resonances Hz, dampings): its slowest
        junction's, s (:func:`rfemu.devices.resonator.response_time`)."""
        return float(np.max(res.response_time(resonance_frequency, damping)))

    def schedule(self, delay, priority):
        """An event processed ``delay`` s from now with ``priority`` (a :class:`Priority`), for a
        process to yield (a :class:`~rfemu.engines.event.clock.PriorityTimeout`)."""
        return PriorityTimeout(self.env, priority, delay)

    @property
    def now(self) -> float:
        """The present time, s."""
        return self.env.now

    def agent(self, node):
        """The agent of a graph node (source, line, neuron or readout)."""
        return self._node[node]

    @property
    def n_agents(self) -> int:
        return len(self.sources) + len(self.lines) + len(self.neurons) + len(self.readouts) + len(self.junctions)

    # -- the line's batched update ---------------------------------------------------------------
    def deliver(self, line, now):
        """All tone changes of the instant at once: new chain voltages, wake the moved chains
        (``now`` in ticks)."""
        cfg = self.config
        medium = line.medium
        if cfg.locking_coupling is not None and len(line.oscillator_slots) > 1:
            self._lock(line)
        v = medium.chain_voltages()
        if cfg.noise:
            v = v + medium.sample_noise(self.rng)
        moved = np.flatnonzero(~(np.abs(v - line.delivered) <= cfg.voltage_tolerance))
        if line.causal:              # (otherwise recorded as sent, at its arrival: LineAgent.send)
            self.ledger.tones(line.layer, now, float(medium.tone_power.sum()))
        if self.tracer is not None:
            self.tracer.line(to_seconds(now), line.layer, medium, v)
        if moved.size == 0:
            return
        line.delivered[moved] = v[moved]
        cl = line.cl
        if line.hidden:
            self._drive_neurons(line.consumers, moved, now, (v + cl.bias_voltage) * cl.transconductance,
                                self._osc_batch[line.layer], follows_current=cl.emission == S.EMISSION_CURRENT,
                                channel_frequency=cl.channel_frequency, channel_linewidth=cl.neuron_linewidth,
                                linewidths=cl.linewidths)
        else:
            for c in moved.tolist():
                r = line.consumers[c]
                r.value = float(v[c] + cl.bias_voltage[c])
                if not r.kicked:
                    r.kicked = True
                    arm_ticks(r.kick, 0)

    def _drive_neurons(self, neurons, moved, now, current, params, *, follows_current, channel_frequency,
                       channel_linewidth, linewidths):
        """Drive ``neurons[c]`` for every chain ``c`` in ``moved`` with ``current[c]`` (A) from
        ``now`` (ticks): its static target (:func:`rfemu.devices.oscillator.neuron_target`),
        settling rate and Joule power, all computed over the whole array at once."""
        # with noise on the emitted frequency follows the fluctuating power (f(p(t))), which
        # is the (1 + nu^2) part of the static line: the tone carries only the phase part
        target = osc.neuron_target(current, params, follows_current=follows_current,
                                   channel_frequency=channel_frequency, channel_linewidth=channel_linewidth,
                                   linewidths=linewidths, phase_only=self.noise)
        p_target, f_target, g_target = (np.broadcast_to(a, current.shape) for a in target)
        rate = osc.settling_rate(current, params, self.config.min_relaxation_fraction)
        joule = joule_power(current, params.resistance, params.max_current)
        for c in moved.tolist():
            self._retarget(neurons[c], now, float(current[c]), float(p_target[c]), float(f_target[c]),
                           float(g_target[c]), float(rate[c]), float(joule[c]))

    def _lock(self, line):
        """Replace the oscillators' tone frequencies by their pulled (Adler) mean frequencies."""
        medium = line.medium
        slots = np.asarray(line.oscillator_slots)
        active = np.flatnonzero(medium.tone_power > 0)
        if active.size < 2:
            return
        free = line.free_frequency
        pulled = np.isin(active, slots)
        model = PhaseLocking(free[active], medium.tone_power[active], self.config.locking_coupling,
                             linewidth=medium.tone_linewidth[active], pulled=pulled, seed=self.rng)
        if model.n_pairs == 0:
            return
        # steps resolving the fastest beat inside the cut-off
        dt = 0.02 / max(model.max_locking_range * model.cutoff, 1.0 / self.config.locking_window)
        model.run(self.config.locking_window / 2, dt)
        f = model.run(self.config.locking_window / 2, dt)
        for k, t in enumerate(active.tolist()):
            if pulled[k]:
                medium.tone_frequency[t] = f[k]
                medium._dirty_tones.add(t)

    # -- neurons ---------------------------------------------------------------------------------
    def _retarget(self, n, now, current, p_target, f_target, g_target, rate, joule=0.0):
        """The neuron's chain moved: freeze its state at ``now`` (ticks), aim at the new static
        values; a new drive ``current`` (A) draws ``joule`` (W) from now on."""
        if self.config.noise:
            self._advance_noisy(n, now)
            p_now, f_now = n.p_now, n.f_now
        else:
            p_now, f_now = n.state_at(now) if n.busy else (n.p_target, n.f_target)
        n.t0, n.p0, n.f0 = now, p_now, f_now
        n.p_target, n.f_target, n.g_target, n.rate = p_target, f_target, g_target, rate
        if self._recording:
            n.segments.append((now, p_now, p_target, rate))
        cfg = self.config
        n.tolerances = (cfg.emission_tolerance * n.p_scale, cfg.frequency_tolerance * f_target,
                        max(cfg.settle_tolerance * n.p_scale, 1e-300), max(cfg.settle_tolerance * f_target, 1e-300))
        if current != n.current:
            n.current = current
            self.ledger.power(n.node, now, joule)
        if self.config.noise:
            n.stop_time = self._stop_time
        if n.busy:
            if not n.interrupted:
                n.interrupted = True
                n.process.interrupt()
        elif not n.kick.triggered:
            arm_ticks(n.kick, 0)

    def neuron_step(self, n, now):
        """Advance a neuron to ``now`` (ticks), emit if it moved enough; the number of ticks to
        its next step (at least one: the clock always advances) or None (asleep).

        Noise off the output relaxes exponentially at the device's rate, so the times at which
        it will have moved by the emission tolerance, and at which it is settled, are known: the
        neuron sleeps until the first of them (rounded up to a whole tick, so a planned crossing
        is never woken early).
        """
        if self.noise:
            return self._noisy_step(n, now)
        rate = n.rate
        decay = _exp(-rate * ((now - n.t0) * TICK))
        pt, ft = n.p_target, n.f_target
        dp0 = (n.p0 - pt) * decay
        df0 = (n.f0 - ft) * decay
        adp, adf = abs(dp0), abs(df0)
        tol_p, tol_f, settle_p, settle_f = n.tolerances
        g = n.g_target
        p_emit, f_emit = n.p_emit, n.f_emit
        if adp <= settle_p and adf <= settle_f:
            if p_emit != pt or f_emit != ft or n.g_emit != g:
                self._emit(n, now, pt, ft, g)
            n.t0, n.p0, n.f0 = now, pt, ft
            return None
        p, f = pt + dp0, ft + df0
        # (the planned crossing times are exact up to rounding: accept a crossing within 1e-9)
        if abs(p - p_emit) >= tol_p * 0.999999999 or abs(f - f_emit) >= tol_f * 0.999999999 or n.g_emit != g:
            self._emit(n, now, p, f, g)
            p_emit, f_emit = p, f
        # settle: aim at half the settle tolerance so the next check is surely inside it
        ratio = max(adp / settle_p, adf / settle_f, 0.5)
        delay = _log(2.0 * ratio) / rate
        # next crossing of the emission tolerance from the emitted state
        if dp0 != 0.0:
            de = p_emit - pt
            need = abs(de) - tol_p
            if need > 0 and (de > 0) == (dp0 > 0) and need < adp:
                delay = min(delay, _log(adp / need) / rate)
        if df0 != 0.0:
            fe = f_emit - ft
            need = abs(fe) - tol_f
            if need > 0 and (fe > 0) == (df0 > 0) and need < adf:
                delay = min(delay, _log(adf / need) / rate)
        # re-anchor the relaxation at now (the same trajectory)
        n.t0, n.p0, n.f0 = now, p, f
        ticks = delay * 1e18
        if 1.0 <= ticks < _INF:                 # the usual case, inline: whole ticks, up
            return _ceil(ticks)
        return max(to_ticks(delay, n.node, up=True), 1)

    def _emit(self, n, now, p, f, g):
        n.p_emit, n.f_emit, n.g_emit = p, f, g
        n.line_out.send(now, n.slot, f, p, g)
        if self.tracer is not None:
            self.tracer.neuron(to_seconds(now), n, p, f)

    # noise on: the oscillator kernel integrates each neuron between its events
    def _advance_noisy(self, n, now):
        dt_total = (now - n.t_current) * TICK
        if dt_total > 0:
            params = n.params
            cur = min(n.current, float(params.max_current))
            xi = cur / float(params.threshold_current)
            g = float(params.damping_rate)
            scale = g * (abs(xi) + float(params.nonlinear_damping) + 1.0) + abs(float(params.nonlinear_frequency_shift))
            dt = min(self.config.noise_integration_fraction / scale, dt_total)
            try:
                traj = osc.integrate(params, cur, dt_total, dt_total / max(round(dt_total / dt), 1),
                                     seed=self.rng, initial_state=n.amplitude)
            except Divergence as exc:         # name the neuron, the engine's time, the knob
                raise exc.at(f"the oscillator neuron of layer {n.layer}, chain {n.chain}",
                             to_seconds(n.t_current) + exc.time,
                             "EventConfig.noise_integration_fraction <= "
                             f"{(exc.stable_step or 0.0) * scale:.3g}") from None
            n.amplitude = complex(traj.amplitude[0])
        n.t_current = now
        p_norm = abs(n.amplitude) ** 2
        if n.steady > 0:
            n.p_now = n.p_target * p_norm / n.steady
            n.f_now = n.f_natural + (n.f_target - n.f_natural) * p_norm / n.steady
        else:
            n.p_now, n.f_now = 0.0, n.f_natural

    def _noisy_step(self, n, now):
        cfg = self.config
        self._advance_noisy(n, now)
        n.steady = float(osc.steady_power(osc.clamp_current(n.current, n.params), n.params))
        self._advance_noisy(n, now)
        if (abs(n.p_now - n.p_emit) >= cfg.emission_tolerance * n.p_scale
                or abs(n.f_now - n.f_emit) >= cfg.frequency_tolerance * n.f_target or n.g_emit != n.g_target):
            self._emit(n, now, n.p_now, n.f_now, n.g_target)
        if now >= n.stop_time:
            return None
        # faster fluctuations are low-passed by the next line's junctions (their response time
        # is in the line's delay): sample the neuron no faster than that
        step = max(to_ticks(cfg.noise_step_fraction / n.rate, n.node), n.line_out.delay_ticks, 1)
        return min(step, n.stop_time - now)

    def settling_time(self):
        """Time an input takes to reach the readouts and settle there, s: the lines' delays
        (junction response included) and 30 of the slowest neurons' damping times 1 / (2 G_G).

        With noise on the readout reads only after it (:meth:`infer`): before it the outputs
        still carry the previous input's (measured on the Ross chip of scenarios/onchip_xor.yaml:
        its outputs hold the previous input's for 0.16 us, the line delays and one neuron step,
        and the last few percent of the change fade by about 0.6 us)."""
        slow = max((1.0 / (2.0 * float(n.params.damping_rate)) for n in self.neurons), default=0.0)
        return sum(line.delay for line in self.lines) + 30.0 * slow

    def default_noise_duration(self):
        """:meth:`settling_time` and the readout's 1 / B, s."""
        read = 1.0 / self.config.readout_bandwidth if self.config.readout_bandwidth > 0 else 0.0
        return self.settling_time() + read

    def _readout_window(self, t_start, t_end):
        """Ticks the noisy readout averages over, ending at ``t_end``: its 1 / B, but none of the
        inference's first :meth:`settling_time` (a reading of this input, not of the one before).
        An inference no longer than the settling time is read whole, with a warning (once)."""
        cfg = self.config
        if cfg.readout_bandwidth <= 0:
            return 0
        settling = self.settling_time()
        # (one tick of slack: the default duration, to_ticks(settling + 1 / B), may round one
        # tick below to_ticks(settling) + to_ticks(1 / B); its window stays the whole 1 / B)
        settled = t_end - t_start - to_ticks(settling) + 1
        if settled <= 0:
            warn_once("the event engine's readout",
                      f"the noisy inference lasts {to_seconds(t_end - t_start):.3g} s, not longer than the "
                      f"chip's settling time {settling:.3g} s (line delays and 30 neuron damping times): "
                      "each reading includes the previous input's outputs; set engine.event.noise_duration "
                      f">= {settling + 1.0 / cfg.readout_bandwidth:.3g} s (settling time + 1 / readout_bandwidth)")
            settled = t_end - t_start
        return min(to_ticks(1.0 / cfg.readout_bandwidth), settled)

    # -- public API --------------------------------------------------------------------------
    def apply(self, features=None, *, power=None):
        """Apply an input now: every source is told its new power (features in [0, 1] times the
        source's max power, or powers in W)."""
        if (features is None) == (power is None):
            raise ValueError("give exactly one of features or power")
        if power is None:
            x = np.asarray(features, dtype=float).ravel()
            if x.size != len(self.sources) or not np.all(np.isfinite(x)) or np.any(x < 0):
                raise ValueError(f"features must be {len(self.sources)} finite values >= 0, got shape {np.shape(features)}")
            p = x * self.network.source_max_power
        else:
            p = np.asarray(power, dtype=float).ravel()
            if p.size != len(self.sources) or not np.all(np.isfinite(p)) or np.any(p < 0):
                raise ValueError(f"power must be {len(self.sources)} finite powers >= 0 W, got {power!r}")
        for s, value in zip(self.sources, p.tolist()):
            if value != s.power:
                s.power = value
                if not s.kick.triggered:
                    s.kick.arm()

    def write_frequencies(self, nodes, target_frequency):
        """Request writes of junctions' non-volatile frequency states (Hz); they land after the
        write latency (one write process per line, junctions written in parallel)."""
        by_line = {}
        targets = np.broadcast_to(np.asarray(target_frequency, dtype=float), (len(nodes),))
        if not np.all(np.isfinite(targets)) or np.any(targets <= 0):
            raise ValueError(f"target_frequency must be positive, finite frequencies in Hz, got {target_frequency!r}")
        if self._junction_index is None:
            self._junction_index = {a.node: a for a in self.junctions}
        for node, f in zip(nodes, targets.tolist()):
            a = self._junction_index.get(node)
            if a is None:
                raise ValueError(f"nodes must be resonator nodes of the graph, got {node!r}")
            by_line.setdefault(a.line.layer, ([], []))
            by_line[a.line.layer][0].append(a.flat)
            by_line[a.line.layer][1].append(f)
        for l, (flat, f) in by_line.items():
            self.env.process(write_process(self.env, self.lines[l], np.asarray(flat), np.asarray(f), self))

    def _run_env(self, until=None):
        """Process events until none is left, or up to time ``until`` (ticks); how many."""
        n = self.env.run_all() if until is None else self.env.run_until_ticks(until)
        self.n_events += n
        return n

    def idle(self, duration):
        """Let ``duration`` s pass with the input held: the clock advances and the events already
        due (line deliveries) are processed. Noise off: whatever is still settling settles, then
        nothing happens. Noise on: nothing fluctuates; each neuron's noisy integration stops at
        the end of the last inference (or of the power-up), so the neurons' states and tones stay
        as they were at that moment (the lines deliver what was already sent); the next
        :meth:`infer` goes on from there."""
        self._run_env(self.env.ticks + to_ticks(duration, "EventEngine.idle"))

    def infer(self, features=None, *, power=None, duration=None) -> InferenceResult:
        """Apply one input at the present time and run until the outputs settle.

        Noise off: until no event is left (every agent asleep). Noise on: for ``duration``
        (default ``config.noise_duration``), the outputs read as their mean over the last
        ``1 / readout_bandwidth`` after :meth:`settling_time`. Returns an :class:`InferenceResult`.
        """
        return self._infer(lambda: self.apply(features, power=power), duration)

    def _infer(self, present, duration=None) -> InferenceResult:
        """One inference: ``present()`` applies the input at the present time; run until the
        outputs settle (noise off) or for ``duration`` (noise on)."""
        cfg = self.config
        t_start = self.env.ticks
        for r in self.readouts:
            r.records = [(t_start, r.value)]
        for n in self.neurons:           # each neuron's exact trajectory from its state now
            p_now = n.state_at(t_start)[0] if n.busy else n.p_target
            n.segments = [(t_start, p_now, n.p_target, n.rate)]
        self._recording = True           # (only during an inference: a long run keeps no trajectory)
        self.ledger.start(t_start)
        if cfg.noise:
            if duration is None:
                duration = cfg.noise_duration if cfg.noise_duration is not None else self.default_noise_duration()
            self._stop_time = t_start + to_ticks(duration, "the inference's duration")
            for n in self.neurons:
                n.stop_time = self._stop_time
                if not n.busy:
                    self._retarget(n, t_start, n.current, n.p_target, n.f_target, n.g_target, n.rate)
        wall, cpu = _time.perf_counter(), _time.process_time()
        present()
        n_events = self._run_env(self._stop_time if cfg.noise else None)
        wall, cpu = _time.perf_counter() - wall, _time.process_time() - cpu
        self._recording = False
        t_end = self.env.ticks
        outputs = np.array([r.value for r in self.readouts])
        latency = self._latency(outputs, t_start)
        if cfg.noise:
            # the readout reads through its bandwidth B: the mean over the last 1 / B, once the
            # input has settled (a mean from the start would carry the previous input's outputs)
            window = self._readout_window(t_start, t_end)
            if window > 0:
                outputs = np.array([_step_mean(r.records, t_end - window, t_end) for r in self.readouts])
        energy = self.ledger.finish(t_start, t_start + latency)
        return InferenceResult(outputs=outputs, latency=to_seconds(latency), energy=energy, n_events=n_events,
                               wall_time=wall, t_start=to_seconds(t_start), t_end=to_seconds(t_end), cpu_time=cpu)

    def _latency(self, outputs, t_start):
        """Ticks from the input to the last moment any output was farther than the tolerance from
        its final value (relative to the largest final output magnitude).

        Noise off, when the output line carries fixed-channel neurons' tones, the outputs are
        followed along the neurons' exact exponential relaxations (:meth:`_trajectory_latency`);
        otherwise along the readouts' records (the tones as emitted)."""
        scale = max(float(np.max(np.abs(outputs))) if outputs.size else 0.0, 1e-300)
        tol = self.config.latency_tolerance * scale
        exact = self._trajectory_latency(t_start, tol)
        return self._record_latency(outputs, t_start, tol) if exact is None else exact

    def _record_latency(self, outputs, t_start, tol):
        """Ticks until the readouts' records stay within ``tol`` (V) of their final values."""
        last = t_start
        for r, final in zip(self.readouts, outputs.tolist()):
            hist = r.records
            # the output holds each value until the next record; it is settled from the first
            # record after which every later value is within tol of the final one
            settled_from = None
            for t, value in reversed(hist):
                if abs(value - final) > tol:
                    break
                settled_from = t
            if settled_from is None:
                settled_from = self.env.ticks
            last = max(last, settled_from)
        return last - t_start

    def _trajectory_latency(self, t_start, tol):
        """Ticks until the outputs, followed along the exact relaxations of the neurons on the
        output line, stay within ``tol`` (V) of their final values; None when that does not apply
        (noise on, no hidden layer, neurons emitting at f(I), locking).

        A neuron emits when it has moved by ``emission_tolerance`` of its full power, so the
        readouts' records lag its relaxation by up to that much, and reach a tolerance finer than
        the lag only at the neuron's last (settled) emission. Its power between events is known
        exactly (``P(t) = P_t + (P_0 - P_t) exp(-r (t - t_0))`` per segment), and with fixed
        channels the output chains are linear in the tone powers: ``V(t) = W P(t - d) + V_bias``
        (``W`` the output line's chain matrix, ``d`` its delay): each tone change reaches the
        output chains exactly one delay after it was emitted, which the records (one delivery
        reading every change sent while it was pending) do not ensure. The last crossing of
        ``tol`` is found on a grid up to 50 relaxation times after the last segment began (the
        deviation is then below e^-50 of what it was), then by bisection to a tick or 1e-9 of
        the latency. With more than one hidden layer, the later layers' neurons are driven by the
        earlier layers' emitted steps: their relaxations, and so the latency, still carry the
        emission lag of the layers before (a 5-4-4-3 chip: 2x the latency at 1e-4 emissions).
        """
        cfg = self.config
        last_layer = len(self.lines) - 1
        if cfg.noise or last_layer == 0 or cfg.locking_coupling is not None:
            return None
        feeding = self.network.layers[last_layer - 1]
        if feeding.emission == S.EMISSION_CURRENT:
            return None
        line = self.lines[last_layer]
        if len(self._neuron_layers[last_layer - 1]) != line.medium.n_tones:
            return None                          # the line carries other tones than the neurons'
        # the neurons that moved (the others hold their final power all along)
        neurons = [n for n in self._neuron_layers[last_layer - 1]
                   if any(a != n.p_target or b != n.p_target for _, a, b, _ in n.segments)]
        if not neurons:
            return 0
        w = line.medium.response_matrix()[:, [n.slot for n in neurons]]          # (K, N) V/W
        final = np.array([n.p_target for n in neurons])
        n_seg = max(len(n.segments) for n in neurons)
        start = np.full((len(neurons), n_seg), np.inf)
        p0, pt, rate = (np.zeros((len(neurons), n_seg)) for _ in range(3))
        for i, n in enumerate(neurons):
            for j, (t0, a, b, r) in enumerate(n.segments):
                start[i, j], p0[i, j], pt[i, j], rate[i, j] = (t0 - t_start) * TICK, a, b, r
        delay = line.delay_ticks * TICK
        rows = np.arange(len(neurons))[:, None]

        def deviation(t):                        # (K, M): V(t) - V_final at times t (s after t_start)
            seen = np.asarray(t, dtype=float)[None, :] - delay
            k = np.maximum((start[:, :, None] <= seen[:, None, :]).sum(axis=1) - 1, 0)      # (N, M)
            elapsed = np.maximum(seen - start[rows, k], 0.0)
            power = pt[rows, k] + (p0[rows, k] - pt[rows, k]) * np.exp(-rate[rows, k] * elapsed)
            return np.einsum("kn,nm->km", w, power - final[:, None])   # (no BLAS call: threads stall it)

        def above(t):
            return np.any(np.abs(deviation(t)) > tol, axis=0)

        last = np.nanmax(np.where(np.isfinite(start), start, np.nan), axis=1)        # per neuron
        slowest = float(np.min(rate[rows[:, 0], np.argmax(start == last[:, None], axis=1)]))
        grid = np.linspace(0.0, float(np.max(last)) + delay + 50.0 / slowest, 257)
        hit = np.flatnonzero(above(grid))
        if hit.size == 0:
            return 0
        lo, hi = grid[hit[-1]], grid[min(hit[-1] + 1, grid.size - 1)]     # above at lo, inside from hi on
        while (hi - lo) > max(TICK, 1e-9 * hi):     # to the tick, or 1e-9 of the latency
            mid = 0.5 * (lo + hi)
            if above(np.array([mid]))[0]:
                lo = mid
            else:
                hi = mid
        return to_ticks(hi, "the latency", up=True) if hi > 0 else 0

    def run(self, features=None, *, power=None, duration=None, progress=False, done=(),
            after_sample=None) -> EventRunResult:
        """Run samples one after the other (each applied when the previous one has settled).

        ``done``: the :class:`InferenceResult` of samples run before these (by the engine whose
        :meth:`state` this one continues from), put first in the result. ``after_sample(items)``,
        when given, is called after each sample with the results so far: between two samples,
        where :meth:`state` can be taken (a checkpoint)."""
        x = features if power is None else power
        x = np.atleast_2d(np.asarray(x, dtype=float))
        items = list(done)
        it = range(len(x))
        if progress:
            from tqdm import tqdm
            it = tqdm(it, desc="event inference", initial=len(items), total=len(items) + len(x))
        for i in it:
            items.append(self.infer(x[i] if power is None else None,
                                    power=x[i] if power is not None else None, duration=duration))
            if after_sample is not None:
                after_sample(items)
        kinds = sorted({k for item in items for k in item.energy})
        return EventRunResult(
            outputs=np.array([it.outputs for it in items]),
            latency=np.array([it.latency for it in items]),
            energy={k: np.array([it.energy.get(k, 0.0) for it in items]) for k in kinds},
            n_events=np.array([it.n_events for it in items]),
            wall_time=np.array([it.wall_time for it in items]), items=items)

    def calibrate_readout(self, features=None, *, power=None, progress=False) -> np.ndarray:
        """Readout calibration, as on a chip: run calibration samples, compare each output's
        class score with the static model's (the compiled engine on the same network), and shift
        each output chain's bias voltage by minus the mean difference.

        With noise on, the chip's averaged outputs carry a systematic offset from the static
        model: a neuron's power and frequency fluctuate together (f moves with p through the
        non-linear frequency shift), and the mean of P W(f) through the non-linear line shape is
        not P0 W(f0). The offset is removed; the fluctuations are not.

        Returns
        -------
        array (K,) V: the offsets removed (chip minus model, per output chain).
        """
        from rfemu.engines.compiled import CompiledEngine
        x = features if power is None else power
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if len(x) < 1:
            raise ValueError("calibrate_readout needs at least one calibration sample")
        compiled = CompiledEngine(self.network, n_threads=1)
        model = (compiled.forward(features=x) if power is None else compiled.forward(power=x)).scores
        chip = self.run(x if power is None else None, power=x if power is not None else None,
                        progress=progress).outputs
        offset = np.mean(chip - model, axis=0)
        self.network.layers[-1].bias_voltage -= offset
        return offset

    def state(self) -> dict:
        """The chip's state between two inferences as plain data (numbers, strings, numpy arrays,
        generator states): build ``EventEngine(network, config, seed, trace, energy_model,
        state=...)`` to go on from it (:mod:`rfemu.engines.event.state`; a run's checkpoint).

        Raises
        ------
        ValueError
            During an inference or with a write still landing.
        TypeError
            For a subclass with agents of its own that does not save them
            (:class:`~rfemu.engines.event.conv.ConvEventEngine` has its own :meth:`state`).
        """
        if type(self) is not EventEngine:
            raise TypeError(f"{type(self).__name__} has agents the event engine's state does not hold")
        return engine_state(self)

    def traces(self):
        """The recorded traces as an xarray Dataset (needs ``trace=`` at construction)."""
        if self.tracer is None:
            raise ValueError("no traces: build the engine with trace=TraceConfig(...)")
        return self.tracer.dataset(self.env.now)


def _step_mean(history, t0, t1):
    """Mean over [t0, t1] of a piecewise-constant signal given by its (t, value) changes."""
    return integrate_steps(history, t0, t1) / (t1 - t0)


def _single(params, index):
    """The OscillatorParameters of one device out of per-device arrays."""
    import dataclasses
    return osc.OscillatorParameters(**{f.name: float(np.asarray(getattr(params, f.name))[index])
                                       for f in dataclasses.fields(osc.OscillatorParameters)})
