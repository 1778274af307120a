"""engine.event.noise_duration: null is the event engine's own duration (its settling time and
the readout's 1 / B: :meth:`EventEngine.default_noise_duration`), and the load-time checks
estimate it from the scenario (they divided by None: a TypeError traceback at load)."""
import warnings

import numpy as np

from rfemu import api
from rfemu.engines.event import EventEngine
from rfemu.network import compile_graph
from rfemu.devices import limits
from rfemu.scenario import load_scenario, load_scenario_text
from rfemu.scenario.checks import _noise_duration

NOISY = """\
name: null_duration
seed: 4
network:
  inputs:
    frequency_plan: {kind: linear, min: 100 MHz, max: 150 MHz}
  layers:
    - size: 2
      resonance_plan: {kind: linear, min: 100 MHz, max: 150 MHz}
      bias_voltage: 9 mV
      initial_tuning_spread: 1.5 MHz
    - size: 2
      resonance_plan: {kind: linear, min: 200 MHz, max: 300 MHz}
      initial_tuning_spread: 1.5 MHz
engine: {kind: event, event: {samples: 3, noise_duration: null}}
medium: {noise: true, readout_bandwidth: 20 MHz}
task: {dataset: xor, n_train: 20, n_test: 3}
training: {rule: none}
record: {figures: false, samples: 3}
"""


def _outputs(text, overrides=()):
    result = api.run(load_scenario_text(text, overrides=overrides), write=False, progress=False)
    return result, result.traces["event_outputs"].values


def test_null_noise_duration_runs_for_the_engines_default():
    """A run with null reads exactly what a run given the engine's default duration reads (its
    settling time 1.44 us and 1 / B = 50 ns here), not the scenario default's 2 us; the checks'
    estimates bound that duration from below and from above (the junctions tuned to the top and
    to the bottom of their +-15 MHz windows: measured 2 % either side)."""
    s = load_scenario_text(NOISY)
    assert s.engine.event.noise_duration is None
    result, null = _outputs(NOISY)
    engine = EventEngine(compile_graph(result.graph), api.event_config(s))
    default = engine.default_noise_duration()
    assert engine.settling_time() < default and default > 1e-6
    assert 0.95 * default <= _noise_duration(s, from_below=True) <= default <= _noise_duration(s) <= 1.05 * default
    _, given = _outputs(NOISY, [f"engine.event.noise_duration={default!r}"])
    _, two_us = _outputs(NOISY, ["engine.event.noise_duration=2 us"])
    assert np.array_equal(null, given)
    assert not np.array_equal(null, two_us)


def _load_warnings(tmp_path, duration):
    path = tmp_path / "short.yaml"
    path.write_text(NOISY.replace("noise_duration: null", f"noise_duration: {duration}"))
    limits._WARNED.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_scenario(path)
    return path, [w for w in caught if w.category is limits.ModelValidityWarning]


def test_an_inference_not_longer_than_the_settling_time_warns_at_its_line(tmp_path):
    """1.3 us is below the chip's settling time (at least 1.41 us from the scenario, 1.44 us in
    the engine, which reads such an inference whole, the previous input's outputs included):
    one warning at the line of engine.event.noise_duration; 1.5 us (above 1.47 us, the estimate
    from above) loads without one."""
    path, found = _load_warnings(tmp_path, "1.3 us")
    (w,) = found
    line = NOISY.splitlines().index(next(t for t in NOISY.splitlines() if "noise_duration" in t)) + 1
    assert (w.filename, w.lineno) == (str(path), line)
    assert str(w.message).startswith("engine.event.noise_duration: ") and "settling time" in str(w.message)
    assert not _load_warnings(tmp_path, "1.5 us")[1]
