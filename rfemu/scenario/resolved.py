"""The resolved scenario: every default filled in, SI floats, the seed used."""
from __future__ import annotations

from typing import Optional

import yaml

from rfemu.scenario.schema import Scenario, TaskSection, _TASK_KEYS
from rfemu.tasks.registry import DATASETS as _DATA_SETS

__all__ = ["task_settings", "resolved_dict", "dump_resolved"]


_SI_UNITS: dict[tuple, str] = {}


#: the defaults of the keys that are null in the schema, from the data-set registry
_TASK_DEFAULTS = {name: {k: v for k, v in d.defaults.items() if v is not None}
                  for name, d in _DATA_SETS.items()}


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


