# synth classify: top classes with probabilities on PyTorch-exported models
# (a trained one, the lectures' logistic regression) and the built-in
# network; probabilities read as they are from a Softmax/Sigmoid layer; errors.
. "$(dirname "$0")/lib.sh"
D=$SYNTH_TEST_DATA/explain
SHAPES="--model $D/shapes.onnx --labels $D/shapes.labels"
PIC=$SYNTH_SOURCE_DIR/docs/examples/shapes.png # a triangle

# The trained shapes classifier sees the triangle.
expect_ok "$SYNTH" classify "$PIC" $SHAPES --top 2
[ "$(wc -l <"$T/out")" = 2 ] || fail "--top 2 lists two classes"
head -1 "$T/out" | grep -qE '^0\.9[0-9]{5}  2 triangle$' || fail "shapes.png is a triangle: $(cat "$T/out")"
[ -s "$T/err" ] && fail "no note for a real model: $(cat "$T/err")"

# Logistic regression, x = (1,-2,-2,3,-1,2,-2,-3): w.x = -2, P(y=1) = sigmoid(-2).
LR="--model $D/logreg.onnx"
expect_ok "$SYNTH" classify "$D/logreg.x.npy" $LR --raw "$T/p.npy"
printf '0.880797  0\n0.119203  1\n' | cmp -s - "$T/out" || fail "logistic probabilities: $(cat "$T/out")"
npy_shape_is "$T/p.npy" "1, 2"
for layer in prob logit; do # the Sigmoid's output as is; its input through a sigmoid
    expect_ok "$SYNTH" classify "$D/logreg.x.npy" $LR --layer $layer
    printf '0.880797  0\n0.119203  1\n' | cmp -s - "$T/out" || fail "--layer $layer: $(cat "$T/out")"
done

# Several inputs: one block each, one row each in --raw.
expect_ok "$SYNTH" classify "$PIC" "$PIC" $SHAPES --top 1 --raw "$T/p2.npy"
[ "$(grep -c 'shapes.png$' "$T/out")" = 2 ] && [ "$(wc -l <"$T/out")" = 4 ] || fail "a block per input: $(cat "$T/out")"
npy_shape_is "$T/p2.npy" "2, 3"

# The built-in network: channel 'classes', and a note saying so.
expect_ok "$SYNTH" classify "$PIC" --size 32
[ "$(wc -l <"$T/out")" = 5 ] || fail "five classes by default"
grep -q "random features" "$T/err" || fail "the built-in network is noted"
awk '{ if ($2 < 0 || $2 >= 512) exit 1 }' "$T/out" || fail "built-in classes are its 512 channels"

# Errors: one line, exit 1; usage exit 2; nothing written.
expect_fail 1 "No such file" "$SYNTH" classify "$T/none.png" $SHAPES
expect_fail 1 "no such layer" "$SYNTH" classify "$PIC" $SHAPES --layer nope
expect_fail 1 "the model expects 2 dimensions" "$SYNTH" classify "$PIC" $LR
expect_fail 1 "twolayer.x.npy: input: 'input' is 1x2x8x8, the model expects 2 dimensions" \
    "$SYNTH" classify "$D/logreg.x.npy" "$D/twolayer.x.npy" $LR # which input
expect_fail 1 "does not exist" "$SYNTH" classify "$PIC" $SHAPES --raw "$T/no/dir/p.npy"
expect_fail 1 "nope.onnx" "$SYNTH" classify "$PIC" --model "$T/nope.onnx"
printf 'not an image' >"$T/bad.png"
expect_fail 1 "bad.png" "$SYNTH" classify "$T/bad.png" $SHAPES
expect_fail 1 "bad.png" "$SYNTH" classify "$T/bad.png" # the built-in network: still one line
expect_fail 2 "missing argument" "$SYNTH" classify $SHAPES
expect_fail 2 "--top" "$SYNTH" classify "$PIC" --top 0
expect_fail 2 "--size" "$SYNTH" classify "$PIC" --size 0
expect_fail 1 "--size: '1.5' is not a whole number" "$SYNTH" classify "$PIC" --size 1.5
ls "$T" | grep -qv -e '^out$' -e '^err$' -e '^p.npy$' -e '^p2.npy$' -e '^bad.png$' && fail "failed runs write nothing: $(ls "$T")"
"$SYNTH" classify --help | grep -q -- '--top' || fail "--help lists the options"
finish
