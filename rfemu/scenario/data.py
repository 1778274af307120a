"""Where the data sets are: ``$RFEMU_DATA``, the standard file of each data set."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

__all__ = ["DATA_ENV", "data_root", "STANDARD_DATA", "WHERE_TO_GET", "resolve_data_path"]

DATA_ENV = "RFEMU_DATA"
"""Environment variable naming the folder that holds the data sets (drone_rf/, mnist/)."""


def data_root() -> Optional[Path]:
    """The folder named by ``$RFEMU_DATA`` (None when unset)."""
    value = os.environ.get(DATA_ENV)
    return Path(value) if value else None


STANDARD_DATA = {
    "drone": "drone_rf/RadioSpin_D62_RF_fingerprinting.h5",
    "mnist": "mnist",
}
WHERE_TO_GET = {
    "drone": "Zenodo record 7646236 (CC BY 4.0)",
    "mnist": "the four MNIST IDX files (train/t10k images and labels)",
}


def resolve_data_path(task: "TaskSection", scenario_dir: Optional[Path]) -> Optional[Path]:
    """Where the data of ``task`` is, or None for data sets that need no file."""
    if task.dataset not in STANDARD_DATA:
        return None
    if task.path is None:
        root = data_root()
        return (root / STANDARD_DATA[task.dataset]) if root is not None else None
    p = Path(os.path.expandvars(os.path.expanduser(task.path)))
    if p.is_absolute():
        return p
    candidates = []
    root = data_root()
    if root is not None:
        candidates.append(root / p)
    if scenario_dir is not None:
        candidates.append(scenario_dir / p)
    for c in candidates:
        if c.exists():
            return c
    return candidates[0] if candidates else p


