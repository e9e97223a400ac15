"""The ImageService against a real TLS registry: pull, status, list, remove,
filesystem usage, and what a pull writes to disk."""

import os
import stat
import threading
import time

import grpc
import pytest

from crib import tree_of
from registry import Image, tar_layer

BASE = [
    {"name": "bin", "type": "dir"},
    {"name": "bin/busybox", "data": b"\x7fELF fake busybox", "mode": 0o755},
    {"name": "bin/sh", "type": "hardlink", "linkname": "bin/busybox"},
    {"name": "bin/ping", "data": b"ping", "mode": 0o4755},
    {"name": "etc", "type": "dir"},
    {"name": "etc/passwd", "data": b"root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/sh\n"},
    {"name": "etc/group", "data": b"root:x:0:\nwww-data:x:33:\n"},
    {"name": "etc/localtime", "type": "symlink", "linkname": "/usr/share/zoneinfo/UTC"},
    {"name": "home/user/file", "data": b"mine", "uid": 1000, "gid": 1000, "mode": 0o600},
    {"name": "var/cache/old", "data": b"old"},
    {"name": "opt/keep", "data": b"keep"},
]
TOP = [
    {"name": "var/cache/.wh.old"},
    {"name": "opt/.wh..wh..opq"},
    {"name": "opt/new", "data": b"new"},
    {"name": "usr/bin/cap", "data": b"cap", "mode": 0o755,
     "xattrs": {"user.crib": "yes"}},
]


def pull(pb, img, ref, auth=None, timeout=60):
    return img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref), auth=auth),
                         timeout=timeout).image_ref


def status(pb, img, ref, verbose=False):
    return img.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=ref), verbose=verbose))


@pytest.fixture(scope="module")
def pushed(registry):
    """Two images sharing a base layer, pushed once for the module."""
    base, top = tar_layer(BASE), tar_layer(TOP)
    a = Image([base, top], user="www-data")
    b = Image([base], user="1002:1003", compression="zstd")
    registry.push("test/a", "v1", a)
    registry.push("test/a", "also", a)
    registry.push("test/b", "v1", b)
    return {"a": a, "b": b}


@pytest.fixture
def cribd_reg(cribd, registry):
    registry.write_hosts(cribd.certs_d)
    return cribd


def layer_dir(cribd, chain_hex):
    return os.path.join(cribd.root, "storage", "layers", chain_hex)


def test_pull_status_list_by_every_kind_of_name(cribd_reg, images, registry, pushed):
    pb, img = images
    a = pushed["a"]
    ref = "%s/test/a:v1" % registry.host
    assert pull(pb, img, ref) == a.id
    st = status(pb, img, ref).image
    assert st.id == a.id
    assert list(st.repo_tags) == [ref]
    assert list(st.repo_digests) == ["%s/test/a@%s" % (registry.host, a.digest)]
    assert st.size > 0
    assert st.username == "www-data" and not st.HasField("uid")
    for key in (a.id, a.id[len("sha256:"):], a.id[7:19], "%s/test/a@%s" % (registry.host, a.digest)):
        assert status(pb, img, key).image.id == a.id, key
    listed = img.ListImages(pb.ListImagesRequest()).images
    assert [i.id for i in listed] == [a.id]
    filtered = img.ListImages(pb.ListImagesRequest(filter=pb.ImageFilter(image=pb.ImageSpec(image=ref))))
    assert [i.id for i in filtered.images] == [a.id]
    none = img.ListImages(pb.ListImagesRequest(filter=pb.ImageFilter(image=pb.ImageSpec(image="nope:1"))))
    assert not none.images
    streamed = [i.id for m in img.StreamImages(pb.StreamImagesRequest()) for i in m.images]
    assert streamed == [a.id]


def test_unknown_image_status_is_empty_and_remove_is_idempotent(cribd_reg, images):
    pb, img = images
    assert not status(pb, img, "docker.io/library/never:pulled").HasField("image")
    img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image="never:pulled")))
    img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image="sha256:" + "ab" * 32)))


def test_layers_on_disk_keep_whiteouts_links_modes_and_owners(cribd_reg, images, registry, pushed):
    pb, img = images
    pull(pb, img, "%s/test/a:v1" % registry.host)
    layers = os.listdir(os.path.join(cribd_reg.root, "storage", "layers"))
    assert len(layers) == 2
    base = top = None
    for h in layers:
        d = layer_dir(cribd_reg, h)
        if os.path.exists(os.path.join(d, "bin")):
            base = d
        else:
            top = d
    st = os.lstat(os.path.join(base, "bin", "ping"))
    assert stat.S_IMODE(st.st_mode) == 0o4755
    assert os.lstat(os.path.join(base, "bin", "sh")).st_ino == os.lstat(os.path.join(base, "bin", "busybox")).st_ino
    assert os.readlink(os.path.join(base, "etc", "localtime")) == "/usr/share/zoneinfo/UTC"
    st = os.lstat(os.path.join(base, "home", "user", "file"))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 1000, 0o600)
    wh = os.lstat(os.path.join(top, "var", "cache", "old"))
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    assert os.getxattr(os.path.join(top, "opt"), "trusted.overlay.opaque") == b"y"
    assert os.getxattr(os.path.join(top, "usr", "bin", "cap"), "user.crib") == b"yes"
    assert not os.path.exists(os.path.join(top, "opt", ".wh..wh..opq"))


def test_zstd_layers_and_numeric_user(cribd_reg, images, registry, pushed):
    pb, img = images
    b = pushed["b"]
    assert pull(pb, img, "%s/test/b:v1" % registry.host) == b.id
    st = status(pb, img, b.id).image
    assert st.uid.value == 1002 and st.username == ""


def test_remove_by_tag_removes_all_tags_and_unshared_layers(cribd_reg, images, registry, pushed):
    pb, img = images
    a, b = pushed["a"], pushed["b"]
    pull(pb, img, "%s/test/a:v1" % registry.host)
    pull(pb, img, "%s/test/a:also" % registry.host)
    gets = registry.blob_gets(b.layers[0]["digest"])
    pull(pb, img, "%s/test/b:v1" % registry.host)
    # b's only layer has the chain ID of a's base: stored already, not fetched.
    assert registry.blob_gets(b.layers[0]["digest"]) == gets
    assert sorted(status(pb, img, a.id).image.repo_tags) == sorted(
        ["%s/test/a:v1" % registry.host, "%s/test/a:also" % registry.host])
    layers = os.path.join(cribd_reg.root, "storage", "layers")
    assert len(os.listdir(layers)) == 2  # b's only layer is a's base
    img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image="%s/test/a:also" % registry.host)))
    assert not status(pb, img, "%s/test/a:v1" % registry.host).HasField("image")
    assert len(os.listdir(layers)) == 1, "the shared base layer stays for b"
    img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=b.id)))
    assert os.listdir(layers) == []
    assert tree_of(os.path.join(cribd_reg.root, "blobs")) == ["sha256", "sha512"]
    assert not img.ListImages(pb.ListImagesRequest()).images


def test_image_fs_info_counts_layers(cribd_reg, images, registry, pushed):
    pb, img = images
    empty = img.ImageFsInfo(pb.ImageFsInfoRequest())
    assert empty.image_filesystems[0].used_bytes.value == 0
    pull(pb, img, "%s/test/a:v1" % registry.host)
    info = img.ImageFsInfo(pb.ImageFsInfoRequest())
    fs = info.image_filesystems[0]
    assert fs.used_bytes.value >= len(b"\x7fELF fake busybox")
    assert fs.inodes_used.value >= 10
    assert fs.fs_id.mountpoint and os.path.ismount(fs.fs_id.mountpoint)
    assert fs.timestamp > 0
    assert len(info.container_filesystems) == 1


def test_same_image_pulled_at_once_is_fetched_once(cribd_reg, api, registry):
    pb, pb_grpc = api
    big = Image([tar_layer([{"name": "blob", "data": os.urandom(8 << 20)}])])
    registry.push("test/once", "v1", big)
    results = []

    def one():
        with cribd_reg.channel() as ch:
            results.append(pull(pb, pb_grpc.ImageServiceStub(ch), "%s/test/once:v1" % registry.host))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [big.id] * 4
    assert registry.blob_gets(big.layers[0]["digest"]) == 1


def test_warm_repull_fetches_no_blob(cribd_reg, images, registry, pushed):
    pb, img = images
    a = pushed["a"]
    ref = "%s/test/a:v1" % registry.host
    pull(pb, img, ref)
    before = registry.blob_gets(a.layers[0]["digest"])
    started = time.monotonic()
    assert pull(pb, img, ref) == a.id
    assert time.monotonic() - started < 1
    assert registry.blob_gets(a.layers[0]["digest"]) == before


def test_multi_arch_index_picks_this_machine(cribd_reg, images, registry):
    pb, img = images
    amd = Image([tar_layer([{"name": "arch", "data": b"amd64"}])], arch="amd64")
    arm = Image([tar_layer([{"name": "arch", "data": b"arm64"}])], arch="arm64")
    registry.push_index("test/multi", "v1", [(arm, "linux", "arm64", "v8"), (amd, "linux", "amd64", None)])
    assert pull(pb, img, "%s/test/multi:v1" % registry.host) == amd.id
    none = Image([tar_layer([{"name": "x", "data": b"s390x"}])], arch="s390x")
    registry.push_index("test/multi", "s390x", [(none, "linux", "s390x", None)])
    with pytest.raises(grpc.RpcError) as e:
        pull(pb, img, "%s/test/multi:s390x" % registry.host)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert "linux/s390x" in e.value.details()


@pytest.mark.parametrize("ref", ["", "UPPER/case", "a//b", "busybox:", "busybox@sha256:12",
                                 "x" * 300, "bad tag:with space"])
def test_malformed_references_are_invalid_argument(cribd_reg, images, ref):
    pb, img = images
    with pytest.raises(grpc.RpcError) as e:
        pull(pb, img, ref)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
