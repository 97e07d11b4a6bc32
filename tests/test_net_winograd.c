/* The fast conv paths against direct convolution in double: Winograd
 * F(4×4, 3×3) forward and backward-data (ops_winograd.c) over odd sizes,
 * partial tiles, many channel counts (multiples of the kernels' 12-row
 * groups and not), pads 0..2 (asymmetric), circular pads, groups, batches
 * and bias; and convs next to the fast path that must not take it (stride 2,
 * dilation 2, pads 3, 5×5, few channels, small outputs) with the same checks.
 * Also a finite-difference check of one fast-path gradient, and the precision
 * of F(4×4) on VGG-like layers (printed, and held to 1e-4 of the output's
 * scale). */
#include "net_check.h"
#include "net/ops.h"

static rng gen;

typedef struct {
    int64_t n, c, h, w, m, k, group;
    int64_t stride, dil, pads[4]; /* top, left, bottom, right */
    bool bias, circular, fast; /* fast: winograd_applies must say so */
} wcase;

typedef struct {
    net_model *model;
    int64_t oh, ow;
    const tensor *w, *b;
} wconv;

static wconv make_conv(const wcase *wc)
{
    int64_t xs[4] = {wc->n, wc->c, wc->h, wc->w}, ws[4] = {wc->m, wc->c / wc->group, wc->k, wc->k},
            bs[1] = {wc->m};
    net_builder nb;
    nb_begin(&nb, 4, xs);
    /* He-like weights: outputs of order 1 whatever the channel count. */
    double scale = sqrt(3.0 / (double)(ws[1] * wc->k * wc->k));
    int w = nb_const(&nb, &gen, -scale, scale, 4, ws);
    int b = wc->bias ? nb_const(&nb, &gen, -1, 1, 1, bs) : -1;
    op_attrs a = op_attrs_default(OP_CONV);
    a.window.nspatial = 2;
    a.window.group = wc->group;
    for (int i = 0; i < 2; i++) {
        a.window.strides[i] = wc->stride;
        a.window.dilations[i] = wc->dil;
    }
    memcpy(a.window.pads, wc->pads, sizeof wc->pads);
    nb_node(&nb, OP_CONV, &a, INPUTS(nb.x, w, b));
    wconv cv;
    int layer;
    cv.model = nb_model(&nb, &layer);
    const graph_node *node = &cv.model->g->nodes[layer];
    REQUIRE(graph_constant(cv.model->g, node->inputs[1], &cv.w) == ST_OK);
    cv.b = NULL;
    if (wc->bias)
        REQUIRE(graph_constant(cv.model->g, node->inputs[2], &cv.b) == ST_OK);
    int64_t ext = (wc->k - 1) * wc->dil + 1;
    cv.oh = (wc->h + wc->pads[0] + wc->pads[2] - ext) / wc->stride + 1;
    cv.ow = (wc->w + wc->pads[1] + wc->pads[3] - ext) / wc->stride + 1;
    return cv;
}

/* The input index a tap reads along one axis, or -1 in a zero pad. */
static int64_t tap_source(const wcase *wc, int64_t o, int64_t k, int64_t pad, int64_t size)
{
    int64_t i = o * wc->stride - pad + k * wc->dil;
    if (wc->circular)
        return ((i % size) + size) % size;
    return i >= 0 && i < size ? i : -1;
}

/* y = conv(x) and dx = convᵀ(dy), directly, in double: for every weight,
 * y[m] += w·x[c] and dx[c] += w·dy[m] shifted by its tap. */
static void reference(const wcase *wc, const wconv *cv, const tensor *x, const tensor *dy,
                      double *y, double *dx)
{
    int64_t G = wc->group, cg = wc->c / G, mg = wc->m / G, k = wc->k, oh = cv->oh, ow = cv->ow;
    int64_t *iys = calloc((size_t)(k * oh), sizeof *iys), *ixs = calloc((size_t)(k * ow), sizeof *ixs);
    REQUIRE(iys && ixs);
    for (int64_t t = 0; t < k; t++) {
        for (int64_t o = 0; o < oh; o++)
            iys[t * oh + o] = tap_source(wc, o, t, wc->pads[0], wc->h);
        for (int64_t o = 0; o < ow; o++)
            ixs[t * ow + o] = tap_source(wc, o, t, wc->pads[1], wc->w);
    }
    memset(dx, 0, (size_t)(wc->n * wc->c * wc->h * wc->w) * sizeof *dx);
    for (int64_t n = 0; n < wc->n; n++)
        for (int64_t m = 0; m < wc->m; m++) {
            double *ym = y + (n * wc->m + m) * oh * ow;
            const float *dym = dy->data + (n * wc->m + m) * oh * ow;
            for (int64_t i = 0; i < oh * ow; i++)
                ym[i] = cv->b ? cv->b->data[m] : 0;
            for (int64_t c = 0; c < cg; c++) {
                int64_t plane = (n * wc->c + m / mg * cg + c) * wc->h * wc->w;
                for (int64_t ky = 0; ky < k; ky++)
                    for (int64_t kx = 0; kx < k; kx++) {
                        double wv = cv->w->data[((m * cg + c) * k + ky) * k + kx];
                        for (int64_t oy = 0; oy < oh; oy++) {
                            int64_t iy = iys[ky * oh + oy];
                            if (iy < 0)
                                continue;
                            const float *xr = x->data + plane + iy * wc->w;
                            double *dxr = dx + plane + iy * wc->w;
                            for (int64_t ox = 0; ox < ow; ox++) {
                                int64_t ix = ixs[kx * ow + ox];
                                if (ix < 0)
                                    continue;
                                ym[oy * ow + ox] += wv * xr[ix];
                                dxr[ix] += wv * dym[oy * ow + ox];
                            }
                        }
                    }
            }
        }
    free(iys);
    free(ixs);
}

/* max |a − ref| / max |ref| */
static double relative_error(const float *a, const double *ref, size_t n)
{
    double err = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        err = fmax(err, fabs(a[i] - ref[i]));
        scale = fmax(scale, fabs(ref[i]));
    }
    return err / fmax(scale, 1e-30);
}

static void describe(const wcase *wc, char *buf, size_t size)
{
    snprintf(buf, size, "%lldx%lldx%lldx%lld -> %lld, %lldx%lld s%lld d%lld g%lld pads %lld,%lld,%lld,%lld%s",
             (long long)wc->n, (long long)wc->c, (long long)wc->h, (long long)wc->w,
             (long long)wc->m, (long long)wc->k, (long long)wc->k, (long long)wc->stride,
             (long long)wc->dil, (long long)wc->group, (long long)wc->pads[0],
             (long long)wc->pads[1], (long long)wc->pads[2], (long long)wc->pads[3],
             wc->circular ? " circular" : "");
}

/* Forward and backward of one case against the reference; returns the
 * larger relative error. */
static double check_case(const wcase *wc, double tol)
{
    char what[200];
    describe(wc, what, sizeof what);
    wconv cv = make_conv(wc);
    /* The fast path is taken exactly where the case says. */
    const graph_node *node = &cv.model->g->nodes[0];
    nd_shape in[3] = {{4, {wc->n, wc->c, wc->h, wc->w}},
                      {4, {wc->m, wc->c / wc->group, wc->k, wc->k}},
                      {wc->bias ? 1 : -1, {wc->m}}};
    nd_shape out;
    window_geom geo;
    REQUIRE(op_infer(node, in, &out, &geo) == ST_OK);
    bool fast = winograd_applies(&geo, wc->circular);
    if (fast != wc->fast)
        fprintf(stderr, "%s: winograd_applies says %d\n", what, fast);
    CHECK(fast == wc->fast);

    int64_t xs[4] = {wc->n, wc->c, wc->h, wc->w}, ys[4] = {wc->n, wc->m, cv.oh, cv.ow};
    tensor x, dy, dx;
    REQUIRE(make_tensor(&x, 4, xs, &gen, -1, 1) == ST_OK);
    REQUIRE(make_tensor(&dy, 4, ys, &gen, -1, 1) == ST_OK);
    REQUIRE(tensor_alloc(&dx, 4, xs) == ST_OK);
    net_session *s;
    REQUIRE(net_session_create(cv.model, &s) == ST_OK);
    net_forward_opts fo = {.for_backward = true, .circular_padding = wc->circular};
    int layer = 0;
    CHECK_OK(net_forward(s, &x, 1, &layer, 1, &fo));
    const tensor *y = net_activation(s, 0);
    REQUIRE(y && tensor_numel(y) == tensor_numel(&dy));
    CHECK_OK(net_backward(s, &layer, &dy, 1, NULL, &dx));

    double *ry = calloc(tensor_numel(&dy), sizeof *ry), *rdx = calloc(tensor_numel(&x), sizeof *rdx);
    REQUIRE(ry && rdx);
    reference(wc, &cv, &x, &dy, ry, rdx);
    double ef = relative_error(y->data, ry, tensor_numel(&dy));
    double eb = relative_error(dx.data, rdx, tensor_numel(&x));
    if (ef > tol || eb > tol)
        fprintf(stderr, "%s: relative error forward %.3g, backward %.3g (allowed %g)\n", what, ef,
                eb, tol);
    CHECK(ef <= tol);
    CHECK(eb <= tol);
    free(ry);
    free(rdx);
    net_session_free(s);
    tensor_free(&x);
    tensor_free(&dy);
    tensor_free(&dx);
    net_model_close(cv.model);
    return fmax(ef, eb);
}

static void test_cases(void)
{
    const wcase cases[] = {
        /* the fast path: pads 1 (VGG), 0, 2, asymmetric; partial tiles */
        {1, 8, 32, 32, 8, 3, 1, 1, 1, {1, 1, 1, 1}, true, false, true},
        {1, 13, 37, 29, 17, 3, 1, 1, 1, {1, 1, 1, 1}, true, false, true},
        {2, 16, 30, 41, 12, 3, 1, 1, 1, {0, 0, 0, 0}, false, false, true},
        {1, 9, 33, 35, 25, 3, 1, 1, 1, {2, 2, 2, 2}, true, false, true},
        {1, 12, 31, 34, 11, 3, 1, 1, 1, {0, 2, 1, 0}, true, false, true},
        {1, 24, 45, 27, 36, 3, 1, 1, 1, {2, 0, 0, 1}, false, false, true},
        /* more tiles than one block; channels past one 12-row group */
        {1, 20, 90, 70, 30, 3, 1, 1, 1, {1, 1, 1, 1}, true, false, true},
        {1, 64, 64, 64, 64, 3, 1, 1, 1, {1, 1, 1, 1}, true, false, true},
        /* groups (each group has enough channels) and circular pads */
        {1, 32, 26, 30, 24, 3, 2, 1, 1, {1, 1, 1, 1}, true, false, true},
        {1, 10, 29, 31, 14, 3, 1, 1, 1, {1, 1, 1, 1}, true, true, true},
        {2, 8, 24, 36, 9, 3, 1, 1, 1, {2, 1, 0, 1}, false, true, true},
        /* next to the fast path: im2col */
        {1, 12, 33, 35, 14, 3, 1, 2, 1, {1, 1, 1, 1}, true, false, false},  /* stride 2 */
        {1, 12, 33, 35, 14, 3, 1, 1, 2, {2, 2, 2, 2}, true, false, false},  /* dilation 2 */
        {1, 12, 33, 35, 14, 3, 1, 1, 1, {3, 1, 1, 1}, true, false, false},  /* pad 3 */
        {1, 12, 33, 35, 14, 5, 1, 1, 1, {2, 2, 2, 2}, true, false, false},  /* 5×5 */
        {1, 3, 33, 35, 14, 3, 1, 1, 1, {1, 1, 1, 1}, true, false, false},   /* 3 channels in */
        {1, 12, 33, 35, 4, 3, 1, 1, 1, {1, 1, 1, 1}, true, false, false},   /* 4 out */
        {1, 12, 15, 15, 14, 3, 1, 1, 1, {1, 1, 1, 1}, true, false, false},  /* 16 tiles */
        {1, 12, 29, 31, 14, 3, 1, 1, 1, {1, 0, 1, 1}, true, true, false},   /* circular, OW ≠ W */
        {1, 16, 26, 30, 24, 3, 4, 1, 1, {1, 1, 1, 1}, true, false, false},  /* 4 channels a group */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_case(&cases[i], 1e-4);
}

/* The gradient of a fast-path conv against central differences. */
static void test_gradient(void)
{
    wcase wc = {1, 8, 26, 23, 9, 3, 1, 1, 1, {1, 2, 0, 1}, true, false, true};
    wconv cv = make_conv(&wc);
    int64_t xs[4] = {wc.n, wc.c, wc.h, wc.w};
    tensor x;
    REQUIRE(make_tensor(&x, 4, xs, &gen, -1, 1) == ST_OK);
    CHECK(gradient_check(cv.model, &x, 0, 1e-2, 2e-3, 200, NULL, "winograd gradient") <= 1);
    tensor_free(&x);
    net_model_close(cv.model);
}

/* F(4×4, 3×3) precision on VGG-like layers (the reference tests' tolerance
 * is 1e-4 of the scale): printed for the README. */
static void test_precision(void)
{
    const wcase layers[] = {
        {1, 64, 64, 64, 64, 3, 1, 1, 1, {1, 1, 1, 1}, true, false, true},
        {1, 512, 24, 24, 512, 3, 1, 1, 1, {1, 1, 1, 1}, true, false, true},
    };
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) {
        double e = check_case(&layers[i], 1e-4);
        fprintf(stderr, "F(4x4,3x3) %lld -> %lld channels at %lldx%lld: max relative error %.2e\n",
                (long long)layers[i].c, (long long)layers[i].m, (long long)layers[i].h,
                (long long)layers[i].w, e);
    }
}

int main(void)
{
    rng_seed(&gen, 7);
    test_cases();
    test_gradient();
    test_precision();
    return check_report("test_net_winograd");
}
