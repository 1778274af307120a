"""Benchmark of the oscillator kernel: oscillator-steps/s at N = 10,000 with thermal noise, one thread.

The baseline is the vectorised numpy reference of the same equations
(``rfemu.devices.oscillator.integrate(..., backend="numpy")``), timed in the same run on the same
batch. Each figure is the best of several repeats (wall clock), which filters out the time other
processes take from a shared machine. Run ``python benchmarks/kernel_oscillator.py [--quick]``;
the last line printed is one JSON object. ``benchmarks/kernel.py`` imports :func:`run`.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from rfemu.devices.oscillator import OscillatorParameters, integrate

N_DEVICES = 10_000
DT = 1e-10


def _best_rate(backend, params, current, n_steps, repeats):
    best = float("inf")
    for r in range(repeats):
        start = time.perf_counter()
        integrate(params, current, n_steps * DT, DT, seed=r, n_threads=1, backend=backend)
        best = min(best, time.perf_counter() - start)
    return current.size * n_steps / best


def run(quick: bool = False) -> dict:
    """Measure the kernel and the numpy baseline; return the figures.

    Returns
    -------
    dict
        ``osc_steps_per_s`` (kernel, one thread), ``osc_speedup_vs_numpy`` (kernel / numpy rate),
        and ``osc_numpy_steps_per_s``.
    """
    params = OscillatorParameters()                    # 300 MHz, T = 300 K: noise on
    rng = np.random.default_rng(0)
    current = rng.uniform(5e-6, 40e-6, N_DEVICES)     # below and above threshold
    kernel_steps, numpy_steps, repeats = (300, 30, 3) if quick else (3000, 200, 5)
    _best_rate("kernel", params, current, 10, 1)      # warm-up (import, first touch)
    kernel = _best_rate("kernel", params, current, kernel_steps, repeats)
    baseline = _best_rate("numpy", params, current, numpy_steps, repeats)
    return {"osc_steps_per_s": kernel, "osc_speedup_vs_numpy": kernel / baseline,
            "osc_numpy_steps_per_s": baseline}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short timings (a few seconds)")
    args = parser.parse_args(argv)
    print(json.dumps(run(quick=args.quick)))


if __name__ == "__main__":
    main()
