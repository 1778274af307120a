# Adam, one step on a flat parameter vector in place (rfemu.learning.backprop._Adam is the caller
# and holds the numpy reference). Per element, the operations and their order are the numpy
# reference's, each rounded separately (-ffp-contract=off), so the bits are the same:
#     m = m b1 + g (1 - b1);   v = v b2 + (g (1 - b2)) g
#     p = p - (lr factor) (m / c1) / (sqrt(v / c2) + eps),   then clipped to [low, high]
# (lr: one value, or one per element; lr factor (m / c1) is the reference's product in the order
# it computes it: multiplication commutes exactly).

cdef extern from *:
    """
    #include <math.h>
    /* lr: one step size lr[0] (per_element 0) or one per element; restrict and branch-free
       loops, so that the compiler vectorises them. */
    static void rfemu_adam_loop(double *__restrict p, const double *__restrict g,
                                double *__restrict m, double *__restrict v,
                                const double *__restrict lr, double factor, int per_element,
                                double b1, double b2, double c1, double c2, double eps,
                                const double *__restrict low, const double *__restrict high,
                                Py_ssize_t n)
    {
        const double omb1 = 1 - b1, omb2 = 1 - b2, step_size = lr[0] * factor;
        Py_ssize_t i;
        if (per_element) {
            for (i = 0; i < n; i++) {
                double gi = g[i], mi = m[i] * b1 + gi * omb1, vi = v[i] * b2 + (gi * omb2) * gi;
                double x = p[i] - ((lr[i] * factor) * (mi / c1)) / (sqrt(vi / c2) + eps);
                m[i] = mi; v[i] = vi;
                x = x < low[i] ? low[i] : x;
                p[i] = x > high[i] ? high[i] : x;
            }
        } else {
            for (i = 0; i < n; i++) {
                double gi = g[i], mi = m[i] * b1 + gi * omb1, vi = v[i] * b2 + (gi * omb2) * gi;
                double x = p[i] - (step_size * (mi / c1)) / (sqrt(vi / c2) + eps);
                m[i] = mi; v[i] = vi;
                x = x < low[i] ? low[i] : x;
                p[i] = x > high[i] ? high[i] : x;
            }
        }
    }
    """
    void rfemu_adam_loop(double* p, const double* g, double* m, double* v, const double* lr,
                         double factor, int per_element, double b1, double b2, double c1, double c2,
                         double eps, const double* low, const double* high, Py_ssize_t n) nogil


def _adam_step(double[::1] p, const double[::1] g, double[::1] m, double[::1] v,
               const double[::1] lr, double factor, double b1, double b2, double c1, double c2,
               double eps, const double[::1] low, const double[::1] high):
    """One Adam step on ``p`` (n,), in place, with gradient ``g``; moments ``m``, ``v`` updated;
    ``lr`` (1,) or (n,); the result clipped to [low, high] (n,) (use infinities for no bound)."""
    cdef Py_ssize_t n = p.shape[0]
    if n == 0:
        return
    with nogil:
        rfemu_adam_loop(&p[0], &g[0], &m[0], &v[0], &lr[0], factor, lr.shape[0] == n and n > 1,
                   b1, b2, c1, c2, eps, &low[0], &high[0], n)
