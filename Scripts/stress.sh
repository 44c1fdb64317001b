#!/usr/bin/env bash
# Four stowage processes on one data root for DURATION seconds (default 120): loads of images
# sharing a base, create/mount/write/cp in and out/diff/commit/rm, tag/rmi, prune, and reads
# (ps -s, images, system df, cp out and export of whichever container is there). Every command must succeed, or fail only with a conflict that the mix makes
# legitimate (a name in use, an image in use, an image or container another worker removed);
# afterwards `stowage check` must be clean. As root, after `swift build`.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stowage=${STOWAGE:-$repo/.build/debug/stowage}
driver=${DRIVER:-overlay2}
duration=${DURATION:-120}
fixtures=$repo/Tests/Fixtures/docker
scratch=$(mktemp -d /tmp/stowage-stress.XXXXXX)
root=$scratch/root
trap 'grep -o " $root[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null; rm -rf "$scratch"' EXIT
s() { "$stowage" --data-root "$root" --storage-driver "$driver" "$@"; }
# Failures a concurrent mix makes legitimate: what another worker removed or holds.
allowed='No such image|No such container|Could not find the file|is using its referenced image|being used by|in use by a change|must be forced|already in use|is referenced in multiple|has dependent child images|has no read-write layer|its root filesystem is mounted'
end=$((SECONDS + duration))
# A small tree for cp into containers.
payload=$scratch/payload
mkdir -p "$payload/sub" && for i in $(seq 20); do echo "$i" > "$payload/sub/f$i"; done
# create, mount, write, cp in and out, diff, unmount, commit, rm, rmi; errors on standard error.
container_round() {
    local c p
    c=$(s create --name "w2-$1" fixture/whiteout /bin/true) || return 1
    p=$(s mount "$c") && echo x > "$p/f$1" && s cp "$payload" "$c:/copied" && s cp "$c:/copied/sub" - >/dev/null &&
        s diff "$c" >/dev/null && s unmount "$c" >/dev/null &&
        s commit "$c" "commit:$1" >/dev/null && s rm "$c" && s rmi "commit:$1" >/dev/null
}
worker() {
    local id=$1 count=0 bad=0 out
    while ((SECONDS < end)); do
        count=$((count + 1))
        case $id in
            0) out=$(s load -q -i "$fixtures/whiteout.tar" 2>&1 && s load -q -i "$fixtures/links.tar" 2>&1) ;;
            1) out=$(s rmi fixture/links 2>&1; s tag fixture/whiteout w:$count 2>&1 && s rmi w:$count 2>&1) ;;
            2) out=$(container_round "$count" 2>&1) ;;
            3) out=$(s ps -a -s 2>&1 >/dev/null && s images -a 2>&1 >/dev/null && s system df 2>&1 >/dev/null &&
                     s image prune -f 2>&1 >/dev/null && for c in $(s ps -a -q 2>/dev/null | head -n 1); do
                         s cp "$c:/etc" - 2>&1 >/dev/null && s export "$c" 2>&1 >/dev/null; done) ;;
        esac
        if (($? != 0)) && ! grep -qE "$allowed" <<<"$out"; then
            bad=$((bad + 1))
            echo "worker $id, round $count: $out" >&2
        fi
    done
    echo "$id $count $bad"
}
mkdir -p "$root"  # readers refuse a data root that does not exist yet
for id in 0 1 2 3; do worker $id > "$scratch/result-$id" & done
wait
rounds=0 failed=0
for id in 0 1 2 3; do read -r _ count bad < "$scratch/result-$id"; rounds=$((rounds + count)); failed=$((failed + bad)); done
# Mounts left by a worker stopped mid-round are released before the check.
for c in $(s ps -a -q 2>/dev/null); do s unmount -f "$c" >/dev/null 2>&1; done
report=$(s check 2>&1); check=$?
[[ $check == 0 ]] || { echo "check after the stress run: $report" >&2; failed=$((failed + 1)); }
echo "stress on $driver for ${duration}s: $rounds rounds; $((rounds - failed)) passed, $failed failed"
((failed == 0))
