"""Each epoch's kernel time is measured over that epoch's own work."""
import numpy as np

from rfemu.learning import TrainingConfig, train
from rfemu.network import build_graph, spin_mlp
from rfemu.tasks import xor_quadrants


def test_per_epoch_kernel_seconds_are_within_the_epoch():
    task = xor_quadrants(n_train=200, n_test=10, seed=0)
    r = train(build_graph(spin_mlp((2, 6, 2)), seed=0), task.x_train, task.y_train,
              TrainingConfig(epochs=3, batch_size=32, progress=False, validation_fraction=0.2))
    h = r.history
    assert len(h.kernel_seconds) == len(h.lorentzian_seconds) == len(h.seconds) == 3
    for lor, ker, sec in zip(h.lorentzian_seconds, h.kernel_seconds, h.seconds):
        assert 0 < lor <= ker <= sec
    assert np.sum(h.kernel_seconds) <= r.kernel_seconds + 1e-12
