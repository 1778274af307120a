"""The sweep folder: one small file per finished point, merged into ``sweep.nc``.

::

    OUT/
      sweep.json          what rfemu wrote here (the scenario's fingerprint, its seed, the sweep)
      scenario.yaml       the resolved scenario without axis overrides
      points/KEY.json     one per finished point (metrics or its error), written atomically
      sweep.nc            every point as one xarray Dataset (written at the end of each sweep)
      figures/*.png       a metric against each axis; a heat map for two axes

A point file is named by the hash of the scenario and the point's overrides, so a sweep started
again with the same command finds what is done and runs only the rest (a point that failed is
run again). rfemu writes only inside OUT and replaces only files it wrote there: a folder that
is not empty and has no ``sweep.json`` is refused, and so is a ``sweep.json`` of another
scenario.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

__all__ = ["SweepFolder", "SweepFolderError", "to_dataset", "write_atomic"]

MANIFEST = "sweep.json"
WRITER = "rfemu sweep"


class SweepFolderError(Exception):
    """A folder that cannot hold this sweep (someone else's files, another scenario)."""


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    A process killed at any moment leaves the old file or the new one, never half of one (no
    fsync: a power cut may lose the last points, which the next run computes again)."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


class SweepFolder:
    """A sweep's folder on disk.

    Parameters
    ----------
    root : path
        The folder (created if missing).
    """

    def __init__(self, root):
        self.root = Path(root)
        self.points_dir = self.root / "points"

    # -- the manifest ---------------------------------------------------------------------
    def manifest(self):
        """The manifest dict, or None when the folder holds none."""
        path = self.root / MANIFEST
        if not path.is_file():
            return None
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):
            raise SweepFolderError(f"{path} is not a sweep manifest rfemu can read") from None
        if not isinstance(manifest, dict) or manifest.get("written_by") != WRITER:
            raise SweepFolderError(f"{path} was not written by rfemu sweep; give another --out")
        return manifest

    def check_writable(self) -> None:
        """Refuse a folder that holds files rfemu did not write."""
        if self.root.exists() and not self.root.is_dir():
            raise SweepFolderError(f"{self.root} exists and is not a folder")
        if self.root.is_dir() and any(self.root.iterdir()) and self.manifest() is None:
            raise SweepFolderError(f"{self.root} is not empty and holds no sweep rfemu wrote; "
                                   "give another --out")

    def claim(self, plan) -> None:
        """Write the manifest for ``plan`` (or check that the folder holds the same scenario)."""
        from rfemu.scenario import dump_resolved
        self.check_writable()
        manifest = self.manifest()
        if manifest is not None and manifest.get("fingerprint") != plan.fingerprint:
            raise SweepFolderError(
                f"{self.root} holds a sweep of another scenario ({manifest.get('source')}, seed "
                f"{manifest.get('seed')}); give another --out")
        self.points_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.points_dir.glob(".*.json.tmp-*"):    # ours, left by a killed run
            stale.unlink()
        manifest = {"written_by": WRITER, "source": plan.source, "seed": plan.seed,
                    "fingerprint": plan.fingerprint,
                    "sweep": plan.section.model_dump(mode="json")}
        write_atomic(self.root / MANIFEST, json.dumps(manifest, indent=1).encode())
        write_atomic(self.root / "scenario.yaml", dump_resolved(plan.base).encode())

    def drawn_seed(self):
        """The seed a previous run of this sweep drew (for a scenario whose seed is null)."""
        manifest = self.manifest() if self.root.is_dir() else None
        return None if manifest is None else manifest.get("seed")

    # -- points -----------------------------------------------------------------------------
    def point_path(self, key: str) -> Path:
        return self.points_dir / f"{key}.json"

    def save_point(self, record: dict) -> None:
        """Store one finished point (atomically)."""
        write_atomic(self.point_path(record["key"]), json.dumps(record).encode())

    def load_point(self, key: str):
        """The stored record of a point, or None (missing or unreadable)."""
        try:
            return json.loads(self.point_path(key).read_text())
        except (OSError, ValueError):
            return None

    def done(self, keys) -> dict:
        """The stored records among ``keys`` that finished without error."""
        out = {}
        for key in keys:
            record = self.load_point(key)
            if record is not None and record.get("error") is None:
                out[key] = record
        return out


# --------------------------------------------------------------------------------------------
# the Dataset
# --------------------------------------------------------------------------------------------

def to_dataset(plan, records: dict):
    """All points of ``plan`` as one xarray Dataset.

    Dimensions: the grid axes (or ``sample``) then ``repeat``. Coordinates: each axis's values
    in SI units (as written when they are not numbers), the seed of each repeat. Variables: every
    scalar metric (NaN where a point failed or lacks it), ``error`` (empty when the point ran),
    ``seconds`` (the point's run time), ``cpu_seconds`` (the CPU time its worker process spent
    on it: unlike ``seconds``, not stretched by other work sharing the cores). Attributes: the resolved scenario (YAML), the sweep
    section (JSON), the seed.
    """
    import xarray as xr

    from rfemu.scenario import dump_resolved
    axes = plan.section.axes
    dims = list(plan.dims)
    shape = tuple(len(v) for v in plan.dims.values())
    names = sorted({m for r in records.values() for m in r.get("metrics", {})})
    arrays = {m: np.full(shape, np.nan) for m in names}
    errors = np.full(shape, "", dtype=object)
    seconds = np.full(shape, np.nan)
    cpu_seconds = np.full(shape, np.nan)
    sampled = {a.label: np.full(shape[:-1], np.nan) for a in axes} \
        if plan.section.sampling == "random" else {}
    for point in plan.points:
        record = records.get(plan.key(point))
        if record is None:
            errors[point.position] = "not run"
            continue
        errors[point.position] = record.get("error") or ""
        seconds[point.position] = record.get("seconds", np.nan)
        cpu_seconds[point.position] = record.get("cpu_seconds", np.nan)
        for m, v in record.get("metrics", {}).items():
            arrays[m][point.position] = v
        for a, v in zip(axes, record.get("axis_si") or []):
            if a.label in sampled and v is not None:
                sampled[a.label][point.position[:-1]] = v
    coords = {"repeat": ("repeat", np.arange(shape[-1])),
              "seed": ("repeat", np.array([p.seed for p in plan.points[:shape[-1]]], dtype=np.int64))}
    if plan.section.sampling == "grid":
        for a in axes:
            si = plan.coords[a.label]
            values = si if all(v is not None for v in si) else [str(v) for v in plan.dims[a.label]]
            coords[a.label] = (a.label, np.asarray(values))
    else:
        coords["sample"] = ("sample", np.arange(shape[0]))
        for label, values in sampled.items():
            coords[label] = ("sample", values)
    data_vars = {m: (dims, arrays[m]) for m in names if m not in coords}  # seed: a coordinate
    data_vars["error"] = (dims, errors.astype(str))
    data_vars["seconds"] = (dims, seconds, {"units": "s", "long_name": "run time of the point"})
    data_vars["cpu_seconds"] = (dims, cpu_seconds, {"units": "s",
                                                    "long_name": "CPU time of the point's worker on it"})
    ds = xr.Dataset(data_vars, coords=coords)
    for a in axes:
        if a.label in ds.coords:
            ds[a.label].attrs["keys"] = ", ".join(a.keys)
    ds.attrs.update({"scenario": dump_resolved(plan.base), "seed": plan.seed,
                     "sweep": json.dumps(plan.section.model_dump(mode="json")),
                     "source": plan.source, "written_by": WRITER})
    return ds


def write_dataset(folder: SweepFolder, ds) -> Path:
    """Save ``ds`` as ``sweep.nc`` in the folder (atomically)."""
    path = folder.root / "sweep.nc"
    tmp = folder.root / f".sweep.nc.tmp-{os.getpid()}"
    ds.to_netcdf(tmp, engine="h5netcdf")
    os.replace(tmp, path)
    return path
