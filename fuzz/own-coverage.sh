#!/usr/bin/env bash
# RUSTC_WRAPPER that keeps libFuzzer's coverage instrumentation on schemac's own crates only:
# every other crate (the YAML parser, sqlparser, syn, std...) is built without the sancov
# pass, so the fuzzer's `cov:` counts, and its plateau, are of schemac's code alone.
# docs/fuzzing.md, "Coverage of schemac's own code". Usage (from fuzz/):
#   RUSTC_WRAPPER=$PWD/own-coverage.sh RUSTC_BOOTSTRAP=1 \
#     cargo fuzz build --sanitizer none --target-dir /tmp/fuzz-own catalogue
set -euo pipefail
rustc=$1
shift
crate=
previous=
for arg in "$@"; do
    [[ $previous == --crate-name ]] && crate=$arg
    previous=$arg
done
case $crate in
    schemac | schemac_runtime | schemac_fuzz | escrow_schema | catalogue | from_mongo)
        exec "$rustc" "$@" ;;
esac
kept=()
for arg in "$@"; do
    # cargo-fuzz passes these flags as one token each (-Cpasses=..., -Cllvm-args=...).
    case $arg in
        -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage*) ;;
        *) kept+=("$arg") ;;
    esac
done
exec "$rustc" "${kept[@]}"
