"""rfemu: an agent-based, event-driven emulator of spintronic radio-frequency neural networks.

Spin-torque nano-oscillators are the neurons, magnetic-tunnel-junction spin diodes the synapses,
shared RF lines carry the tones. Device physics lives in :mod:`rfemu.devices` and the compiled
kernel ``rfemu._core``; see ``PHYSICS.md`` for the models.

Examples
--------
>>> import rfemu
>>> scenario = rfemu.load_scenario("scenarios/quickstart.yaml")     # doctest: +SKIP
>>> result = rfemu.run(scenario, engine="compiled")                  # doctest: +SKIP
>>> result.metrics["test_accuracy"]                                  # doctest: +SKIP
"""
from rfemu._version import __version__

__all__ = ["__version__", "load_scenario", "run", "Result", "ScenarioError"]

_LAZY = {"load_scenario": "rfemu.scenario", "ScenarioError": "rfemu.scenario",
         "run": "rfemu.api", "Result": "rfemu.results"}


def __getattr__(name):
    # The scenario and run API pull in pydantic, pint, matplotlib...: load them on first use.
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rfemu' has no attribute {name!r}")
