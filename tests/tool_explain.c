/* tool_explain DIR — writes the images the explain commands' shell tests use
 * (with synth's own PNG writer). Not a test itself.
 *   DIR/embed/red1.png, red2.png    a red ramp with two draws of faint noise
 *   DIR/embed/blue1.png, blue2.png  a blue checkerboard, likewise
 *   DIR/patches/img0..img5.png      gray noise, 32x24; img4 holds a red 8x8
 *                                   square at rows 10..17, columns 14..21
 *   DIR/patches/notes.txt           not an image (skipped)
 *   DIR/empty/                      no images */
#include "synth/synth.h"

#include <math.h>
#include <sys/stat.h>

static int write(const char *dir, const char *name, const image *im)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (image_write(path, im, NULL) != ST_OK) {
        fprintf(stderr, "tool_explain: %s\n", error_message());
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tool_explain DIR\n");
        return 2;
    }
    char sub[4096];
    const char *subs[] = {"embed", "patches", "empty"};
    for (int i = 0; i < 3; i++) {
        snprintf(sub, sizeof sub, "%s/%s", argv[1], subs[i]);
        mkdir(sub, 0777);
    }
    rng r;
    rng_seed(&r, 8);
    image im;
    int failed = 0;
    snprintf(sub, sizeof sub, "%s/embed", argv[1]);
    for (int k = 0; k < 4; k++) {
        if (image_alloc(&im, 32, 32, "tool") != ST_OK)
            return 1;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++) {
                size_t p = (size_t)y * 32 + (size_t)x;
                float noise = 0.03f * (float)rng_uniform(&r);
                bool red = k < 2, on = (x / 4 + y / 4) % 2 == 0;
                image_plane(&im, 0)[p] = red ? 0.5f + x / 64.0f + noise : 0.1f + noise;
                image_plane(&im, 1)[p] = red ? 0.1f + noise : 0.2f + noise;
                image_plane(&im, 2)[p] = red ? 0.1f + noise : (on ? 0.9f : 0.3f) + noise;
            }
        const char *names[] = {"red1.png", "red2.png", "blue1.png", "blue2.png"};
        failed |= write(sub, names[k], &im);
        image_free(&im);
    }
    snprintf(sub, sizeof sub, "%s/patches", argv[1]);
    for (int n = 0; n < 6; n++) {
        if (image_alloc(&im, 32, 24, "tool") != ST_OK)
            return 1;
        for (int p = 0; p < 32 * 24; p++) {
            float g = (float)rng_uniform(&r);
            im.data[p] = fminf(g + 0.05f * (float)n, 1);
            im.data[32 * 24 + p] = im.data[2 * 32 * 24 + p] = g;
        }
        for (int y = 10; n == 4 && y < 18; y++)
            for (int x = 14; x < 22; x++) {
                image_plane(&im, 0)[y * 32 + x] = 1;
                image_plane(&im, 1)[y * 32 + x] = image_plane(&im, 2)[y * 32 + x] = 0;
            }
        char name[32];
        snprintf(name, sizeof name, "img%d.png", n);
        failed |= write(sub, name, &im);
        image_free(&im);
    }
    snprintf(sub, sizeof sub, "%s/patches/notes.txt", argv[1]);
    FILE *f = fopen(sub, "w");
    if (!f || fputs("not an image\n", f) < 0 || fclose(f) != 0)
        failed = 1;
    return failed;
}
