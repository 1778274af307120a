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


def report(figures):
    """Print the figures, one per line on stderr, then as the one JSON line that ends the output."""
    import json
    for k, v in figures.items():
        shown = f"{v:.4g}" if isinstance(v, float) else v
        print(f"  {k:32s} {shown}", file=sys.stderr)
    print(json.dumps(figures))
    return figures


def main_guarded(main, script):
    """Run a benchmark's ``main``; a missing or malformed data file is one message and exit 2."""
    from rfemu.tasks import DataError
    try:
        main()
    except DataError as e:
        print(f"{script}: {e}", file=sys.stderr)
        sys.exit(2)
