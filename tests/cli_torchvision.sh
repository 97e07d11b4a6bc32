# The full torchvision VGG-19, GoogLeNet, ResNet-18, AlexNet and SqueezeNet 1.1
# (random init, weights=None), exported with PyTorch into a scratch folder by
# scripts/make_onnx_models.py --full: each loads, runs its conv part at two
# sizes other than the one it was exported at and its classifier at 224 x 224,
# and `synth probe` gives activations and input gradients (of 1/2 sum act^2)
# within 1e-4 of PyTorch's float64 references (relative to the largest);
# tests/torch_reference_check.py says how ReLU inputs within float32 rounding
# of 0 are handled.
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
rm -rf "$T/full"
finish
