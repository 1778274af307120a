"""Test configuration: where the real data sets are, and a headless matplotlib.

A test that needs a real data set (drone, MNIST) takes the fixture :func:`require_data` and calls
it with the data set's name: absent, the test skips with a reason naming ``rfemu data fetch NAME``;
with ``RFEMU_REQUIRE_DATA=1`` (as .ci/run sets) it fails instead."""
import os

import pytest
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

# Tests that use the real data sets (drone, MNIST) find them through RFEMU_DATA, as .ci/run sets
# it; a checkout beside ../shared/datasets (the project's layout) needs no setting.
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if "RFEMU_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["RFEMU_DATA"] = str(_SHARED)

# Hypothesis draws its examples at random; under CI (CI=true) the same examples every run
# (derandomised, no example database), so that a failure is reproducible and no run is lucky.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
    _hypothesis_settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _environment_restored():
    """Every test leaves the environment and the working directory as it found them (a test
    that changes them uses ``monkeypatch``): no order effects through the process state.
    Variables a library adds on first use are removed again without complaint."""
    environ, cwd = dict(os.environ), os.getcwd()
    yield
    changed = sorted(k for k in environ if os.environ.get(k) != environ[k] and k != "PYTEST_CURRENT_TEST")
    moved = os.getcwd()
    current = os.environ.get("PYTEST_CURRENT_TEST")
    os.environ.clear()
    os.environ.update(environ)
    if current is not None:
        os.environ["PYTEST_CURRENT_TEST"] = current
    os.chdir(cwd)
    assert not changed and moved == cwd, (
        "the test changed the environment without restoring it: "
        + (f"variables {changed} " if changed else "") + (f"working directory {moved!r}" if moved != cwd else ""))


def require_data_set(name):
    """The path of the real data set ``name`` (:func:`rfemu.tasks.default_path`), or skip the
    test naming the command that fetches it (fail under ``RFEMU_REQUIRE_DATA=1``)."""
    from rfemu.tasks import REQUIRE_ENV, default_path, is_present, missing_message
    if not is_present(name):
        message = missing_message(name)
        if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
            pytest.fail(f"{message} (${REQUIRE_ENV} is set: a missing data set fails)", pytrace=False)
        pytest.skip(message)
    return default_path(name)


@pytest.fixture
def require_data():
    """:func:`require_data_set` as a fixture: ``path = require_data("drone")``."""
    return require_data_set


def _assert_backprop_matches_finite_differences(engine, x, y, extra_points=(), scale=1e3):
    """Analytic gradients of the cross-entropy (scores x ``scale``) with respect to the tuning
    states and the bias voltages equal central finite differences to 1e-5 relative."""
    import numpy as np
    import pytest

    from rfemu.learning.backprop import backward, softmax_cross_entropy

    def loss():
        return softmax_cross_entropy(scale * engine.forward(x).scores, y)[0]

    fwd = engine.forward(x, keep=True)
    cur = fwd.layers[0].current
    assert np.any((cur > 10e-6) & (cur < 40e-6)), "neurons must be in their active range"
    _, g_logits = softmax_cross_entropy(scale * fwd.scores, y)
    g_tuning, g_bias = backward(engine, fwd, scale * g_logits)

    def central(array, index, h):
        array[index] += h
        up = loss()
        array[index] -= 2 * h
        down = loss()
        array[index] += h
        return (up - down) / (2 * h)

    for l, layer in enumerate(engine.network.layers):
        points = [(0, 0), (1, 2), (layer.n_chains - 1, layer.n_junctions - 1), *extra_points]
        for (c, j) in points:
            fd = central(layer.tuning, (c, j), 20.0)         # Hz, << the 200 kHz half widths
            assert g_tuning[l][c, j] == pytest.approx(fd, rel=1e-5, abs=1e-12 * np.abs(g_tuning[l]).max())
        for c in range(layer.n_chains):
            fd = central(layer.bias_voltage, c, 1e-7)        # V
            assert g_bias[l][c] == pytest.approx(fd, rel=1e-5, abs=1e-9 * np.abs(g_bias[l]).max())


@pytest.fixture
def check_backprop_gradients():
    """The finite-difference check of :func:`rfemu.learning.backprop.backward` (a function)."""
    return _assert_backprop_matches_finite_differences


@pytest.fixture
def ross_chip():
    """The two-neuron chip of scenarios/onchip_xor.yaml at a random programming: a function
    ``(seed, bias_range=(8 mV, 16 mV), graph_seed=seed) -> (scenario, compiled network)``, its
    tunings and hidden biases drawn by :func:`rfemu.learning.restarts.random_state` with ``seed``
    (the default biases keep both neurons on)."""
    import numpy as np

    from rfemu.learning.restarts import random_state
    from rfemu.network import build_graph, compile_graph
    from rfemu.scenario import load_scenario
    from rfemu.scenario.build import to_description

    def make(seed, bias_range=(0.008, 0.016), graph_seed=None):
        graph_seed = seed if graph_seed is None else graph_seed
        s = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "onchip_xor.yaml")
        net = compile_graph(build_graph(to_description(s, 2, seed=graph_seed), seed=graph_seed))
        random_state(net, np.random.default_rng(seed), bias_range=bias_range)
        return s, net

    return make
