"""Hostile scenarios through ``rfemu validate`` and ``rfemu run`` (issue 12, item 5): every input
either validates or gets problem lines ``FILE:LINE: key.path: message`` and exit 2, with no
traceback, within a time budget, writing nothing outside its own folder.

The cases come from benchmarks/fuzz.py (the same generators; that script runs 10,000 of them):
a good scenario with one hostile change, and what the change obliges the command to do ("fail":
the input is wrong; "pass": it means the same as the good one; "either": it may be legal).
Commands run in this process through :func:`rfemu.cli.main`; an audit hook records every file
opened for writing, created, renamed or removed outside the case's folder.
"""
import importlib.util
import json
import math
import random
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rfemu.api  # noqa: F401  (imported here: the first in-process run would pay it in its budget)
from rfemu.cli import main

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("rfemu_fuzz_benchmark", ROOT / "benchmarks" / "fuzz.py")
fuzz = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fuzz              # dataclasses look their module up there
_spec.loader.exec_module(fuzz)

#: seconds one validation may take on a loaded machine (a 20,000-deep list is refused in ~3 s)
BUDGET_S = 10.0
#: the cheap kinds (each case well under a second); deep nesting and alias bombs have their own test
QUICK_KINDS = [k for k in fuzz.KINDS if k not in ("deep", "alias_bomb")]
BASES = [("fast", fuzz.FAST, True)]
#: kinds that change one key or one spot: exactly one problem line
ONE_PROBLEM = {"type", "nonfinite", "unit", "unknown_key", "odd_bytes"}


#: the scenario file of the case last run by _command (its own problems must cite a line)
_CASE_FILE = {"path": None}


def _command(case, folder: Path, command: str, capsys, budget=BUDGET_S):
    """Run ``rfemu COMMAND`` on the case here; (exit status, stdout, stderr, outside writes, s)."""
    path = fuzz.write_case(case, folder)
    _CASE_FILE["path"] = str(path)
    capsys.readouterr()
    writes = fuzz.watch_writes([folder])
    t0 = time.perf_counter()
    try:
        rc = main(fuzz.argv_for(case, path, command, folder))
    except SystemExit as exc:                # argparse: a usage error
        rc = exc.code
    finally:
        fuzz.stop_watching()
    elapsed = time.perf_counter() - t0
    out, err = capsys.readouterr()
    return rc, out, err, writes, elapsed


def _assert_clean(case, rc, out, err, writes, elapsed, budget=BUDGET_S, run_dir=None):
    found = fuzz.judge(case, rc, out, err, budget, writes, run_dir, case_file=_CASE_FILE["path"])
    assert not found, (case.kind, case.note, found)
    assert elapsed < budget, (case.kind, case.note, elapsed)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(rng=st.randoms(use_true_random=False), kind=st.sampled_from(QUICK_KINDS))
def test_a_hostile_change_validates_or_fails_cleanly(rng, kind, tmp_path_factory, capsys):
    case = fuzz.make_case(rng, BASES, kind)
    folder = tmp_path_factory.mktemp("case")
    rc, out, err, writes, elapsed = _command(case, folder, "validate", capsys)
    _assert_clean(case, rc, out, err, writes, elapsed)
    if case.expect == "fail" and kind in ONE_PROBLEM:
        # one wrong thing, one line, citing the line of the scenario where it is
        assert len(err.splitlines()) == 1, (case.note, err)
        assert err.startswith(f"{folder / 'case.yaml'}:"), (case.note, err)
    if case.expect == "fail":
        # rfemu run refuses it the same way, before any work: no run folder appears
        rc2, out2, err2, writes2, elapsed2 = _command(case, folder, "run", capsys)
        _assert_clean(case, rc2, out2, err2, writes2, elapsed2)
        assert rc2 == 2 and err2 == err, (case.note, err, err2)
        assert not (folder / "run").exists()


def _numeric_paths():
    data = yaml.safe_load(fuzz.FAST)
    return [p for p, _ in fuzz._numeric_leaves(data)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(_numeric_paths()),
       value=st.one_of(st.floats(), st.integers(), st.text(max_size=12), st.booleans(), st.none(),
                       st.lists(st.integers(), max_size=3),
                       st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)))
def test_any_value_at_a_numeric_key(path, value, tmp_path_factory, capsys):
    # a value written properly by a YAML library: a bool, a non-finite number, a list or a
    # mapping where a quantity belongs must be refused; anything else may validate
    data = yaml.safe_load(fuzz.FAST)
    fuzz._set(data, path, value)
    wrong = isinstance(value, (bool, list, dict)) or (isinstance(value, float) and not math.isfinite(value))
    case = fuzz.Case("value", "fail" if wrong else "either", fuzz._dump(data), note=f"{path}={value!r}")
    rc, out, err, writes, elapsed = _command(case, tmp_path_factory.mktemp("case"), "validate", capsys)
    _assert_clean(case, rc, out, err, writes, elapsed)


@pytest.mark.parametrize("kind, seed", [("deep", s) for s in range(6)] + [("alias_bomb", s) for s in range(4)])
def test_deep_nesting_and_alias_bombs_are_refused_in_time(kind, seed, tmp_path, capsys):
    case = fuzz.make_case(random.Random(seed), BASES, kind)
    rc, out, err, writes, elapsed = _command(case, tmp_path, "validate", capsys)
    _assert_clean(case, rc, out, err, writes, elapsed)
    assert rc == 2


@pytest.mark.parametrize("value, si", [("1e-6", 1e-6), ("1.0e-6", 1e-6), ("1E-06", 1e-6),
                                       ("0.001 mW", 1e-6), ("1000 nW", 1e-6)])
def test_a_quantity_written_another_way_is_the_same_quantity(value, si, tmp_path):
    # YAML 1.1 reads an unquoted 1e-6 as a string; the README says a plain number is SI
    from rfemu.scenario import load_scenario
    path = tmp_path / "s.yaml"
    path.write_text(fuzz.FAST.replace("max_power: 1 uW", f"max_power: {value}"))
    assert load_scenario(path).network.inputs.max_power == pytest.approx(si, rel=1e-15)


# a handful of extreme but legal inputs run end to end (about two seconds each)
EXTREME_RUNS = [
    ("max_power: 1 uW", "max_power: 1e-6"),                      # YAML 1.1 string, read as SI
    ("seed: 3", "seed: 4294967295"),
    ("bias_voltage: 11 mV", "bias_voltage: 0 mV"),
    ("linewidth: 2 MHz", "linewidth: 0 Hz"),
]


@pytest.mark.parametrize("old, new", EXTREME_RUNS, ids=[n for _, n in EXTREME_RUNS])
def test_an_extreme_legal_input_runs_to_finite_figures_or_fails_cleanly(old, new, tmp_path, capsys):
    case = fuzz.Case("extreme", "either", fuzz.FAST.replace(old, new), note=new)
    rc, out, err, writes, elapsed = _command(case, tmp_path, "validate", capsys)
    _assert_clean(case, rc, out, err, writes, elapsed)
    rc, out, err, writes, elapsed = _command(case, tmp_path, "run", capsys, budget=fuzz.RUN_BUDGET_S)
    _assert_clean(case, rc, out, err, writes, elapsed, budget=fuzz.RUN_BUDGET_S, run_dir=tmp_path / "run")
    if rc == 0:
        metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
        assert 0.0 <= metrics["test_accuracy"] <= 1.0


def test_the_fuzz_benchmark_quick_mode_finds_nothing():
    import subprocess
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "fuzz.py"), "--quick"],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures["cases"] >= 100 and figures["runs"] >= 1
    for key in ("tracebacks", "hangs", "wrong_successes", "outside_writes"):
        assert figures[key] == 0, (key, proc.stderr[-3000:])


# cases the fuzzing found (tracebacks before): each is one FILE:LINE line naming its key
FOUND = [
    ("extends_name_too_long", "extends: " + "a" * 4000 + "\n" + fuzz.FAST, "extends", 1),
    ("data_path_too_long", fuzz.FAST.replace("dataset: xor\n  n_train: 40", "dataset: drone\n  path: "
                                             + "a" * 5000)
     .replace("    - size: 2\ntask", "    - size: 10\ntask"), "task.path", 16),
    ("plan_tuned_to_0_Hz", fuzz.FAST.replace("resonance_plan: {kind: linear, min: 20 MHz",
                                             "resonance_plan: {kind: linear, min: 1e-300 Hz"),
     "network.layers.0.resonance_plan", 10),
    # sizes that ask for more memory than the machine has: refused before allocating
    ("a_billion_chains", fuzz.FAST.replace("    - size: 2\n      resonance", "    - size: 1000000000\n"
                                           "      resonance"), "network.layers.0.size", 9),
    ("ten_billion_samples", fuzz.FAST.replace("n_train: 40", "n_train: 10000000000"), "task.n_train", 16),
    # integrations that would run for hours without a word: refused with a lower bound of their time
    ("noise_for_10_s", fuzz.FAST.replace("  kind: compiled\n", "  kind: event\n  event:\n    noise_duration: 10 s\n")
     + "medium:\n  noise: true\n", "engine.event.noise_duration", 20),
    ("locking_window_10_s", fuzz.FAST.replace("  kind: compiled\n", "  kind: event\n")
     + "medium:\n  injection_locking: true\n  locking_window: 10 s\n", "medium.locking_window", 28),
    # output names the file system cannot create (a traceback from h5py at the end of the run)
    ("trace_file_name_too_long", fuzz.FAST + "  trace_file: " + "a" * 5000 + ".nc\n", "record.trace_file", 26),
    # a delay beyond the event clock's ticks (an OverflowError in clock.to_ticks)
    ("line_delay_beyond_the_clock", fuzz.FAST.replace("  kind: compiled\n", "  kind: event\n")
     + "medium:\n  line_delay: 1e300 s\n", "medium.line_delay", fuzz.FAST.count("\n") + 2),
    # values that validated, then overflowed or drew NaN devices (tracebacks of rfemu run)
    ("oscillator_tmr_1e-300", fuzz.FAST + "devices:\n  oscillator:\n    tmr: 1e-300\n", "devices.oscillator.tmr",
     fuzz.FAST.count("\n") + 3),
    ("variability_damping_1e300", fuzz.FAST + "variability:\n  damping: 1e300\n", "variability.damping",
     fuzz.FAST.count("\n") + 2),
    ("resonator_damping_1e-300_on_the_event_engine", fuzz.FAST.replace("  kind: compiled\n", "  kind: event\n")
     + "devices:\n  resonator:\n    damping: 1e-300\n", "devices.resonator.damping", fuzz.FAST.count("\n") + 3),
    ("figures_dir_path_too_long", fuzz.FAST + "  figures_dir: " + "/".join(["d" * 200] * 6) + "\n",
     "record.figures_dir", 26),
]


@pytest.mark.parametrize("name, text, key, line", FOUND, ids=[f[0] for f in FOUND])
def test_cases_found_by_fuzzing_are_one_line(name, text, key, line, tmp_path, capsys):
    case = fuzz.Case(name, "fail", text, note=name)
    for command in ("validate", "run"):
        rc, out, err, writes, elapsed = _command(case, tmp_path, command, capsys)
        _assert_clean(case, rc, out, err, writes, elapsed)
        assert rc == 2 and len(err.splitlines()) == 1, err
        assert err.startswith(f"{tmp_path / 'case.yaml'}:{line}: {key}: "), err


# bytes that are not a scenario's text: still one FILE:LINE line, at the line where reading failed
_RAW = fuzz.FAST.encode()
_LINE_OF_NETWORK = fuzz.FAST.splitlines().index("network:") + 1
BYTES = [
    ("invalid_utf8", _RAW.replace(b"seed: 3", b"seed: 3 \xff\xfe"), 2, "not UTF-8"),
    ("cut_inside_a_character", _RAW[:_RAW.index(b"network:")] + "é".encode()[:1],
     _LINE_OF_NETWORK, "ends inside a UTF-8 character"),
    ("nul_byte", _RAW.replace(b"seed: 3", b"seed: 3\x00"), 2, "#x0000"),
    ("cut_before_the_network", _RAW[:_RAW.index(b"network:")], _LINE_OF_NETWORK - 1,
     "network: required key is missing (not given by line"),
    ("endless_file", b"\x00" * (5 * 2 ** 20), 1, "beyond"),
]


@pytest.mark.parametrize("name, raw, line, words", BYTES, ids=[b[0] for b in BYTES])
def test_a_file_that_cannot_be_read_as_text_is_cited_at_its_line(name, raw, line, words, tmp_path, capsys):
    case = fuzz.Case(name, "fail", raw, note=name)
    for command in ("validate", "run"):
        rc, out, err, writes, elapsed = _command(case, tmp_path, command, capsys)
        _assert_clean(case, rc, out, err, writes, elapsed)
        first = err.splitlines()[0]
        assert rc == 2 and first.startswith(f"{tmp_path / 'case.yaml'}:{line}: "), err
        assert words in first, err
        assert not (tmp_path / "run").exists()
