/* regularizers/internal.h — private to regularizers/: the boundary index rule
 * shared by the blur and the transforms, and the lock around FFTW's planner. */
#ifndef SYNTH_REGULARIZERS_INTERNAL_H
#define SYNTH_REGULARIZERS_INTERNAL_H

#include "regularizers/regularizers.h"

/* Where index i (any integer) of a row of n samples reads under boundary b:
 * an index in [0, n), or −1 for "the constant fill" (CONSTANT only). */
static inline long reg_boundary_index(long i, long n, reg_boundary b)
{
    if (i >= 0 && i < n)
        return i;
    switch (b) {
    case REG_BOUNDARY_REFLECT: { /* period 2n: 0 … n−1, n−1 … 0 */
        long m = i % (2 * n);
        if (m < 0)
            m += 2 * n;
        return m < n ? m : 2 * n - 1 - m;
    }
    case REG_BOUNDARY_EDGE:
        return i < 0 ? 0 : n - 1;
    case REG_BOUNDARY_WRAP: {
        long m = i % n;
        return m < 0 ? m + n : m;
    }
    case REG_BOUNDARY_CONSTANT:
    default:
        return -1;
    }
}

/* FFTW's planner (plan creation and destruction) is not thread-safe; every
 * fftwf_plan_* and fftwf_destroy_plan call in regularizers/ holds this lock. */
void reg_fftw_lock(void);
void reg_fftw_unlock(void);

/* n = C·H·W with overflow checks, for sizes handed to a create function;
 * records "<what>: ..." and returns false on bad or overflowing sizes. */
bool reg_image_size(int C, int H, int W, const char *what, size_t *n);

#endif
