"""The CNN event engine's state (rfemu.engines.event.conv.ConvEventEngine.state): an engine cut
between two images, saved through a checkpoint file and continued in a fresh engine reads the
remaining images as the engine left alone does, bit for bit (outputs, latencies, the conversion
times, energies, event counts, start times), and ends in the same state, also when the image after
the cut repeats the one before it (the hold's voltages then decide what moves); in both arrangements
(the sequential scan, the parallel copies) and with causal delivery. A state goes on only on the
network it was taken on, and is taken between images only."""
import numpy as np
import pytest

from rfemu.checkpoint import read_checkpoint, write_checkpoint
from rfemu.engines.conv import SpinCNN
from rfemu.engines.event import EventConfig
from rfemu.engines.event.conv import ConvEventEngine, cnn_results_from_state, cnn_results_state
from rfemu.network import build_graph, conv, spin_mlp
from rfemu.network.frequency import FrequencyPlan

GEOMETRY = conv.ConvGeometry(1, 6, 6, 3)       # 16 positions of 9 tones


def _cnn(arrangement, seed=1):
    tones = conv.patch_tone_frequencies(FrequencyPlan("geometric", 20e6, 120e6), GEOMETRY)
    layer = conv.conv_layer(GEOMETRY, 2, tones, arrangement=arrangement, bias_voltage=7e-3,
                            base_spread=0.01, seed=seed)
    layer.tuning = layer.tuning + np.random.default_rng(seed + 1).normal(0.0, 0.2e6, layer.tuning.shape)
    return SpinCNN(layer, build_graph(spin_mlp((8, 5, 3)), seed=seed + 2), pool_size=2, pool="max",
                   input_max_power=0.3e-6)


def _images(n, seed=3):
    return np.random.default_rng(seed).random((n, 1, 6, 6))


def _through_file(state, tmp_path, items=()):
    """The state and the images' results as a resumed run reads them back (an atomic checkpoint
    file, no pickle)."""
    write_checkpoint(tmp_path, {"format": 1, "engine": state, "results": cnn_results_state(items)})
    saved = read_checkpoint(tmp_path)
    return saved["engine"], cnn_results_from_state(saved["results"])


def _same_tree(a, b, path="state"):
    """Two plain-data trees equal bit for bit (arrays by their bytes)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            _same_tree(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same_tree(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        assert x.shape == y.shape and x.tobytes() == y.tobytes(), path
    else:
        assert a == b or (a != a and b != b), path


@pytest.mark.parametrize("causal", [False, True], ids=["default", "causal"])
@pytest.mark.parametrize("arrangement", conv.ARRANGEMENTS)
def test_a_cnn_event_engine_cut_between_images_and_continued_equals_the_engine_left_alone(
        arrangement, causal, tmp_path):
    cnn, x, k = _cnn(arrangement), _images(5), 2
    x[k] = x[k - 1]             # the image after the cut is the one before: the hold keeps its voltages
    config = EventConfig(causal_delivery=causal)
    alone_engine = ConvEventEngine(cnn, config, seed=4)
    alone = alone_engine.run(x)
    first = ConvEventEngine(cnn, config, seed=4)
    items = first.run(x[:k]).items
    state, done = _through_file(first.state(), tmp_path, items)
    resumed_engine = ConvEventEngine(cnn, config, seed=99, state=state)
    resumed = resumed_engine.run(x[k:], done=done)
    for name in ("outputs", "latency", "stage_latency", "n_events"):
        a, b = getattr(alone, name), getattr(resumed, name)
        assert a.shape == b.shape and a.tobytes() == b.tobytes(), name
    assert alone.energy.keys() == resumed.energy.keys()
    for kind in alone.energy:
        assert alone.energy[kind].tobytes() == resumed.energy[kind].tobytes(), kind
    assert [i.t_start for i in alone.items] == [i.t_start for i in resumed.items]
    assert np.all(alone.n_events[k + 1:] > 0) and np.ptp(alone.outputs[k:], axis=0).max() > 0   # images read
    _same_tree(alone_engine.state(), resumed_engine.state())


def test_the_continued_engine_needs_the_state_the_images_left(tmp_path):
    """Powering up afresh at the cut's time (the convolution's oscillators at rest) is not the
    engine left alone: its next image takes other events and energies, so the state matters."""
    cnn, x = _cnn(conv.SEQUENTIAL), _images(3)
    alone = ConvEventEngine(cnn, seed=4).run(x)
    first = ConvEventEngine(cnn, seed=4)
    first.run(x[:2])
    fresh = ConvEventEngine(cnn, seed=4, start_time=first.now).run(x[2:])
    assert fresh.n_events[0] != alone.n_events[2] or \
        fresh.energy["oscillator"][0] != alone.energy["oscillator"][2]


def test_a_state_goes_on_only_on_its_network_and_between_images(tmp_path):
    cnn = _cnn(conv.PARALLEL)
    engine = ConvEventEngine(cnn, seed=4)
    engine.run(_images(1))
    state, _ = _through_file(engine.state(), tmp_path)
    other = _cnn(conv.PARALLEL)
    other.conv.tuning = other.conv.tuning + 1e3                # programmed otherwise
    with pytest.raises(ValueError, match="another convolution"):
        ConvEventEngine(other, seed=4, state=state)
    with pytest.raises(ValueError, match="another network"):   # the head's arrays are checked too
        head = _cnn(conv.PARALLEL)
        head.head.network.layers[0].bias_voltage[0] += 1e-3
        ConvEventEngine(head, seed=4, state=state)
    engine._present(_images(1)[0])                              # an image being read
    with pytest.raises(ValueError, match="between two images"):
        engine.state()
