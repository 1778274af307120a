"""Where the energy of an inference goes, and what amplifier efficiency reaches 10 fJ per synapse.

    rfemu sweep scenarios/energy_scaling.yaml --workers 2
    python examples/energy_breakdown.py [SWEEP_DIR] [--out FIGURE.png] [--diameter 20]

Reads the sweep folder of ``scenarios/energy_scaling.yaml`` (default ``sweeps/energy_scaling``)
and, at one device diameter, draws (left) the energy of an inference split by device kind
(oscillators' Joule drive, junctions' absorption, amplifiers restoring it) for each hidden size
and amplifier efficiency, and (right) the energy per synaptic operation against the amplifier
efficiency next to the seed's 10 fJ.

The synapse share is (junction + amplifier) / junctions (docs/physics.md#energy) with amplifier =
junction / efficiency, so per synapse = a (1 + 1 / eta), a = the energy one junction absorbs over
an inference. 10 fJ needs eta >= a / (10 fJ - a): some efficiency <= 1 reaches it only when
a <= 5 fJ; the script prints eta for each size, or by how much a must fall (shorter latency or
less absorbed power) when no efficiency can.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rfemu.study.energy import SEED_SYNAPSE_ENERGY

KINDS = (("energy.oscillator_J", "oscillators (R I^2)"), ("energy.junction_J", "junctions (absorbed)"),
         ("energy.amplifier_J", "amplifiers (restoring it)"))


def needed_efficiency(absorbed_per_junction, target=SEED_SYNAPSE_ENERGY):
    """Smallest amplifier efficiency giving ``target`` J per synapse, or inf when none can."""
    a = float(absorbed_per_junction)
    return a / (target - a) if a < target else float("inf")


def rows(ds, diameter):
    """[(hidden, efficiency, {kind: J}, per synapse J, absorbed per junction J)] at one diameter."""
    out = []
    sel = ds.sel(diameter_nm=diameter).mean("repeat")
    for h in sel["hidden_neurons"].values:
        for eta in sel["amplifier_efficiency"].values:
            d = sel.sel(hidden_neurons=h, amplifier_efficiency=eta)
            parts = {k: float(d[k]) for k, _ in KINDS}
            absorbed = parts["energy.junction_J"] / float(d["n_junctions"])
            out.append((int(h), float(eta), parts, float(d["energy.per_operation.per_synapse"]), absorbed))
    return out


def draw(table, out, diameter):
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    labels = [f"{h}\neta {eta:g}" for h, eta, *_ in table]
    bottom = np.zeros(len(table))
    totals = np.array([sum(r[2].values()) for r in table])
    for k, name in KINDS:
        v = np.array([r[2][k] for r in table]) / totals * 100
        left.bar(range(len(table)), v, bottom=bottom, label=name)
        bottom += v
    for i, t in enumerate(totals):
        left.text(i, 101, f"{t * 1e9:.2g} nJ", ha="center", fontsize=6)
    left.set_xticks(range(len(table)), labels, fontsize=7)
    left.set_ylim(0, 110)
    left.set_ylabel("share of the energy of an inference (%)")
    left.set_xlabel("hidden neurons, amplifier efficiency (top: the total)")
    left.set_title(f"where the energy goes ({diameter:g} nm devices)", fontsize=9)
    left.legend(fontsize=7, loc="lower right")
    etas = np.logspace(-1.2, 0.3, 50)
    for h in sorted({r[0] for r in table}):
        pts = [r for r in table if r[0] == h]
        line, = right.plot([r[1] for r in pts], [r[3] * 1e15 for r in pts], "o", label=f"{h} hidden")
        a = np.mean([r[4] for r in pts])
        right.plot(etas, a * (1 + 1 / etas) * 1e15, "-", color=line.get_color(), lw=0.8)
    right.axhline(SEED_SYNAPSE_ENERGY * 1e15, color="k", ls="--", lw=0.8, label="seed: 10 fJ")
    right.axvline(1.0, color="grey", lw=0.5)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("amplifier efficiency (lines: a (1 + 1/eta))")
    right.set_ylabel("energy per synaptic operation (fJ)")
    right.set_title("no efficiency <= 1 reaches 10 fJ while a junction absorbs > 5 fJ", fontsize=9)
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv=None):
    import xarray as xr
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default="sweeps/energy_scaling")
    ap.add_argument("--out", default="energy_breakdown.png")
    ap.add_argument("--diameter", type=float, default=20.0)
    args = ap.parse_args(argv)
    with xr.open_dataset(Path(args.folder) / "sweep.nc", engine="h5netcdf") as ds:
        table = rows(ds.load(), args.diameter)
    for h, eta, parts, synapse, absorbed in table:
        total = sum(parts.values())
        shares = ", ".join(f"{name.split()[0]} {100 * parts[k] / total:.0f} %" for k, name in KINDS)
        print(f"{h:4d} hidden, eta {eta:<4g}: {total * 1e9:.3g} nJ per inference ({shares}); "
              f"{synapse * 1e15:.1f} fJ per synapse")
    for h in sorted({r[0] for r in table}):
        a = np.mean([r[4] for r in table if r[0] == h])
        eta = needed_efficiency(a)
        verdict = (f"efficiency {eta:.2f} reaches 10 fJ" if eta <= 1 else
                   f"no efficiency <= 1 reaches 10 fJ (it would take {eta:.2g}); absorbing "
                   f"{a * 1e15 / 5:.2g}x less (5 fJ) reaches it at efficiency 1" if np.isfinite(eta) else
                   f"no efficiency reaches 10 fJ: the absorption alone is {a * 1e15:.1f} fJ; absorbing "
                   f"{a * 1e15 / 5:.2g}x less (5 fJ) reaches it at efficiency 1")
        print(f"{h:4d} hidden: a junction absorbs {a * 1e15:.2f} fJ per inference: {verdict}")
    draw(table, args.out, args.diameter)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
