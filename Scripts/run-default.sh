#!/usr/bin/env bash
# Stowage's main job on the bundled default image, on a fresh Debian machine, as root:
# installs what it needs, builds Stowage, makes the default image from busybox-static, and
# runs the layer pipeline on it: each layer is applied (with its tar-split record), checked
# against the diff_ids in the image config, rebuilt byte for byte from tar-split, applied
# again compressed with gzip and zstd, stacked by the kernel's overlayfs, and exported back.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/Scripts/install-dependencies.sh"

cd "$repo"
echo "== building stowage"
swift build --product stowage 2>&1 | tail -n 1
stowage="$(swift build --show-bin-path)/stowage"

work="$(mktemp -d /tmp/stowage-default-XXXXXX)"
merged="$work/merged"
cleanup() {
    if mountpoint -q "$merged" 2>/dev/null; then umount "$merged"; fi
    { grep -o "$work/[^ ]*" /proc/mounts || true; } | sort -r | xargs -r umount -l
    case "$work" in /tmp/stowage-default-?*) rm -rf --one-file-system -- "$work" ;; esac
}
trap cleanup EXIT

echo "== making the default image from $(readlink -f /bin/busybox)"
python3 Scripts/make-default-image.py "$work/default.tar"
mkdir "$work/image"
tar -xf "$work/default.tar" -C "$work/image"
mapfile -t layers < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))[0]["Layers"]))' "$work/image/manifest.json")
config="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Config"])' "$work/image/manifest.json")"
mapfile -t diff_ids < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["rootfs"]["diff_ids"]))' "$work/image/$config")

lowers=""
for index in "${!layers[@]}"; do
    blob="$work/image/${layers[$index]}"
    expected="${diff_ids[$index]}"
    upper="$work/layer$index"
    echo "== layer $index: ${layers[$index]}"
    "$stowage" layer apply --overlay --expect-diff-id "$expected" --tar-split "$work/tar-split$index.json.gz" "$blob" "$upper"

    rebuilt="$("$stowage" layer assemble --tar-split "$work/tar-split$index.json.gz" "$upper" --digest)"
    [[ "$rebuilt" == "$expected" ]] || { echo "tar-split rebuilt $rebuilt, expected $expected" >&2; exit 1; }
    echo "tar-split rebuilds the layer byte for byte: $rebuilt"

    gzip -n -c "$blob" > "$work/layer.tar.gz"
    zstd -q -c "$blob" > "$work/layer.tar.zst"
    for compressed in "$work/layer.tar.gz" "$work/layer.tar.zst"; do
        "$stowage" layer apply --overlay --expect-diff-id "$expected" "$compressed" "$work/again" | head -n 2 | tail -n 1
        rm -rf "$work/again"
    done

    exported="$("$stowage" layer archive --overlay "$upper" --digest)"
    echo "exported back to a tar as Docker writes one (another writer, so another digest): $exported"
    lowers="$upper${lowers:+:$lowers}"
done

echo "== the image's layers stacked by overlayfs (lowerdir=$lowers)"
mkdir "$merged"
mount -t overlay overlay -o "lowerdir=$lowers" "$merged"
[[ ! -e "$merged/etc/motd" ]] || { echo "/etc/motd should be hidden by its whiteout" >&2; exit 1; }
[[ ! -e "$merged/var/lib/app/a.txt" ]] || { echo "/var/lib/app should be opaque" >&2; exit 1; }
chroot "$merged" /bin/busybox echo "busybox from the stacked layers runs: ok"
umount "$merged"

root="$work/root"
run() { echo "\$ stowage $*"; "$stowage" --data-root "$root" "$@"; }
echo "== the image in a data root in Docker's layout ($root)"
run load -i "$work/default.tar"
run images
run history stowage/busybox
run info
run layer probe stowage/busybox
echo "== a container: its writable layer on the image, written through its mount"
run create --name demo stowage/busybox
rootfs="$("$stowage" --data-root "$root" mount demo)"
[[ "$rootfs" == "$root"/* ]] || { echo "mount printed '$rootfs'" >&2; exit 1; }
echo "hello" > "$rootfs/hello.txt"
echo "demo" >> "$rootfs/etc/hostname"
rm -f "$rootfs/etc/group"
run unmount demo
echo "a note copied in" > "$work/note.txt"
run cp "$work/note.txt" demo:/note.txt
run cp demo:/hello.txt "$work/hello-copied-out.txt"
[[ "$(cat "$work/hello-copied-out.txt")" == hello ]] || { echo "cp out of the container gave another file" >&2; exit 1; }
run diff demo
run ps -a -s
run commit -m "hello" demo stowage/demo
run history stowage/demo
run rm demo
run save -o "$work/saved.tar" stowage/busybox
"$stowage" --data-root "$work/root2" load -i "$work/saved.tar" >/dev/null
[[ "$("$stowage" --data-root "$work/root2" images -q --no-trunc stowage/busybox)" == "$("$stowage" --data-root "$root" images -q --no-trunc stowage/busybox)" ]] \
    || { echo "saved and reloaded image has another ID" >&2; exit 1; }
echo "saved, reloaded elsewhere: same image ID"
echo "== done: the stowage binary is $stowage"
