#!/usr/bin/env bash
# Layer apply benchmark: Stowage against tar -x, sha256sum and openssl, in one run.
#
#   Benchmarks/apply.sh            # ~40 MB layer, best of 5
#   RUNS=9 SIZE_MB=200 Benchmarks/apply.sh
#
# Generates a single-layer tar from random data under Benchmarks/work/ (~270 files of sizes
# 1 KiB..1 MiB in 24 directories, symlinks and a hard link), builds stowage in release mode,
# then times, each into a fresh directory on the same filesystem and best of RUNS:
#   tar -xf                               extraction alone
#   sha256sum, openssl dgst -sha256       hashing alone
#   stowage layer apply                   extraction + diff_id in one pass
#   stowage layer apply --tar-split       ... plus the tar-split record, as the layer store does
# and the same for a gzip'd layer against tar -xzf. Prints seconds, MB/s and ratios.
set -euo pipefail

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=Benchmarks/lib.sh
source "$bench/lib.sh"
repo="$(dirname "$bench")"
runs="${RUNS:-5}"
size_mb="${SIZE_MB:-40}"
work="$bench/work"

cd "$repo"
stowage="$(build_stowage "$repo")"

mkdir -p "$work"
layer="$work/apply-${size_mb}mb.tar"
if [ ! -f "$layer" ]; then
    echo "== generating $layer" >&2
    python3 - "$work/tree" "$size_mb" <<'PY'
import os, random, sys
root, total = sys.argv[1], int(sys.argv[2]) << 20
rng = random.Random(42)
written, index = 0, 0
while written < total:
    directory = os.path.join(root, f"d{index % 8}", f"sub{index % 3}")
    os.makedirs(directory, exist_ok=True)
    # Log-uniform between 1 KiB and 1 MiB: ~270 files for 40 MiB, most of them small.
    size = min(int(2 ** rng.uniform(10, 20)), total - written)
    with open(os.path.join(directory, f"f{index}.bin"), "wb") as file:
        file.write(os.urandom(size))
    written += size
    if index % 10 == 0:
        os.symlink(f"f{index}.bin", os.path.join(directory, f"link{index}"))
    index += 1
os.link(os.path.join(root, "d0", "sub0", "f0.bin"), os.path.join(root, "hardlink.bin"))
PY
    tar --format=pax -C "$work/tree" -cf "$layer" .
    rm -rf "$work/tree"
    gzip -1 -n -c "$layer" > "$layer.gz"
fi
bytes=$(stat -c %s "$layer")

# best_of NAME COMMAND...: runs COMMAND (with $TARGET a fresh directory) RUNS times.
best_of() {
    local name="$1"; shift
    local fastest=""
    for _ in $(seq "$runs"); do
        rm -rf "$work/target"
        export TARGET="$work/target"
        sync
        local start end
        start=$(date +%s%N)
        "$@" > /dev/null
        end=$(date +%s%N)
        local elapsed=$((end - start))
        if [ -z "$fastest" ] || [ "$elapsed" -lt "$fastest" ]; then fastest=$elapsed; fi
    done
    best[$name]=$fastest
}

best_of "tar -x"                 sh -c 'mkdir "$TARGET" && tar -xf "$0" -C "$TARGET"' "$layer"
best_of "sha256sum"              sha256sum "$layer"
best_of "openssl dgst -sha256"   openssl dgst -sha256 "$layer"
best_of "stowage layer digest"   "$stowage" layer digest "$layer"
best_of "stowage layer apply"    sh -c '"$0" layer apply "$1" "$TARGET"' "$stowage" "$layer"
best_of "stowage apply+tar-split" sh -c '"$0" layer apply --tar-split "$TARGET.tsj.gz" "$1" "$TARGET"; rm -f "$TARGET.tsj.gz"' "$stowage" "$layer"
best_of "tar -xzf (gzip)"        sh -c 'mkdir "$TARGET" && tar -xzf "$0" -C "$TARGET"' "$layer.gz"
best_of "stowage apply (gzip)"   sh -c '"$0" layer apply "$1" "$TARGET"' "$stowage" "$layer.gz"
rm -rf "$work/target"

rate() { awk -v ns="$1" -v b="$bytes" 'BEGIN { printf "%.0f", b / 1048576 / (ns / 1e9) }'; }

echo
echo "layer: $(basename "$layer"), $((bytes / 1048576)) MiB uncompressed; best of $runs runs; $(nproc) CPUs"
printf '%-26s %9s %9s\n' "operation" "seconds" "MiB/s"
for name in "tar -x" "sha256sum" "openssl dgst -sha256" "stowage layer digest" "stowage layer apply" \
            "stowage apply+tar-split" "tar -xzf (gzip)" "stowage apply (gzip)"; do
    printf '%-26s %9s %9s\n' "$name" "$(seconds "${best[$name]}")" "$(rate "${best[$name]}")"
done
echo
echo "stowage apply (hashing) / tar -x alone:            $(ratio "${best["stowage layer apply"]}" "${best["tar -x"]}")   (target <= 1.5x)"
echo "stowage apply / (tar -x + openssl dgst):           $(ratio "${best["stowage layer apply"]}" "$((${best["tar -x"]} + ${best["openssl dgst -sha256"]}))")"
echo "stowage apply + tar-split / tar -x:                $(ratio "${best["stowage apply+tar-split"]}" "${best["tar -x"]}")"
echo "stowage layer digest / sha256sum:                  $(ratio "${best["stowage layer digest"]}" "${best["sha256sum"]}")"
echo "stowage apply (gzip) / tar -xzf:                   $(ratio "${best["stowage apply (gzip)"]}" "${best["tar -xzf (gzip)"]}")"
