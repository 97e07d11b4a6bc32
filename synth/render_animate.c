/* synth animate's frames: DeepDream zoom animation as the deepdream
 * notebook makes it, frame k+1 = dream(zoom, rotate and shift of frame k).
 * The files (frames, resuming, encoding) are cli/'s; this is one frame. */
#include "synth/render_internal.h"

#include <math.h>
#include <string.h>

void animate_options_default(animate_options *o)
{
    memset(o, 0, sizeof *o);
    dream_options_default(&o->dream);
    o->zoom = 1.05;
    o->resample = 0;
    o->fps = 24;
}

int animate_frame_seed(int seed, int k)
{
    /* splitmix64's finalizer on (seed, k) packed in 64 bits */
    uint64_t z = ((uint64_t)(uint32_t)seed << 32 | (uint32_t)k) + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (int)(z & 0x7FFFFFFF);
}

status render_animate_frame(const animate_options *o, net_model *m, const image *prev, int k,
                            const image *guide, const render_callbacks *cb, image *out)
{
    *out = (image){0};
    if (k < 0)
        return error_set("animate", "frame %d", k);
    dream_options d = o->dream;
    d.run.seed = animate_frame_seed(o->dream.run.seed, k);
    if (k == 0)
        return render_dream(&d, m, prev, guide, cb, out);
    double dx = o->shift.count == 2 ? o->shift.values[0] : 0;
    double dy = o->shift.count == 2 ? o->shift.values[1] : 0;
    image moved = {0};
    image_resample filter = o->resample == 1 ? IMAGE_RESAMPLE_LANCZOS : IMAGE_RESAMPLE_BICUBIC;
    if (image_warp(prev, o->zoom, o->rotate * M_PI / 180, dx, dy, filter, &moved) != ST_OK)
        return ST_ERROR;
    /* Clamped, as a written frame would be: the dream starts in range. */
    size_t n = (size_t)3 * moved.width * moved.height;
    for (size_t i = 0; i < n; i++)
        moved.data[i] = moved.data[i] < 0 ? 0 : moved.data[i] > 1 ? 1 : moved.data[i];
    d.run.size = 0; /* the frame keeps prev's size */
    status st = render_dream(&d, m, &moved, guide, cb, out);
    image_free(&moved);
    return st;
}
