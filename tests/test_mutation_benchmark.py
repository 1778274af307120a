"""The mutation check (benchmarks/mutation.py) runs, its list is current, and its quick mutants
are killed by the tests named for them."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "mutation.py"


def _run(*args, timeout=600):
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    return proc, json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_mutant_still_applies_to_the_code():
    # a mutant whose text moved no longer tests anything: the list is kept with the code
    proc, figures = _run("--check")
    assert figures["mutants"] >= 50           # the list only grows (50 in session 5)
    assert figures["stale"] == [], proc.stderr
    assert proc.returncode == 0


def test_the_quick_mutants_are_killed():
    proc, figures = _run("--quick")
    assert figures["mutants"] == 3
    assert figures["killed"] == 3 and figures["kill_rate"] == 1.0, proc.stderr
    assert figures["survivors"] == [] and figures["errors"] == []
