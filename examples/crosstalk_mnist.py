"""MNIST accuracy of a 784-input layer against the spacing of its channels in linewidths.

    RFEMU_DATA=/path/to/datasets rfemu sweep scenarios/crosstalk_mnist.yaml --workers 2
    python examples/crosstalk_mnist.py [SWEEP_DIR] [--out FIGURE.png]

Reads the sweep folder of ``scenarios/crosstalk_mnist.yaml`` (default ``sweeps/crosstalk_mnist``)
and draws the test accuracy of every (band, damping) point against the spacing of neighbouring
channels in linewidths: 784 tones on a geometric plan from 100 MHz to the band's top sit
``ln(top / 100 MHz) / 783`` apart in relative frequency, and a junction of damping alpha has a
full linewidth ``2 alpha f`` (docs/physics.md#line-shape), so the spacing is
``ln(top / 100 MHz) / (783 x 2 alpha)`` linewidths at every frequency of the band. The layer
without overlaps is the damping-1e-6 point of each band (its channels thousands of linewidths
apart); the figure marks 1 point below it. Prints one line per point.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

N_CHANNELS = 784
F_MIN = 100e6


def spacing_in_linewidths(band_top, damping):
    """Channel spacing over the full linewidth ``2 alpha f`` of a geometric plan of 784 tones."""
    return math.log(band_top / F_MIN) / (N_CHANNELS - 1) / (2.0 * damping)


def table(ds):
    """[(band_top Hz, damping, spacing in linewidths, test accuracies of the repeats)]."""
    rows = []
    for top in ds["band_top"].values:
        for alpha in ds["damping"].values:
            acc = ds["test_accuracy"].sel(band_top=top, damping=alpha).values
            rows.append((float(top), float(alpha), spacing_in_linewidths(top, alpha), acc))
    return rows


def draw(rows, out):
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    tops = sorted({r[0] for r in rows}, reverse=True)
    reference = np.mean([r[3].mean() for r in rows if r[1] <= 1e-5])
    for top in tops:
        pts = sorted((r for r in rows if r[0] == top and r[1] > 1e-5), key=lambda r: r[2])
        s = np.array([p[2] for p in pts])
        acc = np.array([p[3] for p in pts]) * 100
        line, = ax.plot(s, acc.mean(axis=1), "o-", label=f"784 channels in 0.1-{top / 1e9:.3g} GHz")
        for r in range(acc.shape[1]):
            ax.plot(s, acc[:, r], ".", color=line.get_color(), alpha=0.5, ms=4)
        for p, a in zip(pts, acc.mean(axis=1)):
            ax.annotate(f"{p[1]:g}", (p[2], a), fontsize=6, xytext=(3, -9), textcoords="offset points")
    ax.axhline(reference * 100, color="k", lw=0.8, label=f"no overlaps (damping 1e-6): {reference * 100:.1f} %")
    ax.axhspan(reference * 100 - 1, reference * 100, color="k", alpha=0.08, lw=0, label="within 1 point")
    ax.set_xscale("log")
    ax.set_xlabel("channel spacing / junction linewidth (labels: damping)")
    ax.set_ylabel("MNIST test accuracy (%), 10,000 images")
    ax.set_title("784 -> 10 layer of spin-diode chains, trained with the overlaps", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv=None):
    import xarray as xr
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default="sweeps/crosstalk_mnist")
    ap.add_argument("--out", default="crosstalk_mnist_spacing.png")
    args = ap.parse_args(argv)
    with xr.open_dataset(Path(args.folder) / "sweep.nc", engine="h5netcdf") as ds:
        rows = table(ds.load())
    for top, alpha, s, acc in rows:
        print(f"0.1-{top / 1e9:.3g} GHz  damping {alpha:<7g} spacing {s:9.4g} linewidths  "
              f"test {100 * acc.mean():.2f} % (repeats {', '.join(f'{100 * a:.2f}' for a in acc)})")
    draw(rows, args.out)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
