# synth filters and synth activations: grids of a layer's filters and feature
# maps on PyTorch-exported models and the built-in network, errors.
. "$(dirname "$0")/lib.sh"
D=$SYNTH_TEST_DATA/explain
R="--model $D/redness.onnx"
PIC=$SYNTH_SOURCE_DIR/docs/examples/shapes.png

# conv1: 2 filters over RGB -> two colour tiles; conv2: 2 filters x 2 slices.
expect_ok "$SYNTH" filters $R --layer conv1 --zoom 1 -o "$T/f1.png" --raw "$T/w1.npy"
png_size_is "$T/f1.png" 9 5
npy_shape_is "$T/w1.npy" "2, 3, 3, 3"
expect_ok "$SYNTH" filters $R --layer conv2 --zoom 4 -o "$T/f2.png"
png_size_is "$T/f2.png" 27 27
expect_ok "$SYNTH" filters $R --layer conv2 -o "$T/f3.png" # default zoom: 3x3 -> 33 pixels
png_size_is "$T/f3.png" 69 69
# The built-in network: 64 colour tiles of conv1_1; conv2_1 limited to 4 x 8.
expect_ok "$SYNTH" filters --layer conv1_1 -o "$T/b1.png"
png_size_is "$T/b1.png" 273 273
expect_ok "$SYNTH" filters --layer conv2_1 --max-filters 4 --max-slices 8 --zoom 2 -o "$T/b2.png" --raw "$T/bw.npy"
png_size_is "$T/b2.png" 57 29
npy_shape_is "$T/bw.npy" "128, 64, 3, 3"
[ -s "$T/err" ] && fail "filters is not class-based: no note"
expect_fail 1 "is a Relu layer, not a convolution" "$SYNTH" filters --layer relu1_1 -o "$T/x.png"
expect_fail 1 "--layer: nope: no such layer" "$SYNTH" filters --layer nope -o "$T/x.png"
expect_fail 1 "x.bmp" "$SYNTH" filters --layer conv1_1 -o "$T/x.bmp"
expect_fail 2 "missing --layer" "$SYNTH" filters -o "$T/x.png"
expect_fail 2 "missing -o" "$SYNTH" filters --layer conv1_1
expect_fail 2 "--zoom" "$SYNTH" filters --layer conv1_1 --zoom 0 -o "$T/x.png"
expect_fail 2 "unexpected argument" "$SYNTH" filters "$PIC" --layer conv1_1 -o "$T/x.png"

# Activations: redness relu1 on a 64x64 picture -> 2 maps of 64x64 at zoom 1.
expect_ok "$SYNTH" activations "$PIC" $R --layer relu1 -o "$T/a.png" --raw "$T/a.npy"
png_size_is "$T/a.png" 131 66
npy_shape_is "$T/a.npy" "1, 2, 64, 64"
expect_ok "$SYNTH" activations "$PIC" $R --layer relu1 --normalize map --zoom 2 -o "$T/am.png"
png_size_is "$T/am.png" 259 130
# The built-in network at 32x32: relu2_1 has 128 maps of 16x16 (zoom 4), a 12x11 grid.
expect_ok "$SYNTH" activations "$PIC" --size 32 --layer relu2_1 -o "$T/ba.png" --raw "$T/ba.npy"
npy_shape_is "$T/ba.npy" "1, 128, 16, 16"
png_size_is "$T/ba.png" 781 716
# An .npy input is fed as it is.
expect_ok "$SYNTH" activations "$D/twolayer.x.npy" --model "$D/twolayer.onnx" --layer relu -o "$T/n.png"
png_size_is "$T/n.png" 131 131 # 3 maps of 4x4 at zoom 16, 2 per row
expect_fail 1 "the model expects 3" "$SYNTH" activations "$D/twolayer.x.npy" --layer relu1_1 -o "$T/x.png"
expect_fail 1 "too small" "$SYNTH" activations "$PIC" --size 8 --layer pool5 -o "$T/x.png"
expect_fail 1 "No such file" "$SYNTH" activations "$T/none.png" --layer relu1_1 -o "$T/x.png"
expect_fail 2 "missing --layer" "$SYNTH" activations "$PIC" -o "$T/x.png"
expect_fail 2 "not one of layer|map" "$SYNTH" activations "$PIC" --layer relu1_1 --normalize all -o "$T/x.png"
expect_fail 2 "missing argument" "$SYNTH" activations --layer relu1_1 -o "$T/x.png"
[ -e "$T/x.png" ] && fail "failed runs write nothing"
"$SYNTH" filters --help | grep -q -- "--max-slices" || fail "filters --help"
"$SYNTH" activations --help | grep -q -- "--normalize" || fail "activations --help"
finish
