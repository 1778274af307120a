"""Hostile and odd input to the YAML and units layer: one clear FILE:LINE line, never a traceback,
a hang or a wrong success (issue 12, hostile input)."""
import re
import time

import pytest

from rfemu.scenario import ScenarioError, load_scenario, load_scenario_text, parse_quantity
from rfemu.scenario.loading import MAX_EXTENDS
from rfemu.scenario.yaml_marks import MAX_DEPTH, MAX_VALUES

MINIMAL = "name: t\nnetwork:\n  layers:\n    - size: 2\ntask: {dataset: xor}\n"
ONE_LINE = re.compile(r"^<scenario>(:\d+)?: [\w.()\s]+: .+$")


def _refused(text, timeout=10.0) -> str:
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text)
    assert time.perf_counter() - t0 < timeout
    message = str(info.value)
    assert "\n" not in message and ONE_LINE.match(message), message
    return message


@pytest.mark.parametrize("written,watts", [("1e-6", 1e-6), ("2E-3", 2e-3), ("+5e-7", 5e-7),
                                           ("1.5e-6", 1.5e-6)])
def test_a_plain_number_in_exponent_notation_is_a_number(written, watts):
    # YAML 1.1 reads 1e-6 as the string '1e-6'; the README promises that a plain number is SI
    text = MINIMAL.replace("network:\n", f"network:\n  inputs: {{max_power: {written}}}\n")
    assert load_scenario_text(text).network.inputs.max_power == watts


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1e400", "'1e400 Hz'", "'-1e999 kHz'"])
def test_infinite_or_nan_quantities_are_refused_at_their_line(value):
    text = MINIMAL + f"devices:\n  frequency_state:\n    write_noise: {value}\n"
    message = _refused(text)
    assert message.startswith("<scenario>:8: devices.frequency_state.write_noise:")
    assert "finite" in message


def test_parse_quantity_refuses_what_is_not_finite():
    for value in (float("inf"), float("nan"), "1e400 Hz"):
        with pytest.raises(ValueError, match="finite"):
            parse_quantity(value, "Hz")
    assert parse_quantity("1e300 Hz", "Hz") == 1e300


@pytest.mark.parametrize("key,line", [("training: {epochs: true}", 6), ("seed: false", 6),
                                      ("record: {samples: true}", 6)])
def test_true_or_false_where_a_number_is_expected_is_refused(key, line):
    message = _refused(MINIMAL + key + "\n")
    assert message.startswith(f"<scenario>:{line}:") and "not true/false" in message


def test_a_bool_key_still_takes_true_and_false():
    s = load_scenario_text(MINIMAL + "medium: {noise: true, linewidths: false}\n")
    assert s.medium.noise is True and s.medium.linewidths is False


@pytest.mark.parametrize("written,unit,si", [("1e-24 m\u00b3", "m^3", 1e-24), ("3 \u00b5A", "A", 3e-6),
                                             ("1 k\u03a9", "Ohm", 1e3), ("2 rad/ns", "Hz", 1e9 / 3.141592653589793)])
def test_unicode_units_are_still_quantities(written, unit, si):
    assert parse_quantity(written, unit) == pytest.approx(si, rel=1e-14)


def test_junk_after_a_unit_is_refused():
    text = MINIMAL.replace("    - size: 2\n", "    - size: 2\n      bias_voltage: 11 mV!!\n")
    message = _refused(text)
    assert message.startswith("<scenario>:5: network.layers.0.bias_voltage:")


def test_a_nul_byte_is_one_line_with_its_line():
    message = _refused(MINIMAL + "seed: 1\x00\n")
    assert message.startswith("<scenario>:6:") and "#x0000" in message


def test_a_billion_laughs_alias_bomb_stops_quickly():
    text = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9))
    message = _refused(text, timeout=5.0)       # 9^10 values if expanded
    assert f"more than {MAX_VALUES} values" in message


@pytest.mark.parametrize("text", ["a: " + "[" * 5000 + "]" * 5000 + "\n",
                                  "".join("  " * i + f"k{i}:\n" for i in range(5000)) + "  " * 5000 + "v\n",
                                  "".join("  " * i + f"k{i}:\n" for i in range(80)) + "  " * 80 + "v\n"])
def test_deep_nesting_is_one_line(text):
    assert "nested" in _refused(text, timeout=20.0)


def test_flow_nesting_is_refused_at_the_level_past_the_limit():
    """PyYAML's scanner slows with the square of the flow level (5,000 levels of `[` took 5-13 s,
    a hang in benchmarks/fuzz.py under load): the reader refuses the level past MAX_DEPTH on the
    line where it opens (line 52 here; reading on until the composer's recursion gave up: 495)."""
    text = "a:\n" + " [\n" * 5000 + " ]" * 5000 + "\n"
    message = _refused(text)
    assert message.startswith(f"<scenario>:{MAX_DEPTH + 2}: ") and "nested too deep" in message, message


def test_a_long_extends_chain_is_one_line(tmp_path):
    (tmp_path / "s0.yaml").write_text(MINIMAL)
    for i in range(1, 3 * MAX_EXTENDS):
        (tmp_path / f"s{i}.yaml").write_text(f"extends: s{i - 1}.yaml\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / f"s{3 * MAX_EXTENDS - 1}.yaml")
    assert "\n" not in str(info.value) and "extends" in str(info.value)
    # a short chain still works
    assert load_scenario(tmp_path / "s3.yaml").name == "t"


@pytest.mark.parametrize("device", ["resonator", "oscillator"])
def test_a_damping_of_1e300_is_refused_before_it_breaks_a_run(device):
    # it validated, then the programming step failed with a traceback (target frequency not finite)
    message = _refused(MINIMAL + f"devices:\n  {device}:\n    damping: 1e300\n")
    assert message.startswith(f"<scenario>:8: devices.{device}.damping:") and "below 1" in message
