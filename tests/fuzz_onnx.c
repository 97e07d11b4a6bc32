/* Fuzz target: ONNX models in memory (net_model_open_buffer: the protobuf
 * decoder, the importer with its constant folding, graph building and
 * finalizing), then what `synth info --model` asks of a model: every layer's
 * name, op and alias, and the shapes and receptive fields of some layers. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    net_model *m;
    status s = net_model_open_buffer(data, size, FUZZ_NAME, &m);
    fuzz_check_error(s);
    if (s != ST_OK) {
        if (m)
            fuzz_fail("onnx failed but returned a model", "");
        return 0;
    }
    int layers = net_layer_count(m);
    for (int l = 0; l < layers; l++)
        if (!net_layer_name(m, l) || !net_layer_op(m, l))
            fuzz_fail("onnx", "a layer without name or op");
    for (int i = 0; i < net_model_input_count(m); i++) {
        int ndim;
        int64_t shape[TENSOR_MAX_DIMS];
        net_model_input_shape(m, i, &ndim, shape);
        if (ndim < 0 || ndim > TENSOR_MAX_DIMS || !net_model_input_name(m, i))
            fuzz_fail("onnx", "bad input");
    }
    /* The first and last few layers: shapes at the declared size and at a
     * small one (failures are fine: the input may be too small). */
    for (int l = 0; l < layers; l++) {
        if (l >= 8 && l < layers - 8)
            continue;
        int ndim;
        int64_t shape[TENSOR_MAX_DIMS];
        net_receptive_field rf;
        error_clear();
        if (net_layer_shape(m, l, 0, 0, &ndim, shape) != ST_OK && !error_message()[0])
            fuzz_fail("onnx", "layer shape failed without a message");
        error_clear();
        if (net_layer_shape(m, l, 7, 5, &ndim, shape) != ST_OK && !error_message()[0])
            fuzz_fail("onnx", "layer shape failed without a message");
        (void)net_layer_receptive_field(m, l, &rf);
    }
    net_model_close(m);
    return 0;
}
