"""Device models: each owns its physics (docs/physics.md), with a static and a dynamic form.

- :mod:`rfemu.devices.oscillator`  spin-torque nano-oscillator (neuron)
- :mod:`rfemu.devices.resonator`   spin-diode synapse and its non-volatile frequency state
- :mod:`rfemu.devices.llgs`        macrospin LLGS reference device
- :mod:`rfemu.devices.variability` device-to-device variability draws
"""
