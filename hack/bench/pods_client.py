"""Runs N pods one after another, then stops and removes them; prints
latencies (ms) and the daemon's memory with all N up.
usage: pods_client.py ENDPOINT DAEMON_PID N"""

import os
import sys
import time

from cri_stubs import grpc, pb, pbg  # noqa: E402

endpoint, pid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def pss_kib(p):
    with open("/proc/%d/smaps_rollup" % p) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("Pss:"))


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


with grpc.insecure_channel(endpoint) as ch:
    rt = pbg.RuntimeServiceStub(ch)
    rt.Version(pb.VersionRequest())
    before = pss_kib(pid)
    ids, run_ms, stop_ms = [], [], []
    for i in range(n):
        cfg = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(
            name="bench-%d" % i, namespace="bench", uid="bench-uid-%d-%d" % (os.getpid(), i), attempt=0),
            hostname="bench-%d" % i, log_directory="/tmp")
        t = time.monotonic()
        ids.append(rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg), timeout=120).pod_sandbox_id)
        run_ms.append((time.monotonic() - t) * 1000)
    up = pss_kib(pid)
    for pod in ids:
        t = time.monotonic()
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod), timeout=120)
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod), timeout=120)
        stop_ms.append((time.monotonic() - t) * 1000)
print("run_p50_ms=%.1f run_p99_ms=%.1f stop_remove_p50_ms=%.1f stop_remove_p99_ms=%.1f "
      "pss_before_kib=%d pss_up_kib=%d" % (pct(run_ms, 0.5), pct(run_ms, 0.99), pct(stop_ms, 0.5),
                                           pct(stop_ms, 0.99), before, up))
