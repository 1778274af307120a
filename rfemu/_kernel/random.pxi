# Per-device random streams for the kernel.
#
# Every device (or any other index the caller chooses) owns its own xoshiro256** stream,
# seeded by splitmix64 from (key, stream index). The 64-bit key is drawn from the caller's
# numpy Generator through its bit generator (numpy's C random API), so a seed reproduces a
# trajectory bit for bit and the Generator advances by one draw per kernel call. Because a
# stream belongs to a device and not to a thread, results do not depend on the thread count.
# Normal deviates come from numpy's own ziggurat (random_standard_normal in libnpyrandom),
# fed by a bitgen_t that points at the device's stream.

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
