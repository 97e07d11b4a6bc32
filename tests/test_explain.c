/* The explain tools on cases whose answers are known: a linear model's
 * gradient saliency is |w|; Grad-CAM of a two-layer net in closed form;
 * occlusion of a model that sees one region; the lectures' FGSM example;
 * VGG receptive fields from the conv/pool geometry; filter grids of known
 * kernels; embedding neighbours; a planted top patch; the colormap's
 * lightness. Models: tests/data/explain (scripts/make_explain_models.py). */
#include "check.h"
#include "synth/synth.h"

static const char *data(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/explain/%s", SYNTH_TEST_DATA, name);
    return path;
}

static net_model *open_model(const char *name)
{
    net_model *m = NULL;
    if (net_model_open(data(name), &m) != ST_OK) {
        fprintf(stderr, "%s: %s\n", name, error_message());
        exit(1);
    }
    return m;
}

static tensor read_npy(const char *name)
{
    tensor t = {0};
    if (tensor_read_npy(data(name), &t) != ST_OK) {
        fprintf(stderr, "%s\n", error_message());
        exit(1);
    }
    return t;
}

static int layer_of(const net_model *m, const char *name)
{
    int l = -1;
    CHECK_OK(net_layer_find(m, name, &l));
    return l;
}

static tensor random_tensor(int ndim, const int64_t *shape, rng *r, double lo, double hi)
{
    tensor t;
    REQUIRE(tensor_alloc(&t, ndim, shape) == ST_OK);
    for (size_t i = 0; i < tensor_numel(&t); i++)
        t.data[i] = (float)(lo + (hi - lo) * rng_uniform(r));
    return t;
}

/* ---- class scores -------------------------------------------------------------- */

static void test_score_layers(void)
{
    net_model *lr = open_model("logreg.onnx"), *shapes = open_model("shapes.onnx");
    explainer *e;
    /* Gemm + Sigmoid: the Sigmoid's input, read as a logistic unit. */
    CHECK_OK(explainer_create(lr, NULL, &e));
    CHECK(explainer_score_layer(e) == layer_of(lr, "logit") && explainer_scores_kind(e) == SCORES_SIGMOID);
    explainer_free(e);
    CHECK_OK(explainer_create(lr, "prob", &e));
    CHECK(explainer_score_layer(e) == layer_of(lr, "prob") && explainer_scores_kind(e) == SCORES_PROBABILITY);
    tensor x = read_npy("logreg.x.npy"), p = {0};
    CHECK_OK(explainer_predict(e, &x, &p)); /* w.x = -2 */
    CHECK(p.ndim == 2 && p.shape[0] == 1 && p.shape[1] == 2);
    CHECK_NEAR(p.data[1], 1 / (1 + exp(2.0)), 1e-6);
    CHECK_NEAR(p.data[0], 1 - 1 / (1 + exp(2.0)), 1e-6);
    explainer_free(e);
    CHECK_OK(explainer_create(lr, "logit", &e)); /* a Sigmoid reads it */
    CHECK(explainer_scores_kind(e) == SCORES_SIGMOID);
    tensor_free(&p);
    CHECK_OK(explainer_predict(e, &x, &p));
    CHECK_NEAR(p.data[1], 1 / (1 + exp(2.0)), 1e-6);
    explainer_free(e);
    CHECK_FAILS_WITH(explainer_create(lr, "nope", &e), "--layer: nope: no such layer");
    /* A plain classifier: its output, softmaxed. */
    CHECK_OK(explainer_create(shapes, NULL, &e));
    CHECK(explainer_score_layer(e) == layer_of(shapes, "fc") && explainer_scores_kind(e) == SCORES_SOFTMAX);
    explainer_free(e);
    tensor_free(&x);
    tensor_free(&p);
    net_model_close(lr);
    net_model_close(shapes);

    /* A model ending in Softmax (SqueezeNet's "prob"): the Softmax's input. */
    net_model *sq;
    char path[4096];
    snprintf(path, sizeof path, "%s/onnx/squeezenet1_1.onnx", SYNTH_TEST_DATA);
    REQUIRE(net_model_open(path, &sq) == ST_OK);
    int prob = layer_of(sq, "prob");
    CHECK(strcmp(net_layer_op(sq, prob), "Softmax") == 0 || strcmp(net_layer_op(sq, prob), "Flatten") == 0);
    CHECK_OK(explainer_create(sq, NULL, &e));
    int l = explainer_score_layer(e);
    CHECK(explainer_scores_kind(e) == SCORES_SOFTMAX && l != prob && strcmp(net_layer_op(sq, l), "Softmax") != 0);
    explainer_free(e);
    net_model_close(sq);

    /* Grad-CAM's default layer follows the last conv through the residual Add
     * and ReLU to the block's output. */
    net_model *rn;
    snprintf(path, sizeof path, "%s/onnx/resnet18_layer2.onnx", SYNTH_TEST_DATA);
    REQUIRE(net_model_open(path, &rn) == ST_OK);
    CHECK(explain_gradcam_layer(rn) == layer_of(rn, "layer2"));
    CHECK(strcmp(net_layer_op(rn, layer_of(rn, "layer2")), "Relu") == 0);
    net_model_close(rn);
    net_model *vgg;
    REQUIRE(net_model_open("default", &vgg) == ST_OK);
    CHECK(explain_gradcam_layer(vgg) == layer_of(vgg, "relu5_4"));
    net_model_close(vgg);

    float q[6] = {0.1f, 0.5f, 0.2f, 0.5f, 0.05f, 0.9f};
    int top[6];
    CHECK_OK(explain_top_classes(q, 6, 4, top));
    CHECK(top[0] == 5 && top[1] == 1 && top[2] == 3 && top[3] == 2); /* ties: lower index first */
}

/* dJ/dx of explainer_gradient against central differences of J computed from
 * explainer_predict's probabilities (logp) or the score layer (score). */
static void check_gradient(explainer *e, tensor *x, int k, class_objective obj, double h, double tol)
{
    tensor g = {0}, p = {0};
    CHECK_OK(explainer_gradient(e, x, k, obj, NET_RELU_STANDARD, -1, &g, NULL));
    int layer = explainer_score_layer(e);
    for (size_t i = 0; i < tensor_numel(x); i += 7) {
        double J[2];
        float keep = x->data[i];
        for (int s = 0; s < 2; s++) {
            x->data[i] = keep + (float)(s ? h : -h);
            tensor_free(&p);
            CHECK_OK(explainer_predict(e, x, &p));
            if (obj == CLASS_LOGPROB) {
                J[s] = log(p.data[k]);
            } else { /* the score: the layer's channel k (or +-z for one score) */
                const tensor *a = net_activation(explainer_session(e), layer);
                J[s] = a->shape[1] == 1 ? (k == 1 ? a->data[0] : -a->data[0]) : a->data[k];
            }
        }
        x->data[i] = keep;
        CHECK_NEAR(g.data[i], (J[1] - J[0]) / (2 * h), tol);
    }
    tensor_free(&g);
    tensor_free(&p);
}

static void test_class_gradients(void)
{
    rng r;
    rng_seed(&r, 1);
    net_model *lin = open_model("linear.onnx"), *lr = open_model("logreg.onnx");
    explainer *e;
    tensor x = random_tensor(4, (int64_t[]){1, 3, 4, 5}, &r, -1, 1);
    CHECK_OK(explainer_create(lin, NULL, &e));
    for (int k = 0; k < 3; k++) {
        check_gradient(e, &x, k, CLASS_SCORE, 1e-2, 2e-3);
        check_gradient(e, &x, k, CLASS_LOGPROB, 1e-2, 2e-3);
    }
    tensor g = {0};
    CHECK_FAILS_WITH(explainer_gradient(e, &x, 3, CLASS_SCORE, NET_RELU_STANDARD, -1, &g, NULL),
                     "class: 3: the scores have 3 classes");
    explainer_free(e);
    tensor_free(&x);
    tensor xl = read_npy("logreg.x.npy");
    for (int named = 0; named < 3; named++) { /* sigmoid of the logit, the logit named, probabilities */
        const char *names[] = {NULL, "logit", "prob"};
        CHECK_OK(explainer_create(lr, names[named], &e));
        for (int k = 0; k < 2; k++) {
            check_gradient(e, &xl, k, CLASS_LOGPROB, 1e-2, 2e-3);
            check_gradient(e, &xl, k, CLASS_SCORE, 1e-2, 2e-3);
        }
        explainer_free(e);
    }
    tensor_free(&xl);
    net_model_close(lin);
    net_model_close(lr);
}

/* ---- saliency ------------------------------------------------------------------- */

/* The linear model S = W x + b: dS_k/dx = W[k], so the gradient map is
 * max_c |W[k, c, y, x]| — and guided and deconvnet agree (no ReLUs). */
static void test_linear_saliency(void)
{
    rng r;
    rng_seed(&r, 2);
    net_model *m = open_model("linear.onnx");
    tensor w = read_npy("linear.fc.weight.npy"); /* [3, 60] = [3, 3*4*5] */
    tensor x = random_tensor(4, (int64_t[]){1, 3, 4, 5}, &r, 0, 1);
    explainer *e;
    REQUIRE(explainer_create(m, NULL, &e) == ST_OK);
    saliency_method methods[] = {SALIENCY_GRADIENT, SALIENCY_GUIDED, SALIENCY_DECONVNET};
    for (int k = 0; k < 3; k++)
        for (int mi = 0; mi < 3; mi++) {
            saliency_options o = {.method = methods[mi], .target = k, .layer = -1};
            saliency_result res;
            CHECK_OK(explain_saliency(e, &x, &o, &res));
            CHECK(res.target == k && res.map.ndim == 2 && res.map.shape[0] == 4 && res.map.shape[1] == 5);
            for (int p = 0; p < 20; p++) {
                double want = 0;
                for (int c = 0; c < 3; c++)
                    want = fmax(want, fabs(w.data[k * 60 + c * 20 + p]));
                CHECK_NEAR(res.map.data[p], want, 1e-6);
            }
            saliency_result_free(&res);
        }
    /* The default class is the predicted one. */
    tensor p = {0};
    CHECK_OK(explainer_predict(e, &x, &p));
    int best;
    CHECK_OK(explain_top_classes(p.data, 3, 1, &best));
    saliency_options o = {.method = SALIENCY_GRADIENT, .target = -1, .layer = -1};
    saliency_result res;
    CHECK_OK(explain_saliency(e, &x, &o, &res));
    CHECK(res.target == best);
    CHECK_NEAR(res.prob, p.data[best], 1e-6);
    saliency_result_free(&res);
    o.target = 3;
    CHECK_FAILS_WITH(explain_saliency(e, &x, &o, &res), "--class: 3: the scores have 3 classes");
    tensor flat = random_tensor(2, (int64_t[]){1, 60}, &r, 0, 1);
    o.target = 0;
    CHECK_FAILS_WITH(explain_saliency(e, &flat, &o, &res), "needs a 1xCxHxW input");
    o.method = SALIENCY_GRADCAM;
    CHECK_FAILS_WITH(explain_saliency(e, &x, &o, &res), "has no Conv layer for Grad-CAM");
    tensor_free(&flat);
    tensor_free(&p);
    tensor_free(&x);
    tensor_free(&w);
    explainer_free(e);
    net_model_close(m);
}

/* twolayer: A = relu(conv(x)) [1, 3, 4, 4] (3x3, stride 2, pad 1),
 * S = fc.W · mean_ij A + fc.b. Grad-CAM at A: alpha_k = W[c, k] / 16 and
 * cam = relu(sum_k alpha_k A_k), computed here from the weights. Unit i of A
 * is centred on input pixel 2i, so the map equals cam there and interpolates
 * linearly between (clamped past the last unit). */
static void test_gradcam_closed_form(void)
{
    net_model *m = open_model("twolayer.onnx");
    tensor cw = read_npy("twolayer.conv.weight.npy"), cb = read_npy("twolayer.conv.bias.npy");
    tensor fw = read_npy("twolayer.fc.weight.npy"), x = read_npy("twolayer.x.npy");
    CHECK(explain_gradcam_layer(m) == layer_of(m, "relu"));
    double A[3][4][4];
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                double s = cb.data[k];
                for (int c = 0; c < 2; c++)
                    for (int dy = 0; dy < 3; dy++)
                        for (int dx = 0; dx < 3; dx++) {
                            int y = 2 * i - 1 + dy, xx = 2 * j - 1 + dx;
                            if (y >= 0 && y < 8 && xx >= 0 && xx < 8)
                                s += cw.data[((k * 2 + c) * 3 + dy) * 3 + dx] * x.data[(c * 8 + y) * 8 + xx];
                        }
                A[k][i][j] = fmax(s, 0);
            }
    explainer *e;
    REQUIRE(explainer_create(m, NULL, &e) == ST_OK);
    for (int cls = 0; cls < 2; cls++) {
        double cam[4][4];
        double top = 0;
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                double s = 0;
                for (int k = 0; k < 3; k++)
                    s += fw.data[cls * 3 + k] / 16.0 * A[k][i][j];
                cam[i][j] = fmax(s, 0);
                top = fmax(top, cam[i][j]);
            }
        CHECK(top > 0); /* the case is not degenerate */
        saliency_options o = {.method = SALIENCY_GRADCAM, .target = cls, .layer = -1};
        saliency_result res;
        CHECK_OK(explain_saliency(e, &x, &o, &res));
        REQUIRE(res.map.ndim == 2 && res.map.shape[0] == 8 && res.map.shape[1] == 8);
        for (int py = 0; py < 8; py++)
            for (int px = 0; px < 8; px++) {
                double uy = fmin(py / 2.0, 3), ux = fmin(px / 2.0, 3);
                int y0 = (int)uy, x0 = (int)ux, y1 = y0 < 3 ? y0 + 1 : 3, x1 = x0 < 3 ? x0 + 1 : 3;
                double ty = uy - y0, tx = ux - x0;
                double want = (cam[y0][x0] * (1 - tx) + cam[y0][x1] * tx) * (1 - ty) +
                              (cam[y1][x0] * (1 - tx) + cam[y1][x1] * tx) * ty;
                CHECK_NEAR(res.map.data[py * 8 + px], want, 1e-5);
            }
        /* The same at the conv layer itself: alpha includes the ReLU's mask. */
        o.layer = layer_of(m, "conv");
        saliency_result at_conv;
        CHECK_OK(explain_saliency(e, &x, &o, &at_conv));
        saliency_result_free(&at_conv);
        /* Guided Grad-CAM is the product of the two maps. */
        saliency_options og = {.method = SALIENCY_GUIDED_GRADCAM, .target = cls, .layer = -1};
        saliency_options gb = {.method = SALIENCY_GUIDED, .target = cls, .layer = -1};
        saliency_result rg, rb;
        CHECK_OK(explain_saliency(e, &x, &og, &rg));
        CHECK_OK(explain_saliency(e, &x, &gb, &rb));
        for (int p = 0; p < 64; p++)
            CHECK_NEAR(rg.map.data[p], rb.map.data[p] * res.map.data[p], 1e-6);
        saliency_result_free(&rg);
        saliency_result_free(&rb);
        saliency_result_free(&res);
    }
    saliency_options bad = {.method = SALIENCY_GRADCAM, .target = 0, .layer = layer_of(m, "fc")};
    saliency_result res;
    CHECK_FAILS_WITH(explain_saliency(e, &x, &bad, &res), "Grad-CAM needs a layer of feature maps");
    explainer_free(e);
    tensor_free(&cw);
    tensor_free(&cb);
    tensor_free(&fw);
    tensor_free(&x);
    net_model_close(m);
}

/* masked.onnx sees rows 4..7, columns 6..9 only: a square elsewhere leaves
 * the probability exactly as it was; one over the region moves it. */
static void test_occlusion_region(void)
{
    rng r;
    rng_seed(&r, 3);
    net_model *m = open_model("masked.onnx");
    tensor x = random_tensor(4, (int64_t[]){1, 3, 12, 12}, &r, 1, 3);
    explainer *e;
    REQUIRE(explainer_create(m, NULL, &e) == ST_OK);
    for (int fill = 0; fill < 2; fill++) {
        saliency_options o = {.method = SALIENCY_OCCLUSION, .target = 1, .layer = -1, .patch = 3,
                              .stride = 3, .fill = (occlusion_fill)fill};
        saliency_result auto_batch, one;
        CHECK_OK(explain_saliency(e, &x, &o, &auto_batch));
        o.batch = 1;
        CHECK_OK(explain_saliency(e, &x, &o, &one));
        CHECK(auto_batch.batch == 16 && auto_batch.forwards == 2); /* 16 positions, one batch */
        CHECK(one.batch == 1 && one.forwards == 17);
        int moved = 0;
        for (int y = 0; y < 12; y++)
            for (int xx = 0; xx < 12; xx++) {
                /* the 3x3 square holding (y, xx) meets rows 4..7 and columns 6..9 */
                int sy = y / 3 * 3, sx = xx / 3 * 3;
                bool sees = sy + 2 >= 4 && sy <= 7 && sx + 2 >= 6 && sx <= 9;
                float v = auto_batch.map.data[y * 12 + xx];
                CHECK_NEAR(v, one.map.data[y * 12 + xx], 1e-6); /* batched = one at a time */
                if (!sees)
                    CHECK_NEAR(v, auto_batch.prob, 1e-6);
                else
                    moved += fabs(v - auto_batch.prob) > 1e-5;
            }
        CHECK(moved == 6 * 6); /* rows 3..8 x columns 6..11: every pixel whose square sees the region */
        tensor heat = {0};
        CHECK_OK(saliency_importance(&auto_batch, SALIENCY_OCCLUSION, &heat));
        for (int i = 0; i < 144; i++)
            CHECK_NEAR(heat.data[i], fmax(auto_batch.prob - auto_batch.map.data[i], 0), 1e-7);
        tensor_free(&heat);
        saliency_result_free(&auto_batch);
        saliency_result_free(&one);
    }
    /* Overlapping squares average; a square larger than the image covers it all. */
    saliency_options o = {.method = SALIENCY_OCCLUSION, .target = 0, .layer = -1, .patch = 20, .stride = 5};
    saliency_result all;
    CHECK_OK(explain_saliency(e, &x, &o, &all));
    CHECK(all.forwards == 2);
    for (int i = 1; i < 144; i++)
        CHECK(all.map.data[i] == all.map.data[0]);
    saliency_result_free(&all);
    explainer_free(e);
    tensor_free(&x);
    net_model_close(m);
}

/* ---- adversarial ------------------------------------------------------------------ */

/* The lectures' example: P(y=1) = sigmoid(w.x) = sigmoid(-2) = 0.1192; a move
 * of eps towards class 1 adds eps * sum|w| = 10 eps to the logit. */
static void test_fgsm_lecture(void)
{
    net_model *m = open_model("logreg.onnx");
    explainer *e;
    REQUIRE(explainer_create(m, NULL, &e) == ST_OK);
    const double eps[] = {0.1, 0.2, 0.3}, want[] = {0.2689, 0.5, 0.7311};
    for (int i = 0; i < 3; i++) {
        tensor x = read_npy("logreg.x.npy");
        adversarial_options o = {.method = ADVERSARIAL_FGSM, .eps = eps[i], .target = 1};
        adversarial_result r;
        CHECK_OK(explain_adversarial(e, &x, &o, &r));
        CHECK(r.predicted == 0);
        CHECK_NEAR(r.before.data[1], 0.1192, 1e-4);
        CHECK_NEAR(r.after.data[1], want[i], 1e-4);
        CHECK_NEAR(r.linf, eps[i], 1e-6);
        const float w[8] = {2, -1, -1, -1, 2, -1, -1, 1}, x0[8] = {1, -2, -2, 3, -1, 2, -2, -3};
        for (int j = 0; j < 8; j++)
            CHECK_NEAR(x.data[j], x0[j] + eps[i] * (w[j] > 0 ? 1 : -1), 1e-6);
        adversarial_result_free(&r);
        /* Untargeted: away from the predicted class 0, the same move here. */
        tensor xu = read_npy("logreg.x.npy");
        o.target = -1;
        CHECK_OK(explain_adversarial(e, &xu, &o, &r));
        CHECK_NEAR(r.after.data[1], want[i], 1e-4);
        adversarial_result_free(&r);
        /* I-FGSM with 4 steps of eps/4 reaches the same corner of the ball. */
        o.method = ADVERSARIAL_IFGSM;
        o.steps = 4;
        tensor_free(&xu);
        xu = read_npy("logreg.x.npy");
        CHECK_OK(explain_adversarial(e, &xu, &o, &r));
        CHECK_NEAR(r.after.data[1], want[i], 1e-4);
        adversarial_result_free(&r);
        /* Steps larger than eps are projected back onto the ball. */
        o.step = 1;
        tensor_free(&xu);
        xu = read_npy("logreg.x.npy");
        CHECK_OK(explain_adversarial(e, &xu, &o, &r));
        CHECK_NEAR(r.linf, eps[i], 1e-6);
        CHECK_NEAR(r.after.data[1], want[i], 1e-4);
        adversarial_result_free(&r);
        tensor_free(&x);
        tensor_free(&xu);
    }
    tensor x = read_npy("logreg.x.npy");
    adversarial_options bad = {.method = ADVERSARIAL_FGSM, .eps = 0.1, .target = 2};
    adversarial_result r;
    CHECK_FAILS_WITH(explain_adversarial(e, &x, &bad, &r), "--target-class: 2: the scores have 2 classes");
    bad.target = 1;
    bad.eps = 0;
    CHECK_FAILS_WITH(explain_adversarial(e, &x, &bad, &r), "--eps");
    tensor_free(&x);
    explainer_free(e);
    net_model_close(m);
}

/* An image's input: eps in image units, values kept in [0, 1] and on the
 * 8-bit grid. */
static void test_adversarial_image_units(void)
{
    rng r;
    rng_seed(&r, 4);
    net_model *m = open_model("shapes.onnx");
    net_preprocess pre = {1, {0.1f, -0.05f, 0.2f}, {0.9f, 1.1f, 1.25f}, true}; /* per channel, BGR */
    net_model_set_preprocess(m, &pre);
    image im;
    REQUIRE(image_alloc(&im, 64, 64, "test") == ST_OK);
    for (size_t i = 0; i < 3 * 64 * 64; i++)
        im.data[i] = (float)rng_range(&r, 100, 140) / 255.0f;
    for (int i = 0; i < 64; i++)
        im.data[i] = i % 2 ? 1.0f : 0.0f; /* values at both ends */
    tensor x = {0};
    REQUIRE(image_to_input(&im, &pre, &x) == ST_OK);
    explainer *e;
    REQUIRE(explainer_create(m, NULL, &e) == ST_OK);
    /* Towards the runner-up (a probability far from 0 and 1 in float). */
    tensor p = {0};
    int order[3];
    REQUIRE(explainer_predict(e, &x, &p) == ST_OK && explain_top_classes(p.data, 3, 3, order) == ST_OK);
    tensor_free(&p);
    adversarial_options o = {.method = ADVERSARIAL_IFGSM, .eps = 4 / 255.0, .steps = 3, .target = order[1], .pre = &pre};
    adversarial_result res;
    CHECK_OK(explain_adversarial(e, &x, &o, &res));
    CHECK_NEAR(res.linf, 4 / 255.0, 1e-6);
    image out = {0};
    CHECK_OK(input_to_image(&x, &pre, &out));
    int off_grid = 0, outside = 0;
    for (size_t i = 0; i < 3 * 64 * 64; i++) {
        double v = out.data[i] * 255;
        off_grid += fabs(v - round(v)) > 1e-3;
        outside += out.data[i] < -1e-6 || out.data[i] > 1 + 1e-6 || fabs(out.data[i] - im.data[i]) > 4 / 255.0 + 1e-5;
    }
    CHECK(off_grid == 0 && outside == 0);
    CHECK(res.after.data[order[1]] > res.before.data[order[1]]);
    adversarial_result_free(&res);
    image_free(&out);
    image_free(&im);
    tensor_free(&x);
    explainer_free(e);
    net_model_close(m);
}

/* ---- receptive fields -------------------------------------------------------------- */

/* VGG-19's features by definition: 3x3 convs with pad 1, 2x2 pools with
 * stride 2. A layer's field grows by (k - 1) * jump, its jump (input pixels
 * between neighbouring units) multiplies by the stride, and its first unit's
 * centre moves by ((k - 1) / 2 - pad) * jump. */
static void grow(double *size, double *jump, double *start, int k, int stride, int pad)
{
    *size += (k - 1) * *jump;
    *start += ((k - 1) / 2.0 - pad) * *jump;
    *jump *= stride;
}

static void test_vgg_receptive_fields(void)
{
    net_model *m;
    REQUIRE(net_model_open("default", &m) == ST_OK);
    const int convs[5] = {2, 2, 4, 4, 4};
    double size = 1, jump = 1, start = 0;
    int checked = 0;
    for (int b = 1; b <= 5; b++) {
        for (int i = 1; i <= convs[b - 1]; i++) {
            grow(&size, &jump, &start, 3, 1, 1);
            char conv[32], relu[32];
            snprintf(conv, sizeof conv, "conv%d_%d", b, i);
            snprintf(relu, sizeof relu, "relu%d_%d", b, i);
            for (int n = 0; n < 2; n++) {
                net_receptive_field rf;
                CHECK_OK(net_layer_receptive_field(m, layer_of(m, n ? relu : conv), &rf));
                CHECK(rf.size[0] == size && rf.size[1] == size && rf.stride[0] == jump && rf.offset[1] == start);
                checked++;
            }
            if (b == 3 && i == 3)
                CHECK(size == 40); /* the lectures' number for conv3_3 */
        }
        grow(&size, &jump, &start, 2, 2, 0);
        char pool[32];
        snprintf(pool, sizeof pool, "pool%d", b);
        net_receptive_field rf;
        CHECK_OK(net_layer_receptive_field(m, layer_of(m, pool), &rf));
        CHECK(rf.size[0] == size && rf.stride[1] == jump && rf.offset[0] == start);
        checked++;
    }
    CHECK(checked == 37 && size == 268 && jump == 32);
    net_model_close(m);
}

/* ---- grids ------------------------------------------------------------------------- */

static float pixel(const image *im, int c, int x, int y) { return image_plane(im, c)[y * im->width + x]; }

/* redness.onnx's known kernels (see scripts/make_explain_models.py):
 * conv1 filter 0 = (1, -0.5, -0.5) / 9 on (R, G, B); filter 1 and conv2
 * filter 1 = (9c + 3y + x - s) / s with s = 13 and 8. */
static void test_filters_grid(void)
{
    net_model *m = open_model("redness.onnx");
    filters_options o = {.zoom = 1};
    image grid = {0};
    CHECK_OK(explain_filters(m, layer_of(m, "conv1"), &o, &grid));
    /* two colour tiles of 3x3 in a row, 1-pixel gaps: 1 + 2 * 4 by 1 + 4 */
    CHECK(grid.width == 9 && grid.height == 5);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++) {
            CHECK_NEAR(pixel(&grid, 0, 1 + x, 1 + y), 1, 1e-6); /* R weight = max */
            CHECK_NEAR(pixel(&grid, 1, 1 + x, 1 + y), 0, 1e-6);
            CHECK_NEAR(pixel(&grid, 2, 1 + x, 1 + y), 0, 1e-6);
            for (int c = 0; c < 3; c++) { /* range -1 .. 1 */
                double w = (9.0 * c + 3 * y + x - 13) / 13;
                CHECK_NEAR(pixel(&grid, c, 5 + x, 1 + y), (w + 1) / 2, 1e-6);
            }
        }
    CHECK(pixel(&grid, 0, 4, 2) < 0.2f && pixel(&grid, 0, 0, 0) < 0.2f); /* the gaps */
    image_free(&grid);
    /* A BGR model shows its first layer in RGB order. */
    net_preprocess bgr = *net_model_preprocess(m);
    bgr.bgr = true;
    net_model_set_preprocess(m, &bgr);
    CHECK_OK(explain_filters(m, layer_of(m, "conv1"), &o, &grid));
    CHECK_NEAR(pixel(&grid, 2, 1, 1), 1, 1e-6);
    CHECK_NEAR(pixel(&grid, 0, 1, 1), 0, 1e-6);
    image_free(&grid);
    /* conv2: one row per filter, one grayscale tile per input channel. */
    o.zoom = 2;
    CHECK_OK(explain_filters(m, layer_of(m, "conv2"), &o, &grid));
    CHECK(grid.width == 1 + 2 * 7 && grid.height == 1 + 2 * 7);
    for (int s = 0; s < 2; s++)
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++) {
                double f0 = s == 0 ? 1 : 0; /* filter 0: 1/9 on channel 0, 0 on channel 1 */
                double f1 = ((9.0 * s + 3 * (y / 2) + x / 2 - 8) / 8 + 1) / (9.0 / 8 + 1);
                int gx = 1 + s * 7 + x;
                CHECK_NEAR(pixel(&grid, 1, gx, 1 + y), f0, 1e-6);
                CHECK_NEAR(pixel(&grid, 0, gx, 8 + y), f1, 1e-6);
            }
    image_free(&grid);
    o.max_filters = 1;
    o.max_slices = 1;
    CHECK_OK(explain_filters(m, layer_of(m, "conv2"), &o, &grid));
    CHECK(grid.width == 8 && grid.height == 8);
    image_free(&grid);
    CHECK_FAILS_WITH(explain_filters(m, layer_of(m, "relu1"), &o, &grid), "not a convolution");
    net_model_close(m);

    /* Activations: a known [1, 2, 2, 3] tensor; layer- and map-wise scaling. */
    tensor act;
    REQUIRE(tensor_alloc(&act, 4, (int64_t[]){1, 2, 2, 3}) == ST_OK);
    for (int i = 0; i < 12; i++)
        act.data[i] = (float)(i < 6 ? i : 2 * i); /* map 0: 0..5, map 1: 12..22 */
    CHECK_OK(explain_activation_grid(&act, NORMALIZE_LAYER, 1, &grid));
    CHECK(grid.width == 1 + 2 * 4 && grid.height == 1 + 3);
    CHECK_NEAR(pixel(&grid, 0, 1 + 2, 1 + 1), 5 / 22.0, 1e-6);
    CHECK_NEAR(pixel(&grid, 1, 5 + 2, 1 + 1), 1, 1e-6);
    image_free(&grid);
    CHECK_OK(explain_activation_grid(&act, NORMALIZE_MAP, 1, &grid));
    CHECK_NEAR(pixel(&grid, 0, 1 + 2, 1 + 1), 1, 1e-6);
    CHECK_NEAR(pixel(&grid, 2, 5 + 1, 1), (14 - 12) / 10.0, 1e-6);
    image_free(&grid);
    tensor_free(&act);

    grid_layout g;
    CHECK_OK(grid_layout_init(&g, 10, 5, 4, 0));
    CHECK(g.cols == 4 && g.rows == 3);
    int gx, gy;
    grid_slot_origin(&g, 5, &gx, &gy);
    CHECK(gx == 1 + 6 && gy == 1 + 5);
    CHECK_FAILS_WITH(grid_layout_init(&g, 0, 5, 4, 0), "nothing to lay out");
}

/* ---- embeddings -------------------------------------------------------------------- */

static void test_embed(void)
{
    /* Points on a line: 0, 1, 3, 7, 8 (and a tie: 3 is 2 from both 1 and 5). */
    const float rows[] = {0, 0, 1, 0, 3, 0, 7, 0, 8, 0, 5, 0};
    int idx[6 * 2];
    double dist[6 * 2];
    CHECK_OK(embed_neighbours(rows, 6, 2, 2, idx, dist));
    CHECK(idx[0] == 1 && idx[1] == 2 && dist[0] == 1 && dist[1] == 3);
    CHECK(idx[2 * 2] == 1 && idx[2 * 2 + 1] == 5 && dist[2 * 2] == 2); /* tie: lower index first */
    CHECK(idx[3 * 2] == 4 && idx[3 * 2 + 1] == 5 && dist[3 * 2] == 1);
    CHECK_FAILS_WITH(embed_neighbours(rows, 6, 2, 6, idx, dist), "--neighbours: 6");

    tensor act;
    REQUIRE(tensor_alloc(&act, 4, (int64_t[]){1, 2, 1, 3}) == ST_OK);
    const float v[6] = {1, 5, 3, -1, -2, -6};
    memcpy(act.data, v, sizeof v);
    float row[6];
    CHECK(embed_row_length(&act, EMBED_POOL_MEAN) == 2 && embed_row_length(&act, EMBED_POOL_NONE) == 6);
    embed_row(&act, EMBED_POOL_MEAN, row);
    CHECK(row[0] == 3 && row[1] == -3);
    embed_row(&act, EMBED_POOL_MAX, row);
    CHECK(row[0] == 5 && row[1] == -1);
    embed_row(&act, EMBED_POOL_NONE, row);
    CHECK(memcmp(row, v, sizeof v) == 0);
    tensor_free(&act);
}

/* ---- top patches ------------------------------------------------------------------- */

/* redness.onnx relu2 channel 0 answers to red: among gray noise images one
 * holds an 8x8 red square; it must come first, cropped around the square.
 * A unit of conv2 sees 3 + 1 + 2 * 2 = 8 pixels (3x3 conv, 2x2 pool, 3x3). */
static void test_top_patches(void)
{
    rng r;
    rng_seed(&r, 5);
    net_model *m = open_model("redness.onnx");
    int layer = layer_of(m, "relu2");
    net_receptive_field rf;
    CHECK_OK(net_layer_receptive_field(m, layer, &rf));
    CHECK(rf.size[0] == 8 && rf.size[1] == 8 && rf.stride[0] == 2);
    net_session *s;
    REQUIRE(net_session_create(m, &s) == ST_OK);
    top_patches t;
    REQUIRE(top_patches_init(&t, 3) == ST_OK);
    for (int n = 0; n < 6; n++) {
        image im;
        REQUIRE(image_alloc(&im, 32, 24, "test") == ST_OK);
        for (int p = 0; p < 32 * 24; p++) { /* gray noise, a touch of red in some */
            float g = (float)rng_uniform(&r);
            im.data[p] = fminf(g + 0.05f * (float)n, 1);
            im.data[32 * 24 + p] = im.data[2 * 32 * 24 + p] = g;
        }
        if (n == 4)
            for (int y = 10; y < 18; y++)
                for (int x = 14; x < 22; x++) {
                    image_plane(&im, 0)[y * 32 + x] = 1;
                    image_plane(&im, 1)[y * 32 + x] = image_plane(&im, 2)[y * 32 + x] = 0;
                }
        tensor x = {0};
        REQUIRE(image_to_input(&im, net_model_preprocess(m), &x) == ST_OK);
        CHECK_OK(net_forward(s, &x, 1, &layer, 1, NULL));
        CHECK_OK(top_patches_offer(&t, net_activation(s, layer), 0, &rf, &im, n));
        tensor_free(&x);
        image_free(&im);
    }
    CHECK(t.count == 3 && t.hits[0].source == 4);
    CHECK(t.hits[0].value > t.hits[1].value && t.hits[1].value >= t.hits[2].value);
    const image *c = &t.hits[0].crop;
    CHECK(c->width == 8 && c->height == 8);
    int red = 0;
    for (int p = 0; p < 64; p++)
        red += image_plane(c, 0)[p] == 1 && image_plane(c, 1)[p] == 0;
    CHECK(red >= 36); /* the crop lies mostly on the square */
    CHECK(abs(t.hits[0].top - 10) <= 2 && abs(t.hits[0].left - 14) <= 2);
    tensor act;
    REQUIRE(tensor_alloc(&act, 4, (int64_t[]){1, 2, 4, 4}) == ST_OK);
    image im = {0};
    CHECK_FAILS_WITH(top_patches_offer(&t, &act, 2, &rf, &im, 0), "--channel: 2 is out of range");
    tensor_free(&act);
    top_patches_free(&t);
    net_session_free(s);
    net_model_close(m);

    /* A crop past the image's corner: gray outside. */
    image small;
    REQUIRE(image_alloc(&small, 4, 4, "test") == ST_OK);
    for (int i = 0; i < 48; i++)
        small.data[i] = 1;
    net_receptive_field f = {{3, 3}, {1, 1}, {0, 0}};
    image crop;
    int top, left;
    CHECK_OK(receptive_crop(&small, &f, 0, 0, &crop, &top, &left));
    CHECK(top == -1 && left == -1 && pixel(&crop, 0, 0, 0) == 0.5f && pixel(&crop, 1, 1, 1) == 1);
    image_free(&crop);
    image_free(&small);
}

/* ---- the colormap ------------------------------------------------------------------ */

/* sRGB -> Oklab lightness, the forward direction (Ottosson's M1 and the
 * first row of M2), to check the ramp against its definition. */
static double oklab_lightness(const float rgb[3])
{
    double lin[3];
    for (int k = 0; k < 3; k++)
        lin[k] = rgb[k] <= 0.04045 ? rgb[k] / 12.92 : pow((rgb[k] + 0.055) / 1.055, 2.4);
    double l = cbrt(0.4122214708 * lin[0] + 0.5363325363 * lin[1] + 0.0514459929 * lin[2]);
    double m = cbrt(0.2119034982 * lin[0] + 0.6806995451 * lin[1] + 0.1073969566 * lin[2]);
    double s = cbrt(0.0883024619 * lin[0] + 0.2817188376 * lin[1] + 0.6299787005 * lin[2]);
    return 0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s;
}

static void test_colormap(void)
{
    double last = -1;
    for (int i = 0; i <= 100; i++) {
        float rgb[3];
        colormap_ember(i / 100.0, rgb);
        double L = oklab_lightness(rgb);
        CHECK_NEAR(L, 0.15 + 0.82 * i / 100.0, 2e-3);
        CHECK(L > last);
        last = L;
        for (int k = 0; k < 3; k++)
            CHECK(rgb[k] >= 0 && rgb[k] <= 1);
    }
    float lo[3], hi[3], mid[3];
    colormap_ember(0, lo);
    colormap_ember(1, hi);
    colormap_ember(0.6, mid);
    CHECK(lo[2] > lo[1] && hi[0] > hi[2] && hi[1] > hi[2]); /* violet-black to pale yellow */
    CHECK(mid[0] > 0.8f && mid[2] < 0.3f);                  /* red-orange mid-way */

    /* The overlay: alpha 1 is the colours of heat / max heat. */
    tensor heat;
    REQUIRE(tensor_alloc(&heat, 2, (int64_t[]){2, 2}) == ST_OK);
    const float h[4] = {0, 2, 4, -1};
    memcpy(heat.data, h, sizeof h);
    image empty = {0}, out = {0}, base;
    CHECK_OK(heat_overlay(&heat, &empty, 1, &out));
    CHECK(out.width == 2 && out.height == 2);
    float c[3];
    colormap_ember(0.5, c);
    CHECK(fabsf(pixel(&out, 0, 1, 0) - c[0]) < 2e-3f);
    CHECK(pixel(&out, 0, 0, 1) == hi[0] && pixel(&out, 2, 1, 1) == lo[2]);
    image_free(&out);
    REQUIRE(image_alloc(&base, 4, 4, "test") == ST_OK);
    CHECK_OK(heat_overlay(&heat, &base, 0.25, &out)); /* stretched to the base; base black */
    CHECK(out.width == 4 && fabsf(pixel(&out, 1, 3, 3) - 0.25f * lo[1]) < 1e-6f);
    image_free(&out);
    image_free(&base);
    tensor_free(&heat);
}

int main(void)
{
    net_set_threads(2);
    test_score_layers();
    test_class_gradients();
    test_linear_saliency();
    test_gradcam_closed_form();
    test_occlusion_region();
    test_fgsm_lecture();
    test_adversarial_image_units();
    test_vgg_receptive_fields();
    test_filters_grid();
    test_embed();
    test_top_patches();
    test_colormap();
    return check_report("test_explain");
}
