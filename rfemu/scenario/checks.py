"""Checks that span several keys or touch the file system, each citing a line."""
from __future__ import annotations

import math
import os
import sys
from pathlib import Path
import difflib
from typing import Optional

import numpy as np

from rfemu.scenario.data import DATA_ENV, STANDARD_DATA, WHERE_TO_GET, resolve_data_path
from rfemu.devices import limits
from rfemu.network.chip_state import resolve_path as resolve_chip_state_path
from rfemu.results import layout_problem
from rfemu.devices.llgs import MacrospinParameters
from rfemu.learning.rules import rule_names
from rfemu.scenario.build import from_sections
from rfemu.scenario.errors import Positions, Problem
from rfemu.scenario.schema import IMAGE_SHAPES, TASK_SHAPES, Scenario, _TASK_KEYS
from rfemu.tasks.registry import DATASETS

__all__: list[str] = []


def _rule_problems(s: Scenario, positions: Positions) -> list[Problem]:
    """``training.rule`` names an entry of the registry :mod:`rfemu.learning.rules`."""
    names = rule_names()
    rule = s.training.rule
    if rule in names:
        return []
    near = difflib.get_close_matches(rule, names, n=1, cutoff=0.6)
    hint = f"; did you mean '{near[0]}'?" if near else ""
    return [positions.problem(("training", "rule"), f"unknown training rule {rule!r}{hint} "
                                                    f"(expected one of: {', '.join(names)})")]


def _conv_problems(s: Scenario, positions: Positions) -> tuple[list[Problem], Optional[int]]:
    """A convolution reads images, is trained by cnn_backprop (or not at all) and fits them, and
    runs on the event engine noise off (no time traces asked); returns its problems and the pooled
    maps' count (the first layer's input tones)."""
    conv, rule = s.network.conv, s.training.rule
    if conv is None:
        if rule == "cnn_backprop":
            return [positions.problem(("training", "rule"), "cnn_backprop trains a convolution: "
                                      "give network.conv (expected backprop without one)")], None
        return [], None
    if s.task.dataset not in IMAGE_SHAPES:
        return [positions.problem(("network", "conv"), f"a convolution reads images: task.dataset "
                                  f"{s.task.dataset} is not one ({', '.join(sorted(IMAGE_SHAPES))})")], None
    problems = []
    if s.engine.kind == "event" and s.medium.noise:     # rfemu.engines.event.conv: noise off only
        problems.append(positions.problem(("medium", "noise"), "the event engine of a network with a "
                                          "convolution runs noise off (expected noise: false, or "
                                          "engine.kind: compiled)"))
    if s.engine.kind == "event" and s.record.event_traces and "event_traces" in s.record.model_fields_set:
        problems.append(positions.problem(("record", "event_traces"), "the event engine of a network "
                                          "with a convolution records no time traces (expected [])"))
    if rule not in ("cnn_backprop", "none"):
        problems.append(positions.problem(("training", "rule"), f"a network with a convolution is "
                                          f"trained by cnn_backprop (or none), not {rule}"))
    from rfemu.network.conv import ConvDescription
    try:
        d = from_sections(ConvDescription, {"network.conv": conv}, "network.conv")
        return problems, d.n_pooled(1, *IMAGE_SHAPES[s.task.dataset])
    except ValueError as exc:
        return problems + [positions.problem(("network", "conv"), str(exc))], None


#: largest relative spread of a device parameter (variability.*): beyond it the log-normal draws
#: leave the floats (a spread of 1e300 drew NaN damping and a traceback)
_MAX_SPREAD = 10.0


def _limit_problems(s: Scenario, positions: Positions) -> list[Problem]:
    """Each value beyond a device model's numerical reach, at the line that set it."""
    def where(section, *keys):      # the key the user set (the first of keys if none)
        given = [k for k in keys if k in getattr(section, "model_fields_set", ())]
        return (given or keys)[0]

    problems = []
    o, m = s.devices.oscillator, s.medium
    message = limits.thermal_noise_problem(o.temperature, o.oscillation_energy)
    if message:
        problems.append(positions.problem(("devices", "oscillator", where(o, "oscillation_energy",
                                                                          "temperature")), message))
    message = limits.johnson_noise_problem(m.temperature, m.junction_resistance,
                                           m.readout_bandwidth) if m.noise else None
    if message:
        problems.append(positions.problem(("medium", where(m, "temperature", "junction_resistance",
                                                           "readout_bandwidth")), message))
    if s.engine.kind == "event":         # the event clock counts ticks of TICK from a float
        from rfemu.engines.event.clock import TICK
        reach = sys.float_info.max * TICK / 10.0
        times = [(("medium", "line_delay"), m.line_delay),
                 (("engine", "event", "noise_duration"), s.engine.event.noise_duration)]
        for i, layer in enumerate(s.network.layers):     # response and relaxation times, 1 / (alpha f)
            f_low = _channel_floor(s, i - 1) if i > 0 else 1.0
            for part, section, inherited in (("resonator", layer.resonator, s.devices.resonator),
                                             ("oscillator", layer.oscillator, o)):
                own = "damping" in section.model_fields_set and not (
                    "damping" in inherited.model_fields_set and inherited.damping == section.damping)
                path = ("network", "layers", i, part, "damping") if own else ("devices", part, "damping")
                with np.errstate(all="ignore"):
                    seconds = 1.0 / (2 * math.pi * np.float64(section.damping) * f_low *
                                     (s.engine.event.min_relaxation_fraction if part == "oscillator" else 1.0))
                times.append((path, float(seconds)))
        seen = set()
        for path, value in times:
            if value is not None and value > reach and path not in seen:
                seen.add(path)
                problems.append(positions.problem(path, f"{value:g} s{'' if path[-1] != 'damping' else ' (the response time 1 / (2 pi alpha f) it gives)'} is beyond the event clock's reach "
                                                        f"({reach:.3g} s in ticks of {TICK:g} s; expected "
                                                        "a physical time, ns to ms)"))
    for i, layer in enumerate(s.network.layers[:-1]):      # the neurons' output power scale
        lo = layer.oscillator
        with np.errstate(all="ignore"):
            xi = np.float64(lo.max_current) / lo.threshold_current
            scale = lo.max_output_power / ((xi - 1.0) / (xi + lo.nonlinear_damping) * (np.float64(lo.tmr) * lo.beta) ** 2
                                           * lo.resistance * np.float64(lo.max_current) ** 2)
        if not (math.isfinite(scale) and scale > 0) and xi > 1.0:
            keys = ("tmr", "beta", "max_output_power", "resistance", "max_current", "threshold_current")
            own = [k for k in keys if k in lo.model_fields_set        # set on the layer, not inherited
                   and not (k in o.model_fields_set and getattr(o, k) == getattr(lo, k))]
            path = ("network", "layers", i, "oscillator", own[0]) if own else \
                ("devices", "oscillator", where(o, *keys))
            problems.append(positions.problem(path, "the oscillators' output power scale max_output_power / "
                                              "((TMR beta)^2 R I_max^2 p0) is beyond the floats "
                                              f"({scale:g}; expected values of real devices: TMR ~ 1, "
                                              "R ~ kOhm, I_max ~ 10-100 uA, power ~ uW)"))
            break
    for key in sorted(s.variability.model_fields_set):      # relative spreads: fractions
        value = getattr(s.variability, key)
        if isinstance(value, float) and value > _MAX_SPREAD:
            problems.append(positions.problem(("variability", key), f"a relative spread of {value:g} "
                                              f"(expected a fraction of the value, below 1 for real "
                                              f"devices, at most {_MAX_SPREAD:g})"))
    message = limits.reciprocal_problem(m.amplifier_efficiency, "medium.amplifier_efficiency",
                                        "the amplifiers' efficiency, a fraction in (0, 1] such as 0.1")
    if message:
        problems.append(positions.problem(("medium", "amplifier_efficiency"), message))
    return problems


#: samples assumed for a data set read whole from its files (n_train/n_test null): MNIST's split
_FILE_SAMPLES = {"n_train": 60_000, "n_test": 10_000}
#: bytes of the interpreter and the libraries (measured 236 MB peak RSS of a small event run
#: with figures off, 292 MB for the quickstart with its figures)
_BASE_BYTES = 2.5e8
#: bytes of drawing the figures (record.figures; measured: 56 MB for the quickstart's, 180 MB for
#: an event run's)
_FIGURE_BYTES = 2.5e8
#: samples the compiled engine evaluates at once (CompiledEngine.predict's batch_size)
_EVALUATION_BATCH = 4096
#: images a CNN evaluates at once (rfemu.learning.cnn.predict's batch_size)
_CNN_EVALUATION_BATCH = 1000
#: floats per image of a convolution's training step (forward kept, backward), per patch tone
#: and position (``P T``: the patches and their copies) and per filter and position (``F P``:
#: voltages, powers, their derivatives and gradients); measured 0.97 x 8 (2 P T + 6 F P) bytes an
#: image for mnist_cnn's convolution, 2.1 x for a 3x3 one on 8x8 images (the head's share is
#: larger there)
_CONV_PATCH_FLOATS, _CONV_MAP_FLOATS = 4, 12
#: ... and of its evaluation (rfemu.learning.cnn.predict, nothing kept): measured 0.79 x and
#: 0.83 x 8 (2 P T + 3 F P) for the same two
_CONV_EVAL_PATCH_FLOATS, _CONV_EVAL_MAP_FLOATS = 2, 3
#: bytes per oscillator of a convolution on the event engine (its agent and process; measured
#: 3.1 kB sequential, 6.4 kB parallel with the copies' lines counted per oscillator)
_CONV_NEURON_BYTES = 4000


def _samples(s: Scenario) -> dict:
    """Training and test samples the data set holds (the files' split when read whole)."""
    given = {**DATASETS[s.task.dataset].defaults, **{k: getattr(s.task, k) for k in s.task.model_fields_set}}
    return {k: float(given[k] if given[k] is not None else _FILE_SAMPLES[k])
            for k in ("n_train", "n_test") if k in given}


def _conv_memory(s: Scenario, n_samples: float) -> tuple[list[tuple[float, tuple, str, str]], Optional[int]]:
    """The convolution's part (network.conv: its junctions, on the event engine its oscillators,
    a batch's forward and backward pass) and the pooled values (the dense head's input tones)."""
    from rfemu.network.conv import SEQUENTIAL, ConvDescription
    try:
        d = from_sections(ConvDescription, {"network.conv": s.network.conv}, "network.conv")
        g = d.geometry(1, *IMAGE_SHAPES[s.task.dataset])
    except ValueError:           # refused by _conv_problems, at its line
        return [], None
    copies = 1 if d.arrangement == SEQUENTIAL else g.n_positions
    junctions = float(copies) * d.filters * g.patch_size
    oscillators = float(d.filters) * g.n_positions
    per_junction = limits.JUNCTION_BYTES + (limits.EVENT_JUNCTION_BYTES if s.engine.kind == "event" else 0)
    patch_values = float(g.n_positions) * g.patch_size
    step = s.training.batch_size * 8.0 * (_CONV_PATCH_FLOATS * patch_values + _CONV_MAP_FLOATS * oscillators) \
        if s.training.rule == "cnn_backprop" else 0.0
    evaluation = min(_CNN_EVALUATION_BATCH, max(n_samples, 1.0)) * 8.0 * (
        _CONV_EVAL_PATCH_FLOATS * patch_values + _CONV_EVAL_MAP_FLOATS * oscillators)
    total = junctions * per_junction + max(step, evaluation) + \
        (oscillators * _CONV_NEURON_BYTES if s.engine.kind == "event" else 0.0)
    what = (f"network.conv: {junctions:.3g} junctions ({d.filters} filters of {g.patch_size} x "
            f"{copies} {d.arrangement} copies) and {oscillators:.3g} oscillators ({g.n_positions} positions)")
    return [(total, ("network", "conv", "filters"), what,
             "fewer filters, a sequential arrangement, a larger stride or a smaller training.batch_size")], \
        d.n_pooled(1, *IMAGE_SHAPES[s.task.dataset])


def _trace_memory(s: Scenario, n_tones: int) -> list[tuple[float, tuple, str, str]]:
    """The event engine's time traces (record.event_traces over engine.event.samples inferences:
    :func:`rfemu.devices.limits.event_trace_bytes`)."""
    e, layers = s.engine.event, s.network.layers
    if s.engine.kind != "event" or not s.record.event_traces or s.network.conv is not None:
        return []
    emissions = []
    for i, layer in enumerate(layers[:-1]):        # f(I) neurons: |N| / w0 at their lowest channel
        swing = abs(layer.oscillator.nonlinear_frequency_shift) / (2 * math.pi * _channel_floor(s, i)) \
            if layer.emission == "current" else 0.0
        count = limits.trace_emissions(e.emission_tolerance, swing, e.frequency_tolerance)
        if s.medium.noise:      # a noisy neuron emits at most once a step, a step >= its line's delay
            plan, nxt = layers[i + 1].resonance_plan, layers[i + 1]
            f_low = (min(plan.values) if plan.kind == "explicit" else plan.min or 0.0) + nxt.tuning_window[1]
            response = 1.0 / (2 * math.pi * nxt.resonator.damping * f_low) \
                if getattr(e, "diode_response", True) and f_low > 0 else 0.0
            count = min(count, _noise_duration(s) / (s.medium.line_delay + response) + 2.0)
        emissions.append(count)
    tones = [n_tones] + [layer.size for layer in layers[:-1]]
    samples = min(float(e.samples), _samples(s).get("n_test", float(e.samples)))
    total = limits.event_trace_bytes(samples, tones, [layer.size for layer in layers], emissions,
                                     set(s.record.event_traces), causal=getattr(e, "causal_delivery", False))
    return [(total, ("engine", "event", "samples"),
             f"the event traces ({', '.join(s.record.event_traces)}) of {e.samples} samples",
             "fewer engine.event.samples or record.event_traces (e.g. [] or [chains])")]


def _memory_parts(s: Scenario) -> list[tuple[float, tuple, str, str]]:
    """(bytes, key path, what, remedy) of each part of a run's memory that grows with a scenario
    key: the junctions (graph, compiled arrays, event agents:
    :data:`rfemu.devices.limits.JUNCTION_BYTES`) and the forward pass over a batch of samples (8
    arrays of one value per chain) per layer, a convolution (:func:`_conv_memory`), the data set's
    samples (features as floats and one normalised copy), the traced samples and the event
    engine's time traces (:func:`_trace_memory`), the figures."""
    n_features, _ = TASK_SHAPES[s.task.dataset]
    per_junction = limits.JUNCTION_BYTES + (limits.EVENT_JUNCTION_BYTES if s.engine.kind == "event" else 0)
    samples = _samples(s)
    batch = min(sum(samples.values()) or _EVALUATION_BATCH, _EVALUATION_BATCH)
    parts = [(_BASE_BYTES, (), "the interpreter and libraries", "a smaller run")]
    if s.record.figures:
        parts.append((_FIGURE_BYTES, ("record", "figures"), "the figures", "record.figures: false"))
    n_tones = n_features
    if s.network.conv is not None:
        conv_parts, n_pooled = _conv_memory(s, sum(samples.values()))
        parts += conv_parts
        n_tones = n_pooled or n_features
    parts += _trace_memory(s, n_tones)
    for i, layer in enumerate(s.network.layers):
        junctions = float(layer.size) * float(layer.junctions_per_chain or n_tones)
        parts.append((junctions * per_junction + 8 * 8.0 * batch * float(layer.size),
                      ("network", "layers", i, "size"),
                      f"{junctions:.3g} junctions in layer {i} ({layer.size} chains of "
                      f"{layer.junctions_per_chain or n_tones})", "a smaller layer"))
        n_tones = layer.size
    chains = sum(float(layer.size) for layer in s.network.layers)
    for key, n in samples.items():
        parts.append((n * 8.0 * (2 * n_features + 2), ("task", key), f"{n:.3g} {key[2:]} samples",
                      f"fewer task.{key}"))
    parts.append((float(s.record.samples) * 4 * 8.0 * chains, ("record", "samples"),
                  f"{s.record.samples} traced samples", "fewer record.samples"))
    return parts


def _memory_problems(s: Scenario, positions: Positions) -> list[Problem]:
    """The run's memory against the limit (:func:`rfemu.devices.limits.memory_limit`): one
    problem at the key of the largest part, before anything is allocated."""
    parts = _memory_parts(s)
    largest = max(parts, key=lambda p: p[0])
    try:
        message = limits.memory_problem(sum(p[0] for p in parts), largest[2], largest[3])
    except ValueError as exc:            # $RFEMU_MEMORY_LIMIT is not an amount of memory
        return [positions.problem(largest[1], str(exc))]
    return [positions.problem(largest[1], message)] if message else []


def _channel_floor(s: Scenario, i: int) -> float:
    """Hz, the lowest frequency a neuron of hidden layer ``i`` can emit at (its channel plan:
    its emission plan or the next layer's resonance plan)."""
    plan = s.network.layers[i].emission_plan or s.network.layers[i + 1].resonance_plan
    low = min(plan.values) if plan.kind == "explicit" else plan.min
    return max(float(low or 0.0), 1.0)


def _settling_time(s: Scenario, from_below: bool = False) -> float:
    """s, the event engine's settling time (:meth:`rfemu.engines.event.EventEngine.settling_time`:
    the lines' delays with their junctions' spin-diode response, and 30 of the slowest neurons'
    damping times 1 / (2 G_G)) from the scenario, from above: each line's slowest response at
    its lowest resonance tuned to the bottom of its window (``from_below``: to its top), each
    neuron at its lowest channel. Device spreads (variability.*) are not counted."""
    m, layers = s.medium, s.network.layers
    delays = 0.0
    for layer in layers:
        delays += m.line_delay
        if getattr(s.engine.event, "diode_response", True):
            plan = layer.resonance_plan
            lowest = max(float(min(plan.values) if plan.kind == "explicit" else plan.min or 0.0)
                         + layer.tuning_window[1 if from_below else 0], 1.0)
            delays += 1.0 / (2 * math.pi * layer.resonator.damping * lowest)
    slowest = max((1.0 / (2.0 * layer.oscillator.damping * 2 * math.pi * _channel_floor(s, i))
                   for i, layer in enumerate(layers[:-1])), default=0.0)
    return delays + 30.0 * slowest


def _noise_duration(s: Scenario, from_below: bool = False) -> float:
    """s, how long a noisy inference of the event engine lasts: engine.event.noise_duration, or
    when it is null the engine's own default (:meth:`EventEngine.default_noise_duration`: the
    settling time and the readout's 1 / B), estimated from above (``from_below``: from below;
    :func:`_settling_time`)."""
    e, m = s.engine.event, s.medium
    if e.noise_duration is not None:
        return float(e.noise_duration)
    return _settling_time(s, from_below) + (1.0 / m.readout_bandwidth if m.readout_bandwidth > 0 else 0.0)


def _time_parts(s: Scenario) -> list[tuple[float, tuple, str]]:
    """(s, key path, what) of the event engine's integrations, counted from below: noisy
    neurons step at least every max(noise_step_fraction / (min_relaxation_fraction 2 G_G),
    line delay + diode response) for noise_duration (when null, :func:`_noise_duration` from
    below); the phase-locking model steps at least
    every 0.02 / (locking_coupling x cutoff 20) for locking_window, once per inference."""
    if s.engine.kind != "event":
        return []
    e, m, layers = s.engine.event, s.medium, s.network.layers
    parts = []
    if m.noise:
        steps = 0.0
        for i, layer in enumerate(layers[:-1]):
            f_low = _channel_floor(s, i)
            g_gilbert = layer.oscillator.damping * 2 * math.pi * f_low
            response = 1.0 / (2 * math.pi * layers[i + 1].resonator.damping * f_low)
            longest = max(e.noise_step_fraction / (e.min_relaxation_fraction * 2 * g_gilbert),
                          m.line_delay + response)
            steps += layer.size * _noise_duration(s, from_below=True) / longest
        given = f"{e.noise_duration:g} s" if e.noise_duration is not None else \
            f"null (the engine's settling time and 1 / readout_bandwidth, at least {_noise_duration(s, True):.3g} s)"
        parts.append((e.samples * steps * limits.NOISY_STEP_SECONDS, ("engine", "event", "noise_duration"),
                      f"noise_duration {given}"))
    if m.injection_locking and m.locking_coupling:
        steps = m.locking_window * m.locking_coupling * 20.0 / 0.02
        parts.append((e.samples * steps * limits.LOCKING_STEP_SECONDS, ("medium", "locking_window"),
                      f"locking_window {m.locking_window:g} s"))
    return parts


def _time_problems(s: Scenario, positions: Positions) -> list[Problem]:
    """The run's integrations (:func:`_time_parts`) against the time budget
    (:func:`rfemu.devices.limits.time_budget`): one problem at the largest part's key."""
    parts = _time_parts(s)
    if not parts:
        return []
    largest = max(parts, key=lambda p: p[0])
    try:
        message = limits.time_problem(sum(p[0] for p in parts), largest[2])
    except ValueError as exc:            # $RFEMU_TIME_BUDGET is not a time
        return [positions.problem(largest[1], str(exc))]
    return [positions.problem(largest[1], message)] if message else []


def _validity_warnings(s: Scenario) -> list[tuple[str, tuple, str]]:
    """(device, key path, message) of each device driven outside its model's validity (warned,
    not refused: :class:`rfemu.devices.limits.ModelValidityWarning`): junctions whose tones go
    beyond the square-law regime (:func:`rfemu.devices.limits.square_law_problem`); a noisy
    event engine's readout whose inferences are not longer than the chip's settling time
    (:func:`_settling_time` from below: the engine warns too, at run time)."""
    found = []
    for i, layer in enumerate(s.network.layers):
        if i == 0:
            power, key = s.network.inputs.max_power, ("network", "inputs", "max_power")
        else:
            power = s.network.layers[i - 1].oscillator.max_output_power
            key = ("network", "layers", i - 1, "oscillator", "max_output_power")
        device = f"the junctions of layer {i}"
        message = limits.square_law_problem(power, layer.resonator.sensitivity,
                                            s.medium.junction_resistance, layer.oscillator.tmr, device)
        if message:
            found.append((device, key, message))
    e = s.engine.event
    if s.engine.kind == "event" and s.medium.noise and e.noise_duration is not None:
        settling = _settling_time(s, from_below=True)
        if e.noise_duration <= settling:
            found.append(("the event engine's readout", ("engine", "event", "noise_duration"),
                          f"a noisy inference of {e.noise_duration:.3g} s is not longer than the chip's "
                          f"settling time, at least {settling:.3g} s (line delays and 30 neuron damping "
                          "times): each reading includes the previous input's outputs (expected at least "
                          f"{settling + 1.0 / s.medium.readout_bandwidth:.3g} s, the settling time + "
                          "1 / readout_bandwidth, or null)"))
    return found


def _checks(s: Scenario, positions: Positions, scenario_dir: Optional[Path]) -> list[Problem]:
    """Checks that span keys or touch the file system, each citing a line."""
    problems = []
    # output paths stay in the run folder
    for key in ("trace_file", "figures_dir"):
        value = getattr(s.record, key)
        p = Path(value)
        if p.is_absolute() or ".." in p.parts or value.strip() in ("", "."):
            problems.append(positions.problem(("record", key),
                                              f"{value!r} leaves the run folder (expected a "
                                              "relative path inside it, without '..')"))
        elif _name_problem(value):
            problems.append(positions.problem(("record", key), _name_problem(value)))
    # ... and neither overwrites the run's own files nor lies inside the other (rfemu.results)
    layout = layout_problem(s.record.trace_file, s.record.figures_dir)
    if layout and not any(str(getattr(q, "path", "")).startswith("record.") for q in problems):
        problems.append(positions.problem(("record", layout.split()[0]), layout))
    # task keys that the data set does not use
    allowed = _TASK_KEYS[s.task.dataset] | {"dataset"}
    for key in sorted(k for k in s.task.model_fields_set if k not in allowed):
        problems.append(positions.problem(("task", key),
                                          f"does not apply to dataset {s.task.dataset} (its keys: "
                                          f"{', '.join(sorted(_TASK_KEYS[s.task.dataset]))})"))
    # pixel shifts need an image
    if s.training.shift_augmentation and s.task.dataset not in IMAGE_SHAPES:
        problems.append(positions.problem(("training", "shift_augmentation"),
                                          f"shift_augmentation={s.training.shift_augmentation} "
                                          f"needs an image task ({', '.join(sorted(IMAGE_SHAPES))}), "
                                          f"not {s.task.dataset} (expected 0)"))
    if s.training.early_stopping_metric == "accuracy" and s.training.validation_fraction == 0:
        problems.append(positions.problem(("training", "early_stopping_metric"),
                                          "accuracy is measured on the validation samples: give "
                                          "training.validation_fraction > 0 (it is 0)"))
    if s.training.restarts > 1 and s.training.validation_fraction == 0:
        problems.append(positions.problem(("training", "restarts"),
                                          f"restarts={s.training.restarts} keeps the best on the validation "
                                          "samples: give training.validation_fraction > 0 (it is 0)"))
    problems.extend(_rule_problems(s, positions))
    if s.training.in_situ.epochs > 0 and s.training.rule == "none":
        problems.append(positions.problem(("training", "in_situ", "epochs"),
                                          "in-situ fine-tuning needs training.rule: backprop (it is none)"))
    # the macrospin parameters pass the device's own checks (unit vectors, ...)
    try:
        from_sections(MacrospinParameters, {"devices.llgs": s.devices.llgs}, "devices.llgs")
    except ValueError as exc:
        problems.append(positions.problem(("devices", "llgs"), str(exc)))
    # the network against the task: one input tone per feature (per pooled value after a
    # convolution), one output chain per class
    n_features, n_classes = TASK_SHAPES[s.task.dataset]
    conv_problems, n_pooled = _conv_problems(s, positions)
    problems.extend(conv_problems)
    n_features = n_pooled or n_features
    plan = s.network.inputs.frequency_plan
    if plan.kind == "explicit" and len(plan.values) != n_features:
        problems.append(positions.problem(("network", "inputs", "frequency_plan", "values"),
                                          f"{len(plan.values)} input tones for the {n_features} "
                                          f"features of {s.task.dataset} (expected {n_features})"))
    layers = s.network.layers
    if layers[-1].size != n_classes:
        problems.append(positions.problem(("network", "layers", len(layers) - 1, "size"),
                                          f"the last layer has {layers[-1].size} chains but "
                                          f"{s.task.dataset} has {n_classes} classes (expected "
                                          f"size: {n_classes}, one chain per class score)"))
    n_tones = n_features
    for i, layer in enumerate(layers):
        here = ("network", "layers", i)
        n_junctions = layer.junctions_per_chain or n_tones
        if layer.resonance_plan.kind == "explicit" and len(layer.resonance_plan.values) != n_junctions:
            problems.append(positions.problem(here + ("resonance_plan", "values"),
                                              f"{len(layer.resonance_plan.values)} resonance "
                                              f"frequencies for {n_junctions} junctions per chain"))
        if isinstance(layer.sign_pattern, list) and len(layer.sign_pattern) != n_junctions:
            problems.append(positions.problem(here + ("sign_pattern",),
                                              f"{len(layer.sign_pattern)} signs for {n_junctions} "
                                              "junctions per chain"))
        if layer.emission_plan is not None and layer.emission_plan.kind == "explicit" \
                and len(layer.emission_plan.values) != layer.size:
            problems.append(positions.problem(here + ("emission_plan", "values"),
                                              f"{len(layer.emission_plan.values)} channels for "
                                              f"{layer.size} neurons"))
        low, high = layer.tuning_window
        plan = layer.resonance_plan
        lowest = min(plan.values) if plan.kind == "explicit" else plan.min
        if lowest is not None and lowest + low <= 0.0:
            problems.append(positions.problem(here + ("resonance_plan",),
                                              f"the lowest resonance {lowest:g} Hz tuned down by "
                                              f"the window's {-low:g} Hz reaches 0 Hz (expected a "
                                              f"lowest resonance above {max(-low, 0.0):g} Hz)"))
        if not low <= 0.0 <= high:
            problems.append(positions.problem(here + ("tuning_window",) if ("network", "layers", i,
                                              "tuning_window") in positions.where else
                                              ("devices", "frequency_state", "window_low"),
                                              f"the tuning window [{low:g}, {high:g}] Hz must "
                                              "contain 0 (the as-fabricated state)"))
        n_tones = layer.size
    # values that would make the simulation diverge or overflow (rfemu.devices.limits)
    problems += _limit_problems(s, positions)
    # memory that the sizes ask for, before anything is allocated
    if not problems:
        problems += _memory_problems(s, positions) or _time_problems(s, positions)
    # the chip-state file exists (rfemu.network.chip_state)
    if s.network.chip_state is not None and \
            not _exists(resolve_chip_state_path(s.network.chip_state, scenario_dir), "file"):
        what = "is not a regular file" if _exists(resolve_chip_state_path(s.network.chip_state, scenario_dir)) \
            else "does not exist"
        problems.append(positions.problem(("network", "chip_state"),
                                          f"chip-state file {s.network.chip_state!r} {what} "
                                          "(expected a run folder's chip_state.nc or an .npz; "
                                          "relative paths are beside the scenario)"))
    # the data file exists
    if s.task.dataset in STANDARD_DATA:
        path = resolve_data_path(s.task, scenario_dir)
        key = ("task", "path") if s.task.path is not None else ("task", "dataset")
        if not _exists(path):
            problems.append(positions.problem(key, f"data file {str(path)!r} does not exist "
                                                   f"(expected {STANDARD_DATA[s.task.dataset]}; "
                                                   f"{WHERE_TO_GET[s.task.dataset]})"))
        elif not (_exists(path, "file") or _exists(path, "dir")):     # a pipe would block the reader
            problems.append(positions.problem(key, f"data file {str(path)!r} is not a regular file "
                                                   f"or folder (expected {STANDARD_DATA[s.task.dataset]}; "
                                                   f"{WHERE_TO_GET[s.task.dataset]})"))
    # a tuning step larger than the window is meaningless
    fs = s.devices.frequency_state
    if fs.step > fs.window_high - fs.window_low:
        problems.append(positions.problem(("devices", "frequency_state", "step"),
                                          f"a step of {fs.step:g} Hz is larger than the tuning "
                                          f"window {fs.window_high - fs.window_low:g} Hz"))
    return problems


#: bytes of one name a file system takes (NAME_MAX), and of a path inside the run folder that
#: leaves room for the folder's own (PATH_MAX is 4096)
_NAME_BYTES, _PATH_BYTES = 255, 1024


def _name_problem(value: str) -> Optional[str]:
    """Why a path inside the run folder cannot be created (a name longer than the file system
    takes), or None."""
    parts = Path(value).parts
    longest = max(parts, key=lambda part: len(os.fsencode(part)), default="")
    if len(os.fsencode(longest)) > _NAME_BYTES:
        return (f"the name {longest[:40]}... is {len(os.fsencode(longest))} bytes; the file system "
                f"takes {_NAME_BYTES} (expected a shorter name)")
    if len(os.fsencode(value)) > _PATH_BYTES:
        return (f"the path {value[:40]}... is {len(os.fsencode(value))} bytes (expected at most "
                f"{_PATH_BYTES} inside the run folder)")
    return None


def _exists(path, kind: str = "any") -> bool:
    """Whether ``path`` exists (``kind`` "file": is a file, "dir": a folder); False for a name the system
    refuses to look up (too long, NUL byte) instead of an OSError."""
    try:
        return path.is_file() if kind == "file" else path.is_dir() if kind == "dir" else path.exists()
    except (OSError, ValueError):
        return False
