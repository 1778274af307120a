# Batched macrospin LLGS (docs/physics.md#macrospin-llgs).
#
#     dm/dt = -g' [ m x H + alpha m x (m x H) ] - g' a [ m x (m x p) - alpha m x p ]
#     g' = gamma mu0 / (1 + alpha^2),   a = a_J I(t),   I(t) = I_dc + I_rf cos(2 pi f t)
#     H  = H_app + H_k (m.u) u - M_eff (m.z) z + h_oe I(t) + beta a p + H_th
#
# (beta a p is the field-like torque, h_oe I the Oersted field of the current). Rewritten with
#     B = H_s + (beta - alpha) a p,   C = alpha H_s + (alpha beta + 1) a p,  H_s = H - beta a p,
# it reads  dm/dt = g' [ (m.m) C - m (m.C) - m x B ],  which is what the loop evaluates
# (m.m = 1 except at the Heun predictor, which is not renormalised).
# Thermal field: per component and step, H_th = sigma / sqrt(dt) * N(0, 1) with
# sigma = sqrt(2 alpha k_B T / (gamma mu0^2 M_s V)) (A/m sqrt(s); column LLGS_THERMAL).
# Stochastic Heun (Stratonovich: one noise draw shared by predictor and corrector), then |m| = 1.
# The RF phase is advanced by a rotation and re-synchronised with cos/sin every
# LLGS_RESYNC steps. Rectified voltage, averaged over steps n_settle <= n < n_steps:
#     V_dc = <I R(m)> - (<I> - I_dc) <R>,  R(m) = R_P + (R_AP - R_P) (1 - m.p) / 2
# (the second term removes the leakage of the RF current's mean over a finite window).
#
# Parameter columns of ``params`` (one row per junction, SI units); rfemu.devices.llgs builds it.
cdef enum:
    LLGS_HX = 0          # applied field H_app, A/m (3 columns)
    LLGS_HK = 3          # uniaxial anisotropy field H_k, A/m
    LLGS_UX = 4          # easy axis u, unit vector (3 columns)
    LLGS_MEFF = 7        # effective magnetisation M_eff (thin-film demagnetisation along z), A/m
    LLGS_PX = 8          # polarizer / reference layer p, unit vector (3 columns)
    LLGS_AJ = 11         # damping-like torque a_J per ampere, A/m per A
    LLGS_BETA = 12       # field-like torque ratio beta (field-like field = beta a_J I p)
    LLGS_OEX = 13        # Oersted field per ampere, A/m per A (3 columns)
    LLGS_ALPHA = 16      # Gilbert damping alpha
    LLGS_THERMAL = 17    # sigma = sqrt(2 alpha k_B T / (gamma mu0^2 M_s V)), A/m sqrt(s)
    LLGS_IDC = 18        # DC current, A
    LLGS_IRF = 19        # RF current amplitude, A
    LLGS_FRF = 20        # RF frequency, Hz
    LLGS_RP = 21         # parallel resistance, Ohm
    LLGS_RAP = 22        # antiparallel resistance, Ohm
    LLGS_NPARAM = 23
    LLGS_RESYNC = 1024
    LLGS_BLOCK = 8       # junctions integrated in lock-step by one call of _llgs_block

# gamma mu0 in rad / (s A/m): gamma = 1.760859e11 rad/(s T), mu0 = 4 pi 1e-7 T m/A
cdef double LLGS_GAMMA_MU0 = 1.760859e11 * 4.0e-7 * M_PI


cdef void _llgs_block(const double* par, const double* m_in, double* m_out, double* trace,
                      Py_ssize_t n_trace, Py_ssize_t trace_every, double* v_dc, double dt,
                      Py_ssize_t n_steps, Py_ssize_t n_settle, uint64_t key, Py_ssize_t first,
                      Py_ssize_t nb) noexcept nogil:
    # Junctions first .. first + nb - 1 (nb <= LLGS_BLOCK), integrated in lock-step so that the
    # arithmetic of independent junctions overlaps (and vectorises); every junction keeps its own
    # noise stream, so its trajectory does not depend on the block it is in.
    cdef DeviceStream ds[LLGS_BLOCK]
    cdef double g[LLGS_BLOCK]
    cdef double alpha[LLGS_BLOCK]
    cdef double hk[LLGS_BLOCK]
    cdef double meff[LLGS_BLOCK]
    cdef double ux[LLGS_BLOCK]
    cdef double uy[LLGS_BLOCK]
    cdef double uz[LLGS_BLOCK]
    cdef double px[LLGS_BLOCK]
    cdef double py[LLGS_BLOCK]
    cdef double pz[LLGS_BLOCK]
    cdef double bx[LLGS_BLOCK]
    cdef double by[LLGS_BLOCK]
    cdef double bz[LLGS_BLOCK]
    cdef double cx[LLGS_BLOCK]
    cdef double cy[LLGS_BLOCK]
    cdef double cz[LLGS_BLOCK]
    cdef double hax[LLGS_BLOCK]
    cdef double hay[LLGS_BLOCK]
    cdef double haz[LLGS_BLOCK]
    cdef double hx[LLGS_BLOCK]
    cdef double hy[LLGS_BLOCK]
    cdef double hz[LLGS_BLOCK]
    cdef double sig[LLGS_BLOCK]
    cdef double idc[LLGS_BLOCK]
    cdef double irf[LLGS_BLOCK]
    cdef double w[LLGS_BLOCK]
    cdef double rp[LLGS_BLOCK]
    cdef double dr[LLGS_BLOCK]
    cdef double cw[LLGS_BLOCK]
    cdef double sw[LLGS_BLOCK]
    cdef double c0[LLGS_BLOCK]
    cdef double s0[LLGS_BLOCK]
    cdef double mx[LLGS_BLOCK]
    cdef double my[LLGS_BLOCK]
    cdef double mz[LLGS_BLOCK]
    cdef double sum_i[LLGS_BLOCK]
    cdef double sum_r[LLGS_BLOCK]
    cdef double sum_ir[LLGS_BLOCK]
    cdef int noisy[LLGS_BLOCK]
    cdef int any_noisy = 0
    cdef const double* q
    cdef double c1, s1, i0, i1, Hx, Hy, Hz, Bx, By, Bz, Cx, Cy, Cz, mu, mc
    cdef double k1x, k1y, k1z, qx, qy, qz, qq, nx, ny, nz, inv, r, aj, beta, a
    cdef Py_ssize_t n, k, j = 0
    for k in range(nb):
        q = par + LLGS_NPARAM * k
        a = q[LLGS_ALPHA]
        alpha[k] = a
        g[k] = LLGS_GAMMA_MU0 / (1.0 + a * a) * dt
        hk[k] = q[LLGS_HK]
        meff[k] = q[LLGS_MEFF]
        ux[k] = q[LLGS_UX]
        uy[k] = q[LLGS_UX + 1]
        uz[k] = q[LLGS_UX + 2]
        px[k] = q[LLGS_PX]
        py[k] = q[LLGS_PX + 1]
        pz[k] = q[LLGS_PX + 2]
        aj = q[LLGS_AJ]
        beta = q[LLGS_BETA]
        # per ampere: B gets (beta - alpha) a_J p + h_oe, C gets (alpha beta + 1) a_J p + alpha h_oe
        bx[k] = (beta - a) * aj * px[k] + q[LLGS_OEX]
        by[k] = (beta - a) * aj * py[k] + q[LLGS_OEX + 1]
        bz[k] = (beta - a) * aj * pz[k] + q[LLGS_OEX + 2]
        cx[k] = (a * beta + 1.0) * aj * px[k] + a * q[LLGS_OEX]
        cy[k] = (a * beta + 1.0) * aj * py[k] + a * q[LLGS_OEX + 1]
        cz[k] = (a * beta + 1.0) * aj * pz[k] + a * q[LLGS_OEX + 2]
        hax[k] = q[LLGS_HX]
        hay[k] = q[LLGS_HX + 1]
        haz[k] = q[LLGS_HX + 2]
        hx[k] = hax[k]
        hy[k] = hay[k]
        hz[k] = haz[k]
        sig[k] = q[LLGS_THERMAL] / sqrt(dt)
        noisy[k] = sig[k] > 0.0
        if noisy[k]:
            any_noisy = 1
            stream_init(&ds[k], key, <uint64_t>(first + k))
        idc[k] = q[LLGS_IDC]
        irf[k] = q[LLGS_IRF]
        w[k] = 2.0 * M_PI * q[LLGS_FRF]
        cw[k] = cos(w[k] * dt)
        sw[k] = sin(w[k] * dt)
        c0[k] = 1.0
        s0[k] = 0.0
        rp[k] = q[LLGS_RP]
        dr[k] = 0.5 * (q[LLGS_RAP] - q[LLGS_RP])
        mx[k] = m_in[3 * k]
        my[k] = m_in[3 * k + 1]
        mz[k] = m_in[3 * k + 2]
        sum_i[k] = 0.0
        sum_r[k] = 0.0
        sum_ir[k] = 0.0
    if trace != NULL:
        for k in range(nb):
            trace[3 * n_trace * k] = mx[k]
            trace[3 * n_trace * k + 1] = my[k]
            trace[3 * n_trace * k + 2] = mz[k]
        j = 1
    for n in range(n_steps):
        if n >= n_settle:
            for k in range(nb):
                i0 = idc[k] + irf[k] * c0[k]
                r = rp[k] + dr[k] * (1.0 - (mx[k] * px[k] + my[k] * py[k] + mz[k] * pz[k]))
                sum_i[k] += i0
                sum_r[k] += r
                sum_ir[k] += i0 * r
        if any_noisy:
            for k in range(nb):
                if noisy[k]:
                    hx[k] = hax[k] + sig[k] * xoshiro_normal(&ds[k].state)
                    hy[k] = hay[k] + sig[k] * xoshiro_normal(&ds[k].state)
                    hz[k] = haz[k] + sig[k] * xoshiro_normal(&ds[k].state)
        for k in range(nb):
            # RF phase at t_{n+1} (rotation; re-synchronised below every LLGS_RESYNC steps)
            c1 = c0[k] * cw[k] - s0[k] * sw[k]
            s1 = s0[k] * cw[k] + c0[k] * sw[k]
            i0 = idc[k] + irf[k] * c0[k]
            i1 = idc[k] + irf[k] * c1
            c0[k] = c1
            s0[k] = s1
            # predictor
            mu = hk[k] * (mx[k] * ux[k] + my[k] * uy[k] + mz[k] * uz[k])
            Hx = hx[k] + mu * ux[k]
            Hy = hy[k] + mu * uy[k]
            Hz = hz[k] + mu * uz[k] - meff[k] * mz[k]
            Bx = Hx + i0 * bx[k]
            By = Hy + i0 * by[k]
            Bz = Hz + i0 * bz[k]
            Cx = alpha[k] * Hx + i0 * cx[k]
            Cy = alpha[k] * Hy + i0 * cy[k]
            Cz = alpha[k] * Hz + i0 * cz[k]
            mc = mx[k] * Cx + my[k] * Cy + mz[k] * Cz
            k1x = g[k] * (Cx - mx[k] * mc - (my[k] * Bz - mz[k] * By))
            k1y = g[k] * (Cy - my[k] * mc - (mz[k] * Bx - mx[k] * Bz))
            k1z = g[k] * (Cz - mz[k] * mc - (mx[k] * By - my[k] * Bx))
            qx = mx[k] + k1x
            qy = my[k] + k1y
            qz = mz[k] + k1z
            # corrector (same thermal field); the predictor is not a unit vector: keep (q.q) C
            mu = hk[k] * (qx * ux[k] + qy * uy[k] + qz * uz[k])
            Hx = hx[k] + mu * ux[k]
            Hy = hy[k] + mu * uy[k]
            Hz = hz[k] + mu * uz[k] - meff[k] * qz
            Bx = Hx + i1 * bx[k]
            By = Hy + i1 * by[k]
            Bz = Hz + i1 * bz[k]
            Cx = alpha[k] * Hx + i1 * cx[k]
            Cy = alpha[k] * Hy + i1 * cy[k]
            Cz = alpha[k] * Hz + i1 * cz[k]
            mc = qx * Cx + qy * Cy + qz * Cz
            qq = qx * qx + qy * qy + qz * qz
            nx = mx[k] + 0.5 * (k1x + g[k] * (qq * Cx - qx * mc - (qy * Bz - qz * By)))
            ny = my[k] + 0.5 * (k1y + g[k] * (qq * Cy - qy * mc - (qz * Bx - qx * Bz)))
            nz = mz[k] + 0.5 * (k1z + g[k] * (qq * Cz - qz * mc - (qx * By - qy * Bx)))
            inv = 1.0 / sqrt(nx * nx + ny * ny + nz * nz)
            mx[k] = nx * inv
            my[k] = ny * inv
            mz[k] = nz * inv
        if (n + 1) % LLGS_RESYNC == 0:
            for k in range(nb):
                c0[k] = cos(w[k] * ((n + 1) * dt))
                s0[k] = sin(w[k] * ((n + 1) * dt))
        if trace != NULL and (n + 1) % trace_every == 0:
            for k in range(nb):
                trace[3 * (n_trace * k + j)] = mx[k]
                trace[3 * (n_trace * k + j) + 1] = my[k]
                trace[3 * (n_trace * k + j) + 2] = mz[k]
            j += 1
    for k in range(nb):
        m_out[3 * k] = mx[k]
        m_out[3 * k + 1] = my[k]
        m_out[3 * k + 2] = mz[k]
        if n_steps > n_settle:
            r = 1.0 / <double>(n_steps - n_settle)
            v_dc[k] = sum_ir[k] * r - (sum_i[k] * r - idc[k]) * (sum_r[k] * r)
        else:
            v_dc[k] = 0.0


def llgs_integrate(const double[:, ::1] params, const double[:, ::1] m0, double dt,
                   Py_ssize_t n_steps, Py_ssize_t n_settle, Py_ssize_t trace_every,
                   generator, int n_threads=1):
    """Integrate N macrospins (stochastic Heun); private, validates nothing.

    Parameters
    ----------
    params : (N, 23) float64, C-contiguous; columns as documented in ``_kernel/llgs.pxi``.
    m0 : (N, 3) unit vectors.
    dt, n_steps : time step (s) and number of steps.
    n_settle : steps skipped before the rectified voltage is averaged.
    trace_every : keep m every this many steps (0: no trace).
    generator : numpy Generator; one 64-bit key is drawn per call.
    n_threads : OpenMP threads over devices (results do not depend on it).

    Returns
    -------
    m : (N, 3) final magnetisation; trace : (N, n_steps // trace_every + 1, 3) or None;
    v_dc : (N,) rectified voltage.
    """
    cdef Py_ssize_t n_dev = params.shape[0], b, n_blocks
    cdef uint64_t key = draw_key(generator)
    m_out = np.empty((n_dev, 3), dtype=np.float64)
    v_out = np.zeros(n_dev, dtype=np.float64)
    cdef double[:, ::1] mo = m_out
    cdef double[::1] vo = v_out
    cdef double[:, :, ::1] tr
    cdef Py_ssize_t n_trace = 0
    cdef int with_trace = trace_every > 0
    if with_trace:
        n_trace = n_steps // trace_every + 1
        trace_out = np.empty((n_dev, n_trace, 3), dtype=np.float64)
        tr = trace_out
    else:
        trace_out = None
        tr = np.empty((1, 1, 3), dtype=np.float64)
    if n_dev == 0:
        return m_out, trace_out, v_out
    n_blocks = (n_dev + LLGS_BLOCK - 1) // LLGS_BLOCK
    with nogil:
        for b in prange(n_blocks, num_threads=max(n_threads, 1), schedule="static"):
            _llgs_block(&params[b * LLGS_BLOCK, 0], &m0[b * LLGS_BLOCK, 0], &mo[b * LLGS_BLOCK, 0],
                        &tr[b * LLGS_BLOCK, 0, 0] if with_trace else <double*>NULL, n_trace,
                        trace_every, &vo[b * LLGS_BLOCK], dt, n_steps, n_settle, key,
                        b * LLGS_BLOCK, min(LLGS_BLOCK, n_dev - b * LLGS_BLOCK))
    return m_out, trace_out, v_out
