#!/usr/bin/env python3
"""torchvision's VGG-19 and GoogLeNet with seeded random weights, as ONNX, for the render commands.

    /usr/bin/python3 scripts/make_torchvision_render_models.py DIR [--models vgg19,googlenet]

writes DIR/vgg19.onnx and DIR/googlenet.onnx: the whole torchvision
classifier (weights=None, seeds 100 and 101, eval mode; GoogLeNet's
convs He-normal, see below), exported
as is with torch.onnx.export at 224 x 224, opset 13, input "input", output
"logits", so the layers keep PyTorch's names (/features/features.21/Conv,
/inception4c/Concat). No pretrained weights are involved (none were
available where this was written, and no network): the files show that every
render command runs on PyTorch's own exports of these architectures and which
layer names work there (tests/cli_render_torchvision.sh). Real pretrained
weights come from `synth model fetch vgg19` / `synth model fetch googlenet`.
"""
import argparse
import os

import onnx
import torch
import torchvision


SEEDS = {"vgg19": 100, "googlenet": 101}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--models", default="vgg19,googlenet", help="vgg19, googlenet or both")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    os.makedirs(args.dir, exist_ok=True)
    for kind in args.models.split(","):
        torch.manual_seed(SEEDS[kind])
        if kind == "googlenet":
            net = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True)
            # torchvision draws GoogLeNet's convs with std 0.01 and leaves its
            # BatchNorms at mean 0, var 1: fine in training mode, but in eval
            # mode activations shrink ~6x per layer (1e-12 at inception4c),
            # below what float32 objectives resolve. He-normal convs keep them
            # at a trained network's scale.
            for m in net.modules():
                if isinstance(m, torch.nn.Conv2d):
                    torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        else:
            net = getattr(torchvision.models, kind)(weights=None)
        path = os.path.join(args.dir, kind + ".onnx")
        with torch.no_grad():
            torch.onnx.export(net.eval(), torch.zeros(1, 3, 224, 224), path, opset_version=13,
                              input_names=["input"], output_names=["logits"], do_constant_folding=True)
        onnx.checker.check_model(path)
        print(f"wrote {path} ({os.path.getsize(path) / 1e6:.0f} MB)", flush=True)


if __name__ == "__main__":
    main()
