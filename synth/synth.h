/* synth — the optimization core.
 *
 * Owns: the float image type and its I/O, pyramids and resampling, loss terms,
 * the objective, optimizers, image parameterizations, and the render loops
 * (style, dream, classvis, neuron, invert, animate, explain).
 * Knows nothing about: ONNX, argv.
 *
 * This header is the whole contract of synth/; everything else in synth/ is
 * private.
 */
#ifndef SYNTH_SYNTH_H
#define SYNTH_SYNTH_H

#include "net/net.h"

/* ===== Images: the float image type, reading, writing, resampling ========== */

/* ===== Losses: (value, gradient) on activations ============================ */

/* ===== Optimizers ========================================================== */

#endif
