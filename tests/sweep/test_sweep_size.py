"""A sweep too large for the machine or the time budget is refused before its points are listed
(a billion repeats, or an axis of a billion values, listed or validated them for minutes without a
word): one FILE:LINE problem at the key that makes it large; the budget can be raised."""
import time
from pathlib import Path

import pytest

from rfemu.devices import limits
from rfemu.scenario import ScenarioError
from rfemu.sweep.plan import POINT_SECONDS, load_plan

QUICKSTART = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml"


def _sweep(tmp_path, section: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(QUICKSTART.read_text() + "\nsweep:\n" + section)
    return path


@pytest.mark.parametrize("section, key, points", [
    ("  axes: [{key: training.epochs, values: [1]}]\n  repeats: 1000000000\n", "sweep.repeats", "1e+09"),
    ("  axes: [{key: training.epochs, linear: {start: 1, stop: 5, num: 1000000000}}]\n", "sweep.axes.0", "1e+09"),
    ("  sampling: random\n  samples: 100000000\n  axes: [{key: training.epochs, values: [1, 2]}]\n",
     "sweep.samples", "1e+08"),
])
def test_a_sweep_beyond_the_memory_is_refused_at_once(tmp_path, monkeypatch, section, key, points):
    monkeypatch.setenv(limits.MEMORY_ENV, "8 GB")
    path = _sweep(tmp_path, section)
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_plan(path)
    assert time.perf_counter() - t0 < 10
    (problem,) = info.value.problems
    line = next(i for i, row in enumerate(path.read_text().splitlines(), 1)
                if row.strip().startswith(key.split(".")[1].rstrip("0123456789")))
    assert (problem.path, problem.line) == (key, line), problem
    assert problem.message.startswith(f"a sweep of {points} points") and "8 GB" in problem.message


def test_a_sweep_beyond_the_time_budget_is_refused_and_the_budget_can_be_raised(tmp_path, monkeypatch):
    """2,000 points take at least 2,000 x POINT_SECONDS = 20 s (a run of the smallest scenario
    takes ~0.15 s): refused under a 10 s budget, listed under none."""
    path = _sweep(tmp_path, "  axes: [{key: training.epochs, values: [1, 2]}]\n  repeats: 1000\n")
    monkeypatch.setenv(limits.TIME_ENV, "10")
    with pytest.raises(ScenarioError) as info:
        load_plan(path)
    (problem,) = info.value.problems
    assert problem.path == "sweep.repeats" and f"at least {2000 * POINT_SECONDS:.3g} s" in problem.message
    assert limits.TIME_ENV in problem.message
    monkeypatch.setenv(limits.TIME_ENV, "none")
    assert len(load_plan(path).points) == 2000
