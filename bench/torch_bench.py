#!/usr/bin/python3
"""bench/torch_bench.py — PyTorch's side of the framework comparison (bench/run).

    /usr/bin/python3 bench/torch_bench.py export DIR [--size S]
        writes the two networks and the inputs both frameworks run:
          DIR/vgg19.onnx       torchvision vgg19().features (all of it), random
                               init with a fixed seed as torchvision's VGG does
                               (Kaiming-normal fan_out weights, zero biases)
          DIR/googlenet.onnx   torchvision GoogLeNet (random init, fixed seed,
                               Kaiming-normal conv weights, eval mode) up to
                               the inception4c output
          DIR/x.npy, style.npy, content.npy   1x3xSxS inputs (uniform 0..1)
    /usr/bin/python3 bench/torch_bench.py style DIR [--threads T]
    /usr/bin/python3 bench/torch_bench.py dream DIR [--threads T]
        one process per workload serving bench/bench.py as bench_net.c does:
        a warm-up iteration, then one iteration per line read from stdin
        (its seconds and the objective, whose value must agree with synth's),
        and at end of input the CPU seconds per iteration and the peak RSS.

The networks are rebuilt here from the same seed rather than read back from
the .onnx files (PyTorch cannot import ONNX); the objective values printed by
both frameworks show that the computation is the same.

Style: terms at relu1_1..relu5_1 (Gram G = F F^T / (C N), S = sum (G - A)^2)
plus content at relu4_2 (S = 1/2 sum (a - t)^2), all with weight 1, as
synth's objective defines them; torch runs vgg19().features[:30] (to relu5_1).
Dream: J = 1/2 sum a^2 at inception4c, backward to dJ/dx.
"""
import argparse
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision

SEED = 20240601


def vgg19_features():
    torch.manual_seed(SEED)
    f = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"], batch_norm=False)
    for m in f.modules():  # torchvision VGG's own init
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return f.eval()


class GoogLeNetTo4c(nn.Module):
    """torchvision's GoogLeNet (BasicConv2d = Conv + BN + ReLU) up to inception4c."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(SEED)
        g = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True,
                                         transform_input=False)
        self.body = nn.Sequential(g.conv1, g.maxpool1, g.conv2, g.conv3, g.maxpool2,
                                  g.inception3a, g.inception3b, g.maxpool3,
                                  g.inception4a, g.inception4b, g.inception4c)
        del g
        # torchvision's init (truncated normal, std 0.01) shrinks the activations
        # about 10^4-fold by inception4c; Kaiming-normal weights keep them O(1),
        # as in a trained network (and far from denormals).
        for m in self.body.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")

    def forward(self, x):
        return self.body(x)


def export(out, size):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for name in ("x", "style", "content"):
        a = rng.uniform(0, 1, (1, 3, size, size)).astype("<f4")
        np.save(os.path.join(out, name + ".npy"), a)
    x = torch.zeros(1, 3, size, size)
    with torch.no_grad():
        torch.onnx.export(vgg19_features(), x, os.path.join(out, "vgg19.onnx"), opset_version=13,
                          input_names=["input"], output_names=["features"],
                          dynamic_axes={"input": {2: "height", 3: "width"}})
        torch.onnx.export(GoogLeNetTo4c().eval(), x, os.path.join(out, "googlenet.onnx"),
                          opset_version=13, input_names=["input"], output_names=["inception4c"],
                          dynamic_axes={"input": {2: "height", 3: "width"}})


def load(d, name):
    return torch.from_numpy(np.load(os.path.join(d, name + ".npy")))


def gram(f):
    c = f.shape[1]
    f = f.reshape(c, -1)
    return f @ f.t() / (c * f.shape[1])


STYLE_AT = [1, 6, 11, 20, 29]  # relu1_1 .. relu5_1 in vgg19().features
CONTENT_AT = 22  # relu4_2


def style_setup(d):
    net = vgg19_features()[:30]
    for p in net.parameters():
        p.requires_grad_(False)

    def feats(x):
        out = {}
        for i, layer in enumerate(net):
            x = layer(x)
            if i in STYLE_AT or i == CONTENT_AT:
                out[i] = x
        return out

    with torch.no_grad():
        fs = feats(load(d, "style"))
        targets = [gram(fs[i]) for i in STYLE_AT]
        content = feats(load(d, "content"))[CONTENT_AT].clone()
        del fs
    x = load(d, "x").requires_grad_(True)

    def iteration():
        x.grad = None
        f = feats(x)
        loss = sum(((gram(f[i]) - t) ** 2).sum() for i, t in zip(STYLE_AT, targets))
        loss = loss + 0.5 * ((f[CONTENT_AT] - content) ** 2).sum()
        loss.backward()
        return loss.item()

    return iteration


def dream_setup(d):
    net = GoogLeNetTo4c().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    x = load(d, "x").requires_grad_(True)

    def iteration():
        x.grad = None
        a = net(x)
        j = 0.5 * (a * a).sum()
        j.backward()
        return j.item()

    return iteration


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["export", "style", "dream"])
    ap.add_argument("dir")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.what == "export":
        export(a.dir, a.size)
        return
    torch.set_num_threads(a.threads)
    iteration = (style_setup if a.what == "style" else dream_setup)(a.dir)
    serve(iteration)


def serve(iteration):
    """One iteration per line read from stdin, as bench_net's serve_iterations."""
    print("ready objective=%.9g" % iteration(), flush=True)  # warm-up
    iters, cpu = 0, 0.0
    for _ in sys.stdin:
        t0, c0 = time.perf_counter(), time.process_time()
        value = iteration()
        t = time.perf_counter() - t0
        cpu += time.process_time() - c0
        iters += 1
        print("seconds=%.5f objective=%.9g" % (t, value), flush=True)
    print("framework=pytorch %s (oneDNN %s)" % (torch.__version__, torch.backends.mkldnn.is_available()))
    print("threads=%d\niters=%d" % (torch.get_num_threads(), iters))
    print("cpu_seconds=%.4f" % (cpu / max(iters, 1)))
    print("peak_rss_mb=%.1f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))

if __name__ == "__main__":
    main()
