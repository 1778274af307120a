"""Quantities with units (pint): strings such as "346 MHz" or "-30 dBm" converted once to SI."""
from __future__ import annotations

import math
import re
from typing import Annotated

import pint
from pydantic import BeforeValidator, Field

__all__ = ["UnitProblem", "parse_quantity", "Q", "Frequency", "Time", "Current", "Power",
           "Fraction"]


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
        When the string is not a quantity, has the wrong dimension, or is not finite
        (``.inf``, ``.nan``, ``1e400 Hz``).

    Examples
    --------
    >>> parse_quantity("346 MHz", "Hz")
    346000000.0
    >>> parse_quantity("-30 dBm", "W")
    1e-06
    """
    number = _convert(value, unit)
    if not math.isfinite(number):
        raise UnitProblem(f"{value!r} is not a finite number ({_expected(unit)})")
    return number


def _expected(unit: str) -> str:
    kind, example = _KIND.get(unit, unit), _EXAMPLE.get(unit, unit)
    return f"expected {kind} in {unit or 'plain numbers'}, e.g. {example}"


#: what a quantity string may hold: digits, signs, a decimal point, unit names (with micro, Ohm
#: and the superscripts 2 and 3), /, *, ^, %, ()
_QUANTITY_CHARS = re.compile(r"^[0-9A-Za-z\u00b5\u03bc\u03a9\u2126\u00b2\u00b3%/*^.+\-\s()]+$")


def _convert(value, unit: str) -> float:
    """:func:`parse_quantity` before the finiteness check."""
    kind, expected = _KIND.get(unit, unit), _expected(unit)
    if isinstance(value, bool) or value is None:
        raise UnitProblem(f"got {value!r} ({expected})")
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        raise UnitProblem(f"got a {type(value).__name__} ({expected})")
    text = value.strip()
    if not _QUANTITY_CHARS.match(text):
        raise UnitProblem(f"{value!r} holds characters that are not part of a number with a unit "
                          f"({expected})")
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

