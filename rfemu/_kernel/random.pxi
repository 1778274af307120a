# Per-device random streams for the kernel.
#
# Every device (or any other index the caller chooses) owns its own xoshiro256** stream,
# seeded by splitmix64 from (key, stream index). The 64-bit key is drawn from the caller's
# numpy Generator through its bit generator (numpy's C random API), so a seed reproduces a
# trajectory bit for bit and the Generator advances by one draw per kernel call. Because a
# stream belongs to a device and not to a thread, results do not depend on the thread count.
# Normal deviates: stream_normal uses numpy's own ziggurat (random_standard_normal in
# libnpyrandom) fed by a bitgen_t that points at the device's stream; the hot loops use
# xoshiro_normal, an inline ziggurat on the same stream (below), about 3x cheaper a deviate.

from libc.stdint cimport uint64_t, uint32_t
from numpy.random cimport bitgen_t
from numpy.random.c_distributions cimport random_standard_normal, random_standard_uniform


cdef struct Xoshiro256:
    uint64_t s0
    uint64_t s1
    uint64_t s2
    uint64_t s3


cdef struct DeviceStream:
    # The stream state and the bitgen_t that numpy's distributions read from.
    Xoshiro256 state
    bitgen_t bitgen


cdef inline uint64_t _rotl(uint64_t x, int k) noexcept nogil:
    return (x << k) | (x >> (64 - k))


cdef inline uint64_t _splitmix64(uint64_t* x) noexcept nogil:
    cdef uint64_t z
    x[0] += <uint64_t>0x9E3779B97F4A7C15
    z = x[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef uint64_t _xoshiro_next64(void* st) noexcept nogil:
    cdef Xoshiro256* s = <Xoshiro256*>st
    cdef uint64_t result = _rotl(s.s1 * 5, 7) * 9
    cdef uint64_t t = s.s1 << 17
    s.s2 ^= s.s0
    s.s3 ^= s.s1
    s.s1 ^= s.s2
    s.s0 ^= s.s3
    s.s2 ^= t
    s.s3 = _rotl(s.s3, 45)
    return result


cdef uint32_t _xoshiro_next32(void* st) noexcept nogil:
    return <uint32_t>(_xoshiro_next64(st) >> 32)


cdef double _xoshiro_next_double(void* st) noexcept nogil:
    return (_xoshiro_next64(st) >> 11) * (1.0 / 9007199254740992.0)


cdef inline void stream_init(DeviceStream* ds, uint64_t key, uint64_t index) noexcept nogil:
    """Seed the stream of device ``index`` under ``key`` (splitmix64, as xoshiro's authors advise)."""
    cdef uint64_t x = key ^ (index * <uint64_t>0xD1B54A32D192ED03)
    ds.state.s0 = _splitmix64(&x)
    ds.state.s1 = _splitmix64(&x)
    ds.state.s2 = _splitmix64(&x)
    ds.state.s3 = _splitmix64(&x)
    ds.bitgen.state = <void*>&ds.state
    ds.bitgen.next_uint64 = _xoshiro_next64
    ds.bitgen.next_uint32 = _xoshiro_next32
    ds.bitgen.next_double = _xoshiro_next_double
    ds.bitgen.next_raw = _xoshiro_next64


cdef inline double stream_normal(DeviceStream* ds) noexcept nogil:
    """One standard normal deviate from the device's stream (numpy's ziggurat)."""
    return random_standard_normal(&ds.bitgen)


cdef inline double stream_uniform(DeviceStream* ds) noexcept nogil:
    return random_standard_uniform(&ds.bitgen)


cdef uint64_t draw_key(object generator) except? 0:
    """Draw the 64-bit stream key from a numpy Generator (or BitGenerator) via its bitgen_t."""
    cdef bitgen_t* rng
    cdef uint64_t key
    bit_generator = generator.bit_generator if hasattr(generator, "bit_generator") else generator
    capsule = bit_generator.capsule
    if not PyCapsule_IsValid(capsule, b"BitGenerator"):
        raise ValueError("the random source must be a numpy Generator or BitGenerator")
    rng = <bitgen_t*>PyCapsule_GetPointer(capsule, b"BitGenerator")
    with bit_generator.lock:
        key = rng.next_uint64(rng.state)
    return key


def standard_normal_streams(generator, Py_ssize_t n_streams, Py_ssize_t n_per_stream,
                            int n_threads=1):
    """Draw ``n_per_stream`` normals from each of ``n_streams`` device streams.

    Returns an array (n_streams, n_per_stream). Used to test the streams (distribution,
    reproducibility, independence of the thread count).
    """
    cdef uint64_t key = draw_key(generator)
    out = np.empty((n_streams, n_per_stream), dtype=np.float64)
    cdef double[:, ::1] o = out
    cdef Py_ssize_t i, j
    cdef DeviceStream ds
    with nogil:
        for i in prange(n_streams, num_threads=max(n_threads, 1), schedule="static"):
            _fill_stream(&o[i, 0], n_per_stream, key, i)
    return out


cdef void _fill_stream(double* out, Py_ssize_t n, uint64_t key, Py_ssize_t index) noexcept nogil:
    cdef DeviceStream ds
    cdef Py_ssize_t j
    stream_init(&ds, key, <uint64_t>index)
    for j in range(n):
        out[j] = stream_normal(&ds)


# Fast normal deviates for the kernels: a ziggurat (Marsaglia and Tsang, J. Stat. Softw. 5(8),
# 2000) with 256 layers, drawn inline from the device's xoshiro256** stream (one 64-bit word per
# deviate in 98.8 % of the draws: bits 0-7 pick the layer, bits 11-63 the signed abscissa).
# numpy's random_standard_normal (stream_normal) costs about 8 ns a deviate here, through two
# indirect calls, against about 2.4 ns for this inline draw; at two deviates per oscillator step
# numpy's would cap the oscillator kernel near 60 M steps/s (3 deviates per LLGS step: likewise). The tables are built at import from the exact Gaussian (r solved by bisection so
# that the 256 layers have equal areas and the top one ends at the mode).

from libc.math cimport log
from libc.stdint cimport int64_t

cdef double _zig_x[257]     # layer abscissae: x[0] = v / f(r) (base strip + tail), x[1] = r, ..., x[256] = 0
cdef double _zig_f[257]     # f(x[i]) = exp(-x[i]^2 / 2)


def _build_ziggurat():
    """Fill the ziggurat tables (called once at import)."""
    from math import erfc, exp as mexp, log as mlog, pi as mpi, sqrt as msqrt

    def layers(r):
        v = r * mexp(-0.5 * r * r) + msqrt(0.5 * mpi) * erfc(r / msqrt(2.0))
        xs = [v / mexp(-0.5 * r * r), r]
        last = r
        for _ in range(254):
            fnext = mexp(-0.5 * last * last) + v / last
            if fnext >= 1.0:
                return None, 1.0
            last = msqrt(-2.0 * mlog(fnext))
            xs.append(last)
        return xs, mexp(-0.5 * last * last) + v / last - 1.0

    lo, hi = 3.0, 4.0      # the top layer overshoots the mode at lo, falls short of it at hi
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        xs, miss = layers(mid)
        if xs is None or miss > 0.0:
            lo = mid
        else:
            hi = mid
    xs, miss = layers(hi)
    xs.append(0.0)
    for i in range(257):
        _zig_x[i] = xs[i]
        _zig_f[i] = mexp(-0.5 * xs[i] * xs[i])


_build_ziggurat()


cdef double _normal_slow(Xoshiro256* s, uint64_t bits) noexcept nogil:
    # the rare draws (1.2 %): the wedge of layer i or the tail beyond r; retries the whole draw
    cdef int i
    cdef double z, u1, u2, a, b
    while True:
        i = <int>(bits & 0xFF)
        z = (<int64_t>bits >> 11) * (1.0 / 4503599627370496.0) * _zig_x[i]
        if fabs(z) < _zig_x[i + 1]:
            return z
        if i == 0:
            while True:
                u1 = 1.0 - <int64_t>(_xoshiro_next64(s) >> 11) * (1.0 / 9007199254740992.0)
                u2 = 1.0 - <int64_t>(_xoshiro_next64(s) >> 11) * (1.0 / 9007199254740992.0)
                a = -log(u1) / _zig_x[1]
                b = -log(u2)
                if b + b > a * a:
                    break
            return -(_zig_x[1] + a) if z < 0.0 else _zig_x[1] + a
        u1 = <int64_t>(_xoshiro_next64(s) >> 11) * (1.0 / 9007199254740992.0)
        if _zig_f[i] + u1 * (_zig_f[i + 1] - _zig_f[i]) < exp(-0.5 * z * z):
            return z
        bits = _xoshiro_next64(s)


cdef inline double xoshiro_normal(Xoshiro256* s) noexcept nogil:
    """One standard normal deviate from the stream ``s`` (inline ziggurat).

    Bits 0-7 pick the layer, bits 11-63 (as a signed number) the abscissa and its sign.
    """
    cdef uint64_t bits = _xoshiro_next64(s)
    cdef int i = <int>(bits & 0xFF)
    cdef double z = (<int64_t>bits >> 11) * (1.0 / 4503599627370496.0) * _zig_x[i]
    if fabs(z) < _zig_x[i + 1]:
        return z
    return _normal_slow(s, bits)
