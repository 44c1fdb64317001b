#!/usr/bin/env bash
# Scale benchmark: stowage against dockerd 20.10, side by side in one run, both on overlay2
# (Docker on its own temporary root and socket), as the counts of objects grow.
#
#   1. create in a loop up to CONTAINERS containers; the median time of one create is taken
#      at 10, 1,000 and CONTAINERS containers (each checkpoint that is reached)
#   2. ps -a and ps -a -s at 1,000 and CONTAINERS containers
#   3. IMAGES distinct images (one shared base layer, one layer of their own) with two tags
#      each: images, images -a, system df
#   4. rmi of an image of LAYERS layers of FILES files each (loaded again before each run)
#   5. load of that image into an empty root, against tar -x of its layers into an empty
#      directory on the same filesystem (a new ext4 loop filesystem for each run), and
#      against tar -x followed by sync (stowage's load is durable when it returns)
#
#   bash Benchmarks/scale.sh                                   # the issue's sizes (long: ~1 h)
#   CONTAINERS=2000 IMAGES=2000 bash Benchmarks/scale.sh       # a shorter run
#   STOWAGE=/path/to/stowage bash Benchmarks/scale.sh          # skip the build, use this binary
#
# Installs nothing: needs dockerd, docker, python3, mkfs.ext4 on PATH, and root (overlay and loop mounts).
set -euo pipefail

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=Benchmarks/lib.sh
source "$bench/lib.sh"
repo="$(dirname "$bench")"
container_count="${CONTAINERS:-10000}"
image_count="${IMAGES:-10000}"
layer_count="${LAYERS:-13}"
files_per_layer="${FILES:-800}"
runs="${N:-5}"
fixture="$repo/Tests/Fixtures/docker/base.tar"

stowage_bin="$(build_stowage "$repo")"
if [ "$(id -u)" -ne 0 ]; then echo "needs root (dockerd, overlay mounts)" >&2; exit 1; fi

scratch="$(mktemp -d /tmp/stowage-bench-scale-XXXXXX)"
dockerd_pid=""
cleanup() {
    set +e
    stop_dockerd
    remove_scratch "$scratch" /tmp/stowage-bench-scale-
}
trap cleanup EXIT

# start_dockerd NAME: a dockerd on its own root under the scratch directory.
start_dockerd() {
    local name="$1"
    dockerd --data-root "$scratch/$name" --exec-root "$scratch/exec-$name" --pidfile "$scratch/dockerd-$name.pid" \
        --host "unix://$scratch/docker.sock" --storage-driver overlay2 --iptables=false --ip6tables=false \
        --bridge=none --log-level=error > "$scratch/dockerd-$name.log" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 150); do docker_cmd version >/dev/null 2>&1 && return; sleep 0.2; done
    cat "$scratch/dockerd-$name.log" >&2; exit 1
}
stop_dockerd() {
    if [ -n "$dockerd_pid" ]; then
        kill "$dockerd_pid" 2>/dev/null
        for _ in $(seq 300); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
        wait "$dockerd_pid" 2>/dev/null
        dockerd_pid=""
    fi
}
docker_cmd() { docker --host "unix://$scratch/docker.sock" "$@"; }
stowage() { "$stowage_bin" --data-root "$scratch/$root" -s overlay2 "$@"; }

mkdir -p "$scratch/times"
# timed NAME COMMAND...: runs COMMAND (output discarded) and appends its time to NAME's list.
timed() {
    local name="$1" start end
    shift
    start=$(now); "$@" >/dev/null; end=$(now)
    echo $((end - start)) >> "$scratch/times/${name// /_}"
}
median_ms() {
    sort -n "$scratch/times/${1// /_}" | awk '{ t[NR] = $1 } END {
        m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2; printf "%.1f", m / 1e6 }'
}
rows=()
# report NAME: one row, stowage against docker.
report() { rows+=("$(printf '%-34s %10s %10s %10s' "$1" "$(median_ms "stowage $1")" "$(median_ms "docker $1")" \
    "$(ratio "$(median_ms "docker $1")" "$(median_ms "stowage $1")")")"); }

# 1, 2: containers.
root=containers
start_dockerd docker-containers
docker_cmd load -q -i "$fixture" >/dev/null
stowage load -q -i "$fixture" >/dev/null
made=0
for checkpoint in 10 1000 "$container_count"; do
    [ "$checkpoint" -le "$container_count" ] || continue
    [ "$checkpoint" -gt "$made" ] || continue
    echo "== creating up to $checkpoint containers" >&2
    while [ "$made" -lt $((checkpoint - runs)) ]; do
        stowage create fixture/base >/dev/null
        docker_cmd create --network none fixture/base >/dev/null
        made=$((made + 1))
    done
    while [ "$made" -lt "$checkpoint" ]; do
        timed "stowage create at $checkpoint" stowage create fixture/base
        timed "docker create at $checkpoint" docker_cmd create --network none fixture/base
        made=$((made + 1))
    done
    report "create at $checkpoint"
    if [ "$checkpoint" -ge 1000 ]; then
        for _ in $(seq "$runs"); do
            timed "stowage ps -a at $checkpoint" stowage ps -a
            timed "docker ps -a at $checkpoint" docker_cmd ps -a
            timed "stowage ps -a -s at $checkpoint" stowage ps -a -s
            timed "docker ps -a -s at $checkpoint" docker_cmd ps -a -s
        done
        report "ps -a at $checkpoint"
        report "ps -a -s at $checkpoint"
    fi
done
stop_dockerd

# 3: images.
root=images
echo "== $image_count distinct images with two tags each" >&2
python3 "$bench/make-archive.py" distinct "$image_count" "$scratch/distinct.tar"
start_dockerd docker-images
docker_cmd load -q -i "$scratch/distinct.tar" >/dev/null
stowage load -q -i "$scratch/distinct.tar" >/dev/null
for _ in $(seq "$runs"); do
    timed "stowage images ($image_count)" stowage images
    timed "docker images ($image_count)" docker_cmd images
    timed "stowage images -a ($image_count)" stowage images -a
    timed "docker images -a ($image_count)" docker_cmd images -a
    timed "stowage system df ($image_count)" stowage system df
    timed "docker system df ($image_count)" docker_cmd system df
done
report "images ($image_count)"; report "images -a ($image_count)"; report "system df ($image_count)"
stop_dockerd

# 4, 5: a many-layer, many-file image.
echo "== an image of $layer_count layers of $files_per_layer files" >&2
python3 "$bench/make-archive.py" layers "$layer_count" "$files_per_layer" "$scratch/layers.tar"
mkdir -p "$scratch/layer-tars"
tar -xf "$scratch/layers.tar" -C "$scratch/layer-tars"
start_dockerd docker-layers
root=layers
for _ in $(seq "$runs"); do
    docker_cmd load -q -i "$scratch/layers.tar" >/dev/null
    stowage load -q -i "$scratch/layers.tar" >/dev/null
    sync
    timed "stowage rmi ($layer_count layers)" stowage rmi bench/layers
    timed "docker rmi ($layer_count layers)" docker_cmd rmi bench/layers
done
report "rmi ($layer_count layers)"
stop_dockerd
# Each run gets a new ext4 filesystem (a loop image made with mkfs.ext4's defaults, as a
# machine's data disk is), the same for stowage and for tar: on a filesystem that has just
# had files deleted, new inodes cost more, and far from evenly.
mkdir -p "$scratch/fresh"
fresh_filesystem() {
    umount "$scratch/fresh" 2>/dev/null || true
    rm -f "$scratch/fresh.img"
    truncate -s 4G "$scratch/fresh.img"
    mkfs.ext4 -q -F "$scratch/fresh.img"
    mount -o loop "$scratch/fresh.img" "$scratch/fresh"
    sync
}
for i in $(seq "$runs"); do
    fresh_filesystem
    root="fresh/root"
    timed "stowage empty-root load" stowage load -q -i "$scratch/layers.tar"
    sync
    start=$(now)
    for tarball in "$scratch"/layer-tars/*/layer.tar; do
        mkdir -p "$scratch/fresh/tar/$(basename "$(dirname "$tarball")")"
        tar -xf "$tarball" -C "$scratch/fresh/tar/$(basename "$(dirname "$tarball")")"
    done
    end=$(now)
    echo $((end - start)) >> "$scratch/times/tar_-x"
    sync  # stowage's load is durable when it returns (a syncfs); tar's is not
    end=$(now)
    echo $((end - start)) >> "$scratch/times/tar_-x_sync"
done
umount "$scratch/fresh"
rm -f "$scratch/fresh.img"
rows+=("$(printf '%-34s %10s %10s %10s' "empty-root load vs tar -x" "$(median_ms "stowage empty-root load")" "$(median_ms "tar -x")" \
    "$(ratio "$(median_ms "tar -x")" "$(median_ms "stowage empty-root load")")")")
rows+=("$(printf '%-34s %10s %10s %10s' "empty-root load vs tar -x; sync" "$(median_ms "stowage empty-root load")" "$(median_ms "tar -x sync")" \
    "$(ratio "$(median_ms "tar -x sync")" "$(median_ms "stowage empty-root load")")")")

echo
echo "scale: median of $runs runs, in ms; overlay2; $(nproc) CPUs; stowage: ${stowage_bin#"$repo"/}"
printf '%-34s %10s %10s %10s\n' "operation" "stowage" "peer" "peer/stowage"
printf '%s\n' "${rows[@]}"
c10="$(median_ms "stowage create at 10")"
cmax="$(median_ms "stowage create at $container_count")"
echo "stowage create at $container_count / at 10: $(ratio "$cmax" "$c10")   (target <= 1.2x)"
