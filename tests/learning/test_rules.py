"""The training-rule registry (rfemu.learning.rules): an entry per rule, picked by name; its config
mapping takes the scenario's keys by name; each rule reports only what its entry declares; the
registry's backprop is the plain backprop training, bit for bit."""
import dataclasses

import numpy as np
import pytest

from rfemu.engines.event import EventConfig
from rfemu.learning import rules
from rfemu.learning.backprop import TrainingConfig, train
from rfemu.learning.in_situ import InSituConfig
from rfemu.network import build_graph, compile_graph, spin_mlp
from rfemu.scenario import load_scenario_text

SCENARIO = """
name: rules
seed: 3
network:
  inputs: {frequency_plan: {kind: linear, min: 20 MHz, max: 120 MHz}}
  layers:
    - {size: 3, resonance_plan: {kind: linear, min: 20 MHz, max: 120 MHz}, bias_voltage: 11 mV,
       transconductance: 3.388 uA/mV}
    - {size: 2, resonance_plan: {kind: geometric, min: 200 MHz, max: 400 MHz}}
task: {dataset: moons, n_train: 40}
training:
  epochs: 3
  batch_size: 8
  beta1: 0.8
  frequency_learning_rate: 20 kHz
  validation_fraction: 0.0
  in_situ: {epochs: 2, batch_size: 4, score_scale: 20 /mV, samples: 6}
"""


@pytest.fixture
def settings():
    return load_scenario_text(SCENARIO).training


def _context(settings, seed=0):
    net = compile_graph(build_graph(spin_mlp((2, 3, 2)), seed=seed))
    rng = np.random.default_rng(seed)
    x, y = rng.random((12, 2)), np.arange(12) % 2
    streams = dict(zip(("training", "restarts", "in_situ"), np.random.SeedSequence(seed).spawn(3)))
    return rules.TrainingContext(network=net, features=x, labels=y, settings=settings, streams=streams,
                                 event_config=EventConfig())


def test_an_unknown_rule_is_a_clear_error_listing_the_known_ones():
    with pytest.raises(ValueError) as info:
        rules.get_rule("hebbian-ish")
    message = str(info.value)
    assert "'hebbian-ish'" in message
    for name in rules.rule_names():
        assert name in message
    assert {"none", "backprop", "in_situ"} <= set(rules.rule_names())


def test_a_name_registers_once_and_an_entry_is_all_it_takes(monkeypatch):
    monkeypatch.setattr(rules, "RULES", dict(rules.RULES))

    def freeze(context):                # a rule: hold every bias at 5 mV, report how many
        for layer in context.network.layers:
            layer.bias_voltage[:] = 5e-3
        return rules.TrainingOutcome(metrics={"frozen_chains": sum(l.n_chains for l in context.network.layers)})

    entry = rules.register(rules.TrainingRule("freeze", freeze, reports=("frozen_chains",)))
    assert rules.get_rule("freeze") is entry and "freeze" in rules.rule_names()
    with pytest.raises(ValueError, match="already registered"):
        rules.register(rules.TrainingRule("freeze", freeze))
    context = _context(None)
    outcome = rules.get_rule("freeze").train(context)
    assert outcome.metrics == {"frozen_chains": 5}
    assert all(np.all(layer.bias_voltage == 5e-3) for layer in context.network.layers)


def test_config_mapping_takes_every_key_of_the_rule_by_name(settings):
    backprop = rules.get_rule("backprop").make_config(settings, seed=1)
    assert isinstance(backprop, TrainingConfig)
    shared = [f.name for f in dataclasses.fields(TrainingConfig) if hasattr(settings, f.name)]
    assert len(shared) >= 20
    for name in shared:
        assert getattr(backprop, name) == getattr(settings, name), name
    assert (backprop.epochs, backprop.batch_size, backprop.beta1) == (3, 8, 0.8)
    assert backprop.frequency_learning_rate == 20e3 and backprop.seed == 1
    in_situ = rules.get_rule("in_situ").make_config(settings, seed=2)
    assert isinstance(in_situ, InSituConfig)
    assert (in_situ.epochs, in_situ.batch_size, in_situ.score_scale, in_situ.seed) == (2, 4, 2e4, 2)
    # a key of another section does not leak: in-situ's beta1 is its own default, not training.beta1
    assert in_situ.beta1 == InSituConfig().beta1 != 0.8


def test_the_registrys_backprop_is_backprop_bit_for_bit(settings):
    settings = settings.model_copy(update={"in_situ": settings.in_situ.model_copy(update={"epochs": 0})})
    context = _context(settings)
    outcome = rules.get_rule("backprop").train(context)
    direct = _context(settings)
    config = dataclasses.replace(TrainingConfig(), epochs=3, batch_size=8, beta1=0.8,
                                 frequency_learning_rate=20e3, validation_fraction=0.0,
                                 seed=context.seed("training"), progress=False)
    result = train(direct.network, direct.features, direct.labels, config)
    for a, b in zip(context.network.layers, direct.network.layers):
        np.testing.assert_array_equal(a.tuning, b.tuning)
        np.testing.assert_array_equal(a.bias_voltage, b.bias_voltage)
    assert outcome.history.train_loss == result.history.train_loss
    assert outcome.metrics["epochs_run"] == 3


def test_each_rule_reports_only_what_its_entry_declares(settings):
    for name in ("none", "backprop", "in_situ"):
        context = _context(settings)
        before = [layer.tuning.copy() for layer in context.network.layers]
        rule = rules.get_rule(name)
        outcome = rule.train(context)
        assert set(outcome.metrics) <= set(rule.reports), name
        moved = any(not np.array_equal(a, layer.tuning) for a, layer in zip(before, context.network.layers))
        assert moved == rule.trains, name
    # backprop with in-situ epochs > 0 fine-tunes on the chip after it: both curves reported
    assert len(outcome.metrics["in_situ_chip_train_accuracy"]) == 2


def test_a_rule_refusing_its_settings_names_the_key(settings):
    settings = settings.model_copy(update={"shift_augmentation": 1})
    with pytest.raises(rules.SettingError) as info:
        rules.get_rule("backprop").train(_context(settings))
    assert info.value.key == ("shift_augmentation",)


def test_the_in_situ_rule_alone_needs_epochs(settings):
    settings = settings.model_copy(update={"in_situ": settings.in_situ.model_copy(update={"epochs": 0})})
    with pytest.raises(rules.SettingError) as info:
        rules.get_rule("in_situ").train(_context(settings))
    assert info.value.key == ("in_situ", "epochs")
