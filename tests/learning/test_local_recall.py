"""Recall of the best state (OnChipConfig.recall_best): at every evaluation that beats the best so
far each junction copies its own frequency state and each chain its own bias into a volatile
register; at the end the junctions write their copies back (logged writes) and the chains set
their biases, so that the chip ends in the state of its best evaluation."""
import numpy as np
import pytest

from rfemu.learning.local import train as local_train
from rfemu.learning.local.rules import PerturbativeRule
from rfemu.learning.local.state import WriteSettings
from rfemu.learning.local.train import OnChipConfig, learn_screened, train_on_chip
from rfemu.learning.restarts import random_state
from rfemu.network import build_graph, compile_graph, spin_mlp
from small_chip import CONTINUOUS, frequencies

RULE = dict(learning_rate=0.5, steps=8, bias_dither=2e-4, bias_learning_rate=3e-7)


def _samples(seed):
    rng = np.random.default_rng(seed)
    return rng.random((32, 4)), rng.integers(0, 2, 32), (rng.random((32, 4)), rng.integers(0, 2, 32))


def _net(seed):
    net = compile_graph(build_graph(spin_mlp((4, 3, 2)), seed=0))
    random_state(net, np.random.default_rng(seed))
    return net


def _learn(seed, windows, recall="none"):
    x, y, val = _samples(seed)
    net = _net(seed)
    config = OnChipConfig(windows=windows, batch_size=8, evaluate_every=1, seed=seed, recall_best=recall)
    return train_on_chip(net, x, y, PerturbativeRule(**RULE), config, CONTINUOUS, evaluation=val)


def _a_run_that_ends_below_its_best(windows=12):
    for seed in range(40):
        result = _learn(seed, windows)
        acc = result.curve.accuracy
        if max(acc[1:]) > acc[-1]:
            return seed, result
    raise AssertionError("no learning of 40 ended below its best evaluation: the rule's steps are too small")


def test_the_chip_ends_in_the_state_of_its_best_evaluation():
    windows = 12
    seed, plain = _a_run_that_ends_below_its_best(windows)
    acc = np.asarray(plain.curve.accuracy)
    best = int(np.argmax(acc))                            # the first maximum: a tie keeps the earlier state
    at_best = _learn(seed, best) if best else None
    recalled = _learn(seed, windows, "end")
    # the same learning until the end, then one more point: the recalled state
    assert recalled.curve.accuracy[:-1] == plain.curve.accuracy
    assert recalled.curve.accuracy[-1] == acc.max() > acc[-1]
    assert recalled.curve.window[-1] == recalled.curve.window[-2] == windows
    target = frequencies(at_best.network) if at_best is not None else frequencies(_net(seed))
    assert np.allclose(frequencies(recalled.network), target, rtol=1e-13, atol=0)
    ref = at_best.network if at_best is not None else _net(seed)
    for a, b in zip(recalled.network.layers, ref.layers):
        assert np.array_equal(a.bias_voltage, b.bias_voltage)
    # the write-back is logged: one write per junction that had moved, later than every learning write
    moved = int(np.sum(frequencies(plain.network) != target))
    assert recalled.states.log.count == plain.states.log.count + moved
    times = recalled.states.log.arrays()["time"]
    assert np.all(times[plain.states.log.count:] >= times[:plain.states.log.count].max())
    assert recalled.states.log.energy > plain.states.log.energy


def test_a_run_that_ends_at_its_best_writes_nothing_more():
    for seed in range(40):
        plain = _learn(seed, 6)
        if plain.curve.accuracy[-1] >= max(plain.curve.accuracy):
            recalled = _learn(seed, 6, "end")
            assert recalled.curve.accuracy == plain.curve.accuracy
            assert recalled.states.log.count == plain.states.log.count
            assert np.array_equal(frequencies(recalled.network), frequencies(plain.network))
            return
    pytest.fail("no learning of 40 ended at its best")


def test_recall_writes_obey_the_write_physics():
    seed, _ = _a_run_that_ends_below_its_best()
    x, y, val = _samples(seed)
    step = 2e5                                          # Hz: the frequency states' quantisation
    writes = WriteSettings(step=step)
    out = []
    for recall in ("none", "end"):
        net = _net(seed)
        config = OnChipConfig(windows=12, batch_size=8, evaluate_every=1, seed=seed, recall_best=recall)
        out.append(train_on_chip(net, x, y, PerturbativeRule(**RULE), config, writes, evaluation=val))
    plain, recalled = out
    extra = recalled.states.log.arrays()
    n0 = plain.states.log.count
    assert recalled.states.log.count > n0
    error = extra["obtained"][n0:] - extra["requested"][n0:]
    assert np.all(np.abs(error) <= step / 2 * (1 + 1e-9))   # no write noise: within half a step of the copy
    written = recalled.states.writes > 0
    base = np.concatenate([fs.base_frequency for fs in recalled.states.frequency_states])
    shift = (frequencies(recalled.network) - base)[written] / step
    assert written.sum() > 0 and np.allclose(shift, np.round(shift), atol=1e-6)   # on the write grid


def _screen(monkeypatch, seed, mode):
    """learn_screened over 4 programmings; every learning's result, in order."""
    results = []

    def spy(net, *args, **kwargs):
        results.append(train_on_chip(net, *args, **kwargs))
        results[-1].programming = [i for i, n in enumerate(nets) if n is net][0]
        return results[-1]

    monkeypatch.setattr(local_train, "train_on_chip", spy)
    x, y, val = _samples(seed)
    nets = [_net(s) for s in range(4)]
    config = OnChipConfig(windows=4, batch_size=8, evaluate_every=1, seed=seed, recall_best=mode)
    _, scores = learn_screened(nets, x, y, val, lambda: PerturbativeRule(**RULE), config, CONTINUOUS,
                                  first_windows=4)
    return results, scores


def _recalled(result):
    """Whether a learning ended with a write-back (its last two points at the same window)."""
    return result.curve.window[-1] == result.curve.window[-2]


def test_with_rounds_every_programming_is_ranked_by_its_recalled_state(monkeypatch):
    for seed in range(20):
        results, scores = _screen(monkeypatch, seed, "rounds")
        if any(_recalled(r) for r in results[:-1]):
            break
    else:
        pytest.fail("no screening round of 20 ended below its best")
    for r in results:
        assert r.curve.accuracy[-1] == max(r.curve.accuracy)
    last_result = {r.programming: r for r in results}      # each programming's last learning ranked it
    assert all(scores[i] == r.curve.accuracy[-1] for i, r in last_result.items())
    # "end": the same screening recalls only in the survivor's last round
    results, _ = _screen(monkeypatch, seed, "end")
    assert not any(_recalled(r) for r in results[:-1])
