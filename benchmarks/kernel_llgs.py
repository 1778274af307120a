"""LLGS kernel benchmark (issue 2): 300 K macrospin junctions under RF drive, stochastic Heun, one thread.

Figures: junction-steps/s of the kernel at N = 1,000; its speed-up over the vectorised numpy
reference (``rfemu.devices.llgs.integrate_numpy``) at N = 1,000 and at N = 1; and, when cmtj is
installed, the kernel's N = 1,000 junction-steps/s over cmtj's single-junction Heun rate (same
physical time, same dt, 300 K, spin-transfer torque and RF current on). All timed in this run.

Usage: python benchmarks/kernel_llgs.py [--quick]   (the last line is one JSON object)
"""
import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import best_time, report  # noqa: E402

from rfemu.devices import llgs  # noqa: E402

DT = 1e-13
APPLIED_FIELD = 2e4   # A/m along the easy axis (x)
RF_CURRENT = 1e-4     # A


def _setup(n):
    p = llgs.MacrospinParameters(temperature=300.0)
    f = float(llgs.kittel_frequency(APPLIED_FIELD, p.anisotropy_field, p.effective_magnetisation))
    tab = llgs.parameter_table(p, applied_field=(APPLIED_FIELD, 0.0, 0.0), rf_current=RF_CURRENT,
                               rf_frequency=f, n_devices=n)
    m0 = np.ascontiguousarray(tab[:, llgs.COL_EASY_AXIS:llgs.COL_EASY_AXIS + 3])
    return p, f, tab, m0


def _rate(fn, tab, m0, n_steps, repeats):
    gen = np.random.default_rng(1)
    t = best_time(lambda: fn(tab, m0, DT, n_steps, n_steps // 2, 0, gen, 1), repeats=repeats)
    return tab.shape[0] * n_steps / t


def cmtj_rate(n_steps, repeats=3):
    """Steps/s of one 300 K junction in cmtj (Heun solver), or None when cmtj is missing."""
    try:
        import cmtj
        from cmtj import CVector, Junction
    except ImportError:
        return None
    p, f, _, _ = _setup(1)
    mu0 = llgs.VACUUM_PERMEABILITY
    thickness = 1.5e-9
    area = p.volume / thickness
    demag = [CVector(0, 0, 0), CVector(0, 0, 0), CVector(0, 0, 1)]
    s = math.sqrt(0.5)
    duration = n_steps * DT

    def run():
        layer = cmtj.Layer.createSTTLayer(
            "free", CVector(1, 0, 0), CVector(1, 0, 0), mu0 * p.saturation_magnetisation,
            thickness, area, demag, p.damping, 1.0, 0.0, 0.5)
        layer.setReferenceLayer(CVector(s, s, 0))
        j = Junction([layer], p.resistance_parallel, p.resistance_antiparallel)
        j.setLayerAnisotropyDriver(
            "free", cmtj.ScalarDriver.getConstantDriver(0.5 * p.anisotropy_field * mu0 * p.saturation_magnetisation))
        j.setLayerExternalFieldDriver("all", cmtj.AxialDriver(
            cmtj.ScalarDriver.getConstantDriver(APPLIED_FIELD), cmtj.ScalarDriver.getConstantDriver(0.0),
            cmtj.ScalarDriver.getConstantDriver(0.0)))
        j.setLayerTemperatureDriver("free", cmtj.ScalarDriver.getConstantDriver(300.0))
        j.setLayerCurrentDriver("free", cmtj.ScalarDriver.getSineDriver(0.0, RF_CURRENT / area, f, 0.0))
        j.runSimulation(duration, DT, duration / 10, solverMode=cmtj.SolverMode.Heun)

    return n_steps / best_time(run, repeats=repeats)


def run(quick: bool) -> dict:
    """Measure the LLGS figures (one thread); ``quick`` shortens every run."""
    from rfemu import _core
    kernel = _core.llgs_integrate
    reference = llgs.integrate_numpy
    _, _, tab1000, m1000 = _setup(1000)
    _, _, tab1, m1 = _setup(1)
    reps = 2 if quick else 3
    k1000 = _rate(kernel, tab1000, m1000, 2000 if quick else 20000, reps)
    n1000 = _rate(reference, tab1000, m1000, 20 if quick else 200, reps)
    k1 = _rate(kernel, tab1, m1, 200_000 if quick else 2_000_000, reps)
    n1 = _rate(reference, tab1, m1, 300 if quick else 3000, reps)
    cm = cmtj_rate(20_000 if quick else 200_000, reps)
    return {
        "llgs_steps_per_s_n1000": k1000,
        "llgs_speedup_vs_numpy_n1000": k1000 / n1000,
        "llgs_speedup_vs_numpy_n1": k1 / n1,
        "llgs_speedup_vs_cmtj": None if cm is None else k1000 / cm,
        "llgs_steps_per_s_n1": k1,
        "llgs_numpy_steps_per_s_n1000": n1000,
        "llgs_numpy_steps_per_s_n1": n1,
        "llgs_cmtj_steps_per_s": cm,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter runs, for CI")
    args = ap.parse_args(argv)
    figures = run(args.quick)
    return report(figures)


if __name__ == "__main__":
    main()
