# Presets: every shipped preset runs (tiny, built-in network); list and
# show; lookup by name (user folder first) and by path; precedence defaults <
# preset < command line; layer alternatives; damaged presets fail with one
# "synth: FILE:LINE: ..." line, exit 1, and write nothing.
. "$(dirname "$0")/lib.sh"
E=$SYNTH_SOURCE_DIR/docs/examples
P=$SYNTH_SOURCE_DIR/presets
export XDG_CONFIG_HOME=$T/config # no user presets but the test's
mkdir -p "$XDG_CONFIG_HOME/synth/presets"
U=$XDG_CONFIG_HOME/synth/presets

# ---- every shipped preset, every command section of it ------------------------
shipped=0
for file in "$P"/*.ini; do
    name=$(basename "$file" .ini)
    shipped=$((shipped + 1))
    grep -q '^description = .\{10,\}' "$file" || fail "$name has a one-line description"
    for cmd in $(sed -n 's/^\[\([a-z]*\)\]$/\1/p' "$file" | grep -v '^preset$'); do
        case $cmd in
        style) args=(--content "$E/content.jpg" --style "$E/style.jpg") ;;
        dream | invert) args=(--input "$E/content.jpg") ;;
        classvis) args=(--class 3) ;;
        neuron) args=(--channel 3) ;;
        texture) args=(--style "$E/style.jpg") ;;
        *) continue ;; # a command of another issue: its own test runs it
        esac
        out=$T/run-$name-$cmd.png
        expect_ok "$SYNTH" "$cmd" --preset "$name" "${args[@]}" --size 48 --octaves 1 --iters 2 --threads 2 -o "$out"
        [ -s "$out" ] || fail "preset $name ($cmd) wrote $out"
        "$SYNTH" info "$out" >"$T/meta" 2>&1
        grep -qx "synth.preset: $name" "$T/meta" || fail "$name: synth.preset stored: $(cat "$T/meta")"
        grep -qx "synth.preset_sha256: $(sha256sum <"$file" | cut -c1-64)" "$T/meta" || fail "$name: preset hash stored"
        grep -qx 'synth.model_sha256: builtin' "$T/meta" || fail "$name: model hash stored"
    done
done
[ "$shipped" -ge 11 ] || fail "at least 11 presets ship (found $shipped)"
# A preset made for a model not downloaded says so and uses the built-in network.
expect_ok "$SYNTH" dream --preset dream-classic --input "$E/content.jpg" --size 48 --octaves 1 --iters 1 -o "$T/dc.png"
grep -qF "preset 'dream-classic' is made for model 'googlenet', which is not downloaded ('synth model fetch googlenet'); using the built-in network" "$T/err" \
    || fail "the model fallback is noted: $(cat "$T/err")"

# ---- list and show ----------------------------------------------------------------
expect_ok "$SYNTH" presets list
[ "$(wc -l <"$T/out")" -eq "$shipped" ] || fail "presets list: one line per preset: $(cat "$T/out")"
sort -c "$T/out" 2>/dev/null || fail "presets list is sorted"
for name in dream-classic dream-deep dream-shallow style-gatys style-fast style-hires classvis-simonyan \
    classvis-yosinski classvis-lucid invert-mahendran neuron-lucid; do
    grep -q "^$name  *[A-Z]" "$T/out" || fail "presets list shows $name with its description"
done
expect_ok "$SYNTH" presets show dream-classic
head -1 "$T/out" | grep -qx "# $P/dream-classic.ini" || fail "show says where: $(head -1 "$T/out")"
tail -n +2 "$T/out" | cmp -s - "$P/dream-classic.ini" || fail "show prints the file"
expect_fail 1 "nope: no such preset" "$SYNTH" presets show nope
expect_fail 2 "unknown subcommand 'frob'" "$SYNTH" presets frob

# ---- lookup: user folder first, paths ------------------------------------------------
cat >"$U/style-fast.ini" <<'EOF'
[preset]
description = my own fast
[classvis]
iters = 3
EOF
expect_ok "$SYNTH" presets list
grep -q '^style-fast  *my own fast$' "$T/out" || fail "a user preset hides the shipped one: $(cat "$T/out")"
expect_ok "$SYNTH" presets show style-fast
head -1 "$T/out" | grep -qx "# $U/style-fast.ini" || fail "show finds the user's: $(head -1 "$T/out")"

# installed: <prefix>/bin/synth finds <prefix>/share/synth/presets
mkdir -p "$T/prefix/bin" "$T/prefix/share/synth/presets"
cp "$SYNTH" "$T/prefix/bin/synth"
printf '[preset]\ndescription = installed only\n[classvis]\niters = 1\n' >"$T/prefix/share/synth/presets/only-installed.ini"
expect_ok "$T/prefix/bin/synth" presets show only-installed
head -1 "$T/out" | grep -qx "# $T/prefix/bin/../share/synth/presets/only-installed.ini" || fail "installed presets found: $(head -1 "$T/out")"

# ---- precedence: defaults < preset < command line, wherever --preset is ----------
run_iters() { # expected-iterations args...
    local want=$1
    shift
    rm -f "$T/log.json"
    expect_ok "$SYNTH" classvis --class 1 --size 32 --log-json "$T/log.json" -o "$T/prec.png" "$@"
    [ "$(wc -l <"$T/log.json" 2>/dev/null)" = "$want" ] || fail "$want iterations with $*: $(wc -l <"$T/log.json")"
}
run_iters 3 --preset style-fast
run_iters 2 --preset style-fast --iters 2
run_iters 2 --iters 2 --preset style-fast
run_iters 2 --iters 2 --preset="$U/style-fast.ini"
cp "$U/style-fast.ini" "$T/mine.ini"
run_iters 3 --preset "$T/mine.ini"
# A repeatable flag in a preset: the command line's list replaces it.
cat >"$T/styles.ini" <<EOF
[style]
style = $E/style.jpg
style = $E/content.jpg
EOF
expect_ok "$SYNTH" style --preset "$T/styles.ini" --content "$E/content.jpg" --size 32 --octaves 1 --iters 1 --log-json "$T/s.json" -o "$T/s.png"
[ -s "$T/s.png" ] || fail "two styles from a preset"

# ---- layer alternatives ----------------------------------------------------------------
printf '[dream]\nlayer = mixed4c|relu3_1\n' >"$T/alt.ini"
expect_ok "$SYNTH" dream --preset "$T/alt.ini" --input "$E/content.jpg" --size 40 --octaves 1 --iters 1 --log-json "$T/alt.json" -o "$T/alt.png"
printf '[dream]\nlayer = mixed4c|mixed5a\n' >"$T/noalt.ini"
expect_fail 1 "--layer: none of 'mixed4c|mixed5a' is a layer of model 'default'" \
    "$SYNTH" dream --preset "$T/noalt.ini" --input "$E/content.jpg" --size 40 --octaves 1 --iters 1 -o "$T/noalt.png"
[ -e "$T/noalt.png" ] && fail "nothing written when no alternative fits"

# ---- animate reads [dream], poster reads [classvis], their own section over it ----------
# (keys of the base command they lack, like dream's save-every, are left out)
printf '[dream]\nlayer = mixed4c|relu3_1\niters = 1\noctaves = 1\nsave-every = 3\nstep = 2.5\n[animate]\nzoom = 1.1\nstep = 3\n' >"$T/anim.ini"
expect_ok "$SYNTH" animate --preset "$T/anim.ini" --input "$E/content.jpg" --frames 1 --out-dir "$T/anim" --size 40 --quiet
for kv in layer=relu3_1 iters=1 octaves=1 step=3 zoom=1.1000000000000001; do
    grep -qx "$kv" "$T/anim/animate.state" || fail "animate with [dream] and [animate]: $kv: $(cat "$T/anim/animate.state")"
done
expect_ok "$SYNTH" animate --preset dream-classic --input "$E/content.jpg" --frames 1 --out-dir "$T/anim-dc" --size 40 --octaves 1 --iters 1 --quiet
for kv in layer=relu4_2 step=1.5 jitter=32 octave-scale=1.3999999999999999 boundary=wrap clamp=true; do
    grep -qx "$kv" "$T/anim-dc/animate.state" || fail "animate --preset dream-classic: $kv: $(cat "$T/anim-dc/animate.state")"
done
printf '[dream]\nlayer = nosuch\n' >"$T/anim-bad.ini"
expect_fail 1 "--layer: nosuch: no such layer in model 'default'" \
    "$SYNTH" animate --preset "$T/anim-bad.ini" --input "$E/content.jpg" --frames 1 --out-dir "$T/anim-bad" --size 40
[ -e "$T/anim-bad/frame_00000.png" ] && fail "no frame from a preset with a bad layer"
printf '[style]\niters = 1\n' >"$T/anim-none.ini"
expect_fail 1 "preset '$T/anim-none.ini' has no [animate] or [dream] section (it has: [style])" \
    "$SYNTH" animate --preset "$T/anim-none.ini" --input "$E/content.jpg" --frames 1 --out-dir "$T/anim-none"
printf '[classvis]\nlayer = nosuch\n' >"$T/poster-bad.ini"
expect_fail 1 "--layer: nosuch: no such layer in model 'default'" \
    "$SYNTH" poster --preset "$T/poster-bad.ini" --classes 1,2 --cell 32 --iters 1 -o "$T/poster-bad.png"
[ -e "$T/poster-bad.png" ] && fail "no poster from a preset with a bad layer"

# ---- damaged presets: one line, exit 1, nothing written ------------------------------
damaged() { # 'expected message' preset-text
    printf '%b' "$2" >"$T/bad.ini"
    rm -f "$T/bad.png"
    expect_fail 1 "$1" "$SYNTH" classvis --preset "$T/bad.ini" --class 1 --size 32 --iters 1 -o "$T/bad.png"
    [ -e "$T/bad.png" ] && fail "nothing written for: $1"
}
damaged "$T/bad.ini:4: unknown key 'iter'" '[preset]\ndescription = x\n[classvis]\niter = 3\n'
damaged "$T/bad.ini:2: unknown key 'iter'" '[classvis]\niter = 3\n'
damaged "$T/bad.ini:2: iters: '-3' is not an integer in [0, 1e+07]" '[classvis]\niters = -3\n'
damaged "$T/bad.ini:3: param: 'fft' is not one of pixel|fourier" '[classvis]\n; comment\nparam = fft\n'
damaged "$T/bad.ini:2: clamp: 'maybe' is not true or false" '[classvis]\nclamp = maybe\n'
damaged "$T/bad.ini:3: duplicate key 'iters' (first at line 2)" '[classvis]\niters = 3\niters = 4\n'
damaged "$T/bad.ini:3: duplicate section [classvis] (first at line 1)" '[classvis]\niters = 3\n[classvis]\nlr = 0.1\n'
damaged "$T/bad.ini:1: unknown section [clasvis]" '[clasvis]\niters = 3\n'
damaged "$T/bad.ini:1: 'iters' is outside a section" 'iters = 3\n'
damaged "$T/bad.ini:2: not a 'key = value' line, a [section] or a comment" '[classvis]\niters 3\n'
damaged "$T/bad.ini:2: iters: empty value" '[classvis]\niters =\n'
damaged "$T/bad.ini:2: line longer than 196 characters" "[classvis]\nlayer = $(printf 'x%.0s' $(seq 200))\n"
damaged "$T/bad.ini:2: not text (byte 0x00)" '[classvis]\nit\0ers = 3\n'
damaged "$T/bad.ini:1: not text (byte 0x01)" '\x01\x02\x03\xff\xfe'
# a bad value in a section of another command is caught too
damaged "$T/bad.ini:4: octaves: '0' is not an integer in [1, 32]" '[classvis]\niters = 2\n[style]\noctaves = 0\n'
damaged "preset '$T/bad.ini' has no [classvis] section (it has: [preset], [style])" '[preset]\ndescription = d\n[style]\niters = 2\n'
damaged "preset '$T/bad.ini' has no [classvis] section (it has: none)" ''
rm -f "$T/bad.png"
expect_fail 1 "nope: no such preset (see 'synth presets list'" "$SYNTH" classvis --preset nope --class 1 -o "$T/bad.png"
expect_fail 1 "$T/none.ini: No such file" "$SYNTH" classvis --preset "$T/none.ini" --class 1 -o "$T/bad.png"
expect_fail 1 "bad name: not a preset name" "$SYNTH" classvis --preset 'bad name' --class 1 -o "$T/bad.png"
expect_fail 2 "option '--preset' needs a value" "$SYNTH" classvis --class 1 -o "$T/bad.png" --preset
[ -e "$T/bad.png" ] && fail "nothing written by a bad --preset"
# a broken user preset is listed with its error, the others still are
printf '[classvis]\niters = x\n' >"$U/broken.ini"
printf '[classvis]\nitres = 1\n' >"$U/typo.ini"
expect_ok "$SYNTH" presets list
grep -q "^typo  *(broken: $U/typo.ini:2: unknown key 'itres')" "$T/out" || fail "a broken preset is listed as such: $(cat "$T/out")"
grep -q '^dream-classic ' "$T/out" || fail "the others are listed with a broken one"
expect_fail 1 "$U/broken.ini:2: iters: 'x' is not an integer" "$SYNTH" presets show broken

# ---- help ------------------------------------------------------------------------------
for cmd in style dream classvis neuron invert info; do
    "$SYNTH" "$cmd" --help | grep -q -- '--preset NAME|FILE' || fail "$cmd --help mentions --preset"
done
"$SYNTH" --help | grep -q '^  presets ' || fail "synth --help lists presets"

finish
