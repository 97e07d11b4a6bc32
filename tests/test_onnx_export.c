/* Export then import gives identical outputs: the built-in network and every
 * small reference model are written with net_model_export_onnx, opened again,
 * and every layer of the original is found by name in the copy with the same
 * activation, bit for bit; the input gradients agree too. */
#include "check.h"

#define ONNX_DATA SYNTH_TEST_DATA "/onnx"

static bool same_tensor(const tensor *a, const tensor *b)
{
    return a && b && tensor_same_shape(a, b) && memcmp(a->data, b->data, tensor_numel(a) * sizeof(float)) == 0;
}

/* Forward (to every layer) and backward (seeded at the first output with
 * ones) on model m; the input gradient goes to *grad. */
static status run_all(net_model *m, const tensor *x, net_session **s, tensor *grad)
{
    int n = net_layer_count(m);
    int *layers = malloc((size_t)n * sizeof *layers);
    REQUIRE(layers);
    for (int i = 0; i < n; i++)
        layers[i] = i;
    net_forward_opts fo = {.for_backward = true};
    status st = net_session_create(m, s);
    if (st == ST_OK)
        st = net_forward(*s, x, 1, layers, n, &fo);
    free(layers);
    if (st != ST_OK)
        return st;
    int out = net_model_output_layer(m, 0);
    const tensor *y = net_activation(*s, out);
    tensor seed;
    REQUIRE(tensor_alloc(&seed, y->ndim, y->shape) == ST_OK);
    for (size_t i = 0; i < tensor_numel(&seed); i++)
        seed.data[i] = (float)((i % 7) + 1) / 7.0f;
    REQUIRE(tensor_alloc(grad, x->ndim, x->shape) == ST_OK);
    st = net_backward(*s, &out, &seed, 1, NULL, grad);
    tensor_free(&seed);
    return st;
}

static void check_roundtrip(const char *spec, const tensor *x)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/exported.onnx", check_tmpdir());
    net_model *a, *b;
    REQUIRE(net_model_open(spec, &a) == ST_OK);
    CHECK_OK(net_model_export_onnx(a, path));
    CHECK_OK(net_model_open(path, &b));
    if (!b) {
        net_model_close(a);
        return;
    }
    CHECK(net_model_param_count(a) == net_model_param_count(b));
    CHECK(net_model_output_count(a) == net_model_output_count(b));
    net_session *sa = NULL, *sb = NULL;
    tensor ga = {0}, gb = {0};
    CHECK_OK(run_all(a, x, &sa, &ga));
    CHECK_OK(run_all(b, x, &sb, &gb));
    int compared = 0, differ = 0;
    for (int i = 0; i < net_layer_count(a); i++) {
        int j;
        error_clear();
        if (net_layer_find(b, net_layer_name(a, i), &j) != ST_OK) {
            fprintf(stderr, "%s: layer %s is missing after export\n", spec, net_layer_name(a, i));
            CHECK(false);
            continue;
        }
        compared++;
        if (!same_tensor(net_activation(sa, i), net_activation(sb, j))) {
            fprintf(stderr, "%s: layer %s differs after export\n", spec, net_layer_name(a, i));
            differ++;
        }
    }
    CHECK(compared == net_layer_count(a) && differ == 0);
    CHECK(same_tensor(&ga, &gb));
    printf("%s: %d layers identical after export and import\n", spec, compared);
    tensor_free(&ga);
    tensor_free(&gb);
    net_session_free(sa);
    net_session_free(sb);
    net_model_close(a);
    net_model_close(b);
}

int main(void)
{
    /* The built-in network at 48 x 48: its layer names survive. */
    tensor x;
    int64_t shape[4] = {1, 3, 48, 48};
    REQUIRE(tensor_alloc(&x, 4, shape) == ST_OK);
    rng r;
    rng_seed(&r, 7);
    for (size_t i = 0; i < tensor_numel(&x); i++)
        x.data[i] = (float)rng_uniform(&r);
    check_roundtrip("default", &x);
    tensor_free(&x);

    static const char *const models[] = {"squeezenet1_1", "googlenet_3b", "resnet18_layer2", "alexnet_lrn",
                                         "vgg_bn_opset9", "vgg_bn_opset13"};
    for (size_t k = 0; k < sizeof models / sizeof *models; k++) {
        char path[4200], input[4200];
        snprintf(path, sizeof path, "%s/%s.onnx", ONNX_DATA, models[k]);
        snprintf(input, sizeof input, "%s/%s.input.npy", ONNX_DATA, models[k]);
        REQUIRE(tensor_read_npy(input, &x) == ST_OK);
        check_roundtrip(path, &x);
        tensor_free(&x);
    }
    return check_report("test_onnx_export");
}
