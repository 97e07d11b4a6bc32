/* synth info — describe a file. For an image: format, size, channels, bit
 * depth, colour type, and the text metadata stored in it, one "key: value" per
 * line on stdout. */
#include "cli/cli.h"
#include "synth/synth.h"

#include <stddef.h>

typedef struct {
    bool headers_only;
    string_list files; /* positional: FILE */
} info_options;

static const option_spec info_specs[] = {
    {"headers", 0, OPT_FLAG, offsetof(info_options, headers_only), 0, 0, 0, 0, NULL, NULL,
     "read only the headers and metadata (fast; damaged pixel data goes unnoticed)"},
};

static const option_table info_table = {
    "info",
    "synth info FILE [options]",
    "Describes an image file (PNG or JPEG, recognized by its content, not its name):\n"
    "format, width, height, channels, bit depth, colour type, interlacing, then the\n"
    "text metadata stored in it (PNG tEXt/iTXt/zTXt chunks, JPEG comments), one\n"
    "'key: value' per line. The whole file is decoded to check it: a truncated or\n"
    "damaged image is an error (exit 1).\n"
    "\n"
    "Readable: PNG 1-16 bit gray, gray+alpha, palette (with transparency), RGB,\n"
    "RGBA, interlaced; JPEG baseline, progressive, gray, RGB/YCbCr, CMYK, YCCK.\n"
    "Images above 2^28 pixels are refused.",
    info_specs,
    (int)(sizeof info_specs / sizeof info_specs[0]),
    offsetof(info_options, files),
    0, /* FILE is checked below, so other kinds of target can join later */
    1,
};

/* Prints s with control characters escaped, so a file's text cannot move the
 * cursor or span lines. */
static void print_escaped(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c == '\\')
            fputs("\\\\", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static void print_image_info(const image_info *info)
{
    printf("format: %s\n", image_format_name(info->format));
    printf("width: %d\n", info->width);
    printf("height: %d\n", info->height);
    printf("channels: %d\n", info->channels);
    printf("bit depth: %d\n", info->bit_depth);
    printf("color: %s\n", info->color);
    printf("%s: %s\n", info->format == IMAGE_FORMAT_JPEG ? "progressive" : "interlaced",
           info->interlaced ? "yes" : "no");
    for (int i = 0; i < info->text_count; i++) {
        print_escaped(info->text[i].key);
        fputs(": ", stdout);
        print_escaped(info->text[i].value);
        putchar('\n');
    }
}

static int info_image(const char *path, bool headers_only)
{
    image_info info;
    status s = headers_only ? image_probe(path, &info) : image_verify(path, &info);
    if (s != ST_OK)
        return cli_fail(s);
    print_image_info(&info);
    image_info_free(&info);
    if (fflush(stdout) != 0)
        return cli_fail(error_set("stdout", "write failed"));
    return EXIT_OK;
}

int cmd_info(int argc, char **argv)
{
    info_options o = {0};
    option_state st;
    if (option_state_init(&st, &info_table, &o) != ST_OK)
        return cli_fail(ST_ERROR);
    int rc = cli_parse(&st, argc, argv);
    if (rc == EXIT_OK) {
        if (o.files.count == 0)
            rc = cli_usage("info", "missing FILE");
        else
            rc = info_image(o.files.items[0], o.headers_only);
    } else if (rc == CLI_HELP_PRINTED) {
        rc = EXIT_OK;
    }
    options_free(&info_table, &o);
    return rc;
}
