# synth classvis names the class it visualizes: "class K (name)" once on
# stderr and synth.class "K name" in the PNG's metadata, the name from the
# model's labels or --labels; a --labels file that does not name every class
# of the score layer, or is missing, is a one-line error that writes nothing.
. "$(dirname "$0")/lib.sh"
D=$SYNTH_TEST_DATA/explain
C=(classvis --model "$D/shapes.onnx" --size 32 --iters 2 --seed 3)

expect_ok "$SYNTH" "${C[@]}" --labels "$D/shapes.labels" --class 1 -o "$T/named.png"
[ "$(grep -c '^synth: class 1 (square)$' "$T/err")" = 1 ] || fail "says once 'class 1 (square)': $(cat "$T/err")"
"$SYNTH" info "$T/named.png" >"$T/info" || fail "synth info reads the classvis PNG"
grep -qx 'synth.class: 1 square' "$T/info" || fail "synth.class holds '1 square': $(cat "$T/info")"

# Labels from another file replace the model's: the name follows the file.
printf 'alpha\nbeta dog\ngamma\n' >"$T/three.labels"
expect_ok "$SYNTH" "${C[@]}" --labels "$T/three.labels" --class 1 -o "$T/beta.png"
grep -qx 'synth: class 1 (beta dog)' "$T/err" || fail "the name from --labels: $(cat "$T/err")"
"$SYNTH" info "$T/beta.png" | grep -qx 'synth.class: 1 beta dog' || fail "synth.class from --labels"

# No labels: the index alone.
expect_ok "$SYNTH" "${C[@]}" --class 2 -o "$T/unnamed.png"
grep -qx 'synth: class 2' "$T/err" || fail "a model without labels says 'class 2': $(cat "$T/err")"
"$SYNTH" info "$T/unnamed.png" | grep -qx 'synth.class: 2' || fail "synth.class is '2' without labels"
expect_ok "$SYNTH" "${C[@]}" --quiet --labels "$D/shapes.labels" --class 1 -o "$T/quiet.png"
[ -s "$T/err" ] && fail "--quiet says nothing: $(cat "$T/err")"

# ---- --labels errors: exit 1, one line, nothing written ----------------------------
printf 'alpha\nbeta\n' >"$T/two.labels"
expect_fail 1 "--labels: $T/two.labels has 2 lines, layer 'fc' has 3 classes" \
    "$SYNTH" "${C[@]}" --labels "$T/two.labels" --class 1 -o "$T/e.png"
printf 'a\nb\nc\nd\n' >"$T/four.labels"
expect_fail 1 "has 4 lines, layer 'fc' has 3 classes" "$SYNTH" "${C[@]}" --labels "$T/four.labels" --class 1 -o "$T/e.png"
expect_fail 1 "$T/none.labels: cannot open" "$SYNTH" "${C[@]}" --labels "$T/none.labels" --class 1 -o "$T/e.png"
[ -e "$T/e.png" ] && fail "a bad --labels writes nothing"
expect_ok "$SYNTH" classvis --help
grep -q 'class K (name)' "$T/out" || fail "--help says classvis names the class"

finish
