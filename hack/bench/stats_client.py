"""Stats benchmark client: PODS pods of PER_POD running busybox `sleep`
containers; ListContainerStats and ListPodSandboxStats latency (timed
without decoding the reply), then the daemon's CPU time per second while
both are called once a second for POLL seconds.
usage: stats_client.py ENDPOINT DAEMON_PID PODS PER_POD POLL_SECONDS"""

import os
import sys
import time

from cri_stubs import grpc, pb, pbg  # noqa: E402

endpoint, pid = sys.argv[1], int(sys.argv[2])
pods, per_pod, poll_s = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
IMAGE = "registry.k8s.io/e2e-test-images/busybox:1.29-2"
TICK = os.sysconf("SC_CLK_TCK")
PARENT = "/crib-bench-stats-%d" % os.getpid()


def remove_parents():
    """The pods' cgroup parents, in every hierarchy (the kubelet's job)."""
    for root in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", root, PARENT.lstrip("/"))
        if not os.path.isdir(top):
            continue
        for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def cpu_ms(p):
    """utime + stime of the process and the children it waited for."""
    with open("/proc/%d/stat" % p) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) * 1000 / TICK


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def timed(call, req, runs):
    ms = []
    for _ in range(runs):
        t = time.monotonic()
        call(req, timeout=120)
        ms.append((time.monotonic() - t) * 1000)
    return ms


with grpc.insecure_channel(endpoint) as ch:
    rt, img = pbg.RuntimeServiceStub(ch), pbg.ImageServiceStub(ch)
    img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=IMAGE)), timeout=300)
    for i in range(pods):
        cfg = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(
            name="stats-%d" % i, namespace="bench", uid="stats-%d-%d" % (os.getpid(), i), attempt=0),
            hostname="stats-%d" % i, log_directory="/tmp/crib-bench-logs")
        # As the kubelet does: containerd reads a pod's stats from its cgroup parent.
        cfg.linux.cgroup_parent = "%s/pod-%d" % (PARENT, i)
        pod_id = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg), timeout=120).pod_sandbox_id
        for j in range(per_pod):
            c = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="c%d" % j),
                                   image=pb.ImageSpec(image=IMAGE), command=["sleep", "3600"],
                                   log_path="c%d.log" % j)
            cid = rt.CreateContainer(pb.CreateContainerRequest(
                pod_sandbox_id=pod_id, config=c, sandbox_config=cfg), timeout=120).container_id
            rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=120)
    got = rt.ListContainerStats(pb.ListContainerStatsRequest(), timeout=120).stats
    assert len(got) == pods * per_pod, len(got)
    raw_ctr = ch.unary_unary("/runtime.v1.RuntimeService/ListContainerStats",
                             request_serializer=pb.ListContainerStatsRequest.SerializeToString,
                             response_deserializer=None)
    raw_pod = ch.unary_unary("/runtime.v1.RuntimeService/ListPodSandboxStats",
                             request_serializer=pb.ListPodSandboxStatsRequest.SerializeToString,
                             response_deserializer=None)
    ctr_ms = timed(raw_ctr, pb.ListContainerStatsRequest(), 30)
    pod_ms = timed(raw_pod, pb.ListPodSandboxStatsRequest(), 30)
    time.sleep(2)
    start_cpu, start = cpu_ms(pid), time.monotonic()
    for _ in range(poll_s):
        t = time.monotonic()
        raw_ctr(pb.ListContainerStatsRequest(), timeout=120)
        raw_pod(pb.ListPodSandboxStatsRequest(), timeout=120)
        time.sleep(max(0, 1 - (time.monotonic() - t)))
    poll_cpu = (cpu_ms(pid) - start_cpu) / (time.monotonic() - start)
    for p in rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=120).items:
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=p.id), timeout=120)
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=p.id), timeout=120)
    time.sleep(1)
    remove_parents()
print("ctr_stats_p50_ms=%.2f ctr_stats_p99_ms=%.2f pod_stats_p50_ms=%.2f pod_stats_p99_ms=%.2f "
      "poll_cpu_ms_per_s=%.2f" % (pct(ctr_ms, 0.5), pct(ctr_ms, 0.99), pct(pod_ms, 0.5),
                                 pct(pod_ms, 0.99), poll_cpu))
