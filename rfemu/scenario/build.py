"""From a validated scenario to the objects that run it: the network description, the training,
event-engine and energy settings.

Nothing is copied by hand: :func:`from_sections` fills every dataclass field from the scenario key
its metadata names (:mod:`rfemu.scenario.derive`); a field that is not a scenario key is given by
the caller (a seed stream, a progress bar) or keeps its default.
"""
from __future__ import annotations

import dataclasses

from pydantic import BaseModel

from rfemu.scenario.derive import _admits_none, _base_type, field_key, is_scenario_key, type_hints
from rfemu.scenario.errors import Problem, ScenarioError
from rfemu.scenario.schema import Scenario

__all__ = ["from_sections", "conv_description", "to_description", "event_config", "energy_model", "frequency_state", "scenario_problem"]


def _plain(value, hint):
    """A section value as the dataclass field wants it: nested sections become their dataclass,
    lists become tuples (of floats when they hold numbers)."""
    base = _base_type(hint)
    if isinstance(value, BaseModel) and dataclasses.is_dataclass(base):
        return from_sections(base, {"": value}, "")
    if isinstance(value, list):
        return tuple(float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                     for v in value)
    return value


def from_sections(cls, sections: dict, home: str, **given):
    """An instance of dataclass ``cls`` whose fields come from the scenario ``sections``.

    Parameters
    ----------
    cls : dataclass type
    sections : dict
        Section path -> validated section (``{"medium": s.medium, "engine.event": ...}``).
    home : str
        The section of ``cls``'s own fields.
    **given
        Values of fields that are not read from the sections (they win).

    Notes
    -----
    A null key keeps the dataclass's default when the field does not take None (``endurance``:
    unlimited); a key whose ``enabled_by`` flag is false gives None.
    """
    hints = type_hints(cls)
    kwargs = dict(given)
    for f in dataclasses.fields(cls):
        if f.name in kwargs or not is_scenario_key(f):
            continue
        section_path, key = field_key(f, home)
        section = sections[section_path]
        value = getattr(section, key)
        flag = f.metadata.get("enabled_by")
        if flag is not None and not getattr(section, flag):
            value = None
        if value is None and not _admits_none(hints[f.name]):
            continue
        kwargs[f.name] = _plain(value, hints[f.name])
    return cls(**kwargs)


def scenario_problem(s: Scenario, path: tuple, message: str) -> ScenarioError:
    """A :class:`ScenarioError` citing the line of ``path`` in the scenario's file."""
    positions = s.positions
    if positions is None:
        return ScenarioError([Problem(s.source or "<scenario>", None, ".".join(map(str, path)),
                                      message)])
    return ScenarioError([positions.problem(path, message)])


def conv_description(s: Scenario):
    """The :class:`rfemu.network.conv.ConvDescription` of ``network.conv`` (None without one).

    Raises
    ------
    ScenarioError
        When the description's own checks refuse a value (cited at ``network.conv``).
    """
    if s.network.conv is None:
        return None
    from rfemu.network.conv import ConvDescription
    try:
        return from_sections(ConvDescription, {"network.conv": s.network.conv}, "network.conv")
    except ValueError as exc:
        raise scenario_problem(s, ("network", "conv"), str(exc)) from None


def to_description(s: Scenario, n_inputs: int, seed=None):
    """The :class:`rfemu.network.NetworkDescription` of a scenario's network.

    Parameters
    ----------
    s : Scenario
    n_inputs : int
        Number of input tones (the task's features).
    seed : int, optional
        Stored as the description's default seed.

    Raises
    ------
    ScenarioError
        When the description's own checks refuse a value (cited at the layer's line).
    """
    from rfemu.network.description import (InputDescription, LayerDescription,
                                           NetworkDescription, VariabilityDescription)
    net = s.network
    conv, image_shape = conv_description(s), None
    if conv is not None:                 # the pooled maps are the input tones
        from rfemu.scenario.schema import IMAGE_SHAPES
        image_shape = (1,) + tuple(IMAGE_SHAPES[s.task.dataset])
        n_inputs = conv.n_pooled(*image_shape)
    try:
        inputs = from_sections(InputDescription, {"network.inputs": net.inputs}, "network.inputs",
                               size=int(n_inputs))
    except ValueError as exc:
        raise scenario_problem(s, ("network", "inputs"), str(exc)) from None
    layers = []
    for i, layer in enumerate(net.layers):
        try:
            layers.append(from_sections(LayerDescription, {"network.layers": layer,
                                                           "medium": s.medium}, "network.layers"))
        except ValueError as exc:
            raise scenario_problem(s, ("network", "layers", i), str(exc)) from None
    try:
        variability = from_sections(VariabilityDescription, {"variability": s.variability},
                                    "variability")
    except ValueError as exc:
        raise scenario_problem(s, ("variability",), str(exc)) from None
    return from_sections(NetworkDescription, {"network": net, "medium": s.medium, "": s},
                         "network", inputs=inputs, layers=tuple(layers), variability=variability,
                         seed=seed, conv=conv, image_shape=image_shape)


def event_config(s: Scenario):
    """The :class:`rfemu.engines.event.EventConfig` of ``engine.event``, ``medium`` and
    ``engine.n_threads`` (``locking_coupling`` only with ``medium.injection_locking``)."""
    from rfemu.engines.event.config import EventConfig
    return from_sections(EventConfig, {"engine.event": s.engine.event, "medium": s.medium,
                                       "engine": s.engine}, "engine.event")


def energy_model(s: Scenario):
    """The energy account's :class:`rfemu.devices.energy.EnergyModel` of ``medium``."""
    from rfemu.devices.energy import EnergyModel
    return from_sections(EnergyModel, {"medium": s.medium}, "medium")


def frequency_state(s: Scenario, **given):
    """A :class:`rfemu.devices.resonator.FrequencyState` with ``devices.frequency_state``'s write
    physics (a null endurance: unlimited); ``given`` holds the junctions' base frequencies, the
    window of their line, the random stream and the starting shifts."""
    from rfemu.devices.resonator import FrequencyState
    return from_sections(FrequencyState, {"devices.frequency_state": s.devices.frequency_state},
                         "devices.frequency_state", **given)
