"""Event-engine benchmark: the drone network (256 -> 128 -> 10, ~34,000 junction agents) in event
mode with noise off, against a bare simpy loop; and 1,000 oscillators locking on one line.

The drone network is TRAINED first (offline backprop through the compiled engine; 15 epochs with
--quick, 60 otherwise) so that the neurons really move between samples. Figures:

- event_inference_ms: mean wall time per inference (input applied -> every agent asleep) over the
  first 20 test samples (target <= 50 ms);
- events_per_s: simpy events processed per second of wall time during those inferences;
- bytes_per_agent: memory allocated while building the engine (tracemalloc) / number of agents
  (sources, lines, neurons, readouts, junctions; target <= 2 KB);
- overhead_vs_simpy: CPU time per event of the engine / CPU time per event of a bare simpy loop
  (processes yielding timeouts) with the same number of events, same process (target <= 3); CPU
  time (time.process_time) of the event processing (InferenceResult.cpu_time), best of 3 runs
  each, so that a loaded machine inflates both alike;
- locking_osc_steps_per_s: 1,000 oscillators with Adler coupling and phase noise on one line,
  oscillator-steps per second (target >= 1e6).

Also the seed's 20 nm projection (rfemu.study.energy.projection_20nm) on a 256-128-10 network:
energy per synaptic and per neuron operation, to compare with the seed's 10 fJ and 100 fJ.

The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import sys
import os
import time
import tracemalloc

import numpy as np
import simpy

from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventEngine
from rfemu.learning.backprop import TrainingConfig, train
from rfemu.medium import PhaseLocking
from rfemu.network import build_graph, spin_mlp, write_back


def bare_simpy_seconds_per_event(n_events, n_processes=128):
    """A bare simpy loop: processes yielding unit timeouts, ``n_events`` events in total; CPU
    seconds per event."""
    env = simpy.Environment()
    per = max(n_events // n_processes, 1)

    def proc(env):
        for _ in range(per):
            yield env.timeout(1.0)

    for _ in range(n_processes):
        env.process(proc(env))
    t = time.process_time()
    count = 0
    try:
        while True:
            env.step()
            count += 1
    except simpy.core.EmptySchedule:
        pass
    return (time.process_time() - t) / count


def locking_rate(n=1000, steps=2000, seed=0):
    rng = np.random.default_rng(seed)
    f = 5e9 + np.sort(rng.uniform(0, 1e9, n))                 # 1 tone per MHz
    power = rng.uniform(0.2e-6, 1e-6, n)
    model = PhaseLocking(f, power, coupling=50e3, linewidth=1e3, seed=seed)
    model.run(100 * 1e-9, 1e-9)                                # warm-up
    t = time.perf_counter()
    model.run(steps * 1e-9, 1e-9)
    dt = time.perf_counter() - t
    return n * steps / dt, model.n_pairs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter training")
    ap.add_argument("--samples", type=int, default=20)
    args = ap.parse_args(argv)

    from rfemu.tasks.datasets import drone_rf
    task = drone_rf()
    G = build_graph(spin_mlp((256, 128, 10)), seed=0)
    epochs = 15 if args.quick else 60
    t = time.perf_counter()
    result = train(G, task.x_train, task.y_train, TrainingConfig(epochs=epochs, progress=False, seed=0))
    write_back(G, result.network)
    train_s = time.perf_counter() - t
    compiled = CompiledEngine(G)
    x = task.x_test[:args.samples]
    expected = compiled.forward(x).scores

    tracemalloc.start()
    t = time.perf_counter()
    engine = EventEngine(G)
    build_s = time.perf_counter() - t
    allocated = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    n_agents = engine.n_agents

    run = engine.run(x)
    cpu = sum(item.cpu_time for item in run.items)
    wall = float(run.wall_time.sum())
    events = int(run.n_events.sum())
    rel = float(np.max(np.abs(run.outputs - expected)) / np.max(np.abs(expected)))
    # the machine is shared: repeat (fresh engine, same samples) and keep the best of each
    for _ in range(2):
        again = EventEngine(G).run(x)
        cpu = min(cpu, sum(item.cpu_time for item in again.items))
        wall = min(wall, float(again.wall_time.sum()))
    bare = min(bare_simpy_seconds_per_event(events) for _ in range(3))
    osc_rate, pairs = locking_rate()
    from rfemu.study.energy import projection_20nm_report
    projection = projection_20nm_report((256, 128, 10), n_samples=3)
    figures = {
        "event_inference_ms": 1e3 * wall / len(x),
        "events_per_s": events / wall,
        "bytes_per_agent": allocated / n_agents,
        "overhead_vs_simpy": (cpu / events) / bare,
        "event_inference_cpu_ms": 1e3 * cpu / len(x),
        "locking_osc_steps_per_s": osc_rate,
        "network": "drone 256-128-10, trained" + (" (--quick, 15 epochs)" if args.quick else " (60 epochs)"),
        "compiled_test_accuracy": compiled.accuracy(task.x_test, task.y_test),
        "event_vs_compiled_max_rel_diff": rel,
        "event_predictions_agree": float(np.mean(run.predictions == np.argmax(expected, axis=1))),
        "events_per_inference": events / len(x),
        "mean_latency_s": float(run.latency.mean()),
        "energy_per_inference_J": {k: float(v.mean()) for k, v in run.energy.items()},
        "n_agents": n_agents,
        "engine_build_s": build_s,
        "train_s": train_s,
        "bare_simpy_cpu_us_per_event": bare * 1e6,
        "locking_pairs": pairs,
        "threads": os.environ.get("RFEMU_THREADS", "all"),
        "projection_20nm_per_synapse_J": projection["per_synapse"],
        "projection_20nm_per_neuron_J": projection["per_neuron"],
        "projection_20nm_latency_s": projection["latency_s"],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _timing import main_guarded
    main_guarded(main, "benchmarks/engine.py")
