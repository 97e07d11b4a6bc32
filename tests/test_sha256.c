/* SHA-256 against the FIPS 180-4 example vectors (one block, two blocks, the
 * 896-bit message, a million 'a'), fed in one piece and in awkward pieces that
 * straddle block boundaries, and through sha256_file. */
#include "check.h"

static void digest_of(const void *msg, size_t len, size_t piece, char hex[65])
{
    sha256_ctx ctx;
    sha256_init(&ctx);
    const uint8_t *p = msg;
    for (size_t done = 0; done < len;) {
        size_t n = len - done < piece ? len - done : piece;
        sha256_update(&ctx, p + done, n);
        done += n;
    }
    uint8_t digest[32];
    sha256_final(&ctx, digest);
    sha256_hex(digest, hex);
}

static void test_vectors(void)
{
    static const struct {
        const char *msg;
        const char *digest;
    } vectors[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmn"
         "opqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    static const size_t pieces[] = {1, 3, 55, 56, 63, 64, 65, 1000};
    for (size_t v = 0; v < sizeof vectors / sizeof *vectors; v++)
        for (size_t k = 0; k < sizeof pieces / sizeof *pieces; k++) {
            char hex[65];
            digest_of(vectors[v].msg, strlen(vectors[v].msg), pieces[k], hex);
            CHECK(strcmp(hex, vectors[v].digest) == 0);
        }

    /* One million repetitions of 'a' (FIPS 180-4 example C.3). */
    size_t n = 1000000;
    char *a = malloc(n);
    REQUIRE(a);
    memset(a, 'a', n);
    char hex[65];
    digest_of(a, n, 4099, hex);
    CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);

    /* The same through a file. */
    char path[4200];
    snprintf(path, sizeof path, "%s/million_a", check_tmpdir());
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(a, 1, n, f) == n && fclose(f) == 0);
    free(a);
    CHECK_OK(sha256_file(path, hex));
    CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
    snprintf(path, sizeof path, "%s/missing", check_tmpdir());
    CHECK_FAILS_WITH(sha256_file(path, hex), "cannot open");
}

static void test_hex_valid(void)
{
    CHECK(sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(sha256_hex_valid("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
    CHECK(!sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
    CHECK(!sha256_hex_valid("g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(!sha256_hex_valid(NULL));
}

int main(void)
{
    test_vectors();
    test_hex_valid();
    return check_report("test_sha256");
}
