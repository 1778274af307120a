"""``rfemu sweep`` (and ``rfemu plot`` of a sweep folder), wired into :mod:`rfemu.cli`.

::

    rfemu sweep SCENARIO [--out DIR] [--workers N] [--dask] [--scheduler tcp://HOST:PORT]
                         [--set KEY=VALUE ...] [-q]

Exit status: 0 when every point ran, 1 when some failed (their errors are in ``sweep.nc`` and
listed at the end), 2 for a bad scenario or a folder that cannot hold the sweep.
"""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["add_sweep_parser", "cmd_sweep", "is_sweep_folder", "redraw_sweep"]


def add_sweep_parser(sub) -> None:
    """Add the ``sweep`` subcommand to the ``rfemu`` parser's subparsers."""
    p = sub.add_parser("sweep", help="run a scenario's sweep: section (axes, repeats) into a "
                                     "sweep folder; started again, it runs only what is missing")
    p.add_argument("scenario", metavar="SCENARIO", help="a scenario YAML file with a sweep: section")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="the sweep folder (default sweeps/NAME); the same folder resumes")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: one per CPU; 0: in this process)")
    p.add_argument("--dask", action="store_true",
                   help="start a local Dask cluster of --workers processes (loopback only)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                   help="send the points to a running Dask distributed scheduler")
    p.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                   help="override a scenario key before the sweep's axes")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")


def cmd_sweep(args) -> int:
    """Run ``rfemu sweep``; returns the exit status."""
    from rfemu.scenario import ScenarioError
    from rfemu.sweep.executor import BackendUnavailable
    from rfemu.sweep.runner import run_sweep
    from rfemu.sweep.store import SweepFolderError
    try:
        result = run_sweep(args.scenario, out=args.out, workers=args.workers,
                           scheduler=args.scheduler, dask=args.dask, overrides=args.overrides,
                           progress=not args.quiet)
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        return 2
    except (SweepFolderError, BackendUnavailable) as exc:
        print(f"rfemu sweep: {exc}", file=sys.stderr)
        return 2
    ds = result.dataset
    n = int(ds["error"].size)
    if not args.quiet:
        print(f"{result.folder}: {n} runs ({result.computed} run now, the others found in the "
              f"folder); sweep.nc and {len(result.figures)} figures")
    if result.failed:
        print(f"{len(result.failed)} of {n} runs FAILED (variable `error` in sweep.nc, "
              f"points/*.json); running the same command again retries them:", file=sys.stderr)
        for key, error in list(result.failed.items())[:10]:
            print(f"  {key}: {error.splitlines()[-1] if error else error}", file=sys.stderr)
        return 1
    return 0


def is_sweep_folder(path) -> bool:
    """Whether ``path`` is a sweep folder (it holds rfemu's ``sweep.json``)."""
    return (Path(path) / "sweep.json").is_file()


def redraw_sweep(path) -> list:
    """``rfemu plot`` of a sweep folder: the figures redrawn from ``sweep.nc``."""
    from rfemu.sweep.figures import redraw
    return redraw(path)
