"""MNIST on the spintronic CNN of Leroux et al. 2022 (issue 13) against a software CNN of the same shape.

The spintronic CNN (rfemu.network.conv.cnn_description -> build_graph -> SpinCNN.from_graph):
16 filters of 5x5 junction chains on the patch tones (20-120 MHz, geometric), oscillator neurons,
4x4 max pooling, a dense head 576 -> 100 -> 10 of junction chains (its input tones on 0.1-10.1 GHz).
It is trained through the compiled engine with analytic gradients (rfemu.learning.cnn.train_cnn:
Adam steps of 10 % of each junction's half width on a cosine decay, 1-pixel shifts, score scale
40/V); the training runs in the sequential arrangement, which for ideal devices is the parallel
one exactly (every copy programmed to the same target: ``parallel_equals_sequential_max_abs_V``).

The software CNN has the same shape (conv 16x5x5, ReLU, 4x4 max pooling, dense 100, ReLU, dense
10), float64 numpy (im2col + BLAS), Adam (1e-3) on the same cosine decay, the same batches, shifts
and epochs; both epochs are timed in the same run (``cnn_epoch_ratio``, one BLAS thread each).

Device-to-device spread: the trained network's convolution re-made in the parallel arrangement
(one chain per filter and position), each copy's as-fabricated resonances drawn with a relative
spread of 1 % and 5 %, every copy written toward the shared target blind or calibrated (the write
cancels the copy's fabrication offset): ``parallel_spread_{1,5}pct[_calibrated]_accuracy``.

With the event engine's convolution (rfemu.engines.event.conv, when present): its latency and
energy per image in both arrangements and its agreement with the compiled engine on 20 images.

Measured on the shared 2-core machine (60,000 / 10,000 images). 8 epochs (--event-images 0,
34 min): cnn_test_accuracy 99.01 % (training batches per epoch 91.2, 97.1, 97.7, 98.0, 98.3,
98.5, 98.5, 98.6 %), software_cnn_test_accuracy 98.72 %, cnn_epoch_ratio 4.97 (195 s vs 39 s:
the spintronic epochs ran under a load of ~15, the software ones under ~6; the 4-epoch run, both
under the same load, measured 0.92); parallel spread 1 % / 5 %: 37.60 / 19.43 % blind, 99.01 /
98.95 % calibrated. 4 epochs (41 min): 98.72 % vs software 98.04 %, spread 39.28 / 22.28 % blind,
98.72 / 98.67 % calibrated; event engine (20 images): event_vs_compiled_max_rel_diff 5.4e-16,
sequential_latency_s 4.73e-4, parallel_latency_s 2.46e-5, energy per image 1.39e-4 J sequential,
7.7e-6 J parallel.

    RFEMU_DATA=/path/to/datasets python benchmarks/cnn.py [--quick] [--epochs N]

One JSON line at the end. ``--quick``: 3,000 training / 500 test images, 2 epochs;
``--event-images 0`` leaves the event engine out.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from rfemu.devices.oscillator import OscillatorParameters
from rfemu.engines.compiled import blas_threads
from rfemu.engines.conv import SpinCNN, rearranged
from rfemu.learning.backprop import learning_rate_factor, softmax_cross_entropy
from rfemu.learning.cnn import CNNTrainingConfig, cnn_accuracy, shift_images, train_cnn
from rfemu.network import build_graph
from rfemu.network import conv as cv
from rfemu.network.frequency import FrequencyPlan

FILTERS, KERNEL, POOL, HIDDEN = 16, 5, 4, 100
IMAGE = (1, 28, 28)


def spintronic_cnn(arrangement="sequential", seed=0):
    """The benchmark's spintronic CNN, built through the description, the graph and its compilation."""
    conv = cv.ConvDescription(filters=FILTERS, kernel_size=KERNEL, pool_size=POOL, pool="max",
                              arrangement=arrangement, patch_plan=FrequencyPlan("geometric", 20e6, 120e6),
                              oscillator=OscillatorParameters(max_output_power=0.2e-6))
    return SpinCNN.from_graph(build_graph(cv.cnn_description(conv, IMAGE, (HIDDEN,)), seed=seed))


class SoftwareCNN:
    """conv (F filters k x k) -> ReLU -> max pool -> dense hidden -> ReLU -> dense classes, float64."""

    def __init__(self, geometry, filters, pool, hidden, classes, seed=0):
        rng = np.random.default_rng(seed)
        self.g, self.pool = geometry, pool
        n_pooled = filters * (geometry.out_height // pool) * (geometry.out_width // pool)
        t = geometry.patch_size
        self.params = [rng.normal(0, np.sqrt(2 / t), (t, filters)), np.zeros(filters),
                       rng.normal(0, np.sqrt(2 / n_pooled), (n_pooled, hidden)), np.zeros(hidden),
                       rng.normal(0, np.sqrt(1 / hidden), (hidden, classes)), np.zeros(classes)]

    def forward(self, x):
        wc, bc, w1, b1, w2, b2 = self.params
        b = x.shape[0]
        patches = cv.im2col(x, self.g)                                   # (B, P, T)
        a = patches @ wc + bc                                            # (B, P, F)
        maps = np.maximum(a, 0.0).transpose(0, 2, 1).reshape(b, -1, self.g.out_height, self.g.out_width)
        pooled, winner = cv.max_pool(maps, self.pool)
        h = pooled.reshape(b, -1) @ w1 + b1
        hr = np.maximum(h, 0.0)
        return hr @ w2 + b2, (patches, a, maps.shape, winner, pooled, h, hr)

    def backward(self, grad_scores, cache):
        wc, bc, w1, b1, w2, b2 = self.params
        patches, a, shape, winner, pooled, h, hr = cache
        b = grad_scores.shape[0]
        g_w2, g_b2 = hr.T @ grad_scores, grad_scores.sum(axis=0)
        g_h = (grad_scores @ w2.T) * (h > 0)
        g_w1, g_b1 = pooled.reshape(b, -1).T @ g_h, g_h.sum(axis=0)
        g_pooled = (g_h @ w1.T).reshape(pooled.shape)
        g_maps = cv.max_pool_grad(g_pooled, winner, shape, self.pool)
        g_a = g_maps.reshape(b, shape[1], -1).transpose(0, 2, 1) * (a > 0)
        g_wc = patches.reshape(-1, patches.shape[2]).T @ g_a.reshape(-1, g_a.shape[2])
        return [g_wc, g_a.sum(axis=(0, 1)), g_w1, g_b1, g_w2, g_b2]

    def accuracy(self, x, y, batch=1000):
        return float(np.mean(np.concatenate([self.forward(x[i:i + batch])[0].argmax(axis=1)
                                             for i in range(0, len(x), batch)]) == y))


def train_software(net, x, y, config: CNNTrainingConfig, lr=1e-3, log=None):
    """Adam on the software CNN with the spintronic training's batches, shifts and schedule."""
    rng = np.random.default_rng(config.seed)
    m = [np.zeros_like(p) for p in net.params]
    v = [np.zeros_like(p) for p in net.params]
    n_batches = -(-len(x) // config.batch_size)
    total, step, seconds = config.epochs * n_batches, 0, []
    for epoch in range(config.epochs):
        t0, order = time.perf_counter(), rng.permutation(len(x))
        for i in range(n_batches):
            idx = order[i * config.batch_size:(i + 1) * config.batch_size]
            scores, cache = net.forward(shift_images(x[idx], config.shift_augmentation, rng))
            _, g = softmax_cross_entropy(scores, y[idx])
            grads = net.backward(g, cache)
            step += 1
            rate = lr * learning_rate_factor(config.learning_rate_schedule, step - 1, total,
                                             config.final_learning_rate_fraction)
            for p, gp, mp, vp in zip(net.params, grads, m, v):
                mp *= 0.9
                mp += 0.1 * gp
                vp *= 0.999
                vp += 0.001 * gp * gp
                p -= rate * (mp / (1 - 0.9 ** step)) / (np.sqrt(vp / (1 - 0.999 ** step)) + 1e-8)
        seconds.append(time.perf_counter() - t0)
        if log:
            log(f"software epoch {epoch + 1}/{config.epochs} ({seconds[-1]:.0f} s)")
    return seconds


def spread_figures(cnn, x_test, y_test, log):
    """Accuracies of the trained network re-made in the parallel arrangement with spread devices."""
    out = {}
    for spread in (0.01, 0.05):
        for calibrated in (False, True):
            twin = rearranged(cnn, cv.PARALLEL, base_spread=spread, calibrated=calibrated, seed=7)
            key = f"parallel_spread_{round(spread * 100)}pct{'_calibrated' if calibrated else ''}_accuracy"
            out[key] = 100 * cnn_accuracy(twin, x_test, y_test)
            log(f"{key}: {out[key]:.2f} %")
    return out


def event_figures_if_present(cnn, x, log):
    """The event engine's figures of both arrangements (rfemu.engines.event.conv), when it exists."""
    try:
        from rfemu.engines.event.conv import event_figures
    except ImportError:
        log("rfemu.engines.event.conv not present: no event-engine figures")
        return {}
    return dict(event_figures(cnn, x))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3,000 training / 500 test images, 2 epochs")
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default 8; quick 2)")
    ap.add_argument("--data", default=None, help="data directory (default $RFEMU_DATA)")
    ap.add_argument("--event-images", type=int, default=20, help="test images on the event engine (0: none)")
    args = ap.parse_args(argv)
    data = args.data or os.environ.get("RFEMU_DATA")
    if not data:
        ap.error("give --data DIR or set RFEMU_DATA (the directory holding mnist/)")
    from rfemu.tasks import registry
    n_train, n_test = (3000, 500) if args.quick else (None, None)
    task = registry.load("mnist", {"n_train": n_train, "n_test": n_test}, seed=0,
                         path=os.path.join(data, "mnist"))
    x, y = task.x_train.reshape((-1,) + IMAGE), task.y_train
    xt, yt = task.x_test.reshape((-1,) + IMAGE), task.y_test
    epochs = args.epochs or (2 if args.quick else 8)
    config = CNNTrainingConfig(epochs=epochs, batch_size=250, relative_frequency_learning_rate=0.1,
                               bias_learning_rate=1e-5, score_scale=40.0, learning_rate_schedule="cosine",
                               shift_augmentation=1, calibrate_bias=True, seed=0)

    def log(line):
        print(line, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    cnn = spintronic_cnn()
    spin = train_cnn(cnn, x, y, config, log=log)
    figures = {"cnn_test_accuracy": 100 * cnn_accuracy(cnn, xt, yt)}
    log(f"spintronic CNN: {figures['cnn_test_accuracy']:.2f} %")
    software = SoftwareCNN(cnn.conv.geometry, FILTERS, POOL, HIDDEN, 10, seed=0)
    with blas_threads(1):
        soft_seconds = train_software(software, x, y, config, log=log)
        figures["software_cnn_test_accuracy"] = 100 * software.accuracy(xt, yt)
    log(f"software CNN: {figures['software_cnn_test_accuracy']:.2f} %")
    parallel = rearranged(cnn, cv.PARALLEL)
    n_eq = min(200, len(xt))
    figures["parallel_equals_sequential_max_abs_V"] = float(np.abs(
        parallel.forward(xt[:n_eq]).scores - cnn.forward(xt[:n_eq]).scores).max())
    figures.update(spread_figures(cnn, xt, yt, log))
    log("so far: " + json.dumps(figures))
    t_event = time.perf_counter()
    if args.event_images > 0:
        figures.update(event_figures_if_present(cnn, xt[:args.event_images], log))
        figures["event_figures_s"] = time.perf_counter() - t_event
    figures.update({
        "accuracy_gap_points": figures["software_cnn_test_accuracy"] - figures["cnn_test_accuracy"],
        "cnn_epoch_s": float(np.median(spin.epoch_seconds)),
        "software_cnn_epoch_s": float(np.median(soft_seconds)),
        "cnn_epoch_ratio": float(np.median(spin.epoch_seconds) / np.median(soft_seconds)),
        "cnn_train_accuracy_per_epoch": [round(100 * a, 2) for a in spin.train_accuracy],
        "epochs": epochs, "n_train": int(len(y)), "n_test": int(len(yt)),
        "shape": f"conv {FILTERS}x{KERNEL}x{KERNEL} -> max pool {POOL} -> {HIDDEN} -> 10",
        "quick": bool(args.quick), "wall_s": time.perf_counter() - t0,
    })
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
