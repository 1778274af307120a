"""Reading a scenario: ``extends``, ``--set`` overrides, validation, checks."""
from __future__ import annotations

import copy
import difflib
import os
import re
import select
import stat
from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from rfemu.devices.limits import warn_once
from rfemu.scenario.checks import _checks, _validity_warnings
from rfemu.scenario.errors import Positions, Problem, ScenarioError, _dotted
from rfemu.scenario.schema import Scenario, _known_fields
from rfemu.scenario.yaml_marks import read_yaml

__all__ = ["load_scenario", "load_scenario_text", "apply_override"]


# --------------------------------------------------------------------------------------------
# Reading: extends, --set, validation, checks
# --------------------------------------------------------------------------------------------

def _merge(base, over, base_pos: Positions, over_pos: Positions, path: tuple):
    """Deep-merge ``over`` onto ``base`` (mappings key by key, everything else replaced)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if key in out:
                out[key] = _merge(out[key], value, base_pos, over_pos, path + (key,))
            else:
                base_pos.drop_under(path + (key,))
                _copy_positions(over_pos, base_pos, path + (key,))
                out[key] = value
        if path in over_pos.where:
            base_pos.where[path] = over_pos.where[path]
        return out
    base_pos.drop_under(path)
    _copy_positions(over_pos, base_pos, path)
    return over


def _copy_positions(src: Positions, dst: Positions, path: tuple):
    n = len(path)
    for key, value in src.where.items():
        if key[:n] == path:
            dst.where[key] = value


#: longest chain of scenarios that extend each other
MAX_EXTENDS = 32


def _read_file(path: Path, chain: tuple = ()) -> tuple[Any, Positions]:
    label = str(path)
    if path.resolve() in chain:
        raise ScenarioError([Problem(label, None, "extends", "`extends` loops back to this file")])
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError([Problem(label, None, "extends", f"a chain of more than {MAX_EXTENDS} "
                                                             "files that extend each other "
                                                             "(expected a short chain)")])
    text = _read_text(path, label)
    data, positions = read_yaml(text, label)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError([positions.problem((), "a scenario must be a mapping of sections "
                                                    "(name:, network:, task:, ...)")])
    if "extends" in data:
        base_name = data.pop("extends")
        ext_file, ext_line = positions.where.get(("extends",), (label, None))
        positions.where.pop(("extends",), None)
        if not isinstance(base_name, str) or not base_name:
            raise ScenarioError([Problem(ext_file, ext_line, "extends",
                                         "expected the file name of another scenario")])
        base_path = (path.parent / base_name)
        if not _is_file(base_path):
            raise ScenarioError([Problem(ext_file, ext_line, "extends",
                                         f"no such file {str(base_path)!r} (paths are relative to "
                                         "the scenario that extends)")])
        if base_path.resolve() in chain + (path.resolve(),):
            raise ScenarioError([Problem(ext_file, ext_line, "extends",
                                         f"{base_name!r} loops back to a file that extends it "
                                         "(expected a chain that ends in a scenario without extends)")])
        if len(chain) + 1 >= MAX_EXTENDS:
            raise ScenarioError([Problem(ext_file, ext_line, "extends",
                                         f"a chain of more than {MAX_EXTENDS} files that extend "
                                         "each other (expected a short chain)")])
        base, base_pos = _read_file(base_path, chain + (path.resolve(),))
        base_pos.default_file = label
        data = _merge(base, data, base_pos, positions, ())
        positions = base_pos
    positions.end_line = text.count("\n") + 1 - text.endswith("\n")
    return data, positions


#: largest scenario file read, bytes (a scenario is a few kB; MAX_VALUES caps it at ~1 MB anyway)
MAX_FILE_BYTES = 4 * 2 ** 20


#: s to wait for a pipe (a named FIFO, ``/dev/stdin``) to carry the scenario's next bytes
PIPE_WAIT_SECONDS = 10.0


def _read_bounded(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of the file. Opened without blocking, so that a named pipe with no
    writer cannot hang the command: a pipe that stays silent for :data:`PIPE_WAIT_SECONDS` raises
    TimeoutError."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.set_blocking(fd, True)
            with os.fdopen(fd, "rb", closefd=False) as handle:
                return handle.read(limit)
        chunks, size = [], 0
        while size < limit:
            if not select.select([fd], [], [], PIPE_WAIT_SECONDS)[0]:
                raise TimeoutError(path)
            try:
                chunk = os.read(fd, min(65536, limit - size))
            except BlockingIOError:
                continue
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_text(path: Path, label: str) -> str:
    """The file's text; a file that is not UTF-8 (a binary file, one cut inside a character)
    is one problem at the line where decoding failed, a file beyond :data:`MAX_FILE_BYTES`
    (``/dev/zero``) one problem before it is read whole."""
    try:
        raw = _read_bounded(path, MAX_FILE_BYTES + 1)
    except TimeoutError:
        raise ScenarioError([Problem(label, None, "", f"nothing to read from this pipe in "
                                                      f"{PIPE_WAIT_SECONDS:g} s (expected a scenario "
                                                      "file, or a pipe that carries one)")]) from None
    except FileNotFoundError:
        raise ScenarioError([Problem(label, None, "", "no such scenario file")]) from None
    except IsADirectoryError:
        raise ScenarioError([Problem(label, None, "", "is a folder (expected a scenario file)")]) from None
    except (OSError, ValueError) as exc:
        raise ScenarioError([Problem(label, None, "", f"cannot read the file ({exc})")]) from None
    if len(raw) > MAX_FILE_BYTES:
        line = raw.count(b"\n", 0, MAX_FILE_BYTES) + 1
        raise ScenarioError([Problem(label, line, "", f"the file goes on beyond {MAX_FILE_BYTES} bytes "
                                                      "(expected a scenario of a few kB; put large "
                                                      "arrays in a network.chip_state .npz)")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        if exc.end >= len(raw) and exc.reason == "unexpected end of data":
            what = "the file ends inside a UTF-8 character (cut short?)"
        else:
            what = f"byte 0x{raw[exc.start]:02x} at column {column} is not UTF-8 text"
        raise ScenarioError([Problem(label, line, "", f"{what} (expected a UTF-8 text file)")]) \
            from None


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False for a name the system refuses to look up (too long, NUL)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _parse_key_path(key: str) -> tuple:
    parts = []
    for part in key.split("."):
        if not part:
            raise ValueError(f"empty part in key path {key!r}")
        parts.append(int(part) if re.fullmatch(r"\d+", part) else part)
    return tuple(parts)


def apply_override(data: dict, positions: Positions, override: str) -> None:
    """Apply one ``a.b.0.c=VALUE`` override in place (VALUE is parsed as YAML).

    Raises
    ------
    ScenarioError
        If the override is malformed or its path runs through something that is not a mapping or
        a list long enough.
    """
    label = f"--set {override}"
    if "=" not in override:
        raise ScenarioError([Problem(label, None, "", "expected KEY=VALUE, e.g. "
                                                      "network.layers.0.size=64")])
    key, text = override.split("=", 1)
    try:
        path = _parse_key_path(key.strip())
    except ValueError as exc:
        raise ScenarioError([Problem(label, None, key, str(exc))]) from None
    value, _ = read_yaml(text, label) if text.strip() else (None, None)
    node = data
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(node, dict):
            if not isinstance(part, str):
                part = str(part)
            if part not in node or node[part] is None:
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            if part >= len(node):
                raise ScenarioError([Problem(label, None, _dotted(path[:i + 1]),
                                             f"index {part} is past the end of a list of "
                                             f"{len(node)}")])
            node = node[part]
        else:
            raise ScenarioError([Problem(label, None, _dotted(path[:i + 1]),
                                         "cannot go into this value (not a mapping or a list)")])
    last = path[-1]
    if isinstance(node, dict):
        node[str(last)] = value
    elif isinstance(node, list) and isinstance(last, int) and last <= len(node):
        if last == len(node):
            node.append(value)
        else:
            node[last] = value
    else:
        raise ScenarioError([Problem(label, None, _dotted(path),
                                     "cannot set this key (its parent is not a mapping or a list "
                                     "long enough)")])
    positions.drop_under(tuple(str(p) if not isinstance(p, int) else p for p in path))
    positions.where[path] = (label, None)


#: why a bound holds, by key name (for "physically impossible" messages)
_REASONS = {
    "damping": "a damping sets the half width alpha f: positive, and below 1 for a resonance "
               "narrower than its frequency",
    "linewidth": "a linewidth cannot be negative",
    "tone_linewidth": "a linewidth cannot be negative",
    "temperature": "a temperature in kelvin cannot be negative",
    "threshold_current": "the threshold current is positive",
    "max_current": "the maximum current is positive",
    "resistance": "a resistance is positive",
    "sensitivity": "a spin-diode sensitivity is positive (the sign comes from the line shape)",
    "max_power": "a tone's power is positive",
    "max_output_power": "an output power cannot be negative",
    "volume": "a volume is positive",
    "saturation_magnetisation": "a saturation magnetisation is positive",
    "oscillation_energy": "an energy scale is positive",
    "min": "a channel frequency is positive",
    "max": "a channel frequency is positive",
    "values": "a channel frequency is positive",
    "step": "a quantisation step cannot be negative",
    "write_noise": "a standard deviation cannot be negative",
    "write_latency": "a latency cannot be negative",
    "write_energy": "an energy cannot be negative",
    "tap_loss": "a loss in dB cannot be negative (that would be a gain)",
    "loss_per_tap": "a loss in dB cannot be negative (that would be a gain)",
    "loss_per_length": "a loss in dB cannot be negative (that would be a gain)",
    "line_length": "a length cannot be negative",
    "endurance": "a junction takes at least one write",
    "hold_time": "a time between programming and test cannot be negative",
    "readout_bandwidth": "a bandwidth is positive",
    "transconductance": "g_m is positive",
}


def _message(err: dict) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    if kind == "value_error":
        msg = str(ctx.get("error", err["msg"]))
        return msg
    if kind == "missing":
        return "required key is missing"
    if kind == "literal_error":
        return f"got {got!r} (expected one of {ctx.get('expected')})"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
              "less_than_equal": "<="}[kind]
        limit = ctx.get({"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt",
                         "less_than_equal": "le"}[kind])
        key = next((p for p in reversed(err["loc"]) if isinstance(p, str)), "")
        reason = _REASONS.get(key)
        why = f": {reason}" if reason else ""
        return f"{got!r} is impossible here{why} (expected a value {op} {limit})"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"got {got!r} (expected a whole number)"
    if kind in ("float_type", "float_parsing"):
        return f"got {got!r} (expected a number)"
    if kind in ("bool_type", "bool_parsing"):
        return f"got {got!r} (expected true or false)"
    if kind in ("string_type",):
        return f"got {got!r} (expected a string)"
    if kind in ("list_type",):
        return f"got {got!r} (expected a list)"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"got {got!r} (expected a mapping of keys)"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')} item(s)"
    if kind == "string_pattern_mismatch":
        return f"got {got!r} (expected letters, digits, '-', '_' or '.')"
    return f"{err['msg']} (got {got!r})"


def _validation_problems(exc: ValidationError, positions: Positions) -> list[Problem]:
    problems: list = []
    suggested: set = set()
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        # drop pydantic's union/tagged markers that are not keys
        loc = tuple(p for p in loc if p not in ("float", "int", "constrained-float"))
        if err["type"] == "extra_forbidden":
            key = loc[-1]
            choices = _known_fields(Scenario, loc[:-1])
            near = difflib.get_close_matches(str(key), choices, n=1, cutoff=0.6)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            allowed = f" (expected one of: {', '.join(choices)})" if choices else ""
            problems.append(positions.problem(loc, f"unknown key{hint}{allowed}"))
            if near:
                suggested.add(loc[:-1] + (near[0],))
        elif err["type"] == "missing" and len(loc) == 1 and positions.end_line is not None:
            # a section missing from the top: the file may be cut short; cite where it ends
            problems.append((loc, Problem(positions.default_file, positions.end_line, str(loc[0]),
                                          f"required key is missing (not given by line "
                                          f"{positions.end_line}, the end of the file)")))
        else:
            problems.append((loc, positions.problem(loc, _message(err))))
    # a missing key that an unknown key's "did you mean" already names is the same problem
    return [p for p in problems if not isinstance(p, tuple)] + [
        p for loc, p in (q for q in problems if isinstance(q, tuple))
        if not (p.message.startswith("required key is missing") and loc in suggested)]


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))      # a default inherited by many layers: once
    return sorted(unique, key=lambda p: (p.line is None, p.file, p.line or 0))


def _with_layer_defaults(data: dict) -> dict:
    """Put the devices' keys under each layer's own ``resonator:``/``oscillator:`` overrides
    (before validation, so that checks across keys see the merged values)."""
    devices = data.get("devices")
    network = data.get("network")
    if not isinstance(devices, dict) or not isinstance(network, dict):
        return data
    layers = network.get("layers")
    if not isinstance(layers, list):
        return data
    data = copy.deepcopy(data)
    for layer in data["network"]["layers"]:
        if not isinstance(layer, dict):
            continue
        for kind in ("resonator", "oscillator"):
            if isinstance(layer.get(kind), dict) and isinstance(devices.get(kind), dict):
                layer[kind] = {**devices[kind], **layer[kind]}
    return data


def _fill_layer_defaults(s: "Scenario") -> None:
    """Fill each layer's devices, tuning window and tap loss from the scenario-wide defaults."""
    fs = s.devices.frequency_state
    for layer in s.network.layers:
        if layer.resonator is None:
            layer.resonator = s.devices.resonator.model_copy()
        if layer.oscillator is None:
            layer.oscillator = s.devices.oscillator.model_copy()
        if layer.tuning_window is None:
            layer.tuning_window = [fs.window_low, fs.window_high]
        if layer.tap_loss is None:
            layer.tap_loss = s.medium.loss_per_tap


def _validate(data: Any, positions: Positions, source: Optional[str],
              scenario_dir: Optional[Path]) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError([positions.problem((), "a scenario must be a mapping of sections")])
    data = _with_layer_defaults(data)
    try:
        s = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_sorted(_validation_problems(exc, positions))) from None
    _fill_layer_defaults(s)
    problems = _checks(s, positions, scenario_dir)
    if problems:
        raise ScenarioError(_sorted(problems))
    for device, key, message in _validity_warnings(s):       # once per device and message
        file, line = positions.locate(key)
        warn_once(device, f"{_dotted(key)}: {message}", file, line or 0)
    s._source = source
    s._positions = positions
    return s


def load_scenario(path, overrides=()) -> Scenario:
    """Read, merge (``extends``), override (``--set``) and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    overrides : sequence of str
        ``KEY=VALUE`` strings, ``KEY`` a dotted path (list indices as numbers).

    Returns
    -------
    Scenario
        Every quantity in SI units.

    Raises
    ------
    ScenarioError
        With one :class:`Problem` per thing wrong, each citing file and line.
    """
    path = Path(path)
    data, positions = _read_file(path)
    problems = []
    for override in overrides or ():
        try:
            apply_override(data, positions, override)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    return _validate(data, positions, str(path), path.parent)


def load_scenario_text(text: str, overrides=(), file: str = "<scenario>",
                       base_dir=None) -> Scenario:
    """Validate a scenario given as YAML text (``extends`` is relative to ``base_dir``)."""
    data, positions = read_yaml(text, file)
    data = {} if data is None else data
    if isinstance(data, dict) and "extends" in data:
        base_dir = Path(base_dir or ".")
        tmp_name = data.pop("extends")
        base, base_pos = _read_file(base_dir / str(tmp_name))
        base_pos.default_file = file
        data = _merge(base, data, base_pos, positions, ())
        positions = base_pos
    for override in overrides or ():
        apply_override(data, positions, override)
    return _validate(data, positions, None, Path(base_dir) if base_dir else None)


