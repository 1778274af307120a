# Batched universal auto-oscillators (docs/physics.md#oscillator), stochastic Heun.
#
# Each device integrates its amplitude b = c exp(i wr t) in a frame rotating at its own angular
# frequency wr (the injection frequency, or w0 without injection), where a drive at wr is the
# constant complex F:
#
#     db/dt = -i (w0 - wr + N p) b - G_G (1 + Q p) b + sigma I (1 - p) b + F + f(t),   p = |b|^2
#     <f(t) f*(t')> = 2 D delta(t - t'),  D = eta G_G (1 + Q p)   (or eta G_G: constant_diffusion)
#
# The complex noise has independent real and imaginary parts of variance D dt each per step.
# The normals come from the inline ziggurat of random.pxi (xoshiro_normal), on the device's own stream.
# Stochastic Heun (Stratonovich): the predictor and the corrector use the same two normals, the
# noise amplitude sqrt(D) is averaged between the start and the predicted state.
# Trace: every `trace_every` steps (and at step 0), p and the unwrapped phase
# phi = wr t - arg(b) (so that c = sqrt(p) exp(-i phi), dphi/dt = instantaneous angular frequency).
# arg(b) is followed continuously by reading it every `unwrap_every` steps, chosen per block so
# that the deterministic drift relative to the frame, |w0 - wr| + 2 |N|, turns it by at most
# 1 rad in between (a drive or noise kick of more than 2 rad within that time would be missed).
# Each device runs its whole time loop from its own random stream: the result does not depend
# on the thread count. Devices are processed in blocks of _OSC_BLOCK in lockstep (independent
# dependency chains that the CPU overlaps); each device's arithmetic is the same in any block.

cdef enum:
    _OSC_BLOCK = 8


def oscillator_standard_normals(generator, Py_ssize_t n_streams, Py_ssize_t n_per_stream):
    """Draw ``n_per_stream`` deviates of the oscillator kernel's normal from each device stream.

    Returns (n_streams, n_per_stream); used to test the deviates' distribution.
    """
    cdef uint64_t key = draw_key(generator)
    out = np.empty((n_streams, n_per_stream), dtype=np.float64)
    cdef double[:, ::1] o = out
    cdef Py_ssize_t i, j
    cdef DeviceStream ds
    with nogil:
        for i in range(n_streams):
            stream_init(&ds, key, <uint64_t>i)
            for j in range(n_per_stream):
                o[i, j] = xoshiro_normal(&ds.state)
    return out


cdef inline void _osc_unwrap(double x, double y, double* acc, double* prev) noexcept nogil:
    # follow arg(x + i y) continuously from its last value (steps of less than pi)
    cdef double a = atan2(y, x)
    cdef double delta = a - prev[0]
    if delta > M_PI:
        delta -= 2.0 * M_PI
    elif delta < -M_PI:
        delta += 2.0 * M_PI
    acc[0] += delta
    prev[0] = a


cdef void _osc_block(Py_ssize_t first, Py_ssize_t count, uint64_t key,
                     const double* omega0, const double* shift, const double* damping_rate,
                     const double* nonlinear_damping, const double* sigma, const double* eta,
                     const double* current, const double* frame_omega,
                     const double* drive_re, const double* drive_im,
                     double* state_re, double* state_im,
                     Py_ssize_t n_steps, double dt, int constant_diffusion,
                     Py_ssize_t trace_every, double* trace_power, double* trace_phase,
                     Py_ssize_t n_trace) noexcept nogil:
    # Devices first .. first + count - 1 (count <= _OSC_BLOCK) in lockstep, as a structure of
    # arrays: the normals of a step are drawn first, then one loop without calls updates every
    # lane (the compiler vectorises it). Unused lanes hold zeros and stay at zero.
    # Per lane, with the step folded in: r(p) dt = a0 - a1 p, (w(p) - wr) dt = b0 + b1 p,
    # D(p) dt = d0 + d1 p (the variance of each noise component over a step).
    cdef double x[_OSC_BLOCK]
    cdef double y[_OSC_BLOCK]
    cdef double a0[_OSC_BLOCK]      # (sigma I - G_G) dt
    cdef double a1[_OSC_BLOCK]      # (sigma I + G_G Q) dt
    cdef double b0[_OSC_BLOCK]      # (w0 - wr) dt
    cdef double b1[_OSC_BLOCK]      # N dt
    cdef double fx[_OSC_BLOCK]      # Re F dt
    cdef double fy[_OSC_BLOCK]      # Im F dt
    cdef double d0[_OSC_BLOCK]      # eta G_G dt
    cdef double d1[_OSC_BLOCK]      # eta G_G Q dt (0 for constant diffusion)
    cdef double n1[_OSC_BLOCK]
    cdef double n2[_OSC_BLOCK]
    cdef double acc[_OSC_BLOCK]
    cdef double prev[_OSC_BLOCK]
    cdef DeviceStream ds[_OSC_BLOCK]
    cdef Py_ssize_t j, i, step, k
    cdef double p, r, w, ax, ay, g0, g1, xp, yp
    cdef bint any_trace = trace_every > 0
    cdef Py_ssize_t unwrap_every = trace_every, to_unwrap, to_trace
    cdef double drift_per_step = 0.0
    cdef bint noisy = False
    for j in range(_OSC_BLOCK):
        x[j] = 0.0; y[j] = 0.0; a0[j] = 0.0; a1[j] = 0.0; b0[j] = 0.0; b1[j] = 0.0
        fx[j] = 0.0; fy[j] = 0.0; d0[j] = 0.0; d1[j] = 0.0; n1[j] = 0.0; n2[j] = 0.0
    for j in range(count):
        i = first + j
        a0[j] = (sigma[i] * current[i] - damping_rate[i]) * dt
        a1[j] = (sigma[i] * current[i] + damping_rate[i] * nonlinear_damping[i]) * dt
        b0[j] = (omega0[i] - frame_omega[i]) * dt
        b1[j] = shift[i] * dt
        fx[j] = drive_re[i] * dt
        fy[j] = drive_im[i] * dt
        d0[j] = eta[i] * damping_rate[i] * dt
        d1[j] = 0.0 if constant_diffusion else d0[j] * nonlinear_damping[i]
        x[j] = state_re[i]
        y[j] = state_im[i]
        if eta[i] > 0.0:
            noisy = True
        stream_init(&ds[j], key, <uint64_t>i)
        if any_trace:
            prev[j] = atan2(y[j], x[j])
            acc[j] = prev[j]
            trace_power[i * n_trace] = x[j] * x[j] + y[j] * y[j]
            trace_phase[i * n_trace] = -acc[j]
    for j in range(count):
        drift_per_step = max(drift_per_step, fabs(b0[j]) + 2.0 * fabs(b1[j]))
    if any_trace and drift_per_step * trace_every > 1.0:
        unwrap_every = max(<Py_ssize_t>(1.0 / drift_per_step), 1)
    to_unwrap = unwrap_every
    to_trace = trace_every
    k = 0
    for step in range(1, n_steps + 1):
        if noisy:
            for j in range(count):
                n1[j] = xoshiro_normal(&ds[j].state)
                n2[j] = xoshiro_normal(&ds[j].state)
            for j in range(_OSC_BLOCK):
                p = x[j] * x[j] + y[j] * y[j]
                r = a0[j] - a1[j] * p
                w = b0[j] + b1[j] * p
                ax = r * x[j] + w * y[j] + fx[j]
                ay = r * y[j] - w * x[j] + fy[j]
                g0 = sqrt(d0[j] + d1[j] * p)
                xp = x[j] + ax + g0 * n1[j]
                yp = y[j] + ay + g0 * n2[j]
                p = xp * xp + yp * yp
                r = a0[j] - a1[j] * p
                w = b0[j] + b1[j] * p
                g1 = 0.5 * (g0 + sqrt(d0[j] + d1[j] * p))
                x[j] = x[j] + 0.5 * (ax + r * xp + w * yp + fx[j]) + g1 * n1[j]
                y[j] = y[j] + 0.5 * (ay + r * yp - w * xp + fy[j]) + g1 * n2[j]
        else:
            for j in range(_OSC_BLOCK):
                p = x[j] * x[j] + y[j] * y[j]
                r = a0[j] - a1[j] * p
                w = b0[j] + b1[j] * p
                ax = r * x[j] + w * y[j] + fx[j]
                ay = r * y[j] - w * x[j] + fy[j]
                xp = x[j] + ax
                yp = y[j] + ay
                p = xp * xp + yp * yp
                r = a0[j] - a1[j] * p
                w = b0[j] + b1[j] * p
                x[j] = x[j] + 0.5 * (ax + r * xp + w * yp + fx[j])
                y[j] = y[j] + 0.5 * (ay + r * yp - w * xp + fy[j])
        if any_trace:
            to_unwrap -= 1
            to_trace -= 1
            if to_unwrap == 0 or to_trace == 0:
                for j in range(count):
                    _osc_unwrap(x[j], y[j], &acc[j], &prev[j])
                to_unwrap = unwrap_every
            if to_trace == 0:
                k += 1
                for j in range(count):
                    i = first + j
                    trace_power[i * n_trace + k] = x[j] * x[j] + y[j] * y[j]
                    trace_phase[i * n_trace + k] = frame_omega[i] * (step * dt) - acc[j]
                to_trace = trace_every
    for j in range(count):
        state_re[first + j] = x[j]
        state_im[first + j] = y[j]


def oscillator_integrate(generator,
                         const double[::1] omega0, const double[::1] shift,
                         const double[::1] damping_rate, const double[::1] nonlinear_damping,
                         const double[::1] sigma, const double[::1] eta,
                         const double[::1] current, const double[::1] frame_omega,
                         const double[::1] drive_re, const double[::1] drive_im,
                         double[::1] state_re, double[::1] state_im,
                         Py_ssize_t n_steps, double dt, bint constant_diffusion,
                         Py_ssize_t trace_every, double[:, ::1] trace_power,
                         double[:, ::1] trace_phase, int n_threads=1):
    """Integrate N auto-oscillators for ``n_steps`` steps of ``dt`` (private: validates nothing).

    All 1-d arrays have length N (per device, SI: rad/s, A, rad/(s A)); the state (b in the frame
    rotating at ``frame_omega``) is updated in place. With ``trace_every > 0`` the traces are
    (N, n_steps // trace_every + 1) arrays filled with p and the unwrapped phase; otherwise pass
    (0, 0) arrays. One 64-bit key is drawn from ``generator``.
    """
    cdef uint64_t key = draw_key(generator)
    cdef Py_ssize_t n = omega0.shape[0]
    cdef Py_ssize_t n_blocks = (n + _OSC_BLOCK - 1) // _OSC_BLOCK
    cdef Py_ssize_t b, first, count
    cdef Py_ssize_t n_trace = trace_power.shape[1] if trace_every > 0 else 0
    cdef double* tp = &trace_power[0, 0] if n_trace > 0 else NULL
    cdef double* tph = &trace_phase[0, 0] if n_trace > 0 else NULL
    cdef int cd = 1 if constant_diffusion else 0
    if n == 0:
        return
    with nogil:
        for b in prange(n_blocks, num_threads=max(n_threads, 1), schedule="static"):
            first = b * _OSC_BLOCK
            count = min(_OSC_BLOCK, n - first)
            _osc_block(first, count, key, &omega0[0], &shift[0], &damping_rate[0],
                       &nonlinear_damping[0], &sigma[0], &eta[0], &current[0], &frame_omega[0],
                       &drive_re[0], &drive_im[0], &state_re[0], &state_im[0],
                       n_steps, dt, cd, trace_every, tp, tph, n_trace)


# Static transfer of the compact output model (docs/physics.md#output-power-and-the-clamp), in one pass: for a neuron's
# current I (A), clamped to Ic in [I_th, I_max], xi = Ic / I_th,
#     P_out = A p0 k R Ic^2,   p0 = (xi - 1) / (xi + Q) above threshold, 0 at or below,
#     dP_out/dI = A_s (dp0/dI I^2 + 2 p0 I) for I_th <= I <= I_max, 0 outside,
#     dp0/dI = (Q + 1) / ((xi + Q)^2 I_th),
# with k = (TMR beta)^2 and A_s = A k R, each product in the order of the numpy reference
# (rfemu.devices.oscillator.output_power, d_output_power_d_current): the same bits. Currents
# (B, C); per-neuron parameters (C,). Rows run in parallel.

cdef extern from *:
    """
    /* One row of the compact output model's transfer (see oscillator.pxi): restrict pointers and
       branch-free selections, so that the compiler vectorises the loop over the neurons. */
    static void rfemu_output_power_row(const double *__restrict current,
                                       const double *__restrict threshold,
                                       const double *__restrict max_current,
                                       const double *__restrict q,
                                       const double *__restrict amplitude,
                                       const double *__restrict k, const double *__restrict r,
                                       const double *__restrict scale,
                                       double *__restrict power, double *__restrict d_power,
                                       int want_derivative, Py_ssize_t n)
    {
        Py_ssize_t c;
        for (c = 0; c < n; c++) {
            double i = current[c], ith = threshold[c], imax = max_current[c];
            double ic = i < ith ? ith : i;
            ic = ic > imax ? imax : ic;
            double xi = ic / ith;
            double p0 = xi > 1.0 ? (xi - 1.0) / (xi + q[c]) : 0.0;
            power[c] = amplitude[c] * p0 * k[c] * r[c] * (ic * ic);
        }
        if (!want_derivative)
            return;
        for (c = 0; c < n; c++) {
            double i = current[c], ith = threshold[c], qc = q[c];
            double xi = i / ith, xq = xi + qc;
            double p0 = xi > 1.0 ? (xi - 1.0) / xq : 0.0;
            double d = scale[c] * ((qc + 1.0) / (xq * xq) / ith * (i * i) + 2.0 * p0 * i);
            d_power[c] = (i >= ith && i <= max_current[c]) ? d : 0.0;
        }
    }
    """
    void rfemu_output_power_row(const double* current, const double* threshold,
                                const double* max_current, const double* q, const double* amplitude,
                                const double* k, const double* r, const double* scale,
                                double* power, double* d_power, int want_derivative,
                                Py_ssize_t n) nogil


def _output_power_transfer(const double[:, ::1] current, const double[::1] threshold,
                           const double[::1] max_current, const double[::1] nonlinear_damping,
                           const double[::1] amplitude, const double[::1] k, const double[::1] r,
                           const double[::1] scale, double[:, ::1] power, double[:, ::1] d_power,
                           bint want_derivative, int n_threads=1):
    """P_out (into ``power``) and, with ``want_derivative``, dP_out/dI (into ``d_power``)."""
    cdef Py_ssize_t B = current.shape[0], C = current.shape[1]
    cdef Py_ssize_t b
    if B == 0 or C == 0:
        return
    with nogil:
        for b in prange(B, num_threads=max(n_threads, 1), schedule="static"):
            rfemu_output_power_row(&current[b, 0], &threshold[0], &max_current[0],
                                   &nonlinear_damping[0], &amplitude[0], &k[0], &r[0], &scale[0],
                                   &power[b, 0],
                                   &d_power[b, 0] if want_derivative else &power[b, 0],
                                   want_derivative, C)
