# synth model list / fetch through the command line, against a local HTTP
# server (tests/http_server.py): cached and partial states, a verified
# download, checksum failure as one line with exit 1, usage errors with exit 2.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }
export XDG_CACHE_HOME=$T/cache
mkdir -p "$T/www"
head -c 123456 /dev/urandom >"$T/www/net.onnx"
sha=$(sha256sum "$T/www/net.onnx" | cut -d' ' -f1)
python3 "$SYNTH_SOURCE_DIR/tests/http_server.py" "$T/www" "$T/port" "$T/log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
url=http://127.0.0.1:$(cat "$T/port")

expect_ok "$SYNTH" model list
grep -q '^vgg19 .*574.7 MB  -  .*style transfer' "$T/out" || fail "model list: vgg19 row: $(cat "$T/out")"
grep -q "^cache: $T/cache/synth/models\$" "$T/out" || fail "model list: cache line"

expect_ok "$SYNTH" model fetch --url "$url/files/net.onnx" --sha256 "$sha" --name mynet
grep -q "verified and cached: $T/cache/synth/models/mynet.onnx" "$T/out" || fail "fetch output: $(cat "$T/out")"
cmp -s "$T/www/net.onnx" "$T/cache/synth/models/mynet.onnx" || fail "fetched file differs"
expect_ok "$SYNTH" model fetch mynet --url "$url/files/net.onnx" --sha256 "$sha"
grep -q "already in the cache" "$T/out" || fail "second fetch: $(cat "$T/out")"
expect_ok "$SYNTH" model list
grep -q '^mynet .*123.5 kB  cached .*(fetched by URL)' "$T/out" || fail "model list: mynet row: $(cat "$T/out")"

# cut off, shown as partial, then resumed
expect_fail 1 "bytes kept" "$SYNTH" model fetch --url "$url/drop/5000/net.onnx" --sha256 "$sha" --name other
expect_ok "$SYNTH" model list
grep -q '^other .*partial (5.0 kB)' "$T/out" || fail "model list: partial row: $(cat "$T/out")"
expect_ok "$SYNTH" model fetch --url "$url/files/net.onnx" --sha256 "$sha" --name other
tail -1 "$T/log" | grep -q 'range=bytes=5000-' || fail "no Range request on resume: $(tail -1 "$T/log")"

bad=0000000000000000000000000000000000000000000000000000000000000000
expect_fail 1 "checksum mismatch" "$SYNTH" model fetch --url "$url/files/net.onnx" --sha256 $bad --name third
[ ! -e "$T/cache/synth/models/third.onnx" ] && [ ! -e "$T/cache/synth/models/third.onnx.part" ] ||
    fail "a mismatched download left a file"
expect_fail 1 "HTTP 404" "$SYNTH" model fetch --url "$url/status/404" --sha256 "$sha" --name fourth
expect_fail 1 "unknown model" "$SYNTH" model fetch nosuch
expect_fail 1 "not a valid model name" "$SYNTH" model fetch --url "$url/files/net.onnx" --sha256 "$sha" --name ../x
expect_fail 1 "is a known model" "$SYNTH" model fetch vgg19 --sha256 "$sha"
expect_fail 2 "fetch needs a NAME" "$SYNTH" model fetch
# ---- the progress bar: drawn only on a terminal (a pseudo-terminal by script) ----
if command -v script >/dev/null; then
    script -qfc "'$SYNTH' model fetch --url '$url/files/net.onnx' --sha256 $sha --name barnet" /dev/null \
        >"$T/tty" 2>&1 </dev/null || fail "fetch on a terminal: $(cat "$T/tty")"
    grep -aq 'barnet 100% \[##############################\] 123.5 kB / 123.5 kB' "$T/tty" \
        || fail "the bar reaches 100% [: $(tr '\r' '\n' <"$T/tty")"
    cmp -s "$T/www/net.onnx" "$T/cache/synth/models/barnet.onnx" || fail "fetched on a terminal: differs"
    expect_ok "$SYNTH" model fetch --url "$url/files/net.onnx" --sha256 "$sha" --name plainnet
    grep -q '%' "$T/err" && fail "no bar off a terminal: $(cat "$T/err")"
else
    echo "script (util-linux) missing: the progress bar is not tested"
fi

expect_fail 2 "unknown subcommand" "$SYNTH" model frob
expect_fail 2 "missing argument" "$SYNTH" model
expect_ok "$SYNTH" model --help
grep -q 'synth model fetch NAME' "$T/out" || fail "help"
finish
