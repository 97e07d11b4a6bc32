# synth rerun: the stored command line round-trips (spaces, quotes), and a
# rerun writes the same bytes (same seed, same thread count); a different
# version, model or preset is refused (exit 1, one line, nothing written)
# unless --force; an image without synth.command is refused.
. "$(dirname "$0")/lib.sh"
E=$SYNTH_SOURCE_DIR/docs/examples
export XDG_CONFIG_HOME=$T/config
D="$T/a dir with 'quotes' and \"double\" \$x"
mkdir -p "$D"
cp "$E/content.jpg" "$D/in put's.jpg"
cat >"$D/my preset.ini" <<'EOF'
[preset]
description = a test preset
[dream]
layer = relu3_1
iters = 2
EOF

# ---- the command line round-trips; the bytes are the same -------------------------
expect_ok "$SYNTH" dream --preset "$D/my preset.ini" --input "$D/in put's.jpg" --size 40 --octaves 2 --seed 7 \
    --threads 2 -o "$D/dream one.png"
# (synth info shows a backslash as \\: undone here)
"$SYNTH" info "$D/dream one.png" | sed 's/\\\\/\\/g' >"$T/meta"
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; } # quoted for a POSIX shell
grep -qxF "synth.command: synth dream --preset $(q "$D/my preset.ini") --input $(q "$D/in put's.jpg") --size 40 --octaves 2 --seed 7 --threads 2 -o $(q "$D/dream one.png")" "$T/meta" \
    || fail "the command is stored shell-quoted: $(grep synth.command "$T/meta")"
grep -qx 'synth.threads: 2' "$T/meta" || fail "synth.threads stored"
expect_ok "$SYNTH" rerun "$D/dream one.png" -o "$T/again.png"
cmp -s "$D/dream one.png" "$T/again.png" || fail "rerun writes the same bytes"
# a command line of any length is stored whole (a 9,000-character title with a quote)
long=$(printf 'x%.0s' $(seq 9000))
expect_ok "$SYNTH" poster --classes 1 --cell 32 --iters 1 --threads 2 --title "$long'q" -o "$T/long.png"
"$SYNTH" info "$T/long.png" | sed 's/\\\\/\\/g' | grep -qF "synth.command: synth poster --classes 1 --cell 32 --iters 1 --threads 2 --title '$long'\\''q' -o" \
    || fail "a long command is stored whole: $("$SYNTH" info "$T/long.png" | grep synth.command | tail -c 80)"
expect_ok "$SYNTH" rerun "$T/long.png" -o "$T/long-again.png"
cmp -s "$T/long.png" "$T/long-again.png" || fail "rerun of a long command writes the same bytes"
# through a shell, the stored command itself does the same (it is valid shell)
cmd=$(sed -n 's/^synth.command: synth //p' "$T/meta")
eval "\"\$SYNTH\" $cmd -o \"\$T/shell.png\"" 2>/dev/null || fail "the stored command runs in a shell"
"$SYNTH" info "$T/shell.png" | grep -q "^width: 40$" || fail "the shell's run wrote its image"
# without -o: the stored output, again the same bytes
cp "$D/dream one.png" "$T/orig.png"
expect_ok "$SYNTH" rerun "$D/dream one.png"
cmp -s "$D/dream one.png" "$T/orig.png" || fail "rerun without -o rewrites the same bytes"
# a style image, L-BFGS, with a preset by name (user folder)
mkdir -p "$XDG_CONFIG_HOME/synth/presets"
printf '[style]\noctaves = 1\niters = 3\n' >"$XDG_CONFIG_HOME/synth/presets/tiny.ini"
expect_ok "$SYNTH" style --preset tiny --content "$E/content.jpg" --style "$E/style.jpg" --size 40 -o "$T/style.png"
expect_ok "$SYNTH" rerun "$T/style.png" -o "$T/style2.png"
cmp -s "$T/style.png" "$T/style2.png" || fail "rerun of style writes the same bytes"

# an ONNX model: its file's SHA-256; a JPEG: the metadata in comments
SMOOTH=$SYNTH_TEST_DATA/render/smooth.onnx
expect_ok "$SYNTH" neuron --model "$SMOOTH" --layer act3 --channel 2 --size 32 --iters 2 -o "$T/neuron.jpg"
"$SYNTH" info "$T/neuron.jpg" | grep -qx "synth.model_sha256: $(sha256sum <"$SMOOTH" | cut -c1-64)" \
    || fail "the model's SHA-256 stored: $("$SYNTH" info "$T/neuron.jpg")"
expect_ok "$SYNTH" rerun "$T/neuron.jpg" -o "$T/neuron2.jpg"
cmp -s "$T/neuron.jpg" "$T/neuron2.jpg" || fail "rerun of a JPEG writes the same bytes"
cp "$SMOOTH" "$T/model.onnx"
expect_ok "$SYNTH" neuron --model "$T/model.onnx" --layer act3 --channel 2 --size 32 --iters 2 -o "$T/m.png"
cp "$SYNTH_TEST_DATA/render/nonfinite.onnx" "$T/model.onnx" # another model, same path
rm -f "$T/m2.png"
expect_fail 1 "the image was made with a model of SHA-256 $(sha256sum <"$SMOOTH" | cut -c1-16)..." "$SYNTH" rerun "$T/m.png" -o "$T/m2.png"
[ -e "$T/m2.png" ] && fail "nothing written for a changed model"

# ---- refusals ---------------------------------------------------------------------
# set_text IN OUT KEY VALUE: a copy of a PNG with one tEXt value replaced
set_text() {
    /usr/bin/python3 - "$@" <<'EOF'
import struct, sys, zlib
src, dst, key, value = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4].encode()
data = open(src, "rb").read()
out, pos = [data[:8]], 8
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"tEXt" and body.split(b"\0")[0] == key:
        body = key + b"\0" + value
    out.append(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body)))
    pos += 12 + n
open(dst, "wb").write(b"".join(out))
EOF
}
refused() { # 'message' rerun-args...
    rm -f "$T/refused.png"
    expect_fail 1 "$1" "$SYNTH" rerun "${@:2}" -o "$T/refused.png"
    [ -e "$T/refused.png" ] && fail "nothing written when refused: $1"
}
if [ -x /usr/bin/python3 ]; then
    set_text "$T/style.png" "$T/old.png" synth.version 0.0.1
    refused "old.png: made by synth 0.0.1, this is synth " "$T/old.png"
    set_text "$T/style.png" "$T/othermodel.png" synth.model_sha256 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    refused "default: the image was made with a model of SHA-256 0123456789abcdef..., this one is builtin" "$T/othermodel.png"
    expect_ok "$SYNTH" rerun --force "$T/othermodel.png" -o "$T/forced.png"
    cmp -s "$T/forced.png" "$T/style.png" || fail "--force renders anyway (same bytes here: same model)"
else
    echo "skipped the version and model checks: /usr/bin/python3 missing"
fi
printf '[style]\noctaves = 1\niters = 4\n' >"$XDG_CONFIG_HOME/synth/presets/tiny.ini"
refused "style.png: the preset 'tiny' has changed since the image was made (--force renders anyway)" "$T/style.png"
refused "content.jpg: no synth.command in its metadata" "$E/content.jpg"
refused "nothing.png: " "$T/nothing.png"
expect_fail 2 "missing argument" "$SYNTH" rerun
"$SYNTH" rerun --help | grep -q 'synth rerun IMAGE' || fail "rerun --help"

finish
