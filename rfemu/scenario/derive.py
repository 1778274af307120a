"""Scenario sections derived from the device and description dataclasses (one source per parameter).

Every parameter of a device (:class:`~rfemu.devices.oscillator.OscillatorParameters`, ...), of the
network description, of training and of the event engine is declared once, as a dataclass field
whose ``metadata`` says what the scenario needs to know about it:

``unit``
    The SI unit of a quantity ("Hz", "rad/s", "A", "" for a plain number, "dB" ...): the scenario
    key takes a number in that unit or a string with units (:func:`rfemu.scenario.units.parse_quantity`).
    Angular frequencies are "rad/s" explicitly ("50 MHz" given to one is read as 2 pi x 50 MHz).
``gt``, ``ge``, ``lt``, ``le``
    Bounds (a value outside is refused citing FILE:LINE).
``length``
    A fixed-length vector (a tuple in the dataclass, a list in the scenario).
``choices``
    The allowed strings.
``nullable``
    The scenario key may be null (a field whose type or default admits None always may).
``section``, ``key``
    Where the key lives when not in the dataclass's own section, and its name when it differs from
    the field's (``minimum`` is ``min`` in a frequency plan).
``scenario_default``
    The scenario's default when it differs from the dataclass's (e.g. the scenario's
    ``engine.event.noise_duration`` of 2 us where the engine computes one when given None).
``enabled_by``
    A boolean key of the same section: when it is false the dataclass gets None.
``scenario``
    False for a field that is not a scenario key (the run sets it: a seed stream, a progress bar);
    ``help`` then says where its value comes from.
``help``
    The meaning, shown in the README's key reference.

:func:`derive_section` turns these into pydantic models (``extra="forbid"``) and
:mod:`rfemu.scenario.build` turns validated sections back into the dataclasses.
"""
from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from rfemu.scenario.units import Q

__all__ = ["scenario_fields", "derive_section", "field_key", "is_scenario_key", "type_hints"]

BOUNDS = ("gt", "ge", "lt", "le")


@functools.lru_cache(maxsize=None)
def type_hints(cls) -> dict:
    """The resolved annotations of a dataclass (its module uses ``from __future__ import annotations``)."""
    return typing.get_type_hints(cls)


def is_scenario_key(f: dataclasses.Field) -> bool:
    """Whether a dataclass field is a scenario key (init fields not marked ``scenario: False``)."""
    return f.init and f.metadata.get("scenario", True) is not False


def field_key(f: dataclasses.Field, home: str) -> tuple[str, str]:
    """(section, key) of a dataclass field whose class lives in section ``home``."""
    return f.metadata.get("section", home), f.metadata.get("key", f.name)


def scenario_fields(cls, home: str, section: str):
    """The init fields of dataclass ``cls`` (home section ``home``) whose key is in ``section``."""
    for f in dataclasses.fields(cls):
        if is_scenario_key(f) and field_key(f, home)[0] == section:
            yield f


def _default(f: dataclasses.Field):
    if "scenario_default" in f.metadata:
        return f.metadata["scenario_default"]
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _base_type(hint):
    """The type under ``X | None``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return hint


def _admits_none(hint) -> bool:
    return type(None) in typing.get_args(hint)


def _annotation(f: dataclasses.Field, hint, default, sections: dict):
    md = f.metadata
    bounds = {k: md[k] for k in BOUNDS if k in md}
    base = _base_type(hint)
    if "choices" in md:
        ann = Literal[tuple(md["choices"])]
    elif "unit" in md and (isinstance(default, (tuple, list)) or "length" in md
                           or base in (tuple, list)):
        ann = list[Q(md["unit"], **bounds)]
        if "length" in md:
            ann = Annotated[ann, Field(min_length=md["length"], max_length=md["length"])]
    elif "unit" in md:
        ann = Q(md["unit"], **bounds)
    elif base is bool:
        ann = bool
    elif base is int:
        ann = Annotated[int, Field(**bounds)] if bounds else int
    elif base is str:
        ann = str
    elif base in sections:
        ann = sections[base]
    else:
        raise TypeError(f"{f.name}: cannot derive a scenario type from {hint!r} (give one in types=)")
    return ann


def derive_section(name: str, doc: str, sources, section: str, *, base: type[BaseModel],
                   types: Optional[dict] = None, sections: Optional[dict] = None) -> type[BaseModel]:
    """A pydantic section whose keys are the dataclass fields that live in ``section``.

    Parameters
    ----------
    name, doc : str
        The model's name and docstring (the README's section text).
    sources : sequence of (dataclass, home section)
        Where the fields come from; a key already declared (by ``base`` or an earlier source) is
        not declared again.
    section : str
        The dotted path of this section ("devices.oscillator", "medium", "network.layers" ...).
    base : pydantic model
        Declares the keys that exist only in scenarios and the checks across keys.
    types : dict, optional
        Key -> annotation for keys whose scenario type the metadata cannot say (a union of a
        name and a list, ...).
    sections : dict, optional
        Dataclass -> pydantic section, for fields that hold another dataclass (a frequency plan,
        a layer's own resonator).
    """
    types, sections = types or {}, sections or {}
    fields: dict[str, Any] = {}
    for cls, home in sources:
        hints = type_hints(cls)
        for f in scenario_fields(cls, home, section):
            key = field_key(f, home)[1]
            if key in fields or key in base.model_fields:
                continue
            default = _default(f)
            ann = types.get(key) or _annotation(f, hints[f.name], default, sections)
            if default is None or f.metadata.get("nullable") or _admits_none(hints[f.name]):
                ann = Optional[ann]
            extra = {"json_schema_extra": {"unit": f.metadata["unit"]}} if "unit" in f.metadata else {}
            help_ = f.metadata.get("help")
            if default is dataclasses.MISSING:
                info = Field(description=help_, **extra)
            elif isinstance(default, BaseModel) or (isinstance(ann, type) and issubclass(ann, BaseModel)):
                info = Field(default_factory=ann, description=help_, **extra)
            elif dataclasses.is_dataclass(default) and type(default) in sections:
                info = Field(default_factory=sections[type(default)], description=help_, **extra)
            elif isinstance(default, (tuple, list)):
                info = Field(default_factory=functools.partial(list, default), description=help_,
                             **extra)
            else:
                info = Field(default=default, description=help_, **extra)
            fields[key] = (ann, info)
    # the keys' meanings come from the metadata: no attribute docstrings to look for (pydantic
    # would search every module for the source of a class made here, ~0.1 s per section)
    namespace = {"__module__": base.__module__, "__qualname__": name, "__doc__": doc,
                 "model_config": ConfigDict(use_attribute_docstrings=False),
                 "__annotations__": {key: ann for key, (ann, _) in fields.items()},
                 **{key: info for key, (_, info) in fields.items()}}
    return type(base)(name, (base,), namespace)
