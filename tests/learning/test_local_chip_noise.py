"""The learning chip with thermal noise on (``LearningChip.thermal_noise``): the noise-averaged
class scores that on-chip learning senses are the noisy event engine's, on average.

With noise on, a neuron's power fluctuates and its frequency follows it; the mean rectified
voltage <P u W(f(u))> of an output junction is not the static P W(f) with a Lorentzian tone: the
noisy chip's scores carry a systematic offset of a few tenths of a mV on the Ross chip
(scenarios/onchip_xor.yaml). The learning chip averages over the stationary distribution of the
power (rfemu.devices.oscillator.stationary_power_moments), so what it learns is what the noisy
chip does."""
from pathlib import Path

import numpy as np

from rfemu.api import load_scenario, to_description
from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventEngine
from rfemu.learning.local import LearningChip
from rfemu.learning.restarts import random_state
from rfemu.network import build_graph, compile_graph
from rfemu.scenario.build import event_config

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "onchip_xor.yaml"


def _ross_chip(seed):
    s = load_scenario(SCENARIO)
    net = compile_graph(build_graph(to_description(s, 2, seed=seed), seed=seed))
    random_state(net, np.random.default_rng(seed), bias_range=(0.008, 0.016))   # neurons on
    return s, net


def test_noise_averaged_scores_are_the_noisy_event_engines_mean():
    """Two random programmings of the Ross chip, 40 inputs, the noisy event engine run 3 times:
    the chip's mean offset from the static model (per output chain, over the inputs) is what the
    noise-averaged scores predict, and per input they are closer to the event engine than the
    static scores are."""
    rng = np.random.default_rng(5)
    for seed in (1, 2):
        s, net = _ross_chip(seed)
        x = rng.random((40, 2))
        static = CompiledEngine(net, n_threads=1).forward(x).scores
        chip = LearningChip(net)
        chip.thermal_noise = True
        model = chip.scores(chip.engine.input_power(x), chip.resonances())[0]
        noisy = np.mean([EventEngine(net, event_config(s), seed=k).run(x).outputs for k in range(3)], axis=0)
        offset, predicted = (noisy - static).mean(axis=0), (model - static).mean(axis=0)
        scale = np.abs(offset).max()
        assert scale > 1e-4                                       # the noise really shifts the scores
        assert np.all(np.abs(predicted - offset) < 0.25 * scale)
        assert np.sqrt(np.mean((noisy - model) ** 2)) < 0.8 * np.sqrt(np.mean((noisy - static) ** 2))
