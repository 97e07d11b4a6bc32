/* Image I/O: every PNG and JPEG variant decoded against the values written
 * with libpng/libjpeg directly; probing; text metadata; writing (clamping,
 * 8/16 bit, JPEG quality, extensions); damaged, truncated, empty, missing and
 * oversized inputs; atomic writes that fail part way or are killed (-9). */
#include "check.h"
#include "image_fixtures.h"
#include "synth/synth.h"

#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char *tmp_file(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", check_tmpdir(), name);
    return buf;
}

static float clamp01f(float v) { return v > 0 ? (v < 1 ? v : 1) : 0; }

static float px(const image *im, int c, int x, int y)
{
    return image_plane(im, c)[(size_t)y * im->width + x];
}

/* ===== PNG variants ======================================================= */

typedef struct {
    const char *label;
    int color_type, bit_depth;
    bool interlace, alpha_table, transparent_color;
} png_variant;

static const png_variant png_variants[] = {
    {"gray1", PNG_COLOR_TYPE_GRAY, 1, false, false, false},
    {"gray2-interlaced", PNG_COLOR_TYPE_GRAY, 2, true, false, false},
    {"gray4", PNG_COLOR_TYPE_GRAY, 4, false, false, false},
    {"gray8", PNG_COLOR_TYPE_GRAY, 8, false, false, false},
    {"gray16", PNG_COLOR_TYPE_GRAY, 16, false, false, false},
    {"gray8-trns", PNG_COLOR_TYPE_GRAY, 8, false, false, true},
    {"gray16-trns", PNG_COLOR_TYPE_GRAY, 16, false, false, true},
    {"graya8", PNG_COLOR_TYPE_GRAY_ALPHA, 8, false, false, false},
    {"graya16", PNG_COLOR_TYPE_GRAY_ALPHA, 16, false, false, false},
    {"palette1", PNG_COLOR_TYPE_PALETTE, 1, false, false, false},
    {"palette2", PNG_COLOR_TYPE_PALETTE, 2, false, false, false},
    {"palette4-trns", PNG_COLOR_TYPE_PALETTE, 4, false, true, false},
    {"palette8-trns", PNG_COLOR_TYPE_PALETTE, 8, false, true, false},
    {"palette8-interlaced", PNG_COLOR_TYPE_PALETTE, 8, true, false, false},
    {"rgb8", PNG_COLOR_TYPE_RGB, 8, false, false, false},
    {"rgb16", PNG_COLOR_TYPE_RGB, 16, false, false, false},
    {"rgb8-trns", PNG_COLOR_TYPE_RGB, 8, false, false, true},
    {"rgb16-interlaced", PNG_COLOR_TYPE_RGB, 16, true, false, false},
    {"rgba8", PNG_COLOR_TYPE_RGB_ALPHA, 8, false, false, false},
    {"rgba16", PNG_COLOR_TYPE_RGB_ALPHA, 16, false, false, false},
    {"rgba8-interlaced", PNG_COLOR_TYPE_RGB_ALPHA, 8, true, false, false},
};

/* A random fixture for the variant; owns the arrays it points to. */
typedef struct {
    png_fixture f;
    uint16_t *samples;
    png_color palette[256];
    png_byte alpha[256];
    png_color_16 transparent;
} png_case;

static void png_case_make(png_case *k, const png_variant *v, int width, int height, rng *r)
{
    memset(k, 0, sizeof *k);
    int channels = fixture_png_channels(v->color_type);
    size_t n = (size_t)width * height * channels;
    unsigned max = (1u << v->bit_depth) - 1;
    int palette_count = v->color_type == PNG_COLOR_TYPE_PALETTE ? (int)max + 1 : 0;
    if (palette_count > 200)
        palette_count = 200; /* fewer entries than indices allow */
    k->samples = malloc(n * sizeof *k->samples);
    for (size_t i = 0; i < n; i++)
        k->samples[i] = (uint16_t)rng_range(r, 0, palette_count ? palette_count - 1 : (int64_t)max);
    /* make the extremes appear */
    k->samples[0] = 0;
    k->samples[n - 1] = (uint16_t)(palette_count ? palette_count - 1 : (int)max);
    k->f = (png_fixture){.width = width, .height = height, .color_type = v->color_type,
                         .bit_depth = v->bit_depth, .interlace = v->interlace, .samples = k->samples};
    if (palette_count) {
        for (int i = 0; i < palette_count; i++) {
            k->palette[i] = (png_color){(png_byte)rng_range(r, 0, 255), (png_byte)rng_range(r, 0, 255),
                                        (png_byte)rng_range(r, 0, 255)};
            k->alpha[i] = (png_byte)rng_range(r, 0, 255);
        }
        k->alpha[0] = 0;
        k->f.palette = k->palette;
        k->f.palette_count = palette_count;
        if (v->alpha_table) { /* tRNS may be shorter than the palette */
            k->f.palette_alpha = k->alpha;
            k->f.palette_alpha_count = palette_count > 3 ? palette_count - 2 : palette_count;
        }
    }
    if (v->transparent_color) { /* the first pixel's colour is transparent */
        k->transparent.gray = k->transparent.red = k->samples[0];
        k->transparent.green = k->samples[channels > 1 ? 1 : 0];
        k->transparent.blue = k->samples[channels > 2 ? 2 : 0];
        k->f.transparent = &k->transparent;
    }
}

/* The colour a viewer shows for pixel i over white, in double. */
static void png_case_expect(const png_case *k, size_t i, double rgb[3])
{
    const png_fixture *f = &k->f;
    int channels = fixture_png_channels(f->color_type);
    const uint16_t *s = f->samples + i * channels;
    double max = (double)((1u << f->bit_depth) - 1), a = 1.0, c[3];
    switch (f->color_type) {
    case PNG_COLOR_TYPE_PALETTE:
        c[0] = f->palette[s[0]].red / 255.0;
        c[1] = f->palette[s[0]].green / 255.0;
        c[2] = f->palette[s[0]].blue / 255.0;
        if (f->palette_alpha && s[0] < f->palette_alpha_count)
            a = f->palette_alpha[s[0]] / 255.0;
        break;
    case PNG_COLOR_TYPE_GRAY:
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        c[0] = c[1] = c[2] = s[0] / max;
        if (channels == 2)
            a = s[1] / max;
        if (f->transparent && s[0] == f->transparent->gray)
            a = 0;
        break;
    default:
        for (int j = 0; j < 3; j++)
            c[j] = s[j] / max;
        if (channels == 4)
            a = s[3] / max;
        if (f->transparent && s[0] == f->transparent->red && s[1] == f->transparent->green &&
            s[2] == f->transparent->blue)
            a = 0;
        break;
    }
    for (int j = 0; j < 3; j++)
        rgb[j] = c[j] * a + (1.0 - a);
}

static bool png_case_has_alpha(const png_case *k)
{
    return (k->f.color_type & PNG_COLOR_MASK_ALPHA) || k->f.palette_alpha || k->f.transparent;
}

static void test_png_variants(void)
{
    rng r;
    rng_seed(&r, 1);
    char path[4200], out[64];
    for (size_t v = 0; v < sizeof png_variants / sizeof png_variants[0]; v++) {
        const png_variant *pv = &png_variants[v];
        png_case k;
        int width = 13, height = 7 + (int)v % 3;
        png_case_make(&k, pv, width, height, &r);
        snprintf(out, sizeof out, "%s.png", pv->label);
        REQUIRE(fixture_png(tmp_file(path, sizeof path, out), &k.f));

        image im;
        CHECK_OK(image_read(path, &im));
        REQUIRE(im.data && im.width == width && im.height == height);
        double worst = 0;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) {
                double want[3];
                png_case_expect(&k, (size_t)y * width + x, want);
                for (int c = 0; c < 3; c++)
                    worst = fmax(worst, fabs(px(&im, c, x, y) - want[c]));
            }
        /* float rounding only: v / max is exact to half an ulp; compositing
         * over white adds a few ulps */
        if (worst > (png_case_has_alpha(&k) ? 1e-6 : 4e-8))
            fprintf(stderr, "png %s: worst error %g\n", pv->label, worst);
        CHECK(worst <= (png_case_has_alpha(&k) ? 1e-6 : 4e-8));

        /* the same bytes from memory decode to the same floats */
        size_t n;
        unsigned char *bytes = fixture_read_file(path, &n);
        image mem;
        CHECK_OK(image_decode(bytes, n, "mem.png", &mem));
        CHECK(mem.data && memcmp(mem.data, im.data, 3 * sizeof(float) * width * height) == 0);
        image_free(&mem);
        free(bytes);

        /* header facts */
        image_info info;
        CHECK_OK(image_probe(path, &info));
        int channels = pv->color_type == PNG_COLOR_TYPE_PALETTE ? 3 : fixture_png_channels(pv->color_type);
        channels += pv->alpha_table || pv->transparent_color;
        CHECK(info.format == IMAGE_FORMAT_PNG && info.width == width && info.height == height);
        CHECK(info.bit_depth == pv->bit_depth && info.channels == channels);
        CHECK(info.interlaced == pv->interlace);
        const char *color = pv->color_type == PNG_COLOR_TYPE_GRAY ? "gray"
                            : pv->color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? "gray+alpha"
                            : pv->color_type == PNG_COLOR_TYPE_PALETTE ? "palette"
                            : pv->color_type == PNG_COLOR_TYPE_RGB ? "rgb" : "rgba";
        CHECK(info.color && strcmp(info.color, color) == 0);
        image_info_free(&info);
        CHECK_OK(image_verify(path, &info));
        CHECK(info.width == width && info.channels == channels);
        image_info_free(&info);

        /* Exact: written back (8 bit, or 16 for 16-bit files), every sample is
         * the stored value scaled to the output depth. */
        if (!png_case_has_alpha(&k)) {
            int depth = pv->bit_depth == 16 ? 16 : 8;
            snprintf(out, sizeof out, "%s-back.png", pv->label);
            image_write_options o = {.png_bit_depth = depth};
            CHECK_OK(image_write(tmp_file(path, sizeof path, out), &im, &o));
            png_raw raw;
            REQUIRE(fixture_png_read(path, &raw));
            CHECK(raw.bit_depth == depth && raw.channels == 3 && raw.width == width);
            int mismatches = 0;
            double scale = ((1u << depth) - 1) / (double)((1u << pv->bit_depth) - 1);
            for (size_t i = 0; i < (size_t)width * height; i++) {
                unsigned want[3];
                const uint16_t *s = k.samples + i * fixture_png_channels(pv->color_type);
                if (pv->color_type == PNG_COLOR_TYPE_PALETTE) {
                    want[0] = k.palette[s[0]].red;
                    want[1] = k.palette[s[0]].green;
                    want[2] = k.palette[s[0]].blue;
                } else {
                    for (int c = 0; c < 3; c++)
                        want[c] = (unsigned)lround(s[pv->color_type == PNG_COLOR_TYPE_GRAY ? 0 : c] * scale);
                }
                for (int c = 0; c < 3; c++)
                    mismatches += raw.samples[3 * i + c] != want[c];
            }
            CHECK(mismatches == 0);
            free(raw.samples);
        }
        image_free(&im);
        free(k.samples);
    }
}

/* ===== JPEG variants ====================================================== */

typedef struct {
    const char *label;
    int components;
    J_COLOR_SPACE stored;
    bool progressive, arithmetic, no_adobe;
    const char *color; /* as image_info reports it */
} jpeg_variant;

static const jpeg_variant jpeg_variants[] = {
    {"baseline", 3, JCS_YCbCr, false, false, false, "ycbcr"},
    {"progressive", 3, JCS_YCbCr, true, false, false, "ycbcr"},
    {"arithmetic", 3, JCS_YCbCr, false, true, false, "ycbcr"},
    {"arithmetic-progressive", 3, JCS_YCbCr, true, true, false, "ycbcr"},
    {"gray", 1, JCS_GRAYSCALE, false, false, false, "gray"},
    {"gray-progressive", 1, JCS_GRAYSCALE, true, false, false, "gray"},
    {"rgb", 3, JCS_RGB, false, false, false, "rgb"},
    {"cmyk-adobe", 4, JCS_CMYK, false, false, false, "cmyk"},
    {"cmyk-plain", 4, JCS_CMYK, false, false, true, "cmyk"},
    {"ycck", 4, JCS_YCCK, false, false, false, "ycck"},
};

/* The RGB a stored sample set stands for. CMYK files with an Adobe marker
 * (all but "cmyk-plain") store inverted ink. */
static void jpeg_expect(const jpeg_variant *v, const unsigned char *s, double rgb[3])
{
    if (v->components == 1) {
        rgb[0] = rgb[1] = rgb[2] = s[0] / 255.0;
    } else if (v->components == 3) {
        for (int c = 0; c < 3; c++)
            rgb[c] = s[c] / 255.0;
    } else {
        double ink[4];
        for (int c = 0; c < 4; c++)
            ink[c] = v->no_adobe ? s[c] / 255.0 : 1.0 - s[c] / 255.0;
        for (int c = 0; c < 3; c++)
            rgb[c] = (1.0 - ink[c]) * (1.0 - ink[3]);
    }
}

static void test_jpeg_variants(void)
{
    char path[4200], name[64];
    int width = 41, height = 29;
    for (size_t v = 0; v < sizeof jpeg_variants / sizeof jpeg_variants[0]; v++) {
        const jpeg_variant *jv = &jpeg_variants[v];
        unsigned char *s = fixture_smooth(width, height, jv->components);
        jpeg_fixture f = {.width = width, .height = height, .components = jv->components,
                          .stored = jv->stored, .progressive = jv->progressive,
                          .arithmetic = jv->arithmetic, .no_adobe_marker = jv->no_adobe, .samples = s};
        snprintf(name, sizeof name, "%s.jpg", jv->label);
        REQUIRE(fixture_jpeg(tmp_file(path, sizeof path, name), &f));
        image im;
        CHECK_OK(image_read(path, &im));
        REQUIRE(im.data && im.width == width && im.height == height);
        double worst = 0, sum = 0;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) {
                double want[3];
                jpeg_expect(jv, s + ((size_t)y * width + x) * jv->components, want);
                for (int c = 0; c < 3; c++) {
                    double e = fabs(px(&im, c, x, y) - want[c]);
                    worst = fmax(worst, e);
                    sum += e;
                }
            }
        double mean = sum / (3.0 * width * height);
        if (mean > 0.01 || worst > 0.08)
            fprintf(stderr, "jpeg %s: mean error %g, worst %g\n", jv->label, mean, worst);
        CHECK(mean <= 0.01 && worst <= 0.08);

        image_info info;
        CHECK_OK(image_probe(path, &info));
        CHECK(info.format == IMAGE_FORMAT_JPEG && info.width == width && info.height == height);
        CHECK(info.channels == jv->components && info.bit_depth == 8);
        CHECK(info.interlaced == jv->progressive);
        CHECK(info.color && strcmp(info.color, jv->color) == 0);
        image_info_free(&info);
        image_free(&im);
        free(s);
    }
}

/* ===== Text metadata ====================================================== */

static void test_text(void)
{
    char path[4200];
    image im;
    REQUIRE(image_alloc(&im, 5, 4, "test") == ST_OK);
    image_text text[] = {
        {"Software", "synth 0.1.0"},
        {"synth.command", "synth style --seed 7 'a b.jpg'"},
        {"Title", "Gr\xc3\xbc\xc3\x9f" "e"}, /* UTF-8: goes in iTXt */
        {"multi line", "one\ntwo"},
    };
    int n = (int)(sizeof text / sizeof text[0]);
    image_write_options o = {.text = text, .text_count = n};
    const char *names[] = {"text.png", "text.jpg"};
    for (int f = 0; f < 2; f++) {
        CHECK_OK(image_write(tmp_file(path, sizeof path, names[f]), &im, &o));
        image_info info;
        CHECK_OK(image_probe(path, &info));
        CHECK(info.text_count == n);
        for (int i = 0; i < n && i < info.text_count; i++) {
            CHECK(strcmp(info.text[i].key, text[i].key) == 0);
            CHECK(strcmp(info.text[i].value, text[i].value) == 0);
        }
        image_info_free(&info);
    }
    /* what libpng itself sees in our PNG */
    png_raw raw;
    REQUIRE(fixture_png_read(tmp_file(path, sizeof path, "text.png"), &raw));
    CHECK(raw.text_count == n && strcmp(raw.key[0], "Software") == 0 &&
          strcmp(raw.value[1], text[1].value) == 0 && strcmp(raw.value[2], text[2].value) == 0);
    free(raw.samples);

    /* invalid keys are refused before anything is written */
    const char *bad[] = {"", "has:colon", " lead", "trail ", "two  spaces", "tab\tkey",
                         "0123456789012345678901234567890123456789012345678901234567890123456789012345678901"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        image_text t = {(char *)bad[i], "v"};
        image_write_options ob = {.text = &t, .text_count = 1};
        CHECK_FAILS_WITH(image_write(tmp_file(path, sizeof path, "badkey.png"), &im, &ob), "text key");
        CHECK(access(path, F_OK) != 0);
    }
    CHECK_OK(image_text_key_check("Creation Time"));

    /* PNG text from another writer: tEXt in Latin-1, zTXt, and text after the
     * image data (seen by image_verify, not by the header-only probe) */
    uint16_t px1[3] = {10, 20, 30};
    png_text before[2] = {
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "Author", .text = "caf\xe9", .text_length = 4},
        {.compression = PNG_TEXT_COMPRESSION_zTXt, .key = "Description", .text = "zipped words",
         .text_length = 12},
    };
    png_text after[1] = {{.compression = PNG_TEXT_COMPRESSION_NONE, .key = "Comment", .text = "late",
                          .text_length = 4}};
    png_fixture f = {.width = 1, .height = 1, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                     .samples = px1, .text_before = before, .text_before_count = 2,
                     .text_after = after, .text_after_count = 1};
    REQUIRE(fixture_png(tmp_file(path, sizeof path, "foreign.png"), &f));
    image_info info;
    CHECK_OK(image_probe(path, &info));
    CHECK(info.text_count == 2);
    if (info.text_count == 2) {
        CHECK(strcmp(info.text[0].value, "caf\xc3\xa9") == 0);
        CHECK(strcmp(info.text[1].key, "Description") == 0 && strcmp(info.text[1].value, "zipped words") == 0);
    }
    image_info_free(&info);
    CHECK_OK(image_verify(path, &info));
    CHECK(info.text_count == 3 && strcmp(info.text[2].key, "Comment") == 0 &&
          strcmp(info.text[2].value, "late") == 0);
    image_info_free(&info);

    /* JPEG comments: "key: value" splits, anything else is a "comment" */
    unsigned char *s = fixture_smooth(8, 8, 3);
    const char *comments[][3] = {{"Software: other tool", "Software", "other tool"},
                                 {"just some words", "comment", "just some words"},
                                 {"bad key: x", "bad key", "x"},
                                 {"two  spaces: x", "comment", "two  spaces: x"}};
    for (int i = 0; i < 4; i++) {
        jpeg_fixture jf = {.width = 8, .height = 8, .components = 3, .stored = JCS_YCbCr, .samples = s,
                           .comment = comments[i][0]};
        REQUIRE(fixture_jpeg(tmp_file(path, sizeof path, "comment.jpg"), &jf));
        CHECK_OK(image_probe(path, &info));
        CHECK(info.text_count == 1 && strcmp(info.text[0].key, comments[i][1]) == 0 &&
              strcmp(info.text[0].value, comments[i][2]) == 0);
        image_info_free(&info);
    }
    free(s);
    image_free(&im);
}

/* ===== Writing ============================================================ */

static void test_write(void)
{
    char path[4200];
    rng r;
    rng_seed(&r, 2);

    /* clamping, rounding, NaN */
    image im;
    REQUIRE(image_alloc(&im, 8, 1, "test") == ST_OK);
    const float v[8] = {-0.5f, 0.25f, 1.5f, NAN, INFINITY, -INFINITY, 0.5f / 255, 0.49f / 255};
    const unsigned want8[8] = {0, 64, 255, 0, 255, 0, 1, 0};
    for (int c = 0; c < 3; c++)
        memcpy(image_plane(&im, c), v, sizeof v);
    CHECK_OK(image_write(tmp_file(path, sizeof path, "clamp.png"), &im, NULL));
    png_raw raw;
    REQUIRE(fixture_png_read(path, &raw));
    CHECK(raw.bit_depth == 8 && raw.color_type == PNG_COLOR_TYPE_RGB && raw.width == 8 && raw.height == 1);
    for (int x = 0; x < 8; x++)
        for (int c = 0; c < 3; c++)
            CHECK(raw.samples[3 * x + c] == want8[x]);
    free(raw.samples);
    image_free(&im);

    /* 16-bit keeps precision that 8-bit loses; samples are round(v * 65535) */
    REQUIRE(image_alloc(&im, 31, 17, "test") == ST_OK);
    for (size_t i = 0; i < 3u * 31 * 17; i++)
        im.data[i] = (float)rng_uniform(&r);
    image_write_options o16 = {.png_bit_depth = 16};
    CHECK_OK(image_write(tmp_file(path, sizeof path, "deep.png"), &im, &o16));
    REQUIRE(fixture_png_read(path, &raw));
    CHECK(raw.bit_depth == 16);
    int wrong = 0;
    for (int y = 0; y < 17; y++)
        for (int x = 0; x < 31; x++)
            for (int c = 0; c < 3; c++)
                wrong += raw.samples[(y * 31 + x) * 3 + c] != (unsigned)lround(px(&im, c, x, y) * 65535.0);
    CHECK(wrong == 0);
    free(raw.samples);
    double err[2] = {0, 0};
    const char *files[2] = {"shallow.png", "deep.png"};
    CHECK_OK(image_write(tmp_file(path, sizeof path, files[0]), &im, NULL));
    for (int k = 0; k < 2; k++) {
        image back;
        CHECK_OK(image_read(tmp_file(path, sizeof path, files[k]), &back));
        REQUIRE(back.data);
        for (size_t i = 0; i < 3u * 31 * 17; i++)
            err[k] = fmax(err[k], fabs(back.data[i] - im.data[i]));
        image_free(&back);
    }
    CHECK(err[0] <= 0.5 / 255 + 1e-6 && err[0] > 0.3 / 255);
    CHECK(err[1] <= 0.5 / 65535 + 1e-7);

    /* JPEG quality: lower quality, smaller file, larger error */
    image smooth;
    REQUIRE(image_alloc(&smooth, 96, 64, "test") == ST_OK);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 96; x++)
                image_plane(&smooth, c)[y * 96 + x] =
                    (float)(0.5 + 0.3 * sin(0.11 * x * (c + 1)) * cos(0.07 * y) + 0.05 * rng_normal(&r));
    long size[2];
    double jerr[2] = {0, 0};
    int quality[2] = {20, 95};
    for (int k = 0; k < 2; k++) {
        image_write_options oq = {.jpeg_quality = quality[k]};
        char name[32];
        snprintf(name, sizeof name, "q%d.jpg", quality[k]);
        CHECK_OK(image_write(tmp_file(path, sizeof path, name), &smooth, &oq));
        struct stat st;
        size[k] = stat(path, &st) == 0 ? (long)st.st_size : -1;
        image back;
        CHECK_OK(image_read(path, &back));
        REQUIRE(back.data);
        for (size_t i = 0; i < 3u * 96 * 64; i++)
            jerr[k] += fabs(back.data[i] - clamp01f(smooth.data[i]));
        image_free(&back);
    }
    CHECK(size[0] > 0 && size[0] < size[1] * 0.6);
    CHECK(jerr[1] < jerr[0] * 0.5);

    /* The format comes from the extension, in any case; the content decides
     * the decoder when reading. */
    const char *good[] = {"UP.PNG", "up.JPG", "a.jpeg", "b.JPEG", "c.Png"};
    const image_format fmt[] = {IMAGE_FORMAT_PNG, IMAGE_FORMAT_JPEG, IMAGE_FORMAT_JPEG, IMAGE_FORMAT_JPEG,
                                IMAGE_FORMAT_PNG};
    for (int k = 0; k < 5; k++) {
        CHECK(image_format_from_extension(good[k]) == fmt[k]);
        CHECK_OK(image_write(tmp_file(path, sizeof path, good[k]), &im, NULL));
        image_info info;
        CHECK_OK(image_probe(path, &info));
        CHECK(info.format == fmt[k]);
        image_info_free(&info);
    }
    char from[4200];
    tmp_file(from, sizeof from, "UP.PNG");
    CHECK(rename(from, tmp_file(path, sizeof path, "png-inside.jpg")) == 0);
    image back;
    CHECK_OK(image_read(path, &back));
    CHECK(back.width == 31 && back.height == 17);
    image_free(&back);

    CHECK_FAILS_WITH(image_write(tmp_file(path, sizeof path, "x.bmp"), &im, NULL),
                     "unknown image file extension '.bmp'");
    CHECK(access(path, F_OK) != 0);
    CHECK_FAILS_WITH(image_write(tmp_file(path, sizeof path, "noext"), &im, NULL), "no image file extension");
    CHECK_FAILS_WITH(image_check_output(tmp_file(path, sizeof path, "dir.png/x.gif")), "unknown");
    CHECK_FAILS_WITH(image_check_output(tmp_file(path, sizeof path, "missing/x.png")), "does not exist");
    CHECK_FAILS_WITH(image_check_output(""), "empty file name");
    CHECK_OK(image_check_output(tmp_file(path, sizeof path, "fine.jpeg")));
    CHECK(mkdir(tmp_file(path, sizeof path, "folder.png"), 0755) == 0);
    CHECK_FAILS_WITH(image_check_output(path), "is a directory");
    image_write_options bad16 = {.png_bit_depth = 16};
    CHECK_FAILS_WITH(image_write(tmp_file(path, sizeof path, "deep.jpg"), &im, &bad16), "16-bit");
    image_write_options badq = {.jpeg_quality = 101};
    CHECK_FAILS_WITH(image_write(tmp_file(path, sizeof path, "q.jpg"), &im, &badq), "quality");
    image_write_options badd = {.png_bit_depth = 12};
    CHECK_FAILS_WITH(image_write(tmp_file(path, sizeof path, "d.png"), &im, &badd), "bit depth");
    image empty = {0};
    CHECK_FAILS_WITH(image_write(tmp_file(path, sizeof path, "e.png"), &empty, NULL), "no image");
    image_free(&im);
    image_free(&smooth);
}

/* ===== Atomic writes ====================================================== */

/* The file's bytes, compared with `old`. */
static bool same_bytes(const char *path, const unsigned char *old, size_t n)
{
    size_t m;
    unsigned char *b = fixture_read_file(path, &m);
    bool same = b && m == n && memcmp(b, old, n) == 0;
    free(b);
    return same;
}

/* The atomic-write tests' setup: the folder check_tmpdir()/NAME and a
 * w x h image of uniform noise (seeded), which compresses badly. */
static void atomic_fixture(const char *name, int w, int h, uint64_t seed, char *dir, size_t size, image *noise)
{
    snprintf(dir, size, "%s/%s", check_tmpdir(), name);
    REQUIRE(mkdir(dir, 0755) == 0);
    rng r;
    rng_seed(&r, seed);
    REQUIRE(image_alloc(noise, w, h, "test") == ST_OK);
    for (size_t i = 0; i < 3u * (size_t)w * (size_t)h; i++)
        noise->data[i] = (float)rng_uniform(&r);
}

/* Writes `noise` to dir/name and returns the file's bytes (n of them). */
static unsigned char *atomic_old_file(const char *dir, const char *name, const image *noise, char *path,
                                      size_t size, size_t *n)
{
    snprintf(path, size, "%s/%s", dir, name);
    CHECK_OK(image_write(path, noise, NULL));
    return fixture_read_file(path, n);
}

static void test_atomic_write(void)
{
    char dir[4200], path[4300];
    image noise;
    atomic_fixture("atomic", 200, 150, 3, dir, sizeof dir, &noise);
    const char *names[] = {"keep.png", "keep.jpg"};
    for (int k = 0; k < 2; k++) {
        size_t n;
        unsigned char *old = atomic_old_file(dir, names[k], &noise, path, sizeof path, &n);
        REQUIRE(old && n > 20000);

        /* A write that fails part way (the file size limit stops it at 4 KiB)
         * leaves the previous file byte for byte, and no temporary. */
        struct rlimit saved, small = {4096, 4096};
        REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
        small.rlim_max = saved.rlim_max;
        void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
        REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
        image_write_options o16 = {.png_bit_depth = 16};
        status s = image_write(path, &noise, k == 0 ? &o16 : NULL);
        setrlimit(RLIMIT_FSIZE, &saved);
        signal(SIGXFSZ, old_handler);
        CHECK(s == ST_ERROR);
        CHECK(strncmp(error_message(), path, strlen(path)) == 0);
        CHECK(same_bytes(path, old, n));
        CHECK(check_count_files(dir) == k + 1);

        /* An error found before writing changes nothing either. */
        image_text t = {"bad:key", "v"};
        image_write_options ob = {.text = &t, .text_count = 1};
        CHECK(image_write(path, &noise, &ob) == ST_ERROR);
        CHECK(same_bytes(path, old, n));
        CHECK(check_count_files(dir) == k + 1);
        free(old);
    }
    /* An unwritable folder (root writes anywhere, so only as a user). */
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/ro", dir);
        REQUIRE(mkdir(path, 0500) == 0);
        snprintf(path, sizeof path, "%s/ro/x.png", dir);
        CHECK_FAILS_WITH(image_write(path, &noise, NULL), "not writable");
    }
    image_free(&noise);
}

/* SIGXFSZ comes on the write(2) that crosses RLIMIT_FSIZE: dying of
 * SIGKILL there is a kill -9 in the middle of a write, at a fixed byte. */
static void die_by_sigkill(int sig)
{
    (void)sig;
    raise(SIGKILL);
}

/* A process killed while writing (no atomic_abort runs) leaves the previous
 * file byte for byte; what remains is one temporary ".NAME.synth-XXXXXX"
 * holding the bytes written so far: a dotfile with no image extension,
 * never taken for an output. */
static void test_atomic_write_killed(void)
{
    char dir[4200], path[4300];
    image noise;
    atomic_fixture("atomic_killed", 256, 256, 5, dir, sizeof dir, &noise);
    const char *names[] = {"keep.png", "keep.jpg"};
    for (int k = 0; k < 2; k++) {
        size_t n;
        unsigned char *old = atomic_old_file(dir, names[k], &noise, path, sizeof path, &n);
        REQUIRE(old && n > 65536);
        fflush(NULL);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) { /* the child dies at byte 16384 of the new file */
            struct rlimit small = {16384, 16384};
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = die_by_sigkill;
            sigaction(SIGXFSZ, &sa, NULL);
            setrlimit(RLIMIT_FSIZE, &small);
            image_write_options o16 = {.png_bit_depth = 16};
            image_write(path, &noise, k == 0 ? &o16 : NULL);
            _exit(3); /* not killed: the test fails below */
        }
        int ws;
        REQUIRE(waitpid(pid, &ws, 0) == pid);
        CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
        CHECK(same_bytes(path, old, n));
        /* Besides the outputs so far: one temporary, partly written. */
        CHECK(check_count_files(dir) == k + 2);
        DIR *d = opendir(dir);
        REQUIRE(d);
        int temporaries = 0;
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (e->d_name[0] != '.' || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char tmp[4600], prefix[64];
            snprintf(tmp, sizeof tmp, "%s/%s", dir, e->d_name);
            snprintf(prefix, sizeof prefix, ".%s.synth-", names[k]);
            struct stat st;
            CHECK(strncmp(e->d_name, prefix, strlen(prefix)) == 0);
            CHECK(image_format_from_extension(e->d_name) == IMAGE_FORMAT_UNKNOWN);
            CHECK(stat(tmp, &st) == 0 && st.st_size == 16384);
            CHECK(unlink(tmp) == 0);
            temporaries++;
        }
        closedir(d);
        CHECK(temporaries == 1);
        free(old);
    }
    image_free(&noise);
}

/* ===== Damaged and hostile inputs ========================================= */

/* A failed decode leaves one message naming the input and an empty image. */
static void check_failed(status s, const image *im, const char *name, const char *needle)
{
    CHECK(s == ST_ERROR);
    CHECK(im->data == NULL && im->width == 0);
    CHECK(strncmp(error_message(), name, strlen(name)) == 0);
    CHECK(strchr(error_message(), '\n') == NULL);
    if (needle && !strstr(error_message(), needle)) {
        fprintf(stderr, "expected '%s' in: %s\n", needle, error_message());
        CHECK(!"message");
    }
}

/* Every cut of the file short of its end is "truncated"; header-only probes
 * fail or succeed but never crash. */
static void check_cuts(const char *path)
{
    size_t n;
    unsigned char *b = fixture_read_file(path, &n);
    REQUIRE(b && n > 16);
    int failures_before = check_failures;
    for (size_t cut = 1; cut < n && check_failures == failures_before; cut++) {
        image im;
        check_failed(image_decode(b, cut, "cut", &im), &im, "cut: ", "truncated");
        image_info info;
        if (image_probe_memory(b, cut, "cut", &info) == ST_OK)
            image_info_free(&info);
        else
            CHECK(strncmp(error_message(), "cut: ", 5) == 0 && info.text == NULL);
    }
    if (check_failures != failures_before)
        fprintf(stderr, "  (cutting %s)\n", path);
    /* the same through files, at a few cut points */
    char cut_path[4300];
    snprintf(cut_path, sizeof cut_path, "%s.cut", path);
    for (size_t cut = 1; cut < n; cut += n / 7 + 1) {
        REQUIRE(fixture_write_file(cut_path, b, cut));
        image_info info;
        CHECK_FAILS_WITH(image_verify(cut_path, &info), "truncated");
        image im;
        check_failed(image_read(cut_path, &im), &im, cut_path, "truncated");
    }
    image im;
    CHECK_OK(image_decode(b, n, "whole", &im));
    image_free(&im);
    free(b);
}

/* Random byte changes: each decode succeeds or fails cleanly (ASan watches). */
static void mutate(const char *path, rng *r, int rounds)
{
    size_t n;
    unsigned char *b = fixture_read_file(path, &n);
    unsigned char *m = malloc(n);
    REQUIRE(b && m);
    for (int i = 0; i < rounds; i++) {
        memcpy(m, b, n);
        int changes = (int)rng_range(r, 1, 4);
        for (int k = 0; k < changes; k++)
            m[rng_range(r, 0, (int64_t)n - 1)] = (unsigned char)rng_range(r, 0, 255);
        image im;
        if (image_decode(m, n, "fuzz", &im) == ST_OK) {
            CHECK(im.data && im.width > 0);
            image_free(&im);
        } else {
            CHECK(im.data == NULL && strncmp(error_message(), "fuzz: ", 6) == 0);
        }
        image_info info;
        if (image_probe_memory(m, n, "fuzz", &info) == ST_OK)
            image_info_free(&info);
    }
    free(m);
    free(b);
}

static void test_bad_inputs(void)
{
    char path[4200];
    image im;
    image_info info;

    check_failed(image_decode("", 0, "nothing", &im), &im, "nothing", "empty file");
    REQUIRE(fixture_write_file(tmp_file(path, sizeof path, "empty.png"), "", 0));
    check_failed(image_read(path, &im), &im, path, "empty file");
    CHECK_FAILS_WITH(image_probe(path, &info), "empty file");
    check_failed(image_read(tmp_file(path, sizeof path, "missing.png"), &im), &im, path,
                 "cannot open: No such file or directory");
    check_failed(image_read(check_tmpdir(), &im), &im, check_tmpdir(), "is a directory");
    const char *text = "hello, this is not an image\n";
    check_failed(image_decode(text, strlen(text), "notes.png", &im), &im, "notes.png",
                 "not a PNG or JPEG image");
    check_failed(image_decode("GIF89a\1\0\1\0\0\0", 12, "anim.png", &im), &im, "anim.png", "is a GIF image");
    check_failed(image_decode("\x89PN", 3, "short", &im), &im, "short", "truncated PNG file");
    check_failed(image_decode("\xff\xd8", 2, "short", &im), &im, "short", "truncated JPEG file");
    CHECK_FAILS_WITH(image_probe_memory("BM\0\0", 4, "b", &info), "is a BMP image");

    /* truncation at every cut point */
    rng r;
    rng_seed(&r, 4);
    png_case k;
    png_case_make(&k, &png_variants[14], 23, 11, &r); /* rgb8 */
    png_text after[1] = {{.compression = PNG_TEXT_COMPRESSION_NONE, .key = "Comment", .text = "end",
                          .text_length = 3}};
    k.f.text_after = after;
    k.f.text_after_count = 1;
    REQUIRE(fixture_png(tmp_file(path, sizeof path, "cut-rgb.png"), &k.f));
    check_cuts(path);
    mutate(path, &r, 400);
    free(k.samples);
    png_case_make(&k, &png_variants[20], 19, 13, &r); /* rgba8 interlaced */
    REQUIRE(fixture_png(tmp_file(path, sizeof path, "cut-interlaced.png"), &k.f));
    check_cuts(path);
    mutate(path, &r, 400);
    free(k.samples);
    png_case_make(&k, &png_variants[12], 17, 9, &r); /* palette8 + tRNS */
    REQUIRE(fixture_png(tmp_file(path, sizeof path, "cut-palette.png"), &k.f));
    check_cuts(path);
    mutate(path, &r, 400);
    free(k.samples);
    const char *jpeg_cuts[] = {"cut-base.jpg", "cut-prog.jpg", "cut-arith.jpg"};
    for (int v = 0; v < 3; v++) {
        unsigned char *s = fixture_smooth(24, 16, 3);
        jpeg_fixture jf = {.width = 24, .height = 16, .components = 3, .stored = JCS_YCbCr,
                           .progressive = v == 1, .arithmetic = v == 2, .samples = s, .quality = 80};
        REQUIRE(fixture_jpeg(tmp_file(path, sizeof path, jpeg_cuts[v]), &jf));
        check_cuts(path);
        mutate(path, &r, 400);
        free(s);
    }

    /* corrupt data */
    size_t n;
    unsigned char *b = fixture_read_file(tmp_file(path, sizeof path, "cut-rgb.png"), &n);
    REQUIRE(b);
    b[20] ^= 0x01; /* IHDR height, CRC now wrong */
    check_failed(image_decode(b, n, "crc.png", &im), &im, "crc.png", "invalid PNG file (IHDR: CRC error)");
    b[20] ^= 0x01;
    /* a byte of the compressed pixel data, with its CRC made right again */
    size_t at = 8;
    while (at + 8 < n && memcmp(b + at + 4, "IDAT", 4) != 0)
        at += 12 + ((size_t)b[at] << 24 | (size_t)b[at + 1] << 16 | (size_t)b[at + 2] << 8 | b[at + 3]);
    REQUIRE(at + 8 < n);
    size_t len = (size_t)b[at] << 24 | (size_t)b[at + 1] << 16 | (size_t)b[at + 2] << 8 | b[at + 3];
    b[at + 8 + len / 2] ^= 0x55;
    fixture_png_fix_crc(b + at + 4, len);
    check_failed(image_decode(b, n, "idat.png", &im), &im, "idat.png", "invalid PNG file");
    free(b);

    b = fixture_read_file(tmp_file(path, sizeof path, "cut-base.jpg"), &n);
    REQUIRE(b);
    b[n - 40] = 0xff; /* an end-of-image marker inside the entropy-coded data */
    b[n - 39] = 0xd9;
    check_failed(image_decode(b, n, "marker.jpg", &im), &im, "marker.jpg", "invalid JPEG file");
    free(b);

    /* oversized headers are refused before any pixel memory */
    REQUIRE(fixture_png_claiming(tmp_file(path, sizeof path, "huge.png"), 100000, 100000));
    check_failed(image_read(path, &im), &im, path, "image is 100000 x 100000 pixels, above the limit");
    CHECK_FAILS_WITH(image_probe(path, &info), "above the limit of 268435456 pixels");
    REQUIRE(fixture_png_claiming(path, 0x7fffffff, 0x7fffffff));
    check_failed(image_read(path, &im), &im, path, "above the limit");
    REQUIRE(fixture_png_claiming(path, 0x80000000u, 1));
    check_failed(image_read(path, &im), &im, path, "invalid PNG file");
    REQUIRE(fixture_png_claiming(path, 0, 5));
    check_failed(image_read(path, &im), &im, path, "invalid PNG file");
    REQUIRE(fixture_jpeg_claiming(tmp_file(path, sizeof path, "huge.jpg"), 65000, 65000));
    check_failed(image_read(path, &im), &im, path, "image is 65000 x 65000 pixels, above the limit");
    REQUIRE(fixture_jpeg_claiming(path, 16000, 0));
    check_failed(image_read(path, &im), &im, path, "invalid JPEG file");
    /* a pixel limit of our own */
    image_set_pixel_limit(100);
    CHECK(image_pixel_limit() == 100);
    check_failed(image_read(tmp_file(path, sizeof path, "cut-rgb.png"), &im), &im, path,
                 "image is 23 x 11 pixels, above the limit of 100 pixels");
    CHECK_FAILS_WITH(image_alloc(&im, 11, 10, "big"), "big: image is 11 x 10 pixels");
    CHECK_OK(image_alloc(&im, 10, 10, "ok"));
    image_free(&im);
    image_set_pixel_limit(0);
    CHECK(image_pixel_limit() == IMAGE_DEFAULT_PIXEL_LIMIT);
    CHECK_FAILS_WITH(image_alloc(&im, INT_MAX, INT_MAX, "img"), "above the limit");
    CHECK_FAILS_WITH(image_alloc(&im, 0, 5, "img"), "invalid image size");
}

int main(void)
{
    test_png_variants();
    test_jpeg_variants();
    test_text();
    test_write();
    test_atomic_write();
    test_atomic_write_killed();
    test_bad_inputs();
    return check_report("test_image");
}
