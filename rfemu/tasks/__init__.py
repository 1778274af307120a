"""Data sets and their encoding onto RF tones.

Every loader returns a :class:`Task`: features in [0, 1] (feature i becomes the power of input
tone i, times the sources' max power, 1 uW by default), integer labels, a train/test split.

- :func:`drone_rf`  drone RF fingerprints (HDF5, 256 bins, 10 classes; Zenodo record 7646236)
- :func:`mnist`     MNIST (the four IDX files, gzip or not)
- :func:`digits`    scikit-learn's 8x8 digits (shipped with scikit-learn)
- :func:`xor_quadrants`, :func:`circles`, :func:`moons`  2-input non-linearly separable tasks

Data sets by name (:mod:`rfemu.tasks.registry`): :data:`DATASETS` maps each ``task.dataset`` to
its loader, encoding onto tones, source, licence and pinned checksums; :func:`load` loads one,
:func:`fetch` downloads one (``rfemu data fetch NAME``). Files are found from an explicit path,
else under the data root: ``$RFEMU_DATA`` when set, else the per-user cache. A missing or malformed
file raises :class:`DataError` (a ValueError) saying which file, what was expected and how to get it.
"""
from rfemu.tasks.datasets import (
    DATA_ENV, DRONE_FILENAME, MNIST_FILES, DataError, Task, circles, digits, drone_rf,
    encode_power, mnist, moons, read_idx, xor_quadrants,
)
from rfemu.tasks.registry import (
    DATASETS, REQUIRE_ENV, Dataset, RemoteFile, cache_dir, data_root, default_path, fetch, get,
    is_present, load, missing_files, missing_message, resolve,
)

__all__ = ["DATA_ENV", "DRONE_FILENAME", "MNIST_FILES", "DataError", "Task", "circles", "digits",
           "drone_rf", "encode_power", "mnist", "moons", "read_idx", "xor_quadrants",
           "DATASETS", "REQUIRE_ENV", "Dataset", "RemoteFile", "cache_dir", "data_root", "default_path",
           "fetch", "get", "is_present", "load", "missing_files", "missing_message", "resolve"]
