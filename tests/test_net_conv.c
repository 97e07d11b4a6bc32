/* Conv: forward against a direct convolution in double, and the gradient to
 * the input against central finite differences, over odd sizes, strides,
 * asymmetric pads, dilations, groups (depthwise too), auto_pad, the 1×1 fast
 * path and circular (tileable) padding. */
#include "net_check.h"

static rng gen;

/* A one-node model: input x of shape xs, then `op` with extra inputs
 * (constants given by id through `extra`, built by the caller on g). */
typedef struct {
    graph *g;
    int x;
} builder;

static builder begin(int ndim, const int64_t *xs)
{
    builder b;
    REQUIRE(graph_create(&b.g) == ST_OK);
    REQUIRE(graph_add_input(b.g, "x", ndim, xs, &b.x) == ST_OK);
    return b;
}

static net_model *finish(builder *b, op_kind op, const int *inputs, int ninputs, const op_attrs *a)
{
    int y;
    if (graph_add_node(b->g, op, "y", inputs, ninputs, a, NULL, &y) != ST_OK) {
        fprintf(stderr, "graph_add_node(%s): %s\n", op_name(op), error_message());
        exit(1);
    }
    net_model *m;
    REQUIRE(model_from_graph(b->g, "test", &m) == ST_OK);
    return m;
}

/* ---- Conv ----------------------------------------------------------------------- */

typedef struct {
    int64_t n, c, h, w, m, kh, kw, group;
    int64_t stride[2], dil[2], pads[4];
    auto_pad_mode auto_pad;
    bool bias, circular;
} conv_case;

/* ONNX's output size and leading pad along one axis, computed here
 * independently of the engine. */
static void axis_geometry(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                          auto_pad_mode ap, int64_t *out, int64_t *pad)
{
    int64_t ext = (k - 1) * d + 1;
    if (ap == AUTO_PAD_SAME_UPPER || ap == AUTO_PAD_SAME_LOWER) {
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + ext - in;
        total = total < 0 ? 0 : total;
        *pad = ap == AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
    } else if (ap == AUTO_PAD_VALID) {
        *out = (in - ext) / s + 1;
        *pad = 0;
    } else {
        *out = (in + pb + pe - ext) / s + 1;
        *pad = pb;
    }
}

/* Direct convolution in double: the reference. */
static void conv_reference(const conv_case *cc, const tensor *x, const tensor *w,
                           const tensor *bias, double *y, int64_t *oh, int64_t *ow)
{
    int64_t G = cc->group, Cg = cc->c / G, Mg = cc->m / G, pt, pl;
    axis_geometry(cc->h, cc->kh, cc->stride[0], cc->dil[0], cc->pads[0], cc->pads[2], cc->auto_pad,
                  oh, &pt);
    axis_geometry(cc->w, cc->kw, cc->stride[1], cc->dil[1], cc->pads[1], cc->pads[3], cc->auto_pad,
                  ow, &pl);
    if (!y)
        return;
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t m = 0; m < cc->m; m++)
            for (int64_t oy = 0; oy < *oh; oy++)
                for (int64_t ox = 0; ox < *ow; ox++) {
                    double sum = bias ? bias->data[m] : 0;
                    int64_t gi = m / Mg;
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t ky = 0; ky < cc->kh; ky++)
                            for (int64_t kx = 0; kx < cc->kw; kx++) {
                                int64_t iy = oy * cc->stride[0] - pt + ky * cc->dil[0];
                                int64_t ix = ox * cc->stride[1] - pl + kx * cc->dil[1];
                                if (cc->circular) {
                                    iy = ((iy % cc->h) + cc->h) % cc->h;
                                    ix = ((ix % cc->w) + cc->w) % cc->w;
                                }
                                if (iy < 0 || iy >= cc->h || ix < 0 || ix >= cc->w)
                                    continue;
                                sum +=
                                    (double)
                                        x->data[((n * cc->c + gi * Cg + c) * cc->h + iy) * cc->w +
                                                ix] *
                                    w->data[((m * Cg + c) * cc->kh + ky) * cc->kw + kx];
                            }
                    y[((n * cc->m + m) * *oh + oy) * *ow + ox] = sum;
                }
}

static void check_conv(const conv_case *cc)
{
    int64_t xs[4] = {cc->n, cc->c, cc->h, cc->w};
    builder b = begin(4, xs);
    int64_t ws[4] = {cc->m, cc->c / cc->group, cc->kh, cc->kw}, bs[1] = {cc->m};
    int in[3] = {b.x, add_random_constant(b.g, "w", 4, ws, &gen, -1, 1),
                 cc->bias ? add_random_constant(b.g, "b", 1, bs, &gen, -1, 1) : -1};
    op_attrs a = op_attrs_default(OP_CONV);
    a.window.nspatial = 2;
    a.window.group = cc->group;
    for (int i = 0; i < 2; i++) {
        a.window.strides[i] = cc->stride[i];
        a.window.dilations[i] = cc->dil[i];
    }
    memcpy(a.window.pads, cc->pads, sizeof cc->pads);
    a.window.auto_pad = cc->auto_pad;
    net_model *m = finish(&b, OP_CONV, in, 3, &a);
    char what[160];
    snprintf(what, sizeof what,
             "conv %lldx%lldx%lldx%lld m%lld k%lldx%lld g%lld s%lld,%lld d%lld,%lld%s",
             (long long)cc->n, (long long)cc->c, (long long)cc->h, (long long)cc->w,
             (long long)cc->m, (long long)cc->kh, (long long)cc->kw, (long long)cc->group,
             (long long)cc->stride[0], (long long)cc->stride[1], (long long)cc->dil[0],
             (long long)cc->dil[1], cc->circular ? " circular" : "");

    tensor x;
    REQUIRE(make_tensor(&x, 4, xs, &gen, -1, 1) == ST_OK);
    net_session *s;
    REQUIRE(net_session_create(m, &s) == ST_OK);
    net_forward_opts fo = {.circular_padding = cc->circular};
    int layer = 0;
    CHECK_OK(net_forward(s, &x, 1, &layer, 1, &fo));
    const tensor *y = net_activation(s, 0);
    REQUIRE(y != NULL);
    /* Reference forward. */
    const tensor *w, *bias = NULL;
    REQUIRE(graph_constant(m->g, m->g->nodes[0].inputs[1], &w) == ST_OK);
    if (cc->bias)
        REQUIRE(graph_constant(m->g, m->g->nodes[0].inputs[2], &bias) == ST_OK);
    int64_t oh, ow;
    conv_reference(cc, &x, w, bias, NULL, &oh, &ow);
    REQUIRE(y->ndim == 4 && y->shape[0] == cc->n && y->shape[1] == cc->m && y->shape[2] == oh &&
            y->shape[3] == ow);
    double *ref = calloc(tensor_numel(y), sizeof *ref);
    conv_reference(cc, &x, w, bias, ref, &oh, &ow);
    double worst = 0;
    for (size_t i = 0; i < tensor_numel(y); i++)
        worst = fmax(worst, fabs(ref[i] - y->data[i]));
    if (worst > 1e-4)
        fprintf(stderr, "%s: forward differs by %g\n", what, worst);
    CHECK(worst <= 1e-4);
    free(ref);
    net_session_free(s);
    CHECK(gradient_check(m, &x, 0, 1e-2, 2e-3, 300, &fo, what) <= 1);
    tensor_free(&x);
    net_model_close(m);
}

static void test_conv(void)
{
    const conv_case cases[] = {
        {1, 3, 7, 9, 4, 3, 3, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}, AUTO_PAD_NOTSET, true, false},
        {2, 4, 9, 7, 6, 3, 2, 2, {2, 1}, {1, 1}, {0, 1, 2, 0}, AUTO_PAD_NOTSET, true, false},
        {1, 3, 11, 10, 5, 3, 3, 1, {1, 2}, {2, 3}, {2, 1, 1, 3}, AUTO_PAD_NOTSET, false, false},
        {1, 6, 8, 9, 6, 3, 3, 6, {1, 1}, {1, 1}, {1, 1, 1, 1}, AUTO_PAD_NOTSET, true, false}, /* depthwise */
        {2, 5, 6, 7, 3, 1, 1, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, AUTO_PAD_NOTSET, true, false}, /* pointwise */
        {1, 4, 9, 9, 4, 1, 1, 2, {2, 2}, {1, 1}, {0, 0, 0, 0}, AUTO_PAD_NOTSET, false, false},
        {1, 3, 7, 8, 2, 3, 3, 1, {2, 2}, {1, 1}, {0, 0, 0, 0}, AUTO_PAD_SAME_UPPER, true, false},
        {1, 3, 7, 8, 2, 4, 4, 1, {2, 3}, {1, 1}, {0, 0, 0, 0}, AUTO_PAD_SAME_LOWER, true, false},
        {1, 2, 9, 6, 3, 5, 3, 1, {2, 1}, {1, 1}, {0, 0, 0, 0}, AUTO_PAD_VALID, true, false},
        {1, 3, 7, 9, 4, 3, 3, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}, AUTO_PAD_NOTSET, true, true}, /* tileable */
        {1, 2, 6, 5, 3, 3, 5, 1, {2, 1}, {1, 2}, {2, 4, 1, 3}, AUTO_PAD_NOTSET, false, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_conv(&cases[i]);
}

int main(void)
{
    rng_seed(&gen, 42);
    test_conv();
    return check_report("test_net_conv");
}
