#!/usr/bin/env bash
# Image load benchmark: `stowage load` against `docker load` (both with the vfs driver; Docker
# on its own temporary root), in one run, both with the base layer already present, and
# `tar -x` + `openssl dgst -sha256` of the same layer as the limit. Then `images` and
# `history` with 200 images loaded, against docker's.
#
#   Benchmarks/load.sh           # ~40 MB layer, best of 5
#   RUNS=9 SIZE_MB=100 IMAGES=200 Benchmarks/load.sh
#   KEEP_SCRATCH=1 Benchmarks/load.sh      # keep the roots, for profiling
set -euo pipefail

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=Benchmarks/lib.sh
source "$bench/lib.sh"
repo="$(dirname "$bench")"
runs="${RUNS:-5}"
size_mb="${SIZE_MB:-40}"
image_count="${IMAGES:-200}"
work="$bench/work"
scratch="$(mktemp -d /tmp/stowage-bench-XXXXXX)"
dockerd_pid=""

cleanup() {
    if [ -n "$dockerd_pid" ]; then
        kill "$dockerd_pid" 2>/dev/null || true
        wait "$dockerd_pid" 2>/dev/null || true
    fi
    grep -o " $scratch[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    if [ -n "${KEEP_SCRATCH:-}" ]; then echo "kept $scratch" >&2; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

cd "$repo"
stowage="$(build_stowage "$repo")"
mkdir -p "$work"

echo "== making images" >&2
python3 Scripts/make-default-image.py "$scratch/base.tar" >/dev/null
# A 40 MB single-layer image on top of the default image's layers.
python3 - "$scratch" "$size_mb" "$image_count" <<'PY'
import hashlib, io, json, os, random, sys, tarfile
scratch, size_mb, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with tarfile.open(f"{scratch}/base.tar") as base:
    manifest = json.load(base.extractfile("manifest.json"))[0]
    base_config = json.load(base.extractfile(manifest["Config"]))
    base_layers = [(name, base.extractfile(name).read()) for name in manifest["Layers"]]

def layer_tar(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1700000000, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()

def image(path, tag, extra_layers, created_by):
    layers = base_layers + extra_layers
    config = dict(base_config)
    config["rootfs"] = {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(data).hexdigest() for _, data in layers]}
    config["history"] = base_config["history"] + [{"created": "2023-11-14T22:13:20Z", "created_by": created_by}]
    config_bytes = json.dumps(config, sort_keys=True).encode()
    image_id = hashlib.sha256(config_bytes).hexdigest()
    names = [f"{hashlib.sha256(data).hexdigest()}/layer.tar" for _, data in layers]
    with tarfile.open(path, "w") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, (_, data) in zip(names, layers):
            add(name, data)
        add(image_id + ".json", config_bytes)
        add("manifest.json", json.dumps([{"Config": image_id + ".json", "RepoTags": [tag], "Layers": names}]).encode())

rng = random.Random(7)
files, total, index = [], size_mb << 20, 0
while total > 0:
    size = min(rng.choice([4 << 10, 64 << 10, 512 << 10, 2 << 20]), total)
    files.append((f"data/d{index % 10}/f{index}.bin", os.urandom(size)))
    total -= size
    index += 1
big = layer_tar(files)
with open(f"{scratch}/big-layer.tar", "wb") as f:
    f.write(big)
image(f"{scratch}/big.tar", "bench/big:latest", [("big", big)], "/bin/sh -c #(nop) ADD 40MB of data")
# Many small images for the listing benchmark, all in one archive.
many = []
for n in range(count):
    many.append(layer_tar([(f"n/{n}", f"image {n}\n".encode())]))
with tarfile.open(f"{scratch}/many.tar", "w") as tar:
    entries = []
    def add(name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    for name, data in base_layers:
        add(name, data)
    for n, data in enumerate(many):
        layers = base_layers + [("small", data)]
        config = dict(base_config)
        config["rootfs"] = {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(d).hexdigest() for _, d in layers]}
        config["created"] = f"2023-11-14T22:{n // 60 % 60:02d}:{n % 60:02d}Z"
        config["history"] = base_config["history"] + [{"created": config["created"], "created_by": f"/bin/sh -c echo {n}"}]
        config_bytes = json.dumps(config, sort_keys=True).encode()
        image_id = hashlib.sha256(config_bytes).hexdigest()
        layer_name = hashlib.sha256(data).hexdigest() + "/layer.tar"
        add(layer_name, data)
        add(image_id + ".json", config_bytes)
        entries.append({"Config": image_id + ".json", "RepoTags": [f"bench/many:{n}"],
                        "Layers": [name for name, _ in base_layers] + [layer_name]})
    add("manifest.json", json.dumps(entries).encode())
PY

echo "== starting dockerd on $scratch/docker" >&2
dockerd --data-root "$scratch/docker" --exec-root "$scratch/exec" --pidfile "$scratch/dockerd.pid" \
    --host "unix://$scratch/docker.sock" --storage-driver vfs --iptables=false --ip6tables=false --bridge=none \
    --log-level=error > "$scratch/dockerd.log" 2>&1 &
dockerd_pid=$!
docker="docker --host unix://$scratch/docker.sock"
for _ in $(seq 100); do $docker version >/dev/null 2>&1 && break; sleep 0.2; done


$docker load -i "$scratch/base.tar" >/dev/null
"$stowage" --data-root "$scratch/stowage" --storage-driver vfs load -i "$scratch/base.tar" >/dev/null
for _ in $(seq "$runs"); do
    sync
    start=$(now); $docker load -i "$scratch/big.tar" >/dev/null; record "docker load" $(($(now) - start))
    $docker rmi bench/big >/dev/null
    sync
    start=$(now); "$stowage" --data-root "$scratch/stowage" --storage-driver vfs load -i "$scratch/big.tar" >/dev/null; record "stowage load" $(($(now) - start))
    "$stowage" --data-root "$scratch/stowage" --storage-driver vfs rmi bench/big >/dev/null
    rm -rf "$scratch/x"; mkdir "$scratch/x"; sync
    start=$(now); tar -xf "$scratch/big-layer.tar" -C "$scratch/x"; openssl dgst -sha256 "$scratch/big-layer.tar" >/dev/null
    record "tar -x + openssl (limit)" $(($(now) - start))
done

$docker load -i "$scratch/many.tar" >/dev/null
"$stowage" --data-root "$scratch/stowage" --storage-driver vfs load -q -i "$scratch/many.tar"
for _ in $(seq "$runs"); do
    start=$(now); $docker images >/dev/null; record "docker images" $(($(now) - start))
    start=$(now); "$stowage" --data-root "$scratch/stowage" --storage-driver vfs images >/dev/null; record "stowage images" $(($(now) - start))
    start=$(now); $docker history bench/many:7 >/dev/null; record "docker history" $(($(now) - start))
    start=$(now); "$stowage" --data-root "$scratch/stowage" --storage-driver vfs history bench/many:7 >/dev/null; record "stowage history" $(($(now) - start))
done

echo
echo "load: a $size_mb MiB single-layer image on a base already present; best of $runs; $(nproc) CPUs"
printf '%-28s %9s\n' "operation" "seconds"
for name in "docker load" "stowage load" "tar -x + openssl (limit)" "docker images" "stowage images" "docker history" "stowage history"; do
    printf '%-28s %9s\n' "$name" "$(seconds "${best[$name]}")"
done
echo
echo "docker load / stowage load:              $(ratio "${best["docker load"]}" "${best["stowage load"]}")   (target >= 4x)"
echo "stowage load / (tar -x + openssl):       $(ratio "${best["stowage load"]}" "${best["tar -x + openssl (limit)"]}")   (target <= 2x)"
echo "stowage images / docker images ($image_count images): $(ratio "${best["stowage images"]}" "${best["docker images"]}")   (target <= 1x)"
echo "stowage history / docker history:        $(ratio "${best["stowage history"]}" "${best["docker history"]}")   (target <= 1x)"
