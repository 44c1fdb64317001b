#!/usr/bin/env bash
# Storage driver benchmark: for each driver, loading a ~40 MB single-layer image, and making
# a writable layer on a 40-layer image and mounting it (`stowage layer probe`); vfs is the
# baseline, Docker's overlay2 (a private dockerd) beside it: `docker load`, and `docker
# create` + `docker rm` for the layer (Docker mounts only on start).
#
#   Benchmarks/drivers.sh            # best of 5
#   RUNS=9 SIZE_MB=100 Benchmarks/drivers.sh
set -euo pipefail

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=Benchmarks/lib.sh
source "$bench/lib.sh"
repo="$(dirname "$bench")"
runs="${RUNS:-5}"
size_mb="${SIZE_MB:-40}"
scratch="$(mktemp -d /tmp/stowage-drivers-XXXXXX)"
dockerd_pid=""

cleanup() {
    if [ -n "$dockerd_pid" ]; then kill "$dockerd_pid" 2>/dev/null || true; wait "$dockerd_pid" 2>/dev/null || true; fi
    grep -o " $scratch[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT

cd "$repo"
stowage="$(build_stowage "$repo")"

echo "== making images" >&2
python3 - "$scratch" "$size_mb" <<'PY'
import hashlib, io, json, os, random, sys, tarfile
scratch, size_mb = sys.argv[1], int(sys.argv[2])

def layer(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1700000000, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()

def image(path, tag, layers):
    diff_ids = ["sha256:" + hashlib.sha256(data).hexdigest() for data in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                         "created": "2023-11-14T22:13:20Z", "rootfs": {"type": "layers", "diff_ids": diff_ids},
                         "history": [{"created": "2023-11-14T22:13:20Z", "created_by": f"layer {n}"} for n in range(len(layers))]}).encode()
    image_id = hashlib.sha256(config).hexdigest()
    names = [d[7:] + "/layer.tar" for d in diff_ids]
    with tarfile.open(path, "w") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, data in zip(names, layers):
            add(name, data)
        add(image_id + ".json", config)
        add("manifest.json", json.dumps([{"Config": image_id + ".json", "RepoTags": [tag], "Layers": names}]).encode())

rng = random.Random(3)
files, total, index = [], size_mb << 20, 0
while total > 0:
    size = min(rng.choice([4 << 10, 64 << 10, 512 << 10, 2 << 20]), total)
    files.append((f"data/d{index % 10}/f{index}.bin", os.urandom(size)))
    total -= size
    index += 1
image(f"{scratch}/big.tar", "bench/big:latest", [layer(files)])
image(f"{scratch}/deep.tar", "bench/deep:latest", [layer([(f"layer{n}/file", f"{n}\n".encode())]) for n in range(40)])
PY


drivers=(vfs overlay2 overlay btrfs fuse-overlayfs)
for driver in "${drivers[@]}"; do
    base="$scratch/$driver"
    mkdir -p "$base"
    if [ "$driver" = btrfs ]; then
        truncate -s 2G "$scratch/btrfs.img" && mkfs.btrfs -q -f "$scratch/btrfs.img" >/dev/null
        mount -o loop "$scratch/btrfs.img" "$base"
    fi
    root="$base/root"
    s() { "$stowage" --data-root "$root" --storage-driver "$driver" "$@"; }
    s load -i "$scratch/deep.tar" >/dev/null
    for _ in $(seq "$runs"); do
        sync
        start=$(now); s load -i "$scratch/big.tar" >/dev/null; record "$driver load" $(($(now) - start))
        s rmi bench/big >/dev/null
        start=$(now); s layer probe bench/deep >/dev/null; record "$driver layer" $(($(now) - start))
    done
done

echo "== dockerd (overlay2)" >&2
dockerd --data-root "$scratch/docker" --exec-root "$scratch/exec" --pidfile "$scratch/dockerd.pid" \
    --host "unix://$scratch/docker.sock" --storage-driver overlay2 --iptables=false --ip6tables=false --bridge=none \
    --log-level=error > "$scratch/dockerd.log" 2>&1 &
dockerd_pid=$!
docker="docker --host unix://$scratch/docker.sock"
for _ in $(seq 100); do $docker version >/dev/null 2>&1 && break; sleep 0.2; done
$docker load -i "$scratch/deep.tar" >/dev/null
for _ in $(seq "$runs"); do
    sync
    start=$(now); $docker load -i "$scratch/big.tar" >/dev/null; record "docker load" $(($(now) - start))
    $docker rmi bench/big >/dev/null
    start=$(now); id=$($docker create --network none bench/deep); record "docker layer" $(($(now) - start))
    $docker rm "$id" >/dev/null
done

echo
echo "best of $runs; $(nproc) CPUs; ratios against vfs"
printf '%-22s %12s %8s %22s %8s\n' "driver" "load ${size_mb}MB" "ratio" "layer on 40 + mount" "ratio"
for driver in "${drivers[@]}" docker; do
    label="$driver"; [ "$driver" = docker ] && label="docker overlay2"
    printf '%-22s %12s %8s %22s %8s\n' "$label" "$(seconds "${best[$driver load]}")" "$(ratio "${best[$driver load]}" "${best[vfs load]}")" \
        "$(seconds "${best[$driver layer]}")" "$(ratio "${best[$driver layer]}" "${best[vfs layer]}")"
done
echo "(docker's layer column is docker create: init and writable layers, no mount)"
