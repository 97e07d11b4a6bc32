/* ONNX's backend node tests (Debian libonnx-testdata) for every op synth
 * supports, and the PyTorch-converted module tests of those ops: each test
 * directory test_<op>* under /usr/share/libonnx-testdata/data/node (and
 * data/pytorch-converted) holds model.onnx and
 * test_data_set_N/input_K.pb, output_K.pb; the model's outputs on the inputs must
 * match within ONNX's own tolerance (|ours - theirs| <= 1e-7 + 1e-3 |theirs|).
 * Tests synth cannot run are listed in `skipped` with the reason; a skipped
 * test that starts passing, or a listed name that no longer exists, fails. */
#include "check.h"

#include <dirent.h>
#include <fnmatch.h>
#include <unistd.h>

#define DATA_DIR "/usr/share/libonnx-testdata/data"
#define NODE_DIR DATA_DIR "/node"
#define TORCH_DIR DATA_DIR "/pytorch-converted"
enum { SKIP = 77, MAX_IO = 16 };

/* Directory stems: test_<stem> and test_<stem>_*; for each supported op. */
static const char *const ops[] = {
    "conv", "basic_conv", "relu", "leakyrelu", "clip", "sigmoid", "tanh", "maxpool", "averagepool",
    "globalaveragepool", "globalmaxpool", "lrn", "concat", "add", "sum", "mul", "sub", "div", "gemm", "matmul",
    "flatten", "reshape", "softmax", "batchnorm", "dropout", "identity", "constant_pad", "edge_pad",
    "reflect_pad", "squeeze", "unsqueeze", "cast",
};

/* Stems of the ops synth only folds at import (shape computations): their
 * tests run with every input bound as a constant (one model per data set),
 * the folded constant output compared. */
static const char *const folded_ops[] = {"shape", "gather", "slice", "transpose", "constant", "constantofshape"};

/* Directory stems of data/pytorch-converted (PyTorch modules exported at
 * opset 6 to 12) made of those ops. */
static const char *const torch_modules[] = {
    "Conv1d", "Conv2d", "Conv3d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Linear", "Softmax",
    "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d", "ZeroPad2d",
};

/* Tests of those ops that synth does not run (fnmatch patterns), the error
 * each must fail with, and why. */
static const struct {
    const char *pattern;
    const char *error;
    const char *reason;
} skipped[] = {
    {"test_*_uint8", "no float input", "integer tensors: the engine computes in float32"},
    {"test_clip_default_int8_*", "no float input", "integer tensors"},
    {"test_edge_pad", "no float input", "int32 data"},
    {"test_reflect_pad", "no float input", "int32 data"},
    {"test_batchnorm_*_training_mode", "is not supported", "BatchNormalization's training outputs"},
    {"test_dropout_default_mask*", "is not supported", "Dropout's mask output"},
    {"test_maxpool_with_argmax_*", "is not supported", "MaxPool's Indices output"},
    {"test_softmax_*_expanded", "unsupported op", "Softmax as its function body (ReduceMax, Exp, ReduceSum)"},
    {"test_identity_opt", "non-tensor", "optional-typed values"},
    {"test_identity_sequence", "segmented tensors", "sequence-typed values"},
    {"test_cast_DOUBLE_to_*", "no float input", "a double input: the engine feeds float32 tensors only"},
    {"test_cast_*FLOAT16_to_*", "no float input", "a float16 or bfloat16 input"},
    {"test_cast_STRING_to_*", "no float input", "a string input"},
    {"test_cast_FLOAT_to_[BS]*", "computed at run time to", "casting to bfloat16 or string (tensors are float32)"},
    {"test_gather_elements_*", "unsupported op", "GatherElements (another op than Gather)"},
    {"test_Conv3d*", "1 or 2 spatial dims", "3-D convolution (the engine's Conv is 1-D or 2-D)"},
};

/* The skip entry matching `name`, or -1. */
static int skip_entry(const char *name)
{
    for (size_t i = 0; i < sizeof skipped / sizeof *skipped; i++)
        if (fnmatch(skipped[i].pattern, name, 0) == 0)
            return (int)i;
    return -1;
}

static bool has_stem(const char *dir, const char *const *stems, size_t n)
{
    if (strncmp(dir, "test_", 5) != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(stems[i]);
        if (strncmp(dir + 5, stems[i], len) == 0 && (dir[5 + len] == '\0' || dir[5 + len] == '_'))
            return true;
    }
    return false;
}

static bool exists(const char *path) { return access(path, R_OK) == 0; }

/* Opens the model with data set `set`'s input files given (their count in
 * *ninputs): as constants everywhere when `constants`, else where synth needs
 * constants (model_inputs[k]: the model input that input k became, or -1). */
static bool open_model(const char *base, const char *name, int set, bool constants, int *ninputs,
                       int *model_inputs, net_model **m, char *why, size_t why_size)
{
    char model_path[4096], path[4096];
    snprintf(model_path, sizeof model_path, "%s/%.127s/model.onnx", base, name);
    char *inputs[MAX_IO] = {NULL};
    int n = 0;
    for (; n < MAX_IO; n++) {
        snprintf(path, sizeof path, "%s/%.127s/test_data_set_%d/input_%d.pb", base, name, set, n);
        if (!exists(path) || !(inputs[n] = string_dup(path)))
            break;
    }
    const char *const *given = (const char *const *)inputs;
    bool ok = (constants ? net_model_open_onnx_constants(model_path, given, n, m)
                         : net_model_open_onnx(model_path, given, n, model_inputs, m)) == ST_OK;
    if (!ok)
        snprintf(why, why_size, "%s", error_message());
    for (int k = 0; k < n; k++)
        free(inputs[k]);
    *ninputs = constants ? 0 : n;
    return ok;
}

/* Runs one test directory; returns true when every data set matches, and
 * puts the first failure's description into why. `constants`: the inputs are
 * bound as constants, one model per data set (ops synth only folds). */
static bool run_test(const char *base, const char *name, bool constants, char *why, size_t why_size)
{
    char path[4096];
    /* The inputs of data set 0 decide which inputs become constants. */
    int ninputs = 0, model_inputs[MAX_IO];
    net_model *m = NULL;
    bool ok = open_model(base, name, 0, constants, &ninputs, model_inputs, &m, why, why_size);
    for (int set = 0; ok; set++) {
        snprintf(path, sizeof path, "%s/%.127s/test_data_set_%d", base, name, set);
        if (!exists(path))
            break;
        if (constants && set > 0) {
            net_model_close(m);
            m = NULL;
            if (!(ok = open_model(base, name, set, constants, &ninputs, model_inputs, &m, why, why_size)))
                break;
        }
        /* The model's inputs, in the model's order. */
        int nmodel = net_model_input_count(m);
        tensor x[MAX_IO];
        memset(x, 0, sizeof x);
        for (int k = 0; ok && k < ninputs; k++) {
            if (model_inputs[k] < 0 || model_inputs[k] >= MAX_IO)
                continue;
            snprintf(path, sizeof path, "%s/%.127s/test_data_set_%d/input_%d.pb", base, name, set, k);
            if (tensor_read_pb(path, &x[model_inputs[k]]) != ST_OK) {
                snprintf(why, why_size, "%s", error_message());
                ok = false;
            }
        }
        int nout = net_model_output_count(m), layers[MAX_IO];
        if (ok && nout > MAX_IO) {
            snprintf(why, why_size, "too many outputs");
            ok = false;
        }
        for (int k = 0; ok && k < nout; k++)
            layers[k] = net_model_output_layer(m, k);
        net_session *s = NULL;
        if (ok && (net_session_create(m, &s) != ST_OK || net_forward(s, x, nmodel, layers, nout, NULL) != ST_OK)) {
            snprintf(why, why_size, "%s", error_message());
            ok = false;
        }
        for (int k = 0; ok && k < nout; k++) {
            tensor expected;
            snprintf(path, sizeof path, "%s/%.127s/test_data_set_%d/output_%d.pb", base, name, set, k);
            if (tensor_read_pb(path, &expected) != ST_OK) {
                snprintf(why, why_size, "%s", error_message());
                ok = false;
                break;
            }
            const tensor *got = net_activation(s, layers[k]);
            char a[128], b[128];
            if (!got || !tensor_same_shape(got, &expected)) {
                snprintf(why, why_size, "output %d has shape %s, expected %s", k,
                         got ? shape_format(got->ndim, got->shape, a, sizeof a) : "none",
                         shape_format(expected.ndim, expected.shape, b, sizeof b));
                ok = false;
            }
            for (size_t i = 0; ok && i < tensor_numel(&expected); i++) {
                double want = expected.data[i], have = got->data[i];
                bool same = fabs(have - want) <= 1e-7 + 1e-3 * fabs(want) || (isnan(want) && isnan(have));
                if (!same) {
                    snprintf(why, why_size, "data set %d, output %d, element %zu: %.9g, expected %.9g", set, k,
                             i, have, want);
                    ok = false;
                }
            }
            tensor_free(&expected);
        }
        net_session_free(s);
        for (int k = 0; k < MAX_IO; k++)
            tensor_free(&x[k]);
        if (!nout && ok) {
            snprintf(why, why_size, "no outputs");
            ok = false;
        }
    }
    net_model_close(m);
    return ok;
}

int main(void)
{
    if (!exists(NODE_DIR)) {
        printf("test_onnx_node: %s is missing (Debian package libonnx-testdata): skipped\n", NODE_DIR);
        return SKIP;
    }
    /* The selected tests of each source, each sorted by name. */
    static char names[1024][128];
    static const char *bases[1024];
    static bool constants[1024];
    int count = 0;
    const size_t nops = sizeof ops / sizeof *ops;
    const struct {
        const char *dir;
        const char *const *stems;
        size_t nstems;
        bool constants;
    } sources[] = {{NODE_DIR, ops, nops, false},
                   {NODE_DIR, folded_ops, sizeof folded_ops / sizeof *folded_ops, true},
                   {TORCH_DIR, torch_modules, sizeof torch_modules / sizeof *torch_modules, false}};
    for (size_t src = 0; src < sizeof sources / sizeof *sources; src++) {
        DIR *dir = opendir(sources[src].dir);
        REQUIRE(dir);
        int first = count;
        struct dirent *e;
        while ((e = readdir(dir)) && count < 1024)
            /* (test_constant_pad is Pad's, selected by ops[]) */
            if (has_stem(e->d_name, sources[src].stems, sources[src].nstems) && strlen(e->d_name) < 128 &&
                !(sources[src].constants && has_stem(e->d_name, ops, nops))) {
                snprintf(names[count], 128, "%s", e->d_name);
                constants[count] = sources[src].constants;
                bases[count++] = sources[src].dir;
            }
        closedir(dir);
        qsort(names[first], (size_t)(count - first), sizeof names[0], (int (*)(const void *, const void *))strcmp);
    }
    int passed = 0, skips = 0, matched[sizeof skipped / sizeof *skipped] = {0};
    for (int i = 0; i < count; i++) {
        char why[1200] = "";
        bool ok = run_test(bases[i], names[i], constants[i], why, sizeof why);
        int k = skip_entry(names[i]);
        if (k >= 0) {
            skips++;
            matched[k]++;
            if (ok) {
                fprintf(stderr, "%s passes but is listed as skipped (%s): update the list\n", names[i],
                        skipped[k].reason);
                CHECK(false);
            } else if (!strstr(why, skipped[k].error)) {
                fprintf(stderr, "%s (skipped: %s) fails otherwise than expected: %s\n", names[i],
                        skipped[k].reason, why);
                CHECK(false);
            } else {
                printf("skip %s: %s\n", names[i], skipped[k].reason);
            }
        } else if (ok) {
            passed++;
        } else {
            fprintf(stderr, "FAIL %s: %s\n", names[i], why);
            CHECK(false);
        }
    }
    for (size_t i = 0; i < sizeof skipped / sizeof *skipped; i++)
        if (!matched[i]) {
            fprintf(stderr, "skip entry %s matches no selected test\n", skipped[i].pattern);
            CHECK(false);
        }
    printf("ONNX node tests: %d selected, %d passed, %d skipped\n", count, passed, skips);
    CHECK(count > 150);
    return check_report("test_onnx_node");
}
