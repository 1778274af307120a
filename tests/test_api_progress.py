"""A long event stage says before it starts how long it will take at least (issue 12, item 5:
``noise_duration: 10 s`` ran minutes without a word), then its per-sample bar shows the time
left; a short one, or a quiet run, prints no such line."""
import re
from pathlib import Path

import pytest

from rfemu import api
from rfemu.scenario import load_scenario

QUICKSTART = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.yaml"


def _noisy(tmp_path, samples=2):
    path = tmp_path / "s.yaml"
    path.write_text(QUICKSTART.read_text())
    return load_scenario(path, ["engine.kind=event", "training.epochs=1", "medium.noise=true",
                                "engine.event.noise_duration=0.2 ms", f"engine.event.samples={samples}",
                                "network.layers.0.size=2", "record.figures=false"])


def test_the_estimate_line_gives_the_samples_and_a_lower_bound_of_their_time(tmp_path, capsys, monkeypatch):
    s = _noisy(tmp_path)
    monkeypatch.setattr(api, "ESTIMATE_LINE_SECONDS", 0.0)
    capsys.readouterr()
    result = api.run(s, out=tmp_path / "run", progress=True)
    err = capsys.readouterr().err
    (line,) = [t for t in re.split(r"[\r\n]", err) if "test samples, at least" in t]
    found = re.fullmatch(r"rfemu: event engine: 2 test samples, at least (\S+) s \((\S+) s a sample; "
                         r"the bar shows the time left\)", line)
    assert found
    estimate = float(found.group(1))
    assert estimate == pytest.approx(api.event_time_estimate(s, 2), rel=1e-2)
    assert float(found.group(2)) == pytest.approx(estimate / 2, rel=1e-2)
    assert 0 < estimate < result.metrics["timing"]["event_s"]               # a lower bound of the stage's time


def test_the_estimate_scales_with_the_samples_the_stage_runs(tmp_path):
    s = _noisy(tmp_path, samples=4)
    assert api.event_time_estimate(s, 4) == pytest.approx(2 * api.event_time_estimate(s, 2), rel=1e-12)


def test_a_quiet_or_short_event_stage_prints_no_estimate(tmp_path, capsys):
    s = _noisy(tmp_path)
    assert api.event_time_estimate(s, 2) < api.ESTIMATE_LINE_SECONDS
    capsys.readouterr()
    api._announce_event_time(s, 2)
    assert capsys.readouterr().err == ""
