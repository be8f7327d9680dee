#!/usr/bin/env bash
# Writes a core of a real process: a Python interpreter holding about
# SIZE_MIB of ordinary heap content (scripts/heap_holder.py), taken with
# gcore. The issue's own reference figures were measured on such a core of
# a real process; `DUMP=OUT scripts/bench.sh` benchmarks it.
#
#   scripts/python_core.sh SIZE_MIB OUT
set -euo pipefail
[[ $# -eq 2 && $1 =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/python_core.sh SIZE_MIB OUT" >&2; exit 2; }
size=$1 out=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v gcore >/dev/null || { echo "python_core: needs gcore (scripts/setup.sh installs gdb)" >&2; exit 2; }

fifo=$(mktemp -u)
mkfifo "$fifo"
python3 "$here/heap_holder.py" "$size" >"$fifo" &
holder=$!
trap 'kill "$holder" 2>/dev/null || true; rm -f "$fifo"' EXIT
read -r word pid <"$fifo"
[[ $word == ready && $pid == "$holder" ]] || { echo "python_core: the holder did not start" >&2; exit 1; }
log=$(mktemp)
gcore -o "$out.tmp" "$holder" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
rm -f "$log"
mv "$out.tmp.$holder" "$out"
echo "$out: core of a Python process holding ${size} MiB ($(stat -c %s "$out") bytes)" >&2
