"""cribd's own Prometheus endpoint: off unless configured; RPC counts,
errors by code and latency histograms, pods and containers by state, pulls."""

import re
import socket
import time
import urllib.error
import urllib.request

import grpc
import pytest

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """Prometheus text format 0.0.4, strictly: every sample's family has a
    TYPE line before it. Returns {(name, frozenset(labels)): value}, types."""
    types, samples = {}, {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            assert typ in ("counter", "gauge", "histogram") and name not in types
            types[name] = typ
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels = m.group(1), frozenset(LABEL.findall(m.group(3) or ""))
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, "sample before its TYPE: %r" % line
        samples[(name, labels)] = float(m.group(4))
    return samples, types


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def test_metrics_endpoint_counts_calls_objects_and_latency(make_cribd, api):
    pb, pb_grpc = api
    port = free_port()
    d = make_cribd(config={"metricsAddress": "127.0.0.1:%d" % port}).start()
    assert "serving cribd's metrics on 127.0.0.1:%d" % port in d.logs()
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        for _ in range(3):
            rt.Version(pb.VersionRequest())
        with pytest.raises(grpc.RpcError):
            rt.ContainerStatus(pb.ContainerStatusRequest(container_id="ab" * 32))
        cfg = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(
            name="m", namespace="default", uid="m1", attempt=0), hostname="m", log_directory="/tmp")
        pod = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg)).pod_sandbox_id
        samples, types = parse(scrape(port))
        assert samples[("crib_rpc_requests_total",
                        frozenset({("rpc", "Version"), ("code", "OK")}))] == 3
        assert samples[("crib_rpc_errors_total",
                        frozenset({("rpc", "ContainerStatus"), ("code", "NOT_FOUND")}))] == 1
        assert not any(n == "crib_rpc_errors_total" and ("code", "OK") in l for n, l in samples)
        assert types["crib_rpc_duration_seconds"] == "histogram"
        buckets = sorted((float(dict(l)["le"]) if dict(l)["le"] != "+Inf" else float("inf"), v)
                         for (n, l), v in samples.items()
                         if n == "crib_rpc_duration_seconds_bucket" and ("rpc", "Version") in l)
        assert [v for _, v in buckets] == sorted(v for _, v in buckets)  # cumulative
        assert buckets[-1] == (float("inf"), 3)
        assert samples[("crib_rpc_duration_seconds_count", frozenset({("rpc", "Version")}))] == 3
        assert samples[("crib_pods", frozenset({("state", "ready")}))] == 1
        assert samples[("crib_containers", frozenset({("state", "running")}))] == 0
        assert samples[("crib_shims", frozenset())] == 0
        assert samples[("crib_image_pulls_total", frozenset({("result", "ok")}))] == 0
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod))
        samples, _ = parse(scrape(port))
        assert samples[("crib_pods", frozenset({("state", "notready")}))] == 1
        assert samples[("crib_rpc_requests_total",
                        frozenset({("rpc", "RunPodSandbox"), ("code", "OK")}))] == 1
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod))
    with pytest.raises(urllib.error.HTTPError) as e:
        scrape(port, "/other")
    assert e.value.code == 404
    # Scrapers that connect and say nothing do not hold up the next one.
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    try:
        started = time.monotonic()
        parse(scrape(port))
        assert time.monotonic() - started < 1
    finally:
        for s in idle:
            s.close()


def test_metrics_are_off_by_default_and_a_bad_address_is_refused(make_cribd):
    d = make_cribd().start()
    assert "metrics" not in d.logs()
    d.stop()
    bad = make_cribd(name="b", config={"metricsAddress": "localhost"})
    with pytest.raises(RuntimeError) as e:
        bad.start()
    assert "metrics address 'localhost'" in str(e.value)
