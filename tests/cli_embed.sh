# synth embed: feature rows and nearest neighbours on a constructed case (two
# pairs of near-duplicates), pooling, the built-in network and a
# PyTorch-exported model, errors.
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
