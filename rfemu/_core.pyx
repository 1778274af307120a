# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""rfemu's compiled kernel: every hot loop, without the GIL, on typed float64 memoryviews.

Private module: it validates nothing. The public, validating wrappers live in
``rfemu.devices`` (and call the numpy reference implementations when asked to).
The kernel is split into include files by physics:

- ``_kernel/random.pxi``      per-device random streams (numpy's C random API)
- ``_kernel/oscillator.pxi``  batched universal auto-oscillators (docs/physics.md#oscillator)
- ``_kernel/llgs.pxi``        batched macrospin LLGS (section 3)
- ``_kernel/rectify.pxi``     spin-diode rectification of tones by junctions (section 2)
- ``_kernel/optim.pxi``       the training optimiser's step (Adam on a flat vector)
"""
import numpy as np
cimport numpy as cnp
from cython.parallel cimport prange, parallel
from cpython.pycapsule cimport PyCapsule_IsValid, PyCapsule_GetPointer
from libc.math cimport sqrt, exp, cos, sin, fabs, atan2, M_PI

cnp.import_array()

cdef extern from *:
    """
    #if defined(_OPENMP)
    #include <omp.h>
    #define RFEMU_HAVE_OPENMP 1
    static int rfemu_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    #define RFEMU_HAVE_OPENMP 0
    static int rfemu_omp_max_threads(void) { return 1; }
    #endif
    #if defined(__clang__)
    #define RFEMU_COMPILER "clang " __clang_version__
    #elif defined(__GNUC__)
    #define RFEMU_COMPILER "gcc " __VERSION__
    #elif defined(_MSC_VER)
    #define RFEMU_COMPILER "msvc"
    #else
    #define RFEMU_COMPILER "unknown"
    #endif
    """
    int RFEMU_HAVE_OPENMP
    int RFEMU_NATIVE
    const char* RFEMU_COMPILER
    int rfemu_omp_max_threads() nogil


def build_info():
    """The kernel's build: compiler, OpenMP, native vector instructions, and the thread count
    OpenMP would use."""
    return {
        "compiler": (<bytes>RFEMU_COMPILER).decode("utf-8", "replace"),
        "openmp": bool(RFEMU_HAVE_OPENMP),
        "native_simd": bool(RFEMU_NATIVE),
        "max_threads": int(rfemu_omp_max_threads()),
    }


include "_kernel/random.pxi"
include "_kernel/oscillator.pxi"
include "_kernel/llgs.pxi"
include "_kernel/rectify.pxi"
include "_kernel/optim.pxi"
