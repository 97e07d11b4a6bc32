/* Model input: the shared model flags (opening with overrides and labels) and
 * the image <-> network input map, its inverse and its adjoint. */
#include "check.h"
#include "presets/presets.h"
#include "synth/synth.h"

#include <stdint.h>

static void fill_random(image *im, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed);
    size_t n = (size_t)3 * (size_t)im->width * (size_t)im->height;
    for (size_t i = 0; i < n; i++)
        im->data[i] = (float)rng_uniform(&r);
}

/* Caffe-style preprocessing: BGR, 0..255, per-channel mean, unit std. */
static const net_preprocess caffe = {255.0f, {104.0f, 117.0f, 123.0f}, {1, 1, 1}, true};
static const net_preprocess torchlike = {1.0f, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}, false};

static void test_known_values(void)
{
    image im = {0};
    REQUIRE(image_alloc(&im, 2, 1, "test") == ST_OK);
    /* pixel 0: (R,G,B) = (1, 0.5, 0); pixel 1: (0, 0, 1) */
    float rgb[6] = {1, 0, 0.5f, 0, 0, 1};
    memcpy(im.data, rgb, sizeof rgb);

    tensor x = {0};
    CHECK_OK(image_to_input(&im, &caffe, &x));
    REQUIRE(x.ndim == 4 && x.shape[1] == 3 && x.shape[2] == 1 && x.shape[3] == 2);
    /* network channel 0 is blue: 0*255 - 104, 1*255 - 104 */
    CHECK_NEAR(x.data[0], -104.0, 1e-4);
    CHECK_NEAR(x.data[1], 151.0, 1e-4);
    CHECK_NEAR(x.data[2], 0.5 * 255 - 117, 1e-4); /* green */
    CHECK_NEAR(x.data[4], 255 - 123.0, 1e-4);     /* red of pixel 0 */

    tensor y = {0};
    CHECK_OK(image_to_input(&im, &torchlike, &y));
    CHECK_NEAR(y.data[0], (1 - 0.485) / 0.229, 1e-5); /* red first */
    CHECK_NEAR(y.data[5], (1 - 0.406) / 0.225, 1e-5); /* blue of pixel 1 */

    /* A tensor of the wrong size is refused. */
    image big = {0};
    REQUIRE(image_alloc(&big, 3, 1, "test") == ST_OK);
    CHECK_FAILS_WITH(image_to_input(&big, &caffe, &x), "expected a 1x3x1x3 tensor, got 1x3x1x2");
    tensor_free(&x);
    tensor_free(&y);
    image_free(&im);
    image_free(&big);
}

static void test_inverse_and_adjoint(const net_preprocess *p)
{
    image v = {0}, back = {0}, w = {0}, g = {0};
    REQUIRE(image_alloc(&v, 7, 5, "v") == ST_OK && image_alloc(&w, 7, 5, "w") == ST_OK);
    fill_random(&v, 1);
    fill_random(&w, 2);
    tensor x = {0}, zero = {0}, y = {0};
    CHECK_OK(image_to_input(&v, p, &x));
    CHECK_OK(input_to_image(&x, p, &back));
    double worst = 0;
    for (size_t i = 0; i < (size_t)3 * 35; i++)
        worst = fmax(worst, fabs(back.data[i] - v.data[i]));
    CHECK(worst < 1e-5);

    /* Adjoint of the linear part L (image_to_input minus its value at 0):
     * <L v, y> = <v, L^T y> for a random y in input space. */
    image black = {0};
    REQUIRE(image_alloc(&black, 7, 5, "0") == ST_OK);
    CHECK_OK(image_to_input(&black, p, &zero));
    CHECK_OK(image_to_input(&w, p, &y)); /* any tensor of the right shape */
    double lhs = 0, rhs = 0;
    CHECK_OK(input_grad_to_image(&y, p, &g));
    for (size_t i = 0; i < (size_t)3 * 35; i++) {
        lhs += ((double)x.data[i] - zero.data[i]) * y.data[i];
        rhs += (double)v.data[i] * g.data[i];
    }
    CHECK_NEAR(lhs, rhs, 1e-4 * fabs(lhs));

    tensor_free(&x);
    tensor_free(&zero);
    tensor_free(&y);
    image_free(&v);
    image_free(&back);
    image_free(&w);
    image_free(&g);
    image_free(&black);
}

typedef struct {
    model_options model;
} opts_holder;

static const option_spec holder_specs[] = {MODEL_OPTION_SPECS(opts_holder, model)};
static const option_table holder_table = {"t", "t", "t", holder_specs, MODEL_OPTION_SPEC_COUNT, 0, 0, 0};

static status set(option_state *st, const char *name, const char *value)
{
    char where[64];
    snprintf(where, sizeof where, "--%s", name);
    return option_set(st, option_find(&holder_table, name), value, where, FROM_COMMAND_LINE);
}

static void test_model_open(void)
{
    REQUIRE(holder_table.count == (int)(sizeof holder_specs / sizeof holder_specs[0]));
    opts_holder o = {0};
    option_state st;
    REQUIRE(option_state_init(&st, &holder_table, &o) == ST_OK);
    net_model *m;
    CHECK_OK(model_open(&o.model, &m));
    REQUIRE(m != NULL);
    const net_preprocess base = *net_model_preprocess(m);
    net_model_close(m);

    CHECK_OK(set(&st, "mean", "0.5"));
    CHECK_OK(set(&st, "std", "0.25,0.5,1"));
    CHECK_OK(option_set_flag(&st, option_find(&holder_table, "bgr"), true, FROM_COMMAND_LINE));
    CHECK_OK(model_open(&o.model, &m));
    const net_preprocess *p = net_model_preprocess(m);
    CHECK(p->mean[0] == 0.5f && p->mean[2] == 0.5f && p->std[0] == 0.25f && p->std[2] == 1.0f);
    CHECK(p->bgr && p->scale == base.scale);
    net_model_close(m);

    CHECK_OK(option_set_flag(&st, option_find(&holder_table, "rgb"), true, FROM_COMMAND_LINE));
    CHECK_FAILS_WITH(model_open(&o.model, &m), "--bgr: cannot be combined with --rgb");
    CHECK(m == NULL);
    o.model.bgr = o.model.rgb = false;

    CHECK_FAILS_WITH(set(&st, "std", "0"), "--std");
    CHECK_OK(set(&st, "mean", "1,2"));
    CHECK_FAILS_WITH(model_open(&o.model, &m), "--mean");
    CHECK_OK(set(&st, "mean", "0.5"));

    /* Labels from a file replace the model's. */
    char path[4200];
    snprintf(path, sizeof path, "%s/labels.txt", check_tmpdir());
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs("cat\ndog\n", f);
    fclose(f);
    CHECK_OK(set(&st, "labels", path));
    CHECK_OK(model_open(&o.model, &m));
    CHECK(net_model_label_count(m) == 2 && strcmp(net_model_label(m, 1), "dog") == 0);
    net_model_close(m);

    CHECK_OK(set(&st, "labels", "/nonexistent/labels.txt"));
    CHECK_FAILS_WITH(model_open(&o.model, &m), "/nonexistent/labels.txt");
    CHECK_OK(set(&st, "model", "/nonexistent/model.onnx"));
    CHECK_FAILS_WITH(model_open(&o.model, &m), "/nonexistent/model.onnx");
    options_free(&holder_table, &o);
}

int main(void)
{
    test_known_values();
    test_inverse_and_adjoint(&caffe);
    test_inverse_and_adjoint(&torchlike);
    test_model_open();
    return check_report("test_model_input");
}
