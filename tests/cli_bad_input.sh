#!/usr/bin/env bash
# The README's bad-input table is the specification: every row's example runs
# here, in a folder holding the files the examples name, and must exit with
# the row's status and print the row's message (`<...>` matches any text),
# one line (usage errors: then the row's second line). Nothing may appear in
# the folder. A row added to the table is checked without touching this file
# (as long as its files exist below).
source "$(dirname "$0")/lib.sh"
: "${SYNTH_TEST_TOOLS:?}" "${SYNTH_SOURCE_DIR:?}"
SRC=$SYNTH_SOURCE_DIR/tests
W=$T/work
mkdir -p "$W" "$T/img" "$T/cache"
export XDG_CACHE_HOME=$T/cache # an empty model cache

# ---- the files the examples name ----------------------------------------------
"$SYNTH_TEST_TOOLS/tool_images" "$T/img" >/dev/null || { echo "tool_images failed" >&2; exit 1; }
cp "$T/img/rgb8.png" "$W/in.png"
cp "$T/img/huge.png" "$W/huge.png"
: >"$W/empty.png"
: >"$W/empty.txt"
echo "hello" >"$W/notes.txt"
cp "$W/notes.txt" "$W/notes.onnx"
printf 'GIF89a\001\000\001\000\000\000\000' >"$W/anim.gif"
head -c 300 "$T/img/rgb8.png" >"$W/cut.png"
head -c 1000 "$T/img/base.jpg" >"$W/cut.jpg"
cp "$T/img/rgb8.png" "$W/bad.png" # one bit of the compressed pixels flipped
at=$(($(grep -abo IDAT "$W/bad.png" | head -1 | cut -d: -f1) + 20))
byte=$(od -An -tu1 -j "$at" -N1 "$W/bad.png" | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 1)))" | dd of="$W/bad.png" bs=1 seek="$at" conv=notrunc status=none
cp "$SRC/data/explain/shapes.onnx" "$W/net.onnx"
cp "$SRC/data/explain/twolayer.onnx" "$W/two.onnx"
cp "$SRC/fuzz/onnx/damaged_truncated.onnx" "$W/cut.onnx"
cp "$SRC/fuzz/onnx/unsupported_op.onnx" "$W/erf.onnx"
cp "$SRC/fuzz/onnx/external_data.onnx" "$W/external.onnx"
cp "$SRC"/data/hostile/*.onnx "$W/"
truncate -s 3G "$W/big.onnx" # sparse: no disk used
cp "$SRC/fuzz/npy/float64.npy" "$W/f64.npy"
cp "$SRC/fuzz/npy/damaged_short_data.npy" "$W/short.npy"
before=$(ls -A "$W")

# ---- the table -------------------------------------------------------------------
rows=$(awk '/<!-- bad-input-table/ {on = 1; next} on && /^$/ {exit} on && /^\| /' "$SYNTH_SOURCE_DIR/README.md" |
    tail -n +3)
[ "$(wc -l <<<"$rows")" -ge 20 ] || { echo "cli_bad_input: the README's table has too few rows" >&2; exit 1; }

# A message with <...> placeholders as an anchored extended regex.
pattern() { printf '%s' "$1" | sed -e 's/[][\.*^$+?(){}|/]/\\&/g' -e 's/<[^>]*>/.+/g'; }

checked=0
while IFS='|' read -r _ what example message code _; do
    example=${example#*\`}
    example=${example%%\`*}
    first=${message#*\`}
    first=${first%%\`*}
    second=""
    [[ $message == *"(then \`"* ]] && { second=${message#*(then \`}; second=${second%%\`*}; }
    code=$(tr -d ' ' <<<"$code")
    read -ra words <<<"$example"
    [ "${words[0]}" = synth ] || { fail "row '$what': the example does not start with synth"; continue; }
    (cd "$W" && "$SYNTH" "${words[@]:1}") >"$T/out" 2>"$T/err"
    rc=$?
    checked=$((checked + 1))
    [ "$rc" = "$code" ] || fail "row '$what': exit $rc, the table says $code ($example)"
    head -n 1 "$T/err" | grep -Eqx -- "$(pattern "$first")" ||
        fail "row '$what': says '$(head -n 1 "$T/err")', the table '$first'"
    if [ -n "$second" ]; then
        [ "$(sed -n 2p "$T/err")" = "$second" ] || fail "row '$what': second line '$(sed -n 2p "$T/err")'"
        [ "$(wc -l <"$T/err")" -eq 2 ] || fail "row '$what': more than two lines"
    else
        [ "$(wc -l <"$T/err")" -eq 1 ] || fail "row '$what': not one line: $(cat "$T/err")"
    fi
    [ "$(ls -A "$W")" = "$before" ] || fail "row '$what': left files behind: $(ls -A "$W" | tr '\n' ' ')"
done <<<"$rows"
echo "$checked rows of the README's bad-input table checked"
finish
