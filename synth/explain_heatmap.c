/* Heat maps: synth's "ember" colormap, defined in Oklab, and the overlay of a
 * heat map on a picture.
 *
 * Oklab (Björn Ottosson, "A perceptual color space for image processing",
 * 2020) is built so that equal steps look equally large: lightness L in
 * [0, 1], chroma C and hue h in the (a, b) plane. The ramp is
 *   L(t) = 0.15 + 0.82 t                    (rises linearly: order readable)
 *   h(t) = 300° + 170° t                    (violet, red, orange, yellow)
 *   C(t) = 0.2 · sin(π (0.1 + 0.8 t))       (most colourful mid-way)
 * and where sRGB cannot show (L, C, h) the chroma is lowered until it can,
 * keeping L: lightness stays exactly linear. */
#include "synth/synth.h"

#include <math.h>
#include <stdlib.h>

/* Oklab -> linear sRGB (Ottosson's published matrices). */
static void oklab_to_linear_srgb(double L, double a, double b, double rgb[3])
{
    double l = L + 0.3963377774 * a + 0.2158037573 * b;
    double m = L - 0.1055613458 * a - 0.0638541728 * b;
    double s = L - 0.0894841775 * a - 1.2914855480 * b;
    l = l * l * l;
    m = m * m * m;
    s = s * s * s;
    rgb[0] = 4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s;
    rgb[1] = -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s;
    rgb[2] = -0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s;
}

static bool in_gamut(const double rgb[3])
{
    const double tol = 1e-9;
    return rgb[0] >= -tol && rgb[0] <= 1 + tol && rgb[1] >= -tol && rgb[1] <= 1 + tol &&
           rgb[2] >= -tol && rgb[2] <= 1 + tol;
}

/* The sRGB transfer function (IEC 61966-2-1). */
static double srgb_encode(double v)
{
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1 / 2.4) - 0.055;
}

void colormap_ember(double t, float rgb[3])
{
    const double pi = 3.14159265358979323846;
    t = isnan(t) ? 0 : t < 0 ? 0 : t > 1 ? 1 : t;
    double L = 0.15 + 0.82 * t, h = (300 + 170 * t) * pi / 180;
    double c = 0.2 * sin(pi * (0.1 + 0.8 * t)), lin[3];
    oklab_to_linear_srgb(L, c * cos(h), c * sin(h), lin);
    if (!in_gamut(lin)) { /* the largest chroma sRGB shows at this L and h */
        double lo = 0, hi = c;
        for (int i = 0; i < 40; i++) {
            double mid = (lo + hi) / 2;
            oklab_to_linear_srgb(L, mid * cos(h), mid * sin(h), lin);
            if (in_gamut(lin))
                lo = mid;
            else
                hi = mid;
        }
        oklab_to_linear_srgb(L, lo * cos(h), lo * sin(h), lin);
    }
    for (int k = 0; k < 3; k++)
        rgb[k] = (float)srgb_encode(lin[k]);
}

enum { RAMP = 1024 }; /* table entries; neighbours differ by < 1/255 */

/* heat [h, w] -> out: `base`'s size (or the heat's), bilinear between heat
 * values at pixel centres, colours from a table of the ramp. */
status heat_overlay(const tensor *heat, const image *base, double alpha, image *out)
{
    char buf[96];
    if (heat->ndim != 2 || heat->shape[0] < 1 || heat->shape[1] < 1 || heat->shape[0] > INT32_MAX ||
        heat->shape[1] > INT32_MAX)
        return error_set("heat map", "expected an HxW map, got %s",
                         shape_format(heat->ndim, heat->shape, buf, sizeof buf));
    int64_t h = heat->shape[0], w = heat->shape[1];
    int W = base->data ? base->width : (int)w, H = base->data ? base->height : (int)h;
    if (image_alloc(out, W, H, "heat map") != ST_OK)
        return ST_ERROR;
    float *ramp = alloc_array(RAMP, 3 * sizeof *ramp, "heat map");
    if (!ramp) {
        image_free(out);
        return ST_ERROR;
    }
    for (int i = 0; i < RAMP; i++)
        colormap_ember((double)i / (RAMP - 1), ramp + 3 * i);
    float top = 0;
    for (size_t i = 0; i < tensor_numel(heat); i++)
        top = fmaxf(top, heat->data[i]);
    double sy = (double)h / H, sx = (double)w / W;
    for (int y = 0; y < H; y++) {
        double v = fmin(fmax((y + 0.5) * sy - 0.5, 0), (double)(h - 1));
        int64_t y0 = (int64_t)v, y1 = y0 + 1 < h ? y0 + 1 : y0;
        double ty = v - (double)y0;
        for (int x = 0; x < W; x++) {
            double u = fmin(fmax((x + 0.5) * sx - 0.5, 0), (double)(w - 1));
            int64_t x0 = (int64_t)u, x1 = x0 + 1 < w ? x0 + 1 : x0;
            double tx = u - (double)x0;
            const float *r0 = heat->data + y0 * w, *r1 = heat->data + y1 * w;
            double value = (r0[x0] * (1 - tx) + r0[x1] * tx) * (1 - ty) + (r1[x0] * (1 - tx) + r1[x1] * tx) * ty;
            double t = top > 0 ? fmax(value, 0) / top : 0;
            t = t >= 0 && t <= 1 ? t : t > 1 ? 1 : 0; /* infinities, NaN */
            const float *c = ramp + 3 * (int)lround(t * (RAMP - 1));
            size_t p = (size_t)y * (size_t)W + (size_t)x;
            for (int k = 0; k < 3; k++) {
                float b = base->data ? image_plane(base, k)[p] : c[k];
                image_plane(out, k)[p] = (float)((1 - alpha) * b + alpha * c[k]);
            }
        }
    }
    free(ramp);
    return ST_OK;
}
