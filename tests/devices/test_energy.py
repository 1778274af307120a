"""The energy model written once (rfemu.devices.energy): its formulas and its ledger (both engines
accounting the same powers with it: tests/engines/test_event.py)."""
import numpy as np
import pytest

from rfemu.devices.energy import EnergyLedger, EnergyModel, integrate_steps, joule_power


def test_joule_power_clips_the_current_to_the_junctions_range():
    # R I^2 with I in [0, I_max]: -1 mA draws nothing, 3 mA draws what I_max = 2 mA draws
    p = joule_power(np.array([-1e-3, 1e-3, 3e-3]), 100.0, 2e-3)
    np.testing.assert_allclose(p, [0.0, 100.0 * 1e-6, 100.0 * 4e-6], rtol=1e-15)


def test_junction_and_amplifier_power_from_the_model():
    model = EnergyModel(junction_absorption=0.02, amplifier_efficiency=0.25)
    gain = np.array([[1.0, 0.5], [0.25, 0.25]])              # sum 2
    # 3 uW passing junctions of total gain 2, 2 % absorbed: 0.12 uW; the amplifiers draw 4 times it
    assert model.junction_power(3e-6, gain) == pytest.approx(0.02 * 2.0 * 3e-6, rel=1e-15)
    assert model.amplifier_power(0.12e-6) == pytest.approx(0.48e-6, rel=1e-15)
    with pytest.raises(ValueError):
        EnergyModel(junction_absorption=1.5)


def test_step_integral_and_ledger_by_hand():
    # 2 W on [0, 3), 5 W on [3, 4), 1 W from 4: over [1, 6] = 2*2 + 5*1 + 1*2 = 11 J
    log = [(0, 2.0), (3, 5.0), (4, 1.0)]
    assert integrate_steps(log, 1, 6) == 11.0
    assert integrate_steps(log, 6, 1) == 0.0
    model = EnergyModel(junction_absorption=0.5, amplifier_efficiency=0.5)
    ledger = EnergyLedger(model, time_unit=1e-3)          # times in ms
    ledger.register_oscillator("n0", t=0, watts=2.0)
    ledger.register_line(0, power_gain=np.ones(4), t=0, tone_power=1.0)
    ledger.power("n0", 3, 5.0)
    ledger.power("n0", 4, 1.0)
    ledger.tones(0, 2, 3.0)
    ledger.start(1)
    ledger.add("write", 1e-9)
    e = ledger.finish(1, 6)
    assert e["oscillator"] == pytest.approx(11e-3, rel=1e-15)
    # tones: 1 W on [1, 2), 3 W on [2, 6]: 13 W ms passing 4 junctions, half absorbed
    assert e["junction"] == pytest.approx(0.5 * 4 * 13e-3, rel=1e-15)
    assert e["amplifier"] == pytest.approx(e["junction"] / 0.5, rel=1e-15)
    assert e["write"] == 1e-9
    # the same signals 1e22 time units later give the same joules (only differences count)
    late = EnergyLedger(model, time_unit=1e-3)
    late.register_oscillator("n0", t=10 ** 22, watts=2.0)
    late.register_line(0, power_gain=np.ones(4), t=10 ** 22, tone_power=1.0)
    late.power("n0", 10 ** 22 + 3, 5.0)
    late.power("n0", 10 ** 22 + 4, 1.0)
    late.tones(0, 10 ** 22 + 2, 3.0)
    late.start(10 ** 22 + 1)
    e_late = late.finish(10 ** 22 + 1, 10 ** 22 + 6)
    assert e_late["oscillator"] == e["oscillator"] and e_late["junction"] == e["junction"]
