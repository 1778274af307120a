"""Training that diverges stops (issue 12, item 4; docs/physics.md#model-limits): once per epoch
(backprop) or window (on-chip learning) the learned values are checked with np.isfinite; a
learning rate so large that they overflow stops the run with one line naming the layer, the epoch
or window and the learning rate to lower; a sane learning rate is never stopped."""
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from rfemu.devices.limits import Divergence, TrainingDivergence, learning_rate_cause
from rfemu.learning import TrainingConfig, train
from rfemu.learning.local.rules import FeedbackAlignmentRule, PerturbativeRule
from rfemu.learning.local.state import WriteSettings
from rfemu.learning.local.train import OnChipConfig, train_on_chip
from rfemu.network import build_graph, compile_graph, spin_mlp


def _data():
    rng = np.random.default_rng(0)
    return rng.random((16, 4)), rng.integers(0, 2, 16)


def _net():
    return compile_graph(build_graph(spin_mlp((4, 3, 2)), seed=0))


def test_backprop_with_an_absurd_bias_learning_rate_stops_naming_layer_epoch_and_rate():
    net = _net()
    with pytest.raises(TrainingDivergence) as caught:
        train(net, *_data(), TrainingConfig(epochs=5, batch_size=4, progress=False, seed=0,
                                            bias_learning_rate=1e308))
    line = str(caught.value)
    assert "\n" not in line and isinstance(caught.value, Divergence)
    assert re.fullmatch(r"training \(backprop\): layer 0's bias voltages \(3 of 3 values\) became non-finite "
                        r"in epoch 1: the likely cause is a learning rate too large: "
                        r"training\.bias_learning_rate = 1e\+308 V \(try 6\.6e-06 V or smaller\)", line)
    assert not np.all(np.isfinite(net.layers[0].bias_voltage))      # the check told the truth


def test_backprop_with_a_sane_learning_rate_is_not_stopped_and_stays_finite():
    net = _net()
    result = train(net, *_data(), TrainingConfig(epochs=3, batch_size=4, progress=False, seed=0))
    assert np.all(np.isfinite(result.history.train_loss))
    assert all(np.all(np.isfinite(layer.bias_voltage)) for layer in net.layers)


@pytest.mark.parametrize("rule", [FeedbackAlignmentRule(1e300),
                                  PerturbativeRule(1e300, 4, bias_dither=1e-4, bias_learning_rate=1.0)],
                         ids=["feedback_alignment", "perturbative"])
def test_on_chip_learning_with_an_absurd_learning_rate_stops_naming_layer_window_and_rate(rule):
    net = _net()
    tuning0 = [layer.tuning.copy() for layer in net.layers]
    with pytest.raises(TrainingDivergence) as caught:
        train_on_chip(net, *_data(), rule, OnChipConfig(windows=5, batch_size=4, evaluate_every=5, seed=0),
                      WriteSettings(step=0))
    line = str(caught.value)
    assert "\n" not in line
    assert re.fullmatch(rf"on-chip learning \({type(rule).__name__}\): layer \d's requested tuning changes "
                        r"\(\d+ of \d+ values\) became non-finite in window 1: the likely cause is a learning "
                        r"rate too large: training\.on_chip\.learning_rate = 1e\+300 \(try 0\.3 or smaller\)", line)
    for layer, t0 in zip(net.layers, tuning0):                # stopped before anything was written
        assert np.array_equal(layer.tuning, t0)


def test_on_chip_bias_steps_that_overflow_name_the_bias_learning_rate():
    net = _net()
    rule = PerturbativeRule(0.3, 4, bias_dither=1e-4, bias_learning_rate=1e308)
    with pytest.raises(TrainingDivergence, match=r"requested bias changes .* training\.on_chip\."
                                                 r"bias_learning_rate = 1e\+308 V\^2 \(try 1e\+307 V\^2"):
        train_on_chip(net, *_data(), rule, OnChipConfig(windows=5, batch_size=4, evaluate_every=5, seed=0),
                      WriteSettings(step=0))


@pytest.mark.parametrize("value, default, expected", [(1e308, 6.6e-6, "6.6e-06"), (1e-5, 6.6e-6, "1e-06"),
                                                      (5.0, None, "0.5")])
def test_the_suggested_rate_is_smaller_than_the_one_that_diverged(value, default, expected):
    cause = learning_rate_cause("k", value, "", default)
    assert f"(try {expected} or smaller)" in cause and float(expected) < value


def _fast_scenario():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        import fuzz
    finally:
        sys.path.pop(0)
    return fuzz.FAST


@pytest.mark.parametrize("sets, start", [
    (["training.bias_learning_rate=1e308"], "training (backprop): layer 0's bias voltages"),
    (["training.rule=feedback_alignment", "training.on_chip.learning_rate=1e300", "training.on_chip.windows=3",
      "training.on_chip.batch_size=4"], "on-chip learning (FeedbackAlignmentRule): layer "),
], ids=["backprop", "on_chip"])
def test_a_training_divergence_in_rfemu_run_is_one_line_and_exit_2(tmp_path, capsys, sets, start):
    from rfemu.cli import main
    scenario = tmp_path / "s.yaml"
    scenario.write_text(_fast_scenario())
    capsys.readouterr()
    args = ["run", str(scenario), "--out", str(tmp_path / "run"), "-q"]
    for s in sets:
        args += ["--set", s]
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"{scenario}: (run): {start}")
    assert "became non-finite in " in line and "learning rate too large" in line
    assert not (tmp_path / "run").exists()


def test_the_on_chip_progress_bar_is_shown_over_the_windows_and_changes_no_result(capsys):
    rule = lambda: PerturbativeRule(0.3, 4, bias_dither=1e-4, bias_learning_rate=1.0)      # noqa: E731
    results = []
    for progress in (False, True):
        net = _net()
        config = OnChipConfig(windows=6, batch_size=4, evaluate_every=3, seed=0, progress=progress)
        capsys.readouterr()
        r = train_on_chip(net, *_data(), rule(), config, WriteSettings(step=1e3))
        results.append((r, capsys.readouterr().err))
    (quiet, quiet_err), (shown, shown_err) = results
    assert quiet_err == "" and re.search(r"on-chip learning: +0%\|.*\| 0/6 \[", shown_err)
    assert quiet.curve.accuracy == shown.curve.accuracy
    assert np.array_equal(quiet.curve.cost, shown.curve.cost, equal_nan=True)
    for a, b in zip(quiet.network.layers, shown.network.layers):
        assert np.array_equal(a.tuning, b.tuning) and np.array_equal(a.bias_voltage, b.bias_voltage)


def test_a_resumed_run_that_diverges_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    """``rfemu run --resume DIR``: the same one line (the folder, the divergence), exit 2."""
    from rfemu import api
    from rfemu.cli import main
    divergence = TrainingDivergence("training (backprop): layer 1's bias voltages (2 of 2 values)", "epoch 7",
                                    learning_rate_cause("training.bias_learning_rate", 1e308, "V", 6.6e-6), 7)

    def resume_run(*args, **kwargs):
        raise divergence
    monkeypatch.setattr(api, "resume_run", resume_run)
    capsys.readouterr()
    rc = main(["run", "--resume", str(tmp_path), "-q"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip().splitlines() == [f"{tmp_path}: (run): {divergence.line()}"]
