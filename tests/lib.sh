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

finish() {
    if [ "$fails" -ne 0 ]; then
        echo "$fails failure(s)" >&2
        exit 1
    fi
    echo "all passed"
}
