"""Version, Status, RuntimeConfig and UpdateRuntimeConfig against a real cribd."""

import json
import os
import shutil
import stat

import grpc
import pytest


def conditions(resp):
    return {c.type: c for c in resp.status.conditions}


def test_version(runtime):
    pb, rt = runtime
    v = rt.Version(pb.VersionRequest(version="0.1.0"))
    assert v.version == "0.1.0"
    assert v.runtime_name == "crib"
    assert v.runtime_version.startswith("0.")
    assert v.runtime_api_version == "v1"


def test_status_ready_with_runc_and_cni(runtime):
    pb, rt = runtime
    conds = conditions(rt.Status(pb.StatusRequest()))
    assert conds["RuntimeReady"].status, conds["RuntimeReady"].message
    assert conds["NetworkReady"].status, conds["NetworkReady"].message


def test_status_lists_handlers_and_no_unearned_features(runtime):
    pb, rt = runtime
    resp = rt.Status(pb.StatusRequest())
    names = [h.name for h in resp.runtime_handlers]
    # runsc is a handler by default where Debian's runsc is installed.
    assert names == ["", "runc"] + (["runsc"] if shutil.which("runsc") else [])
    for h in resp.runtime_handlers:
        assert h.features.recursive_read_only_mounts  # crib makes the read-only copies itself
        # gVisor has user namespaces of its own, not the kubelet's.
        assert h.features.user_namespaces == (h.name != "runsc")
    assert resp.features.supplemental_groups_policy  # resolved by crib itself
    assert not resp.features.user_namespaces_host_network
    assert not resp.info, "info is for verbose requests only"


def test_status_verbose_shows_config_in_force(cribd, runtime):
    pb, rt = runtime
    resp = rt.Status(pb.StatusRequest(verbose=True))
    cfg = json.loads(resp.info["config"])
    assert cfg["stateDir"] == cribd.state
    assert cfg["rootDir"] == cribd.root
    assert cfg["cni"]["confDir"] == cribd.conf_dir
    assert cfg["runtimes"]["runc"]["root"] == os.path.join(cribd.state, "runc")
    assert resp.info["runtimeVersion"].startswith("runc version")


def test_status_runtime_not_ready_when_binary_missing(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd(config={"runtimes": {"runc": {"path": "/nonexistent/crib-runc"}}}).start()
    with d.channel() as ch:
        conds = conditions(pb_grpc.RuntimeServiceStub(ch).Status(pb.StatusRequest()))
    assert not conds["RuntimeReady"].status
    assert conds["RuntimeReady"].reason
    assert "/nonexistent/crib-runc" in conds["RuntimeReady"].message
    assert conds["NetworkReady"].status
    assert d.stop() == 0


def test_status_runtime_not_ready_when_binary_fails(make_cribd, workdir, api):
    pb, pb_grpc = api
    fake = os.path.join(workdir, "broken-runc")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho 'runtime is broken' >&2\nexit 1\n")
    os.chmod(fake, 0o755)
    d = make_cribd(config={"runtimes": {"runc": {"path": fake}}}).start()
    with d.channel() as ch:
        conds = conditions(pb_grpc.RuntimeServiceStub(ch).Status(pb.StatusRequest()))
    assert not conds["RuntimeReady"].status
    assert "runtime is broken" in conds["RuntimeReady"].message
    assert d.stop() == 0


def test_status_network_not_ready_without_cni_config(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd(cni=False).start()
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        conds = conditions(rt.Status(pb.StatusRequest()))
        assert conds["RuntimeReady"].status
        assert not conds["NetworkReady"].status
        assert conds["NetworkReady"].reason == "NetworkPluginNotReady"
        assert d.conf_dir in conds["NetworkReady"].message
        # A config dropped in later is seen without a restart.
        from crib import write_cni_conf
        write_cni_conf(d.conf_dir)
        assert conditions(rt.Status(pb.StatusRequest()))["NetworkReady"].status
    assert d.stop() == 0


def test_status_network_not_ready_when_plugin_missing(make_cribd, api):
    pb, pb_grpc = api
    from crib import write_cni_conf
    d = make_cribd(cni=False)
    write_cni_conf(d.conf_dir, plugins=("loopback", "crib-no-such-plugin"))
    d.start()
    with d.channel() as ch:
        conds = conditions(pb_grpc.RuntimeServiceStub(ch).Status(pb.StatusRequest()))
    assert not conds["NetworkReady"].status
    assert "crib-no-such-plugin" in conds["NetworkReady"].message
    assert d.stop() == 0


@pytest.mark.parametrize("driver,expected", [("cgroupfs", "CGROUPFS"), ("systemd", "SYSTEMD")])
def test_runtime_config_reports_cgroup_driver(make_cribd, api, driver, expected):
    pb, pb_grpc = api
    d = make_cribd(config={"cgroupDriver": driver}).start()
    with d.channel() as ch:
        resp = pb_grpc.RuntimeServiceStub(ch).RuntimeConfig(pb.RuntimeConfigRequest())
    assert resp.linux.cgroup_driver == pb.CgroupDriver.Value(expected)
    assert d.stop() == 0


def update_cidr(pb, rt, cidr):
    return rt.UpdateRuntimeConfig(pb.UpdateRuntimeConfigRequest(
        runtime_config=pb.RuntimeConfig(network_config=pb.NetworkConfig(pod_cidr=cidr))))


def test_update_runtime_config_keeps_pod_cidr_across_restart(make_cribd, api):
    pb, pb_grpc = api
    d = make_cribd().start()
    with d.channel() as ch:
        rt = pb_grpc.RuntimeServiceStub(ch)
        assert "podCIDR" not in rt.Status(pb.StatusRequest(verbose=True)).info
        update_cidr(pb, rt, "10.244.3.0/24,fd00:10:244:3::/64")
        update_cidr(pb, rt, "")  # empty: no change
        rt.UpdateRuntimeConfig(pb.UpdateRuntimeConfigRequest())
    assert d.stop() == 0
    d.start()
    with d.channel() as ch:
        info = pb_grpc.RuntimeServiceStub(ch).Status(pb.StatusRequest(verbose=True)).info
    assert info["podCIDR"] == "10.244.3.0/24,fd00:10:244:3::/64"
    assert d.stop() == 0


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "banana", "10.0.0.0/8,10.1.0.0/16,10.2.0.0/16"])
def test_update_runtime_config_refuses_bad_cidr(runtime, cidr):
    pb, rt = runtime
    with pytest.raises(grpc.RpcError) as e:
        update_cidr(pb, rt, cidr)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "pod_cidr" in e.value.details()
    assert "podCIDR" not in rt.Status(pb.StatusRequest(verbose=True)).info


def test_socket_is_private(cribd):
    mode = os.stat(cribd.socket).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o660
