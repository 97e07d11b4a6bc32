# synth embed: feature rows and nearest neighbours on a constructed case (two
# pairs of near-duplicates), pooling, the built-in network and a
# PyTorch-exported model, .npy inputs (against numpy), errors.
. "$(dirname "$0")/lib.sh"
"$SYNTH_TEST_TOOLS/tool_explain" "$T" || { echo "tool_explain failed"; exit 1; }
E=$T/embed
IMGS="$E/red1.png $E/blue1.png $E/red2.png $E/blue2.png"

for pool in mean max none; do
    expect_ok "$SYNTH" embed --layer relu1_2 $IMGS --out "$T/f.npy" --pool $pool --neighbours 1
    [ "$(wc -l <"$T/out")" = 4 ] || fail "$pool: a line per input"
    grep -q "^$E/red1.png: $E/red2.png (" "$T/out" || fail "$pool: red1's nearest is red2: $(cat "$T/out")"
    grep -q "^$E/blue2.png: $E/blue1.png (" "$T/out" || fail "$pool: blue2's nearest is blue1: $(cat "$T/out")"
done
npy_shape_is "$T/f.npy" "4, 65536" # relu1_2 flattened: 64 x 32 x 32
expect_ok "$SYNTH" embed --layer relu1_2 $IMGS --out "$T/f.npy"
npy_shape_is "$T/f.npy" "4, 64"
[ -s "$T/out" ] && fail "no neighbours unless asked"
# K = 3: every other input, the near-duplicate first.
expect_ok "$SYNTH" embed --layer relu1_2 $IMGS --out "$T/f.npy" --neighbours 3
grep -q "^$E/blue1.png: $E/blue2.png (.*) $E/.*png (.*) $E/.*png (.*)$" "$T/out" || fail "K = 3: $(cat "$T/out")"
# Mean pooling takes inputs of any size; none needs one size.
expect_ok "$SYNTH" embed --layer relu1_2 $IMGS "$SYNTH_SOURCE_DIR/docs/examples/shapes.png" --out "$T/f.npy"
npy_shape_is "$T/f.npy" "5, 64"
expect_fail 1 "give --size or --pool mean" "$SYNTH" embed --layer relu1_2 $IMGS "$SYNTH_SOURCE_DIR/docs/examples/shapes.png" --pool none --out "$T/x.npy"
expect_ok "$SYNTH" embed --layer relu1_2 $IMGS "$SYNTH_SOURCE_DIR/docs/examples/shapes.png" --pool none --size 16 --out "$T/f.npy"
npy_shape_is "$T/f.npy" "5, 16384"
# A PyTorch-exported model: its fc logits as features.
D=$SYNTH_TEST_DATA/explain
expect_ok "$SYNTH" embed --model "$D/shapes.onnx" --layer fc $IMGS --out "$T/f.npy" --neighbours 1
npy_shape_is "$T/f.npy" "4, 3"

# .npy inputs fed as they are: twolayer.onnx's relu (3 maps of 4x4) on x, 2x
# and -x, against numpy's conv (3x3, stride 2, pad 1) + ReLU from the
# exported weights, pooled.
py=/usr/bin/python3
if "$py" -c 'import numpy' 2>/dev/null; then
    "$py" - "$D" "$T" <<'PY' || fail "writing the .npy inputs"
import sys, numpy as np
d, t = sys.argv[1:]
x = np.load(d + "/twolayer.x.npy")
np.save(t + "/x2.npy", 2 * x); np.save(t + "/xn.npy", -x)
w, b = np.load(d + "/twolayer.conv.weight.npy"), np.load(d + "/twolayer.conv.bias.npy")
rows = {p: [] for p in ("mean", "max", "none")}
for s in (1, 2, -1):
    xp = np.pad(s * x[0].astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    a = np.array([[[np.sum(w[k] * xp[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3]) + b[k] for j in range(4)]
                   for i in range(4)] for k in range(3)]).clip(0)
    rows["mean"].append(a.mean((1, 2))); rows["max"].append(a.max((1, 2))); rows["none"].append(a.ravel())
for p, r in rows.items():
    np.save(f"{t}/want_{p}.npy", np.array(r, np.float32))
PY
    for pool in mean max none; do
        expect_ok "$SYNTH" embed --model "$D/twolayer.onnx" --layer relu "$D/twolayer.x.npy" "$T/x2.npy" "$T/xn.npy" \
            --pool $pool --out "$T/f.npy"
        "$py" -c "import numpy as np, sys; f, w = np.load(sys.argv[1]), np.load(sys.argv[2]); sys.exit(0 if f.shape == w.shape and np.allclose(f, w, rtol=1e-5, atol=1e-6) else 1)" \
            "$T/f.npy" "$T/want_$pool.npy" || fail ".npy inputs, --pool $pool: not numpy's features"
    done
    npy_shape_is "$T/f.npy" "3, 48"
else
    echo "note: no numpy for $py: the .npy inputs are not checked"
fi
# A tensor of another shape: named, one line, nothing written.
expect_fail 1 "logreg.x.npy: input: 'input' is 1x8, the model expects 4 dimensions" "$SYNTH" embed --model "$D/twolayer.onnx" --layer relu "$D/logreg.x.npy" --out "$T/x.npy"
expect_fail 1 "twolayer.x.npy: input: 'input' is 1x2x8x8: 2 channels, the model expects 3" "$SYNTH" embed --layer relu1_2 "$E/red1.png" "$D/twolayer.x.npy" --out "$T/x.npy"

expect_fail 1 "--neighbours: 4: there are only 3 other inputs" "$SYNTH" embed --layer relu1_2 $IMGS --out "$T/x.npy" --neighbours 4
expect_fail 1 "no such layer" "$SYNTH" embed --layer nope $IMGS --out "$T/x.npy"
expect_fail 1 "No such file" "$SYNTH" embed --layer relu1_2 "$E/none.png" --out "$T/x.npy"
expect_fail 1 "does not exist" "$SYNTH" embed --layer relu1_2 $IMGS --out "$T/no/x.npy"
expect_fail 2 "missing -o FEATS.npy" "$SYNTH" embed --layer relu1_2 $IMGS
expect_fail 2 "missing --layer" "$SYNTH" embed $IMGS --out "$T/x.npy"
expect_fail 2 "missing argument" "$SYNTH" embed --layer relu1_2 --out "$T/x.npy"
expect_fail 2 "not one of mean|max|none" "$SYNTH" embed --layer relu1_2 $IMGS --pool sum --out "$T/x.npy"
[ -e "$T/x.npy" ] && fail "failed runs write nothing"
"$SYNTH" embed --help | grep -q -- "--neighbours" || fail "--help"
finish
