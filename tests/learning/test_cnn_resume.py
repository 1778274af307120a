"""A CNN's training (rfemu.learning.cnn.train_cnn) stopped at any checkpoint (after a batch, or at
the end of an epoch), its state saved through a checkpoint file and taken back by a fresh network
built the same way, ends with the arrays, curve and kept epoch of the training left alone, bit for
bit: in the sequential arrangement, and in the parallel one with write noise drawn at every step
and the best held-out epoch kept."""
import numpy as np
import pytest

from rfemu.checkpoint import read_checkpoint, write_checkpoint
from rfemu.engines.conv import SpinCNN, rearranged
from rfemu.learning import cnn as lc
from rfemu.network import build_graph, conv
from rfemu.network.frequency import FrequencyPlan
from rfemu.devices.oscillator import OscillatorParameters

from bar_images import bars

IMAGE = (1, 8, 8)


def _cnn(parallel):
    c = conv.ConvDescription(filters=3, kernel_size=3, pool_size=2, pool="max", arrangement="sequential",
                             patch_plan=FrequencyPlan("geometric", 20e6, 120e6),
                             oscillator=OscillatorParameters(max_output_power=0.2e-6))
    net = SpinCNN.from_graph(build_graph(conv.cnn_description(c, IMAGE, (8,), 3), seed=1))
    return rearranged(net, conv.PARALLEL, base_spread=0.01, seed=3) if parallel else net


class _Stop(Exception):
    pass


class _Checkpoint:
    """Saves the ``at``-th state offered through a checkpoint file and stops the loop there; or
    gives a saved state back when asked."""

    def __init__(self, folder, at=None, saved=None):
        self.folder, self.at, self.saved, self.offers = folder, at, saved, 0

    def restore(self, loop):
        assert loop == lc.CHECKPOINT_LOOP
        saved, self.saved = self.saved, None
        return saved

    def offer(self, loop, state):
        self.offers += 1
        if self.offers == self.at:
            write_checkpoint(self.folder, {"format": 1, "state": state()})
            self.saved = read_checkpoint(self.folder)["state"]
            raise _Stop


def _arrays(net):
    layer = net.conv
    return [layer.tuning, layer.target_tuning, layer.bias_voltage] + \
        [a for hl in net.head.network.layers for a in (hl.tuning, hl.bias_voltage)]


@pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])
def test_a_cnn_training_stopped_at_a_checkpoint_and_resumed_ends_as_the_training_left_alone(parallel, tmp_path):
    x, y = bars(150, 4)
    config = lc.CNNTrainingConfig(epochs=3, batch_size=50, write_noise=3e3 if parallel else 0.0,
                                  validation_fraction=0.2 if parallel else 0.0, seed=5)
    alone_net = _cnn(parallel)
    alone = lc.train_cnn(alone_net, x, y, config)
    # 3 batches an epoch: offers 1, 2 inside epoch 0, 3 at its end, 4 inside epoch 1
    for at, (epoch, batch) in zip((2, 3, 4), ((0, 2), (1, 0), (1, 1))):
        stopped = _Checkpoint(tmp_path, at)
        with pytest.raises(_Stop):
            lc.train_cnn(_cnn(parallel), x, y, config, checkpoint=stopped)
        assert (stopped.saved["epoch"], stopped.saved["batch"]) == (epoch, batch)
        net = _cnn(parallel)
        resumed = lc.train_cnn(net, x, y, config, checkpoint=_Checkpoint(tmp_path, saved=stopped.saved))
        for a, b in zip(_arrays(alone_net), _arrays(net), strict=True):
            assert a.tobytes() == b.tobytes()
        for name in ("train_loss", "train_accuracy", "validation_accuracy"):
            assert np.array_equal(getattr(alone, name), getattr(resumed, name), equal_nan=True), name
        assert resumed.best_epoch == alone.best_epoch
    assert np.ptp(alone.train_loss) > 0 and np.abs(alone_net.conv.target_tuning - _cnn(parallel).conv.target_tuning).max() > 0
    if parallel:       # every copy written with noise at every step: a resume that redrew it would differ
        assert np.ptp(alone_net.conv.tuning - alone_net.conv.target_tuning) > 0
