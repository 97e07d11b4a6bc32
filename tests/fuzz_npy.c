/* Fuzz target: the .npy reader (tensor_decode_npy, the same parser as
 * tensor_read_npy). Invariant: a tensor read has exactly the elements its
 * shape says, all copied from the input. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tensor t;
    status s = tensor_decode_npy(data, size, FUZZ_NAME, &t);
    fuzz_check_error(s);
    if (s == ST_OK) {
        size_t n = tensor_numel(&t);
        if (n * sizeof(float) > size)
            fuzz_fail("npy", "more elements than the input holds");
        if (n && memcmp(t.data, data + size - n * sizeof(float), n * sizeof(float)) != 0)
            fuzz_fail("npy", "data not copied from the end of the input");
        tensor_free(&t);
    } else if (t.data) {
        fuzz_fail("npy failed but left data", "");
    }
    return 0;
}
