/* What the regularizers share: value ranges, checked image sizes, and the
 * lock that serializes FFTW's planner. */
#include "regularizers/internal.h"

#include <pthread.h>

static pthread_mutex_t fftw_planner = PTHREAD_MUTEX_INITIALIZER;

void reg_fftw_lock(void) { pthread_mutex_lock(&fftw_planner); }
void reg_fftw_unlock(void) { pthread_mutex_unlock(&fftw_planner); }

bool reg_image_size(int C, int H, int W, const char *what, size_t *n)
{
    if (C < 1 || H < 1 || W < 1) {
        error_set(what, "bad image size %d x %d x %d", C, H, W);
        return false;
    }
    if (!size_mul3((size_t)C, (size_t)H, (size_t)W, n)) {
        error_prefix(what);
        return false;
    }
    return true;
}

reg_range reg_range_unit(int channels)
{
    reg_range r = {.channels = channels};
    for (int c = 0; c < REG_MAX_CHANNELS; c++) {
        r.lo[c] = 0.0f;
        r.hi[c] = 1.0f;
        r.center[c] = 0.5f;
    }
    return r;
}

reg_range reg_range_normalized(int channels, float scale, const float *mean, const float *std)
{
    reg_range r = reg_range_unit(channels);
    for (int c = 0; c < channels && c < REG_MAX_CHANNELS; c++) {
        r.lo[c] = -mean[c] / std[c];
        r.hi[c] = (scale - mean[c]) / std[c];
        r.center[c] = 0.0f;
    }
    return r;
}
