"""Kernel benchmark (issue 2): oscillators, LLGS junctions and rectification, each against a
vectorised numpy implementation of the same equations timed in the same run (one thread).

Usage: python benchmarks/kernel.py [--quick]
The last line printed is one JSON object with the figures.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import best_time, peak_rss_mb, report  # noqa: E402

import kernel_llgs  # noqa: E402
import kernel_oscillator  # noqa: E402

from rfemu.devices import resonator  # noqa: E402


def rectification(quick: bool) -> dict:
    """Chain matrix of 256 tones x 32,768 junctions (128 chains of 256) on one thread."""
    rng = np.random.default_rng(0)
    T, C, J = 256, (32 if quick else 128), 256
    tf = np.linspace(20e6, 120e6, T)
    tg = np.full(T, 1e5)
    fr = rng.uniform(20e6, 120e6, (C, J))
    sign = (-1.0) ** np.arange(J)
    kw = dict(damping=0.01, n_threads=1)
    t_kernel = best_time(lambda: resonator.chain_matrix(tf, tg, fr, sign, **kw), repeats=5, min_time=0.05)
    t_numpy = best_time(lambda: resonator.chain_matrix(tf, tg, fr, sign, damping=0.01, backend="numpy"),
                        repeats=2 if quick else 3)
    pairs = T * C * J
    return {"rectify_pairs_per_s": pairs / t_kernel, "rectify_speedup_vs_numpy": t_numpy / t_kernel}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for CI")
    args = ap.parse_args(argv)
    figures = {}
    figures.update(kernel_oscillator.run(args.quick))
    figures.update(kernel_llgs.run(args.quick))
    figures.update(rectification(args.quick))
    figures["peak_rss_mb"] = peak_rss_mb()
    return report(figures)


if __name__ == "__main__":
    main()
