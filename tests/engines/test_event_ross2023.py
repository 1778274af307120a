"""The seed's experiment (Ross et al., Nat. Nanotechnol. 18, 1273 (2023), 97.7 %): a two-input RF
network trained offline with the compiled engine keeps its accuracy when run as hardware in the
event engine with thermal noise on (examples/ross2023_two_layer.py runs all three tasks)."""
import importlib.util
import pathlib

import numpy as np

from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventConfig, EventEngine

_EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "ross2023_two_layer.py"


def _example():
    spec = importlib.util.spec_from_file_location("ross2023_two_layer", _EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_xor_trained_offline_keeps_97_percent_in_the_noisy_event_engine():
    ex = _example()
    task = ex.TASKS["xor"](n_train=800, n_test=200, seed=0)
    _, seed, G = ex.train_best(task, ex.description(hidden=8), seeds=[0], epochs=150)
    compiled = CompiledEngine(G).accuracy(task.x_test, task.y_test)
    engine = EventEngine(G, config=EventConfig(**ex.EVENT_CONFIG), seed=seed)
    assert engine.config.noise
    run = engine.run(task.x_test)
    assert compiled >= 0.97
    assert run.accuracy(task.y_test) >= 0.97
    # the noise really acts: outputs differ from the noise-free ones, a little
    ref = CompiledEngine(G).forward(task.x_test).scores
    diff = np.abs(run.outputs - ref)
    assert np.all(diff > 0)
    assert np.median(diff) < 0.05 * np.median(np.abs(ref))
