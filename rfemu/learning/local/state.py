"""The junctions' learning state: volatile accumulators over non-volatile frequency states.

Every junction of a learning chip keeps, as a learning agent,

- a volatile accumulator (Hz): the frequency change its rule asked for and not yet written;
- its write counter and stuck flag, and its non-volatile resonance frequency: one
  :class:`rfemu.devices.resonator.FrequencyState` per layer (line), which quantises, adds write
  noise, keeps the tuning window, counts writes against the endurance (stuck afterwards) and
  drifts between writes (``docs/physics.md#frequency-state``).

A junction writes only when its accumulator reaches its write threshold (at least one
quantisation step): it asks for a whole number of steps and keeps the remainder. Each write is
recorded in a :class:`WriteLog` (time, junction, requested and obtained frequency, energy) and
costs the device's latency and energy on the simulated timeline.

Junctions are numbered globally, layer after layer, chain after chain: junction ``j`` of chain
``c`` of layer ``l`` is ``offset[l] + c * J_l + j``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rfemu.devices.resonator import FrequencyState
from rfemu.network.compile import CompiledNetwork
from rfemu.rng import as_generator

__all__ = ["WriteSettings", "WriteLog", "JunctionStates"]


@dataclass(frozen=True)
class WriteSettings:
    """The non-volatile write physics of every junction (SI units).

    Parameters
    ----------
    step : float
        Hz, quantisation step of the programmed frequency (0: continuous).
    write_noise : float
        Hz, std of the Gaussian error of a write.
    write_latency : float
        s, time a write takes (the junctions of a line write in parallel).
    write_energy : float
        J per write pulse.
    endurance : float
        Writes after which a junction is stuck where it is (inf: never).
    drift_rate : float
        Hz/s, drift of every resonance between writes (bounded by the tuning window).
    write_threshold : float
        Hz, |accumulator| at which a junction writes; at least ``step`` (0: ``step``, or any
        non-zero request when ``step`` is 0 too).
    """

    step: float = 10e3
    write_noise: float = 0.0
    write_latency: float = 10e-9
    write_energy: float = 1e-13
    endurance: float = math.inf
    drift_rate: float = 0.0
    write_threshold: float = 0.0

    def __post_init__(self):
        for name in ("step", "write_noise", "write_latency", "write_energy", "write_threshold"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
        if not self.endurance >= 1:
            raise ValueError(f"endurance must be >= 1 write, got {self.endurance!r}")
        if not math.isfinite(self.drift_rate):
            raise ValueError(f"drift_rate must be finite, got {self.drift_rate!r}")

    @property
    def threshold(self) -> float:
        """Hz, the accumulator magnitude that triggers a write."""
        return max(self.step, self.write_threshold)


class WriteLog:
    """Every write of a learning run: time (s), junction (global index), requested and obtained
    resonance frequency (Hz), energy (J). Appended in chunks; :meth:`arrays` joins them."""

    FIELDS = ("time", "junction", "requested", "obtained", "energy")

    def __init__(self):
        self._chunks = {k: [] for k in self.FIELDS}
        self.count = 0
        self.energy = 0.0

    def add(self, time, junction, requested, obtained, energy_each):
        n = len(junction)
        if n == 0:
            return
        self._chunks["time"].append(np.full(n, float(time)))
        self._chunks["junction"].append(np.asarray(junction, dtype=np.int64))
        self._chunks["requested"].append(np.asarray(requested, dtype=float))
        self._chunks["obtained"].append(np.asarray(obtained, dtype=float))
        self._chunks["energy"].append(np.full(n, float(energy_each)))
        self.count += n
        self.energy += n * float(energy_each)

    def arrays(self) -> dict:
        """{field: 1-D array} of every write, in the order they happened."""
        return {k: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64 if k == "junction" else float))
                for k, v in self._chunks.items()}


class JunctionStates:
    """The learning state of every junction of a compiled network (batched per layer).

    Parameters
    ----------
    network : CompiledNetwork
        Its ``tuning`` arrays are kept equal to the frequency states' shifts (the engines read
        them): after every write and drift.
    settings : WriteSettings
    seed : None, int or Generator
        Write noise (one stream per layer, spawned from it).

    Attributes
    ----------
    accumulator : array (N,)
        Hz, volatile: requested and not yet written.
    frequency_states : list of FrequencyState
        One per layer (line), flat over (chain, junction).
    offsets : array (L + 1,)
        First global junction index of each layer (and N at the end).
    log : WriteLog
    """

    def __init__(self, network: CompiledNetwork, settings: WriteSettings | None = None, seed=None):
        self.network = network
        self.settings = settings or WriteSettings()
        rng = as_generator(seed)
        streams = rng.spawn(len(network.layers))
        self.frequency_states = []
        sizes = []
        for layer, stream in zip(network.layers, streams):
            lo, hi = float(layer.tuning_min.min()), float(layer.tuning_max.max())
            if np.any(layer.tuning_min != lo) or np.any(layer.tuning_max != hi):
                raise ValueError(f"layer {layer.index}: on-chip learning needs one tuning window per line")
            s = self.settings
            self.frequency_states.append(FrequencyState(
                base_frequency=layer.base_frequency.ravel(), window_low=lo, window_high=hi, step=s.step,
                write_noise=s.write_noise, write_latency=s.write_latency, write_energy=s.write_energy,
                endurance=s.endurance, drift_rate=s.drift_rate, seed=stream, shift=layer.tuning.ravel()))
            sizes.append(layer.tuning.size)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.accumulator = np.zeros(int(self.offsets[-1]))
        self.log = WriteLog()

    @property
    def n_junctions(self) -> int:
        return int(self.offsets[-1])

    @property
    def frequency(self) -> np.ndarray:
        """Hz (N,): every junction's resonance frequency now."""
        return np.concatenate([fs.frequency for fs in self.frequency_states])

    @property
    def writes(self) -> np.ndarray:
        """(N,) write count of every junction."""
        return np.concatenate([fs.writes for fs in self.frequency_states])

    @property
    def stuck(self) -> np.ndarray:
        """(N,) bool: junctions past their endurance."""
        return np.concatenate([fs.stuck for fs in self.frequency_states])

    def layer_slice(self, l: int) -> slice:
        return slice(int(self.offsets[l]), int(self.offsets[l + 1]))

    def _sync(self, l: int) -> None:
        layer = self.network.layers[l]
        layer.tuning[...] = self.frequency_states[l].shift.reshape(layer.tuning.shape)

    def accumulate(self, delta_frequency) -> None:
        """Add a rule's requested changes (Hz, (N,)) to the volatile accumulators."""
        d = np.asarray(delta_frequency, dtype=float)
        if d.shape != self.accumulator.shape or not np.all(np.isfinite(d)):
            raise ValueError(f"delta_frequency must be {self.accumulator.shape} finite values (Hz), got shape {d.shape}")
        self.accumulator += d

    def commit(self, now: float) -> tuple[int, float, float]:
        """Write every junction whose accumulator reached the threshold.

        A junction asks for its frequency plus the whole number of quantisation steps in its
        accumulator (the accumulator itself when the step is 0) and keeps the remainder. Stuck
        junctions keep their frequency (their accumulator is cleared: nothing can be written).

        Returns
        -------
        (writes, energy J, latency s) of this commit (lines write in parallel: the latency is the
        longest line's).
        """
        threshold = self.settings.threshold
        step = self.settings.step
        n_total, energy, latency = 0, 0.0, 0.0
        for l, fs in enumerate(self.frequency_states):
            sl = self.layer_slice(l)
            acc = self.accumulator[sl]
            ready = np.flatnonzero((np.abs(acc) >= threshold) & (acc != 0.0))
            if ready.size == 0:
                continue
            request = acc[ready] if step == 0 else np.round(acc[ready] / step) * step
            acc[ready] -= request
            requested = fs.frequency[ready] + request
            report = fs.write(requested, index=ready)
            done = ready[report.written]
            acc[ready[fs.stuck[ready]]] = 0.0
            self.log.add(now, done + self.offsets[l], requested[report.written],
                         report.applied[report.written], fs.write_energy)
            n_total += int(done.size)
            energy += report.energy
            latency = max(latency, report.latency)
            self._sync(l)
        return n_total, energy, latency

    def advance(self, duration: float) -> None:
        """Let every resonance drift for ``duration`` s (between writes)."""
        if self.settings.drift_rate == 0.0:
            return
        for l, fs in enumerate(self.frequency_states):
            fs.advance(duration)
            self._sync(l)

    def bytes_per_junction(self) -> float:
        """Bytes of learning state per junction: accumulator, base frequency, shift, write count,
        stuck flag (the arrays every junction agent owns a slot of)."""
        per = self.accumulator.itemsize
        for fs in self.frequency_states[:1]:
            per += fs.base_frequency.itemsize + fs.shift.itemsize + fs.writes.itemsize + fs.stuck.itemsize
        return float(per)
