"""Loaders of the data sets rfemu's benchmarks use, with one clear error for a bad file."""
from __future__ import annotations

import gzip
import zlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from rfemu.rng import as_generator

#: environment variable naming the data directory
DATA_ENV = "RFEMU_DATA"
DRONE_FILENAME = "RadioSpin_D62_RF_fingerprinting.h5"
DRONE_SOURCE = ("`rfemu data fetch drone` (Zenodo record 7646236, file "
                f"{DRONE_FILENAME}, CC BY 4.0), or put it in $RFEMU_DATA/drone_rf/")
DRONE_CLASSES = ("dx4e", "dx6i", "MTx", "Nineeg", "Parrot", "q205", "S500", "tello", "WiFi", "wltoys")
MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
MNIST_SOURCE = ("`rfemu data fetch mnist` (the original MNIST IDX files of Y. LeCun, C. Cortes, "
                "C. Burges), or put them, gzip or not, in $RFEMU_DATA/mnist/")


class DataError(ValueError):
    """A data file is missing or malformed (the message says which, what was expected, where to get it)."""


@dataclass
class Task:
    """A classification task encoded for RF tones.

    x_train, x_test : float64 (N, F) features in [0, 1] (the test set may slightly exceed 1 when
    normalised by the training maximum); y_train, y_test : int64 (N,); n_classes; name;
    class_names; source : where the data came from.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    class_names: tuple = ()
    source: str = ""
    info: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]


def encode_power(features, max_power=1e-6):
    """Tone powers (W) of features in [0, 1]: feature times ``max_power``."""
    if not (np.isfinite(max_power) and max_power > 0):
        raise ValueError(f"max_power must be a positive power in W, got {max_power!r}")
    return np.asarray(features, dtype=float) * max_power


def _resolve(path, subdir, filename, what, source):
    """The file to read: ``path`` (file or directory) or $RFEMU_DATA/subdir/filename."""
    if path is not None:
        p = Path(path)
        if p.is_dir():
            cand = [p / filename, p / subdir / filename]
            for c in cand:
                if c.exists():
                    return c
            raise DataError(f"{what}: no {filename} in {p} (nor in {p / subdir}); get it with {source}")
        if not p.exists():
            raise DataError(f"{what}: file {p} does not exist; expected {filename}; get it with {source}")
        return p
    from rfemu.tasks.registry import data_root
    root = data_root()
    p = root / subdir / filename
    if not p.exists():
        origin = f"${DATA_ENV}={os.environ[DATA_ENV]}" if os.environ.get(DATA_ENV) else \
            f"the per-user cache; ${DATA_ENV} is not set"
        raise DataError(f"{what}: file {p} does not exist (from {origin}); get it with {source}")
    return p


def drone_rf(path=None, normalize=True) -> Task:
    """Drone RF fingerprints: 256-bin spectra of 10 emitters (702 train / 298 test).

    Parameters
    ----------
    path : str or Path, optional
        The HDF5 file or a directory holding it; default ``$RFEMU_DATA/drone_rf/`` + file name.
    normalize : bool
        Divide by the largest training value, so that features lie in [0, 1].

    The file holds datasets ``X_train`` (N, 256), ``Y_train`` (N,), ``X_test``, ``Y_test`` (from
    Zenodo record 7646236, built from Basak et al., COMSNETS 2021).
    """
    import h5py

    file = _resolve(path, "drone_rf", DRONE_FILENAME, "drone RF data set", DRONE_SOURCE)
    expected = "an HDF5 file with datasets X_train (N, 256), Y_train (N,), X_test (M, 256), Y_test (M,)"
    try:
        with h5py.File(file, "r") as h5:
            missing = [k for k in ("X_train", "Y_train", "X_test", "Y_test") if k not in h5]
            if missing:
                raise DataError(f"drone RF data set {file}: missing datasets {missing}; expected {expected}; "
                                f"get it with {DRONE_SOURCE}")
            arrays = {k: np.asarray(h5[k][()]) for k in ("X_train", "Y_train", "X_test", "Y_test")}
    except DataError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"drone RF data set {file}: cannot be read as HDF5 ({exc}); expected {expected}; "
                        f"get it with {DRONE_SOURCE}") from None
    problem = _drone_problem(arrays)
    if problem:
        raise DataError(f"drone RF data set {file}: {problem}; expected {expected}; get it with {DRONE_SOURCE}")
    x_tr = np.squeeze(arrays["X_train"]).astype(float)
    x_te = np.squeeze(arrays["X_test"]).astype(float)
    y_tr = np.asarray(arrays["Y_train"]).ravel()
    y_te = np.asarray(arrays["Y_test"]).ravel()
    y_tr, y_te = y_tr.astype(np.int64), y_te.astype(np.int64)
    scale = x_tr.max() if normalize and x_tr.max() > 0 else 1.0
    n_classes = int(max(y_tr.max(), y_te.max()) + 1)
    names = DRONE_CLASSES if n_classes == len(DRONE_CLASSES) else tuple(str(k) for k in range(n_classes))
    return Task("drone_rf", x_tr / scale, y_tr, x_te / scale, y_te, n_classes, names, str(file),
                {"normalization": float(scale)})


def _drone_problem(arrays) -> Optional[str]:
    """What is wrong with the drone file's arrays (None if nothing): numbers, 2-D spectra with the
    same bins, at least one sample in each split, finite powers >= 0, one label in 0-9 per sample."""
    for key, kinds in (("X_train", "fiu"), ("X_test", "fiu"), ("Y_train", "fiub"), ("Y_test", "fiub")):
        if arrays[key].dtype.kind not in kinds:
            return f"{key} holds {arrays[key].dtype} values, not numbers"
    x_tr, x_te = np.squeeze(arrays["X_train"]), np.squeeze(arrays["X_test"])
    y_tr, y_te = np.ravel(arrays["Y_train"]), np.ravel(arrays["Y_test"])
    if x_tr.ndim != 2 or x_te.ndim != 2 or x_tr.shape[1] != x_te.shape[1]:
        return f"X_train {x_tr.shape} and X_test {x_te.shape} must be 2-D with the same bins"
    if len(x_tr) == 0 or len(x_te) == 0:
        return f"no samples ({len(x_tr)} train, {len(x_te)} test)"
    if len(y_tr) != len(x_tr) or len(y_te) != len(x_te):
        return f"labels ({len(y_tr)}, {len(y_te)}) do not match samples ({len(x_tr)}, {len(x_te)})"
    if not (np.all(np.isfinite(x_tr)) and np.all(np.isfinite(x_te))) or x_tr.min() < 0 or x_te.min() < 0:
        return "spectra must be finite and >= 0 (powers)"
    for key, y in (("Y_train", y_tr), ("Y_test", y_te)):
        bad = ~np.isfinite(y.astype(float)) | (y != np.round(y)) | (y < 0) | (y >= len(DRONE_CLASSES))
        if np.any(bad):
            i = int(np.argmax(bad))
            return (f"{key}[{i}] = {y[i].item()!r}: labels must be whole numbers 0-{len(DRONE_CLASSES) - 1} "
                    f"(the {len(DRONE_CLASSES)} emitters)")
    return None


def read_idx(path) -> np.ndarray:
    """Read one IDX file (gzip-compressed or not) into a numpy array."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    if p.exists() and not p.is_file():
        raise DataError(f"IDX file {p}: not a regular file; expected an IDX file (gzip or raw); "
                        f"get it with {MNIST_SOURCE}")
    try:
        with opener(p, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"IDX file {p}: cannot be read ({exc}); expected an IDX file (gzip or raw); "
                        f"get it with {MNIST_SOURCE}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"IDX file {p}: bad header (expected magic 0x0000 08 nn, unsigned bytes); "
                        f"get it with {MNIST_SOURCE}")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise DataError(f"IDX file {p}: truncated header; get it with {MNIST_SOURCE}")
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    size = int(np.prod(shape)) if ndim else 0
    body = data[4 + 4 * ndim:]
    if len(body) != size:
        raise DataError(f"IDX file {p}: {len(body)} data bytes for shape {shape} ({size} expected); "
                        f"get it with {MNIST_SOURCE}")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def mnist(path=None, n_train=None, n_test=None) -> Task:
    """MNIST: 28x28 digits flattened to 784 features (pixel / 255).

    Parameters
    ----------
    path : directory, optional
        Holding the four IDX files (``.gz`` or raw); default ``$RFEMU_DATA/mnist``.
    n_train, n_test : int, optional
        Use only the first samples (for quick runs).
    """
    files = {}
    for key, name in MNIST_FILES.items():
        base = None
        for candidate in (name + ".gz", name):
            try:
                base = _resolve(path, "mnist", candidate, "MNIST", MNIST_SOURCE)
                break
            except DataError as exc:
                err = exc
        if base is None:
            raise err
        files[key] = base
    arrays = {k: read_idx(f) for k, f in files.items()}
    for k in ("x_train", "x_test"):
        if arrays[k].ndim != 3 or arrays[k].shape[1:] != (28, 28):
            raise DataError(f"MNIST {files[k]}: images of shape {arrays[k].shape}, expected (N, 28, 28); "
                            f"get it with {MNIST_SOURCE}")
    for xk, yk in (("x_train", "y_train"), ("x_test", "y_test")):
        if len(arrays[xk]) == 0:
            raise DataError(f"MNIST {files[xk]}: no images; expected (N, 28, 28) with N >= 1; "
                            f"get it with {MNIST_SOURCE}")
        if arrays[yk].ndim != 1 or len(arrays[yk]) != len(arrays[xk]) or arrays[yk].max() > 9:
            raise DataError(f"MNIST {files[yk]}: {arrays[yk].shape} labels for {len(arrays[xk])} images, "
                            f"expected one label 0-9 per image; get it with {MNIST_SOURCE}")
    sl_tr = slice(None, n_train)
    sl_te = slice(None, n_test)
    x_tr = arrays["x_train"][sl_tr].reshape(-1, 784).astype(float) / 255.0
    x_te = arrays["x_test"][sl_te].reshape(-1, 784).astype(float) / 255.0
    return Task("mnist", x_tr, arrays["y_train"][sl_tr].astype(np.int64), x_te,
                arrays["y_test"][sl_te].astype(np.int64), 10, tuple(str(k) for k in range(10)),
                str(Path(files["x_train"]).parent))


def digits(test_fraction=0.25, seed=0) -> Task:
    """scikit-learn's 8x8 digits (1797 samples, 64 features = pixel / 16), stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = d.data.astype(float) / 16.0
    x_tr, x_te, y_tr, y_te = train_test_split(x, d.target.astype(np.int64), test_size=test_fraction,
                                              random_state=seed, stratify=d.target)
    return Task("digits", x_tr, y_tr, x_te, y_te, 10, tuple(str(k) for k in range(10)),
                "sklearn.datasets.load_digits")


def _two_input(name, x, y, n_train):
    lo = x[:n_train].min(axis=0)
    hi = x[:n_train].max(axis=0)
    x = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return Task(name, x[:n_train], y[:n_train].astype(np.int64), x[n_train:], y[n_train:].astype(np.int64),
                2, ("0", "1"), "generated")


def xor_quadrants(n_train=400, n_test=200, seed=0, margin=0.05) -> Task:
    """XOR of the quadrants: two features uniform in [0, 1], class 1 where exactly one exceeds 0.5.
    Points closer than ``margin`` to the boundaries are left out."""
    rng = as_generator(seed)
    n = n_train + n_test
    pts = []
    while sum(len(p) for p in pts) < n:
        x = rng.random((2 * n, 2))
        keep = np.all(np.abs(x - 0.5) > margin, axis=1)
        pts.append(x[keep])
    x = np.concatenate(pts)[:n]
    y = ((x[:, 0] > 0.5) ^ (x[:, 1] > 0.5)).astype(np.int64)
    return Task("xor_quadrants", x[:n_train], y[:n_train], x[n_train:], y[n_train:], 2, ("0", "1"), "generated")


def circles(n_train=400, n_test=200, seed=0, noise=0.05, factor=0.5) -> Task:
    """Concentric circles (scikit-learn's make_circles), features scaled to [0, 1]."""
    from sklearn.datasets import make_circles
    x, y = make_circles(n_train + n_test, noise=noise, factor=factor, random_state=_int_seed(seed))
    return _two_input("circles", x, y, n_train)


def moons(n_train=400, n_test=200, seed=0, noise=0.1) -> Task:
    """Two interleaved half moons (scikit-learn's make_moons), features scaled to [0, 1]."""
    from sklearn.datasets import make_moons
    x, y = make_moons(n_train + n_test, noise=noise, random_state=_int_seed(seed))
    return _two_input("moons", x, y, n_train)


def _int_seed(seed):
    return int(as_generator(seed).integers(2 ** 31 - 1))
