/* image_fixtures.h — test images written with libpng and libjpeg directly (not
 * through synth), so the decoders are checked against files made by someone
 * else. Shared by tests/test_image.c and tests/tool_images.c. */
#ifndef SYNTH_TESTS_IMAGE_FIXTURES_H
#define SYNTH_TESTS_IMAGE_FIXTURES_H

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

/* ===== PNG ================================================================ */

typedef struct {
    int width, height;
    int color_type;               /* PNG_COLOR_TYPE_* */
    int bit_depth;                /* 1, 2, 4, 8, 16 as the colour type allows */
    bool interlace;               /* Adam7 */
    const uint16_t *samples;      /* [height, width, channels] (palette: indices) */
    const png_color *palette;     /* palette files */
    int palette_count;
    const png_byte *palette_alpha; /* tRNS for palette files */
    int palette_alpha_count;
    const png_color_16 *transparent; /* tRNS for gray / RGB files */
    png_text *text_before;        /* text chunks before / after the image data */
    int text_before_count;
    png_text *text_after;
    int text_after_count;
} png_fixture;

static inline int fixture_png_channels(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
    case PNG_COLOR_TYPE_PALETTE: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    default: return 4;
    }
}

static inline bool fixture_png(const char *path, const png_fixture *f)
{
    FILE *out = fopen(path, "wb");
    if (!out)
        return false;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    int channels = fixture_png_channels(f->color_type);
    size_t row_bytes = ((size_t)f->width * (size_t)channels * (size_t)f->bit_depth + 7) / 8;
    png_bytep *rows = calloc((size_t)f->height, sizeof *rows);
    png_bytep data = calloc((size_t)f->height, row_bytes);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(out);
        free(rows);
        free(data);
        return false;
    }
    png_init_io(png, out);
    png_set_IHDR(png, info, (png_uint_32)f->width, (png_uint_32)f->height, f->bit_depth, f->color_type,
                 f->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (f->palette)
        png_set_PLTE(png, info, f->palette, f->palette_count);
    if (f->palette_alpha)
        png_set_tRNS(png, info, f->palette_alpha, f->palette_alpha_count, NULL);
    if (f->transparent)
        png_set_tRNS(png, info, NULL, 0, f->transparent);
    if (f->text_before_count)
        png_set_text(png, info, f->text_before, f->text_before_count);
    png_write_info(png, info);
    /* pack samples MSB first, big-endian for 16 bit */
    for (int y = 0; y < f->height; y++) {
        png_bytep row = data + (size_t)y * row_bytes;
        rows[y] = row;
        for (int i = 0; i < f->width * channels; i++) {
            unsigned v = f->samples[(size_t)y * f->width * channels + i];
            if (f->bit_depth == 16) {
                row[2 * i] = (png_byte)(v >> 8);
                row[2 * i + 1] = (png_byte)v;
            } else if (f->bit_depth == 8) {
                row[i] = (png_byte)v;
            } else {
                int per_byte = 8 / f->bit_depth, shift = 8 - f->bit_depth * (i % per_byte + 1);
                row[i / per_byte] |= (png_byte)(v << shift);
            }
        }
    }
    png_write_image(png, rows);
    png_infop end = png_create_info_struct(png);
    if (f->text_after_count)
        png_set_text(png, end, f->text_after, f->text_after_count);
    png_write_end(png, end);
    png_destroy_info_struct(png, &end);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(data);
    return fclose(out) == 0;
}

/* Reads a PNG with libpng directly, without transforms: samples as stored
 * ([height, width, channels], 8 or 16 bit) and up to 16 text chunks. */
typedef struct {
    int width, height, bit_depth, color_type, channels;
    uint16_t *samples;
    int text_count;
    char key[16][80];
    char value[16][512];
} png_raw;

static inline bool fixture_png_read(const char *path, png_raw *r)
{
    memset(r, 0, sizeof *r);
    FILE *in = fopen(path, "rb");
    if (!in)
        return false;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(in);
        free(r->samples);
        r->samples = NULL;
        return false;
    }
    png_init_io(png, in);
    png_read_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    r->width = (int)png_get_image_width(png, info);
    r->height = (int)png_get_image_height(png, info);
    r->bit_depth = png_get_bit_depth(png, info);
    r->color_type = png_get_color_type(png, info);
    r->channels = png_get_channels(png, info);
    png_bytepp rows = png_get_rows(png, info);
    size_t per_row = (size_t)r->width * r->channels;
    r->samples = malloc(per_row * r->height * sizeof *r->samples);
    for (int y = 0; y < r->height; y++)
        for (size_t i = 0; i < per_row; i++)
            r->samples[y * per_row + i] = r->bit_depth == 16
                ? (uint16_t)(rows[y][2 * i] << 8 | rows[y][2 * i + 1]) : rows[y][i];
    png_textp text;
    int count = 0;
    png_get_text(png, info, &text, &count);
    for (int i = 0; i < count && i < 16; i++) {
        snprintf(r->key[i], sizeof r->key[i], "%s", text[i].key);
        snprintf(r->value[i], sizeof r->value[i], "%s", text[i].text);
        r->text_count++;
    }
    png_destroy_read_struct(&png, &info, NULL);
    fclose(in);
    return true;
}

/* ===== JPEG =============================================================== */

typedef struct {
    int width, height;
    int components;               /* 1 gray, 3 RGB, 4 CMYK (as stored values) */
    J_COLOR_SPACE stored;         /* JCS_GRAYSCALE, JCS_YCbCr, JCS_RGB, JCS_CMYK, JCS_YCCK */
    bool progressive;
    bool arithmetic;              /* arithmetic coding instead of Huffman */
    bool no_adobe_marker;         /* CMYK: omit APP14 (then ink is not inverted) */
    int quality;                  /* 0: 95 */
    const unsigned char *samples; /* [height, width, components] */
    const char *comment;          /* a COM marker, or NULL */
} jpeg_fixture;

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
} fixture_jpeg_error;

static inline void fixture_jpeg_exit(j_common_ptr c) { longjmp(((fixture_jpeg_error *)c->err)->jump, 1); }

static inline bool fixture_jpeg(const char *path, const jpeg_fixture *f)
{
    FILE *out = fopen(path, "wb");
    if (!out)
        return false;
    struct jpeg_compress_struct c;
    fixture_jpeg_error err;
    c.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = fixture_jpeg_exit;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&c);
        fclose(out);
        return false;
    }
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, out);
    c.image_width = (JDIMENSION)f->width;
    c.image_height = (JDIMENSION)f->height;
    c.input_components = f->components;
    c.in_color_space = f->components == 1 ? JCS_GRAYSCALE : f->components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, f->stored);
    jpeg_set_quality(&c, f->quality ? f->quality : 95, TRUE);
    for (int i = 0; i < c.num_components; i++)
        c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1; /* 4:4:4 */
    if (f->no_adobe_marker)
        c.write_Adobe_marker = FALSE;
    if (f->progressive)
        jpeg_simple_progression(&c);
    c.arith_code = f->arithmetic;
    jpeg_start_compress(&c, TRUE);
    if (f->comment)
        jpeg_write_marker(&c, JPEG_COM, (const JOCTET *)f->comment, (unsigned)strlen(f->comment));
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(f->samples + (size_t)c.next_scanline * f->width * f->components);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return fclose(out) == 0;
}

/* A smooth test pattern (JPEG-friendly): [height, width, components] bytes. */
static inline unsigned char *fixture_smooth(int width, int height, int components)
{
    unsigned char *s = malloc((size_t)width * height * components);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int k = 0; k < components; k++) {
                double v = 0.5 + 0.4 * sin(0.07 * (x + 1) * (k + 1) + 0.05 * y * (3 - k % 3));
                s[((size_t)y * width + x) * components + k] = (unsigned char)(v * 255 + 0.5);
            }
    return s;
}

/* The whole file in a fresh buffer (NULL on failure). */
static inline unsigned char *fixture_read_file(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    unsigned char *b = malloc(size > 0 ? (size_t)size : 1);
    if (b && fread(b, 1, (size_t)size, f) != (size_t)size) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)size;
    return b;
}

static inline bool fixture_write_file(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(bytes, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* Recomputes the CRC stored after a PNG chunk (type + data; CRC-32, as in
 * the PNG specification's sample code). */
static inline void fixture_png_fix_crc(unsigned char *chunk_type, size_t data_length)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < 4 + data_length; i++) {
        crc ^= chunk_type[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    crc ^= 0xffffffffu;
    unsigned char *p = chunk_type + 4 + data_length;
    p[0] = (unsigned char)(crc >> 24);
    p[1] = (unsigned char)(crc >> 16);
    p[2] = (unsigned char)(crc >> 8);
    p[3] = (unsigned char)crc;
}

/* A valid 8-bit RGB PNG whose header claims width x height (the pixel data is
 * that of a 1 x 1 image): for the size-limit checks. */
static inline bool fixture_png_claiming(const char *path, uint32_t width, uint32_t height)
{
    uint16_t px[3] = {1, 2, 3};
    png_fixture f = {.width = 1, .height = 1, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8, .samples = px};
    size_t n;
    if (!fixture_png(path, &f))
        return false;
    unsigned char *b = fixture_read_file(path, &n);
    if (!b)
        return false;
    /* signature (8), IHDR length (4), "IHDR" at 12, width at 16, height at 20 */
    for (int i = 0; i < 4; i++) {
        b[16 + i] = (unsigned char)(width >> (24 - 8 * i));
        b[20 + i] = (unsigned char)(height >> (24 - 8 * i));
    }
    fixture_png_fix_crc(b + 12, 13);
    bool ok = fixture_write_file(path, b, n);
    free(b);
    return ok;
}

/* A JPEG whose SOF claims width x height (at most 65535 each). */
static inline bool fixture_jpeg_claiming(const char *path, unsigned width, unsigned height)
{
    unsigned char *s = fixture_smooth(8, 8, 3);
    jpeg_fixture f = {.width = 8, .height = 8, .components = 3, .stored = JCS_YCbCr, .samples = s};
    bool ok = fixture_jpeg(path, &f);
    free(s);
    size_t n;
    unsigned char *b = ok ? fixture_read_file(path, &n) : NULL;
    if (!b)
        return false;
    ok = false;
    for (size_t i = 2; i + 9 < n; i++) /* SOF0: FF C0, length (2), precision, height, width */
        if (b[i] == 0xff && b[i + 1] == 0xc0) {
            b[i + 5] = (unsigned char)(height >> 8);
            b[i + 6] = (unsigned char)height;
            b[i + 7] = (unsigned char)(width >> 8);
            b[i + 8] = (unsigned char)width;
            ok = true;
            break;
        }
    ok = ok && fixture_write_file(path, b, n);
    free(b);
    return ok;
}

#endif
