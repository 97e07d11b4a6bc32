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
# Past the graph and tensor limits, written here (2 s; 26 MB not kept in git):
# 2^20 + 1 Relu nodes x -> v0 -> ... -> v1048576, and one Relu on a declared
# 1x1x2^20x2^21 input (2^41 elements), as raw protobuf (onnx.proto's numbers).
command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }
python3 - "$W/many_nodes.onnx" "$W/huge_input.onnx" <<'EOF_PY' || { echo "making the models failed" >&2; exit 1; }
import sys
def varint(n):
    out = bytearray()
    while n > 0x7f:
        out.append(n & 0x7f | 0x80)
        n >>= 7
    return bytes(out) + bytes([n])
def field(num, payload): return varint(num << 3 | 2) + varint(len(payload)) + payload  # length-delimited
def number(num, v): return varint(num << 3) + varint(v)
def value_info(name, dims):  # name 1, type 2 { tensor_type 1 { elem_type 1 = FLOAT, shape 2 { dim 1 { dim_value 1 } } } }
    shape = b''.join(field(1, number(1, d)) for d in dims)
    return field(1, name) + field(2, field(1, number(1, 1) + field(2, shape)))
def write(path, n, dims):  # graph 7 { node 1 { input 1, output 2, op_type 4 }, name 2, input 11, output 12 }
    name = lambda k: b'x' if k < 0 else b'v%d' % k
    graph = b''.join(field(1, field(1, name(k - 1)) + field(2, name(k)) + field(4, b'Relu')) for k in range(n))
    graph += field(2, b'g') + field(11, value_info(b'x', dims)) + field(12, value_info(name(n - 1), dims))
    with open(path, 'wb') as f:  # ir_version 1 = 8, opset_import 8 { version 2 = 13 }
        f.write(number(1, 8) + field(8, number(2, 13)) + field(7, graph))
write(sys.argv[1], (1 << 20) + 1, [1, 1, 2, 2])
write(sys.argv[2], 1, [1, 1, 1 << 20, 1 << 21])
EOF_PY
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

# The node limit is applied while decoding, before any node is built: refusing
# the 26 MB file took 1.49 GB and 4 s when graph building found it.
rss_kb=$(python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$SYNTH" info --model "$W/many_nodes.onnx")
[ "$rss_kb" -le 300000 ] || fail "refusing many_nodes.onnx peaked at $rss_kb kB (limit 300000)"
finish
