# The synthesis commands on the command line: each writes its image with
# metadata; progress on a terminal (under script(1)), without one and with
# --quiet; --log-json (atomic: untouched by a failed run, complete when
# interrupted or stopped) and --save-every; the same seed gives the same bytes;
# bad flags and inputs give one-line errors with the right exit codes and
# write nothing; a non-finite objective keeps the last good image (exit 1);
# SIGINT and SIGTERM write the current image and exit 130 / 143.
. "$(dirname "$0")/lib.sh"
E=$SYNTH_SOURCE_DIR/docs/examples
SMOOTH=$SYNTH_TEST_DATA/render/smooth.onnx
BAD=$SYNTH_TEST_DATA/render/nonfinite.onnx

size_is() { # FILE WxH
    "$SYNTH" info "$1" >"$T/info" 2>&1 || fail "$1 is not a complete image: $(cat "$T/info")"
    local w h
    w=$(sed -n 's/^width: //p' "$T/info")
    h=$(sed -n 's/^height: //p' "$T/info")
    [ "${w}x${h}" = "$2" ] || fail "$1 is ${w}x${h}, expected $2"
}

# ---- each command makes an image --------------------------------------------
expect_ok "$SYNTH" style --content "$E/content.jpg" --style "$E/style.jpg" --size 48 --iters 3 -o "$T/style.png"
size_is "$T/style.png" 48x36
grep -q "wrote $T/style.png (48x36)" "$T/err" || fail "style says what it wrote: $(cat "$T/err")"
expect_ok "$SYNTH" dream --input "$E/content.jpg" --size 64 --octaves 2 --iters 2 --layer relu3_1 -o "$T/dream.jpg"
size_is "$T/dream.jpg" 64x48
expect_ok "$SYNTH" classvis --class 3 --size 40 --iters 3 -o "$T/classvis.png"
size_is "$T/classvis.png" 40x40
grep -q "note: the built-in network has random features" "$T/err" || fail "classvis notes the built-in network"
expect_ok "$SYNTH" neuron --model "$SMOOTH" --layer act3 --channel 2 --unit 1,1 --size 32 --iters 3 -o "$T/neuron.png"
size_is "$T/neuron.png" 32x32
expect_ok "$SYNTH" invert --input "$E/content.jpg" --layer relu2_1 --size 40 --iters 3 -o "$T/invert.png"
size_is "$T/invert.png" 40x30

# --quiet: nothing on stderr
expect_ok "$SYNTH" classvis --class 3 --size 40 --iters 2 --quiet -o "$T/q.png"
[ -s "$T/err" ] && fail "--quiet prints nothing: $(cat "$T/err")"

# ---- progress: a live line on a terminal, plain lines otherwise ----------------
P=(classvis --class 3 --size 32 --octaves 2 --iters 3 -o "$T/prog.png")
LIVE='octave [12]/2  iter [123]/3  loss -?[0-9.e+-]+  [0-9.]+ it/s  ETA [0-9]+:[0-9]{2}'
PLAIN='^synth: octave [12]/2 iter 3/3 loss -?[0-9.e+-]+ \([0-9.]+ it/s, [0-9:]+ elapsed, ETA [0-9]+:[0-9]{2}\)$'
expect_ok "$SYNTH" "${P[@]}"
[ "$(grep -c '^synth: octave ' "$T/err")" = 2 ] && [ "$(grep -cE "$PLAIN" "$T/err")" = 2 ] \
    || fail "no terminal: a plain line at each octave's end (none per step): $(cat "$T/err")"
grep -q "$(printf '[\r\033]')" "$T/err" && fail "no terminal: no live-line control characters"
if command -v script >/dev/null; then
    # One live update per step, each "\r ESC[K" then the line; a newline after the last.
    script -qfc "$(printf '%q ' "$SYNTH" "${P[@]}")" /dev/null >"$T/tty" 2>&1 </dev/null
    [ "$(tr '\r' '\n' <"$T/tty" | sed -n 's/^\x1b\[K//p' | grep -cxE "$LIVE")" = 6 ] \
        || fail "terminal: 6 live lines with octave, iter, loss, it/s, ETA: $(od -c "$T/tty" | head -20)"
    grep -q '^synth: octave ' "$T/tty" && fail "terminal: the live line, not plain lines"
    script -qfc "$(printf '%q ' "$SYNTH" "${P[@]}" --quiet)" /dev/null >"$T/tty" 2>&1 </dev/null
    [ -s "$T/tty" ] && fail "terminal, --quiet: nothing at all: $(od -c "$T/tty" | head)"
    size_is "$T/prog.png" 32x32
else
    progress_skipped=1
fi

# ---- metadata, log, snapshots -------------------------------------------------
"$SYNTH" info "$T/style.png" >"$T/meta"
grep -q '^synth.version: ' "$T/meta" || fail "synth.version stored"
grep -qF "synth.command: synth style --content $E/content.jpg --style $E/style.jpg --size 48 --iters 3 -o $T/style.png" "$T/meta" \
    || fail "synth.command stored: $(grep synth.command "$T/meta")"
grep -q '^synth.model: default$' "$T/meta" || fail "synth.model stored"
grep -q '^synth.seed: 0$' "$T/meta" || fail "synth.seed stored"

expect_ok "$SYNTH" style --content "$E/content.jpg" --style "$E/style.jpg" --size 40 --octaves 1 --iters 4 --save-every 2 \
    --log-json "$T/log.json" -o "$T/snap.png"
[ "$(wc -l <"$T/log.json")" = 4 ] || fail "one JSON line per iteration: $(cat "$T/log.json")"
for key in '"octave":1' '"iter":4' '"loss":' '"style:relu3_1":' '"content:relu4_2":' '"reg":'; do
    grep -qF "$key" "$T/log.json" || fail "the log has $key"
done
[ "$(grep -Ec '"net_peak_bytes":[1-9][0-9]*[,}]' "$T/log.json")" = 4 ] || fail "each line has net_peak_bytes > 0"
/usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/log.json" 2>/dev/null \
    || { command -v /usr/bin/python3 >/dev/null && fail "the log is JSON lines"; }
size_is "$T/snap_2.png" 40x30
size_is "$T/snap_4.png" 40x30
expect_ok "$SYNTH" classvis --class 1 --size 32 --octaves 2 --iters 2 --save-every 2 -o "$T/oct.png"
size_is "$T/oct_1_2.png" 32x32
size_is "$T/oct_2_2.png" 32x32

# ---- neural-style's options and --guide on the command line ---------------------
expect_ok "$SYNTH" style --content "$E/content.jpg" --style "$E/style.jpg" --style "$E/shapes.png" --style-blend 3,1 \
    --init "$E/shapes.png" --original-colors --style-scale 0.5 --size 48 --octaves 1 --iters 2 --log-json "$T/opts.json" \
    -o "$T/opts.png"
size_is "$T/opts.png" 48x36
[ "$(wc -l <"$T/opts.json")" = 2 ] || fail "two styles, init file, original colours: two iterations logged"
expect_ok "$SYNTH" dream --input "$E/content.jpg" --guide "$E/style.jpg" --size 48 --octaves 1 --iters 2 \
    --log-json "$T/guide.json" -o "$T/guide.png"
size_is "$T/guide.png" 48x36
grep -qF '"guide:relu4_2":' "$T/guide.json" || fail "--guide dreams towards the guide: $(cat "$T/guide.json")"
expect_fail 1 "--init: $T/missing.png" "$SYNTH" style --content "$E/content.jpg" --style "$E/style.jpg" \
    --init "$T/missing.png" --size 48 -o "$T/x.png"
expect_fail 1 "--guide: $T/missing.png" "$SYNTH" dream --input "$E/content.jpg" --guide "$T/missing.png" --size 48 \
    -o "$T/x.png"

# ---- the same seed, the same bytes -------------------------------------------
for run in 1 2; do
    expect_ok "$SYNTH" classvis --model "$SMOOTH" --class 2 --size 40 --iters 5 --seed 9 --threads 2 -o "$T/seed.png"
    cp "$T/seed.png" "$T/seed$run.png"
done
cmp -s "$T/seed1.png" "$T/seed2.png" || fail "same seed and threads give the same bytes"
expect_ok "$SYNTH" classvis --model "$SMOOTH" --class 2 --size 40 --iters 5 --seed 10 --threads 2 -o "$T/seed.png"
cmp -s "$T/seed1.png" "$T/seed.png" && fail "another seed gives another image"
for run in 1 2; do
    expect_ok "$SYNTH" style --content "$E/content.jpg" --style "$E/style.jpg" --size 40 --octaves 1 --iters 3 --init random \
        --seed 4 -o "$T/sseed.png"
    cp "$T/sseed.png" "$T/sseed$run.png"
done
cmp -s "$T/sseed1.png" "$T/sseed2.png" || fail "style: same seed, same bytes"

# ---- --png-depth and --jpeg-quality: flags, preset keys, every image writer -------
depth_is() { # FILE BITS
    "$SYNTH" info "$1" >"$T/info" 2>&1 || fail "$1 is not an image: $(cat "$T/info")"
    grep -qx "bit depth: $2" "$T/info" || fail "$1 should be $2-bit: $(grep 'bit depth' "$T/info")"
}
expect_ok "$SYNTH" dream --input "$E/content.jpg" --size 48 --octaves 1 --iters 2 --layer relu3_1 --png-depth 16 \
    -o "$T/d16.png"
depth_is "$T/d16.png" 16
grep -q '^synth.command: .* --png-depth 16 ' "$T/info" || fail "--png-depth is in the stored command line"
depth_is "$T/style.png" 8
printf '[dream]\npng-depth = 16\n' >"$T/deep.ini"
expect_ok "$SYNTH" dream --input "$E/content.jpg" --size 48 --octaves 1 --iters 1 --preset "$T/deep.ini" -o "$T/p16.png"
depth_is "$T/p16.png" 16
expect_ok "$SYNTH" dream --input "$E/content.jpg" --size 48 --octaves 1 --iters 1 --preset "$T/deep.ini" \
    --png-depth 8 -o "$T/p8.png"
depth_is "$T/p8.png" 8
expect_ok "$SYNTH" activations "$E/content.jpg" --layer relu1_1 --png-depth 16 -o "$T/act16.png"
depth_is "$T/act16.png" 16
for q in 30 95; do
    expect_ok "$SYNTH" dream --input "$E/content.jpg" --size 128 --octaves 1 --iters 1 --jpeg-quality $q -o "$T/q$q.jpg"
done
s30=$(stat -c %s "$T/q30.jpg") s95=$(stat -c %s "$T/q95.jpg")
[ "$s30" -lt "$s95" ] || fail "a JPEG at quality 30 ($s30 bytes) is smaller than at 95 ($s95 bytes)"
for c in style dream classvis neuron invert texture poster activations filters saliency top-patches; do
    "$SYNTH" $c --help | grep -q -- '--png-depth 8|16' || fail "synth $c --help lists --png-depth"
    "$SYNTH" $c --help | grep -q -- '--jpeg-quality Q' || fail "synth $c --help lists --jpeg-quality"
done
for c in animate adversarial; do # PNG only
    "$SYNTH" $c --help | grep -q -- '--png-depth 8|16' || fail "synth $c --help lists --png-depth"
done
# Bad values: refused before any work (no progress, nothing written).
expect_fail 2 "--png-depth: '12' is not one of 8|16" "$SYNTH" dream --input "$E/content.jpg" --png-depth 12 -o "$T/x.png"
expect_fail 2 "--jpeg-quality: '0' is not an integer in [1, 100]" "$SYNTH" dream --input "$E/content.jpg" \
    --jpeg-quality 0 -o "$T/x.jpg"
expect_fail 2 "--jpeg-quality: '101' is not an integer in [1, 100]" "$SYNTH" saliency "$E/content.jpg" \
    --jpeg-quality 101 -o "$T/x.jpg"
printf '[dream]\njpeg-quality = 200\n' >"$T/badq.ini"
expect_fail 1 "badq.ini:2: jpeg-quality: '200' is not an integer in [1, 100]" "$SYNTH" dream \
    --input "$E/content.jpg" --preset "$T/badq.ini" -o "$T/x.jpg"
expect_fail 1 "$T/x.jpg: JPEG holds 8 bits per sample" "$SYNTH" dream --input "$E/content.jpg" --png-depth 16 \
    -o "$T/x.jpg"
grep -q octave "$T/err" && fail "--png-depth 16 to a JPEG is refused before the run"
expect_fail 1 "$T/x.jpg: JPEG holds 8 bits per sample" "$SYNTH" filters --layer conv1_1 --png-depth 16 -o "$T/x.jpg"
[ -e "$T/x.png" ] || [ -e "$T/x.jpg" ] && fail "no output after a bad --png-depth or --jpeg-quality"

# ---- usage errors (exit 2) ------------------------------------------------------
expect_fail 2 "missing --content" "$SYNTH" style --style "$E/style.jpg" -o "$T/x.png"
expect_fail 2 "missing --style" "$SYNTH" style --content "$E/content.jpg" -o "$T/x.png"
expect_fail 2 "missing -o" "$SYNTH" style --content "$E/content.jpg" --style "$E/style.jpg"
expect_fail 2 "missing --input" "$SYNTH" dream -o "$T/x.png"
expect_fail 2 "missing --class" "$SYNTH" classvis -o "$T/x.png"
expect_fail 2 "missing --layer" "$SYNTH" neuron --channel 1 -o "$T/x.png"
expect_fail 2 "missing --channel" "$SYNTH" neuron --layer relu1_1 -o "$T/x.png"
expect_fail 2 "unknown option '--sise'" "$SYNTH" classvis --class 1 --sise 40 -o "$T/x.png"
expect_fail 2 "--iters: '-1' is not" "$SYNTH" classvis --class 1 --iters -1 -o "$T/x.png"
expect_fail 2 "--octave-scale: '0.5' is not" "$SYNTH" dream --input "$E/content.jpg" --octave-scale 0.5 -o "$T/x.png"
expect_fail 2 "--optimizer: 'sgd' is not one of" "$SYNTH" style --optimizer sgd --content a --style b -o "$T/x.png"
expect_fail 2 "--unit: '1' needs at least 2" "$SYNTH" neuron --layer relu1_1 --channel 1 --unit 1 -o "$T/x.png"
expect_fail 2 "--param: 'wavelet' is not one of" "$SYNTH" classvis --class 1 --param wavelet -o "$T/x.png"

# ---- errors (exit 1, one line), nothing written -------------------------------
expect_fail 1 "unknown image file extension '.gif'" "$SYNTH" classvis --class 1 -o "$T/x.gif"
expect_fail 1 "$T/no/such/dir" "$SYNTH" classvis --class 1 -o "$T/no/such/dir/x.png"
expect_fail 1 "--content: $T/missing.jpg" "$SYNTH" style --content "$T/missing.jpg" --style "$E/style.jpg" -o "$T/x.png"
printf 'not an image' >"$T/junk.png"
expect_fail 1 "--style: $T/junk.png" "$SYNTH" style --content "$E/content.jpg" --style "$T/junk.png" -o "$T/x.png"
expect_fail 1 "relu9_9: no such layer" "$SYNTH" dream --input "$E/content.jpg" --layer relu9_9 --size 32 -o "$T/x.png"
expect_fail 1 "--style-blend: has 2 weights for 1 style images" "$SYNTH" style --content "$E/content.jpg" \
    --style "$E/style.jpg" --style-blend 1,2 --size 32 -o "$T/x.png"
expect_fail 1 "--tile: 20 is too small" "$SYNTH" dream --input "$E/content.jpg" --size 200 --tile 20 -o "$T/x.png"
expect_fail 1 "image size: 20x15 is too small for this model" "$SYNTH" style --content "$E/content.jpg" \
    --style "$E/style.jpg" --size 40 -o "$T/x.png"
expect_fail 1 "--class: 12 is out of range (layer 'logits' has 10 classes)" "$SYNTH" classvis --model "$SMOOTH" --class 12 --size 32 \
    -o "$T/x.png"
expect_fail 1 "--tile: layer 'logits' has no spatial extent" "$SYNTH" classvis --model "$SMOOTH" --class 2 \
    --size 128 --tile 64 --iters 1 -o "$T/x.png"
expect_fail 1 "--tile: logprob:act3: the log-softmax" "$SYNTH" classvis --model "$SMOOTH" --layer act3 --logprob \
    --class 2 --size 128 --tile 64 --iters 1 -o "$T/x.png"
expect_fail 1 "none.onnx: cannot open" "$SYNTH" classvis --model "$T/none.onnx" --class 1 -o "$T/x.png"
[ -e "$T/x.png" ] && fail "no output after an error"

# ---- a non-finite objective: exit 1, the last good image kept --------------------
expect_fail 1 "the objective or its gradient is not finite" "$SYNTH" neuron --model "$BAD" --layer bad --channel 0 \
    --size 32 --iters 5 -o "$T/nan.png"
grep -qF "the last good image is in $T/nan.png" "$T/err" || fail "says where the image is: $(cat "$T/err")"
size_is "$T/nan.png" 32x32

# ---- --log-json is an output like the image -------------------------------------
json_lines() { # FILE: every line is one JSON object with octave and iter
    command -v /usr/bin/python3 >/dev/null || return 0
    /usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]): o = json.loads(l); o["octave"], o["iter"]' "$1" 2>/dev/null
}
# A run that fails before its first step writes no log, and leaves one there as it was.
expect_fail 1 "--tile: must be 0 (off) or at least 16, got 5" "$SYNTH" dream --input "$E/content.jpg" --tile 5 --log-json "$T/l.json" \
    -o "$T/x.png"
[ -e "$T/l.json" ] && fail "a refused run writes no log"
printf '{"octave":1,"iter":1}\n' >"$T/l.json"
cp "$T/l.json" "$T/l.orig"
expect_fail 1 "--style: $T/missing.jpg" "$SYNTH" style --content "$E/content.jpg" --style "$T/missing.jpg" \
    --log-json "$T/l.json" -o "$T/x.png"
cmp -s "$T/l.json" "$T/l.orig" || fail "a failed run leaves the existing log byte for byte"
expect_fail 1 "folder '$T/no/such' does not exist" "$SYNTH" classvis --class 1 --log-json "$T/no/such/l.json" -o "$T/x.png"
ls -A "$T" | grep -q '^\.' && fail "no temporary log left behind: $(ls -A "$T")"
# A non-finite stop at iteration k > 1 (nonfinite_late: see test_render_runs.c): the
# log of iterations 1 to k - 1.
expect_fail 1 "the objective or its gradient is not finite" "$SYNTH" neuron --model "$SYNTH_TEST_DATA/render/nonfinite_late.onnx" \
    --layer late --channel 0 --size 16 --iters 200 --optimizer adam --lr 0.05 --param pixel --no-decorrelate --pad 0 \
    --jitter 0 --scale-jitter 0 --rotate-jitter 0 --log-json "$T/nan.json" -o "$T/nan.png"
k=$(sed -n 's/.*iteration \([0-9]*\): the objective.*/\1/p' "$T/err")
[ -n "$k" ] && [ "$k" -gt 1 ] && [ "$(wc -l <"$T/nan.json")" = $((k - 1)) ] && json_lines "$T/nan.json" \
    && grep -q "\"iter\":$((k - 1))," "$T/nan.json" || fail "a non-finite stop at $k keeps the log so far: $(cat "$T/nan.json")"

# ---- SIGINT / SIGTERM: the current image, exit 130 / 143, for every command -----
interrupt() { # SIGNAL CODE WxH COMMAND ARGS...
    local sig=$1 code=$2 size=$3
    shift 3
    rm -f "$T/int.png" "$T/int.json"
    "$SYNTH" "$@" --octaves 1 --iters 100000 --log-json "$T/int.json" -o "$T/int.png" >"$T/out" 2>"$T/err" &
    local pid=$! waited=0
    # The log grows in its temporary beside int.json until the run ends.
    while ! [ -s "$(ls "$T"/.int.json.synth-* 2>/dev/null | head -1)" ] && [ $waited -lt 600 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    [ -e "$T/int.json" ] && fail "$1: the log appears only when the run ends"
    kill -"$sig" $pid
    wait $pid
    local rc=$?
    [ $rc = "$code" ] || fail "$1 SIG$sig: exit $rc, expected $code: $(cat "$T/err")"
    grep -q "interrupted at octave 1/1; the current image is in $T/int.png" "$T/err" \
        || fail "$1 SIG$sig says so: $(cat "$T/err")"
    size_is "$T/int.png" "$size"
    [ -s "$T/int.json" ] && json_lines "$T/int.json" || fail "$1 SIG$sig: a complete log: $(tail -c 300 "$T/int.json")"
    ls -A "$T" | grep -q '^\.' && fail "$1: no temporary left behind"
}
interrupt INT 130 96x72 dream --input "$E/content.jpg" --size 96
interrupt TERM 143 96x72 dream --input "$E/content.jpg" --size 96
interrupt INT 130 48x36 style --content "$E/content.jpg" --style "$E/style.jpg" --size 48
interrupt TERM 143 48x36 style --content "$E/content.jpg" --style "$E/style.jpg" --size 48
interrupt INT 130 40x40 classvis --model "$SMOOTH" --class 2 --size 40
interrupt INT 130 32x32 neuron --model "$SMOOTH" --layer act3 --channel 2 --size 32
interrupt INT 130 48x36 invert --input "$E/content.jpg" --layer relu2_1 --size 48
interrupt INT 130 48x36 texture --style "$E/content.jpg" --size 48
interrupt TERM 143 48x36 texture --style "$E/content.jpg" --size 48
interrupt TERM 143 $((3 * 33 + 1))x$((32 + 20 + 1 + 1)) poster --cell 32 --classes 1,2,3 --cols 3

if [ "${progress_skipped:-0}" = 1 ] && [ "$fails" = 0 ]; then
    echo "script (util-linux) missing: the terminal progress checks skipped"
    exit 77
fi
finish
