/* render_check.h — what the render tests share: their models and images. */
#ifndef SYNTH_TESTS_RENDER_CHECK_H
#define SYNTH_TESTS_RENDER_CHECK_H

#include "check.h"
#include "synth/synth.h"

#define SMOOTH_MODEL SYNTH_TEST_DATA "/render/smooth.onnx"
#define EXAMPLES SYNTH_TEST_DATA "/../../docs/examples/"

/* A w×h RGB image of independent uniform values in [lo, hi), from `seed`. */
static inline void random_image(image *im, int w, int h, uint64_t seed, double lo, double hi)
{
    REQUIRE(image_alloc(im, w, h, "test") == ST_OK);
    rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < (size_t)3 * w * h; i++)
        im->data[i] = (float)(lo + (hi - lo) * rng_uniform(&r));
}

#endif
