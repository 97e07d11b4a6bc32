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

# A failure leaves an existing output as it was.
printf 'keep' >"$T/keep.npy"
expect_fail 1 "no such layer" "$SYNTH" probe --input "$X" --layer nope --out-act "$T/keep.npy"
[ "$(cat "$T/keep.npy")" = keep ] || fail "existing output untouched"
ls -A "$T" | grep -q '\.synth-' && fail "no temporary files left"

"$SYNTH" probe --help | grep -q -- '--relu-backward' || fail "--help lists the options"
finish
