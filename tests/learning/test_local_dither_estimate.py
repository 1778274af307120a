"""The perturbative rule's estimate on the Ross et al. 2023 chip of scenarios/onchip_xor.yaml,
near learned states (200 windows from three random programmings, each with the output trim and
with the whole trim: costs 0.24-0.58 < ln 2), against the finite-difference gradient of the same cost (the chip's noise-averaged class scores over the
whole training set).

With 16 sinusoid dither steps and 12 dithered parameters (8 junctions, 4 chain biases at
harmonics 1-6), the cost's second-order terms land on other harmonics (m1 + m2, m1 - m2, 2 m,
aliased past 8): a parameter whose dither moves the cost along a strong curvature writes into
the other parameters' estimates. Near a learned state the scores are sharp (score_scale 3000/V):
the scenario's former dithers (0.2 mV on the biases, 2 % of a half width on the junctions) then
dominate the junctions' estimates (measured cosines with the gradient -0.22 to 0.16 on these six
states: learning climbs as often as it descends); 5 uV and 0.5 % (the scenario's) keep the
cross-talk mostly below the first-order signal (measured 0.97/0.98/1.00 and 0.72/0.99/1.00;
20 uV and 2 %: 0.25-0.98; 1 uV and 0.2 %: 0.94-1.00). The sensing model is noise-averaged
(readout_noise 0), so small dithers cost no accuracy in the simulation.
"""
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from rfemu.learning.local.chip import LearningChip, cross_entropy_per_copy
from rfemu.learning.local.config import OnChipRuleConfig
from rfemu.learning.local.state import WriteSettings
from rfemu.learning.local.train import sense, train_on_chip
from rfemu.learning.restarts import random_state
from rfemu.network import build_graph, compile_graph
from rfemu.scenario import load_scenario
from rfemu.scenario.build import to_description
from rfemu.tasks import xor_quadrants

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "onchip_xor.yaml"


def _settings(s):
    given = s.training.on_chip.model_dump()
    return OnChipRuleConfig(**{f.name: given[f.name] for f in dataclasses.fields(OnChipRuleConfig) if f.name in given})


def _cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("trim", ["outputs", "all"])
@pytest.mark.parametrize("programming", [1, 2, 3])
def test_the_scenarios_dithers_estimate_the_gradient_near_a_learned_state_and_the_former_ones_do_not(trim, programming):
    s = load_scenario(SCENARIO)
    settings = _settings(s)
    task = xor_quadrants(n_train=640, n_test=8, seed=0)
    net = compile_graph(build_graph(to_description(s, 2, seed=13), seed=13))
    random_state(net, np.random.default_rng(programming), bias_range="active")
    train_on_chip(net, task.x_train, task.y_train, settings.rule("perturbative"),
                  dataclasses.replace(settings.loop(), windows=200, evaluate_every=200, final_step_fraction=1.0,
                                      final_score_scale=0.0, initial_trim=trim),    # a screening round's
                  WriteSettings())
    chip = LearningChip(net)
    chip.thermal_noise = True
    power, labels = chip.engine.input_power(task.x_train), task.y_train
    half_width = np.concatenate([(layer.damping * layer.resonance_frequency).ravel() for layer in net.layers])
    n, chains = len(half_width), [layer.n_chains for layer in net.layers]

    def cost(df=0.0, dv=0.0):
        bias = np.split(np.zeros(sum(chains)) + dv, np.cumsum(chains)[:-1])
        return float(cross_entropy_per_copy(chip.scores(power, chip.resonances((np.zeros(n) + df)[None]),
                                                        [b[None] for b in bias]), labels, settings.score_scale)[0])

    assert cost() < np.log(2) - 0.1                       # learned: well below chance
    step = 1e-3 * half_width
    gradient_f = np.array([(cost(df=step[j] * np.eye(n)[j]) - cost(df=-step[j] * np.eye(n)[j])) / (2 * step[j])
                           for j in range(n)])
    cosines = {}
    for name, bias_dither, fraction in (("scenario", settings.bias_dither, settings.dither_fraction),
                                        ("former", 2e-4, 0.02)):
        rule = dataclasses.replace(settings, bias_dither=bias_dither, dither_fraction=fraction).rule("perturbative")
        rule.prepare(net, None)
        view, _, _ = sense(chip, rule, power, labels, settings.score_scale, [])
        cosines[name] = _cosine(rule.estimate(view) * half_width, gradient_f * half_width)
    assert (settings.bias_dither, settings.dither_fraction, settings.steps) == (5e-6, 0.005, 16)
    assert cosines["scenario"] > 0.7
    assert cosines["former"] < 0.3
