"""`rfemu plot` on a damaged run folder: one line naming the folder and the damage, exit 2, no
traceback (a YAML parser's error spans several lines, with a caret under its context)."""
import shutil
from pathlib import Path

import pytest

from rfemu import cli

QUICKSTART = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("plot") / "run"
    assert cli.main(["run", str(QUICKSTART), "--out", str(out), "-q", "--set", "training.epochs=1",
                     "--set", "record.figures=false"]) == 0
    return out


@pytest.mark.parametrize("name, content, damage", [
    ("scenario.yaml", "{\n", "damaged run folder: ParserError"),
    ("scenario.yaml", "name: [unclosed\n", "damaged run folder"),
    ("metrics.json", '{"a": ', "damaged"),
    ("trace.nc", b"\0" * 100, "damaged trace.nc"),
])
def test_plot_of_a_damaged_run_folder_is_one_line(finished, tmp_path, capsys, name, content, damage):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    target = run / name
    target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content)
    capsys.readouterr()
    assert cli.main(["plot", str(run)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"{run}: {damage}"), err
    assert "Traceback" not in err and not (run / "figures").exists()


def test_one_line_joins_a_message_without_its_carets():
    text = "while parsing a flow node\nexpected the node content\n  in \"x\", line 2, column 1:\n    \n    ^"
    assert cli.one_line(text) == 'while parsing a flow node; expected the node content; in "x", line 2, column 1:'
    assert cli.one_line("one line") == "one line"
