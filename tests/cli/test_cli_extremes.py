"""Values that validate but whose devices, as drawn, their models refuse (a Gaussian spread large
enough to draw a negative frequency): `rfemu run` says so in one line at the variability key,
exit 2, and writes nothing (it was a ValueError traceback from the graph's construction)."""
import subprocess
import sys
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml"


@pytest.mark.parametrize("override, key", [
    ("variability.source_frequency=5", "variability.source_frequency"),
    ("variability.oscillator_frequency=3", "variability.oscillator_frequency"),
])
def test_devices_drawn_outside_their_models_are_one_line_at_the_spread(tmp_path, override, key):
    proc = subprocess.run([sys.executable, "-m", "rfemu.cli", "run", str(QUICKSTART), "--set", override,
                           "--set", "training.epochs=1", "--out", str(tmp_path / "run"), "-q"],
                          capture_output=True, text=True, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"--set {override}: {key}: the devices as drawn are refused: ")
    assert "reduce the spread" in lines[0] and not (tmp_path / "run").exists()
