/* End to end on the small ONNX models exported from PyTorch (tests/data/onnx,
 * made by scripts/make_onnx_models.py): for every layer in manifest.tsv, our
 * activation and our input gradient of J = 1/2 sum(act^2) match PyTorch's
 * float64 references to 1e-4, relative to the reference's largest magnitude. */
#include "check.h"

#define ONNX_DATA SYNTH_TEST_DATA "/onnx"


/* max |a - b| / max |b| */
static double relative_error(const tensor *a, const tensor *b)
{
    double diff = 0, scale = 0;
    size_t n = tensor_numel(b);
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a->data[i] - b->data[i]);
        diff = d > diff ? d : diff;
        scale = fabs(b->data[i]) > scale ? fabs(b->data[i]) : scale;
    }
    return scale > 0 ? diff / scale : diff;
}

static void check_layer(const char *model_file, const char *input_file, const char *layer, const char *act_file,
                        const char *grad_file, double *worst_act, double *worst_grad)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", ONNX_DATA, model_file);
    net_model *m;
    CHECK_OK(net_model_open(path, &m));
    if (!m)
        return;
    tensor x, act_ref, grad_ref, grad;
    snprintf(path, sizeof path, "%s/%s", ONNX_DATA, input_file);
    REQUIRE(tensor_read_npy(path, &x) == ST_OK);
    snprintf(path, sizeof path, "%s/%s", ONNX_DATA, act_file);
    REQUIRE(tensor_read_npy(path, &act_ref) == ST_OK);
    snprintf(path, sizeof path, "%s/%s", ONNX_DATA, grad_file);
    REQUIRE(tensor_read_npy(path, &grad_ref) == ST_OK);
    int l = -1;
    CHECK_OK(net_layer_find(m, layer, &l));
    net_session *s;
    REQUIRE(net_session_create(m, &s) == ST_OK);
    net_forward_opts fo = {.for_backward = true};
    if (l >= 0 && net_forward(s, &x, 1, &l, 1, &fo) == ST_OK) {
        const tensor *act = net_activation(s, l);
        CHECK(act && tensor_same_shape(act, &act_ref));
        if (act && tensor_same_shape(act, &act_ref)) {
            double e = relative_error(act, &act_ref);
            *worst_act = e > *worst_act ? e : *worst_act;
            if (!(e <= 1e-4))
                fprintf(stderr, "%s %s: activation differs by %.3g (relative)\n", model_file, layer, e);
            CHECK(e <= 1e-4);
            /* J = 1/2 sum act^2: the seed dJ/dact is act itself. */
            REQUIRE(tensor_alloc(&grad, x.ndim, x.shape) == ST_OK);
            CHECK_OK(net_backward(s, &l, act, 1, NULL, &grad));
            e = relative_error(&grad, &grad_ref);
            *worst_grad = e > *worst_grad ? e : *worst_grad;
            if (!(e <= 1e-4))
                fprintf(stderr, "%s %s: input gradient differs by %.3g (relative)\n", model_file, layer, e);
            CHECK(e <= 1e-4);
            tensor_free(&grad);
        }
    } else {
        fprintf(stderr, "%s %s: %s\n", model_file, layer, error_message());
        CHECK(false);
    }
    net_session_free(s);
    tensor_free(&x);
    tensor_free(&act_ref);
    tensor_free(&grad_ref);
    net_model_close(m);
}

int main(void)
{
    FILE *f = fopen(ONNX_DATA "/manifest.tsv", "r");
    REQUIRE(f);
    char line[2048];
    int rows = 0;
    double worst_act = 0, worst_grad = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char model[256], opset[16], input[256], layer[128], act[256], grad[256];
        if (sscanf(line, "%255[^\t]\t%15[^\t]\t%255[^\t]\t%127[^\t]\t%255[^\t]\t%255[^\t\n]", model, opset, input, layer,
                   act, grad) != 6)
            continue;
        check_layer(model, input, layer, act, grad, &worst_act, &worst_grad);
        rows++;
    }
    fclose(f);
    CHECK(rows >= 20);
    printf("%d layers of %s: worst relative error %.3g (activations), %.3g (input gradients)\n", rows,
           "the PyTorch reference models", worst_act, worst_grad);
    return check_report("test_onnx_models");
}
