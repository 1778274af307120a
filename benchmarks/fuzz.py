"""Hostile scenarios against ``rfemu validate`` and ``rfemu run`` (issue 12, item 5).

Each case is a known-good scenario with one hostile change: a wrong type, a wrong unit, a
non-finite or extreme number, an unknown key, deep nesting, an alias bomb, an odd byte, a path
that leaves the run folder, an ``extends`` that goes nowhere, a ``--set`` override. The change
decides what the command must do:

* ``fail``: the input is wrong; exit 2 with problem lines ``FILE:LINE: key.path: message``;
* ``pass``: the input means the same as the good scenario (a quantity rewritten in plain SI or
  another prefix); it must validate;
* ``either``: the input may be legal (an extreme but finite number): it validates, or fails
  cleanly; when it validates and comes from the small xor base, ``rfemu run`` must finish
  within the budget with finite figures, or fail cleanly.

Every case runs ``rfemu.cli.main`` in a forked child (the parent imported rfemu once), in its own
folder; the parent kills a child that overruns the time budget (a hang). Writes are watched by an
audit hook in the child (Python-level opens, mkdir, rename, remove) and by listing the folders
around the fuzz folder before and after (C-level writes). Prints one JSON line at the end::

    {"cases", "tracebacks", "hangs", "wrong_successes", "wrong_refusals", "outside_writes",
     "unclean_messages", "runs", ...}

Usage::

    python benchmarks/fuzz.py [--cases 10000] [--runs 60] [--seed 0] [--quick]
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import re
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

#: a small scenario whose run takes about two seconds (compiled engine, two epochs)
FAST = """\
name: fast
seed: 3
network:
  inputs:
    frequency_plan: {kind: linear, min: 20 MHz, max: 120 MHz}
    max_power: 1 uW
    linewidth: 2 MHz
  layers:
    - size: 2
      resonance_plan: {kind: linear, min: 20 MHz, max: 120 MHz}
      bias_voltage: 11 mV
      transconductance: 3.388 uA/mV
    - size: 2
task:
  dataset: xor
  n_train: 40
engine:
  kind: compiled
  n_threads: 1
training:
  rule: backprop
  epochs: 2
  batch_size: 4
record:
  figures: false
"""

#: base units -> dimension, for unit swaps and plain-SI rewrites
UNITS = {"Hz": "frequency", "A": "current", "V": "voltage", "W": "power", "K": "temperature",
         "s": "time", "J": "energy", "m": "length", "Ohm": "resistance"}
PREFIXES = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12,
            "f": 1e-15}
QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]+)\s*$")

#: seconds a case may take: validation alone, and a whole run of the small base
VALIDATE_BUDGET_S = 20.0
RUN_BUDGET_S = 180.0


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------

@dataclass
class Case:
    """One hostile input: the files to write, the command, and what the command must do."""

    kind: str
    expect: str                      # "fail", "pass" or "either"
    text: str | bytes
    overrides: list = field(default_factory=list)
    extra_files: dict = field(default_factory=dict)     # name -> text, beside the scenario
    runnable: bool = False           # from the small base: worth a run when it validates
    note: str = ""


def _simple_unit(unit: str):
    """(scale, base unit) for a prefixed base unit such as ``MHz``, else None."""
    for base in sorted(UNITS, key=len, reverse=True):
        if unit.endswith(base) and unit[:-len(base)] in PREFIXES:
            return PREFIXES[unit[:-len(base)]], base
    return None


def _leaves(node, path=()):
    """Every (path, scalar) of a parsed scenario."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))
    else:
        yield path, node


def _mappings(node, path=()):
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _mappings(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _mappings(v, path + (i,))


def _set(data, path, value):
    node = data
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_PARSED: dict = {}


def _parsed(text: str):
    """A fresh copy of a base scenario's data (parsed once)."""
    if text not in _PARSED:
        _PARSED[text] = yaml.load(text, Loader=_LOADER)
    return copy.deepcopy(_PARSED[text])


def _dump(data) -> str:
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, default_flow_style=False,
                     allow_unicode=True)


def _numeric_leaves(data):
    """Leaves holding a number or a quantity string (never a bool)."""
    out = []
    for path, v in _leaves(data):
        if isinstance(v, bool):
            continue
        if "labels" in path:
            continue                       # a sweep's labels are names, not numbers
        if isinstance(v, (int, float)) or (isinstance(v, str) and QUANTITY.match(v)):
            out.append((path, v))
    return out


def _unit_of(value):
    m = QUANTITY.match(value) if isinstance(value, str) else None
    return (float(m.group(1)), m.group(2)) if m else (None, None)


def _known_fields(path):
    from rfemu.scenario.schema import Scenario, _known_fields
    try:
        return _known_fields(Scenario, tuple(p for p in path if isinstance(p, str)))
    except Exception:
        return []


HOSTILE_STRINGS = ["abc", "11 mV!!", "", " ", "MHz", "1,5 MHz", "0x10", "1e", "--1", "1 2 3",
                   "ten", "1/0", "NaN Hz", "∞", "\u202e12 MHz", "12 МГц", "yes", "null MHz"]
NONFINITE = [".inf", "-.inf", ".nan", ".NaN", "1e400", "-1e400", "1e999 Hz", "inf MHz",
             "nan mV", "Infinity", "1e309 uW", "-inf K"]
EXTREME = [0, -0.0, -1, 1, 1e-300, 5e-324, 1e300, 1.7976931348623157e308, 10 ** 30, -10 ** 30,
           2 ** 63, 1e-6, 123456789, 1e-18, 1e18, 0.5, 7]


#: a placeholder for a scalar written into the YAML text exactly as given
RAW = "__RAW__"


def _mutate_value(rng, data, kind):
    """A mutation of one numeric leaf (in place): (expect, note, raw text or None), or None
    when no leaf fits."""
    leaves = _numeric_leaves(data)
    if not leaves:
        return None
    path, old = rng.choice(leaves)
    number, unit = _unit_of(old)
    if kind == "type":
        bad = rng.choice([rng.choice(HOSTILE_STRINGS), True, False, [1, 2], {"a": 1}, ["1 MHz"],
                          {"value": 1}])
        _set(data, path, bad)
        return "fail", f"{path}={bad!r}", None
    if kind == "nonfinite":
        bad = rng.choice(NONFINITE)
        _set(data, path, RAW)              # written as it is: .inf is a YAML float
        return "fail", f"{path}={bad}", bad
    if kind == "unit":
        su = _simple_unit(unit) if unit else None
        if su is None:
            return None
        other = rng.choice([u for u in UNITS if UNITS[u] != UNITS[su[1]]])
        bad = f"{number:g} {rng.choice(['', 'k', 'm', 'M'])}{other}"
        _set(data, path, bad)
        return "fail", f"{path}={bad}", None
    if kind == "equivalent":
        su = _simple_unit(unit) if unit else None
        if su is None:
            return None
        si = number * su[0]
        styles = [repr(si), f"{si:e}", f"{si:E}", f"{si:.17g}"]
        if su[1] != "K":
            styles += [f"{number} {unit}", f"{si!r} {su[1]}"]
        new = rng.choice(styles)
        _set(data, path, RAW)              # unquoted: YAML 1.1 reads 1e-6 as a string
        return "pass", f"{path}={new}", new
    if kind == "extreme":
        v = rng.choice(EXTREME)
        if unit and rng.random() < 0.5:
            v = f"{v!r} {unit}" if isinstance(v, float) else f"{v} {unit}"
        _set(data, path, v)
        return "either", f"{path}={v!r}", None
    raise ValueError(kind)


def _typo(rng, key: str) -> str:
    if len(key) < 3:
        return key + "x"
    i = rng.randrange(len(key) - 1)
    return rng.choice([key[:i] + key[i + 1] + key[i] + key[i + 2:], key[:i] + key[i + 1:],
                       key + "s", key.upper(), key.replace("_", "-"), "_" + key])


def _unknown_key(rng, data):
    path, mapping = rng.choice([m for m in _mappings(data)])
    known = set(_known_fields(path)) | set(mapping)
    if path and not _known_fields(path):
        return None                  # not a section of the schema (a plan, a free mapping)
    for _ in range(10):
        key = _typo(rng, rng.choice(list(mapping) or ["name"])) if rng.random() < 0.7 else \
            rng.choice(["zz", "extra", "ÿ", "1", "__class__", "null_", "seed2", "<<x"])
        if key not in known:
            mapping[key] = rng.choice([1, "1 MHz", {"a": 1}, [1], None])
            return "fail", f"{path}.{key}"
    return None


def _deep(rng, base_text):
    depth = rng.choice([51, 60, 200, 51, 60, 200, 1000, 5000, 20000])
    style = rng.choice(["flow_list", "flow_map", "block"])
    if style == "flow_list":
        blob = "[" * depth + "1" + "]" * depth
    elif style == "flow_map":
        blob = "{a: " * depth + "1" + "}" * depth
    else:
        depth = min(depth, 400)
        blob = "\n" + "".join("  " * (i + 1) + "k:\n" for i in range(depth)) + \
            "  " * (depth + 1) + "k: 1"
    key = rng.choice(["extra", "network", "task", "training", "record"])
    text = re.sub(rf"(?m)^{key}:.*(\n[ ].*)*\n?", "", base_text)
    return "fail", text + f"{key}: {blob}\n", f"depth {depth} {style} under {key}"


def _alias_bomb(rng, base_text):
    width = rng.choice([5, 9, 10])
    levels = rng.choice([6, 8, 9])
    lines = [f"bomb0: &a0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"bomb{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    if rng.random() < 0.5:    # an alias bomb inside a real key, not only extra keys
        lines.append(f"name: *a{levels - 1}")
        base_text = re.sub(r"(?m)^name:.*\n", "", base_text)
    return "fail", base_text + "\n".join(lines) + "\n", f"{width}^{levels}"


ODD = ["\x00", "\x01", "\x07", "\x0b", "\x0c", "\x1b", "\x7f", "\ufffe", "\ud800"]


def _odd_bytes(rng, base_text):
    pos = rng.randrange(len(base_text))
    if rng.random() < 0.3:
        raw = base_text.encode()
        bad = rng.choice([b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"])
        return "fail", raw[:pos] + bad + raw[pos:], f"invalid utf-8 {bad!r} at {pos}"
    ch = rng.choice(ODD)
    data = (base_text[:pos] + ch + base_text[pos:]).encode("utf-8", "surrogatepass")
    return "fail", data, f"{ch!r} at {pos}"


def _bytes(rng, base_text):
    """Files that are not whole UTF-8 text: cut anywhere, cut inside a character, another
    encoding, endless."""
    raw = base_text.encode()
    choice = rng.randrange(4)
    if choice == 0:
        pos = rng.randrange(len(raw))
        return "either", raw[:pos], f"cut at byte {pos}"
    starts = [0] + [i + 1 for i, b in enumerate(raw) if b == 0x0A]
    pos = rng.choice(starts)
    if choice == 1:
        ch = rng.choice(["é", "€", "😀"]).encode()
        return "fail", raw[:pos] + b"# " + ch[:rng.randrange(1, len(ch))], f"cut inside a character at {pos}"
    if choice == 2:
        return "fail", raw[:pos] + "# café, 5 µW\n".encode("latin-1") + raw[pos:], f"latin-1 line at {pos}"
    return "fail", raw + b"# " + b"a" * (5 * 2 ** 20), "endless file (5 MiB)"


def _memory(rng, data):
    """Sizes that ask for more memory than a machine has (refused before allocating)."""
    choice = rng.randrange(3)
    layers = data.get("network", {}).get("layers", [])
    if choice == 0 and layers:
        k = rng.randrange(len(layers))
        layers[k]["size"] = 10 ** rng.randint(9, 15)
        return "fail", f"network.layers.{k}.size = {layers[k]['size']:.0e}"
    if choice == 1 and "n_train" in data.get("task", {}):
        data["task"]["n_train"] = 10 ** rng.randint(11, 15)
        return "fail", f"task.n_train = {data['task']['n_train']:.0e}"
    data.setdefault("record", {})["samples"] = 10 ** rng.randint(12, 16)
    return "fail", f"record.samples = {data['record']['samples']:.0e}"


def _paths(rng, data):
    """Keys naming files: outside the run folder, missing, special."""
    choice = rng.randrange(4)
    record = data.setdefault("record", {})
    if choice == 0:
        v = rng.choice(["../out", "../../x", "/tmp/rfemu-fuzz-outside", "a/../../b", "/etc",
                        "figures/../..", "..", "/", "//x"])
        record[rng.choice(["figures_dir", "trace_file"])] = v
        return "fail", f"record path {v}"
    if choice == 1:
        v = rng.choice(["metrics.json", "scenario.yaml", "provenance.json", "chip_state.nc",
                        "../trace.nc", "/dev/null", "/tmp/trace.nc"])
        record["trace_file"] = v
        return "fail", f"trace_file {v}"
    if choice == 2:
        v = rng.choice(["a" * 300, "x/" * 200 + "f", "", ".", "nul\x00.nc", "con:", "\n", "~/x",
                        "$HOME/x", "a b/c"])
        record[rng.choice(["figures_dir", "trace_file"])] = v
        return "either", f"record long/odd {v[:20]!r}"
    v = rng.choice(["no/such/file.h5", "a" * 5000, "/dev/zero", "/", ".",
                    "../../../../etc/passwd"])
    data["task"] = {"dataset": "drone", "path": v}
    data["network"]["layers"][-1]["size"] = 10
    # a missing file fails validation; one that exists is read (and refused) by the run
    return ("fail" if v in ("no/such/file.h5", "a" * 5000) else "either"), f"task.path {v[:20]}"


def _extends(rng, base_text):
    choice = rng.randrange(5)
    if choice == 0:
        return "fail", f"extends: no_such.yaml\n{base_text}", {}, "missing base"
    if choice == 1:
        return "fail", f"extends: case.yaml\n{base_text}", {}, "extends itself"
    if choice == 2:
        return "fail", f"extends: b.yaml\n{base_text}", {"b.yaml": "extends: case.yaml\n"}, \
            "loop of two"
    if choice == 3:
        target = rng.choice(["/dev/zero", "/", ".", "/etc/hostname", "../../../../../../etc/passwd",
                             "a" * 4000, 12, [1], "", None])
        return "fail", _dump({"extends": target}) + base_text, {}, f"extends {target!r}"[:60]
    n = rng.choice([40, 100, 1200])
    files = {f"b{i}.yaml": f"extends: b{i + 1}.yaml\n" for i in range(n)}
    files[f"b{n}.yaml"] = base_text
    return "fail", "extends: b0.yaml\n", files, f"extends chain of {n}"


def _root(rng):
    text = rng.choice(["- 1\n- 2\n", "42\n", "'a string'\n", "[]\n", "!!binary aGk=\n",
                       "--- 1\n--- 2\n", "name: a\n---\nname: b\n", "? [a, b]\n: 1\n",
                       "{1: 2}\n", "null: 1\n", "!!set {a, b}\n", "<<: {name: x}\n",
                       "name: !!python/object/apply:os.system ['touch pwned']\n",
                       "name: !!python/name:os.system\n", "%TAG ! tag:x\n--- !a 1\n"])
    return "fail", text, text.strip()[:30]


def _syntax(rng, base_text):
    pos = rng.randrange(len(base_text))
    kind = rng.randrange(4)
    if kind == 0:
        return "either", base_text[:pos], f"cut at {pos}"
    if kind == 1:
        return "either", base_text[:pos] + rng.choice(["[", "{", ":", "'", '"', "&", "*x", "\t",
                                                       "- ", "? ", "|", ">", "%"]) + \
            base_text[pos:], f"insert at {pos}"
    if kind == 2:
        return "either", base_text.replace("  ", "\t", 1), "tab indent"
    return "either", base_text.replace("\n", "\r\n") if rng.random() < 0.5 else \
        "\ufeff" + base_text, "line ends / BOM"


def _override(rng, data):
    leaves = [p for p, _ in _leaves(data)]
    path = list(rng.choice(leaves))
    key = ".".join(str(p) for p in path)
    value = rng.choice(NONFINITE + HOSTILE_STRINGS + ["[1, 2]", "{a: 1}", "&a [*a]", "1e-6",
                                                      "\x00", "99999999999999999999", "-1"])
    form = rng.randrange(6)
    if form == 0:
        return "either", [f"{key}={value}"], key
    if form == 1:
        return "fail", [key], "no ="
    if form == 2:
        return "either", [f"{key}.deeper={value}"], "into a scalar"
    if form == 3:
        return "fail", [f"network.layers.99.size=3"], "index past the end"
    if form == 4:
        return "fail", [f"..={value}"], "empty key path"
    return "either", [f"{key}="], "empty value"


KINDS = ["type", "nonfinite", "unit", "equivalent", "extreme", "unknown_key", "deep",
         "alias_bomb", "odd_bytes", "paths", "extends", "root", "syntax", "override", "bytes",
         "memory"]
#: relative frequency of each kind (the slow ones, seconds each, rarer)
WEIGHTS = {"deep": 0.15, "alias_bomb": 0.15}


def make_case(rng: random.Random, bases: list, kind: str | None = None) -> Case:
    """One hostile case from a random good base (``bases``: list of (name, text, runnable))."""
    while True:
        kind_now = kind or rng.choices(KINDS, [WEIGHTS.get(k, 1.0) for k in KINDS])[0]
        name, text, runnable = rng.choice(bases)
        data = _parsed(text)
        if kind_now in ("type", "nonfinite", "unit", "equivalent", "extreme"):
            out = _mutate_value(rng, data, kind_now)
            if out is None:
                continue
            dumped = _dump(data)
            if out[2] is not None:
                dumped = dumped.replace(RAW, out[2], 1)
            return Case(kind_now, out[0], dumped, runnable=runnable, note=f"{name}: {out[1]}")
        if kind_now == "unknown_key":
            out = _unknown_key(rng, data)
            if out is None:
                continue
            return Case(kind_now, out[0], _dump(data), note=f"{name}: {out[1]}")
        if kind_now == "memory":
            expect, note = _memory(rng, data)
            return Case(kind_now, expect, _dump(data), note=f"{name}: {note}")
        if kind_now == "paths":
            expect, note = _paths(rng, data)
            return Case(kind_now, expect, _dump(data), runnable=runnable and expect == "either",
                        note=f"{name}: {note}")
        if kind_now == "override":
            expect, overrides, note = _override(rng, data)
            return Case(kind_now, expect, text, overrides=overrides, runnable=runnable,
                        note=f"{name}: {note}")
        if kind_now == "extends":
            expect, t, files, note = _extends(rng, text)
            return Case(kind_now, expect, t, extra_files=files, note=f"{name}: {note}")
        if kind_now == "root":
            expect, t, note = _root(rng)
            return Case(kind_now, expect, t, note=note)
        maker = {"deep": _deep, "alias_bomb": _alias_bomb, "odd_bytes": _odd_bytes,
                 "syntax": _syntax, "bytes": _bytes}[kind_now]
        expect, t, note = maker(rng, text)
        return Case(kind_now, expect, t, runnable=runnable and kind_now == "syntax",
                    note=f"{name}: {note}")


def good_bases() -> list:
    """(name, text, runnable): the small xor base and every example scenario that validates."""
    from rfemu.scenario import ScenarioError, load_scenario_text
    bases = [("fast", FAST, True)]
    with tempfile.TemporaryDirectory() as alone:    # a base must stand alone in a new folder
        for path in sorted((ROOT / "scenarios").glob("*.yaml")):
            text = path.read_text()
            try:
                load_scenario_text(text, base_dir=alone)
            except ScenarioError:
                continue           # needs a data set absent here, or a file beside it
            bases.append((path.stem, text, False))
    return bases


# --------------------------------------------------------------------------------------------
# Judging one outcome
# --------------------------------------------------------------------------------------------

def problem_line_ok(line: str, case_file: str | None = None) -> bool:
    """``FILE:LINE: key.path: message`` (or ``FILE: key: message`` when no line applies; FILE
    may be a ``--set`` override); a problem in ``case_file`` itself must give its line."""
    m = re.match(r"^(?P<file>.+?)(?::(?P<line>\d+))?: (?P<key>[^:\s][^:]*|\(top level\)): "
                 r"(?P<msg>\S.*)$", line)
    if m is not None and case_file is not None and m["file"] == case_file and m["line"] is None:
        return False
    return m is not None


def finite_metrics(run_dir: Path) -> bool:
    """metrics.json holds no NaN, infinity or null where a figure belongs."""
    bad = []

    def constant(name):
        bad.append(name)
        return 0.0
    metrics = json.loads((run_dir / "metrics.json").read_text(), parse_constant=constant)
    nulls = [k for k, v in _leaves(metrics) if v is None and k and isinstance(k[-1], str)
             and re.search(r"(_J|_s|accuracy|latency|energy)$", k[-1])]
    return not bad and not nulls


def judge(case: Case, rc, out: str, err: str, budget: float, writes: list,
          run_dir: Path | None = None, case_file: str | None = None) -> dict:
    """The classes this outcome falls in (empty dict: clean); ``case_file``: the scenario's
    path, whose own problems must cite a line."""
    found = {}
    if rc is None:
        found["hangs"] = f"over {budget:.0f} s"
        return found
    if "Traceback" in err or "Traceback" in out or rc not in (0, 2):
        found["tracebacks"] = "\n".join((err or out).splitlines()[-3:])[-600:]
    if writes:
        found["outside_writes"] = writes[:5]
    if rc == 0 and case.expect == "fail":
        found["wrong_successes"] = out[-300:]
    if rc == 2 and case.expect == "pass":
        found["wrong_refusals"] = err[-500:]
    if rc == 2:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        if not lines or not all(problem_line_ok(ln, case_file) for ln in lines):
            found["unclean_messages"] = err[-500:]
    if rc == 0 and run_dir is not None:
        if not (run_dir / "metrics.json").is_file() or not finite_metrics(run_dir):
            found["wrong_successes"] = "run ended 0 with non-finite or missing metrics"
    return found


# --------------------------------------------------------------------------------------------
# Running one case in a forked child
# --------------------------------------------------------------------------------------------

_WATCH = {"allowed": (), "writes": None}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _inside(path, allowed) -> bool:
    try:
        p = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return True
    return p in ("/dev/null", "/dev/tty") or any(p == a or p.startswith(a + os.sep)
                                               for a in allowed)


def _audit(event, args):
    writes = _WATCH["writes"]
    if writes is None:
        return
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int) or path is None:
            return
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
            (isinstance(flags, int) and flags & _WRITE_FLAGS)
        targets = [path] if writing else []
    elif event in ("os.mkdir", "os.remove", "os.rmdir", "os.truncate", "shutil.rmtree",
                   "os.chmod", "os.utime"):
        targets = [args[0]]
    elif event in ("os.rename", "os.replace", "os.link", "os.symlink", "shutil.move",
                   "shutil.copyfile", "shutil.copytree"):
        targets = [args[0], args[1]] if event in ("os.rename", "os.replace", "shutil.move") \
            else [args[1]]
    else:
        return
    for t in targets:
        if not isinstance(t, int) and not _inside(t, _WATCH["allowed"]):
            writes.append(f"{event} {os.fsdecode(t) if not isinstance(t, str) else t}")


def watch_writes(allowed) -> list:
    """Start recording writes outside ``allowed`` folders (the audit hook is added once)."""
    if not _WATCH.get("hooked"):
        sys.addaudithook(_audit)
        _WATCH["hooked"] = True
    _WATCH["allowed"] = tuple(os.path.realpath(a) for a in allowed)
    _WATCH["writes"] = []
    return _WATCH["writes"]


def stop_watching() -> list:
    writes, _WATCH["writes"] = _WATCH["writes"], None
    return writes or []


def write_case(case: Case, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "case.yaml"
    path.write_bytes(case.text if isinstance(case.text, bytes)
                     else case.text.encode("utf-8", "surrogatepass"))
    for name, text in case.extra_files.items():
        (folder / name).write_text(text)
    return path


def argv_for(case: Case, path: Path, command: str, folder: Path) -> list:
    argv = [command, str(path)]
    for o in case.overrides:
        argv += ["--set", o]
    if command == "run":
        argv += ["--out", str(folder / "run"), "-q"]
    return argv


def _child(argv, folder: Path, result_file: Path):
    out_fd = os.open(folder / "stdout.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    err_fd = os.open(folder / "stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    os.chdir(folder)
    tempfile.tempdir = str(folder)
    from rfemu.cli import main
    watch_writes([folder] + ([os.environ["MPLCONFIGDIR"]] if "MPLCONFIGDIR" in os.environ
                             else []))
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        rc = 1
    writes = stop_watching()
    sys.stdout.flush()
    sys.stderr.flush()
    result_file.write_text(json.dumps({"rc": rc, "writes": writes}))
    os._exit(0)


def run_forked(argv, folder: Path, budget: float):
    """(rc or None on a hang, stdout, stderr, writes, elapsed s) of ``main(argv)`` in a child."""
    result_file = folder / "result.json"
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            _child(argv, folder, result_file)
        finally:
            os._exit(3)
    while True:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() - t0 > budget:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None, "", "", [], time.perf_counter() - t0
        time.sleep(0.002)
    elapsed = time.perf_counter() - t0
    out = (folder / "stdout.txt").read_text(errors="replace")
    err = (folder / "stderr.txt").read_text(errors="replace")
    if not result_file.is_file():
        return 1, out, err + "\nTraceback: the child died", [], elapsed
    res = json.loads(result_file.read_text())
    return res["rc"], out, err, res["writes"], elapsed


class _Hang(BaseException):
    """The time budget of an in-process case ran out."""


def _alarm(signum, frame):
    raise _Hang()


def run_inprocess(argv, folder: Path, budget: float):
    """(rc or None on a hang, stdout, stderr, writes, elapsed s) of ``main(argv)`` run here,
    interrupted by SIGALRM after ``budget`` seconds."""
    import contextlib
    import io

    from rfemu.cli import main
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    old = signal.signal(signal.SIGALRM, _alarm)
    t0 = time.perf_counter()
    rc = None
    try:
        os.chdir(folder)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            watch_writes([folder] + ([os.environ["MPLCONFIGDIR"]]
                                     if "MPLCONFIGDIR" in os.environ else []))
            signal.setitimer(signal.ITIMER_REAL, budget)
            try:
                rc = main(argv)
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 1
            except _Hang:
                rc = None
            except Exception:
                traceback.print_exc()
                rc = 1
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        writes = stop_watching()
        signal.signal(signal.SIGALRM, old)
        os.chdir(cwd)
    return rc, out.getvalue(), err.getvalue(), writes, time.perf_counter() - t0


def _listing(folders) -> set:
    seen = set()
    for d in folders:
        try:
            with os.scandir(d) as it:
                for e in it:
                    try:
                        seen.add((e.path, e.stat(follow_symlinks=False).st_mtime_ns))
                    except OSError:
                        pass
        except OSError:
            pass
    return seen


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------

COUNTS = ("tracebacks", "hangs", "wrong_successes", "wrong_refusals", "outside_writes",
          "unclean_messages")


def fuzz(n_cases: int, n_runs: int, seed: int, workdir: Path, verbose: bool = False) -> dict:
    """Run ``n_cases`` hostile validations and up to ``n_runs`` runs; the counts per class."""
    import shutil

    import rfemu.api  # noqa: F401  (imported once in the parent: the children fork warm)
    import rfemu.cli  # noqa: F401
    rng = random.Random(seed)
    bases = good_bases()
    counts = dict.fromkeys(COUNTS, 0)
    examples = {k: [] for k in COUNTS}
    by_kind: dict = {}
    runs = validated = 0
    private = [workdir.parent, workdir]          # every change counts
    shared = [ROOT, ROOT / "scenarios", Path.home(), Path.cwd()]   # others work here too:
    # only names that appear and contain the case's own marks count
    t_start = time.perf_counter()
    for i in range(n_cases):
        case = make_case(rng, bases)
        folder = workdir / f"c{i % 4}"
        shutil.rmtree(folder, ignore_errors=True)
        path = write_case(case, folder)
        commands = [("validate", VALIDATE_BUDGET_S)]
        t_case = time.perf_counter()
        before = _listing(private)
        before_names = {p for p, _ in _listing(shared)}
        for command, budget in commands:
            runner = run_forked if budget == RUN_BUDGET_S else run_inprocess
            rc, out, err, writes, _ = runner(argv_for(case, path, command, folder), folder,
                                             budget)
            if command == "validate" and rc == 0:
                validated += 1
                if case.runnable and runs < n_runs and case.expect != "fail":
                    commands.append(("run", RUN_BUDGET_S))      # the whole run, forked
                    runs += 1
            elif command == "validate" and rc == 2 and i % 10 == 0:
                commands.append(("run", VALIDATE_BUDGET_S))     # refused before any work
            run_dir = folder / "run" if command == "run" else None
            found = judge(case, rc, out, err, budget, writes, run_dir, case_file=str(path))
            if command == "run" and rc == 2 and (folder / "run").exists() and \
                    budget == VALIDATE_BUDGET_S:
                found["outside_writes"] = ["a refused run left its folder behind"]
            for k, v in found.items():
                counts[k] += 1
                if len(examples[k]) < 5:
                    examples[k].append({"kind": case.kind, "note": case.note, "command": command,
                                        "text": (case.text if isinstance(case.text, str)
                                                 else repr(case.text))[:400], "detail": v})
            by_kind.setdefault(case.kind, [0, 0, 0.0])
            by_kind[case.kind][0] += 1
            by_kind[case.kind][1] += bool(found)
        by_kind[case.kind][2] += time.perf_counter() - t_case
        new = {p for p, _ in _listing(private) - before
               if not p.startswith((str(folder), os.environ.get("MPLCONFIGDIR", "//")))}
        new |= {p for p, _ in _listing(shared) if p not in before_names and
                re.search(r"outside|trace|figures|run|metrics|/x$|/b$|/out$", p)}
        if new:
            counts["outside_writes"] += 1
            if len(examples["outside_writes"]) < 5:
                examples["outside_writes"].append({"kind": case.kind, "note": case.note,
                                                   "detail": sorted(new)[:5]})
        if verbose and (i + 1) % 500 == 0:
            print(f"{i + 1} cases, {time.perf_counter() - t_start:.0f} s, {counts}",
                  file=sys.stderr, flush=True)
    return {"cases": n_cases, **counts, "runs": runs, "validated": validated,
            "seconds": round(time.perf_counter() - t_start, 1),
            "problems_by_kind": {k: v[1] for k, v in sorted(by_kind.items()) if v[1]},
            "seconds_by_kind": {k: round(v[2], 1) for k, v in sorted(by_kind.items())},
            "examples": {k: v for k, v in examples.items() if v}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=40,
                        help="most runs of validated cases from the small base (~2 s each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="120 cases and 1 run")
    parser.add_argument("--examples", metavar="FILE", default=None,
                        help="write the first examples of each problem class to FILE (JSON)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.runs = 120, 1
    os.environ.setdefault("RFEMU_DATA", "/work/shared/datasets")
    with tempfile.TemporaryDirectory(prefix="rfemu-fuzz-") as tmp:
        workdir = Path(tmp) / "cases"
        workdir.mkdir()
        os.environ["MPLCONFIGDIR"] = str(Path(tmp) / "mpl")
        result = fuzz(args.cases, args.runs, args.seed, workdir, args.verbose)
    examples = result.pop("examples")
    if args.examples:
        Path(args.examples).write_text(json.dumps(examples, indent=1, default=str))
    elif any(result[k] for k in COUNTS):
        print(json.dumps(examples, default=str)[:6000], file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
