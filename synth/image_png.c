/* PNG decoding and encoding with libpng.
 *
 * libpng reports errors by calling an error function that must not return; ours
 * records "<name>: <reason>" and longjmps back to the one setjmp in each
 * *_run() function. Everything those functions allocate lives in a context
 * struct owned by the caller, so the cleanup after a longjmp sees it. Warnings
 * (problems in ancillary chunks, which libpng then skips) are dropped: they
 * never affect pixels.
 *
 * Decoding expands every colour type to 8- or 16-bit gray, gray+alpha, RGB or
 * RGBA (palette -> RGB, tRNS -> alpha, 1/2/4-bit gray -> 8-bit) and converts one
 * row at a time to float; interlaced files need the whole stored image first.
 */
#include "synth/image_codec.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    jmp_buf jump;
    const char *name;
    const char *failure;   /* "invalid PNG file" or "cannot write PNG" */
    bool have_message;     /* the error is recorded already (truncation) */
    byte_source *src;      /* decoding */
    png_structp png;
    png_infop info;
    unsigned char *rows;   /* decoded rows: one, or all for interlaced files */
    float *samples;        /* one row as floats */
    png_bytepp row_pointers;
    png_text *text;        /* encoding */
    /* The chunk layout, followed as bytes pass to libpng (follow_chunks). */
    uint64_t read_pos;     /* bytes handed to libpng so far */
    uint64_t chunk_at;     /* where the next chunk starts */
    unsigned char chunk_header[8]; /* its length and type */
} png_context;

static void on_error(png_structp png, png_const_charp message)
{
    png_context *c = png_get_error_ptr(png);
    if (!c->have_message)
        error_set(c->name, "%s (%s)", c->failure, message);
    longjmp(c->jump, 1);
}

static void on_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message;
}

/* libpng allocates the length a chunk claims before reading it (a tEXt chunk
 * of up to 2 GiB, whatever png_set_chunk_malloc_max says), so a damaged
 * length field in a 1 kB file would cost a huge allocation. Every byte passes
 * through read_bytes in order, so the chunk layout (the 8-byte signature,
 * then per chunk: length, type, data, CRC) is followed here, and a chunk
 * other than IDAT (whose data libpng streams) that claims more bytes than the
 * input holds is the truncation it is. `bytes` are the k bytes read at
 * c->read_pos. */
static bool follow_chunks(png_context *c, const unsigned char *bytes, size_t k)
{
    uint64_t begin = c->read_pos, end = begin + k;
    c->read_pos = end;
    for (;;) {
        /* the part of the next chunk's length and type inside this read */
        uint64_t lo = c->chunk_at > begin ? c->chunk_at : begin;
        uint64_t hi = c->chunk_at + 8 < end ? c->chunk_at + 8 : end;
        if (lo >= hi)
            return true;
        for (uint64_t p = lo; p < hi; p++)
            c->chunk_header[p - c->chunk_at] = bytes[p - begin];
        if (hi < c->chunk_at + 8)
            return true; /* the rest comes with the next read */
        const unsigned char *l = c->chunk_header;
        uint32_t length = (uint32_t)l[0] << 24 | (uint32_t)l[1] << 16 | (uint32_t)l[2] << 8 | l[3];
        c->chunk_at += 12 + (uint64_t)length; /* length, type, data, CRC */
        if (c->src->size && c->chunk_at > c->src->size && memcmp(l + 4, "IDAT", 4) != 0)
            return false;
    }
}

static void read_bytes(png_structp png, png_bytep out, size_t n)
{
    png_context *c = png_get_io_ptr(png);
    png_bytep start = out;
    size_t want = n;
    while (n > 0) {
        if (!source_fill(c->src)) {
            source_end_error(c->src, c->name, "PNG");
            c->have_message = true;
            png_error(png, "truncated");
        }
        size_t k = n < c->src->avail ? n : c->src->avail;
        memcpy(out, c->src->next, k);
        c->src->next += k;
        c->src->avail -= k;
        out += k;
        n -= k;
    }
    if (!follow_chunks(c, start, want)) {
        error_set(c->name, "truncated PNG file (a chunk runs past the end)");
        c->have_message = true;
        png_error(png, "truncated");
    }
}

static const char *color_name(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return "gray";
    case PNG_COLOR_TYPE_GRAY_ALPHA: return "gray+alpha";
    case PNG_COLOR_TYPE_PALETTE: return "palette";
    case PNG_COLOR_TYPE_RGB: return "rgb";
    default: return "rgba";
    }
}

/* Replaces info->text by the text chunks libpng has read so far. */
static status collect_text(png_context *c, image_info *info)
{
    for (int i = 0; i < info->text_count; i++) {
        free(info->text[i].key);
        free(info->text[i].value);
    }
    free(info->text);
    info->text = NULL;
    info->text_count = 0;
    png_textp text;
    int count = 0;
    png_get_text(c->png, c->info, &text, &count);
    for (int i = 0; i < count; i++) {
        bool utf8 = text[i].compression == PNG_ITXT_COMPRESSION_NONE ||
                    text[i].compression == PNG_ITXT_COMPRESSION_zTXt;
        size_t len = utf8 ? text[i].itxt_length : text[i].text_length;
        if (info_add_text(info, c->name, text[i].key, strlen(text[i].key), text[i].text ? text[i].text : "",
                          text[i].text ? len : 0, !utf8) != ST_OK)
            return ST_ERROR;
    }
    return ST_OK;
}

static status decode_run(png_context *c, decode_job *job)
{
    if (setjmp(c->jump))
        return ST_ERROR;
    png_set_read_fn(c->png, c, read_bytes);
    /* Sizes: our pixel limit is checked right after the header, before any
     * row memory exists; libpng's own caps stay at the format's maximum. */
    png_set_user_limits(c->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_chunk_cache_max(c->png, 1000);       /* ancillary chunks kept */
    png_set_chunk_malloc_max(c->png, 8u << 20);  /* bytes per chunk, after zTXt inflation */
    png_read_info(c->png, c->info);

    png_uint_32 width, height;
    int depth, color_type, interlace;
    png_get_IHDR(c->png, c->info, &width, &height, &depth, &color_type, &interlace, NULL, NULL);
    if (check_pixel_limit(c->name, width, height) != ST_OK)
        return ST_ERROR;
    bool has_trns = png_get_valid(c->png, c->info, PNG_INFO_tRNS) != 0;
    if (job->info) {
        image_info *info = job->info;
        info->format = IMAGE_FORMAT_PNG;
        info->width = (int)width;
        info->height = (int)height;
        info->channels = color_type == PNG_COLOR_TYPE_PALETTE ? 3 : png_get_channels(c->png, c->info);
        info->channels += has_trns && (color_type & PNG_COLOR_MASK_ALPHA) == 0;
        info->bit_depth = depth;
        info->color = color_name(color_type);
        info->interlaced = interlace != PNG_INTERLACE_NONE;
        if (collect_text(c, info) != ST_OK)
            return ST_ERROR;
    }
    if (!job->decode_pixels)
        return ST_OK;

    png_set_expand(c->png); /* palette -> RGB, gray < 8 bit -> 8 bit, tRNS -> alpha */
    int passes = png_set_interlace_handling(c->png);
    png_read_update_info(c->png, c->info);
    int channels = png_get_channels(c->png, c->info);
    int out_depth = png_get_bit_depth(c->png, c->info);
    size_t row_bytes = png_get_rowbytes(c->png, c->info);
    if (channels < 1 || channels > 4 || (out_depth != 8 && out_depth != 16))
        return error_set(c->name, "unsupported PNG layout (%d channels, %d bits)", channels, out_depth);

    if (job->pixels && image_alloc(job->pixels, (int)width, (int)height, c->name) != ST_OK)
        return ST_ERROR;
    /* Interlaced files fill all rows over 7 passes; others are read row by row. */
    size_t stored_rows = passes > 1 ? height : 1, total;
    if (!size_mul(row_bytes, stored_rows, &total))
        return error_prefix(c->name);
    c->rows = alloc_array(total, 1, c->name);
    c->samples = alloc_array(width, (size_t)channels * sizeof(float), c->name);
    if (!c->rows || !c->samples)
        return ST_ERROR;
    if (passes > 1) {
        c->row_pointers = alloc_array(height, sizeof *c->row_pointers, c->name);
        if (!c->row_pointers)
            return ST_ERROR;
        for (png_uint_32 y = 0; y < height; y++)
            c->row_pointers[y] = c->rows + (size_t)y * row_bytes;
        png_read_image(c->png, c->row_pointers);
    }
    for (png_uint_32 y = 0; y < height; y++) {
        unsigned char *row = c->rows;
        if (passes > 1)
            row = c->row_pointers[y];
        else
            png_read_row(c->png, row, NULL);
        if (!job->pixels)
            continue;
        samples_to_float(row, (size_t)width * (size_t)channels, out_depth, c->samples);
        row_from_float(c->samples, channels, job->pixels, (int)y);
    }
    /* The rest of the file up to IEND: catches truncation, and holds any text
     * written after the pixel data. */
    png_read_end(c->png, c->info);
    if (job->info && collect_text(c, job->info) != ST_OK)
        return ST_ERROR;
    return ST_OK;
}

status png_decode(decode_job *job)
{
    png_context c = {.name = job->name, .failure = "invalid PNG file", .src = job->src, .chunk_at = 8};
    c.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
    c.info = c.png ? png_create_info_struct(c.png) : NULL;
    status s = c.info ? decode_run(&c, job) : error_set(job->name, "out of memory");
    png_destroy_read_struct(c.png ? &c.png : NULL, c.info ? &c.info : NULL, NULL);
    free(c.rows);
    free(c.samples);
    free(c.row_pointers);
    return s;
}

static bool is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

static status encode_run(png_context *c, FILE *f, const image *im, const image_write_options *o)
{
    if (setjmp(c->jump))
        return ST_ERROR;
    int depth = o->png_bit_depth == 16 ? 16 : 8;
    png_init_io(c->png, f);
    png_set_IHDR(c->png, c->info, (png_uint_32)im->width, (png_uint_32)im->height, depth,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (o->text_count > 0) {
        c->text = alloc_array((size_t)o->text_count, sizeof *c->text, c->name);
        if (!c->text)
            return ST_ERROR;
        for (int i = 0; i < o->text_count; i++) {
            /* tEXt holds Latin-1: a value beyond ASCII goes in iTXt (UTF-8). */
            bool ascii = is_ascii(o->text[i].value);
            c->text[i].compression = ascii ? PNG_TEXT_COMPRESSION_NONE : PNG_ITXT_COMPRESSION_NONE;
            c->text[i].key = o->text[i].key;
            c->text[i].text = o->text[i].value;
            c->text[i].text_length = ascii ? strlen(o->text[i].value) : 0;
            c->text[i].itxt_length = ascii ? 0 : strlen(o->text[i].value);
        }
        png_set_text(c->png, c->info, c->text, o->text_count);
    }
    /* Speed over the last few percent of size: zlib level 3 with the SUB and UP
     * filters wrote 4000x3000 renders 3-6x faster than libpng's defaults
     * (level 6, all filters), and the files were 5-10% larger at most. */
    png_set_compression_level(c->png, 3);
    png_set_filter(c->png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB | PNG_FILTER_UP);
    png_write_info(c->png, c->info);
    size_t row_bytes;
    if (!size_mul3((size_t)im->width, 3, (size_t)depth / 8, &row_bytes))
        return error_prefix(c->name);
    c->rows = alloc_array(row_bytes, 1, c->name);
    if (!c->rows)
        return ST_ERROR;
    for (int y = 0; y < im->height; y++) {
        if (depth == 8)
            row_to_rgb8(im, y, c->rows);
        else
            row_to_rgb16be(im, y, c->rows);
        png_write_row(c->png, c->rows);
    }
    png_write_end(c->png, NULL);
    return ST_OK;
}

status png_encode(FILE *f, const char *name, const image *im, const image_write_options *o)
{
    png_context c = {.name = name, .failure = "cannot write PNG"};
    c.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
    c.info = c.png ? png_create_info_struct(c.png) : NULL;
    status s = c.info ? encode_run(&c, f, im, o) : error_set(name, "out of memory");
    png_destroy_write_struct(c.png ? &c.png : NULL, c.info ? &c.info : NULL);
    free(c.rows);
    free(c.text);
    return s;
}
