# The executable's front door: help, version, unknown commands and exit codes.
. "$(dirname "$0")/lib.sh"

expect_ok "$SYNTH" --help
grep -q '^Usage: synth COMMAND' "$T/out" || fail "--help shows usage"
expect_ok "$SYNTH" --version
grep -Eq '^synth [0-9]+\.[0-9]+\.[0-9]+$' "$T/out" || fail "--version prints 'synth X.Y.Z'"
expect_fail 2 "unknown command 'frobnicate'" "$SYNTH" frobnicate
expect_fail 2 "" "$SYNTH"

# SYNTH_MAX_PIXELS: the pixel limit of every command. The example is
# 640 x 480 = 307200 pixels: a limit of exactly that reads it, one less refuses.
"$SYNTH" --help | grep -q "^  SYNTH_MAX_PIXELS=N" || fail "synth --help names SYNTH_MAX_PIXELS"
IMG=$SYNTH_SOURCE_DIR/docs/examples/content.jpg
expect_ok env SYNTH_MAX_PIXELS=307200 "$SYNTH" info "$IMG"
grep -q '^width: 640$' "$T/out" || fail "SYNTH_MAX_PIXELS=307200 reads the 640x480 image"
expect_fail 1 "$IMG: image is 640 x 480 pixels, above the limit of 307199 pixels" \
    env SYNTH_MAX_PIXELS=307199 "$SYNTH" info "$IMG"
expect_fail 1 "above the limit of 307199 pixels" \
    env SYNTH_MAX_PIXELS=307199 "$SYNTH" classify "$IMG"
for bad in 0 -1 12abc abc 18446744073709551616 ' 5'; do
    expect_fail 2 "synth: SYNTH_MAX_PIXELS: '$bad' is not an integer in [1, 18446744073709551615]" \
        env SYNTH_MAX_PIXELS="$bad" "$SYNTH" info "$IMG"
    [ "$(wc -l <"$T/err")" = 1 ] || fail "SYNTH_MAX_PIXELS='$bad': one line"
done
finish
