"""Paths that are not regular files: a named pipe with no writer (reading it blocked forever), a
device, a folder. Each is one FILE:LINE problem, at once; a pipe that carries a scenario still
works (``cat s.yaml | rfemu validate /dev/stdin``)."""
import os
import threading
import time
from pathlib import Path

import pytest

from rfemu.scenario import ScenarioError, load_scenario
from rfemu.scenario import loading

QUICKSTART = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml"
DRONE = Path(__file__).resolve().parents[2] / "scenarios" / "drone_spinmlp.yaml"


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def _problem(path, overrides=()):
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    (problem,) = info.value.problems
    return problem, time.perf_counter() - t0


def test_a_silent_pipe_as_the_scenario_is_refused_after_the_wait(fifo, monkeypatch):
    monkeypatch.setattr(loading, "PIPE_WAIT_SECONDS", 0.5)
    problem, seconds = _problem(fifo)
    assert problem.file == str(fifo) and "nothing to read from this pipe in 0.5 s" in problem.message
    assert seconds < 5


def test_a_pipe_that_carries_a_scenario_is_read(fifo):
    def write():
        time.sleep(0.3)
        with open(fifo, "w") as f:
            f.write(QUICKSTART.read_text())
    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert load_scenario(fifo).network.layers[0].size == 16
    finally:
        writer.join()


def test_a_folder_as_the_scenario_is_one_problem(tmp_path):
    problem, _ = _problem(tmp_path)
    assert problem.message == "is a folder (expected a scenario file)"


@pytest.mark.parametrize("scenario, key", [(DRONE, "task.path"), (QUICKSTART, "network.chip_state")])
def test_a_pipe_or_device_as_a_data_or_chip_state_file_is_refused_before_it_is_read(fifo, scenario, key):
    for target in (fifo, "/dev/zero"):
        problem, seconds = _problem(scenario, [f"{key}={target}"])
        assert problem.path == key and "is not a regular file" in problem.message, problem
        assert seconds < 10
