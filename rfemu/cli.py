"""The ``rfemu`` command: a thin layer over :mod:`rfemu.api`.

::

    rfemu run SCENARIO [--out DIR [--overwrite]] [--engine event|compiled] [--seed N] [--set KEY=VALUE ...]
              [--checkpoint-every SECONDS] [-q]
    rfemu run --resume DIR [SCENARIO] [--checkpoint-every SECONDS] [-q]
    rfemu validate SCENARIO...
    rfemu plot RUN_DIR|SWEEP_DIR
    rfemu sweep SCENARIO [--out DIR] [--workers N] [--dask] [--scheduler tcp://HOST:PORT]
    rfemu info
    rfemu data fetch [drone|mnist|all] [--to DIR]
    rfemu data list

A bad scenario prints one line per problem (``FILE:LINE: key.path: message``) and exits with
status 2, without a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rfemu",
        description="Emulate spintronic RF neural networks from scenario files.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser(
        "run", help="run a scenario and write a run folder",
        description="Run a scenario and write its run folder. A long run (offline and in-situ "
                    "training epochs, on-chip learning windows; the finished training before the "
                    "event engine's test run) saves a checkpoint into its run folder (the --out "
                    "folder; without --out the folder it prints) every record.checkpoint_interval "
                    "(default 60 s) or --checkpoint-every SECONDS. If the run is killed, that "
                    "folder holds the checkpoint; `rfemu run --resume DIR` with the same DIR goes "
                    "on from it (the scenario file and --set overrides recorded in it) and ends "
                    "with the run folder the run left alone would have written.")
    run.add_argument("scenario", metavar="SCENARIO", nargs="?", default=None,
                     help="a scenario YAML file (with --resume: optional, must be the checkpoint's)")
    run.add_argument("--out", metavar="DIR", default=None,
                     help="the run folder (default runs/NAME-YYYYmmdd-HHMMSS); an earlier run "
                          "folder is replaced, a folder rfemu did not write is refused")
    run.add_argument("--overwrite", action="store_true",
                     help="write the run's files into an existing folder rfemu did not write "
                          "(files of the same names are replaced, nothing else is touched)")
    run.add_argument("--engine", choices=("event", "compiled"), default=None,
                     help="override engine.kind")
    run.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    run.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                     help="override a key, e.g. --set network.layers.0.size=64 (VALUE is YAML)")
    run.add_argument("--checkpoint-every", dest="checkpoint_every", metavar="SECONDS", type=float,
                     default=None, help="wall time between checkpoints (overrides "
                     "record.checkpoint_interval; 0: after every epoch or window)")
    run.add_argument("--no-checkpoints", dest="no_checkpoints", action="store_true",
                     help="save no checkpoint")
    run.add_argument("--resume", metavar="DIR", default=None,
                     help="go on with the interrupted run whose --out folder was DIR, from its "
                          "checkpoint (a checkpoint of another scenario, changed or damaged is refused)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bars or summary")

    validate = sub.add_parser("validate", help="check scenario files; print ok or the problems")
    validate.add_argument("scenarios", metavar="SCENARIO", nargs="+")
    validate.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append",
                          default=[], help="override a key before validating")

    plot = sub.add_parser("plot", help="(re)draw the figures of a finished run folder")
    plot.add_argument("run_dir", metavar="RUN_DIR")

    sub.add_parser("info", help="versions, kernel build, device models, data sets found")
    from rfemu.sweep.cli import add_sweep_parser
    add_sweep_parser(sub)

    data = sub.add_parser("data", help="the data sets: list them, download them")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    data_sub.required = True
    fetch = data_sub.add_parser("fetch", help="download a data set (checksums pinned) into "
                                              "$RFEMU_DATA or the per-user cache")
    fetch.add_argument("names", metavar="NAME", nargs="*", default=["all"],
                       help="drone, mnist or all (default all)")
    fetch.add_argument("--to", metavar="DIR", default=None,
                       help="the data root to fill (default $RFEMU_DATA, else the per-user cache)")
    fetch.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    data_sub.add_parser("list", help="every data set: present or not, source, licence")
    return parser


def _print_problems(exc) -> None:
    for problem in exc.problems:
        print(problem.format(), file=sys.stderr)


def _load_checked(path, overrides):
    """The validated scenario; with a ``sweep:`` section every axis value is checked against its
    key too (ScenarioError, FILE:LINE), so a bad sweep fails before any work."""
    from rfemu.scenario import load_scenario
    from rfemu.sweep.plan import load_plan
    scenario = load_scenario(path, overrides=overrides)
    if scenario.sweep is not None:
        load_plan(path, overrides=overrides)
    return scenario


def _cmd_validate(args) -> int:
    from rfemu.scenario import ScenarioError
    status = EXIT_OK
    for path in args.scenarios:
        try:
            _load_checked(path, args.overrides)
        except ScenarioError as exc:
            _print_problems(exc)
            status = EXIT_BAD_INPUT
        else:
            print(f"{path}: ok")
    return status


def _checkpoint_interval(args):
    """The --checkpoint-every / --no-checkpoints choice for :func:`rfemu.api.run` (None: none)."""
    from rfemu.api import _SCENARIO_INTERVAL
    if args.no_checkpoints:
        return None
    if args.checkpoint_every is None:
        return _SCENARIO_INTERVAL
    import math
    if not (math.isfinite(args.checkpoint_every) and args.checkpoint_every >= 0):
        raise ValueError(f"--checkpoint-every {args.checkpoint_every!r}: expected seconds >= 0")
    return args.checkpoint_every


def _cmd_resume(args) -> int:
    """``rfemu run --resume DIR``: the interrupted run goes on from its checkpoint."""
    from rfemu.api import resume_run
    from rfemu.checkpoint import CheckpointError
    from rfemu.devices.limits import Divergence
    from rfemu.results import RunFolderError
    from rfemu.scenario import ScenarioError
    given = [flag for flag, value in (("--set", args.overrides), ("--seed", args.seed),
                                      ("--engine", args.engine), ("--out", args.out),
                                      ("--overwrite", args.overwrite)) if value]
    if given:
        print(f"rfemu run --resume: {', '.join(given)} cannot be combined with --resume (the run goes "
              "on with the scenario, overrides and folder recorded in its checkpoint)", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        result = resume_run(args.resume, scenario=args.scenario, progress=not args.quiet,
                            checkpoint_interval=_checkpoint_interval(args))
    except _Terminated:
        return _terminated_run(args.resume)
    except ScenarioError as exc:
        _print_problems(exc)
        return EXIT_BAD_INPUT
    except (CheckpointError, RunFolderError, ValueError) as exc:
        print(f"{args.resume}: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Divergence as exc:    # the resumed training or simulation left its model (rfemu.devices.limits)
        print(f"{args.resume}: (run): {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return _report(result, args.quiet)


def _report(result, quiet: bool) -> int:
    """The finished run: its summary (or only its folder with --quiet); exit 0."""
    from rfemu.results import print_summary
    if quiet:
        print(result.run_dir)
    else:
        print_summary(result)
    return EXIT_OK


def _cmd_run(args) -> int:
    from rfemu.scenario import ScenarioError
    if args.resume is not None:
        return _cmd_resume(args)
    if args.scenario is None:
        print("rfemu run: a SCENARIO file is needed (or --resume DIR)", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        interval = _checkpoint_interval(args)
    except ValueError as exc:
        print(f"rfemu run: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.engine is not None:
        overrides.append(f"engine.kind={args.engine}")
    try:
        scenario = _load_checked(args.scenario, overrides)
    except ScenarioError as exc:
        _print_problems(exc)
        return EXIT_BAD_INPUT
    from pathlib import Path

    from rfemu.api import run
    from rfemu.checkpoint import CHECKPOINT_FILE, CheckpointError
    from rfemu.devices.limits import Divergence
    from rfemu.results import RunFolderError, check_destination, default_run_dir
    out = args.out
    try:
        if args.out is not None:       # before the work, not after it
            check_destination(args.out, args.overwrite)
        out = args.out if args.out is not None else default_run_dir(scenario.name)
        if not args.quiet and (Path(out) / CHECKPOINT_FILE).is_file():
            print(f"rfemu run: {out} holds the checkpoint of an interrupted run; this run starts "
                  f"afresh and replaces it (`rfemu run --resume {out}` would go on with it)", file=sys.stderr)
        result = run(scenario, out=out, progress=not args.quiet, overwrite=args.overwrite,
                     overrides=overrides, checkpoint_interval=interval)
    except _Terminated:
        return _terminated_run(out)
    except ScenarioError as exc:  # problems found while building (data files, ...)
        _print_problems(exc)
        return EXIT_BAD_INPUT
    except (RunFolderError, CheckpointError) as exc:
        print(f"{args.out if args.out is not None else 'rfemu run'}: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Divergence as exc:    # a simulation that left its model mid-run (rfemu.devices.limits)
        print(f"{args.scenario}: (run): {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ValueError, ArithmeticError) as exc:   # a model refused a state no check foresaw
        return _refused_mid_run(args.scenario, exc)
    return _report(result, args.quiet)


#: set to see the traceback of a run that a device model stopped (rfemu run's one line otherwise)
TRACEBACK_ENV = "RFEMU_TRACEBACK"


def _refused_mid_run(scenario, exc) -> int:
    """One line for a value or arithmetic error out of a run (values the checks let through that a
    model refuses, e.g. input tones of 1e300 W giving NaN times): exit 2; the traceback with
    ``$RFEMU_TRACEBACK=1``."""
    import os
    if os.environ.get(TRACEBACK_ENV, "") not in ("", "0"):
        raise exc
    print(f"{scenario}: (run): a device model refused the run's state: {type(exc).__name__}: "
          f"{one_line(exc)} (expected values within the models' reach; {TRACEBACK_ENV}=1 shows "
          "where)", file=sys.stderr)
    return EXIT_BAD_INPUT


def _cmd_sweep(args) -> int:
    from rfemu.sweep.cli import cmd_sweep
    return cmd_sweep(args)


def one_line(message) -> str:
    """``message`` (an exception's text) as one line: its lines joined by '; ', without the
    blank ones and the caret lines a parser draws under its context."""
    lines = [line.strip() for line in str(message).splitlines()]
    return "; ".join(line for line in lines if line and set(line) != {"^"})


def _cmd_plot(args) -> int:
    from rfemu.results import RunFolderError, redraw_figures
    from rfemu.sweep.cli import is_sweep_folder, redraw_sweep
    try:
        paths = redraw_sweep(args.run_dir) if is_sweep_folder(args.run_dir) else \
            redraw_figures(args.run_dir)
    except RunFolderError as exc:
        print(f"{args.run_dir}: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for p in paths:
        print(p)
    return EXIT_OK


def info_text() -> str:
    """What ``rfemu info`` prints: version, kernel build, device models, data sets found."""
    import importlib

    from rfemu._version import __version__
    lines = [f"rfemu {__version__}",
             f"python {sys.version.split()[0]} ({sys.executable})"]
    try:
        from rfemu import _core
        build = _core.build_info()
        lines.append(f"kernel: rfemu._core built with {build['compiler']}, "
                     f"OpenMP {'on' if build['openmp'] else 'off'}, "
                     f"max_threads {build['max_threads']}")
    except Exception as exc:  # a missing or broken build is information, not a crash
        lines.append(f"kernel: NOT AVAILABLE ({type(exc).__name__}: {exc}); build it with "
                     "`python setup.py build_ext --inplace`")
    lines.append("device models:")
    for module, what, cls in (
            ("rfemu.devices.oscillator", "spin-torque oscillator (neuron)", "OscillatorParameters"),
            ("rfemu.devices.resonator", "spin-diode resonator (synapse) + frequency state",
             "ResonatorParameters"),
            ("rfemu.devices.llgs", "macrospin LLGS (reference device)", "MacrospinParameters")):
        try:
            mod = importlib.import_module(module)
            ok = hasattr(mod, cls)
            lines.append(f"  {module:28s} {what}{'' if ok else ' (incomplete)'}")
        except Exception as exc:
            lines.append(f"  {module:28s} missing ({type(exc).__name__})")
    lines.append("engines:")
    for module, what in (("rfemu.engines.compiled", "compiled (arrays, data-set scale)"),
                         ("rfemu.engines.event", "event (simpy agents, physical time)")):
        try:
            importlib.import_module(module)
            lines.append(f"  {module:28s} {what}")
        except Exception as exc:
            lines.append(f"  {module:28s} not available ({type(exc).__name__})")
    lines.extend(data_lines())
    return "\n".join(lines)


def data_lines() -> list:
    """The data sets: where the data root is, and each one present or not (``rfemu data list``)."""
    from rfemu.tasks import DATA_ENV, DATASETS, data_root, default_path, missing_files
    origin = f"${DATA_ENV}" if os.environ.get(DATA_ENV) else f"per-user cache; ${DATA_ENV} unset"
    lines = [f"data sets (root {data_root()}, {origin}):"]
    for name, d in DATASETS.items():
        if not d.needs_files:
            lines.append(f"  {name:8s} built in: {d.source}")
            continue
        missing = missing_files(d)
        state = "found" if not missing else f"MISSING (run `{d.fetch_command}`)"
        lines.append(f"  {name:8s} {state}: {default_path(d)} [{d.licence}]")
    return lines


def _cmd_info(args) -> int:
    print(info_text())
    return EXIT_OK


def _cmd_data(args) -> int:
    if args.data_command == "list":
        print("\n".join(data_lines()))
        return EXIT_OK
    from rfemu.tasks import DATASETS, DataError, fetch
    downloadable = [n for n, d in DATASETS.items() if d.needs_files]
    names = downloadable if "all" in args.names else args.names
    unknown = [n for n in names if n not in downloadable]
    if unknown:
        print(f"rfemu data fetch: no downloadable data set {', '.join(unknown)} (expected "
              f"{', '.join(downloadable)} or all)", file=sys.stderr)
        return EXIT_BAD_INPUT
    for name in names:
        try:
            paths = fetch(name, root=args.to, progress=not args.quiet)
        except DataError as exc:
            print(f"rfemu data fetch {name}: {one_line(exc)}", file=sys.stderr)
            return EXIT_FAILED
        print(f"{name}: {paths[0].parent}")
    return EXIT_OK


def main(argv=None) -> int:
    """Entry point of the ``rfemu`` console script; returns the exit status."""
    import signal
    parser = _parser()
    args = parser.parse_args(argv)
    handler = {"run": _cmd_run, "validate": _cmd_validate, "plot": _cmd_plot,
               "info": _cmd_info, "data": _cmd_data,
               "sweep": _cmd_sweep}[args.command]
    import threading
    own_sigterm = threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    if own_sigterm:
        signal.signal(signal.SIGTERM, _terminated)
    import warnings

    from rfemu.devices.limits import show_validity_warnings
    shown = warnings.showwarning
    warnings.showwarning = show_validity_warnings(shown)    # FILE:LINE or --set KEY=VALUE, no ':0'
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        print("terminated (SIGTERM); nothing half-written was left", file=sys.stderr)
        return 143
    finally:
        warnings.showwarning = shown
        if own_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _terminated_run(out) -> int:
    """SIGTERM during a run: say so, and how to go on when a checkpoint was saved."""
    from pathlib import Path

    from rfemu.checkpoint import CHECKPOINT_FILE
    if out is not None and (Path(out) / CHECKPOINT_FILE).is_file():
        print(f"terminated (SIGTERM); nothing half-written was left; its checkpoint is kept: go on "
              f"with `rfemu run --resume {out}`", file=sys.stderr)
    else:
        print("terminated (SIGTERM); nothing half-written was left", file=sys.stderr)
    return 143


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that temporary files are removed on the way out."""


def _terminated(signum, frame):
    raise _Terminated()


if __name__ == "__main__":
    sys.exit(main())
