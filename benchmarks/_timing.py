"""Timing helpers shared by the benchmark scripts (best of repeats; peak memory)."""
import resource
import sys
import time


def best_time(fn, repeats=3, min_time=0.0):
    """Best wall time (s) of ``fn()`` over ``repeats`` runs (each repeated until ``min_time``)."""
    best = float("inf")
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            el = time.perf_counter() - t0
            if el >= min_time:
                break
        best = min(best, el / n)
    return best


def peak_rss_mb():
    """Peak resident memory of this process (MB)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 1024.0 / 1024.0
