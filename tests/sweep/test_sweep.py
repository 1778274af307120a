"""The sweep section: its points, their seeds, its errors, and a point equal to ``rfemu run``."""
import numpy as np
import pytest

from rfemu.scenario import ScenarioError
from rfemu.sweep.plan import load_plan
from rfemu.study.sweep import SweepSection, repeat_seed, sweep_points

GRID = """\
    sweep:
      axes:
        - key: training.epochs
          values: [5, 20]
        - key: network.inputs.frequency_plan.max
          linear: {start: 100 MHz, stop: 140 MHz, num: 3}
      repeats: 2
    """


def _line_of(path, text):
    """1-based line number of the line of ``path`` holding ``text``."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_grid_points_repeat_fastest_and_seeds_shared_across_points():
    section = SweepSection.model_validate({
        "axes": [{"key": "a.b", "values": [1, 2, 3]},
                 {"key": "c", "log": {"start": "1 GHz", "stop": "100 GHz", "num": 3}}],
        "repeats": 4})
    dims, points = sweep_points(section, seed=11)
    assert [len(v) for v in dims.values()] == [3, 3, 4]
    assert len(points) == 36 and len({p.position for p in points}) == 36
    assert dims["c"] == ["1.0 GHz", "10.0 GHz", "100.0 GHz"]
    assert [p.position[-1] for p in points[:5]] == [0, 1, 2, 3, 0]
    # common random numbers: repeat r has one seed at every point; repeat 0 is the scenario's
    for p in points:
        assert p.seed == repeat_seed(11, p.position[-1])
    assert repeat_seed(11, 0) == 11
    assert len({repeat_seed(11, r) for r in range(100)}) == 100


def test_more_repeats_keep_the_seeds_of_the_first_ones():
    few = sweep_points(SweepSection(repeats=3), seed=5)[1]
    many = sweep_points(SweepSection(repeats=10), seed=5)[1]
    assert [p.seed for p in few] == [p.seed for p in many[:3]]


def test_random_sampling_draws_inside_the_ranges_and_is_reproducible():
    spec = {"axes": [{"key": "x", "log": {"start": 1e-3, "stop": 1e-1, "num": 2}},
                     {"key": "y", "values": ["a", "b"]}],
            "sampling": "random", "samples": 200}
    section = SweepSection.model_validate(spec)
    _, points = sweep_points(section, seed=2)
    x = np.array([p.values[0] for p in points])
    assert np.all((x >= 1e-3) & (x <= 1e-1))
    # log-uniform: half the draws below the geometric middle 1e-2 (binomial, 5 sigma)
    assert abs(np.mean(x < 1e-2) - 0.5) < 5 * 0.5 / np.sqrt(200)
    assert {p.values[1] for p in points} == {"a", "b"}
    assert [p.values for p in sweep_points(section, seed=2)[1]] == [p.values for p in points]
    assert [p.values for p in sweep_points(section, seed=3)[1]] != [p.values for p in points]


def test_sweep_errors_cite_file_and_line(tmp_path, write_scenario):
    path = write_scenario(tmp_path, """\
        sweep:
          axes:
            - key: training.epochs
              values: [5, 20]
              linear: {start: 1, stop: 2, num: 2}
          repeats: 0
        """)
    with pytest.raises(ScenarioError) as err:
        load_plan(path)
    lines = str(err.value).splitlines()
    axis, repeats = _line_of(path, "- key: training.epochs"), _line_of(path, "repeats: 0")
    assert any(line.startswith(f"{path}:{axis}: sweep.axes.0:") and "exactly one of" in line
               for line in lines), lines
    assert any(line.startswith(f"{path}:{repeats}: sweep.repeats:") for line in lines), lines


@pytest.mark.parametrize("text", ["repeats: true", "repeats: 2.5", "sampling: random\n  samples: false"])
def test_counts_refuse_booleans_and_fractions(tmp_path, write_scenario, text):
    # YAML's true is an int to lax pydantic: `repeats: true` ran one repeat (fuzzing found it)
    path = write_scenario(tmp_path, "sweep:\n  axes:\n    - key: training.epochs\n"
                                    "      values: [5, 20]\n  " + text + "\n")
    with pytest.raises(ScenarioError) as err:
        load_plan(path)
    key = text.split(":")[0] if "samples" not in text else "samples"
    (problem,) = err.value.problems
    assert problem.path == f"sweep.{key}" and problem.line > 0, problem


def test_an_axis_value_the_scenario_refuses_cites_the_axis(tmp_path, write_scenario):
    path = write_scenario(tmp_path, """\
        sweep:
          axes:
            - key: network.inputs.frequency_plan.max
              values: [100 MHz, 10 uA]
        """)
    with pytest.raises(ScenarioError) as err:
        load_plan(path)
    (problem,) = err.value.problems
    assert (problem.file, problem.line, problem.path) == \
        (str(path), _line_of(path, "values: [100 MHz, 10 uA]"), "sweep.axes.0.values")
    assert "10 uA" in problem.message and "network.inputs.frequency_plan.max" in problem.message


def test_an_unknown_key_is_refused(tmp_path, write_scenario):
    path = write_scenario(tmp_path, """\
        sweep:
          axes:
            - key: training.epoks
              values: [1, 2]
        """)
    with pytest.raises(ScenarioError) as err:
        load_plan(path)
    assert "epoks" in str(err.value) and "sweep.axes.0" in str(err.value)


def test_grid_coordinates_are_in_si_units(tmp_path, write_scenario):
    plan = load_plan(write_scenario(tmp_path, GRID))
    assert plan.coords["network.inputs.frequency_plan.max"] == pytest.approx([100e6, 120e6, 140e6])
    assert plan.coords["training.epochs"] == [5.0, 20.0]


def test_repeat_zero_of_a_point_is_rfemu_run_with_the_axis_values(tmp_path, write_scenario):
    """Every metric of a point equals the run of the scenario with the same --set overrides."""
    import rfemu.api as api
    from rfemu.sweep.plan import flatten_metrics
    from rfemu.sweep.runner import run_sweep
    path = write_scenario(tmp_path, GRID)
    result = run_sweep(path, out=tmp_path / "out", workers=0, progress=False)
    ds = result.dataset
    s = api.load_scenario(path, overrides=["training.epochs=20",
                                           "network.inputs.frequency_plan.max=120 MHz"])
    expected = flatten_metrics(api.run(s, write=False, progress=False).metrics)
    point = ds.sel({"training.epochs": 20.0, "network.inputs.frequency_plan.max": 120e6,
                    "repeat": 0})
    compared = [m for m in expected if m in ds and m != "wall_time_s" and not m.startswith("timing")]
    assert len(compared) > 15
    for m in compared:
        assert float(point[m]) == expected[m], m
    # the other repeat ran with another seed and (here) learned something else
    assert int(ds["seed"][1]) != 3
    assert ds["train_accuracy"].sel(repeat=0).values.tolist() != \
        ds["train_accuracy"].sel(repeat=1).values.tolist()

    # figures: the metric against each of the two axes, and the heat map of the pair; `rfemu
    # plot` on the folder redraws the same files from sweep.nc
    from rfemu.cli import main
    names = sorted(p.name for p in result.figures)
    assert names == ["test_accuracy_heatmap.png",
                     "test_accuracy_vs_network.inputs.frequency_plan.max.png",
                     "test_accuracy_vs_training.epochs.png"]
    for p in result.figures:
        p.unlink()
    assert main(["plot", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out" / "figures").iterdir()) == names


def test_random_sampling_records_each_sample_s_values_in_si(tmp_path, write_scenario):
    """sweep.nc's coordinate along ``sample`` is each drawn value converted to SI (kHz -> Hz)."""
    from rfemu.sweep.runner import run_sweep
    path = write_scenario(tmp_path, """\
        sweep:
          axes:
            - key: training.frequency_learning_rate
              name: rate
              log: {start: 10 kHz, stop: 1000 kHz, num: 2}
          sampling: random
          samples: 3
        """)
    plan = load_plan(path)
    drawn = [float(p.values[0].split()[0]) * 1e3 for p in plan.points]
    ds = run_sweep(path, out=tmp_path / "out", workers=0, progress=False, figures=False).dataset
    assert ds["test_accuracy"].dims == ("sample", "repeat")
    np.testing.assert_allclose(ds["rate"].values, drawn, rtol=1e-12)
    assert all(1e4 <= v <= 1e6 for v in drawn) and len(set(drawn)) == 3


def test_an_axis_of_sets_changes_its_keys_together_at_its_labels(tmp_path, write_scenario):
    """Each value of a ``sets`` axis sets several keys to their own values; the labels are its
    coordinates."""
    path = write_scenario(tmp_path, """\
        sweep:
          axes:
            - name: size
              labels: [1, 2]
              sets:
                - {network.layers.0.size: 3, network.layers.0.bias_voltage: 10 mV}
                - {network.layers.0.size: 5, network.layers.0.bias_voltage: 12 mV}
        """)
    plan = load_plan(path)
    assert plan.coords["size"] == [1.0, 2.0]
    from rfemu.sweep.plan import _point_scenario
    layers = [_point_scenario(plan.payload, p.overrides(plan.section.axes)).network.layers[0]
              for p in plan.points]
    assert [(l.size, l.bias_voltage) for l in layers] == [(3, pytest.approx(10e-3)),
                                                         (5, pytest.approx(12e-3))]
    with pytest.raises(ValueError, match="labels"):
        SweepSection.model_validate({"axes": [{"name": "x", "sets": [{"a.b": 1}]}]})
    from rfemu.sweep.runner import run_sweep
    ds = run_sweep(path, out=tmp_path / "out", workers=0, progress=False, figures=False).dataset
    assert ds["size"].values.tolist() == [1.0, 2.0]
    assert ds["size"].attrs["keys"] == "network.layers.0.size, network.layers.0.bias_voltage"
    assert ds["n_oscillators"].values[:, 0].tolist() == [3, 5]


def test_an_axis_of_sets_may_name_its_values(tmp_path, write_scenario):
    """Labels may be names (training schemes have no order): sweep.nc keeps them as its
    coordinate, the figures write them as ticks, and numbers mixed with names are refused."""
    import xarray as xr
    path = write_scenario(tmp_path, """\
        sweep:
          axes:
            - name: scheme
              labels: [untrained, trained]
              sets:
                - {training.rule: none}
                - {training.rule: backprop, training.epochs: 5}
          figures: [test_accuracy]
        """)
    with pytest.raises(ValueError, match="labels"):
        SweepSection.model_validate({"axes": [{"name": "x", "labels": [1.0, "a"],
                                               "sets": [{"a.b": 1}, {"a.b": 2}]}]})
    from rfemu.sweep.runner import run_sweep
    result = run_sweep(path, out=tmp_path / "out", workers=0, progress=False)
    with xr.open_dataset(tmp_path / "out" / "sweep.nc", engine="h5netcdf") as ds:
        assert ds["scheme"].values.tolist() == ["untrained", "trained"]
        assert np.nan_to_num(ds["epochs_run"].values[:, 0]).tolist() == [0, 5]
        # each point's CPU time, from its own process (one thread here): positive, and no more
        # than its wall time
        cpu, wall = ds["cpu_seconds"].values, ds["seconds"].values
        assert np.all(cpu > 0) and np.all(cpu <= wall * 1.02 + 0.005), (cpu, wall)
    assert {p.name for p in result.figures} == {"test_accuracy_vs_scheme.png"}
