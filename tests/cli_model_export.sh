# synth model export: the built-in network and a small ONNX model written as
# ONNX files that ONNX's own checker accepts (python3-onnx, full check with
# shape inference, when installed), layer names kept; usage and error exits.
. "$(dirname "$0")/lib.sh"
data=$SYNTH_TEST_DATA/onnx

expect_ok "$SYNTH" model export default -o "$T/default.onnx"
grep -q "default.onnx: written" "$T/out" || fail "export output: $(cat "$T/out")"
expect_ok "$SYNTH" model export "$data/vgg_bn_opset9.onnx" -o "$T/vgg_bn.onnx"

py=/usr/bin/python3
if [ -x "$py" ] && "$py" -c 'import onnx' 2>/dev/null; then
    for f in "$T/default.onnx" "$T/vgg_bn.onnx"; do
        "$py" - "$f" <<'PY' || fail "onnx checker refused $f"
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
assert m.opset_import[0].version == 13, m.opset_import
if sys.argv[1].endswith("default.onnx"):
    names = [n.output[0] for n in m.graph.node]
    assert names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"], names[:5]
    assert names[-1] == "pool5" and [o.name for o in m.graph.output] == ["pool5"]
    assert {i.name for i in m.graph.initializer} >= {"conv1_1.weight", "conv5_4.bias"}
PY
    done
else
    echo "note: python3-onnx is not installed; exported files not checked with onnx.checker"
fi

expect_fail 2 "export needs -o" "$SYNTH" model export default
expect_fail 2 "export needs a MODEL" "$SYNTH" model export -o "$T/x.onnx"
expect_fail 1 "no such model" "$SYNTH" model export nosuchmodel -o "$T/x.onnx"
expect_fail 1 "does not exist" "$SYNTH" model export default -o "$T/missing/x.onnx"
[ ! -e "$T/x.onnx" ] || fail "a failed export left a file"
finish
