"""Test configuration: where the real data sets are, and a headless matplotlib."""
import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

# Tests that use the real data sets (drone, MNIST) find them through RFEMU_DATA, as .ci/run sets
# it; a checkout beside ../shared/datasets (the project's layout) needs no setting.
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if "RFEMU_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["RFEMU_DATA"] = str(_SHARED)
