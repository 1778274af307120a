"""The training keys early_stopping_metric, learning_rate_schedule, final_learning_rate_fraction,
calibrate_bias and shift_augmentation: validation and mapping onto TrainingConfig."""
import numpy as np
import pytest

from rfemu import api
from rfemu.learning.backprop import TrainingConfig, image_shift_augmentation
from rfemu.scenario import ScenarioError, load_scenario_text

DIGITS = """\
name: digits_keys
seed: 1
network:
  inputs:
    frequency_plan: {kind: linear, min: 100 MHz, max: 163 MHz}
  layers:
    - size: 10
      resonance_plan: {kind: linear, min: 100 MHz, max: 163 MHz}
task: {dataset: digits}
training:
  epochs: 4
  validation_fraction: 0.2
  early_stopping_metric: accuracy
  learning_rate_schedule: cosine
  final_learning_rate_fraction: 0.25
  calibrate_bias: true
  shift_augmentation: 2
record: {figures: false}
"""

MOONS = """\
name: moons_keys
network:
  inputs:
    frequency_plan: {kind: linear, min: 100 MHz, max: 150 MHz}
  layers:
    - size: 2
      resonance_plan: {kind: linear, min: 100 MHz, max: 150 MHz}
task: {dataset: moons}
training:
  epochs: 3
  shift_augmentation: 1
"""


def _problems(text):
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, file="s.yaml")
    return info.value.problems


def test_new_keys_map_onto_the_training_config():
    s = load_scenario_text(DIGITS)
    c = api._training_config(s, seed=7, progress=False)
    assert (c.early_stopping_metric, c.learning_rate_schedule) == ("accuracy", "cosine")
    assert c.final_learning_rate_fraction == 0.25
    assert c.calibrate_bias is True
    # the augmentation is image_shift_augmentation((8, 8), 2): same draws, same images
    x = np.random.default_rng(0).random((50, 64))
    expected = image_shift_augmentation((8, 8), 2)(x, np.random.default_rng(5))
    np.testing.assert_array_equal(c.augmentation(x, np.random.default_rng(5)), expected)
    assert not np.array_equal(expected, x)
    with pytest.raises(ValueError):                 # an 8x8 shape: a 784-pixel batch does not fit
        c.augmentation(np.zeros((2, 784)), np.random.default_rng(0))


def test_defaults_leave_the_training_config_as_before():
    text = DIGITS.split("  validation_fraction")[0] + "record: {figures: false}\n"
    c = api._training_config(load_scenario_text(text), seed=7, progress=False)
    d = TrainingConfig()
    for key in ("early_stopping_metric", "learning_rate_schedule", "final_learning_rate_fraction",
                "calibrate_bias", "augmentation"):
        assert getattr(c, key) == getattr(d, key), key
    assert c.augmentation is None


def test_shift_augmentation_on_a_non_image_task_cites_its_line():
    problems = _problems(MOONS)
    assert len(problems) == 1
    p = problems[0]
    assert (p.file, p.line, p.path) == ("s.yaml", 11, "training.shift_augmentation")
    assert "moons" in p.message and "image" in p.message
    # 0 (off) is fine on any task
    load_scenario_text(MOONS.replace("shift_augmentation: 1", "shift_augmentation: 0"))


@pytest.mark.parametrize("key, value", [("final_learning_rate_fraction", "1.5"),
                                        ("learning_rate_schedule", "linear"),
                                        ("early_stopping_metric", "f1"),
                                        ("shift_augmentation", "-1")])
def test_bad_values_are_one_error_each_citing_the_line(key, value):
    line = next(i for i, l in enumerate(DIGITS.splitlines(), 1) if l.strip().startswith(key + ":"))
    text = "\n".join(f"  {key}: {value}" if l.strip().startswith(key + ":") else l
                     for l in DIGITS.splitlines()) + "\n"
    problems = _problems(text)
    assert [(p.line, p.path) for p in problems] == [(line, f"training.{key}")]


def test_accuracy_stopping_needs_a_validation_split():
    text = DIGITS.replace("validation_fraction: 0.2", "validation_fraction: 0")
    problems = _problems(text)
    assert [(p.line, p.path) for p in problems] == [(13, "training.early_stopping_metric")]


def test_training_rule_is_a_name_of_the_rule_registry_with_did_you_mean():
    from rfemu.learning.rules import rule_names
    for name in rule_names():                       # every registered rule is accepted
        if name == "none":
            continue
        text = DIGITS.replace("training:\n", f"training:\n  rule: {name}\n")
        if name == "cnn_backprop":                  # known, but it needs a network.conv
            with pytest.raises(ScenarioError, match="trains a convolution: give network.conv"):
                load_scenario_text(text)
            continue
        assert load_scenario_text(text).training.rule == name
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(DIGITS.replace("training:\n", "training:\n  rule: backpro\n"),
                           file="s.yaml")
    message = str(info.value)
    assert message.startswith("s.yaml:11: training.rule: unknown training rule 'backpro'")
    assert "did you mean 'backprop'?" in message
    assert all(name in message for name in rule_names())
