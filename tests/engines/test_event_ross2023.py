"""The seed's experiment (Ross et al., Nat. Nanotechnol. 18, 1273 (2023), 97.7 %): the chip's two
oscillator neurons, trained offline with the compiled engine, classify XOR quadrants at >= 97 %
when run as hardware (vortex linewidths) in the event engine with thermal noise on (examples/ross2023_two_layer.py
runs all three tasks).

The physics that makes two neurons enough: a vortex neuron's frequency moves with its current,
so its contribution P(I) W(f(I)) to an output chain crosses the sign change of the junction's
antisymmetric Lorentzian, a bump-shaped activation. The same chip with its neurons on fixed
channels (monotonic activations) cannot draw the XOR saddle."""
import importlib.util
import pathlib

import numpy as np

from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventConfig, EventEngine

_EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "ross2023_two_layer.py"


def _example():
    spec = importlib.util.spec_from_file_location("ross2023_two_layer", _EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_neuron_chip_classifies_xor_at_97_percent_in_the_noisy_event_engine():
    ex = _example()
    task = ex.TASKS["xor"](n_train=800, n_test=200, seed=0)
    model = ex.description(hidden=2, oscillation_energy=ex.TRAINING_OSCILLATION_ENERGY)
    chip = ex.description(hidden=2, oscillation_energy=ex.VORTEX_OSCILLATION_ENERGY)
    assert chip.layers[0].size == 2 and chip.layers[0].emission == "current"
    # the chip's vortex neurons: eta = k_B T / E0 = 2e-3, half linewidths of 0.1-0.7 MHz
    assert 1e-3 < chip.layers[0].oscillator.noise_ratio < 3e-3
    _, seed, G = ex.train_best(task, model, seeds=[1])
    G = ex.on_chip(G, chip, seed)
    compiled = CompiledEngine(G, n_threads=1).accuracy(task.x_test, task.y_test)
    engine = EventEngine(G, config=EventConfig(**ex.EVENT_CONFIG), seed=seed)
    assert engine.config.noise
    run = engine.run(task.x_test)
    assert compiled >= 0.97
    assert run.accuracy(task.y_test) >= 0.97
    # the noise really acts: outputs differ from the noise-free ones, a little
    ref = CompiledEngine(G, n_threads=1).forward(task.x_test).scores
    diff = np.abs(run.outputs - ref)
    assert np.all(diff > 0)
    assert np.median(diff) < 0.05 * np.median(np.abs(ref))

    # the trained neurons sweep across their output junctions' resonances: the difference of the
    # two output chains' weights seen by a neuron, W_0(f(I)) - W_1(f(I)), takes both signs over
    # the inputs that switch it on (a non-monotonic activation), its frequency moving by more
    # than an output half width (alpha f = 4-5 MHz)
    fwd = CompiledEngine(G, n_threads=1).forward(task.x_test, keep=True)
    hidden, output = fwd.layers
    dw = output.chain_matrix[:, 0, :] - output.chain_matrix[:, 1, :]     # (B, neurons) V/W
    for n in range(2):
        on = hidden.output_power[:, n] > 0
        assert on.sum() > 100
        assert np.ptp(output.tone_frequency[on, n]) > 5e6
        largest = np.abs(dw[on, n]).max()
        assert dw[on, n].min() < -0.1 * largest and dw[on, n].max() > 0.1 * largest

    # the same chip with its neurons on fixed channels (monotonic activations) stays far below
    _, _, G_fixed = ex.train_best(task, ex.description(hidden=2, emission="fixed"), seeds=[1])
    assert CompiledEngine(G_fixed, n_threads=1).accuracy(task.x_test, task.y_test) < 0.9
