# synth animate: the frames, resuming without redoing a frame, an interrupted
# or killed run resumed to the same bytes as an unbroken one, changed options
# refused, bad flags, and --encode through ffmpeg (a real one when installed,
# stand-ins for a failing one and a missing one).
. "$(dirname "$0")/lib.sh"
E=$SYNTH_SOURCE_DIR/docs/examples
A=(animate --input "$E/content.jpg" --size 48 --octaves 1 --iters 2 --zoom 1.1 --rotate 3 --shift 1,-2 --seed 7)

frames_in() { ls "$1" | grep -c '^frame_[0-9]\{5\}\.png$'; }

# ---- frames, and a second run that only adds --------------------------------------
expect_ok "$SYNTH" "${A[@]}" --frames 3 --out-dir "$T/a"
[ "$(frames_in "$T/a")" = 3 ] || fail "3 frames: $(ls "$T/a")"
for k in 0 1 2; do "$SYNTH" info "$T/a/frame_0000$k.png" | grep -q '^width: 48$' || fail "frame $k is 48 wide"; done
[ "$(grep -c '^synth: wrote ' "$T/err")" = 3 ] || fail "3 frames written: $(cat "$T/err")"
cmp -s "$T/a/frame_00000.png" "$T/a/frame_00001.png" && fail "frames differ"
touch -d '2001-01-01' "$T/a"/frame_*.png
expect_ok "$SYNTH" "${A[@]}" --frames 5 --out-dir "$T/a"
grep -q 'frames 0 to 2 are in .* already: continuing' "$T/err" || fail "says it continues: $(cat "$T/err")"
[ "$(grep -c '^synth: wrote ' "$T/err")" = 2 ] || fail "only 2 new frames: $(cat "$T/err")"
[ "$(frames_in "$T/a")" = 5 ] || fail "5 frames: $(ls "$T/a")"
[ "$(find "$T/a" -name 'frame_*.png' ! -newermt '2002-01-01' | wc -l)" = 3 ] || fail "frames 0-2 not redone"
expect_ok "$SYNTH" "${A[@]}" --frames 5 --out-dir "$T/a"
grep -q 'all 5 frames are in' "$T/err" || fail "nothing to do: $(cat "$T/err")"
grep -q '^synth: wrote ' "$T/err" && fail "no frame redone"

# An unbroken run of 5 (same command line as above, so the same metadata).
mv "$T/a" "$T/ref"
expect_ok "$SYNTH" "${A[@]}" --frames 5 --out-dir "$T/a"
# Frames 3 and 4 (made by the same command line: the same metadata) are the
# same bytes, so frame 2 read back was the same pixels too.
for k in 3 4; do
    cmp -s "$T/a/frame_0000$k.png" "$T/ref/frame_0000$k.png" || fail "frame $k: 3 then 2 frames = 5 at once"
done
mv "$T/a" "$T/ref5"

# ---- interrupted (SIGINT, SIGTERM) and killed (SIGKILL) runs resume to the same bytes,
# redoing no frame -------------------------------------------------------------------
B=(animate --input "$E/content.jpg" --size 48 --octaves 1 --iters 20 --seed 3 --log-json "$T/log.json")
expect_ok "$SYNTH" "${B[@]}" --frames 4 --out-dir "$T/b"
mv "$T/b" "$T/bref"
for sig in INT TERM KILL; do
    rm -rf "$T/b" "$T/log.json"
    "$SYNTH" "${B[@]}" --frames 4 --out-dir "$T/b" >"$T/out" 2>"$T/err" &
    pid=$! waited=0
    while [ ! -f "$T/b/frame_00001.png" ] && [ $waited -lt 1200 ]; do sleep 0.05; waited=$((waited + 1)); done
    sleep 0.1
    kill -$sig $pid
    wait $pid
    rc=$?
    if [ $sig != KILL ]; then
        want=130 && [ $sig = TERM ] && want=143
        [ $rc = $want ] || fail "SIG$sig: exit $rc, expected $want: $(cat "$T/err")"
        grep -q 'complete in .*run the same command again' "$T/err" || fail "SIG$sig says how to go on: $(cat "$T/err")"
    fi
    n=$(frames_in "$T/b")
    [ "$n" -ge 2 ] && [ "$n" -lt 4 ] || fail "SIG$sig: stopped in the middle ($n frames)"
    for f in "$T/b"/frame_*.png; do "$SYNTH" info "$f" >/dev/null 2>&1 || fail "SIG$sig left a broken $f"; done
    # The log of the frames done (20 iterations each) and the one being rendered.
    [ $sig = KILL ] || [ "$(wc -l <"$T/log.json")" -ge $((20 * n)) ] || fail "SIG$sig: the log so far: $(wc -l <"$T/log.json")"
    [ $sig = KILL ] && rm -f "$T"/.log.json.synth-* # what SIGKILL leaves
    expect_ok "$SYNTH" "${B[@]}" --frames 4 --out-dir "$T/b"
    [ "$(grep -c '^synth: wrote ' "$T/err")" = $((4 - n)) ] || fail "SIG$sig: resuming writes only frames $n to 3: $(cat "$T/err")"
    [ "$(wc -l <"$T/log.json")" = $((20 * (4 - n))) ] || fail "SIG$sig: the resumed run logs frames $n to 3 only"
    for k in 0 1 2 3; do
        cmp -s "$T/b/frame_0000$k.png" "$T/bref/frame_0000$k.png" || fail "SIG$sig: frame $k differs after resuming"
    done
    ls -A "$T/b" | grep -q '^\.' && fail "SIG$sig: a temporary is left: $(ls -A "$T/b")"
done

# ---- other options for the same folder are refused, nothing written --------------
cp -r "$T/ref5" "$T/c"
expect_fail 1 "made with --zoom '1.1', not '1.2'" "$SYNTH" "${A[@]}" --zoom 1.2 --frames 6 --out-dir "$T/c"
expect_fail 1 "made with --iters '2', not '3'" "$SYNTH" "${A[@]}" --iters 3 --frames 6 --out-dir "$T/c"
expect_fail 1 "made from another --input file" "$SYNTH" "${A[@]}" --input "$E/style.jpg" --frames 6 --out-dir "$T/c"
[ "$(frames_in "$T/c")" = 5 ] || fail "a refused run writes nothing"
mkdir -p "$T/d" && cp "$T/ref5/frame_00000.png" "$T/d/"
expect_fail 1 "holds frames but no animate.state" "$SYNTH" "${A[@]}" --frames 2 --out-dir "$T/d"

# ---- bad flags ------------------------------------------------------------------------
expect_fail 2 "missing --frames N" "$SYNTH" animate --input "$E/content.jpg" --out-dir "$T/e"
expect_fail 2 "missing --out-dir DIR" "$SYNTH" animate --input "$E/content.jpg" --frames 2
expect_fail 2 "missing --input FILE" "$SYNTH" animate --frames 2 --out-dir "$T/e"
expect_fail 2 "--zoom" "$SYNTH" "${A[@]}" --zoom 0 --frames 2 --out-dir "$T/e"
expect_fail 2 "--shift" "$SYNTH" "${A[@]}" --shift 1 --frames 2 --out-dir "$T/e"
expect_fail 2 "unknown option '-o'" "$SYNTH" "${A[@]}" -o x.png --frames 2 --out-dir "$T/e"
expect_fail 1 "--layer: nosuch: no such layer" "$SYNTH" "${A[@]}" --layer nosuch --frames 2 --out-dir "$T/f"
[ -e "$T/f/animate.state" ] && fail "an unknown layer is refused before the state is written"
expect_fail 1 "must end in .mp4 or .gif" "$SYNTH" "${A[@]}" --frames 2 --out-dir "$T/e" --encode "$T/x.avi"
touch "$T/file"
expect_fail 1 "not a folder" "$SYNTH" "${A[@]}" --frames 2 --out-dir "$T/file"
expect_fail 1 "cannot make the folder" "$SYNTH" "${A[@]}" --frames 2 --out-dir "$T/no/such"
[ -e "$T/e" ] && fail "bad flags make no folder"
expect_ok "$SYNTH" animate --help
grep -q -- '--zoom Z' "$T/out" || fail "--help lists --zoom"
grep -q -- '--jitter PX' "$T/out" || fail "--help lists the dream options"

# ---- --encode -----------------------------------------------------------------------
mkdir -p "$T/bin"
# Without ffmpeg on PATH: the command, printed (quoted for the shell).
PATH=$T/bin expect_ok "$SYNTH" "${A[@]}" --frames 5 --out-dir "$T/ref5" --encode "$T/my clip.mp4"
grep -qF "ffmpeg -nostdin -y -loglevel error -framerate 24 -start_number 0 -i $T/ref5/frame_%05d.png -frames:v 5 " "$T/out" \
    || fail "prints the ffmpeg command: $(cat "$T/out")"
grep -qF "'$T/my clip.mp4'" "$T/out" || fail "the output quoted: $(cat "$T/out")"
grep -q "ffmpeg is not on PATH" "$T/err" || fail "says ffmpeg is missing: $(cat "$T/err")"
# A failing ffmpeg: a clear error, no output file.
printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s/args"\nexit 3\n' "$T" >"$T/bin/ffmpeg"
chmod +x "$T/bin/ffmpeg"
PATH=$T/bin:$PATH expect_fail 1 "ffmpeg failed with exit status 3" "$SYNTH" "${A[@]}" -q --frames 5 --out-dir "$T/ref5" --encode "$T/x.gif"
[ -e "$T/x.gif" ] && fail "no output from a failed ffmpeg"
ls -A "$T" | grep -q 'synth-partial' && fail "no partial output left"
# The arguments arrive one by one, not through a shell.
grep -qx 'split\[a\]\[b\];\[a\]palettegen\[p\];\[b\]\[p\]paletteuse' "$T/args" || fail "gif filter as one argument: $(cat "$T/args")"
grep -qx -- "-f" "$T/args" || fail "format given"
if command -v ffmpeg >/dev/null; then
    expect_ok "$SYNTH" "${A[@]}" --frames 5 --out-dir "$T/ref5" --encode "$T/clip.gif" --fps 10
    head -c 6 "$T/clip.gif" | grep -q GIF89a || fail "a GIF was made"
    grep -q "encoded 5 frames into $T/clip.gif" "$T/err" || fail "says so: $(cat "$T/err")"
    if ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx264; then
        expect_ok "$SYNTH" "${A[@]}" --frames 5 --out-dir "$T/ref5" --encode "$T/clip.mp4"
        head -c 8 "$T/clip.mp4" | tail -c 4 | grep -q ftyp || fail "an MP4 was made"
        if command -v ffprobe >/dev/null; then
            frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames \
                -of csv=p=0 "$T/clip.mp4")
            [ "$frames" = 5 ] || fail "the MP4 holds the 5 frames (ffprobe: $frames)"
        fi
    fi
fi
finish
