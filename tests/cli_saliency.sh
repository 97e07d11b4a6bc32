# synth saliency: every method on a trained PyTorch-exported model (the
# evidence lies on the triangle), occlusion batched = one copy at a time, the
# built-in network (every method), .npy input, errors.
. "$(dirname "$0")/lib.sh"
D=$SYNTH_TEST_DATA/explain
SHAPES="--model $D/shapes.onnx --labels $D/shapes.labels"
PIC=$SYNTH_SOURCE_DIR/docs/examples/shapes.png # a triangle; where: shapes.example_mask.npy
py=/usr/bin/python3
numpy=1
"$py" -c 'import numpy' 2>/dev/null || { numpy=0; echo "note: no numpy for $py: the maps' numbers are not checked"; }

# check_map MAP.npy 'python condition on m (the map) and inside (the triangle's mask)'
check_map() {
    [ "$numpy" = 1 ] || return 0
    "$py" - "$1" "$D/shapes.example_mask.npy" "$2" <<'PY' || fail "$1: $2"
import sys, numpy as np
m = np.load(sys.argv[1]); inside = np.load(sys.argv[2]) > 0
sys.exit(0 if eval(sys.argv[3]) else 1)
PY
}

for method in gradient guided deconvnet gradcam guided-gradcam occlusion; do
    expect_ok "$SYNTH" saliency "$PIC" $SHAPES --method $method -o "$T/$method.png" --raw "$T/$method.npy"
    grep -qE "^$method: class 2 triangle p=0\.9[0-9]{5}$" "$T/out" || fail "$method: $(cat "$T/out")"
    png_size_is "$T/$method.png" 64 64
    npy_shape_is "$T/$method.npy" "64, 64"
    if [ $method = occlusion ]; then # probabilities: lowest with the square on the triangle
        check_map "$T/$method.npy" "inside[np.unravel_index(m.argmin(), m.shape)] and (1 - m)[inside].mean() > 5 * (1 - m)[~inside].mean()"
    else # the evidence concentrates on the triangle (plain gradients are noisier)
        check_map "$T/$method.npy" "m.min() >= 0 and m[inside].mean() > 1.4 * m[~inside].mean()"
    fi
done
check_map "$T/gradcam.npy" "inside[np.unravel_index(m.argmax(), m.shape)]"
for a in gradient guided deconvnet; do for b in gradient guided deconvnet; do
    [ $a = $b ] || ! cmp -s "$T/$a.npy" "$T/$b.npy" || fail "$a and $b differ"
done; done

# Occlusion: batched copies give the map of one copy at a time.
expect_ok "$SYNTH" saliency "$PIC" $SHAPES --method occlusion --patch 8 --stride 4 --batch 1 -o "$T/o1.png" --raw "$T/o1.npy"
grep -q "225 network runs of up to 1 copies" "$T/out" || fail "--batch 1: $(cat "$T/out")"
expect_ok "$SYNTH" saliency "$PIC" $SHAPES --method occlusion --patch 8 --stride 4 -o "$T/o32.png" --raw "$T/o32.npy"
grep -q "8 network runs of up to 32 copies" "$T/out" || fail "batched: $(cat "$T/out")"
[ "$numpy" = 1 ] && { "$py" -c "import numpy as np, sys; sys.exit(0 if np.allclose(np.load('$T/o1.npy'), np.load('$T/o32.npy'), atol=1e-6) else 1)" || fail "batched = one at a time"; }
expect_ok "$SYNTH" saliency "$PIC" $SHAPES --method occlusion --patch 8 --stride 4 --fill zero -o "$T/oz.png" --raw "$T/oz.npy"
cmp -s "$T/o32.npy" "$T/oz.npy" && fail "--fill zero differs from mean"

# A graph that fixes its batch size (a Reshape to 1x32 before fc6): one copy
# at a time, the same map.
AX="--model $SYNTH_TEST_DATA/onnx/alexnet_lrn.onnx --scores fc7 --method occlusion"
expect_ok "$SYNTH" saliency "$PIC" $AX -o "$T/ax.png" --raw "$T/ax.npy"
grep -q "256 network runs of up to 1 copies" "$T/out" || fail "fixed batch: $(cat "$T/out")"
expect_ok "$SYNTH" saliency "$PIC" $AX --batch 1 -o "$T/ax1.png" --raw "$T/ax1.npy"
cmp -s "$T/ax.npy" "$T/ax1.npy" || fail "the fallback gives the map of --batch 1"

# The class and the layer; the heat map alone.
expect_ok "$SYNTH" saliency "$PIC" $SHAPES --method gradcam --layer relu3 --class 0 -o "$T/g0.png" --alpha 1
grep -q "^gradcam: class 0 disk p=0\.0" "$T/out" || fail "--class 0: $(cat "$T/out")"
cmp -s "$T/g0.png" "$T/gradcam.png" && fail "another layer and class, another map"

# The built-in network at 32x32, every method (Grad-CAM at relu5_4, 2x2;
# occlusion in 4 copies): finite maps that are not flat.
for method in gradient guided deconvnet gradcam guided-gradcam occlusion; do
    [ $method = occlusion ] && extra="--patch 16 --stride 16" || extra=
    expect_ok "$SYNTH" saliency "$PIC" --size 32 --method $method $extra -o "$T/b.png" --raw "$T/b.npy"
    grep -q "random features" "$T/err" || fail "built-in $method: the built-in network is noted"
    grep -qE "^$method: class [0-9]+ p=[0-9.]+$" "$T/out" || fail "built-in $method: $(cat "$T/out")"
    png_size_is "$T/b.png" 32 32
    npy_shape_is "$T/b.npy" "32, 32"
    check_map "$T/b.npy" "np.isfinite(m).all() and m.max() > m.min()"
done
grep -q "1 network runs of up to 4 copies" "$T/out" || fail "built-in occlusion: $(cat "$T/out")"

# An .npy input of two channels: the heat map alone, at its size.
expect_ok "$SYNTH" saliency "$D/twolayer.x.npy" --model "$D/twolayer.onnx" --method gradcam -o "$T/n.png" --raw "$T/n.npy"
png_size_is "$T/n.png" 8 8
npy_shape_is "$T/n.npy" "8, 8"

# Errors.
expect_fail 1 "--class: 3: the scores have 3 classes" "$SYNTH" saliency "$PIC" $SHAPES --class 3 -o "$T/x.png"
expect_fail 1 "Grad-CAM needs a layer of feature maps" "$SYNTH" saliency "$PIC" $SHAPES --method gradcam --layer fc -o "$T/x.png"
expect_fail 1 "--layer: nope: no such layer" "$SYNTH" saliency "$PIC" $SHAPES --method gradcam --layer nope -o "$T/x.png"
expect_fail 1 "needs a 1xCxHxW input" "$SYNTH" saliency "$D/logreg.x.npy" --model "$D/logreg.onnx" -o "$T/x.png"
expect_fail 1 "x.gif" "$SYNTH" saliency "$PIC" $SHAPES -o "$T/x.gif"
expect_fail 1 "No such file" "$SYNTH" saliency "$T/none.png" $SHAPES -o "$T/x.png"
expect_fail 2 "missing -o" "$SYNTH" saliency "$PIC" $SHAPES
expect_fail 2 "--layer is Grad-CAM's layer" "$SYNTH" saliency "$PIC" $SHAPES --layer relu3 -o "$T/x.png"
expect_fail 2 "not one of gradient|guided" "$SYNTH" saliency "$PIC" $SHAPES --method lime -o "$T/x.png"
expect_fail 2 "--alpha" "$SYNTH" saliency "$PIC" $SHAPES --alpha 2 -o "$T/x.png"
expect_fail 2 "--patch" "$SYNTH" saliency "$PIC" $SHAPES --method occlusion --patch 0 -o "$T/x.png"
expect_fail 2 "unexpected argument" "$SYNTH" saliency "$PIC" "$PIC" $SHAPES -o "$T/x.png"
[ -e "$T/x.png" ] || [ -e "$T/x.gif" ] && fail "failed runs write nothing"
"$SYNTH" saliency --help | grep -q "guided-gradcam" || fail "--help lists the methods"
finish
