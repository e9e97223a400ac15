"""Container and pod stats from the cgroups: a busy container's CPU, an idle
one's, a container holding 50 MiB, writable layers, filters, the Stream
variants, and PSI present only where the host has it."""

import os
import time

import grpc
import pytest

from registry import busybox_image


@pytest.fixture(scope="module")
def busybox(registry):
    registry.push("test/busybox", "1", busybox_image())
    return "%s/test/busybox:1" % registry.host


@pytest.fixture
def env(cribd, registry, busybox, api, workdir):
    pb, pb_grpc = api
    registry.write_hosts(cribd.certs_d)
    ch = cribd.channel()
    rt, img = pb_grpc.RuntimeServiceStub(ch), pb_grpc.ImageServiceStub(ch)
    img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=busybox)))
    pod_cfg = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name="st", namespace="default", uid="st1", attempt=0),
        hostname="st", log_directory=os.path.join(workdir, "logs"))
    pod = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=pod_cfg)).pod_sandbox_id

    def start(name, script, labels=None, start=True):
        cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name),
                                 image=pb.ImageSpec(image=busybox), log_path=name + ".log",
                                 command=["sh", "-c", script], labels=labels or {"app": name})
        cid = rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod, config=cfg, sandbox_config=pod_cfg)).container_id
        if start:
            rt.StartContainer(pb.StartContainerRequest(container_id=cid))
        return cid

    class Env:
        pass
    e = Env()
    e.pb, e.rt, e.pod, e.start = pb, rt, pod, start
    yield e
    for c in rt.ListContainers(pb.ListContainersRequest()).containers:
        rt.RemoveContainer(pb.RemoveContainerRequest(container_id=c.id))
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod))
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod))
    ch.close()


def stats(e, cid):
    return e.rt.ContainerStats(e.pb.ContainerStatsRequest(container_id=cid)).stats


def test_cpu_of_a_busy_and_an_idle_container(env):
    e = env
    busy = e.start("busy", "while :; do :; done")
    idle = e.start("idle", "sleep 1000")
    first = {c: stats(e, c) for c in (busy, idle)}
    time.sleep(1.5)
    second = {c: stats(e, c) for c in (busy, idle)}
    b1, b2 = first[busy].cpu, second[busy].cpu
    assert b2.timestamp > b1.timestamp > 0
    assert b2.usage_core_nano_seconds.value > b1.usage_core_nano_seconds.value
    # The rate comes from the previous call's sample: no sleep in the call.
    assert b2.usage_nano_cores.value > 300_000_000, b2  # a spinning shell uses most of a core
    assert second[idle].cpu.usage_nano_cores.value < 50_000_000
    assert second[busy].attributes.metadata.name == "busy"
    assert second[busy].attributes.labels["app"] == "busy"
    for s in second.values():
        assert s.memory.timestamp > 0 and s.memory.working_set_bytes.value > 0
        assert s.writable_layer.fs_id.mountpoint.endswith("/containers")


def test_memory_of_a_container_holding_50_mib(env):
    e = env
    cid = e.start("mem", "head -c 52428800 /dev/zero > /dev/shm/hold; touch /tmp/held; sleep 1000")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        m = stats(e, cid).memory
        if m.working_set_bytes.value >= 50 << 20:
            break
        time.sleep(0.2)
    assert m.working_set_bytes.value >= 50 << 20, m
    assert m.usage_bytes.value >= m.working_set_bytes.value
    assert m.page_faults.value > 0


def test_writable_layer_usage(env):
    e = env
    cid = e.start("writer", "head -c 1048576 /dev/zero > /big; sleep 1000")
    time.sleep(1)
    layer = stats(e, cid).writable_layer
    assert layer.used_bytes.value >= 1 << 20 and layer.inodes_used.value >= 1
    assert layer.timestamp > 0


def test_created_containers_are_listed_and_filters_apply(env):
    """critest lists stats of created (not started) containers too."""
    e, pb = env, env.pb
    created = [e.start("c%d" % i, "sleep 1000", labels={"set": "x", "n": str(i)}, start=False)
               for i in range(3)]
    running = e.start("r", "sleep 1000", labels={"set": "y"})
    listed = e.rt.ListContainerStats(pb.ListContainerStatsRequest()).stats
    assert sorted(s.attributes.id for s in listed) == sorted(created + [running])
    for s in listed:
        assert s.cpu.timestamp > 0 and s.memory.timestamp > 0
    by_label = e.rt.ListContainerStats(pb.ListContainerStatsRequest(
        filter=pb.ContainerStatsFilter(label_selector={"set": "x", "n": "1"}))).stats
    assert [s.attributes.id for s in by_label] == [created[1]]
    by_id = e.rt.ListContainerStats(pb.ListContainerStatsRequest(
        filter=pb.ContainerStatsFilter(id=running[:10]))).stats
    assert [s.attributes.id for s in by_id] == [running]
    none = e.rt.ListContainerStats(pb.ListContainerStatsRequest(
        filter=pb.ContainerStatsFilter(pod_sandbox_id="ab" * 32))).stats
    assert list(none) == []
    streamed = [s.attributes.id for m in e.rt.StreamContainerStats(pb.StreamContainerStatsRequest())
                for s in m.container_stats]
    assert sorted(streamed) == sorted(created + [running])
    with pytest.raises(grpc.RpcError) as err:
        stats(e, "ef" * 32)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_pod_stats_sum_its_containers(env):
    e, pb = env, env.pb
    a = e.start("a", "sleep 1000")
    b = e.start("b", "sleep 1000")
    s = e.rt.PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=e.pod)).stats
    assert s.attributes.id == e.pod and s.attributes.metadata.name == "st"
    assert sorted(c.attributes.id for c in s.linux.containers) == sorted([a, b])
    parts = sum(c.memory.working_set_bytes.value for c in s.linux.containers)
    assert s.linux.memory.working_set_bytes.value > 0
    assert abs(s.linux.memory.working_set_bytes.value - parts) <= parts  # read moments apart
    assert s.linux.process.process_count.value >= 2
    # The test's pods run on a loopback-only network: no eth0 to report.
    assert not s.linux.network.HasField("default_interface")
    assert list(s.linux.network.interfaces) == []
    streamed = [p.attributes.id for m in e.rt.StreamPodSandboxStats(pb.StreamPodSandboxStatsRequest())
                for p in m.pod_sandbox_stats]
    assert streamed == [e.pod]
    with pytest.raises(grpc.RpcError) as err:
        e.rt.PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id="ab" * 32))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            if right.split()[0] == "cgroup2":
                return left.split()[4]
    return None


def test_psi_is_present_only_where_the_host_has_it(env):
    """PSI comes from the container's cgroup v2 dir, where the kernel has one
    (on this hybrid host runc puts the tasks in the v2 tree too)."""
    e = env
    cid = e.start("p", "sleep 1000")
    s = stats(e, cid)
    root = cgroup2_mount()
    pressure = root and os.path.join(root, "crib", "crib-" + cid, "cpu.pressure")
    if pressure and os.path.exists(pressure):
        with open(pressure) as f:
            some_total_us = int(f.readline().split("total=")[1])
        assert s.cpu.HasField("psi") and s.memory.HasField("psi") and s.io.HasField("psi")
        # In ns, read a moment before the file was.
        assert s.cpu.psi.Some.Total <= some_total_us * 1000
        assert 0 <= s.cpu.psi.Some.Avg10 <= 100
    else:
        assert not s.cpu.HasField("psi") and not s.memory.HasField("psi")
        assert not s.HasField("io")


def test_pod_metrics_match_their_descriptors(env):
    """What the kubelet's /metrics/cadvisor builds from the CRI: each metric
    named by a descriptor, with one value per label key."""
    e, pb = env, env.pb
    busy = e.start("busy", "while :; do :; done")
    idle = e.start("idle", "sleep 1000", start=False)  # created: nothing to measure yet
    time.sleep(1.2)
    descs = {d.name: list(d.label_keys) for d in
             e.rt.ListMetricDescriptors(pb.ListMetricDescriptorsRequest()).descriptors}
    for name in ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
                 "container_memory_usage_bytes", "container_network_receive_bytes_total",
                 "container_network_transmit_bytes_total"):
        assert name in descs
    assert descs["container_memory_working_set_bytes"] == [
        "container", "id", "image", "name", "namespace", "pod"]
    assert descs["container_network_receive_bytes_total"][-1] == "interface"
    pods = e.rt.ListPodSandboxMetrics(pb.ListPodSandboxMetricsRequest()).pod_metrics
    assert [p.pod_sandbox_id for p in pods] == [e.pod]
    by_ctr = {c.container_id: c.metrics for c in pods[0].container_metrics}
    assert list(by_ctr) == [busy] and idle not in by_ctr
    metrics = {m.name: m for m in by_ctr[busy]}
    for m in metrics.values():
        assert m.name in descs and len(m.label_values) == len(descs[m.name])
        assert m.timestamp > 0
    ws = metrics["container_memory_working_set_bytes"]
    assert ws.metric_type == pb.GAUGE and ws.value.value > 0
    assert dict(zip(descs[ws.name], ws.label_values)) == {
        "container": "busy", "id": busy, "image": ws.label_values[2], "name": "busy",
        "namespace": "default", "pod": "st"}
    cpu = metrics["container_cpu_usage_seconds_total"]
    assert cpu.metric_type == pb.COUNTER and cpu.value.value >= 1  # a spinning second
    streamed = [p for m in e.rt.StreamPodSandboxMetrics(pb.StreamPodSandboxMetricsRequest())
                for p in m.pod_sandbox_metrics]
    assert [p.pod_sandbox_id for p in streamed] == [e.pod]
    assert [c.container_id for c in streamed[0].container_metrics] == [busy]
