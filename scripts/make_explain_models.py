#!/usr/bin/python3
"""Small ONNX models, exported from PyTorch, whose explanations are known.

    /usr/bin/python3 scripts/make_explain_models.py
        regenerates tests/data/explain/ (a few kB, plus the trained shapes
        model) and docs/examples/shapes.png; --no-train leaves the shapes
        model (a few minutes to train) as it is.

The explain tools' tests (tests/test_explain.c, tests/cli_explain_*.sh)
compute the expected answers themselves from the weights written here (as
.npy next to each model) or from the construction stated below; nothing here
is an answer copied from synth's output. Every model has a free batch
dimension (the occlusion map batches its copies), its input named "input"
and no preprocessing (synth's default for a file: RGB in 0..1 as is).

  linear.onnx    input 1x3x4x5 -> Flatten -> Gemm (3 classes) "fc".
                 Its gradient saliency for class k is max_c |W[k, c, y, x]|.
                 linear.fc.weight.npy [3, 60], linear.fc.bias.npy [3].
  logreg.onnx    the lectures' logistic regression: input 1x8 -> MatMul by
                 w = (2, -1, -1, -1, 2, -1, -1, 1) (no bias), "logit" ->
                 Sigmoid "prob". logreg.x.npy = (1, -2, -2, 3, -1, 2, -2, -3):
                 P(y=1) = sigmoid(-2) = 0.1192; FGSM towards y = 1 adds
                 eps * sum|w| = 10 eps to the logit.
  twolayer.onnx  input 1x2x8x8 -> Conv "conv" (3 filters 3x3, stride 2,
                 pad 1) -> Relu "relu" -> GlobalAveragePool "gap" -> Flatten
                 -> Gemm "fc" (2 classes). Grad-CAM at relu in closed form:
                 alpha_k = fc.weight[c, k] / 16, cam = relu(sum_k alpha_k A_k).
                 twolayer.{conv,fc}.{weight,bias}.npy, twolayer.x.npy.
  masked.onnx    input 1x3x12x12 -> Mul by a 0/1 mask that is 1 only on rows
                 4..7, columns 6..9 -> Flatten -> Gemm "fc" (2 classes): it
                 sees that region only.
  redness.onnx   input 1x3xHxW (any size) -> Conv "conv1" (2 filters 3x3,
                 pad 1) -> Relu "relu1" -> MaxPool 2x2 "pool1" -> Conv "conv2"
                 (2 filters 3x3 over 2 channels, pad 1) -> Relu "relu2".
                 conv1 filter 0 = (R - (G + B) / 2) / 9 over the 3x3 window
                 (a redness detector), conv2 filter 0 = its 3x3 mean: channel 0
                 of relu2 answers to red patches; a unit of conv2 sees 8x8
                 pixels. The other filters hold known ramps for the filter
                 grid test: conv1 filter 1 w[c, y, x] = (9c + 3y + x - 13) / 13,
                 conv2 filter 1 w[c, y, x] = (9c + 3y + x - 8) / 8. Biases 0.
  shapes.onnx    a small CNN trained here (seeded, about a minute on a CPU)
                 to tell a disk, a square and a triangle apart on 64x64
                 pictures with noisy backgrounds; labels in shapes.labels.
                 The README's saliency example is made with it on
                 docs/examples/shapes.png (a triangle; where it is:
                 shapes.example_mask.npy, 64x64 of 0 / 1).
"""
import argparse
import io
import math
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "explain")
DOCS = os.path.join(HERE, "..", "docs", "examples")


def export(module, x, path, node_names):
    """Exports with a free batch dimension (and free H, W when x has them free
    in `spatial`), then names the nodes in order: node_names maps the k-th
    node of an op type to a name."""
    module.eval()
    f = io.BytesIO()
    dynamic = {"input": {0: "batch"}, "output": {0: "batch"}}
    if getattr(module, "free_size", False):
        dynamic["input"].update({2: "height", 3: "width"})
        dynamic["output"].update({2: "h", 3: "w"})
    torch.onnx.export(module, x, f, opset_version=13, input_names=["input"], output_names=["output"],
                      dynamic_axes=dynamic, do_constant_folding=True)
    m = onnx.load_from_string(f.getvalue())
    seen = {}
    for node in m.graph.node:
        k = seen.get(node.op_type, 0)
        seen[node.op_type] = k + 1
        names = node_names.get(node.op_type, [])
        if k < len(names):
            node.name = names[k]
    onnx.checker.check_model(m)
    onnx.save(m, path)


def save_npy(name, a):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(np.asarray(a), dtype="<f4"))


class Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(60, 3)

    def forward(self, x):
        return self.fc(torch.flatten(x, 1))


class LogReg(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 1, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[2.0, -1, -1, -1, 2, -1, -1, 1]]))

    def forward(self, x):
        return torch.sigmoid(self.fc(x))


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, stride=2, padding=1)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        a = F.relu(self.conv(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(a, 1), 1))


class Masked(nn.Module):
    def __init__(self):
        super().__init__()
        mask = torch.zeros(1, 3, 12, 12)
        mask[:, :, 4:8, 6:10] = 1
        self.register_buffer("mask", mask)
        self.fc = nn.Linear(3 * 12 * 12, 2)

    def forward(self, x):
        return self.fc(torch.flatten(x * self.mask, 1))


def ramp(c_in, shift):
    c, y, x = np.meshgrid(np.arange(c_in), np.arange(3), np.arange(3), indexing="ij")
    return (9 * c + 3 * y + x - shift) / shift


class Redness(nn.Module):
    free_size = True

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 2, 3, padding=1)
        self.conv2 = nn.Conv2d(2, 2, 3, padding=1)
        with torch.no_grad():
            w1 = np.zeros((2, 3, 3, 3))
            w1[0, 0], w1[0, 1], w1[0, 2] = 1 / 9, -0.5 / 9, -0.5 / 9
            w1[1] = ramp(3, 13)
            w2 = np.zeros((2, 2, 3, 3))
            w2[0, 0] = 1 / 9
            w2[1] = ramp(2, 8)
            self.conv1.weight.copy_(torch.tensor(w1))
            self.conv2.weight.copy_(torch.tensor(w2))
            self.conv1.bias.zero_()
            self.conv2.bias.zero_()

    def forward(self, x):
        a = F.max_pool2d(F.relu(self.conv1(x)), 2)
        return F.relu(self.conv2(a))


# ---- the trained shapes classifier --------------------------------------------

SHAPES = ["disk", "square", "triangle"]


def draw_shape(gen, kind, size=64, mask=False):
    """One picture: a noisy two-tone background and one shape of a random
    colour, size and place; values in [0, 1], 3 x size x size (and, with
    mask, where the shape is: size x size of 0 / 1)."""
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32) + 0.5,
                            torch.arange(size, dtype=torch.float32) + 0.5, indexing="ij")
    r = 8 + 10 * torch.rand(1, generator=gen).item()
    cy, cx = (r + (size - 2 * r) * torch.rand(2, generator=gen)).tolist()
    if kind == 0:
        inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    elif kind == 1:
        h = r * 0.85
        inside = ((yy - cy).abs() <= h) & ((xx - cx).abs() <= h)
    else:  # upright triangle: apex at the top
        top, bottom = cy - r, cy + r * 0.7
        half = (yy - top) / (bottom - top) * r
        inside = (yy >= top) & (yy <= bottom) & ((xx - cx).abs() <= half)
    bg = torch.rand(3, 1, 1, generator=gen) * 0.6
    img = bg + 0.15 * torch.rand(3, size, size, generator=gen)
    img = img + 0.2 * (xx / size) * torch.rand(3, 1, 1, generator=gen)  # a gentle gradient
    colour = torch.rand(3, 1, 1, generator=gen)
    while (colour - bg).abs().max() < 0.35:
        colour = torch.rand(3, 1, 1, generator=gen)
    img = torch.where(inside, colour.expand(3, size, size), img)
    return (img.clamp(0, 1), inside.float()) if mask else img.clamp(0, 1)


class Shapes(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv4 = nn.Conv2d(32, 32, 3, padding=1)
        self.fc = nn.Linear(32, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)
        x = F.relu(self.conv4(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def train_shapes():
    gen = torch.Generator().manual_seed(8)
    torch.manual_seed(8)
    n = 3000
    labels = torch.arange(n) % 3
    images = torch.stack([draw_shape(gen, int(k)) for k in labels])
    test_labels = torch.arange(300) % 3
    test_images = torch.stack([draw_shape(gen, int(k)) for k in test_labels])
    net = Shapes()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for epoch in range(12):
        net.train()
        order = torch.randperm(n, generator=gen)
        for b in range(0, n, 50):
            idx = order[b:b + 50]
            loss = F.cross_entropy(net(images[idx]), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            acc = (net(test_images).argmax(1) == test_labels).float().mean().item()
        print(f"shapes: epoch {epoch + 1}, loss {loss.item():.3f}, held-out accuracy {acc:.3f}")
    return net, acc


def example_shape():
    """docs/examples/shapes.png (a triangle) and where the triangle is."""
    return draw_shape(torch.Generator().manual_seed(2024), 2, mask=True)


def write_png(path, img):
    """img: 3 x H x W in [0, 1] (uint8 PNG through the standard library only)."""
    import struct
    import zlib
    a = (img.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-train", action="store_true", help="leave the trained shapes model as it is")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    os.makedirs(OUT, exist_ok=True)

    torch.manual_seed(11)
    lin = Linear()
    export(lin, torch.zeros(1, 3, 4, 5), os.path.join(OUT, "linear.onnx"), {"Gemm": ["fc"]})
    save_npy("linear.fc.weight.npy", lin.fc.weight.detach())
    save_npy("linear.fc.bias.npy", lin.fc.bias.detach())

    lr = LogReg()
    export(lr, torch.zeros(1, 8), os.path.join(OUT, "logreg.onnx"), {"MatMul": ["logit"], "Sigmoid": ["prob"]})
    save_npy("logreg.x.npy", [[1, -2, -2, 3, -1, 2, -2, -3]])

    torch.manual_seed(12)
    tl = TwoLayer()
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(13))
    export(tl, x, os.path.join(OUT, "twolayer.onnx"),
           {"Conv": ["conv"], "Relu": ["relu"], "GlobalAveragePool": ["gap"], "Gemm": ["fc"]})
    for layer in ("conv", "fc"):
        save_npy(f"twolayer.{layer}.weight.npy", getattr(tl, layer).weight.detach())
        save_npy(f"twolayer.{layer}.bias.npy", getattr(tl, layer).bias.detach())
    save_npy("twolayer.x.npy", x)

    torch.manual_seed(14)
    export(Masked(), torch.zeros(1, 3, 12, 12), os.path.join(OUT, "masked.onnx"), {"Gemm": ["fc"]})

    export(Redness(), torch.zeros(1, 3, 16, 16), os.path.join(OUT, "redness.onnx"),
           {"Conv": ["conv1", "conv2"], "Relu": ["relu1", "relu2"], "MaxPool": ["pool1"]})

    example, mask = example_shape()
    write_png(os.path.join(DOCS, "shapes.png"), example)
    save_npy("shapes.example_mask.npy", mask)
    if args.no_train:
        return
    net, acc = train_shapes()
    assert acc > 0.9, "the shapes classifier did not learn"
    export(net, torch.zeros(1, 3, 64, 64), os.path.join(OUT, "shapes.onnx"),
           {"Conv": ["conv1", "conv2", "conv3", "conv4"], "Relu": ["relu1", "relu2", "relu3", "relu4"],
            "MaxPool": ["pool1", "pool2", "pool3"], "GlobalAveragePool": ["gap"], "Gemm": ["fc"]})
    with open(os.path.join(OUT, "shapes.labels"), "w") as f:
        f.write("\n".join(SHAPES) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total / 1e3:.1f} kB, into {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
