"""`rfemu validate` / `rfemu run` on broken scenarios: exit 2, FILE:LINE, no traceback."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = os.environ.get("RFEMU_DATA", "/work/shared/datasets")

GOOD = """\
name: broken
network:
  layers:
    - size: 2
      resonance_plan: {kind: linear, min: 20 MHz, max: 120 MHz}
    - size: 2
task:
  dataset: xor
"""

# (name, text, line the message must cite, words the message must contain)
BROKEN = [
    ("syntax", GOOD.replace("    - size: 2\n", "    - size: [2\n", 1), 5, ["syntax", "line 4"]),
    ("unknown_key", GOOD.replace("task:", "tsak:"), 7, ["did you mean 'task'"]),
    ("wrong_type", GOOD.replace("- size: 2\n      resonance", "- size: two\n      resonance"),
     4, ["whole number"]),
    ("wrong_dimension", GOOD.replace("max: 120 MHz", "max: 120 mA"), 5, ["current", "frequency"]),
    ("negative_linewidth", GOOD.replace("network:\n", "network:\n  inputs:\n    linewidth: -2 MHz\n"),
     4, ["linewidth", "impossible"]),
    ("missing_data_file", GOOD.replace("dataset: xor", "dataset: drone\n  path: no/such/file.h5")
     .replace("    - size: 2\ntask", "    - size: 10\ntask"), 9, ["does not exist", "no/such/file.h5"]),
    ("python_tag", GOOD.replace("name: broken", "name: !!python/object/apply:os.system ['touch pwned']"),
     1, ["not allowed"]),
    ("path_escape", GOOD + "record:\n  figures_dir: ../../outside\n", 10, ["leaves the run folder"]),
    ("nul_byte", GOOD + "seed: 1\x00\n", 9, ["#x0000", "not allowed"]),
    ("infinite", GOOD.replace("max: 120 MHz", "max: .inf"), 5, ["not a finite number"]),
    ("bool_for_number", GOOD.replace("- size: 2\n      resonance", "- size: true\n      resonance"),
     4, ["not true/false"]),
    ("alias_bomb", GOOD + "x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"x{i}: &a{i} [{', '.join(['*a' if i == 0 else f'*a{i - 1}'] * 10)}]\n" for i in range(8)),
     9, ["more than"]),          # the anchor that the aliases repeat
    ("sweep_axis_value", GOOD + "sweep:\n  axes:\n    - key: medium.amplifier_efficiency\n"
     "      values: [0.1, true]\n", 12, ["sweep.axes.0.values", "not true/false"]),
]


def _rfemu(*args, cwd=None, env_extra=None):
    env = dict(os.environ, RFEMU_DATA=DATA, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "rfemu.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


def test_good_scenario_is_ok(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    proc = _rfemu("validate", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{path}: ok"


@pytest.mark.parametrize("name, text, line, words", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_scenario_exits_2_with_its_line(tmp_path, name, text, line, words):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    for command in (["validate", str(path)], ["run", str(path), "--out", str(tmp_path / "run")]):
        proc = _rfemu(*command, cwd=tmp_path)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
        first = proc.stderr.splitlines()[0]
        assert first.startswith(f"{path}:{line}: "), first
        for word in words:
            assert word in first, first
        assert not (tmp_path / "run").exists(), "nothing is written for a bad scenario"
    assert not (tmp_path / "pwned").exists()


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(GOOD.replace("task:", "tsak:").replace("max: 120 MHz", "max: -1 MHz"))
    proc = _rfemu("validate", str(path))
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert [ln.split(":")[1] for ln in lines] == ["5", "7"]


def test_validate_all_examples(require_data):
    require_data("drone"), require_data("mnist")    # two examples use them: skip (fail on CI) if absent
    proc = _rfemu("validate", *sorted(str(p) for p in (ROOT / "scenarios").glob("*.yaml")))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(": ok") == len(list((ROOT / "scenarios").glob("*.yaml")))


def test_bad_override_is_a_bad_input(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    proc = _rfemu("validate", str(path), "--set", "network.layers.0.size=-3")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "network.layers.0.size" in proc.stderr and "--set" in proc.stderr


def test_info_reports_kernel_devices_and_data():
    proc = _rfemu("info")
    assert proc.returncode == 0, proc.stderr
    from rfemu import _core
    from rfemu._version import __version__
    build = _core.build_info()
    assert f"rfemu {__version__}" in proc.stdout
    assert build["compiler"] in proc.stdout and f"max_threads {build['max_threads']}" in proc.stdout
    assert "rfemu.devices.oscillator" in proc.stdout and "rfemu.devices.resonator" in proc.stdout
    expected = "found" if Path(DATA, "mnist").exists() else "MISSING"
    assert f"mnist    {expected}" in proc.stdout


def test_a_malformed_data_file_is_reported_at_run_time_with_its_line(tmp_path):
    (tmp_path / "bad.h5").write_bytes(b"this is not HDF5")
    path = tmp_path / "drone.yaml"
    path.write_text(GOOD.replace("    - size: 2\ntask", "    - size: 10\ntask")
                    .replace("dataset: xor", "dataset: drone\n  path: " + str(tmp_path / "bad.h5")))
    assert _rfemu("validate", str(path)).returncode == 0       # the file exists
    proc = _rfemu("run", str(path), "--out", str(tmp_path / "run"), "-q", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"{path}:9: task.path: ") and "HDF5" in first
    assert not (tmp_path / "run").exists()
