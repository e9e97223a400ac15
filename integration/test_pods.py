"""Pod sandboxes without network plugins yet: pinned namespaces, pod files,
sysctls, cgroups, records, and what a crash or bad input leaves."""

import json
import os
import subprocess

import grpc
import pytest

from crib import mounts_under


def pod_config(pb, name="web", uid="uid-1", attempt=1, **kw):
    cfg = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, namespace="default", uid=uid, attempt=attempt),
        hostname=kw.pop("hostname", "web-0"), log_directory="/tmp", labels=kw.pop("labels", {"app": "web"}))
    if "dns" in kw:
        cfg.dns_config.CopyFrom(kw.pop("dns"))
    if "sysctls" in kw:
        cfg.linux.sysctls.update(kw.pop("sysctls"))
    if "cgroup_parent" in kw:
        cfg.linux.cgroup_parent = kw.pop("cgroup_parent")
    if "network" in kw:
        cfg.linux.security_context.namespace_options.network = kw.pop("network")
    assert not kw
    return cfg


def run(pb, rt, cfg):
    return rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg)).pod_sandbox_id


def in_pod(cribd, pod_id, kind, *cmd):
    ns = os.path.join(cribd.state, "pods", pod_id, kind)
    return subprocess.run(["nsenter", "--%s=%s" % (kind, ns), "--"] + list(cmd),
                          capture_output=True, text=True, check=True).stdout


def memory_cgroup_dir(parent):
    """Where the memory controller keeps cgroup parent (v1 or v2)."""
    root = "/sys/fs/cgroup/memory" if os.path.isdir("/sys/fs/cgroup/memory") else "/sys/fs/cgroup"
    return root + parent


def remove_test_cgroups():
    """The parent dirs the cgroup tests made, in every hierarchy."""
    for root in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", root, "crib-it-%d" % os.getpid())
        if os.path.isdir(top):
            os.rmdir(top)


def pod_dirs(cribd):
    d = os.path.join(cribd.state, "pods")
    return os.listdir(d) if os.path.isdir(d) else []


def test_lifecycle_status_list_and_files(cribd, runtime):
    pb, rt = runtime
    dns = pb.DNSConfig(servers=["10.96.0.10"], searches=["default.svc.cluster.local"],
                       options=["ndots:5"])
    pid = run(pb, rt, pod_config(pb, dns=dns, sysctls={"net.ipv4.ip_local_port_range": "20000 30000"}))
    assert len(pid) == 64
    st = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pid)).status
    assert st.state == pb.SANDBOX_READY and st.metadata.name == "web" and st.labels["app"] == "web"
    assert st.created_at > 0
    assert in_pod(cribd, pid, "uts", "hostname").strip() == "web-0"
    assert in_pod(cribd, pid, "net", "cat", "/proc/sys/net/ipv4/ip_local_port_range").split() == ["20000", "30000"]
    links = in_pod(cribd, pid, "net", "ip", "-o", "link")
    assert "lo:" in links and len(links.strip().splitlines()) == 1
    with open(os.path.join(cribd.state, "pods", pid, "resolv.conf")) as f:
        assert f.read() == "nameserver 10.96.0.10\nsearch default.svc.cluster.local\noptions ndots:5\n"
    items = rt.ListPodSandbox(pb.ListPodSandboxRequest()).items
    assert [p.id for p in items] == [pid]
    f = pb.PodSandboxFilter(id=pid[:12], label_selector={"app": "web"})
    assert [p.id for p in rt.ListPodSandbox(pb.ListPodSandboxRequest(filter=f)).items] == [pid]
    f = pb.PodSandboxFilter(label_selector={"app": "db"})
    assert not rt.ListPodSandbox(pb.ListPodSandboxRequest(filter=f)).items
    streamed = [p.id for m in rt.StreamPodSandboxes(pb.StreamPodSandboxesRequest()) for p in m.pod_sandboxes]
    assert streamed == [pid]
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pid))
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pid))
    f = pb.PodSandboxFilter(state=pb.PodSandboxStateValue(state=pb.SANDBOX_NOTREADY))
    assert [p.id for p in rt.ListPodSandbox(pb.ListPodSandboxRequest(filter=f)).items] == [pid]
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    assert pod_dirs(cribd) == []
    assert mounts_under(cribd.state) == []
    with pytest.raises(grpc.RpcError) as e:
        rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pid))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_unknown_ids_stop_and_remove_quietly(runtime):
    pb, rt = runtime
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id="ab" * 32))
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id="ab" * 32))
    with pytest.raises(grpc.RpcError) as e:
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=""))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_duplicate_metadata_is_already_exists(cribd, runtime):
    pb, rt = runtime
    first = run(pb, rt, pod_config(pb))
    with pytest.raises(grpc.RpcError) as e:
        run(pb, rt, pod_config(pb))
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert first in e.value.details()
    assert pod_dirs(cribd) == [first]
    second = run(pb, rt, pod_config(pb, attempt=2))
    for pid in (first, second):
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    assert pod_dirs(cribd) == [] and mounts_under(cribd.state) == []


def test_host_network_pod_pins_no_network(cribd, runtime):
    pb, rt = runtime
    pid = run(pb, rt, pod_config(pb, network=pb.NODE))
    d = os.path.join(cribd.state, "pods", pid)
    assert not os.path.exists(os.path.join(d, "net")) and not os.path.exists(os.path.join(d, "uts"))
    assert os.path.exists(os.path.join(d, "ipc"))
    with open("/etc/hosts") as a, open(os.path.join(d, "hosts")) as b:
        assert a.read() == b.read()
    with pytest.raises(grpc.RpcError) as e:
        run(pb, rt, pod_config(pb, name="hn2", network=pb.NODE, sysctls={"net.core.somaxconn": "1024"}))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "net.core.somaxconn" in e.value.details() and "shares with the node" in e.value.details()
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))


def test_cgroup_parent_is_made_and_removed(cribd, runtime):
    pb, rt = runtime
    parent = "/crib-it-%d/pod-uid-1" % os.getpid()
    pid = run(pb, rt, pod_config(pb, cgroup_parent=parent))
    assert os.path.isdir(memory_cgroup_dir(parent))
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    assert not os.path.exists(memory_cgroup_dir(parent))
    remove_test_cgroups()


@pytest.mark.parametrize("kw,fragment", [
    ({"sysctls": {"kernel.pid_max": "100000"}}, "not namespaced"),
    ({"sysctls": {"../../etc/x": "1"}}, "not a sysctl name"),
    ({"dns": "bad-server"}, "servers[0]"),
    ({"network": 1}, "network must be POD or NODE"),
    ({"hostname": "bad host"}, "hostname"),
])
def test_bad_input_is_invalid_argument_and_leaves_nothing(cribd, runtime, kw, fragment):
    pb, rt = runtime
    if kw.get("dns") == "bad-server":
        kw = {"dns": pb.DNSConfig(servers=["not-an-ip"])}
    with pytest.raises(grpc.RpcError) as e:
        run(pb, rt, pod_config(pb, **kw))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    assert fragment in e.value.details()
    assert pod_dirs(cribd) == [] and mounts_under(cribd.state) == []
    assert not rt.ListPodSandbox(pb.ListPodSandboxRequest()).items


def test_pods_survive_a_restart(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd().start()
    with d.channel() as ch:
        pid = run(pb, pb_grpc.RuntimeServiceStub(ch), pod_config(pb))
    d.kill()
    d.start()
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        assert rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pid)).status.state == pb.SANDBOX_READY
        assert in_pod(d, pid, "uts", "hostname").strip() == "web-0"
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    assert d.stop() == 0
    assert mounts_under(d.state) == []


@pytest.mark.parametrize("step", ["pod-run-dir", "pod-run-namespaces", "pod-run-commit"])
def test_crash_during_run_leaves_nothing(make_cribd, api, step):
    pb, pb_grpc = api
    d = make_cribd(env={"CRIB_CRASH_AT": step}).start()
    with d.channel() as ch:
        with pytest.raises(grpc.RpcError):
            run(pb, pb_grpc.RuntimeServiceStub(ch), pod_config(pb))
    d.restart_after_crash(step)
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        assert not rt.ListPodSandbox(pb.ListPodSandboxRequest()).items
        assert pod_dirs(d) == [] and mounts_under(d.state) == []
        run(pb, rt, pod_config(pb))  # the name is free again
        for p in rt.ListPodSandbox(pb.ListPodSandboxRequest()).items:
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=p.id))
    assert d.stop() == 0


def test_crash_during_remove_is_finished_by_the_next_remove(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd(env={"CRIB_CRASH_AT": "pod-remove-state"}).start()
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        pid = run(pb, rt, pod_config(pb))
        with pytest.raises(grpc.RpcError):
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    d.restart_after_crash("pod-remove-state")
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        st = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pid)).status
        assert st.state == pb.SANDBOX_NOTREADY
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
        assert not rt.ListPodSandbox(pb.ListPodSandboxRequest()).items
    assert d.stop() == 0
    assert mounts_under(d.state) == []


def test_no_hostname_means_the_nodes(cribd, runtime):
    import socket
    pb, rt = runtime
    cfg = pod_config(pb, name="a-pod-name-that-is-far-longer-than-any-hostname-may-be-at-all-x" * 2)
    cfg.hostname = ""
    pid = run(pb, rt, cfg)
    assert in_pod(cribd, pid, "uts", "hostname").strip() == socket.gethostname()
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))


def verbose_info(pb, rt, pod_id):
    resp = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id, verbose=True))
    return json.loads(resp.info["info"])


def test_pod_resources_are_recorded_and_update_limits_the_pod_cgroup(cribd, runtime):
    pb, rt = runtime
    parent = "/crib-it-%d/pod-uid-res" % os.getpid()
    cfg = pod_config(pb, cgroup_parent=parent)
    cfg.linux.overhead.memory_limit_in_bytes = 8 << 20
    cfg.linux.resources.memory_limit_in_bytes = 64 << 20
    cfg.linux.resources.cpu_shares = 512
    pid = run(pb, rt, cfg)
    knob = "memory.limit_in_bytes" if os.path.isdir("/sys/fs/cgroup/memory") else "memory.max"
    try:
        info = verbose_info(pb, rt, pid)
        assert info["overhead"]["memory_limit_in_bytes"] == 8 << 20
        assert info["resources"]["memory_limit_in_bytes"] == 64 << 20
        assert info["resources"]["cpu_shares"] == 512
        assert info["cgroupDriver"] == "cgroupfs" and info["cgroupParent"] == parent
        # The pod's cgroup gets its containers' sum plus the overhead.
        rt.UpdatePodSandboxResources(pb.UpdatePodSandboxResourcesRequest(
            pod_sandbox_id=pid, overhead=pb.LinuxContainerResources(memory_limit_in_bytes=8 << 20),
            resources=pb.LinuxContainerResources(memory_limit_in_bytes=96 << 20)))
        with open(os.path.join(memory_cgroup_dir(parent), knob)) as f:
            assert int(f.read()) == 104 << 20
        info = verbose_info(pb, rt, pid)
        assert info["resources"]["memory_limit_in_bytes"] == 96 << 20
        assert "cpu_shares" in info["resources"] and info["resources"]["cpu_shares"] == 0
        # A pod whose containers set no memory limit gets none, overhead or not.
        rt.UpdatePodSandboxResources(pb.UpdatePodSandboxResourcesRequest(
            pod_sandbox_id=pid, overhead=pb.LinuxContainerResources(memory_limit_in_bytes=8 << 20),
            resources=pb.LinuxContainerResources(cpu_shares=256)))
        with open(os.path.join(memory_cgroup_dir(parent), knob)) as f:
            assert int(f.read()) == 104 << 20
        with pytest.raises(grpc.RpcError) as e:
            rt.UpdatePodSandboxResources(pb.UpdatePodSandboxResourcesRequest(
                pod_sandbox_id="cd" * 32, resources=pb.LinuxContainerResources(cpu_shares=512)))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
        remove_test_cgroups()


def test_systemd_cgroup_driver_takes_slices(make_cribd, api):
    """The systemd driver's names; the scopes themselves need systemd (below)."""
    pb, pb_grpc = api
    d = make_cribd(config={"cgroupDriver": "systemd"}).start()
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        resp = rt.RuntimeConfig(pb.RuntimeConfigRequest())
        assert resp.linux.cgroup_driver == pb.SYSTEMD
        with pytest.raises(grpc.RpcError) as e:
            run(pb, rt, pod_config(pb, cgroup_parent="/kubepods/pod-uid-1"))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "/kubepods/pod-uid-1" in e.value.details() and "slice" in e.value.details()
        assert pod_dirs(d) == []
        slice_name = "crib-it%d-pod1.slice" % os.getpid()
        pid = run(pb, rt, pod_config(pb, cgroup_parent=slice_name))
        info = verbose_info(pb, rt, pid)
        assert info["cgroupDriver"] == "systemd" and info["cgroupParent"] == slice_name
        # Slices are systemd's units: crib makes no dir of its own for them.
        assert not os.path.exists(memory_cgroup_dir("/crib-it%d.slice" % os.getpid()))
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
