#!/usr/bin/python3
"""Seed corpora for the fuzz targets (tests/fuzz_*.c), written into tests/fuzz/.

    /usr/bin/python3 scripts/make_fuzz_seeds.py

Every seed is tiny (a fuzzer mutates small inputs fastest) and covers one
variant the readers must handle, plus a few damaged ones. Inputs that once
crashed a target are committed beside them as regress-* files by hand; this
script never touches those.

    tests/fuzz/onnx/   ONNX models, one per op and opset form synth imports
                       (built with onnx.helper, a few hundred bytes each)
    tests/fuzz/npy/    .npy files: versions 1.0, 2.0, 3.0, 0-D to 4-D, and
                       refused dtypes and orders
    tests/fuzz/pb/     TensorProto files: raw_data and every typed field
    tests/fuzz/image/  PNG (every colour type and depth, palette with tRNS,
                       interlaced, text chunks) and JPEG (baseline,
                       progressive, gray, CMYK with an Adobe marker, comments)
    tests/fuzz/preset/ .ini presets: the shipped ones (presets/*.ini) and
                       damaged ones (each error the reader reports)

Needs python3-onnx, python3-numpy and python3-pil (Debian's /usr/bin/python3).
"""
import io
import os
import struct
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image, PngImagePlugin

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fuzz")
rng = np.random.default_rng(20240610)


def write(kind, name, data):
    folder = os.path.join(OUT, kind)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def clean(kind):
    folder = os.path.join(OUT, kind)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if not name.startswith("regress-"):
            os.remove(os.path.join(folder, name))


# ---- ONNX ---------------------------------------------------------------------

def weights(name, shape, dtype=np.float32, raw=True):
    a = (rng.standard_normal(shape) * 0.5).astype(dtype)
    if raw:
        return numpy_helper.from_array(a, name)
    return helper.make_tensor(name, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype], shape, a.flatten().tolist())


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def model(name, nodes, inputs, outputs, inits=(), opset=13, ir=None):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="synth-fuzz-seeds")
    if ir is not None:
        m.ir_version = ir
    write("onnx", name + ".onnx", m.SerializeToString())
    return m


def tensor_info(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def onnx_seeds():
    clean("onnx")
    x = tensor_info("x", [1, 3, 8, 8])
    y = tensor_info("y", None)
    n = helper.make_node

    # Conv (pads, strides, bias) -> Relu -> MaxPool (ceil_mode, an unused indices output)
    model("conv_relu_pool", [
        n("Conv", ["x", "w", "b"], ["c"], name="conv1", pads=[1, 1, 1, 1], strides=[1, 1], kernel_shape=[3, 3]),
        n("Relu", ["c"], ["r"], name="relu1"),
        n("MaxPool", ["r"], ["y", "idx"], name="pool1", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
    ], [x], [y], [weights("w", [4, 3, 3, 3]), weights("b", [4])])

    # Grouped, dilated conv with auto_pad and typed-field weights; a 1-D conv
    model("conv_group_dilation", [
        n("Conv", ["x", "w"], ["y"], group=3, dilations=[2, 2], auto_pad="SAME_UPPER", strides=[2, 1]),
    ], [x], [y], [weights("w", [6, 1, 3, 3], raw=False)])
    model("conv_1d", [
        n("Conv", ["x", "w", "b"], ["y"], pads=[2, 1], strides=[2]),
    ], [tensor_info("x", [1, 2, 16])], [y], [weights("w", [3, 2, 4]), weights("b", [3])])

    # BatchNormalization folded into the conv before it (opset 7: spatial attribute)
    bn = [weights("s", [4]), weights("bb", [4]), weights("m", [4]),
          numpy_helper.from_array(np.abs(rng.standard_normal(4)).astype(np.float32) + 0.5, "v")]
    model("conv_bn_relu_opset7", [
        n("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
        n("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"], epsilon=1e-3, spatial=1),
        n("Relu", ["n"], ["y"]),
    ], [x], [y], [weights("w", [4, 3, 1, 1])] + bn, opset=7)
    model("bn_alone_opset15", [
        n("BatchNormalization", ["x", "s", "bb", "m", "v"], ["y"]),
    ], [tensor_info("x", [1, 4, 3, 3])], [y], bn, opset=15)

    # Reshape from a Shape/Gather/Unsqueeze/Concat chain, Gemm, Softmax
    model("reshape_chain_gemm", [
        n("GlobalAveragePool", ["x"], ["g"]),
        n("Shape", ["g"], ["sh"]),
        n("Gather", ["sh", "zero"], ["batch"], axis=0),
        n("Unsqueeze", ["batch", "axes0"], ["b1"]),
        n("Concat", ["b1", "minus1"], ["target"], axis=0),
        n("Reshape", ["g", "target"], ["flat"]),
        n("Gemm", ["flat", "fw", "fb"], ["logits"], transB=1, alpha=1.0, beta=1.0),
        n("Softmax", ["logits"], ["y"], axis=-1),
    ], [x], [y], [numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"), ints("axes0", [0]),
                  ints("minus1", [-1]), weights("fw", [5, 3]), weights("fb", [5])])

    # The same at opset 9: Unsqueeze axes as attribute, Softmax's 2-D coercion
    model("reshape_chain_opset9", [
        n("Shape", ["x"], ["sh"]),
        n("Gather", ["sh", "zero"], ["batch"], axis=0),
        n("Unsqueeze", ["batch"], ["b1"], axes=[0]),
        n("Concat", ["b1", "minus1"], ["target"], axis=0),
        n("Reshape", ["x", "target"], ["flat"]),
        n("Softmax", ["flat"], ["y"], axis=1),
    ], [x], [y], [numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"), ints("minus1", [-1])], opset=9)

    # Attribute forms of opset 7..10: Clip, Pad, Dropout ratio, Slice
    model("legacy_attrs_opset7", [
        n("Pad", ["x"], ["p"], pads=[0, 0, 1, 2, 0, 0, 2, 1], mode="reflect"),
        n("Clip", ["p"], ["c"], min=-0.5, max=0.5),
        n("Dropout", ["c"], ["d"], ratio=0.3),
        n("Flatten", ["d"], ["y"], axis=2),
    ], [x], [y], opset=7)
    model("slice_attrs_opset9", [
        n("Shape", ["x"], ["sh"]),
        n("Slice", ["sh"], ["hw"], starts=[2], ends=[4], axes=[0]),
        n("Concat", ["head", "hw"], ["target"], axis=0),
        n("Reshape", ["x", "target"], ["y"]),
    ], [x], [y], [ints("head", [1, 3])], opset=9)

    # Input forms of opset 11..13: Clip bounds, Pad pads/value, Dropout ratio and mode
    model("input_forms_opset13", [
        n("Pad", ["x", "pads", "pv"], ["p"], mode="constant"),
        n("Clip", ["p", "lo", "hi"], ["c"]),
        n("Dropout", ["c", "ratio", "train"], ["d"]),
        n("LeakyRelu", ["d"], ["y"], alpha=0.2),
    ], [x], [y], [ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), numpy_helper.from_array(np.array(0.5, np.float32), "pv"),
                  numpy_helper.from_array(np.array(-1, np.float32), "lo"),
                  numpy_helper.from_array(np.array(1, np.float32), "hi"),
                  numpy_helper.from_array(np.array(0.1, np.float32), "ratio"),
                  numpy_helper.from_array(np.array(False), "train")], opset=13)
    model("clip_pad_edge_opset11", [
        n("Pad", ["x", "pads"], ["p"], mode="edge"),
        n("Clip", ["p", "", "hi"], ["y"]),
    ], [x], [y], [ints("pads", [0, 0, 2, 0, 0, 0, 0, 2]), numpy_helper.from_array(np.array(0.25, np.float32), "hi")],
        opset=11)

    # Norms and pools: LRN, AveragePool (count_include_pad), GlobalMaxPool, a 3-D pool
    model("lrn_avgpool", [
        n("LRN", ["x"], ["l"], size=3, alpha=1e-3, beta=0.75, bias=2.0),
        n("AveragePool", ["l"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1, strides=[2, 2]),
        n("GlobalMaxPool", ["a"], ["y"]),
    ], [x], [y], opset=11)
    model("pool_3d_dilated", [
        n("MaxPool", ["x"], ["y"], kernel_shape=[2, 2, 2], dilations=[1, 2, 1], strides=[1, 1, 2]),
    ], [tensor_info("x", [1, 2, 4, 5, 6])], [y], opset=12)

    # Elementwise with broadcasting, Sum, Concat at run time, MatMul, activations
    model("elementwise", [
        n("Add", ["x", "bias"], ["a"]),
        n("Mul", ["a", "scale"], ["m"]),
        n("Sub", ["m", "x"], ["s"]),
        n("Div", ["s", "den"], ["d"]),
        n("Sigmoid", ["d"], ["sg"]),
        n("Tanh", ["x"], ["th"]),
        n("Sum", ["sg", "th", "x"], ["sum"]),
        n("Concat", ["sum", "x"], ["cat"], axis=1),
        n("Identity", ["cat"], ["id"]),
        n("MatMul", ["id", "mm"], ["y"]),
    ], [x], [y], [weights("bias", [3, 1, 1]), weights("scale", [1, 8]),
                  numpy_helper.from_array(np.full([1], 2.0, np.float32), "den"), weights("mm", [8, 4])])
    model("legacy_broadcast_opset6", [
        n("Add", ["x", "bias"], ["y"], broadcast=1, axis=1),
    ], [x], [y], [weights("bias", [3])], opset=6, ir=3)

    # Shape computations on constants only (folded at load)
    model("constant_folding", [
        n("Constant", [], ["c1"], value=helper.make_tensor("c1v", TensorProto.INT64, [4], [1, 3, 4, 16])),
        n("Constant", [], ["two"], value_int=2),
        n("Constant", [], ["fl"], value_floats=[1.0, 2.0]),
        n("ConstantOfShape", ["c1shape"], ["zeros"], value=helper.make_tensor("v", TensorProto.INT64, [1], [7])),
        n("Shape", ["zeros"], ["zs"]),
        n("Cast", ["zs"], ["zsf"], to=TensorProto.FLOAT),
        n("Transpose", ["grid"], ["gt"], perm=[1, 0]),
        n("Slice", ["c1", "st", "en", "ax", "step"], ["sl"]),
        n("Squeeze", ["gt", "ax1"], ["sq"]),
        n("Mul", ["two", "two"], ["four"]),
        n("Div", ["sl", "four"], ["q"]),
        n("Cast", ["c1"], ["c1f"], to=TensorProto.FLOAT),
        n("Reshape", ["x", "c1"], ["y"]),
    ], [x], [y], [ints("c1shape", [2, 2]), weights("grid", [1, 3]), ints("st", [0]), ints("en", [4]),
                  ints("ax", [0]), ints("step", [2]), ints("ax1", [1])])

    # Initializer payload types, and initializers listed among the inputs (IR 3)
    typed = [numpy_helper.from_array(rng.standard_normal([3, 1, 1]).astype(t), "w_" + np.dtype(t).name)
             for t in (np.float16, np.float64, np.int32, np.int64, np.uint8, np.int8)]
    nodes, prev = [], "x"
    for i, t in enumerate(typed):
        nodes.append(n("Add", [prev, t.name], ["s%d" % i]))
        prev = "s%d" % i
    nodes.append(n("Identity", [prev], ["y"]))
    model("initializer_types", nodes, [x], [y], typed)
    bf = helper.make_tensor("bf", TensorProto.BFLOAT16, [3, 1, 1], [0x3f80, 0x4000, 0xbf80], raw=False)
    model("inputs_list_initializers_ir3", [
        n("Mul", ["x", "bf"], ["y"]),
    ], [x, tensor_info("bf", [3, 1, 1], TensorProto.BFLOAT16)], [y], [bf], opset=8, ir=3)

    # Several outputs: an input passed through, an intermediate value
    model("multi_output", [
        n("Relu", ["x"], ["r"]),
        n("GlobalAveragePool", ["r"], ["g"]),
    ], [x], [tensor_info("g", None), tensor_info("r", None), tensor_info("x", None)])

    # A symbolic batch dimension and a free spatial size
    model("symbolic_dims", [
        n("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1]),
    ], [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])], [y], [weights("w", [2, 3, 3, 3])])

    # External data (refused for models in memory) and an unsupported op
    ext = weights("w", [2, 3, 1, 1])
    ext.ClearField("raw_data")
    ext.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", "24")):
        e = ext.external_data.add()
        e.key, e.value = k, v
    model("external_data", [n("Conv", ["x", "w"], ["y"])], [x], [y], [ext])
    model("unsupported_op", [n("Relu", ["x"], ["r"]), n("Erf", ["r"], ["y"])], [x], [y])

    # Damaged: truncated in the middle, and a tiny valid model's bytes cut short
    whole = open(os.path.join(OUT, "onnx", "conv_relu_pool.onnx"), "rb").read()
    write("onnx", "damaged_truncated.onnx", whole[: len(whole) * 2 // 3])
    write("onnx", "damaged_bitflip.onnx", whole[:40] + bytes([whole[40] ^ 0x80]) + whole[41:])


# ---- hostile models (tests/data/hostile/: the README's bad-input table) ----------

def hostile_models():
    """Small files asking for huge work at load: synth must refuse them quickly."""
    folder = os.path.join(HERE, "..", "tests", "data", "hostile")
    os.makedirs(folder, exist_ok=True)
    n = helper.make_node
    x = tensor_info("x", [1, 1, 2, 2])
    y = tensor_info("y", None)

    def save(name, nodes, outputs, inits):
        graph = helper.make_graph(nodes + [n("Relu", ["x"], ["y"])], name, [x], outputs, inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="synth-hostile")
        with open(os.path.join(folder, name + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())

    one = numpy_helper.from_array(np.ones([1, 1, 1, 1], np.float32), "one")
    # A [64, 64, 17, 17] kernel over a [1, 64, 96, 96] constant, both padded
    # out of one value: 7.6e9 multiply-adds from a file of a few hundred bytes.
    save("giant_kernel", [
        n("Pad", ["one", "in_pads"], ["image"], mode="constant"),
        n("Pad", ["one", "k_pads"], ["kernel"], mode="constant"),
        n("Conv", ["image", "kernel"], ["big"], name="giant_conv"),
    ], [y, tensor_info("big", None)],
        [one, ints("in_pads", [0, 0, 0, 0, 0, 63, 95, 95]), ints("k_pads", [0, 0, 0, 0, 63, 63, 16, 16])])
    # The outer product of two 4200-vectors: 17.6 M values out of 8400.
    save("outer_product", [n("MatMul", ["col", "row"], ["big"], name="outer")], [y, tensor_info("big", None)],
         [numpy_helper.from_array(np.ones([4200, 1], np.float32), "col"),
          numpy_helper.from_array(np.ones([1, 4200], np.float32), "row")])
    # 700 doublings of a 65536-value constant: 360 MB of folding from 20 kB.
    chain = [n("ConstantOfShape", ["shape"], ["c0"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]))]
    for i in range(700):
        chain.append(n("Add", ["c%d" % i, "c%d" % i], ["c%d" % (i + 1)]))
    chain.append(n("Reshape", ["x", "c700"], ["z"], name="use"))
    save("fold_chain", chain, [y, tensor_info("z", None)], [ints("shape", [65536])])


# ---- .npy -----------------------------------------------------------------------

def npy_bytes(a, version=None):
    b = io.BytesIO()
    if version is None:
        np.save(b, a)
    else:
        np.lib.format.write_array(b, a, version=version)
    return b.getvalue()


def npy_seeds():
    clean("npy")
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
    write("npy", "v1_3d.npy", npy_bytes(f32(2, 3, 4)))
    write("npy", "v2_2d.npy", npy_bytes(f32(3, 2), (2, 0)))
    write("npy", "v3_4d.npy", npy_bytes(f32(1, 2, 2, 2), (3, 0)))
    write("npy", "scalar.npy", npy_bytes(np.float32(2.5)))
    write("npy", "vector.npy", npy_bytes(f32(5)))
    write("npy", "empty.npy", npy_bytes(np.zeros((0, 3), np.float32)))
    write("npy", "float64.npy", npy_bytes(f32(2, 2).astype(np.float64)))
    write("npy", "fortran.npy", npy_bytes(np.asfortranarray(f32(2, 3))))
    write("npy", "bigendian.npy", npy_bytes(f32(3).astype(">f4")))
    good = npy_bytes(f32(2, 3))
    write("npy", "damaged_short_data.npy", good[:-5])
    write("npy", "damaged_header.npy", good[:20] + b"(" + good[21:])


# ---- TensorProto (.pb) -------------------------------------------------------------

def pb_seeds():
    clean("pb")
    f = rng.standard_normal([2, 3]).astype(np.float32)
    write("pb", "float_raw.pb", numpy_helper.from_array(f, "t").SerializeToString())
    write("pb", "float_typed.pb", helper.make_tensor("t", TensorProto.FLOAT, [2, 3], f.flatten().tolist()).SerializeToString())
    write("pb", "double_typed.pb",
          helper.make_tensor("t", TensorProto.DOUBLE, [3], [1.5, -2.0, 3.25]).SerializeToString())
    write("pb", "int64_typed.pb", helper.make_tensor("t", TensorProto.INT64, [4], [1, -2, 3, 1 << 40]).SerializeToString())
    write("pb", "int32_typed.pb", helper.make_tensor("t", TensorProto.INT32, [2, 2], [7, -8, 9, 10]).SerializeToString())
    write("pb", "uint64_typed.pb", helper.make_tensor("t", TensorProto.UINT64, [2], [3, 1 << 63]).SerializeToString())
    write("pb", "float16_raw.pb", numpy_helper.from_array(f.astype(np.float16), "t").SerializeToString())
    write("pb", "bool_raw.pb", numpy_helper.from_array(np.array([True, False, True]), "t").SerializeToString())
    write("pb", "uint8_raw.pb", numpy_helper.from_array(np.arange(6, dtype=np.uint8).reshape(2, 3), "t").SerializeToString())
    write("pb", "scalar.pb", numpy_helper.from_array(np.array(4.0, np.float32), "t").SerializeToString())
    write("pb", "string.pb", helper.make_tensor("t", TensorProto.STRING, [1], [b"abc"]).SerializeToString())
    ext = numpy_helper.from_array(f, "t")
    ext.ClearField("raw_data")
    ext.data_location = TensorProto.EXTERNAL
    e = ext.external_data.add()
    e.key, e.value = "location", "data.bin"
    write("pb", "external.pb", ext.SerializeToString())
    whole = numpy_helper.from_array(f, "t").SerializeToString()
    write("pb", "damaged_truncated.pb", whole[:-7])


# ---- images -------------------------------------------------------------------------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_interlaced_rgba16(w, h):
    """A 16-bit RGBA Adam7-interlaced PNG (PIL writes no interlaced files)."""
    px = rng.integers(0, 65536, size=(h, w, 4), dtype=np.uint16)
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = px[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in sub:
            raw += b"\0" + row.astype(">u2").tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) + \
        png_chunk(b"tEXt", b"Comment\0after header") + png_chunk(b"IEND", b"")


def pil_bytes(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def image_seeds():
    clean("image")
    w, h = 13, 9
    rgb = Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8), "RGB")
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "synth fuzz seed")
    info.add_text("synth.seed", "7", zip=True)
    info.add_itxt("Title", "caf\u00e9", lang="fr", tkey="Titre")
    write("image", "rgb8_text.png", pil_bytes(rgb, "PNG", pnginfo=info))
    write("image", "rgba8.png", pil_bytes(rgb.convert("RGBA"), "PNG"))
    write("image", "gray8.png", pil_bytes(rgb.convert("L"), "PNG"))
    write("image", "gray_alpha8.png", pil_bytes(rgb.convert("LA"), "PNG"))
    write("image", "gray1.png", pil_bytes(rgb.convert("1"), "PNG"))
    gray16 = Image.fromarray(rng.integers(0, 65536, size=(h, w), dtype=np.uint16).astype(np.int32), "I")
    write("image", "gray16.png", pil_bytes(gray16, "PNG"))
    pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=4)
    write("image", "palette2_trns.png", pil_bytes(pal, "PNG", bits=2, transparency=1))
    write("image", "rgba16_interlaced.png", png_interlaced_rgba16(w, h))
    write("image", "baseline.jpg", pil_bytes(rgb, "JPEG", quality=80, comment=b"Software: seed"))
    write("image", "progressive.jpg", pil_bytes(rgb, "JPEG", quality=70, progressive=True))
    write("image", "gray.jpg", pil_bytes(rgb.convert("L"), "JPEG"))
    write("image", "cmyk_adobe.jpg", pil_bytes(rgb.convert("CMYK"), "JPEG"))
    write("image", "subsampled_restart.jpg", pil_bytes(rgb, "JPEG", subsampling=2, restart_marker_blocks=1))
    good = pil_bytes(rgb, "PNG")
    write("image", "damaged_truncated.png", good[: len(good) // 2])
    write("image", "damaged_crc.png", good[:-20] + bytes([good[-20] ^ 1]) + good[-19:])
    jpg = pil_bytes(rgb, "JPEG")
    write("image", "damaged_truncated.jpg", jpg[: len(jpg) * 3 // 4])
    write("image", "not_an_image.gif", b"GIF89a" + bytes(20))


# ---- presets ------------------------------------------------------------------------

def preset_seeds():
    clean("preset")
    shipped = os.path.join(HERE, "..", "presets")
    for name in sorted(os.listdir(shipped)):
        if name.endswith(".ini"):
            with open(os.path.join(shipped, name), "rb") as f:
                write("preset", name, f.read())
    write("preset", "lists.ini", b"[style]\nstyle = a.jpg\nstyle = b.jpg\nstyle-blend = 1, 2\n"
          b"style-layers = relu1_1,relu2_1\n[dream]\nlayer = a|b ; inline comment\nclamp = off\n")
    write("preset", "crlf_bom.ini", b"\xef\xbb\xbf[preset]\r\ndescription = d\r\n  [dream]\r\n  iters: 3\r\n")
    write("preset", "damaged_unknown_key.ini", b"[dream]\niter = 3\n")
    write("preset", "damaged_range.ini", b"[dream]\noctaves = 99\n")
    write("preset", "damaged_choice.ini", b"[classvis]\nparam = fft\n")
    write("preset", "damaged_duplicate.ini", b"[dream]\niters = 3\niters = 4\n[dream]\n")
    write("preset", "damaged_section.ini", b"[dreams]\n[preset\nx\n")
    write("preset", "damaged_outside.ini", b"iters = 3\n")
    write("preset", "damaged_long.ini", b"[dream]\nlayer = " + b"x" * 300 + b"\n")
    write("preset", "damaged_binary.ini", b"[dream]\niters = \x00\x01\x02\n")


if __name__ == "__main__":
    onnx_seeds()
    npy_seeds()
    pb_seeds()
    image_seeds()
    preset_seeds()
    hostile_models()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print("tests/fuzz: %d bytes" % total)
