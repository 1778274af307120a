"""The small chip the on-chip learning-loop tests learn on: a 4-3-2 spin MLP (12 + 6 junctions)
with 16 random samples of two classes, continuous writes, and its resonances in one array."""
import numpy as np

from rfemu.learning.local.state import WriteSettings
from rfemu.network import build_graph, compile_graph, spin_mlp

#: writes without quantisation (every request lands as asked)
CONTINUOUS = WriteSettings(step=0.0)


def small_chip():
    """(compiled network, features (16, 4), labels (16,))."""
    net = compile_graph(build_graph(spin_mlp((4, 3, 2)), seed=0))
    rng = np.random.default_rng(0)
    return net, rng.random((16, 4)), rng.integers(0, 2, 16)


def frequencies(net):
    """Hz: every junction's resonance frequency, in the global junction order."""
    return np.concatenate([layer.resonance_frequency.ravel() for layer in net.layers])


def handed_requests(monkeypatch):
    """A list that receives every change (Hz, (N,)) the learning loop hands to the junctions'
    accumulators (a spy on ``JunctionStates.accumulate``)."""
    from rfemu.learning.local import state as local_state
    seen = []
    original = local_state.JunctionStates.accumulate

    def spy(self, delta):
        seen.append(np.array(delta))
        return original(self, delta)

    monkeypatch.setattr(local_state.JunctionStates, "accumulate", spy)
    return seen
