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


def test_a_state_a_model_refuses_mid_run_is_one_line_and_the_traceback_is_on_request(tmp_path):
    """Input tones of 1e300 W validate (a square-law warning) but give the event engine's neurons
    NaN relaxation times: one line naming the error, exit 2; RFEMU_TRACEBACK=1 shows the traceback."""
    import os
    args = [sys.executable, "-m", "rfemu.cli", "run", str(QUICKSTART), "--set", "network.inputs.max_power=1e300",
            "--set", "engine.kind=event", "--set", "engine.event.samples=2", "--set", "training.epochs=1",
            "--set", "record.figures=false", "-q"]
    proc = subprocess.run(args + ["--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert last.startswith(f"{QUICKSTART}: (run): a device model refused the run's state: ValueError: ")
    assert "RFEMU_TRACEBACK=1" in last and not (tmp_path / "run").exists()
    proc = subprocess.run(args + ["--out", str(tmp_path / "run2")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "RFEMU_TRACEBACK": "1"})
    assert proc.returncode == 1 and "Traceback" in proc.stderr
