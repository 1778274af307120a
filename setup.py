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


def _compiler_accepts(flags):
    """Return True if the C compiler builds and links a small OpenMP program with ``flags``."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cc = cc.split()[0]
    if shutil.which(cc) is None:
        return False
    src = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"
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
compile_args = ["-O3", "-ffp-contract=off", "-fno-math-errno"]
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
                   ("RFEMU_OPENMP", "1" if use_openmp else "0")],
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
