# Spin-diode rectification of RF tones by chains of junctions (docs/physics.md#line-shape).
#
# One junction of resonance frequency f_r, half width D = D0 + alpha f_r, sensitivity K and
# line-shape weights (a, s), driven by a tone of frequency f, power P and Lorentzian linewidth g:
#
#     V = K P D [ 2 a d + s G ] / (d^2 + G^2),    d = f - f_r,   G = D + g
#
# (the tone's own line averages L = 1/(d - iD) into 1/(d - i(D + g)), prefactor unchanged).
# A chain sums its junctions with signs. The kernel computes the chain matrix
#
#     W[s, c, t] = sum_j  D_cj [ A_cj d + S_cj G ] / (d^2 + G^2),   A = 2 a K sign, S = s K sign
#
# so that V_chain[c] = sum_t W[c, t] P_t, for S sets of tones (S = 1 when every sample sees the
# same tones). Loops: chains in parallel (prange), junctions outer, tones inner (the inner loop
# writes W[s, c, :] and vectorises). No tensor of chains x tones x junctions is ever built.
# Pure tones (g = 0) on a purely antisymmetric junction (S = 0) take a shorter inner loop with
# the terms that vanish left out: G = D, S G = 0 exactly, so the results are the same.


cdef inline bint _pure_tones(const double* tg, Py_ssize_t T) noexcept nogil:
    cdef Py_ssize_t t
    for t in range(T):
        if tg[t] != 0.0:
            return False
    return True


cdef void _chain_row(const double* tf, const double* tg, Py_ssize_t T,
                     const double* fr, const double* d0, const double* al,
                     const double* A, const double* S, Py_ssize_t J,
                     double* w) noexcept nogil:
    cdef Py_ssize_t j, t
    cdef double f_r, D, a, s, d, G, D2
    cdef bint pure = _pure_tones(tg, T)
    for t in range(T):
        w[t] = 0.0
    for j in range(J):
        f_r = fr[j]
        D = d0[j] + al[j] * f_r
        a = A[j] * D
        s = S[j] * D
        if pure and S[j] == 0.0:
            D2 = D * D
            for t in range(T):
                d = tf[t] - f_r
                w[t] += (a * d) / (d * d + D2)
            continue
        for t in range(T):
            d = tf[t] - f_r
            G = D + tg[t]
            w[t] += (a * d + s * G) / (d * d + G * G)


def _chain_matrix(const double[:, ::1] tone_frequency, const double[:, ::1] tone_linewidth,
                  const double[:, ::1] resonance_frequency, const double[:, ::1] width_fixed,
                  const double[:, ::1] width_slope, const double[:, ::1] coef_anti,
                  const double[:, ::1] coef_sym, double[:, :, ::1] out, int n_threads=1):
    """W[s, c, t] for S tone sets (rows of tone_frequency) and C chains of J junctions."""
    cdef Py_ssize_t S = tone_frequency.shape[0], T = tone_frequency.shape[1]
    cdef Py_ssize_t C = resonance_frequency.shape[0], J = resonance_frequency.shape[1]
    cdef Py_ssize_t k, s, c
    with nogil:
        for k in prange(S * C, num_threads=max(n_threads, 1), schedule="dynamic"):
            s = k // C
            c = k - s * C
            _chain_row(&tone_frequency[s, 0], &tone_linewidth[s, 0], T,
                       &resonance_frequency[c, 0], &width_fixed[c, 0], &width_slope[c, 0],
                       &coef_anti[c, 0], &coef_sym[c, 0], J, &out[s, c, 0])


# Gradient. For one junction and one tone, with u = d^2 + G^2 and n = A d + S G:
#   w          = D n / u
#   dw/dd      = D [ A u - 2 d n ] / u^2                (d = f - f_r)
#   dw/dG      = D [ S u - 2 G n ] / u^2                (G = D + g)
#   dw/dD|expl = n / u                                  (the prefactor D)
#   dw/df_r    = -dw/dd + alpha (dw/dD|expl + dw/dG)
#   dw/df_t    = +dw/dd,     dw/dg_t = dw/dG
cdef enum:
    _LANES = 8


cdef void _chain_row_grad(const double* gW, const double* tf, const double* tg, Py_ssize_t T,
                          const double* fr, const double* d0, const double* al,
                          const double* A, const double* S, Py_ssize_t J,
                          double* g_fr, double* g_tf, double* g_tg, bint want_tones) noexcept nogil:
    # dL/df_r: for each junction a sum over the tones, in 8 independent partial sums (a fixed
    # order: reproducible, and vectorisable without reassociating floating point); with the
    # terms above gathered,
    #   dw/df_r = [ D (alpha S - A) + alpha n + 2 D n (d - alpha G) / u ] / u.
    cdef Py_ssize_t j, t, l, tb = T - T % _LANES
    cdef double f_r, D, a, s, slope, k0, twoD, d, G, u, n, inv, g, f, gt, dwdd, dwdG, total
    cdef double D2, sD
    cdef double acc[_LANES]
    cdef bint pure = _pure_tones(tg, T)
    for j in range(J):
        f_r = fr[j]
        slope = al[j]
        D = d0[j] + slope * f_r
        a = A[j]
        s = S[j]
        k0 = D * (slope * s - a)
        twoD = 2.0 * D
        for l in range(_LANES):
            acc[l] = 0.0
        t = 0
        if pure and s == 0.0:
            # G = D, n = a d (s G = 0): the same terms without those that vanish
            D2 = D * D
            sD = slope * D
            while t < tb:
                for l in range(_LANES):
                    d = tf[t + l] - f_r
                    inv = 1.0 / (d * d + D2)
                    n = a * d
                    acc[l] += gW[t + l] * inv * (k0 + slope * n + twoD * n * inv * (d - sD))
                t += _LANES
        while t < tb:
            for l in range(_LANES):
                d = tf[t + l] - f_r
                G = D + tg[t + l]
                u = d * d + G * G
                inv = 1.0 / u
                n = a * d + s * G
                acc[l] += gW[t + l] * inv * (k0 + slope * n + twoD * n * inv * (d - slope * G))
            t += _LANES
        total = 0.0
        for l in range(_LANES):
            total += acc[l]
        for t in range(tb, T):
            d = tf[t] - f_r
            G = D + tg[t]
            u = d * d + G * G
            inv = 1.0 / u
            n = a * d + s * G
            total += gW[t] * inv * (k0 + slope * n + twoD * n * inv * (d - slope * G))
        g_fr[j] += total
    if not want_tones:
        return
    # dL/d f_t and dL/d g_t: a sum over junctions for each tone, in a fixed order
    for t in range(T):
        g = gW[t]
        f = tf[t]
        gt = tg[t]
        dwdd = 0.0
        dwdG = 0.0
        for j in range(J):
            f_r = fr[j]
            D = d0[j] + al[j] * f_r
            d = f - f_r
            G = D + gt
            u = d * d + G * G
            inv = 1.0 / u
            n = A[j] * d + S[j] * G
            dwdd += D * (A[j] - 2.0 * d * n * inv) * inv
            dwdG += D * (S[j] - 2.0 * G * n * inv) * inv
        g_tf[t] += g * dwdd
        g_tg[t] += g * dwdG


def _chain_matrix_grad(const double[:, :, ::1] grad_w, const double[:, ::1] tone_frequency,
                       const double[:, ::1] tone_linewidth,
                       const double[:, ::1] resonance_frequency, const double[:, ::1] width_fixed,
                       const double[:, ::1] width_slope, const double[:, ::1] coef_anti,
                       const double[:, ::1] coef_sym, double[:, :, ::1] g_fr_partial,
                       double[:, :, ::1] g_tf_partial, double[:, :, ::1] g_tg_partial,
                       bint want_tones, int n_threads=1):
    """Accumulate dL/df_r per (tone set, chain, junction) and, if asked, dL/d tone frequency and
    linewidth per (tone set, chain, tone); the caller sums the partials in a fixed order."""
    cdef Py_ssize_t S = tone_frequency.shape[0], T = tone_frequency.shape[1]
    cdef Py_ssize_t C = resonance_frequency.shape[0], J = resonance_frequency.shape[1]
    cdef Py_ssize_t k, s, c
    with nogil:
        for k in prange(S * C, num_threads=max(n_threads, 1), schedule="dynamic"):
            s = k // C
            c = k - s * C
            _chain_row_grad(&grad_w[s, c, 0], &tone_frequency[s, 0], &tone_linewidth[s, 0], T,
                            &resonance_frequency[c, 0], &width_fixed[c, 0], &width_slope[c, 0],
                            &coef_anti[c, 0], &coef_sym[c, 0], J,
                            &g_fr_partial[s, c, 0], &g_tf_partial[s, c, 0], &g_tg_partial[s, c, 0],
                            want_tones)




# Chain voltages: the tone sum of the rectification, V[b, c] = sum_t W[c, t] P[b, t] for B samples
# of tone powers P (B, T) (the chains' voltages before their bias), and its backward products
#     dL/dW[c, t] = sum_b g[b, c] P[b, t],     dL/dP[b, t] = sum_c g[b, c] W[c, t],   g = dL/dV.
# The products are BLAS dgemm calls (scipy's, through scipy.linalg.cython_blas), one per block of
# _PB samples (V, dL/dP) or _VB chains (dL/dW), the blocks in parallel: the blocks are the same
# whatever the thread count, so the bits are too (BLAS must run one thread per call: the engine
# limits it). Column-major views of the row-major arrays: V (B, C) is V^T (C x B, ld C), etc.

from cpython.pycapsule cimport PyCapsule_GetName

ctypedef void (*_dgemm_t)(char* transa, char* transb, int* m, int* n, int* k, double* alpha,
                          double* a, int* lda, double* b, int* ldb, double* beta, double* c,
                          int* ldc) noexcept nogil

cdef _dgemm_t _dgemm = NULL

cdef enum:
    _VB = 16      # chains per block of the weight-gradient product
    _PB = 256     # samples per block of the voltage and tone-power-gradient products


def _bind_blas():
    """Fetch BLAS dgemm from scipy.linalg.cython_blas (once); returns True."""
    global _dgemm
    if _dgemm == NULL:
        from scipy.linalg import cython_blas
        cap = cython_blas.__pyx_capi__["dgemm"]
        _dgemm = <_dgemm_t>PyCapsule_GetPointer(cap, PyCapsule_GetName(cap))
    return True


cdef inline void _gemm(char ta, char tb, int m, int n, int k, const double* a, int lda,
                       const double* b, int ldb, double* c, int ldc) noexcept nogil:
    # c (m x n, column-major) = op(a) op(b); an empty sum is zero
    cdef double one = 1.0, zero = 0.0
    cdef Py_ssize_t i, j
    if k == 0:
        for j in range(n):
            for i in range(m):
                c[j * ldc + i] = 0.0
        return
    _dgemm(&ta, &tb, &m, &n, &k, &one, <double*>a, &lda, <double*>b, &ldb, &zero, c, &ldc)


def _chain_voltage(const double[:, ::1] power, const double[:, ::1] w, double[:, ::1] v,
                   int n_threads=1):
    """v (B, C) = power (B, T) w (C, T)^T."""
    _bind_blas()
    cdef int B = power.shape[0], T = power.shape[1], C = w.shape[0]
    cdef Py_ssize_t k, b0
    cdef int nb
    if B == 0 or C == 0:
        return
    with nogil:
        for k in prange((B + _PB - 1) // _PB, num_threads=max(n_threads, 1), schedule="dynamic"):
            b0 = k * _PB
            nb = B - <int>b0
            if nb > _PB:
                nb = _PB
            # V^T[:, b0:b0+nb] (C x nb) = W P^T[:, b0:b0+nb]
            _gemm(b'T', b'N', C, nb, T, &w[0, 0], T, &power[b0, 0], T, &v[b0, 0], C)


def _chain_voltage_grad(const double[:, ::1] grad_v, const double[:, ::1] power,
                        const double[:, ::1] w, double[:, ::1] grad_w, double[:, ::1] grad_power,
                        bint want_power, int n_threads=1):
    """From g = dL/dV (B, C): dL/dW = g^T power (C, T) into grad_w and, with ``want_power``,
    dL/dP = g w (B, T) into grad_power."""
    _bind_blas()
    cdef int B = power.shape[0], T = power.shape[1], C = w.shape[0]
    cdef Py_ssize_t k, c0, b0
    cdef int nc, nb
    if C == 0 or T == 0:
        return
    with nogil:
        for k in prange((C + _VB - 1) // _VB, num_threads=max(n_threads, 1), schedule="dynamic"):
            c0 = k * _VB
            nc = C - <int>c0
            if nc > _VB:
                nc = _VB
            # dL/dW^T[:, c0:c0+nc] (T x nc) = P^T g[:, c0:c0+nc]
            _gemm(b'N', b'T', T, nc, B, &power[0, 0], T, &grad_v[0, c0], C, &grad_w[c0, 0], T)
        if want_power and B > 0:
            for k in prange((B + _PB - 1) // _PB, num_threads=max(n_threads, 1), schedule="dynamic"):
                b0 = k * _PB
                nb = B - <int>b0
                if nb > _PB:
                    nb = _PB
                # dL/dP^T[:, b0:b0+nb] (T x nb) = W^T g^T[:, b0:b0+nb]
                _gemm(b'N', b'N', T, nb, C, &w[0, 0], T, &grad_v[b0, 0], C, &grad_power[b0, 0], T)
