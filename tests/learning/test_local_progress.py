"""On-chip restarts and screened restarts show a progress bar with the time left (rfemu run's
progress; off in tests and sweeps), which changes no result; the screening bar counts the windows
learn_screened really runs."""
import re
from pathlib import Path

import pytest

from rfemu import api
from rfemu.learning.local import entries, train

QUICKSTART = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml"
FEEDBACK = ("training.rule=feedback_alignment", "training.on_chip.windows=8", "training.on_chip.evaluate_every=4",
            "devices.frequency_state.step=1 kHz", "record.figures=false")
#: metrics that measure the computer, not the emulated chip
WALL_CLOCK = ("wall_time_s", "timing")


def _run(overrides, progress):
    s = api.load_scenario(QUICKSTART, overrides=list(FEEDBACK) + list(overrides))
    metrics = api.run(s, write=False, progress=progress).metrics
    return {k: v for k, v in metrics.items() if k not in WALL_CLOCK}


@pytest.mark.parametrize("overrides, bar", [
    (("training.restarts=3",), r"on-chip restarts: +0%\|.*\| 0/3 \["),
    (("training.restarts=4", "training.on_chip.screen_windows=4"), r"on-chip screening: +0%\|.*\| 0/40 \["),
])
def test_restarts_show_a_bar_with_the_time_left_and_change_no_result(overrides, bar, capsys):
    quiet = _run(overrides, progress=False)
    quiet_err = capsys.readouterr().err
    shown = _run(overrides, progress=True)
    shown_err = capsys.readouterr().err
    assert "on-chip" not in quiet_err and re.search(bar, shown_err), shown_err[-2000:]
    name = bar.split(":")[0]
    assert re.search(name + r": .*<\d\d:\d\d", shown_err)      # tqdm's estimate of the time left
    assert quiet == shown


def test_the_screening_bar_counts_the_windows_learn_screened_runs(monkeypatch):
    """4 programmings of 4 windows, the better 2 for 8, the survivor config.windows (8): 40."""
    learned = []
    original = train.train_on_chip

    def spy(network, features, labels, rule, config, *args, **kwargs):
        learned.append(config.windows)
        return original(network, features, labels, rule, config, *args, **kwargs)

    monkeypatch.setattr(train, "train_on_chip", spy)
    _run(("training.restarts=4", "training.on_chip.screen_windows=4"), progress=False)
    assert learned == entries.screening_schedule(4, 4, 8) == [4, 4, 4, 4, 8, 8, 8]
    assert entries.screening_schedule(5, 10, 100) == [10] * 5 + [20] * 2 + [100]
