#!/usr/bin/env bash
# Fuzzes StowageTar's TarReader (and TarWriter round trips) with libFuzzer.
#
#   Fuzz/run.sh                 # 10 minutes
#   FUZZ_SECONDS=3600 Fuzz/run.sh
#
# Builds Fuzz/tar-reader-fuzzer from Sources/StowageTar/*.swift and Fuzz/TarReaderFuzzer.swift
# with -sanitize=fuzzer,address, seeds Fuzz/corpus/ with small tars written by GNU tar,
# Python's tarfile and busybox, runs, and prints libFuzzer's final figures. Crashing inputs
# land in Fuzz/artifacts/; the full log is Fuzz/fuzz.log. Exits non-zero on a crash.
set -euo pipefail

fuzz="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$fuzz")"
cd "$repo"
seconds="${FUZZ_SECONDS:-600}"
binary="$fuzz/tar-reader-fuzzer"

echo "== building $binary"
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name StowageTar \
    Sources/StowageTar/*.swift Fuzz/TarReaderFuzzer.swift -o "$binary" 2>&1 \
    | { grep -v "Cannot export local symbol" || true; }

mkdir -p "$fuzz/corpus" "$fuzz/artifacts"
# Seeds are (re)written on every run under fixed names, next to whatever earlier runs found;
# each is a few blocks (at most 20 KiB with GNU tar's 10 KiB records, well under -max_len).
echo "== seeding $fuzz/corpus"
seed="$(mktemp -d /tmp/stowage-fuzz-seed-XXXXXX)"
trap 'rm -rf "$seed"' EXIT
{
    mkdir -p "$seed/tree/dir/$(printf 'd%.0s' {1..60})/$(printf 'e%.0s' {1..60})"
    printf 'hello\n' > "$seed/tree/dir/file"
    printf 'x' > "$seed/tree/dir/$(printf 'd%.0s' {1..60})/$(printf 'e%.0s' {1..60})/long-named-file"
    ln -s file "$seed/tree/dir/symlink"
    ln -s "../$(printf 't%.0s' {1..120})" "$seed/tree/dir/long-symlink"
    ln "$seed/tree/dir/file" "$seed/tree/dir/hardlink"
    mkfifo "$seed/tree/dir/fifo"
    chmod 4755 "$seed/tree/dir/file"
    setfattr -n user.seed -v value "$seed/tree/dir/file" 2>/dev/null || true
    touch -d '2024-01-02 03:04:05.123456789' "$seed/tree/dir/file"
    for format in pax gnu ustar v7; do
        tar --format="$format" --xattrs -C "$seed/tree" -cf "$fuzz/corpus/gnu-$format.tar" . 2>/dev/null || true
    done
    python3 - "$seed/tree" "$fuzz/corpus" <<'EOF'
import sys, tarfile
tree, corpus = sys.argv[1], sys.argv[2]
for name, fmt in (("pax", tarfile.PAX_FORMAT), ("gnu", tarfile.GNU_FORMAT), ("ustar", tarfile.USTAR_FORMAT)):
    try:
        with tarfile.open(f"{corpus}/python-{name}.tar", "w", format=fmt) as tar:
            tar.add(tree, arcname=".")
    except Exception:
        pass
with tarfile.open(f"{corpus}/python-big-uid.tar", "w", format=tarfile.GNU_FORMAT) as tar:
    info = tarfile.TarInfo("big")
    info.uid = 1 << 40
    info.mtime = -5
    tar.addfile(info)
EOF
    if [ -x /bin/busybox ]; then (cd "$seed/tree" && /bin/busybox tar -cf "$fuzz/corpus/busybox.tar" .); fi
}
rm -rf "$seed"

echo "== fuzzing for $seconds s (log: $fuzz/fuzz.log)"
started="$fuzz/artifacts/.started"
touch "$started"
status=0
SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$binary" \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$fuzz/artifacts/" "$fuzz/corpus" > "$fuzz/fuzz.log" 2>&1 || status=$?

# The last status line: total executions, cov (edges), ft (features), corpus size, exec/s.
grep -E '^#[0-9]+' "$fuzz/fuzz.log" | tail -n 1 | tr -s ' \t' ' ' || true
grep -E '^Done |stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|stat::new_units_added' "$fuzz/fuzz.log" || true
echo "corpus: $(ls "$fuzz/corpus" | wc -l) inputs, $(du -sk "$fuzz/corpus" | cut -f1) KiB"
new_artifacts="$(find "$fuzz/artifacts" -type f ! -name .started -newer "$started" | sort)"
old_artifacts="$(find "$fuzz/artifacts" -type f ! -name .started ! -newer "$started" | sort)"
rm -f "$started"
if [ -n "$old_artifacts" ]; then
    echo "artifacts left from earlier runs (delete once fixed):" >&2
    echo "$old_artifacts" >&2
fi
if [ "$status" -ne 0 ] || [ -n "$new_artifacts" ] || [ -n "$old_artifacts" ]; then
    echo "crash artifacts written by this run: ${new_artifacts:-none}" >&2
    echo "fuzzer FAILED (exit $status); see $fuzz/fuzz.log" >&2
    tail -n 40 "$fuzz/fuzz.log" >&2
    exit 1
fi
echo "crash artifacts written: none"
