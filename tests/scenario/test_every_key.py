"""Every device, network, medium and event-engine key of a scenario reaches the devices.

Generated from the schema (:class:`rfemu.scenario.Scenario`, derived from the dataclasses'
metadata): every key that carries a unit gets a distinctive value WRITTEN WITH A UNIT (milli- or
kilo-prefixed, "%" for plain numbers, a Hz quantity for an angular frequency, read as 2 pi times
it), and that value, converted to SI, must be found in the objects the engines run on: the
network graph's devices (node and edge attributes, the oscillators' parameters; the description
the graph was built from is left out), the compiled arrays, the event engine's configuration and
energy model, and the junctions' programmed frequency states. A new key is covered without a new
test; a key the engines only see transformed (a loss in dB as a power gain, a spread as the spread
of the drawn devices) says so in :data:`TRANSFORMED` or :data:`ELSEWHERE`.
"""
import dataclasses
import math

import networkx as nx
import numpy as np
import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from rfemu import api
from rfemu.network import build_graph
from rfemu.network.compile import compile_graph
from rfemu.scenario import Scenario, load_scenario_text
from rfemu.scenario.build import energy_model, event_config, to_description
from rfemu.scenario.schema import _unwrap

SCENARIO = """name: every-key
network:
  layers:
    - {size: 3, initial_bias_spread: 0}
    - {size: 2, initial_bias_spread: 0}
medium: {injection_locking: true}
task: {dataset: xor}
"""
N_INPUTS = 2                                                  # xor's features
#: the base of the network.conv keys: a convolution needs an image task (digits, 8x8)
CONV_SCENARIO = """name: every-conv-key
network:
  conv: {filters: 2, kernel_size: 3, pool_size: 2}
  layers:
    - {size: 3, initial_bias_spread: 0}
    - {size: 10, initial_bias_spread: 0}
task: {dataset: digits}
training: {rule: cnn_backprop}
"""
SECTIONS = ("devices.oscillator", "devices.resonator", "devices.frequency_state", "network",
            "medium", "engine", "variability")
#: keys the engines see only through a transformation of the value: key -> value to find
TRANSFORMED = {
    "network.layers.0.tap_loss": lambda db: 10.0 ** (-db / 10.0),         # gain of junction 1
    "medium.loss_per_tap": lambda db: 10.0 ** (-db / 10.0),
}
#: keys whose value is not a device parameter, and the test that follows them to their effect
ELSEWHERE = {
    "network.layers.0.initial_tuning_spread": "a spread of the initial tuning draws (test_graph)",
    "network.layers.0.initial_bias_spread": "a spread of the initial bias draws (test_graph)",
    "network.conv.initial_tuning_spread": "a spread of the initial shared target (test_conv)",
    "medium.line_length": "a position: with loss_per_length it makes the gain (test_line_length_loss)",
    "medium.loss_per_length": "a loss per metre: with line_length it makes the gain (test_line_length_loss)",
    "engine.event.noise_duration": "the event engine's noisy run length (EventEngine.infer)",
    "engine.hold_time": "drift time before the test (test_scenario_one_source, api._program)",
    **{f"variability.{name}": "a spread of the drawn devices: the deviates of each parameter are "
       "standard normal and independent (tests/devices/test_variability_independence.py)"
       for name in ("source_frequency", "resonance_frequency", "oscillator_frequency",
                    "oscillator_power", "sensitivity", "damping", "oscillator_threshold")},
}
#: keys that reach no device although the scenario takes them (bugs: strict xfail until fixed)
DEAD = {}
# (devices.oscillator.natural_frequency was one: every hidden layer's channel plan sets the
# neurons' natural frequencies, so it is no scenario key any more: field metadata scenario: False)
#: SI values for keys whose typical value would be out of bounds
VALUES = {"devices.frequency_state.endurance": 17.0}
#: typical magnitudes for keys whose default is 0 or null, by unit
TYPICAL = {"Hz": 123.4e3, "rad/s": 2 * math.pi * 1.234e6, "s": 1.234e-9, "V": 1.234e-3, "dB": 0.1234,
           "": 0.01234, "m": 1.234e-3, "dB/m": 0.1234, "Hz/s": 1.234e3, "A": 1.234e-6, "W": 1.234e-7}


def _unit(info):
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    return extra.get("unit")


def _keys(model=Scenario, path=()):
    """(dotted key, unit, default) of every leaf key with a unit under SECTIONS (layer 0)."""
    for name, info in model.model_fields.items():
        inner = _unwrap(info.annotation)
        here = path + (name,)
        if here == ("network", "layers"):
            here = here + ("0",)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            yield from _keys(inner, here)
            continue
        dotted = ".".join(here)
        unit = _unit(info)
        if unit is None or not dotted.startswith(SECTIONS):
            continue
        default = info.default if info.default is not None and not info.is_required() else None
        default = None if default is PydanticUndefined else default
        yield dotted, unit, default


KEYS = list(_keys())


def _written(si, unit):
    """``si`` (a value in ``unit``) written as a string with a prefixed unit."""
    if unit == "rad/s":
        return f"{si / (2 * math.pi) * 1e-3!r} kHz"           # a frequency, read as 2 pi x it
    if unit == "":
        return f"{si * 100!r} %"
    if unit == "dB":
        return f"{si!r} dB"
    if unit == "dB/m":
        return f"{si * 1e-3!r} dB/mm"
    if unit.startswith("1/"):
        return f"{si * 1e3!r} /k{unit[2:]}"
    if "/" in unit or unit in ("K", "S", "Ohm"):
        return f"{si * 1e-3!r} k{unit}"
    return f"{si * 1e3!r} m{unit}"


def _distinctive(key, unit, default, k):
    """A valid value away from the default, different for every key (a factor 1 + 0.0137 (k+1)
    apart), in SI."""
    factor = 1.0 + 0.0137 * (k + 1)
    if key in VALUES:
        return VALUES[key]
    if key.endswith("tuning_window"):
        return [-10e6 * factor, 10e6 * factor]
    if key.endswith(".values"):               # an explicit plan: one frequency per channel
        n = {"network.inputs": N_INPUTS, "network.layers.0.resonance_plan": N_INPUTS,
             "network.layers.0.emission_plan": 3, "network.conv.patch_plan": 9}[key.rsplit(".", 2)[0] if "inputs" in key
                                                   else key.rsplit(".", 1)[0]]
        return [50e6 * factor * (1 + 0.1 * i) for i in range(n)]
    if isinstance(default, list):
        return [v * factor if v else TYPICAL[unit] * factor for v in default]
    if not default or (isinstance(default, float) and math.isinf(default)):
        return TYPICAL.get(unit, 1.0) * factor
    return default * factor


def _numbers(obj, seen=None, depth=0):
    """Every float reachable from ``obj`` (dataclasses, dicts, arrays, graphs, plain objects)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6:
        return
    seen.add(id(obj))
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return
    if isinstance(obj, (int, float, np.floating, np.integer)):
        yield float(obj)
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fi":
            yield from obj.ravel().astype(float).tolist()
    elif isinstance(obj, nx.Graph):
        for _, data in obj.nodes(data=True):
            yield from _numbers(data, seen, depth + 1)
        for _, _, data in obj.edges(data=True):
            yield from _numbers(data, seen, depth + 1)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v, seen, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _numbers(v, seen, depth + 1)
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from _numbers(getattr(obj, f.name, None), seen, depth + 1)
    elif hasattr(obj, "__dict__"):
        yield from _numbers(vars(obj), seen, depth + 1)


def _engine_objects(s):
    """What the engines run on, built from a scenario as a run builds it (rfemu.api's stages)."""
    description = to_description(s, N_INPUTS, seed=0)
    G = build_graph(description, seed=0)
    network = compile_graph(G)
    states = []
    api._program(s, network, [layer.tuning.copy() for layer in network.layers],
                 np.random.default_rng(0), keep=states)
    return [G, network, event_config(s), energy_model(s), states]


def _param(key, unit, default):
    marks = [pytest.mark.xfail(strict=True, reason=DEAD[key])] if key in DEAD else []
    return pytest.param(key, unit, default, id=key, marks=marks)


def test_every_key_left_to_another_test_is_a_key_of_the_schema():
    assert set(ELSEWHERE) <= {k[0] for k in KEYS}


@pytest.mark.parametrize("key,unit,default", [_param(*k) for k in KEYS if k[0] not in ELSEWHERE])
def test_a_key_written_with_a_unit_reaches_the_devices_in_si(key, unit, default):
    k = [kk[0] for kk in KEYS].index(key)
    si = _distinctive(key, unit, default, k)
    if isinstance(si, list):
        written = "[" + ", ".join(repr(_written(v, unit)) for v in si) + "]"
        wanted = si
    else:
        written = repr(_written(si, unit))
        wanted = [TRANSFORMED[key](si) if key in TRANSFORMED else si]
    sets = [f"{key}={written}"]
    if key.endswith(".values"):
        sets.append(f"{key.rsplit('.', 1)[0]}.kind=explicit")
    s = load_scenario_text(CONV_SCENARIO if key.startswith("network.conv.") else SCENARIO, sets)
    found = np.array(list(_numbers(_engine_objects(s))))
    for value in wanted:
        hit = np.isclose(found, value, rtol=1e-9, atol=0.0)
        assert hit.any(), f"{key} = {written} ({value!r} in SI) is not in the engines' objects"


def test_the_generated_keys_cover_every_section():
    sections = {k.rsplit(".", 1)[0] for k, _, _ in KEYS}
    for wanted in ("devices.oscillator", "devices.resonator", "devices.frequency_state",
                   "network.inputs", "network.layers.0", "network.layers.0.oscillator",
                   "network.layers.0.resonance_plan", "medium", "engine.event", "variability"):
        assert wanted in sections, wanted
    assert ("devices.oscillator.nonlinear_frequency_shift", "rad/s", 0.0) in KEYS
    assert set(TRANSFORMED) | set(ELSEWHERE) <= {k for k, _, _ in KEYS}
    # every variability key is one the independence test draws (its SPREADS)
    from tests.devices.test_variability_independence import SPREADS
    assert {k for k, _, _ in KEYS if k.startswith("variability.")} == {f"variability.{n}" for n in SPREADS}


def test_a_frequency_shift_written_in_hz_moves_the_tones_by_that_many_hz():
    # independent of the schema's metadata: N is an angular frequency, so "20 MHz" means the tone
    # of a neuron at power p0 sits 20 MHz x p0 above its channel (f = (w0 + N p0) / 2 pi)
    s = load_scenario_text(SCENARIO, ["network.layers.0.emission=current",
                                      "devices.oscillator.nonlinear_frequency_shift='20 MHz'",
                                      "network.layers.0.bias_voltage='8 mV'"])
    from rfemu.engines.compiled import CompiledEngine

    G, network = _engine_objects(s)[:2]
    fwd = CompiledEngine(network, n_threads=1).forward(np.array([[0.3, 0.7]]), keep=True)
    hidden, output = fwd.layers
    params = network.layers[0].oscillator
    xi = np.clip(hidden.current[0], params.threshold_current, params.max_current) / params.threshold_current
    p0 = (xi - 1) / (xi + params.nonlinear_damping)
    assert np.all(p0 > 0.05)
    np.testing.assert_allclose(output.tone_frequency[0] - network.layers[0].channel_frequency,
                               20e6 * p0, rtol=1e-9)
