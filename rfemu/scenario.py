"""Scenario files: safe YAML with line numbers, units, validation, ``extends`` and ``--set``.

A scenario is read in four steps:

1. YAML is composed into nodes by a :class:`yaml.SafeLoader` subclass and turned into plain
   Python data, keeping the file and line of every key (:class:`Positions`). Any tag other than
   the standard scalar, sequence and mapping tags (``!!python/object`` and friends, custom ``!tags``)
   is refused: nothing a scenario says is executed.
2. ``extends: base.yaml`` (relative to the file) is read the same way and used as defaults; the
   file's own keys win, mappings merge key by key, sequences are replaced whole.
3. ``--set a.b.0.c=VALUE`` overrides are applied (VALUE is parsed as YAML).
4. The plain data is validated by pydantic models (``extra="forbid"`` everywhere). Quantities may
   be strings with units ("346 MHz", "10 uA", "0.5 dB", "20 ns"), converted once to SI here; plain
   numbers are SI. Then checks that span several keys (a tuning window that is empty, a data file
   that is missing, ...) run and cite lines too.

Every problem becomes one line ``FILE:LINE: key.path: what is wrong (what was expected)`` and all
of them are raised together as a :class:`ScenarioError`.

Examples
--------
>>> from rfemu.scenario import load_scenario_text
>>> s = load_scenario_text("name: demo\\ndevices: {resonator: {damping: 0.01}}\\n")
>>> s.devices.resonator.damping
0.01
"""
from __future__ import annotations

import copy
import difflib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import pint
import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError,
                      field_validator, model_validator)

__all__ = [
    "ScenarioError", "Problem", "Positions", "Scenario", "load_scenario", "load_scenario_text",
    "read_yaml", "apply_override", "parse_quantity", "resolved_dict", "dump_resolved",
    "DATA_ENV", "data_root",
]

DATA_ENV = "RFEMU_DATA"
"""Environment variable naming the folder that holds the data sets (drone_rf/, mnist/)."""


# --------------------------------------------------------------------------------------------
# Problems and the exception that carries them
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, with where it is."""

    file: str
    line: Optional[int]
    path: str
    message: str

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else f"{self.file}"
        return f"{where}: {self.path or '(top level)'}: {self.message}"


class ScenarioError(Exception):
    """A scenario that cannot be used; ``problems`` lists every reason, one per line of ``str``."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))


# --------------------------------------------------------------------------------------------
# Positions: where each key came from
# --------------------------------------------------------------------------------------------

@dataclass
class Positions:
    """File and line (1-based) of each key path, as tuples of str keys and int indices."""

    where: dict[tuple, tuple[str, int]] = field(default_factory=dict)
    default_file: str = "<scenario>"

    def locate(self, path: tuple) -> tuple[str, Optional[int]]:
        """The position of ``path`` or of its nearest recorded parent."""
        path = tuple(path)
        while True:
            if path in self.where:
                return self.where[path]
            if not path:
                return (self.default_file, None)
            path = path[:-1]

    def problem(self, path: tuple, message: str) -> Problem:
        file, line = self.locate(path)
        return Problem(file, line, _dotted(path), message)

    def drop_under(self, path: tuple) -> None:
        n = len(path)
        for key in [k for k in self.where if len(k) > n and k[:n] == path]:
            del self.where[key]


def _dotted(path) -> str:
    return ".".join(str(p) for p in path)


# --------------------------------------------------------------------------------------------
# Safe YAML with marks
# --------------------------------------------------------------------------------------------

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq", "tag:yaml.org,2002:timestamp",
}


class PositionLoader(yaml.SafeLoader):
    """A SafeLoader that composes nodes only; :func:`_to_data` builds data while recording marks.

    Construction of anything but standard scalars, sequences and mappings is refused with the
    line of the offending node (no ``!!python/...``, no custom tags, no merge keys).
    """


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def _to_data(node, loader: PositionLoader, file: str, path: tuple, positions: Positions,
             problems: list[Problem]):
    line = node.start_mark.line + 1
    positions.where.setdefault(path, (file, line))
    if node.tag not in _STANDARD_TAGS:
        problems.append(Problem(file, line, _dotted(path),
                                f"the tag {_short_tag(node.tag)} is not allowed (a scenario is plain "
                                "data: numbers, strings, lists and mappings; nothing in it is executed)"))
        return None
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(file, key_line, _dotted(path),
                                        "YAML merge keys (<<) are not supported (use `extends:` "
                                        "to take defaults from another scenario)"))
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _STANDARD_TAGS:
                problems.append(Problem(file, key_line, _dotted(path),
                                        "a key must be a plain name or number"))
                continue
            key = loader.construct_object(key_node)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                key = str(key_node.value)
            key = str(key)
            if key in out:
                first = positions.where.get(path + (key,), (file, "?"))[1]
                problems.append(Problem(file, key_line, _dotted(path + (key,)),
                                        f"duplicate key (first given on line {first})"))
                continue
            positions.where[path + (key,)] = (file, key_line)
            out[key] = _to_data(value_node, loader, file, path + (key,), positions, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(item, loader, file, path + (i,), positions, problems)
                for i, item in enumerate(node.value)]
    if node.tag == "tag:yaml.org,2002:timestamp":
        return str(node.value)
    return loader.construct_object(node)


def read_yaml(text: str, file: str = "<scenario>") -> tuple[Any, Positions]:
    """Parse YAML ``text`` safely into plain data and the positions of its keys.

    Raises
    ------
    ScenarioError
        On a syntax error, a refused tag, a duplicate key.
    """
    positions = Positions(default_file=file)
    loader = PositionLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or "invalid YAML"
        if exc.context:
            started = ""
            if exc.context_mark is not None and exc.context_mark.line != (mark.line if mark else -1):
                started = f" (started on line {exc.context_mark.line + 1})"
            what = f"{exc.context}{started}, {what}"
        raise ScenarioError([Problem(file, line, "", f"YAML syntax error: {what} "
                                                     "(expected valid YAML: `key: value` lines, "
                                                     "consistent indentation)")]) from None
    except yaml.YAMLError as exc:  # e.g. a reader error on a control character
        raise ScenarioError([Problem(file, None, "", f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()
    if node is None:
        return {}, positions
    problems: list[Problem] = []
    try:
        data = _to_data(node, loader, file, (), positions, problems)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        problems.append(Problem(file, mark.line + 1 if mark else None, "",
                                f"cannot read value: {exc.problem}"))
        data = None
    if problems:
        raise ScenarioError(problems)
    return data, positions


# --------------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------------

_UREG = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
_UREG.define("Ohm = ohm")

# what each SI unit measures, for messages
_KIND = {
    "Hz": "a frequency", "rad/s": "an angular frequency", "s": "a time", "A": "a current",
    "V": "a voltage", "W": "a power", "Ohm": "a resistance", "K": "a temperature",
    "J": "an energy", "T": "a magnetic flux density", "A/m": "a magnetic field",
    "V/W": "a sensitivity (voltage per power)", "S": "a transconductance (current per voltage)",
    "m": "a length", "A/m^2": "a current density", "1/s": "a rate", "Hz/V": "a tuning rate",
    "": "a number", "dB": "a level in dB", "dB/m": "a loss per length in dB",
    "Hz/s": "a drift rate", "m^3": "a volume", "1/V": "a scale per volt", "1/m": "a field per current ((A/m)/A)",
}

_EXAMPLE = {
    "Hz": "'346 MHz'", "rad/s": "'2 rad/ns' or '50 MHz' (times 2 pi)", "s": "'20 ns'",
    "A": "'10 uA'", "V": "'11 mV'", "W": "'1 uW' or '-30 dBm'", "Ohm": "'1 kOhm'", "K": "'300 K'",
    "J": "'10 fJ'", "T": "'10 mT'", "A/m": "'8 kA/m'", "V/W": "'8.8 mV/uW'", "S": "'3.388 uA/mV'",
    "m": "'1 mm'", "1/s": "'1 /us'", "": "'1 %' or 0.01", "dB": "'0.5 dB'", "dB/m": "'0.1 dB/mm'",
    "Hz/s": "'1 MHz/s'", "m^3": "'1e-24 m^3'", "1/V": "'1 /mV'", "1/m": "2e7 ((A/m)/A)",
}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_DB_RE = re.compile(rf"^\s*({_NUMBER})\s*dB(m)?\s*(?:/\s*([A-Za-zµ]+))?\s*$")


class UnitProblem(ValueError):
    """A quantity that cannot be read in the unit expected."""


def parse_quantity(value, unit: str) -> float:
    """Convert ``value`` (a number in SI, or a string with units) to a float in ``unit``.

    ``unit`` is one of the SI units of this module ("Hz", "A", "V/W", "dB", "" ...). Angular
    frequencies are handled explicitly: "2 rad/ns" for a Hz field is divided by 2 pi, and a Hz
    quantity given to a rad/s field is multiplied by 2 pi. "dB" fields take "0.5 dB" (kept in dB),
    "dB/m" fields take "0.1 dB/mm"; power fields ("W") also take "dBm".

    Raises
    ------
    UnitProblem
        When the string is not a quantity or has the wrong dimension.

    Examples
    --------
    >>> parse_quantity("346 MHz", "Hz")
    346000000.0
    >>> parse_quantity("-30 dBm", "W")
    1e-06
    """
    kind = _KIND.get(unit, unit)
    expected = f"expected {kind} in {unit or 'plain numbers'}, e.g. {_EXAMPLE.get(unit, unit)}"
    if isinstance(value, bool) or value is None:
        raise UnitProblem(f"got {value!r} ({expected})")
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        raise UnitProblem(f"got a {type(value).__name__} ({expected})")
    text = value.strip()
    m = _DB_RE.match(text)
    if m is not None:
        number, is_dbm, per = float(m.group(1)), m.group(2), m.group(3)
        if is_dbm and per is None and unit == "W":
            return 1e-3 * 10.0 ** (number / 10.0)
        if not is_dbm and per is None and unit == "dB":
            return number
        if not is_dbm and per is not None and unit == "dB/m":
            try:
                per_m = _UREG.Quantity(1.0, per).to("m").magnitude
            except Exception:
                raise UnitProblem(f"{value!r}: {per!r} is not a length ({expected})") from None
            return number / per_m
        raise UnitProblem(f"{value!r} has the wrong dimension ({expected})")
    if unit in ("dB", "dB/m"):
        raise UnitProblem(f"{value!r} is not a level in dB ({expected})")
    if not re.match(rf"^{_NUMBER}", text):
        raise UnitProblem(f"{value!r} does not start with a number ({expected})")
    try:
        q = _UREG.Quantity(text)
    except Exception:
        raise UnitProblem(f"{value!r} is not a number with a known unit ({expected})") from None
    if not isinstance(q, _UREG.Quantity):
        return float(q)
    target = _UREG.Quantity(1.0, unit.replace("^", "**") if unit else "dimensionless")
    angular_in = "radian" in str(q.units)
    try:
        if q.dimensionality != target.dimensionality:
            raise pint.DimensionalityError(q.units, target.units)
        magnitude = float(q.to(target.units).magnitude)
    except pint.DimensionalityError:
        got = _describe_dimension(q)
        raise UnitProblem(f"{value!r} is {got}, not {kind} ({expected})") from None
    if unit == "Hz" and angular_in:
        magnitude /= 2.0 * math.pi
    elif unit == "rad/s" and not angular_in:
        magnitude *= 2.0 * math.pi
    # unit conversion leaves an ulp of noise (20 uA -> 1.9999999999999998e-05): round it off
    return float(f"{magnitude:.15g}")


def _describe_dimension(q) -> str:
    for unit, kind in _KIND.items():
        if unit in ("", "dB", "dB/m"):
            continue
        try:
            if q.dimensionality == _UREG.Quantity(1.0, unit.replace("^", "**")).dimensionality:
                return kind
        except Exception:
            continue
    if q.dimensionless:
        return "a plain number"
    return f"in {q.units:~}"


def _quantity_validator(unit: str):
    def convert(value):
        try:
            return parse_quantity(value, unit)
        except UnitProblem as exc:
            raise ValueError(str(exc)) from None
    return convert


def Q(unit: str, **constraints):
    """A float field in ``unit`` (SI) that also accepts strings with units."""
    return Annotated[float, BeforeValidator(_quantity_validator(unit)),
                     Field(json_schema_extra={"unit": unit}, **constraints)]


Frequency = Q("Hz", gt=0)
Time = Q("s", gt=0)
Current = Q("A", gt=0)
Power = Q("W", gt=0)
Fraction = Q("", ge=0)


# --------------------------------------------------------------------------------------------
# The schema
# --------------------------------------------------------------------------------------------

class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, use_attribute_docstrings=True)


class OscillatorSection(_Section):
    """Defaults of every spin-torque oscillator (neuron): the fields of
    :class:`rfemu.devices.oscillator.OscillatorParameters` (PHYSICS.md section 1)."""

    natural_frequency: Frequency = 300e6
    """f0 (Hz) of a neuron whose layer has no frequency plan; a layer's plan sets it otherwise."""
    nonlinear_frequency_shift: Q("rad/s") = 0.0
    """N of w(p) = w0 + N p, in rad/s ("50 MHz" is read as 2 pi x 50 MHz)."""
    damping: Q("", gt=0) = 0.01
    """Gilbert damping alpha; the linear damping rate is G_G = alpha * 2 pi f0."""
    nonlinear_damping: Q("", ge=0) = 2.0
    """Q of the positive damping G+(p) = G_G (1 + Q p)."""
    threshold_current: Current = 10e-6
    """I_th = G_G / sigma: auto-oscillation above it."""
    max_current: Current = 40e-6
    """I_max: the compact output model clamps the current to [I_th, I_max]."""
    resistance: Q("Ohm", gt=0) = 1e3
    """R of the junction (Joule power R I^2, output power)."""
    tmr: Q("", gt=0) = 1.0
    """Tunnel magnetoresistance ratio."""
    beta: Q("", gt=0) = 1.0
    """Fraction of the TMR the oscillation turns into a resistance oscillation."""
    max_output_power: Q("W", ge=0) = 1e-6
    """Output power at max_current (sets the prefactor A of the compact model)."""
    temperature: Q("K", ge=0) = 300.0
    """Temperature of the neuron's thermal noise (0: none)."""
    oscillation_energy: Q("J", gt=0) = 2e-19
    """E0: the thermal noise is eta = k_B T / E0."""

    @model_validator(mode="after")
    def _currents(self):
        if self.max_current <= self.threshold_current:
            raise ValueError(f"max_current ({self.max_current:g} A) must exceed threshold_current "
                             f"({self.threshold_current:g} A)")
        return self


class ResonatorSection(_Section):
    """Defaults of every spin-diode junction (synapse): the fields of
    :class:`rfemu.devices.resonator.ResonatorParameters` (PHYSICS.md section 2)."""

    damping: Q("", gt=0) = 0.01
    """alpha: the resonance half width (linewidth) is D_r = alpha f_r."""
    sensitivity: Q("V/W", gt=0) = 8.8e3
    """K: the rectified voltage at the best detuning per watt of tone ('8.8 mV/uW')."""
    antisymmetric: Q("") = 1.0
    """Weight a of the antisymmetric line shape (the seed's synapse: 1)."""
    symmetric: Q("") = 0.0
    """Weight s of the symmetric line shape (the seed's synapse: 0)."""


class FrequencyStateSection(_Section):
    """The non-volatile tuning state of the junctions (:class:`rfemu.devices.resonator.FrequencyState`).

    The window bounds the trained shifts; after training, the chip is programmed by one write of
    every junction through the FrequencyState (quantised to ``step``, with ``write_noise``); it
    then drifts at ``drift_rate`` for ``engine.hold_time``; the programmed and drifted network is
    what is tested (metrics ``programming_energy_J``, ``programming_latency_s``,
    ``programming_writes``, ``programming_stuck_devices``).
    """

    window_low: Q("Hz") = -15e6
    """Lowest shift of f_r from the junction's as-fabricated (base) frequency."""
    window_high: Q("Hz") = 15e6
    """Highest shift of f_r from the base frequency."""
    step: Q("Hz", ge=0) = 0.0
    """Quantisation step of a write (0: continuous)."""
    write_noise: Q("Hz", ge=0) = 0.0
    """Standard deviation of a write's error."""
    write_latency: Q("s", ge=0) = 10e-9
    """Time a write takes (all junctions are written in parallel)."""
    write_energy: Q("J", ge=0) = 1e-13
    """Energy of one write pulse (per junction)."""
    endurance: Optional[Q("", ge=1)] = None
    """Writes a junction takes before it is stuck where it is (a whole number >= 1; null:
    unlimited). Programming writes each junction once; the count of junctions it leaves stuck is
    the metric ``programming_stuck_devices``."""
    drift_rate: Q("Hz/s") = 0.0
    """Drift of the programmed shifts (Hz/s, either sign; '1 MHz/s'), bounded by the tuning
    window: during engine.hold_time the resonance frequencies move by drift_rate x hold_time
    before the chip is tested."""

    @model_validator(mode="after")
    def _window(self):
        if self.window_low > self.window_high:
            raise ValueError(f"the tuning window is empty: window_low ({self.window_low:g} Hz) > "
                             f"window_high ({self.window_high:g} Hz)")
        return self

    @field_validator("endurance")
    @classmethod
    def _whole_endurance(cls, value):
        if value is not None and math.isfinite(value) and value != math.floor(value):
            raise ValueError(f"got {value:g} (expected a whole number of writes >= 1, or null "
                             "for unlimited)")
        return value


Vector3 = Annotated[list[float], Field(min_length=3, max_length=3)]


class LlgsSection(_Section):
    """Macrospin LLGS parameters, the fields of :class:`rfemu.devices.llgs.MacrospinParameters`
    (meanings and units there): the reference device for studies of a junction's dynamics; a
    network run does not use them."""

    saturation_magnetisation: Q("A/m", gt=0) = 1.0e6
    volume: Q("m^3", gt=0) = math.pi / 4 * 100e-9 * 50e-9 * 1.5e-9
    damping: Q("", ge=0) = 0.01
    anisotropy_field: Q("A/m") = 2.0e4
    easy_axis: Vector3 = Field(default_factory=lambda: [1.0, 0.0, 0.0])
    effective_magnetisation: Q("A/m") = 8.0e5
    polarizer: Vector3 = Field(default_factory=lambda: [math.sqrt(0.5), math.sqrt(0.5), 0.0])
    spin_torque_per_ampere: Q("1/m") = 2.0e7
    field_like_ratio: Q("") = 0.0
    oersted_field_per_ampere: Vector3 = Field(default_factory=lambda: [0.0, 0.0, 0.0])
    resistance_parallel: Q("Ohm", gt=0) = 1.0e3
    resistance_antiparallel: Q("Ohm", gt=0) = 2.0e3
    temperature: Q("K", ge=0) = 300.0


class DevicesSection(_Section):
    """Device defaults, every layer's unless the layer overrides them."""

    oscillator: OscillatorSection = Field(default_factory=OscillatorSection)
    resonator: ResonatorSection = Field(default_factory=ResonatorSection)
    frequency_state: FrequencyStateSection = Field(default_factory=FrequencyStateSection)
    llgs: LlgsSection = Field(default_factory=LlgsSection)


class FrequencyPlan(_Section):
    """Channels between two bounds (PHYSICS.md section 2): the fields of
    :class:`rfemu.network.frequency.FrequencyPlan` (``min``/``max`` are its minimum/maximum)."""

    kind: Literal["linear", "geometric", "explicit"] = "linear"
    """linear: evenly spaced; geometric: f_k = min r^k (constant spacing in linewidths);
    explicit: the ``values``."""
    min: Optional[Frequency] = 20e6
    """First channel."""
    max: Optional[Frequency] = 120e6
    """Last channel."""
    values: list[Frequency] = Field(default_factory=list)
    """The channels of an ``explicit`` plan."""

    @model_validator(mode="after")
    def _bounds(self):
        if self.kind == "explicit":
            if not self.values:
                raise ValueError("an explicit plan needs `values` (a list of frequencies)")
        elif self.min is None or self.max is None:
            raise ValueError(f"a {self.kind} plan needs `min` and `max`")
        elif self.max < self.min:
            raise ValueError(f"max ({self.max:g} Hz) must not be below min ({self.min:g} Hz)")
        return self


class InputSection(_Section):
    """The input tones on line 0: one per feature of the task, powers set by the data."""

    frequency_plan: FrequencyPlan = Field(default_factory=FrequencyPlan)
    max_power: Power = 1e-6
    """Power of a tone whose (normalised) feature is 1."""
    linewidth: Q("Hz", ge=0) = 0.0
    """Half width of each input tone's own line (0: pure tones)."""


SignPattern = Union[Literal["alternate_minus_first", "alternate_plus_first", "all_plus"],
                    list[Literal[1, -1]]]


class LayerSection(_Section):
    """One layer: ``size`` chains of junctions on one RF line, each driving an oscillator neuron
    (hidden layer) or read out as a class score (the last layer). The fields of
    :class:`rfemu.network.description.LayerDescription`."""

    size: int = Field(gt=0)
    """Chains: neurons of a hidden layer, classes of the last layer."""
    resonance_plan: FrequencyPlan = Field(default_factory=FrequencyPlan)
    """As-fabricated resonance frequencies of junctions 0..J-1 of every chain."""
    junctions_per_chain: Optional[int] = Field(default=None, gt=0)
    """J; null: one junction per tone on the layer's line."""
    sign_pattern: SignPattern = "alternate_minus_first"
    """Series signs of the junctions of a chain: alternate_minus_first ((-1)^(k+1), the
    seed), alternate_plus_first, all_plus, or a list of +1/-1."""
    tuning_window: Optional[Annotated[list[Q("Hz")], Field(min_length=2, max_length=2)]] = None
    """[low, high] shift of f_r from f_base; null: devices.frequency_state's window."""
    initial_tuning_spread: Optional[Q("Hz", ge=0)] = None
    """Std of the initial tuning shifts (null: the seed's 1 MHz / sqrt(J))."""
    bias_voltage: Q("V") = 0.0
    """Series bias of every chain (the seed's hidden layer: 11.08 mV; trained)."""
    initial_bias_spread: Optional[Q("V", ge=0)] = None
    """Std of the initial biases around bias_voltage (null: 10 mV / sqrt(size))."""
    transconductance: Q("S", gt=0) = 3.388370758630916e-3
    """g_m of a hidden layer's V -> I conversion (A/V; '3.388 uA/mV')."""
    emission: Literal["fixed", "current"] = "fixed"
    """A neuron emits on a fixed channel, or at f(I) of its own device."""
    emission_plan: Optional[FrequencyPlan] = None
    """The neurons' channels; null: the next layer's resonance_plan."""
    tone_linewidth: Q("Hz", ge=0) = 0.0
    """Half width of the neurons' tones with emission: fixed."""
    tap_loss: Optional[Q("dB", ge=0)] = None
    """RF power lost at each junction along a chain; null: medium.loss_per_tap."""
    resonator: Optional[ResonatorSection] = None
    """This layer's junctions; null: devices.resonator (keys given here override it)."""
    oscillator: Optional[OscillatorSection] = None
    """This layer's neurons; null: devices.oscillator (keys given here override it)."""


class NetworkSection(_Section):
    """The network: input tones and layers of junction chains (:mod:`rfemu.network`)."""

    inputs: InputSection = Field(default_factory=InputSection)
    layers: list[LayerSection] = Field(min_length=1)
    """Hidden layers first; the last layer's chains are the class scores."""


class MediumSection(_Section):
    """The RF lines as shared media (:mod:`rfemu.medium`) and their noise."""

    loss_per_tap: Q("dB", ge=0) = 0.0
    """Default of every layer's tap_loss (0: amplifiers preserve the power, as in the seed)."""
    loss_per_length: Q("dB/m", ge=0) = 0.0
    """Propagation loss of every RF line ('0.1 dB/mm'). A tone reaches the junctions of its
    line after line_length of it: every junction's power gain is multiplied by
    10^(-loss_per_length x line_length / 10), in both engines."""
    line_length: Q("m", ge=0) = 0.0
    """Length of RF line from the emitters (inputs, neurons) to the junctions of each line
    ('5 mm'); the junctions of a chain sit close together compared with it."""
    linewidths: bool = True
    """true: every tone has its own Lorentzian line (network.inputs.linewidth, the layers'
    tone_linewidth, an f(I) neuron's own linewidth at its current), which widens the junctions'
    response, L = 1 / (d - i (D_r + g_t)); false: every tone is a pure tone, in both engines."""
    noise: bool = False
    """Event engine: the junctions' Johnson noise on the chain voltages and the neurons'
    thermal dynamics."""
    temperature: Q("K", ge=0) = 300.0
    """Noise temperature of the junctions' Johnson noise."""
    readout_bandwidth: Q("Hz", gt=0) = 1e6
    """Bandwidth B over which chain voltages are read (noise floor sqrt(4 k_B T R B))."""
    junction_resistance: Q("Ohm", gt=0) = 1e3
    """Resistance of each junction (noise floor)."""
    line_delay: Q("s", ge=0) = 1e-10
    """Propagation delay from an emitter to the junctions of its line."""
    injection_locking: bool = False
    """Event engine: frequency pulling and injection locking between tones of a line (Adler)."""
    locking_coupling: Q("Hz", ge=0) = 1e6
    """Locking range ~ locking_coupling * sqrt(P_inj / P)."""
    locking_window: Q("s", gt=0) = 2e-6
    """Integration window of the phase model whose mean frequencies become the tones."""
    junction_absorption: Q("", ge=0, le=1) = 0.01
    """Energy account: fraction of the RF power passing a junction that it dissipates."""
    amplifier_efficiency: Q("", gt=0, le=1) = 0.1
    """Energy account: efficiency of the amplifiers that restore the absorbed RF power."""


class VariabilitySection(_Section):
    """Relative device-to-device spreads (0.01 = '1 %'), drawn once from the seed: the fields of
    :class:`rfemu.network.description.VariabilityDescription`."""

    source_frequency: Fraction = 0.0
    """Input tones' frequencies."""
    resonance_frequency: Fraction = 0.0
    """Junctions' as-fabricated resonance frequencies."""
    oscillator_frequency: Fraction = 0.0
    """Neurons' channel (natural) frequencies."""
    oscillator_power: Fraction = 0.0
    """Neurons' output power scale (log-normal)."""
    sensitivity: Fraction = 0.0
    """Junctions' sensitivity K (log-normal)."""
    damping: Fraction = 0.0
    """Junctions' damping, hence their linewidths."""


#: (features, classes) of each data set: input tones and output chains of its network
TASK_SHAPES = {"digits": (64, 10), "mnist": (784, 10), "drone": (256, 10), "xor": (2, 2),
               "circles": (2, 2), "moons": (2, 2)}
DATASETS = tuple(TASK_SHAPES)
IMAGE_SHAPES = {"digits": (8, 8), "mnist": (28, 28)}
"""(rows, columns) of the image tasks (features are the pixels in row-major order)."""


_TASK_KEYS = {
    "drone": {"path", "normalize"},
    "mnist": {"path", "n_train", "n_test"},
    "digits": {"test_fraction"},
    "xor": {"n_train", "n_test", "margin"},
    "circles": {"n_train", "n_test", "noise", "factor"},
    "moons": {"n_train", "n_test", "noise"},
}


class TaskSection(_Section):
    """The data set (:mod:`rfemu.tasks`); its features in [0, 1] are the powers of the input
    tones (times ``network.inputs.max_power``)."""

    dataset: Literal["digits", "mnist", "drone", "xor", "circles", "moons"]
    """drone (RF fingerprints, 256 bins, 10 classes), mnist (784 pixels), digits (8x8,
    scikit-learn), xor, circles, moons (2 features, generated)."""
    path: Optional[str] = None
    """drone, mnist: the file or folder; relative paths are looked up under $RFEMU_DATA, then
    beside the scenario; null: $RFEMU_DATA/drone_rf/... or $RFEMU_DATA/mnist."""
    n_train: Optional[int] = Field(default=None, gt=0)
    """mnist: first training images kept (null: all); 2-input tasks: samples generated (400)."""
    n_test: Optional[int] = Field(default=None, gt=0)
    """mnist: first test images kept (null: all); 2-input tasks: samples generated (200)."""
    test_fraction: Q("", gt=0, lt=1) = 0.25
    """digits: the held-out share."""
    noise: Optional[Q("", ge=0)] = None
    """circles, moons: the generator's noise (0.05, 0.1)."""
    factor: Q("", gt=0, lt=1) = 0.5
    """circles: inner radius / outer radius."""
    margin: Q("", ge=0, lt=0.5) = 0.05
    """xor: points closer than this to the quadrant boundaries are left out."""
    normalize: bool = True
    """drone: divide the spectra by the largest training value."""


class EventSection(_Section):
    """Settings of the event engine (:class:`rfemu.engines.event.EventConfig`)."""

    samples: int = Field(default=20, gt=0)
    """Test samples run through the emulated chip (one after the other)."""
    diode_response: bool = True
    """Add each line's spin-diode response time 1 / (2 pi min half width) to its delay."""
    emission_tolerance: Q("", gt=0) = 0.05
    """A neuron re-emits when its power moved by more than this fraction of max_output_power."""
    frequency_tolerance: Q("", gt=0) = 1e-4
    """... or its frequency by more than this fraction of itself."""
    settle_tolerance: Q("", gt=0) = 1e-10
    """A neuron within this fraction of its steady state emits its exact value and sleeps."""
    voltage_tolerance: Q("V", ge=0) = 1e-12
    """A chain wakes its consumer only if its voltage moved by more than this."""
    latency_tolerance: Q("", gt=0) = 1e-3
    """Output settled: within this fraction of the largest output of its final value."""
    min_relaxation_fraction: Q("", gt=0) = 0.02
    """Floor of a neuron's relaxation rate, as a fraction of 2 G_G (critical slowing down)."""
    noise_duration: Q("s", gt=0) = 2e-6
    """With medium.noise: how long each inference runs (noise never settles)."""
    noise_step_fraction: Q("", gt=0) = 0.25
    """With noise, a neuron integrates in steps of this fraction of its relaxation time."""


class EngineSection(_Section):
    """Which engine tests the trained network (training always runs on the compiled one)."""

    kind: Literal["compiled", "event"] = "compiled"
    """compiled: everything on arrays; event: training on arrays, then the test samples run
    through the simpy emulation of the chip (time, noise, locking)."""
    n_threads: Optional[int] = Field(default=None, ge=1)
    """Kernel threads (null: every core; results do not depend on it)."""
    hold_time: Q("s", ge=0) = 0.0
    """Time between programming the junctions and testing the chip ('1 h'): the programmed
    frequencies drift by devices.frequency_state.drift_rate x hold_time (bounded by the window)."""
    event: EventSection = Field(default_factory=EventSection)


class InSituSection(_Section):
    """Chip-in-the-loop fine-tuning (:mod:`rfemu.learning.in_situ`): each batch runs on the event
    engine as engine.event and medium configure it (noise included); the loss gradient at the
    chip's outputs goes back through the static model. Closes the systematic gap between the
    noisy chip and the static model (the mean of P W(f) under correlated power and frequency
    fluctuations); costs one event inference per sample and epoch."""

    epochs: int = Field(default=0, ge=0)
    """Passes over the training samples on the chip (0: off)."""
    samples: Optional[int] = Field(default=None, ge=1)
    """Fine-tune on the first this-many training samples (null: all of them)."""
    batch_size: int = Field(default=32, gt=0)
    frequency_learning_rate: Q("Hz", gt=0) = 3e4
    """Adam step of the tuning states."""
    bias_learning_rate: Q("V", gt=0) = 3e-5
    """Adam step of the bias voltages."""
    score_scale: Q("1/V", gt=0) = 3e4
    """Logits = score_scale x the chip's output voltages (large: the loss works on the samples
    the chip gets wrong or nearly wrong)."""
    final_learning_rate_fraction: Q("", ge=0, le=1) = 0.1
    """The steps fall linearly to this fraction of themselves over the run."""


class TrainingSection(_Section):
    """Offline backpropagation (:mod:`rfemu.learning.backprop`): trains the junctions' tuning
    states and the chains' bias voltages."""

    rule: Literal["backprop", "none"] = "backprop"
    """backprop: offline backpropagation through the static device models; none: test the
    network as fabricated."""
    epochs: int = Field(default=100, ge=1)
    """Maximum passes over the training samples."""
    batch_size: int = Field(default=256, gt=0)
    """Samples per Adam step."""
    frequency_learning_rate: Q("Hz", gt=0) = 6.6e3
    """Adam step of the tuning states (the seed's 6.6 kHz)."""
    relative_frequency_learning_rate: Optional[Q("", gt=0)] = None
    """If given, each junction's Adam step is this fraction of its half width alpha f_base
    (instead of frequency_learning_rate): the same step in linewidths at every frequency."""
    bias_learning_rate: Q("V", gt=0) = 6.6e-6
    """Adam step of the chains' bias voltages."""
    score_scale: Q("1/V", gt=0) = 1e3
    """Logits = score_scale x output voltages (1e3 /V: logits in mV)."""
    learn_score_scale: bool = False
    """Learn the score scale too (Adam on its logarithm)."""
    score_scale_learning_rate: Q("", gt=0) = 1e-2
    beta1: Q("", ge=0, lt=1) = 0.9
    """Adam's first-moment decay."""
    beta2: Q("", ge=0, lt=1) = 0.999
    """Adam's second-moment decay."""
    adam_epsilon: Q("", gt=0) = 1e-8
    validation_fraction: Q("", ge=0, lt=1) = 0.1
    """Share of the training samples held out (stratified) for early stopping; 0: none."""
    patience: Optional[int] = Field(default=20, ge=1)
    """Stop after this many epochs without a lower validation loss (null: never)."""
    restore_best: bool = True
    """End with the state of the epoch with the lowest validation loss."""
    train_tuning: bool = True
    """Train the junctions' resonance frequencies."""
    train_bias: bool = True
    """Train the chains' bias voltages."""
    variability_mode: Literal["perturbed", "ideal_gradient"] = "perturbed"
    """With variability: gradient through the perturbed devices (chip in the loop), or through
    the ideal ones (the seed authors' scheme)."""
    early_stopping_metric: Literal["loss", "accuracy"] = "loss"
    """What patience and restore_best follow on the validation samples: the lowest loss, or
    the highest accuracy (ties: the lower loss). accuracy needs validation_fraction > 0."""
    learning_rate_schedule: Literal["constant", "cosine"] = "constant"
    """constant: the same Adam steps throughout; cosine: every step size decays from its full
    value at the first batch to final_learning_rate_fraction of it at the last batch of epochs."""
    final_learning_rate_fraction: Q("", ge=0, le=1) = 0.0
    """cosine: the step sizes at the last batch, as a fraction of the initial ones."""
    calibrate_bias: bool = False
    """Before training, set each hidden chain's bias so that its neuron's mean current over the
    training samples is the middle of its active window (I_th + I_max) / 2 (replaces the
    configured bias_voltage and initial_bias_spread of the hidden layers)."""
    shift_augmentation: int = Field(default=0, ge=0)
    """Image tasks (mnist 28x28, digits 8x8): shift each training image by a random whole
    number of pixels in [-n, n] along each axis at every batch (zeros fill the edge); 0: off."""
    restarts: int = Field(default=1, ge=1)
    """Train from this many initial programmings and keep the one with the best validation
    accuracy (> 1 needs validation_fraction > 0). For small chips whose neurons emit at f(I):
    their bump-shaped activations leave gradient descent in a poor basin from many starts."""
    initial_state: Literal["plan", "uniform"] = "plan"
    """plan: start from the frequency plan (with initial_tuning_spread; with restarts > 1 the
    later restarts are drawn as for uniform); uniform: every tuning state uniform in its window
    and every hidden chain's bias uniform in [0, initial_bias_max]."""
    initial_bias_max: Q("V", gt=0) = 0.02
    """Upper end of the hidden biases' range for initial_state: uniform (and restarts)."""
    in_situ: InSituSection = Field(default_factory=InSituSection)
    """Physics-aware fine-tuning on the emulated chip after the offline training."""


class RecordSection(_Section):
    """What the run folder keeps."""

    snapshot_junctions: int = Field(default=64, ge=1)
    """Junctions whose resonance frequency is recorded after every epoch."""
    samples: int = Field(default=32, ge=0)
    """Test samples whose internals (chain voltages, neuron currents and powers) are traced."""
    event_traces: list[Literal["tones", "chains", "neurons", "junctions"]] = Field(
        default_factory=lambda: ["chains", "neurons"])
    """engine: event: what the event engine records in time (tones and chain voltages at each
    line delivery, neurons' emitted power and frequency, junction writes)."""
    event_trace_every: Q("s", ge=0) = 0.0
    """Decimation of the event traces (0: every event)."""
    figures: bool = True
    """Draw the figures."""
    trace_file: str = "trace.nc"
    """Where the traces go, inside the run folder."""
    figures_dir: str = "figures"
    """Where the figures go, inside the run folder."""


class Scenario(_Section):
    """A validated scenario, every quantity in SI units."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    """Names the run folder (letters, digits, '-', '_', '.')."""
    seed: Optional[int] = Field(default=None, ge=0)
    """The seed of every random draw; null: drawn at run time and written to the resolved file."""
    devices: DevicesSection = Field(default_factory=DevicesSection)
    network: NetworkSection
    medium: MediumSection = Field(default_factory=MediumSection)
    variability: VariabilitySection = Field(default_factory=VariabilitySection)
    task: TaskSection
    engine: EngineSection = Field(default_factory=EngineSection)
    training: TrainingSection = Field(default_factory=TrainingSection)
    record: RecordSection = Field(default_factory=RecordSection)

    # not part of the schema: where the scenario came from (set by the loader)
    _source: Optional[str] = None
    _positions: Optional[Positions] = None

    @property
    def source(self) -> Optional[str]:
        """The file the scenario was read from (None for text)."""
        return self._source

    @property
    def positions(self) -> Optional[Positions]:
        """The file and line of each key, for later errors."""
        return self._positions


# --------------------------------------------------------------------------------------------
# Reading: extends, --set, validation, checks
# --------------------------------------------------------------------------------------------

def _merge(base, over, base_pos: Positions, over_pos: Positions, path: tuple):
    """Deep-merge ``over`` onto ``base`` (mappings key by key, everything else replaced)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if key in out:
                out[key] = _merge(out[key], value, base_pos, over_pos, path + (key,))
            else:
                base_pos.drop_under(path + (key,))
                _copy_positions(over_pos, base_pos, path + (key,))
                out[key] = value
        if path in over_pos.where:
            base_pos.where[path] = over_pos.where[path]
        return out
    base_pos.drop_under(path)
    _copy_positions(over_pos, base_pos, path)
    return over


def _copy_positions(src: Positions, dst: Positions, path: tuple):
    n = len(path)
    for key, value in src.where.items():
        if key[:n] == path:
            dst.where[key] = value


def _read_file(path: Path, chain: tuple = ()) -> tuple[Any, Positions]:
    label = str(path)
    if path.resolve() in chain:
        raise ScenarioError([Problem(label, None, "extends", "`extends` loops back to this file")])
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(label, None, "", "no such scenario file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(label, None, "", f"cannot read the file ({exc})")]) from None
    data, positions = read_yaml(text, label)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError([positions.problem((), "a scenario must be a mapping of sections "
                                                    "(name:, network:, task:, ...)")])
    if "extends" in data:
        base_name = data.pop("extends")
        ext_file, ext_line = positions.where.get(("extends",), (label, None))
        positions.where.pop(("extends",), None)
        if not isinstance(base_name, str) or not base_name:
            raise ScenarioError([Problem(ext_file, ext_line, "extends",
                                         "expected the file name of another scenario")])
        base_path = (path.parent / base_name)
        if not base_path.is_file():
            raise ScenarioError([Problem(ext_file, ext_line, "extends",
                                         f"no such file {str(base_path)!r} (paths are relative to "
                                         "the scenario that extends)")])
        base, base_pos = _read_file(base_path, chain + (path.resolve(),))
        base_pos.default_file = label
        data = _merge(base, data, base_pos, positions, ())
        positions = base_pos
    return data, positions


def _parse_key_path(key: str) -> tuple:
    parts = []
    for part in key.split("."):
        if not part:
            raise ValueError(f"empty part in key path {key!r}")
        parts.append(int(part) if re.fullmatch(r"\d+", part) else part)
    return tuple(parts)


def apply_override(data: dict, positions: Positions, override: str) -> None:
    """Apply one ``a.b.0.c=VALUE`` override in place (VALUE is parsed as YAML).

    Raises
    ------
    ScenarioError
        If the override is malformed or its path runs through something that is not a mapping or
        a list long enough.
    """
    label = f"--set {override}"
    if "=" not in override:
        raise ScenarioError([Problem(label, None, "", "expected KEY=VALUE, e.g. "
                                                      "network.layers.0.size=64")])
    key, text = override.split("=", 1)
    try:
        path = _parse_key_path(key.strip())
    except ValueError as exc:
        raise ScenarioError([Problem(label, None, key, str(exc))]) from None
    value, _ = read_yaml(text, label) if text.strip() else (None, None)
    node = data
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(node, dict):
            if not isinstance(part, str):
                part = str(part)
            if part not in node or node[part] is None:
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            if part >= len(node):
                raise ScenarioError([Problem(label, None, _dotted(path[:i + 1]),
                                             f"index {part} is past the end of a list of "
                                             f"{len(node)}")])
            node = node[part]
        else:
            raise ScenarioError([Problem(label, None, _dotted(path[:i + 1]),
                                         "cannot go into this value (not a mapping or a list)")])
    last = path[-1]
    if isinstance(node, dict):
        node[str(last)] = value
    elif isinstance(node, list) and isinstance(last, int) and last <= len(node):
        if last == len(node):
            node.append(value)
        else:
            node[last] = value
    else:
        raise ScenarioError([Problem(label, None, _dotted(path),
                                     "cannot set this key (its parent is not a mapping or a list "
                                     "long enough)")])
    positions.drop_under(tuple(str(p) if not isinstance(p, int) else p for p in path))
    positions.where[path] = (label, None)


def _known_fields(model: type[BaseModel], path: tuple) -> list[str]:
    """Field names of the model found at ``path`` (to suggest for unknown keys)."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = current.model_fields.get(part)
        if info is None:
            return []
        current = _unwrap(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation):
    args = getattr(annotation, "__args__", None)
    origin = getattr(annotation, "__origin__", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if args:
        for a in args:
            inner = _unwrap(a)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return origin or annotation


#: why a bound holds, by key name (for "physically impossible" messages)
_REASONS = {
    "damping": "a damping (and the linewidth alpha f it sets) cannot be negative or zero",
    "linewidth": "a linewidth cannot be negative",
    "tone_linewidth": "a linewidth cannot be negative",
    "temperature": "a temperature in kelvin cannot be negative",
    "threshold_current": "the threshold current is positive",
    "max_current": "the maximum current is positive",
    "resistance": "a resistance is positive",
    "sensitivity": "a spin-diode sensitivity is positive (the sign comes from the line shape)",
    "max_power": "a tone's power is positive",
    "max_output_power": "an output power cannot be negative",
    "volume": "a volume is positive",
    "saturation_magnetisation": "a saturation magnetisation is positive",
    "oscillation_energy": "an energy scale is positive",
    "min": "a channel frequency is positive",
    "max": "a channel frequency is positive",
    "values": "a channel frequency is positive",
    "step": "a quantisation step cannot be negative",
    "write_noise": "a standard deviation cannot be negative",
    "write_latency": "a latency cannot be negative",
    "write_energy": "an energy cannot be negative",
    "tap_loss": "a loss in dB cannot be negative (that would be a gain)",
    "loss_per_tap": "a loss in dB cannot be negative (that would be a gain)",
    "loss_per_length": "a loss in dB cannot be negative (that would be a gain)",
    "line_length": "a length cannot be negative",
    "endurance": "a junction takes at least one write",
    "hold_time": "a time between programming and test cannot be negative",
    "readout_bandwidth": "a bandwidth is positive",
    "transconductance": "g_m is positive",
}


def _message(err: dict) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    if kind == "value_error":
        msg = str(ctx.get("error", err["msg"]))
        return msg
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"got {got!r} (expected one of {ctx.get('expected')})"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
              "less_than_equal": "<="}[kind]
        limit = ctx.get({"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt",
                         "less_than_equal": "le"}[kind])
        key = next((p for p in reversed(err["loc"]) if isinstance(p, str)), "")
        reason = _REASONS.get(key)
        why = f": {reason}" if reason else ""
        return f"{got!r} is impossible here{why} (expected a value {op} {limit})"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"got {got!r} (expected a whole number)"
    if kind in ("float_type", "float_parsing"):
        return f"got {got!r} (expected a number)"
    if kind in ("bool_type", "bool_parsing"):
        return f"got {got!r} (expected true or false)"
    if kind in ("string_type",):
        return f"got {got!r} (expected a string)"
    if kind in ("list_type",):
        return f"got {got!r} (expected a list)"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"got {got!r} (expected a mapping of keys)"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')} item(s)"
    if kind == "string_pattern_mismatch":
        return f"got {got!r} (expected letters, digits, '-', '_' or '.')"
    return f"{err['msg']} (got {got!r})"


def _validation_problems(exc: ValidationError, positions: Positions) -> list[Problem]:
    problems: list = []
    suggested: set = set()
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        # drop pydantic's union/tagged markers that are not keys
        loc = tuple(p for p in loc if p not in ("float", "int", "constrained-float"))
        if err["type"] == "extra_forbidden":
            key = loc[-1]
            choices = _known_fields(Scenario, loc[:-1])
            near = difflib.get_close_matches(str(key), choices, n=1, cutoff=0.6)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            allowed = f" (expected one of: {', '.join(choices)})" if choices else ""
            problems.append(positions.problem(loc, f"unknown key{hint}{allowed}"))
            if near:
                suggested.add(loc[:-1] + (near[0],))
        else:
            problems.append((loc, positions.problem(loc, _message(err))))
    # a missing key that an unknown key's "did you mean" already names is the same problem
    return [p for p in problems if not isinstance(p, tuple)] + [
        p for loc, p in (q for q in problems if isinstance(q, tuple))
        if not (p.message == "required key is missing" and loc in suggested)]


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))      # a default inherited by many layers: once
    return sorted(unique, key=lambda p: (p.line is None, p.file, p.line or 0))


def data_root() -> Optional[Path]:
    """The folder named by ``$RFEMU_DATA`` (None when unset)."""
    value = os.environ.get(DATA_ENV)
    return Path(value) if value else None


STANDARD_DATA = {
    "drone": "drone_rf/RadioSpin_D62_RF_fingerprinting.h5",
    "mnist": "mnist",
}
WHERE_TO_GET = {
    "drone": "Zenodo record 7646236 (CC BY 4.0)",
    "mnist": "the four MNIST IDX files (train/t10k images and labels)",
}


def resolve_data_path(task: "TaskSection", scenario_dir: Optional[Path]) -> Optional[Path]:
    """Where the data of ``task`` is, or None for data sets that need no file."""
    if task.dataset not in STANDARD_DATA:
        return None
    if task.path is None:
        root = data_root()
        return (root / STANDARD_DATA[task.dataset]) if root is not None else None
    p = Path(os.path.expandvars(os.path.expanduser(task.path)))
    if p.is_absolute():
        return p
    candidates = []
    root = data_root()
    if root is not None:
        candidates.append(root / p)
    if scenario_dir is not None:
        candidates.append(scenario_dir / p)
    for c in candidates:
        if c.exists():
            return c
    return candidates[0] if candidates else p


def _checks(s: Scenario, positions: Positions, scenario_dir: Optional[Path]) -> list[Problem]:
    """Checks that span keys or touch the file system, each citing a line."""
    problems = []
    # output paths stay in the run folder
    for key in ("trace_file", "figures_dir"):
        value = getattr(s.record, key)
        p = Path(value)
        if p.is_absolute() or ".." in p.parts or value.strip() in ("", "."):
            problems.append(positions.problem(("record", key),
                                              f"{value!r} leaves the run folder (expected a "
                                              "relative path inside it, without '..')"))
    # task keys that the data set does not use
    allowed = _TASK_KEYS[s.task.dataset] | {"dataset"}
    for key in sorted(k for k in s.task.model_fields_set if k not in allowed):
        problems.append(positions.problem(("task", key),
                                          f"does not apply to dataset {s.task.dataset} (its keys: "
                                          f"{', '.join(sorted(_TASK_KEYS[s.task.dataset]))})"))
    # pixel shifts need an image
    if s.training.shift_augmentation and s.task.dataset not in IMAGE_SHAPES:
        problems.append(positions.problem(("training", "shift_augmentation"),
                                          f"shift_augmentation={s.training.shift_augmentation} "
                                          f"needs an image task ({', '.join(sorted(IMAGE_SHAPES))}), "
                                          f"not {s.task.dataset} (expected 0)"))
    if s.training.early_stopping_metric == "accuracy" and s.training.validation_fraction == 0:
        problems.append(positions.problem(("training", "early_stopping_metric"),
                                          "accuracy is measured on the validation samples: give "
                                          "training.validation_fraction > 0 (it is 0)"))
    if s.training.restarts > 1 and s.training.validation_fraction == 0:
        problems.append(positions.problem(("training", "restarts"),
                                          f"restarts={s.training.restarts} keeps the best on the validation "
                                          "samples: give training.validation_fraction > 0 (it is 0)"))
    if s.training.in_situ.epochs > 0 and s.training.rule == "none":
        problems.append(positions.problem(("training", "in_situ", "epochs"),
                                          "in-situ fine-tuning needs training.rule: backprop (it is none)"))
    # the macrospin parameters pass the device's own checks (unit vectors, ...)
    try:
        from rfemu.devices.llgs import MacrospinParameters
        llgs = s.devices.llgs.model_dump()
        for key in ("easy_axis", "polarizer", "oersted_field_per_ampere"):
            llgs[key] = tuple(llgs[key])
        MacrospinParameters(**llgs)
    except ValueError as exc:
        problems.append(positions.problem(("devices", "llgs"), str(exc)))
    # the network against the task: one input tone per feature, one output chain per class
    n_features, n_classes = TASK_SHAPES[s.task.dataset]
    plan = s.network.inputs.frequency_plan
    if plan.kind == "explicit" and len(plan.values) != n_features:
        problems.append(positions.problem(("network", "inputs", "frequency_plan", "values"),
                                          f"{len(plan.values)} input tones for the {n_features} "
                                          f"features of {s.task.dataset} (expected {n_features})"))
    layers = s.network.layers
    if layers[-1].size != n_classes:
        problems.append(positions.problem(("network", "layers", len(layers) - 1, "size"),
                                          f"the last layer has {layers[-1].size} chains but "
                                          f"{s.task.dataset} has {n_classes} classes (expected "
                                          f"size: {n_classes}, one chain per class score)"))
    n_tones = n_features
    for i, layer in enumerate(layers):
        here = ("network", "layers", i)
        n_junctions = layer.junctions_per_chain or n_tones
        if layer.resonance_plan.kind == "explicit" and len(layer.resonance_plan.values) != n_junctions:
            problems.append(positions.problem(here + ("resonance_plan", "values"),
                                              f"{len(layer.resonance_plan.values)} resonance "
                                              f"frequencies for {n_junctions} junctions per chain"))
        if isinstance(layer.sign_pattern, list) and len(layer.sign_pattern) != n_junctions:
            problems.append(positions.problem(here + ("sign_pattern",),
                                              f"{len(layer.sign_pattern)} signs for {n_junctions} "
                                              "junctions per chain"))
        if layer.emission_plan is not None and layer.emission_plan.kind == "explicit" \
                and len(layer.emission_plan.values) != layer.size:
            problems.append(positions.problem(here + ("emission_plan", "values"),
                                              f"{len(layer.emission_plan.values)} channels for "
                                              f"{layer.size} neurons"))
        low, high = layer.tuning_window
        if not low <= 0.0 <= high:
            problems.append(positions.problem(here + ("tuning_window",) if ("network", "layers", i,
                                              "tuning_window") in positions.where else
                                              ("devices", "frequency_state", "window_low"),
                                              f"the tuning window [{low:g}, {high:g}] Hz must "
                                              "contain 0 (the as-fabricated state)"))
        n_tones = layer.size
    # the data file exists
    if s.task.dataset in STANDARD_DATA:
        path = resolve_data_path(s.task, scenario_dir)
        key = ("task", "path") if s.task.path is not None else ("task", "dataset")
        if path is None:
            problems.append(positions.problem(key, f"the {s.task.dataset} data set is not found: "
                                                   f"set ${DATA_ENV} to the folder holding "
                                                   f"{STANDARD_DATA[s.task.dataset]} or give "
                                                   f"task.path (get it from "
                                                   f"{WHERE_TO_GET[s.task.dataset]})"))
        elif not path.exists():
            problems.append(positions.problem(key, f"data file {str(path)!r} does not exist "
                                                   f"(expected {STANDARD_DATA[s.task.dataset]}, "
                                                   f"from {WHERE_TO_GET[s.task.dataset]})"))
    # a tuning step larger than the window is meaningless
    fs = s.devices.frequency_state
    if fs.step > fs.window_high - fs.window_low:
        problems.append(positions.problem(("devices", "frequency_state", "step"),
                                          f"a step of {fs.step:g} Hz is larger than the tuning "
                                          f"window {fs.window_high - fs.window_low:g} Hz"))
    return problems


def _with_layer_defaults(data: dict) -> dict:
    """Put the devices' keys under each layer's own ``resonator:``/``oscillator:`` overrides
    (before validation, so that checks across keys see the merged values)."""
    devices = data.get("devices")
    network = data.get("network")
    if not isinstance(devices, dict) or not isinstance(network, dict):
        return data
    layers = network.get("layers")
    if not isinstance(layers, list):
        return data
    data = copy.deepcopy(data)
    for layer in data["network"]["layers"]:
        if not isinstance(layer, dict):
            continue
        for kind in ("resonator", "oscillator"):
            if isinstance(layer.get(kind), dict) and isinstance(devices.get(kind), dict):
                layer[kind] = {**devices[kind], **layer[kind]}
    return data


def _fill_layer_defaults(s: "Scenario") -> None:
    """Fill each layer's devices, tuning window and tap loss from the scenario-wide defaults."""
    fs = s.devices.frequency_state
    for layer in s.network.layers:
        if layer.resonator is None:
            layer.resonator = s.devices.resonator.model_copy()
        if layer.oscillator is None:
            layer.oscillator = s.devices.oscillator.model_copy()
        if layer.tuning_window is None:
            layer.tuning_window = [fs.window_low, fs.window_high]
        if layer.tap_loss is None:
            layer.tap_loss = s.medium.loss_per_tap


def _validate(data: Any, positions: Positions, source: Optional[str],
              scenario_dir: Optional[Path]) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError([positions.problem((), "a scenario must be a mapping of sections")])
    data = _with_layer_defaults(data)
    try:
        s = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_sorted(_validation_problems(exc, positions))) from None
    _fill_layer_defaults(s)
    problems = _checks(s, positions, scenario_dir)
    if problems:
        raise ScenarioError(_sorted(problems))
    s._source = source
    s._positions = positions
    return s


def load_scenario(path, overrides=()) -> Scenario:
    """Read, merge (``extends``), override (``--set``) and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    overrides : sequence of str
        ``KEY=VALUE`` strings, ``KEY`` a dotted path (list indices as numbers).

    Returns
    -------
    Scenario
        Every quantity in SI units.

    Raises
    ------
    ScenarioError
        With one :class:`Problem` per thing wrong, each citing file and line.
    """
    path = Path(path)
    data, positions = _read_file(path)
    problems = []
    for override in overrides or ():
        try:
            apply_override(data, positions, override)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    return _validate(data, positions, str(path), path.parent)


def load_scenario_text(text: str, overrides=(), file: str = "<scenario>",
                       base_dir=None) -> Scenario:
    """Validate a scenario given as YAML text (``extends`` is relative to ``base_dir``)."""
    data, positions = read_yaml(text, file)
    data = {} if data is None else data
    if isinstance(data, dict) and "extends" in data:
        base_dir = Path(base_dir or ".")
        tmp_name = data.pop("extends")
        base, base_pos = _read_file(base_dir / str(tmp_name))
        base_pos.default_file = file
        data = _merge(base, data, base_pos, positions, ())
        positions = base_pos
    for override in overrides or ():
        apply_override(data, positions, override)
    return _validate(data, positions, None, Path(base_dir) if base_dir else None)


# --------------------------------------------------------------------------------------------
# The resolved scenario (defaults filled in, SI units, the seed used)
# --------------------------------------------------------------------------------------------

_SI_UNITS: dict[tuple, str] = {}


_TASK_DEFAULTS = {
    "xor": {"n_train": 400, "n_test": 200},
    "circles": {"n_train": 400, "n_test": 200, "noise": 0.05},
    "moons": {"n_train": 400, "n_test": 200, "noise": 0.1},
}


def task_settings(task: TaskSection) -> dict:
    """The keys of ``task`` that its data set uses, defaults filled in."""
    out = {"dataset": task.dataset}
    defaults = _TASK_DEFAULTS.get(task.dataset, {})
    for key in sorted(_TASK_KEYS[task.dataset]):
        value = getattr(task, key)
        out[key] = defaults.get(key) if value is None and key in defaults else value
    return out


def resolved_dict(s: Scenario, seed: Optional[int] = None) -> dict:
    """The scenario as plain data: every default filled in, SI floats, the seed used.

    The task keeps only the keys its data set uses (the others would be refused on reading).
    """
    data = s.model_dump(mode="json")
    data["task"] = task_settings(s.task)
    if seed is not None:
        data["seed"] = int(seed)
    return data


def dump_resolved(s: Scenario, seed: Optional[int] = None) -> str:
    """YAML text of :func:`resolved_dict` with a header saying what it is."""
    header = ("# Resolved scenario written by rfemu: defaults filled in, every quantity in SI units\n"
              "# (Hz, s, A, V, W, Ohm, K, J, V/W, S, A/m, m^3; levels in dB), the seed used.\n"
              "# `rfemu run` on this file reproduces metrics.json.\n")
    return header + yaml.safe_dump(resolved_dict(s, seed), sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------------------------
# reference of the schema (for the documentation)
# --------------------------------------------------------------------------------------------

def _unit_of(info) -> str:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if "unit" in extra:
        return extra["unit"] or "-"
    annotation = info.annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        for meta in getattr(arg, "__metadata__", ()) or ():
            if getattr(meta, "json_schema_extra", None):
                return meta.json_schema_extra.get("unit") or "-"
    return ""


def _default_text(info) -> str:
    from pydantic_core import PydanticUndefined
    if info.default is PydanticUndefined:
        if info.default_factory is not None:
            value = info.default_factory()
            if isinstance(value, BaseModel):
                return "(section)"
            return repr(value)
        return "required"
    value = info.default
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


def schema_reference() -> str:
    """Markdown tables of every key of the scenario schema: SI unit, default, meaning.

    One table per section (each section model once: the frequency plans and the per-layer
    device overrides share theirs).
    """
    seen: set = set()
    out: list[str] = []

    def table(model, path):
        seen.add(model)
        rows, nested = [], []
        for name, info in model.model_fields.items():
            inner = _unwrap(info.annotation)
            is_section = isinstance(inner, type) and issubclass(inner, BaseModel)
            if is_section:
                nested.append((name, inner))
            doc = " ".join((info.description or "").split()).replace("|", "\\|")
            default = "(section)" if is_section and info.default_factory else _default_text(info)
            rows.append(f"| `{name}` | {_unit_of(info)} | {default} | {doc} |")
        title = " ".join((model.__doc__ or "").split())
        if model.__doc__ == BaseModel.__doc__:
            title = ""
        out.append(f"#### `{path or '(top level)'}`\n" + (f"\n{title}\n" if title else "") +
                   "\n| key | SI unit | default | meaning |\n| --- | --- | --- | --- |\n" +
                   "\n".join(rows) + "\n")
        for name, inner in nested:
            sub = f"{path}.{name}" if path else name
            if name == "layers":
                sub += "[i]"
            if inner not in seen:
                table(inner, sub)

    table(Scenario, "")
    text = "\n".join(out)
    text = re.sub(r":(?:class|mod|func):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")
