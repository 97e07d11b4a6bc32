# synth texture on the command line: the size rules (--width and --height,
# one of them by the style's aspect, --size), the default --tile 1024,
# larger than the style and through --tile with --tileable, several styles
# with --style-blend, an ONNX model, the PNG metadata, --help, and bad flags
# with one-line errors and the right exit codes, writing nothing.
. "$(dirname "$0")/lib.sh"
E=$SYNTH_SOURCE_DIR/docs/examples

# a 64x32 style: the aspect rules are visible
"$SYNTH" style --content "$E/content.jpg" --style "$E/style.jpg" --size 64 --iters 0 --octaves 1 -o "$T/s.png" 2>/dev/null
"$SYNTH" info "$T/s.png" >/dev/null 2>&1 || fail "made the 64x48 style"

expect_ok "$SYNTH" texture --style "$T/s.png" --width 40 --height 36 --octaves 1 --iters 2 -o "$T/wh.png"
png_size_is "$T/wh.png" 40 36
grep -q "wrote $T/wh.png (40x36)" "$T/err" || fail "texture says what it wrote: $(cat "$T/err")"
expect_ok "$SYNTH" texture --style "$T/s.png" --width 48 --octaves 1 --iters 2 -o "$T/w.png"
png_size_is "$T/w.png" 48 36
expect_ok "$SYNTH" texture --style "$T/s.png" --size 40 --octaves 1 --iters 2 --match-histogram -o "$T/size.png"
png_size_is "$T/size.png" 40 30
# larger than the style, tileable, through 64-pixel windows, two octaves
expect_ok "$SYNTH" texture --style "$T/s.png" --width 160 --height 96 --tileable --tile 64 --iters 2 -o "$T/big.png"
png_size_is "$T/big.png" 160 96

# wider than the default --tile 1024: windows without asking. The tiled
# objective (a sum over cells) differs from one pass at the deep layers, so
# the logged loss tells them apart: the default's is --tile 1024's, not --tile 0's.
for t in default 1024 0; do
    set --
    [ $t = default ] || set -- --tile $t
    expect_ok "$SYNTH" texture --style "$T/s.png" --width 1100 --height 24 --octaves 1 --iters 1 "$@" \
        --log-json "$T/tile_$t.json" -o "$T/tile_$t.png"
    png_size_is "$T/tile_$t.png" 1100 24
    sed 's/"seconds":[^}]*//' "$T/tile_$t.json" >"$T/tile_$t.loss"
done
cmp -s "$T/tile_default.loss" "$T/tile_1024.loss" || fail "texture's default tile is 1024"
cmp -s "$T/tile_default.loss" "$T/tile_0.loss" && fail "--tile 0 runs one pass (another loss)"
"$SYNTH" texture --help | grep -q -- "--tile 1024" || fail "--help gives the default --tile 1024"

"$SYNTH" info "$T/big.png" >"$T/meta"
grep -qF "synth.command: synth texture --style $T/s.png --width 160 --height 96 --tileable --tile 64 --iters 2 -o $T/big.png" \
    "$T/meta" || fail "synth.command stored: $(grep synth.command "$T/meta")"
grep -q '^synth.model: default$' "$T/meta" || fail "synth.model stored"
grep -q '^synth.seed: 0$' "$T/meta" || fail "synth.seed stored"
grep -q '^synth.version: ' "$T/meta" || fail "synth.version stored"

# several styles with --style-blend; weights 1,0 are the first style alone
# (same losses, same pixels)
expect_ok "$SYNTH" texture --style "$E/style.jpg" --style "$T/s.png" --style-blend 2,1 --size 40 --octaves 1 \
    --iters 2 -o "$T/blend.png"
png_size_is "$T/blend.png" 40 40
"$SYNTH" info "$T/blend.png" | grep -qF -- "--style $E/style.jpg --style $T/s.png --style-blend 2,1" \
    || fail "the styles and blend stored in synth.command"
for b in 10 1; do
    set -- --style "$E/style.jpg"
    [ $b = 10 ] && set -- "$@" --style "$T/s.png" --style-blend 1,0
    expect_ok "$SYNTH" texture "$@" --size 40 --octaves 1 --iters 2 --log-json "$T/b$b.json" -o "$T/b$b.png"
    sed 's/"seconds":[^}]*//' "$T/b$b.json" >"$T/b$b.loss"
done
cmp -s "$T/b10.loss" "$T/b1.loss" || fail "--style-blend 1,0 logs the single style's losses"
if /usr/bin/python3 -c "import numpy, PIL" 2>/dev/null; then
    /usr/bin/python3 -c "import sys, numpy as np; from PIL import Image
sys.exit(not np.array_equal(*(np.asarray(Image.open(f)) for f in sys.argv[1:])))" "$T/b10.png" "$T/b1.png" \
        || fail "--style-blend 1,0 gives the single style's pixels"
fi

# a committed ONNX model (conv/ReLU chain), by its own layer names
VGG=$SYNTH_TEST_DATA/onnx/vgg_bn_opset9.onnx
expect_ok "$SYNTH" texture --model "$VGG" --style-layers /body/Relu,/body/Relu_2 --style "$T/s.png" --width 40 \
    --height 32 --octaves 1 --iters 2 -o "$T/onnx.png"
png_size_is "$T/onnx.png" 40 32
"$SYNTH" info "$T/onnx.png" >"$T/meta"
grep -q '^synth.model: vgg_bn_opset9$' "$T/meta" || fail "synth.model names the ONNX model: $(grep synth.model "$T/meta")"
grep -qF -- "--style-layers /body/Relu,/body/Relu_2" "$T/meta" || fail "the style layers stored in synth.command"

expect_ok "$SYNTH" texture --help
for flag in --style --width --height --tileable --match-histogram --style-scale --tile; do
    grep -qF -- "$flag" "$T/out" || fail "--help lists $flag"
done
expect_ok "$SYNTH" --help
grep -q '^  texture ' "$T/out" || fail "synth --help lists texture"

# ---- bad flags ----------------------------------------------------------------------
expect_fail 2 "missing --style" "$SYNTH" texture -o "$T/x.png"
expect_fail 2 "missing -o" "$SYNTH" texture --style "$T/s.png"
expect_fail 2 "--width: '0' is not" "$SYNTH" texture --style "$T/s.png" --width 0 -o "$T/x.png"
expect_fail 2 "--height: '70000' is not" "$SYNTH" texture --style "$T/s.png" --height 70000 -o "$T/x.png"
expect_fail 2 "--style-scale: '0' is not" "$SYNTH" texture --style "$T/s.png" --style-scale 0 -o "$T/x.png"
expect_fail 1 "--pad: breaks the wrap-around of --tileable" "$SYNTH" texture --style "$T/s.png" --tileable --pad 8 \
    -o "$T/x.png"
expect_fail 1 "--scale-jitter: breaks the wrap-around" "$SYNTH" texture --style "$T/s.png" --tileable \
    --scale-jitter 0.1 -o "$T/x.png"
expect_fail 1 "--style: $T/missing.png" "$SYNTH" texture --style "$T/missing.png" -o "$T/x.png"
expect_fail 1 "--style-blend: has 2 weights for 1 style images" "$SYNTH" texture --style "$T/s.png" \
    --style-blend 1,2 --size 32 -o "$T/x.png"
expect_fail 1 "image size: " "$SYNTH" texture --style "$T/s.png" --size 8 -o "$T/x.png"
[ -e "$T/x.png" ] && fail "no output after an error"

finish
