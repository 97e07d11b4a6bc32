# synth top-patches: the planted red square wins, cropped to the unit's
# receptive field (8x8 for redness.onnx's relu2); folders and files; the
# built-in network; an .npy input; errors.
. "$(dirname "$0")/lib.sh"
"$SYNTH_TEST_TOOLS/tool_explain" "$T" || { echo "tool_explain failed"; exit 1; }
D=$SYNTH_TEST_DATA/explain
R="--model $D/redness.onnx --layer relu2 --channel 0"

expect_ok "$SYNTH" top-patches $R "$T/patches" --top 3 -o "$T/g.png" --raw "$T/v.npy"
[ "$(wc -l <"$T/out")" = 3 ] || fail "a line per patch: $(cat "$T/out")"
head -1 "$T/out" | grep -qE "^1  [0-9.]+  $T/patches/img4.png  unit [0-9]+,[0-9]+  crop (9|10|11),(13|14|15)$" ||
    fail "the planted square comes first, cropped on it: $(cat "$T/out")"
png_size_is "$T/g.png" 19 19 # 3 crops of 8x8, 2 per row
npy_shape_is "$T/v.npy" "3,"
# Files and folders mix; the other channel ranks differently.
expect_ok "$SYNTH" top-patches $R "$T/patches/img4.png" "$T/patches/img0.png" --top 1 --cols 1 -o "$T/g1.png"
grep -q "img4.png" "$T/out" && png_size_is "$T/g1.png" 10 10
expect_ok "$SYNTH" top-patches --model "$D/redness.onnx" --layer relu2 --channel 1 "$T/patches" -o "$T/g2.png"
[ "$(wc -l <"$T/out")" = 6 ] || fail "--top 9 over 6 images keeps 6"
# The built-in network: relu3_1 units see 24x24 pixels.
expect_ok "$SYNTH" top-patches --layer relu3_1 --channel 7 "$T/patches" "$T/embed" --top 4 -o "$T/b.png"
png_size_is "$T/b.png" 51 51
[ -s "$T/err" ] && fail "top-patches is not class-based: no note"

# An .npy fed as it is (no clipping): gray noise with a square of R = 2,
# G = B = 0 at rows 4..11, columns 6..13; channel 0 of relu2 there is
# R - (G + B) / 2 = 2, above any image's 1, so it ranks first, cropped on it.
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    /usr/bin/python3 - "$T/red.npy" <<'PY' || fail "writing red.npy"
import sys, numpy as np
g = np.random.default_rng(3).random((24, 32), dtype=np.float32)
x = np.stack([g, g, g])[None].copy()
x[0, 0, 4:12, 6:14], x[0, 1:, 4:12, 6:14] = 2, 0
np.save(sys.argv[1], x)
np.save(sys.argv[1].replace("red", "tiny"), np.zeros((1, 3, 2, 2), np.float32))
PY
    expect_ok "$SYNTH" top-patches $R "$T/patches" "$T/red.npy" --top 2 -o "$T/n.png"
    head -1 "$T/out" | grep -qE "^1  2  $T/red.npy  unit [0-9]+,[0-9]+  crop (3|4|5),(5|6|7)$" ||
        fail "the .npy's square comes first: $(cat "$T/out")"
    sed -n 2p "$T/out" | grep -q "img4.png" || fail "then the planted square: $(cat "$T/out")"
    png_size_is "$T/n.png" 19 10 # 2 crops of 8x8 in a row
else
    echo "note: no numpy for /usr/bin/python3: no .npy input made"
fi
# A tensor that is not 1x3xHxW: no picture to crop.
expect_fail 1 "twolayer.x.npy: is not an image (an .npy must be 1x3xHxW" "$SYNTH" top-patches $R "$D/twolayer.x.npy" -o "$T/x.png"
expect_fail 1 "logreg.x.npy: is not an image" "$SYNTH" top-patches $R "$T/patches" "$D/logreg.x.npy" -o "$T/x.png"
# One too small for the layer: the file is named.
[ -e "$T/tiny.npy" ] && expect_fail 1 "tiny.npy: layer 'pool2' (MaxPool): the 1x1 input is too small" \
    "$SYNTH" top-patches --layer relu3_1 --channel 0 "$T/patches" "$T/tiny.npy" -o "$T/x.png"

expect_fail 1 "holds no .png, .jpg or .jpeg files" "$SYNTH" top-patches $R "$T/empty" -o "$T/x.png"
expect_fail 1 "No such file" "$SYNTH" top-patches $R "$T/nowhere" -o "$T/x.png"
expect_fail 1 "--channel: 2 is out of range" "$SYNTH" top-patches --model "$D/redness.onnx" --layer relu2 --channel 2 "$T/patches" -o "$T/x.png"
expect_fail 1 "no such layer" "$SYNTH" top-patches --layer nope --channel 0 "$T/patches" -o "$T/x.png"
printf 'junk' >"$T/patches/zz.png"
expect_fail 1 "zz.png" "$SYNTH" top-patches $R "$T/patches" -o "$T/x.png"
expect_fail 2 "missing --channel" "$SYNTH" top-patches --layer relu2 "$T/patches" -o "$T/x.png"
expect_fail 2 "missing --layer" "$SYNTH" top-patches --channel 0 "$T/patches" -o "$T/x.png"
expect_fail 2 "missing -o" "$SYNTH" top-patches $R "$T/patches"
expect_fail 2 "missing argument" "$SYNTH" top-patches $R -o "$T/x.png"
expect_fail 2 "--top" "$SYNTH" top-patches $R "$T/patches" --top 0 -o "$T/x.png"
[ -e "$T/x.png" ] && fail "failed runs write nothing"
"$SYNTH" top-patches --help | grep -q "receptive field" || fail "--help"
finish
