/* Colour histogram matching in the references' decorrelated colour space
 * (see image_match_histogram in synth.h): the principal axes of the
 * references' colours, exact 1-D CDF matching along each, back to RGB.
 *
 * Shapes: the image is 3×H×W, n = H·W pixels; the references together m
 * pixels. Sorting is O((n + m) log(n + m)) per axis. */
#include "synth/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Eigenvectors of the symmetric 3×3 matrix a (destroyed) by cyclic Jacobi
 * rotations: the columns of v, orthonormal. */
static void eigenvectors3(double a[3][3], double v[3][3])
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            v[i][j] = i == j;
    for (int sweep = 0; sweep < 50; sweep++) {
        double off = fabs(a[0][1]) + fabs(a[0][2]) + fabs(a[1][2]);
        if (off < 1e-30)
            return;
        for (int p = 0; p < 2; p++)
            for (int q = p + 1; q < 3; q++) {
                if (a[p][q] == 0)
                    continue;
                /* the rotation in the (p, q) plane that zeroes a[p][q] */
                double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < 3; k++) { /* a ← a·J */
                    double akp = a[k][p], akq = a[k][q];
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for (int k = 0; k < 3; k++) { /* a ← Jᵀ·a */
                    double apk = a[p][k], aqk = a[q][k];
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for (int k = 0; k < 3; k++) { /* v ← v·J */
                    double vkp = v[k][p], vkq = v[k][q];
                    v[k][p] = c * vkp - s * vkq;
                    v[k][q] = s * vkp + c * vkq;
                }
            }
    }
}

typedef struct {
    double value, weight; /* references: the sample's weight; image: its pixel index */
} sample;

static int by_value(const void *a, const void *b)
{
    const sample *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return (x->weight > y->weight) - (x->weight < y->weight); /* a fixed order for ties */
}

static double project(const float *rgb, size_t plane, size_t i, const double axis[3])
{
    return axis[0] * rgb[i] + axis[1] * rgb[plane + i] + axis[2] * rgb[2 * plane + i];
}

status image_match_histogram(image *im, const image *refs, const double *weights, int count)
{
    if (count < 1)
        return error_set("histogram", "no reference image");
    size_t n = (size_t)im->width * im->height, m = 0;
    double total = 0;
    for (int r = 0; r < count; r++) {
        m += (size_t)refs[r].width * refs[r].height;
        total += weights ? weights[r] : 1;
    }
    if (!(total > 0))
        return error_set("histogram", "the reference weights are all zero");
    /* The references' weighted mean and covariance. */
    double mean[3] = {0}, cov[3][3] = {{0}};
    for (int r = 0; r < count; r++) {
        size_t np = (size_t)refs[r].width * refs[r].height;
        double w = (weights ? weights[r] : 1) / total / (double)np;
        for (size_t i = 0; i < np; i++)
            for (int c = 0; c < 3; c++)
                mean[c] += w * refs[r].data[c * np + i];
    }
    for (int r = 0; r < count; r++) {
        size_t np = (size_t)refs[r].width * refs[r].height;
        double w = (weights ? weights[r] : 1) / total / (double)np;
        for (size_t i = 0; i < np; i++) {
            double d[3];
            for (int c = 0; c < 3; c++)
                d[c] = refs[r].data[c * np + i] - mean[c];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    cov[a][b] += w * d[a] * d[b];
        }
    }
    double v[3][3];
    eigenvectors3(cov, v);
    sample *ref = alloc_array(m, sizeof *ref, "histogram"), *pix = alloc_array(n, sizeof *pix, "histogram");
    float *proj = alloc_array(3 * n, sizeof *proj, "histogram"); /* the matched coordinates */
    if (!ref || !pix || !proj) {
        free(ref);
        free(pix);
        free(proj);
        return ST_ERROR;
    }
    for (int a = 0; a < 3; a++) {
        double axis[3] = {v[0][a], v[1][a], v[2][a]};
        /* The references' quantile function: values sorted, each at the
         * midpoint of its weight's share of the CDF. */
        size_t k = 0;
        for (int r = 0; r < count; r++) {
            size_t np = (size_t)refs[r].width * refs[r].height;
            double w = (weights ? weights[r] : 1) / total / (double)np;
            for (size_t i = 0; i < np; i++)
                ref[k++] = (sample){project(refs[r].data, np, i, axis), w};
        }
        qsort(ref, m, sizeof *ref, by_value);
        double cdf = 0;
        for (size_t i = 0; i < m; i++) {
            double w = ref[i].weight;
            ref[i].weight = cdf + w / 2; /* now: the CDF at this sample */
            cdf += w;
        }
        for (size_t i = 0; i < n; i++)
            pix[i] = (sample){project(im->data, n, i, axis), (double)i};
        qsort(pix, n, sizeof *pix, by_value);
        /* Rank r of n → the references' quantile (r + ½)/n. */
        size_t j = 0;
        for (size_t r = 0; r < n; r++) {
            double q = (r + 0.5) / (double)n, value;
            while (j + 1 < m && ref[j + 1].weight <= q)
                j++;
            if (q <= ref[0].weight)
                value = ref[0].value;
            else if (j + 1 >= m)
                value = ref[m - 1].value;
            else {
                double t = (q - ref[j].weight) / (ref[j + 1].weight - ref[j].weight);
                value = ref[j].value + t * (ref[j + 1].value - ref[j].value);
            }
            proj[(size_t)a * n + (size_t)pix[r].weight] = (float)value;
        }
    }
    /* Back to RGB: x = V·p (V orthonormal), clamped. */
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) {
            double x = v[c][0] * proj[i] + v[c][1] * proj[n + i] + v[c][2] * proj[2 * n + i];
            im->data[c * n + i] = (float)(x < 0 ? 0 : x > 1 ? 1 : x);
        }
    free(ref);
    free(pix);
    free(proj);
    return ST_OK;
}
