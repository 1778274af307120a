"""Event engine == compiled engine on the trained drone network (256 -> 128 -> 10, ~34,000
junction agents), noise off, first 20 test samples (data: $RFEMU_DATA/drone_rf/, as in .ci/run)."""
import numpy as np

from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventEngine
from rfemu.learning.backprop import TrainingConfig, train
from rfemu.network import build_graph, spin_mlp, write_back
from rfemu.tasks.datasets import drone_rf


def test_trained_drone_network_event_outputs_equal_compiled_outputs(require_data):
    task = drone_rf(require_data("drone"))
    G = build_graph(spin_mlp((256, 128, 10)), seed=0)
    result = train(G, task.x_train, task.y_train, TrainingConfig(epochs=10, progress=False, seed=0))
    write_back(G, result.network)
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
