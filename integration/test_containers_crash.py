"""kill -9 (an _exit at a named step) while a container is created, started,
stopped or removed, then a restart: each container is whole in the state the
step implies, or gone with nothing left (bundle, mount, writable layer,
runtime state, shim)."""

import os
import subprocess
import time

import grpc
import pytest

from crib import mounts_under
from registry import busybox_image

CREATE_STEPS = ["container-create-rootfs", "container-create-shim", "container-create-commit"]


@pytest.fixture(scope="module")
def busybox(registry):
    registry.push("crash/busybox", "1", busybox_image())
    return "%s/crash/busybox:1" % registry.host


def runc_ids(d):
    root = os.path.join(d.state, "runc")
    out = subprocess.run(["runc", "--root", root, "list", "-q"], capture_output=True, text=True)
    return set(out.stdout.split())


def conmons_of(d):
    """conmon processes whose bundle lies in this cribd's state dir."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"conmon") and any(d.state.encode() in a for a in argv):
            found.append(int(pid))
    return found


class Setup:
    def __init__(self, d, pb, pb_grpc, ref):
        self.d, self.pb, self.pb_grpc, self.ref = d, pb, pb_grpc, ref
        self.pod_cfg = pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name="p", namespace="default", uid="u", attempt=0),
            log_directory=os.path.join(d.base, "logs"))

    def stubs(self, ch):
        return self.pb_grpc.RuntimeServiceStub(ch), self.pb_grpc.ImageServiceStub(ch)

    def prepare(self):
        with self.d.channel() as ch:
            rt, img = self.stubs(ch)
            img.PullImage(self.pb.PullImageRequest(image=self.pb.ImageSpec(image=self.ref)))
            self.pod = rt.RunPodSandbox(self.pb.RunPodSandboxRequest(config=self.pod_cfg)).pod_sandbox_id

    def create(self, rt, name="c"):
        pb = self.pb
        cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name),
                                 image=pb.ImageSpec(image=self.ref), command=["sleep", "1000"],
                                 log_path=name + ".log")
        return rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=self.pod, config=cfg, sandbox_config=self.pod_cfg)).container_id

    def cleanup(self, rt):
        pb = self.pb
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=self.pod))
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=self.pod))
        assert not os.listdir(os.path.join(self.d.state, "containers"))
        assert not os.listdir(os.path.join(self.d.root, "containers"))
        assert not mounts_under(os.path.join(self.d.state, "containers"))
        assert not runc_ids(self.d)
        deadline = time.monotonic() + 5
        while conmons_of(self.d) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not conmons_of(self.d)


@pytest.fixture
def setup(make_cribd, api, registry, busybox):
    def make(step=None):
        pb, pb_grpc = api
        d = make_cribd(env={"CRIB_CRASH_AT": step} if step else None).start()
        registry.write_hosts(d.certs_d)
        s = Setup(d, pb, pb_grpc, busybox)
        s.prepare()
        return s
    return make


@pytest.mark.parametrize("step", CREATE_STEPS)
def test_crash_during_create_leaves_nothing(setup, step):
    s = setup(step)
    with s.d.channel() as ch:
        with pytest.raises(grpc.RpcError):
            s.create(s.stubs(ch)[0])
    s.d.restart_after_crash(step)
    with s.d.channel() as ch:
        rt = s.stubs(ch)[0]
        assert not rt.ListContainers(s.pb.ListContainersRequest()).containers
        assert not os.listdir(os.path.join(s.d.state, "containers"))
        assert not runc_ids(s.d)
        cid = s.create(rt)
        rt.StartContainer(s.pb.StartContainerRequest(container_id=cid))
        s.cleanup(rt)
    assert s.d.stop() == 0


@pytest.mark.parametrize("step", ["container-start", "container-start-commit"])
def test_crash_during_start_keeps_the_running_container(setup, step):
    s = setup(step)
    with s.d.channel() as ch:
        cid = s.create(s.stubs(ch)[0])
        with pytest.raises(grpc.RpcError):
            s.stubs(ch)[0].StartContainer(s.pb.StartContainerRequest(container_id=cid))
    s.d.restart_after_crash(step)
    with s.d.channel() as ch:
        rt = s.stubs(ch)[0]
        st = rt.ContainerStatus(s.pb.ContainerStatusRequest(container_id=cid)).status
        assert st.state == s.pb.CONTAINER_RUNNING
        r = rt.ExecSync(s.pb.ExecSyncRequest(container_id=cid, cmd=["echo", "up"], timeout=5))
        assert r.stdout == b"up\n"
        s.cleanup(rt)
    assert s.d.stop() == 0


@pytest.mark.parametrize("step", ["container-exit-commit", "container-remove",
                                  "container-remove-commit"])
def test_crash_during_stop_or_remove_finishes_on_retry(setup, step):
    s = setup(step)
    with s.d.channel() as ch:
        rt = s.stubs(ch)[0]
        cid = s.create(rt)
        rt.StartContainer(s.pb.StartContainerRequest(container_id=cid))
        with pytest.raises(grpc.RpcError):
            rt.RemoveContainer(s.pb.RemoveContainerRequest(container_id=cid))
    s.d.restart_after_crash(step)
    with s.d.channel() as ch:
        rt = s.stubs(ch)[0]
        st = rt.ContainerStatus(s.pb.ContainerStatusRequest(container_id=cid)).status
        assert st.state == s.pb.CONTAINER_EXITED and st.exit_code == 137
        rt.RemoveContainer(s.pb.RemoveContainerRequest(container_id=cid))
        assert not rt.ListContainers(s.pb.ListContainersRequest()).containers
        s.cleanup(rt)
    assert s.d.stop() == 0
