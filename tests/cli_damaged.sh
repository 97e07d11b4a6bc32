#!/usr/bin/env bash
# Hundreds of randomly damaged inputs through the real synth binary: images,
# ONNX models, .npy tensors, labels files and presets, damaged by tool_mutate (bit
# flips, truncations, inserted, deleted and repeated bytes, edited length
# fields) from fixed seeds, so every run damages the same way. Each run must
#   - end by itself (within $SYNTH_DAMAGED_TIMEOUT seconds, default 20),
#   - exit 0 or 1: never a signal (a crash), never a usage error,
#   - on failure print exactly one line on stderr, starting "synth: ",
#   - on failure leave nothing in the output folder (no output, no temporary).
# SYNTH_DAMAGED_ROUNDS=N multiplies the number of cases (a longer soak;
# default 1: about 600 runs). A failing case prints the mutation and the
# command, and keeps the damaged file in $TEST_TMPDIR/kept/.
source "$(dirname "$0")/lib.sh"
: "${SYNTH_TEST_TOOLS:?}" "${SYNTH_SOURCE_DIR:?}"
MUTATE=$SYNTH_TEST_TOOLS/tool_mutate
rounds=${SYNTH_DAMAGED_ROUNDS:-1}
limit=${SYNTH_DAMAGED_TIMEOUT:-20}
SRC=$SYNTH_SOURCE_DIR/tests
OUT=$T/out.d
mkdir -p "$T/img" "$T/kept"
"$SYNTH_TEST_TOOLS/tool_images" "$T/img" >/dev/null || { echo "tool_images failed" >&2; exit 1; }

# The undamaged inputs: every seed that reads cleanly, plus the test fixtures.
images=() models=() tensors=()
for f in "$T"/img/*.png "$T"/img/*.jpg "$SRC"/fuzz/image/*; do
    case $(basename "$f") in damaged_* | regress-* | huge.*) continue ;; esac
    "$SYNTH" info "$f" >/dev/null 2>&1 && images+=("$f")
done
for f in "$SRC"/fuzz/onnx/*.onnx "$SRC"/data/explain/shapes.onnx "$SRC"/data/explain/twolayer.onnx \
    "$SRC"/data/onnx/alexnet_lrn.onnx; do
    "$SYNTH" info --model "$f" >/dev/null 2>&1 && models+=("$f")
done
for f in "$SRC"/fuzz/npy/*.npy; do
    case $(basename "$f") in damaged_*) continue ;; esac
    tensors+=("$f")
done
presets=("$SYNTH_SOURCE_DIR"/presets/*.ini)
[ "${#presets[@]}" -ge 10 ] && [ "${#images[@]}" -ge 10 ] && [ "${#models[@]}" -ge 10 ] && [ "${#tensors[@]}" -ge 5 ] ||
    { echo "too few undamaged inputs (${#images[@]} images, ${#models[@]} models, ${#tensors[@]} tensors, ${#presets[@]} presets)" >&2; exit 1; }
good_image=$T/img/rgb8.png
good_model=$SRC/data/explain/shapes.onnx
labels=$SRC/data/explain/shapes.labels

runs=0 refused=0
# check DAMAGED_FILE MUTATION command...: runs the command and checks the rules.
check() {
    local damaged=$1 what=$2
    shift 2
    rm -rf "$OUT" && mkdir -p "$OUT"
    runs=$((runs + 1))
    timeout -k 5 "$limit" "$@" >"$T/stdout" 2>"$T/stderr"
    local rc=$? why=""
    case $rc in
    0) ;;
    1)
        refused=$((refused + 1))
        [ "$(wc -l <"$T/stderr")" -eq 1 ] || why="stderr is not one line"
        head -c 7 "$T/stderr" | grep -q '^synth: ' || why="stderr does not start with 'synth: '"
        [ -z "$(ls -A "$OUT")" ] || why="left behind: $(ls -A "$OUT" | tr '\n' ' ')"
        ;;
    124 | 137) why="no answer within $limit s (a hang)" ;;
    2) why="a usage error for damaged input" ;;
    *) why="exit status $rc (a crash?)" ;;
    esac
    if [ -n "$why" ]; then
        local keep
        keep=$T/kept/$runs-$(basename "$damaged")
        cp "$damaged" "$keep"
        fail "$why: [$what] $* (damaged file kept as $keep) :: $(head -c 300 "$T/stderr")"
    fi
}

# The checks themselves must catch what they are for: a crash, a hang, a
# stray temporary, a second line.
self_test() {
    local before=$fails
    check /dev/null "self-test" bash -c 'kill -SEGV $$'
    check /dev/null "self-test" timeout 1 sleep 3 # 124, as a hang reads
    check /dev/null "self-test" bash -c "touch '$OUT/.x.synth-tmp'; echo 'synth: x: bad' >&2; exit 1"
    check /dev/null "self-test" bash -c "printf 'synth: a\nsynth: b\n' >&2; exit 1"
    [ "$fails" -eq $((before + 4)) ] || { echo "cli_damaged: the checks do not catch failures" >&2; exit 1; }
    fails=$before runs=0 refused=0
}
self_test >/dev/null 2>&1 || { echo "cli_damaged: self-test failed" >&2; exit 1; }

# damage INDEX SOURCE NAME: writes $T/NAME damaged with seed INDEX, sets $what.
damage() {
    what=$("$MUTATE" "$1" "$2" "$T/$3") || { fail "tool_mutate $1 $2"; what=""; }
    what="seed $1 on $(basename "$2"): $what"
}

for ((round = 0; round < rounds; round++)); do
    base=$((round * 1000))
    # Images: the full decode (info), and a command that reads one and writes a PNG.
    for ((i = 0; i < 100; i++)); do
        seed=$((base + i))
        src=${images[$((seed % ${#images[@]}))]}
        ext=${src##*.}
        damage "$seed" "$src" "damaged.$ext"
        check "$T/damaged.$ext" "$what" "$SYNTH" info "$T/damaged.$ext"
        if ((i % 2)); then
            check "$T/damaged.$ext" "$what" "$SYNTH" activations "$T/damaged.$ext" --model "$good_model" \
                --layer conv1 -o "$OUT/act.png"
        else
            check "$T/damaged.$ext" "$what" "$SYNTH" info --headers "$T/damaged.$ext"
        fi
    done
    # Models: described, and run on an image (classify writes probabilities).
    for ((i = 0; i < 100; i++)); do
        seed=$((base + 100 + i))
        src=${models[$((seed % ${#models[@]}))]}
        damage "$seed" "$src" damaged.onnx
        check "$T/damaged.onnx" "$what" "$SYNTH" info --model "$T/damaged.onnx"
        if ((i % 2)); then
            check "$T/damaged.onnx" "$what" "$SYNTH" classify "$good_image" --model "$T/damaged.onnx" \
                --raw "$OUT/p.npy"
        else
            check "$T/damaged.onnx" "$what" "$SYNTH" activations "$good_image" --model "$T/damaged.onnx" \
                --layer conv1 -o "$OUT/act.png" --raw "$OUT/act.npy"
        fi
    done
    # .npy tensors fed to a model as they are.
    for ((i = 0; i < 30; i++)); do
        seed=$((base + 200 + i))
        src=${tensors[$((seed % ${#tensors[@]}))]}
        damage "$seed" "$src" damaged.npy
        check "$T/damaged.npy" "$what" "$SYNTH" probe --model "$SRC/data/explain/twolayer.onnx" \
            --input "$T/damaged.npy" --layer fc --out-act "$OUT/a.npy" --out-grad "$OUT/g.npy"
    done
    # Labels files.
    for ((i = 0; i < 20; i++)); do
        seed=$((base + 300 + i))
        damage "$seed" "$labels" damaged.labels
        check "$T/damaged.labels" "$what" "$SYNTH" classify "$good_image" --model "$good_model" \
            --labels "$T/damaged.labels" --raw "$OUT/p.npy"
    done
    # Presets: each shipped preset damaged, then read whole (presets show) or
    # applied by its first command on a tiny image (the command line's --size,
    # --iters and --octaves win over whatever the damage made of the preset's).
    for ((i = 0; i < 150; i++)); do
        seed=$((base + 400 + i))
        src=${presets[$((seed % ${#presets[@]}))]}
        damage "$seed" "$src" damaged.ini
        if ((i % 3 == 0)); then
            check "$T/damaged.ini" "$what" "$SYNTH" presets show "$T/damaged.ini"
            continue
        fi
        cmd=$(sed -n 's/^\[\([a-z]*\)\]$/\1/p' "$src" | grep -v '^preset$' | head -1)
        case $cmd in
        style) args=(--content "$good_image" --style "$good_image") ;;
        dream | invert) args=(--input "$good_image") ;;
        classvis) args=(--class 3) ;;
        neuron) args=(--channel 3) ;;
        texture) args=(--style "$good_image") ;;
        *) fail "no arguments known for [$cmd] of $src"; continue ;;
        esac
        check "$T/damaged.ini" "$what" "$SYNTH" "$cmd" --preset "$T/damaged.ini" "${args[@]}" \
            --size 32 --iters 1 --octaves 1 --threads 1 --quiet -o "$OUT/p.png"
    done
done
echo "$runs runs on damaged inputs: $((runs - refused)) accepted, $refused refused with one line"
finish
