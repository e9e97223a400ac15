"""gVisor's runsc as the RuntimeClass handler "runsc": a pod is one gVisor
sandbox whose first container is crib-infra, in the pod's network namespace
from CNI (Debian's bridge and host-local plugins on a bridge and subnet this
test owns); the pod's containers join it. Debian's runsc, real conmon."""

import glob
import json
import os
import shutil
import signal
import subprocess
import time

import grpc
import pytest

from crib import mounts_under
from registry import busybox_image
from test_containers import status, wait_exited

RUNSC = shutil.which("runsc")
if not RUNSC:
    pytest.skip("runsc (Debian's package runsc) is not installed", allow_module_level=True)
if not os.path.exists("/usr/lib/cni/bridge"):
    pytest.skip("containernetworking-plugins is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def busybox(registry):
    registry.push("test/busybox", "1", busybox_image())
    return "%s/test/busybox:1" % registry.host


def bridge_conf(d, workdir):
    n = 30 + os.getpid() % 200
    d.bridge, d.subnet = "cribgv%d" % n, "10.205.%d." % n
    conf = {"cniVersion": "1.0.0", "name": "crib-gv", "plugins": [{
        "type": "bridge", "bridge": d.bridge, "isGateway": True, "ipMasq": False,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": d.subnet + "0/24"}]],
                 "dataDir": os.path.join(workdir, "ipam")}}]}
    with open(os.path.join(d.conf_dir, "10-crib-gv.conflist"), "w") as f:
        json.dump(conf, f)


@pytest.fixture
def gv(make_cribd, registry, busybox, api, workdir):
    """A cribd with the runsc handler, the busybox image pulled, and a pod
    on the test's own bridge run under runsc."""
    pb, pb_grpc = api
    d = make_cribd(cni=False)
    bridge_conf(d, workdir)
    registry.write_hosts(d.certs_d)
    d.start()
    ch = d.channel()

    class Env:
        pass
    e = Env()
    e.pb, e.d, e.workdir, e.ref, e.ch = pb, d, workdir, busybox, ch
    e.rt, e.img = pb_grpc.RuntimeServiceStub(ch), pb_grpc.ImageServiceStub(ch)
    e.img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=busybox)))
    e.logs = os.path.join(workdir, "logs")
    e.pod_cfg = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name="gv", namespace="default", uid="gv-1", attempt=0),
        hostname="gv-host", log_directory=e.logs)
    e.pod = e.rt.RunPodSandbox(pb.RunPodSandboxRequest(config=e.pod_cfg, runtime_handler="runsc")
                               ).pod_sandbox_id
    yield e
    try:
        for c in e.rt.ListContainers(pb.ListContainersRequest()).containers:
            e.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=c.id))
        for p in e.rt.ListPodSandbox(pb.ListPodSandboxRequest()).items:
            e.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=p.id))
            e.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=p.id))
    finally:
        e.ch.close()
        d.kill()
        subprocess.run(["ip", "link", "del", d.bridge], capture_output=True)


def runsc_list(d):
    out = subprocess.run([RUNSC, "--root", os.path.join(d.state, "runsc"), "list", "-format=json"],
                         capture_output=True, text=True)
    return {c["id"]: c["status"] for c in json.loads(out.stdout or "[]") or []}


def sandbox_processes(d):
    """PIDs of runsc's sandbox and gofer processes of this cribd's runsc root."""
    root = "--root=%s" % os.path.join(d.state, "runsc")
    pids = []
    for p in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            argv = open(p, "rb").read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0] in (b"runsc-sandbox", b"runsc-gofer") and root.encode() in argv:
            pids.append(int(p.split("/")[2]))
    return pids


def create(e, name, *command, start=True):
    pb = e.pb
    cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image=e.ref),
                             command=list(command), log_path=name + ".log")
    cid = e.rt.CreateContainer(pb.CreateContainerRequest(
        pod_sandbox_id=e.pod, config=cfg, sandbox_config=e.pod_cfg)).container_id
    if start:
        e.rt.StartContainer(pb.StartContainerRequest(container_id=cid))
    return cid


def log_lines(e, name):
    try:
        with open(os.path.join(e.logs, name + ".log")) as f:
            return [line.rstrip("\n").split(" ", 3)[3] for line in f if line.count(" ") >= 3]
    except FileNotFoundError:
        return []


def exec_sync(e, cid, *cmd):
    r = e.rt.ExecSync(e.pb.ExecSyncRequest(container_id=cid, cmd=list(cmd), timeout=20))
    return r.exit_code, r.stdout.decode(), r.stderr.decode()


def test_pod_is_one_gvisor_sandbox_with_crib_infra_first(gv):
    e, pb = gv, gv.pb
    assert runsc_list(e.d) == {e.pod: "running"}
    spec = json.load(open(os.path.join(e.d.state, "gvisor", e.pod, "config.json")))
    assert spec["process"]["args"] == ["/crib-infra", "--sandbox"]
    assert spec["annotations"] == {"io.kubernetes.cri.container-type": "sandbox",
                                   "io.kubernetes.cri.sandbox-id": e.pod}
    netns = [n for n in spec["linux"]["namespaces"] if n["type"] == "network"]
    assert netns == [{"type": "network", "path": os.path.join(e.d.state, "pods", e.pod, "net")}]
    st = e.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=e.pod)).status
    assert st.state == pb.SANDBOX_READY and st.runtime_handler == "runsc"
    assert st.network.ip.startswith(e.d.subnet)

    # Two containers join it: both see gVisor's kernel and the pod's address
    # on the sandbox's own network stack.
    a = create(e, "count", "sh", "-c", "i=0; while true; do echo count $i; i=$((i+1)); sleep 0.2; done")
    b = create(e, "idle", "sleep", "3600")
    ids = runsc_list(e.d)
    assert ids == {e.pod: "running", a: "running", b: "running"}
    spec = json.load(open(os.path.join(e.d.state, "containers", a, "config.json")))
    assert spec["annotations"]["io.kubernetes.cri.container-type"] == "container"
    assert spec["annotations"]["io.kubernetes.cri.sandbox-id"] == e.pod
    for cid in (a, b):
        code, out, err = exec_sync(e, cid, "busybox", "dmesg")
        assert code == 0 and "gVisor" in out, err
        code, out, _ = exec_sync(e, cid, "busybox", "ip", "-o", "addr")
        assert code == 0 and st.network.ip in out
        assert exec_sync(e, cid, "busybox", "hostname")[1].strip() == "gv-host"
    # The sandbox is one: the host sees one sandbox process, whatever runs in it.
    assert len([p for p in sandbox_processes(e.d)
                if open("/proc/%d/cmdline" % p, "rb").read().startswith(b"runsc-sandbox")]) == 1

    # Logs come through conmon, in order, while the container runs.
    deadline = time.time() + 10
    while len(log_lines(e, "count")) < 5 and time.time() < deadline:
        time.sleep(0.1)
    lines = log_lines(e, "count")
    assert lines[:5] == ["count %d" % i for i in range(5)]

    # Stop: the stop signal through runsc; the container's own status comes back.
    e.rt.StopContainer(pb.StopContainerRequest(container_id=a, timeout=10))
    st_a = status(e, a)
    assert st_a.state == pb.CONTAINER_EXITED and st_a.exit_code == 128 + signal.SIGTERM
    assert runsc_list(e.d)[b] == "running"
    e.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=a))
    assert a not in runsc_list(e.d)
    assert not os.path.exists(os.path.join(e.d.state, "containers", a))


def test_exit_codes_and_a_container_removed_unstarted(gv):
    e, pb = gv, gv.pb
    c = create(e, "seven", "sh", "-c", "echo bye; echo oops >&2; exit 7")
    st = wait_exited(e, c)
    assert st.exit_code == 7 and st.reason == "Error"
    assert log_lines(e, "seven") == ["bye", "oops"] or sorted(log_lines(e, "seven")) == ["bye", "oops"]
    ok = create(e, "ok", "true")
    assert wait_exited(e, ok).exit_code == 0 and status(e, ok).reason == "Completed"
    code, out, err = exec_sync(e, create(e, "sleeper", "sleep", "600"), "sh", "-c", "echo o; echo e >&2; exit 3")
    assert (code, out, err) == (3, "o\n", "e\n")

    # Created, never started: its waiter goes with it and nothing is left.
    idle = create(e, "never", "true", start=False)
    waiter = int(open(os.path.join(e.d.state, "containers", idle, "pidfile")).read())
    assert open("/proc/%d/comm" % waiter).read().strip() == "crib-runsc-wait"
    e.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=idle))
    assert not os.path.exists("/proc/%d" % waiter) or \
        open("/proc/%d/stat" % waiter).read().split()[2] == "Z"
    assert idle not in runsc_list(e.d)


def test_stop_and_remove_pod_end_the_sandbox_and_leave_nothing(gv):
    e, pb = gv, gv.pb
    create(e, "a", "sleep", "600")
    assert sandbox_processes(e.d)
    e.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=e.pod))
    st = e.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=e.pod)).status
    assert st.state == pb.SANDBOX_NOTREADY
    # The sandbox is gone; its containers' records stay until they are removed.
    left = runsc_list(e.d)
    assert e.pod not in left and set(left.values()) <= {"stopped"}
    deadline = time.time() + 5
    while sandbox_processes(e.d) and time.time() < deadline:
        time.sleep(0.05)
    assert sandbox_processes(e.d) == []
    for c in e.rt.ListContainers(pb.ListContainersRequest()).containers:
        e.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=c.id))
    e.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=e.pod))
    assert runsc_list(e.d) == {}
    assert os.listdir(os.path.join(e.d.state, "gvisor")) == ["exits"]
    assert os.listdir(os.path.join(e.d.state, "gvisor", "exits")) == []
    assert mounts_under(e.d.state) == []


def test_status_lists_runsc_with_its_features(gv):
    e, pb = gv, gv.pb
    handlers = {h.name: h for h in e.rt.Status(pb.StatusRequest()).runtime_handlers}
    assert set(handlers) >= {"runc", "runsc"}
    assert handlers["runsc"].features.recursive_read_only_mounts
    assert not handlers["runsc"].features.user_namespaces
    assert handlers["runc"].features.user_namespaces


def test_a_sandbox_gone_while_cribd_was_down_makes_the_pod_notready(gv):
    e, pb = gv, gv.pb
    e.ch.close()
    e.d.kill()
    subprocess.run([RUNSC, "--root", os.path.join(e.d.state, "runsc"), "kill", e.pod, "KILL"], check=True)
    deadline = time.time() + 5
    while sandbox_processes(e.d) and time.time() < deadline:
        time.sleep(0.05)
    e.d.start()
    import api_pb2_grpc
    e.ch = e.d.channel()
    e.rt = api_pb2_grpc.RuntimeServiceStub(e.ch)
    st = e.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=e.pod)).status
    assert st.state == pb.SANDBOX_NOTREADY
    assert "its gVisor sandbox has gone" in e.d.logs()


@pytest.mark.parametrize("step", ["gvisor-sandbox-create", "gvisor-sandbox-start"])
def test_crash_while_making_the_sandbox(make_cribd, registry, busybox, api, workdir, step):
    pb, pb_grpc = api
    d = make_cribd(cni=False, env={"CRIB_CRASH_AT": step})
    bridge_conf(d, workdir)
    d.start()
    try:
        cfg = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(name="c", namespace="default", uid="c1"),
                                  hostname="c", log_directory=os.path.join(workdir, "logs"))
        with d.channel() as ch:
            with pytest.raises(grpc.RpcError):
                pb_grpc.RuntimeServiceStub(ch).RunPodSandbox(
                    pb.RunPodSandboxRequest(config=cfg, runtime_handler="runsc"))
        d.restart_after_crash(step)
        with d.channel() as ch:
            rt = pb_grpc.RuntimeServiceStub(ch)
            pods = rt.ListPodSandbox(pb.ListPodSandboxRequest()).items
            assert len(pods) == 1
            # Started before the crash: it runs and the pod is ready; not
            # started: the pod is NOTREADY, as for a sandbox that died.
            want = pb.SANDBOX_READY if step == "gvisor-sandbox-start" else pb.SANDBOX_NOTREADY
            assert pods[0].state == want
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pods[0].id))
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pods[0].id))
        assert runsc_list(d) == {}
        assert os.listdir(os.path.join(d.state, "gvisor")) == ["exits"]
    finally:
        d.kill()
        subprocess.run(["ip", "link", "del", d.bridge], capture_output=True)


def test_stats_come_from_gvisors_own_accounting(gv):
    e, pb = gv, gv.pb
    busy = create(e, "busy", "sh", "-c", "while :; do :; done")
    idle = create(e, "idle", "sleep", "600")

    def stats(cid):
        return e.rt.ContainerStats(pb.ContainerStatsRequest(container_id=cid)).stats

    first = stats(busy)
    time.sleep(1.5)
    second = stats(busy)
    # The host's cgroups see only the sandbox; runsc tells each container apart.
    used = second.cpu.usage_core_nano_seconds.value - first.cpu.usage_core_nano_seconds.value
    assert used > 300_000_000, used
    assert second.cpu.usage_nano_cores.value > 300_000_000
    assert second.memory.working_set_bytes.value > 0
    quiet = stats(idle)
    time.sleep(1)
    quiet2 = stats(idle)
    assert quiet2.cpu.usage_core_nano_seconds.value - quiet.cpu.usage_core_nano_seconds.value < 100_000_000
    listed = {s.attributes.id for s in e.rt.ListContainerStats(pb.ListContainerStatsRequest()).stats}
    assert listed == {busy, idle}


def test_checkpoint_is_refused_with_the_reason_and_the_container_runs_on(gv):
    e, pb = gv, gv.pb
    cid = create(e, "count", "sh", "-c", "i=0; while true; do echo count $i; i=$((i+1)); sleep 0.2; done")
    location = os.path.join(e.workdir, "count.tar")
    with pytest.raises(grpc.RpcError) as err:
        e.rt.CheckpointContainer(pb.CheckpointContainerRequest(container_id=cid, location=location))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "gVisor issue 1956" in err.value.details()
    assert not os.path.exists(location)
    assert runsc_list(e.d)[cid] == "running" and runsc_list(e.d)[e.pod] == "running"
    out = os.path.join(e.workdir, "pod-ckpt")
    os.makedirs(out)
    with pytest.raises(grpc.RpcError) as err:
        e.rt.CheckpointPod(pb.CheckpointPodRequest(pod_sandbox_id=e.pod, output_path=out,
                                                   container_ids=[cid]), timeout=60)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "gVisor issue 1956" in err.value.details() and os.listdir(out) == []
    before = len(log_lines(e, "count"))
    time.sleep(0.6)
    assert len(log_lines(e, "count")) > before


def test_exec_and_attach_through_the_streaming_server(gv):
    from spdy_client import run_exec
    e, pb = gv, gv.pb
    cid = create(e, "sleeper", "sleep", "3600")

    def url(cmd, **kw):
        return e.rt.Exec(pb.ExecRequest(container_id=cid, cmd=cmd, stdout=True, **kw)).url

    r = run_exec(url(["sh", "-c", "echo out; echo err >&2; exit 3"], stderr=True))
    assert (r.stdout, r.stderr, r.exit_code) == (b"out\n", b"err\n", 3)
    data = b"".join(b"line %d\n" % i for i in range(2000))
    r = run_exec(url(["cat"], stdin=True, stderr=True), stdin=data)
    assert r.stdout == data and r.exit_code == 0
    # A terminal: cribd's pty is the process's own under gVisor, so its line
    # discipline echoes and ends the line at the carriage return.
    r = run_exec(url(["sh", "-c", "read x; echo got-$x"], stdin=True, tty=True),
                 stdin=b"abc\r", stderr=False, tty=True, resize=(80, 24), close_stdin=False)
    assert r.stdout == b"abc\r\ngot-abc\r\n" and r.exit_code == 0, r.stdout


def test_port_forward_reaches_a_listener_in_the_sandbox(gv):
    from spdy_client import port_forward
    e, pb = gv, gv.pb
    create(e, "echo", "busybox", "nc", "-ll", "-p", "8080", "-e", "/bin/cat")
    url = e.rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=e.pod, port=[8080])).url
    data = b""
    deadline = time.time() + 10
    while data != b"hello\n" and time.time() < deadline:
        data, err = port_forward(url, 8080, b"hello\n")
        if data != b"hello\n":
            time.sleep(0.2)
            url = e.rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=e.pod, port=[8080])).url
    assert data == b"hello\n", err
    url = e.rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=e.pod, port=[8081])).url
    data, err = port_forward(url, 8081, b"x")
    assert data == b"" and "8081" in err


def waiters_of(d):
    """crib-runsc's waiters whose container's bundle is under this cribd's state dir."""
    found = []
    for conmon in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            argv = open(conmon, "rb").read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"conmon") and any(d.state.encode() in a for a in argv):
            pid = conmon.split("/")[2]
            for child in open("/proc/%s/task/%s/children" % (pid, pid)).read().split():
                try:
                    if open("/proc/%s/comm" % child).read().strip() == "crib-runsc-wait":
                        found.append(int(child))
                except OSError:
                    pass
    return found


@pytest.mark.parametrize("step", ["container-create-shim", "container-start"])
def test_crash_while_making_or_starting_a_container(make_cribd, registry, busybox, api, workdir,
                                                   step):
    pb, pb_grpc = api
    d = make_cribd(cni=False, env={"CRIB_CRASH_AT": step})
    bridge_conf(d, workdir)
    registry.write_hosts(d.certs_d)
    d.start()
    try:
        cfg = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(name="c", namespace="default", uid="c2"),
                                  hostname="c", log_directory=os.path.join(workdir, "logs"))
        ccfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="count"), image=pb.ImageSpec(image=busybox),
                                  command=["sh", "-c", "while true; do echo tick; sleep 0.2; done"],
                                  log_path="count.log")
        with d.channel() as ch:
            rt = pb_grpc.RuntimeServiceStub(ch)
            pb_grpc.ImageServiceStub(ch).PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=busybox)))
            pod = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg, runtime_handler="runsc")).pod_sandbox_id
            with pytest.raises(grpc.RpcError):
                cid = rt.CreateContainer(pb.CreateContainerRequest(
                    pod_sandbox_id=pod, config=ccfg, sandbox_config=cfg)).container_id
                rt.StartContainer(pb.StartContainerRequest(container_id=cid))
        d.restart_after_crash(step)
        with d.channel() as ch:
            rt = pb_grpc.RuntimeServiceStub(ch)
            ctrs = rt.ListContainers(pb.ListContainersRequest()).containers
            if step == "container-create-shim":
                # Made but not recorded: all of it goes, its waiter and conmon too.
                assert len(ctrs) == 0 and set(runsc_list(d)) == {pod}
                deadline = time.time() + 5
                while waiters_of(d) and time.time() < deadline:
                    time.sleep(0.1)
                assert waiters_of(d) == []
            else:
                # Started: it runs, and its exit is still seen when it is stopped.
                assert [c.state for c in ctrs] == [pb.CONTAINER_RUNNING]
                rt.StopContainer(pb.StopContainerRequest(container_id=ctrs[0].id, timeout=5))
                st = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=ctrs[0].id)).status
                assert st.state == pb.CONTAINER_EXITED and st.exit_code == 128 + signal.SIGTERM
                rt.RemoveContainer(pb.RemoveContainerRequest(container_id=ctrs[0].id))
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod))
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod))
        assert runsc_list(d) == {}
    finally:
        d.kill()
        subprocess.run(["ip", "link", "del", d.bridge], capture_output=True)


def test_a_container_with_a_terminal_gets_one(gv):
    e, pb = gv, gv.pb
    cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="tty"), image=pb.ImageSpec(image=e.ref),
                             command=["sh", "-c", "if [ -t 1 ]; then echo TTY; else echo NOTTY; fi; sleep 600"],
                             log_path="tty.log", tty=True, stdin=True)
    cid = e.rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=e.pod, config=cfg,
                                                         sandbox_config=e.pod_cfg)).container_id
    e.rt.StartContainer(pb.StartContainerRequest(container_id=cid))
    deadline = time.time() + 10
    while not log_lines(e, "tty") and time.time() < deadline:
        time.sleep(0.1)
    assert [line.strip() for line in log_lines(e, "tty")][:1] == ["TTY"]


def test_a_container_that_cannot_start_leaves_nothing_running(gv):
    e, pb = gv, gv.pb
    cid = create(e, "bad", "/nonexistent", start=False)
    waiter = int(open(os.path.join(e.d.state, "containers", cid, "pidfile")).read())
    with pytest.raises(grpc.RpcError) as err:
        e.rt.StartContainer(pb.StartContainerRequest(container_id=cid))
    assert "/nonexistent" in err.value.details()
    st = status(e, cid)
    assert (st.state, st.exit_code, st.reason) == (pb.CONTAINER_EXITED, 128, "StartError")
    assert not os.path.exists("/proc/%d" % waiter) or \
        open("/proc/%d/stat" % waiter).read().split()[2] == "Z"
    e.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid))
    assert cid not in runsc_list(e.d)
    assert not os.path.exists(os.path.join(e.d.state, "containers", cid))
