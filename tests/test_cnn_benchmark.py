"""benchmarks/cnn.py --quick on a subset of MNIST (needs the data set): the spintronic CNN and
the software CNN of the same shape both learn far above chance, the ideal parallel arrangement is
the sequential one exactly, and calibrated writes recover what a 5 % device spread costs."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_cnn_benchmark_quick(require_data):
    path = require_data("mnist")
    env = dict(os.environ, RFEMU_DATA=str(Path(path).parent))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cnn.py"), "--quick", "--event-images", "0"],
                          capture_output=True, text=True, env=env, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-2000:]
    f = json.loads(proc.stdout.strip().splitlines()[-1])
    assert f["n_train"] == 3000 and f["n_test"] == 500
    assert f["cnn_test_accuracy"] > 60.0                 # chance is 10 %
    assert f["software_cnn_test_accuracy"] > 40.0
    assert f["parallel_equals_sequential_max_abs_V"] < 1e-12
    # the 5 % spread written blind costs accuracy; calibrated writes put it back
    assert f["parallel_spread_5pct_calibrated_accuracy"] > f["parallel_spread_5pct_accuracy"] + 5.0
    assert abs(f["parallel_spread_5pct_calibrated_accuracy"] - f["cnn_test_accuracy"]) < 3.0
    assert 0 < f["cnn_epoch_ratio"] < 50
