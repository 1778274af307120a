"""On-chip learning in the event engine: junctions as learning agents on the simulated timeline.

Every junction of the chip gets a :class:`LearningJunction` record and a process
(:func:`junction_process`, a plain generator function in simpy's style) that sleeps until it has
something to do. One learning-circuit process (:func:`learning_circuit`) runs the windows:

1. the chip measures what the rule needs for a mini-batch (the physics batched per line:
   :func:`rfemu.learning.local.train.sense` on the chip's present resonances); this takes the
   presentation time of the samples measured on the timeline;
2. the learning signal reaches every line at once: each junction's share of the rule's update
   (its column: rules are elementwise) is added to its volatile accumulator, batched per line;
3. only the junctions whose accumulator passed the write threshold are woken; each one asks its
   line's write driver (:func:`write_driver`: the junctions of a line asking in the same instant
   are pulsed in parallel) for a whole number of quantisation steps through the line's
   :class:`~rfemu.devices.resonator.FrequencyState` (write noise, window, endurance and stuck
   devices as the state has them); the new resonance lands on the line after the write latency
   (:attr:`Priority.WRITE`), the energy goes to the engine's ledger and the write to the
   :class:`~rfemu.learning.local.state.WriteLog`;
4. the resonances drift between windows (``drift_rate``) and the circuit waits for the writes;
   chains that learn their bias voltages (perturbative rule with ``bias_dither``) set them at
   once (volatile voltages) and their lines deliver again.

With the same seed and no write noise this makes the same writes at the same simulated times as
the batched loop :func:`~rfemu.learning.local.train.train_on_chip` (tested). The batched loop's
own mechanisms (annealing, adaptive steps, the cost gain, the recall, the trim, the sharpening
cost: :data:`LOOP_ONLY`) are not run here, and a configuration that turns one on is refused.
"""
from __future__ import annotations

import time

import numpy as np

from rfemu.engines.event import Priority
from rfemu.learning.local.chip import LearningChip
from rfemu.learning.local.state import WriteLog, WriteSettings
from rfemu.learning.local.train import OnChipConfig, OnChipCurve, followed_junctions, sense
from rfemu.rng import as_generator

__all__ = ["LearningJunction", "junction_process", "write_driver", "learning_circuit", "EventLearning"]


class LearningJunction:
    """A junction as a learning agent: where it sits (line, flat index in the line, global
    index), its wake-up event and process, and how often it woke."""

    __slots__ = ("line", "flat", "index", "kick", "process", "wakes")

    def __init__(self, line, flat, index):
        self.line, self.flat, self.index = line, flat, index
        self.kick = self.process = None
        self.wakes = 0


def junction_process(env, agent, learning):
    """A junction: sleep until woken (its accumulator passed the threshold), ask its line's write
    driver for a write, sleep until the new resonance has landed, then put it on the line."""
    while True:
        yield agent.kick
        agent.kick = env.event()
        agent.wakes += 1
        landed = learning.request(agent)
        if landed is None:
            continue
        written = yield landed
        if agent.flat in written:
            learning.land(agent)


def write_driver(env, learning, line_index):
    """A line's write driver: the junctions that asked in this instant are written in parallel
    (one pulse each, one latency); their landing event fires after the latency with the set of
    junctions actually written."""
    # after every junction woken in this instant has asked (their wake-ups come first)
    yield learning.engine.schedule(0.0, Priority.LINE_DELIVERY)
    pending = learning.pending[line_index]
    landing = learning.landing[line_index]
    learning.pending[line_index], learning.landing[line_index] = [], None
    written = learning.write(line_index, pending)
    if written:
        yield learning.engine.schedule(learning.engine.lines[line_index].frequency_state.write_latency,
                                       Priority.WRITE)
    landing.succeed(written)


def learning_circuit(env, learning):
    """The learning windows: sense, deliver the learning signal, wake the junctions that write,
    wait for their writes; record the curve."""
    cfg = learning.config
    learning.record(0)
    for window in range(1, cfg.windows + 1):
        view, measured, cost, chains = learning.measure()
        learning.costs.append(cost)
        duration = measured * cfg.sample_time
        yield learning.engine.schedule(duration, Priority.WRITE)
        learning.events += 1
        learning.drift(duration)
        pending = learning.deliver(learning.rule.update(view))
        if chains:
            learning.set_biases(learning.rule.update_bias(chains[0]))
        if pending:
            latency = max(learning.engine.lines[a.line].frequency_state.write_latency for a in pending)
            # after the writes landed: a landing fires at the end of the latency (its write
            # driver's WRITE timeout, then the landing event at simpy's normal priority, then
            # the junctions put their resonances on the lines); the circuit comes last in that
            # instant, so the next window senses the written chip
            yield learning.engine.schedule(latency, Priority.READOUT)
            learning.events += 1
            learning.drift(latency)
        if window % cfg.evaluate_every == 0 or window == cfg.windows:
            learning.record(window)
    learning.done = True


#: settings of :class:`OnChipConfig` that only the batched loop (:func:`train_on_chip`) runs; each
#: one's default there is its "off"
LOOP_ONLY = ("final_step_fraction", "adaptive_step", "adaptive_bias_step", "cost_gain_reference", "recall_best",
             "initial_trim", "final_score_scale")


def _refuse_loop_only(config) -> None:
    off = OnChipConfig()
    on = [f"{k}={getattr(config, k)!r}" for k in LOOP_ONLY if getattr(config, k) != getattr(off, k)]
    if on:
        raise ValueError("EventLearning runs the rule's own steps only; these settings of the batched loop "
                         f"(train_on_chip) are on: {', '.join(on)}")


class EventLearning:
    """A learning run of local rules on an :class:`~rfemu.engines.event.EventEngine`.

    Parameters
    ----------
    engine : EventEngine
        The chip. Its lines' frequency states take the write physics of ``writes``; its compiled
        network's tuning arrays follow them (the batched sensing reads them).
    features, labels : arrays
        Training samples.
    rule : a local rule (:mod:`rfemu.learning.local.rules`)
    config : OnChipConfig
    writes : WriteSettings
    evaluation : (features, labels), optional
        Where the curve's accuracy is measured (default: the training samples).

    Raises
    ------
    ValueError
        When ``config`` turns on a mechanism of the batched loop that the learning circuit here
        does not run (:data:`LOOP_ONLY`): the run would silently learn differently.
    """

    def __init__(self, engine, features, labels, rule, config: OnChipConfig | None = None,
                 writes: WriteSettings | None = None, evaluation=None):
        self.engine, self.rule = engine, rule
        self.config = config or OnChipConfig()
        _refuse_loop_only(self.config)
        self.settings = writes or WriteSettings()
        self.network = engine.network
        self.x = np.asarray(features, dtype=float)
        self.y = np.asarray(labels)
        self.x_eval, self.y_eval = (self.x, self.y) if evaluation is None else evaluation
        rng = as_generator(self.config.seed)
        rule_rng, write_rng = rng.spawn(2)
        self.rng = rng
        self.chip = LearningChip(self.network)
        self.chip.readout_noise, self.chip.noise_rng = self.config.readout_noise, rng.spawn(1)[0]
        self.chip.thermal_noise = bool(self.config.thermal_noise)     # senses as the batched loop does
        if hasattr(rule, "prepare"):
            rule.prepare(self.network, rule_rng)
        self._configure_lines(write_rng)
        self.offsets = np.concatenate([[0], np.cumsum([l.frequency_state.shift.size for l in engine.lines])])
        self.accumulators = [np.zeros(l.frequency_state.shift.size) for l in engine.lines]
        self.pending = [[] for _ in engine.lines]       # junctions asking a write, per line
        self.landing = [None for _ in engine.lines]     # the landing event of this instant's writes
        self.log = WriteLog()
        self.curve = OnChipCurve(followed=followed_junctions(int(self.offsets[-1])))
        self.costs = []
        self.junctions = []
        env = engine.env
        for l, line in enumerate(engine.lines):
            for flat in range(line.frequency_state.shift.size):
                agent = LearningJunction(l, flat, int(self.offsets[l]) + flat)
                agent.kick = env.event()
                agent.process = env.process(junction_process(env, agent, self))
                self.junctions.append(agent)
        self._order = rng.permutation(len(self.y))
        self._pos = 0
        self.done = False
        self.junction_updates = 0
        #: learning events: window steps of the circuit, junction wake-ups, writes landing
        self.events = 0

    def _configure_lines(self, write_rng):
        """Give every line's frequency state the write physics (one noise stream per line)."""
        s = self.settings
        streams = write_rng.spawn(len(self.engine.lines))
        for line, stream in zip(self.engine.lines, streams):
            fs = line.frequency_state
            fs.step, fs.write_noise, fs.write_latency = s.step, s.write_noise, s.write_latency
            fs.write_energy, fs.endurance, fs.drift_rate = s.write_energy, s.endurance, s.drift_rate
            fs._rng = as_generator(stream)

    # -- the learning circuit's steps ----------------------------------------------------------
    def measure(self):
        cfg = self.config
        if self._pos + cfg.batch_size > len(self._order):
            self._order, self._pos = self.rng.permutation(len(self.y)), 0
        idx = self._order[self._pos:self._pos + cfg.batch_size]
        self._pos += cfg.batch_size
        power = self.chip.engine.input_power(self.x[idx])
        chains = []
        view, measured, cost = sense(self.chip, self.rule, power, self.y[idx], cfg.score_scale, chains)
        self.junction_updates += view.n_junctions * (view.dither.shape[0] if view.dither is not None else 1)
        return view, measured, cost, chains

    def set_biases(self, step):
        """The chains' bias steps (V; volatile voltages, set at once): every line re-delivers."""
        splits = np.cumsum([layer.n_chains for layer in self.network.layers])[:-1]
        for layer, d, line in zip(self.network.layers, np.split(step, splits), self.engine.lines):
            layer.bias_voltage += d
            line.changed()

    def deliver(self, update):
        """Add each junction's share to its accumulator (per line, batched); wake the junctions
        past the threshold. Returns the woken agents."""
        threshold = self.settings.threshold
        woken = []
        for l, acc in enumerate(self.accumulators):
            acc += update[self.offsets[l]:self.offsets[l + 1]]
            ready = np.flatnonzero((np.abs(acc) >= threshold) & (acc != 0.0))
            for flat in ready.tolist():
                agent = self.junctions[int(self.offsets[l]) + flat]
                agent.kick.succeed()
                woken.append(agent)
        self.events += len(woken)
        return woken

    def request(self, agent):
        """A woken junction asks its line's write driver; the event its landing will fire (the
        first request of an instant starts the driver, after every junction woken with it)."""
        l = agent.line
        self.pending[l].append(agent)
        if self.landing[l] is None:
            self.landing[l] = self.engine.env.event()
            self.engine.env.process(write_driver(self.engine.env, self, l))
        return self.landing[l]

    def write(self, l, agents):
        """Write the junctions ``agents`` of line ``l`` in one pulse each (in parallel): a whole
        number of quantisation steps from each accumulator, through the line's frequency state;
        energy to the engine's ledger, each write to the log (its time from the start of the
        learning run). Returns the set of flat indices written."""
        fs = self.engine.lines[l].frequency_state
        acc = self.accumulators[l]
        flat = np.array([a.flat for a in agents], dtype=np.int64)
        step = self.settings.step
        request = acc[flat] if step == 0 else np.round(acc[flat] / step) * step
        acc[flat] -= request
        requested = fs.frequency[flat] + request
        report = fs.write(requested, index=flat)
        acc[flat[fs.stuck[flat]]] = 0.0
        done = report.written
        if not np.any(done):
            return set()
        self.engine.ledger.add("write", report.energy)
        self.log.add(self.engine.env.now - self.t_start, flat[done] + self.offsets[l], requested[done], report.applied[done],
                     fs.write_energy)
        return set(flat[done].tolist())

    def land(self, agent):
        """The written resonance reaches the line (and the compiled arrays the sensing reads)."""
        line = self.engine.lines[agent.line]
        C, J = line.medium.resonance_frequency.shape
        f = line.frequency_state.frequency[agent.flat]
        self.events += 1
        line.medium.set_resonance(agent.flat // J, agent.flat % J, f)
        self.network.layers[agent.line].tuning[agent.flat // J, agent.flat % J] = line.frequency_state.shift[agent.flat]
        line.changed()

    def drift(self, duration):
        """Every line's resonances drift for ``duration`` s (nothing without a drift rate)."""
        if self.settings.drift_rate == 0.0:
            return
        for l, line in enumerate(self.engine.lines):
            fs = line.frequency_state
            fs.advance(duration)
            C, J = line.medium.resonance_frequency.shape
            line.medium.set_resonance(np.repeat(np.arange(C), J), np.tile(np.arange(J), C), fs.frequency)
            self.network.layers[l].tuning[...] = fs.shift.reshape(C, J)
            line.changed()

    def record(self, window):
        c = self.curve
        c.window.append(window)
        c.time.append(self.engine.env.now - self.t_start)
        c.writes.append(self.log.count)
        c.energy.append(self.log.energy)
        c.cost.append(float(np.mean(self.costs)) if self.costs else float("nan"))
        c.accuracy.append(self.chip.accuracy(self.x_eval, self.y_eval))
        c.frequency.append(self.frequency[c.followed])
        self.costs.clear()

    # -- the run -------------------------------------------------------------------------------
    def run(self):
        """Run every window on the engine's timeline (until the learning circuit is done).
        Returns self (``curve``, ``log``, ``seconds``, ``events``, ``simulated_time``)."""
        env = self.engine.env
        self.t_start = env.now
        t0 = time.perf_counter()
        env.run(until=env.process(learning_circuit(env, self)))
        self.seconds = time.perf_counter() - t0
        self.simulated_time = env.now - self.t_start
        return self

    @property
    def frequency(self) -> np.ndarray:
        """Hz (N,): every junction's resonance now (global order)."""
        return np.concatenate([line.frequency_state.frequency for line in self.engine.lines])

    @property
    def wakes(self) -> np.ndarray:
        """(N,) how many times each junction's process woke."""
        return np.array([a.wakes for a in self.junctions])

    @staticmethod
    def bytes_per_agent() -> float:
        """Bytes of a junction agent: its record and its process (generator, frame, simpy
        process and wake event), measured with tracemalloc on 2,000 agents, plus its slots in
        the line arrays (accumulator, base frequency, shift, write count, stuck flag)."""
        import tracemalloc
        import simpy
        env = simpy.Environment()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        agents = []
        for i in range(2000):
            a = LearningJunction(0, i, i)
            a.kick = env.event()
            a.process = env.process(junction_process(env, a, None))
            agents.append(a)
        env.run()                              # every process started, asleep on its kick
        used = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        return used / len(agents) + 8 + 8 + 8 + 8 + 1
