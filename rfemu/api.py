"""The Python way in: ``load_scenario`` and ``run`` (the ``rfemu`` command is a thin layer over them).

:func:`run` is the list of a run's stages (data, graph, training, programming, test, event
engine, run folder), each a short function over the run's :class:`_Run` state. Training goes
through the rule registry (:mod:`rfemu.learning.rules`: ``training.rule`` picks the entry), the
data through the data-set registry (:mod:`rfemu.tasks.registry`: ``task.dataset``).

Examples
--------
>>> import rfemu.api as api
>>> s = api.load_scenario("scenarios/quickstart.yaml", overrides=["training.epochs=2"])  # doctest: +SKIP
>>> result = api.run(s, out=None, progress=False)                                      # doctest: +SKIP
>>> result.metrics["test_accuracy"]                                                     # doctest: +SKIP
"""
from __future__ import annotations

import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import xarray as xr
from pydantic import BaseModel
from tqdm.auto import tqdm

from rfemu import plots, tasks
from rfemu import checkpoint as ckpt
from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.conv import CNNEngine, SpinCNN
from rfemu.engines.event import EventEngine, TraceConfig
from rfemu.engines.event.conv import ConvEventEngine, cnn_results_from_state, cnn_results_state, layer_junctions
from rfemu.engines.event.state import results_from_state, results_state
from rfemu.learning import resume
from rfemu.learning.backprop import LearningCurve
from rfemu.learning.cnn import CNNTrainingResult, conv_arrays, result_from_state, result_state, set_conv_arrays
from rfemu.learning.rules import SettingError, TrainingContext, backprop_config, get_rule, int_seed
from rfemu.network import build_graph, compile_graph, write_back
from rfemu.network.conv import compile_conv, write_back_conv
from rfemu.network.chip_state import ChipStateError, apply_chip_state, read_chip_state
from rfemu.network.chip_state import resolve_path as chip_state_path
from rfemu.results import (Result, check_destination, default_run_dir, run_folder_files,
                           static_energy_and_latency, write_run_folder)
from rfemu.scenario import (IMAGE_SHAPES, Scenario, ScenarioError, dump_resolved,
                            load_scenario, resolved_dict, task_settings)
from rfemu.scenario.build import (energy_model, event_config, frequency_state, from_sections,
                                  scenario_problem, to_description)
from rfemu.study.energy import per_operation

__all__ = ["load_scenario", "run", "resume_run", "to_description", "load_task", "Result", "ScenarioError",
           "SEED_STREAMS"]

#: the random streams of a run, spawned in this order from the scenario seed (SeedSequence)
SEED_STREAMS = ("graph", "task", "training", "programming", "event", "restarts", "in_situ")

#: test samples used for the compiled engine's energy and latency figures
ENERGY_SAMPLES = 256


_problem = scenario_problem


def load_task(s: Scenario, seed: int):
    """The scenario's data set as an :class:`rfemu.tasks.Task` (features in [0, 1]), through the
    data-set registry (:func:`rfemu.tasks.load`).

    A missing or malformed file raises :class:`ScenarioError` citing the task's line.
    """
    t = s.task
    key = ("task", "path") if t.path is not None else ("task", "dataset")
    scenario_dir = Path(s.source).parent if s.source else None
    try:
        return tasks.load(t.dataset, task_settings(t), seed=seed, path=t.path, base_dir=scenario_dir)
    except tasks.DataError as exc:
        raise _problem(s, key, str(exc)) from None


def _sections(model, prefix="") -> dict:
    """Every section of a scenario by its dotted path (``{"training.in_situ": ...}``)."""
    out = {prefix: model} if prefix else {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out.update(_sections(value, f"{prefix}.{name}" if prefix else name))
    return out


def _configure(s: Scenario):
    """A rule's config from the scenario's sections by the fields' metadata
    (:func:`rfemu.scenario.build.from_sections`): the :class:`TrainingContext`'s ``configure``."""
    sections = _sections(s)
    return lambda cls, home, **given: from_sections(cls, sections, home, **given)


def _training_config(s: Scenario, seed: int, progress: bool):
    """The backprop rule's :class:`~rfemu.learning.backprop.TrainingConfig` of a scenario
    (:func:`rfemu.learning.rules.backprop_config`)."""
    context = TrainingContext(network=None, features=None, labels=None, settings=s.training,
                              configure=_configure(s))
    return backprop_config(context, seed=seed, progress=progress, n_threads=s.engine.n_threads,
                           image_shape=IMAGE_SHAPES.get(s.task.dataset),
                           snapshot_junctions=s.record.snapshot_junctions)


_int_seed = int_seed


_event_config = event_config
_energy_model = energy_model


# --------------------------------------------------------------------------------------------
# the run: its stages
# --------------------------------------------------------------------------------------------

@dataclass
class _Run:
    """What a run builds up, stage by stage (each stage reads and fills some of it)."""

    s: Scenario
    seed: int
    streams: dict
    progress: bool
    write: bool
    out: object
    timing: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    task: object = None
    description: object = None
    graph: object = None
    network: object = None
    initial_tuning: list = None
    rule: object = None
    history: object = None
    train_info: dict = field(default_factory=dict)
    programming: dict = field(default_factory=dict)
    compiled: CompiledEngine = None
    pred_test: np.ndarray = None
    energy: dict = None
    event_result: object = None
    event_traces: object = None
    traces: object = None
    resolved: dict = None
    figures: list = field(default_factory=list)
    run_dir: object = None
    wall0: float = field(default_factory=time.perf_counter)
    overwrite: bool = False
    frequency_states: list = None
    cnn: object = None          # the SpinCNN of a network with a convolution (network.conv)
    learning_traces: object = None
    checkpointer: ckpt.Checkpointer = None


def _data(r: _Run) -> None:
    """The data set (its random split from the "task" stream)."""
    t0 = time.perf_counter()
    r.task = load_task(r.s, int_seed(r.streams["task"]))
    r.timing["data_s"] = time.perf_counter() - t0


def _graph(r: _Run) -> None:
    """The network graph, variability drawn from the "graph" stream, and its compiled arrays."""
    r.description = to_description(r.s, r.task.x_train.shape[1], seed=r.seed)
    try:
        r.graph = build_graph(r.description, seed=r.streams["graph"])
    except ValueError as exc:       # devices as drawn that their models refuse (a spread too large)
        spreads = sorted(r.s.variability.model_fields_set)
        named = [k for k in spreads if k in str(exc)] or spreads
        raise _problem(r.s, ("variability", named[0]) if named else ("network",),
                       f"the devices as drawn are refused: {exc}") from None
    if r.s.network.chip_state is not None:     # start from a saved or imported chip state
        path = chip_state_path(r.s.network.chip_state, Path(r.s.source).parent if r.s.source else None)
        try:
            apply_chip_state(r.graph, read_chip_state(path))
        except ChipStateError as exc:
            raise _problem(r.s, ("network", "chip_state"), str(exc)) from None
    r.network = compile_graph(r.graph)
    r.initial_tuning = [layer.tuning.copy() for layer in r.network.layers]
    if r.description.conv is not None:      # the convolution before the layers (its own arrays)
        r.cnn = SpinCNN.from_description(r.description.conv, compile_conv(r.graph), r.network)


def _ideal_twin(r: _Run):
    """A builder of the network without variability (same seed), or None without variability."""
    if not r.description.variability.any:
        return None
    return lambda: compile_graph(build_graph(r.description.without_variability(), seed=r.streams["graph"]))


def _training(r: _Run) -> None:
    """The rule ``training.rule`` names (:func:`rfemu.learning.rules.get_rule`) trains the network
    (its loop saving checkpoints through ``r.checkpointer``; a run resumed after the training
    takes the training's outcome from the checkpoint)."""
    s = r.s
    r.rule = get_rule(s.training.rule)
    done = r.checkpointer.resumed_stage("event") if r.checkpointer is not None else None
    if done is not None:
        _restore_training(r, done["training"])
        r.checkpointer.finished_training = done["training"]     # (the event stage saves it on)
        return
    context = TrainingContext(
        network=r.network if r.cnn is None else r.cnn, features=r.task.x_train, labels=r.task.y_train, settings=s.training,
        streams=r.streams, progress=r.progress, n_threads=s.engine.n_threads,
        image_shape=IMAGE_SHAPES.get(s.task.dataset), snapshot_junctions=s.record.snapshot_junctions,
        ideal_twin=_ideal_twin(r), event_config=_event_config(s), energy_model=_energy_model(s),
        frequency_state=s.devices.frequency_state, configure=_configure(s), checkpoint=r.checkpointer)
    try:
        outcome = r.rule.train(context)
    except SettingError as exc:
        raise _problem(s, ("training",) + exc.key, str(exc)) from None
    r.history, r.train_info = outcome.history, outcome.metrics
    r.timing.update(outcome.timing)
    r.learning_traces = outcome.traces
    if r.checkpointer is not None and (r.history is None or type(r.history) in (LearningCurve, CNNTrainingResult)):
        r.checkpointer.finished_training = _training_state(r)


def _training_state(r: _Run) -> dict:
    """The training's outcome as a checkpoint keeps it (the trained arrays, a convolution's too,
    curve, metrics)."""
    h = r.history
    if isinstance(h, CNNTrainingResult):
        history = {"cnn": result_state(h)}
    else:
        history = None if h is None else {"curve": resume.curve_state(h), "snapshot_nodes": list(h.snapshot_nodes)}
    return {"network": resume.trainable_arrays(r.network), "metrics": r.train_info,
            "conv": None if r.cnn is None else conv_arrays(r.cnn.conv),
            "timing": dict(r.timing), "learning_traces": _netcdf_bytes(r.learning_traces), "history": history}


def _netcdf_bytes(ds) -> Optional[np.ndarray]:
    """An xarray Dataset as netCDF bytes (uint8 array; None for None): exact, and read back
    without running code."""
    if ds is None:
        return None
    import io
    buf = io.BytesIO()
    ds.to_netcdf(buf, engine="h5netcdf")
    return np.frombuffer(buf.getvalue(), dtype=np.uint8)


def _netcdf_dataset(data) -> Optional[xr.Dataset]:
    if data is None:
        return None
    import io
    with xr.open_dataset(io.BytesIO(np.asarray(data, dtype=np.uint8).tobytes()), engine="h5netcdf") as ds:
        return ds.load()


def _restore_training(r: _Run, saved: dict) -> None:
    """The training's outcome from a checkpoint taken after it (:func:`_training_state`)."""
    resume.set_trainable_arrays(r.network, saved["network"])
    if saved.get("conv") is not None:
        set_conv_arrays(r.cnn.conv, saved["conv"])
    r.train_info = saved["metrics"]
    r.timing.update(saved["timing"])
    r.learning_traces = _netcdf_dataset(saved.get("learning_traces"))
    r.history = None
    if saved["history"] is not None and "cnn" in saved["history"]:
        r.history = result_from_state(saved["history"]["cnn"])
    elif saved["history"] is not None:
        r.history = LearningCurve()
        resume.set_curve_state(r.history, saved["history"]["curve"])
        r.history.snapshot_nodes = list(saved["history"]["snapshot_nodes"])


def _program(s: Scenario, network, initial_tuning, rng, keep=None) -> dict:
    """Write the trained resonance frequencies into the junctions' non-volatile states.

    One write per junction through :class:`rfemu.devices.resonator.FrequencyState` (quantised to
    ``step``, with ``write_noise``, ``endurance``), then ``engine.hold_time`` of drift
    (:meth:`~rfemu.devices.resonator.FrequencyState.advance`, ``drift_rate``, bounded by the
    window); the programmed and drifted shifts replace the trained ones when they differ.
    Returns the programming energy, latency, writes and the junctions left stuck; ``keep``
    (a list) receives each layer's :class:`FrequencyState` (write counters, stuck flags).
    """
    fs = s.devices.frequency_state
    hold_time = s.engine.hold_time
    energy, latency, written, stuck = 0.0, 0.0, 0, 0
    imperfect = fs.step > 0 or fs.write_noise > 0 or (fs.drift_rate != 0 and hold_time > 0)
    for layer, start in zip(network.layers, initial_tuning):
        state = frequency_state(s, base_frequency=layer.base_frequency.ravel(),
                                window_low=float(layer.tuning_min.min()),
                                window_high=float(layer.tuning_max.max()),
                                seed=rng, shift=np.asarray(start).ravel())
        report = state.write((layer.base_frequency + layer.tuning).ravel())
        state.advance(hold_time)
        if keep is not None:
            keep.append(state)
        energy += report.energy
        latency = max(latency, report.latency)      # the lines are written in parallel
        written += int(np.sum(report.written))
        stuck += int(np.sum(state.stuck))
        if imperfect:
            layer.tuning = np.clip(state.shift.reshape(layer.tuning.shape), layer.tuning_min,
                                   layer.tuning_max)
    return {"programming_energy_J": energy, "programming_latency_s": latency,
            "programming_writes": written, "programming_stuck_devices": stuck}


def _programming(r: _Run) -> None:
    """The trained states written into the junctions (the "programming" stream), the graph
    updated, the compiled engine of the programmed chip."""
    r.programming = _program(r.s, r.network, r.initial_tuning,
                             np.random.default_rng(r.streams["programming"]),
                             keep=r.frequency_states)
    write_back(r.graph, r.network)      # the graph holds the programmed chip's states
    r.compiled = CompiledEngine(r.network, n_threads=r.s.engine.n_threads)
    if r.cnn is not None:               # the whole CNN behind the engine's interface
        write_back_conv(r.graph, r.cnn.conv)
        r.compiled = CNNEngine(r.cnn)


def _test(r: _Run) -> None:
    """Accuracies, energy and latency of the programmed chip in the compiled engine."""
    s, task, network = r.s, r.task, r.network
    t0 = time.perf_counter()
    r.pred_test = r.compiled.predict(task.x_test)
    pred_train = r.compiled.predict(task.x_train)
    n_energy = min(ENERGY_SAMPLES, len(task.x_test))
    fwd = r.compiled.forward(task.x_test[:n_energy], keep=True)
    energy = static_energy_and_latency(
        network, fwd, tolerance=s.engine.event.latency_tolerance, energy_model=_energy_model(s),
        min_relaxation_fraction=s.engine.event.min_relaxation_fraction)
    r.energy = energy
    r.timing["test_s"] = time.perf_counter() - t0
    accuracy = float(np.mean(r.pred_test == task.y_test))
    r.metrics = {
        "name": s.name, "seed": r.seed, "engine": s.engine.kind, "dataset": s.task.dataset,
        "n_train": int(len(task.y_train)), "n_test": int(len(task.y_test)),
        "sizes": list(network.sizes), "n_junctions": int(network.n_junctions),
        "n_oscillators": int(sum(layer.n_chains for layer in network.layers if layer.is_hidden)),
        "test_accuracy": accuracy, "compiled_test_accuracy": accuracy,
        "train_accuracy": float(np.mean(pred_train == task.y_train)),
        **r.train_info, **r.programming,
        "energy_per_inference_J": energy["energy_per_inference_J"],
        "latency_s": energy["latency_s"],
        "energy": {k: v for k, v in energy.items() if k not in ("energy_per_inference_J", "latency_s")},
        "energy_samples": n_energy,
    }
    if not r.rule.trains:
        r.metrics.pop("train_accuracy")


def _event_metrics(r: _Run, engine: EventEngine, result, n_ev: int) -> dict:
    """The event engine's figures (they replace the compiled engine's accuracy, energy, latency)."""
    y = r.task.y_test[:n_ev]
    ev_energy = sum(result.energy.values()) if result.energy else np.zeros(n_ev)
    return {
        "test_accuracy": result.accuracy(y),
        "event_samples": n_ev,
        "compiled_accuracy_on_event_samples": float(np.mean(r.pred_test[:n_ev] == y)),
        "latency_s": float(np.median(result.latency)),
        "energy_per_inference_J": float(np.median(ev_energy)),
        "energy": {f"{k}_J": float(np.median(v)) for k, v in result.energy.items()}
        | {"energy_model": "rfemu.devices.energy.EnergyLedger (event engine)",
           "compiled_estimate_J": r.energy["energy_per_inference_J"],
           "compiled_latency_estimate_s": r.energy["latency_s"]},
        "counters": {"events": int(np.sum(result.n_events)),
                     "events_per_inference": float(np.mean(result.n_events)),
                     "agents": int(engine.n_agents)},
    }


def _conv_event_metrics(cnn, result) -> dict:
    """A CNN's event-engine figures beside :func:`_event_metrics` (whose latency and energy then
    cover the convolution, its oscillators, the pooling and the head): the convolution's
    conversion time (the sequential scan, or one line delay) and its devices, which the
    per-operation energies count with the head's."""
    g = cnn.conv.geometry
    return {"conv_stage_latency_s": float(np.median(result.stage_latency)),
            "conv_junctions": layer_junctions(cnn.conv),
            "conv_oscillators": int(cnn.conv.n_filters * g.n_positions)}


#: s: an event stage estimated (from below) to take at least this long says so before it starts
ESTIMATE_LINE_SECONDS = 10.0


def event_time_estimate(s: Scenario, n_samples: int) -> float:
    """s, the least time the event engine's noisy and phase-locking integrations of
    ``n_samples`` test samples take: the lower bound the time budget is checked against
    (:mod:`rfemu.scenario.checks`, :func:`rfemu.devices.limits.time_problem`), per sample."""
    from rfemu.scenario.checks import _time_parts
    per_sample = sum(p[0] for p in _time_parts(s)) / max(s.engine.event.samples, 1)
    return per_sample * n_samples


def _announce_event_time(s: Scenario, n_samples: int) -> None:
    """One line on stderr before an event stage of at least :data:`ESTIMATE_LINE_SECONDS`:
    its samples and their least time; the per-sample bar then shows the time left."""
    seconds = event_time_estimate(s, n_samples)
    if seconds >= ESTIMATE_LINE_SECONDS:
        tqdm.write(f"rfemu: event engine: {n_samples} test samples, at least {seconds:.3g} s "
                   f"({seconds / max(n_samples, 1):.3g} s a sample; the bar shows the time left)", file=sys.stderr)


def _event_resumed(r: _Run) -> Optional[dict]:
    """The event stage's state saved between two test samples, when resuming from it."""
    c = r.checkpointer
    done = c.resumed_stage("event") if c is not None else None
    return done["state"] if done is not None and "engine" in done["state"] else None


def _event_checkpoints(r: _Run, engine: EventEngine, save_results=results_state):
    """What the event engine calls after each test sample: a checkpoint when one is due (the
    engine's state, :mod:`rfemu.engines.event.state`, and the samples' results so far,
    ``save_results(items)``)."""
    c = r.checkpointer
    if c is None or c.finished_training is None:
        return None
    return lambda items: c.offer_stage("event", lambda: {
        "next_sample": len(items), "engine": engine.state(), "results": save_results(items)})


def _event(r: _Run) -> None:
    """With ``engine.kind: event``, the programmed chip in physical time (the "event" stream);
    the per-operation energy figures in either case."""
    s, network = r.s, r.network
    if s.engine.kind == "event":
        saved = _event_resumed(r)
        if saved is None and r.checkpointer is not None and r.checkpointer.finished_training is not None:
            # the training is not redone after a kill in the event engine's run
            r.checkpointer.offer_stage("event", lambda: {"next_sample": 0})
        n_ev = min(s.engine.event.samples, len(r.task.x_test))
        trace = None
        if s.record.event_traces and r.cnn is None:     # (a CNN's event engine records none)
            trace = TraceConfig(variables=tuple(s.record.event_traces), every=s.record.event_trace_every)
        samples = r.task.x_test[:n_ev]
        if r.cnn is None:
            engine = EventEngine(network, _event_config(s), seed=r.streams["event"],
                                 energy_model=_energy_model(s), trace=trace,
                                 state=None if saved is None else saved["engine"])
        else:       # the whole CNN (convolution, its oscillators, pooling, head), noise off
            engine = ConvEventEngine(r.cnn, _event_config(s), seed=r.streams["event"],
                                     energy_model=_energy_model(s), state=None if saved is None else saved["engine"])
            samples = samples.reshape((-1,) + tuple(r.description.image_shape))
        # (a resumed run goes on after the samples its checkpoint holds)
        results = (results_state, results_from_state) if r.cnn is None else (cnn_results_state, cnn_results_from_state)
        done = [] if saved is None else results[1](saved["results"])
        if r.progress:
            _announce_event_time(s, n_ev - len(done))
        t0 = time.perf_counter()
        r.event_result = engine.run(samples[len(done):], progress=r.progress, done=done,
                                    after_sample=_event_checkpoints(r, engine, results[0]))
        r.timing["event_s"] = time.perf_counter() - t0
        r.event_traces = engine.traces() if trace is not None else None
        r.metrics.update(_event_metrics(r, engine, r.event_result, n_ev))
        if r.cnn is not None:
            r.metrics.update(_conv_event_metrics(r.cnn, r.event_result))
        r.timing["events_per_s"] = float(np.sum(r.event_result.n_events)) / max(
            float(np.sum(r.event_result.wall_time)), 1e-12)
    else:
        r.metrics["counters"] = {
            # every junction answers every tone of its line: the rectification's cost
            "lorentzians_per_inference": int(sum(layer.n_chains * layer.n_junctions * layer.n_tones
                                                 for layer in network.layers)),
            "inferences": int(len(r.task.x_test) + len(r.task.x_train)),
        }
    kinds = {k[:-2]: v for k, v in r.metrics["energy"].items()
             if k.endswith("_J") and k != "compiled_estimate_J"}
    r.metrics["energy"]["per_operation"] = per_operation(
        kinds, r.metrics["n_oscillators"] + r.metrics.get("conv_oscillators", 0),
        r.metrics["n_junctions"] + r.metrics.get("conv_junctions", 0))


def _write(r: _Run) -> None:
    """The traces, the wall time, and (with ``write``) the run folder."""
    s = r.s
    r.traces = _traces(s, r.task, r.network, r.history, r.pred_test, r.compiled, r.event_result)
    if r.event_traces is not None:
        r.traces = _merge_event_traces(r.traces, r.event_traces)
    if r.learning_traces is not None:       # the rule's learning: on_chip_*, in_situ_* variables
        r.traces = xr.merge([r.traces, r.learning_traces], combine_attrs="override")
    r.metrics["wall_time_s"] = time.perf_counter() - r.wall0
    r.metrics["timing"] = r.timing
    r.resolved = resolved_dict(s, r.seed)
    if not r.write:
        return
    if r.run_dir is None:
        r.run_dir = Path(r.out) if r.out is not None else default_run_dir(s.name)
    draw = None
    if s.record.figures:
        def draw(folder):
            return plots.draw_all(r.traces, r.resolved, r.metrics, folder)
    r.figures = write_run_folder(r.run_dir, dump_resolved(s, r.seed), r.metrics, r.traces,
                                 figures_dir=s.record.figures_dir, trace_file=s.record.trace_file,
                                 draw=draw, overwrite=r.overwrite,
                                 extra_files=run_folder_files(r.graph, r.network, r.frequency_states,
                                                              r.seed))
    ckpt.remove_checkpoint(r.run_dir)     # left only where the run's files joined a user's folder


#: the stages of a run, in order: (what the progress bar says, the stage)
STAGES = (("loading data", _data), ("building the network graph", _graph), ("training", _training),
          ("programming the junctions", _programming), ("testing", _test),
          ("event engine", _event), ("writing the run folder", _write))


def _scenario(scenario, engine, overrides) -> Scenario:
    """The validated scenario, with ``engine`` overriding ``engine.kind``."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides=overrides)
    if engine is None:
        return scenario
    if engine not in ("compiled", "event"):
        raise ValueError(f"engine must be 'compiled' or 'event', got {engine!r}")
    s = scenario.model_copy(deep=True)
    s.engine.kind = engine
    s._source, s._positions = scenario.source, scenario.positions
    return s


#: ``checkpoint_interval`` not given: the scenario's ``record.checkpoint_interval``
_SCENARIO_INTERVAL = object()


def _checkpointer(r: _Run, interval, overrides, resumed) -> ckpt.Checkpointer:
    """The run's :class:`~rfemu.checkpoint.Checkpointer` in its run folder; a resumed
    checkpoint must be of this scenario, seed and rfemu version (:class:`CheckpointError`)."""
    from rfemu._version import __version__
    s = r.s
    header = {"fingerprint": ckpt.fingerprint(resolved_dict(s, r.seed)), "seed": int(r.seed),
              "scenario_file": str(Path(s.source).resolve()) if s.source else None,
              "overrides": [str(o) for o in overrides], "overwrite": bool(r.overwrite),
              "rfemu_version": __version__}
    if resumed is not None:
        if ckpt.running_writer(resumed) is not None:
            raise ckpt.CheckpointError(f"the run that wrote this checkpoint (PID {resumed['pid']}) is still "
                                       "running; let it finish or stop it before resuming")
        if resumed.get("rfemu_version") != __version__:
            raise ckpt.CheckpointError(f"the checkpoint was written by rfemu {resumed.get('rfemu_version')}, "
                                       f"this is rfemu {__version__}; start the run again without --resume")
        if resumed.get("fingerprint") != header["fingerprint"]:
            raise ckpt.CheckpointError(
                f"the checkpoint is of another scenario or seed (it was written for "
                f"{resumed.get('scenario_file')} with overrides {resumed.get('overrides')}); expected "
                "that scenario, unchanged")
    else:
        check_destination(r.run_dir, r.overwrite)
    checkpointer = ckpt.Checkpointer(r.run_dir, header, interval, resumed)
    if r.progress:
        checkpointer.announce = lambda folder: tqdm.write(
            f"rfemu: checkpoint saved in {folder}; if the run stops, go on with: rfemu run --resume {folder}")
    return checkpointer


def resume_run(folder, scenario=None, progress: bool = True,
               checkpoint_interval=_SCENARIO_INTERVAL) -> Result:
    """Go on with the run interrupted in ``folder`` (its ``--out``) from its checkpoint
    (:mod:`rfemu.checkpoint`): the scenario file and overrides recorded in the checkpoint (or
    ``scenario``, which must be the same), the same seed; ends with the run folder the run left
    alone would have written (wall times aside).

    Raises
    ------
    rfemu.checkpoint.CheckpointError
        No checkpoint, a damaged or changed one, or one of another scenario.
    """
    content = ckpt.read_checkpoint(folder)
    path = scenario if scenario is not None else content.get("scenario_file")
    if path is None:
        raise ckpt.CheckpointError("the checkpoint names no scenario file (the run was given a Scenario "
                                   "object): pass the scenario")
    overrides = list(content.get("overrides") or [])
    s = path if isinstance(path, Scenario) else load_scenario(path, overrides=overrides)
    return run(s, out=folder, progress=progress, overrides=overrides, overwrite=bool(content.get("overwrite")),
               checkpoint_interval=checkpoint_interval, resume=True)


def run(scenario, engine: Optional[str] = None, out=None, progress: bool = True,
        write: bool = True, overrides=(), overwrite: bool = False,
        checkpoint_interval=_SCENARIO_INTERVAL, resume: bool = False) -> Result:
    """Run a scenario: its :data:`STAGES` (data, network graph, training, programming, test,
    event engine, run folder) one after the other.

    Parameters
    ----------
    scenario : Scenario or path
        A validated scenario (:func:`load_scenario`) or a scenario file.
    engine : {"compiled", "event"}, optional
        Overrides ``engine.kind``.
    out : path, optional
        The run folder; default ``runs/NAME-YYYYmmdd-HHMMSS``.
    progress : bool
        Progress bars (tqdm).
    write : bool
        Write the run folder (False: only return the result).
    overrides : sequence of str
        ``KEY=VALUE`` overrides when ``scenario`` is a path.
    overwrite : bool
        Write into an existing ``out`` that rfemu did not write (only the run's files are
        replaced); without it such a folder is refused (:func:`rfemu.results.check_destination`).
    checkpoint_interval : float or None
        s of wall time between checkpoints saved into the run folder (0: at every epoch or
        window; None: none); default the scenario's ``record.checkpoint_interval``. Only with
        ``write``.
    resume : bool
        Go on from the checkpoint in ``out`` (see :func:`resume_run`, which loads the scenario the
        checkpoint names).

    Returns
    -------
    Result
        ``metrics`` (dict), ``traces`` (xarray Dataset), ``figures`` (paths), ``run_dir``.

    Raises
    ------
    ScenarioError
        A problem found while building (a data file that cannot be read, a value refused by a
        device model or a training rule), citing the scenario's line.
    """
    s = _scenario(scenario, engine, overrides)
    resumed = None
    if resume:
        if out is None or not write:
            raise ValueError("resume needs out (the folder of the interrupted run) and write=True")
        resumed = ckpt.read_checkpoint(out)
    seed = s.seed if s.seed is not None else \
        (int(resumed["seed"]) if resumed is not None else secrets.randbits(32))
    streams = dict(zip(SEED_STREAMS, np.random.SeedSequence(seed).spawn(len(SEED_STREAMS))))
    r = _Run(s, seed, streams, progress, write, out, overwrite=overwrite, frequency_states=[])
    if write:
        r.run_dir = Path(out) if out is not None else default_run_dir(s.name)
        interval = s.record.checkpoint_interval if checkpoint_interval is _SCENARIO_INTERVAL \
            else checkpoint_interval
        if interval is not None or resumed is not None:
            r.checkpointer = _checkpointer(r, interval, overrides, resumed)
    bar = tqdm(total=len(STAGES), desc="rfemu", unit="stage", leave=False, disable=not progress)
    try:
        for what, stage in STAGES:
            bar.set_description(f"rfemu: {what}")
            stage(r)
            bar.update(1)
    finally:
        bar.close()
    return Result(metrics=r.metrics, traces=r.traces, figures=r.figures, run_dir=r.run_dir,
                  scenario=s, resolved=r.resolved, graph=r.graph)


def _confusion(labels, predictions, n_classes) -> np.ndarray:
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(labels), np.asarray(predictions)), 1)
    return m


def _merge_event_traces(traces, event):
    """Add the event engine's time traces (names prefixed ``event_``, times in s)."""
    renamed = event.rename({name: f"event_{name}" for name in list(event.data_vars)
                            + [c for c in event.coords]})
    for name in renamed.coords:
        if renamed[name].dtype == object:
            renamed = renamed.assign_coords({name: renamed[name].astype(str)})
    merged = xr.merge([traces, renamed], combine_attrs="override")
    merged.attrs.update({f"event_{k}": v for k, v in event.attrs.items()})
    return merged


def _history_traces(var, coords, history) -> None:
    """The learning curve, and the followed junctions' resonances when the rule recorded them."""
    coords["epoch"] = np.arange(1, len(history.train_loss) + 1)
    var("train_loss", ("epoch",), history.train_loss, "1", "training cross-entropy")
    var("train_accuracy", ("epoch",), history.train_accuracy, "1", "training accuracy (batches)")
    var("validation_loss", ("epoch",), history.validation_loss, "1", "validation cross-entropy")
    var("validation_accuracy", ("epoch",), history.validation_accuracy, "1", "validation accuracy")
    var("score_scale", ("epoch",), history.score_scale, "1/V", "logits per volt of output")
    if not history.snapshot_frequency:
        return
    coords["snapshot"] = np.arange(len(history.snapshot_frequency))
    var("snapshot_resonance_frequency", ("snapshot", "followed_junction"),
        np.asarray(history.snapshot_frequency), "Hz",
        "resonance frequency of followed junctions before training (snapshot 0) and after each epoch")
    nodes = history.snapshot_nodes
    var("followed_layer", ("followed_junction",), [n[1] for n in nodes], "1", "layer")
    var("followed_chain", ("followed_junction",), [n[2] for n in nodes], "1", "chain")
    var("followed_index", ("followed_junction",), [n[3] for n in nodes], "1", "junction in its chain")


def _traces(s, task, network, history, pred_test, compiled, event_result):
    """The run's traces as an xarray Dataset (SI units in each variable's ``units`` attribute)."""
    data, coords = {}, {}

    def var(name, dims, values, units, long_name):
        data[name] = xr.Variable(dims, np.asarray(values),
                                 attrs={"units": units, "long_name": long_name})

    n_classes = int(network.n_outputs)
    var("confusion", ("true_class", "predicted_class"),
        _confusion(task.y_test, pred_test, n_classes), "1", "test samples by true and predicted class")
    coords["true_class"] = np.arange(n_classes)
    coords["predicted_class"] = np.arange(n_classes)
    names = list(task.class_names) if len(task.class_names) == n_classes else \
        [str(k) for k in range(n_classes)]
    coords["class_name"] = ("true_class", np.array(names, dtype=str),
                            {"long_name": "name of each class"})
    if history is not None:
        _history_traces(var, coords, history)
    n_rec = min(s.record.samples, len(task.x_test))
    coords["sample"] = np.arange(n_rec)
    var("test_label", ("sample",), task.y_test[:n_rec], "1", "class of the traced test samples")
    fwd = compiled.forward(task.x_test[:n_rec], keep=True) if n_rec else None
    if fwd is not None:
        var("test_scores", ("sample", "class"), fwd.scores, "V", "output chain voltages + bias")
        coords["class"] = np.arange(n_classes)
    for l, layer in enumerate(network.layers):
        t, c, j = f"tone_{l}", f"chain_{l}", f"junction_{l}"
        var(f"tone_frequency_{l}", (t,), layer.tone_frequency, "Hz", f"tones on line {l}")
        var(f"tone_linewidth_{l}", (t,), layer.tone_linewidth, "Hz",
            f"half widths of the tones on line {l}")
        var(f"resonance_frequency_{l}", (c, j), layer.resonance_frequency, "Hz",
            f"trained resonance frequencies of layer {l}")
        var(f"base_frequency_{l}", (c, j), layer.base_frequency, "Hz",
            f"as-fabricated resonance frequencies of layer {l}")
        var(f"damping_{l}", (c, j), layer.damping, "1", f"Gilbert damping of layer {l}'s junctions")
        var(f"sign_{l}", (c, j), layer.sign, "1", f"series signs of layer {l}'s junctions")
        var(f"bias_voltage_{l}", (c,), layer.bias_voltage, "V", f"chain bias voltages of layer {l}")
        if fwd is not None:
            state = fwd.layers[l]
            var(f"chain_voltage_{l}", ("sample", c), state.chain_voltage, "V",
                f"chain voltages of layer {l} (before the bias)")
            if layer.is_hidden:
                var(f"neuron_current_{l}", ("sample", c), state.current, "A",
                    f"oscillator input currents of layer {l}")
                var(f"neuron_power_{l}", ("sample", c), state.output_power, "W",
                    f"oscillator output powers of layer {l}")
    if event_result is not None:
        n_ev = len(event_result.latency)
        coords["event_sample"] = np.arange(n_ev)
        var("event_outputs", ("event_sample", "class"), event_result.outputs, "V",
            "event engine: output chain voltages + bias")
        var("event_latency", ("event_sample",), event_result.latency, "s",
            "event engine: input applied to outputs settled")
        var("event_n_events", ("event_sample",), event_result.n_events, "1", "simpy events")
        for kind, values in event_result.energy.items():
            var(f"event_energy_{kind}", ("event_sample",), values, "J",
                f"event engine: energy per inference, {kind}")
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update({"scenario": s.name, "dataset": s.task.dataset, "engine": s.engine.kind,
                     "units": "SI", "created_by": "rfemu"})
    return ds
