"""Streaming benchmark client: exec round trips of `true` (Exec RPC plus the
SPDY session to its exit status) and port-forward throughput from a listener
in the pod that sends BYTES on each connection.
usage: stream_client.py ENDPOINT RUNS MIB"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "integration"))
import spdy_client  # noqa: E402
from cri_stubs import grpc, pb, pbg  # noqa: E402

endpoint, runs, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
IMAGE = "registry.k8s.io/e2e-test-images/busybox:1.29-2"
PORT = 8080


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def forward_bytes(url, want):
    """Reads want bytes from one forwarded connection (busybox nc keeps it
    open after its input ends); returns the bytes read."""
    c = spdy_client.SpdyConn(url, ("portforward.k8s.io",), window_updates=True)
    try:
        eid = c.open_stream({"streamtype": "error", "port": str(PORT), "requestid": "0"})
        did = c.open_stream({"streamtype": "data", "port": str(PORT), "requestid": "0"})
        got, open_ids = 0, {eid, did}
        while open_ids and got < want:
            f = c.read_frame()
            if f.control:
                if f.type == spdy_client.RST_STREAM:
                    open_ids.discard(f.stream_id)
                continue
            if f.stream_id == did and f.data:
                got += len(f.data)
                c.window_update(did, len(f.data))
                c.window_update(0, len(f.data))
            if f.fin:
                open_ids.discard(f.stream_id)
        return got
    finally:
        c.close()


with grpc.insecure_channel(endpoint) as ch:
    rt, img = pbg.RuntimeServiceStub(ch), pbg.ImageServiceStub(ch)
    img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=IMAGE)), timeout=300)
    cfg = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(
        name="stream", namespace="bench", uid="stream-%d" % os.getpid(), attempt=0),
        hostname="stream", log_directory="/tmp/crib-bench-logs")
    pod = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg), timeout=120).pod_sandbox_id
    serve = "while true; do head -c %d /dev/zero | nc -l -p %d; done" % (mib << 20, PORT)
    ids = []
    for name, cmd in (("sleeper", ["sleep", "3600"]), ("server", ["sh", "-c", serve])):
        c = pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image=IMAGE),
                               command=cmd, log_path=name + ".log")
        cid = rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod, config=c, sandbox_config=cfg), timeout=120).container_id
        rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=120)
        ids.append(cid)
    try:
        exec_ms = []
        for _ in range(runs + 3):
            t = time.monotonic()
            url = rt.Exec(pb.ExecRequest(container_id=ids[0], cmd=["true"], stdout=True,
                                         stderr=True), timeout=30).url
            r = spdy_client.run_exec(url)
            assert r.exit_code == 0, r.error
            exec_ms.append((time.monotonic() - t) * 1000)
        exec_ms = exec_ms[3:]  # the first sessions warm up both daemons
        time.sleep(1)
        mbps = []
        for _ in range(3):
            url = rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=pod, port=[PORT]), timeout=30).url
            t = time.monotonic()
            got = forward_bytes(url, mib << 20)
            took = time.monotonic() - t
            assert got == mib << 20, got
            mbps.append(got / took / 1e6)
            time.sleep(0.3)  # the listener starts again
    finally:
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod), timeout=120)
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod), timeout=120)
print("exec_p50_ms=%.1f exec_p99_ms=%.1f forward_mb_s=%.1f" % (
    pct(exec_ms, 0.5), pct(exec_ms, 0.99), sorted(mbps)[1]))
