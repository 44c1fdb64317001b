#!/usr/bin/env python3
"""Builds Stowage's bundled default image from Debian's busybox-static, without Docker.

Writes a docker-archive (what `docker save` writes: manifest.json, repositories, the config
named by its sha256, one directory per layer holding layer.tar), two layers:

  1. a busybox root filesystem: /bin/busybox, applet symlinks, /etc/passwd, /etc/group,
     /etc/motd, /tmp (1777), /root, /var/lib/app with two files;
  2. a change on top: a whiteout of /etc/motd, /var/lib/app made opaque with one new file.

Everything is deterministic (fixed times, owners and order), so the image ID depends only on
the busybox binary. Usage: make-default-image.py OUTPUT.tar [--busybox /bin/busybox]
"""
import argparse
import hashlib
import io
import json
import os
import tarfile

MTIME = 1700000000  # 2023-11-14T22:13:20Z
CREATED = "2023-11-14T22:13:20Z"
APPLETS = ["sh", "ls", "cat", "echo", "mkdir", "rm", "mv", "cp", "ln", "touch", "head",
           "sleep", "true", "false", "id", "env", "ps", "df", "du", "find", "grep", "sed",
           "wc", "stat", "chmod", "chown", "readlink", "dd", "tar", "vi"]
TAG = "stowage/busybox:latest"


def entry(name, kind=tarfile.REGTYPE, mode=0o644, data=b"", link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def layer_tar(entries):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    return buffer.getvalue()


def base_layer(busybox):
    directory = lambda name, mode=0o755: entry(name, tarfile.DIRTYPE, mode)
    entries = [
        directory("bin/"),
        entry("bin/busybox", mode=0o755, data=busybox),
        *[entry("bin/" + applet, tarfile.SYMTYPE, 0o777, link="busybox") for applet in APPLETS],
        directory("etc/"),
        entry("etc/group", data=b"root:x:0:\nnogroup:x:65534:\n"),
        entry("etc/motd", data=b"Welcome to Stowage's default image.\n"),
        entry("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
        directory("root/", 0o700),
        directory("tmp/", 0o1777),
        directory("var/"),
        directory("var/lib/"),
        directory("var/lib/app/"),
        entry("var/lib/app/a.txt", data=b"first\n"),
        entry("var/lib/app/b.txt", data=b"second\n"),
    ]
    return layer_tar(entries)


def change_layer():
    entries = [
        entry("etc/", tarfile.DIRTYPE, 0o755),
        entry("etc/.wh.motd", mode=0o600),
        entry("var/", tarfile.DIRTYPE, 0o755),
        entry("var/lib/", tarfile.DIRTYPE, 0o755),
        entry("var/lib/app/", tarfile.DIRTYPE, 0o755),
        entry("var/lib/app/.wh..wh..opq", mode=0o755),
        entry("var/lib/app/greeting.txt", data=b"hello from the second layer\n"),
    ]
    return layer_tar(entries)


def add_file(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = MTIME
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--busybox", default="/bin/busybox")
    arguments = parser.parse_args()
    with open(arguments.busybox, "rb") as binary:
        busybox = binary.read()

    layers = [base_layer(busybox), change_layer()]
    diff_ids = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]
    config = {
        "architecture": "amd64",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "created": CREATED,
        "history": [
            {"created": CREATED, "created_by": "/bin/sh -c #(nop) ADD busybox-static rootfs in /"},
            {"created": CREATED, "created_by": "/bin/sh -c rm /etc/motd && rm -rf /var/lib/app && mkdir /var/lib/app && echo hello > /var/lib/app/greeting.txt"},
            {"created": CREATED, "created_by": "/bin/sh -c #(nop)  CMD [\"/bin/sh\"]", "empty_layer": True},
        ],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
    image_id = hashlib.sha256(config_bytes).hexdigest()
    layer_paths = [diff_id[len("sha256:"):] + "/layer.tar" for diff_id in diff_ids]
    manifest = [{"Config": image_id + ".json", "RepoTags": [TAG], "Layers": layer_paths}]
    repository, tag = TAG.rsplit(":", 1)
    repositories = {repository: {tag: layer_paths[-1].split("/")[0]}}

    temporary = arguments.output + ".partial"
    with tarfile.open(temporary, "w", format=tarfile.PAX_FORMAT) as archive:
        for path, layer in zip(layer_paths, layers):
            add_file(archive, path, layer)
        add_file(archive, image_id + ".json", config_bytes)
        add_file(archive, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
        add_file(archive, "repositories", json.dumps(repositories, separators=(",", ":")).encode())
    os.replace(temporary, arguments.output)
    print(f"{arguments.output}: {TAG} sha256:{image_id}")
    for diff_id in diff_ids:
        print(f"  layer {diff_id}")


if __name__ == "__main__":
    main()
