/* vec.h — private to synth/: the few whole-array reductions and updates the
 * losses and optimizers share. Reductions accumulate float products in
 * double, in a fixed order (same inputs, same result), with several
 * independent partial sums for speed. */
#ifndef SYNTH_VEC_H
#define SYNTH_VEC_H

#include <stddef.h>

double vec_dot(const float *a, const float *b, size_t n);  /* Σ a_i b_i */
double vec_sum_abs(const float *a, size_t n);               /* Σ |a_i| */
double vec_max_abs(const float *a, size_t n);               /* max |a_i| */
/* Σ (a_i − b_i)², and when d is not NULL, d_i += scale·(a_i − b_i). */
double vec_diff_sq(const float *a, const float *b, size_t n, float scale, float *d);
void vec_axpy(float *y, float alpha, const float *x, size_t n); /* y += αx */
void vec_scale(float *x, float alpha, size_t n);                /* x *= α */

#endif
