/* The built-in VGG-19-shaped network: structure, names, shapes, receptive
 * fields, the weight recipe (re-derived here, pinned by a checksum), lazy
 * generation, and memory release during forward. */
#include "net_check.h"

static net_model *open_default(void)
{
    net_model *m;
    REQUIRE(net_model_open("default", &m) == ST_OK);
    return m;
}

static int find(const net_model *m, const char *name)
{
    int l = -1;
    CHECK_OK(net_layer_find(m, name, &l));
    return l;
}

static void test_structure(void)
{
    net_model *m = open_default();
    CHECK(net_model_is_builtin(m));
    CHECK(strcmp(net_model_name(m), "default") == 0);
    CHECK(net_layer_count(m) == 16 * 2 + 5);
    CHECK(net_model_param_count(m) == 20024384); /* torchvision's vgg19().features */
    CHECK(net_model_input_count(m) == 1 && strcmp(net_model_input_name(m, 0), "input") == 0);
    const char *order[] = {"conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1", "conv2_1"};
    for (int i = 0; i < 6; i++) {
        CHECK(strcmp(net_layer_name(m, i), order[i]) == 0);
        CHECK(net_layer_alias(m, i) && strcmp(net_layer_alias(m, i), order[i]) == 0);
    }
    CHECK(strcmp(net_layer_name(m, net_layer_count(m) - 1), "pool5") == 0);
    CHECK(net_model_last_conv(m) == find(m, "conv5_4"));
    CHECK(strcmp(net_layer_op(m, find(m, "relu4_2")), "Relu") == 0);
    CHECK(net_model_output_count(m) == 1 && net_model_output_layer(m, 0) == find(m, "pool5"));
    const net_preprocess *p = net_model_preprocess(m);
    CHECK(p->scale == 1.0f && !p->bgr && fabsf(p->mean[0] - 0.485f) < 1e-6f && fabsf(p->std[2] - 0.225f) < 1e-6f);

    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    CHECK_OK(net_layer_shape(m, find(m, "pool5"), 512, 512, &ndim, shape));
    CHECK(ndim == 4 && shape[0] == 1 && shape[1] == 512 && shape[2] == 16 && shape[3] == 16);
    CHECK_OK(net_layer_shape(m, find(m, "relu3_1"), 100, 75, &ndim, shape));
    CHECK(shape[1] == 256 && shape[2] == 25 && shape[3] == 18);
    CHECK_OK(net_layer_shape(m, find(m, "conv1_1"), 0, 0, &ndim, shape)); /* the declared 224 */
    CHECK(shape[2] == 224 && shape[3] == 224);
    CHECK_FAILS_WITH(net_layer_shape(m, find(m, "pool5"), 16, 16, &ndim, shape), "too small");
    CHECK_FAILS_WITH(net_layer_shape(m, find(m, "conv5_1"), 8, 8, &ndim, shape), "too small");

    /* Receptive fields, worked out by hand: conv1_1 sees 3×3 around its own
     * pixel; pool1 units cover conv1_2 units 2i, 2i+1, i.e. input rows
     * 2i−2 .. 2i+3; conv2_1 widens that by one pool1 unit on each side. */
    net_receptive_field rf;
    CHECK_OK(net_layer_receptive_field(m, find(m, "conv1_1"), &rf));
    CHECK(rf.size[0] == 3 && rf.stride[0] == 1 && rf.offset[0] == 0);
    CHECK_OK(net_layer_receptive_field(m, find(m, "pool1"), &rf));
    CHECK(rf.size[1] == 6 && rf.stride[1] == 2 && rf.offset[1] == 0.5);
    CHECK_OK(net_layer_receptive_field(m, find(m, "relu2_1"), &rf));
    CHECK(rf.size[0] == 10 && rf.stride[0] == 2 && rf.offset[0] == 0.5);
    CHECK_OK(net_layer_receptive_field(m, find(m, "pool5"), &rf));
    CHECK(rf.stride[0] == 32 && rf.size[0] == 268);
    net_model_close(m);
}

/* The recipe of builtin_vgg.c, written out again for one filter. */
static void recipe_filter(int layer, int64_t o, int64_t fan_in, double *w)
{
    rng r;
    rng_seed(&r, 0x5EED0019C0FFEEull + ((uint64_t)layer << 32) + (uint64_t)o);
    double sum = 0;
    for (int64_t i = 0; i < fan_in; i += 2) {
        double u1 = 1.0 - rng_uniform(&r), u2 = rng_uniform(&r);
        double rad = sqrt(-2.0 * log(u1));
        w[i] = (float)(sqrt(2.0 / (double)fan_in) * rad * cos(6.283185307179586476925 * u2));
        if (i + 1 < fan_in)
            w[i + 1] = (float)(sqrt(2.0 / (double)fan_in) * rad * sin(6.283185307179586476925 * u2));
    }
    for (int64_t i = 0; i < fan_in; i++)
        sum += (float)w[i];
    float mean = (float)(sum / (double)fan_in);
    for (int64_t i = 0; i < fan_in; i++)
        w[i] = (float)w[i] - mean;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void test_weights(void)
{
    net_model *a = open_default(), *b = open_default();
    const char *convs[16] = {"conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2",
                             "conv3_3", "conv3_4", "conv4_1", "conv4_2", "conv4_3", "conv4_4",
                             "conv5_1", "conv5_2", "conv5_3", "conv5_4"};
    uint64_t h = 0xcbf29ce484222325ull;
    for (int l = 0; l < 16; l++) {
        const tensor *wa, *wb;
        CHECK_OK(net_layer_weights(a, find(a, convs[l]), &wa));
        CHECK_OK(net_layer_weights(b, find(b, convs[l]), &wb));
        size_t n = tensor_numel(wa);
        CHECK(n == tensor_numel(wb) && memcmp(wa->data, wb->data, n * sizeof(float)) == 0);
        h = fnv1a(h, wa->data, n * sizeof(float));
        /* Filters 0 and the last, re-derived from the recipe. */
        int64_t m = wa->shape[0], fan_in = (int64_t)n / m;
        double *w = calloc((size_t)fan_in, sizeof *w);
        for (int64_t o = 0; o < m; o += m - 1) {
            recipe_filter(l, o, fan_in, w);
            bool same = true;
            for (int64_t i = 0; i < fan_in; i++)
                same &= (float)w[i] == wa->data[o * fan_in + i];
            CHECK(same);
        }
        free(w);
        /* Zero-mean filters with He-normal spread. */
        double worst_mean = 0, ss = 0;
        for (int64_t o = 0; o < m; o++) {
            double s = 0;
            for (int64_t i = 0; i < fan_in; i++) {
                s += wa->data[o * fan_in + i];
                ss += (double)wa->data[o * fan_in + i] * wa->data[o * fan_in + i];
            }
            worst_mean = fmax(worst_mean, fabs(s / (double)fan_in));
        }
        CHECK(worst_mean < 1e-6);
        /* Removing the mean leaves (1 − 1/fan_in) of the variance 2/fan_in. */
        double expect = sqrt(2.0 / (double)fan_in * (1.0 - 1.0 / (double)fan_in));
        CHECK_NEAR(sqrt(ss / (double)n), expect, 0.04 * expect);
    }
    /* Pins the recipe: every picture made with --model default depends on
     * these exact weights. Change it only on purpose (and say so). */
    CHECK(h == 0x96174014ab380d83ull);
    if (h != 0x96174014ab380d83ull)
        fprintf(stderr, "built-in weights checksum is 0x%016llx\n", (unsigned long long)h);
    net_model_close(a);
    net_model_close(b);
}

/* A forward to relu3_1 generates only the weights it needs. */
static void test_lazy(void)
{
    net_model *m = open_default();
    net_session *s;
    REQUIRE(net_session_create(m, &s) == ST_OK);
    int64_t xs[4] = {1, 3, 32, 32};
    tensor x;
    REQUIRE(tensor_alloc(&x, 4, xs) == ST_OK);
    int l = find(m, "relu3_1");
    CHECK_OK(net_forward(s, &x, 1, &l, 1, NULL));
    for (int i = 0; i < net_layer_count(m); i++) {
        const graph_node *n = &m->g->nodes[i];
        if (n->op == OP_CONV)
            CHECK((m->g->values[n->inputs[1]].data.data != NULL) == (i <= l));
    }
    tensor_free(&x);
    net_session_free(s);
    net_model_close(m);
}

/* Peak bytes of one forward on a fresh session. */
static size_t forward_peak(net_model *m, const char *layer, int64_t size, bool for_backward)
{
    net_session *s;
    REQUIRE(net_session_create(m, &s) == ST_OK);
    int64_t xs[4] = {1, 3, size, size};
    tensor x;
    REQUIRE(tensor_alloc(&x, 4, xs) == ST_OK);
    int l = find(m, layer);
    net_reset_peak_bytes();
    size_t before = net_current_bytes();
    net_forward_opts fo = {.for_backward = for_backward};
    CHECK_OK(net_forward(s, &x, 1, &l, 1, &fo));
    size_t peak = net_peak_bytes() - before;
    tensor_free(&x);
    net_session_free(s);
    return peak;
}

/* What forward releases: activations nothing reads again are dropped as it
 * goes, so the peak is set by the widest early layers (block 1) and going
 * deeper adds almost nothing; keeping only what backward reads (sign bits,
 * argmax) stays well below holding every activation, and also leaves the
 * peak block 1's: deeper layers cost no more, with backward in mind too. */
static void test_memory(void)
{
    net_model *m = open_default();
    int64_t size = 128;
    size_t all = 0;
    for (int l = 0; l <= find(m, "relu5_1"); l++) {
        int ndim;
        int64_t shape[TENSOR_MAX_DIMS];
        CHECK_OK(net_layer_shape(m, l, size, size, &ndim, shape));
        all += shape_numel(ndim, shape) * sizeof(float);
    }
    size_t to2 = forward_peak(m, "relu2_1", size, false);
    size_t to3 = forward_peak(m, "relu3_1", size, false);
    size_t to5 = forward_peak(m, "relu5_1", size, false);
    size_t to5b = forward_peak(m, "relu5_1", size, true);
    size_t to3b = forward_peak(m, "relu3_1", size, true);
    size_t to1 = forward_peak(m, "relu1_1", size, false);
    fprintf(stderr, "peak bytes at %lldx%lld: relu1_1 %zu, relu2_1 %zu, relu3_1 %zu, relu5_1 %zu, "
                    "for backward relu3_1 %zu, relu5_1 %zu; all activations to relu5_1 %zu\n",
            (long long)size, (long long)size, to1, to2, to3, to5, to3b, to5b, all);
    CHECK(to1 < to3 * 2 / 3);       /* one conv and one relu: well below what conv1_2 needs */
    CHECK(to5 <= to2 + to2 / 20);   /* blocks 3-5 add nothing on top of block 1 */
    CHECK(to3 <= to2 + to2 / 20);
    CHECK(to5b < all / 2);          /* backward keeps bits and argmax, not activations */
    /* Kept for backward, relu3_1 is not "well below" relu5_1: what blocks 3-5
     * keep (sign bits, argmax, a quarter of block 2's size and less) fits in
     * what block 1 frees, so the peak stays block 1's either way. */
    CHECK(to5b <= to3b + to3b / 20);
    CHECK(to3b >= to3 && to3b < to3 + to3 / 2);
    net_model_close(m);
}

/* The same bytes for any thread count: work is split by size, never by
 * the number of threads. */
static void test_thread_determinism(void)
{
    net_model *m = open_default();
    int layers[2] = {find(m, "relu3_1"), find(m, "relu2_2")};
    int64_t xs[4] = {1, 3, 72, 56};
    tensor x, grad[3];
    rng r;
    rng_seed(&r, 5);
    REQUIRE(make_tensor(&x, 4, xs, &r, -2, 2) == ST_OK);
    tensor act[3];
    const int counts[3] = {1, 2, 3};
    for (int t = 0; t < 3; t++) {
        net_set_threads(counts[t]);
        CHECK(net_threads() == counts[t]);
        net_session *s;
        REQUIRE(net_session_create(m, &s) == ST_OK);
        net_forward_opts fo = {.for_backward = true};
        CHECK_OK(net_forward(s, &x, 1, layers, 2, &fo));
        const tensor *a = net_activation(s, layers[0]);
        REQUIRE(a && tensor_alloc(&act[t], a->ndim, a->shape) == ST_OK);
        memcpy(act[t].data, a->data, tensor_numel(a) * sizeof(float));
        REQUIRE(tensor_alloc(&grad[t], 4, xs) == ST_OK);
        const tensor *seeds[2] = {net_activation(s, layers[0]), net_activation(s, layers[1])};
        tensor both[2] = {*seeds[0], *seeds[1]};
        CHECK_OK(net_backward(s, layers, both, 2, NULL, &grad[t]));
        net_session_free(s);
    }
    for (int t = 1; t < 3; t++) {
        CHECK(memcmp(act[t].data, act[0].data, tensor_numel(&act[0]) * sizeof(float)) == 0);
        CHECK(memcmp(grad[t].data, grad[0].data, tensor_numel(&grad[0]) * sizeof(float)) == 0);
    }
    for (int t = 0; t < 3; t++) {
        tensor_free(&act[t]);
        tensor_free(&grad[t]);
    }
    net_set_threads(0);
    tensor_free(&x);
    net_model_close(m);
}

int main(void)
{
    test_structure();
    test_weights();
    test_lazy();
    test_memory();
    test_thread_determinism();
    return check_report("test_net_builtin");
}
