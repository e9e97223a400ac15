"""Pods on a real CNI network: Debian's bridge and host-local plugins, on a
bridge and subnet this test owns (no masquerade, no iptables), with traffic
only between the test's own pods."""

import json
import os
import subprocess
import sys
import time

import grpc
import pytest

from crib import mounts_under
from test_pods import in_pod, pod_config, pod_dirs, run

if not os.path.exists("/usr/lib/cni/bridge"):
    pytest.skip("containernetworking-plugins is not installed", allow_module_level=True)


@pytest.fixture
def netcribd(make_cribd, workdir):
    n = 20 + os.getpid() % 200
    bridge = "cribit%d" % n
    d = make_cribd(cni=False)
    ipam = os.path.join(workdir, "ipam")
    conf = {"cniVersion": "1.0.0", "name": "crib-it", "plugins": [{
        "type": "bridge", "bridge": bridge, "isGateway": True, "ipMasq": False,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.204.%d.0/24" % n}]],
                 "dataDir": ipam}}]}
    with open(os.path.join(d.conf_dir, "10-crib-it.conflist"), "w") as f:
        json.dump(conf, f)
    d.bridge, d.subnet, d.ipam = bridge, "10.204.%d." % n, os.path.join(ipam, "crib-it")
    d.start()
    yield d
    d.kill()
    subprocess.run(["ip", "link", "del", bridge], capture_output=True)


def allocations(d):
    if not os.path.isdir(d.ipam):
        return []
    return [f for f in os.listdir(d.ipam) if f[0].isdigit()]


def veths(d):
    out = subprocess.run(["ip", "-o", "link", "show", "master", d.bridge], capture_output=True, text=True)
    return out.stdout.strip().splitlines() if out.returncode == 0 else []


def test_two_pods_get_addresses_and_reach_each_other(netcribd, api):
    pb, pb_grpc = api
    d = netcribd
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        a = run(pb, rt, pod_config(pb, name="a", uid="ua"))
        b = run(pb, rt, pod_config(pb, name="b", uid="ub", hostname="pod-b"))
        ip_a = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=a)).status.network.ip
        ip_b = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=b)).status.network.ip
        assert ip_a.startswith(d.subnet) and ip_b.startswith(d.subnet) and ip_a != ip_b
        assert ip_b in in_pod(d, b, "net", "ip", "-o", "addr", "show", "eth0")
        with open(os.path.join(d.state, "pods", b, "hosts")) as f:
            assert "%s\tpod-b\n" % ip_b in f.read()
        assert len(veths(d)) == 2 and len(allocations(d)) == 2
        # A listener in b, a client in a: traffic over the test's own bridge only.
        server = subprocess.Popen(
            ["nsenter", "--net=%s/pods/%s/net" % (d.state, b), sys.executable, "-c",
             "import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1);"
             "s.bind(('0.0.0.0', 8080)); s.listen(1); c, _ = s.accept(); c.sendall(b'pong'); c.close()"])
        try:
            reply = ""
            for _ in range(50):
                out = subprocess.run(
                    ["nsenter", "--net=%s/pods/%s/net" % (d.state, a), sys.executable, "-c",
                     "import socket; s=socket.create_connection(('%s', 8080), 2); print(s.recv(4).decode())" % ip_b],
                    capture_output=True, text=True)
                reply = out.stdout.strip()
                if reply == "pong":
                    break
                time.sleep(0.1)
            assert reply == "pong"
        finally:
            server.kill()
            server.wait()
        for pid in (a, b):
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pid))
        assert veths(d) == [] and allocations(d) == []
        for pid in (a, b):
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pid))
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    assert pod_dirs(d) == [] and mounts_under(d.state) == []


def test_remove_without_stop_takes_the_network_down(netcribd, api):
    pb, pb_grpc = api
    d = netcribd
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        pid = run(pb, rt, pod_config(pb))
        assert len(allocations(d)) == 1
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    assert veths(d) == [] and allocations(d) == []


def test_crash_after_network_add_leaves_no_address(netcribd, api):
    pb, pb_grpc = api
    d = netcribd
    d.kill()
    d.env["CRIB_CRASH_AT"] = "pod-run-network"
    d.start()
    with d.channel() as ch:
        with pytest.raises(grpc.RpcError):
            run(pb, pb_grpc.RuntimeServiceStub(ch), pod_config(pb))
    d.restart_after_crash("pod-run-network")
    assert veths(d) == [] and allocations(d) == []
    assert pod_dirs(d) == [] and mounts_under(d.state) == []


def test_no_network_config_fails_the_pod_and_leaves_nothing(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd(cni=False).start()
    with d.channel() as ch:
        with pytest.raises(grpc.RpcError) as e:
            run(pb, pb_grpc.RuntimeServiceStub(ch), pod_config(pb))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert d.conf_dir in e.value.details()
    assert pod_dirs(d) == [] and mounts_under(d.state) == []
    assert d.stop() == 0


def test_plugin_failure_names_the_plugin_and_leaves_nothing(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd(cni=False)
    conf = {"cniVersion": "1.0.0", "name": "broken", "plugins": [{
        "type": "bridge", "bridge": "cribitbad", "ipam": {"type": "host-local",
                                                          "ranges": [[{"subnet": "10.204.999.0/24"}]]}}]}
    with open(os.path.join(d.conf_dir, "10-broken.conflist"), "w") as f:
        json.dump(conf, f)
    d.start()
    try:
        with d.channel() as ch:
            with pytest.raises(grpc.RpcError) as e:
                run(pb, pb_grpc.RuntimeServiceStub(ch), pod_config(pb))
        assert "bridge" in e.value.details() and "10.204.999.0/24" in e.value.details()
        assert pod_dirs(d) == [] and mounts_under(d.state) == []
        assert d.stop() == 0
    finally:
        subprocess.run(["ip", "link", "del", "cribitbad"], capture_output=True)


def test_port_mappings_without_a_host_port_are_not_mapped(make_cribd, api, workdir):
    """portmap refuses host port 0; a container-only port is not a mapping."""
    pb, pb_grpc = api
    d = make_cribd(cni=False)
    # portmap needs no iptables when there is nothing to map: it is given the
    # mappings only through runtimeConfig, and none must arrive for port 0.
    conf = {"cniVersion": "1.0.0", "name": "pm", "plugins": [
        {"type": "loopback"}, {"type": "portmap", "capabilities": {"portMappings": True}}]}
    with open(os.path.join(d.conf_dir, "10-pm.conflist"), "w") as f:
        json.dump(conf, f)
    d.start()
    cfg = pod_config(pb)
    cfg.port_mappings.add(container_port=80)
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        pid = run(pb, rt, cfg)
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
    assert d.stop() == 0


def test_a_retried_run_gets_the_first_attempts_pod(make_cribd, api, workdir):
    """The kubelet resends RunPodSandbox after a timeout while the first still
    runs; it must get that pod, not "name reserved"."""
    import threading
    pb, pb_grpc = api
    bindir = os.path.join(workdir, "slowbin")
    os.makedirs(bindir)
    with open(os.path.join(bindir, "slowloop"), "w") as f:
        f.write("#!/bin/sh\nsleep 1\nexec /usr/lib/cni/loopback\n")
    os.chmod(os.path.join(bindir, "slowloop"), 0o755)
    conf_dir = os.path.join(workdir, "a", "net.d")  # make_cribd's dir for instance "a"
    d = make_cribd(cni=False, config={"cni": {"confDir": conf_dir, "binDirs": [bindir, "/usr/lib/cni"]}})
    with open(os.path.join(conf_dir, "10-slow.conflist"), "w") as f:
        json.dump({"cniVersion": "1.0.0", "name": "slow", "plugins": [{"type": "slowloop"}]}, f)
    d.start()
    ids = []
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        threads = [threading.Thread(target=lambda: ids.append(run(pb, rt, pod_config(pb))))
                   for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(ids) == 3 and len(set(ids)) == 1
        assert [p.id for p in rt.ListPodSandbox(pb.ListPodSandboxRequest()).items] == ids[:1]
        with pytest.raises(grpc.RpcError) as e:
            run(pb, rt, pod_config(pb))
        assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS and ids[0] in e.value.details()
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=ids[0]))
    assert d.stop() == 0


def nat_rules_for(port):
    out = subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if "--dport %d " % port in l + " "]


@pytest.mark.skipif(not os.path.exists("/usr/sbin/iptables"), reason="iptables is not installed")
def test_host_ports_are_mapped_and_unmapped_on_stop(make_cribd, api, workdir):
    """portmap removes only the mappings DEL names: DEL must pass the ADD's."""
    from registry import free_port
    pb, pb_grpc = api
    n = 20 + (os.getpid() + 7) % 200
    bridge = "cribit%d" % n
    d = make_cribd(cni=False)
    conf = {"cniVersion": "1.0.0", "name": "crib-pm", "plugins": [
        {"type": "bridge", "bridge": bridge, "isGateway": True, "ipMasq": False,
         "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.204.%d.0/24" % n}]],
                  "dataDir": os.path.join(workdir, "ipam")}},
        {"type": "portmap", "capabilities": {"portMappings": True}}]}
    with open(os.path.join(d.conf_dir, "10-crib-pm.conflist"), "w") as f:
        json.dump(conf, f)
    d.start()
    port = free_port()
    cfg = pod_config(pb)
    cfg.port_mappings.add(container_port=80, host_port=port)
    try:
        with d.channel() as ch:
            rt = pb_grpc.RuntimeServiceStub(ch)
            pid = run(pb, rt, cfg)
            assert nat_rules_for(port)
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pid))
            assert not nat_rules_for(port)
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
        assert d.stop() == 0
    finally:
        d.kill()
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)


def test_restart_checks_networks_and_a_broken_one_is_notready(netcribd, api):
    """CNI CHECK at start-up: a pod whose interface went away while cribd was
    down is NOTREADY (the kubelet makes it anew); the others stay READY."""
    pb, pb_grpc = api
    d = netcribd
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        good = run(pb, rt, pod_config(pb, name="good", uid="ug"))
        bad = run(pb, rt, pod_config(pb, name="bad", uid="ub"))
    d.proc.kill()
    d.proc.wait()
    in_pod(d, bad, "net", "ip", "link", "del", "eth0")
    d.start()
    with grpc.insecure_channel(d.endpoint, options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        state = lambda p: rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=p)).status.state
        assert state(good) == pb.SANDBOX_READY
        assert state(bad) == pb.SANDBOX_NOTREADY
        for p in (good, bad):
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=p))
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=p))
    assert allocations(d) == [] and veths(d) == []


def test_dual_stack_pod_reports_both_addresses(make_cribd, api, workdir):
    pb, pb_grpc = api
    n = 20 + (os.getpid() + 11) % 200
    bridge = "cribit%d" % n
    d = make_cribd(cni=False)
    conf = {"cniVersion": "1.0.0", "name": "crib-ds", "plugins": [{
        "type": "bridge", "bridge": bridge, "isGateway": True, "ipMasq": False,
        "ipam": {"type": "host-local", "dataDir": os.path.join(workdir, "ipam"),
                 "ranges": [[{"subnet": "10.204.%d.0/24" % n}], [{"subnet": "fd00:204:%x::/64" % n}]]}}]}
    with open(os.path.join(d.conf_dir, "10-crib-ds.conflist"), "w") as f:
        json.dump(conf, f)
    d.start()
    try:
        with d.channel() as ch:
            rt = pb_grpc.RuntimeServiceStub(ch)
            pid = run(pb, rt, pod_config(pb))
            net = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pid)).status.network
            assert net.ip.startswith("10.204.%d." % n)
            assert [a.ip.split(":")[:3] for a in net.additional_ips] == [["fd00", "204", "%x" % n]]
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pid))
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
        assert d.stop() == 0
    finally:
        d.kill()
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)


def test_capability_args_reach_the_plugins_that_ask(make_cribd, api, workdir):
    """portMappings, bandwidth (from the pod's annotations) and dns (from its
    DNSConfig) arrive as runtimeConfig, to a plugin that asks for them only."""
    pb, pb_grpc = api
    bindir = os.path.join(workdir, "recbin")
    os.makedirs(bindir)
    seen = os.path.join(workdir, "seen")
    os.makedirs(seen)
    with open(os.path.join(bindir, "recorder"), "w") as f:
        f.write("#!/bin/sh\ntee %s/$CNI_COMMAND.json | /usr/lib/cni/loopback\n" % seen)
    os.chmod(os.path.join(bindir, "recorder"), 0o755)
    conf_dir = os.path.join(workdir, "a", "net.d")
    d = make_cribd(cni=False, config={"cni": {"confDir": conf_dir, "binDirs": [bindir, "/usr/lib/cni"]}})
    with open(os.path.join(conf_dir, "10-rec.conflist"), "w") as f:
        json.dump({"cniVersion": "1.0.0", "name": "rec", "plugins": [{
            "type": "recorder",
            "capabilities": {"portMappings": True, "bandwidth": True, "dns": True}}]}, f)
    d.start()
    cfg = pod_config(pb, dns=pb.DNSConfig(servers=["10.96.0.10"], searches=["svc.local"],
                                          options=["ndots:5"]))
    cfg.port_mappings.add(container_port=80, host_port=18080)
    cfg.annotations["kubernetes.io/ingress-bandwidth"] = "10M"
    cfg.annotations["kubernetes.io/egress-bandwidth"] = "1Mi"
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        pid = run(pb, rt, cfg)
        rc = json.load(open(os.path.join(seen, "ADD.json")))["runtimeConfig"]
        assert rc["portMappings"] == [{"hostPort": 18080, "containerPort": 80, "protocol": "tcp",
                                       "hostIP": ""}]
        assert rc["bandwidth"]["ingressRate"] == 10_000_000
        assert rc["bandwidth"]["egressRate"] == 1 << 20
        assert rc["dns"] == {"servers": ["10.96.0.10"], "searches": ["svc.local"], "options": ["ndots:5"]}
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pid))
        assert json.load(open(os.path.join(seen, "DEL.json")))["runtimeConfig"] == rc
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pid))
        bad = pod_config(pb, name="bad", uid="bad")
        bad.annotations["kubernetes.io/ingress-bandwidth"] = "lots"
        with pytest.raises(grpc.RpcError) as e:
            run(pb, rt, bad)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "ingress-bandwidth" in e.value.details()
    assert d.stop() == 0


def test_pod_stats_count_the_pods_own_traffic(netcribd, api):
    """PodSandboxStats reads eth0's counters inside the pod's namespace."""
    pb, pb_grpc = api
    d = netcribd
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        a = run(pb, rt, pod_config(pb, name="a", uid="ua"))
        b = run(pb, rt, pod_config(pb, name="b", uid="ub"))
        ip_b = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=b)).status.network.ip

        def net(pod):
            s = rt.PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=pod)).stats
            assert s.attributes.id == pod and s.linux.network.timestamp > 0
            return s.linux.network.default_interface

        before = net(a)
        assert before.name == "eth0"
        # 100 KiB of UDP from a to b: a's tx and b's rx grow by at least that.
        subprocess.run(["nsenter", "--net=%s/pods/%s/net" % (d.state, a), sys.executable, "-c",
                        "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                        "for _ in range(100): s.sendto(b'x' * 1024, ('%s', 9))" % ip_b], check=True)
        after_a, after_b = net(a), net(b)
        assert after_a.tx_bytes.value - before.tx_bytes.value >= 100 * 1024
        assert after_b.rx_bytes.value >= 100 * 1024
        metrics = {p.pod_sandbox_id: p.metrics for p in
                   rt.ListPodSandboxMetrics(pb.ListPodSandboxMetricsRequest()).pod_metrics}
        rx = [m for m in metrics[b] if m.name == "container_network_receive_bytes_total"]
        assert [m.label_values[-1] for m in rx] == ["eth0"] and rx[0].value.value >= 100 * 1024
        listed = rt.ListPodSandboxStats(pb.ListPodSandboxStatsRequest()).stats
        assert sorted(s.attributes.id for s in listed) == sorted([a, b])
        only_a = rt.ListPodSandboxStats(pb.ListPodSandboxStatsRequest(
            filter=pb.PodSandboxStatsFilter(id=a[:12]))).stats
        assert [s.attributes.id for s in only_a] == [a]
        for p in (a, b):
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=p))
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=p))
