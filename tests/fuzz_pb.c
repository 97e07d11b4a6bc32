/* Fuzz target: TensorProto (.pb) files as ONNX's tests store tensors
 * (tensor_decode_pb: the protobuf decoder and every payload conversion). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tensor t;
    status s = tensor_decode_pb(data, size, FUZZ_NAME, &t);
    fuzz_check_error(s);
    if (s == ST_OK) {
        if (t.ndim < 0 || t.ndim > TENSOR_MAX_DIMS)
            fuzz_fail("pb", "bad rank");
        tensor_free(&t);
    } else if (t.data) {
        fuzz_fail("pb failed but left data", "");
    }
    return 0;
}
