"""Locality by the interface: a rule sees only a LocalView, and its update for one junction does
not change when any other junction's state changes."""
import numpy as np
import pytest

from rfemu.learning.local import (FeedbackAlignmentRule, LearningChip, LocalView, PerturbativeRule, is_local,
                                  sense)
from rfemu.network import build_graph, compile_graph, spin_mlp


@pytest.fixture
def setup():
    net = compile_graph(build_graph(spin_mlp((4, 3, 2)), seed=0))
    rng = np.random.default_rng(0)
    return net, LearningChip(net), rng.random((8, 4)), rng.integers(0, 2, 8)


@pytest.mark.parametrize("make", [lambda: PerturbativeRule(steps=32), lambda: PerturbativeRule(steps=32, code="random"),
                                  FeedbackAlignmentRule])
def test_rules_are_local(setup, make):
    net, chip, x, y = setup
    rule = make()
    rule.prepare(net, 0)
    view, _, _ = sense(chip, rule, chip.engine.input_power(x), y, 1e3)
    for j in (0, 5, net.n_junctions - 1):
        assert is_local(rule, view, j, rng=j)


class _PeekingRule:
    """A rule that reads its neighbour's voltage: what the check must catch."""

    learning_rate = 1.0

    def update(self, view):
        return np.roll(view.voltage_slope.sum(axis=0), 1)


class _MeanCostRule:
    """A rule that offsets by the mean of every junction's dither: not local either."""

    def update(self, view):
        return view.dither.sum(axis=0) + np.abs(view.dither).mean()


def test_the_check_catches_a_rule_that_reads_another_junction(setup):
    net, chip, x, y = setup
    rule = FeedbackAlignmentRule()
    rule.prepare(net, 0)
    view, _, _ = sense(chip, rule, chip.engine.input_power(x), y, 1e3)
    assert not is_local(_PeekingRule(), view, 3)
    random_codes = PerturbativeRule(steps=8, code="random")
    random_codes.prepare(net, 0)
    view_d, _, _ = sense(chip, random_codes, chip.engine.input_power(x), y, 1e3)
    assert not is_local(_MeanCostRule(), view_d, 3)


def test_a_view_holds_no_path_to_the_chip(setup):
    net, chip, x, y = setup
    rule = FeedbackAlignmentRule()
    rule.prepare(net, 0)
    view, _, _ = sense(chip, rule, chip.engine.input_power(x), y, 1e3)
    held = [getattr(view, name) for name in view.__slots__]
    assert all(v is None or isinstance(v, (str, float, np.ndarray)) for v in held)
    assert not hasattr(view, "__dict__")
    with pytest.raises(AttributeError):
        view.network = net
    with pytest.raises(ValueError):
        view.voltage_slope[0, 0] = 1.0                                  # read-only arrays
    with pytest.raises(TypeError, match="no field"):
        LocalView("feedback", neighbour_voltage=[1.0])
