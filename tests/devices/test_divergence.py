"""Mid-run divergence (issue 12, item 4; docs/physics.md#model-limits): a state that leaves the
model's domain stops the run with one line naming the device, the simulated time and the likely
cause, with the largest stable step; that step, used, does not diverge."""
import re

import numpy as np
import pytest

from rfemu.devices import limits, llgs
from rfemu.devices import oscillator as osc


def _heun_growth(z):
    return abs(1 + z + z * z / 2)


@pytest.mark.parametrize("decay, rotation", [(1.0, 0.0), (0.01, 1.0), (0.3, 1.0), (2e8, 5e7)])
def test_the_heun_boundary_is_where_one_step_stops_damping(decay, rotation):
    h = float(limits.heun_stability_boundary(decay, rotation))
    w = complex(-decay, rotation)
    assert _heun_growth(h * w) == pytest.approx(1.0, abs=1e-9)
    assert _heun_growth(0.99 * h * w) < 1.0 < _heun_growth(1.01 * h * w)
    assert limits.heun_stable_step(decay, rotation) == pytest.approx(limits.STABLE_STEP_FRACTION * h)


def test_the_heun_boundary_has_its_known_limits():
    assert float(limits.heun_stability_boundary(5.0, 0.0)) == pytest.approx(2 / 5.0)   # real axis: 2 / a
    for a in (1e-4, 1e-3):                   # weak damping: h ~ 2 (a / b)^(1/3) / b
        assert float(limits.heun_stability_boundary(a, 1.0)) == pytest.approx(2 * a ** (1 / 3), rel=0.05)


# -- macrospin --------------------------------------------------------------------------------

MACROSPIN = llgs.MacrospinParameters(temperature=0.0)
FIELD = (2e4, 0.0, 0.0)
M0 = (1.0, 0.3, 0.0)
DURATION = 20e-9


def test_a_macrospin_step_too_large_for_its_precession_is_stopped_naming_a_stable_step():
    dt = 3e-11
    # it really diverges: an undriven magnet at 0 K ends with MORE energy than it started with
    tab = llgs.parameter_table(MACROSPIN, applied_field=FIELD)
    m0 = np.array([M0]) / np.linalg.norm(M0)
    m_bad = llgs.integrate_numpy(tab, m0, dt, int(DURATION / dt), 0, 0, np.random.default_rng(0))[0][0]
    energy = lambda m: llgs.magnetic_energy(m, MACROSPIN, FIELD)     # noqa: E731
    assert energy(m_bad) > energy(m0[0])
    with pytest.raises(limits.Divergence) as info:
        llgs.integrate(MACROSPIN, DURATION, dt, applied_field=FIELD, initial_m=M0, trace_every=10)
    exc = info.value
    line = str(exc)
    assert "\n" not in line and line.startswith("macrospin junction 0 diverged at t = ")
    assert 0 < exc.time <= DURATION and f"{exc.time:.4g} s" in line
    assert "largest stable time step" in line and f"{exc.stable_step:.3g} s" in line
    assert exc.stable_step < dt
    # the step it names integrates to the converged trajectory, and the energy goes down
    fine = llgs.integrate(MACROSPIN, DURATION, 1e-14, applied_field=FIELD, initial_m=M0).m[0]
    good = llgs.integrate(MACROSPIN, DURATION, exc.stable_step, applied_field=FIELD, initial_m=M0).m[0]
    assert np.linalg.norm(good - fine) < 1e-6 and energy(good) < energy(m0[0])


def test_a_macrospin_run_at_the_usual_step_is_not_stopped():
    """Driven, warm, the default 0.1 ps step: nothing to report (no false alarm)."""
    p = llgs.MacrospinParameters(temperature=300.0)
    r = llgs.integrate(p, 5e-9, 1e-13, applied_field=FIELD, dc_current=2e-3, rf_current=1e-3,
                       rf_frequency=6e9, initial_m=M0, seed=3, trace_every=100)
    assert np.all(np.isfinite(r.m))


# -- oscillator -------------------------------------------------------------------------------

OSCILLATOR = osc.OscillatorParameters(temperature=0.0)
CURRENT = 2 * OSCILLATOR.threshold_current            # xi = 2: p0 = (2 - 1) / (2 + Q) = 0.25


def test_an_oscillator_step_too_large_for_its_relaxation_is_stopped_naming_a_stable_step():
    dt, n = 1e-7, 2000
    with pytest.raises(limits.Divergence) as info:
        osc.integrate(OSCILLATOR, CURRENT, n * dt, dt, initial_state=0.9 + 0j, trace_every=5)
    exc = info.value
    line = str(exc)
    assert "\n" not in line and line.startswith("oscillator 0 diverged at t = ")
    assert "not finite" in line and "physical bound p <= 1" in line
    assert 0 < exc.time <= n * dt and f"{exc.time:.4g} s" in line
    assert f"{exc.stable_step:.3g} s" in line and exc.stable_step < dt
    good = osc.integrate(OSCILLATOR, CURRENT, n * dt, exc.stable_step, initial_state=0.9 + 0j)
    p0 = (2 - 1) / (2 + OSCILLATOR.nonlinear_damping)
    assert abs(good.amplitude[0]) ** 2 == pytest.approx(p0, abs=1e-9)


def test_the_oscillator_runaway_bound_is_far_beyond_what_noise_reaches():
    """At the largest accepted noise (k_B T / E0 = 1) a long noisy run stays far below the
    runaway bound: p's stationary tail falls off as exp(-p / eta)."""
    p = osc.OscillatorParameters(temperature=300.0, oscillation_energy=osc.BOLTZMANN_CONSTANT * 300.0)
    traj = osc.integrate(p, np.full(64, CURRENT), 20e-6, 2e-10, seed=5, trace_every=50)
    assert np.max(traj.power) < limits.RUNAWAY_POWER / 5


# -- event engine -----------------------------------------------------------------------------

def test_a_neuron_blowing_up_in_the_event_engine_names_itself_and_a_stable_fraction():
    from rfemu.engines.event import EventConfig, EventEngine
    from rfemu.network import build_graph, spin_mlp
    graph = build_graph(spin_mlp((2, 4, 2)), seed=0)

    def engine(fraction):
        config = EventConfig(noise=True, noise_step_fraction=20.0, noise_integration_fraction=fraction)
        e = EventEngine(graph, config=config, seed=1)
        return e.infer(np.array([0.3, 0.8]))

    with pytest.raises(limits.Divergence) as info:
        engine(50.0)
    line = str(info.value)
    assert "\n" not in line
    assert re.match(r"the oscillator neuron of layer 0, chain \d+ diverged at t = \S+ s: ", line)
    assert info.value.time > 0
    stable = float(re.search(r"noise_integration_fraction <= ([0-9.e+-]+)\)", line).group(1))
    assert 0.02 * 10 < stable < 50.0          # the default step is an order of magnitude inside it
    result = engine(stable)
    assert np.all(np.isfinite(result.outputs))


def test_a_divergence_in_rfemu_run_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    """Through the command: one line (scenario, the device, the time), exit 2, no run folder."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        import fuzz
    finally:
        sys.path.pop(0)
    from rfemu.cli import main
    scenario = tmp_path / "s.yaml"
    scenario.write_text(fuzz.FAST)
    monkeypatch.setattr(limits, "RUNAWAY_POWER", 1e-12)      # any oscillation is a "runaway" now
    capsys.readouterr()
    rc = main(["run", str(scenario), "--engine", "event", "--set", "medium.noise=true",
               "--set", "engine.event.noise_duration=null",      # long enough to read after settling: no warning
               "--out", str(tmp_path / "run"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"{scenario}: (run): the oscillator neuron of layer 0, chain ")
    assert re.search(r"diverged at t = \S+ s: its power", line)
    assert not (tmp_path / "run").exists()
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())      # no partial folder left
