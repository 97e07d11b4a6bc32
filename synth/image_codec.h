/* image_codec.h — private to synth/: what image.c shares with the PNG and JPEG
 * codecs (image_png.c, image_jpeg.c): the byte source the decoders read from,
 * the decode request, and the row converters between stored samples and the
 * planar float image. Not part of synth's contract; include only from synth/. */
#ifndef SYNTH_IMAGE_CODEC_H
#define SYNTH_IMAGE_CODEC_H

#include <stdint.h>

#include "synth/synth.h"

/* Bytes to decode: a whole buffer in memory, or a file read through a 64 KiB
 * buffer. `next`/`avail` are the unread bytes at hand. */
typedef struct {
    FILE *file;                /* NULL for a memory source */
    const unsigned char *next; /* unread bytes */
    size_t avail;
    unsigned char *buffer;     /* file sources: the read buffer */
    size_t capacity;
    int read_errno;            /* set when a read failed (not at end of file) */
    uint64_t size;             /* total bytes of the input; 0 when unknown (a pipe) */
} byte_source;

/* Makes unread bytes available when none are; false at the end of the input
 * or on a read error (read_errno set). */
bool source_fill(byte_source *s);
/* Records "<name>: truncated <format> file" or "<name>: read error: ..." for
 * an input that ended early; returns ST_ERROR. */
status source_end_error(const byte_source *s, const char *name, const char *format);

/* One decode: headers always; pixels when `decode_pixels`, stored in `pixels`
 * when that is not NULL (image_verify decodes without keeping them). */
typedef struct {
    const char *name;      /* for error messages */
    byte_source *src;
    bool decode_pixels;
    image *pixels;         /* NULL, or an empty image the decoder allocates */
    image_info *info;      /* NULL, or a zeroed info the decoder fills */
} decode_job;

status png_decode(decode_job *job);
status jpeg_decode(decode_job *job);
status png_encode(FILE *f, const char *name, const image *im, const image_write_options *o);
status jpeg_encode(FILE *f, const char *name, const image *im, const image_write_options *o);

/* The pixel limit check every decoder makes right after reading the header:
 * "<name>: image is W x H pixels, above the limit of N". */
status check_pixel_limit(const char *name, uint32_t width, uint32_t height);

/* Appends a copy of key/value to info->text (latin1: convert the bytes from
 * ISO 8859-1 to UTF-8, as PNG tEXt/zTXt hold Latin-1). */
status info_add_text(image_info *info, const char *name, const char *key, size_t key_len,
                     const char *value, size_t value_len, bool latin1);

/* Row converters. Stored samples -> [0, 1]: out[i] = sample_i / (2^depth - 1),
 * depth 8 (one byte each) or 16 (two bytes, big-endian, as in PNG). */
void samples_to_float(const unsigned char *row, size_t count, int depth, float *out);
/* One row of interleaved samples in [0, 1] -> planar row y of im. channels:
 * 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; alpha composited over white:
 * out = c * a + (1 - a). */
void row_from_float(const float *s, int channels, image *im, int y);
/* Planar float -> interleaved RGB samples of row y: clamped to [0, 1],
 * rounded, NaN -> 0. */
void row_to_rgb8(const image *im, int y, unsigned char *out);
void row_to_rgb16be(const image *im, int y, unsigned char *out);
/* The clamp every writer applies: NaN and below 0 -> 0, above 1 -> 1. */
static inline float clamp01(float v) { return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; }

#endif
