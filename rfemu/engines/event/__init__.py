"""The event engine: the network graph emulated as hardware, one simpy process per device.

Modules of the package (one concern each):

- :mod:`~rfemu.engines.event.config`  settings (:class:`EventConfig`) and results
  (:class:`InferenceResult`, :class:`EventRunResult`);
- :mod:`~rfemu.engines.event.clock`  the clock: integer ticks of one attosecond (a run of any
  length keeps full time resolution), and :class:`~rfemu.engines.event.clock.PriorityTimeout`,
  the one event type the agents schedule;
- :mod:`~rfemu.engines.event.agents`  the agents' state records and their plain generator
  functions, and :class:`Priority` (the order of simultaneous events);
- :mod:`~rfemu.engines.event.engine`  :class:`EventEngine`, which builds the agents from a network
  graph and runs inferences;
- :mod:`~rfemu.engines.event.tracer`  what a run records (:class:`TraceConfig`, :class:`Tracer`,
  :func:`save_traces`);
- :mod:`~rfemu.engines.event.state`  the engine's state between two inferences as plain data
  (:meth:`EventEngine.state`) and an engine continuing from it (a resumed run).

The figures of an event run are :func:`rfemu.plots.plot_line_spectrum` and
:func:`rfemu.plots.plot_neuron_settling`.
"""
from rfemu.engines.event.agents import Priority
from rfemu.engines.event.config import EventConfig, EventRunResult, InferenceResult
from rfemu.engines.event.engine import EventEngine
from rfemu.engines.event.tracer import TraceConfig, Tracer, save_traces

__all__ = ["Priority", "EventConfig", "EventEngine", "InferenceResult", "EventRunResult", "TraceConfig",
           "Tracer", "save_traces"]
