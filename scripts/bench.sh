#!/usr/bin/env bash
# Benchmarks `dumpscrub scan` and `dumpscrub scrub` on a large generated
# minidump: wall time, throughput, CPU time and peak memory, plus how many of
# the planted secrets were found and removed. See docs/benchmarks.md.
#
# Environment:
#   SIZE_MIB   size of the generated dump (default 1536)
#   SEED       generator seed (default 1)
#   RUNS       timed runs per configuration (default 5)
#   BENCH_DIR  where the dump, reports and results go (default /tmp/dumpscrub-bench)
#   THREADS    --threads values for the scan scaling runs (default "1 2")
#   DUMP       benchmark this dump instead of a generated one (e.g. a core
#              of a real process from scripts/python_core.sh); it has no
#              list of planted secrets, so accuracy is not scored
#
# Besides dumpscrub it runs, on the same file in the same run, the reference
# pass (examples/reference_scan.rs: a leftmost-first aho-corasick search of
# the built-in rules' literal anchors in ASCII and UTF-16LE, one thread per
# core) and prints dumpscrub's throughput as a ratio of it.
set -euo pipefail
export LC_ALL=C

SIZE_MIB=${SIZE_MIB:-1536}
SEED=${SEED:-1}
RUNS=${RUNS:-5}
BENCH_DIR=${BENCH_DIR:-/tmp/dumpscrub-bench}
THREADS=${THREADS:-1 2}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
gen=$target/release/examples/gen_bench_dump

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench: RUNS must be a positive integer" >&2; exit 2; }
[[ -r /proc/self/status ]] || { echo "bench: needs Linux /proc for memory sampling" >&2; exit 2; }

echo "== building" >&2
cargo build --release
cargo build --release --example gen_bench_dump --example reference_scan

mkdir -p "$BENCH_DIR"
# Every run uses this copy: a concurrent `cargo build` replacing the binary
# in target/ mid-benchmark would otherwise mix two versions in one table.
bin=$BENCH_DIR/dumpscrub
cp "$target/release/dumpscrub" "$bin"
ref=$BENCH_DIR/reference_scan
cp "$target/release/examples/reference_scan" "$ref"
dump=${DUMP:-$BENCH_DIR/bench-${SIZE_MIB}mib-seed${SEED}.dmp}
planted=$dump.planted.json
stamp=$dump.stamp
out=$BENCH_DIR/out.dmp
results=$BENCH_DIR/results.tsv

# A dump is reused only if it was written completely (the sidecar comes
# last) by the same generator source: regenerating 1.5 GiB costs more than
# a whole scan.
want_stamp=$(sha256sum examples/gen_bench_dump.rs | cut -d' ' -f1)
if [[ -n ${DUMP:-} ]]; then
    [[ -r $dump ]] || { echo "bench: DUMP=$dump is not a readable file" >&2; exit 2; }
    planted=
    echo "== benchmarking $dump (no planted secrets: accuracy is not scored)" >&2
elif [[ -f $dump && -f $planted && -f $stamp && $(<"$stamp") == "$want_stamp" ]]; then
    echo "== reusing $dump" >&2
else
    echo "== generating $dump (${SIZE_MIB} MiB, seed $SEED)" >&2
    rm -f "$dump" "$planted" "$stamp"
    "$gen" "$dump" --size-mib "$SIZE_MIB" --seed "$SEED" --check
    echo "$want_stamp" >"$stamp"
fi
size=$(stat -c %s "$dump")

echo "== flushing and warming the page cache" >&2
# A freshly generated dump is still being written back: without the sync,
# the first timed runs share the disk and a core with the writeback (seen:
# 8 GiB, the first scan 11.55 s against 9.12 s for the same work later).
sync "$dump"
cat "$dump" >/dev/null

# A FIFO opened read-write never delivers data, so `read -t` on it is a
# sleep that forks nothing: the sampler must not steal CPU from the run.
fifo=$BENCH_DIR/.sleep.fifo
rm -f "$fifo"
mkfifo "$fifo"
exec {sleep_fd}<>"$fifo"
rm -f "$fifo"

# Samples /proc/PID/status every ~20 ms until the process is gone and
# prints the peak RssAnon and VmHWM in KiB. RssAnon is what the process
# really costs: mapped file pages (the input dump) count in RSS but the
# kernel can drop them at any time.
sample_memory() {
    local pid=$1 anon=0 hwm=0 key val state
    while :; do
        state=
        {
            while IFS=$': \t' read -r key val _; do
                case $key in
                    State) state=$val ;;
                    RssAnon) ((val > anon)) && anon=$val ;;
                    VmHWM) ((val > hwm)) && hwm=$val ;;
                esac
            done
        } 2>/dev/null <"/proc/$pid/status" || true
        [[ $state == Z ]] && break
        # An unreadable status mid-exec is not an exit; a missing PID is.
        [[ -z $state && ! -e /proc/$pid ]] && break
        read -r -t 0.02 -u "$sleep_fd" _ || true
    done
    echo "$anon $hwm"
}

# `times` reports the children's user and system time; children are
# charged when reaped, so the difference around one `wait` is that process's
# CPU time. It must run in this shell, not in a $(...) subshell, which has
# no children of its own.
cpu_of_times_file() {
    awk 'NR == 2 {
        n = split($0, t, " ")
        s = 0
        for (i = 1; i <= n; i++) { split(t[i], p, "m"); sub("s", "", p[2]); s += p[1] * 60 + p[2] }
        printf "%.3f\n", s
    }' "$1"
}

# measure LABEL THREADS OK_CODES -- COMMAND...: one timed run, appended to
# the results file. OK_CODES lists the exit codes that are not a failure.
measure() {
    local label=$1 threads=$2 ok=$3
    shift 4
    local t0 t1 pid sampler rc=0 mem
    local memfile=$BENCH_DIR/.mem errfile=$BENCH_DIR/.stderr
    times >"$BENCH_DIR/.times0"
    t0=$EPOCHREALTIME
    "$@" >/dev/null 2>"$errfile" &
    pid=$!
    sample_memory "$pid" >"$memfile" &
    sampler=$!
    wait "$pid" || rc=$?
    t1=$EPOCHREALTIME
    times >"$BENCH_DIR/.times1"
    wait "$sampler"
    mem=$(<"$memfile")
    if [[ " $ok " != *" $rc "* ]]; then
        echo "bench: '$*' exited with $rc:" >&2
        cat "$errfile" >&2
        exit 1
    fi
    local wall
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    local cpu
    cpu=$(awk -v a="$(cpu_of_times_file "$BENCH_DIR/.times0")" -v b="$(cpu_of_times_file "$BENCH_DIR/.times1")" \
        'BEGIN { printf "%.3f", b - a }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$threads" "$wall" "$cpu" ${mem} >>"$results"
    printf '  %-8s threads=%-8s wall %6.2f s  cpu %6.2f s  RssAnon %s KiB  VmHWM %s KiB\n' \
        "$label" "$threads" "$wall" "$cpu" ${mem} >&2
}

# Scores a report against the planted secrets: how many were found (a
# finding overlaps the secret), and findings that match nothing planted.
score() {
    python3 - "$planted" "$1" <<'EOF'
import json, sys
from collections import Counter
planted = json.load(open(sys.argv[1]))["secrets"]
report = json.load(open(sys.argv[2]))
f0 = report["files"][0]
spans = sorted((f["offset"], f["offset"] + f["length"], f["rule"]) for f in f0["findings"])
def hit(o, e):
    return any(s < e and o < t for s, t, _ in spans)
found = Counter(); total = Counter()
for p in planted:
    k = (p["kind"], p["encoding"])
    total[k] += 1
    if hit(p["offset"], p["offset"] + p["length"]):
        found[k] += 1
unmatched = Counter(r for s, t, r in spans
                    if not any(s < p["offset"] + p["length"] and p["offset"] < t for p in planted))
print(f"  findings: {f0['summary']['findings']}, bytes to redact: {f0['summary']['bytes_redacted']}")
print(f"  planted secrets found: {sum(found.values())} / {sum(total.values())}")
for k in sorted(total):
    mark = "" if found[k] == total[k] else "   <-- missed %d" % (total[k] - found[k])
    print(f"    {k[0]:<24} {k[1]:<8} {found[k]:>3} / {total[k]:<3}{mark}")
missed = [p for p in planted if not hit(p["offset"], p["offset"] + p["length"])]
for p in missed[:10]:
    print(f"    missed: {p['kind']} {p['encoding']} at {p['offset']:#x} in {p['where']}"
          f"{' (straddles regions)' if p['straddles_regions'] else ''}{' (odd offset)' if p['odd_offset'] else ''}")
print(f"  findings overlapping no planted secret: {sum(unmatched.values())}"
      + (" " + json.dumps(dict(unmatched)) if unmatched else ""))
EOF
}

# summary_of REPORT TITLE: the counts in a report's first file.
summary_of() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["files"][0]["summary"]
print(f"  {sys.argv[2]}: {s['findings']} findings, {s['bytes_redacted']} bytes redacted {json.dumps(s['by_rule'])}")
EOF
}

# Checks that the scrubbed copy has every planted secret zeroed.
check_redacted() {
    python3 - "$planted" "$1" <<'EOF'
import json, sys
planted = json.load(open(sys.argv[1]))["secrets"]
full = most = 0
with open(sys.argv[2], "rb") as f:
    for p in planted:
        f.seek(p["offset"]); b = f.read(p["length"])
        z = b.count(0) / max(1, len(b))
        full += z == 1.0
        most += z >= 0.9
print(f"  planted secrets zeroed in the scrubbed copy: {full} / {len(planted)} fully, {most} at least 90%")
EOF
}

: >"$results"
nproc_=$(nproc)
echo "== machine: $nproc_ cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r)" >&2
echo "== dump: $dump ($size bytes), $RUNS runs each" >&2
echo "== $("$bin" --version), source $(git describe --always --dirty 2>/dev/null || echo unknown)" >&2
# Other work on the machine shows up in wall time (not much in CPU time):
# say so, rather than publish numbers taken on a busy machine unawares.
load_start=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load_start" -v n="$nproc_" 'BEGIN { exit !(l > n / 2) }'; then
    echo "bench: warning: load average is $load_start on $nproc_ cores; wall times will be inflated" >&2
fi

echo "== scan (default threads)" >&2
for ((i = 1; i <= RUNS; i++)); do
    measure scan default "0 1" -- "$bin" scan "$dump" --report "$BENCH_DIR/scan-report.json"
done

# The reference passes, on the same (warm) mapping: every anchor of the
# built-in rules (the literals dumpscrub's text detector searches), and the
# 52-keyword set that fits the crate's SIMD prefilter (the fast end).
for set in anchors kw52; do
    echo "== reference pass: $set" >&2
    for ((i = 1; i <= RUNS; i++)); do
        measure "reference-$set" default "0" -- "$ref" "$dump" --set "$set"
    done
done
echo "== SHA-256 of the input, one thread (part of every scan)" >&2
measure sha256 1 "0" -- "$ref" "$dump" --set sha256

echo "== scrub (default threads)" >&2
for ((i = 1; i <= RUNS; i++)); do
    measure scrub default "0" -- "$bin" scrub "$dump" -o "$out" --report "$BENCH_DIR/scrub-report.json"
    if ((i == 1)); then
        : >"$BENCH_DIR/redacted.txt"
        [[ -z $planted ]] || check_redacted "$out" | tee "$BENCH_DIR/redacted.txt" >&2
        rc=0
        "$bin" scan "$out" --quiet --report "$BENCH_DIR/rescan-report.json" || rc=$?
        ((rc <= 1)) || { echo "bench: rescanning the scrubbed copy failed ($rc)" >&2; exit 1; }
        summary_of "$BENCH_DIR/rescan-report.json" "rescan of the scrubbed copy" | tee -a "$BENCH_DIR/redacted.txt" >&2
    fi
    rm -f "$out"
done

# The floor under scrub: copying the file and syncing it to disk, which
# scrub must do whatever it finds.
echo "== baseline: copy + fsync (dd)" >&2
for ((i = 1; i <= RUNS; i++)); do
    measure copy-fsync - "0" -- dd if="$dump" of="$out" bs=8M conv=fsync status=none
    rm -f "$out"
done

for t in $THREADS; do
    echo "== scan --threads $t" >&2
    for ((i = 1; i <= RUNS; i++)); do
        measure scan "$t" "0 1" -- "$bin" scan "$dump" --threads "$t" --report "$BENCH_DIR/scan-report-t$t.json"
    done
done

echo
if [[ -n $planted ]]; then
    echo "== accuracy (scan report vs planted secrets)"
    score "$BENCH_DIR/scan-report.json"
else
    echo "== findings (no planted secrets to score against)"
    summary_of "$BENCH_DIR/scan-report.json" "scan"
fi
cat "$BENCH_DIR/redacted.txt"
summary_of "$BENCH_DIR/scrub-report.json" "scrub"

echo
echo "== results: $(awk -v s="$size" 'BEGIN { printf "%.0f MB", s / 1e6 }') dump, $nproc_ cores, median of $RUNS runs (memory: highest peak over the runs)"
echo "   load average $load_start at the start, $(cut -d' ' -f1 /proc/loadavg) at the end"
python3 - "$results" "$size" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
size = int(sys.argv[2])
groups = {}
for label, threads, wall, cpu, anon, hwm in rows:
    groups.setdefault((label, threads), []).append((float(wall), float(cpu), int(anon), int(hwm)))
print("| command | threads | wall s (median) | wall s (min) | MB/s (median wall) | CPU s (user+sys) | MB per CPU-s | peak RssAnon MiB | peak VmHWM MiB |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for (label, threads), v in groups.items():
    wall = statistics.median(x[0] for x in v)
    fastest = min(x[0] for x in v)
    cpu = statistics.median(x[1] for x in v)
    anon = max(x[2] for x in v) / 1024
    hwm = max(x[3] for x in v) / 1024
    print(f"| {label} | {threads} | {wall:.2f} | {fastest:.2f} | {size / 1e6 / wall:.0f} | {cpu:.2f} | {size / 1e6 / cpu:.0f} | {anon:.0f} | {hwm:.0f} |")
med = {k: statistics.median(x[0] for x in v) for k, v in groups.items()}
print()
print("| dumpscrub MB/s / reference MB/s (median wall, same run) | reference-anchors | reference-kw52 |")
print("|---|---:|---:|")
for label in ("scan", "scrub"):
    if (label, "default") in med:
        w = med[(label, "default")]
        cells = [f"{med[(r, 'default')] / w:.2f}" if (r, "default") in med else "-"
                 for r in ("reference-anchors", "reference-kw52")]
        print(f"| {label} | {' | '.join(cells)} |")
if ("scan", "default") in med and ("scrub", "default") in med:
    print(f"\nscrub wall / scan wall: {med[('scrub', 'default')] / med[('scan', 'default')]:.2f}")
EOF
