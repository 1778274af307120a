"""A spintronic convolutional network on the event engine (Leroux et al. 2022), in physical time.

The network is a :class:`rfemu.engines.conv.SpinCNN` (the compiled engine's): a convolution layer
of junction chains (:class:`rfemu.network.conv.ConvLayer`), its oscillators, pooling, and a dense
head. Here every device is an agent on the event engine's clock::

    image -> patch sources: the tones of a patch (one per patch element and input channel)
          -> convolution lines (rfemu.network.conv.ConvLayer.line: rfemu.medium.Line of a copy's
             chains): after the line's delay (propagation + the spin-diode response of its
             slowest junction) one chain-matrix update, the filters' voltages
          -> the oscillators, one per filter and position: I = (V + V_bias) g_m, relaxing to
             P_out(I) (the event engine's neurons: rfemu.devices.oscillator)
          -> pooling combiners: the mean (or max) power of a window, the power of one tone of
             the head's line 0 (its source agent)
          -> the head: the event engine of cnn.head.network (its lines, neurons, readouts)

The two arrangements of the paper (docs/architecture.md, rfemu/network/conv.py):

- ``sequential``: one line whose chains are the filters; a scan agent applies the patches one
  after another: patch ``p``'s tones are applied, the line delivers one delay later (the chains
  have settled with the junctions' response time), the filters' voltages are sampled into a hold
  (one analog memory cell per filter and position) that drives the oscillators of position ``p``,
  and the next patch is applied at that instant. The scan takes ``n_positions`` line delays.
- ``parallel``: one line per position (the copies of the filters' chains), each carrying its
  patch's tones: every position is read after one line delay, whatever their number.

A new image is read at least for that conversion time (the scan, or one delay): the latency is
the later of its end and the outputs' settling. The engine holds no device formula: the lines'
response is :class:`rfemu.medium.LineResponse` (through :class:`rfemu.medium.Line`), the
oscillators' targets and relaxation come from :mod:`rfemu.devices.oscillator` (the event
engine's neuron step), the line delays from :func:`rfemu.devices.resonator.response_time`, the
energy from :mod:`rfemu.devices.energy` (the hold and the pooling combiners draw nothing in that
model). Noise off only.

Between two images nothing is scheduled (every agent asleep): :meth:`ConvEventEngine.state` is the
head's engine state (:mod:`rfemu.engines.event.state`) with the convolution's agents' records
beside it, and ``ConvEventEngine(cnn, ..., state=)`` goes on from it bit for bit
(docs/architecture.md#resuming-a-run).

Examples
--------
>>> import numpy as np
>>> from rfemu.engines.conv import SpinCNN
>>> from rfemu.network import build_graph, conv, spin_mlp
>>> g = conv.ConvGeometry(1, 4, 4, 3)
>>> layer = conv.conv_layer(g, 2, np.linspace(20e6, 120e6, 9), bias_voltage=7e-3, seed=0)
>>> cnn = SpinCNN(layer, build_graph(spin_mlp((2, 3)), seed=0), pool_size=2)
>>> run = ConvEventEngine(cnn).run(np.full((1, 1, 4, 4), 0.5))
>>> bool(np.allclose(run.outputs, cnn.forward(np.full((1, 1, 4, 4), 0.5)).scores, rtol=1e-9))
True
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields

import numpy as np

from rfemu.engines.event.agents import (LineAgent, NeuronAgent, Priority, SourceAgent, line_process, neuron_process,
                                        source_process)
from rfemu.engines.event.clock import PriorityTimeout, to_seconds, to_ticks
from rfemu.engines.event.config import EventConfig, EventRunResult, InferenceResult
from rfemu.engines.conv import rearranged
from rfemu.engines.event.engine import EventEngine
from rfemu.engines.event.state import (_as_plain, _line, _neurons, _set_line, _set_neurons, engine_state,
                                       results_from_state, results_state)
from rfemu.network import conv as cv

__all__ = ["ConvEventEngine", "CNNInference", "CNNRunResult", "PoolAgent", "ScanAgent", "scan_process",
           "event_figures", "CONV_STATE_FORMAT", "cnn_results_state", "cnn_results_from_state"]


# --------------------------------------------------------------------------------------------
# agents of the convolution stage
# --------------------------------------------------------------------------------------------

class PoolAgent:
    """A pooling combiner: the powers of a window's oscillators in, one tone of the head's line 0
    out (its :class:`~rfemu.engines.event.agents.SourceAgent`), at the mean (``average``) or the
    largest (``max``) of them. Passive and instantaneous: an oscillator's emission reaches it as
    a line's ``send`` would (``source`` None: oscillators outside every whole window, read by
    nothing)."""

    __slots__ = ("source", "powers", "largest")

    def __init__(self, source, size, largest):
        self.source = source
        self.powers = [0.0] * size
        self.largest = largest

    def send(self, now, slot, frequency, power, linewidth):
        """Oscillator ``slot`` of the window now emits ``power`` (W): re-emit the pooled power."""
        powers = self.powers
        powers[slot] = power
        source = self.source
        if source is None:
            return
        value = max(powers) if self.largest else sum(powers) / len(powers)
        if value != source.power:
            source.power = value
            if not source.kick.triggered:
                source.kick.arm()


class ScanAgent:
    """The sequential arrangement's scan: the patches of the present image (``patches`` (P, T)
    W), the position being read (None: idle), the line and its patch sources."""

    __slots__ = ("line", "sources", "patches", "position", "kick", "process")

    def __init__(self, line, sources):
        self.line, self.sources = line, sources
        self.patches = None
        self.position = None
        self.kick = self.process = None


def _set_powers(sources, powers):
    """Tell patch sources their new powers (W); each one that changes puts its tone on its line."""
    for s, value in zip(sources, powers):
        if value != s.power:
            s.power = value
            if not s.kick.triggered:
                s.kick.arm()


def scan_process(env, scan, engine):
    """The scan: apply the tones of patch ``scan.position``; the line delivers one delay later
    (the engine samples the filters then, and wakes the scan for the next position)."""
    while True:
        yield scan.kick
        scan.kick = PriorityTimeout(env, Priority.SOURCE)
        _set_powers(scan.sources, scan.patches[scan.position].tolist())
        scan.line.changed()          # a delivery even if this patch equals the last one


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------

@dataclass
class CNNInference(InferenceResult):
    """One image (:class:`~rfemu.engines.event.config.InferenceResult`) and ``stage_latency``, s:
    the convolution's conversion time (the scan, or one line delay)."""

    stage_latency: float = 0.0


@dataclass
class CNNRunResult(EventRunResult):
    """Many images (:class:`~rfemu.engines.event.config.EventRunResult`) and ``stage_latency``
    (N,) s."""

    stage_latency: np.ndarray = field(default_factory=lambda: np.zeros(0))


def cnn_results_state(items) -> dict:
    """The :class:`CNNInference` of the images read so far as plain data
    (:func:`rfemu.engines.event.state.results_state` and the conversion times)."""
    items = list(items)
    return dict(results_state(items), stage_latency=np.array([it.stage_latency for it in items], dtype=float))


def cnn_results_from_state(state: dict) -> list:
    """The :class:`CNNInference` list :func:`cnn_results_state` saved."""
    stage = np.asarray(state["stage_latency"]).tolist()
    return [CNNInference(**{f.name: getattr(it, f.name) for f in fields(it)}, stage_latency=stage[i])
            for i, it in enumerate(results_from_state(state))]


# --------------------------------------------------------------------------------------------
# the engine
# --------------------------------------------------------------------------------------------

class ConvEventEngine(EventEngine):
    """A :class:`rfemu.engines.conv.SpinCNN` on the event engine (see the module docstring).

    Parameters
    ----------
    cnn : rfemu.engines.conv.SpinCNN
        The network (read, not changed).
    config : EventConfig, optional
        Noise off (the default).
    seed, energy_model, start_time
        As :class:`~rfemu.engines.event.engine.EventEngine`.
    state : dict, optional
        Continue from :meth:`state` of an engine built on the same network and settings instead
        of powering up.

    Attributes
    ----------
    conv_lines : list of LineAgent
        The convolution's lines (one; one per position when parallel).
    patch_sources : list of list of SourceAgent
        Per convolution line, its patch tones.
    conv_neurons : list of list of NeuronAgent
        ``[p][f]``: the oscillator of filter ``f`` at position ``p``.
    pools : list of PoolAgent
    scan : ScanAgent or None
        The sequential arrangement's scan.
    """

    def __init__(self, cnn, config=None, seed=None, energy_model=None, start_time=0.0, state=None):
        config = config or EventConfig()
        if config.noise:
            raise ValueError("the CNN event engine runs noise off (config.noise must be False)")
        self._conv_copy = {}         # id(line) -> copy, for the convolution's lines (none yet)
        super().__init__(cnn.head.network, config, seed=seed, energy_model=energy_model, start_time=start_time,
                         state=None if state is None else state["head"])
        self.cnn = cnn
        self.layer = cnn.conv
        g = self.layer.geometry
        self._held = np.zeros((self.layer.n_filters, g.n_positions))    # V: chain voltages read per position
        self._stage_end = self.env.ticks
        self._build_lines()
        self._build_neurons()
        if state is not None:            # the convolution's processes wait on their kicks, and go on
            self.env.run()
            self._load_conv_state(state["conv"])
            return
        # power-up: silent patch tones, every chain at 0 V; the oscillators driven by the biases
        for p in range(g.n_positions):
            self._drive_position(p, np.zeros(self.layer.n_filters), self.env.ticks, every=True)
        self._run_env(None)
        self.n_events = 0

    # -- building --------------------------------------------------------------------------------
    def _build_lines(self):
        cfg, layer, env = self.config, self.layer, self.env
        F, T = layer.n_filters, layer.geometry.patch_size
        damping = np.broadcast_to(np.asarray(layer.damping, dtype=float), layer.base_frequency.shape)
        self.conv_lines, self.patch_sources = [], []
        for k in range(layer.n_copies):
            response = self._diode_response(layer.resonance_frequency[k], damping[k]) if cfg.diode_response else 0.0
            name = ("conv", k)
            medium = layer.line(k, resistance=np.full((F, T), cfg.junction_resistance), temperature=0.0,
                                bandwidth=cfg.readout_bandwidth, delay=cfg.line_delay + response,
                                n_threads=cfg.n_threads, name=name)
            line = LineAgent(self, name, medium, None, None, to_ticks(medium.delay, name), causal=cfg.causal_delivery)
            line.free_frequency = medium.tone_frequency.copy()
            line.kick = PriorityTimeout(env, Priority.LINE_DELIVERY)
            line.process = env.process(line_process(env, line, self))
            self.ledger.register_line(name, medium.response.junction_power_gain(), env.ticks, 0.0)
            sources = []
            for t in range(T):
                s = SourceAgent(("patch", k, t), line, t, float(layer.tone_frequency[t]),
                                float(layer.tone_linewidth[t]))
                s.kick = PriorityTimeout(env, Priority.SOURCE)
                s.process = env.process(source_process(env, s, self))
                sources.append(s)
            self._conv_copy[id(line)] = k
            self.conv_lines.append(line)
            self.patch_sources.append(sources)
        self.scan = None
        if layer.arrangement == cv.SEQUENTIAL:
            self.scan = ScanAgent(self.conv_lines[0], self.patch_sources[0])
            self.scan.kick = PriorityTimeout(env, Priority.SOURCE)
            self.scan.process = env.process(scan_process(env, self.scan, self))

    def _build_neurons(self):
        """An oscillator per filter and position, each feeding its pooling window's combiner."""
        env, cnn, layer = self.env, self.cnn, self.layer
        g, size = layer.geometry, cnn.pool_size
        ph, pw = g.out_height // size, g.out_width // size
        head0 = self.network.layers[0]
        self.pools = [PoolAgent(self.sources[q], size * size, cnn.pool == "max")
                      for q in range(len(self.sources))]
        sink = PoolAgent(None, 1, False)
        F = layer.n_filters
        self.conv_neurons = []
        self._channel = np.zeros((g.n_positions, F))
        self._channel_width = np.zeros((g.n_positions, F))
        for p in range(g.n_positions):
            oy, ox = divmod(p, g.out_width)
            row = []
            for f in range(F):
                if oy < ph * size and ox < pw * size:
                    q = (f * ph + oy // size) * pw + ox // size
                    pool, slot = self.pools[q], (oy % size) * size + ox % size
                    freq, width = float(head0.tone_frequency[q]), float(head0.tone_linewidth[q])
                else:
                    pool, slot = sink, 0
                    freq, width = float(head0.tone_frequency[0]), float(head0.tone_linewidth[0])
                self._channel[p, f], self._channel_width[p, f] = freq, width
                n = NeuronAgent(("conv_neuron", f, p), ("conv", p), f, pool, slot, cnn.oscillator, freq, width)
                n.kick = PriorityTimeout(env, Priority.NEURON_UPDATE)
                n.process = env.process(neuron_process(env, n, self))
                n.t0 = n.t_current = env.ticks
                self.ledger.register_oscillator(n.node, env.ticks)
                row.append(n)
            self.conv_neurons.append(row)

    @property
    def n_agents(self) -> int:
        n_conv = sum(len(s) for s in self.patch_sources) + len(self.conv_lines) + sum(map(len, self.conv_neurons))
        return super().n_agents + n_conv + layer_junctions(self.layer)

    # -- the convolution's deliveries --------------------------------------------------------------
    def deliver(self, line, now):
        """A convolution line's delivery: read its chains (sequential: into the hold of the
        position being scanned, then the next position); the head's lines as the event engine's."""
        k = self._conv_copy.get(id(line))
        if k is None:
            return super().deliver(line, now)
        medium = line.medium
        v = medium.chain_voltages()
        if line.causal:              # (otherwise recorded as sent, at its arrival: LineAgent.send)
            self.ledger.tones(line.layer, now, float(medium.tone_power.sum()))
        scan = self.scan
        if scan is None:
            self._drive_position(k, v, now)
            self._stage_end = max(self._stage_end, now)
        elif scan.position is not None:
            p = scan.position
            self._drive_position(p, v, now)
            self._stage_end = now
            if p + 1 < len(scan.patches):
                scan.position = p + 1
                scan.kick.arm()
            else:
                scan.position = None

    def _drive_position(self, p, v, now, every=False):
        """The filters' chain voltages ``v`` (F,) V read at position ``p`` drive that position's
        oscillators (those whose voltage moved by more than ``voltage_tolerance``, or ``every``)."""
        held = self._held[:, p]
        moved = np.arange(v.size) if every else np.flatnonzero(~(np.abs(v - held) <= self.config.voltage_tolerance))
        if moved.size == 0:
            return
        held[moved] = v[moved]
        layer, cnn = self.layer, self.cnn
        bias = layer.bias_voltage[0 if self.scan is not None else p]
        self._drive_neurons(self.conv_neurons[p], moved, now, (v + bias) * cnn.transconductance, cnn.oscillator,
                            follows_current=False, channel_frequency=self._channel[p],
                            channel_linewidth=self._channel_width[p], linewidths=layer.linewidths)

    # -- inference ---------------------------------------------------------------------------------
    def _present(self, image):
        """Apply an image (C, H, W) in [0, 1] now: start the scan, or every position's tones."""
        g = self.layer.geometry
        x = np.asarray(image, dtype=float)
        if x.shape != (g.in_channels, g.height, g.width) or not np.all(np.isfinite(x)) or np.any(x < 0):
            raise ValueError(f"an image must be {(g.in_channels, g.height, g.width)} finite values >= 0, "
                             f"got shape {x.shape}")
        patches = cv.im2col(x[None] * self.cnn.input_max_power, g)[0]
        self._stage_end = self.env.ticks
        for row in self.conv_neurons:    # (their trajectories are not followed: the pools read the tones)
            for n in row:
                n.segments = []
        if self.scan is not None:
            self.scan.patches = patches
            self.scan.position = 0
            self.scan.kick.arm()
            return
        for line, sources, powers in zip(self.conv_lines, self.patch_sources, patches):
            _set_powers(sources, powers.tolist())
            line.changed()           # every position is read, changed or not

    def _latency(self, outputs, t_start):
        """Ticks until the outputs settled, and at least the convolution's conversion time."""
        return max(super()._latency(outputs, t_start), self._stage_end - t_start)

    def infer(self, image) -> CNNInference:
        """Read one image (C, H, W) in [0, 1] at the present time, run until every agent is asleep."""
        t_start = self.env.ticks
        result = self._infer(lambda: self._present(image))
        return CNNInference(**{f.name: getattr(result, f.name) for f in fields(result)},
                            stage_latency=to_seconds(self._stage_end - t_start))

    def run(self, images, *, progress=False, done=(), after_sample=None) -> CNNRunResult:
        """Read images (N, C, H, W) one after the other (each when the previous one has settled).

        ``done`` and ``after_sample`` as in :meth:`EventEngine.run
        <rfemu.engines.event.engine.EventEngine.run>` (the results of images read before, by the
        engine whose :meth:`state` this one continues from; a call after each image)."""
        x = np.asarray(images, dtype=float)
        if x.ndim == 3:
            x = x[None]
        items = list(done)
        it = range(len(x))
        if progress:
            from tqdm import tqdm
            it = tqdm(it, desc="event CNN inference", initial=len(items), total=len(items) + len(x))
        for i in it:
            items.append(self.infer(x[i]))
            if after_sample is not None:
                after_sample(items)
        kinds = sorted({k for item in items for k in item.energy})
        return CNNRunResult(outputs=np.array([i.outputs for i in items]), latency=np.array([i.latency for i in items]),
                            energy={k: np.array([i.energy.get(k, 0.0) for i in items]) for k in kinds},
                            n_events=np.array([i.n_events for i in items]),
                            wall_time=np.array([i.wall_time for i in items]), items=items,
                            stage_latency=np.array([i.stage_latency for i in items]))


    # -- state between two images (a run's checkpoint) -------------------------------------------
    def state(self) -> dict:
        """The CNN's state between two images as plain data: ``{"head": ..., "conv": ...}``, the
        head's engine state (:func:`rfemu.engines.event.state.engine_state`: clock, generator,
        the head's agents and its part of the energy ledger) and the convolution's agents'
        records (its lines, patch sources, oscillators, pooling combiners, the hold, the
        conversion's end, their part of the ledger); ``ConvEventEngine(cnn, config, seed,
        energy_model, state=...)`` goes on from it bit for bit.

        Raises
        ------
        ValueError
            During an image (something still scheduled).
        """
        if self._recording or self.env._queue or (self.scan is not None and self.scan.position is not None):
            raise ValueError("the CNN event engine's state is taken between two images (nothing scheduled)")
        head = engine_state(self)
        ledger, n_osc, n_lines = head["ledger"], len(self.neurons), len(self.lines)
        head["ledger"] = dict(ledger, oscillators=ledger["oscillators"][:n_osc], lines=ledger["lines"][:n_lines])
        conv = {"format": CONV_STATE_FORMAT, "layout": _conv_layout(self.cnn),
                "lines": [_line(self, line) for line in self.conv_lines],
                "patch_power": np.array([[s.power for s in row] for row in self.patch_sources], dtype=float),
                "neurons": _neurons([n for row in self.conv_neurons for n in row]),
                "pools": np.array([pool.powers for pool in self.pools], dtype=float).reshape(len(self.pools), -1),
                "held": self._held.copy(), "stage_end": int(self._stage_end),
                "ledger": {"oscillators": ledger["oscillators"][n_osc:], "lines": ledger["lines"][n_lines:]}}
        return {"head": head, "conv": conv}

    def _load_conv_state(self, saved: dict) -> None:
        """Put the convolution's part of :meth:`state` back into the just-built agents."""
        if saved.get("format") != CONV_STATE_FORMAT:
            raise ValueError(f"CNN event engine state of format {saved.get('format')!r}, expected {CONV_STATE_FORMAT}")
        if _as_plain(saved["layout"]) != _conv_layout(self.cnn):
            raise ValueError("the CNN event engine state is of another convolution (a state goes on only on the "
                             "network it was taken on, trained as it was)")
        for line, saved_line in zip(self.conv_lines, saved["lines"], strict=True):
            _set_line(self, line, saved_line)
        for row, powers in zip(self.patch_sources, np.asarray(saved["patch_power"]).tolist(), strict=True):
            for source, power in zip(row, powers, strict=True):
                source.power = power
        _set_neurons([n for row in self.conv_neurons for n in row], saved["neurons"])
        for pool, powers in zip(self.pools, np.asarray(saved["pools"]).tolist(), strict=True):
            pool.powers = powers
        self._held[...] = saved["held"]
        self._stage_end = int(saved["stage_end"])
        _set_logs(self.ledger._oscillators, saved["ledger"]["oscillators"], len(self.neurons))
        _set_logs(self.ledger._lines, saved["ledger"]["lines"], len(self.lines))


#: the layout of the convolution's part of a CNN event engine's state
CONV_STATE_FORMAT = 1


def _conv_layout(cnn) -> dict:
    """What identifies a CNN's convolution stage: its shape, pooling, and a digest of its arrays
    (the layer's, the neurons' parameters, the transconductance and input power)."""
    layer, h = cnn.conv, hashlib.sha256()
    values = {f"conv.{name}": getattr(layer, name) for name in layer.__dataclass_fields__}
    values.update({f"oscillator.{f.name}": getattr(cnn.oscillator, f.name) for f in fields(cnn.oscillator)},
                  transconductance=cnn.transconductance, input_max_power=cnn.input_max_power)
    for name, value in values.items():
        a = np.asarray(value)
        if a.dtype.kind in "fiub":
            a = np.ascontiguousarray(a)
            h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
            h.update(a.tobytes())
    return {"arrangement": layer.arrangement, "copies": int(layer.n_copies), "filters": int(layer.n_filters),
            "positions": int(layer.geometry.n_positions), "pool": cnn.pool, "pool_size": int(cnn.pool_size),
            "arrays": h.hexdigest()}


def _set_logs(logs: dict, entries: list, first: int) -> None:
    """Put the energy ledger's logs from the ``first``-th on (the convolution's) back."""
    keys = list(logs)[first:]
    if len(keys) != len(entries):
        raise ValueError(f"the CNN event engine state has {len(entries)} energy logs of the convolution, "
                         f"the engine {len(keys)}")
    for key, entry in zip(keys, entries):
        logs[key] = list(zip((int(t) for t in entry["t"]), np.asarray(entry["value"]).tolist()))


def layer_junctions(layer) -> int:
    """Junctions of a convolution layer: copies x filters x patch size."""
    return int(np.prod(layer.base_frequency.shape))


# --------------------------------------------------------------------------------------------
# the benchmark's figures
# --------------------------------------------------------------------------------------------

def _figures(cnn, images, config, energy_model):
    run = ConvEventEngine(cnn, config, energy_model=energy_model).run(images)
    expected = cnn.forward(images).scores
    rel = float(np.max(np.abs(run.outputs - expected)) / max(float(np.max(np.abs(expected))), 1e-300))
    energy = float(np.mean(sum(run.energy[k] for k in ("oscillator", "junction", "amplifier", "write"))))
    return run, rel, energy


def event_figures(cnn, images, *, config=None, energy_model=None) -> dict:
    """The event engine's figures of a CNN for ``benchmarks/cnn.py``, both arrangements.

    ``cnn`` runs in its own arrangement and its twin (:func:`rfemu.engines.conv.rearranged`: every
    copy programmed toward the shared target, no spread, no write noise) in the other one, each
    on a fresh :class:`ConvEventEngine` over ``images`` (N, C, H, W) in [0, 1], against the
    compiled engine (``cnn.forward``).

    Returns
    -------
    dict
        ``sequential_latency_s`` and ``parallel_latency_s`` (mean over the images, s),
        ``sequential_scan_s`` / ``parallel_stage_s`` (the convolution's conversion time, s),
        ``energy_per_image_J`` (``cnn``'s arrangement, mean J: oscillators + junctions +
        amplifiers + writes), ``sequential_energy_per_image_J``, ``parallel_energy_per_image_J``,
        ``event_vs_compiled_max_rel_diff`` (max over both arrangements, images and classes of
        |event - compiled| / max |compiled|), ``event_events_per_image`` per arrangement,
        ``event_wall_s_per_image`` per arrangement.
    """
    images = np.asarray(images, dtype=float)
    out = {}
    rel_max = 0.0
    for arrangement in cv.ARRANGEMENTS:
        net = cnn if arrangement == cnn.conv.arrangement else rearranged(cnn, arrangement)
        run, rel, energy = _figures(net, images, config, energy_model)
        rel_max = max(rel_max, rel)
        out[f"{arrangement}_latency_s"] = float(run.latency.mean())
        out[f"{arrangement}_{'scan' if arrangement == cv.SEQUENTIAL else 'stage'}_s"] = float(run.stage_latency.mean())
        out[f"{arrangement}_energy_per_image_J"] = energy
        out[f"{arrangement}_events_per_image"] = float(run.n_events.mean())
        out[f"{arrangement}_wall_s_per_image"] = float(run.wall_time.mean())
    out["energy_per_image_J"] = out[f"{cnn.conv.arrangement}_energy_per_image_J"]
    out["event_vs_compiled_max_rel_diff"] = rel_max
    return out
