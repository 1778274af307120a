"""The scenario schema: pydantic sections, ``extra="forbid"`` everywhere, quantities in SI.

The sections of devices, network, variability and training are derived from the dataclasses that
use them (:mod:`rfemu.scenario.derive`): each parameter is declared once, as a dataclass field with
its unit, bounds and meaning in ``metadata``. The classes here declare only the keys that exist in
scenarios alone (the training rule, the record, the task) and the checks across keys.
"""
from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rfemu.devices.energy import EnergyModel
from rfemu.devices.llgs import MacrospinParameters
from rfemu.devices.oscillator import OscillatorParameters
from rfemu.devices.resonator import FrequencyState, ResonatorParameters
from rfemu.engines.event.config import EventConfig
from rfemu.learning.backprop import TrainingConfig
from rfemu.learning.in_situ import InSituConfig
from rfemu.learning.local.config import OnChipRuleConfig
from rfemu.network import frequency as network_frequency
from rfemu.network.conv import ConvDescription
from rfemu.network.description import (InputDescription, LayerDescription, NetworkDescription,
                                       VariabilityDescription)
from rfemu.scenario.derive import derive_section
from rfemu.scenario.errors import Positions
from rfemu.scenario.units import Q, Current, Fraction, Frequency, Power, Time  # noqa: F401
from rfemu.study.sweep import SweepSection
from rfemu.tasks.registry import DATASETS as _DATA_SETS

__all__ = ["OscillatorSection", "ResonatorSection", "FrequencyStateSection", "LlgsSection", "DevicesSection", "FrequencyPlan", "InputSection", "LayerSection", "ConvSection", "NetworkSection", "MediumSection", "VariabilitySection", "TaskSection", "EventSection", "EngineSection", "InSituSection", "TrainingSection", "RecordSection", "Scenario",
           "TASK_SHAPES", "DATASETS", "IMAGE_SHAPES", "SignPattern", "Vector3"]


def _takes(annotation, kinds) -> bool:
    """Whether a field's type is or holds one of ``kinds`` (unions, Optional, Annotated)."""
    return annotation in kinds or any(_takes(a, kinds) for a in getattr(annotation, "__args__", ()))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, use_attribute_docstrings=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value, info):
        # pydantic reads true as 1 where a number is expected: a typo the user should hear of
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(value, bool) and _takes(annotation, (int, float)) \
                and not _takes(annotation, (bool,)):
            raise ValueError(f"got {value!r} (expected a number, not true/false)")
        return value


class _OscillatorChecks(_Section):
    @model_validator(mode="after")
    def _currents(self):
        if self.max_current <= self.threshold_current:
            raise ValueError(f"max_current ({self.max_current:g} A) must exceed threshold_current "
                             f"({self.threshold_current:g} A)")
        return self


OscillatorSection = derive_section(
    "OscillatorSection",
    """Defaults of every spin-torque oscillator (neuron): the fields of
    :class:`rfemu.devices.oscillator.OscillatorParameters` (docs/physics.md#oscillator)""",
    [(OscillatorParameters, "devices.oscillator")], "devices.oscillator", base=_OscillatorChecks)

ResonatorSection = derive_section(
    "ResonatorSection",
    """Defaults of every spin-diode junction (synapse): the fields of
    :class:`rfemu.devices.resonator.ResonatorParameters` (docs/physics.md#spin-diode-resonator)""",
    [(ResonatorParameters, "devices.resonator")], "devices.resonator", base=_Section)


class _FrequencyStateChecks(_Section):
    @model_validator(mode="after")
    def _window(self):
        if self.window_low > self.window_high:
            raise ValueError(f"the tuning window is empty: window_low ({self.window_low:g} Hz) > "
                             f"window_high ({self.window_high:g} Hz)")
        return self

    @field_validator("endurance", check_fields=False)
    @classmethod
    def _whole_endurance(cls, value):
        if value is not None and math.isfinite(value) and value != math.floor(value):
            raise ValueError(f"got {value:g} (expected a whole number of writes >= 1, or null "
                             "for unlimited)")
        return value


FrequencyStateSection = derive_section(
    "FrequencyStateSection",
    """The non-volatile tuning state of the junctions (:class:`rfemu.devices.resonator.FrequencyState`).

    The window bounds the trained shifts; after training, the chip is programmed by one write of
    every junction through the FrequencyState (quantised to ``step``, with ``write_noise``); it
    then drifts at ``drift_rate`` for ``engine.hold_time``; the programmed and drifted network is
    what is tested (metrics ``programming_energy_J``, ``programming_latency_s``,
    ``programming_writes``, ``programming_stuck_devices``).
    """,
    [(FrequencyState, "devices.frequency_state")], "devices.frequency_state",
    base=_FrequencyStateChecks)


Vector3 = Annotated[list[float], Field(min_length=3, max_length=3)]

LlgsSection = derive_section(
    "LlgsSection",
    """Macrospin LLGS parameters, the fields of :class:`rfemu.devices.llgs.MacrospinParameters`:
    the reference device for studies of a junction's dynamics; a network run does not use them.""",
    [(MacrospinParameters, "devices.llgs")], "devices.llgs", base=_Section)


class DevicesSection(_Section):
    """Device defaults, every layer's unless the layer overrides them."""

    oscillator: OscillatorSection = Field(default_factory=OscillatorSection)
    resonator: ResonatorSection = Field(default_factory=ResonatorSection)
    frequency_state: FrequencyStateSection = Field(default_factory=FrequencyStateSection)
    llgs: LlgsSection = Field(default_factory=LlgsSection)


class _PlanChecks(_Section):
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


FrequencyPlan = derive_section(
    "FrequencyPlan",
    """Channels between two bounds (docs/physics.md#frequency-plans): the fields of
    :class:`rfemu.network.frequency.FrequencyPlan` (``min``/``max`` are its minimum/maximum).""",
    [(network_frequency.FrequencyPlan, "frequency_plan")], "frequency_plan", base=_PlanChecks)

#: the pydantic section of each dataclass that a field can hold
SECTION_OF = {network_frequency.FrequencyPlan: FrequencyPlan, ResonatorParameters: ResonatorSection,
              OscillatorParameters: OscillatorSection}

InputSection = derive_section(
    "InputSection",
    """The input tones on line 0: one per feature of the task, powers set by the data (the fields
    of :class:`rfemu.network.description.InputDescription`).""",
    [(InputDescription, "network.inputs")], "network.inputs", base=_Section, sections=SECTION_OF)


SignPattern = Union[Literal["alternate_minus_first", "alternate_plus_first", "all_plus"],
                    list[Literal[1, -1]]]

LayerSection = derive_section(
    "LayerSection",
    """One layer: ``size`` chains of junctions on one RF line, each driving an oscillator neuron
    (hidden layer) or read out as a class score (the last layer). The fields of
    :class:`rfemu.network.description.LayerDescription`.""",
    [(LayerDescription, "network.layers")], "network.layers", base=_Section,
    types={"sign_pattern": SignPattern}, sections=SECTION_OF)


ConvSection = derive_section(
    "ConvSection",
    """A convolution before the layers (Leroux et al. 2022; docs/physics.md#chains): each filter a
    chain of junctions reading the tones of one image patch, its oscillators pooled; the pooled
    maps are then the input tones of the first layer (``network.inputs``: their frequency plan,
    and ``size`` is the pooled count). The fields of :class:`rfemu.network.conv.ConvDescription`;
    needs an image task and ``training.rule: cnn_backprop`` (or none).""",
    [(ConvDescription, "network.conv")], "network.conv", base=_Section, sections=SECTION_OF)


class NetworkSection(_Section):
    """The network: input tones and layers of junction chains (:mod:`rfemu.network`)."""

    inputs: InputSection = Field(default_factory=InputSection)
    layers: list[LayerSection] = Field(min_length=1)
    """Hidden layers first; the last layer's chains are the class scores."""
    conv: Optional[ConvSection] = None
    """A convolution whose pooled maps feed the layers (null: none)."""
    chip_state: Optional[str] = None
    """Start from a chip state (rfemu.network.chip_state): the chip_state.nc of a run folder
    (every device's parameters, tuning states, biases) or an .npz made elsewhere with arrays
    layer<l>_resonance_frequency (C, J) Hz and layer<l>_bias_voltage (C,) V; relative paths are
    beside the scenario. Applied to the network built from these keys, before training."""


class _MediumKeys(_Section):
    loss_per_tap: Q("dB", ge=0) = 0.0
    """Default of every layer's tap_loss (0: amplifiers preserve the power, as in the seed)."""
    injection_locking: bool = False
    """Event engine: frequency pulling and injection locking between tones of a line (Adler)."""


MediumSection = derive_section(
    "MediumSection", """The RF lines as shared media (:mod:`rfemu.medium`) and their noise.""",
    [(EventConfig, "engine.event"), (EnergyModel, "medium"), (LayerDescription, "network.layers"),
     (NetworkDescription, "network")], "medium", base=_MediumKeys)


VariabilitySection = derive_section(
    "VariabilitySection",
    """Relative device-to-device spreads (0.01 = '1 %'), drawn once from the seed: the fields of
    :class:`rfemu.network.description.VariabilityDescription`.""",
    [(VariabilityDescription, "variability")], "variability", base=_Section)


#: (features, classes) of each data set: input tones and output chains of its network
# the data sets by name come from their registry (rfemu.tasks.registry: one entry each)
TASK_SHAPES = {name: (d.n_features, d.n_classes) for name, d in _DATA_SETS.items()}
DATASETS = tuple(TASK_SHAPES)
IMAGE_SHAPES = {name: d.image_shape for name, d in _DATA_SETS.items() if d.image_shape}
"""(rows, columns) of the image tasks (features are the pixels in row-major order)."""


_TASK_KEYS = {name: set(d.keys) for name, d in _DATA_SETS.items()}


class TaskSection(_Section):
    """The data set (:mod:`rfemu.tasks`); its features in [0, 1] are the powers of the input
    tones (times ``network.inputs.max_power``)."""

    dataset: Literal[DATASETS]
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


class _EventKeys(_Section):
    samples: int = Field(default=20, gt=0)
    """Test samples run through the emulated chip (one after the other)."""


EventSection = derive_section(
    "EventSection", """Settings of the event engine (:class:`rfemu.engines.event.EventConfig`).""",
    [(EventConfig, "engine.event")], "engine.event", base=_EventKeys)


class _EngineKeys(_Section):
    kind: Literal["compiled", "event"] = "compiled"
    """compiled: everything on arrays; event: training on arrays, then the test samples run
    through the simpy emulation of the chip (time, noise, locking)."""
    hold_time: Q("s", ge=0) = 0.0
    """Time between programming the junctions and testing the chip ('1 h'): the programmed
    frequencies drift by devices.frequency_state.drift_rate x hold_time (bounded by the window)."""
    event: EventSection = Field(default_factory=EventSection)


EngineSection = derive_section(
    "EngineSection",
    """Which engine tests the trained network (training always runs on the compiled one).""",
    [(TrainingConfig, "training"), (EventConfig, "engine.event")], "engine", base=_EngineKeys)


class _InSituKeys(_Section):
    samples: Optional[int] = Field(default=None, ge=1)
    """Fine-tune on the first this-many training samples (null: all of them)."""


InSituSection = derive_section(
    "InSituSection",
    """Chip-in-the-loop fine-tuning (:mod:`rfemu.learning.in_situ`): each batch runs on the event
    engine as engine.event and medium configure it (noise included); the loss gradient at the
    chip's outputs goes back through the static model. Closes the systematic gap between the
    noisy chip and the static model (the mean of P W(f) under correlated power and frequency
    fluctuations); costs one event inference per sample and epoch. The fields of
    :class:`rfemu.learning.in_situ.InSituConfig`.""",
    [(InSituConfig, "training.in_situ")], "training.in_situ", base=_InSituKeys)


OnChipSection = derive_section(
    "OnChipSection",
    """On-chip learning with a local rule (training.rule: perturbative or feedback_alignment;
    :mod:`rfemu.learning.local`): the junctions sense locally and write their own frequency
    states (with devices.frequency_state's write physics). The fields of
    :class:`rfemu.learning.local.config.OnChipRuleConfig`.""",
    [(OnChipRuleConfig, "training.on_chip")], "training.on_chip", base=_Section)


class _TrainingKeys(_Section):
    rule: str = "backprop"
    """The training rule, by name in the registry :mod:`rfemu.learning.rules` (backprop: offline
    backpropagation through the static device models; none: test the network as fabricated)."""
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
    initial_bias: Literal["uniform", "active"] = "uniform"
    """The hidden biases of the random programmings (initial_state: uniform, restarts > 1):
    uniform: in [0, initial_bias_max]; active: in each neuron's active window [I_th, I_max] / g_m,
    on and unsaturated at zero input (a neuron off or at I_max for every input passes no gradient;
    rfemu.learning.restarts.random_state)."""
    in_situ: InSituSection = Field(default_factory=InSituSection)
    """Physics-aware fine-tuning on the emulated chip after the offline training."""
    on_chip: OnChipSection = Field(default_factory=OnChipSection)
    """On-chip learning with a local rule (training.rule: perturbative or feedback_alignment)."""


TrainingSection = derive_section(
    "TrainingSection",
    """Training (:mod:`rfemu.learning`): the rule, and the settings of offline backpropagation
    (:class:`rfemu.learning.backprop.TrainingConfig`), which trains the junctions' tuning states
    and the chains' bias voltages.""",
    [(TrainingConfig, "training")], "training", base=_TrainingKeys)


class _RecordKeys(_Section):
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
    checkpoint_interval: Optional[Q("s", ge=0)] = 60.0
    """Wall time between two checkpoints of a long run (after a training epoch or a CNN's
    training batch, an on-chip learning window or an event-engine test sample; before the event engine's test run, the
    finished training), saved
    atomically into the run folder for `rfemu run --resume DIR` (:mod:`rfemu.checkpoint`);
    0: at every epoch or window; null: none. Checkpoints do not change the results."""


RecordSection = derive_section(
    "RecordSection", """What the run folder keeps.""",
    [(TrainingConfig, "training")], "record", base=_RecordKeys)


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
    sweep: Optional[SweepSection] = None
    """Axes, sampling and repeats of ``rfemu sweep`` (``rfemu run`` ignores it)."""

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


