"""Soak test of the event engine (issue 12, item 6): ~10^5 agents, inputs back to back for
``--minutes`` of wall time (default 10); memory must stay flat and the event rate steady.

The network is ``spin_mlp((512, 192, 10))``: 100,224 junctions plus sources, lines, neurons and
readouts, about 10^5 agents in one :class:`rfemu.engines.event.EventEngine` (noise off, the
default configuration). A pool of 64 random inputs (features in [0, 1)) is applied over and over
with ``engine.infer``, each when the previous one has settled, so that the work per inference is
the same at the start and at the end: what changes over time is the engine's own state (its
clock, queues, records, ledger), which is what a leak or a slowdown would come from.

Figures (one JSON line at the end):

- ``rss_growth_pct``: resident memory at the end against the memory after the first minute
  (the warm-up: caches, first allocations), in percent; target under 5;
- ``event_rate_drift_pct``: simpy events per second of this process's CPU time in the last
  third of the measured inferences against the first third (90th percentile of the inferences'
  rates in each third), in percent (CPU time, not wall time: the machine is shared, and other processes' load is not
  the engine's drift); target under 5 in magnitude. ``event_rate_drift_wall_pct`` is the same
  on wall time, for information;
- ``agents``, ``inferences``, ``events``, ``events_per_cpu_s``, ``events_per_wall_s`` (their
  ratio is the share of a core the process got), ``rss_mb_warm``, ``rss_mb_end``,
  ``build_s``, ``minutes``.

Usage::

    python benchmarks/soak.py [--minutes 10] [--warmup 1] [--sizes 512 192 10]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def build_engine(sizes, seed=0):
    """The event engine on ``spin_mlp(sizes)`` and how many agents it holds."""
    from rfemu.engines.event import EventEngine
    from rfemu.network import build_graph, spin_mlp
    graph = build_graph(spin_mlp(tuple(sizes)), seed=seed)
    engine = EventEngine(graph, seed=seed)
    return engine, engine.n_agents


#: percentile of the inferences' own event rates that stands for a third of the run: contention
#: with other programs (shared cores and caches) only slows an inference down, so the fast end
#: of the distribution is the engine's own rate
RATE_PERCENTILE = 90


def drift_pct(events, seconds) -> float:
    """Event rate of the last third of the inferences against the first third, in percent (the
    :data:`RATE_PERCENTILE` percentile of the inferences' own rates, events / seconds, in each
    third)."""
    rates = np.asarray(events, float) / np.maximum(np.asarray(seconds, float), 1e-9)
    n = len(rates) // 3
    if n == 0:
        return float("nan")
    first, last = (np.percentile(r, RATE_PERCENTILE) for r in (rates[:n], rates[-n:]))
    return 100.0 * (last / first - 1.0)


def soak(minutes: float, warmup_minutes: float, sizes, seed: int = 0) -> dict:
    """Run the engine for ``minutes`` of wall time; the figures described in the module doc."""
    t0 = time.perf_counter()
    engine, agents = build_engine(sizes, seed)
    build_s = time.perf_counter() - t0
    inputs = np.random.default_rng(seed).random((64, sizes[0]))
    start = time.perf_counter()
    end, warm_end = start + 60.0 * minutes, start + 60.0 * warmup_minutes
    rss_warm = None
    measured = []                     # (events, cpu s, wall s) per inference after the warm-up
    i = events = 0
    while time.perf_counter() < end:
        cpu, wall = time.process_time(), time.perf_counter()
        result = engine.infer(inputs[i % len(inputs)])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        i += 1
        events += result.n_events
        if time.perf_counter() >= warm_end:
            if rss_warm is None:
                rss_warm = rss_bytes()
            else:
                measured.append((result.n_events, cpu, wall))
    rss_end = rss_bytes()
    ev, cpu, wall = (np.array(c) for c in zip(*measured)) if measured else ([], [], [])
    return {
        "rss_growth_pct": round(100.0 * (rss_end / rss_warm - 1.0), 3) if rss_warm else None,
        "event_rate_drift_pct": round(drift_pct(ev, cpu), 3),
        "event_rate_drift_wall_pct": round(drift_pct(ev, wall), 3),
        "agents": agents, "sizes": list(sizes), "inferences": i, "events": int(events),
        "events_per_cpu_s": round(float(np.sum(ev) / np.sum(cpu)), 1) if measured else None,
        "events_per_wall_s": round(float(np.sum(ev) / np.sum(wall)), 1) if measured else None,
        "rss_mb_warm": round(rss_warm / 2 ** 20, 1) if rss_warm else None,
        "rss_mb_end": round(rss_end / 2 ** 20, 1), "build_s": round(build_s, 1),
        "minutes": minutes, "warmup_minutes": warmup_minutes,
        "measured_inferences": len(measured)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="wall time of inputs (default 10)")
    ap.add_argument("--warmup", type=float, default=None,
                    help="minutes before memory and rate are measured (default 1, at most a "
                         "third of --minutes)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 192, 10],
                    help="spin_mlp layer sizes (default 512 192 10: ~10^5 agents)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    warmup = args.warmup if args.warmup is not None else min(1.0, args.minutes / 3)
    print(json.dumps(soak(args.minutes, warmup, args.sizes, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
