"""rfemu: an agent-based, event-driven emulator of spintronic radio-frequency neural networks.

Spin-torque nano-oscillators are the neurons, magnetic-tunnel-junction spin diodes the synapses,
shared RF lines carry the tones. Device physics lives in :mod:`rfemu.devices` and the compiled
kernel ``rfemu._core``; see ``PHYSICS.md`` for the models.
"""
from rfemu._version import __version__

__all__ = ["__version__"]
