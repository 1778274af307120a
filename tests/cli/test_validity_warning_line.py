"""A model-validity warning is one line citing where the value came from (issue 12, item 4):
the scenario's FILE:LINE, or the ``--set KEY=VALUE`` override that set it (no ':0')."""
import warnings
from pathlib import Path

from rfemu.cli import main
from rfemu.devices import limits

QUICKSTART = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml"
MESSAGE = ("ModelValidityWarning: network.inputs.max_power: the junctions of layer 0 get tones of up to "
           "1e-05 W, beyond the square-law spin-diode model")


def _validate(capsys, *args):
    limits._WARNED.clear()
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        rc = main(["validate", *args])
    return rc, capsys.readouterr().err.strip().splitlines()


def test_a_warning_from_a_set_override_cites_the_override(capsys):
    rc, lines = _validate(capsys, str(QUICKSTART), "--set", "network.inputs.max_power=10 uW")
    assert rc == 0
    (line,) = lines
    assert line.startswith(f"--set network.inputs.max_power=10 uW: {MESSAGE}")
    assert ":0:" not in line


def test_a_warning_from_the_file_cites_its_line(tmp_path, capsys):
    text = QUICKSTART.read_text()
    path = tmp_path / "loud.yaml"
    path.write_text(text.replace("max_power: 1 uW", "max_power: 10 uW"))
    number = next(i for i, t in enumerate(text.splitlines(), 1) if "max_power: 1 uW" in t)
    rc, lines = _validate(capsys, str(path))
    assert rc == 0
    (line,) = lines
    assert line.startswith(f"{path}:{number}: {MESSAGE}")


def test_the_command_leaves_other_warnings_display_as_it_was(capsys):
    shown = warnings.showwarning
    _validate(capsys, str(QUICKSTART))
    assert warnings.showwarning is shown
