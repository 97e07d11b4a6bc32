# The full torchvision VGG-19, GoogLeNet, ResNet-18, AlexNet and SqueezeNet 1.1
# (random init, weights=None), exported with PyTorch into a scratch folder by
# scripts/make_onnx_models.py --full: each loads, runs its conv part at two
# sizes other than the one it was exported at and its classifier at 224 x 224,
# and `synth probe` gives activations and input gradients (of 1/2 sum act^2)
# within 1e-4 of PyTorch's float64 references (relative to the largest);
# tests/torch_reference_check.py says how ReLU inputs within float32 rounding
# of 0 are handled. The explain commands run on SqueezeNet 1.1, classify's
# top 5 against PyTorch's.
# Skipped (exit 77) when Debian's python3-torch / torchvision / onnx are absent.
# SYNTH_TORCHVISION_MODELS=vgg19,alexnet limits the models.
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3
if ! [ -x "$py" ] || ! "$py" -c 'import torch, torchvision, onnx, numpy' 2>/dev/null; then
    echo "python3-torch, python3-torchvision or python3-onnx missing: skipped"
    exit 77
fi
models=${SYNTH_TORCHVISION_MODELS:-vgg19,googlenet,resnet18,alexnet,squeezenet1_1}
"$py" "$SYNTH_SOURCE_DIR/scripts/make_onnx_models.py" --full "$T/full" --models "$models" 2>"$T/py.err" ||
    { cat "$T/py.err" >&2; fail "reference generation failed"; finish; }
rows=0
while IFS=$'\t' read -r model opset input layer act grad; do
    case "$model" in '#'*) continue ;; esac
    rows=$((rows + 1))
    if ! "$SYNTH" probe --model "$T/full/$model" --input "$T/full/$input" --layer "$layer" \
        --out-act "$T/ours.act.npy" --out-grad "$T/ours.grad.npy" 2>"$T/err"; then
        fail "probe $model $layer $input: $(cat "$T/err")"
        continue
    fi
    "$py" "$SYNTH_SOURCE_DIR/tests/torch_reference_check.py" "$SYNTH" "$T/full/$model" "$T/full/$input" "$layer" \
        "$T/ours.act.npy" "$T/ours.grad.npy" "$T/full/$act" "$T/full/$grad" || fail "$model $layer: not within 1e-4 of PyTorch"
done <"$T/full/manifest.tsv"
[ "$rows" -ge 3 ] || fail "only $rows reference rows"

# The explain commands on the full SqueezeNet 1.1 (scores: its "logits"
# output; 1000 classes). classify's top 5 on the reference input against
# PyTorch's softmax of its own logits for that input.
if [ -e "$T/full/squeezenet1_1.onnx" ]; then
    SQ="--model $T/full/squeezenet1_1.onnx"
    SX=$T/full/squeezenet1_1.logits.224x224.input.npy
    PIC=$SYNTH_SOURCE_DIR/docs/examples/shapes.png
    expect_ok "$SYNTH" classify "$SX" $SQ --layer logits --raw "$T/p.npy"
    "$py" - "$T/out" "$T/p.npy" "$T/full/squeezenet1_1.logits.224x224.act.npy" <<'PY' || fail "squeezenet classify: not PyTorch's top 5: $(cat "$T/out")"
import sys, numpy as np, torch
lines = [l.split() for l in open(sys.argv[1]).read().splitlines()]
ours, logits = np.load(sys.argv[2]), torch.from_numpy(np.load(sys.argv[3])).double()
p = torch.softmax(logits, 1)[0]
top = torch.topk(p, 5)
ok = len(lines) == 5 and [int(l[1]) for l in lines] == top.indices.tolist() and ours.shape == (1, 1000)
ok = ok and all(abs(float(l[0]) - v) <= 1e-4 for l, v in zip(lines, top.values.tolist()))
sys.exit(0 if ok and np.abs(ours[0] - p.numpy()).max() <= 1e-4 else 1)
PY
    for method in gradient gradcam; do
        expect_ok "$SYNTH" saliency "$PIC" $SQ --scores logits --method $method -o "$T/s.png" --raw "$T/s.npy"
        grep -qE "^$method: class [0-9]+ p=0\.[0-9]{6}$" "$T/out" || fail "squeezenet $method: $(cat "$T/out")"
        png_size_is "$T/s.png" 224 224
        npy_shape_is "$T/s.npy" "224, 224"
        "$py" -c "import numpy as np, sys; m = np.load(sys.argv[1]); sys.exit(0 if np.isfinite(m).all() and m.max() > m.min() >= 0 else 1)" \
            "$T/s.npy" || fail "squeezenet $method: the map is not finite, >= 0 and varied"
    done
    # Untargeted FGSM of eps 0.01 on the tensor: the predicted class's p falls.
    expect_ok "$SYNTH" adversarial --input "$SX" $SQ --layer logits --eps 0.01 -o "$T/adv.npy"
    grep -qx "max change: 0.01 (tensor units)" "$T/out" || fail "squeezenet adversarial: $(cat "$T/out")"
    awk '/^predicted:/ { exit !($NF < substr($(NF - 2), 3) + 0) }' "$T/out" || fail "squeezenet adversarial: p falls: $(cat "$T/out")"
    npy_shape_is "$T/adv.npy" "1, 3, 224, 224"
    expect_ok "$SYNTH" filters $SQ --layer conv1_1 -o "$T/f.png" --raw "$T/f.npy"
    npy_shape_is "$T/f.npy" "64, 3, 3, 3"
    expect_ok "$SYNTH" activations "$PIC" $SQ --layer relu2_1 -o "$T/a.png" --raw "$T/a.npy"
    npy_shape_is "$T/a.npy" "1, 16, 55, 55"
    expect_ok "$SYNTH" embed $SQ --layer features "$PIC" "$SX" --out "$T/e.npy" --neighbours 1
    npy_shape_is "$T/e.npy" "2, 512"
    [ "$(wc -l <"$T/out")" = 2 ] || fail "squeezenet embed: a line per input: $(cat "$T/out")"
    # relu2_1 (conv 3x3 stride 2, max pool 3x3 stride 2) sees 7x7 pixels: 2 x 2 crops.
    expect_ok "$SYNTH" top-patches $SQ --layer relu2_1 --channel 3 "$SYNTH_SOURCE_DIR/docs/examples" --top 4 -o "$T/t.png"
    [ "$(wc -l <"$T/out")" = 4 ] || fail "squeezenet top-patches: $(cat "$T/out")"
    png_size_is "$T/t.png" 17 17
else
    echo "note: squeezenet1_1 not among the models: the explain commands not run on it"
fi
rm -rf "$T/full"
finish
