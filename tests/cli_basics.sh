# The executable's front door: help, version, unknown commands and exit codes.
. "$(dirname "$0")/lib.sh"

expect_ok "$SYNTH" --help
grep -q '^Usage: synth COMMAND' "$T/out" || fail "--help shows usage"
expect_ok "$SYNTH" --version
grep -Eq '^synth [0-9]+\.[0-9]+\.[0-9]+$' "$T/out" || fail "--version prints 'synth X.Y.Z'"
expect_fail 2 "unknown command 'frobnicate'" "$SYNTH" frobnicate
expect_fail 2 "" "$SYNTH"
finish
