"""Event engine == compiled engine on the trained drone network (256 -> 128 -> 10, ~34,000
junction agents), noise off (data: $RFEMU_DATA/drone_rf/, as in .ci/run; absent, the tests skip
naming ``rfemu data fetch drone``)."""
import contextlib
import signal

import numpy as np
import pytest

from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventEngine
from rfemu.learning.backprop import TrainingConfig, train
from rfemu.network import build_graph, spin_mlp, write_back
from rfemu.tasks.datasets import drone_rf


def _trained(require_data):
    task = drone_rf(require_data("drone"))
    G = build_graph(spin_mlp((256, 128, 10)), seed=0)
    result = train(G, task.x_train, task.y_train, TrainingConfig(epochs=10, progress=False, seed=0))
    write_back(G, result.network)
    return task, G


@contextlib.contextmanager
def _fails_after(seconds):
    """Turn a hang (a stalled clock loops forever) into a failure."""
    def stalled(signum, frame):
        raise AssertionError(f"the event engine did not finish within {seconds} s: its clock stalled?")
    previous = signal.signal(signal.SIGALRM, stalled)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_trained_drone_network_event_outputs_equal_compiled_outputs(require_data):
    task, G = _trained(require_data)
    x = task.x_test[:20]
    expected = CompiledEngine(G).forward(x).scores
    engine = EventEngine(G)
    assert len(engine.junctions) == 256 * 128 + 128 * 10
    run = engine.run(x)
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(run.outputs, expected, rtol=1e-6, atol=1e-6 * scale)
    np.testing.assert_array_equal(run.predictions, np.argmax(expected, axis=1))
    # the trained neurons move between samples: the chip really worked through every input
    assert np.all(run.n_events[1:] > 256)


def test_whole_drone_test_set_back_to_back_in_one_engine_equals_compiled(require_data):
    # the defect this guards against: on this network a float clock stalls at ~15 ms of
    # simulated time (a neuron asks for a delay below the clock's resolution and loops)
    task, G = _trained(require_data)
    x = task.x_test
    assert len(x) == 298
    expected = CompiledEngine(G).forward(x).scores
    engine = EventEngine(G)
    with _fails_after(900):
        run = engine.run(x)
    assert engine.now > 20e-3                           # well past where a float clock stalled
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(run.outputs, expected, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_array_equal(run.predictions, np.argmax(expected, axis=1))
    # every input moved the chip; an output already within its tolerance of its new value
    # settles at once (latency 0)
    assert np.all(run.n_events > 0) and np.all(np.isfinite(run.latency)) and np.all(run.latency >= 0)
