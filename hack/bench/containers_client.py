"""Containers benchmark client: pod-ready latency (RunPodSandbox +
CreateContainer + StartContainer of busybox `sleep`) for N pods, the PSS of
the daemon and its shims with them up, then ListContainers latency with
LIST_PODS x PER_POD created containers.
usage: containers_client.py ENDPOINT DAEMON_PID SHIM_PREFIX N LIST_PODS PER_POD"""

import os
import sys
import time

from cri_stubs import grpc, pb, pbg  # noqa: E402

endpoint, pid, shim = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n, list_pods, per_pod = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
IMAGE = "registry.k8s.io/e2e-test-images/busybox:1.29-2"


def pss_kib(p):
    try:
        with open("/proc/%d/smaps_rollup" % p) as f:
            return next(int(l.split()[1]) for l in f if l.startswith("Pss:"))
    except OSError:
        return 0


def shims_pss_kib():
    total = 0
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/comm" % p) as f:
                if f.read().strip().startswith(shim):
                    total += pss_kib(int(p))
        except OSError:
            pass
    return total


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def pod(rt, name, i):
    cfg = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(
        name="%s-%d" % (name, i), namespace="bench", uid="%s-%d-%d" % (name, os.getpid(), i),
        attempt=0), hostname="%s-%d" % (name, i), log_directory="/tmp/crib-bench-logs")
    return cfg, rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg), timeout=120).pod_sandbox_id


def container(rt, pod_id, pod_cfg, name):
    cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image=IMAGE),
                             command=["sleep", "3600"], log_path=name + ".log")
    return rt.CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=pod_id, config=cfg, sandbox_config=pod_cfg), timeout=120).container_id


def remove_all(rt):
    for p in rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=120).items:
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=p.id), timeout=120)
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=p.id), timeout=120)


with grpc.insecure_channel(endpoint) as ch:
    rt, img = pbg.RuntimeServiceStub(ch), pbg.ImageServiceStub(ch)
    img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=IMAGE)), timeout=300)
    before = pss_kib(pid) + shims_pss_kib()
    ready_ms = []
    for i in range(n):
        t = time.monotonic()
        cfg, pod_id = pod(rt, "ready", i)
        cid = container(rt, pod_id, cfg, "sleep")
        rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=120)
        ready_ms.append((time.monotonic() - t) * 1000)
    time.sleep(1)
    up = pss_kib(pid) + shims_pss_kib()
    remove_all(rt)
    for i in range(list_pods):
        cfg, pod_id = pod(rt, "list", i)
        for j in range(per_pod):
            container(rt, pod_id, cfg, "c%d" % j)
    got = rt.ListContainers(pb.ListContainersRequest(), timeout=120).containers
    assert len(got) == list_pods * per_pod, len(got)
    # Timed without decoding the reply: Python's protobuf takes ~3 ms for
    # 1,000 containers, whichever runtime sent them.
    raw = ch.unary_unary("/runtime.v1.RuntimeService/ListContainers",
                         request_serializer=pb.ListContainersRequest.SerializeToString,
                         response_deserializer=None)
    list_ms = []
    for _ in range(50):
        t = time.monotonic()
        raw(pb.ListContainersRequest(), timeout=120)
        list_ms.append((time.monotonic() - t) * 1000)
    remove_all(rt)
print("ready_p50_ms=%.1f ready_p99_ms=%.1f pss_before_kib=%d pss_up_kib=%d pss_per_pod_kib=%d "
      "list_p50_ms=%.2f list_p99_ms=%.2f" % (pct(ready_ms, 0.5), pct(ready_ms, 0.99), before, up,
                                            (up - before) / max(n, 1), pct(list_ms, 0.5),
                                            pct(list_ms, 0.99)))
