/* JPEG decoding and encoding with libjpeg(-turbo).
 *
 * libjpeg's error_exit must not return; ours records "<name>: <reason>" and
 * longjmps back to the one setjmp in each *_run() function, whose state lives
 * in a context struct owned by the caller. Warnings that mean the pixel data is
 * damaged (bad Huffman codes, premature end of a segment, an inconsistent
 * progression, ...) are errors too; warnings about metadata alone are dropped.
 * Nothing is printed. The input ends early -> "truncated JPEG file" (libjpeg's
 * habit of padding a short file with a fake end marker is not used).
 *
 * Colour: gray and YCbCr/RGB files decode through libjpeg's own conversion;
 * CMYK and YCCK files come out as CMYK and are converted here:
 *   R = (1 - C)(1 - K), G = (1 - M)(1 - K), B = (1 - Y)(1 - K)
 * where files with an Adobe APP14 marker (Photoshop and most others) store
 * inverted ink, 255 - value.
 */
#include "synth/image_codec.h"

#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

/* Progressive files can hold any number of scans, each a pass over the whole
 * image; a few hundred is already absurd (libjpeg-turbo's advice). */
enum { MAX_SCANS = 500 };

typedef struct {
    struct jpeg_error_mgr err;  /* first: libjpeg hands back a pointer to it */
    jmp_buf jump;
    const char *name;
    const char *failure;        /* "invalid JPEG file" or "cannot write JPEG" */
    bool have_message;
    byte_source *src;
    struct jpeg_source_mgr source;
    struct jpeg_progress_mgr progress;
    struct jpeg_decompress_struct d;
    struct jpeg_compress_struct e;
    unsigned char *row;
    float *samples;             /* the row as floats */
} jpeg_context;

static void on_error(j_common_ptr cinfo)
{
    jpeg_context *c = (jpeg_context *)cinfo->err;
    if (!c->have_message) {
        char text[JMSG_LENGTH_MAX];
        cinfo->err->format_message(cinfo, text);
        error_set(c->name, "%s (%s)", c->failure, text);
    }
    longjmp(c->jump, 1);
}

/* Warnings about metadata that leave the pixels intact. */
static bool harmless_warning(int code)
{
    return code == JWRN_EXTRANEOUS_DATA || code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM ||
           code == JWRN_BOGUS_ICC;
}

static void on_message(j_common_ptr cinfo, int level)
{
    /* level -1: a warning; >= 0: trace output, which we never want */
    if (level < 0 && !harmless_warning(cinfo->err->msg_code))
        on_error(cinfo);
}

static void on_output(j_common_ptr cinfo) { (void)cinfo; }

/* A zeroed context (large: kept off the stack) with our error manager. */
static jpeg_context *context_new(const char *name, const char *failure)
{
    jpeg_context *c = alloc_array(1, sizeof *c, name);
    if (!c)
        return NULL;
    c->name = name;
    c->failure = failure;
    jpeg_std_error(&c->err);
    c->err.error_exit = on_error;
    c->err.emit_message = on_message;
    c->err.output_message = on_output;
    return c;
}

static jpeg_context *context_of(j_decompress_ptr d) { return (jpeg_context *)d->err; }

/* ---- the source manager: libjpeg pulls bytes from our byte_source -------- */

static void source_init(j_decompress_ptr d) { (void)d; }
static void source_term(j_decompress_ptr d) { (void)d; }

static boolean source_refill(j_decompress_ptr d)
{
    jpeg_context *c = context_of(d);
    if (!source_fill(c->src)) {
        source_end_error(c->src, c->name, "JPEG");
        c->have_message = true;
        on_error((j_common_ptr)d);
    }
    /* libjpeg owns these bytes now */
    c->source.next_input_byte = c->src->next;
    c->source.bytes_in_buffer = c->src->avail;
    c->src->avail = 0;
    return TRUE;
}

static void source_skip(j_decompress_ptr d, long count)
{
    jpeg_context *c = context_of(d);
    if (count <= 0)
        return;
    size_t n = (size_t)count;
    while (n > c->source.bytes_in_buffer) {
        n -= c->source.bytes_in_buffer;
        c->source.bytes_in_buffer = 0;
        source_refill(d);
    }
    c->source.next_input_byte += n;
    c->source.bytes_in_buffer -= n;
}

static void check_scans(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > MAX_SCANS) {
        jpeg_context *c = context_of(d);
        error_set(c->name, "invalid JPEG file (more than %d scans)", MAX_SCANS);
        c->have_message = true;
        on_error(cinfo);
    }
}

/* ---- decoding ------------------------------------------------------------ */

static const char *color_name(J_COLOR_SPACE space)
{
    switch (space) {
    case JCS_GRAYSCALE: return "gray";
    case JCS_YCbCr: return "ycbcr";
    case JCS_RGB: return "rgb";
    case JCS_CMYK: return "cmyk";
    case JCS_YCCK: return "ycck";
    default: return NULL;
    }
}

/* A comment "key: value" with a valid key reads back as that pair; any other
 * comment as ("comment", text). */
static status add_comment(jpeg_context *c, image_info *info, const char *text, size_t n)
{
    n = strnlen(text, n);
    const char *sep = memchr(text, ':', n);
    if (sep && sep > text && (size_t)(sep - text) <= 79 && (size_t)(sep - text) + 1 < n &&
        sep[1] == ' ') {
        char key[80];
        memcpy(key, text, (size_t)(sep - text));
        key[sep - text] = '\0';
        if (image_text_key_check(key) == ST_OK)
            return info_add_text(info, c->name, key, strlen(key), sep + 2,
                                 n - (size_t)(sep - text) - 2, false);
        error_clear();
    }
    return info_add_text(info, c->name, "comment", 7, text, n, false);
}

/* CMYK samples in [0, 1] -> planar float row y (see the file comment). */
static void row_from_cmyk(const float *s, bool inverted, image *im, int y)
{
    /* s: [W, 4]; im: [3, H, W] */
    int w = im->width;
    size_t at = (size_t)y * (size_t)w;
    float *r = image_plane(im, 0) + at, *g = image_plane(im, 1) + at, *b = image_plane(im, 2) + at;
    float flip = inverted ? 1.0f : 0.0f; /* ink = |flip - s| */
    for (int x = 0; x < w; x++) {
        const float *p = s + 4 * x;
        float k = 1.0f - fabsf(flip - p[3]);
        r[x] = (1.0f - fabsf(flip - p[0])) * k;
        g[x] = (1.0f - fabsf(flip - p[1])) * k;
        b[x] = (1.0f - fabsf(flip - p[2])) * k;
    }
}

static status decode_run(jpeg_context *c, decode_job *job)
{
    if (setjmp(c->jump))
        return ST_ERROR;
    j_decompress_ptr d = &c->d;
    jpeg_create_decompress(d);
    c->source = (struct jpeg_source_mgr){
        .next_input_byte = c->src->next,
        .bytes_in_buffer = c->src->avail,
        .init_source = source_init,
        .fill_input_buffer = source_refill,
        .skip_input_data = source_skip,
        .resync_to_restart = jpeg_resync_to_restart,
        .term_source = source_term,
    };
    c->src->avail = 0;
    d->src = &c->source;
    c->progress.progress_monitor = check_scans;
    d->progress = &c->progress;
    if (job->info)
        jpeg_save_markers(d, JPEG_COM, 0xffff);
    if (jpeg_read_header(d, TRUE) != JPEG_HEADER_OK)
        return error_set(c->name, "invalid JPEG file (no image)");
    if (check_pixel_limit(c->name, d->image_width, d->image_height) != ST_OK)
        return ST_ERROR;
    const char *color = color_name(d->jpeg_color_space);
    if (!color)
        return error_set(c->name, "unsupported JPEG colour space (%d components)", d->num_components);
    if (job->info) {
        image_info *info = job->info;
        info->format = IMAGE_FORMAT_JPEG;
        info->width = (int)d->image_width;
        info->height = (int)d->image_height;
        info->channels = d->num_components;
        info->bit_depth = d->data_precision;
        info->color = color;
        info->interlaced = d->progressive_mode;
        for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next)
            if (m->marker == JPEG_COM &&
                add_comment(c, info, (const char *)m->data, m->data_length) != ST_OK)
                return ST_ERROR;
    }
    if (!job->decode_pixels)
        return ST_OK;

    bool cmyk = d->jpeg_color_space == JCS_CMYK || d->jpeg_color_space == JCS_YCCK;
    d->out_color_space = d->jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(d);
    int channels = d->output_components;
    if (job->pixels && image_alloc(job->pixels, (int)d->output_width, (int)d->output_height, c->name) != ST_OK)
        return ST_ERROR;
    c->row = alloc_array(d->output_width, (size_t)channels, c->name);
    c->samples = alloc_array(d->output_width, (size_t)channels * sizeof(float), c->name);
    if (!c->row || !c->samples)
        return ST_ERROR;
    while (d->output_scanline < d->output_height) {
        int y = (int)d->output_scanline;
        JSAMPROW rows[1] = {c->row};
        if (jpeg_read_scanlines(d, rows, 1) != 1)
            return error_set(c->name, "invalid JPEG file (no data)");
        if (!job->pixels)
            continue;
        samples_to_float(c->row, (size_t)d->output_width * (size_t)channels, 8, c->samples);
        if (cmyk)
            row_from_cmyk(c->samples, d->saw_Adobe_marker, job->pixels, y);
        else
            row_from_float(c->samples, channels, job->pixels, y);
    }
    jpeg_finish_decompress(d);
    return ST_OK;
}

status jpeg_decode(decode_job *job)
{
    jpeg_context *c = context_new(job->name, "invalid JPEG file");
    if (!c)
        return ST_ERROR;
    c->src = job->src;
    c->d.err = &c->err;
    status s = decode_run(c, job);
    jpeg_destroy_decompress(&c->d);
    free(c->row);
    free(c->samples);
    free(c);
    return s;
}

/* ---- encoding ------------------------------------------------------------ */

static status encode_run(jpeg_context *c, FILE *f, const image *im, const image_write_options *o)
{
    if (setjmp(c->jump))
        return ST_ERROR;
    j_compress_ptr e = &c->e;
    jpeg_create_compress(e);
    jpeg_stdio_dest(e, f);
    e->image_width = (JDIMENSION)im->width;
    e->image_height = (JDIMENSION)im->height;
    e->input_components = 3;
    e->in_color_space = JCS_RGB;
    jpeg_set_defaults(e);
    int quality = o->jpeg_quality ? o->jpeg_quality : IMAGE_DEFAULT_JPEG_QUALITY;
    jpeg_set_quality(e, quality, TRUE);
    if (quality >= 90) { /* keep full colour resolution (4:4:4) at high quality */
        e->comp_info[0].h_samp_factor = 1;
        e->comp_info[0].v_samp_factor = 1;
    }
    e->optimize_coding = TRUE;
    jpeg_start_compress(e, TRUE);
    for (int i = 0; i < o->text_count; i++) {
        /* "key: value" (lengths checked by image_write) */
        const char *key = o->text[i].key, *value = o->text[i].value;
        size_t kn = strlen(key), vn = strlen(value);
        jpeg_write_m_header(e, JPEG_COM, (unsigned)(kn + 2 + vn));
        for (size_t k = 0; k < kn; k++)
            jpeg_write_m_byte(e, (unsigned char)key[k]);
        jpeg_write_m_byte(e, ':');
        jpeg_write_m_byte(e, ' ');
        for (size_t k = 0; k < vn; k++)
            jpeg_write_m_byte(e, (unsigned char)value[k]);
    }
    c->row = alloc_array((size_t)im->width, 3, c->name);
    if (!c->row)
        return ST_ERROR;
    for (int y = 0; y < im->height; y++) {
        row_to_rgb8(im, y, c->row);
        JSAMPROW rows[1] = {c->row};
        jpeg_write_scanlines(e, rows, 1);
    }
    jpeg_finish_compress(e);
    return ST_OK;
}

status jpeg_encode(FILE *f, const char *name, const image *im, const image_write_options *o)
{
    jpeg_context *c = context_new(name, "cannot write JPEG");
    if (!c)
        return ST_ERROR;
    c->e.err = &c->err;
    status s = encode_run(c, f, im, o);
    jpeg_destroy_compress(&c->e);
    free(c->row);
    free(c);
    return s;
}
