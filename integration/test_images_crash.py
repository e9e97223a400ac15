"""kill -9 (an _exit at a named step) during a pull or a removal, then a
restart: no half image is listed, nothing is left on disk, a re-pull works."""

import os

import grpc
import pytest

from crib import tree_of
from registry import Image, tar_layer

PULL_STEPS = ["pull-resolved", "pull-layer-unpacked", "layer-commit-rename", "pull-layers-done",
              "pull-blobs-written", "image-record-commit"]


@pytest.fixture(scope="module")
def crash_image(registry):
    img = Image([tar_layer([{"name": "a", "data": b"a" * 5000}]),
                 tar_layer([{"name": "b", "data": b"b" * 5000}])])
    registry.push("crash/img", "v1", img)
    return img


def pull(pb, img, ref):
    return img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref)), timeout=60).image_ref


def assert_clean(d, pb, img):
    assert not img.ListImages(pb.ListImagesRequest()).images
    assert tree_of(os.path.join(d.root, "storage", "layers")) == []
    assert tree_of(os.path.join(d.root, "storage", "tmp")) == []
    assert tree_of(os.path.join(d.root, "blobs")) == ["sha256", "sha512"]


@pytest.mark.parametrize("step", PULL_STEPS)
def test_crash_during_pull(make_cribd, api, registry, crash_image, step):
    pb, pb_grpc = api
    d = make_cribd(env={"CRIB_CRASH_AT": step}).start()
    registry.write_hosts(d.certs_d)
    ref = "%s/crash/img:v1" % registry.host
    with d.channel() as ch:
        with pytest.raises(grpc.RpcError):
            pull(pb, pb_grpc.ImageServiceStub(ch), ref)
    d.restart_after_crash(step)
    with d.channel() as ch:
        img = pb_grpc.ImageServiceStub(ch)
        assert_clean(d, pb, img)
        assert pull(pb, img, ref) == crash_image.id
        assert len(os.listdir(os.path.join(d.root, "storage", "layers"))) == 2
    assert d.stop() == 0


@pytest.mark.parametrize("step", ["image-remove-commit", "image-remove-files"])
def test_crash_during_remove(make_cribd, api, registry, crash_image, step):
    pb, pb_grpc = api
    d = make_cribd().start()
    registry.write_hosts(d.certs_d)
    ref = "%s/crash/img:v1" % registry.host
    with d.channel() as ch:
        pull(pb, pb_grpc.ImageServiceStub(ch), ref)
    assert d.stop() == 0
    d.env["CRIB_CRASH_AT"] = step
    d.start()
    with d.channel() as ch:
        with pytest.raises(grpc.RpcError):
            pb_grpc.ImageServiceStub(ch).RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=ref)))
    d.restart_after_crash(step)
    with d.channel() as ch:
        img = pb_grpc.ImageServiceStub(ch)
        if step == "image-remove-commit":
            # Not committed: the image is whole and usable.
            st = img.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=ref))).image
            assert st.id == crash_image.id
            assert len(os.listdir(os.path.join(d.root, "storage", "layers"))) == 2
            img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=ref)))
        assert_clean(d, pb, img)
    assert d.stop() == 0


def test_half_written_blobs_and_unpacks_are_removed_at_start(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd().start()
    assert d.stop() == 0
    tmp_blob = os.path.join(d.root, "blobs", "sha256", "ab" * 32 + ".tmp-4242")
    with open(tmp_blob, "w") as f:
        f.write("half")
    stage = os.path.join(d.root, "storage", "tmp", "0123456789abcdef")
    os.makedirs(os.path.join(stage, "usr", "bin"))
    orphan = os.path.join(d.root, "storage", "layers", "cd" * 32)
    os.makedirs(orphan)
    d.start()
    assert not os.path.exists(tmp_blob)
    assert not os.path.exists(stage)
    assert not os.path.exists(orphan)
    assert d.stop() == 0
