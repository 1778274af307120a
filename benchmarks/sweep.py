"""Sweep throughput: speed-up of two workers over one, and the overhead per point.

    python benchmarks/sweep.py [--long-points 16] [--short-values 20] [--short-repeats 50]

1. 16 points of about one second of CPU each (the quickstart network, 800 training samples,
   100 epochs) on a warm process pool and a warm local Dask cluster, with one and with two
   workers: ``speedup_pool_2`` and ``speedup_dask_2`` are the wall time with one worker over the
   wall time with two (targets: >= 1.8 and >= 1.6). Starting the workers (importing rfemu) is
   timed apart (``*_startup_s``).
2. 1,000 points of a few milliseconds (1 epoch on 20 samples; 20 axis values x 50 repeats, the
   shape of a Monte-Carlo study) on a warm one-worker pool: ``overhead_per_point_ms`` is the
   sweep's wall time (plan, batches, transfers, a file per point, sweep.nc) minus the time of
   the same runs called one after the other in one process (:func:`rfemu.api.run` on scenarios
   validated beforehand, one BLAS thread as in a worker; both pay the first run's one-off costs
   once), per point (target: <= 5 ms).

Wall times measure the machine too: on 2 cores shared with other sessions (load average 7-10) a
second worker finds no free core, and the two walls of (2) are taken a minute apart under a load
that changes in between. So every figure also has a CPU-accounted twin that the load moves far
less (each point's worker reports the CPU time it spent on it, ``cpu_seconds`` in sweep.nc; the
driver's own CPU is measured around the sweep):

- ``cpu_speedup_{pool,dask}_2``: the one-worker run's point CPU over the busiest worker's point
  CPU in the two-worker run: the speed-up two dedicated cores would give by the runs' own CPU
  accounting (what parallelism can lose: load balance, batching), not what the neighbours take.
  Under heavy load the CPU time of the same point itself drifts between runs (caches shared with
  other work): ``point_cpu_ratio_*`` (mean point CPU with two workers over one) says by how much;
- ``balance_{pool,dask}_2``: within the two-worker run, the workers' point CPU over twice the
  busiest one's (1.0: the batches kept both workers equally busy), free of that drift;
- ``*_worker_cpu_share``: the workers' CPU over their wall time x workers (1.0: every worker had
  a core all along; under load it says how much of a core each got, which is what the wall
  speed-up divides by);
- ``overhead_per_point_cpu_ms``: (driver CPU + the points' CPU in the worker - the loop's CPU)
  per point: the CPU the sweep machinery adds to each point.

The last line is one JSON object (load averages at start and end and around each phase).
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
    """Run a sweep; (wall s, driver CPU s, result)."""
    from rfemu.sweep.runner import run_sweep
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_sweep(path, out=out, backend=backend, progress=False, figures=False)
    wall, driver = time.perf_counter() - t0, time.process_time() - c0
    assert not result.failed, result.failed
    return wall, driver, result


def _point_cpu(folder: Path) -> dict:
    """{worker pid: [CPU s of each point it ran]} from a sweep folder's point files."""
    per_worker: dict = {}
    for f in (folder / "points").glob("*.json"):
        record = json.loads(f.read_text())
        per_worker.setdefault(record["pid"], []).append(record["cpu_seconds"])
    return per_worker


def _started(make):
    t0 = time.perf_counter()
    backend = make()
    if hasattr(backend, "_ensure"):            # a pool starts its processes on first use
        from rfemu.sweep.executor import _warm
        pool = backend._ensure()
        list(pool.map(_warm, range(backend.workers)))
    return backend, time.perf_counter() - t0


def _load():
    return round(os.getloadavg()[0], 2)


def warm_up(folder: Path) -> None:
    """One tiny sweep in this process first, so that no measured driver pays the one-off imports
    (xarray, netCDF, the api) and no loop pays the first run's."""
    from rfemu.sweep.runner import run_sweep
    path = folder / "warm.yaml"
    path.write_text(SHORT % (2, 1))
    run_sweep(path, out=folder / "warm", workers=0, progress=False, figures=False)


def speedups(folder: Path, n_points: int) -> dict:
    from rfemu.sweep.executor import DaskBackend, PoolBackend
    path = folder / "long.yaml"
    path.write_text(LONG % n_points)
    out = {}
    for name, make in (("pool", PoolBackend), ("dask", lambda w: DaskBackend(workers=w))):
        walls, cpu_total = {}, {}
        for workers in (1, 2):
            backend, startup = _started(lambda: make(workers))
            load = _load()
            try:
                wall, driver, result = _timed_sweep(path, folder / f"{name}{workers}", backend)
            finally:
                backend.close()
            per_worker = _point_cpu(folder / f"{name}{workers}")
            points_cpu = sum(sum(v) for v in per_worker.values())
            busiest = max(sum(v) for v in per_worker.values())
            walls[workers] = wall
            cpu_total[workers] = (points_cpu, busiest)
            tag = f"{name}_{workers}"
            out.update({f"{tag}_wall_s": round(wall, 2), f"{tag}_startup_s": round(startup, 2),
                        f"{tag}_mean_point_s": round(float(result.dataset["seconds"].mean()), 3),
                        f"{tag}_mean_point_cpu_s": round(points_cpu / n_points, 3),
                        f"{tag}_driver_cpu_s": round(driver, 2),
                        f"{tag}_workers_used": len(per_worker),
                        f"{tag}_worker_cpu_share": round(points_cpu / (wall * workers), 3),
                        f"{tag}_load": load})
            print(f"{name}, {workers} worker(s): {wall:.2f} s wall, {points_cpu:.2f} s of point CPU "
                  f"(busiest worker {busiest:.2f} s), driver {driver:.2f} s CPU, start {startup:.1f} s, "
                  f"load {load:.1f}", file=sys.stderr)
        out[f"speedup_{name}_2"] = round(walls[1] / walls[2], 3)
        total_2, busiest_2 = cpu_total[2]
        out[f"cpu_speedup_{name}_2"] = round(cpu_total[1][0] / busiest_2, 3)
        out[f"balance_{name}_2"] = round(total_2 / (2 * busiest_2), 3)
        out[f"point_cpu_ratio_{name}"] = round(total_2 / cpu_total[1][0], 3)
    return out


def overhead(folder: Path, n_values: int, repeats: int) -> dict:
    from threadpoolctl import threadpool_limits

    import rfemu.api as api
    from rfemu.sweep.executor import PoolBackend
    from rfemu.sweep.plan import load_plan
    path = folder / "short.yaml"
    path.write_text(SHORT % (n_values, repeats))
    plan = load_plan(path)
    scenarios = [api.load_scenario(path, overrides=p.overrides(plan.section.axes))
                 for p in plan.points]
    load_loop = _load()
    with threadpool_limits(1):                 # as in a worker
        t0, c0 = time.perf_counter(), time.process_time()
        for s in scenarios:
            api.run(s, write=False, progress=False)
        bare, bare_cpu = time.perf_counter() - t0, time.process_time() - c0
    backend, startup = _started(lambda: PoolBackend(1))
    load_sweep = _load()
    try:
        wall, driver, result = _timed_sweep(path, folder / "short", backend)
    finally:
        backend.close()
    points_cpu = sum(sum(v) for v in _point_cpu(folder / "short").values())
    n = len(plan.points)
    print(f"{n} short points: sweep {wall:.2f} s wall ({points_cpu:.2f} s point CPU in the worker, "
          f"{driver:.2f} s driver CPU, load {load_sweep:.1f}), the same runs in a loop {bare:.2f} s "
          f"wall ({bare_cpu:.2f} s CPU, load {load_loop:.1f})", file=sys.stderr)
    return {"short_points": n, "short_sweep_wall_s": round(wall, 2),
            "short_loop_wall_s": round(bare, 2), "short_pool_startup_s": round(startup, 2),
            "short_loop_cpu_s": round(bare_cpu, 2), "short_sweep_point_cpu_s": round(points_cpu, 2),
            "short_sweep_driver_cpu_s": round(driver, 2),
            "short_loop_cpu_share": round(bare_cpu / bare, 3),
            "short_sweep_worker_cpu_share": round(points_cpu / wall, 3),
            "short_loop_load": load_loop, "short_sweep_load": load_sweep,
            "overhead_per_point_ms": round(1e3 * (wall - bare) / n, 3),
            "overhead_per_point_cpu_ms": round(1e3 * (driver + points_cpu - bare_cpu) / n, 3)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--long-points", type=int, default=16)
    ap.add_argument("--short-values", type=int, default=20)
    ap.add_argument("--short-repeats", type=int, default=50)
    args = ap.parse_args(argv)
    report = {"load_average_start": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="rfemu-bench-sweep-") as tmp:
        warm_up(Path(tmp))
        report.update(speedups(Path(tmp), args.long_points))
        report.update(overhead(Path(tmp), args.short_values, args.short_repeats))
    report["load_average_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
