/* The engine's fast paths against their definitions, exactly:
 *   - MaxPool's interior runs and 2×2 stride-2 kernel (ops_pool.c): forward
 *     values and the argmax backward routes, with ties everywhere and NaNs
 *     (the first maximum in scan order wins, and the first NaN), on sizes
 *     whose windows are partly outside (pads, ceil_mode, odd sizes);
 *   - Relu's vector forward and backward (ops_activation.c) on lengths around
 *     the vector width, with −0, NaN and ±inf, the same bytes for any thread
 *     count;
 *   - net_seed: seeding in the engine's buffers gives the same gradient as
 *     seed tensors, alone or mixed, and refuses what it cannot seed;
 *   - first writers that write a gradient whole instead of adding to it,
 *     also when they do not run. */
#include "net_check.h"

static rng gen;

/* ---- MaxPool ------------------------------------------------------------------ */

typedef struct {
    int64_t c, h, w, kh, kw, sy, sx, dy, dx, pads[4];
    bool ceil;
} mp_case;

static int64_t mp_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe, bool ceil)
{
    int64_t span = in + pb + pe - ((k - 1) * d + 1);
    int64_t o = (ceil ? (span + s - 1) / s : span / s) + 1;
    if (ceil && (o - 1) * s >= in + pb)
        o--;
    return o;
}

/* The definition: over the taps inside the input in scan order, the first
 * that is larger than every earlier one, or the first NaN. Returns the flat
 * input index (or -1) per output, and the values. */
static void mp_reference(const mp_case *mc, const float *x, int64_t oh, int64_t ow, float *y,
                         int64_t *at)
{
    for (int64_t c = 0; c < mc->c; c++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                float best = 0;
                int64_t where = -1;
                for (int64_t ky = 0; ky < mc->kh; ky++)
                    for (int64_t kx = 0; kx < mc->kw; kx++) {
                        int64_t iy = oy * mc->sy - mc->pads[0] + ky * mc->dy;
                        int64_t ix = ox * mc->sx - mc->pads[1] + kx * mc->dx;
                        if (iy < 0 || iy >= mc->h || ix < 0 || ix >= mc->w)
                            continue;
                        int64_t i = (c * mc->h + iy) * mc->w + ix;
                        float v = x[i];
                        if (where < 0 || v > best || (isnan(v) && !isnan(best))) {
                            best = v;
                            where = i;
                        }
                    }
                int64_t o = (c * oh + oy) * ow + ox;
                y[o] = where < 0 ? -INFINITY : best;
                at[o] = where;
            }
}

static bool same_float(float a, float b) { return (isnan(a) && isnan(b)) || a == b; }

static void test_max_pool(void)
{
    const mp_case cases[] = {
        {3, 9, 7, 2, 2, 2, 2, 1, 1, {0, 0, 0, 0}, false},    /* 2×2 s2, odd sizes */
        {2, 64, 70, 2, 2, 2, 2, 1, 1, {0, 0, 0, 0}, false},  /* 2×2 s2, long rows */
        {2, 33, 41, 3, 3, 2, 2, 1, 1, {0, 0, 0, 0}, true},   /* GoogLeNet's ceil pools */
        {2, 30, 150, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, false}, /* inception's pool branch */
        {1, 21, 19, 2, 2, 1, 1, 1, 1, {0, 0, 1, 1}, false},
        {2, 25, 27, 3, 2, 2, 3, 2, 1, {1, 0, 2, 1}, true},   /* dilated, asymmetric */
        {1, 12, 200, 5, 5, 3, 3, 1, 1, {2, 2, 2, 2}, false},
        {1, 17, 18, 2, 2, 2, 2, 1, 1, {1, 1, 0, 0}, false},  /* 2×2 s2 with a pad: general path */
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const mp_case *mc = &cases[ci];
        int64_t xs[4] = {1, mc->c, mc->h, mc->w};
        net_builder b;
        nb_begin(&b, 4, xs);
        op_attrs at = op_attrs_default(OP_MAX_POOL);
        at.window.nspatial = 2;
        at.window.kernel[0] = mc->kh, at.window.kernel[1] = mc->kw;
        at.window.strides[0] = mc->sy, at.window.strides[1] = mc->sx;
        at.window.dilations[0] = mc->dy, at.window.dilations[1] = mc->dx;
        memcpy(at.window.pads, mc->pads, sizeof mc->pads);
        at.window.ceil_mode = mc->ceil;
        nb_node(&b, OP_MAX_POOL, &at, INPUTS(b.x));
        int layer;
        net_model *m = nb_model(&b, &layer);
        /* Four levels: ties in most windows; a few NaNs. */
        tensor x;
        REQUIRE(tensor_alloc(&x, 4, xs) == ST_OK);
        for (size_t i = 0; i < tensor_numel(&x); i++)
            x.data[i] = rng_uniform(&gen) < 0.02 ? NAN : (float)rng_range(&gen, -2, 1);
        int64_t oh = mp_out(mc->h, mc->kh, mc->sy, mc->dy, mc->pads[0], mc->pads[2], mc->ceil);
        int64_t ow = mp_out(mc->w, mc->kw, mc->sx, mc->dx, mc->pads[1], mc->pads[3], mc->ceil);
        size_t no = (size_t)(mc->c * oh * ow);
        float *ry = calloc(no, sizeof *ry);
        int64_t *rat = calloc(no, sizeof *rat);
        mp_reference(mc, x.data, oh, ow, ry, rat);

        net_session *s;
        REQUIRE(net_session_create(m, &s) == ST_OK);
        net_forward_opts fo = {.for_backward = true};
        CHECK_OK(net_forward(s, &x, 1, &layer, 1, &fo));
        const tensor *y = net_activation(s, layer);
        REQUIRE(y && tensor_numel(y) == no);
        size_t bad = 0;
        for (size_t i = 0; i < no; i++)
            bad += !same_float(y->data[i], ry[i]);
        /* Backward with integer seeds: dx sums exactly, in any order. */
        int64_t ys[4] = {1, mc->c, oh, ow};
        tensor g, dx;
        REQUIRE(tensor_alloc(&g, 4, ys) == ST_OK && tensor_alloc(&dx, 4, xs) == ST_OK);
        for (size_t i = 0; i < no; i++)
            g.data[i] = (float)rng_range(&gen, 1, 9);
        CHECK_OK(net_backward(s, &layer, &g, 1, NULL, &dx));
        double *rdx = calloc(tensor_numel(&x), sizeof *rdx);
        for (size_t i = 0; i < no; i++)
            if (rat[i] >= 0)
                rdx[rat[i]] += g.data[i];
        for (size_t i = 0; i < tensor_numel(&x); i++)
            bad += dx.data[i] != rdx[i];
        if (bad)
            fprintf(stderr, "max pool case %zu: %zu values differ\n", ci, bad);
        CHECK(bad == 0);
        free(ry);
        free(rat);
        free(rdx);
        tensor_free(&x);
        tensor_free(&g);
        tensor_free(&dx);
        net_session_free(s);
        net_model_close(m);
    }
}

/* ---- Relu ------------------------------------------------------------------------ */

static void test_relu(void)
{
    const int64_t lengths[] = {1, 7, 8, 9, 15, 16, 17, 31, 33, 1000, 4099};
    for (size_t li = 0; li < sizeof lengths / sizeof *lengths; li++) {
        int64_t n = lengths[li], xs[2] = {1, n};
        net_builder b;
        nb_begin(&b, 2, xs);
        nb_node(&b, OP_RELU, NULL, INPUTS(b.x));
        int layer;
        net_model *m = nb_model(&b, &layer);
        tensor x, g, dx[2];
        REQUIRE(tensor_alloc(&x, 2, xs) == ST_OK && tensor_alloc(&g, 2, xs) == ST_OK);
        const float special[] = {-0.0f, 0.0f, NAN, INFINITY, -INFINITY, 1e-45f, -1e-45f};
        for (int64_t i = 0; i < n; i++) {
            x.data[i] = i % 5 == 0 ? special[rng_range(&gen, 0, 6)]
                                   : (float)(rng_uniform(&gen) * 2 - 1);
            g.data[i] = i % 7 == 0 ? -0.0f : (float)(rng_uniform(&gen) * 2 - 1);
        }
        for (int t = 0; t < 2; t++) {
            net_set_threads(t ? 3 : 1);
            net_session *s;
            REQUIRE(net_session_create(m, &s) == ST_OK);
            REQUIRE(tensor_alloc(&dx[t], 2, xs) == ST_OK);
            net_forward_opts fo = {.for_backward = true};
            CHECK_OK(net_forward(s, &x, 1, &layer, 1, &fo));
            const tensor *y = net_activation(s, layer);
            size_t bad = 0;
            for (int64_t i = 0; i < n; i++) {
                float want = x.data[i] > 0 ? x.data[i] : 0.0f; /* NaN and −0 give +0 */
                bad += memcmp(&y->data[i], &want, sizeof want) != 0;
            }
            CHECK_OK(net_backward(s, &layer, &g, 1, NULL, &dx[t]));
            for (int64_t i = 0; i < n; i++) /* g where x > 0, else 0 (±0 alike) */
                bad += dx[t].data[i] != (x.data[i] > 0 ? g.data[i] : 0.0f);
            if (bad)
                fprintf(stderr, "relu of %lld values, %d thread(s): %zu differ\n", (long long)n,
                        t ? 3 : 1, bad);
            CHECK(bad == 0);
            net_session_free(s);
        }
        CHECK(memcmp(dx[0].data, dx[1].data, (size_t)n * sizeof(float)) == 0);
        net_set_threads(0);
        tensor_free(&x);
        tensor_free(&g);
        tensor_free(&dx[0]);
        tensor_free(&dx[1]);
        net_model_close(m);
    }
}

/* ---- net_seed ---------------------------------------------------------------------- */

static void test_seed(void)
{
    /* x → conv → relu (a) → pool (b); seeds at a and b. */
    int64_t xs[4] = {1, 3, 12, 10}, ws[4] = {4, 3, 3, 3};
    net_builder nb;
    nb_begin(&nb, 4, xs);
    int w = nb_const(&nb, &gen, -1, 1, 4, ws);
    op_attrs ca = window_2d(OP_CONV, 3, 1, 1);
    nb_node(&nb, OP_CONV, &ca, INPUTS(nb.x, w));
    int relu = nb_node(&nb, OP_RELU, NULL, INPUTS(nb.last));
    op_attrs pa = window_2d(OP_MAX_POOL, 2, 2, 0);
    nb_node(&nb, OP_MAX_POOL, &pa, INPUTS(relu));
    int pool;
    net_model *m = nb_model(&nb, &pool);
    int a = m->g->values[relu].node;
    int layers[2] = {a, pool};
    tensor x, seeds[2], want, got;
    REQUIRE(make_tensor(&x, 4, xs, &gen, -1, 1) == ST_OK);
    REQUIRE(tensor_alloc(&want, 4, xs) == ST_OK && tensor_alloc(&got, 4, xs) == ST_OK);
    net_session *s;
    REQUIRE(net_session_create(m, &s) == ST_OK);
    CHECK(net_seed(s, a) == NULL); /* no forward yet */
    net_forward_opts fo = {.for_backward = true};
    CHECK_OK(net_forward(s, &x, 1, layers, 2, &fo));
    for (int i = 0; i < 2; i++) {
        const tensor *act = net_activation(s, layers[i]);
        REQUIRE(make_tensor(&seeds[i], act->ndim, act->shape, &gen, -1, 1) == ST_OK);
    }
    CHECK_OK(net_backward(s, layers, seeds, 2, NULL, &want));

    /* Both seeds written in place. */
    CHECK_OK(net_forward(s, &x, 1, layers, 2, &fo));
    CHECK(net_seed(s, 0) == NULL); /* the conv: not requested */
    for (int i = 0; i < 2; i++) {
        tensor *t = net_seed(s, layers[i]);
        REQUIRE(t && tensor_same_shape(t, &seeds[i]));
        bool zero = true;
        for (size_t k = 0; k < tensor_numel(t); k++)
            zero &= t->data[k] == 0;
        CHECK(zero);
        memcpy(t->data, seeds[i].data, tensor_numel(t) * sizeof(float));
        CHECK(net_seed(s, layers[i]) == t); /* again: the same buffer, kept */
        CHECK(memcmp(t->data, seeds[i].data, tensor_numel(t) * sizeof(float)) == 0);
    }
    CHECK_OK(net_backward(s, layers, NULL, 2, NULL, &got));
    CHECK(memcmp(want.data, got.data, tensor_numel(&want) * sizeof(float)) == 0);
    CHECK(net_seed(s, a) == NULL); /* consumed: forward again first */

    /* Mixed: a in place, b as a tensor. */
    CHECK_OK(net_forward(s, &x, 1, layers, 2, &fo));
    tensor *t = net_seed(s, a);
    REQUIRE(t);
    memcpy(t->data, seeds[0].data, tensor_numel(t) * sizeof(float));
    CHECK_OK(net_backward(s, &layers[1], &seeds[1], 1, NULL, &got));
    double err = 0;
    for (size_t k = 0; k < tensor_numel(&want); k++)
        err = fmax(err, fabs(want.data[k] - got.data[k]));
    CHECK(err <= 1e-5);

    /* Without for_backward there is nothing to seed. */
    CHECK_OK(net_forward(s, &x, 1, layers, 2, NULL));
    CHECK(net_seed(s, a) == NULL);
    net_session_free(s);
    for (int i = 0; i < 2; i++)
        tensor_free(&seeds[i]);
    tensor_free(&x);
    tensor_free(&want);
    tensor_free(&got);
    net_model_close(m);
}

/* ---- first writers ------------------------------------------------------------------- */

/* x → Relu (a) and x → Conv (b), both requested: backward runs b first, and
 * b's gradient write is the first into dx, so it writes dx whole instead of
 * adding. When b's seed is absent, b does not run, and dx must still start
 * from zero. Each result against a fresh session's, over alternating
 * requests (stale state would show). */
static void backward_of(net_model *m, const tensor *x, const int *layers, int nlayers,
                        const tensor *seeds, int nseeds, net_session *s, tensor *dx)
{
    net_forward_opts fo = {.for_backward = true};
    CHECK_OK(net_forward(s, x, 1, layers, nlayers, &fo));
    CHECK_OK(net_backward(s, layers, seeds, nseeds, NULL, dx));
    (void)m;
}

static void test_first_writers(void)
{
    int64_t xs[4] = {1, 8, 20, 20}, ws[4] = {8, 8, 3, 3};
    net_builder nb;
    nb_begin(&nb, 4, xs);
    int ra = nb_node(&nb, OP_RELU, NULL, INPUTS(nb.x));
    int w = nb_const(&nb, &gen, -0.3, 0.3, 4, ws);
    op_attrs ca = window_2d(OP_CONV, 3, 1, 1);
    nb_node(&nb, OP_CONV, &ca, INPUTS(nb.x, w));
    int b;
    net_model *m = nb_model(&nb, &b);
    int a = m->g->values[ra].node;
    int both[2] = {a, b};
    tensor x, seeds[2], dx, ref;
    REQUIRE(make_tensor(&x, 4, xs, &gen, -1, 1) == ST_OK);
    REQUIRE(make_tensor(&seeds[0], 4, xs, &gen, -1, 1) == ST_OK);
    REQUIRE(make_tensor(&seeds[1], 4, xs, &gen, -1, 1) == ST_OK);
    REQUIRE(tensor_alloc(&dx, 4, xs) == ST_OK && tensor_alloc(&ref, 4, xs) == ST_OK);
    net_session *s;
    REQUIRE(net_session_create(m, &s) == ST_OK);
    for (int round = 0; round < 4; round++) {
        bool only_a = round % 2;
        backward_of(m, &x, both, 2, seeds, only_a ? 1 : 2, s, &dx);
        net_session *fresh;
        REQUIRE(net_session_create(m, &fresh) == ST_OK);
        if (only_a) /* the reference: a alone, b never requested */
            backward_of(m, &x, &a, 1, seeds, 1, fresh, &ref);
        else
            backward_of(m, &x, both, 2, seeds, 2, fresh, &ref);
        net_session_free(fresh);
        size_t bad = 0;
        for (size_t i = 0; i < tensor_numel(&dx); i++)
            bad += fabsf(dx.data[i] - ref.data[i]) > 1e-6f;
        if (bad)
            fprintf(stderr, "first writers, round %d: %zu values differ\n", round, bad);
        CHECK(bad == 0);
    }
    net_session_free(s);
    tensor_free(&x);
    tensor_free(&seeds[0]);
    tensor_free(&seeds[1]);
    tensor_free(&dx);
    tensor_free(&ref);
    net_model_close(m);
}

int main(void)
{
    rng_seed(&gen, 11);
    test_max_pool();
    test_relu();
    test_seed();
    test_first_writers();
    return check_report("test_net_fast");
}
