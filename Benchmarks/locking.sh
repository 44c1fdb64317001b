#!/usr/bin/env bash
# The cost of many callers: load of a ~40 MB layer (thousands of small files) and `create`,
# each alone and with three other processes changing the same root (loads and removals,
# tag/rmi, create/rm); and two loads of different 40 MB images in parallel against one
# load, which shows that layers are applied outside the graph lock. overlay2, best of RUNS.
# TMPFS=1 puts the data root on a tmpfs: without the disk's write-back as the limit, two
# loads at once are bound by the two cores only.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/Benchmarks/lib.sh"
runs="${RUNS:-5}"
scratch="$(mktemp -d /tmp/stowage-locking-XXXXXX)"
fixtures="$repo/Tests/Fixtures/docker"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    grep -o " $scratch[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT
stowage="$(build_stowage "$repo")"

echo "== making two 40 MB images of small files" >&2
python3 - "$scratch" <<'PY'
import hashlib, io, json, os, random, sys, tarfile
scratch = sys.argv[1]
def layer(seed):
    rng, buffer = random.Random(seed), io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        total, index = 40 << 20, 0
        while total > 0:
            size = min(rng.choice([1 << 10, 4 << 10, 16 << 10, 256 << 10]), total)
            info = tarfile.TarInfo(f"usr/share/d{index % 50}/f{index}")
            info.size, info.mtime, info.mode = size, 1700000000, 0o644
            tar.addfile(info, io.BytesIO(rng.randbytes(size)))
            total -= size
            index += 1
    return buffer.getvalue()
for n in (1, 2):
    data = layer(n)
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    image_id = hashlib.sha256(config).hexdigest()
    with tarfile.open(f"{scratch}/big{n}.tar", "w") as tar:
        for name, payload in ((diff_id[7:] + "/layer.tar", data), (image_id + ".json", config),
                              ("manifest.json", json.dumps([{"Config": image_id + ".json", "RepoTags": [f"bench/big{n}:latest"],
                                                             "Layers": [diff_id[7:] + "/layer.tar"]}]).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
PY

root="$scratch/root"
if [[ ${TMPFS:-0} == 1 ]]; then mkdir -p "$root" && mount -t tmpfs -o size=2g stowage-bench "$root"; fi
s() { "$stowage" --data-root "$root" --storage-driver overlay2 "$@"; }
s load -q -i "$fixtures/links.tar"
s load -q -i "$fixtures/whiteout.tar"

# Three processes changing the root until stopped.
start_mutators() {
    ( while :; do s load -q -i "$fixtures/base.tar" >/dev/null 2>&1; s rmi fixture/base >/dev/null 2>&1; done ) & pids+=($!)
    ( n=0; while :; do n=$((n + 1)); s tag fixture/links t:$n >/dev/null 2>&1; s rmi t:$n >/dev/null 2>&1; done ) & pids+=($!)
    ( while :; do c=$(s create fixture/whiteout /bin/true 2>/dev/null) && s rm "$c" >/dev/null 2>&1; done ) & pids+=($!)
}
stop_mutators() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }

measure() {  # NAME: load big1, then create; each timed, then undone
    local name=$1 start
    for _ in $(seq "$runs"); do
        start=$(now); s load -q -i "$scratch/big1.tar" >/dev/null; record "$name load" $(($(now) - start))
        start=$(now); c=$(s create fixture/links /bin/true); record "$name create" $(($(now) - start))
        s rm "$c" >/dev/null; s rmi bench/big1 >/dev/null
    done
}
measure alone
start_mutators
measure busy
stop_mutators
for _ in $(seq "$runs"); do
    start=$(now); s load -q -i "$scratch/big2.tar" >/dev/null; record "one load" $(($(now) - start)); s rmi bench/big2 >/dev/null
    start=$(now)
    s load -q -i "$scratch/big1.tar" >/dev/null & a=$!
    s load -q -i "$scratch/big2.tar" >/dev/null & b=$!
    wait $a $b
    record "two loads" $(($(now) - start))
    s rmi bench/big1 bench/big2 >/dev/null
done
s check

printf '%-28s %10s %10s %8s\n' "" "alone" "busy" "ratio"
for what in load create; do
    printf '%-28s %9ss %9ss %8s\n' "$what (3 others changing)" "$(seconds "${best[alone $what]}")" "$(seconds "${best[busy $what]}")" \
        "$(ratio "${best[busy $what]}" "${best[alone $what]}")"
done
printf '%-28s %9ss %9ss %8s\n' "two 40 MB loads at once" "$(seconds "${best[one load]}")" "$(seconds "${best[two loads]}")" \
    "$(ratio "${best[two loads]}" "${best[one load]}")"
