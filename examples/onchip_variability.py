"""Frequencies trained offline, transferred to a chip with 5 % device-to-device spread, then
learned on chip: the three runs of ``scenarios/onchip_variability.yaml`` and their figure.

1. spread-free: the offline-trained chip state (``scenarios/onchip_digits_offline.npz``: the
   resonance frequencies and biases offline backpropagation found on the spread-free chip) on
   the spread-free chip, nothing trained (``training.rule=none``);
2. transferred: the same frequencies written into the chip whose junctions' sensitivities and
   dampings spread by 5 % (``variability``), nothing trained;
3. on chip: that chip learns by itself from there (``training.rule: feedback_alignment``).

The figure (``--figure``) shows the three test accuracies and the on-chip learning curve (accuracy
on the training samples against simulated time). ``--retrain`` first trains the offline state
again (backpropagation on the spread-free chip, ``training.rule=backprop``) and uses it instead of
the stored one. The last line printed is one JSON object of the measured figures.

    python examples/onchip_variability.py [--figure onchip_variability.png] [--retrain]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from rfemu.api import run

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "onchip_variability.yaml"
SPREAD_FREE = ("variability.sensitivity=0", "variability.damping=0")


def _run(*overrides):
    return run(SCENARIO, write=False, progress=False, overrides=list(overrides))


def offline_state(folder: Path) -> Path:
    """Train offline on the spread-free chip; its resonance frequencies and biases as an .npz."""
    result = _run(*SPREAD_FREE, "network.chip_state=null", "training.rule=backprop")
    net = result.graph
    from rfemu.network import compile_graph
    compiled = compile_graph(net)
    path = folder / "offline.npz"
    np.savez(path, **{f"layer{l}_resonance_frequency": layer.resonance_frequency for l, layer in
                      enumerate(compiled.layers)},
             **{f"layer{l}_bias_voltage": layer.bias_voltage for l, layer in enumerate(compiled.layers)})
    return path


def measure(state=None) -> dict:
    """Test accuracies of the three runs and the on-chip curve."""
    chip = () if state is None else (f"network.chip_state={state}",)
    free = _run(*SPREAD_FREE, *chip, "training.rule=none")
    transferred = _run(*chip, "training.rule=none")
    on_chip = _run(*chip)
    m = on_chip.metrics
    return {"spread_free": free.metrics["test_accuracy"], "transferred": transferred.metrics["test_accuracy"],
            "on_chip": m["test_accuracy"], "on_chip_writes": m["on_chip_writes"],
            "on_chip_simulated_time_s": m["on_chip_simulated_time_s"], "curve": m["on_chip_curve"]}


def figure(out: dict, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1, 1.6]})
    names = ("spread-free\n(offline)", "transferred to\n5 % spread", "after on-chip\nlearning")
    values = [100 * out[k] for k in ("spread_free", "transferred", "on_chip")]
    left.bar(names, values, color=("tab:gray", "tab:red", "tab:green"))
    for x, v in enumerate(values):
        left.text(x, v + 0.3, f"{v:.1f} %", ha="center")
    left.set_ylim(min(values) - 5, 100)
    left.set_ylabel("test accuracy (%)")
    c = out["curve"]
    right.plot(np.asarray(c["time_s"]) * 1e3, 100 * np.asarray(c["accuracy"]), marker=".", color="tab:green",
               label="on chip (training samples)")
    right.axhline(values[0], color="tab:gray", ls="--", label="spread-free offline (test)")
    right.set_xlabel("simulated time (ms)")
    right.set_ylabel("accuracy (%)")
    right.legend(loc="lower right")
    fig.suptitle("digits chip, 5 % spread of junction sensitivity and damping: feedback alignment on chip")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figure", default="onchip_variability.png")
    parser.add_argument("--retrain", action="store_true")
    args = parser.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = measure(offline_state(Path(tmp)) if args.retrain else None)
    figure(out, args.figure)
    out["wall_s"] = time.perf_counter() - t0
    print(json.dumps({k: v for k, v in out.items() if k != "curve"}))


if __name__ == "__main__":
    main()
