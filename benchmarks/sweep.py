"""Sweep throughput: speed-up of two workers over one, and the overhead per point.

    python benchmarks/sweep.py [--long-points 16] [--short-points 1000]

1. 16 points of about one second of CPU each (the quickstart network, 800 training samples,
   100 epochs) on a warm process pool and a warm local Dask cluster, with one and with two
   workers: ``speedup_pool_2`` and ``speedup_dask_2`` are the wall time with one worker over the
   wall time with two (targets: >= 1.8 and >= 1.6). Starting the workers (importing rfemu) is
   timed apart (``*_startup_s``).
2. 1,000 points of a few milliseconds (1 epoch on 20 samples; 20 axis values x 50 repeats, the
   shape of a Monte-Carlo study) on a warm one-worker pool: ``overhead_per_point_ms`` is the
   sweep's wall time (plan, batches, transfers, a file per point, sweep.nc) minus the time of
   the same runs called one after the other in one process (:func:`rfemu.api.run` on scenarios
   validated beforehand; both pay the first run's one-off costs once), per point (target:
   <= 5 ms).

The last line is one JSON object. The figures are wall times: on a machine shared with other
work they measure that too (the load average is printed with them).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BASE = textwrap.dedent("""\
    name: bench_sweep
    seed: 1
    network:
      inputs:
        frequency_plan: {kind: linear, min: 20 MHz, max: 120 MHz}
        max_power: 1 uW
      layers:
        - size: 16
          resonance_plan: {kind: linear, min: 20 MHz, max: 120 MHz}
          bias_voltage: 11 mV
          transconductance: 3.388 uA/mV
        - size: 2
          resonance_plan: {kind: geometric, min: 200 MHz, max: 400 MHz}
    engine: {kind: compiled, n_threads: 1}
    """)

LONG = BASE + textwrap.dedent("""\
    task: {dataset: moons, n_train: 800, n_test: 200}
    training: {rule: backprop, epochs: 100, patience: 1000, batch_size: 32,
               frequency_learning_rate: 20 kHz}
    sweep:
      axes: [{key: training.frequency_learning_rate, linear: {start: 10 kHz, stop: 40 kHz, num: %d}}]
    """)

SHORT = BASE + textwrap.dedent("""\
    task: {dataset: moons, n_train: 20, n_test: 20}
    training: {rule: backprop, epochs: 1, batch_size: 32, frequency_learning_rate: 20 kHz}
    sweep:
      axes: [{key: training.frequency_learning_rate, linear: {start: 10 kHz, stop: 40 kHz, num: %d}}]
      repeats: %d
    """)


def _timed_sweep(path, out, backend):
    from rfemu.sweep.runner import run_sweep
    t0 = time.perf_counter()
    result = run_sweep(path, out=out, backend=backend, progress=False, figures=False)
    wall = time.perf_counter() - t0
    assert not result.failed, result.failed
    return wall, result


def _started(make):
    t0 = time.perf_counter()
    backend = make()
    if hasattr(backend, "_ensure"):            # a pool starts its processes on first use
        from rfemu.sweep.executor import _warm
        pool = backend._ensure()
        list(pool.map(_warm, range(backend.workers)))
    return backend, time.perf_counter() - t0


def speedups(folder: Path, n_points: int) -> dict:
    from rfemu.sweep.executor import DaskBackend, PoolBackend
    path = folder / "long.yaml"
    path.write_text(LONG % n_points)
    out = {}
    for name, make in (("pool", PoolBackend), ("dask", lambda w: DaskBackend(workers=w))):
        walls = {}
        for workers in (1, 2):
            backend, startup = _started(lambda: make(workers))
            try:
                walls[workers], result = _timed_sweep(path, folder / f"{name}{workers}", backend)
            finally:
                backend.close()
            out[f"{name}_{workers}_wall_s"] = round(walls[workers], 2)
            out[f"{name}_{workers}_startup_s"] = round(startup, 2)
            out[f"{name}_{workers}_mean_point_s"] = round(float(result.dataset["seconds"].mean()), 3)
            print(f"{name}, {workers} worker(s): {walls[workers]:.2f} s for {n_points} points "
                  f"(start {startup:.1f} s), load {os.getloadavg()[0]:.1f}", file=sys.stderr)
        out[f"speedup_{name}_2"] = round(walls[1] / walls[2], 3)
    return out


def overhead(folder: Path, n_values: int, repeats: int) -> dict:
    import rfemu.api as api
    from rfemu.sweep.executor import PoolBackend
    from rfemu.sweep.plan import load_plan
    path = folder / "short.yaml"
    path.write_text(SHORT % (n_values, repeats))
    plan = load_plan(path)
    scenarios = [api.load_scenario(path, overrides=p.overrides(plan.section.axes))
                 for p in plan.points]
    t0 = time.perf_counter()
    for s in scenarios:
        api.run(s, write=False, progress=False)
    bare = time.perf_counter() - t0
    backend, startup = _started(lambda: PoolBackend(1))
    try:
        wall, result = _timed_sweep(path, folder / "short", backend)
    finally:
        backend.close()
    n = len(plan.points)
    print(f"{n} short points: sweep {wall:.2f} s, the same runs in a loop {bare:.2f} s, "
          f"load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    return {"short_points": n, "short_sweep_wall_s": round(wall, 2),
            "short_loop_wall_s": round(bare, 2), "short_pool_startup_s": round(startup, 2),
            "overhead_per_point_ms": round(1e3 * (wall - bare) / n, 3)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--long-points", type=int, default=16)
    ap.add_argument("--short-values", type=int, default=20)
    ap.add_argument("--short-repeats", type=int, default=50)
    args = ap.parse_args(argv)
    report = {"load_average_start": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="rfemu-bench-sweep-") as tmp:
        report.update(speedups(Path(tmp), args.long_points))
        report.update(overhead(Path(tmp), args.short_values, args.short_repeats))
    report["load_average_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
