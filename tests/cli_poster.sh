# synth poster: its size follows --cols, --cell, --caption-size and --title;
# bad flags and
# fonts are clear errors that write nothing; Ctrl-C writes the poster so far.
. "$(dirname "$0")/lib.sh"
P=(poster --cell 32 --iters 2 --caption-size 10 --seed 5)

expect_ok "$SYNTH" "${P[@]}" --classes 1,2,3 --cols 2 -o "$T/p.png"
png_size_is "$T/p.png" $((2 * 33 + 1)) $((2 * (32 + 20 + 1) + 1))
grep -q 'class 3 (channel 3), 3 of 3' "$T/err" || fail "names each class: $(cat "$T/err")"
expect_ok "$SYNTH" "${P[@]}" --classes 1-3 --cols 3 --title 'Three channels' -o "$T/t.png"
png_size_is "$T/t.png" $((3 * 33 + 1)) $((40 + 32 + 20 + 1 + 1))
expect_ok "$SYNTH" "${P[@]}" --classes 4 --cell 64 --caption-size 0 -o "$T/c.png"
png_size_is "$T/c.png" $((64 + 2 + 2)) $((64 + 20 + 2 + 2)) # g = 64/32, C = max(10, 64/14)
"$SYNTH" info "$T/p.png" | grep -q '^synth.command: synth poster ' || fail "metadata stored"

# ---- captions from --labels on a classifier; its class count is checked first --------
SHAPES=$SYNTH_SOURCE_DIR/tests/data/explain/shapes.onnx
printf 'alpha\nbeta dog\ngamma\n' >"$T/names.labels"
expect_ok "$SYNTH" poster --model "$SHAPES" --labels "$T/names.labels" --classes 0,1 --cell 64 --iters 2 -o "$T/named.png"
grep -q 'class 1 (beta dog), 2 of 2' "$T/err" || fail "captions from --labels: $(cat "$T/err")"
png_size_is "$T/named.png" $((2 * 66 + 2)) $((64 + 2 * 10 + 2 + 2))
expect_ok "$SYNTH" poster --model "$SHAPES" --classes 2 --cell 48 --iters 1 -o "$T/unnamed.png"
grep -q 'class 2 (class 2), 1 of 1' "$T/err" || fail "a model without labels: 'class K': $(cat "$T/err")"
expect_fail 1 "--classes: 3 is out of range: layer 'fc' has 3 classes (0 to 2)" \
    "$SYNTH" poster --model "$SHAPES" --classes 2,3 --cell 64 --iters 1 -o "$T/e.png"
[ -e "$T/e.png" ] && fail "an out-of-range class writes nothing"

# ---- errors: exit 1 or 2, one line, nothing written ---------------------------------
expect_fail 1 "--font: $T/none.ttf: No such file" "$SYNTH" "${P[@]}" --classes 1 --font "$T/none.ttf" -o "$T/e.png"
expect_fail 1 "not a font FreeType can read" "$SYNTH" "${P[@]}" --classes 1 --font "$T/p.png" -o "$T/e.png"
expect_fail 1 "--classes: 'x' is not a class index" "$SYNTH" "${P[@]}" --classes 1,x -o "$T/e.png"
expect_fail 1 "--classes: 2000 is out of range: layer 'pool5' has 512 classes (0 to 511)" "$SYNTH" "${P[@]}" --classes 1,2000 -o "$T/e.png"
expect_fail 1 "--layer: nosuch: no such layer" "$SYNTH" "${P[@]}" --classes 1 --layer nosuch -o "$T/e.png"
expect_fail 2 "missing --classes" "$SYNTH" "${P[@]}" -o "$T/e.png"
expect_fail 2 "missing -o FILE" "$SYNTH" "${P[@]}" --classes 1
expect_fail 2 "--cell" "$SYNTH" "${P[@]}" --classes 1 --cell 4 -o "$T/e.png"
expect_fail 2 "unknown option '--save-every'" "$SYNTH" "${P[@]}" --classes 1 --save-every 1 -o "$T/e.png"
[ -e "$T/e.png" ] && fail "a failed poster writes nothing"
expect_ok "$SYNTH" poster --help
grep -q -- '--classes K1,K2' "$T/out" || fail "--help lists --classes"
grep -q -- '--decorrelate' "$T/out" || fail "--help lists the classvis options"

# ---- Ctrl-C: the poster so far, exit 130 ---------------------------------------------
"$SYNTH" poster --cell 32 --iters 100000 --classes 1,2,3 --cols 3 -o "$T/int.png" >"$T/out" 2>"$T/err" &
pid=$! waited=0
while ! grep -q 'iter' "$T/err" && [ $waited -lt 600 ]; do sleep 0.1; waited=$((waited + 1)); done
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] || fail "SIGINT: exit $rc: $(cat "$T/err")"
grep -q "class 1 (1 of 3): interrupted at octave 1/1; the current image is in $T/int.png" "$T/err" \
    || fail "SIGINT says so: $(cat "$T/err")"
png_size_is "$T/int.png" $((3 * 33 + 1)) $((32 + 20 + 1 + 1))
finish
