"""The scenario schema: pydantic sections, ``extra="forbid"`` everywhere, quantities in SI."""
from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rfemu.scenario.errors import Positions
from rfemu.scenario.units import Q, Current, Fraction, Frequency, Power, Time  # noqa: F401

__all__ = ["OscillatorSection", "ResonatorSection", "FrequencyStateSection", "LlgsSection", "DevicesSection", "FrequencyPlan", "InputSection", "LayerSection", "NetworkSection", "MediumSection", "VariabilitySection", "TaskSection", "EventSection", "EngineSection", "InSituSection", "TrainingSection", "RecordSection", "Scenario",
           "TASK_SHAPES", "DATASETS", "IMAGE_SHAPES", "SignPattern", "Vector3"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, use_attribute_docstrings=True)


class OscillatorSection(_Section):
    """Defaults of every spin-torque oscillator (neuron): the fields of
    :class:`rfemu.devices.oscillator.OscillatorParameters` (PHYSICS.md section 1)."""

    natural_frequency: Frequency = 300e6
    """f0 (Hz) of a neuron whose layer has no frequency plan; a layer's plan sets it otherwise."""
    nonlinear_frequency_shift: Q("rad/s") = 0.0
    """N of w(p) = w0 + N p, in rad/s ("50 MHz" is read as 2 pi x 50 MHz)."""
    damping: Q("", gt=0) = 0.01
    """Gilbert damping alpha; the linear damping rate is G_G = alpha * 2 pi f0."""
    nonlinear_damping: Q("", ge=0) = 2.0
    """Q of the positive damping G+(p) = G_G (1 + Q p)."""
    threshold_current: Current = 10e-6
    """I_th = G_G / sigma: auto-oscillation above it."""
    max_current: Current = 40e-6
    """I_max: the compact output model clamps the current to [I_th, I_max]."""
    resistance: Q("Ohm", gt=0) = 1e3
    """R of the junction (Joule power R I^2, output power)."""
    tmr: Q("", gt=0) = 1.0
    """Tunnel magnetoresistance ratio."""
    beta: Q("", gt=0) = 1.0
    """Fraction of the TMR the oscillation turns into a resistance oscillation."""
    max_output_power: Q("W", ge=0) = 1e-6
    """Output power at max_current (sets the prefactor A of the compact model)."""
    temperature: Q("K", ge=0) = 300.0
    """Temperature of the neuron's thermal noise (0: none)."""
    oscillation_energy: Q("J", gt=0) = 2e-19
    """E0: the thermal noise is eta = k_B T / E0."""

    @model_validator(mode="after")
    def _currents(self):
        if self.max_current <= self.threshold_current:
            raise ValueError(f"max_current ({self.max_current:g} A) must exceed threshold_current "
                             f"({self.threshold_current:g} A)")
        return self


class ResonatorSection(_Section):
    """Defaults of every spin-diode junction (synapse): the fields of
    :class:`rfemu.devices.resonator.ResonatorParameters` (PHYSICS.md section 2)."""

    damping: Q("", gt=0) = 0.01
    """alpha: the resonance half width (linewidth) is D_r = alpha f_r."""
    sensitivity: Q("V/W", gt=0) = 8.8e3
    """K: the rectified voltage at the best detuning per watt of tone ('8.8 mV/uW')."""
    antisymmetric: Q("") = 1.0
    """Weight a of the antisymmetric line shape (the seed's synapse: 1)."""
    symmetric: Q("") = 0.0
    """Weight s of the symmetric line shape (the seed's synapse: 0)."""


class FrequencyStateSection(_Section):
    """The non-volatile tuning state of the junctions (:class:`rfemu.devices.resonator.FrequencyState`).

    The window bounds the trained shifts; after training, the chip is programmed by one write of
    every junction through the FrequencyState (quantised to ``step``, with ``write_noise``); it
    then drifts at ``drift_rate`` for ``engine.hold_time``; the programmed and drifted network is
    what is tested (metrics ``programming_energy_J``, ``programming_latency_s``,
    ``programming_writes``, ``programming_stuck_devices``).
    """

    window_low: Q("Hz") = -15e6
    """Lowest shift of f_r from the junction's as-fabricated (base) frequency."""
    window_high: Q("Hz") = 15e6
    """Highest shift of f_r from the base frequency."""
    step: Q("Hz", ge=0) = 0.0
    """Quantisation step of a write (0: continuous)."""
    write_noise: Q("Hz", ge=0) = 0.0
    """Standard deviation of a write's error."""
    write_latency: Q("s", ge=0) = 10e-9
    """Time a write takes (all junctions are written in parallel)."""
    write_energy: Q("J", ge=0) = 1e-13
    """Energy of one write pulse (per junction)."""
    endurance: Optional[Q("", ge=1)] = None
    """Writes a junction takes before it is stuck where it is (a whole number >= 1; null:
    unlimited). Programming writes each junction once; the count of junctions it leaves stuck is
    the metric ``programming_stuck_devices``."""
    drift_rate: Q("Hz/s") = 0.0
    """Drift of the programmed shifts (Hz/s, either sign; '1 MHz/s'), bounded by the tuning
    window: during engine.hold_time the resonance frequencies move by drift_rate x hold_time
    before the chip is tested."""

    @model_validator(mode="after")
    def _window(self):
        if self.window_low > self.window_high:
            raise ValueError(f"the tuning window is empty: window_low ({self.window_low:g} Hz) > "
                             f"window_high ({self.window_high:g} Hz)")
        return self

    @field_validator("endurance")
    @classmethod
    def _whole_endurance(cls, value):
        if value is not None and math.isfinite(value) and value != math.floor(value):
            raise ValueError(f"got {value:g} (expected a whole number of writes >= 1, or null "
                             "for unlimited)")
        return value


Vector3 = Annotated[list[float], Field(min_length=3, max_length=3)]


class LlgsSection(_Section):
    """Macrospin LLGS parameters, the fields of :class:`rfemu.devices.llgs.MacrospinParameters`
    (meanings and units there): the reference device for studies of a junction's dynamics; a
    network run does not use them."""

    saturation_magnetisation: Q("A/m", gt=0) = 1.0e6
    volume: Q("m^3", gt=0) = math.pi / 4 * 100e-9 * 50e-9 * 1.5e-9
    damping: Q("", ge=0) = 0.01
    anisotropy_field: Q("A/m") = 2.0e4
    easy_axis: Vector3 = Field(default_factory=lambda: [1.0, 0.0, 0.0])
    effective_magnetisation: Q("A/m") = 8.0e5
    polarizer: Vector3 = Field(default_factory=lambda: [math.sqrt(0.5), math.sqrt(0.5), 0.0])
    spin_torque_per_ampere: Q("1/m") = 2.0e7
    field_like_ratio: Q("") = 0.0
    oersted_field_per_ampere: Vector3 = Field(default_factory=lambda: [0.0, 0.0, 0.0])
    resistance_parallel: Q("Ohm", gt=0) = 1.0e3
    resistance_antiparallel: Q("Ohm", gt=0) = 2.0e3
    temperature: Q("K", ge=0) = 300.0


class DevicesSection(_Section):
    """Device defaults, every layer's unless the layer overrides them."""

    oscillator: OscillatorSection = Field(default_factory=OscillatorSection)
    resonator: ResonatorSection = Field(default_factory=ResonatorSection)
    frequency_state: FrequencyStateSection = Field(default_factory=FrequencyStateSection)
    llgs: LlgsSection = Field(default_factory=LlgsSection)


class FrequencyPlan(_Section):
    """Channels between two bounds (PHYSICS.md section 2): the fields of
    :class:`rfemu.network.frequency.FrequencyPlan` (``min``/``max`` are its minimum/maximum)."""

    kind: Literal["linear", "geometric", "explicit"] = "linear"
    """linear: evenly spaced; geometric: f_k = min r^k (constant spacing in linewidths);
    explicit: the ``values``."""
    min: Optional[Frequency] = 20e6
    """First channel."""
    max: Optional[Frequency] = 120e6
    """Last channel."""
    values: list[Frequency] = Field(default_factory=list)
    """The channels of an ``explicit`` plan."""

    @model_validator(mode="after")
    def _bounds(self):
        if self.kind == "explicit":
            if not self.values:
                raise ValueError("an explicit plan needs `values` (a list of frequencies)")
        elif self.min is None or self.max is None:
            raise ValueError(f"a {self.kind} plan needs `min` and `max`")
        elif self.max < self.min:
            raise ValueError(f"max ({self.max:g} Hz) must not be below min ({self.min:g} Hz)")
        return self


class InputSection(_Section):
    """The input tones on line 0: one per feature of the task, powers set by the data."""

    frequency_plan: FrequencyPlan = Field(default_factory=FrequencyPlan)
    max_power: Power = 1e-6
    """Power of a tone whose (normalised) feature is 1."""
    linewidth: Q("Hz", ge=0) = 0.0
    """Half width of each input tone's own line (0: pure tones)."""


SignPattern = Union[Literal["alternate_minus_first", "alternate_plus_first", "all_plus"],
                    list[Literal[1, -1]]]


class LayerSection(_Section):
    """One layer: ``size`` chains of junctions on one RF line, each driving an oscillator neuron
    (hidden layer) or read out as a class score (the last layer). The fields of
    :class:`rfemu.network.description.LayerDescription`."""

    size: int = Field(gt=0)
    """Chains: neurons of a hidden layer, classes of the last layer."""
    resonance_plan: FrequencyPlan = Field(default_factory=FrequencyPlan)
    """As-fabricated resonance frequencies of junctions 0..J-1 of every chain."""
    junctions_per_chain: Optional[int] = Field(default=None, gt=0)
    """J; null: one junction per tone on the layer's line."""
    sign_pattern: SignPattern = "alternate_minus_first"
    """Series signs of the junctions of a chain: alternate_minus_first ((-1)^(k+1), the
    seed), alternate_plus_first, all_plus, or a list of +1/-1."""
    tuning_window: Optional[Annotated[list[Q("Hz")], Field(min_length=2, max_length=2)]] = None
    """[low, high] shift of f_r from f_base; null: devices.frequency_state's window."""
    initial_tuning_spread: Optional[Q("Hz", ge=0)] = None
    """Std of the initial tuning shifts (null: the seed's 1 MHz / sqrt(J))."""
    bias_voltage: Q("V") = 0.0
    """Series bias of every chain (the seed's hidden layer: 11.08 mV; trained)."""
    initial_bias_spread: Optional[Q("V", ge=0)] = None
    """Std of the initial biases around bias_voltage (null: 10 mV / sqrt(size))."""
    transconductance: Q("S", gt=0) = 3.388370758630916e-3
    """g_m of a hidden layer's V -> I conversion (A/V; '3.388 uA/mV')."""
    emission: Literal["fixed", "current"] = "fixed"
    """A neuron emits on a fixed channel, or at f(I) of its own device."""
    emission_plan: Optional[FrequencyPlan] = None
    """The neurons' channels; null: the next layer's resonance_plan."""
    tone_linewidth: Q("Hz", ge=0) = 0.0
    """Half width of the neurons' tones with emission: fixed."""
    tap_loss: Optional[Q("dB", ge=0)] = None
    """RF power lost at each junction along a chain; null: medium.loss_per_tap."""
    resonator: Optional[ResonatorSection] = None
    """This layer's junctions; null: devices.resonator (keys given here override it)."""
    oscillator: Optional[OscillatorSection] = None
    """This layer's neurons; null: devices.oscillator (keys given here override it)."""


class NetworkSection(_Section):
    """The network: input tones and layers of junction chains (:mod:`rfemu.network`)."""

    inputs: InputSection = Field(default_factory=InputSection)
    layers: list[LayerSection] = Field(min_length=1)
    """Hidden layers first; the last layer's chains are the class scores."""


class MediumSection(_Section):
    """The RF lines as shared media (:mod:`rfemu.medium`) and their noise."""

    loss_per_tap: Q("dB", ge=0) = 0.0
    """Default of every layer's tap_loss (0: amplifiers preserve the power, as in the seed)."""
    loss_per_length: Q("dB/m", ge=0) = 0.0
    """Propagation loss of every RF line ('0.1 dB/mm'). A tone reaches the junctions of its
    line after line_length of it: every junction's power gain is multiplied by
    10^(-loss_per_length x line_length / 10), in both engines."""
    line_length: Q("m", ge=0) = 0.0
    """Length of RF line from the emitters (inputs, neurons) to the junctions of each line
    ('5 mm'); the junctions of a chain sit close together compared with it."""
    linewidths: bool = True
    """true: every tone has its own Lorentzian line (network.inputs.linewidth, the layers'
    tone_linewidth, an f(I) neuron's own linewidth at its current), which widens the junctions'
    response, L = 1 / (d - i (D_r + g_t)); false: every tone is a pure tone, in both engines."""
    noise: bool = False
    """Event engine: the junctions' Johnson noise on the chain voltages and the neurons'
    thermal dynamics."""
    temperature: Q("K", ge=0) = 300.0
    """Noise temperature of the junctions' Johnson noise."""
    readout_bandwidth: Q("Hz", gt=0) = 1e6
    """Bandwidth B over which chain voltages are read (noise floor sqrt(4 k_B T R B))."""
    junction_resistance: Q("Ohm", gt=0) = 1e3
    """Resistance of each junction (noise floor)."""
    line_delay: Q("s", ge=0) = 1e-10
    """Propagation delay from an emitter to the junctions of its line."""
    injection_locking: bool = False
    """Event engine: frequency pulling and injection locking between tones of a line (Adler)."""
    locking_coupling: Q("Hz", ge=0) = 1e6
    """Locking range ~ locking_coupling * sqrt(P_inj / P)."""
    locking_window: Q("s", gt=0) = 2e-6
    """Integration window of the phase model whose mean frequencies become the tones."""
    junction_absorption: Q("", ge=0, le=1) = 0.01
    """Energy account: fraction of the RF power passing a junction that it dissipates."""
    amplifier_efficiency: Q("", gt=0, le=1) = 0.1
    """Energy account: efficiency of the amplifiers that restore the absorbed RF power."""


class VariabilitySection(_Section):
    """Relative device-to-device spreads (0.01 = '1 %'), drawn once from the seed: the fields of
    :class:`rfemu.network.description.VariabilityDescription`."""

    source_frequency: Fraction = 0.0
    """Input tones' frequencies."""
    resonance_frequency: Fraction = 0.0
    """Junctions' as-fabricated resonance frequencies."""
    oscillator_frequency: Fraction = 0.0
    """Neurons' channel (natural) frequencies."""
    oscillator_power: Fraction = 0.0
    """Neurons' output power scale (log-normal)."""
    sensitivity: Fraction = 0.0
    """Junctions' sensitivity K (log-normal)."""
    damping: Fraction = 0.0
    """Junctions' damping, hence their linewidths."""


#: (features, classes) of each data set: input tones and output chains of its network
TASK_SHAPES = {"digits": (64, 10), "mnist": (784, 10), "drone": (256, 10), "xor": (2, 2),
               "circles": (2, 2), "moons": (2, 2)}
DATASETS = tuple(TASK_SHAPES)
IMAGE_SHAPES = {"digits": (8, 8), "mnist": (28, 28)}
"""(rows, columns) of the image tasks (features are the pixels in row-major order)."""


_TASK_KEYS = {
    "drone": {"path", "normalize"},
    "mnist": {"path", "n_train", "n_test"},
    "digits": {"test_fraction"},
    "xor": {"n_train", "n_test", "margin"},
    "circles": {"n_train", "n_test", "noise", "factor"},
    "moons": {"n_train", "n_test", "noise"},
}


class TaskSection(_Section):
    """The data set (:mod:`rfemu.tasks`); its features in [0, 1] are the powers of the input
    tones (times ``network.inputs.max_power``)."""

    dataset: Literal["digits", "mnist", "drone", "xor", "circles", "moons"]
    """drone (RF fingerprints, 256 bins, 10 classes), mnist (784 pixels), digits (8x8,
    scikit-learn), xor, circles, moons (2 features, generated)."""
    path: Optional[str] = None
    """drone, mnist: the file or folder; relative paths are looked up under $RFEMU_DATA, then
    beside the scenario; null: $RFEMU_DATA/drone_rf/... or $RFEMU_DATA/mnist."""
    n_train: Optional[int] = Field(default=None, gt=0)
    """mnist: first training images kept (null: all); 2-input tasks: samples generated (400)."""
    n_test: Optional[int] = Field(default=None, gt=0)
    """mnist: first test images kept (null: all); 2-input tasks: samples generated (200)."""
    test_fraction: Q("", gt=0, lt=1) = 0.25
    """digits: the held-out share."""
    noise: Optional[Q("", ge=0)] = None
    """circles, moons: the generator's noise (0.05, 0.1)."""
    factor: Q("", gt=0, lt=1) = 0.5
    """circles: inner radius / outer radius."""
    margin: Q("", ge=0, lt=0.5) = 0.05
    """xor: points closer than this to the quadrant boundaries are left out."""
    normalize: bool = True
    """drone: divide the spectra by the largest training value."""


class EventSection(_Section):
    """Settings of the event engine (:class:`rfemu.engines.event.EventConfig`)."""

    samples: int = Field(default=20, gt=0)
    """Test samples run through the emulated chip (one after the other)."""
    diode_response: bool = True
    """Add each line's spin-diode response time 1 / (2 pi min half width) to its delay."""
    emission_tolerance: Q("", gt=0) = 0.05
    """A neuron re-emits when its power moved by more than this fraction of max_output_power."""
    frequency_tolerance: Q("", gt=0) = 1e-4
    """... or its frequency by more than this fraction of itself."""
    settle_tolerance: Q("", gt=0) = 1e-10
    """A neuron within this fraction of its steady state emits its exact value and sleeps."""
    voltage_tolerance: Q("V", ge=0) = 1e-12
    """A chain wakes its consumer only if its voltage moved by more than this."""
    latency_tolerance: Q("", gt=0) = 1e-3
    """Output settled: within this fraction of the largest output of its final value."""
    min_relaxation_fraction: Q("", gt=0) = 0.02
    """Floor of a neuron's relaxation rate, as a fraction of 2 G_G (critical slowing down)."""
    noise_duration: Q("s", gt=0) = 2e-6
    """With medium.noise: how long each inference runs (noise never settles)."""
    noise_step_fraction: Q("", gt=0) = 0.25
    """With noise, a neuron integrates in steps of this fraction of its relaxation time."""


class EngineSection(_Section):
    """Which engine tests the trained network (training always runs on the compiled one)."""

    kind: Literal["compiled", "event"] = "compiled"
    """compiled: everything on arrays; event: training on arrays, then the test samples run
    through the simpy emulation of the chip (time, noise, locking)."""
    n_threads: Optional[int] = Field(default=None, ge=1)
    """Kernel threads (null: every core; results do not depend on it)."""
    hold_time: Q("s", ge=0) = 0.0
    """Time between programming the junctions and testing the chip ('1 h'): the programmed
    frequencies drift by devices.frequency_state.drift_rate x hold_time (bounded by the window)."""
    event: EventSection = Field(default_factory=EventSection)


class InSituSection(_Section):
    """Chip-in-the-loop fine-tuning (:mod:`rfemu.learning.in_situ`): each batch runs on the event
    engine as engine.event and medium configure it (noise included); the loss gradient at the
    chip's outputs goes back through the static model. Closes the systematic gap between the
    noisy chip and the static model (the mean of P W(f) under correlated power and frequency
    fluctuations); costs one event inference per sample and epoch."""

    epochs: int = Field(default=0, ge=0)
    """Passes over the training samples on the chip (0: off)."""
    samples: Optional[int] = Field(default=None, ge=1)
    """Fine-tune on the first this-many training samples (null: all of them)."""
    batch_size: int = Field(default=32, gt=0)
    frequency_learning_rate: Q("Hz", gt=0) = 3e4
    """Adam step of the tuning states."""
    bias_learning_rate: Q("V", gt=0) = 3e-5
    """Adam step of the bias voltages."""
    score_scale: Q("1/V", gt=0) = 3e4
    """Logits = score_scale x the chip's output voltages (large: the loss works on the samples
    the chip gets wrong or nearly wrong)."""
    final_learning_rate_fraction: Q("", ge=0, le=1) = 0.1
    """The steps fall linearly to this fraction of themselves over the run."""


class TrainingSection(_Section):
    """Offline backpropagation (:mod:`rfemu.learning.backprop`): trains the junctions' tuning
    states and the chains' bias voltages."""

    rule: Literal["backprop", "none"] = "backprop"
    """backprop: offline backpropagation through the static device models; none: test the
    network as fabricated."""
    epochs: int = Field(default=100, ge=1)
    """Maximum passes over the training samples."""
    batch_size: int = Field(default=256, gt=0)
    """Samples per Adam step."""
    frequency_learning_rate: Q("Hz", gt=0) = 6.6e3
    """Adam step of the tuning states (the seed's 6.6 kHz)."""
    relative_frequency_learning_rate: Optional[Q("", gt=0)] = None
    """If given, each junction's Adam step is this fraction of its half width alpha f_base
    (instead of frequency_learning_rate): the same step in linewidths at every frequency."""
    bias_learning_rate: Q("V", gt=0) = 6.6e-6
    """Adam step of the chains' bias voltages."""
    score_scale: Q("1/V", gt=0) = 1e3
    """Logits = score_scale x output voltages (1e3 /V: logits in mV)."""
    learn_score_scale: bool = False
    """Learn the score scale too (Adam on its logarithm)."""
    score_scale_learning_rate: Q("", gt=0) = 1e-2
    beta1: Q("", ge=0, lt=1) = 0.9
    """Adam's first-moment decay."""
    beta2: Q("", ge=0, lt=1) = 0.999
    """Adam's second-moment decay."""
    adam_epsilon: Q("", gt=0) = 1e-8
    validation_fraction: Q("", ge=0, lt=1) = 0.1
    """Share of the training samples held out (stratified) for early stopping; 0: none."""
    patience: Optional[int] = Field(default=20, ge=1)
    """Stop after this many epochs without a lower validation loss (null: never)."""
    restore_best: bool = True
    """End with the state of the epoch with the lowest validation loss."""
    train_tuning: bool = True
    """Train the junctions' resonance frequencies."""
    train_bias: bool = True
    """Train the chains' bias voltages."""
    variability_mode: Literal["perturbed", "ideal_gradient"] = "perturbed"
    """With variability: gradient through the perturbed devices (chip in the loop), or through
    the ideal ones (the seed authors' scheme)."""
    early_stopping_metric: Literal["loss", "accuracy"] = "loss"
    """What patience and restore_best follow on the validation samples: the lowest loss, or
    the highest accuracy (ties: the lower loss). accuracy needs validation_fraction > 0."""
    learning_rate_schedule: Literal["constant", "cosine"] = "constant"
    """constant: the same Adam steps throughout; cosine: every step size decays from its full
    value at the first batch to final_learning_rate_fraction of it at the last batch of epochs."""
    final_learning_rate_fraction: Q("", ge=0, le=1) = 0.0
    """cosine: the step sizes at the last batch, as a fraction of the initial ones."""
    calibrate_bias: bool = False
    """Before training, set each hidden chain's bias so that its neuron's mean current over the
    training samples is the middle of its active window (I_th + I_max) / 2 (replaces the
    configured bias_voltage and initial_bias_spread of the hidden layers)."""
    shift_augmentation: int = Field(default=0, ge=0)
    """Image tasks (mnist 28x28, digits 8x8): shift each training image by a random whole
    number of pixels in [-n, n] along each axis at every batch (zeros fill the edge); 0: off."""
    restarts: int = Field(default=1, ge=1)
    """Train from this many initial programmings and keep the one with the best validation
    accuracy (> 1 needs validation_fraction > 0). For small chips whose neurons emit at f(I):
    their bump-shaped activations leave gradient descent in a poor basin from many starts."""
    initial_state: Literal["plan", "uniform"] = "plan"
    """plan: start from the frequency plan (with initial_tuning_spread; with restarts > 1 the
    later restarts are drawn as for uniform); uniform: every tuning state uniform in its window
    and every hidden chain's bias uniform in [0, initial_bias_max]."""
    initial_bias_max: Q("V", gt=0) = 0.02
    """Upper end of the hidden biases' range for initial_state: uniform (and restarts)."""
    in_situ: InSituSection = Field(default_factory=InSituSection)
    """Physics-aware fine-tuning on the emulated chip after the offline training."""


class RecordSection(_Section):
    """What the run folder keeps."""

    snapshot_junctions: int = Field(default=64, ge=1)
    """Junctions whose resonance frequency is recorded after every epoch."""
    samples: int = Field(default=32, ge=0)
    """Test samples whose internals (chain voltages, neuron currents and powers) are traced."""
    event_traces: list[Literal["tones", "chains", "neurons", "junctions"]] = Field(
        default_factory=lambda: ["chains", "neurons"])
    """engine: event: what the event engine records in time (tones and chain voltages at each
    line delivery, neurons' emitted power and frequency, junction writes)."""
    event_trace_every: Q("s", ge=0) = 0.0
    """Decimation of the event traces (0: every event)."""
    figures: bool = True
    """Draw the figures."""
    trace_file: str = "trace.nc"
    """Where the traces go, inside the run folder."""
    figures_dir: str = "figures"
    """Where the figures go, inside the run folder."""


class Scenario(_Section):
    """A validated scenario, every quantity in SI units."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    """Names the run folder (letters, digits, '-', '_', '.')."""
    seed: Optional[int] = Field(default=None, ge=0)
    """The seed of every random draw; null: drawn at run time and written to the resolved file."""
    devices: DevicesSection = Field(default_factory=DevicesSection)
    network: NetworkSection
    medium: MediumSection = Field(default_factory=MediumSection)
    variability: VariabilitySection = Field(default_factory=VariabilitySection)
    task: TaskSection
    engine: EngineSection = Field(default_factory=EngineSection)
    training: TrainingSection = Field(default_factory=TrainingSection)
    record: RecordSection = Field(default_factory=RecordSection)

    # not part of the schema: where the scenario came from (set by the loader)
    _source: Optional[str] = None
    _positions: Optional[Positions] = None

    @property
    def source(self) -> Optional[str]:
        """The file the scenario was read from (None for text)."""
        return self._source

    @property
    def positions(self) -> Optional[Positions]:
        """The file and line of each key, for later errors."""
        return self._positions



def _known_fields(model: type[BaseModel], path: tuple) -> list[str]:
    """Field names of the model found at ``path`` (to suggest for unknown keys)."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = current.model_fields.get(part)
        if info is None:
            return []
        current = _unwrap(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation):
    args = getattr(annotation, "__args__", None)
    origin = getattr(annotation, "__origin__", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if args:
        for a in args:
            inner = _unwrap(a)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return origin or annotation


