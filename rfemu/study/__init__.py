"""Studies: what a sweep is, and the energy account.

- :mod:`rfemu.study.sweep`: the ``sweep:`` section of a scenario (axes, sampling, repeats) and
  its points (running them is :mod:`rfemu.sweep`, beside the api);
- :mod:`rfemu.study.energy`: energy per operation and the 20 nm projection (the energy model
  itself is :mod:`rfemu.devices.energy`).

Nothing heavy is imported here: the scenario schema imports :mod:`rfemu.study.sweep`.
"""
