/* Fuzz target: the image decoders (PNG through libpng, JPEG through
 * libjpeg-turbo) on bytes in memory, headers only and full decode.
 * Invariants: a full decode succeeds only where the header probe does, with
 * the same size, and every sample is finite and in [0, 1]. */
#include "fuzz.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 4 Mpixels (48 MB of floats) keeps one run quick; the limit logic is
     * the same at the default 2^28. */
    image_set_pixel_limit((uint64_t)1 << 22);
    image_info info;
    status probed = image_probe_memory(data, size, FUZZ_NAME, &info);
    fuzz_check_error(probed);
    if (probed == ST_OK) {
        if (info.width < 1 || info.height < 1 || info.channels < 1 || info.channels > 4 || !info.color)
            fuzz_fail("probe", "implausible header");
        for (int i = 0; i < info.text_count; i++)
            if (!info.text[i].key || !info.text[i].value)
                fuzz_fail("probe", "text entry without key or value");
    }
    image im;
    status decoded = image_decode(data, size, FUZZ_NAME, &im);
    fuzz_check_error(decoded);
    if (decoded == ST_OK) {
        if (probed != ST_OK)
            fuzz_fail("decode succeeded where the probe failed", "");
        if (im.width != info.width || im.height != info.height)
            fuzz_fail("decode and probe disagree on the size", "");
        size_t n = 3 * (size_t)im.width * (size_t)im.height;
        for (size_t i = 0; i < n; i++)
            if (!(im.data[i] >= 0.0f && im.data[i] <= 1.0f))
                fuzz_fail("decode", "a sample outside [0, 1]");
        image_free(&im);
    } else if (im.data) {
        fuzz_fail("decode failed but left pixels", "");
    }
    image_info_free(&info);
    return 0;
}
