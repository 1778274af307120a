"""Mutation check: does the test suite catch plausible physics and logic bugs?

Each mutant is one exact text replacement in one source file (``Mutant``: name, file, old text,
new text, the tests that should catch it). For each mutant the repository is copied to a
temporary folder (the working tree's files, the compiled kernel included: the mutants are
Python-level, nothing is rebuilt), the replacement is applied to the copy, and the mutant's tests
run there (``python -m pytest -x``, ``PYTHONPATH`` pointing at the copy, the copy's ``rfemu``
checked to be the one imported). A mutant is *killed* when a test fails; it *survives* when
every test passes. A mutant whose old text is not found exactly once is an error of this list
(the code moved): it is reported, and counts as a survivor, so that the list is kept up to date.

The list grows with every real bug found: add the bug as a mutant next to the test that caught it.

Usage::

    python benchmarks/mutation.py                 # every mutant
    python benchmarks/mutation.py --quick         # three mutants (the test suite's check)
    python benchmarks/mutation.py --only relaxation_rate_doubled --keep

Ends with one JSON line: ``mutants``, ``killed``, ``kill_rate``, ``survivors``, ``errors``,
``seconds``. Last full run (session 5, load ~6 on 2 cores): 50 mutants, 50 killed, 1674 s
(~13 min of it the three unit-conversion mutants, which then ran the whole of tests/scenario/;
they now name the test that kills them in seconds); static_estimate_junction_energy_halved was
added after it (killed, 5 s): 51 mutants.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    """One plausible bug: replace ``old`` (found exactly once) by ``new`` in ``path``; ``old`` and
    ``new`` may be tuples of texts, replaced in turn (each found exactly once when its turn comes)."""

    name: str
    path: str
    old: str | tuple
    new: str | tuple
    tests: tuple
    why: str = ""


_SIMULTANEITY = "tests/engines/test_simultaneity.py::"
_VARIABILITY = "tests/devices/test_variability_independence.py"
_THEORY = "tests/engines/test_event_theory.py"
_OSCILLATOR = "tests/physics/test_oscillator.py"
_EVENT = "tests/engines/test_event.py::"
_EVERY_KEY = "tests/scenario/test_every_key.py"
_AGENTS = "tests/learning/test_local_agents.py::"
# (was the whole of tests/scenario/: the same kill after ~4 min instead of seconds)
_QUANTITIES = "tests/scenario/test_scenario.py::test_quantities_convert_to_si"


def _swap(a, b):
    """The replacements that swap the values of two :class:`Priority` members, e.g. ("WRITE", 0)."""
    (na, va), (nb, vb) = a, b
    return (f"    {na} = {va} ", f"    {nb} = {vb} "), (f"    {na} = {vb} ", f"    {nb} = {va} ")


MUTANTS = (
    # ---------------------------------------------------------------- devices: oscillator
    Mutant("steady_power_nonlinear_damping_dropped", "rfemu/devices/oscillator.py",
           "return np.where(xi > 1.0, (xi - 1.0) / (xi + q), 0.0)",
           "return np.where(xi > 1.0, (xi - 1.0) / (xi + 1.0), 0.0)",
           (_OSCILLATOR,), "p0 = (xi - 1) / (xi + Q) with Q forgotten"),
    Mutant("linewidth_nu_factor_dropped", "rfemu/devices/oscillator.py",
           "dw_above = diffusion / (2.0 * p0_safe) * (1.0 + nu ** 2)",
           "dw_above = diffusion / (2.0 * p0_safe)",
           (_OSCILLATOR + "::test_phase_linewidth_is_the_linewidth_without_the_amplitude_phase_coupling",
            _OSCILLATOR + "::test_phase_diffusion_linewidth_with_shift"), "the (1 + nu^2) amplitude-phase factor of the linewidth dropped (issue 14)"),
    Mutant("output_power_clamp_removed", "rfemu/devices/oscillator.py",
           "    i = clamp_current(current, params)\n",
           "    i = np.asarray(current, dtype=float)\n",
           (_OSCILLATOR + "::test_output_power_clamp_and_scale", "tests/physics/test_output_transfer.py"),
           "the compact model's current clamp to [I_th, I_max] removed (issue 14)"),
    Mutant("relaxation_rate_factor_two_dropped", "rfemu/devices/oscillator.py",
           "return 2.0 * params.damping_rate * np.abs(xi - 1.0)",
           "return params.damping_rate * np.abs(xi - 1.0)",
           (_THEORY,), "the power relaxes at G_G (xi - 1), the amplitude's rate"),
    Mutant("relaxation_rate_doubled", "rfemu/devices/oscillator.py",
           "return np.maximum(relaxation_rate(device_current, params), floor)",
           "return np.maximum(2.0 * relaxation_rate(device_current, params), floor)",
           (_THEORY,), "the event engine's neurons relax twice as fast (issue 14: not caught before)"),
    Mutant("noisy_tone_full_linewidth", "rfemu/devices/oscillator.py",
           "width = phase_linewidth if phase_only else linewidth",
           "width = linewidth",
           (_THEORY,), "noisy tones carry the (1 + nu^2) linewidth too: 40x too wide here (issue 14)"),
    Mutant("noisy_power_as_amplitude", "rfemu/engines/event/engine.py",
           "n.p_now = n.p_target * p_norm / n.steady",
           "n.p_now = n.p_target * math.sqrt(p_norm / n.steady)",
           (_THEORY,), "the emitted power follows |c| instead of |c|^2: fluctuations halved"),
    # ---------------------------------------------------------------- devices: resonator
    Mutant("antisymmetric_sign_flipped", "rfemu/devices/resonator.py",
           'coef_anti = per_junction("antisymmetric", 2.0 * np.multiply(antisymmetric, k_sign))',
           'coef_anti = per_junction("antisymmetric", -2.0 * np.multiply(antisymmetric, k_sign))',
           ("tests/physics/test_rectification.py",),
           "the antisymmetric line shape's sign flipped (issue 14)"),
    Mutant("tone_linewidth_does_not_widen", "rfemu/devices/resonator.py",
           "    G = D + tone_linewidth\n    return (np.multiply(sensitivity, tone_power) * D",
           "    G = D\n    return (np.multiply(sensitivity, tone_power) * D",
           ("tests/physics/test_rectification.py",),
           "a tone's own linewidth ignored by the rectification"),
    Mutant("johnson_noise_half_power", "rfemu/devices/resonator.py",
           "np.sqrt(4.0 * BOLTZMANN", "np.sqrt(2.0 * BOLTZMANN",
           ("tests/test_medium.py",), "Johnson noise sqrt(2 k T R B) instead of sqrt(4 k T R B)"),
    Mutant("write_quantisation_floors", "rfemu/devices/resonator.py",
           "return np.clip(np.round(shift / self.step) * self.step, lo, hi)",
           "return np.clip(np.floor(shift / self.step) * self.step, lo, hi)",
           ("tests/devices/test_resonator.py",), "a quantised write rounds down instead of to nearest"),
    Mutant("chain_noise_adds_amplitudes", "rfemu/medium.py",
           "return np.sqrt(np.sum(per_junction ** 2, axis=-1))",
           "return np.sum(per_junction, axis=-1)",
           ("tests/test_medium.py",), "the junctions' noise voltages added, not their powers"),
    Mutant("llgs_thermal_field_factor_two_dropped", "rfemu/devices/llgs.py",
           "return math.sqrt(2.0 * p.damping * BOLTZMANN_CONSTANT * p.temperature",
           "return math.sqrt(p.damping * BOLTZMANN_CONSTANT * p.temperature",
           ("tests/physics/test_llgs.py::test_thermal_equilibrium_langevin",),
           "the macrospin's thermal field misses the 2 of the fluctuation-dissipation theorem"),
    Mutant("junction_absorption_ignored", "rfemu/devices/energy.py",
           "return self.junction_absorption * float(np.sum(power_gain)) * np.asarray(tone_power, dtype=float)",
           "return float(np.sum(power_gain)) * np.asarray(tone_power, dtype=float)",
           (_THEORY,), "the junctions dissipate every tone's whole power"),
    Mutant("event_chain_noise_floor_dropped", "rfemu/engines/event/engine.py",
           "v = v + medium.sample_noise(self.rng)", "v = v + 0.0 * medium.sample_noise(self.rng)",
           (_THEORY + "::test_noisy_chain_voltages_carry_the_johnson_floor_of_their_junctions",),
           "the chains' Johnson noise floor left out of the noisy event engine (survived every "
           "event-engine test with noise in its name before this one)"),
    # ---------------------------------------------------------------- devices: variability
    Mutant("variability_streams_share_one_seed", "rfemu/network/graph.py",
           "return {name: np.random.default_rng(child) for name, child in zip(STREAMS, ss.spawn(len(STREAMS)))}",
           "return {name: np.random.default_rng(ss) for name in STREAMS}",
           (_VARIABILITY,),
           "every parameter's variability drawn from one stream: identical deviates (issue 14)"),
    Mutant("variability_one_shared_generator", "rfemu/network/graph.py",
           "return {name: np.random.default_rng(child) for name, child in zip(STREAMS, ss.spawn(len(STREAMS)))}",
           "return dict.fromkeys(STREAMS, np.random.default_rng(ss))",
           (_VARIABILITY,),
           "one Generator for all draws: each parameter's devices depend on the other spreads"),
    Mutant("variability_sensitivity_takes_damping_spread", "rfemu/network/graph.py",
           "res.sensitivity), spread.sensitivity,", "res.sensitivity), spread.damping,",
           (_VARIABILITY,), "a spread read from the wrong field"),
    # ---------------------------------------------------------------- medium and network
    Mutant("tap_loss_read_as_field_db", "rfemu/medium.py",
           "return 10.0 ** (-np.asarray(loss_db, dtype=float) / 10.0)",
           "return 10.0 ** (-np.asarray(loss_db, dtype=float) / 20.0)",
           ("tests/test_medium.py", "tests/engines/test_line_length_loss.py"),
           "a power loss in dB converted as a field (amplitude) ratio"),
    Mutant("adler_range_power_ratio_inverted", "rfemu/medium.py",
           "return c * np.sqrt(pi / po)", "return c * np.sqrt(po / pi)",
           ("tests/test_medium.py",), "locking range coupling sqrt(P/P_inj) instead of sqrt(P_inj/P)"),
    Mutant("geometric_plan_off_by_one", "rfemu/network/frequency.py",
           "ratio = (self.maximum / self.minimum) ** (1.0 / (n - 1))",
           "ratio = (self.maximum / self.minimum) ** (1.0 / n)",
           ("tests/network/test_frequency.py",), "the geometric frequency plan misses f_max (issue 14)"),
    Mutant("series_signs_not_alternating", "rfemu/network/description.py",
           '"alternate_minus_first": lambda k: -((-1.0) ** k),',
           '"alternate_minus_first": lambda k: -np.ones_like(k, dtype=float),',
           ("tests/network/test_graph.py",), "head-to-tail junctions all of one sign"),
    # ---------------------------------------------------------------- engines
    Mutant("compiled_bias_dropped", "rfemu/engines/compiled.py",
           "current = v + layer.bias_voltage", "current = v + 0.0 * layer.bias_voltage",
           ("tests/engines/test_compiled.py",),
           "the compiled engine forgets the hidden chains' bias"),
    Mutant("event_readout_bias_dropped", "rfemu/engines/event/engine.py",
           "r.value = float(v[c] + cl.bias_voltage[c])", "r.value = float(v[c])",
           (_SIMULTANEITY + "test_a_write_landing_as_the_line_delivers_is_seen_by_that_delivery",),
           "the event engine's readout forgets the output chain's bias"),
    Mutant("event_write_lands_at_once", "rfemu/engines/event/agents.py",
           "yield PriorityTimeout(env, Priority.WRITE, report.latency,",
           "yield PriorityTimeout(env, Priority.WRITE, 0.0 * report.latency,",
           (_SIMULTANEITY + "test_a_write_lands_after_its_latency_on_a_line_without_delay",),
           "a frequency write lands without its latency (survived the first run: the tests of "
           "writes had a line delay longer than the write latency)"),
    Mutant("joule_power_linear_in_current", "rfemu/devices/energy.py",
           "return np.asarray(resistance, dtype=float) * i ** 2",
           "return np.asarray(resistance, dtype=float) * i",
           (_THEORY,), "the neurons' Joule power R I instead of R I^2"),
    # ---------------------------------------------------------------- event engine: simultaneity
    Mutant("priority_write_after_delivery", "rfemu/engines/event/agents.py",
           *_swap(("WRITE", 0), ("LINE_DELIVERY", 2)),
           (_SIMULTANEITY + "test_a_write_landing_as_the_line_delivers_is_seen_by_that_delivery",
            _SIMULTANEITY + "test_a_readout_records_once_per_instant_after_the_write_and_the_input"),
           "a write landing as its line delivers is seen a line delay late (issue 14: only a test "
           "of the constants' order noticed)"),
    Mutant("priority_delivery_before_source", "rfemu/engines/event/agents.py",
           *_swap(("SOURCE", 1), ("LINE_DELIVERY", 2)),
           (_SIMULTANEITY + "test_a_zero_delay_line_delivers_all_tone_changes_of_an_instant_at_once",),
           "a line without delay delivers each source's tone alone"),
    Mutant("priority_readout_before_neurons", "rfemu/engines/event/agents.py",
           *_swap(("NEURON_UPDATE", 3), ("READOUT", 4)),
           (_SIMULTANEITY + "test_twin_neurons_emitting_at_one_instant_are_recorded_once_per_instant",),
           "readouts record before every neuron of the instant has emitted"),
    # ---------------------------------------------------------------- scenario loading
    Mutant("scenario_shift_read_in_hz", "rfemu/devices/oscillator.py",
           '"unit": "rad/s",', '"unit": "Hz",', (_EVERY_KEY,),
           "the non-linear frequency shift N read from a scenario in Hz, not rad/s (issue 14)"),
    Mutant("scenario_angular_conversion_dropped", "rfemu/scenario/units.py",
           "        magnitude *= 2.0 * math.pi\n", "        magnitude *= 1.0\n", (_EVERY_KEY,),
           "a Hz quantity given to a rad/s key is not multiplied by 2 pi"),
    Mutant("scenario_enabled_by_inverted", "rfemu/scenario/build.py",
           "if flag is not None and not getattr(section, flag):",
           "if flag is not None and getattr(section, flag):", (_EVERY_KEY,),
           "a key switched on by a flag (locking_coupling by injection_locking) dropped when on"),
    Mutant("scenario_dbm_as_field", "rfemu/scenario/units.py",
           "return 1e-3 * 10.0 ** (number / 10.0)", "return 1e-3 * 10.0 ** (number / 20.0)",
           (_QUANTITIES,), "a power in dBm converted as a field ratio"),
    Mutant("scenario_loss_per_length_inverted", "rfemu/scenario/units.py",
           "return number / per_m", "return number * per_m",
           (_QUANTITIES,), "'0.1 dB/mm' read as 0.1 dB per 1000 m"),
    Mutant("scenario_angular_to_hz_multiplies", "rfemu/scenario/units.py",
           "magnitude /= 2.0 * math.pi", "magnitude *= 2.0 * math.pi",
           (_QUANTITIES,), "'2 rad/ns' given to a Hz key multiplied by 2 pi instead of divided"),
    Mutant("variability_lognormal_mean_shifted", "rfemu/devices/variability.py",
           "return base * np.exp(sigma * z - 0.5 * sigma * sigma)",
           "return base * np.exp(sigma * z)",
           ("tests/devices/",), "the log-normal draws keep the median, not the mean"),
    Mutant("restarts_keep_the_worst", "rfemu/learning/restarts.py",
           "if best is None or key[0] > best[0][0]", "if best is None or key[0] < best[0][0]",
           ("tests/learning/test_restarts_in_situ.py",), "restarts keep the worst validation accuracy"),
    Mutant("event_latency_tolerance_ignored", "rfemu/engines/event/engine.py",
           "return np.any(np.abs(deviation(t)) > tol, axis=0)",
           "return np.any(np.abs(deviation(t)) > 10.0 * tol, axis=0)",
           (_THEORY,), "the latency measured at ten times the tolerance asked (the outputs "
           "followed along the neurons' exact relaxations)"),
    # ---------------------------------------------------------------- real bugs found (session 4)
    Mutant("learning_senses_before_writes_land", "rfemu/learning/local/agents.py",
           "yield learning.engine.schedule(latency, Priority.READOUT)",
           "yield learning.engine.schedule(latency, Priority.SOURCE)",
           (_AGENTS + "test_every_write_costs_the_devices_write_energy_in_both_paths",),
           "the event-engine learning circuit sensed the next window at SOURCE priority, before the "
           "writes' landing put the written resonances on the lines (f5b4845)"),
    Mutant("event_learning_senses_without_thermal_noise", "rfemu/learning/local/agents.py",
           "self.chip.thermal_noise = bool(self.config.thermal_noise)",
           "self.chip.thermal_noise = False",
           (_AGENTS + "test_event_learning_senses_the_noisy_chip_as_the_batched_loop",),
           "the event-engine learning sensed the noise-free chip while the batched loop sensed the "
           "noisy one (OnChipConfig.thermal_noise not passed on, a2c4309)"),
    Mutant("learning_write_energy_not_in_ledger", "rfemu/learning/local/agents.py",
           'self.engine.ledger.add("write", report.energy)', 'self.engine.ledger.add("write", 0.0)',
           (_AGENTS + "test_every_write_costs_the_devices_write_energy_in_both_paths",),
           "the event-engine learning's writes missing from the chip's energy ledger (an event "
           "run once seemed to report 0 J beside its writes: that was the test inferences' "
           "ledger, which holds no writes; 43a4e51)"),
    Mutant("event_write_energy_not_in_ledger", "rfemu/engines/event/agents.py",
           '    engine.ledger.add("write", report.energy)', '    engine.ledger.add("write", 0.0)',
           (_EVENT + "test_frequency_writes_land_after_their_latency_and_change_the_outputs",),
           "an event inference's frequency writes cost nothing in its energy"),
    Mutant("event_latency_from_stale_emissions", "rfemu/engines/event/engine.py",
           "exact = self._trajectory_latency(t_start, tol)", "exact = None",
           (_THEORY + "::test_settling_follows_the_relaxation_not_the_neurons_coarse_emissions",),
           "the latency read from the readouts' records, which lag the neurons by up to "
           "emission_tolerance of full power: ~2.5x too long (db99a9a; survived every test "
           "before this one: they all re-emitted on 1e-4 of full power)"),
    Mutant("ledger_books_tones_when_sent", "rfemu/engines/event/agents.py",
           "self.engine.ledger.tone_change(self.layer, now + self.delay_ticks, power - old)",
           "self.engine.ledger.tone_change(self.layer, now, power - old)",
           (_THEORY + "::test_step_response_energy_is_the_static_model_over_the_settling",),
           "with the default delivery the junctions' energy booked from a tone's emission, a line "
           "delay before it reaches them (a strict xfail until 6f50341: booked at deliveries)"),
    Mutant("projection_20nm_neurons_off", "rfemu/study/energy.py",
           ("threshold_current) / gm - voltage", "    calibrate_bias(CompiledEngine(network, n_threads=1), x)"),
           ("threshold_current) / gm", "    (CompiledEngine(network, n_threads=1), x)"),
           ("tests/engines/test_event_energy.py::test_20nm_projection_report_runs_a_chip_whose_neurons_are_on",),
           "the 20 nm projection's chains biased for 2 I_th at zero input, untrimmed: every neuron "
           "below threshold under its inputs, outputs 0 V (37dff1e)"),
    Mutant("sweep_repeats_lax_int", "rfemu/study/sweep.py",
           "repeats: StrictInt = Field(default=1, ge=1)", "repeats: int = Field(default=1, ge=1)",
           ("tests/sweep/test_sweep.py::test_counts_refuse_booleans_and_fractions",),
           "'repeats: true' read as one repeat by lax pydantic (fuzzing's last wrong success, 550cceb)"),
    Mutant("natural_frequency_dead_scenario_key", "rfemu/devices/oscillator.py",
           '"unit": "Hz", "gt": 0, "scenario": False,', '"unit": "Hz", "gt": 0,',
           (_EVERY_KEY,),
           "devices.oscillator.natural_frequency offered as a scenario key that reaches no device "
           "(the channel plans set every neuron's, d8765b5)"),
    Mutant("static_estimate_junction_energy_halved", "rfemu/results.py",
           'energy = {"oscillator_J": joule * latency, "junction_J": absorbed * latency,',
           'energy = {"oscillator_J": joule * latency, "junction_J": 0.5 * absorbed * latency,',
           ("tests/scenario/test_run_folder.py::test_static_energy_and_latency_of_one_neuron_by_hand",),
           "the compiled engine's static junction energy off by 2 (1e-16 J here: survived while the "
           "test's pytest.approx kept its default abs=1e-12 J)"),
    # ---------------------------------------------------------------- learning
    Mutant("adam_bias_correction_dropped", "rfemu/learning/backprop.py",
           "c1 = 1 - self.b1 ** self.t", "c1 = 1.0",
           ("tests/learning/test_adam.py",), "Adam without its first-moment bias correction (issue 14)"),
    Mutant("backprop_frequency_path_dropped", "rfemu/learning/backprop.py",
           "np.where(inside, grad.tone_frequency * df_di + grad.tone_linewidth * dg_di, 0.0)",
           "np.where(inside, grad.tone_linewidth * dg_di, 0.0)",
           ("tests/learning/test_backprop.py",),
           "the gradient ignores that a neuron's frequency moves with its current"),
    Mutant("backprop_transconductance_dropped", "rfemu/learning/backprop.py",
           "g_v = g_i * prev.transconductance[None, :]", "g_v = g_i",
           ("tests/learning/test_backprop.py",), "the chain rule through I = (V + V_bias) g_m forgets g_m"),
)

QUICK = ("relaxation_rate_doubled", "antisymmetric_sign_flipped", "adam_bias_correction_dropped")

_SKIP = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "build", ".pytest_cache",
                               ".hypothesis", "*.o", "runs", "results")


def copy_repository(source: Path, dest: Path) -> Path:
    """Copy the working tree (sources, tests, the compiled kernel) to ``dest``."""
    shutil.copytree(source, dest, ignore=_SKIP, symlinks=True)
    return dest


def apply(mutant: Mutant, root: Path) -> str | None:
    """Apply ``mutant`` in the copy at ``root``; an error message if its old text is not found once."""
    path = root / mutant.path
    if not path.is_file():
        return f"{mutant.path}: no such file"
    text = path.read_text()
    olds = (mutant.old,) if isinstance(mutant.old, str) else mutant.old
    news = (mutant.new,) if isinstance(mutant.new, str) else mutant.new
    for old, new in zip(olds, news, strict=True):
        count = text.count(old)
        if count != 1:
            return f"{mutant.path}: old text found {count} times (expected once): {old!r}"
        text = text.replace(old, new)
    path.write_text(text)
    return None


def run_tests(root: Path, tests, timeout: float) -> tuple[bool, str]:
    """Run ``tests`` in the copy at ``root``: (all passed, the tail of pytest's output)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_NUM_THREADS", "1")
    check = ("import rfemu, pathlib, sys; "
             f"sys.exit(0 if pathlib.Path(rfemu.__file__).resolve().is_relative_to(pathlib.Path({str(root)!r}).resolve()) else 3)")
    probe = subprocess.run([sys.executable, "-c", check], cwd=root, env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        raise RuntimeError(f"the copy's rfemu is not the one imported ({probe.stderr.strip()[-300:]})")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timeout after {timeout:g} s"
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
    # exit 0: passed; 1: a test failed; anything else (collection error, ...) also kills it
    return proc.returncode == 0, tail


def check(mutants, source: Path, timeout: float, keep: bool = False, verbose: bool = True) -> dict:
    """Run every mutant in its own copy of ``source``; the figures of the run."""
    t0 = time.perf_counter()
    killed, survivors, errors = [], [], []
    scratch = Path(tempfile.mkdtemp(prefix="rfemu-mutation-"))
    base = copy_repository(source, scratch / "pristine")
    try:
        for m in mutants:
            work = scratch / m.name
            shutil.copytree(base, work, symlinks=True)
            problem = apply(m, work)
            if problem is not None:
                errors.append(m.name)
                survivors.append(m.name)
                if verbose:
                    print(f"ERROR     {m.name}: {problem}", file=sys.stderr)
                continue
            t = time.perf_counter()
            passed, tail = run_tests(work, m.tests, timeout)
            (survivors if passed else killed).append(m.name)
            if verbose:
                state = "SURVIVED" if passed else "killed  "
                print(f"{state}  {m.name} ({time.perf_counter() - t:.0f} s): {tail.splitlines()[-1] if tail else ''}",
                      file=sys.stderr)
            if not keep:
                shutil.rmtree(work, ignore_errors=True)
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    n = len(mutants)
    return {"mutants": n, "killed": len(killed), "kill_rate": len(killed) / n if n else 0.0,
            "survivors": survivors, "errors": errors, "seconds": round(time.perf_counter() - t0, 1)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="only these mutants")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--check", action="store_true",
                    help="only check that every mutant's old text is found once (no tests run)")
    ap.add_argument("--source", type=Path, default=ROOT, help="repository to copy (default: this one)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant's tests")
    ap.add_argument("--keep", action="store_true", help="keep the mutated copies (printed folder)")
    args = ap.parse_args(argv)
    names = {m.name for m in MUTANTS}
    if len(names) != len(MUTANTS):
        raise SystemExit("mutation.py: two mutants share a name")
    if args.list:
        for m in MUTANTS:
            print(f"{m.name:36s} {m.path}: {m.why}")
        return 0
    if args.check:
        with tempfile.TemporaryDirectory(prefix="rfemu-mutation-check-") as tmp:
            root = copy_repository(args.source.resolve(), Path(tmp) / "copy")
            problems = []
            for m in MUTANTS:
                pristine = {p: (root / p).read_text() for p in [m.path] if (root / p).is_file()}
                problem = apply(m, root)
                for p, text in pristine.items():
                    (root / p).write_text(text)
                if problem:
                    problems.append(m.name)
                    print(f"ERROR     {m.name}: {problem}", file=sys.stderr)
        print(json.dumps({"mutants": len(MUTANTS), "stale": problems}))
        return 1 if problems else 0
    chosen = list(MUTANTS)
    wanted = QUICK if args.quick else args.only
    if wanted:
        unknown = sorted(set(wanted) - names)
        if unknown:
            print(f"mutation.py: unknown mutants {unknown} (see --list)", file=sys.stderr)
            return 2
        chosen = [m for m in MUTANTS if m.name in set(wanted)]
    figures = check(chosen, args.source.resolve(), args.timeout, keep=args.keep)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    import signal
    # a terminated run still removes its copies (the finally of check())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
