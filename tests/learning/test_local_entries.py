"""The local rules' registry entries: picked by name, settings from training.on_chip by name,
write physics from the frequency-state settings, and a run that learns and reports its writes."""
import types

import numpy as np
import pytest

from rfemu.learning.local import entries
from rfemu.learning.local.config import OnChipRuleConfig
from rfemu.learning.rules import TrainingContext, get_rule, rule_names
from rfemu.network import build_graph, compile_graph, spin_mlp
from rfemu.tasks import digits


def test_both_rules_are_registered_with_the_on_chip_section():
    for name in ("perturbative", "feedback_alignment"):
        assert name in rule_names()
        entry = get_rule(name)
        assert entry.config is OnChipRuleConfig and entry.section == ("on_chip",)
        cfg = entry.make_config({"on_chip": {"windows": 7, "code": "random", "unknown_key": 1}}, seed=3)
        assert (cfg.windows, cfg.code, cfg.seed) == (7, "random", 3)
        assert type(cfg.rule(name)).__name__ == {"perturbative": "PerturbativeRule",
                                                  "feedback_alignment": "FeedbackAlignmentRule"}[name]


def test_write_settings_follow_the_frequency_state():
    fs = types.SimpleNamespace(step=20e3, write_noise=1e3, write_latency=5e-9, write_energy=3e-13,
                               endurance=None, drift_rate=2.0)
    w = entries.write_settings(fs)
    assert (w.step, w.write_noise, w.write_latency, w.write_energy, w.endurance, w.drift_rate) == \
        (20e3, 1e3, 5e-9, 3e-13, np.inf, 2.0)


def test_a_feedback_alignment_run_learns_digits_and_reports_its_writes():
    task = digits(seed=0)
    net = compile_graph(build_graph(spin_mlp((64, 10), input_band=(100e6, 1e9)), seed=1))
    before = net.layers[0].tuning.copy()
    streams = {"training": np.random.SeedSequence(0)}
    ctx = TrainingContext(net, task.x_train, task.y_train,
                          {"on_chip": {"windows": 60, "evaluate_every": 20, "learning_rate": 0.3}},
                          streams=streams, n_threads=1)
    ctx.frequency_state = types.SimpleNamespace(step=10e3, write_noise=0.0, write_latency=1e-8,
                                                write_energy=1e-13, endurance=None, drift_rate=0.0)
    out = get_rule("feedback_alignment").train(ctx)
    m = out.metrics
    assert set(m) <= set(get_rule("feedback_alignment").reports)
    assert m["on_chip_writes"] > 0 and m["on_chip_write_energy_J"] == pytest.approx(1e-13 * m["on_chip_writes"])
    assert m["on_chip_curve"]["accuracy"][-1] > m["on_chip_curve"]["accuracy"][0] + 0.3
    assert not np.array_equal(before, net.layers[0].tuning)
    # a written junction sits on the quantisation grid
    written = net.layers[0].tuning != before
    k = net.layers[0].tuning[written] / 10e3
    assert written.sum() > 100 and np.allclose(k, np.round(k))


def test_restarts_keep_the_programming_whose_chip_validates_best():
    from rfemu.engines.compiled import CompiledEngine
    from rfemu.tasks import xor_quadrants
    task = xor_quadrants(n_train=100, n_test=8, seed=0)
    net = compile_graph(build_graph(spin_mlp((2, 3, 2)), seed=0))
    settings = {"restarts": 3, "initial_state": "uniform", "initial_bias_max": 0.02,
                "on_chip": {"windows": 10, "evaluate_every": 10, "steps": 16, "learning_rate": 0.01,
                            "score_scale": 3e3}}
    ctx = TrainingContext(net, task.x_train, task.y_train, settings,
                          streams={"training": np.random.SeedSequence(0), "restarts": np.random.SeedSequence(1)},
                          n_threads=1)
    before = [layer.tuning.copy() for layer in net.layers]
    out = get_rule("perturbative").train(ctx)
    scores = out.metrics["on_chip_restart_validation_accuracy"]
    assert len(scores) == 3
    kept = CompiledEngine(net, n_threads=1).accuracy(task.x_train[:20], task.y_train[:20])
    assert kept == max(scores)
    assert not np.array_equal(before[0], net.layers[0].tuning)
