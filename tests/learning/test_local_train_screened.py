"""On-chip learning from several programmings by successive halving (learn_screened): each round
keeps the better half by the chip's own validation accuracy and doubles their windows; the
survivor's learning is one continuous record (windows, writes, simulated time add up)."""
import numpy as np

from rfemu.learning.local import train as local_train
from rfemu.learning.local.rules import PerturbativeRule
from rfemu.learning.local.state import WriteSettings
from rfemu.learning.local.train import OnChipConfig, learn_screened, train_on_chip
from rfemu.learning.restarts import random_state
from rfemu.network import build_graph, compile_graph, spin_mlp


def _programmings(n):
    base = compile_graph(build_graph(spin_mlp((4, 3, 2)), seed=0))
    rng = np.random.default_rng(0)
    nets = []
    for _ in range(n):
        net = base.copy()
        random_state(net, rng)
        nets.append(net)
    return nets


def test_halving_keeps_the_better_half_and_joins_the_survivors_rounds(monkeypatch):
    rng = np.random.default_rng(1)
    x, y = rng.random((48, 4)), rng.integers(0, 2, 48)
    val = (rng.random((24, 4)), rng.integers(0, 2, 24))
    calls = []

    def spy(net, *args, **kwargs):
        result = train_on_chip(net, *args, **kwargs)
        calls.append((id(net), args[3].windows, result.curve.accuracy[-1], result, result.states.log.count))
        return result

    monkeypatch.setattr(local_train, "train_on_chip", spy)
    nets = _programmings(4)
    config = OnChipConfig(windows=6, batch_size=8, evaluate_every=2, seed=3)
    best, scores = learn_screened(nets, x, y, val, lambda: PerturbativeRule(0.3, steps=8), config,
                                  WriteSettings(step=1e3), first_windows=2)
    # rounds: 4 x 2 windows, the best 2 x 4 windows, the best 1 x config.windows
    assert [w for _, w, _, _, _ in calls] == [2] * 4 + [4] * 2 + [6]
    first = {i: acc for i, (_, _, acc, _, _) in enumerate(calls[:4])}
    ids = [id(n) for n in nets]
    second = [ids.index(c[0]) for c in calls[4:6]]
    assert min(first[i] for i in second) >= max(first[i] for i in range(4) if i not in second)
    survivor = ids.index(calls[6][0])
    assert survivor in second and scores[survivor] == calls[6][2]
    assert best.network is nets[survivor]
    # the survivor's three rounds as one record
    own = [c[3] for c in calls if c[0] == ids[survivor]]
    written = [c[4] for c in calls if c[0] == ids[survivor]]
    assert len(own) == 3
    assert best.curve.window[-1] == 2 + 4 + 6
    assert np.isclose(best.simulated_time, sum(r.simulated_time for r in own))
    assert best.states.log.count == sum(written) > 0
    assert len(best.states.log.arrays()["time"]) == best.states.log.count
    assert np.all(np.diff(best.curve.time) >= 0) and np.all(np.diff(best.curve.writes) >= 0)
    assert best.curve.accuracy[-1] == scores[survivor]
