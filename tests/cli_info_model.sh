# synth info --model: the built-in network's layers, shapes at a size, errors.
. "$(dirname "$0")/lib.sh"

expect_ok "$SYNTH" info --model default
grep -q '^model: default (built-in' "$T/out" || fail "names the built-in model"
grep -q '^input: input 1x3x224x224$' "$T/out" || fail "declared input"
grep -q '^parameters: 20024384$' "$T/out" || fail "parameter count"
grep -q '^layers: 37$' "$T/out" || fail "layer count"
grep -Eq '^ +0  conv1_1 +conv1_1 +Conv +1x64x224x224$' "$T/out" || fail "first layer line"
grep -Eq '^ +29  relu5_1 +relu5_1 +Relu +1x512x14x14$' "$T/out" || fail "relu5_1 line"

expect_ok "$SYNTH" info --model default --size 512,384
grep -q '^input: input 1x3x512x384$' "$T/out" || fail "--size sets the input"
grep -Eq ' pool5 +pool5 +MaxPool +1x512x16x12$' "$T/out" || fail "pool5 at 512x384"
expect_ok "$SYNTH" info --model default --size 100
grep -Eq ' relu3_1 +relu3_1 +Relu +1x256x25x25$' "$T/out" || fail "one --size number is square"
expect_ok "$SYNTH" info --model default --size 16,16
grep -Eq ' pool5 +pool5 +MaxPool +\(the input is too small\)$' "$T/out" || fail "too small is said per layer"
grep -Eq ' conv5_1 +conv5_1 +Conv +1x512x1x1$' "$T/out" || fail "layers that fit still show"

# A file-loaded plain conv/relu/pool chain gets the VGG aliases too.
expect_ok "$SYNTH" info --model "$SYNTH_SOURCE_DIR/tests/fuzz/onnx/conv_relu_pool.onnx"
grep -Eq '^ +0  conv1 +conv1_1 +Conv +1x4x8x8$' "$T/out" || fail "conv1_1 alias on a file"
grep -Eq '^ +1  relu1 +relu1_1 +Relu +1x4x8x8$' "$T/out" || fail "relu1_1 alias on a file"
grep -Eq '^ +2  pool1 +pool1 +MaxPool +1x4x4x4$' "$T/out" || fail "pool1 alias on a file"
# A shape that fails for another reason than size says why.
expect_ok "$SYNTH" info --model "$SYNTH_TEST_DATA/explain/linear.onnx" --size 8,8
grep -Eq ' fc +- +Gemm +\(fc: inner dimensions differ \(192 and 60\)\)$' "$T/out" || fail "the real reason, not 'too small'"

expect_fail 2 "--size: '0' is not" "$SYNTH" info --model default --size 0,5
expect_fail 2 "whole number" "$SYNTH" info --model default --size 1.5
expect_fail 2 "--size goes with --model" "$SYNTH" info --size 5 somefile.png
expect_fail 2 "either FILE or --model" "$SYNTH" info --model default somefile.png
expect_fail 1 "no-such-net.onnx" "$SYNTH" info --model no-such-net.onnx
"$SYNTH" info --help | grep -q -- '--model M' || fail "--help documents --model"
finish
