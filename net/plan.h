/* plan.h — private to net/: an execution plan for one request (input shapes,
 * requested layers, for_backward, circular padding, thread count).
 *
 * The plan fixes which nodes run forward (those the requested layers need, in
 * graph order) and backward (those of them whose output depends on input 0,
 * in reverse), every value's shape, and where everything lives in one arena:
 * activations, gradients, what forward saves for backward, and per-step
 * scratch. Each buffer has a lifetime in steps
 *     0                      inputs are copied in
 *     1 .. nfwd              forward steps
 *     nfwd + 1               seeds are written into the gradients
 *     nfwd + 2 .. end − 1    backward steps
 *     end                    d(input 0) is copied out
 * and buffers whose lifetimes do not overlap share memory (greedy by size).
 * Views (Identity, Flatten, Reshape) share their input's storage, data and
 * gradient both. A requested layer's data lives to the end.
 */
#ifndef SYNTH_NET_PLAN_H
#define SYNTH_NET_PLAN_H

#include "net/ops.h"

typedef struct {
    size_t offset, bytes;
    int first, last; /* lifetime in steps, inclusive */
} plan_buffer;

typedef struct {
    int data; /* buffer ids; -1 when none */
    int grad;
    int root; /* the value that owns the storage */
    bool requested; /* a member is a requested layer */
    bool overwritten; /* its gradient's first writer writes it whole: no zeroing */
} plan_storage;

typedef struct {
    nd_shape shape;
    int storage; /* -1: constant, or not computed by this plan */
    bool needs_grad; /* depends on input 0 (for_backward only) */
} plan_value;

typedef struct {
    bool forward; /* runs in this plan */
    bool backward;
    int fwd_step, bwd_step;
    window_geom geo;
    int saved, scratch, bwd_scratch; /* buffer ids or -1 */
    uint64_t overwrite; /* backward: bit i, the first write of input i's gradient (op_call) */
} plan_node;

typedef struct plan {
    /* the request */
    int ninputs;
    nd_shape *input_shapes;
    int *layers; /* sorted, unique */
    int nlayers;
    bool for_backward, circular;
    int threads;
    /* what it decided */
    plan_value *values; /* one per graph value */
    plan_node *nodes; /* one per graph node */
    plan_storage *storages;
    int nstorages;
    plan_buffer *buffers;
    int nbuffers;
    int *fwd, nfwd; /* node indices in forward order */
    int *bwd, nbwd; /* node indices in backward order */
    int *grad_starts, ngrad_starts; /* storages with a gradient, by its buffer's first step */
    int end_step;
    size_t arena_bytes;
    uint64_t last_used;
} plan;

/* Builds the plan for a request (layers need not be sorted). Fails with a
 * message naming the node when a shape does not work out. */
status plan_create(graph *g, const tensor *inputs, int ninputs, const int *layers, int nlayers,
                   bool for_backward, bool circular, plan **out);
void plan_free(plan *p);
/* The value whose storage v shares: through views, back to a non-view (a
 * constant for a view of one). */
int plan_view_root(const graph *g, int v);
/* Whether p was made for exactly this request. */
bool plan_matches(const plan *p, const tensor *inputs, int ninputs, const int *layers, int nlayers,
                  bool for_backward, bool circular);

#endif
