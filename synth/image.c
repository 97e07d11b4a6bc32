/* The float image type and the front of image I/O: allocation, the pixel
 * limit, text metadata, the byte sources, choosing a decoder by the file's
 * first bytes, choosing an encoder by the output's extension, and the row
 * converters the PNG and JPEG codecs share. The codecs themselves are in
 * image_png.c and image_jpeg.c; resampling is in resample.c. */
#include "synth/image_codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ===== The image type ===================================================== */

static uint64_t pixel_limit = IMAGE_DEFAULT_PIXEL_LIMIT;

void image_set_pixel_limit(uint64_t pixels)
{
    pixel_limit = pixels ? pixels : IMAGE_DEFAULT_PIXEL_LIMIT;
}

uint64_t image_pixel_limit(void) { return pixel_limit; }

status check_pixel_limit(const char *name, uint32_t width, uint32_t height)
{
    if (width == 0 || height == 0)
        return error_set(name, "image has no pixels (%u x %u)", width, height);
    uint64_t pixels = (uint64_t)width * height;
    if (pixels > pixel_limit)
        return error_set(name, "image is %u x %u pixels, above the limit of %llu pixels", width,
                         height, (unsigned long long)pixel_limit);
    return ST_OK;
}

status image_alloc(image *im, int width, int height, const char *what)
{
    /* im: [3, height, width] floats */
    *im = (image){0};
    if (width <= 0 || height <= 0)
        return error_set(what, "invalid image size %d x %d", width, height);
    if (check_pixel_limit(what, (uint32_t)width, (uint32_t)height) != ST_OK)
        return ST_ERROR;
    size_t count;
    if (!size_mul3(3, (size_t)width, (size_t)height, &count))
        return error_prefix(what);
    float *data = alloc_array(count, sizeof(float), what);
    if (!data)
        return ST_ERROR;
    *im = (image){width, height, data};
    return ST_OK;
}

void image_free(image *im)
{
    if (!im)
        return;
    free(im->data);
    *im = (image){0};
}

status image_copy(const image *src, image *dst)
{
    if (image_alloc(dst, src->width, src->height, "image") != ST_OK)
        return ST_ERROR;
    memcpy(dst->data, src->data, 3 * (size_t)src->width * (size_t)src->height * sizeof(float));
    return ST_OK;
}

const char *image_format_name(image_format f)
{
    switch (f) {
    case IMAGE_FORMAT_PNG: return "PNG";
    case IMAGE_FORMAT_JPEG: return "JPEG";
    default: return "unknown";
    }
}

/* ===== Text metadata ====================================================== */

status image_text_key_check(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > 79)
        return error_set(key, "a text key must have 1 to 79 characters");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c > 0x7e || c == ':')
            return error_set(key, "a text key must be printable ASCII without ':'");
        if (c == ' ' && (i == 0 || i == n - 1 || key[i + 1] == ' '))
            return error_set(key, "a text key must not start or end with a space or hold two in a row");
    }
    return ST_OK;
}

/* Copies `n` bytes into a fresh NUL-terminated string, Latin-1 -> UTF-8 when
 * asked (each byte >= 0x80 becomes two). A NUL byte ends the text. */
static char *copy_text(const char *s, size_t n, bool latin1)
{
    size_t len = strnlen(s, n);
    size_t cap = latin1 ? 2 * len + 1 : len + 1; /* len <= a chunk's size: no overflow */
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (latin1 && c >= 0x80) {
            out[k++] = (char)(0xc0 | (c >> 6));
            out[k++] = (char)(0x80 | (c & 0x3f));
        } else {
            out[k++] = (char)c;
        }
    }
    out[k] = '\0';
    return out;
}

status info_add_text(image_info *info, const char *name, const char *key, size_t key_len,
                     const char *value, size_t value_len, bool latin1)
{
    size_t count = (size_t)info->text_count + 1;
    if (count > 100000)
        return error_set(name, "too many text entries");
    image_text *t = realloc(info->text, count * sizeof *t);
    if (!t)
        return error_set(name, "out of memory");
    info->text = t;
    char *k = copy_text(key, key_len, latin1), *v = copy_text(value, value_len, latin1);
    if (!k || !v) {
        free(k);
        free(v);
        return error_set(name, "out of memory");
    }
    t[info->text_count++] = (image_text){k, v};
    return ST_OK;
}

void image_info_free(image_info *info)
{
    if (!info)
        return;
    for (int i = 0; i < info->text_count; i++) {
        free(info->text[i].key);
        free(info->text[i].value);
    }
    free(info->text);
    *info = (image_info){0};
}

/* ===== Byte sources ======================================================= */

enum { FILE_BUFFER_SIZE = 1 << 16 };

bool source_fill(byte_source *s)
{
    if (s->avail)
        return true;
    if (!s->file)
        return false;
    size_t n = fread(s->buffer, 1, s->capacity, s->file);
    if (n == 0) {
        if (ferror(s->file))
            s->read_errno = errno ? errno : EIO;
        return false;
    }
    s->next = s->buffer;
    s->avail = n;
    return true;
}

/* Makes at least n (<= capacity) bytes available, unless the input is shorter;
 * returns how many are. Nothing is consumed. */
static size_t source_peek(byte_source *s, size_t n)
{
    if (s->file && s->avail < n) {
        memmove(s->buffer, s->next, s->avail);
        s->next = s->buffer;
        while (s->avail < n) {
            size_t k = fread(s->buffer + s->avail, 1, s->capacity - s->avail, s->file);
            if (k == 0) {
                if (ferror(s->file))
                    s->read_errno = errno ? errno : EIO;
                break;
            }
            s->avail += k;
        }
    }
    return s->avail;
}

status source_end_error(const byte_source *s, const char *name, const char *format)
{
    if (s->read_errno)
        return error_set(name, "read error: %s", strerror(s->read_errno));
    return error_set(name, "truncated %s file", format);
}

static status source_open_file(byte_source *s, const char *path)
{
    *s = (byte_source){0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(path, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return error_set(path, "is a directory");
    }
    s->buffer = malloc(FILE_BUFFER_SIZE);
    if (!s->buffer) {
        fclose(f);
        return error_set(path, "out of memory");
    }
    s->file = f;
    s->capacity = FILE_BUFFER_SIZE;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
        s->size = (uint64_t)st.st_size;
    s->next = s->buffer;
    return ST_OK;
}

static void source_close(byte_source *s)
{
    if (s->file)
        fclose(s->file);
    free(s->buffer);
    *s = (byte_source){0};
}

/* ===== Reading: the decoder is chosen by the first bytes ================== */

static const unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const unsigned char jpeg_signature[3] = {0xff, 0xd8, 0xff};

/* Names formats we do not read, for a clearer refusal. */
static const char *other_format(const unsigned char *b, size_t n)
{
    if (n >= 4 && memcmp(b, "GIF8", 4) == 0)
        return "GIF";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return "WebP";
    if (n >= 4 && (memcmp(b, "II*\0", 4) == 0 || memcmp(b, "MM\0*", 4) == 0))
        return "TIFF";
    if (n >= 2 && memcmp(b, "BM", 2) == 0)
        return "BMP";
    if (n >= 12 && memcmp(b + 4, "ftyp", 4) == 0)
        return "HEIF/AVIF";
    return NULL;
}

static status decode_source(decode_job *job)
{
    size_t n = source_peek(job->src, 12);
    const unsigned char *b = job->src->next;
    if (job->src->read_errno)
        return error_set(job->name, "read error: %s", strerror(job->src->read_errno));
    if (n == 0)
        return error_set(job->name, "empty file");
    if (n >= sizeof png_signature && memcmp(b, png_signature, sizeof png_signature) == 0)
        return png_decode(job);
    if (n >= sizeof jpeg_signature && memcmp(b, jpeg_signature, sizeof jpeg_signature) == 0)
        return jpeg_decode(job);
    if (n < sizeof png_signature && memcmp(b, png_signature, n) == 0)
        return error_set(job->name, "truncated PNG file");
    if (n < sizeof jpeg_signature && memcmp(b, jpeg_signature, n) == 0)
        return error_set(job->name, "truncated JPEG file");
    const char *other = other_format(b, n);
    if (other)
        return error_set(job->name, "is a %s image; synth reads PNG and JPEG", other);
    return error_set(job->name, "not a PNG or JPEG image");
}

/* Runs one decode on a file (path) or on memory (bytes, n), leaving outputs
 * empty on failure. */
static status run_decode(const char *path, const void *bytes, size_t n, const char *name,
                         bool decode_pixels, image *pixels, image_info *info)
{
    if (pixels)
        *pixels = (image){0};
    if (info)
        *info = (image_info){0};
    if (!path && !bytes && n > 0)
        return error_set(name, "no bytes to decode");
    byte_source src = {.next = bytes, .avail = n, .size = n};
    if (path && source_open_file(&src, path) != ST_OK)
        return ST_ERROR;
    decode_job job = {path ? path : name, &src, decode_pixels, pixels, info};
    status s = decode_source(&job);
    if (path)
        source_close(&src);
    if (s != ST_OK) {
        image_free(pixels);
        image_info_free(info);
    }
    return s;
}

status image_read(const char *path, image *out)
{
    return run_decode(path, NULL, 0, NULL, true, out, NULL);
}

status image_decode(const void *bytes, size_t n, const char *name, image *out)
{
    return run_decode(NULL, bytes, n, name ? name : "image", true, out, NULL);
}

status image_probe(const char *path, image_info *info)
{
    return run_decode(path, NULL, 0, NULL, false, NULL, info);
}

status image_probe_memory(const void *bytes, size_t n, const char *name, image_info *info)
{
    return run_decode(NULL, bytes, n, name ? name : "image", false, NULL, info);
}

status image_verify(const char *path, image_info *info)
{
    return run_decode(path, NULL, 0, NULL, true, NULL, info);
}

/* ===== Writing: the encoder is chosen by the extension ==================== */

image_format image_format_from_extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (!dot)
        return IMAGE_FORMAT_UNKNOWN;
    if (strcasecmp(dot, ".png") == 0)
        return IMAGE_FORMAT_PNG;
    if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0)
        return IMAGE_FORMAT_JPEG;
    return IMAGE_FORMAT_UNKNOWN;
}

status image_check_output(const char *path)
{
    if (!path || !*path)
        return error_set("output", "empty file name");
    if (image_format_from_extension(path) == IMAGE_FORMAT_UNKNOWN) {
        const char *slash = strrchr(path, '/');
        const char *dot = strrchr(slash ? slash + 1 : path, '.');
        if (!dot)
            return error_set(path, "no image file extension (use .png, .jpg or .jpeg)");
        return error_set(path, "unknown image file extension '%s' (use .png, .jpg or .jpeg)", dot);
    }
    return output_check_writable(path);
}

static status check_write_options(const char *path, image_format format, const image_write_options *o)
{
    if (o->png_bit_depth != 0 && o->png_bit_depth != 8 && o->png_bit_depth != 16)
        return error_set(path, "PNG bit depth must be 8 or 16, not %d", o->png_bit_depth);
    if (format == IMAGE_FORMAT_JPEG && o->png_bit_depth == 16)
        return error_set(path, "JPEG holds 8 bits per sample; write a .png for 16-bit output");
    if (o->jpeg_quality < 0 || o->jpeg_quality > 100)
        return error_set(path, "JPEG quality must be in [1, 100], not %d", o->jpeg_quality);
    if (o->text_count < 0 || (o->text_count > 0 && !o->text))
        return error_set(path, "invalid text list");
    for (int i = 0; i < o->text_count; i++) {
        if (!o->text[i].key || !o->text[i].value)
            return error_set(path, "text entry %d has no key or value", i);
        if (image_text_key_check(o->text[i].key) != ST_OK)
            return error_prefix(path);
        if (format == IMAGE_FORMAT_JPEG && strlen(o->text[i].key) + 2 + strlen(o->text[i].value) > 65533)
            return error_set(path, "text '%s' is too long for a JPEG comment (64 KiB at most)",
                             o->text[i].key);
    }
    return ST_OK;
}

image_write_options image_output_write_options(const image_output_options *o)
{
    return (image_write_options){.png_bit_depth = o->png_depth ? 16 : 8, .jpeg_quality = o->jpeg_quality};
}

status image_check_output_options(const char *path, const image_write_options *o)
{
    if (image_check_output(path) != ST_OK)
        return ST_ERROR;
    return check_write_options(path, image_format_from_extension(path), o);
}

status image_write(const char *path, const image *im, const image_write_options *opts)
{
    image_write_options defaults = {0};
    const image_write_options *o = opts ? opts : &defaults;
    if (image_check_output_options(path, o) != ST_OK)
        return ST_ERROR;
    if (!im || !im->data || im->width <= 0 || im->height <= 0)
        return error_set(path, "no image to write");
    image_format format = image_format_from_extension(path);
    atomic_file *f;
    if (atomic_open(path, &f) != ST_OK)
        return ST_ERROR;
    status s = format == IMAGE_FORMAT_PNG ? png_encode(atomic_stream(f), path, im, o)
                                          : jpeg_encode(atomic_stream(f), path, im, o);
    if (s != ST_OK) {
        atomic_abort(f);
        return s;
    }
    return atomic_commit(f);
}

/* ===== Row converters ===================================================== */

/* Divisions (not multiplications by 1/max), so every stored value maps to the
 * float nearest to value / max. */
void samples_to_float(const unsigned char *row, size_t count, int depth, float *out)
{
    /* row: [count] bytes (depth 8) or [count, 2] big-endian (depth 16) */
    if (depth == 16)
        for (size_t i = 0; i < count; i++)
            out[i] = (float)(row[2 * i] << 8 | row[2 * i + 1]) / 65535.0f;
    else
        for (size_t i = 0; i < count; i++)
            out[i] = (float)row[i] / 255.0f;
}

void row_from_float(const float *s, int channels, image *im, int y)
{
    /* s: [W, channels]; im: [3, H, W] */
    int w = im->width;
    size_t at = (size_t)y * (size_t)w;
    float *r = image_plane(im, 0) + at, *g = image_plane(im, 1) + at, *b = image_plane(im, 2) + at;
    switch (channels) {
    case 1:
        for (int x = 0; x < w; x++)
            r[x] = g[x] = b[x] = s[x];
        break;
    case 2:
        for (int x = 0; x < w; x++) {
            float a = s[2 * x + 1];
            r[x] = g[x] = b[x] = s[2 * x] * a + (1.0f - a);
        }
        break;
    case 3:
        for (int x = 0; x < w; x++) {
            r[x] = s[3 * x];
            g[x] = s[3 * x + 1];
            b[x] = s[3 * x + 2];
        }
        break;
    default:
        for (int x = 0; x < w; x++) {
            float a = s[4 * x + 3];
            r[x] = s[4 * x] * a + (1.0f - a);
            g[x] = s[4 * x + 1] * a + (1.0f - a);
            b[x] = s[4 * x + 2] * a + (1.0f - a);
        }
        break;
    }
}

/* The products are exact in double (24-bit mantissa times 8 or 16 bits), so
 * rounding is exactly round-half-up of v * max. */
void row_to_rgb8(const image *im, int y, unsigned char *out)
{
    /* im: [3, H, W]; out: [W, 3] */
    int w = im->width;
    size_t at = (size_t)y * (size_t)w;
    for (int c = 0; c < 3; c++) {
        const float *p = image_plane(im, c) + at;
        for (int x = 0; x < w; x++)
            out[3 * x + c] = (unsigned char)((double)clamp01(p[x]) * 255.0 + 0.5);
    }
}

void row_to_rgb16be(const image *im, int y, unsigned char *out)
{
    /* im: [3, H, W]; out: [W, 3, 2] big-endian */
    int w = im->width;
    size_t at = (size_t)y * (size_t)w;
    for (int c = 0; c < 3; c++) {
        const float *p = image_plane(im, c) + at;
        for (int x = 0; x < w; x++) {
            unsigned v = (unsigned)((double)clamp01(p[x]) * 65535.0 + 0.5);
            out[6 * x + 2 * c] = (unsigned char)(v >> 8);
            out[6 * x + 2 * c + 1] = (unsigned char)(v & 0xff);
        }
    }
}
