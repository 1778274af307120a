"""The cost that sharpens (OnChipConfig.final_score_scale): the learning circuit's score scale
rises geometrically from score_scale to final_score_scale over the windows, and with the
screening only in the survivor's round; off, every window's cost is at score_scale."""
import numpy as np
import pytest

from rfemu.learning.local import train as local_train
from rfemu.learning.local.rules import PerturbativeRule
from rfemu.learning.local.train import OnChipConfig, learn_screened, train_on_chip
from rfemu.learning.restarts import random_state
from small_chip import CONTINUOUS, small_chip

RULE = dict(learning_rate=0.05, steps=8, bias_dither=1e-4, bias_learning_rate=1e-8)


def _costs(monkeypatch):
    """A list that receives (voltages, labels, score scale, cost of the dither-off copy) of every
    cost the chip broadcasts."""
    seen = []
    original = local_train.cross_entropy_per_copy

    def spy(voltages, labels, score_scale):
        out = original(voltages, labels, score_scale)
        seen.append((np.array(voltages), np.array(labels), float(score_scale), float(out[0])))
        return out

    monkeypatch.setattr(local_train, "cross_entropy_per_copy", spy)
    return seen


def _scales(seen):
    return [r[2] for r in seen]


@pytest.mark.parametrize("final", [0.0, 1.6e4, 250.0])
def test_every_windows_cost_is_at_the_geometric_schedules_scale(monkeypatch, final):
    seen = _costs(monkeypatch)
    net, x, y = small_chip()
    config = OnChipConfig(windows=5, batch_size=8, evaluate_every=1, seed=1, score_scale=1e3,
                          final_score_scale=final)
    costs = train_on_chip(net, x, y, PerturbativeRule(**RULE), config, CONTINUOUS).curve.cost[1:]
    expected = [1e3] * 5 if final == 0 else [1e3 * (final / 1e3) ** (k / 4) for k in range(5)]
    assert np.allclose(_scales(seen), expected, rtol=1e-12, atol=0)
    assert len(costs) == 5 and np.all(np.isfinite(costs))


def test_the_cost_a_window_broadcasts_is_the_cross_entropy_at_its_scale(monkeypatch):
    """The same batch read at a 16x larger scale: the broadcast cost is not the same number,
    and it is what softmax cross-entropy gives at the window's scale."""
    records = _costs(monkeypatch)
    net, x, y = small_chip()
    config = OnChipConfig(windows=3, batch_size=8, evaluate_every=1, seed=1, score_scale=1e3,
                          final_score_scale=1.6e4)
    train_on_chip(net, x, y, PerturbativeRule(**RULE), config, CONTINUOUS)
    for voltages, labels, scale, cost in records:
        logits = scale * voltages[0]
        logits -= logits.max(axis=1, keepdims=True)
        by_hand = np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(len(labels)), labels])
        assert cost == pytest.approx(by_hand, rel=1e-9, abs=0)
    assert _scales(records) == pytest.approx([1e3, 4e3, 1.6e4], rel=1e-12, abs=0)


def test_with_the_screening_only_the_survivors_round_sharpens(monkeypatch):
    seen = _costs(monkeypatch)
    base, x, y = small_chip()
    rng = np.random.default_rng(3)
    nets = [base.copy() for _ in range(4)]
    for net in nets[1:]:
        random_state(net, rng)
    config = OnChipConfig(windows=3, batch_size=8, evaluate_every=1, seed=3, score_scale=1e3,
                          final_score_scale=9e3)
    learn_screened(nets, x, y, (x, y), lambda: PerturbativeRule(**RULE), config, CONTINUOUS, first_windows=2)
    screening = 4 * 2 + 2 * 4                     # 4 programmings x 2 windows, the better 2 x 4
    scales = _scales(seen)
    assert len(scales) == screening + 3
    assert np.all(np.array(scales[:screening]) == 1e3)
    assert scales[screening:] == pytest.approx([1e3, 3e3, 9e3], rel=1e-12, abs=0)


@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan")])
def test_a_negative_or_non_finite_final_scale_is_refused(bad):
    with pytest.raises(ValueError, match="final_score_scale"):
        OnChipConfig(final_score_scale=bad)
