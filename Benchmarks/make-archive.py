#!/usr/bin/env python3
"""Writes docker-archive tars for the benchmarks, in the format `docker save` writes.

  make-archive.py distinct N OUT   N images on one shared base layer, each with a layer of
                                   its own (one small file) and two tags (bench/i:a, bench/i:b)
  make-archive.py layers L F OUT   one image (bench/layers:latest) of L layers of F small
                                   files each, in nested directories
"""
import hashlib, io, json, sys, tarfile

def layer(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directories = set()
        for path, data in files:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                directory = "/".join(parts[:i])
                if directory not in directories:
                    directories.add(directory)
                    info = tarfile.TarInfo(directory); info.type = tarfile.DIRTYPE; info.mode = 0o755; info.mtime = 1700000000
                    tar.addfile(info)
            info = tarfile.TarInfo(path); info.size = len(data); info.mode = 0o644; info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()

def write_archive(out, images):
    """images: list of (layers (list of tar bytes), tags, created)"""
    with tarfile.open(out, mode="w") as archive:
        def add(name, data):
            info = tarfile.TarInfo(name); info.size = len(data); info.mtime = 1700000000
            archive.addfile(info, io.BytesIO(data))
        written = set()
        manifest = []
        for layers, tags, created in images:
            diff_ids, paths = [], []
            for data in layers:
                digest = hashlib.sha256(data).hexdigest()
                diff_ids.append("sha256:" + digest)
                paths.append(digest + "/layer.tar")
                if digest not in written:
                    written.add(digest)
                    add(digest + "/layer.tar", data)
            config = json.dumps({
                "architecture": "amd64", "os": "linux", "created": created,
                "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/bin:/bin"]},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
                "history": [{"created": created, "created_by": "layer %d" % i} for i in range(len(layers))],
            }, separators=(",", ":")).encode()
            config_name = hashlib.sha256(config).hexdigest() + ".json"
            add(config_name, config)
            manifest.append({"Config": config_name, "RepoTags": tags, "Layers": paths})
        add("manifest.json", json.dumps(manifest).encode())

def main():
    if sys.argv[1] == "distinct":
        count, out = int(sys.argv[2]), sys.argv[3]
        base = layer([("etc/base-%d" % i, b"base\n") for i in range(50)])
        images = [([base, layer([("srv/image", b"%d\n" % i)])], ["bench/%d:a" % i, "bench/%d:b" % i],
                   "2024-01-01T00:00:%02d.%09dZ" % (i % 60, i)) for i in range(count)]
        write_archive(out, images)
    elif sys.argv[1] == "layers":
        count, files, out = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
        layers = [layer([("usr/share/l%d/d%d/f%d" % (l, f // 100, f), b"file %d %d\n" % (l, f) * 4) for f in range(files)])
                  for l in range(count)]
        write_archive(out, [(layers, ["bench/layers:latest"], "2024-01-01T00:00:00Z")])
    else:
        sys.exit(__doc__)

main()
