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

The package: :mod:`~rfemu.scenario.errors` (problems, positions), :mod:`~rfemu.scenario.yaml_marks`
(safe YAML with line marks), :mod:`~rfemu.scenario.units` (pint), :mod:`~rfemu.scenario.schema`,
:mod:`~rfemu.scenario.loading` (extends, --set, validation), :mod:`~rfemu.scenario.checks`,
:mod:`~rfemu.scenario.data` (data paths), :mod:`~rfemu.scenario.resolved`,
:mod:`~rfemu.scenario.reference` (the README's key reference: ``python -m rfemu.scenario.reference
README.md``), :mod:`~rfemu.scenario.derive` (sections derived from the dataclass fields' metadata:
one source for every parameter) and :mod:`~rfemu.scenario.build` (a validated scenario back to the
network description, training, event-engine and energy settings).

Every problem becomes one line ``FILE:LINE: key.path: what is wrong (what was expected)`` and all
of them are raised together as a :class:`ScenarioError`.

Examples
--------
>>> from rfemu.scenario import load_scenario_text
>>> s = load_scenario_text("name: demo\\nnetwork: {layers: [{size: 2}]}\\n"
...                        "task: {dataset: xor}\\ndevices: {resonator: {damping: 0.01}}\\n")
>>> s.devices.resonator.damping
0.01
"""
from rfemu.scenario.checks import _checks  # noqa: F401
from rfemu.scenario.data import (DATA_ENV, STANDARD_DATA, WHERE_TO_GET, data_root,  # noqa: F401
                                 resolve_data_path)
from rfemu.scenario.errors import Positions, Problem, ScenarioError, _dotted  # noqa: F401
from rfemu.scenario.loading import (_REASONS, _merge, _message, _read_file,  # noqa: F401
                                    _validate, _validation_problems, apply_override,
                                    load_scenario, load_scenario_text)
from rfemu.scenario.reference import schema_reference  # noqa: F401
from rfemu.scenario.resolved import dump_resolved, resolved_dict, task_settings  # noqa: F401
from rfemu.scenario.schema import *  # noqa: F401,F403
from rfemu.scenario.schema import (_TASK_KEYS, DATASETS, IMAGE_SHAPES, TASK_SHAPES,  # noqa: F401
                                   _known_fields, _Section, _unwrap)
from rfemu.scenario.units import (Q, Current, Fraction, Frequency, Power, Time,  # noqa: F401
                                  UnitProblem, parse_quantity)
from rfemu.scenario.yaml_marks import PositionLoader, read_yaml  # noqa: F401

__all__ = [
    "ScenarioError", "Problem", "Positions", "Scenario", "load_scenario", "load_scenario_text",
    "read_yaml", "apply_override", "parse_quantity", "resolved_dict", "dump_resolved",
    "DATA_ENV", "data_root",
]

