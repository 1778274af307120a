"""The hardware network of Ross et al., Nat. Nanotechnol. 18, 1273 (2023), emulated in rfemu.

Two RF inputs -> a layer of spin-diode synapses -> oscillator neurons -> a second layer of
synapses -> the output, classifying non-linearly separable 2-input tasks (XOR quadrants,
concentric circles, moons). The experiment used 9 magnetic tunnel junctions in two layers and
reached 97.7 %.

Each task: build the network graph, train it offline with the compiled engine (backprop through
the static device models, a few seeds, the best on a validation split kept), then run the trained
graph in the event engine (simpy agents, physical time) with thermal noise on (Johnson noise
floor of the junctions, stochastic oscillators) and report the test accuracy of both engines.

rfemu reads the output as one chain per class (2 output chains of ``hidden`` junctions), so the
emulated chip has ``2 * hidden`` input synapses, ``hidden`` oscillators and ``2 * hidden`` output
synapses. With the chip's 2 neurons (``--hidden 2``) these device models do not reach 97 %:
neurons on fixed channels are monotonic in their input, and two monotonic hidden units cannot
draw the XOR saddle or a closed circle (the compiled engine itself stays near 75 %; with
``--emission current``, neurons at f(I) sweeping across the output resonances, near 90 %).
The default, 8 neurons, reaches >= 97 % on all three tasks (4 suffice for XOR and circles).

    python examples/ross2023_two_layer.py [--quick] [--tasks xor circles moons] [--hidden 2]

The last line printed is one JSON object: per task the compiled and event accuracies.
"""
from __future__ import annotations

import argparse
import json
import math
import time


from rfemu.devices.oscillator import OscillatorParameters
from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventConfig, EventEngine
from rfemu.learning.backprop import TrainingConfig, train
from rfemu.network import (FrequencyPlan, InputDescription, LayerDescription, NetworkDescription,
                           build_graph, write_back)
from rfemu.tasks import circles, moons, xor_quadrants

TASKS = {"xor": xor_quadrants, "circles": circles, "moons": moons}

#: J, energy of the oscillation at p = 1 of the chip's vortex oscillators. The vortex of a disk a
#: few hundred nm wide and a few nm thick stores ~1e-16 J of magnetic energy (mu0 Ms^2 V); 2e-17 J
#: gives a thermal noise eta = k_B T / E0 = 2e-4 at 300 K (rfemu's default, 2e-19 J, is a small
#: uniform-mode oscillator: eta = 0.02, whose power fluctuations of 10-20 % would cost the
#: noise-free-trained chip several points).
VORTEX_OSCILLATION_ENERGY = 2e-17

#: the event run: thermal noise on; neurons re-emit on 1 % power moves so that the readout's
#: 1 / B average sees their fluctuations
EVENT_CONFIG = dict(noise=True, emission_tolerance=0.01)


def description(hidden=2, emission="fixed", shift_mhz=15.0):
    """The two-layer network: input tones at 200 and 300 MHz (one junction per tone in each
    first-layer chain), ``hidden`` oscillator neurons on channels in 400-500 MHz (``emission =
    "current"``: at f(I) of their own device, with a non-linear frequency shift of ``shift_mhz``
    * 2 pi rad/s), two output chains (one per class). Hidden chains biased at 8 mV, g_m of the
    seed (3.388 uA/mV)."""
    oscillator = OscillatorParameters(natural_frequency=450e6, oscillation_energy=VORTEX_OSCILLATION_ENERGY,
                                      nonlinear_frequency_shift=2 * math.pi * shift_mhz * 1e6 if emission == "current" else 0.0)
    return NetworkDescription(
        InputDescription(2, FrequencyPlan("linear", 200e6, 300e6)),
        (LayerDescription(hidden, FrequencyPlan("linear", 200e6, 300e6), junctions_per_chain=2,
                          bias_voltage=0.008, initial_bias_spread=0.5e-3, initial_tuning_spread=3e6,
                          emission=emission, oscillator=oscillator,
                          emission_plan=FrequencyPlan("linear", 400e6, 500e6)),
         LayerDescription(2, FrequencyPlan("linear", 400e6, 500e6), initial_tuning_spread=3e6)))


def train_best(task, desc, seeds, epochs):
    """Train from several seeds; keep the graph with the best validation accuracy."""
    n_val = len(task.x_train) // 5
    x_tr, y_tr = task.x_train[n_val:], task.y_train[n_val:]
    x_va, y_va = task.x_train[:n_val], task.y_train[:n_val]
    best = None
    for seed in seeds:
        G = build_graph(desc, seed=seed)
        result = train(G, x_tr, y_tr, TrainingConfig(epochs=epochs, batch_size=32, frequency_learning_rate=2e5,
                                                     bias_learning_rate=2e-4, validation_fraction=0.0,
                                                     patience=None, progress=False, seed=seed,
                                                     learn_score_scale=True))
        write_back(G, result.network)
        acc = CompiledEngine(G).accuracy(x_va, y_va)
        if best is None or acc > best[0]:
            best = (acc, seed, G)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description="Ross et al. 2023 two-layer RF network, trained offline, run in the event engine")
    ap.add_argument("--quick", action="store_true", help="fewer epochs, seeds and test samples")
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--hidden", type=int, default=8,
                    help="oscillator neurons (the chip had 2; see the module docstring)")
    ap.add_argument("--emission", choices=["fixed", "current"], default="fixed",
                    help="neurons on fixed channels, or at f(I) of their device")
    ap.add_argument("--no-noise", action="store_true", help="run the event engine without thermal noise")
    args = ap.parse_args(argv)
    epochs, seeds, n_test = (100, range(2), 200) if args.quick else (150, range(3), 400)
    out = {}
    for name in args.tasks:
        t0 = time.perf_counter()
        task = TASKS[name](n_train=800, n_test=n_test, seed=0)
        desc = description(hidden=args.hidden, emission=args.emission)
        val_acc, seed, G = train_best(task, desc, seeds, epochs)
        compiled_acc = CompiledEngine(G).accuracy(task.x_test, task.y_test)
        engine = EventEngine(G, config=EventConfig(**{**EVENT_CONFIG, "noise": not args.no_noise}), seed=seed)
        run = engine.run(task.x_test)
        event_acc = run.accuracy(task.y_test)
        out[name] = {"compiled_test_accuracy": compiled_acc, "event_test_accuracy": event_acc,
                     "validation_accuracy": val_acc, "seed": seed,
                     "mean_latency_s": float(run.latency.mean()),
                     "event_ms_per_inference": float(1e3 * run.wall_time.mean()),
                     "seconds": time.perf_counter() - t0}
        print(name, out[name], flush=True)
    out["hidden_neurons"] = args.hidden
    out["emission"] = args.emission
    out["noise"] = not args.no_noise
    print(json.dumps(out))


if __name__ == "__main__":
    main()
