"""Where the data sets are: the data root and each data set's files, from the registry
:mod:`rfemu.tasks.registry` (``$RFEMU_DATA`` when set, else the per-user cache)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from rfemu.tasks import registry
from rfemu.tasks.datasets import DATA_ENV

__all__ = ["DATA_ENV", "data_root", "STANDARD_DATA", "WHERE_TO_GET", "resolve_data_path"]


def data_root() -> Path:
    """The folder holding the data sets (:func:`rfemu.tasks.registry.data_root`)."""
    return registry.data_root()


#: each data set with files: its standard path under the data root
STANDARD_DATA = {name: str(registry.default_path(name, root=Path())) for name, d in registry.DATASETS.items()
                 if d.needs_files}
#: each data set with files: how to get them (the command, source, licence)
WHERE_TO_GET = {name: registry.how_to_get(name) for name in STANDARD_DATA}


def resolve_data_path(task: "TaskSection", scenario_dir: Optional[Path]) -> Optional[Path]:
    """Where the data of ``task`` is, or None for data sets that need no file
    (:func:`rfemu.tasks.registry.resolve`)."""
    return registry.resolve(task.dataset, task.path, scenario_dir)
