"""Training benchmark: the seed papers' large-scale results with the compiled engine, and its speed.

Trains and evaluates, each in the same run:

- drone RF fingerprints, 256 -> 128 -> 10 spintronic MLP with the seed's parameters (mean test
  accuracy over seeds), the same with 1 % device-to-device variability (input-tone frequencies,
  resonance frequencies, oscillator frequencies and powers) trained through the perturbed devices,
  after a calibration that writes each junction back to its design resonance (also reported
  without it), and with the seed authors' scheme (forward perturbed, gradient ideal); a numpy
  software MLP of the same shape;
- scikit-learn's 8x8 digits with one layer of resonator chains (64 tones -> 10 chains), against a
  logistic regression on the same held-out quarter;
- MNIST 784 -> 100 -> 10 (``--quick`` trains on a subset; ``--skip-mnist`` leaves it out);
- speed on the drone task (batch 256): seconds per training epoch, the share of an epoch inside
  the kernel's device physics (the rectification: Lorentzian evaluations and tone sums V = P W^T
  with their gradient products; the neurons' transfer; not the kernel's Adam step), and
  ``epoch_lorentzian_share``: the Lorentzian evaluations alone; inference
  samples/s, each against a numpy MLP of the same shape timed here (``--speed-only``: only these).

numpy's BLAS is limited to one thread for both the spintronic network and the numpy MLP (on a
shared 2-core machine one BLAS thread is much faster for these small products); the kernel uses
``--threads`` (default: every core).

The data come from ``--data DIR`` or ``$RFEMU_DATA`` (``drone_rf/`` and ``mnist/`` inside).
The last line printed is one JSON object with the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

from rfemu.engines.compiled import CompiledEngine, blas_threads
from rfemu.learning import TrainingConfig, train
from rfemu.learning.backprop import image_shift_augmentation
from rfemu.learning.mlp import NumpyMLP
from rfemu.network import VariabilityDescription, build_graph, compile_graph, spin_mlp
from rfemu.tasks import digits, drone_rf, mnist

#: the seed authors' settings (src/config_spinMLP.yaml, config_MLP.yaml), in SI units
DRONE_CONFIG = dict(epochs=100, batch_size=256, frequency_learning_rate=6.6e3, bias_learning_rate=6.6e-6,
                    score_scale=1e3, validation_fraction=0.0)
MLP_LEARNING_RATE = 0.0357


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def drone_runs(task, seeds, epochs, threads, progress):
    """Test accuracies of the ideal, perturbed and ideal-gradient trainings, per seed."""
    ideal_d = spin_mlp((task.n_features, 128, task.n_classes))
    pert_d = ideal_d.with_variability(VariabilityDescription.uniform(0.01))
    cfg = dict(DRONE_CONFIG, epochs=epochs, progress=progress, n_threads=threads)
    out = {"ideal": [], "perturbed": [], "perturbed_uncalibrated": [], "ideal_gradient": [], "ideal_train": [],
           "epoch_s": [], "kernel_share": []}
    for seed in seeds:
        r = train(build_graph(ideal_d, seed=seed), task.x_train, task.y_train, TrainingConfig(seed=seed, **cfg))
        out["ideal"].append(r.accuracy(task.x_test, task.y_test))
        out["ideal_train"].append(r.accuracy(task.x_train, task.y_train))
        out["epoch_s"].append(float(np.median(r.history.seconds)))
        out["kernel_share"].append(r.kernel_seconds / r.seconds)
        # chip in the loop: calibrate the junctions' resonances, then train through the perturbed devices
        r = train(build_graph(pert_d, seed=seed), task.x_train, task.y_train,
                  TrainingConfig(seed=seed, calibrate_resonances=True, **cfg))
        out["perturbed"].append(r.accuracy(task.x_test, task.y_test))
        r = train(build_graph(pert_d, seed=seed), task.x_train, task.y_train, TrainingConfig(seed=seed, **cfg))
        out["perturbed_uncalibrated"].append(r.accuracy(task.x_test, task.y_test))
        r = train(build_graph(pert_d, seed=seed), task.x_train, task.y_train,
                  TrainingConfig(seed=seed, variability_mode="ideal_gradient", **cfg),
                  ideal=build_graph(ideal_d, seed=seed))
        out["ideal_gradient"].append(r.accuracy(task.x_test, task.y_test))
        log(f"drone seed {seed}: ideal {out['ideal'][-1]:.4f}  1% variability {out['perturbed'][-1]:.4f} "
            f"(uncalibrated {out['perturbed_uncalibrated'][-1]:.4f})  ideal-gradient scheme "
            f"{out['ideal_gradient'][-1]:.4f}")
    return out


def software_mlp(task, sizes, seeds, epochs):
    accs = []
    for seed in seeds:
        mlp = NumpyMLP(sizes, seed=seed)
        with blas_threads(1):
            mlp.fit(task.x_train, task.y_train, epochs=epochs, learning_rate=MLP_LEARNING_RATE, seed=seed)
        accs.append(mlp.accuracy(task.x_test, task.y_test))
    return accs


def speed(task, threads, epochs):
    """Epoch time (batch 256) and inference rate, spintronic vs numpy MLP, same shapes."""
    G = build_graph(spin_mlp((task.n_features, 128, task.n_classes)), seed=0)
    r = train(G, task.x_train, task.y_train,
              TrainingConfig(**dict(DRONE_CONFIG, epochs=epochs, progress=False, n_threads=threads)))
    h = r.history
    epoch_s = float(np.median(h.seconds))
    # each epoch's share inside the kernel, over that epoch's own work (r.kernel_seconds / r.seconds
    # would also count the one-off start: BLAS discovery, the first kernel calls)
    kernel_share = float(np.median(np.divide(h.kernel_seconds, h.seconds)))
    lorentzian_share = float(np.median(np.divide(h.lorentzian_seconds, h.seconds)))
    mlp = NumpyMLP((task.n_features, 128, task.n_classes), seed=0)
    with blas_threads(1):
        mlp_epoch = float(np.median(mlp.fit(task.x_train, task.y_train, epochs=max(epochs, 20),
                                            learning_rate=MLP_LEARNING_RATE, seed=0)))
    # inference: the resonance matrices are cached (no parameter update in between)
    x = np.tile(task.x_test, (int(np.ceil(4096 / len(task.x_test))), 1))[:4096]
    engine = r.engine
    engine.forward(x[:8])

    def rate(fn, repeats=20):
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        return len(x) / best

    spin_rate = rate(lambda: engine.forward(x))
    with blas_threads(1):
        mlp_rate = rate(lambda: mlp.forward(x))
    return dict(epoch_s=epoch_s, mlp_epoch_s=mlp_epoch, kernel_share=kernel_share,
                lorentzian_share=lorentzian_share, inference=spin_rate, mlp_inference=mlp_rate)


def speed_figures(sp):
    """The speed keys of the JSON line."""
    return {
        "epoch_s": sp["epoch_s"],
        "epoch_ratio_vs_numpy_mlp": sp["epoch_s"] / sp["mlp_epoch_s"],
        "epoch_kernel_share": sp["kernel_share"],
        "epoch_lorentzian_share": sp["lorentzian_share"],
        "inference_samples_per_s": sp["inference"],
        "inference_ratio_vs_numpy_mlp": sp["mlp_inference"] / sp["inference"],
        "numpy_mlp_epoch_s": sp["mlp_epoch_s"],
        "numpy_mlp_inference_samples_per_s": sp["mlp_inference"],
    }


def digits_run(seeds, epochs, threads, progress):
    from sklearn.linear_model import LogisticRegression
    task = digits(test_fraction=0.25, seed=0)
    test, train_acc = [], []
    for seed in seeds:
        r = train(build_graph(spin_mlp((64, 10)), seed=seed), task.x_train, task.y_train,
                  TrainingConfig(epochs=epochs, batch_size=256, frequency_learning_rate=6.6e3,
                                 bias_learning_rate=6.6e-6, score_scale=300.0, validation_fraction=0.0,
                                 progress=progress, n_threads=threads, seed=seed))
        test.append(r.accuracy(task.x_test, task.y_test))
        train_acc.append(r.accuracy(task.x_train, task.y_train))
    logreg = LogisticRegression(max_iter=5000).fit(task.x_train, task.y_train).score(task.x_test, task.y_test)
    return test, train_acc, logreg


def mnist_description():
    """784 -> 100 -> 10: the 784 input tones on a geometric grid over 0.1-10.1 GHz (the seed's
    "784 channels in a 10 GHz band": 0.6 linewidths apart at the input junctions' damping 0.005),
    0.2 uW per tone at full scale (MNIST lights about 100 pixels: the chain voltages stay within
    the neurons' window), hidden neurons on the seed's geometric 20-120 MHz grid."""
    import dataclasses
    from rfemu.devices.resonator import ResonatorParameters
    from rfemu.network import FrequencyPlan
    d = spin_mlp((784, 100, 10))
    plan = FrequencyPlan("geometric", 100e6, 10.1e9)
    return dataclasses.replace(
        d, inputs=dataclasses.replace(d.inputs, frequency_plan=plan, max_power=0.2e-6),
        layers=(dataclasses.replace(d.layers[0], resonance_plan=plan, tuning_window=(-20e6, 20e6),
                                    resonator=ResonatorParameters(damping=0.005)), d.layers[1]))


def mnist_run(path, quick, threads, progress):
    """Train on 55,000 images (5,000 held out, stratified, choose the kept epoch by validation
    accuracy), each training batch shifted by up to one pixel along each axis, Adam steps 3 % of
    each junction's half width on a cosine decay to zero over 30 epochs, score scale 300/V."""
    task = mnist(path, n_train=6000 if quick else None, n_test=1000 if quick else None)
    epochs = 3 if quick else 30
    G = build_graph(mnist_description(), seed=0)
    r = train(G, task.x_train, task.y_train,
              TrainingConfig(epochs=epochs, batch_size=500, relative_frequency_learning_rate=0.03,
                             bias_learning_rate=1e-5, calibrate_bias=True, validation_fraction=1 / 12,
                             patience=None, early_stopping_metric="accuracy", learning_rate_schedule="cosine",
                             augmentation=image_shift_augmentation((28, 28), 1),
                             score_scale=300.0, progress=progress, n_threads=threads))
    return r.accuracy(task.x_test, task.y_test), r.accuracy(task.x_train[:10000], task.y_train[:10000]), \
        float(np.median(r.history.seconds)), len(r.history.seconds), \
        float(r.history.validation_accuracy[r.best_epoch - 1]), r.best_epoch, r.seconds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one seed, few epochs, MNIST subset (for CI)")
    ap.add_argument("--skip-mnist", action="store_true", help="leave MNIST out")
    ap.add_argument("--data", default=None, help="data directory (default $RFEMU_DATA)")
    ap.add_argument("--threads", type=int, default=None, help="kernel threads (default: every core)")
    ap.add_argument("--progress", action="store_true", help="show progress bars")
    ap.add_argument("--speed-only", action="store_true",
                    help="only the speed figures (epoch, kernel share, inference; no accuracy runs)")
    args = ap.parse_args(argv)
    data = args.data or os.environ.get("RFEMU_DATA")
    if not data:
        ap.error("give --data DIR or set RFEMU_DATA (the directory holding drone_rf/ and mnist/)")
    t_start = time.perf_counter()
    seeds = [0] if args.quick else [0, 1, 2]
    epochs = 30 if args.quick else DRONE_CONFIG["epochs"]
    drone = drone_rf(os.path.join(data, "drone_rf"))

    log("speed ...")
    sp = speed(drone, args.threads, 5 if args.quick else 10)
    log(f"epoch {sp['epoch_s']:.3f} s (numpy MLP {sp['mlp_epoch_s'] * 1e3:.2f} ms), kernel share "
        f"{sp['kernel_share']:.2f} (Lorentzians {sp['lorentzian_share']:.2f}), inference {sp['inference']:.0f} samples/s (numpy MLP {sp['mlp_inference']:.0f})")
    if args.speed_only:
        print(json.dumps(speed_figures(sp) | {"quick": bool(args.quick), "threads": args.threads,
                                              "wall_s": time.perf_counter() - t_start}))
        return

    log("drone ...")
    dr = drone_runs(drone, seeds, epochs, args.threads, args.progress)
    mlp_acc = software_mlp(drone, (drone.n_features, 128, drone.n_classes), seeds, epochs)
    log(f"software MLP {np.mean(mlp_acc):.4f}")

    log("digits ...")
    dg_test, dg_train, logreg = digits_run(seeds, 100, args.threads, args.progress)
    log(f"digits test {np.mean(dg_test):.4f} train {np.mean(dg_train):.4f} (logistic regression {logreg:.4f})")

    mn = None
    if not args.skip_mnist:
        log("mnist ...")
        mn = mnist_run(os.path.join(data, "mnist"), args.quick, args.threads, args.progress)
        log(f"mnist test {mn[0]:.4f} train {mn[1]:.4f} validation {mn[4]:.4f} (epoch {mn[5]} kept), "
            f"{mn[2]:.1f} s/epoch, {mn[3]} epochs, {mn[6]:.0f} s")

    figures = {
        "drone_test_accuracy": float(np.mean(dr["ideal"])),
        "drone_test_accuracy_variability": float(np.mean(dr["perturbed"])),
        "drone_test_accuracy_variability_ideal_gradient": float(np.mean(dr["ideal_gradient"])),
        "software_mlp_test_accuracy": float(np.mean(mlp_acc)),
        "digits_test_accuracy": float(np.mean(dg_test)),
        "mnist_test_accuracy": None if mn is None else float(mn[0]),
        **speed_figures(sp),
        "peak_rss_mb": peak_rss_mb(),
        # details
        "drone_test_accuracy_per_seed": dr["ideal"],
        "drone_train_accuracy_per_seed": dr["ideal_train"],
        "drone_variability_per_seed": dr["perturbed"],
        "drone_ideal_gradient_per_seed": dr["ideal_gradient"],
        "drone_test_accuracy_variability_uncalibrated": float(np.mean(dr["perturbed_uncalibrated"])),
        "drone_variability_uncalibrated_per_seed": dr["perturbed_uncalibrated"],
        "software_mlp_per_seed": mlp_acc,
        "digits_train_accuracy": float(np.mean(dg_train)),
        "digits_logistic_regression_test_accuracy": logreg,
        "mnist_train_accuracy": None if mn is None else mn[1],
        "mnist_epoch_s": None if mn is None else mn[2],
        "mnist_validation_accuracy": None if mn is None else mn[4],
        "mnist_best_epoch": None if mn is None else mn[5],
        "mnist_training_s": None if mn is None else mn[6],
        "quick": bool(args.quick),
        "threads": args.threads,
        "wall_s": time.perf_counter() - t_start,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _timing import main_guarded
    main_guarded(main, "benchmarks/training.py")
