"""Data sets by name: loader, encoding onto tones, source, licence, pinned checksums.

One :class:`Dataset` entry per name in :data:`DATASETS`; the scenario's ``task.dataset`` picks one.
Adding a data set is one entry here plus its test (tests/tasks/). Files of the data sets that are
downloaded live in one folder, the *data root*: ``$RFEMU_DATA`` when it is set (it wins), else a
per-user cache (``~/.cache/rfemu`` on Linux, :func:`cache_dir`), laid out as
``ROOT/<entry.folder>/<file name>``. ``rfemu data fetch NAME`` (:func:`fetch`) downloads the
files through pooch, checks each one's SHA-256 before it is moved into place (a wrong checksum or a
cut download leaves nothing in the folder), and never replaces a file it did not download.

Every entry encodes its features in [0, 1] onto the input tones the same way: feature i is the power
of input tone i times ``network.inputs.max_power`` (:func:`rfemu.tasks.datasets.encode_power`).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional

from rfemu.tasks import datasets as _ds
from rfemu.tasks.datasets import DATA_ENV, DataError, Task

#: set to 1 (as .ci/run does) and a test that needs a missing data set fails instead of skipping
REQUIRE_ENV = "RFEMU_REQUIRE_DATA"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set: its name in the data set's folder, where to get it, its SHA-256."""

    name: str
    url: str
    sha256: str
    size: int
    """bytes"""
    mirrors: tuple = ()
    """further URLs of the same file, tried in turn when ``url`` fails"""


@dataclass(frozen=True)
class Dataset:
    """A data set by name: its shape, its loader, and where its files come from.

    ``load(path, settings, seed)`` returns a :class:`~rfemu.tasks.Task` with features in [0, 1];
    ``path`` is the file or folder of a data set with files (None otherwise), ``settings`` holds
    every key of :attr:`defaults` (the scenario's ``task.*`` keys that apply to this data set).
    """

    name: str
    description: str
    n_features: int
    n_classes: int
    load: Callable[[Optional[Path], Mapping, object], Task]
    defaults: Mapping = field(default_factory=dict)
    image_shape: Optional[tuple] = None
    folder: Optional[str] = None
    """sub-folder of the data root holding :attr:`files` (None: nothing to download)"""
    files: tuple = ()
    source: str = "generated"
    licence: str = ""
    citation: str = ""
    encode: Callable = _ds.encode_power
    """features in [0, 1] -> input tone powers (W), given ``max_power``"""

    @property
    def keys(self) -> frozenset:
        """The ``task.*`` scenario keys this data set takes (``path`` for those with files)."""
        return frozenset(self.defaults) | ({"path"} if self.files else frozenset())

    @property
    def needs_files(self) -> bool:
        return bool(self.files)

    @property
    def fetch_command(self) -> str:
        return f"rfemu data fetch {self.name}"


DRONE_URL = "https://zenodo.org/records/7646236/files/RadioSpin_D62_RF_fingerprinting.h5?download=1"
MNIST_MIRRORS = ("https://storage.googleapis.com/cvdf-datasets/mnist/",
                 "https://ossci-datasets.s3.amazonaws.com/mnist/")


def _mnist_file(name, sha256, size):
    return RemoteFile(name, MNIST_MIRRORS[0] + name, sha256, size,
                      mirrors=tuple(m + name for m in MNIST_MIRRORS[1:]))


DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset("drone", "drone RF fingerprints: 256-bin spectra of 10 emitters (702 train / 298 test)",
            256, 10, lambda path, k, seed: _ds.drone_rf(path, normalize=k["normalize"]),
            defaults={"normalize": True}, folder="drone_rf",
            files=(RemoteFile(_ds.DRONE_FILENAME, DRONE_URL,
                              "a9fc628d25a836f26f8ac9934f8bd1de8858306f11622a8b95b54ea4029a79d6",
                              2060096),),
            source="Zenodo record 7646236 (https://zenodo.org/records/7646236)",
            licence="CC BY 4.0",
            citation="Ross, Leroux et al., Nat. Nanotechnol. 18, 1273 (2023); recordings of Basak "
                     "et al., COMSNETS 2021"),
    Dataset("mnist", "MNIST handwritten digits, 28x28 pixels / 255 (60,000 train / 10,000 test)",
            784, 10, lambda path, k, seed: _ds.mnist(path, n_train=k["n_train"], n_test=k["n_test"]),
            defaults={"n_train": None, "n_test": None}, image_shape=(28, 28), folder="mnist",
            files=(_mnist_file("train-images-idx3-ubyte.gz",
                               "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
                   _mnist_file("train-labels-idx1-ubyte.gz",
                               "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
                   _mnist_file("t10k-images-idx3-ubyte.gz",
                               "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
                   _mnist_file("t10k-labels-idx1-ubyte.gz",
                               "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542)),
            source="the original MNIST IDX files (Y. LeCun, C. Cortes, C. J. C. Burges) on a public "
                   "mirror",
            licence="CC BY-SA 3.0"),
    Dataset("digits", "scikit-learn's 8x8 digits, pixels / 16 (1797 samples, stratified split)",
            64, 10, lambda path, k, seed: _ds.digits(test_fraction=k["test_fraction"], seed=seed),
            defaults={"test_fraction": 0.25}, image_shape=(8, 8),
            source="sklearn.datasets.load_digits (shipped with scikit-learn)", licence="CC BY 4.0"),
    Dataset("xor", "XOR of the quadrants of the unit square (2 features, generated)",
            2, 2, lambda path, k, seed: _ds.xor_quadrants(n_train=k["n_train"], n_test=k["n_test"],
                                                          seed=seed, margin=k["margin"]),
            defaults={"n_train": 400, "n_test": 200, "margin": 0.05}),
    Dataset("circles", "concentric circles (2 features, scikit-learn's make_circles)",
            2, 2, lambda path, k, seed: _ds.circles(n_train=k["n_train"], n_test=k["n_test"], seed=seed,
                                                    noise=k["noise"], factor=k["factor"]),
            defaults={"n_train": 400, "n_test": 200, "noise": 0.05, "factor": 0.5}),
    Dataset("moons", "two interleaved half moons (2 features, scikit-learn's make_moons)",
            2, 2, lambda path, k, seed: _ds.moons(n_train=k["n_train"], n_test=k["n_test"], seed=seed,
                                                  noise=k["noise"]),
            defaults={"n_train": 400, "n_test": 200, "noise": 0.1}),
)}


def get(name) -> Dataset:
    """The entry called ``name`` (a :class:`Dataset` passes through)."""
    if isinstance(name, Dataset):
        return name
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"no data set called {name!r} (expected one of {', '.join(DATASETS)})") from None


# ------------------------------------------------------------------------------ where files are

def cache_dir() -> Path:
    """The per-user cache of downloaded data sets (``$XDG_CACHE_HOME/rfemu`` or ``~/.cache/rfemu``)."""
    import pooch
    return Path(pooch.os_cache("rfemu"))


def data_root() -> Path:
    """The folder holding the data sets: ``$RFEMU_DATA`` if set, else :func:`cache_dir`."""
    value = os.environ.get(DATA_ENV)
    return Path(os.path.expanduser(value)) if value else cache_dir()


def default_path(name, root=None) -> Optional[Path]:
    """Where the data set's files go under ``root`` (default :func:`data_root`): its folder, or
    its file for a one-file data set; None for data sets without files."""
    d = get(name)
    if not d.files:
        return None
    folder = Path(root if root is not None else data_root()) / d.folder
    return folder / d.files[0].name if len(d.files) == 1 else folder


def resolve(name, path=None, base_dir=None) -> Optional[Path]:
    """The file or folder to load ``name`` from.

    ``path`` (a scenario's ``task.path``): absolute as given; relative, the first that exists of
    ``data_root()/path`` and ``base_dir/path`` (else the first). None: :func:`default_path`.
    """
    d = get(name)
    if not d.files:
        return None
    if path is None:
        return default_path(d)
    p = Path(os.path.expandvars(os.path.expanduser(str(path))))
    if p.is_absolute():
        return p
    candidates = [data_root() / p] + ([Path(base_dir) / p] if base_dir is not None else [])
    return next((c for c in candidates if _exists(c)), candidates[0])


def _exists(path: Path) -> bool:
    """``path.exists()``, False for a name the system refuses to look up (too long)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def missing_files(name, root=None) -> list[Path]:
    """The data set's files that are not in ``root`` (default :func:`data_root`)."""
    d = get(name)
    folder = Path(root if root is not None else data_root()) / (d.folder or "")
    return [folder / f.name for f in d.files if not _present(folder, f.name)]


def _present(folder: Path, name: str) -> bool:
    # MNIST's loader also takes the IDX files uncompressed
    return (folder / name).is_file() or (name.endswith(".gz") and (folder / name[:-3]).is_file())


def is_present(name, root=None) -> bool:
    """True when the data set needs no file or all its files are in the data root."""
    return not missing_files(name, root)


def how_to_get(name) -> str:
    """How to get a data set's files: the command, the download's size, source and licence."""
    d = get(name)
    return (f"run `{d.fetch_command}` (downloads {sum(f.size for f in d.files) / 1e6:.1f} MB from "
            f"{d.source}, {d.licence}) or set ${DATA_ENV} to a folder holding {d.folder}/")


def missing_message(name, path=None) -> str:
    """One sentence: the data set is missing, where it was looked for, how to get it."""
    d = get(name)
    where = path if path is not None else default_path(d)
    return f"the {d.name} data set is not at {where}: {how_to_get(d)}"


def load(name, settings: Optional[Mapping] = None, *, seed=0, path=None, base_dir=None) -> Task:
    """The data set ``name`` as a :class:`Task` (features in [0, 1]).

    settings : its ``task.*`` keys (missing or None values take :attr:`Dataset.defaults`);
    path, base_dir : as in :func:`resolve`. A missing or malformed file raises :class:`DataError`.
    """
    d = get(name)
    k = dict(d.defaults)
    k.update({key: v for key, v in (settings or {}).items() if key in d.defaults and v is not None})
    where = resolve(d, path, base_dir)
    if where is not None and not where.exists():
        raise DataError(missing_message(d, where))
    return d.load(where, k, seed)


# ------------------------------------------------------------------------------ download

def sha256_of(path) -> str:
    """The SHA-256 of a file (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(name, root=None, progress=False) -> list[Path]:
    """Download the data set's missing files into ``root`` (default :func:`data_root`).

    A file already there with the pinned SHA-256 is kept; one with another checksum is not
    replaced (it may be the user's): :class:`DataError`. Each download goes to a temporary file
    in the target folder, checked, then moved into place; a failed, cut or wrong download raises
    :class:`DataError` and leaves nothing behind. Returns the paths of the data set's files.
    """
    import pooch
    import requests

    d = get(name)
    folder = Path(root if root is not None else data_root()) / (d.folder or "")
    out = []
    for f in d.files:
        target = folder / f.name
        if target.exists():
            if sha256_of(target) != f.sha256:
                raise DataError(f"{target} exists but its SHA-256 is not the pinned {f.sha256} "
                                f"({d.name}); rfemu does not replace a file it did not write: move "
                                "it away and fetch again")
            out.append(target)
            continue
        failures = []
        for url in (f.url,) + tuple(f.mirrors):
            try:
                pooch.retrieve(url, known_hash=f"sha256:{f.sha256}", fname=f.name, path=folder,
                               progressbar=progress)
                break
            except ValueError as exc:
                failures.append(f"download of {url} failed its check ({exc})")
            except (requests.exceptions.RequestException, OSError) as exc:
                failures.append(f"download of {url} failed ({type(exc).__name__}: {exc})")
        else:
            raise DataError("; ".join(failures) + f"; nothing was written to {folder}")
        out.append(target)
    return out
