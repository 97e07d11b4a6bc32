/* .npy files: reading what NumPy writes (format 1.0 and 2.0, 0-D and 1-D),
 * writing what NumPy writes byte for byte, and refusing everything else with
 * a clear message. Fixtures: scripts/make_net_reference.py. */
#include "check.h"

#include <stdint.h>

static void fixture(char *path, size_t n, const char *name)
{
    snprintf(path, n, "%s/net/%s", SYNTH_TEST_DATA, name);
}

static void test_numpy_files(void)
{
    char path[512];
    const char *names[] = {"npy_v1.npy", "npy_v2.npy"};
    for (int i = 0; i < 2; i++) {
        tensor t;
        fixture(path, sizeof path, names[i]);
        CHECK_OK(tensor_read_npy(path, &t));
        CHECK(t.ndim == 3 && t.shape[0] == 2 && t.shape[1] == 3 && t.shape[2] == 4);
        bool same = true;
        for (int k = 0; k < 24 && t.data; k++)
            same &= t.data[k] == (float)k / 8 - 1;
        CHECK(same);
        tensor_free(&t);
    }
    tensor t;
    fixture(path, sizeof path, "npy_scalar.npy");
    CHECK_OK(tensor_read_npy(path, &t));
    CHECK(t.ndim == 0 && tensor_numel(&t) == 1 && t.data[0] == 2.5f);
    tensor_free(&t);
    fixture(path, sizeof path, "npy_vector.npy");
    CHECK_OK(tensor_read_npy(path, &t));
    CHECK(t.ndim == 1 && t.shape[0] == 3 && t.data[1] == -2.0f);
    tensor_free(&t);
    fixture(path, sizeof path, "npy_float64.npy");
    CHECK_FAILS_WITH(tensor_read_npy(path, &t), "data type '<f8' is not supported");
    fixture(path, sizeof path, "npy_fortran.npy");
    CHECK_FAILS_WITH(tensor_read_npy(path, &t), "Fortran-order arrays are not supported");
}

static size_t slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t k = fread(buf, 1, n, f);
    fclose(f);
    return k;
}

static void test_write(void)
{
    char ours[4200], theirs[512];
    snprintf(ours, sizeof ours, "%s/out.npy", check_tmpdir());
    fixture(theirs, sizeof theirs, "npy_v1.npy");
    int64_t shape[3] = {2, 3, 4};
    tensor t, back;
    REQUIRE(tensor_alloc(&t, 3, shape) == ST_OK);
    for (int k = 0; k < 24; k++)
        t.data[k] = (float)k / 8 - 1;
    CHECK_OK(tensor_write_npy(ours, &t));
    static char a[8192], b[8192];
    size_t na = slurp(ours, a, sizeof a), nb = slurp(theirs, b, sizeof b);
    CHECK(na == nb && na > 0 && memcmp(a, b, na) == 0); /* byte for byte what np.save writes */
    CHECK_OK(tensor_read_npy(ours, &back));
    CHECK(tensor_same_shape(&t, &back) && memcmp(t.data, back.data, 24 * sizeof(float)) == 0);
    tensor_free(&back);
    tensor_free(&t);
    /* 0-D and 1-D round trips. */
    for (int ndim = 0; ndim <= 1; ndim++) {
        int64_t five = 5;
        REQUIRE(tensor_alloc(&t, ndim, &five) == ST_OK);
        t.data[0] = 3.25f;
        CHECK_OK(tensor_write_npy(ours, &t));
        CHECK_OK(tensor_read_npy(ours, &back));
        CHECK(tensor_same_shape(&t, &back) && back.data[0] == 3.25f);
        tensor_free(&back);
        tensor_free(&t);
    }
    CHECK_FAILS_WITH(tensor_write_npy(check_tmpdir(), &t), "is a directory");
}

/* Writes a file with a version 1.0 header around `dict` and `data_bytes`
 * bytes of data. */
static void craft(const char *path, const char *magic, const char *dict, size_t data_bytes)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    size_t n = strlen(dict);
    fwrite(magic, 1, 8, f);
    fputc((int)(n & 0xFF), f);
    fputc((int)(n >> 8), f);
    fwrite(dict, 1, n, f);
    for (size_t i = 0; i < data_bytes; i++)
        fputc(0, f);
    fclose(f);
}

static void test_bad_files(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/bad.npy", check_tmpdir());
    const char *v1 = "\x93NUMPY\x01\x00";
    const char *good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
    tensor t;
    craft(path, v1, good, 24);
    CHECK_OK(tensor_read_npy(path, &t));
    tensor_free(&t);
    struct {
        const char *magic, *dict;
        size_t bytes;
        const char *error;
    } cases[] = {
        {"\x93NUMPZ\x01\x00", good, 24, "not a .npy file"},
        {"\x93NUMPY\x09\x00", good, 24, "format version 9.0 is not supported"},
        {v1, good, 20, "holds 20 bytes of data, but shape 2x3 needs 24"},
        {v1, good, 28, "holds 28 bytes of data"},
        {v1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24, "'>f4' is not supported"},
        {v1, "{'descr': '<f4', 'fortran_order': False, }\n", 24, "missing shape"},
        {v1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }\n", 24, "bad dimension"},
        {v1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }\n", 24, "not a tuple"},
        {v1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }\n", 24, "fortran_order"},
        {v1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}\n", 24, "unexpected key"},
        {v1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }\n", 24, "malformed shape"},
        {v1, "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3), }\n", 24, "malformed dictionary"},
        {v1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x\n", 24, "text after"},
        {v1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }\n", 4,
         "more than 8 dimensions"},
        {v1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }\n", 0,
         "overflow"},
        {v1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n", 0, "bad dimension"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        craft(path, cases[i].magic, cases[i].dict, cases[i].bytes);
        CHECK_FAILS_WITH(tensor_read_npy(path, &t), cases[i].error);
        CHECK(t.data == NULL);
    }
    /* A header length past the end of the file. */
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    fwrite("\x93NUMPY\x01\x00\xff\x7f{}", 1, 12, f);
    fclose(f);
    CHECK_FAILS_WITH(tensor_read_npy(path, &t), "truncated");
    snprintf(path, sizeof path, "%s/missing.npy", check_tmpdir());
    CHECK_FAILS_WITH(tensor_read_npy(path, &t), "No such file");
    CHECK_FAILS_WITH(tensor_read_npy(check_tmpdir(), &t), "not a regular file");
}

int main(void)
{
    test_numpy_files();
    test_write();
    test_bad_files();
    return check_report("test_net_npy");
}
