# Shared helpers for the shell tests (sourced, not a test itself).
# expect_fail CODE 'message part' command...   the command exits CODE and its stderr
#                                             is one line containing the message part
set -u
fails=0
: "${SYNTH:?SYNTH must point at the synth executable}"
: "${TEST_TMPDIR:?}"
rm -rf "$TEST_TMPDIR" && mkdir -p "$TEST_TMPDIR"
T=$TEST_TMPDIR

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

expect_ok() {
    if ! "$@" >"$T/out" 2>"$T/err"; then
        fail "expected success: $* (exit $?): $(head -c 400 "$T/err")"
    fi
}

expect_fail() {
    local code=$1 needle=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    [ "$rc" = "$code" ] || fail "expected exit $code, got $rc: $* :: $(head -c 400 "$T/err")"
    grep -qF -- "$needle" "$T/err" || fail "expected '$needle' in stderr of: $* :: $(head -c 400 "$T/err")"
    if [ "$code" = 1 ]; then
        [ "$(wc -l <"$T/err")" -le 1 ] || fail "expected one line on stderr: $* :: $(cat "$T/err")"
        grep -q '^synth: ' "$T/err" || fail "stderr must start with 'synth: ': $*"
    fi
}

# npy_shape_is FILE 'shape tuple'   the .npy file's header says that shape
npy_shape_is() {
    head -c 128 "$1" 2>/dev/null | tr -d '\0' | grep -aqF "'shape': ($2)" || fail "$1 should have shape ($2)"
}

# png_size_is FILE WIDTH HEIGHT     the image has that size (read by synth info)
png_size_is() {
    local size
    size=$("$SYNTH" info --headers "$1" 2>/dev/null | sed -n 's/^width: //p; s/^height: //p' | tr '\n' ' ')
    [ "$size" = "$2 $3 " ] || fail "$1 should be $2x$3, is '$size'"
}

finish() {
    if [ "$fails" -ne 0 ]; then
        echo "$fails failure(s)" >&2
        exit 1
    fi
    echo "all passed"
}
