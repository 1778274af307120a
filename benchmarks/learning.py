"""On-chip learning benchmark: local rules on the 8x8-digits network, and a 100,000-junction chip.

The digits network is the one of scenarios/digits_single_layer.yaml (64 tones on a geometric plan
100 MHz - 1 GHz, 10 chains of 64 junctions: 640 junctions). Figures:

- junction_updates_per_s: the perturbative rule (multiplexed gradient descent, sinusoid codes,
  1024 dither steps per window, 32 samples per window), junction updates (one junction
  correlating one cost change with its dither and integrating) per second of wall time, the
  chip's copies batched in the kernel on one thread (target >= 10 M/s), median of ``--repeats``
  runs; junction_updates_per_cpu_s the same per second of process CPU time (what a shared,
  loaded machine does not change); junction_updates_per_s_2_kernel_threads with the kernel on
  two threads (the rest of the window stays on one);
- learning_steps_per_s: learning windows per second, perturbative (1025 cost measurements of a
  32-sample batch each) and feedback alignment (one pass each);
- writes_per_s: non-volatile writes per second of wall time in those runs;
- chip_100k_window_s: one perturbative window (16 dither steps, 8 samples) and one
  feedback-alignment window (32 samples) on a 512 -> 192 -> 10 chip (100,224 junctions);
- learning_events_per_s, learning_steps_per_s_event: an event-engine learning run on the digits
  chip (rfemu.learning.local.agents: feedback alignment, 10 kHz steps, 50 ns writes): learning
  events (window steps, junction wake-ups, writes landing) and windows per second of wall time;
- bytes_per_junction_agent: a junction agent in that run (its record and process, measured with
  tracemalloc, and its slots in the line arrays), target <= 1024; bytes_per_junction_state: the
  batched loop's learning state alone.

The last line printed is one JSON object.

With ``--event-100k``: the 100,224-junction chip in the event engine too
(event_100k_build_s: building the engine; event_100k_agents_s: its 100,224 junction agents;
event_100k_window_s: one feedback-alignment window of 8 samples; peak_rss_mb).

    python benchmarks/learning.py [--windows 20] [--repeats 3] [--event-100k]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from _timing import report  # noqa: E402
from rfemu.learning.local import (FeedbackAlignmentRule, OnChipConfig, PerturbativeRule, WriteSettings,  # noqa: E402
                                  train_on_chip)
from rfemu.network import (FrequencyPlan, InputDescription, LayerDescription, NetworkDescription,  # noqa: E402
                           build_graph, compile_graph, spin_mlp)
from rfemu.tasks import digits  # noqa: E402


def digits_network(seed=1):
    d = NetworkDescription(
        inputs=InputDescription(size=64, frequency_plan=FrequencyPlan("geometric", 100e6, 1e9), max_power=1e-6),
        layers=(LayerDescription(size=10, resonance_plan=FrequencyPlan("geometric", 100e6, 1e9)),))
    return compile_graph(build_graph(d, seed=seed))


def run(rule, windows, batch_size, net=None, task=None, n_threads=1):
    """A learning run; its ``cpu_seconds`` (process CPU time of the learning alone, the network
    built before) is set on the result."""
    task = task or digits(seed=1)
    net = net or digits_network()
    config = OnChipConfig(windows=windows, batch_size=batch_size, evaluate_every=10 ** 9, seed=0)
    # the curve's two evaluations (start, end) on 8 samples only: the loop is what is timed
    cpu0 = time.process_time()
    result = train_on_chip(net, task.x_train, task.y_train, rule, config, WriteSettings(step=10e3),
                           evaluation=(task.x_test[:8], task.y_test[:8]), n_threads=n_threads)
    result.cpu_seconds = time.process_time() - cpu0
    return result


def junction_update_rates(task, windows, repeats, n_threads=1):
    """(median wall rate, median CPU rate, a run) of the perturbative rule's junction updates on
    the digits network over ``repeats`` runs of ``windows`` windows (1024 dither steps, 32
    samples): the median damps a shared machine's load."""
    runs = [run(PerturbativeRule(0.3, steps=1024), windows, 32, task=task, n_threads=n_threads)
            for _ in range(repeats)]
    wall = float(np.median([r.junction_updates / r.seconds for r in runs]))
    cpu = float(np.median([r.junction_updates / r.cpu_seconds for r in runs]))
    return wall, cpu, runs[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--windows", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3, help="runs of the junction-update figure (median)")
    ap.add_argument("--event-100k", action="store_true", help="also the 100k-junction chip in the event engine")
    args = ap.parse_args()
    task = digits(seed=1)
    figures = {}
    run(PerturbativeRule(0.3, steps=1024), 1, 32, task=task)              # warm-up (BLAS discovery)
    wall, cpu, mgd = junction_update_rates(task, args.windows, args.repeats)
    figures["junction_updates_per_s"] = wall
    figures["junction_updates_per_cpu_s"] = cpu
    wall2, _, _ = junction_update_rates(task, args.windows, args.repeats, n_threads=2)
    figures["junction_updates_per_s_2_kernel_threads"] = wall2
    figures["learning_steps_per_s_perturbative"] = args.windows / mgd.seconds
    figures["writes_per_s_perturbative"] = mgd.states.log.count / mgd.seconds
    dfa = run(FeedbackAlignmentRule(0.3), 10 * args.windows, 32, task=task)
    figures["learning_steps_per_s_feedback_alignment"] = 10 * args.windows / dfa.seconds
    figures["writes_per_s_feedback_alignment"] = dfa.states.log.count / dfa.seconds
    figures["bytes_per_junction_state"] = mgd.states.bytes_per_junction()

    from rfemu.engines.event import EventConfig, EventEngine
    from rfemu.learning.local.agents import EventLearning
    engine = EventEngine(digits_network(), EventConfig(), seed=0)
    windows = 5 * args.windows
    ev = EventLearning(engine, task.x_train, task.y_train, FeedbackAlignmentRule(0.3),
                       OnChipConfig(windows=windows, batch_size=32, evaluate_every=10 ** 9, seed=0),
                       WriteSettings(step=10e3, write_latency=50e-9)).run()
    figures["learning_events_per_s"] = ev.events / ev.seconds
    figures["learning_steps_per_s_event"] = windows / ev.seconds
    figures["event_run_writes"] = ev.log.count
    figures["bytes_per_junction_agent"] = EventLearning.bytes_per_agent()

    big = compile_graph(build_graph(spin_mlp((512, 192, 10)), seed=0))
    rng = np.random.default_rng(0)
    x = rng.random((64, 512))
    y = rng.integers(0, 10, 64)
    from rfemu.tasks.datasets import Task
    big_task = Task("random", x, y, x[:8], y[:8], 10)
    figures["chip_100k_junctions"] = int(big.n_junctions)
    t0 = time.perf_counter()
    r = run(PerturbativeRule(0.3, steps=16), 1, 8, net=big, task=big_task)
    figures["chip_100k_window_s_perturbative"] = r.seconds
    r = run(FeedbackAlignmentRule(0.3), 1, 32, net=big, task=big_task)
    figures["chip_100k_window_s_feedback_alignment"] = r.seconds
    figures["chip_100k_wall_s"] = time.perf_counter() - t0
    if args.event_100k:
        from _timing import peak_rss_mb
        t0 = time.perf_counter()
        engine = EventEngine(big, EventConfig(), seed=0)
        t1 = time.perf_counter()
        learning = EventLearning(engine, x, y, FeedbackAlignmentRule(0.3),
                                 OnChipConfig(windows=1, batch_size=8, evaluate_every=10 ** 9), WriteSettings(step=10e3),
                                 evaluation=(x[:4], y[:4]))
        t2 = time.perf_counter()
        learning.run()
        figures["event_100k_build_s"] = t1 - t0
        figures["event_100k_agents_s"] = t2 - t1
        figures["event_100k_window_s"] = learning.seconds
        figures["peak_rss_mb"] = peak_rss_mb()
    figures["load_average_1min"] = os.getloadavg()[0]
    report(figures)


if __name__ == "__main__":
    main()
