/* The shared support layer: errors, checked sizes, the PRNG, atomic files, and
 * option parsing (the code path both flags and presets go through). */
#include "check.h"
#include "presets/presets.h"

#include <stdint.h>
#include <unistd.h>

static void test_errors(void)
{
    CHECK(error_set("a.png", "bad %s", "header") == ST_ERROR);
    CHECK(strcmp(error_message(), "a.png: bad header") == 0);
    error_prefix("--input");
    CHECK(strcmp(error_message(), "--input: a.png: bad header") == 0);
    error_set(NULL, "plain");
    CHECK(strcmp(error_message(), "plain") == 0);
    /* Names from files may hold any byte; a message stays one line. */
    error_set("node\nname", "bad\tvalue \x01");
    CHECK(strcmp(error_message(), "node\\nname: bad\\tvalue \\x01") == 0);
    error_prefix("m.onnx");
    CHECK(strcmp(error_message(), "m.onnx: node\\nname: bad\\tvalue \\x01") == 0);
    /* A subject pointing into the current message is read before it changes. */
    error_set("abc", "x");
    error_set(error_message(), "y");
    CHECK(strcmp(error_message(), "abc: x: y") == 0);
    error_clear();
    CHECK(error_message()[0] == '\0');
}

static void test_sizes(void)
{
    size_t r = 0;
    CHECK(size_mul(1u << 20, 1u << 10, &r) && r == (size_t)1 << 30);
    CHECK(!size_mul(SIZE_MAX / 2, 3, &r));
    CHECK(strstr(error_message(), "overflow") != NULL);
    CHECK(!size_mul3(1u << 31, 1u << 31, 1u << 31, &r));
    CHECK(!size_add(SIZE_MAX, 1, &r));
    CHECK(alloc_array(SIZE_MAX / 4, 8, "big") == NULL);
    CHECK(strncmp(error_message(), "big: ", 5) == 0);
}

static void test_rng(void)
{
    rng a, b;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++)
        same &= rng_u64(&a) == rng_u64(&b);
    CHECK(same);
    rng_seed(&b, 43);
    CHECK(rng_u64(&a) != rng_u64(&b));

    /* Moments of uniform and normal draws, and range bounds. */
    double su = 0, sn = 0, sn2 = 0;
    int n = 200000, in_range = 1, hit_lo = 0, hit_hi = 0;
    for (int i = 0; i < n; i++) {
        double u = rng_uniform(&a);
        in_range &= u >= 0 && u < 1;
        su += u;
        double z = rng_normal(&a);
        sn += z;
        sn2 += z * z;
        int64_t k = rng_range(&a, -3, 5);
        in_range &= k >= -3 && k <= 5;
        hit_lo |= k == -3;
        hit_hi |= k == 5;
    }
    CHECK(in_range && hit_lo && hit_hi);
    CHECK_NEAR(su / n, 0.5, 0.005);
    CHECK_NEAR(sn / n, 0.0, 0.01);
    CHECK_NEAR(sn2 / n, 1.0, 0.02);
}

static void read_all(const char *path, char *buf, size_t n)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (f) {
        size_t k = fread(buf, 1, n - 1, f);
        buf[k] = '\0';
        fclose(f);
    }
}

static void test_atomic_file(void)
{
    const char *dir = check_tmpdir();
    char path[4200], buf[64];
    snprintf(path, sizeof path, "%s/out.txt", dir);

    atomic_file *f;
    CHECK_OK(atomic_open(path, &f));
    fputs("first", atomic_stream(f));
    CHECK_OK(atomic_commit(f));
    read_all(path, buf, sizeof buf);
    CHECK(strcmp(buf, "first") == 0);

    /* An aborted write leaves the previous file and no temporary. */
    CHECK_OK(atomic_open(path, &f));
    fputs("second, never committed", atomic_stream(f));
    CHECK(check_count_files(dir) == 2); /* out.txt and the temporary */
    atomic_abort(f);
    read_all(path, buf, sizeof buf);
    CHECK(strcmp(buf, "first") == 0);
    CHECK(check_count_files(dir) == 1);

    /* A missing folder or a directory as output are refused up front. */
    snprintf(path, sizeof path, "%s/no/such/folder/x.png", dir);
    CHECK_FAILS_WITH(output_check_writable(path), "does not exist");
    CHECK_FAILS_WITH(atomic_open(path, &f), "does not exist");
    CHECK_FAILS_WITH(output_check_writable(dir), "is a directory");
    if (geteuid() != 0) { /* root writes anywhere */
        snprintf(path, sizeof path, "%s/ro", dir);
        mkdir(path, 0500);
        snprintf(path, sizeof path, "%s/ro/x.png", dir);
        CHECK_FAILS_WITH(output_check_writable(path), "not writable");
    }
}

typedef struct {
    bool flag;
    int iters;
    double lr;
    char *model;
    int param;
    string_list styles;
    string_list layers;
    number_list blend;
    string_list positional;
} demo_options;

static const option_spec demo_specs[] = {
    {"flag", 0, OPT_FLAG, offsetof(demo_options, flag), 0, 0, 0, 0, NULL, NULL, "a flag"},
    {"iters", 0, OPT_INT, offsetof(demo_options, iters), 1, 1e6, 0, 0, NULL, NULL, "iterations"},
    {"lr", 0, OPT_NUMBER, offsetof(demo_options, lr), 0, 10, 0, 0, NULL, NULL, "rate"},
    {"model", 0, OPT_STRING, offsetof(demo_options, model), 0, 0, 0, 0, NULL, NULL, "model"},
    {"param", 0, OPT_CHOICE, offsetof(demo_options, param), 0, 0, 0, 0, "pixel|fourier", NULL, "p"},
    {"style", 0, OPT_STRINGS, offsetof(demo_options, styles), 0, 0, 0, 3, NULL, NULL, "styles"},
    {"layers", 0, OPT_LIST, offsetof(demo_options, layers), 0, 0, 1, 0, NULL, NULL, "layers"},
    {"blend", 0, OPT_NUMBERS, offsetof(demo_options, blend), 0, 1, 2, 2, NULL, NULL, "w1,w2"},
};
static const option_table demo_table = {
    "demo", "synth demo [options]", "a demo", demo_specs, 8,
    offsetof(demo_options, positional), 0, 0,
};

static void test_options(void)
{
    demo_options o = {0};
    option_state st;
    CHECK_OK(option_state_init(&st, &demo_table, &o));
    const option_spec *iters = option_find(&demo_table, "iters");
    const option_spec *lr = option_find(&demo_table, "lr");
    const option_spec *style = option_find(&demo_table, "style");
    REQUIRE(iters && lr && style && !option_find(&demo_table, "iter"));

    CHECK_OK(option_set(&st, iters, "250", "--iters", FROM_COMMAND_LINE));
    CHECK(o.iters == 250);
    CHECK_FAILS_WITH(option_set(&st, iters, "2.5", "--iters", FROM_COMMAND_LINE),
                     "--iters: '2.5' is not an integer in [1, 1e+06]");
    CHECK_FAILS_WITH(option_set(&st, iters, "0", "--iters", FROM_COMMAND_LINE), "is not");
    CHECK_FAILS_WITH(option_set(&st, iters, "12abc", "--iters", FROM_COMMAND_LINE), "is not");
    CHECK(o.iters == 250); /* a rejected value changes nothing */
    CHECK_FAILS_WITH(option_set(&st, lr, "nan", "x.ini:3", FROM_PRESET), "x.ini:3: 'nan'");
    CHECK_FAILS_WITH(option_set(&st, lr, "1e999", "--lr", FROM_COMMAND_LINE), "is not");
    CHECK_OK(option_set(&st, lr, " 0.25 ", "--lr", FROM_COMMAND_LINE));
    CHECK(o.lr == 0.25);

    CHECK_OK(option_set(&st, option_find(&demo_table, "param"), "fourier", "--param", FROM_COMMAND_LINE));
    CHECK(o.param == 1);
    CHECK_FAILS_WITH(option_set(&st, option_find(&demo_table, "param"), "fft", "--param", FROM_COMMAND_LINE),
                     "not one of pixel|fourier");

    /* Repeatable strings: a preset's list is replaced by the command line's. */
    CHECK_OK(option_set(&st, style, "p1.jpg", "x.ini:1", FROM_PRESET));
    CHECK_OK(option_set(&st, style, "p2.jpg", "x.ini:2", FROM_PRESET));
    CHECK(o.styles.count == 2);
    CHECK_OK(option_set(&st, style, "c1.jpg", "--style", FROM_COMMAND_LINE));
    CHECK_OK(option_set(&st, style, "c2,with,commas.jpg", "--style", FROM_COMMAND_LINE));
    CHECK(o.styles.count == 2 && strcmp(o.styles.items[0], "c1.jpg") == 0 &&
          strcmp(o.styles.items[1], "c2,with,commas.jpg") == 0);
    CHECK_OK(option_set(&st, style, "c3.jpg", "--style", FROM_COMMAND_LINE));
    CHECK_FAILS_WITH(option_set(&st, style, "c4.jpg", "--style", FROM_COMMAND_LINE), "more than 3");

    const option_spec *layers = option_find(&demo_table, "layers");
    CHECK_OK(option_set(&st, layers, "relu1_1, relu2_1,relu3_1", "--layers", FROM_COMMAND_LINE));
    CHECK(o.layers.count == 3 && strcmp(o.layers.items[1], "relu2_1") == 0);
    CHECK_FAILS_WITH(option_set(&st, layers, "a,,b", "--layers", FROM_COMMAND_LINE), "empty item");
    CHECK(o.layers.count == 3);

    const option_spec *blend = option_find(&demo_table, "blend");
    CHECK_OK(option_set(&st, blend, "0.25,0.75", "--blend", FROM_COMMAND_LINE));
    CHECK(o.blend.count == 2 && o.blend.values[1] == 0.75);
    CHECK_FAILS_WITH(option_set(&st, blend, "0.5", "--blend", FROM_COMMAND_LINE), "at least 2");
    CHECK_FAILS_WITH(option_set(&st, blend, "0.5,2", "--blend", FROM_COMMAND_LINE), "'2' is not");

    char buf[256];
    CHECK_OK(option_format(blend, &o, buf, sizeof buf));
    CHECK(strcmp(buf, "0.25,0.75") == 0);
    CHECK_OK(option_format(option_find(&demo_table, "param"), &o, buf, sizeof buf));
    CHECK(strcmp(buf, "fourier") == 0);
    CHECK_OK(option_set(&st, option_find(&demo_table, "model"), "vgg19", "--model", FROM_COMMAND_LINE));
    CHECK_OK(option_format(option_find(&demo_table, "model"), &o, buf, sizeof buf));
    CHECK(strcmp(buf, "vgg19") == 0);
    CHECK_FAILS_WITH(option_format(option_find(&demo_table, "model"), &o, buf, 3), "too long");

    options_free(&demo_table, &o);
    CHECK(o.styles.count == 0 && o.model == NULL && o.blend.values == NULL);
}

int main(void)
{
    test_errors();
    test_sizes();
    test_rng();
    test_atomic_file();
    test_options();
    return check_report("test_support");
}
