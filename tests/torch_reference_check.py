#!/usr/bin/python3
"""Compares synth's activation and input gradient at one layer of an ONNX model
with PyTorch's float64 references (made by scripts/make_onnx_models.py).

    torch_reference_check.py SYNTH MODEL.onnx INPUT.npy LAYER OURS_ACT OURS_GRAD REF_ACT REF_GRAD

Passes when both agree to 1e-4 relative to the reference's largest magnitude.

A ReLU network's input gradient is discontinuous where a ReLU input is 0 and
where a max-pool window has two equal largest values: when one lies within
float32 rounding of the decision, synth (float32) and the float64 reference
may decide it differently, and the whole gradient through that unit moves or
vanishes. So when the gradients disagree, this script recomputes the reference
with PyTorch in float64 on the ONNX graph itself, taking synth's decision (read
back with `synth probe`) for the ReLU inputs within 1e-5 of 0 and the max-pool
windows whose two largest values are within 1e-5 of each other (relative to
the layer's largest value), and requires agreement to 1e-4 with that. It says
how many decisions it took over. Everything else (every other unit, every
weight, the arithmetic) must still match.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

TOL = 1e-4
KINK = 1e-5


def rel(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def pool_windows(v, k, st, p, out_hw):
    """Per output position of a 2-D max pool over v [N, C, H, W]: the flat
    input index of every window element (-1 outside), [N, C, OH, OW, kk]."""
    H, W = v.shape[2:]
    oh, ow = out_hw
    rows = np.arange(oh)[:, None] * st[0] - p[0] + np.arange(k[0])[None, :]  # [OH, kh]
    cols = np.arange(ow)[:, None] * st[1] - p[1] + np.arange(k[1])[None, :]  # [OW, kw]
    r = rows[:, None, :, None]
    c = cols[None, :, None, :]
    flat = np.where((r >= 0) & (r < H) & (c >= 0) & (c < W), r * W + c, -1)  # [OH, OW, kh, kw]
    return flat.reshape(oh, ow, -1)


def near_ties(v, windows):
    """Windows (flat output indices over [N, C, OH, OW]) whose two largest
    values are within KINK of each other, relative to max |v|."""
    n, c = v.shape[:2]
    plane = v.reshape(n, c, -1)
    vals = np.where(windows >= 0, plane[:, :, np.maximum(windows, 0)], -np.inf)  # [N, C, OH, OW, kk]
    top = -np.sort(-vals, axis=-1)[..., :2]
    gap = top[..., 0] - top[..., 1]
    return np.flatnonzero(gap <= KINK * max(np.abs(v).max(), 1e-300))


def argmax_in(v, windows, where):
    """For the windows `where` (flat over [N, C, OH, OW]), the flat index in
    the input plane of the largest value of v (the first on ties)."""
    n, c = v.shape[:2]
    plane = v.reshape(n * c, -1)
    oh, ow, kk = windows.shape
    nc, pos = np.divmod(where, oh * ow)
    win = windows.reshape(oh * ow, kk)[pos]  # [len, kk]
    vals = np.where(win >= 0, plane[nc[:, None], np.maximum(win, 0)], -np.inf)
    return win[np.arange(len(where)), vals.argmax(axis=1)]


def run_graph(model, x, layer, relu_override, pool_override=None):
    """Interprets the ONNX graph in float64 with autograd up to `layer`.
    relu_override: {relu output name: (unit indices, synth's on/off)};
    pool_override: {pool output name: (output indices, chosen input indices)}.
    Returns (activation, {relu output: its input values}, {pool output: (its
    input name, its windows)}, {value name: float64 values})."""
    pool_override = pool_override or {}
    pool_inputs = {}
    g = model.graph
    vals = {t.name: torch.from_numpy(numpy_helper.to_array(t).astype(np.float64)) for t in g.initializer}
    vals[g.input[0].name] = x
    relu_inputs = {}
    for n in g.node:
        a = attrs(n)
        i = [vals[k] if k else None for k in n.input]
        op = n.op_type
        if op == "Conv":
            k = a.get("kernel_shape") or list(i[1].shape[2:])
            p = a.get("pads", [0] * 2 * len(k))
            assert p[: len(k)] == p[len(k):], "asymmetric pads"
            y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, a.get("strides", [1, 1]), p[: len(k)],
                         a.get("dilations", [1, 1]), a.get("group", 1))
        elif op == "Relu":
            v = i[0]
            mask = (v > 0).double()
            if n.output[0] in relu_override:
                idx, on = relu_override[n.output[0]]
                mask = mask.clone()
                mask.view(-1)[idx] = torch.from_numpy(on.astype(np.float64))
            relu_inputs[n.output[0]] = v.detach().numpy()
            y = v * mask
        elif op == "MaxPool":
            k, st = a["kernel_shape"], a.get("strides", [1, 1])
            p = a.get("pads", [0] * 2 * len(k))
            assert p[: len(k)] == p[len(k):], "asymmetric pads"
            y, idx = F.max_pool2d(i[0], k, st, p[: len(k)], ceil_mode=bool(a.get("ceil_mode", 0)), return_indices=True)
            windows = pool_windows(i[0].detach().numpy(), k, st, p, y.shape[2:])
            if n.output[0] in pool_override:
                where, chosen = pool_override[n.output[0]]
                idx = idx.clone()
                idx.view(-1)[where] = torch.from_numpy(chosen)
                y = torch.gather(i[0].flatten(2), 2, idx.flatten(2)).view_as(y)
            pool_inputs[n.output[0]] = (n.input[0], windows)
        elif op == "AveragePool":
            k = a["kernel_shape"]
            p = a.get("pads", [0] * 2 * len(k))
            assert p[: len(k)] == p[len(k):], "asymmetric pads"
            y = F.avg_pool2d(i[0], k, a.get("strides", [1, 1]), p[: len(k)], ceil_mode=bool(a.get("ceil_mode", 0)),
                             count_include_pad=bool(a.get("count_include_pad", 0)))
        elif op == "GlobalAveragePool":
            y = i[0].mean(dim=(2, 3), keepdim=True)
        elif op == "Concat":
            y = torch.cat(i, a["axis"])
        elif op == "Add":
            y = i[0] + i[1]
        elif op == "Flatten":
            y = torch.flatten(i[0], a.get("axis", 1))
        elif op == "Gemm":
            b = i[1].t() if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * i[0] @ b + (a.get("beta", 1.0) * i[2] if len(i) > 2 else 0)
        elif op in ("Identity", "Dropout"):
            y = i[0]
        else:
            raise SystemExit(f"torch_reference_check: op {op} not interpreted")
        vals[n.output[0]] = y
        if n.output[0] == layer or n.name == layer:
            return y, relu_inputs, pool_inputs, {k: t.detach().numpy() for k, t in vals.items()}
    raise SystemExit(f"layer {layer} not found")


def main():
    synth, model_path, input_path, layer, ours_act, ours_grad, ref_act, ref_grad = sys.argv[1:9]
    a, ra = np.load(ours_act).astype(np.float64), np.load(ref_act).astype(np.float64)
    g, rg = np.load(ours_grad).astype(np.float64), np.load(ref_grad).astype(np.float64)
    label = f"{os.path.basename(model_path)} {layer} {os.path.basename(input_path)}"
    if a.shape != ra.shape or g.shape != rg.shape:
        sys.exit(f"{label}: shapes {a.shape} {g.shape}, expected {ra.shape} {rg.shape}")
    e_act, e_grad = rel(a, ra), rel(g, rg)
    if e_act > TOL:
        sys.exit(f"{label}: activation differs by {e_act:.2e}")
    if e_grad <= TOL:
        print(f"{label}: relative error {e_act:.2e} (activation), {e_grad:.2e} (input gradient)")
        return
    # The gradients disagree: take synth's decisions at the near-zero ReLU
    # inputs and recompute the float64 reference on the ONNX graph.
    model = onnx.load(model_path)
    x0 = torch.from_numpy(np.load(input_path).astype(np.float64))
    _, relu_inputs, pool_inputs, values = run_graph(model, x0.clone().requires_grad_(True), layer, {})
    relu_override, pool_override, taken = {}, {}, 0
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "ours.npy")

        def ours(name):
            subprocess.run([synth, "probe", "--model", model_path, "--input", input_path, "--layer", name,
                            "--out-act", out], check=True)
            return np.load(out)

        for name, v in relu_inputs.items():
            near = np.flatnonzero(np.abs(v).ravel() <= KINK * max(np.abs(v).max(), 1e-300))
            if near.size:
                on = ours(name).ravel()[near] > 0
                taken += int((on != (v.ravel()[near] > 0)).sum())
                relu_override[name] = (torch.from_numpy(near), on)
        for name, (src, windows) in pool_inputs.items():
            v = values[src]
            where = near_ties(v, windows)
            if where.size:
                chosen = argmax_in(ours(src), windows, where)
                taken += int((chosen != argmax_in(v, windows, where)).sum())
                pool_override[name] = (torch.from_numpy(where), chosen.astype(np.int64))
    x = x0.clone().requires_grad_(True)
    y = run_graph(model, x, layer, relu_override, pool_override)[0]
    (0.5 * (y ** 2).sum()).backward()
    e_kink = rel(g, x.grad.numpy())
    print(f"{label}: relative error {e_act:.2e} (activation), {e_grad:.2e} (input gradient), "
          f"{e_kink:.2e} with synth's {taken} differing decision(s) among those within {KINK} of a tie")
    if e_kink > TOL:
        sys.exit(f"{label}: input gradient differs by {e_kink:.2e} even with the same decisions at ties")


if __name__ == "__main__":
    main()
