/* Resampling: image_resize() against a direct 2-D reference written here in
 * double (no weight tables, no separability), constant images, and exact
 * block means for integer area downscales. */
#include "check.h"
#include "synth/synth.h"

static const char *filter_name[] = {"area", "lanczos", "bicubic"};

/* The kernels, from their definitions. */
static double ref_kernel(image_resample f, double x)
{
    x = fabs(x);
    if (f == IMAGE_RESAMPLE_LANCZOS) { /* sinc(x) sinc(x/3), |x| < 3 */
        if (x == 0)
            return 1;
        if (x >= 3)
            return 0;
        return sin(M_PI * x) / (M_PI * x) * sin(M_PI * x / 3) / (M_PI * x / 3);
    }
    /* Keys: a = -0.5 */
    double a = -0.5;
    if (x <= 1)
        return (a + 2) * x * x * x - (a + 3) * x * x + 1;
    if (x < 2)
        return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a;
    return 0;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static double overlap(double a0, double a1, double b0, double b1)
{
    double lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
    return hi > lo ? hi - lo : 0;
}

/* Output pixel (ox, oy) of channel c, computed directly. */
static double reference(const image *src, int w, int h, image_resample f, int c, int ox, int oy)
{
    int W = src->width, H = src->height;
    const float *p = image_plane(src, c);
    double sum = 0, wsum = 0;
    if (f == IMAGE_RESAMPLE_AREA) {
        /* the output pixel's footprint in source coordinates */
        double x0 = (double)ox * W / w, x1 = (double)(ox + 1) * W / w;
        double y0 = (double)oy * H / h, y1 = (double)(oy + 1) * H / h;
        for (int j = 0; j < H; j++)
            for (int i = 0; i < W; i++) {
                double a = overlap(x0, x1, i, i + 1) * overlap(y0, y1, j, j + 1);
                sum += a * p[j * W + i];
                wsum += a;
            }
        return sum / wsum;
    }
    double sx = w < W ? (double)w / W : 1, sy = h < H ? (double)h / H : 1;
    double cx = (ox + 0.5) * W / w - 0.5, cy = (oy + 0.5) * H / h - 0.5;
    double rx = (f == IMAGE_RESAMPLE_LANCZOS ? 3 : 2) / sx, ry = (f == IMAGE_RESAMPLE_LANCZOS ? 3 : 2) / sy;
    for (int j = (int)floor(cy - ry) - 1; j <= (int)ceil(cy + ry) + 1; j++)
        for (int i = (int)floor(cx - rx) - 1; i <= (int)ceil(cx + rx) + 1; i++) {
            double k = ref_kernel(f, (i - cx) * sx) * ref_kernel(f, (j - cy) * sy);
            sum += k * p[clampi(j, 0, H - 1) * W + clampi(i, 0, W - 1)];
            wsum += k;
        }
    return sum / wsum;
}

static const int sizes[][4] = {
    /* W, H -> w, h */
    {37, 23, 16, 11}, {37, 23, 80, 50}, {37, 23, 37, 10}, {37, 23, 26, 23}, {5, 4, 13, 2},
    {1, 1, 4, 3},     {64, 48, 45, 34}, {9, 30, 1, 1},    {40, 3, 7, 9},
};
enum { SIZE_COUNT = sizeof sizes / sizeof sizes[0] };

static void test_against_reference(void)
{
    rng r;
    rng_seed(&r, 5);
    for (int s = 0; s < SIZE_COUNT; s++) {
        image src;
        REQUIRE(image_alloc(&src, sizes[s][0], sizes[s][1], "test") == ST_OK);
        for (size_t i = 0; i < 3u * src.width * src.height; i++)
            src.data[i] = (float)rng_uniform(&r);
        for (int f = 0; f < 3; f++) {
            int w = sizes[s][2], h = sizes[s][3];
            image dst;
            CHECK_OK(image_resize(&src, w, h, (image_resample)f, &dst));
            REQUIRE(dst.data && dst.width == w && dst.height == h);
            double worst = 0;
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        worst = fmax(worst, fabs(image_plane(&dst, c)[y * w + x] -
                                                 reference(&src, w, h, (image_resample)f, c, x, y)));
            if (worst > 1e-5)
                fprintf(stderr, "%s %dx%d -> %dx%d: worst %g\n", filter_name[f], sizes[s][0], sizes[s][1],
                        w, h, worst);
            CHECK(worst <= 1e-5);
            image_free(&dst);
        }
        image_free(&src);
    }
}

static void test_constant(void)
{
    for (int s = 0; s < SIZE_COUNT; s++) {
        image src;
        REQUIRE(image_alloc(&src, sizes[s][0], sizes[s][1], "test") == ST_OK);
        for (size_t i = 0; i < 3u * src.width * src.height; i++)
            src.data[i] = 0.37f;
        for (int f = 0; f < 3; f++) {
            /* both directions, and the shape reversed */
            int targets[3][2] = {{sizes[s][2], sizes[s][3]}, {sizes[s][3], sizes[s][2]}, {3 * src.width, 2}};
            for (int t = 0; t < 3; t++) {
                image dst;
                CHECK_OK(image_resize(&src, targets[t][0], targets[t][1], (image_resample)f, &dst));
                REQUIRE(dst.data);
                double worst = 0;
                for (size_t i = 0; i < 3u * dst.width * dst.height; i++)
                    worst = fmax(worst, fabs(dst.data[i] - 0.37));
                CHECK(worst <= 1e-6);
                image_free(&dst);
            }
        }
        image_free(&src);
    }
}

static void test_area_blocks(void)
{
    rng r;
    rng_seed(&r, 6);
    image src, dst;
    REQUIRE(image_alloc(&src, 12, 9, "test") == ST_OK);
    for (size_t i = 0; i < 3u * 12 * 9; i++)
        src.data[i] = (float)rng_uniform(&r);
    CHECK_OK(image_resize(&src, 4, 3, IMAGE_RESAMPLE_AREA, &dst)); /* 3 x 3 blocks */
    REQUIRE(dst.data);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 4; x++) {
                double mean = 0;
                for (int j = 0; j < 3; j++)
                    for (int i = 0; i < 3; i++)
                        mean += image_plane(&src, c)[(3 * y + j) * 12 + 3 * x + i] / 9.0;
                CHECK_NEAR(image_plane(&dst, c)[y * 4 + x], mean, 1e-6);
            }
    image_free(&dst);
    /* same size: a copy */
    CHECK_OK(image_resize(&src, 12, 9, IMAGE_RESAMPLE_LANCZOS, &dst));
    CHECK(dst.data && dst.data != src.data && memcmp(dst.data, src.data, 3 * 12 * 9 * sizeof(float)) == 0);
    image_free(&dst);
    CHECK_FAILS_WITH(image_resize(&src, 0, 5, IMAGE_RESAMPLE_AREA, &dst), "invalid image size");
    CHECK(dst.data == NULL);
    CHECK_FAILS_WITH(image_resize(&src, 5, 5, (image_resample)7, &dst), "unknown filter");
    image none = {0};
    CHECK_FAILS_WITH(image_resize(&none, 5, 5, IMAGE_RESAMPLE_AREA, &dst), "no source image");
    image_free(&src);
}

/* ----- image_warp ------------------------------------------------------------ */

/* Output pixel (i, j) of channel c of the warp, from its definition in
 * synth.h: the source point, then a direct 2-D kernel sum over every source
 * pixel (clamped), normalized. */
static double warp_reference(const image *src, double zoom, double th, double dx, double dy,
                             image_resample f, int c, int i, int j)
{
    int W = src->width, H = src->height;
    double cy = (H - 1) / 2.0, cx = (W - 1) / 2.0, a = i - cy - dy, b = j - cx - dx;
    double u = cy + (a * cos(th) + b * sin(th)) / zoom, v = cx + (b * cos(th) - a * sin(th)) / zoom;
    double s = zoom < 1 ? zoom : 1, sum = 0, wsum = 0;
    const float *p = image_plane(src, c);
    for (int y = (int)floor(u) - 14; y <= (int)ceil(u) + 14; y++)
        for (int x = (int)floor(v) - 14; x <= (int)ceil(v) + 14; x++) {
            double k = ref_kernel(f, (y - u) * s) * ref_kernel(f, (x - v) * s);
            sum += k * p[clampi(y, 0, H - 1) * W + clampi(x, 0, W - 1)];
            wsum += k;
        }
    return sum / wsum;
}

static void fill_random(image *im, rng *r)
{
    for (size_t i = 0; i < (size_t)3 * im->width * im->height; i++)
        im->data[i] = (float)rng_uniform(r);
}

static void test_warp_reference(void)
{
    static const double cases[][4] = {
        /* zoom, degrees, dx, dy */
        {1.05, 0, 0, 0}, {1.3, 17, 2.5, -1.25}, {0.7, -40, 0, 3}, {0.3, 5, 0, 0}, {2, 90, 0.5, 0.5},
    };
    rng r;
    rng_seed(&r, 11);
    image src, dst;
    REQUIRE(image_alloc(&src, 23, 17, "test") == ST_OK);
    fill_random(&src, &r);
    for (int f = IMAGE_RESAMPLE_LANCZOS; f <= IMAGE_RESAMPLE_BICUBIC; f++)
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            double zoom = cases[k][0], th = cases[k][1] * M_PI / 180;
            REQUIRE(image_warp(&src, zoom, th, cases[k][2], cases[k][3], f, &dst) == ST_OK);
            REQUIRE(dst.width == 23 && dst.height == 17);
            double worst = 0;
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < 17; i++)
                    for (int j = 0; j < 23; j++) {
                        double want = warp_reference(&src, zoom, th, cases[k][2], cases[k][3], f, c, i, j);
                        double got = image_plane(&dst, c)[i * 23 + j];
                        worst = fmax(worst, fabs(got - want));
                    }
            if (worst > 1e-5)
                fprintf(stderr, "warp %s case %zu: max error %g\n", filter_name[f], k, worst);
            CHECK(worst <= 1e-5);
            image_free(&dst);
        }
    image_free(&src);
}

/* No change copies exactly; whole-pixel shifts and quarter turns move
 * pixels exactly; a constant stays constant; bad arguments fail. */
static void test_warp_exact(void)
{
    rng r;
    rng_seed(&r, 12);
    image src, dst;
    REQUIRE(image_alloc(&src, 16, 16, "test") == ST_OK);
    fill_random(&src, &r);
    for (int f = IMAGE_RESAMPLE_LANCZOS; f <= IMAGE_RESAMPLE_BICUBIC; f++) {
        REQUIRE(image_warp(&src, 1, 0, 0, 0, f, &dst) == ST_OK);
        CHECK(memcmp(dst.data, src.data, sizeof(float) * 3 * 16 * 16) == 0);
        image_free(&dst);
        /* 3 right, 2 up: dst(i, j) = src(i + 2, j - 3) inside */
        REQUIRE(image_warp(&src, 1, 0, 3, -2, f, &dst) == ST_OK);
        bool same = true;
        for (int i = 0; i < 14; i++)
            for (int j = 3; j < 16; j++)
                same &= dst.data[i * 16 + j] == src.data[(i + 2) * 16 + j - 3];
        CHECK(same);
        image_free(&dst);
        /* a quarter turn counter-clockwise: dst(i, j) = src(j, 15 - i) */
        REQUIRE(image_warp(&src, 1, M_PI / 2, 0, 0, f, &dst) == ST_OK);
        same = true;
        for (int i = 0; i < 16; i++)
            for (int j = 0; j < 16; j++)
                same &= fabsf(dst.data[i * 16 + j] - src.data[j * 16 + 15 - i]) < 1e-6f;
        CHECK(same);
        image_free(&dst);
    }
    image flat;
    REQUIRE(image_alloc(&flat, 9, 7, "test") == ST_OK);
    for (int i = 0; i < 3 * 9 * 7; i++)
        flat.data[i] = 0.375f;
    REQUIRE(image_warp(&flat, 0.4, 0.3, 1.5, 2, IMAGE_RESAMPLE_LANCZOS, &dst) == ST_OK);
    float worst = 0;
    for (int i = 0; i < 3 * 9 * 7; i++)
        worst = fmaxf(worst, fabsf(dst.data[i] - 0.375f));
    CHECK(worst < 1e-6f);
    image_free(&dst);
    CHECK_FAILS_WITH(image_warp(&flat, 0.1, 0, 0, 0, IMAGE_RESAMPLE_BICUBIC, &dst), "zoom 0.1");
    CHECK_FAILS_WITH(image_warp(&flat, 1, 0, 0, 0, IMAGE_RESAMPLE_AREA, &dst), "unknown filter");
    CHECK_FAILS_WITH(image_warp(&flat, 1, NAN, 0, 0, IMAGE_RESAMPLE_BICUBIC, &dst), "finite");
    image_free(&flat);
    image_free(&src);
}

int main(void)
{
    test_against_reference();
    test_constant();
    test_area_blocks();
    test_warp_reference();
    test_warp_exact();
    return check_report("test_image_resample");
}
