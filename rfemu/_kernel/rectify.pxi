# Spin-diode rectification of RF tones by chains of junctions (PHYSICS.md section 2).
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


cdef void _chain_row(const double* tf, const double* tg, Py_ssize_t T,
                     const double* fr, const double* d0, const double* al,
                     const double* A, const double* S, Py_ssize_t J,
                     double* w) noexcept nogil:
    cdef Py_ssize_t j, t
    cdef double f_r, D, a, s, d, G
    for t in range(T):
        w[t] = 0.0
    for j in range(J):
        f_r = fr[j]
        D = d0[j] + al[j] * f_r
        a = A[j] * D
        s = S[j] * D
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
    cdef double acc[_LANES]
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
