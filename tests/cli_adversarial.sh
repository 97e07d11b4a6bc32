# synth adversarial: the lectures' FGSM example through the real CLI (an .npy
# fed to a PyTorch-exported logistic regression, eps in the tensor's units),
# untargeted and iterated forms, the score layer named (--layer logit, prob;
# x' checked with numpy), an image on a trained model, the built-in network,
# errors.
. "$(dirname "$0")/lib.sh"
D=$SYNTH_TEST_DATA/explain
LR="--model $D/logreg.onnx"
X=$D/logreg.x.npy
PIC=$SYNTH_SOURCE_DIR/docs/examples/shapes.png

# P(y=1) = sigmoid(w.x) = 0.1192; towards y = 1 the logit gains eps * sum|w| = 10 eps.
for case in "0.1 0.268941" "0.2 0.500000" "0.3 0.731059"; do
    set -- $case
    expect_ok "$SYNTH" adversarial --input "$X" $LR --eps "$1" --target-class 1 -o "$T/adv.npy"
    grep -qx "before: class 0 p=0.880797" "$T/out" || fail "eps $1: before: $(cat "$T/out")"
    grep -qx "target: class 1 p=0.119203 -> $2" "$T/out" || fail "eps $1: target: $(cat "$T/out")"
    grep -qx "max change: $1 (tensor units)" "$T/out" || fail "eps $1: the change is eps: $(cat "$T/out")"
    npy_shape_is "$T/adv.npy" "1, 8"
    # The written tensor classifies the same.
    expect_ok "$SYNTH" classify "$T/adv.npy" $LR
    grep -q "^$2  1\$\|^$(awk -v p="$2" 'BEGIN { printf "%.6f", 1 - p }')  0\$" "$T/out" || fail "eps $1: classify the output: $(cat "$T/out")"
done

# --layer logit, the MatMul before the Sigmoid (named so by synth info), and
# --layer prob, the Sigmoid itself (scores already probabilities): the same
# moves. The expected x' = x + eps sign(w) and P(y=1) = sigmoid(w.x') are
# computed here with numpy from the lectures' x and w.
"$SYNTH" info --model "$D/logreg.onnx" | grep -qE '^ +0 +logit +- +MatMul +1x1$' || fail "logreg's layer 0 is logit"
py=/usr/bin/python3
numpy=1
"$py" -c 'import numpy' 2>/dev/null || { numpy=0; echo "note: no numpy for $py: the written tensors are not checked"; }
# lr_expect EPS OUT.npy: OUT holds x + EPS sign(w); prints sigmoid(w.x') as %.6f
lr_expect() {
    [ "$numpy" = 1 ] || { echo "$3"; return 0; }
    "$py" - "$1" "$2" "$X" <<'PY'
import sys, numpy as np
x = np.array([1, -2, -2, 3, -1, 2, -2, -3], np.float64)
w = np.array([2, -1, -1, -1, 2, -1, -1, 1], np.float64)
eps, out, given = float(sys.argv[1]), np.load(sys.argv[2]), np.load(sys.argv[3])
want = x + eps * np.sign(w)  # d(w.x)/dx = w: up the logit, towards y = 1
print("%.6f" % (1 / (1 + np.exp(-w @ want))))
ok = given.shape == (1, 8) and np.array_equal(given[0], x) and out.shape == (1, 8) and out.dtype == np.float32
sys.exit(0 if ok and np.allclose(out[0], want, rtol=0, atol=1e-6) else 1)
PY
}
for case in "0.1 0.268941 0" "0.2 0.500000 [01]" "0.3 0.731059 1"; do
    set -- $case
    for layer in logit prob; do
        expect_ok "$SYNTH" adversarial --input "$X" $LR --layer $layer --eps "$1" --target-class 1 -o "$T/l.npy"
        grep -qx "before: class 0 p=0.880797" "$T/out" || fail "--layer $layer eps $1: before: $(cat "$T/out")"
        grep -qx "target: class 1 p=0.119203 -> $2" "$T/out" || fail "--layer $layer eps $1: target: $(cat "$T/out")"
        # after: the more probable class (a tie at eps 0.2)
        grep -qx "after: class $3 p=$(awk -v p="$2" 'BEGIN { printf "%.6f", (p > 0.5) ? p : 1 - p }')" "$T/out" ||
            fail "--layer $layer eps $1: after: $(cat "$T/out")"
        p=$(lr_expect "$1" "$T/l.npy" "$2") || fail "--layer $layer eps $1: x' is not x + eps sign(w)"
        [ "$p" = "$2" ] || fail "--layer $layer eps $1: numpy's P(y=1) of x' is $p"
    done
done
for method in "--method fgsm" "--method ifgsm --steps 5" "--method ifgsm --steps 2 --step 1"; do
    expect_ok "$SYNTH" adversarial --input "$X" $LR --layer logit --eps 0.3 $method -o "$T/l.npy"
    grep -qx "predicted: class 0 p=0.880797 -> 0.268941" "$T/out" || fail "--layer logit untargeted $method: $(cat "$T/out")"
    grep -qx "after: class 1 p=0.731059" "$T/out" || fail "--layer logit untargeted $method flips the class: $(cat "$T/out")"
    p=$(lr_expect 0.3 "$T/l.npy" 0.731059) || fail "--layer logit untargeted $method: x' is not x + 0.3 sign(w)"
    [ "$p" = 0.731059 ] || fail "--layer logit untargeted $method: numpy's P(y=1) of x' is $p"
done

# Untargeted: away from the predicted class 0 (the same move here), by FGSM
# and by I-FGSM in 5 steps, or steps larger than eps (projected back).
for method in "--method fgsm" "--method ifgsm --steps 5" "--method ifgsm --steps 2 --step 1"; do
    expect_ok "$SYNTH" adversarial --input "$X" $LR --eps 0.3 $method -o "$T/u.npy" --raw "$T/raw.npy"
    grep -qx "predicted: class 0 p=0.880797 -> 0.268941" "$T/out" || fail "untargeted $method: $(cat "$T/out")"
    grep -qx "after: class 1 p=0.731059" "$T/out" || fail "untargeted $method flips the class: $(cat "$T/out")"
    cmp -s "$T/u.npy" "$T/raw.npy" || fail "--raw holds the adversarial input"
done

# An image on the trained shapes model: eps in image units, a PNG written.
SHAPES="--model $D/shapes.onnx --labels $D/shapes.labels"
expect_ok "$SYNTH" adversarial --input "$PIC" $SHAPES --eps 0.03 --method ifgsm --steps 5 -o "$T/adv.png"
grep -q "^before: class 2 triangle" "$T/out" || fail "the image is a triangle: $(cat "$T/out")"
grep -qE "^predicted: class 2 triangle p=0\.9[0-9]+ -> " "$T/out" || fail "untargeted on the image: $(cat "$T/out")"
grep -qE "^max change: 0\.0(2|3)[0-9]* \(image units\)$" "$T/out" || fail "the change is at most eps: $(cat "$T/out")"
png_size_is "$T/adv.png" 64 64
cmp -s "$T/adv.png" "$PIC" && fail "the image changed"
expect_ok "$SYNTH" adversarial --input "$PIC" $SHAPES --eps 0.03 --method ifgsm --steps 5 -o "$T/adv2.png"
cmp -s "$T/adv.png" "$T/adv2.png" || fail "deterministic"
expect_ok "$SYNTH" adversarial --input "$PIC" $SHAPES --eps 0.05 --target-class 0 -o "$T/t.npy"
npy_shape_is "$T/t.npy" "1, 3, 64, 64"

# The built-in network (channel "classes"), noted.
expect_ok "$SYNTH" adversarial --input "$PIC" --size 32 --eps 0.01 -o "$T/b.png"
grep -q "random features" "$T/err" || fail "the built-in network is noted"
png_size_is "$T/b.png" 32 32

# Errors.
expect_fail 1 "write a .png" "$SYNTH" adversarial --input "$PIC" $SHAPES --eps 0.03 -o "$T/x.jpg"
expect_fail 1 "an .npy input makes an .npy output" "$SYNTH" adversarial --input "$X" $LR --eps 0.1 -o "$T/x.png"
expect_fail 1 "--target-class: 2: the scores have 2 classes" "$SYNTH" adversarial --input "$X" $LR --eps 0.1 --target-class 2 -o "$T/x.npy"
expect_fail 1 "No such file" "$SYNTH" adversarial --input "$T/none.npy" $LR --eps 0.1 -o "$T/x.npy"
expect_fail 1 "no such layer" "$SYNTH" adversarial --input "$X" $LR --eps 0.1 --layer nope -o "$T/x.npy"
expect_fail 1 "does not exist" "$SYNTH" adversarial --input "$X" $LR --eps 0.1 -o "$T/no/dir/x.npy"
expect_fail 2 "missing --eps" "$SYNTH" adversarial --input "$X" $LR -o "$T/x.npy"
expect_fail 2 "missing --input" "$SYNTH" adversarial $LR --eps 0.1 -o "$T/x.npy"
expect_fail 2 "missing -o" "$SYNTH" adversarial --input "$X" $LR --eps 0.1
expect_fail 2 "--eps" "$SYNTH" adversarial --input "$X" $LR --eps -1 -o "$T/x.npy"
expect_fail 2 "not one of fgsm|ifgsm" "$SYNTH" adversarial --input "$X" $LR --eps 0.1 --method pgd -o "$T/x.npy"
expect_fail 2 "unexpected argument" "$SYNTH" adversarial "$X" --input "$X" $LR --eps 0.1 -o "$T/x.npy"
[ -e "$T/x.npy" ] || [ -e "$T/x.png" ] || [ -e "$T/x.jpg" ] && fail "failed runs write nothing"
"$SYNTH" adversarial --help | grep -q "image units" || fail "--help says the units"
finish
