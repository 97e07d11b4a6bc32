# synth info: what it prints for every kind of PNG and JPEG, and the one-line
# error with exit 1 for empty, missing, foreign, corrupt, truncated and
# oversized files (exit 2 for usage errors).
. "$(dirname "$0")/lib.sh"
: "${SYNTH_TEST_TOOLS:?SYNTH_TEST_TOOLS must point at the built test tools}"

D=$T/img
mkdir -p "$D"
if ! "$SYNTH_TEST_TOOLS/tool_images" "$D"; then
    fail "tool_images could not write the test images"
    finish
fi

# expect_info [options] FILE 'line'...   synth info succeeds and prints each line
expect_info() {
    local args=()
    while [ "${1#--}" != "$1" ]; do args+=("$1"); shift; done
    local file=$1
    shift
    expect_ok "$SYNTH" info "${args[@]}" "$file"
    for line in "$@"; do
        grep -qxF -- "$line" "$T/out" || fail "info $file: no line '$line' in: $(tr '\n' '|' <"$T/out")"
    done
}

expect_info "$D/rgb8.png" "format: PNG" "width: 64" "height: 48" "channels: 3" "bit depth: 8" \
    "color: rgb" "interlaced: no" "Software: synth test" 'synth.seed: 42\nnext'
[ "$(wc -l <"$T/out")" = 9 ] || fail "rgb8.png: expected 9 lines, got: $(cat "$T/out")"
expect_info "$D/rgba16.png" "channels: 4" "bit depth: 16" "color: rgba" "interlaced: yes"
expect_info "$D/palette.png" "channels: 4" "bit depth: 4" "color: palette"
expect_info "$D/gray4.png" "channels: 1" "bit depth: 4" "color: gray"
expect_info "$D/base.jpg" "format: JPEG" "width: 64" "height: 48" "channels: 3" "bit depth: 8" \
    "color: ycbcr" "progressive: no" "Software: fixture"
expect_info "$D/prog.jpg" "progressive: yes"
expect_info "$D/gray.jpg" "channels: 1" "color: gray"
expect_info "$D/cmyk.jpg" "channels: 4" "color: cmyk"
expect_info --headers "$D/prog.jpg" "format: JPEG" "progressive: yes"

# the content decides, not the name
cp "$D/rgb8.png" "$D/really-a-png.jpg"
expect_info "$D/really-a-png.jpg" "format: PNG"
cp "$D/base.jpg" "$D/no-extension"
expect_info "$D/no-extension" "format: JPEG"

# bad inputs: one line, exit 1
: >"$D/empty.png"
expect_fail 1 "synth: $D/empty.png: empty file" "$SYNTH" info "$D/empty.png"
expect_fail 1 "synth: $D/missing.png: cannot open: No such file or directory" "$SYNTH" info "$D/missing.png"
expect_fail 1 "synth: $D: is a directory" "$SYNTH" info "$D"
echo "hello, not an image" >"$D/notes.png"
expect_fail 1 "synth: $D/notes.png: not a PNG or JPEG image" "$SYNTH" info "$D/notes.png"
printf 'GIF89a\001\000\001\000' >"$D/anim.png"
expect_fail 1 "anim.png: is a GIF image; synth reads PNG and JPEG" "$SYNTH" info "$D/anim.png"
expect_fail 1 "huge.png: image is 100000 x 100000 pixels, above the limit of 268435456 pixels" \
    "$SYNTH" info "$D/huge.png"
expect_fail 1 "huge.png: image is 100000 x 100000 pixels" "$SYNTH" info --headers "$D/huge.png"
expect_fail 1 "huge.jpg: image is 65000 x 65000 pixels, above the limit" "$SYNTH" info "$D/huge.jpg"
cp "$D/rgb8.png" "$D/crc.png"
printf '\377' | dd of="$D/crc.png" bs=1 seek=20 conv=notrunc 2>/dev/null
expect_fail 1 "crc.png: invalid PNG file (IHDR: CRC error)" "$SYNTH" info "$D/crc.png"
cp "$D/base.jpg" "$D/corrupt.jpg"
size=$(stat -c %s "$D/corrupt.jpg")
printf '\377\331' | dd of="$D/corrupt.jpg" bs=1 seek=$((size - 60)) conv=notrunc 2>/dev/null
expect_fail 1 "corrupt.jpg: invalid JPEG file" "$SYNTH" info "$D/corrupt.jpg"

# truncated anywhere: every one of the first bytes, then throughout the file
for f in rgb8.png rgba16.png palette.png base.jpg prog.jpg cmyk.jpg; do
    size=$(stat -c %s "$D/$f")
    for cut in $(seq 1 16) $(seq 17 $((size / 20 + 1)) $((size - 1))) $((size - 1)); do
        head -c "$cut" "$D/$f" >"$D/cut-$f"
        expect_fail 1 "cut-$f: truncated" "$SYNTH" info "$D/cut-$f"
    done
done
# cut inside the pixel data: the headers still read, the full check fails
size=$(stat -c %s "$D/rgb8.png")
head -c $((size - 40)) "$D/rgb8.png" >"$D/late-cut.png"
expect_info --headers "$D/late-cut.png" "width: 64" "Software: synth test"
expect_fail 1 "late-cut.png: truncated PNG file" "$SYNTH" info "$D/late-cut.png"

# usage errors: exit 2
expect_fail 2 "missing FILE" "$SYNTH" info
expect_fail 2 "unexpected argument" "$SYNTH" info "$D/rgb8.png" "$D/base.jpg"
expect_fail 2 "unknown option '--bogus'" "$SYNTH" info --bogus "$D/rgb8.png"
expect_ok "$SYNTH" info --help
grep -q '^Usage: synth info FILE' "$T/out" || fail "info --help shows the usage"
grep -q -- '--headers' "$T/out" || fail "info --help lists --headers"
expect_ok "$SYNTH" --help
grep -q '^  info ' "$T/out" || fail "synth --help lists info"
finish
