#!/usr/bin/env bash
# Reproduces the fuzzing runs of issue 6.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS is the time per target (default 1800 = 30 min). Without TARGETs,
# every [[bin]] in fuzz/Cargo.toml is run, two at a time at most (the runs
# are single-process libFuzzer; more than two would only fight for cores).
#
# cargo-fuzz needs nightly-only compiler flags (-Zsanitizer=address, the
# sancov passes). The project's toolchain is stable, so this script sets
# RUSTC_BOOTSTRAP=1, which lets a stable rustc accept them. That is only
# for the fuzz build; the main crate never uses it.
#
# Seed corpora are built here from the committed fixtures and the shared
# public corpus rather than committed: fuzz/corpus/<target> (git-ignored)
# keeps what libFuzzer adds, so a second run continues from the first.
# Crashes land in fuzz/artifacts/<target>/; copy each to
# tests/fuzz-regressions/<target>/ once fixed (tests/fuzz_regressions.rs
# replays them in the normal test suite).
#
# Prints, per target, libFuzzer's final executions and coverage
# (stat::number_of_executed_units, cov:, ft:, corp:); logs in fuzz/logs/.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-1800}"
shift || true
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^dumpscrub-fuzz$')
fi
command -v cargo-fuzz >/dev/null || {
    echo "cargo-fuzz missing: cargo install cargo-fuzz --locked" >&2
    exit 1
}
export RUSTC_BOOTSTRAP=1
shared="${DUMPSCRUB_PUBLIC_CORPUS:-/work/shared/corpus/public}"
# Seeds: every dump and core under 1 MiB (bigger ones only slow mutation),
# plus the committed regression inputs of the target.
seed() {
    local t="$1" dir="corpus/$1" kinds
    mkdir -p "$dir"
    case "$t" in
        # Rule files: the gitleaks config and the TOML blocks of the docs.
        rule_loader) kinds=(-name '*.toml') ;;
        elf_layout) kinds=(-name '*.core') ;;
        *) kinds=(-name '*.dmp' -o -name '*.core') ;;
    esac
    find ../fixtures "$shared" "../tests/fuzz-regressions/$t" \
        -maxdepth 2 -type f \( "${kinds[@]}" -o -path '*fuzz-regressions*' \) \
        -size -1024k 2>/dev/null | while read -r f; do
        cp -n "$f" "$dir/seed-$(basename "$f")" || true
    done || true # a missing regression directory is not an error
    if [ "$t" = rule_loader ]; then
        for d in ../docs/rules.md ../docs/config.md; do
            awk -v out="$dir/seed-$(basename "$d" .md)-" \
                '/^```toml/{n++; f=out n ".toml"; next} /^```/{f=""} f{print > f}' "$d"
        done
    fi
}
run() {
    local t="$1"
    mkdir -p logs "artifacts/$t"
    nice -n 10 cargo fuzz run -O "$t" "corpus/$t" -- \
        -max_total_time="$secs" -max_len=262144 -rss_limit_mb=2048 \
        -timeout=60 -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" >"logs/$t.log" 2>&1 || true
}
summary() {
    local t="$1" log="logs/$1.log"
    local execs cov
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9/a-zA-Z]*' | tail -1)
    crashes=$(find "artifacts/$t" -type f | wc -l)
    printf '%-18s execs %-10s %s  artifacts %s\n' "$t" "${execs:-?}" "${cov:-?}" "$crashes"
}
for t in "${targets[@]}"; do seed "$t"; done
# -O: optimised, with debug assertions (so arithmetic overflow panics).
nice -n 10 cargo fuzz build -O
# Two at a time.
i=0
for t in "${targets[@]}"; do
    run "$t" &
    i=$((i + 1))
    if [ $((i % 2)) -eq 0 ]; then wait; fi
done
wait
for t in "${targets[@]}"; do summary "$t"; done
