# synth probe: activations and input gradients written as .npy, ReLU modes,
# channels, determinism, and one-line errors that leave outputs alone.
. "$(dirname "$0")/lib.sh"
D=$SYNTH_TEST_DATA/net
X=$D/vgg_x.npy # 1x3x22x19

shape_is() { # FILE 'shape tuple'
    head -c 128 "$1" | tr -d '\0' | grep -aqF "'shape': ($2)" || fail "$1 should have shape ($2)"
}

expect_ok "$SYNTH" probe --model default --input "$X" --layer relu2_1 --out-act "$T/a.npy" --out-grad "$T/g.npy"
shape_is "$T/a.npy" "1, 128, 11, 9"
shape_is "$T/g.npy" "1, 3, 22, 19"
head -c 8 "$T/a.npy" | grep -aq 'NUMPY' || fail "writes .npy"

# The same again: the same bytes.
expect_ok "$SYNTH" probe --input "$X" --layer relu2_1 --out-act "$T/a2.npy" --out-grad "$T/g2.npy"
cmp -s "$T/a.npy" "$T/a2.npy" && cmp -s "$T/g.npy" "$T/g2.npy" || fail "probe is deterministic"

# Named input, and each ReLU mode gives its own gradient.
expect_ok "$SYNTH" probe --input "input=$X" --layer relu2_1 --out-grad "$T/guided.npy" --relu-backward guided
expect_ok "$SYNTH" probe --input "$X" --layer relu2_1 --out-grad "$T/deconv.npy" --relu-backward deconvnet
cmp -s "$T/g.npy" "$T/guided.npy" && fail "guided differs from standard"
cmp -s "$T/guided.npy" "$T/deconv.npy" && fail "deconvnet differs from guided"
[ -e "$T/a3.npy" ] && fail "nothing unasked is written"

# One channel's sum; only the gradient file when only it is asked for.
expect_ok "$SYNTH" probe --input "$X" --layer pool1 --channel 3 --out-grad "$T/c.npy"
shape_is "$T/c.npy" "1, 3, 22, 19"

# An activation can be fed back as an input of the right shape... or not.
expect_fail 1 "128 channels, the model expects 3" "$SYNTH" probe --input "$T/a.npy" --layer relu1_1 --out-act "$T/x.npy"
expect_fail 1 "the model expects 4 dimensions" "$SYNTH" probe --input "$D/npy_v1.npy" --layer relu1_1 --out-act "$T/x.npy"
expect_fail 1 "data type '<f8' is not supported" "$SYNTH" probe --input "$D/npy_float64.npy" --layer relu1_1 --out-act "$T/x.npy"
expect_fail 1 "Fortran" "$SYNTH" probe --input "$D/npy_fortran.npy" --layer relu1_1 --out-act "$T/x.npy"
expect_fail 1 "no such layer" "$SYNTH" probe --input "$X" --layer relu9_9 --out-act "$T/x.npy"
expect_fail 1 "--channel: 128 is out of range" "$SYNTH" probe --input "$X" --layer relu2_1 --channel 128 --out-grad "$T/x.npy"
expect_fail 1 "one too many" "$SYNTH" probe --input "$X" --input "$X" --layer relu1_1 --out-act "$T/x.npy"
expect_fail 1 "given twice" "$SYNTH" probe --input "input=$X" --input "input=$X" --layer relu1_1 --out-act "$T/x.npy"
expect_fail 1 "No such file" "$SYNTH" probe --input "$T/none.npy" --layer relu1_1 --out-act "$T/x.npy"
expect_fail 1 "does not exist" "$SYNTH" probe --input "$X" --layer relu1_1 --out-act "$T/no/dir/x.npy"
expect_fail 1 "only shapes the gradient" "$SYNTH" probe --input "$X" --layer relu1_1 --channel 1 --out-act "$T/x.npy"
expect_fail 1 "m.onnx" "$SYNTH" probe --model m.onnx --input "$X" --layer relu1_1 --out-act "$T/x.npy"
expect_fail 2 "missing --layer" "$SYNTH" probe --input "$X" --out-act "$T/x.npy"
expect_fail 2 "missing --input" "$SYNTH" probe --layer relu1_1 --out-act "$T/x.npy"
expect_fail 2 "nothing to write" "$SYNTH" probe --input "$X" --layer relu1_1
expect_fail 2 "not one of standard|deconvnet|guided" "$SYNTH" probe --input "$X" --layer relu1_1 --out-grad "$T/x.npy" --relu-backward fancy
[ -e "$T/x.npy" ] && fail "failed runs write nothing"

# The peak bytes line: one, a positive integer.
expect_ok "$SYNTH" probe --input "$X" --layer relu1_1 --out-act "$T/p.npy"
[ "$(grep -c '^net_peak_bytes: ' "$T/err")" = 1 ] || fail "one net_peak_bytes line"
grep -Eq '^net_peak_bytes: [1-9][0-9]*$' "$T/err" || fail "net_peak_bytes is a positive integer: $(cat "$T/err")"

# The lectures' 3x3 example through the CLI: relu_lecture.onnx is Relu then a
# Mul by the example's upstream gradient, so with --channel 0 (J = sum out)
# d J / d relu is that gradient and d J / d input is the example's answer.
L=$SYNTH_TEST_DATA/onnx
py=/usr/bin/python3
numpy=1
"$py" -c 'import numpy' 2>/dev/null || { numpy=0; echo "note: no numpy for $py: gradients not checked numerically"; }
for mode in standard deconvnet guided; do
    expect_ok "$SYNTH" probe --model "$L/relu_lecture.onnx" --input "$L/relu_lecture.x.npy" --layer out \
        --channel 0 --out-grad "$T/lecture_$mode.npy" --relu-backward "$mode"
done
[ "$numpy" = 1 ] && { "$py" - "$T" <<'PY' || fail "the lectures' ReLU backward modes"
import sys, numpy as np
t = sys.argv[1]
expect = {"standard": [-2, 0, -1, 6, 0, 0, 0, -1, 3],   # backprop: where the input > 0
          "deconvnet": [0, 0, 0, 6, 0, 1, 2, 0, 3],     # where the upstream gradient > 0
          "guided": [0, 0, 0, 6, 0, 0, 0, 0, 3]}        # both
bad = [m for m, e in expect.items() if np.load(f"{t}/lecture_{m}.npy").ravel().tolist() != e]
sys.exit(f"wrong: {bad}" if bad else 0)
PY
}

# Finite differences through the CLI on twolayer.onnx (Conv, Relu, mean,
# Gemm): J = 1/2 sum act^2 at fc, and J = sum act[:, C] at relu for C = 1;
# J(x +- h) is recomputed from the activation probe writes for x +- h, and
# the activation itself is checked against numpy's forward from the weights.
[ "$numpy" = 1 ] && { "$py" - "$SYNTH" "$SYNTH_TEST_DATA/explain" "$T" <<'PY' || fail "finite differences of probe's gradients"
import subprocess, sys, numpy as np
synth, d, t = sys.argv[1:]
model, x0 = f"{d}/twolayer.onnx", np.load(f"{d}/twolayer.x.npy")
w, b = np.load(f"{d}/twolayer.conv.weight.npy").astype(np.float64), np.load(f"{d}/twolayer.conv.bias.npy")
fw, fb = np.load(f"{d}/twolayer.fc.weight.npy").astype(np.float64), np.load(f"{d}/twolayer.fc.bias.npy")

def reference(x, layer):  # conv 3x3 stride 2 pad 1 -> relu [-> mean -> fc]
    p = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = (x.shape[2] + 1) // 2, (x.shape[3] + 1) // 2
    y = np.zeros((1, w.shape[0], oh, ow))
    for i in range(oh):
        for j in range(ow):
            y[0, :, i, j] = np.tensordot(w, p[0, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3], 3) + b
    y = np.maximum(y, 0)
    return y if layer == "relu" else y.mean((2, 3)) @ fw.T + fb

def probe(x, layer, channel, grad):  # --channel needs --out-grad: reruns write fd_h.npy
    np.save(f"{t}/fd_x.npy", x.astype("<f4"))
    cmd = [synth, "probe", "--model", model, "--input", f"{t}/fd_x.npy", "--layer", layer,
           "--out-act", f"{t}/fd_a.npy"]
    cmd += ["--channel", str(channel)] if channel is not None else []
    cmd += ["--out-grad", f"{t}/fd_g.npy" if grad else f"{t}/fd_h.npy"]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    a = np.load(f"{t}/fd_a.npy").astype(np.float64)
    j = a[:, channel].sum() if channel is not None else 0.5 * (a ** 2).sum()
    return a, j, np.load(f"{t}/fd_g.npy") if grad else None

worst = 0
for layer, channel in (("fc", None), ("relu", 1)):
    a, _, g = probe(x0, layer, channel, True)
    if not np.allclose(a, reference(x0, layer), rtol=1e-4, atol=1e-5):
        sys.exit(f"{layer}: the activation is not conv/relu/fc of the input")
    scale = max(np.abs(g).max(), 1e-3)
    for i in (0, 9, 37, 64, 100, 127):
        h = 1e-2 * max(1.0, abs(float(x0.flat[i])))
        xp, xm = x0.copy(), x0.copy()
        xp.flat[i] += h
        xm.flat[i] -= h
        num = (probe(xp, layer, channel, False)[1] - probe(xm, layer, channel, False)[1]) / (
            float(xp.flat[i]) - float(xm.flat[i]))
        err = abs(num - g.flat[i]) / scale
        worst = max(worst, err)
        if err > 1e-2:
            sys.exit(f"{layer} channel {channel}: d/dx[{i}]: probe {g.flat[i]:.6g}, numeric {num:.6g}")
print(f"finite differences: worst error {worst:.2e} of max |gradient|")
PY
}

# Two model inputs, named in either order; unnamed they go in declaration order.
A=$L/two_input.a.npy B=$L/two_input.b.npy M2=$L/two_input.onnx
expect_ok "$SYNTH" probe --model "$M2" --input "a=$A" --input "b=$B" --layer relu --out-act "$T/ab.npy" --out-grad "$T/gab.npy"
expect_ok "$SYNTH" probe --model "$M2" --input "b=$B" --input "a=$A" --layer relu --out-act "$T/ba.npy" --out-grad "$T/gba.npy"
expect_ok "$SYNTH" probe --model "$M2" --input "$A" --input "$B" --layer relu --out-act "$T/un.npy"
cmp -s "$T/ab.npy" "$T/ba.npy" && cmp -s "$T/gab.npy" "$T/gba.npy" || fail "the order of named inputs does not matter"
cmp -s "$T/ab.npy" "$T/un.npy" || fail "named inputs = inputs in declaration order"
shape_is "$T/gab.npy" "1, 2, 6, 6" # d J / d a, the first input
expect_ok "$SYNTH" probe --model "$M2" --input "b=$B" --input "$A" --layer relu --out-act "$T/mix.npy"
cmp -s "$T/ab.npy" "$T/mix.npy" || fail "an unnamed input fills the first one not named"
expect_fail 1 "1 channels, the model expects 2" "$SYNTH" probe --model "$M2" --input "a=$B" --input "b=$A" --layer relu --out-act "$T/x.npy"
expect_fail 1 "--input: missing the model's input 'b'" "$SYNTH" probe --model "$M2" --input "a=$A" --layer relu --out-act "$T/x.npy"
expect_fail 1 "--input: model has no input 'foo' (inputs: a, b)" "$SYNTH" probe --model "$M2" --input "foo=$A" --input "b=$B" --layer relu --out-act "$T/x.npy"
# A file whose name has '=' in it is still a file.
mkdir -p "$T/k=v" && cp "$A" "$T/k=v/a.npy"
expect_ok "$SYNTH" probe --model "$M2" --input "$T/k=v/a.npy" --input "b=$B" --layer relu --out-act "$T/eq.npy"
cmp -s "$T/ab.npy" "$T/eq.npy" || fail "a path with '=' reads that file"

# A failure leaves an existing output as it was.
printf 'keep' >"$T/keep.npy"
expect_fail 1 "no such layer" "$SYNTH" probe --input "$X" --layer nope --out-act "$T/keep.npy"
[ "$(cat "$T/keep.npy")" = keep ] || fail "existing output untouched"
ls -A "$T" | grep -q '\.synth-' && fail "no temporary files left"

"$SYNTH" probe --help | grep -q -- '--relu-backward' || fail "--help lists the options"
finish
