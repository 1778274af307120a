"""The Python way in: ``load_scenario`` and ``run`` (the ``rfemu`` command is a thin layer over them).

Examples
--------
>>> import rfemu.api as api
>>> s = api.load_scenario("scenarios/quickstart.yaml", overrides=["training.epochs=2"])  # doctest: +SKIP
>>> result = api.run(s, out=None, progress=False)                                      # doctest: +SKIP
>>> result.metrics["test_accuracy"]                                                     # doctest: +SKIP
"""
from __future__ import annotations

import math
import secrets
import time
from pathlib import Path
from typing import Optional

import numpy as np

from rfemu.results import Result, default_run_dir, static_energy_and_latency, write_run_folder
from rfemu.scenario import (Scenario, ScenarioError, dump_resolved, load_scenario,
                            resolve_data_path, resolved_dict)

__all__ = ["load_scenario", "run", "to_description", "load_task", "Result", "ScenarioError",
           "SEED_STREAMS"]

#: the random streams of a run, spawned in this order from the scenario seed (SeedSequence)
SEED_STREAMS = ("graph", "task", "training", "programming", "event", "restarts", "in_situ")

#: test samples used for the compiled engine's energy and latency figures
ENERGY_SAMPLES = 256


def _problem(s: Scenario, path: tuple, message: str) -> ScenarioError:
    positions = s.positions
    if positions is None:
        from rfemu.scenario import Problem
        return ScenarioError([Problem(s.source or "<scenario>", None, ".".join(map(str, path)),
                                      message)])
    return ScenarioError([positions.problem(path, message)])


# --------------------------------------------------------------------------------------------
# scenario -> the network helper's description objects
# --------------------------------------------------------------------------------------------

def _plan(section):
    from rfemu.network.frequency import FrequencyPlan
    if section.kind == "explicit":
        return FrequencyPlan("explicit", values=tuple(section.values))
    return FrequencyPlan(section.kind, section.min, section.max)


def to_description(s: Scenario, n_inputs: int, seed=None):
    """The :class:`rfemu.network.NetworkDescription` of a scenario's network.

    Parameters
    ----------
    s : Scenario
    n_inputs : int
        Number of input tones (the task's features).
    seed : int, optional
        Stored as the description's default seed.

    Raises
    ------
    ScenarioError
        When the description's own checks refuse a value (cited at the layer's line).
    """
    from rfemu.devices.oscillator import OscillatorParameters
    from rfemu.devices.resonator import ResonatorParameters
    from rfemu.network.description import (InputDescription, LayerDescription,
                                           NetworkDescription, VariabilityDescription)
    net = s.network
    try:
        inputs = InputDescription(size=int(n_inputs), frequency_plan=_plan(net.inputs.frequency_plan),
                                  max_power=net.inputs.max_power, linewidth=net.inputs.linewidth)
    except ValueError as exc:
        raise _problem(s, ("network", "inputs"), str(exc)) from None
    layers = []
    for i, layer in enumerate(net.layers):
        try:
            sign = layer.sign_pattern if isinstance(layer.sign_pattern, str) else \
                tuple(float(v) for v in layer.sign_pattern)
            layers.append(LayerDescription(
                size=layer.size, resonance_plan=_plan(layer.resonance_plan),
                junctions_per_chain=layer.junctions_per_chain, sign_pattern=sign,
                tuning_window=tuple(layer.tuning_window),
                initial_tuning_spread=layer.initial_tuning_spread,
                bias_voltage=layer.bias_voltage, initial_bias_spread=layer.initial_bias_spread,
                transconductance=layer.transconductance,
                resonator=ResonatorParameters(**layer.resonator.model_dump()),
                oscillator=OscillatorParameters(**layer.oscillator.model_dump()),
                emission=layer.emission,
                emission_plan=_plan(layer.emission_plan) if layer.emission_plan else None,
                tone_linewidth=layer.tone_linewidth, tap_loss_db=layer.tap_loss,
                line_length=s.medium.line_length, loss_per_length_db=s.medium.loss_per_length))
        except ValueError as exc:
            raise _problem(s, ("network", "layers", i), str(exc)) from None
    try:
        variability = VariabilityDescription(**s.variability.model_dump())
    except ValueError as exc:
        raise _problem(s, ("variability",), str(exc)) from None
    return NetworkDescription(inputs=inputs, layers=tuple(layers), variability=variability,
                              seed=seed, linewidths=s.medium.linewidths)


def load_task(s: Scenario, seed: int):
    """The scenario's data set as an :class:`rfemu.tasks.Task` (features in [0, 1]).

    A missing or malformed file raises :class:`ScenarioError` citing the task's line.
    """
    from rfemu import tasks
    from rfemu.scenario import task_settings
    t = s.task
    k = task_settings(t)
    key = ("task", "path") if t.path is not None else ("task", "dataset")
    scenario_dir = Path(s.source).parent if s.source else None
    try:
        if t.dataset == "drone":
            return tasks.drone_rf(resolve_data_path(t, scenario_dir), normalize=t.normalize)
        if t.dataset == "mnist":
            return tasks.mnist(resolve_data_path(t, scenario_dir), n_train=t.n_train, n_test=t.n_test)
        if t.dataset == "digits":
            return tasks.digits(test_fraction=t.test_fraction, seed=seed)
        if t.dataset == "xor":
            return tasks.xor_quadrants(n_train=k["n_train"], n_test=k["n_test"], seed=seed,
                                       margin=k["margin"])
        if t.dataset == "circles":
            return tasks.circles(n_train=k["n_train"], n_test=k["n_test"], seed=seed,
                                 noise=k["noise"], factor=k["factor"])
        return tasks.moons(n_train=k["n_train"], n_test=k["n_test"], seed=seed, noise=k["noise"])
    except tasks.DataError as exc:
        raise _problem(s, key, str(exc)) from None


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------

class _Stages:
    """A tqdm bar over the stages of a run (silent without progress)."""

    def __init__(self, names, progress):
        self.bar = None
        if progress:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=len(names), desc="rfemu", unit="stage", leave=False)

    def start(self, what):
        if self.bar is not None:
            self.bar.set_description(f"rfemu: {what}")

    def done(self):
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _int_seed(ss: np.random.SeedSequence) -> int:
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def _training_config(s: Scenario, seed: int, progress: bool):
    from rfemu.learning.backprop import TrainingConfig, image_shift_augmentation
    from rfemu.scenario import IMAGE_SHAPES
    t = s.training
    augmentation = None
    if t.shift_augmentation > 0:
        augmentation = image_shift_augmentation(IMAGE_SHAPES[s.task.dataset], t.shift_augmentation)
    return TrainingConfig(
        epochs=t.epochs, batch_size=t.batch_size, frequency_learning_rate=t.frequency_learning_rate,
        relative_frequency_learning_rate=t.relative_frequency_learning_rate,
        bias_learning_rate=t.bias_learning_rate, score_scale=t.score_scale,
        learn_score_scale=t.learn_score_scale, score_scale_learning_rate=t.score_scale_learning_rate,
        beta1=t.beta1, beta2=t.beta2, adam_epsilon=t.adam_epsilon,
        validation_fraction=t.validation_fraction, patience=t.patience,
        restore_best=t.restore_best, train_tuning=t.train_tuning, train_bias=t.train_bias,
        variability_mode=t.variability_mode, early_stopping_metric=t.early_stopping_metric,
        learning_rate_schedule=t.learning_rate_schedule,
        final_learning_rate_fraction=t.final_learning_rate_fraction,
        calibrate_bias=t.calibrate_bias, augmentation=augmentation,
        snapshot_junctions=s.record.snapshot_junctions,
        seed=seed, progress=progress, n_threads=s.engine.n_threads)


def _event_config(s: Scenario):
    from rfemu.engines.event import EventConfig
    e, m = s.engine.event, s.medium
    return EventConfig(
        noise=m.noise, temperature=m.temperature, readout_bandwidth=m.readout_bandwidth,
        junction_resistance=m.junction_resistance, line_delay=m.line_delay,
        diode_response=e.diode_response, emission_tolerance=e.emission_tolerance,
        frequency_tolerance=e.frequency_tolerance, settle_tolerance=e.settle_tolerance,
        voltage_tolerance=e.voltage_tolerance, latency_tolerance=e.latency_tolerance,
        min_relaxation_fraction=e.min_relaxation_fraction, noise_duration=e.noise_duration,
        noise_step_fraction=e.noise_step_fraction,
        locking_coupling=m.locking_coupling if m.injection_locking else None,
        locking_window=m.locking_window, n_threads=s.engine.n_threads or 1)


def _energy_model(s: Scenario):
    from rfemu.study.energy import EnergyModel
    return EnergyModel(junction_absorption=s.medium.junction_absorption,
                       amplifier_efficiency=s.medium.amplifier_efficiency)


def _program(s: Scenario, network, initial_tuning, rng) -> dict:
    """Write the trained resonance frequencies into the junctions' non-volatile states.

    One write per junction through :class:`rfemu.devices.resonator.FrequencyState` (quantised to
    ``step``, with ``write_noise``, ``endurance``), then ``engine.hold_time`` of drift
    (:meth:`~rfemu.devices.resonator.FrequencyState.advance`, ``drift_rate``, bounded by the
    window); the programmed and drifted shifts replace the trained ones when they differ.
    Returns the programming energy, latency, writes and the junctions left stuck.
    """
    from rfemu.devices.resonator import FrequencyState
    fs = s.devices.frequency_state
    hold_time = s.engine.hold_time
    endurance = math.inf if fs.endurance is None else fs.endurance
    energy, latency, written, stuck = 0.0, 0.0, 0, 0
    imperfect = fs.step > 0 or fs.write_noise > 0 or (fs.drift_rate != 0 and hold_time > 0)
    for layer, start in zip(network.layers, initial_tuning):
        state = FrequencyState(base_frequency=layer.base_frequency.ravel(),
                               window_low=float(layer.tuning_min.min()),
                               window_high=float(layer.tuning_max.max()),
                               step=fs.step, write_noise=fs.write_noise,
                               write_latency=fs.write_latency, write_energy=fs.write_energy,
                               endurance=endurance, drift_rate=fs.drift_rate,
                               seed=rng, shift=np.asarray(start).ravel())
        report = state.write((layer.base_frequency + layer.tuning).ravel())
        state.advance(hold_time)
        energy += report.energy
        latency = max(latency, report.latency)      # the lines are written in parallel
        written += int(np.sum(report.written))
        stuck += int(np.sum(state.stuck))
        if imperfect:
            layer.tuning = np.clip(state.shift.reshape(layer.tuning.shape), layer.tuning_min,
                                   layer.tuning_max)
    return {"programming_energy_J": energy, "programming_latency_s": latency,
            "programming_writes": written, "programming_stuck_devices": stuck}


def _confusion(labels, predictions, n_classes) -> np.ndarray:
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(labels), np.asarray(predictions)), 1)
    return m


def run(scenario, engine: Optional[str] = None, out=None, progress: bool = True,
        write: bool = True, overrides=()) -> Result:
    """Run a scenario: data, network graph, training, test, (event engine), run folder.

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

    Returns
    -------
    Result
        ``metrics`` (dict), ``traces`` (xarray Dataset), ``figures`` (paths), ``run_dir``.

    Raises
    ------
    ScenarioError
        A problem found while building (a data file that cannot be read, a value refused by a
        device model), citing the scenario's line.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides=overrides)
    s = scenario
    if engine is not None:
        if engine not in ("compiled", "event"):
            raise ValueError(f"engine must be 'compiled' or 'event', got {engine!r}")
        s = s.model_copy(deep=True)
        s.engine.kind = engine
        s._source, s._positions = scenario.source, scenario.positions
    seed = s.seed if s.seed is not None else secrets.randbits(32)
    streams = dict(zip(SEED_STREAMS, np.random.SeedSequence(seed).spawn(len(SEED_STREAMS))))
    wall0 = time.perf_counter()
    timing = {}
    stages = _Stages(["data", "graph", "training", "programming", "test", "event", "write"],
                     progress)
    try:
        # data
        stages.start("loading data")
        t0 = time.perf_counter()
        task = load_task(s, _int_seed(streams["task"]))
        timing["data_s"] = time.perf_counter() - t0
        stages.done()

        # the network graph (variability drawn from the seed)
        stages.start("building the network graph")
        from rfemu.network import build_graph, compile_graph
        description = to_description(s, task.x_train.shape[1], seed=seed)
        graph = build_graph(description, seed=streams["graph"])
        network = compile_graph(graph)
        initial_tuning = [layer.tuning.copy() for layer in network.layers]
        stages.done()

        # training
        stages.start("training")
        from rfemu.engines.compiled import CompiledEngine
        history = None
        train_info = {}
        if s.training.rule == "backprop":
            from rfemu.learning.backprop import train
            ideal = None
            if s.training.variability_mode == "ideal_gradient" and description.variability.any:
                ideal = compile_graph(build_graph(description.without_variability(),
                                                  seed=streams["graph"]))
            config = _training_config(s, _int_seed(streams["training"]), progress)
            t = s.training
            if t.restarts > 1 or t.initial_state == "uniform":
                if ideal is not None:
                    raise _problem(s, ("training", "restarts"), "restarts and initial_state: uniform do not "
                                   "combine with variability_mode: ideal_gradient")
                from rfemu.learning.restarts import train_restarts
                trained, restart_scores = train_restarts(
                    network, task.x_train, task.y_train, config, t.restarts, t.initial_state,
                    bias_range=(0.0, t.initial_bias_max), seed=streams["restarts"], progress=progress)
                train_info["restart_validation_accuracy"] = restart_scores
            else:
                trained = train(network, task.x_train, task.y_train, config, ideal=ideal)
            history = trained.history
            train_info.update({"epochs_run": len(history.train_loss), "best_epoch": trained.best_epoch,
                               "stopped_early": trained.stopped_early,
                               "score_scale_per_V": trained.score_scale})
            timing["training_s"] = trained.seconds
            timing["training_kernel_s"] = trained.kernel_seconds
            if t.in_situ.epochs > 0:
                from rfemu.learning.in_situ import InSituConfig, train_in_situ
                i = t.in_situ
                t0 = time.perf_counter()
                n_in = len(task.y_train) if i.samples is None else min(i.samples, len(task.y_train))
                tuned = train_in_situ(network, task.x_train[:n_in], task.y_train[:n_in], _event_config(s),
                                      InSituConfig(epochs=i.epochs, batch_size=i.batch_size,
                                                   frequency_learning_rate=i.frequency_learning_rate,
                                                   bias_learning_rate=i.bias_learning_rate,
                                                   score_scale=i.score_scale,
                                                   final_learning_rate_fraction=i.final_learning_rate_fraction,
                                                   seed=_int_seed(streams["in_situ"]), progress=progress),
                                      energy_model=_energy_model(s))
                train_info["in_situ_chip_train_accuracy"] = tuned.history.train_accuracy
                timing["in_situ_s"] = time.perf_counter() - t0
        stages.done()

        # programming the non-volatile states
        stages.start("programming the junctions")
        programming = _program(s, network, initial_tuning,
                               np.random.default_rng(streams["programming"]))
        from rfemu.network.compile import write_back
        write_back(graph, network)      # the graph holds the programmed chip's states
        compiled = CompiledEngine(network, n_threads=s.engine.n_threads)
        stages.done()

        # test with the compiled engine
        stages.start("testing")
        t0 = time.perf_counter()
        pred_test = compiled.predict(task.x_test)
        pred_train = compiled.predict(task.x_train)
        n_energy = min(ENERGY_SAMPLES, len(task.x_test))
        fwd = compiled.forward(task.x_test[:n_energy], keep=True)
        energy = static_energy_and_latency(
            network, fwd, tolerance=s.engine.event.latency_tolerance, energy_model=_energy_model(s),
            min_relaxation_fraction=s.engine.event.min_relaxation_fraction)
        timing["test_s"] = time.perf_counter() - t0
        stages.done()

        metrics = {
            "name": s.name, "seed": seed, "engine": s.engine.kind, "dataset": s.task.dataset,
            "n_train": int(len(task.y_train)), "n_test": int(len(task.y_test)),
            "sizes": list(network.sizes), "n_junctions": int(network.n_junctions),
            "n_oscillators": int(sum(layer.n_chains for layer in network.layers if layer.is_hidden)),
            "test_accuracy": float(np.mean(pred_test == task.y_test)),
            "compiled_test_accuracy": float(np.mean(pred_test == task.y_test)),
            "train_accuracy": float(np.mean(pred_train == task.y_train)),
            **train_info, **programming,
            "energy_per_inference_J": energy["energy_per_inference_J"],
            "latency_s": energy["latency_s"],
            "energy": {k: v for k, v in energy.items()
                       if k not in ("energy_per_inference_J", "latency_s")},
            "energy_samples": n_energy,
        }
        if s.training.rule == "none":
            metrics.pop("train_accuracy")

        # the event engine: the trained chip in physical time
        stages.start("event engine")
        event_result = event_traces = None
        if s.engine.kind == "event":
            from rfemu.engines.event import EventEngine
            n_ev = min(s.engine.event.samples, len(task.x_test))
            trace = None
            if s.record.event_traces:
                from rfemu.engines.event import TraceConfig
                trace = TraceConfig(variables=tuple(s.record.event_traces),
                                    every=s.record.event_trace_every)
            ev_engine = EventEngine(network, _event_config(s), seed=streams["event"],
                                    energy_model=_energy_model(s), trace=trace)
            t0 = time.perf_counter()
            event_result = ev_engine.run(task.x_test[:n_ev], progress=progress)
            timing["event_s"] = time.perf_counter() - t0
            event_traces = ev_engine.traces() if trace is not None else None
            ev_energy = sum(event_result.energy.values()) if event_result.energy else np.zeros(n_ev)
            metrics.update({
                "test_accuracy": event_result.accuracy(task.y_test[:n_ev]),
                "event_samples": n_ev,
                "compiled_accuracy_on_event_samples": float(np.mean(pred_test[:n_ev] == task.y_test[:n_ev])),
                "latency_s": float(np.median(event_result.latency)),
                "energy_per_inference_J": float(np.median(ev_energy)),
                "energy": {f"{k}_J": float(np.median(v)) for k, v in event_result.energy.items()},
                "counters": {"events": int(np.sum(event_result.n_events)),
                             "events_per_inference": float(np.mean(event_result.n_events)),
                             "agents": int(ev_engine.n_agents)},
            })
            metrics["energy"]["energy_model"] = "rfemu.study.energy.EnergyLedger (event engine)"
            metrics["energy"]["compiled_estimate_J"] = energy["energy_per_inference_J"]
            metrics["energy"]["compiled_latency_estimate_s"] = energy["latency_s"]
            timing["events_per_s"] = float(np.sum(event_result.n_events)) / max(
                float(np.sum(event_result.wall_time)), 1e-12)
        else:
            metrics["counters"] = {
                # every junction answers every tone of its line: the rectification's cost
                "lorentzians_per_inference": int(sum(layer.n_chains * layer.n_junctions
                                                     * layer.n_tones for layer in network.layers)),
                "inferences": int(len(task.x_test) + len(task.x_train)),
            }
        from rfemu.study.energy import per_operation
        kinds = {k[:-2]: v for k, v in metrics["energy"].items()
                 if k.endswith("_J") and k != "compiled_estimate_J"}
        metrics["energy"]["per_operation"] = per_operation(kinds, metrics["n_oscillators"],
                                                           metrics["n_junctions"])
        stages.done()

        traces = _traces(s, task, network, history, pred_test, compiled, event_result)
        if event_traces is not None:
            traces = _merge_event_traces(traces, event_traces)
        metrics["wall_time_s"] = time.perf_counter() - wall0
        metrics["timing"] = timing

        # the run folder
        stages.start("writing the run folder")
        resolved = resolved_dict(s, seed)
        figures, run_dir = [], None
        if write:
            run_dir = Path(out) if out is not None else default_run_dir(s.name)
            draw = None
            if s.record.figures:
                from rfemu import plots

                def draw(folder):
                    return plots.draw_all(traces, resolved, metrics, folder)
            figures = write_run_folder(run_dir, dump_resolved(s, seed), metrics, traces,
                                       figures_dir=s.record.figures_dir,
                                       trace_file=s.record.trace_file, draw=draw)
        stages.done()
    finally:
        stages.close()
    return Result(metrics=metrics, traces=traces, figures=figures, run_dir=run_dir, scenario=s,
                  resolved=resolved, graph=graph)


def _merge_event_traces(traces, event):
    """Add the event engine's time traces (names prefixed ``event_``, times in s)."""
    import xarray as xr
    renamed = event.rename({name: f"event_{name}" for name in list(event.data_vars)
                            + [c for c in event.coords]})
    for name in renamed.coords:
        if renamed[name].dtype == object:
            renamed = renamed.assign_coords({name: renamed[name].astype(str)})
    merged = xr.merge([traces, renamed], combine_attrs="override")
    merged.attrs.update({f"event_{k}": v for k, v in event.attrs.items()})
    return merged


def _traces(s, task, network, history, pred_test, compiled, event_result):
    """The run's traces as an xarray Dataset (SI units in each variable's ``units`` attribute)."""
    import xarray as xr
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
        coords["epoch"] = np.arange(1, len(history.train_loss) + 1)
        coords["snapshot"] = np.arange(len(history.snapshot_frequency))
        var("train_loss", ("epoch",), history.train_loss, "1", "training cross-entropy")
        var("train_accuracy", ("epoch",), history.train_accuracy, "1", "training accuracy (batches)")
        var("validation_loss", ("epoch",), history.validation_loss, "1", "validation cross-entropy")
        var("validation_accuracy", ("epoch",), history.validation_accuracy, "1",
            "validation accuracy")
        var("score_scale", ("epoch",), history.score_scale, "1/V", "logits per volt of output")
        var("snapshot_resonance_frequency", ("snapshot", "followed_junction"),
            np.asarray(history.snapshot_frequency), "Hz",
            "resonance frequency of followed junctions before training (snapshot 0) and after "
            "each epoch")
        nodes = history.snapshot_nodes
        var("followed_layer", ("followed_junction",), [n[1] for n in nodes], "1", "layer")
        var("followed_chain", ("followed_junction",), [n[2] for n in nodes], "1", "chain")
        var("followed_index", ("followed_junction",), [n[3] for n in nodes], "1",
            "junction in its chain")
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
