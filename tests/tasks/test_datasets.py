"""Data loaders: round trips through files made here, one clear DataError for a bad file."""
import gzip
import os
import struct

import h5py
import numpy as np
import pytest

from rfemu.tasks import (
    DataError, circles, digits, drone_rf, encode_power, mnist, moons, read_idx, xor_quadrants,
)


def write_drone(path, n_train=30, n_test=12, bins=256, **override):
    rng = np.random.default_rng(0)
    data = {"X_train": rng.random((n_train, bins)) * 0.5, "Y_train": rng.integers(0, 10, n_train),
            "X_test": rng.random((n_test, bins)) * 0.7, "Y_test": rng.integers(0, 10, n_test)}
    data.update(override)
    with h5py.File(path, "w") as h5:
        for k, v in data.items():
            if v is not None:
                h5[k] = v
    return data


def test_drone_file_round_trip_and_normalisation(tmp_path, monkeypatch):
    f = tmp_path / "RadioSpin_D62_RF_fingerprinting.h5"
    data = write_drone(f)
    task = drone_rf(f)
    assert task.x_train.shape == (30, 256) and task.n_classes <= 10
    assert task.x_train.max() == pytest.approx(1.0)
    assert np.allclose(task.x_test * data["X_train"].max(), data["X_test"])
    assert np.array_equal(task.y_train, data["Y_train"])
    # found through $RFEMU_DATA/drone_rf/
    (tmp_path / "drone_rf").mkdir()
    os.replace(f, tmp_path / "drone_rf" / f.name)
    monkeypatch.setenv("RFEMU_DATA", str(tmp_path))
    assert np.array_equal(drone_rf().y_test, data["Y_test"])


@pytest.mark.parametrize("case,match", [
    ("missing_file", "does not exist"),
    ("not_hdf5", "cannot be read as HDF5"),
    ("missing_dataset", "missing datasets"),
    ("wrong_labels", "labels"),
])
def test_bad_drone_file_raises_one_data_error_with_file_expectation_and_source(tmp_path, case, match):
    f = tmp_path / "drone.h5"
    if case == "not_hdf5":
        f.write_bytes(b"this is not HDF5")
    elif case == "missing_dataset":
        write_drone(f, Y_test=None)
    elif case == "wrong_labels":
        write_drone(f, Y_train=np.arange(5))
    with pytest.raises(DataError, match=match) as info:
        drone_rf(f)
    msg = str(info.value)
    assert "7646236" in msg and str(f) in msg and isinstance(info.value, ValueError)


def test_no_path_and_no_environment_looks_in_the_cache_and_names_the_command(monkeypatch, tmp_path):
    monkeypatch.delenv("RFEMU_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DataError, match="RFEMU_DATA") as info:
        drone_rf()
    assert "rfemu data fetch drone" in str(info.value) and str(tmp_path / "rfemu") in str(info.value)


def _idx(path, array, compress=True):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    (gzip.open if compress else open)(path, "wb").write(raw)


def test_mnist_idx_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, (7, 28, 28))
    labels = rng.integers(0, 10, 7)
    _idx(tmp_path / "train-images-idx3-ubyte.gz", imgs)
    _idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    _idx(tmp_path / "t10k-images-idx3-ubyte", imgs[:3], compress=False)
    _idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:3], compress=False)
    task = mnist(tmp_path)
    assert np.allclose(task.x_train, imgs.reshape(7, 784) / 255.0)
    assert np.array_equal(task.y_test, labels[:3]) and task.x_test.shape == (3, 784)
    assert mnist(tmp_path, n_train=4).x_train.shape == (4, 784)


def test_truncated_idx_file_is_a_data_error(tmp_path):
    p = tmp_path / "train-images-idx3-ubyte.gz"
    _idx(p, np.zeros((2, 28, 28)))
    raw = gzip.open(p).read()[:-10]
    gzip.open(p, "wb").write(raw)
    with pytest.raises(DataError, match="data bytes"):
        read_idx(p)
    with pytest.raises(DataError, match="MNIST"):
        mnist(tmp_path / "nowhere")


def test_digits_split_and_range():
    task = digits(test_fraction=0.25, seed=0)
    assert len(task.y_test) == pytest.approx(1797 / 4, abs=1)
    assert task.x_train.min() == 0 and task.x_train.max() == 1 and task.n_features == 64
    assert set(np.bincount(task.y_test)) <= set(range(43, 48))      # stratified: ~45 per class


def test_two_input_tasks_are_in_the_unit_square_and_not_linearly_separable():
    from sklearn.linear_model import LogisticRegression
    for task in (xor_quadrants(seed=0), circles(seed=0), moons(seed=0, noise=0.05)):
        assert task.x_train.min() >= 0 and task.x_train.max() <= 1 and task.n_features == 2
        lin = LogisticRegression().fit(task.x_train, task.y_train).score(task.x_test, task.y_test)
        assert lin < 0.9, task.name
    x = xor_quadrants(seed=0)
    assert np.array_equal(x.y_train, ((x.x_train[:, 0] > 0.5) ^ (x.x_train[:, 1] > 0.5)).astype(int))


def test_encode_power():
    assert np.allclose(encode_power([[0.0, 0.5, 1.0]], 2e-6), [[0.0, 1e-6, 2e-6]])
    with pytest.raises(ValueError, match="max_power"):
        encode_power([1.0], -1.0)


def test_real_drone_file_matches_its_published_shape(require_data):
    task = drone_rf(require_data("drone"))
    assert task.x_train.shape == (702, 256) and task.x_test.shape == (298, 256)
    assert task.n_classes == 10 and np.bincount(task.y_train).min() >= 60


@pytest.mark.parametrize("override, match", [
    ({"Y_test": np.r_[-1, np.zeros(11, int)]}, r"Y_test\[0\] = -1: labels must be whole numbers 0-9"),
    ({"Y_train": np.r_[10 ** 9, np.zeros(29, int)]}, r"Y_train\[0\] = 1000000000"),
    ({"Y_train": np.array([b"a"] * 30)}, "not numbers"),
    ({"Y_train": np.full(30, np.nan)}, r"Y_train\[0\] = nan"),
    ({"X_train": np.zeros((0, 256)), "Y_train": np.zeros(0, int)}, "no samples"),
])
def test_a_corrupted_drone_file_is_one_data_error(tmp_path, override, match):
    """Hostile files that used to train (label -1: 51 %) or exhaust memory (label 1e9)."""
    f = tmp_path / "drone.h5"
    write_drone(f, **override)
    with pytest.raises(DataError, match=match):
        drone_rf(f)


def test_a_truncated_empty_or_endless_idx_file_is_one_data_error(tmp_path):
    p = tmp_path / "train-images-idx3-ubyte.gz"
    _idx(p, np.zeros((2, 28, 28)))
    p.write_bytes(p.read_bytes()[:-30])                       # the gzip stream cut short
    with pytest.raises(DataError, match="cannot be read"):
        read_idx(p)
    with pytest.raises(DataError, match="not a regular file"):
        read_idx("/dev/zero")                               # would be read forever
    (tmp_path / "empty").mkdir()
    for name, array in (("train-images-idx3-ubyte", np.zeros((0, 28, 28))), ("train-labels-idx1-ubyte", np.zeros(0)),
                        ("t10k-images-idx3-ubyte", np.zeros((1, 28, 28))), ("t10k-labels-idx1-ubyte", np.zeros(1))):
        _idx(tmp_path / "empty" / name, array, compress=False)
    with pytest.raises(DataError, match="no images"):
        mnist(tmp_path / "empty")
