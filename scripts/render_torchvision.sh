#!/bin/bash
# The five render commands on torchvision's VGG-19 and GoogLeNet as PyTorch
# exports them (seeded random weights: scripts/make_torchvision_render_models.py;
# no pretrained weights involved). Each command runs a few iterations at a small
# size; the script prints its first and last objective and fails if a command
# fails or its objective does not improve.
#
#   scripts/render_torchvision.sh [BUILD_DIR] [WORK_DIR]    (MODELS=googlenet: only one)
#
# Not in ctest: exporting the two models alone takes 30 s of CPU (VGG-19's
# file is 575 MB). Run it by hand after touching the render commands.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
synth=${1:-$src/build}/synth
work=${2:-/tmp/synth-render-torchvision}
ex=$src/docs/examples
imagenet=(--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225)
mkdir -p "$work"
if [ ! -s "$work/vgg19.onnx" ] || [ ! -s "$work/googlenet.onnx" ]; then
    /usr/bin/python3 "$src/scripts/make_torchvision_render_models.py" "$work" || exit 1
fi
failed=0
models=,${MODELS:-vgg19,googlenet},

# run NAME COMMAND ARGS...: runs it with a JSON log, prints the first and last loss
run() {
    local name=$1
    shift
    if ! "$synth" "$@" --quiet --log-json "$work/$name.json" -o "$work/$name.png" 2>"$work/$name.err"; then
        echo "FAIL $name: $(cat "$work/$name.err")"
        failed=1
        return
    fi
    local first last
    first=$(head -1 "$work/$name.json" | sed 's/.*"loss":\([^,]*\),.*/\1/')
    last=$(tail -1 "$work/$name.json" | sed 's/.*"loss":\([^,]*\),.*/\1/')
    if awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }'; then
        echo "ok   $name: loss $first -> $last ($work/$name.png)"
    else
        echo "FAIL $name: the loss did not fall: $first -> $last"
        failed=1
    fi
}

if [[ $models == *,vgg19,* ]]; then
vgg=(--model "$work/vgg19.onnx" "${imagenet[@]}")
run vgg19_style style "${vgg[@]}" --content "$ex/content.jpg" --style "$ex/style.jpg" --size 128 --octaves 1 --iters 20
run vgg19_dream dream "${vgg[@]}" --input "$ex/content.jpg" --size 128 --octaves 2 --iters 3 --layer /features/features.22/Relu
run vgg19_classvis classvis "${vgg[@]}" --class 1 --iters 10
run vgg19_neuron neuron "${vgg[@]}" --layer relu4_1 --channel 7 --size 96 --iters 10
run vgg19_invert invert "${vgg[@]}" --input "$ex/content.jpg" --layer relu3_1 --size 96 --iters 20

fi

# GoogLeNet has no VGG aliases past its stem: layers by their PyTorch names.
if [[ $models == *,googlenet,* ]]; then
gn=(--model "$work/googlenet.onnx" "${imagenet[@]}")
run googlenet_style style "${gn[@]}" --content "$ex/content.jpg" --style "$ex/style.jpg" --size 128 --octaves 1 --iters 20 \
    --content-layers /inception4c/Concat \
    --style-layers /conv1/Relu,/conv3/Relu,/inception3a/Concat,/inception4a/Concat,/inception5a/Concat
run googlenet_dream dream "${gn[@]}" --input "$ex/content.jpg" --size 128 --octaves 2 --iters 3 --layer /inception4c/Concat
run googlenet_classvis classvis "${gn[@]}" --class 1 --iters 10
run googlenet_neuron neuron "${gn[@]}" --layer /inception4a/Concat --channel 3 --size 96 --iters 10
run googlenet_invert invert "${gn[@]}" --input "$ex/content.jpg" --layer /inception3a/Concat --size 96 --iters 20
fi
exit $failed
