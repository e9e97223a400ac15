"""The gRPC server itself: every RPC registered, bad input, concurrency,
disconnects and shutdown."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import grpc
import pytest

IMPLEMENTED = {"Version", "Status", "RuntimeConfig", "UpdateRuntimeConfig", "ListImages", "StreamImages",
               "ImageStatus", "PullImage", "RemoveImage", "ImageFsInfo", "RunPodSandbox",
               "StopPodSandbox", "RemovePodSandbox", "PodSandboxStatus", "ListPodSandbox",
               "StreamPodSandboxes", "UpdatePodSandboxResources", "CreateContainer",
               "StartContainer", "StopContainer", "RemoveContainer", "ListContainers",
               "StreamContainers", "ContainerStatus", "UpdateContainerResources",
               "ReopenContainerLog", "ExecSync", "GetContainerEvents", "ContainerStats",
               "ListContainerStats", "StreamContainerStats", "PodSandboxStats",
               "ListPodSandboxStats", "StreamPodSandboxStats", "ListMetricDescriptors",
               "ListPodSandboxMetrics", "StreamPodSandboxMetrics", "Exec", "Attach",
               "PortForward", "CheckpointContainer", "CheckpointPod"}


def all_rpcs(pb):
    for svc in ("RuntimeService", "ImageService"):
        desc = pb.DESCRIPTOR.services_by_name[svc]
        for m in desc.methods:
            yield svc, m


def call_raw(ch, path, body=b"", stream=False, timeout=10):
    ident = lambda b: b
    if stream:
        return list(ch.unary_stream(path, request_serializer=ident, response_deserializer=ident)(
            body, timeout=timeout))
    return ch.unary_unary(path, request_serializer=ident, response_deserializer=ident)(
        body, timeout=timeout)


def test_every_other_rpc_is_unimplemented_and_says_which(cribd, api):
    pb, _ = api
    seen = 0
    with cribd.channel() as ch:
        for svc, m in all_rpcs(pb):
            if m.name in IMPLEMENTED:
                continue
            with pytest.raises(grpc.RpcError) as e:
                call_raw(ch, "/runtime.v1.%s/%s" % (svc, m.name), stream=m.server_streaming)
            assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED, m.name
            assert m.name in e.value.details()
            seen += 1
    assert seen == len(list(all_rpcs(pb))) - len(IMPLEMENTED) == 1  # RestorePod


def test_unknown_method_is_unimplemented(cribd):
    with cribd.channel() as ch:
        with pytest.raises(grpc.RpcError) as e:
            call_raw(ch, "/runtime.v1.RuntimeService/NoSuchThing")
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "NoSuchThing" in e.value.details()


@pytest.mark.parametrize("body", [b"\xff\xff\xff\xff", b"\x0a\x05ab", b"\x08" + b"\xff" * 11])
def test_garbage_request_body_is_invalid_argument(cribd, body):
    with cribd.channel() as ch:
        for rpc in ("Version", "Status", "UpdateRuntimeConfig", "RunPodSandbox"):
            with pytest.raises(grpc.RpcError) as e:
                call_raw(ch, "/runtime.v1.RuntimeService/" + rpc, body)
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, rpc
            assert "not a valid runtime.v1." in e.value.details()
        # The server is unharmed.
        assert call_raw(ch, "/runtime.v1.RuntimeService/Version", b"") is not None


def test_oversized_request_is_refused(cribd):
    with cribd.channel() as ch:
        with pytest.raises(grpc.RpcError) as e:
            call_raw(ch, "/runtime.v1.RuntimeService/Version", b"\x0a" + b"\x80\x80\x80\x09" + b"x" * (17 << 20))
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


ABUSIVE_CLIENT = r"""
import socket, sys
import grpc, api_pb2 as pb, api_pb2_grpc as pbg
path = sys.argv[1]
# Raw clients that send half an HTTP/2 preface and hang up.
for _ in range(20):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(b"PRI * HTTP/2.0\r\n")
    s.close()
# gRPC clients that cancel their calls at once, or go away mid-call.
for i in range(100):
    ch = grpc.insecure_channel("unix://" + path)
    fut = pbg.RuntimeServiceStub(ch).Status.future(pb.StatusRequest(verbose=True))
    if i % 2:
        fut.cancel()
    ch.close()
"""


def test_clients_that_disconnect_mid_call_leave_nothing(cribd, api):
    pb, pb_grpc = api
    with cribd.channel() as ch:
        pb_grpc.RuntimeServiceStub(ch).Version(pb.VersionRequest())
    base_fds = fd_count(cribd.proc.pid)
    # In a process of its own, whose exit really closes every connection.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", ABUSIVE_CLIENT, cribd.socket], env=env, check=True,
                   timeout=120)
    with cribd.channel() as ch:
        v = pb_grpc.RuntimeServiceStub(ch).Version(pb.VersionRequest())
        assert v.runtime_name == "crib"
    deadline = time.monotonic() + 10
    while fd_count(cribd.proc.pid) > base_fds + 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert fd_count(cribd.proc.pid) <= base_fds + 1


def test_concurrent_clients(cribd, api):
    pb, pb_grpc = api
    errors = []

    def client():
        try:
            with cribd.channel() as ch:
                rt = pb_grpc.RuntimeServiceStub(ch)
                for _ in range(500):
                    assert rt.Version(pb.VersionRequest(), timeout=10).runtime_name == "crib"
        except Exception as e:  # noqa: BLE001 - collected and reported below
            errors.append(e)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    assert all(not t.is_alive() for t in threads)


def slow_runtime(workdir, seconds):
    """A runtime binary whose --version takes a while: a Status call that is
    in flight for that long."""
    path = os.path.join(workdir, "slow-runc")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nsleep %s\necho 'slow-runc version 1'\n" % seconds)
    os.chmod(path, 0o755)
    return path


def test_sigterm_lets_calls_in_flight_finish(make_cribd, workdir, api):
    pb, pb_grpc = api
    d = make_cribd(config={"runtimes": {"runc": {"path": slow_runtime(workdir, 2)}}}).start()
    results = []

    def status():
        with d.channel() as ch:
            try:
                r = pb_grpc.RuntimeServiceStub(ch).Status(pb.StatusRequest(), timeout=20)
                results.append(conditions_ok(r))
            except grpc.RpcError as e:
                results.append(e.code())

    threads = [threading.Thread(target=status) for _ in range(4)]
    for t in threads:
        t.start()
    # The calls are in flight for the runtime's 2 s; on a loaded machine the
    # clients take a while to connect, and a call not yet taken is refused.
    time.sleep(1.2)
    started = time.monotonic()
    d.signal(signal.SIGTERM)
    for t in threads:
        t.join(30)
    assert d.proc.wait(30) == 0, d.logs()
    assert time.monotonic() - started < 10
    assert results == [True] * 4, results
    assert not os.path.exists(d.socket)
    assert "shutting down" in d.logs()


def conditions_ok(resp):
    return {c.type: c.status for c in resp.status.conditions}["RuntimeReady"]


def test_shutdown_is_bounded_when_calls_do_not_finish(make_cribd, workdir, api):
    pb, pb_grpc = api
    d = make_cribd(config={"shutdownTimeoutSeconds": 1,
                           "runtimes": {"runc": {"path": slow_runtime(workdir, 60)}}}).start()
    ch = d.channel()
    fut = pb_grpc.RuntimeServiceStub(ch).Status.future(pb.StatusRequest(), timeout=60)
    time.sleep(0.5)
    started = time.monotonic()
    d.signal(signal.SIGTERM)
    assert d.proc.wait(20) == 0
    # The probe's own 5 s limit ends it at the latest; the server gives up
    # waiting after 1 s plus the cancellation grace.
    assert time.monotonic() - started < 12
    assert "cancelling" in d.logs()
    with pytest.raises(grpc.RpcError):
        fut.result()
    ch.close()


def test_calls_are_logged_once_with_rpc_code_and_duration(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd(args=["--log-level", "debug"]).start()
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        rt.Version(pb.VersionRequest())
        with pytest.raises(grpc.RpcError):
            rt.StartContainer(pb.StartContainerRequest(container_id="x"))
    assert d.stop() == 0
    lines = [l for l in d.log_lines() if "rpc=" in l]
    assert any(re.search(r"level=debug rpc=Version req=\w+ code=0 took_ms=[0-9.]+ msg=ok", l)
               for l in lines), lines
    assert sum("rpc=StartContainer" in l for l in lines) == 1
    assert any("level=warn rpc=StartContainer" in l and "code=5" in l for l in lines)
