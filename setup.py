"""Build the compiled kernel ``rfemu._core`` (Cython, numpy's C random API, OpenMP when available)."""
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup


def _compiler_accepts(flags, openmp=True):
    """Return True if the C compiler builds and links a small (OpenMP) program with ``flags``."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cc = cc.split()[0]
    if shutil.which(cc) is None:
        return False
    src = ("#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n" if openmp
           else "int main(void){return 0;}\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.c")
        with open(path, "w") as f:
            f.write(src)
        try:
            res = subprocess.run([cc, *flags, path, "-o", os.path.join(tmp, "t")],
                                 capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return False
        return res.returncode == 0


use_openmp = os.environ.get("RFEMU_NO_OPENMP", "") == "" and _compiler_accepts(["-fopenmp"])
# The kernel is built from source on the machine that runs it, so by default it uses that
# machine's vector instructions (AVX2/AVX-512 double the rectification throughput over SSE2).
# -ffp-contract=off keeps every multiply and add separately rounded, so the bits are the same
# with or without wider vectors (and whatever the thread count). RFEMU_PORTABLE=1 builds for the
# baseline instruction set instead (e.g. to ship a wheel).
use_native = (os.environ.get("RFEMU_PORTABLE", "") == ""
              and _compiler_accepts(["-march=native"], openmp=False))
compile_args = ["-O3", "-ffp-contract=off", "-fno-math-errno"] + (["-march=native"] if use_native else [])
link_args = []
if use_openmp:
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")
if sys.platform.startswith("win"):
    compile_args, link_args = (["/O2", "/openmp"] if use_openmp else ["/O2"]), []

npyrandom_dir = os.path.join(os.path.dirname(np.__file__), "random", "lib")

ext = Extension(
    "rfemu._core",
    sources=["rfemu/_core.pyx"],
    include_dirs=[np.get_include()],
    library_dirs=[npyrandom_dir],
    libraries=["npyrandom"] + ([] if sys.platform.startswith("win") else ["m"]),
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                   ("RFEMU_OPENMP", "1" if use_openmp else "0"),
                   ("RFEMU_NATIVE", "1" if use_native else "0")],
    extra_compile_args=compile_args,
    extra_link_args=link_args,
)

setup(
    ext_modules=cythonize(
        [ext],
        compiler_directives={"language_level": 3, "boundscheck": False, "wraparound": False,
                             "cdivision": True, "initializedcheck": False},
    ),
)
