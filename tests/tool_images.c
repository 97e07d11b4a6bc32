/* tool_images DIR — writes the image files the shell tests use (made with
 * libpng and libjpeg directly, see image_fixtures.h). Not a test itself. */
#include "image_fixtures.h"

static bool png_file(const char *dir, const char *name, const png_fixture *f)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return fixture_png(path, f);
}

static bool jpeg_file(const char *dir, const char *name, jpeg_fixture *f)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unsigned char *s = fixture_smooth(f->width, f->height, f->components);
    f->samples = s;
    bool ok = fixture_jpeg(path, f);
    free(s);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tool_images DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    enum { W = 64, H = 48 };
    static uint16_t rgb[W * H * 4], gray[W * H], index[W * H];
    for (int i = 0; i < W * H * 4; i++)
        rgb[i] = (uint16_t)(i * 2654435761u >> 16);
    for (int i = 0; i < W * H; i++) {
        gray[i] = (uint16_t)(i % 16);
        index[i] = (uint16_t)(i % 5);
    }
    png_text text[2] = {
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "Software", .text = "synth test", .text_length = 10},
        {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "synth.seed", .text = "42\nnext", .text_length = 7},
    };
    static uint16_t rgb8[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        rgb8[i] = rgb[i] & 0xff;
    png_fixture rgb8f = {.width = W, .height = H, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
                         .samples = rgb8, .text_before = text, .text_before_count = 2};
    png_fixture rgba16 = {.width = W, .height = H, .color_type = PNG_COLOR_TYPE_RGB_ALPHA, .bit_depth = 16,
                          .interlace = true, .samples = rgb};
    png_color palette[5] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
    png_byte alpha[5] = {0, 128, 255, 255, 255};
    png_fixture pal = {.width = W, .height = H, .color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 4,
                       .samples = index, .palette = palette, .palette_count = 5, .palette_alpha = alpha,
                       .palette_alpha_count = 5};
    png_fixture gray4 = {.width = W, .height = H, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 4,
                         .samples = gray};
    jpeg_fixture base = {.width = W, .height = H, .components = 3, .stored = JCS_YCbCr,
                         .comment = "Software: fixture"};
    jpeg_fixture prog = {.width = W, .height = H, .components = 3, .stored = JCS_YCbCr, .progressive = true};
    jpeg_fixture grayj = {.width = W, .height = H, .components = 1, .stored = JCS_GRAYSCALE};
    jpeg_fixture cmyk = {.width = W, .height = H, .components = 4, .stored = JCS_CMYK};
    char huge_png[4096], huge_jpg[4096];
    snprintf(huge_png, sizeof huge_png, "%s/huge.png", dir);
    snprintf(huge_jpg, sizeof huge_jpg, "%s/huge.jpg", dir);
    bool ok = png_file(dir, "rgb8.png", &rgb8f) && png_file(dir, "rgba16.png", &rgba16) &&
              png_file(dir, "palette.png", &pal) && png_file(dir, "gray4.png", &gray4) &&
              jpeg_file(dir, "base.jpg", &base) && jpeg_file(dir, "prog.jpg", &prog) &&
              jpeg_file(dir, "gray.jpg", &grayj) && jpeg_file(dir, "cmyk.jpg", &cmyk) &&
              fixture_png_claiming(huge_png, 100000, 100000) && fixture_jpeg_claiming(huge_jpg, 65000, 65000);
    if (!ok) {
        fprintf(stderr, "tool_images: cannot write the images in %s\n", dir);
        return 1;
    }
    return 0;
}
