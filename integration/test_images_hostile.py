"""Hostile registries and images: every failure gets the right code, a
message naming the problem, and leaves nothing on disk or in the database."""

import base64
import gzip
import json
import os
import time

import grpc
import pytest

from crib import tree_of
from registry import Image, Registry, sha256, tar_layer

GOOD = [{"name": "ok", "data": b"fine"}]


def pull(pb, img, ref, auth=None, timeout=60):
    return img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=ref), auth=auth),
                         timeout=timeout)


def assert_nothing_left(cribd, pb, img):
    assert not img.ListImages(pb.ListImagesRequest()).images
    storage = os.path.join(cribd.root, "storage")
    assert tree_of(os.path.join(storage, "layers")) == []
    assert tree_of(os.path.join(storage, "tmp")) == []
    assert tree_of(os.path.join(cribd.root, "blobs")) == ["sha256", "sha512"]


def expect_failure(pb, img, cribd, ref, code, fragment, **kw):
    with pytest.raises(grpc.RpcError) as e:
        pull(pb, img, ref, **kw)
    assert e.value.code() == code, e.value.details()
    assert fragment in e.value.details(), e.value.details()
    assert_nothing_left(cribd, pb, img)
    return e.value


@pytest.fixture
def served(cribd, hostile):
    name = hostile.write_hosts(cribd.certs_d)
    return name


@pytest.mark.parametrize("entries,fragment", [
    ([{"name": "../escape", "data": b"x"}], "../escape"),
    ([{"name": "/etc/abs", "data": b"x"}], "/etc/abs"),
    ([{"name": "a/../../escape", "data": b"x"}], "escape"),
    ([{"name": "link", "type": "hardlink", "linkname": "../../etc/passwd"}], "link"),
    ([{"name": "dir", "type": "symlink", "linkname": "/tmp"},
      {"name": "dir/planted", "data": b"x"}], "dir/planted"),
])
def test_path_traversal_is_refused(cribd, images, hostile, served, entries, fragment):
    pb, img = images
    bad = Image([tar_layer(GOOD), tar_layer(entries)])
    hostile.serve_image("evil", "v1", bad)
    expect_failure(pb, img, cribd, served + "/evil:v1", grpc.StatusCode.INVALID_ARGUMENT, fragment)
    assert not os.path.exists("/tmp/planted") and not os.path.exists("/escape")


def test_digest_mismatch(cribd, images, hostile, served):
    pb, img = images
    tar = tar_layer(GOOD)
    good = Image([tar])
    hostile.serve_image("mismatch", "v1", good)
    layer = good.layers[0]["digest"]
    # The same tar gzipped with another timestamp: it unpacks fine, its digest differs.
    hostile.routes["/v2/mismatch/blobs/" + layer] = (200, {}, gzip.compress(tar, mtime=12345))
    expect_failure(pb, img, cribd, served + "/mismatch:v1", grpc.StatusCode.INVALID_ARGUMENT, layer)


def test_truncated_blob(cribd, images, hostile, served):
    pb, img = images
    good = Image([tar_layer([{"name": "big", "data": os.urandom(100000)}])])
    hostile.serve_image("trunc", "v1", good)
    layer = good.layers[0]["digest"]
    hostile.routes["/v2/trunc/blobs/" + layer] = (200, {}, good.blobs[layer][:5000])
    expect_failure(pb, img, cribd, served + "/trunc:v1", grpc.StatusCode.INVALID_ARGUMENT, "layer")


def test_manifest_over_4_mib(cribd, images, hostile, served):
    pb, img = images
    hostile.routes["/v2/huge/manifests/v1"] = (
        200, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, b" " * (5 << 20))
    expect_failure(pb, img, cribd, served + "/huge:v1", grpc.StatusCode.RESOURCE_EXHAUSTED, "bytes")


def test_unknown_media_type(cribd, images, hostile, served):
    pb, img = images
    good = Image([tar_layer(GOOD)])
    body = json.loads(good.manifest)
    body["mediaType"] = "application/vnd.example.weird+json"
    hostile.serve_image("weird", "v1", good, json.dumps(body).encode(), "application/vnd.example.weird+json")
    expect_failure(pb, img, cribd, served + "/weird:v1", grpc.StatusCode.INVALID_ARGUMENT,
                   "application/vnd.example.weird+json")


def test_schema1_is_refused(cribd, images, hostile, served):
    pb, img = images
    hostile.routes["/v2/old/manifests/v1"] = (
        200, {"Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws"},
        b'{"schemaVersion": 1, "name": "old", "tag": "v1", "fsLayers": []}')
    expect_failure(pb, img, cribd, served + "/old:v1", grpc.StatusCode.INVALID_ARGUMENT, "schema 1")


def test_blob_404_and_missing_manifest(cribd, images, hostile, served):
    pb, img = images
    good = Image([tar_layer(GOOD)])
    hostile.serve_image("gone", "v1", good)
    del hostile.routes["/v2/gone/blobs/" + good.layers[0]["digest"]]
    expect_failure(pb, img, cribd, served + "/gone:v1", grpc.StatusCode.NOT_FOUND, "not found")
    expect_failure(pb, img, cribd, served + "/nothing:v1", grpc.StatusCode.NOT_FOUND, "not found")


def test_registry_500_is_unavailable_after_retries(cribd, images, hostile, served):
    pb, img = images
    hostile.routes["/v2/down/manifests/v1"] = (500, {}, b"oops")
    expect_failure(pb, img, cribd, served + "/down:v1", grpc.StatusCode.UNAVAILABLE, "500")
    assert hostile.hits.count("/v2/down/manifests/v1") == 3


def test_registry_that_never_answers_hits_the_stall_window(make_cribd, api, hostile):
    pb, pb_grpc = api
    d = make_cribd(config={"stallTimeoutSeconds": 2}).start()
    name = hostile.write_hosts(d.certs_d)
    good = Image([tar_layer(GOOD)])
    hostile.serve_image("stall", "v1", good)

    def hang(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        handler.wfile.write(b"x" * 10)
        handler.wfile.flush()
        time.sleep(30)

    hostile.routes["/v2/stall/blobs/" + good.layers[0]["digest"]] = hang
    with d.channel() as ch:
        img = pb_grpc.ImageServiceStub(ch)
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as e:
            pull(pb, img, name + "/stall:v1")
        assert time.monotonic() - started < 20
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e.value.details()
        assert_nothing_left(d, pb, img)
    assert d.stop() == 0


def test_slow_but_moving_pull_succeeds(make_cribd, api, hostile):
    pb, pb_grpc = api
    d = make_cribd(config={"stallTimeoutSeconds": 2}).start()
    name = hostile.write_hosts(d.certs_d)
    good = Image([tar_layer([{"name": "f", "data": os.urandom(30000)}])])
    hostile.serve_image("slow", "v1", good)
    data = good.blobs[good.layers[0]["digest"]]

    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        for i in range(0, len(data), len(data) // 6 + 1):
            handler.wfile.write(data[i:i + len(data) // 6 + 1])
            handler.wfile.flush()
            time.sleep(0.8)

    hostile.routes["/v2/slow/blobs/" + good.layers[0]["digest"]] = trickle
    with d.channel() as ch:
        assert pull(pb, pb_grpc.ImageServiceStub(ch), name + "/slow:v1").image_ref == good.id
    assert d.stop() == 0


def test_client_deadline_stops_the_pull_and_leaves_nothing(cribd, images, hostile, served):
    pb, img = images
    good = Image([tar_layer(GOOD)])
    hostile.serve_image("late", "v1", good)

    def hang(handler):
        time.sleep(20)

    hostile.routes["/v2/late/blobs/" + good.layers[0]["digest"]] = hang
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        pull(pb, img, served + "/late:v1", timeout=1)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    time.sleep(2)  # the daemon notices within its cancellation poll
    assert time.monotonic() - started < 10
    assert_nothing_left(cribd, pb, img)
    assert cribd.proc.poll() is None


def test_decompression_bomb_is_bounded(make_cribd, api, hostile):
    pb, pb_grpc = api
    d = make_cribd(config={"maxLayerBytes": 4 << 20}).start()
    name = hostile.write_hosts(d.certs_d)
    bomb = Image([tar_layer([{"name": "zeros", "data": b"\0" * (32 << 20)}])])
    hostile.serve_image("bomb", "v1", bomb)
    with d.channel() as ch:
        img = pb_grpc.ImageServiceStub(ch)
        expect_failure(pb, img, d, name + "/bomb:v1", grpc.StatusCode.RESOURCE_EXHAUSTED, "bytes")
    assert d.stop() == 0


def test_basic_auth_and_bad_credentials(make_cribd, api, tmp_path):
    pb, pb_grpc = api
    reg = Registry(str(tmp_path / "authreg"), users={"crib": "s3cret"}).start()
    try:
        reg.push("private/img", "v1", Image([tar_layer(GOOD)]))
        d = make_cribd().start()
        reg.write_hosts(d.certs_d)
        ref = "%s/private/img:v1" % reg.host
        with d.channel() as ch:
            img = pb_grpc.ImageServiceStub(ch)
            expect_failure(pb, img, d, ref, grpc.StatusCode.PERMISSION_DENIED, "credentials")
            expect_failure(pb, img, d, ref, grpc.StatusCode.PERMISSION_DENIED, "credentials",
                           auth=pb.AuthConfig(username="crib", password="wrong"))
            pull(pb, img, ref, auth=pb.AuthConfig(username="crib", password="s3cret"))
            img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=ref)))
            token = base64.b64encode(b"crib:s3cret").decode()
            pull(pb, img, ref, auth=pb.AuthConfig(auth=token))
        assert d.stop() == 0
        assert "s3cret" not in d.logs() and token not in d.logs()
    finally:
        reg.stop()


def test_bearer_token_flows(cribd, images, hostile, served):
    pb, img = images
    good = Image([tar_layer(GOOD)])
    hostile.serve_image("anon", "v1", good)
    hostile.serve_image("priv", "v1", good)
    hostile.require_token("anon")
    hostile.require_token("priv", basic="crib:pw", refresh="refresh-me")
    assert pull(pb, img, served + "/anon:v1").image_ref == good.id
    assert "/token/anon" in hostile.hits
    img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=good.id)))
    expect_failure(pb, img, cribd, served + "/priv:v1", grpc.StatusCode.PERMISSION_DENIED, "token")
    assert pull(pb, img, served + "/priv:v1",
                auth=pb.AuthConfig(username="crib", password="pw")).image_ref == good.id
    img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=good.id)))
    assert pull(pb, img, served + "/priv:v1",
                auth=pb.AuthConfig(identity_token="refresh-me")).image_ref == good.id
    img.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=good.id)))
    hostile.hits.clear()
    assert pull(pb, img, served + "/priv:v1",
                auth=pb.AuthConfig(registry_token="good-token")).image_ref == good.id
    assert "/token/priv" not in hostile.hits
    assert "refresh-me" not in cribd.logs() and "good-token" not in cribd.logs()


def test_mirrors_are_tried_first_and_fall_back_to_the_origin(cribd, images, hostile, registry):
    from registry import Hostile, free_port
    pb, img = images
    good = Image([tar_layer(GOOD)])
    hostile.serve_image("mirrored", "v1", good)
    empty = Hostile().start()  # a mirror that has nothing: 404 for everything
    try:
        dead = "http://127.0.0.1:%d" % free_port()  # a mirror that is down
        name = hostile.write_hosts(cribd.certs_d, "mirrored.test",
                                   mirrors=[dead, "http://%s" % empty.host])
        assert pull(pb, img, name + "/mirrored:v1").image_ref == good.id
        assert "/v2/mirrored/manifests/v1" in empty.hits
        assert "ns=mirrored.test" in empty.queries[0]  # mirrors learn the upstream
        assert not any("ns=" in q for q in hostile.queries)  # the origin does not
    finally:
        empty.stop()


def test_blob_redirects_to_storage_are_followed(cribd, images, hostile, served):
    from registry import send
    pb, img = images
    good = Image([tar_layer(GOOD)])
    hostile.serve_image("redir", "v1", good)
    layer = good.layers[0]["digest"]
    data = good.blobs[layer]
    hostile.routes["/storage/" + layer] = (200, {}, data)

    def redirect(handler):
        send(handler, 307, {"Location": "http://%s/storage/%s" % (hostile.host, layer)}, b"")

    hostile.routes["/v2/redir/blobs/" + layer] = redirect
    assert pull(pb, img, served + "/redir:v1").image_ref == good.id
    assert "/storage/" + layer in hostile.hits


def test_client_certificates_for_mutual_tls(make_cribd, api, tmp_path):
    pb, pb_grpc = api
    reg = Registry(str(tmp_path / "mtls"), client_certs=True).start()
    try:
        good = Image([tar_layer(GOOD)])
        reg.push("mtls/img", "v1", good)
        d = make_cribd().start()
        ref = "%s/mtls/img:v1" % reg.host
        with d.channel() as ch:
            img = pb_grpc.ImageServiceStub(ch)
            reg.write_hosts(d.certs_d, with_client=False)
            expect_failure(pb, img, d, ref, grpc.StatusCode.UNAVAILABLE, reg.host)
            reg.write_hosts(d.certs_d)
            assert pull(pb, img, ref).image_ref == good.id
        assert d.stop() == 0
    finally:
        reg.stop()
