#!/usr/bin/env bash
# Container benchmark: stowage's container verbs against the docker CLI, side by side in one
# run, both with overlay2 (Docker on its own temporary root and socket). Each operation is
# repeated N times and the median is reported.
#
#   1. create      `stowage create fixture/base`   vs `docker create fixture/base`
#   2. diff        of a container with three changes (a new file, /etc/passwd modified,
#                  /etc/motd deleted)
#   3. commit      of that container, a new image each time
#   4. ps -a / ps -a -s  with 50 more containers of 300 small files each
#   5. cp          a tree of CP_FILES small files (in 10 directories) into a container and
#                  back out, against `tar -c | tar -x` of the same tree
#
#   bash Benchmarks/containers.sh
#   N=50 CONTAINERS=50 FILES=300 bash Benchmarks/containers.sh
#   STOWAGE=/path/to/stowage bash Benchmarks/containers.sh   # skip the build, use this binary
#   KEEP_SCRATCH=1 bash Benchmarks/containers.sh      # keep the roots, for profiling
#
# Installs nothing: needs dockerd and docker on PATH, and root (overlay mounts).
set -euo pipefail

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=Benchmarks/lib.sh
source "$bench/lib.sh"
repo="$(dirname "$bench")"
runs="${N:-20}"
container_count="${CONTAINERS:-50}"
file_count="${FILES:-300}"
fixture="$repo/Tests/Fixtures/docker/base.tar"

stowage_bin="$(build_stowage "$repo")"
if [ "$(id -u)" -ne 0 ]; then echo "needs root (dockerd, overlay mounts)" >&2; exit 1; fi

scratch="$(mktemp -d /tmp/stowage-bench-containers-XXXXXX)"
case "$scratch" in
    /tmp/stowage-bench-containers-?*) ;;
    *) echo "unexpected scratch dir '$scratch'" >&2; exit 1 ;;
esac
dockerd_pid=""

# inside PATH: fail unless PATH is under the scratch dir (before writing through or deleting it).
inside() {
    case "$1" in
        "$scratch"/?*) ;;
        *) echo "refusing to touch '$1': not under $scratch" >&2; exit 1 ;;
    esac
}

cleanup() {
    set +e
    if [ -n "$dockerd_pid" ]; then
        kill "$dockerd_pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
        wait "$dockerd_pid" 2>/dev/null
    fi
    remove_scratch "$scratch" /tmp/stowage-bench-containers-
}
trap cleanup EXIT

stowage() { "$stowage_bin" --data-root "$scratch/stowage" -s overlay2 "$@"; }

echo "== stowage: $stowage_bin" >&2
echo "== starting dockerd on $scratch/docker" >&2
dockerd --data-root "$scratch/docker" --exec-root "$scratch/exec" --pidfile "$scratch/dockerd.pid" \
    --host "unix://$scratch/docker.sock" --storage-driver overlay2 --iptables=false --ip6tables=false \
    --bridge=none --log-level=error > "$scratch/dockerd.log" 2>&1 &
dockerd_pid=$!
docker_cmd() { docker --host "unix://$scratch/docker.sock" "$@"; }
for _ in $(seq 150); do docker_cmd version >/dev/null 2>&1 && break; sleep 0.2; done
docker_cmd version >/dev/null || { cat "$scratch/dockerd.log" >&2; exit 1; }

docker_cmd load -q -i "$fixture" >/dev/null
stowage load -i "$fixture" >/dev/null

# Times per operation, in nanoseconds, one file per name.
mkdir -p "$scratch/times"
# timed NAME COMMAND...: run COMMAND (output discarded) and append its time to NAME's list.
timed() {
    local name="$1" start end
    shift
    start=$(now)
    "$@" >/dev/null
    end=$(now)
    echo $((end - start)) >> "$scratch/times/${name// /_}"
}
# median_ms NAME: the median of NAME's times, in milliseconds.
median_ms() {
    sort -n "$scratch/times/${1// /_}" | awk '{ t[NR] = $1 } END {
        m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2; printf "%.1f", m / 1e6 }'
}

# 1. create
echo "== create x$runs" >&2
for _ in $(seq "$runs"); do
    timed "stowage create" stowage create fixture/base
    timed "docker create" docker_cmd create fixture/base
done

# 2. diff: a container with three changes.
echo "== diff x$runs" >&2
sid="$(stowage create --name changed fixture/base)"
merged="$(stowage mount "$sid")"
inside "$merged"
echo a > "$merged/new"
echo x >> "$merged/etc/passwd"
rm -- "$merged/etc/motd"
stowage unmount "$sid" >/dev/null
docker_cmd run --network none --name changed fixture/base sh -c 'echo a>/new; echo x>>/etc/passwd; rm /etc/motd'
echo "stowage diff:" >&2; stowage diff "$sid" | sed 's/^/    /' >&2
echo "docker diff:" >&2; docker_cmd diff changed | sed 's/^/    /' >&2
for _ in $(seq "$runs"); do
    timed "stowage diff" stowage diff "$sid"
    timed "docker diff" docker_cmd diff changed
done

# 3. commit: a new image each time.
echo "== commit x$runs" >&2
for i in $(seq "$runs"); do
    timed "stowage commit" stowage commit "$sid" "bench/commit:$i"
    timed "docker commit" docker_cmd commit changed "bench/commit:$i"
done

# 4. ps -a and ps -a -s with many containers holding many files.
echo "== $container_count containers of $file_count files each" >&2
for _ in $(seq "$container_count"); do
    id="$(stowage create fixture/base)"
    merged="$(stowage mount "$id")"
    inside "$merged"
    for ((i = 1; i <= file_count; i++)); do echo "$i" > "$merged/f$i"; done
    stowage unmount "$id" >/dev/null
    docker_cmd run --network none fixture/base sh -c "for i in \$(seq $file_count); do echo \$i > /f\$i; done"
done
stowage_rows=$(($(stowage ps -a | wc -l) - 1))
docker_rows=$(($(docker_cmd ps -a | wc -l) - 1))
echo "== ps x$runs ($stowage_rows stowage containers, $docker_rows docker containers)" >&2
for _ in $(seq "$runs"); do
    timed "stowage ps -a" stowage ps -a
    timed "stowage ps -a -s" stowage ps -a -s
    timed "docker ps -a" docker_cmd ps -a
    timed "docker ps -a -s" docker_cmd ps -a -s
done

# 5. cp of a tree of many small files, in and out, beside tar piped into tar.
cp_files="${CP_FILES:-3000}"
echo "== cp of $cp_files files x$runs" >&2
tree="$scratch/tree"
for d in $(seq 10); do
    mkdir -p "$tree/d$d"
    for ((i = 1; i <= cp_files / 10; i++)); do echo "file $d $i" > "$tree/d$d/f$i"; done
done
stowage create --name copied fixture/base >/dev/null
docker_cmd create --name copied fixture/base >/dev/null
# Each copy starts with no writeback pending (a sync, untimed): the files the one before
# wrote would otherwise be flushed during it, whoever made them.
for i in $(seq "$runs"); do
    sync; timed "stowage cp in" stowage cp "$tree" "copied:/in$i"
    sync; timed "docker cp in" docker_cmd cp "$tree" "copied:/in$i"
    out="$scratch/out$i"; inside "$out"
    sync; timed "stowage cp out" stowage cp "copied:/in$i" "$out-stowage"
    sync; timed "docker cp out" docker_cmd cp "copied:/in$i" "$out-docker"
    mkdir "$out-tar"
    sync; timed "tar cp" sh -c "tar -C '$scratch' -cf - tree | tar -C '$out-tar' -xf -"
    rm -rf -- "$out-stowage" "$out-docker" "$out-tar"
done

echo
echo "containers: median of $runs runs, in ms; overlay2; $(nproc) CPUs; stowage: ${stowage_bin#"$repo"/}"
echo "ps: $stowage_rows stowage / $docker_rows docker containers, $container_count of them with $file_count files"
printf '%-12s %12s %12s %14s\n' "operation" "stowage ms" "docker ms" "docker/stowage"
for op in create diff commit "ps -a" "ps -a -s"; do
    s="$(median_ms "stowage $op")"
    d="$(median_ms "docker $op")"
    printf '%-12s %12s %12s %14s\n' "$op" "$s" "$d" "$(ratio "$d" "$s")"
done
for op in "cp in" "cp out"; do
    s="$(median_ms "stowage $op")"
    d="$(median_ms "docker $op")"
    printf '%-12s %12s %12s %14s\n' "$op" "$s" "$d" "$(ratio "$d" "$s")"
done
echo "cp of $cp_files files: tar -c | tar -x $(median_ms "tar cp") ms; stowage cp in / tar $(ratio "$(median_ms "stowage cp in")" "$(median_ms "tar cp")")"
echo
s_ratio="$(ratio "$(median_ms "stowage ps -a -s")" "$(median_ms "stowage ps -a")")"
d_ratio="$(ratio "$(median_ms "docker ps -a -s")" "$(median_ms "docker ps -a")")"
echo "ps -a -s / ps -a:   stowage $s_ratio   docker $d_ratio   (target for stowage <= 1.2x)"
echo "docker create / stowage create: $(ratio "$(median_ms "docker create")" "$(median_ms "stowage create")")   (target >= 5x)"
echo "docker diff / stowage diff:     $(ratio "$(median_ms "docker diff")" "$(median_ms "stowage diff")")   (target >= 5x)"
