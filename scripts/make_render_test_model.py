#!/usr/bin/python3
"""A tiny smooth network for the render loops' gradient tests.

    /usr/bin/python3 scripts/make_render_test_model.py

writes tests/data/render/smooth.onnx: conv1 (3→8, 3×3, pad 1) → act1 (Tanh)
→ pool1 (AveragePool 2×2) → conv2 (8→12) → act2 (Tanh) → pool2 (AveragePool
2×2) → conv3 (12→16) → act3 (Tanh) → gap (GlobalAveragePool) → flat
(Flatten) → logits (Gemm, 16→10). Every op is smooth, so finite differences
of an objective through it are exact to float rounding, and any input size
of at least 4×4 works (the height and width are free dims). Weights are
drawn from numpy's generator with seed 6 (He-scaled normals), biases small;
the input is declared 1×3×H×W with the preprocessing left to synth's
defaults.

It also writes tests/data/render/nonfinite.onnx: conv1 (3→4, 3×3, pad 1)
→ bad = conv1 / 0, whose every value is ±inf or NaN: the objective on
`bad` is not finite, which a render must report without losing the image.

And tests/data/render/nonfinite_late.onnx: mean (Conv 1×1, 3→1, weights 1/3:
the channel mean) → room = Relu(0.75 − mean) → late = mean / room. Raising a
unit of `late` drives the mean towards 0.75, where room reaches 0 and late
becomes +inf: the objective turns non-finite after some good iterations.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "render", "smooth.onnx")
NONFINITE = os.path.join(HERE, "..", "tests", "data", "render", "nonfinite.onnx")
NONFINITE_LATE = os.path.join(HERE, "..", "tests", "data", "render", "nonfinite_late.onnx")


def main():
    rng = np.random.default_rng(6)
    inits, nodes = [], []

    def weight(name, shape):
        fan_in = int(np.prod(shape[1:]))
        w = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, name))
        return name

    def bias(name, n):
        inits.append(numpy_helper.from_array((0.05 * rng.standard_normal(n)).astype(np.float32), name))
        return name

    prev = "input"
    for i, (cin, cout) in enumerate([(3, 8), (8, 12), (12, 16)], start=1):
        nodes.append(helper.make_node("Conv", [prev, weight(f"w{i}", (cout, cin, 3, 3)), bias(f"b{i}", cout)],
                                      [f"conv{i}"], name=f"conv{i}", kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Tanh", [f"conv{i}"], [f"act{i}"], name=f"act{i}"))
        prev = f"act{i}"
        if i < 3:
            nodes.append(helper.make_node("AveragePool", [prev], [f"pool{i}"], name=f"pool{i}",
                                          kernel_shape=[2, 2], strides=[2, 2]))
            prev = f"pool{i}"
    nodes.append(helper.make_node("GlobalAveragePool", [prev], ["gap"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flat", axis=1))
    nodes.append(helper.make_node("Gemm", ["flat", weight("fc_w", (10, 16)), bias("fc_b", 10)], ["logits"],
                                  name="logits", transB=1))
    graph = helper.make_graph(
        nodes, "smooth",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="synth make_render_test_model.py")
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    onnx.save(model, OUT)
    print(OUT, os.path.getsize(OUT), "bytes")

    w = (rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w"], ["conv1"], name="conv1", kernel_shape=[3, 3],
                          pads=[1, 1, 1, 1]),
         helper.make_node("Div", ["conv1", "zero"], ["bad"], name="bad")],
        "nonfinite",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info("bad", TensorProto.FLOAT, [1, 4, "H", "W"])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.zeros(1, np.float32), "zero")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="synth make_render_test_model.py")
    onnx.checker.check_model(model)
    onnx.save(model, NONFINITE)
    print(NONFINITE, os.path.getsize(NONFINITE), "bytes")

    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "third"], ["mean"], name="mean", kernel_shape=[1, 1]),
         helper.make_node("Sub", ["limit", "mean"], ["gap"], name="gap"),
         helper.make_node("Relu", ["gap"], ["room"], name="room"),
         helper.make_node("Div", ["mean", "room"], ["late"], name="late")],
        "nonfinite_late",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info("late", TensorProto.FLOAT, [1, 1, "H", "W"])],
        [numpy_helper.from_array(np.full((1, 3, 1, 1), 1 / 3, np.float32), "third"),
         numpy_helper.from_array(np.full(1, 0.75, np.float32), "limit")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="synth make_render_test_model.py")
    onnx.checker.check_model(model)
    onnx.save(model, NONFINITE_LATE)
    print(NONFINITE_LATE, os.path.getsize(NONFINITE_LATE), "bytes")


if __name__ == "__main__":
    main()
