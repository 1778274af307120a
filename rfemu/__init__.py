"""rfemu: an agent-based, event-driven emulator of spintronic radio-frequency neural networks.

Spin-torque nano-oscillators are the neurons, magnetic-tunnel-junction spin diodes the synapses,
shared RF lines carry the tones. Device physics lives in :mod:`rfemu.devices` and the compiled
kernel ``rfemu._core``; see ``docs/physics.md`` for the models.

Examples
--------
>>> import rfemu
>>> scenario = rfemu.load_scenario("scenarios/quickstart.yaml")     # doctest: +SKIP
>>> result = rfemu.run(scenario, engine="compiled")                  # doctest: +SKIP
>>> result.metrics["test_accuracy"]                                  # doctest: +SKIP
"""
import os as _os

from rfemu._version import __version__

# The kernel's OpenMP threads sleep while they wait instead of spinning (libgomp reads this once,
# when it loads): on a machine whose cores are shared with other processes, a spinning thread
# loses its core to them and every parallel loop then waits for a scheduler time slice (drone
# training epoch, 2 threads, another process busy on one of the 2 cores: 184 ms spinning, 27 ms
# sleeping, 27 ms on one thread). An OMP_WAIT_POLICY set by the user is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "passive")

__all__ = ["__version__", "load_scenario", "run", "Result", "ScenarioError"]

_LAZY = {"load_scenario": "rfemu.scenario", "ScenarioError": "rfemu.scenario",
         "run": "rfemu.api", "Result": "rfemu.results"}


def __getattr__(name):
    # The scenario and run API pull in pydantic, pint, matplotlib...: load them on first use.
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rfemu' has no attribute {name!r}")
