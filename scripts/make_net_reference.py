#!/usr/bin/python3
"""Reference data for the net engine's tests (tests/data/net/), made with
PyTorch (Debian's python3-torch; run with /usr/bin/python3) and NumPy:

  npy_*.npy          .npy files as NumPy writes them (format 1.0 and 2.0, 0-D,
                     1-D) plus ones synth must refuse (float64, Fortran order)
  vgg_*.npy          a small VGG-like chain: conv/relu/conv/relu/pool/conv/relu/pool
  branchy_*.npy      a net with branches: Conv+BatchNorm, an inception-like
                     concat, a depthwise conv with a residual add, LRN, max pool
                     with ceil_mode, asymmetric Pad, strided conv, average pool
                     without pad counting, global average pool, Linear, Softmax

For each net: the input, every weight, and for some layers the activation and
the gradient with respect to the input of J = 1/2 sum(act^2) (for the VGG chain
also with guided and deconvnet ReLU backward). PyTorch computes in float64;
files are float32. Fixed seeds: rerunning gives the same files.
tests/test_net_reference.c builds the same nets through net/graph.h and
compares to 1e-4 relative.

  /usr/bin/python3 scripts/make_net_reference.py [OUT_DIR]
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "net")


def save(name, array):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(array, dtype="<f4"))


def npy_fixtures():
    a = np.arange(24, dtype="<f4").reshape(2, 3, 4) / 8 - 1
    np.save(os.path.join(OUT, "npy_v1.npy"), a)
    with open(os.path.join(OUT, "npy_v2.npy"), "wb") as f:
        np.lib.format.write_array(f, a, version=(2, 0))
    np.save(os.path.join(OUT, "npy_scalar.npy"), np.array(2.5, dtype="<f4"))
    np.save(os.path.join(OUT, "npy_vector.npy"), np.array([1, -2, 3], dtype="<f4"))
    np.save(os.path.join(OUT, "npy_float64.npy"), a.astype("<f8"))
    np.save(os.path.join(OUT, "npy_fortran.npy"), np.asfortranarray(a))


class GuidedRelu(torch.autograd.Function):
    """ReLU whose backward is one of the three modes."""
    mode = "standard"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if GuidedRelu.mode == "standard":
            return g * (x > 0)
        if GuidedRelu.mode == "deconvnet":
            return g.clamp(min=0)
        return g.clamp(min=0) * (x > 0)


def relu(x):
    return GuidedRelu.apply(x)


class Vgg(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1_1 = nn.Conv2d(3, 6, 3, padding=1)
        self.conv1_2 = nn.Conv2d(6, 6, 3, padding=1)
        self.conv2_1 = nn.Conv2d(6, 8, 3, padding=1)

    def forward(self, x):
        out = {}
        x = out["relu1_1"] = relu(self.conv1_1(x))
        x = out["relu1_2"] = relu(self.conv1_2(x))
        x = out["pool1"] = F.max_pool2d(x, 2, 2)
        x = out["relu2_1"] = relu(self.conv2_1(x))
        x = out["pool2"] = F.max_pool2d(x, 2, 2)
        return out


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn0 = nn.BatchNorm2d(8)
        self.a = nn.Conv2d(8, 4, 1)
        self.b = nn.Conv2d(8, 6, 3, padding=2, dilation=2)
        self.c = nn.Conv2d(8, 4, 1)
        self.dw = nn.Conv2d(14, 14, 3, padding=1, groups=14)
        self.lrn = nn.LocalResponseNorm(5, alpha=0.05, beta=0.75, k=1.5)
        self.down = nn.Conv2d(14, 10, 3, stride=2)
        self.fc = nn.Linear(10, 5)

    def forward(self, x):
        out = {}
        y = out["stem"] = relu(self.bn0(self.conv0(x)))
        a = self.a(y)
        b = relu(self.b(y))
        c = self.c(F.max_pool2d(y, 3, 1, 1))
        z = out["concat"] = torch.cat([a, b, c], 1)
        z = out["residual"] = relu(self.dw(z) + z)
        z = out["lrn"] = self.lrn(z)
        z = F.max_pool2d(z, 3, 2, ceil_mode=True)
        z = F.pad(z, (0, 1, 1, 0))  # W: left 0, right 1; H: top 1, bottom 0
        z = out["down"] = relu(self.down(z))
        z = out["avg"] = F.avg_pool2d(z, 2, 1, padding=1, count_include_pad=False)
        g = z.mean((2, 3))
        logits = out["logits"] = self.fc(g)
        out["softmax"] = F.softmax(logits, dim=1)
        return out


def reference(prefix, net, x, layers, modes=("standard",)):
    net = net.double().eval()
    for name, p in net.named_parameters():
        save(f"{prefix}_{name}", p.detach().numpy())
    for name, b in net.named_buffers():
        if b.dtype.is_floating_point:
            save(f"{prefix}_{name}", b.detach().numpy())
    save(f"{prefix}_x", x.numpy())
    for layer in layers:
        for mode in modes:
            GuidedRelu.mode = mode
            xi = x.clone().requires_grad_(True)
            act = net(xi)[layer]
            (0.5 * (act ** 2).sum()).backward()
            if mode == "standard":
                save(f"{prefix}_act_{layer}", act.detach().numpy())
            save(f"{prefix}_grad_{layer}_{mode}", xi.grad.numpy())
    GuidedRelu.mode = "standard"


def main():
    os.makedirs(OUT, exist_ok=True)
    npy_fixtures()
    torch.manual_seed(0)
    vgg = Vgg()
    x = torch.randn(1, 3, 22, 19, dtype=torch.float64)
    reference("vgg", vgg, x, ["relu2_1", "pool2"], ("standard", "deconvnet", "guided"))

    torch.manual_seed(1)
    branchy = Branchy()
    with torch.no_grad():  # running statistics worth folding
        branchy.bn0.running_mean.uniform_(-0.5, 0.5)
        branchy.bn0.running_var.uniform_(0.5, 2.0)
        branchy.bn0.weight.uniform_(0.5, 1.5)
        branchy.bn0.bias.uniform_(-0.5, 0.5)
    x = torch.randn(2, 3, 17, 15, dtype=torch.float64)
    reference("branchy", branchy, x, ["residual", "lrn", "avg", "logits", "softmax"])


if __name__ == "__main__":
    main()
