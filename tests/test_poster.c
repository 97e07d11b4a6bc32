/* Posters: the size follows cols, cell, caption size and the title; every
 * non-empty caption puts light pixels in its band and an empty one none;
 * long captions stay inside their cell; tiles of other sizes are resized;
 * bad fonts and bad --classes fail clearly. */
#include "check.h"
#include "synth/synth.h"

enum { CELL = 40, CAP = 10, BAND = 2 * CAP };

/* Pixels in [x0, x1) × [y0, y1) brighter than anything a tile holds here
 * (tiles are at most 0.4; the background is dark, the text light). */
static int light_pixels(const image *im, int x0, int y0, int x1, int y1)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            n += image_plane(im, 0)[(size_t)y * im->width + x] > 0.5f;
    return n;
}

static void make_tiles(image *tiles, int n)
{
    for (int k = 0; k < n; k++) {
        int side = k == 2 ? 17 : CELL; /* one of another size */
        REQUIRE(image_alloc(&tiles[k], side, side, "test") == ST_OK);
        for (int i = 0; i < 3 * side * side; i++)
            tiles[k].data[i] = 0.1f + 0.3f * (float)((i * 7 + k) % 11) / 10;
    }
}

static void test_layout_and_captions(void)
{
    enum { N = 5 };
    image tiles[N];
    make_tiles(tiles, N);
    const char *captions[N] = {"one", "", "a caption far too long to fit in a forty pixel cell", "channel 3", NULL};
    for (int titled = 0; titled <= 1; titled++)
        for (int cols = 1; cols <= 3; cols++) {
            poster_style s = {.cols = cols, .cell = CELL, .caption_px = CAP, .title = titled ? "Title" : NULL};
            image out;
            REQUIRE(poster_compose(&s, tiles, captions, N, &out) == ST_OK);
            int g = poster_gap(CELL), rows = (N + cols - 1) / cols, T = titled ? 4 * CAP : 0;
            CHECK(g == 1);
            CHECK(out.width == cols * (CELL + g) + g);
            CHECK(out.height == T + rows * (CELL + BAND + g) + g);
            for (int k = 0; k < N; k++) {
                int x0 = g + (k % cols) * (CELL + g), y0 = T + g + (k / cols) * (CELL + BAND + g);
                int text = light_pixels(&out, x0, y0 + CELL, x0 + CELL, y0 + CELL + BAND);
                bool has = captions[k] && *captions[k];
                if (has != (text > 0))
                    fprintf(stderr, "cols %d caption %d: %d light pixels\n", cols, k, text);
                CHECK(has == (text > 0));
                CHECK(light_pixels(&out, x0, y0, x0 + CELL, y0 + CELL) == 0); /* the tile itself */
                /* the gap right of the cell stays background: long text is cut */
                CHECK(light_pixels(&out, x0 + CELL, y0, x0 + CELL + g, y0 + CELL + BAND) == 0);
            }
            CHECK((light_pixels(&out, 0, 0, out.width, T) > 0) == (titled == 1));
            image_free(&out);
        }
    for (int k = 0; k < N; k++)
        image_free(&tiles[k]);
}

/* An empty tile (not rendered) leaves its cell the background. */
static void test_empty_tile(void)
{
    image tiles[2];
    make_tiles(tiles, 1);
    tiles[1] = (image){0};
    poster_style s = {.cols = 2, .cell = CELL, .caption_px = CAP};
    image out;
    REQUIRE(poster_compose(&s, tiles, NULL, 2, &out) == ST_OK);
    int x0 = 1 + CELL + 1;
    float bg = out.data[0];
    bool blank = true;
    for (int y = 1; y < 1 + CELL; y++)
        for (int x = x0; x < x0 + CELL; x++)
            blank &= image_plane(&out, 1)[(size_t)y * out.width + x] == bg;
    CHECK(blank);
    CHECK(light_pixels(&out, 0, 0, out.width, out.height) == 0); /* no captions: no text */
    image_free(&out);
    image_free(&tiles[0]);
}

static void test_errors(void)
{
    image tiles[1];
    make_tiles(tiles, 1);
    const char *cap[1] = {"x"};
    image out;
    poster_style s = {.cols = 1, .cell = CELL, .caption_px = CAP, .font = "/no/such/font.ttf"};
    CHECK_FAILS_WITH(poster_compose(&s, tiles, cap, 1, &out), "--font: /no/such/font.ttf: No such file");
    CHECK_FAILS_WITH(poster_check_font(&s), "/no/such/font.ttf");
    s.font = SYNTH_TEST_DATA "/../cli_animate.sh"; /* a file, not a font */
    CHECK_FAILS_WITH(poster_check_font(&s), "not a font FreeType can read");
    s.font = NULL;
    CHECK_OK(poster_check_font(&s));
    s.cols = 0;
    CHECK_FAILS_WITH(poster_compose(&s, tiles, cap, 1, &out), "--cols");
    image_free(&tiles[0]);

    string_list l = {0};
    char *items[] = {"3", "7-9", "12"};
    l.items = items;
    l.count = 3;
    int *ks, n;
    REQUIRE(poster_classes(&l, &ks, &n) == ST_OK);
    CHECK(n == 5 && ks[0] == 3 && ks[1] == 7 && ks[3] == 9 && ks[4] == 12);
    free(ks);
    char *bad[] = {"9-7"};
    l.items = bad;
    l.count = 1;
    CHECK_FAILS_WITH(poster_classes(&l, &ks, &n), "--classes: '9-7' is not a class index");
    char *word[] = {"cat"};
    l.items = word;
    CHECK_FAILS_WITH(poster_classes(&l, &ks, &n), "'cat'");
}

int main(void)
{
    test_layout_and_captions();
    test_empty_tile();
    test_errors();
    return check_report("test_poster");
}
