#!/usr/bin/python3
"""ONNX reference models and reference tensors, exported from PyTorch with fixed seeds.

    /usr/bin/python3 scripts/make_onnx_models.py
        regenerates tests/data/onnx/: five small models (SqueezeNet 1.1, a
        GoogLeNet trimmed after inception3b, a ResNet-18 trimmed after layer2,
        an AlexNet-shaped net with LRN, a VGG-style net with BatchNorm at two
        opsets), each with an input and, at a few layers, the activation and
        the input gradient, listed in manifest.tsv.

    /usr/bin/python3 scripts/make_onnx_models.py --full DIR
        writes the full torchvision VGG-19, GoogLeNet, ResNet-18, AlexNet and
        SqueezeNet 1.1 (random init, weights=None) and their references into DIR
        (too large to commit; tests/cli_torchvision.sh runs this).

    /usr/bin/python3 scripts/make_onnx_models.py --probe-models
        writes only the two hand-built models for tests/cli_probe.sh (below),
        leaving every other committed file as it is.

Conventions (the contract of `synth probe`, issue 3): for a layer L, the
activation is the layer's output on the input as given (no preprocessing), and
the gradient is d/dx of J = 1/2 * sum(act_L^2). References are computed in
float64 from the very float32 weights written to the .onnx file, so they are
exact to far below the 1e-4 tolerance the tests use.

The probe models are built with onnx.helper, not exported (weights from
numpy's default_rng(6)):
  two_input.onnx     inputs a 1x2x6x6 and b 1x1x6x6 -> Concat (channels)
                     "cat" -> Conv "conv" (3 filters 3x3, pad 1) -> Relu
                     "relu"; two_input.a.npy and two_input.b.npy feed it.
  relu_lecture.onnx  the lectures' 3x3 ReLU example: input 1x1x3x3 -> Relu
                     "relu" -> Mul by the example's upstream gradient "out",
                     so that d(sum out)/d(relu) is that gradient;
                     relu_lecture.x.npy is the example's input.

Layers are named by making them extra graph outputs at export: the ONNX value
holding a reference layer is named exactly as in the manifest.

manifest.tsv columns: model file, opset, input .npy, layer, activation .npy,
gradient .npy (one row per layer).

ONNX forms covered, by opset: 7 (AlexNet-shaped: Reshape from a
Constant/Cast/Unsqueeze/Concat chain, Dropout with a ratio attribute), 9
(SqueezeNet, VGG-BN: Pad and Clip with attributes, BatchNormalization, Identity
on initializers), 11 (GoogLeNet: ceil-mode pools, Concat), 13 (VGG-BN: Pad and
Clip with inputs, the pads computed by a ConstantOfShape/Slice/Transpose chain,
Reshape from Shape/Gather/Unsqueeze/Concat, Dropout with a ratio input), 17
(ResNet: residual Adds, a symbolic batch dimension, a
Shape/Gather/Unsqueeze/Concat Reshape). PyTorch exports neither Dropout in eval mode
nor (since 1.13) LRN as one op: Dropout nodes are inserted into the exported
graph in their inference form (marked below), and LRN is exported through a
Function whose symbolic is ONNX's LRN, computing F.local_response_norm.
"""
import argparse
import copy
import io
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "onnx")


# ---- building blocks ----------------------------------------------------------

class LRNFunction(torch.autograd.Function):
    """Local response normalization that exports as ONNX's LRN op."""

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        return F.local_response_norm(x, size, alpha, beta, k)

    @staticmethod
    def symbolic(g, x, size, alpha, beta, k):
        return g.op("LRN", x, size_i=size, alpha_f=alpha, beta_f=beta, bias_f=k)


class LRN(nn.Module):
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.args = (size, alpha, beta, k)

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():
            return LRNFunction.apply(x, *self.args)
        return F.local_response_norm(x, *self.args)


def randomize_batchnorm(model, gen):
    """Non-trivial running statistics, so that folding BN is really tested."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)


class Taps(nn.Module):
    """Runs `body(x)` → dict of named tensors; returns them in `names` order."""

    def __init__(self, body, names):
        super().__init__()
        self.body = body
        self.names = names

    def forward(self, x):
        acts = self.body(x)
        return tuple(acts[n] for n in self.names)


# ---- the small models -----------------------------------------------------------

class SqueezeNetTaps(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torchvision.models.squeezenet1_1(num_classes=10)

    def forward(self, x):
        f = self.net.features
        a = {}
        x = f[1](f[0](x))
        a["relu1"] = x
        x = f[4](f[3](f[2](x)))
        a["fire3"] = x
        for i in range(5, 13):
            x = f[i](x)
            if i == 9:
                a["fire7"] = x
        a["fire9"] = x
        x = self.net.classifier(x)
        a["prob"] = torch.flatten(x, 1)
        return a


class GoogLeNetTrimmed(nn.Module):
    """torchvision's GoogLeNet up to inception3b (BasicConv2d = Conv+BN+ReLU)."""

    def __init__(self):
        super().__init__()
        g = torchvision.models.GoogLeNet(num_classes=10, aux_logits=False, init_weights=True)
        self.conv1, self.maxpool1, self.conv2, self.conv3 = g.conv1, g.maxpool1, g.conv2, g.conv3
        self.maxpool2, self.inception3a, self.inception3b = g.maxpool2, g.inception3a, g.inception3b

    def forward(self, x):
        a = {}
        x = self.conv1(x)
        a["conv1"] = x
        x = self.maxpool2(self.conv3(self.conv2(self.maxpool1(x))))
        a["pool2"] = x
        x = self.inception3a(x)
        a["inception3a"] = x
        a["inception3b"] = self.inception3b(x)
        return a


class ResNetTrimmed(nn.Module):
    """torchvision's ResNet-18 up to layer2, then a pooled, flattened head
    (x.view(x.size(0), -1), as torchvision's ResNet once had)."""

    def __init__(self):
        super().__init__()
        r = torchvision.models.resnet18(num_classes=10)
        self.conv1, self.bn1, self.relu, self.maxpool = r.conv1, r.bn1, r.relu, r.maxpool
        self.layer1, self.layer2 = r.layer1, r.layer2

    def forward(self, x):
        a = {}
        x = self.relu(self.bn1(self.conv1(x)))
        a["relu1"] = x
        x = self.layer1(self.maxpool(x))
        a["layer1"] = x
        x = self.layer2(x)
        a["layer2"] = x
        p = F.adaptive_avg_pool2d(x, 1)
        a["pooled"] = p.view(p.size(0), -1)  # torchvision's older form: a Shape/Gather chain
        return a


class AlexNetLRN(nn.Module):
    """AlexNet's shape (11x11/4 conv, LRN, overlapping pools, grouped conv,
    three 3x3 convs, FC head) at small widths."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 11, stride=4, padding=2)
        self.norm1 = LRN(5, 1e-4, 0.75, 1.0)
        self.conv2 = nn.Conv2d(16, 32, 5, padding=2, groups=2)
        self.norm2 = LRN(5, 1e-4, 0.75, 2.0)
        self.conv3 = nn.Conv2d(32, 48, 3, padding=1)
        self.conv4 = nn.Conv2d(48, 48, 3, padding=1, groups=2)
        self.conv5 = nn.Conv2d(48, 32, 3, padding=1, groups=2)
        self.fc6 = nn.Linear(32 * 1 * 1, 64)
        self.fc7 = nn.Linear(64, 10)

    def forward(self, x):
        a = {}
        x = F.relu(self.conv1(x))
        a["relu1"] = x
        x = self.norm1(x)
        a["norm1"] = x
        x = F.max_pool2d(x, 3, 2)
        x = F.max_pool2d(self.norm2(F.relu(self.conv2(x))), 3, 2)
        a["pool2"] = x
        x = F.relu(self.conv5(F.relu(self.conv4(F.relu(self.conv3(x))))))
        a["relu5"] = x
        x = F.max_pool2d(x, 3, 2)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc6(x))
        a["fc6"] = x
        a["fc7"] = self.fc7(x)
        return a


class VGGBN(nn.Module):
    """VGG-style blocks with BatchNorm, plus the odd ops: reflection Pad,
    ReLU6 (Clip), LeakyReLU, AveragePool with and without padding counted,
    Sigmoid, Tanh, Mul, Gemm, Softmax."""

    def __init__(self):
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.conv1_1 = nn.Conv2d(3, 16, 3)
        self.bn1_1 = nn.BatchNorm2d(16)
        self.conv1_2 = nn.Conv2d(16, 16, 3, padding=1)
        self.bn1_2 = nn.BatchNorm2d(16)  # left at default init: PyTorch then emits Identity nodes
        self.conv2_1 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2_1 = nn.BatchNorm2d(32)
        self.conv2_2 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn2_2 = nn.BatchNorm2d(32)
        self.gate = nn.Conv2d(32, 32, 1)
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        a = {}
        x = F.relu(self.bn1_1(self.conv1_1(self.pad(x))))
        a["relu1_1"] = x
        x = F.relu6(self.bn1_2(self.conv1_2(x)) * 3)
        a["relu1_2"] = x
        x = F.max_pool2d(x, 2)
        x = F.leaky_relu(self.bn2_1(self.conv2_1(x)), 0.1)
        a["relu2_1"] = x
        x = F.relu(self.bn2_2(self.conv2_2(x)))
        x = x * torch.sigmoid(self.gate(x))
        a["gated"] = x
        x = F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False)
        x = F.avg_pool2d(torch.tanh(x), 2, 2, count_include_pad=True)
        a["pool3"] = x
        x = self.fc(torch.flatten(x, 1))
        a["prob"] = F.softmax(x, dim=1)
        return a


# ---- export and references ---------------------------------------------------

def insert_dropout(model_proto, before_value, opset):
    """Inserts a Dropout in inference form in front of the node(s) reading
    `before_value` (PyTorch drops Dropout in eval mode). Opset < 12: the ratio
    is an attribute; 12 and later: an input (an initializer here), without
    the training_mode input, so it is the identity."""
    g = model_proto.graph
    out = before_value + "_dropout"
    if opset < 12:
        node = helper.make_node("Dropout", [before_value], [out], name="dropout", ratio=0.5)
    else:
        ratio = numpy_helper.from_array(np.array(0.5, dtype=np.float32), "dropout_ratio")
        g.initializer.append(ratio)
        node = helper.make_node("Dropout", [before_value, "dropout_ratio"], [out], name="dropout")
    readers = [n for n in g.node if before_value in n.input]
    assert readers, before_value
    for n in readers:
        for i, name in enumerate(n.input):
            if name == before_value:
                n.input[i] = out
    first = min(list(g.node).index(n) for n in readers)
    g.node.insert(first, node)


def round_to_half(module):
    """Rounds every float parameter and buffer to float16 precision (still
    float32), so storing them as float16 loses nothing."""
    with torch.no_grad():
        for t in module.state_dict().values():
            if t.dtype == torch.float32:
                t.copy_(t.half().float())


def store_as_half(model_proto, min_elements=64):
    """Stores large float initializers as FLOAT16 followed by a Cast to FLOAT
    (the form float16-converted models take), halving the file. Exact: the
    values were rounded with round_to_half before export."""
    g = model_proto.graph
    casts = []
    for t in g.initializer:
        a = numpy_helper.to_array(t)
        if a.dtype != np.float32 or a.size < min_elements:
            continue
        h = a.astype(np.float16)
        assert np.array_equal(h.astype(np.float32), a), t.name
        name = t.name
        t.CopyFrom(numpy_helper.from_array(h, name + "_fp16"))
        casts.append(helper.make_node("Cast", [name + "_fp16"], [name], name=name + "_cast", to=1))
    for n in reversed(casts):
        g.node.insert(0, n)
    cast_outputs = {n.output[0] for n in casts}
    assert not any(v.name in cast_outputs for v in g.input), "initializers listed as graph inputs"


def export(module, x, names, opset, path, preserve=False, dropout_before=None, half=False, dynamic_batch=False):
    f = io.BytesIO()
    dynamic = {"input": {0: "batch"}} if dynamic_batch else None
    torch.onnx.export(module, x, f, opset_version=opset, input_names=["input"], output_names=list(names),
                      dynamic_axes=dynamic,
                      training=torch.onnx.TrainingMode.PRESERVE if preserve else torch.onnx.TrainingMode.EVAL,
                      do_constant_folding=True)
    m = onnx.load_from_string(f.getvalue())
    if dropout_before:
        insert_dropout(m, dropout_before, opset)
    if half:
        store_as_half(m)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return m


def references(module, x, names):
    """float64 activations at every named layer and the input gradient of
    1/2 sum(act^2) for each."""
    m64 = copy.deepcopy(module).double().eval()
    acts, grads = {}, {}
    for name in names:
        x64 = x.detach().double().requires_grad_(True)
        out = dict(zip(names, m64(x64)))
        act = out[name]
        (0.5 * (act ** 2).sum()).backward()
        acts[name] = act.detach().numpy()
        grads[name] = x64.grad.detach().numpy()
    return acts, grads


def save_npy(path, a):
    np.save(path, np.ascontiguousarray(a, dtype="<f4"))


def make(out_dir, stem, module, size, names, opset, seed, preserve=False, dropout_before=None, half=False,
         dynamic_batch=False, manifest=None):
    module.eval()
    if half:
        round_to_half(module)
    gen = torch.Generator().manual_seed(seed + 1000)
    x = torch.randn(1, 3, size[0], size[1], generator=gen)
    taps = Taps(module, names).eval()
    model_file = f"{stem}.onnx"
    export(taps, x, names, opset, os.path.join(out_dir, model_file), preserve, dropout_before, half,
           dynamic_batch)
    acts, grads = references(taps, x, names)
    input_file = f"{stem}.input.npy"
    save_npy(os.path.join(out_dir, input_file), x.numpy())
    for name in names:
        act_file, grad_file = f"{stem}.{name}.act.npy", f"{stem}.{name}.grad.npy"
        save_npy(os.path.join(out_dir, act_file), acts[name])
        save_npy(os.path.join(out_dir, grad_file), grads[name])
        if manifest is not None:
            manifest.append((model_file, str(opset), input_file, name, act_file, grad_file))


def small_models(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        if f.endswith((".onnx", ".npy")) or f == "manifest.tsv":
            os.remove(os.path.join(out_dir, f))
    rows = []

    # The three torchvision-shaped models keep their real widths; their
    # weights are stored as float16 (+ Cast) to keep the files small, and
    # their BatchNorms stay BatchNormalization nodes (PRESERVE) for the
    # importer to fold.
    torch.manual_seed(1)
    sq = SqueezeNetTaps()
    make(out_dir, "squeezenet1_1", sq, (48, 48), ["relu1", "fire3", "fire9", "prob"], 9, 1,
         dropout_before="fire9", half=True, manifest=rows)

    torch.manual_seed(2)
    gn = GoogLeNetTrimmed()
    randomize_batchnorm(gn, torch.Generator().manual_seed(2))
    make(out_dir, "googlenet_3b", gn, (48, 48), ["conv1", "inception3a", "inception3b"], 11, 2,
         preserve=True, half=True, manifest=rows)

    torch.manual_seed(3)
    rn = ResNetTrimmed()
    randomize_batchnorm(rn, torch.Generator().manual_seed(3))
    make(out_dir, "resnet18_layer2", rn, (48, 48), ["relu1", "layer2", "pooled"], 17, 3,
         preserve=True, half=True, dynamic_batch=True, manifest=rows)

    torch.manual_seed(4)
    ax = AlexNetLRN()
    make(out_dir, "alexnet_lrn", ax, (67, 67), ["norm1", "pool2", "relu5", "fc6", "fc7"], 7, 4,
         dropout_before="fc6", manifest=rows)

    for opset in (9, 13):
        torch.manual_seed(5)
        vb = VGGBN()
        gen = torch.Generator().manual_seed(5)
        randomize_batchnorm(vb, gen)
        with torch.no_grad():  # bn1_2 back to PyTorch's defaults (weight = var = 1, bias = mean = 0)
            vb.bn1_2.reset_parameters()
            vb.bn1_2.reset_running_stats()
        make(out_dir, f"vgg_bn_opset{opset}", vb, (32, 32), ["relu1_1", "relu1_2", "gated", "prob"],
             opset, 5, preserve=True, dropout_before="gated" if opset >= 12 else None, manifest=rows)

    probe_models(out_dir)  # not in the manifest: they are not PyTorch references

    with open(os.path.join(out_dir, "manifest.tsv"), "w") as f:
        f.write("# model\topset\tinput\tlayer\tactivation\tgradient  (scripts/make_onnx_models.py)\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    total = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(f"wrote {len(rows)} reference layers, {total / 1e6:.2f} MB, into {os.path.normpath(out_dir)}")


# ---- the probe models (hand-built) ---------------------------------------------

def probe_models(out_dir):
    """Writes two_input.* and relu_lecture.* only (see the module docstring)."""
    rng = np.random.default_rng(6)
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)
    w = numpy_helper.from_array(f32(rng.standard_normal((3, 3, 3, 3)) * 0.5), "conv.weight")
    b = numpy_helper.from_array(f32(rng.standard_normal(3) * 0.1), "conv.bias")
    nodes = [helper.make_node("Concat", ["a", "b"], ["cat"], name="cat", axis=1),
             helper.make_node("Conv", ["cat", "conv.weight", "conv.bias"], ["conv"], name="conv",
                              kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["conv"], ["relu"], name="relu")]
    g = helper.make_graph(nodes, "two_input",
                          [helper.make_tensor_value_info("a", onnx.TensorProto.FLOAT, [1, 2, 6, 6]),
                           helper.make_tensor_value_info("b", onnx.TensorProto.FLOAT, [1, 1, 6, 6])],
                          [helper.make_tensor_value_info("relu", onnx.TensorProto.FLOAT, [1, 3, 6, 6])],
                          [w, b])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_onnx_models.py")
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out_dir, "two_input.onnx"))
    save_npy(os.path.join(out_dir, "two_input.a.npy"), rng.standard_normal((1, 2, 6, 6)))
    save_npy(os.path.join(out_dir, "two_input.b.npy"), rng.standard_normal((1, 1, 6, 6)))

    # Springenberg et al. 2015, fig. 1: the input and the upstream gradient.
    x = np.array([1, -1, 5, 2, -5, -7, -3, 2, 4], dtype=np.float32).reshape(1, 1, 3, 3)
    up = np.array([-2, 0, -1, 6, -3, 1, 2, -1, 3], dtype=np.float32).reshape(1, 1, 3, 3)
    nodes = [helper.make_node("Relu", ["input"], ["relu"], name="relu"),
             helper.make_node("Mul", ["relu", "upstream"], ["out"], name="out")]
    g = helper.make_graph(nodes, "relu_lecture",
                          [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 1, 3, 3])],
                          [helper.make_tensor_value_info("out", onnx.TensorProto.FLOAT, [1, 1, 3, 3])],
                          [numpy_helper.from_array(up, "upstream")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_onnx_models.py")
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out_dir, "relu_lecture.onnx"))
    save_npy(os.path.join(out_dir, "relu_lecture.x.npy"), x)


# ---- the full torchvision models (generated at test time, not committed) -------

class FullTaps(nn.Module):
    """A torchvision classifier's conv part ("features") and its logits."""

    def __init__(self, kind):
        super().__init__()
        ctor = {"vgg19": torchvision.models.vgg19, "googlenet": torchvision.models.googlenet,
                "resnet18": torchvision.models.resnet18, "alexnet": torchvision.models.alexnet,
                "squeezenet1_1": torchvision.models.squeezenet1_1}[kind]
        extra = {"aux_logits": False, "init_weights": True} if kind == "googlenet" else {}
        self.kind = kind
        self.net = ctor(weights=None, **extra)

    def features(self, x):
        n = self.net
        if self.kind == "googlenet":
            for m in (n.conv1, n.maxpool1, n.conv2, n.conv3, n.maxpool2, n.inception3a, n.inception3b,
                      n.maxpool3, n.inception4a, n.inception4b, n.inception4c, n.inception4d, n.inception4e,
                      n.maxpool4, n.inception5a, n.inception5b):
                x = m(x)
            return x
        if self.kind == "resnet18":
            x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
            return n.layer4(n.layer3(n.layer2(n.layer1(x))))
        return n.features(x)

    def forward(self, x):
        f = self.features(x)
        n = self.net
        if self.kind == "googlenet":
            y = n.fc(torch.flatten(n.avgpool(f), 1))
        elif self.kind == "resnet18":
            y = n.fc(torch.flatten(n.avgpool(f), 1))
        elif self.kind == "squeezenet1_1":
            y = torch.flatten(n.classifier(f), 1)
        else:  # vgg19, alexnet
            y = n.classifier(torch.flatten(n.avgpool(f), 1))
        return {"features": f, "logits": y}


def full_models(out_dir, kinds):
    """Each model exported at 224 x 224 (opset 13), then references: the conv
    part at two other sizes (any input size) and the logits at 224."""
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for seed, kind in enumerate(kinds):
        torch.manual_seed(100 + seed)
        module = FullTaps(kind).eval()
        # ResNet's BatchNorms get random statistics. GoogLeNet's stay at their
        # defaults: its tiny initial weights (std 0.01) next to random BN
        # offsets make activations almost constant and the input gradient a
        # sum that cancels to 1e-13, which float32 cannot resolve (PyTorch's
        # own float32 gradient is then 10% off its float64 one).
        if kind == "resnet18":
            randomize_batchnorm(module, torch.Generator().manual_seed(100 + seed))
        names = ["features", "logits"]
        taps = Taps(module, names).eval()
        gen = torch.Generator().manual_seed(200 + seed)
        x224 = torch.randn(1, 3, 224, 224, generator=gen)
        model_file = f"{kind}.onnx"
        export(taps, x224, names, 13, os.path.join(out_dir, model_file))
        for layer, (h, w) in (("features", (96, 128)), ("features", (160, 112)), ("logits", (224, 224))):
            x = x224 if (h, w) == (224, 224) else torch.randn(1, 3, h, w, generator=gen)
            stem = f"{kind}.{layer}.{h}x{w}"
            acts, grads = references(Taps(module, [layer]).eval(), x, [layer])
            save_npy(os.path.join(out_dir, stem + ".input.npy"), x.numpy())
            save_npy(os.path.join(out_dir, stem + ".act.npy"), acts[layer])
            save_npy(os.path.join(out_dir, stem + ".grad.npy"), grads[layer])
            rows.append((model_file, "13", stem + ".input.npy", layer, stem + ".act.npy", stem + ".grad.npy"))
        print(f"{kind}: exported and referenced", flush=True)
    with open(os.path.join(out_dir, "manifest.tsv"), "w") as f:
        f.write("# model\topset\tinput\tlayer\tactivation\tgradient  (scripts/make_onnx_models.py --full)\n")
        for r in rows:
            f.write("\t".join(r) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", metavar="DIR", help="write the full torchvision models and references into DIR")
    ap.add_argument("--models", default="vgg19,googlenet,resnet18,alexnet,squeezenet1_1",
                    help="with --full: which models (comma-separated)")
    ap.add_argument("--probe-models", action="store_true",
                    help="write only the hand-built models of tests/cli_probe.sh")
    args = ap.parse_args()
    if args.probe_models:
        probe_models(OUT)
        return
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    if args.full:
        full_models(args.full, args.models.split(","))
    else:
        small_models(OUT)


if __name__ == "__main__":
    main()
