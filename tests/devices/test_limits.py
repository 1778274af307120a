"""Limits of the device models: the values that made runs diverge, overflow or hang are refused
before the run, with one line naming the device, the cause and what is expected (exit 2)."""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rfemu.devices import limits
from rfemu.devices import oscillator as osc

K_B = osc.BOLTZMANN_CONSTANT
QUICKSTART = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml"


def test_the_thermal_noise_bound_is_k_b_t_over_e0_equal_to_one():
    t = 300.0
    assert limits.thermal_noise_problem(t, K_B * t / 0.99) is None
    message = limits.thermal_noise_problem(t, K_B * t / 1.01)
    assert "k_B T / E0 = 1.01" in message and f"oscillation_energy >= {K_B * t:.3g} J" in message
    assert limits.thermal_noise_problem(0.0, 1e-40) is None          # no noise at 0 K


def test_the_oscillator_stays_finite_up_to_the_bound():
    """At eta = k_B T / E0 = 1 (the largest accepted) the stochastic integration stays finite."""
    params = osc.OscillatorParameters(temperature=300.0, oscillation_energy=K_B * 300.0)
    assert float(params.noise_ratio) == pytest.approx(1.0)
    traj = osc.integrate(params, 25e-6, 2e-7, 1e-11, seed=0)
    assert np.all(np.isfinite(traj.amplitude))


def test_the_johnson_noise_bound_is_one_volt_across_the_junction():
    r, b = 1e3, 1e6
    t_max = 1.0 / (4 * K_B * r * b)                       # sqrt(4 k T R B) = 1 V
    assert limits.johnson_noise_problem(0.999 * t_max, r, b) is None
    message = limits.johnson_noise_problem(1.001 * t_max, r, b)
    assert f"below {t_max:.3g} K" in message and "1 V" in message


def test_a_reciprocal_that_overflows_is_caught_at_the_edge_of_the_floats():
    tiny = 1.0 / sys.float_info.max
    assert limits.reciprocal_problem(1.01 * tiny, "x", "y") is None and math.isfinite(1 / (1.01 * tiny))
    assert limits.reciprocal_problem(1e-320, "x", "y") is not None
    assert limits.reciprocal_problem(0.1, "x", "y") is None


@pytest.mark.parametrize("override, key, words", [
    ("devices.oscillator.oscillation_energy=1e-40", "devices.oscillator.oscillation_energy",
     ["thermal noise", "4.14e+19"]),
    ("devices.oscillator.temperature=1e30", "devices.oscillator.temperature", ["thermal noise"]),
    ("medium.temperature=1e300", "medium.temperature", ["Johnson noise", "2.35e+143 V"]),
    ("medium.amplifier_efficiency=1e-320", "medium.amplifier_efficiency", ["overflows"]),
])
def test_the_measured_runaway_cases_are_one_line_and_exit_2(tmp_path, override, key, words):
    proc = subprocess.run([sys.executable, "-m", "rfemu.cli", "run", str(QUICKSTART), "--engine", "event",
                           "--set", "medium.noise=true", "--set", override, "--out", str(tmp_path / "run"), "-q"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"--set {override}: {key}: ")
    assert all(w in lines[0] for w in words) and "expected" in lines[0]
    assert not (tmp_path / "run").exists()


# -- memory guard ---------------------------------------------------------------------------

def test_the_memory_limit_is_the_environment_variable_in_any_unit(monkeypatch):
    for text, expected in [("64 GB", 64e9), ("8GiB", 8 * 2 ** 30), ("1.5e9", 1.5e9), ("512 MiB", 2 ** 29)]:
        monkeypatch.setenv(limits.MEMORY_ENV, text)
        assert limits.memory_limit() == (pytest.approx(expected), f"${limits.MEMORY_ENV}")
    monkeypatch.setenv(limits.MEMORY_ENV, "none")
    assert limits.memory_limit()[0] is None and limits.memory_problem(1e30, "x") is None
    for bad in ("lots", "-1 GB", "0", "5 parsecs"):
        monkeypatch.setenv(limits.MEMORY_ENV, bad)
        with pytest.raises(ValueError, match=limits.MEMORY_ENV):
            limits.memory_limit()


def test_without_the_variable_the_limit_is_the_memory_available_now(monkeypatch):
    monkeypatch.delenv(limits.MEMORY_ENV, raising=False)
    with open("/proc/meminfo") as f:
        available = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    limit, source = limits.memory_limit()
    assert source == "the machine's available memory"
    assert limit == pytest.approx(available, rel=0.3)      # other processes allocate meanwhile


def test_the_junction_estimate_matches_the_memory_a_network_takes():
    """JUNCTION_BYTES against the resident memory build_graph + compile_graph take (measured
    in a fresh process: 2 x 4,000 + 4,000 x 2 = 16,000 junctions)."""
    code = ("import numpy\nfrom rfemu.network import build_graph, spin_mlp\n"
            "from rfemu.network.compile import compile_graph\n"
            "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * 4096\n"
            "r0 = rss(); G = build_graph(spin_mlp((2, 4000, 2)), seed=0); c = compile_graph(G)\n"
            "print((rss() - r0) / 16000)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    measured = float(proc.stdout.strip().splitlines()[-1])
    assert 0.5 * limits.JUNCTION_BYTES < measured < 1.5 * limits.JUNCTION_BYTES, measured


def test_a_run_over_the_limit_is_refused_and_raising_the_limit_lets_it_through(monkeypatch, tmp_path):
    from rfemu.scenario import ScenarioError, load_scenario
    monkeypatch.setenv(limits.MEMORY_ENV, "100 MB")      # below the interpreter's own ~200 MB
    with pytest.raises(ScenarioError) as info:
        load_scenario(QUICKSTART)
    (problem,) = info.value.problems
    assert "100 MB" in problem.message and limits.MEMORY_ENV in problem.message
    monkeypatch.setenv(limits.MEMORY_ENV, "1 GB")
    assert load_scenario(QUICKSTART).network.layers[0].size == 16


# -- validity: the square-law spin diode ----------------------------------------------------

def test_a_macrospin_junction_never_rectifies_more_than_the_square_law_bound():
    """The bound behind square_law_power: |V_dc| <= TMR R I_rf / pi for the full LLGS junction
    at resonance, while its own square law K P (small-signal K) crosses it at strong drive."""
    from rfemu.devices import llgs
    p = llgs.MacrospinParameters(temperature=0.0)
    field = (2e4, 0.0, 0.0)
    f = llgs.kittel_frequency(2e4, p.anisotropy_field, p.effective_magnetisation)
    r, tmr = p.resistance_parallel, p.resistance_antiparallel / p.resistance_parallel - 1
    k = abs(float(llgs.spin_diode_response(p, f, field)))
    crossed = False
    for i_rf in (1e-4, 1e-3, 1e-2):
        v = abs(float(llgs.rectified_voltage(p, f, i_rf, 10e-9, 1e-13, settle_time=5e-9, applied_field=field)[0]))
        power = i_rf ** 2 * r / 2
        assert v <= tmr * r * i_rf / math.pi
        crossed |= k * power > tmr * r * i_rf / math.pi
        assert (power > limits.square_law_power(k, r, tmr)) == (k * power > tmr * r * i_rf / math.pi)
    assert crossed


def test_the_square_law_bound_of_values_beyond_the_floats_is_no_exception():
    """sensitivity 1e-300 or TMR 1e300 raised ZeroDivisionError / OverflowError while validating."""
    assert limits.square_law_power(1e-300, 1e3, 1.0) == math.inf
    assert limits.square_law_power(8.8e3, 1e3, 1e300) == math.inf
    assert limits.square_law_problem(1e-6, 1e-300, 1e3, 1.0) is None
    assert limits.square_law_problem(1e-6, 1e300, 1e3, 1e300) is None       # inf / inf: no claim


def test_tones_beyond_the_square_law_warn_once_naming_the_junctions(tmp_path):
    import warnings
    from rfemu.scenario import load_scenario
    text = QUICKSTART.read_text()
    assert "max_power: 1 uW" in text
    path = tmp_path / "loud.yaml"
    path.write_text(text.replace("max_power: 1 uW", "max_power: 10 uW"))
    line = text.splitlines().index(next(t for t in text.splitlines() if "max_power: 1 uW" in t)) + 1
    limits._WARNED.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_scenario(QUICKSTART)                       # 1 uW: inside the model (2.6 uW)
        assert not [w for w in caught if w.category is limits.ModelValidityWarning]
        for _ in range(3):
            load_scenario(path)
    (w,) = [w for w in caught if w.category is limits.ModelValidityWarning]
    assert (w.filename, w.lineno) == (str(path), line)
    assert "the junctions of layer 0" in str(w.message) and "square-law" in str(w.message)
    assert str(w.message).startswith("network.inputs.max_power: ")


# -- time budget ----------------------------------------------------------------------------

def _event_scenario(tmp_path, *overrides):
    from rfemu.scenario import load_scenario
    path = tmp_path / "s.yaml"
    path.write_text(QUICKSTART.read_text())
    return load_scenario(path, ["engine.kind=event", "training.epochs=1", *overrides])


def test_the_time_estimate_is_a_lower_bound_of_a_noisy_event_run(tmp_path):
    import time
    from rfemu.api import run
    from rfemu.scenario.checks import _time_parts
    s = _event_scenario(tmp_path, "medium.noise=true", "engine.event.noise_duration=0.2 ms",
                        "engine.event.samples=2", "network.layers.0.size=2")
    estimate = sum(p[0] for p in _time_parts(s))
    cpu = time.process_time()
    run(s, out=tmp_path / "run", progress=False)
    cpu = time.process_time() - cpu
    assert cpu / 1000 < estimate < cpu


@pytest.mark.parametrize("override, key", [("engine.event.noise_duration=10 s", "engine.event.noise_duration"),
                                           ("medium.locking_window=10 s", "medium.locking_window")])
def test_a_run_of_hours_is_refused_before_it_starts_unless_the_budget_is_raised(tmp_path, monkeypatch,
                                                                                override, key):
    from rfemu.scenario import ScenarioError
    monkeypatch.delenv(limits.TIME_ENV, raising=False)
    noise = ["medium.noise=true"] if "noise" in key else ["medium.injection_locking=true"]
    with pytest.raises(ScenarioError) as info:
        _event_scenario(tmp_path, *noise, override)
    (problem,) = info.value.problems
    assert problem.path == key and "at least" in problem.message and limits.TIME_ENV in problem.message
    monkeypatch.setenv(limits.TIME_ENV, "none")
    _event_scenario(tmp_path, *noise, override)
